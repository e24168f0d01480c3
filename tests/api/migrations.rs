//! Migrations are reversible: up, all the way down, and up again, on the
//! backend under test.

use crate::helpers::{commune_of, fresh_database, Migrations, TestApp};

#[test]
fn migrations_redo_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let db = fresh_database(dir.path());
    let mut migrations = Migrations::on(&db);
    let first = migrations.run();
    assert!(first.len() >= 6, "{first:?}");
    assert_eq!(migrations.revert_all(), first.len());
    let again = migrations.run();
    assert_eq!(again.len(), first.len());
}

/// Establishments, teams and plans are never deleted (the record of the
/// programme; assignments point at them): the database refuses it.
#[actix_web::test]
async fn the_record_is_never_deleted() {
    let (app, admin) = TestApp::init().with_team("372").with_admin().await;
    let e = app
        .establishment(&admin, "DEL-1", &commune_of("372"), "bar")
        .await;
    let p = app
        .create_plan(
            &admin,
            serde_json::json!({"name": "2016", "year": 2016, "org_unit_code": "37"}),
        )
        .await;
    for (table, id) in [
        ("establishments", e["id"].as_str().unwrap()),
        ("teams", app.teams["372"].as_str()),
        ("plans", p["id"].as_str().unwrap()),
    ] {
        let err = app.exec_err(&format!("DELETE FROM {table} WHERE id = '{id}'"));
        assert!(err.contains("never deleted"), "{table}: {err}");
    }
    assert_eq!(app.count("establishments"), 1);
}
