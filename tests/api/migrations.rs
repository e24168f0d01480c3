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

/// Migration 000011 rebuilds `assignments` on SQLite, the table minutes
/// point at: up and down keep the rows, and the minutes still point at them
/// (an empty database cannot tell, since the checks are deferred to commit).
#[test]
fn the_assignments_rebuild_keeps_rows_and_the_minutes_on_them() {
    let dir = tempfile::tempdir().unwrap();
    let db = fresh_database(dir.path());
    let mut migrations = Migrations::on(&db);
    migrations.run();
    migrations.revert_through("000011");

    let t = "'2026-01-01 00:00:00'";
    for sql in [
        format!("INSERT INTO org_units (code, name, level, parent_code, path, created_at, updated_at) VALUES ('37', 'Ninh Bình', 'province', NULL, '/37/', {t}, {t})"),
        format!("INSERT INTO users (id, username, password_hash, full_name, role, created_at) VALUES ('u1', 'admin', 'x', 'Admin', 'admin', {t})"),
        format!("INSERT INTO establishments (id, licence_no, name, name_fold, business_type, org_unit_code, unit_path, address, status, version, created_at, updated_at) VALUES ('e1', 'L1', 'Bar', 'bar', 'bar', '37', '/37/', 'Số 1', 'active', 1, {t}, {t})"),
        format!("INSERT INTO teams (id, name, level, org_unit_code, version, created_at, updated_at) VALUES ('t1', 'Đội 37', 'province', '37', 1, {t}, {t})"),
        format!("INSERT INTO plans (id, name, year, org_unit_code, shares, stratify_by, risk_weighting, status, version, created_by, created_at, updated_at) VALUES ('p1', '2026', 2026, '37', '[]', 'none', FALSE, 'drawn', 1, 'u1', {t}, {t})"),
        format!("INSERT INTO assignments (id, plan_id, team_id, establishment_id, level, round, status, due_by, version, change_seq, created_at, updated_at) VALUES ('a1', 'p1', 't1', 'e1', 'province', 1, 'completed', '2026-12-31', 1, 1, {t}, {t})"),
        format!("INSERT INTO inspections (id, establishment_id, team_id, assignment_id, plan_id, body_hash, current_version, outcome, finished_at, violation_count, review_status, clock_skew, far_from_site, received_at, created_by, updated_at, unit_path, org_unit_code, business_type) VALUES ('i1', 'e1', 't1', 'a1', 'p1', 'h', 1, 'compliant', {t}, 0, 'pending', FALSE, FALSE, {t}, 'u1', {t}, '/37/', '37', 'bar')"),
    ] {
        migrations.exec(&sql);
    }
    let on_their_assignment = "SELECT COUNT(*) AS n FROM inspections i JOIN assignments a \
         ON a.id = i.assignment_id WHERE a.status = 'completed' AND a.due_by = '2026-12-31'";

    migrations.run();
    assert_eq!(migrations.scalar(on_their_assignment), 1);
    migrations.revert_through("000011");
    assert_eq!(migrations.scalar(on_their_assignment), 1);
}
