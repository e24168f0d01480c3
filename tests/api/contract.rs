//! What Schemathesis (`.ci/schemathesis`) holds the server to, pinned here
//! too: 405 with `Allow`, bodies that are objects, integers as JSON Schema
//! counts them, and `If-Match`, cursors and ids read exactly as the spec's
//! patterns say.

use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::helpers::{commune_of, TestApp};

#[actix_web::test]
async fn a_served_path_with_another_method_is_405_with_allow() {
    let app = TestApp::init().empty().await;
    for (method, path, allow) in [
        ("TRACE", "/readyz", "GET"),
        ("DELETE", "/api/v1/establishments", "GET, POST"),
        ("PUT", "/api/v1/plans/not-even-a-uuid", "GET, PATCH"),
        // A literal path wins over a template, as in OpenAPI.
        ("PATCH", "/api/v1/establishments/import", "POST"),
        ("GET", "/api/v1/org-units/import", "POST"),
        ("DELETE", "/api/v1/inspections/x/attachments/y", "GET, PUT"),
    ] {
        let resp = app
            .client
            .request(
                Method::from_bytes(method.as_bytes()).unwrap(),
                app.url(path),
            )
            .send()
            .await
            .unwrap();
        assert_eq!(
            resp.status(),
            StatusCode::METHOD_NOT_ALLOWED,
            "{method} {path}"
        );
        assert_eq!(resp.headers()["allow"], allow, "{method} {path}");
        assert_eq!(resp.headers()["content-type"], "application/problem+json");
        let body: serde_json::Value = resp.json().await.unwrap();
        assert_eq!(body["code"], "method_not_allowed");
    }
    let resp = app
        .client
        .request(Method::TRACE, app.url("/api/v1/nothing-here"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::NOT_FOUND);
}

#[actix_web::test]
async fn bodies_and_nested_objects_must_be_objects() {
    let (app, admin) = TestApp::init().with_ninh_binh().with_admin().await;
    // serde would read a struct from an array of its field values.
    let (status, body) = app.post("/api/v1/auth/logout", &admin, json!([null])).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    // No body is "log out everywhere"; white space alone is not JSON.
    let resp = app
        .client
        .post(app.url("/api/v1/auth/logout"))
        .bearer_auth(&admin)
        .header("Content-Type", "application/json")
        .body("\n")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    let (status, body) = app
        .post(
            "/api/v1/establishments",
            &admin,
            json!(["37-1", "X", "bar", "37", "Số 1"]),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    let (status, body) = app
        .post(
            "/api/v1/plans",
            &admin,
            json!({"name": "P", "year": 2016, "org_unit_code": "37", "shares": [["province", 10]]}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["errors"][0]["field"], "shares[0]", "{body}");
}

#[actix_web::test]
async fn an_integer_may_be_written_with_a_zero_fraction() {
    let (app, admin) = TestApp::init().with_ninh_binh().with_admin().await;
    let (status, body) = app
        .post(
            "/api/v1/plans",
            &admin,
            json!({"name": "P", "year": 2016.0, "org_unit_code": "37"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["year"], 2016);
    let (status, body) = app
        .post(
            "/api/v1/plans",
            &admin,
            json!({"name": "P", "year": 2016.5, "org_unit_code": "37"}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["errors"][0]["field"], "year");
    let (status, body) = app
        .post(
            "/api/v1/violation-types",
            &admin,
            json!({"code": "X_1", "title": "T", "legal_basis": "L", "min_fine_vnd": 1000.0, "max_fine_vnd": 2e6}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["max_fine_vnd"], 2_000_000);
}

#[actix_web::test]
async fn if_match_cursors_and_ids_are_read_as_the_spec_says() {
    let (app, admin) = TestApp::init().with_ninh_binh().with_admin().await;
    let e = app
        .establishment(&admin, "37-C-1", &commune_of("372"), "bar")
        .await;
    let id = e["id"].as_str().unwrap();
    for (if_match, want) in [
        ("", StatusCode::UNPROCESSABLE_ENTITY),
        ("W/1", StatusCode::UNPROCESSABLE_ENTITY),
        ("\"1", StatusCode::UNPROCESSABLE_ENTITY),
        ("+1", StatusCode::UNPROCESSABLE_ENTITY),
        ("1234567890", StatusCode::UNPROCESSABLE_ENTITY),
        ("7", StatusCode::PRECONDITION_FAILED),
        ("W/\"1\"", StatusCode::OK),
        ("\"2\"", StatusCode::OK),
        ("3", StatusCode::OK),
    ] {
        let resp = app
            .client
            .patch(app.url(&format!("/api/v1/establishments/{id}")))
            .bearer_auth(&admin)
            .header("If-Match", if_match)
            .json(&json!({"reinspect": true}))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), want, "If-Match: {if_match:?}");
    }
    // Any canonical base64url cursor is a position; anything else is 422.
    for (cursor, want) in [
        ("_w", StatusCode::OK),
        ("AAA", StatusCode::OK),
        ("AB", StatusCode::UNPROCESSABLE_ENTITY),
        ("A", StatusCode::UNPROCESSABLE_ENTITY),
        ("a=", StatusCode::UNPROCESSABLE_ENTITY),
    ] {
        let (status, body) = app
            .get(&format!("/api/v1/establishments?cursor={cursor}"), &admin)
            .await;
        assert_eq!(status, want, "cursor {cursor}: {body}");
    }
    let (status, body) = app.get("/api/v1/inspections?team_id=null", &admin).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["errors"][0]["field"], "team_id");
}
