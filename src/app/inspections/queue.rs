//! The review queue: minutes waiting for a supervisor, flagged ones first.

use crate::app::auth::AuthUser;
use crate::app::policy;
pub use crate::db::console::QueueRow;
use crate::db::Db;
use crate::error::ApiError;

/// Pending minutes in the caller's area (admin, supervisor), flagged ones
/// first (taken far from the establishment, device clock ahead), then the
/// oldest received; at most `limit`, with how many wait in all. Kept while
/// nothing is written (`db::memo`): the overview shows it on every visit.
pub async fn review_queue(
    db: &Db,
    user: AuthUser,
    limit: i64,
) -> Result<(Vec<QueueRow>, i64), ApiError> {
    policy::require_manager(&user)?;
    let key = format!("review-queue|{limit}|{}", policy::policy_key(&user));
    let kept = db
        .memo()
        .get_or(key, || {
            db.run(move |conn| {
                let scope = policy::area_of(&user);
                let rows = crate::db::console::review_queue(conn, scope, limit)?;
                let total = crate::db::console::pending_count(conn, scope)?;
                Ok::<_, ApiError>((rows, total))
            })
        })
        .await?;
    Ok((*kept).clone())
}
