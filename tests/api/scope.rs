//! Every endpoint with every role, on resources inside and outside the
//! caller's area: out-of-scope ids are 404, disallowed roles 403.

use std::collections::HashMap;

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::helpers::{commune_of, strings, Expect, TestApp, NINH_BINH};

/// Units, teams 372 and 373, an establishment in a commune of each, and a
/// user of every kind: `admin`, supervisors of the province (`sup37`) and
/// of 372 (`sup372`), inspectors of teams 372 and 373, and an inspector of
/// 373 in no team yet (`free373`).
struct Scope {
    app: TestApp,
    /// Access token by username.
    tok: HashMap<&'static str, String>,
    e372: String,
    e373: String,
    /// The user id of `free373`.
    free: String,
}

async fn scope() -> Scope {
    let (app, admin) = TestApp::init()
        .with_team("372")
        .with_team("373")
        .with_admin()
        .await;
    let (c372, c373) = (commune_of("372"), commune_of("373"));
    let e372 = app.establishment(&admin, "S-372", &c372, "karaoke").await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let e373 = app.establishment(&admin, "S-373", &c373, "karaoke").await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let mut tok = HashMap::new();
    tok.insert("admin", admin);
    tok.insert("sup37", app.supervisor("sup37", "37").await);
    tok.insert("sup372", app.supervisor("sup372", "372").await);
    tok.insert("insp372", app.inspector("insp372", "372").await.token);
    tok.insert("insp373", app.inspector("insp373", "373").await.token);
    let free = app.create_user("free373", "inspector", Some("373"), None);
    Scope {
        app,
        tok,
        e372,
        e373,
        free,
    }
}

