//! Every endpoint with every role, on resources inside and outside the
//! caller's area: out-of-scope ids are 404, disallowed roles 403.

use std::collections::HashMap;

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::helpers::{commune_of, spawn_app, NINH_BINH};

#[actix_web::test]
async fn every_endpoint_every_role() {
    let app = spawn_app().await;
    let admin = app.with_ninh_binh().await;
    let (c372, c373) = (commune_of("372"), commune_of("373"));
    let e372 = app.establishment(&admin, "S-372", &c372, "karaoke").await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let e373 = app.establishment(&admin, "S-373", &c373, "karaoke").await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let mut team = HashMap::new();
    for d in ["372", "373"] {
        let (s, t) = app
            .post(
                "/api/v1/teams",
                &admin,
                json!({"name": format!("Đội {d}"), "level": "district", "org_unit_code": d}),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{t}");
        team.insert(d, t["id"].as_str().unwrap().to_string());
    }
    app.create_user("sup37", "supervisor", Some("37"), None);
    app.create_user("sup372", "supervisor", Some("372"), None);
    app.create_user("insp372", "inspector", Some("372"), Some(&team["372"]));
    app.create_user("insp373", "inspector", Some("373"), Some(&team["373"]));
    let free = app.create_user("free373", "inspector", Some("373"), None);
    let mut tok = HashMap::new();
    tok.insert("admin", admin.clone());
    for u in ["sup37", "sup372", "insp372", "insp373"] {
        tok.insert(u, app.login(u).await);
    }

    let est = |id: &str| format!("/api/v1/establishments/{id}");
    let new_est = |unit: &str, lic: &str| json!({"licence_no": lic, "name": "N", "business_type": "bar", "org_unit_code": unit, "address": "a"});
    let csv372 =
        format!("licence_no,name,business_type,org_unit_code,address\nCSV-1,N,bar,{c372},a\n");
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

    // CSV imports follow the same rule, row by row.
    let (s, r) = app
        .post_csv("/api/v1/establishments/import", &tok["sup372"], &csv372)
        .await;
    assert_eq!((s, r["created"].as_u64()), (StatusCode::OK, Some(1)));
    let (s, _) = app
        .post_csv("/api/v1/org-units/import", &tok["sup37"], NINH_BINH)
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);

    // Lists show only what is inside the area.
    let ids = |v: &Value| -> Vec<String> {
        v["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["org_unit_code"].as_str().unwrap().to_string())
            .collect()
    };
    let (_, l) = app.get("/api/v1/establishments", &tok["insp373"]).await;
    assert!(
        !ids(&l).is_empty() && ids(&l).iter().all(|c| *c == c373),
        "{l}"
    );
    let (_, l) = app.get("/api/v1/establishments", &tok["sup372"]).await;
    assert!(
        !ids(&l).is_empty() && ids(&l).iter().all(|c| *c == c372),
        "{l}"
    );
    let (_, l) = app.get("/api/v1/teams", &tok["insp372"]).await;
    assert_eq!(l["items"].as_array().unwrap().len(), 1);
    let (_, l) = app
        .get("/api/v1/org-units?level=district", &tok["sup372"])
        .await;
    assert_eq!(l["items"].as_array().unwrap().len(), 1);
}
