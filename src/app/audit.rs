//! The append-only audit log: who changed what, when, before and after, each
//! entry chained to the previous one by SHA-256 so that an edit made behind
//! the service's back is found by `kiemtra audit verify`.

use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::db::audit as store;
pub use crate::db::audit::{lock_tail, Entry};
use crate::db::DbConnection;
use crate::domain::values::{now, rfc3339};
use crate::error::ApiError;

/// Hash that stands before the first entry.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// The hash of an entry: SHA-256 over its fields, one per line, in order.
pub fn entry_hash(e: &Entry) -> String {
    let mut h = Sha256::new();
    for part in [
        e.prev_hash.as_str(),
        &e.seq.to_string(),
        &rfc3339(&e.at),
        &e.actor,
        &e.action,
        &e.entity_id,
        e.before.as_deref().unwrap_or(""),
        e.after.as_deref().unwrap_or(""),
    ] {
        h.update(part.as_bytes());
        h.update(b"\n");
    }
    hex::encode(h.finalize())
}

/// One change to record: `(actor, action, entity_id, before, after)`.
pub type Change = (String, String, String, Option<String>, Option<String>);

/// Appends entries `(action, entity_id, before, after)` in order, inside the
/// caller's transaction.
pub fn append(
    conn: &mut DbConnection,
    actor: &str,
    items: Vec<(String, String, Option<String>, Option<String>)>,
) -> Result<(), ApiError> {
    append_by(
        conn,
        items
            .into_iter()
            .map(|(action, entity_id, before, after)| {
                (actor.to_string(), action, entity_id, before, after)
            })
            .collect(),
    )
}

/// Appends entries `(actor, action, entity_id, before, after)` in order,
/// inside the caller's transaction: one lock and one read of the tail for
/// all of them.
pub fn append_by(conn: &mut DbConnection, items: Vec<Change>) -> Result<(), ApiError> {
    if items.is_empty() {
        return Ok(());
    }
    lock_tail(conn)?;
    let (mut seq, mut prev) = store::tail(conn)?.unwrap_or((0, GENESIS.to_string()));
    let at = now();
    let mut rows = Vec::with_capacity(items.len());
    for (actor, action, entity_id, before, after) in items {
        seq += 1;
        let mut e = Entry {
            seq,
            at,
            actor,
            action,
            entity_id,
            before,
            after,
            prev_hash: prev,
            hash: String::new(),
        };
        e.hash = entry_hash(&e);
        prev = e.hash.clone();
        rows.push(e);
    }
    store::insert(conn, &rows)
}

fn json<T: Serialize>(v: Option<&T>) -> Option<String> {
    v.map(|v| serde_json::to_string(v).unwrap_or_default())
}

/// Records one change with its before and after states.
pub fn record<T: Serialize>(
    conn: &mut DbConnection,
    actor: &str,
    action: &str,
    entity_id: &str,
    before: Option<&T>,
    after: Option<&T>,
) -> Result<(), ApiError> {
    append(
        conn,
        actor,
        vec![(
            action.to_string(),
            entity_id.to_string(),
            json(before),
            json(after),
        )],
    )
}

/// Records the creation of many entities (a bulk import) at once.
pub fn record_created(
    conn: &mut DbConnection,
    actor: &str,
    action: &str,
    ids: &[String],
) -> Result<(), ApiError> {
    append(
        conn,
        actor,
        ids.iter()
            .map(|id| (action.to_string(), id.clone(), None, None))
            .collect(),
    )
}

/// Walks the chain; `Err(seq)` names the first entry that does not hold.
pub fn verify(conn: &mut DbConnection) -> Result<Result<u64, (i64, String)>, ApiError> {
    verify_extends(conn, None)
}

/// [`verify`], and with `head` (a hash printed by `kiemtra audit head`)
/// also that the chain still holds an entry with that hash: a log rewritten
/// in full, every hash recomputed, chains but no longer extends an old head.
pub fn verify_extends(
    conn: &mut DbConnection,
    head: Option<&str>,
) -> Result<Result<u64, (i64, String)>, ApiError> {
    let head = head.map(str::to_ascii_lowercase);
    let mut seen = head.as_deref().is_none_or(|h| h == GENESIS);
    let result = walk(conn, |e| {
        if head.as_deref() == Some(e.hash.as_str()) {
            seen = true;
        }
    })?;
    Ok(match result {
        Ok(n) if !seen => Err((
            n as i64,
            format!(
                "the chain does not extend head {}: the log was rewritten or cut",
                head.unwrap_or_default()
            ),
        )),
        other => other,
    })
}

fn walk(
    conn: &mut DbConnection,
    mut each: impl FnMut(&Entry),
) -> Result<Result<u64, (i64, String)>, ApiError> {
    let mut prev = GENESIS.to_string();
    let mut expected_seq = 1;
    let mut after = 0i64;
    loop {
        let batch = store::entries_after(conn, after, 5000)?;
        if batch.is_empty() {
            return Ok(Ok((expected_seq - 1) as u64));
        }
        for e in batch {
            if e.seq != expected_seq {
                return Ok(Err((
                    expected_seq,
                    format!("entry {expected_seq} is missing"),
                )));
            }
            if e.prev_hash != prev {
                return Ok(Err((
                    e.seq,
                    "its prev_hash does not match the entry before it".into(),
                )));
            }
            if entry_hash(&e) != e.hash {
                return Ok(Err((e.seq, "its content does not match its hash".into())));
            }
            each(&e);
            prev = e.hash;
            expected_seq += 1;
            after = e.seq;
        }
    }
}

/// Filters of the audit log's reading (the console's Nhật ký).
#[derive(Debug, Default, Clone)]
pub struct EntryFilter {
    /// One entity's entries.
    pub entity_id: Option<String>,
    /// One actor's entries (a user id).
    pub actor: Option<String>,
    /// At or after this instant (UTC).
    pub from: Option<chrono::NaiveDateTime>,
    /// Before this instant (UTC).
    pub to: Option<chrono::NaiveDateTime>,
    /// Entries before this position (the next page).
    pub before: Option<i64>,
}

/// Audit entries matching `f`, newest first, at most `limit`, and the
/// chain's head (position and hash). Administrators only: the log spans
/// every area.
pub async fn entries(
    db: &crate::db::Db,
    user: crate::app::auth::AuthUser,
    f: EntryFilter,
    limit: i64,
) -> Result<(Vec<crate::db::audit::Entry>, Option<(i64, String)>), ApiError> {
    crate::app::policy::require_admin(&user)?;
    db.run(move |conn| {
        let rows = crate::db::console::audit_entries(
            conn,
            f.entity_id.as_deref(),
            f.actor.as_deref(),
            f.from,
            f.to,
            f.before,
            limit,
        )?;
        Ok((rows, crate::db::audit::tail(conn)?))
    })
    .await
}

/// The audit entries of one establishment the caller may see (its history),
/// newest first, at most `limit`.
pub async fn establishment_history(
    db: &crate::db::Db,
    user: crate::app::auth::AuthUser,
    id: String,
    limit: i64,
) -> Result<Vec<crate::db::audit::Entry>, ApiError> {
    db.run(move |conn| {
        crate::app::establishments::load_visible(conn, &user, &id)?;
        crate::db::console::audit_entries(conn, Some(&id), None, None, None, None, limit)
    })
    .await
}
