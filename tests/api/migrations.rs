//! Migrations are reversible: up, all the way down, and up again, on the
//! backend under test.

use diesel_migrations::MigrationHarness;
use kiemtra::db::{build_pool, run_migrations, DbConnection, PG_MIGRATIONS, SQLITE_MIGRATIONS};

use crate::helpers::fresh_database;

#[test]
fn migrations_redo_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let pool = build_pool(&fresh_database(dir.path()), 1).unwrap();
    let mut conn = pool.get().unwrap();
    let first = run_migrations(&mut conn).unwrap();
    assert!(first.len() >= 6, "{first:?}");
    let reverted = match &mut *conn {
        DbConnection::Pg(c) => c.revert_all_migrations(PG_MIGRATIONS).unwrap(),
        DbConnection::Sqlite(c) => c.revert_all_migrations(SQLITE_MIGRATIONS).unwrap(),
    };
    assert_eq!(reverted.len(), first.len());
    let again = run_migrations(&mut conn).unwrap();
    assert_eq!(again.len(), first.len());
}
