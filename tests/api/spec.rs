//! The OpenAPI document and the served routes are the same set.

use std::collections::BTreeSet;

use reqwest::{Method, StatusCode};
use serde_json::Value;

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

/// Checks `value` against `schema` as far as the spec's schemas go: `$ref`,
/// `type` (with `null`), `enum`/`const`, object properties, `required` and
/// `additionalProperties: false`, array items, `oneOf`/`anyOf`/`allOf`.
/// (Formats and patterns are checked by `.ci/spec_examples.py` with a full
/// JSON Schema validator.) Returns the first mismatch.
fn mismatch(doc: &Value, schema: &Value, value: &Value, at: &str) -> Option<String> {
    let schema = match schema.get("$ref").and_then(Value::as_str) {
        Some(r) => doc
            .pointer(r.trim_start_matches('#'))
            .unwrap_or_else(|| panic!("dangling {r}")),
        None => schema,
    };
    if let Some(types) = schema.get("type") {
        let types: Vec<&str> = match types {
            Value::String(t) => vec![t.as_str()],
            Value::Array(ts) => ts.iter().filter_map(Value::as_str).collect(),
            _ => vec![],
        };
        let ok = types.iter().any(|t| match *t {
            "null" => value.is_null(),
            "object" => value.is_object(),
            "array" => value.is_array(),
            "string" => value.is_string(),
            "boolean" => value.is_boolean(),
            "integer" => value.as_f64().is_some_and(|f| f.fract() == 0.0),
            "number" => value.is_number(),
            _ => true,
        });
        if !ok {
            return Some(format!("{at}: {value} is not {types:?}"));
        }
    }
    if let Some(values) = schema.get("enum").and_then(Value::as_array) {
        if !values.contains(value) {
            return Some(format!("{at}: {value} not in {values:?}"));
        }
    }
    if let Some(c) = schema.get("const") {
        if c != value {
            return Some(format!("{at}: {value} is not {c}"));
        }
    }
    for (key, all) in [("oneOf", false), ("anyOf", false), ("allOf", true)] {
        if let Some(subs) = schema.get(key).and_then(Value::as_array) {
            let fits: Vec<Option<String>> =
                subs.iter().map(|s| mismatch(doc, s, value, at)).collect();
            let n = fits.iter().filter(|f| f.is_none()).count();
            let ok = if all {
                n == subs.len()
            } else if key == "oneOf" {
                n == 1
            } else {
                n > 0
            };
            if !ok {
                return Some(format!(
                    "{at}: {key} matched {n} of {}: {fits:?}",
                    subs.len()
                ));
            }
        }
    }
    if let Some(obj) = value.as_object() {
        let props = schema.get("properties").and_then(Value::as_object);
        for r in schema
            .get("required")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let r = r.as_str().unwrap();
            if !obj.contains_key(r) {
                return Some(format!("{at}: missing {r}"));
            }
        }
        for (k, v) in obj {
            match props.and_then(|p| p.get(k)) {
                Some(s) => {
                    if let Some(m) = mismatch(doc, s, v, &format!("{at}.{k}")) {
                        return Some(m);
                    }
                }
                None if schema.get("additionalProperties") == Some(&Value::Bool(false)) => {
                    return Some(format!("{at}: unknown key {k}"))
                }
                None => {
                    if let Some(s) = schema.get("additionalProperties").filter(|s| s.is_object()) {
                        if let Some(m) = mismatch(doc, s, v, &format!("{at}.{k}")) {
                            return Some(m);
                        }
                    }
                }
            }
        }
    }
    if let (Some(items), Some(arr)) = (schema.get("items"), value.as_array()) {
        for (i, v) in arr.iter().enumerate() {
            if let Some(m) = mismatch(doc, items, v, &format!("{at}[{i}]")) {
                return Some(m);
            }
        }
    }
    None
}

