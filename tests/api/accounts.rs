//! Accounts an administrator can manage: `PATCH /users/{id}` (disable,
//! enable, role, unit, team, name; `If-Match`), `POST /users/{id}/password`,
//! `POST /users/me/password`, `PATCH`/`DELETE /teams/{id}/members/{user_id}`
//! and `kiemtra user disable|enable|reset-password`.
//!
//! A wrong current password on `POST /users/me/password` is 422 naming
//! `current_password` (the caller is who it says; its input is wrong).

use std::io::Write;
use std::process::{Command, Stdio};

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::helpers::{Expect, TestApp, User, PASSWORD};

const BIN: &str = env!("CARGO_BIN_EXE_kiemtra");

const NEW_PASSWORD: &str = "a-brand-new-password";

/// Units, teams 372 and 373, and the admin's token.
async fn two_teams() -> (TestApp, String) {
    TestApp::init()
        .with_team("372")
        .with_team("373")
        .with_admin()
        .await
}

/// A request with an optional `If-Match`: status, `ETag`, JSON body (or Null).
async fn send(
    app: &TestApp,
    method: Method,
    path: &str,
    token: &str,
    if_match: Option<&str>,
    body: Option<Value>,
) -> (StatusCode, Option<String>, Value) {
    let mut req = app.client.request(method, app.url(path)).bearer_auth(token);
    if let Some(v) = if_match {
        req = req.header("If-Match", v);
    }
    if let Some(b) = body {
        req = req.json(&b);
    }
    let resp = req.send().await.expect("request");
    let status = resp.status();
    let etag = resp
        .headers()
        .get("ETag")
        .map(|v| v.to_str().unwrap().to_string());
    let text = resp.text().await.unwrap_or_default();
    (
        status,
        etag,
        serde_json::from_str(&text).unwrap_or(Value::Null),
    )
}

async fn patch_user(
    app: &TestApp,
    token: &str,
    id: &str,
    if_match: Option<&str>,
    body: Value,
) -> (StatusCode, Value) {
    let (s, _, b) = send(
        app,
        Method::PATCH,
        &format!("/api/v1/users/{id}"),
        token,
        if_match,
        Some(body),
    )
    .await;
    (s, b)
}

async fn delete(app: &TestApp, path: &str, token: &str) -> (StatusCode, Value) {
    let (s, _, b) = send(app, Method::DELETE, path, token, None, None).await;
    (s, b)
}

/// Logs in with `password`: status and body.
async fn login_with(app: &TestApp, username: &str, password: &str) -> (StatusCode, Value) {
    app.send(
        Method::POST,
        "/api/v1/auth/login",
        None,
        Some(json!({"username": username, "password": password})),
    )
    .await
}

async fn refresh(app: &TestApp, token: &str) -> (StatusCode, Value) {
    app.send(
        Method::POST,
        "/api/v1/auth/refresh",
        None,
        Some(json!({"refresh_token": token})),
    )
    .await
}

/// The field a 422 names first.
fn field(body: &Value) -> &str {
    body["errors"][0]["field"].as_str().unwrap_or_default()
}

/// The members of a team as (username, is_leader), by username.
async fn members(app: &TestApp, token: &str, team: &str) -> Vec<(String, bool)> {
    app.get(&format!("/api/v1/teams/{team}"), token)
        .await
        .expect(StatusCode::OK)["members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            (
                m["username"].as_str().unwrap().to_string(),
                m["is_leader"].as_bool().unwrap(),
            )
        })
        .collect()
}

fn audited(app: &TestApp, action: &str) -> i64 {
    app.scalar(&format!(
        "SELECT COUNT(*) AS n FROM audit_log WHERE action = '{action}'"
    ))
}

// ---- PATCH /users/{id} ------------------------------------------------------

