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

/// A body that stops arriving is answered 408 (problem+json) once the body
/// deadline passes (1 s here) and its connection is closed; the server
/// keeps answering others.
#[actix_web::test]
async fn a_stalled_body_is_answered_408_and_the_server_keeps_serving() {
    let app = TestApp::init().body_timeout_secs(1).empty().await;
    let addr = app.address.trim_start_matches("http://").to_string();
    let answer = tokio::task::spawn_blocking(move || {
        use std::io::{Read, Write};
        let mut s = std::net::TcpStream::connect(&addr).unwrap();
        // A safety net, not a measurement: a server that waits for the
        // rest of the body for ever fails the test instead of hanging it.
        s.set_read_timeout(Some(std::time::Duration::from_secs(30)))
            .unwrap();
        write!(
            s,
            "POST /api/v1/auth/login HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n{{\"username\": "
        )
        .unwrap();
        let mut out = Vec::new();
        let closed = s.read_to_end(&mut out).is_ok();
        (String::from_utf8_lossy(&out).into_owned(), closed)
    })
    .await
    .unwrap();
    let (answer, closed) = answer;
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer:?}");
    assert!(answer.contains("application/problem+json"), "{answer}");
    assert!(answer.contains("\"request_timeout\""), "{answer}");
    assert!(closed, "the connection stays open: {answer}");
    let health = app.client.get(app.url("/healthz")).send().await.unwrap();
    assert_eq!(health.status(), StatusCode::OK);
}

/// Every answer, success or error, tells browsers not to guess its type.
#[actix_web::test]
async fn every_response_is_nosniff() {
    let app = TestApp::init().empty().await;
    for (path, status) in [
        ("/healthz", StatusCode::OK),
        ("/api/v1/nowhere", StatusCode::NOT_FOUND),
        ("/api/v1/users/me", StatusCode::UNAUTHORIZED),
    ] {
        let resp = app.client.get(app.url(path)).send().await.unwrap();
        assert_eq!(resp.status(), status, "{path}");
        assert_eq!(
            resp.headers()
                .get("x-content-type-options")
                .map(|v| v.to_str().unwrap()),
            Some("nosniff"),
            "{path}"
        );
    }
}
