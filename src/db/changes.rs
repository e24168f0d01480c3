//! The change counter: the sync high-water mark every change to an
//! assignment is numbered from.

use diesel::prelude::*;

use crate::db::schema::change_counter;
use crate::db::DbConnection;
use crate::error::ApiError;

/// Reserves `n` consecutive change numbers and returns the first. The
/// counter's row lock (held to commit) orders writers, so a team that synced
/// up to number k has seen every change numbered k or less.
pub fn next_change_seq(conn: &mut DbConnection, n: i64) -> Result<i64, ApiError> {
    diesel::update(change_counter::table.find(1))
        .set(change_counter::value.eq(change_counter::value + n))
        .execute(conn)?;
    let last: i64 = change_counter::table
        .find(1)
        .select(change_counter::value)
        .first(conn)?;
    Ok(last - n + 1)
}
