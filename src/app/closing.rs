//! What follows from an establishment closing, across aggregates: its open
//! assignments are cancelled in the closing transaction, so that no team
//! visits a closed business and top-up later replaces them from the same
//! stratum.

use crate::db::assignments as rows;
use crate::db::changes::next_change_seq;
use crate::db::DbConnection;
use crate::domain::values::now;
use crate::error::ApiError;

/// Cancels the open assignments of the establishment `establishment_id`,
/// each with its own change number; how many it cancelled.
pub fn cancel_open_assignments(
    conn: &mut DbConnection,
    establishment_id: &str,
) -> Result<usize, ApiError> {
    let open = rows::open_assignments_of(conn, establishment_id)?;
    if open.is_empty() {
        return Ok(0);
    }
    let seq = next_change_seq(conn, open.len() as i64)?;
    for (i, id) in open.iter().enumerate() {
        rows::cancel_assignment(conn, id, "establishment closed", seq + i as i64, now())?;
    }
    Ok(open.len())
}
