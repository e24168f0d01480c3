//! Callers kept between requests while the auth epoch stands.
//!
//! The `auth_epoch` row changes, by triggers, in the same transaction as any
//! write to what a caller is read from: `users` (all but `last_sync_at`,
//! `password_hash` and `full_name`), `teams` and `org_units`. A caller read
//! in a statement that also read the epoch stays exactly what the database
//! would give as long as a later statement reads the same epoch: a write
//! that changed it would have changed the epoch too, and the row lock on
//! `auth_epoch` makes such writes commit one after another. So a request
//! that finds its caller here reads only the epoch with its own rows (a
//! team's delta sync), and every server instance checks against the same
//! row. A disabled user, a changed team or a moved unit is seen by the next
//! request, as without the cache.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard};

use super::AuthUser;

/// At most this many callers are kept; past it the cache starts over (a
/// province has a few hundred inspectors, the country tens of thousands).
const MAX_CALLERS: usize = 100_000;

/// Callers read at one auth epoch.
#[derive(Default)]
pub struct AuthCache {
    inner: Mutex<Kept>,
}

#[derive(Default)]
struct Kept {
    /// The epoch every kept caller was read at.
    epoch: i64,
    users: HashMap<String, AuthUser>,
}

impl AuthCache {
    fn kept(&self) -> MutexGuard<'_, Kept> {
        // The map is consistent between statements: a panic elsewhere while
        // holding the lock leaves nothing half-done.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The caller kept for `user_id` and the epoch it was read at; usable
    /// only if the database's epoch, read with the request's own rows, is
    /// still that one.
    pub fn get(&self, user_id: &str) -> Option<(i64, AuthUser)> {
        let kept = self.kept();
        kept.users.get(user_id).map(|u| (kept.epoch, u.clone()))
    }

    /// Keeps `user`, read in a statement that read `epoch`. Callers read at
    /// another epoch are dropped: they can no longer be used.
    pub fn put(&self, epoch: i64, user: &AuthUser) {
        let mut kept = self.kept();
        if kept.epoch != epoch || kept.users.len() >= MAX_CALLERS {
            kept.users.clear();
            kept.epoch = epoch;
        }
        kept.users.insert(user.id.clone(), user.clone());
    }

    /// Notes that `user_id`'s last sync, as stored, is at least `at` (this
    /// server wrote it, or found it recent), so that the next sync does not
    /// write it again (`last_sync_at` does not change the epoch).
    pub fn synced(&self, user_id: &str, at: chrono::NaiveDateTime) {
        if let Some(u) = self.kept().users.get_mut(user_id) {
            u.last_sync_at = Some(at);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::app::auth::Role;

    fn user(id: &str) -> AuthUser {
        AuthUser {
            id: id.into(),
            username: id.into(),
            role: Role::Inspector,
            org_unit_code: Some("372".into()),
            team_id: Some("t".into()),
            scope_path: Some("/37/372/".into()),
            team_unit_path: Some("/37/372/".into()),
            last_sync_at: None,
            change_counter: 0,
        }
    }

    #[test]
    fn a_caller_is_kept_with_its_epoch_until_another_epoch_is_read() {
        let cache = AuthCache::default();
        assert!(cache.get("a").is_none());
        cache.put(7, &user("a"));
        cache.put(7, &user("b"));
        assert_eq!(
            cache.get("a").map(|(e, u)| (e, u.id)),
            Some((7, "a".into()))
        );
        // A caller read at epoch 8 drops everything read at 7.
        cache.put(8, &user("b"));
        assert!(cache.get("a").is_none());
        assert_eq!(cache.get("b").map(|(e, _)| e), Some(8));
        // Even an older epoch (a database restored under a running server):
        // only equality with the database's epoch makes a caller usable.
        cache.put(3, &user("c"));
        assert!(cache.get("b").is_none());
        assert_eq!(cache.get("c").map(|(e, _)| e), Some(3));
    }

    #[test]
    fn a_noted_sync_is_kept() {
        let cache = AuthCache::default();
        let at = chrono::NaiveDate::from_ymd_opt(2026, 11, 30)
            .unwrap()
            .and_hms_opt(3, 0, 0)
            .unwrap();
        cache.synced("a", at);
        assert!(cache.get("a").is_none());
        cache.put(1, &user("a"));
        cache.synced("a", at);
        assert_eq!(cache.get("a").unwrap().1.last_sync_at, Some(at));
    }
}
