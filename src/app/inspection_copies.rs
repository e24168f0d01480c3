//! An inspection keeps copies of its establishment's unit path, commune and
//! business type, where coverage counts read them. A write that changes them
//! on establishments (a patch, an establishment import, a moved org unit)
//! copies them onto the inspections twice, through [`copy_ordered_against_minutes`]:
//!
//! 1. without further locks: this waits for, and then locks, the inspections
//!    someone else is changing (a review, a correction), which take the audit
//!    tail's lock after their row;
//! 2. again holding the audit tail's lock, under which minutes being written
//!    read the establishment again (the minutes writer's refresh of these
//!    copies): minutes committed in between with the old values are caught
//!    here, later ones read the new values.

use crate::db::DbConnection;
use crate::error::ApiError;

/// Runs `copy`, then takes the audit tail's lock and runs `recopy`, inside
/// the caller's transaction, after the establishments' own update.
pub fn copy_ordered_against_minutes(
    conn: &mut DbConnection,
    copy: impl FnOnce(&mut DbConnection) -> Result<(), ApiError>,
    recopy: impl FnOnce(&mut DbConnection) -> Result<(), ApiError>,
) -> Result<(), ApiError> {
    copy(conn)?;
    // Minutes hold this lock while they write, so they are ordered against the recopy.
    crate::app::audit::lock_tail(conn)?;
    recopy(conn)
}