#[actix_web::test]
async fn disabling_a_user_refuses_its_still_valid_access_token_at_once() {
    let (app, admin) = two_teams().await;
    let insp = app.inspector("insp372", "372").await;
    // The caller is read (and kept by the server) while it is active.
    app.get("/api/v1/users/me", &insp.token)
        .await
        .expect(StatusCode::OK);
    let u = patch_user(&app, &admin, &insp.id, None, json!({"is_active": false}))
        .await
        .expect(StatusCode::OK);
    assert_eq!(u["is_active"], false);
    let p = app
        .get("/api/v1/users/me", &insp.token)
        .await
        .expect(StatusCode::UNAUTHORIZED);
    assert_eq!(p["code"], "unauthorized");
}

#[actix_web::test]
async fn disabling_a_user_revokes_its_refresh_tokens_and_refuses_its_login() {
    let (app, admin) = two_teams().await;
    let id = app.create_user("insp372", "inspector", Some("372"), None);
    let login = app.login_answer("insp372").await;
    let r = login["refresh_token"].as_str().unwrap().to_string();
    patch_user(&app, &admin, &id, None, json!({"is_active": false}))
        .await
        .expect(StatusCode::OK);
    refresh(&app, &r).await.expect(StatusCode::UNAUTHORIZED);
    login_with(&app, "insp372", PASSWORD)
        .await
        .expect(StatusCode::UNAUTHORIZED);
    assert_eq!(
        app.scalar(&format!(
            "SELECT COUNT(*) AS n FROM refresh_tokens WHERE user_id = '{id}' AND revoked_at IS NULL"
        )),
        0
    );
}

#[actix_web::test]
async fn enabling_a_disabled_user_lets_it_log_in_again() {
    let (app, admin) = two_teams().await;
    let id = app.create_user("insp372", "inspector", Some("372"), None);
    patch_user(&app, &admin, &id, None, json!({"is_active": false}))
        .await
        .expect(StatusCode::OK);
    let u = patch_user(&app, &admin, &id, None, json!({"is_active": true}))
        .await
        .expect(StatusCode::OK);
    assert_eq!(u["is_active"], true);
    assert_eq!(u["version"], 3);
    login_with(&app, "insp372", PASSWORD)
        .await
        .expect(StatusCode::OK);
}