/// A native client's developer finds an example of each request and answer
/// they need (sign-in, refresh, sync, minutes, corrections, photos, reviews,
/// establishments, plans, reports, and every problem+json error), as the
/// server serves them; each fits its schema.
#[actix_web::test]
async fn the_spec_has_examples_of_what_a_client_sends_and_gets() {
    let app = TestApp::init().empty().await;
    let doc: Value = app
        .client
        .get(app.url("/api/v1/openapi.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let json = "application~1json";
    let needed = [
        "/paths/~1api~1v1~1auth~1login/post/requestBody",
        "/paths/~1api~1v1~1auth~1login/post/responses/200",
        "/paths/~1api~1v1~1auth~1refresh/post/requestBody",
        "/paths/~1api~1v1~1auth~1refresh/post/responses/200",
        "/paths/~1api~1v1~1teams~1{id}~1assignments/get/responses/200",
        "/paths/~1api~1v1~1inspections/post/requestBody",
        "/paths/~1api~1v1~1inspections/post/responses/201",
        "/paths/~1api~1v1~1inspections~1{id}~1corrections/post/requestBody",
        "/paths/~1api~1v1~1inspections~1{id}~1corrections/post/responses/201",
        "/paths/~1api~1v1~1inspections~1{id}~1attachments~1{sha256}/put/responses/201",
        "/paths/~1api~1v1~1inspections~1{id}~1review/post/requestBody",
        "/paths/~1api~1v1~1inspections~1{id}~1review/post/responses/200",
        "/paths/~1api~1v1~1establishments/post/requestBody",
        "/paths/~1api~1v1~1establishments/post/responses/201",
        "/paths/~1api~1v1~1establishments/get/responses/200",
        "/paths/~1api~1v1~1plans/post/requestBody",
        "/paths/~1api~1v1~1plans/post/responses/201",
        "/paths/~1api~1v1~1plans~1{id}~1draw/post/responses/200",
        "/paths/~1api~1v1~1reports/get/responses/200",
    ];
    let mut checked = 0;
    for at in needed {
        let media = doc
            .pointer(&format!("{at}/content/{json}"))
            .unwrap_or_else(|| panic!("{at}: no JSON content"));
        assert!(
            media.get("example").is_some() || media.get("examples").is_some(),
            "{at}: no example"
        );
    }
    let mut problems = 0;
    for (name, r) in doc["components"]["responses"].as_object().unwrap() {
        let media = &r["content"]["application/problem+json"];
        let ex = media
            .get("example")
            .unwrap_or_else(|| panic!("error {name}: no example"));
        assert!(
            ex["type"]
                .as_str()
                .unwrap()
                .ends_with(ex["code"].as_str().unwrap()),
            "{name}"
        );
        problems += 1;
    }
    assert!(problems >= 10);
    // Every example in the document fits its schema.
    let mut stack: Vec<(String, &Value)> = vec![(String::new(), &doc)];
    while let Some((at, node)) = stack.pop() {
        match node {
            Value::Object(o) => {
                if let (Some(schema), true) = (
                    o.get("schema"),
                    o.contains_key("example") || o.contains_key("examples"),
                ) {
                    let mut values: Vec<&Value> = o.get("example").into_iter().collect();
                    if let Some(named) = o.get("examples").and_then(Value::as_object) {
                        values.extend(named.values().map(|e| &e["value"]));
                    }
                    for v in values {
                        if let Some(m) = mismatch(&doc, schema, v, "") {
                            panic!("the example at {at} does not fit its schema: {m}");
                        }
                        checked += 1;
                    }
                }
                for (k, v) in o {
                    if k != "schema" && k != "example" && k != "examples" {
                        stack.push((format!("{at}/{k}"), v));
                    }
                }
            }
            Value::Array(a) => stack.extend(a.iter().map(|v| (at.clone(), v))),
            _ => {}
        }
    }
    assert!(checked >= 30, "{checked} examples");
}