#[actix_web::test]
async fn every_endpoint_every_role() {
    let Scope {
        app,
        tok,
        e372,
        e373,
        free,
    } = scope().await;
    let team = &app.teams;
    let (c372, c373) = (commune_of("372"), commune_of("373"));
    let est = |id: &str| format!("/api/v1/establishments/{id}");
    let new_est = |unit: &str, lic: &str| json!({"licence_no": lic, "name": "N", "business_type": "bar", "org_unit_code": unit, "address": "a"});
    // (who, method, path, body, expected status)
    let cases: Vec<(&str, Method, String, Option<Value>, u16)> = vec![
        // establishments: read
        ("admin", Method::GET, est(&e372), None, 200),
        ("sup37", Method::GET, est(&e372), None, 200),
        ("sup372", Method::GET, est(&e372), None, 200),
        ("insp372", Method::GET, est(&e372), None, 200),
        ("insp373", Method::GET, est(&e372), None, 404),
        ("sup372", Method::GET, est(&e373), None, 404),
        ("insp372", Method::GET, est(&e373), None, 404),
        // establishments: write
        (
            "sup372",
            Method::PATCH,
            est(&e372),
            Some(json!({"phone": "0912"})),
            200,
        ),
        (
            "sup372",
            Method::PATCH,
            est(&e373),
            Some(json!({"phone": "0912"})),
            404,
        ),
        (
            "insp372",
            Method::PATCH,
            est(&e372),
            Some(json!({"phone": "0912"})),
            403,
        ),
        (
            "sup372",
            Method::POST,
            format!("{}/close", est(&e373)),
            Some(json!({"closed_on": "2016-01-02", "reason": "r"})),
            404,
        ),
        (
            "insp372",
            Method::POST,
            format!("{}/close", est(&e372)),
            Some(json!({"closed_on": "2016-01-02", "reason": "r"})),
            403,
        ),
        (
            "sup372",
            Method::POST,
            "/api/v1/establishments".into(),
            Some(new_est(&c372, "N-1")),
            201,
        ),
        (
            "sup372",
            Method::POST,
            "/api/v1/establishments".into(),
            Some(new_est(&c373, "N-2")),
            422,
        ),
        (
            "insp372",
            Method::POST,
            "/api/v1/establishments".into(),
            Some(new_est(&c372, "N-3")),
            403,
        ),
        (
            "sup37",
            Method::POST,
            "/api/v1/establishments".into(),
            Some(new_est(&c373, "N-4")),
            201,
        ),
        // org units
        (
            "sup372",
            Method::GET,
            "/api/v1/org-units/373".into(),
            None,
            404,
        ),
        (
            "insp372",
            Method::GET,
            "/api/v1/org-units/373".into(),
            None,
            404,
        ),
        (
            "sup372",
            Method::GET,
            "/api/v1/org-units/37".into(),
            None,
            200,
        ),
        (
            "sup37",
            Method::GET,
            "/api/v1/org-units/373".into(),
            None,
            200,
        ),
        (
            "insp372",
            Method::GET,
            format!("/api/v1/org-units/{c372}"),
            None,
            200,
        ),
        // teams
        (
            "admin",
            Method::GET,
            format!("/api/v1/teams/{}", team["372"]),
            None,
            200,
        ),
        (
            "sup37",
            Method::GET,
            format!("/api/v1/teams/{}", team["372"]),
            None,
            200,
        ),
        (
            "sup372",
            Method::GET,
            format!("/api/v1/teams/{}", team["372"]),
            None,
            200,
        ),
        (
            "sup372",
            Method::GET,
            format!("/api/v1/teams/{}", team["373"]),
            None,
            404,
        ),
        (
            "insp372",
            Method::GET,
            format!("/api/v1/teams/{}", team["372"]),
            None,
            200,
        ),
        (
            "insp373",
            Method::GET,
            format!("/api/v1/teams/{}", team["372"]),
            None,
            404,
        ),
        (
            "insp372",
            Method::POST,
            "/api/v1/teams".into(),
            Some(json!({"name": "x", "level": "district", "org_unit_code": "372"})),
            403,
        ),
        (
            "sup372",
            Method::POST,
            "/api/v1/teams".into(),
            Some(json!({"name": "x", "level": "district", "org_unit_code": "373"})),
            422,
        ),
        (
            "sup372",
            Method::POST,
            format!("/api/v1/teams/{}/members", team["373"]),
            Some(json!({"user_id": free, "agency": "police", "is_leader": false})),
            404,
        ),
        (
            "insp373",
            Method::POST,
            format!("/api/v1/teams/{}/members", team["373"]),
            Some(json!({"user_id": free, "agency": "police", "is_leader": false})),
            403,
        ),
        (
            "sup37",
            Method::POST,
            format!("/api/v1/teams/{}/members", team["373"]),
            Some(json!({"user_id": free, "agency": "police", "is_leader": false})),
            201,
        ),
        // admin-only
        (
            "sup37",
            Method::POST,
            "/api/v1/users".into(),
            Some(
                json!({"username": "zz1", "password": "long-enough-pw", "full_name": "Z", "role": "inspector", "org_unit_code": "37"}),
            ),
            403,
        ),
        (
            "insp372",
            Method::POST,
            "/api/v1/users".into(),
            Some(
                json!({"username": "zz2", "password": "long-enough-pw", "full_name": "Z", "role": "inspector", "org_unit_code": "37"}),
            ),
            403,
        ),
        ("sup37", Method::GET, "/api/v1/users".into(), None, 403),
        ("admin", Method::GET, "/api/v1/users".into(), None, 200),
        // everyone reads itself
        ("insp373", Method::GET, "/api/v1/users/me".into(), None, 200),
    ];
    let mut failures = Vec::new();
    for (who, method, path, body, expected) in cases {
        let (status, resp) = app.send(method.clone(), &path, Some(&tok[who]), body).await;
        if status.as_u16() != expected {
            failures.push(format!(
                "{who} {method} {path}: expected {expected}, got {status} {resp}"
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "scope failures:\n{}",
        failures.join("\n")
    );
}

/// CSV imports follow the same rule, row by row.
#[actix_web::test]
async fn csv_imports_follow_the_same_scope() {
    let Scope { app, tok, .. } = scope().await;
    let c372 = commune_of("372");
    let csv372 =
        format!("licence_no,name,business_type,org_unit_code,address\nCSV-1,N,bar,{c372},a\n");
    let r = app
        .post_csv("/api/v1/establishments/import", &tok["sup372"], &csv372)
        .await
        .expect(StatusCode::OK);
    assert_eq!(r["created"].as_u64(), Some(1));
    let (s, _) = app
        .post_csv("/api/v1/org-units/import", &tok["sup37"], NINH_BINH)
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
}

#[actix_web::test]
async fn lists_show_only_what_is_inside_the_area() {
    let Scope { app, tok, .. } = scope().await;
    let (c372, c373) = (commune_of("372"), commune_of("373"));
    let ids = |v: &Value| strings(&v["items"], "org_unit_code");
    let l = app.get_ok("/api/v1/establishments", &tok["insp373"]).await;
    assert!(
        !ids(&l).is_empty() && ids(&l).iter().all(|c| *c == c373),
        "{l}"
    );
    let l = app.get_ok("/api/v1/establishments", &tok["sup372"]).await;
    assert!(
        !ids(&l).is_empty() && ids(&l).iter().all(|c| *c == c372),
        "{l}"
    );
    let l = app.get_ok("/api/v1/teams", &tok["insp372"]).await;
    assert_eq!(l["items"].as_array().unwrap().len(), 1);
    let l = app
        .get_ok("/api/v1/org-units?level=district", &tok["sup372"])
        .await;
    assert_eq!(l["items"].as_array().unwrap().len(), 1);
}