#[actix_web::test]
async fn patch_answers_the_new_version_as_etag_and_a_stale_if_match_is_412() {
    let (app, admin) = two_teams().await;
    let id = app.create_user("insp372", "inspector", Some("372"), None);
    let (s, etag, got) = send(
        &app,
        Method::GET,
        &format!("/api/v1/users/{id}"),
        &admin,
        None,
        None,
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{got}");
    assert_eq!(etag.as_deref(), Some("\"1\""));
    let (s, etag, u) = send(
        &app,
        Method::PATCH,
        &format!("/api/v1/users/{id}"),
        &admin,
        Some("\"1\""),
        Some(json!({"full_name": "Nguyễn Văn A"})),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{u}");
    assert_eq!(etag.as_deref(), Some("\"2\""));
    assert_eq!(u["full_name"], "Nguyễn Văn A");
    let (s, b) = patch_user(
        &app,
        &admin,
        &id,
        Some("\"1\""),
        json!({"full_name": "Trần Thị B"}),
    )
    .await;
    assert_eq!(s, StatusCode::PRECONDITION_FAILED, "{b}");
    let now = app.get_ok(&format!("/api/v1/users/{id}"), &admin).await;
    assert_eq!(now["full_name"], "Nguyễn Văn A");
}

#[actix_web::test]
async fn patch_moves_a_user_to_another_team_and_unit() {
    let (app, admin) = two_teams().await;
    let insp = app.inspector("insp372", "372").await;
    let u = patch_user(
        &app,
        &admin,
        &insp.id,
        None,
        json!({"team_id": app.teams["373"], "org_unit_code": "373", "role": "inspector"}),
    )
    .await
    .expect(StatusCode::OK);
    assert_eq!(u["team_id"], app.teams["373"].as_str());
    assert_eq!(u["org_unit_code"], "373");
    assert!(members(&app, &admin, &app.teams["372"]).await.is_empty());
    assert_eq!(
        members(&app, &admin, &app.teams["373"]).await,
        vec![("insp372".to_string(), false)]
    );
    // Its token now sees the new team, not the old one.
    app.get(&format!("/api/v1/teams/{}", app.teams["373"]), &insp.token)
        .await
        .expect(StatusCode::OK);
    app.get(&format!("/api/v1/teams/{}", app.teams["372"]), &insp.token)
        .await
        .expect(StatusCode::NOT_FOUND);
}

#[actix_web::test]
async fn patch_names_a_bad_field_with_422() {
    let (app, admin) = two_teams().await;
    let id = app.create_user("insp372", "inspector", Some("372"), None);
    let (s, b) = patch_user(&app, &admin, &id, None, json!({"role": "king"})).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{b}");
    assert_eq!(field(&b), "role");
    let (s, b) = patch_user(&app, &admin, &id, None, json!({"org_unit_code": null})).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{b}");
    assert_eq!(field(&b), "org_unit_code");
}

#[actix_web::test]
async fn an_admin_cannot_disable_itself() {
    let (app, admin) = two_teams().await;
    let me = app.get_ok("/api/v1/users/me", &admin).await;
    let id = me["id"].as_str().unwrap();
    let (s, b) = patch_user(&app, &admin, id, None, json!({"is_active": false})).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{b}");
    assert_eq!(field(&b), "is_active");
    app.get("/api/v1/users/me", &admin)
        .await
        .expect(StatusCode::OK);
}

#[actix_web::test]
async fn a_supervisor_disables_a_user_of_its_area() {
    let (app, _admin) = two_teams().await;
    let sup = app.supervisor("sup372", "372").await;
    let insp = app.inspector("insp372", "372").await;
    patch_user(&app, &sup, &insp.id, None, json!({"is_active": false}))
        .await
        .expect(StatusCode::OK);
    app.get("/api/v1/users/me", &insp.token)
        .await
        .expect(StatusCode::UNAUTHORIZED);
}

#[actix_web::test]
async fn a_supervisor_does_not_find_a_user_outside_its_area() {
    let (app, admin) = two_teams().await;
    let sup = app.supervisor("sup372", "372").await;
    let insp = app.inspector("insp373", "373").await;
    patch_user(&app, &sup, &insp.id, None, json!({"is_active": false}))
        .await
        .expect(StatusCode::NOT_FOUND);
    app.get(&format!("/api/v1/users/{}", insp.id), &sup)
        .await
        .expect(StatusCode::NOT_FOUND);
    let u = app
        .get_ok(&format!("/api/v1/users/{}", insp.id), &admin)
        .await;
    assert_eq!(u["is_active"], true);
}

#[actix_web::test]
async fn a_supervisor_cannot_make_an_admin() {
    let (app, _admin) = two_teams().await;
    let sup = app.supervisor("sup372", "372").await;
    let id = app.create_user("insp372", "inspector", Some("372"), None);
    patch_user(&app, &sup, &id, None, json!({"role": "admin"}))
        .await
        .expect(StatusCode::FORBIDDEN);
}

#[actix_web::test]
async fn a_supervisor_cannot_touch_an_admin_of_its_area() {
    let (app, _admin) = two_teams().await;
    let sup = app.supervisor("sup372", "372").await;
    let id = app.create_user("admin372", "admin", Some("372"), None);
    patch_user(&app, &sup, &id, None, json!({"is_active": false}))
        .await
        .expect(StatusCode::FORBIDDEN);
    app.post(
        &format!("/api/v1/users/{id}/password"),
        &sup,
        json!({"password": NEW_PASSWORD}),
    )
    .await
    .expect(StatusCode::FORBIDDEN);
}

#[actix_web::test]
async fn an_inspector_cannot_manage_accounts() {
    let (app, admin) = two_teams().await;
    let insp = app.inspector("insp372", "372").await;
    let other = app.create_user("other372", "inspector", Some("372"), None);
    patch_user(&app, &insp.token, &insp.id, None, json!({"role": "admin"}))
        .await
        .expect(StatusCode::FORBIDDEN);
    patch_user(&app, &insp.token, &other, None, json!({"is_active": false}))
        .await
        .expect(StatusCode::FORBIDDEN);
    app.post(
        &format!("/api/v1/users/{other}/password"),
        &insp.token,
        json!({"password": NEW_PASSWORD}),
    )
    .await
    .expect(StatusCode::FORBIDDEN);
    let u = app
        .get_ok(&format!("/api/v1/users/{}", insp.id), &admin)
        .await;
    assert_eq!(u["role"], "inspector");
}

// ---- POST /users/{id}/password ---------------------------------------------

#[actix_web::test]
async fn a_reset_password_replaces_the_old_one_and_revokes_refresh_tokens() {
    let (app, admin) = two_teams().await;
    let id = app.create_user("insp372", "inspector", Some("372"), None);
    let r = app.login_answer("insp372").await["refresh_token"]
        .as_str()
        .unwrap()
        .to_string();
    let (s, b) = app
        .post(
            &format!("/api/v1/users/{id}/password"),
            &admin,
            json!({"password": NEW_PASSWORD}),
        )
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT, "{b}");
    login_with(&app, "insp372", PASSWORD)
        .await
        .expect(StatusCode::UNAUTHORIZED);
    refresh(&app, &r).await.expect(StatusCode::UNAUTHORIZED);
    login_with(&app, "insp372", NEW_PASSWORD)
        .await
        .expect(StatusCode::OK);
}

#[actix_web::test]
async fn a_reset_password_too_short_is_422() {
    let (app, admin) = two_teams().await;
    let id = app.create_user("insp372", "inspector", Some("372"), None);
    let b = app
        .post(
            &format!("/api/v1/users/{id}/password"),
            &admin,
            json!({"password": "short"}),
        )
        .await
        .expect(StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(field(&b), "password");
    login_with(&app, "insp372", PASSWORD)
        .await
        .expect(StatusCode::OK);
}

#[actix_web::test]
async fn a_supervisor_resets_passwords_only_in_its_area() {
    let (app, _admin) = two_teams().await;
    let sup = app.supervisor("sup372", "372").await;
    let mine = app.create_user("insp372", "inspector", Some("372"), None);
    let theirs = app.create_user("insp373", "inspector", Some("373"), None);
    app.post(
        &format!("/api/v1/users/{theirs}/password"),
        &sup,
        json!({"password": NEW_PASSWORD}),
    )
    .await
    .expect(StatusCode::NOT_FOUND);
    app.post(
        &format!("/api/v1/users/{mine}/password"),
        &sup,
        json!({"password": NEW_PASSWORD}),
    )
    .await
    .expect(StatusCode::NO_CONTENT);
    login_with(&app, "insp373", PASSWORD)
        .await
        .expect(StatusCode::OK);
    login_with(&app, "insp372", NEW_PASSWORD)
        .await
        .expect(StatusCode::OK);
}

// ---- POST /users/me/password -------------------------------------------------

#[actix_web::test]
async fn a_user_changes_its_own_password_with_the_current_one() {
    let (app, _admin) = two_teams().await;
    let insp = app.inspector("insp372", "372").await;
    let (s, b) = app
        .post(
            "/api/v1/users/me/password",
            &insp.token,
            json!({"current_password": PASSWORD, "new_password": NEW_PASSWORD}),
        )
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT, "{b}");
    login_with(&app, "insp372", PASSWORD)
        .await
        .expect(StatusCode::UNAUTHORIZED);
    login_with(&app, "insp372", NEW_PASSWORD)
        .await
        .expect(StatusCode::OK);
}

#[actix_web::test]
async fn a_wrong_current_password_is_422_and_changes_nothing() {
    let (app, _admin) = two_teams().await;
    let insp = app.inspector("insp372", "372").await;
    let b = app
        .post(
            "/api/v1/users/me/password",
            &insp.token,
            json!({"current_password": "not-my-password", "new_password": NEW_PASSWORD}),
        )
        .await
        .expect(StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(field(&b), "current_password");
    login_with(&app, "insp372", PASSWORD)
        .await
        .expect(StatusCode::OK);
}

// ---- team members ------------------------------------------------------------

/// Team 372 with `lead` (leader) and `member`.
async fn team_of_two(app: &TestApp, admin: &str) -> (User, User) {
    let lead = app.inspector("lead372", "372").await;
    let member = app.inspector("member372", "372").await;
    // The helpers' inspectors join as plain members; make `lead` the leader.
    app.patch_ok(
        &format!("/api/v1/teams/{}/members/{}", app.teams["372"], lead.id),
        admin,
        json!({"is_leader": true}),
    )
    .await;
    (lead, member)
}

#[actix_web::test]
async fn removing_a_member_shows_in_the_team_and_the_user() {
    let (app, admin) = two_teams().await;
    let (_lead, member) = team_of_two(&app, &admin).await;
    let team = &app.teams["372"];
    let (s, b) = delete(
        &app,
        &format!("/api/v1/teams/{team}/members/{}", member.id),
        &admin,
    )
    .await;
    assert_eq!(s, StatusCode::NO_CONTENT, "{b}");
    assert_eq!(
        members(&app, &admin, team).await,
        vec![("lead372".to_string(), true)]
    );
    let u = app
        .get_ok(&format!("/api/v1/users/{}", member.id), &admin)
        .await;
    assert_eq!(u["team_id"], Value::Null);
    // Its token no longer sees the team, at once.
    app.get(&format!("/api/v1/teams/{team}"), &member.token)
        .await
        .expect(StatusCode::NOT_FOUND);
}

#[actix_web::test]
async fn removing_a_user_who_is_not_a_member_is_404() {
    let (app, admin) = two_teams().await;
    let other = app.inspector("insp373", "373").await;
    let b = delete(
        &app,
        &format!("/api/v1/teams/{}/members/{}", app.teams["372"], other.id),
        &admin,
    )
    .await
    .expect(StatusCode::NOT_FOUND);
    // The route exists; the membership does not.
    assert_eq!(b["code"], "not_found");
    assert_eq!(members(&app, &admin, &app.teams["373"]).await.len(), 1);
}

#[actix_web::test]
async fn a_supervisor_removes_members_only_in_its_area() {
    let (app, _admin) = two_teams().await;
    let sup = app.supervisor("sup372", "372").await;
    let mine = app.inspector("insp372", "372").await;
    let theirs = app.inspector("insp373", "373").await;
    delete(
        &app,
        &format!("/api/v1/teams/{}/members/{}", app.teams["373"], theirs.id),
        &sup,
    )
    .await
    .expect(StatusCode::NOT_FOUND);
    delete(
        &app,
        &format!("/api/v1/teams/{}/members/{}", app.teams["372"], mine.id),
        &sup,
    )
    .await
    .expect(StatusCode::NO_CONTENT);
}

#[actix_web::test]
async fn an_inspector_cannot_change_its_team() {
    let (app, admin) = two_teams().await;
    let (lead, member) = team_of_two(&app, &admin).await;
    let team = &app.teams["372"];
    delete(
        &app,
        &format!("/api/v1/teams/{team}/members/{}", member.id),
        &lead.token,
    )
    .await
    .expect(StatusCode::FORBIDDEN);
    app.patch(
        &format!("/api/v1/teams/{team}/members/{}", member.id),
        &member.token,
        json!({"is_leader": true}),
    )
    .await
    .expect(StatusCode::FORBIDDEN);
    assert_eq!(
        members(&app, &admin, team).await,
        vec![
            ("lead372".to_string(), true),
            ("member372".to_string(), false)
        ]
    );
}

#[actix_web::test]
async fn a_new_leader_replaces_the_old_one() {
    let (app, admin) = two_teams().await;
    let (_lead, member) = team_of_two(&app, &admin).await;
    let team = &app.teams["372"];
    let m = app
        .patch_ok(
            &format!("/api/v1/teams/{team}/members/{}", member.id),
            &admin,
            json!({"is_leader": true}),
        )
        .await;
    assert_eq!(m["is_leader"], true);
    assert_eq!(m["user_id"], member.id.as_str());
    assert_eq!(
        members(&app, &admin, team).await,
        vec![
            ("lead372".to_string(), false),
            ("member372".to_string(), true)
        ]
    );
}

#[actix_web::test]
async fn a_bad_agency_on_a_member_is_422() {
    let (app, admin) = two_teams().await;
    let (_lead, member) = team_of_two(&app, &admin).await;
    let b = app
        .patch(
            &format!("/api/v1/teams/{}/members/{}", app.teams["372"], member.id),
            &admin,
            json!({"agency": "navy"}),
        )
        .await
        .expect(StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(field(&b), "agency");
}

// ---- audit ---------------------------------------------------------------

#[actix_web::test]
async fn every_account_change_is_audited() {
    let (app, admin) = two_teams().await;
    let (lead, member) = team_of_two(&app, &admin).await;
    let team = &app.teams["372"];
    patch_user(
        &app,
        &admin,
        &lead.id,
        None,
        json!({"full_name": "Lê Văn C"}),
    )
    .await
    .expect(StatusCode::OK);
    app.post(
        &format!("/api/v1/users/{}/password", lead.id),
        &admin,
        json!({"password": NEW_PASSWORD}),
    )
    .await
    .expect(StatusCode::NO_CONTENT);
    app.post(
        "/api/v1/users/me/password",
        &member.token,
        json!({"current_password": PASSWORD, "new_password": NEW_PASSWORD}),
    )
    .await
    .expect(StatusCode::NO_CONTENT);
    delete(
        &app,
        &format!("/api/v1/teams/{team}/members/{}", member.id),
        &admin,
    )
    .await
    .expect(StatusCode::NO_CONTENT);
    assert_eq!(audited(&app, "user.update"), 1);
    assert_eq!(audited(&app, "user.reset_password"), 1);
    assert_eq!(audited(&app, "user.change_password"), 1);
    assert_eq!(audited(&app, "team.update_member"), 1);
    assert_eq!(audited(&app, "team.remove_member"), 1);
    assert!(app.audit_chain().is_ok());
}

// ---- the command line ------------------------------------------------------

/// Runs `kiemtra user ARGS` on the app's database with `stdin`.
fn kiemtra_user(app: &TestApp, args: &[&str], stdin: &str) -> std::process::Output {
    let mut child = Command::new(BIN)
        .arg("user")
        .args(args)
        .env("DATABASE_URL", app.database_url())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

#[actix_web::test]
async fn the_cli_disables_and_enables_an_account() {
    let (app, _admin) = two_teams().await;
    let insp = app.inspector("insp372", "372").await;
    app.get("/api/v1/users/me", &insp.token)
        .await
        .expect(StatusCode::OK);
    let out = kiemtra_user(&app, &["disable", "--username", "insp372"], "");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // The running server refuses the still valid token at once.
    app.get("/api/v1/users/me", &insp.token)
        .await
        .expect(StatusCode::UNAUTHORIZED);
    login_with(&app, "insp372", PASSWORD)
        .await
        .expect(StatusCode::UNAUTHORIZED);
    let out = kiemtra_user(&app, &["enable", "--username", "insp372"], "");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    login_with(&app, "insp372", PASSWORD)
        .await
        .expect(StatusCode::OK);
    assert_eq!(audited(&app, "user.update"), 2);
}

#[actix_web::test]
async fn the_cli_resets_a_password_read_from_standard_input() {
    let (app, _admin) = two_teams().await;
    app.create_user("insp372", "inspector", Some("372"), None);
    let out = kiemtra_user(
        &app,
        &["reset-password", "--username", "insp372"],
        &format!("{NEW_PASSWORD}\n"),
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    login_with(&app, "insp372", PASSWORD)
        .await
        .expect(StatusCode::UNAUTHORIZED);
    login_with(&app, "insp372", NEW_PASSWORD)
        .await
        .expect(StatusCode::OK);
    assert_eq!(audited(&app, "user.reset_password"), 1);
}

#[actix_web::test]
async fn the_cli_refuses_an_unknown_user_and_a_short_password() {
    let (app, _admin) = two_teams().await;
    app.create_user("insp372", "inspector", Some("372"), None);
    let out = kiemtra_user(&app, &["disable", "--username", "nobody"], "");
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("no user nobody"));
    let out = kiemtra_user(
        &app,
        &["reset-password", "--username", "insp372"],
        "short\n",
    );
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("password"));
    login_with(&app, "insp372", PASSWORD)
        .await
        .expect(StatusCode::OK);
}
