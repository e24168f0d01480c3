//! Hostile input: forged tokens, huge and malformed bodies. Every answer is
//! a clear 4xx problem, and the server keeps serving.

use jsonwebtoken::{encode, Algorithm, EncodingKey, Header};
use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::TestApp;

const SECRET: &[u8] = b"test-secret-test-secret-test-secret!";

#[actix_web::test]
async fn forged_and_stale_tokens_are_401() {
    let (app, me) = TestApp::init().with_admin().await;
    let who = app.get_ok("/api/v1/users/me", &me).await;
    let sub = who["id"].as_str().unwrap();
    let now = chrono::Utc::now().timestamp();
    let claims = |patch: serde_json::Value| {
        let mut c = json!({"sub": sub, "exp": now + 600, "iat": now, "nbf": now, "iss": "kiemtra", "aud": "kiemtra-api", "typ": "access", "role": "admin"});
        for (k, v) in patch.as_object().unwrap() {
            c[k] = v.clone();
        }
        c
    };
    let hs256 = |c: serde_json::Value| {
        encode(
            &Header::new(Algorithm::HS256),
            &c,
            &EncodingKey::from_secret(SECRET),
        )
        .unwrap()
    };
    // The honest token is accepted, so the rejections below are about the one change each makes.
    assert_eq!(
        app.get("/api/v1/users/me", &hs256(claims(json!({}))))
            .await
            .0,
        StatusCode::OK
    );
    let forged = vec![
        (
            "expired",
            hs256(claims(
                json!({"exp": now - 3600, "iat": now - 7200, "nbf": now - 7200}),
            )),
        ),
        ("not yet valid", hs256(claims(json!({"nbf": now + 3600})))),
        (
            "wrong audience",
            hs256(claims(json!({"aud": "someone-else"}))),
        ),
        ("wrong issuer", hs256(claims(json!({"iss": "evil"})))),
        ("refresh typ", hs256(claims(json!({"typ": "refresh"})))),
        ("no exp", hs256(claims(json!({"exp": null})))),
        (
            "HS512",
            encode(
                &Header::new(Algorithm::HS512),
                &claims(json!({})),
                &EncodingKey::from_secret(SECRET),
            )
            .unwrap(),
        ),
        (
            "wrong key",
            encode(
                &Header::new(Algorithm::HS256),
                &claims(json!({})),
                &EncodingKey::from_secret(b"another-secret-another-secret-xx!"),
            )
            .unwrap(),
        ),
    ];
    for (what, token) in forged {
        let (s, p) = app.get("/api/v1/users/me", &token).await;
        assert_eq!(s, StatusCode::UNAUTHORIZED, "{what}: {p}");
        assert_eq!(p["code"], "unauthorized", "{what}");
    }
}

#[actix_web::test]
async fn huge_deep_and_broken_bodies_are_clear_4xx() {
    let (app, admin) = TestApp::init().with_ninh_binh().with_admin().await;
    let post = |path: &str, ctype: &str, body: Vec<u8>| {
        app.client
            .post(app.url(path))
            .bearer_auth(&admin)
            .header("content-type", ctype.to_string())
            .body(body)
            .send()
    };
    // 100 MiB is refused from its Content-Length, before it is read.
    let r = post(
        "/api/v1/establishments",
        "application/json",
        vec![b' '; 100 * 1024 * 1024],
    )
    .await;
    assert_eq!(
        r.map(|r| r.status())
            .unwrap_or(StatusCode::PAYLOAD_TOO_LARGE),
        StatusCode::PAYLOAD_TOO_LARGE
    );
    // A gzip bomb, 10 KiB that would inflate to 10 MiB: bodies are read as
    // sent, and a compressed one is refused by its Content-Encoding.
    let bomb = {
        use std::io::Write;
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        gz.write_all(b"{\"notes\": \"").unwrap();
        gz.write_all(&vec![b'a'; 10 * 1024 * 1024]).unwrap();
        gz.write_all(b"\"}").unwrap();
        gz.finish().unwrap()
    };
    assert!(bomb.len() < 64 * 1024, "{}", bomb.len());
    let r = app
        .client
        .post(app.url("/api/v1/inspections"))
        .bearer_auth(&admin)
        .header("content-type", "application/json")
        .header("content-encoding", "gzip")
        .body(bomb)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert_eq!(r.headers()["content-type"], "application/problem+json");
    let problem: serde_json::Value = r.json().await.unwrap();
    assert!(
        problem["detail"]
            .as_str()
            .unwrap()
            .contains("Content-Encoding gzip"),
        "{problem}"
    );
    // JSON nested 10,000 deep.
    let deep = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
    let r = post(
        "/api/v1/establishments",
        "application/json",
        deep.clone().into_bytes(),
    )
    .await
    .unwrap();
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(r.headers()["content-type"], "application/problem+json");
    // …also where any JSON is welcome (a checklist): the recursion limit holds.
    let minutes = format!(
        "{{\"id\": \"{}\", \"checklist\": {deep}}}",
        uuid::Uuid::new_v4()
    );
    let r = post(
        "/api/v1/inspections",
        "application/json",
        minutes.into_bytes(),
    )
    .await
    .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert_eq!(r.headers()["content-type"], "application/problem+json");
    // Invalid UTF-8.
    let r = post(
        "/api/v1/establishments",
        "application/json",
        vec![b'{', b'"', 0xff, 0xfe, b'"', b'}'],
    )
    .await
    .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    // A CSV header with a million columns: one short error.
    let mut csv = (0..1_000_000)
        .map(|i| format!("c{i}"))
        .collect::<Vec<_>>()
        .join(",");
    csv.push('\n');
    let r = post(
        "/api/v1/establishments/import",
        "text/csv",
        csv.into_bytes(),
    )
    .await
    .unwrap();
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let body = r.text().await.unwrap();
    assert!(body.len() < 2_000, "{} bytes of error", body.len());
    // And the server still answers.
    let (s, _) = app.get("/api/v1/users/me", &admin).await;
    assert_eq!(s, StatusCode::OK);
}
