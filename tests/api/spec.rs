//! The OpenAPI document and the served routes are the same set.

use std::collections::BTreeSet;

use reqwest::{Method, StatusCode};

use crate::helpers::{served_routes, TestApp};

fn spec_routes() -> BTreeSet<(String, String)> {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/api-spec/openapi.yaml"
    ))
    .unwrap();
    let doc: serde_json::Value = serde_yaml::from_str(&text).unwrap();
    let mut out = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, _) in item.as_object().unwrap() {
            if ["get", "post", "put", "patch", "delete"].contains(&method.as_str()) {
                out.insert((method.clone(), path.clone()));
            }
        }
    }
    out
}

#[test]
fn spec_lists_exactly_the_served_routes() {
    let served = served_routes();
    let spec = spec_routes();
    let missing: Vec<_> = served.difference(&spec).collect();
    let extra: Vec<_> = spec.difference(&served).collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "served but not in spec: {missing:?}\nin spec but not served: {extra:?}"
    );
}

#[actix_web::test]
async fn every_spec_route_is_answered_by_a_handler() {
    let app = TestApp::init().empty().await;
    for (method, path) in spec_routes() {
        let concrete = path
            .replace("{id}", "00000000-0000-4000-8000-000000000000")
            .replace("{code}", "37")
            .replace("{sha256}", &"0".repeat(64));
        let m = Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
        let resp = app
            .client
            .request(m, app.url(&concrete))
            .send()
            .await
            .unwrap();
        let status = resp.status();
        let body: serde_json::Value = resp.json().await.unwrap_or_default();
        assert_ne!(
            body["code"], "route_not_found",
            "{method} {path} is in the spec but not served"
        );
        assert_ne!(status, StatusCode::METHOD_NOT_ALLOWED, "{method} {path}");
    }
}

#[actix_web::test]
async fn served_document_is_the_file() {
    let app = TestApp::init().empty().await;
    let served: serde_json::Value = app
        .client
        .get(app.url("/api/v1/openapi.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/api-spec/openapi.yaml"
    ))
    .unwrap();
    let file: serde_json::Value = serde_yaml::from_str(&text).unwrap();
    assert_eq!(served, file);
    assert_eq!(served["openapi"], "3.1.0");
}

#[actix_web::test]
async fn unknown_routes_are_problem_json() {
    let app = TestApp::init().empty().await;
    let resp = app
        .client
        .get(app.url("/api/v1/nothing-here"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::NOT_FOUND);
    assert_eq!(resp.headers()["content-type"], "application/problem+json");
    let resp = app.client.get(app.url("/healthz")).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let resp = app.client.get(app.url("/readyz")).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let text = app
        .client
        .get(app.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        text.contains("kiemtra_http_responses_total{class=\"2xx\"}"),
        "{text}"
    );
}
