//! The audit log's rows: its tail, appends and reads in order. The chain's
//! rules (hashing, verification) are [`crate::app::audit`]'s.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::schema::audit_log;
use crate::db::DbConnection;
use crate::error::ApiError;

/// One entry as stored.
#[derive(Debug, Clone, Queryable, Insertable)]
#[diesel(table_name = audit_log, treat_none_as_default_value = false)]
pub struct Entry {
    /// Position in the chain, from 1.
    pub seq: i64,
    /// When (UTC).
    pub at: NaiveDateTime,
    /// User id, or `system`/`cli`.
    pub actor: String,
    /// What happened, as `entity.verb`.
    pub action: String,
    /// The entity's id.
    pub entity_id: String,
    /// JSON before the change.
    pub before: Option<String>,
    /// JSON after the change.
    pub after: Option<String>,
    /// Hash of the previous entry.
    pub prev_hash: String,
    /// This entry's hash.
    pub hash: String,
}

/// Serialises access to the chain's tail until the transaction ends. SQLite
/// write transactions are already exclusive (`BEGIN IMMEDIATE`). Every
/// minutes write holds it, so it also orders the copying of an
/// establishment's unit and type onto its inspections against new minutes
/// (the minutes group commit writes a batch under it).
pub fn lock_tail(conn: &mut DbConnection) -> Result<(), ApiError> {
    if let DbConnection::Pg(c) = conn {
        diesel::sql_query("SELECT pg_advisory_xact_lock(178178)").execute(c)?;
    }
    Ok(())
}

/// The last entry's position and hash, if any.
pub fn tail(conn: &mut DbConnection) -> Result<Option<(i64, String)>, ApiError> {
    Ok(audit_log::table
        .select((audit_log::seq, audit_log::hash))
        .order(audit_log::seq.desc())
        .first(conn)
        .optional()?)
}

/// Inserts entries already chained by the caller.
pub fn insert(conn: &mut DbConnection, rows: &[Entry]) -> Result<(), ApiError> {
    // 9 columns a row: 3,000 rows a statement on SQLite.
    crate::bulk_insert!(conn, audit_log::table, rows, 3000);
    Ok(())
}

/// Up to `limit` entries after position `after`, in order.
pub fn entries_after(
    conn: &mut DbConnection,
    after: i64,
    limit: i64,
) -> Result<Vec<Entry>, ApiError> {
    Ok(audit_log::table
        .filter(audit_log::seq.gt(after))
        .order(audit_log::seq)
        .limit(limit)
        .load(conn)?)
}

/// The entries about any of `entity_ids` whose action is one of `actions`,
/// in chain order (verify of a plan reads its draws and what explains its
/// assignments' changes).
pub fn entries_about(
    conn: &mut DbConnection,
    entity_ids: &[String],
    actions: &[&str],
) -> Result<Vec<Entry>, ApiError> {
    let mut out: Vec<Entry> = Vec::new();
    for chunk in entity_ids.chunks(500) {
        out.extend(
            audit_log::table
                .filter(audit_log::entity_id.eq_any(chunk))
                .filter(audit_log::action.eq_any(actions))
                .load::<Entry>(conn)?,
        );
    }
    out.sort_by_key(|e| e.seq);
    Ok(out)
}
