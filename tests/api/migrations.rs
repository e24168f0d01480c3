//! Migrations are reversible: up, all the way down, and up again, on the
//! backend under test.

use diesel_migrations::MigrationHarness;
use kiemtra::db::{build_pool, run_migrations, DbConnection, PG_MIGRATIONS, SQLITE_MIGRATIONS};

use crate::helpers::fresh_database;

#[test]
fn migrations_redo_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let db = fresh_database(dir.path());
    let pool = build_pool(&db, 1).unwrap();
    let mut conn = pool.get().unwrap();
    let first = run_migrations(&mut conn).unwrap();
    assert!(first.len() >= 6, "{first:?}");
    let reverted = match &mut **conn {
        DbConnection::Pg(c) => c.revert_all_migrations(PG_MIGRATIONS).unwrap(),
        DbConnection::Sqlite(c) => c.revert_all_migrations(SQLITE_MIGRATIONS).unwrap(),
    };
    assert_eq!(reverted.len(), first.len());
    let again = run_migrations(&mut conn).unwrap();
    assert_eq!(again.len(), first.len());
}

/// Establishments, teams and plans are never deleted (the record of the
/// programme; assignments point at them): the database refuses it.
#[actix_web::test]
async fn the_record_is_never_deleted() {
    use diesel::RunQueryDsl;
    let app = crate::helpers::spawn_app().await;
    let admin = app.with_ninh_binh().await;
    let e = app
        .establishment(&admin, "DEL-1", &crate::helpers::commune_of("372"), "bar")
        .await;
    let (_, t) = app
        .post(
            "/api/v1/teams",
            &admin,
            serde_json::json!({"name": "Đội 372", "level": "district", "org_unit_code": "372"}),
        )
        .await;
    let (_, p) = app
        .post(
            "/api/v1/plans",
            &admin,
            serde_json::json!({"name": "2016", "year": 2016, "org_unit_code": "37"}),
        )
        .await;
    let mut conn = app.pool.get().unwrap();
    for (table, id) in [
        ("establishments", e["id"].as_str().unwrap()),
        ("teams", t["id"].as_str().unwrap()),
        ("plans", p["id"].as_str().unwrap()),
    ] {
        let err = diesel::sql_query(format!("DELETE FROM {table} WHERE id = '{id}'"))
            .execute(&mut **conn)
            .expect_err(table);
        assert!(err.to_string().contains("never deleted"), "{table}: {err}");
    }
    drop(conn);
    assert_eq!(app.count("establishments"), 1);
}
