use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::helpers::{TestApp, PASSWORD};

#[actix_web::test]
async fn login_returns_tokens_and_user() {
    let app = TestApp::init().empty().await;
    app.create_user("admin", "admin", None, None);
    let (status, body) = app
        .send(
            Method::POST,
            "/api/v1/auth/login",
            None,
            Some(json!({"username": "admin", "password": PASSWORD})),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 900);
    assert!(body["refresh_token"].as_str().unwrap().len() > 30);
    assert_eq!(body["user"]["username"], "admin");
    assert_eq!(body["user"]["role"], "admin");
    let (status, me) = app
        .get("/api/v1/users/me", body["access_token"].as_str().unwrap())
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(me["username"], "admin");
    assert!(me.get("password_hash").is_none());
}

#[actix_web::test]
async fn wrong_credentials_are_401_problem() {
    let app = TestApp::init().empty().await;
    app.create_user("admin", "admin", None, None);
    for body in [
        json!({"username": "admin", "password": "nope-nope-nope"}),
        json!({"username": "ghost", "password": PASSWORD}),
    ] {
        let resp = app
            .client
            .post(app.url("/api/v1/auth/login"))
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(resp.headers()["content-type"], "application/problem+json");
        let p: serde_json::Value = resp.json().await.unwrap();
        assert_eq!(p["code"], "unauthorized");
        assert_eq!(p["status"], 401);
    }
}

#[actix_web::test]
async fn refresh_rotates_and_reuse_revokes_the_family() {
    // Without a grace window (see refresh_grace.rs for the retry within one).
    let app = TestApp::init().refresh_grace_secs(0).empty().await;
    app.create_user("admin", "admin", None, None);
    let login = app.login_answer("admin").await;
    let r1 = login["refresh_token"].as_str().unwrap().to_string();
    let (status, second) = app
        .send(
            Method::POST,
            "/api/v1/auth/refresh",
            None,
            Some(json!({"refresh_token": r1})),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let r2 = second["refresh_token"].as_str().unwrap().to_string();
    assert_ne!(r1, r2);
    // Replaying the first token is theft: 401, and the newer one dies too.
    let (status, _) = app
        .send(
            Method::POST,
            "/api/v1/auth/refresh",
            None,
            Some(json!({"refresh_token": r1})),
        )
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, _) = app
        .send(
            Method::POST,
            "/api/v1/auth/refresh",
            None,
            Some(json!({"refresh_token": r2})),
        )
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

#[actix_web::test]
async fn logout_revokes_refresh_tokens() {
    let app = TestApp::init().empty().await;
    app.create_user("admin", "admin", None, None);
    let login = app.login_answer("admin").await;
    let access = login["access_token"].as_str().unwrap();
    let refresh = login["refresh_token"].as_str().unwrap();
    let (status, _) = app
        .send(Method::POST, "/api/v1/auth/logout", Some(access), None)
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _) = app
        .send(
            Method::POST,
            "/api/v1/auth/refresh",
            None,
            Some(json!({"refresh_token": refresh})),
        )
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

#[actix_web::test]
async fn bad_tokens_are_401() {
    use base64::Engine;
    let (app, token) = TestApp::init().with_admin().await;
    let b64 = |v: serde_json::Value| {
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string())
    };
    let payload: serde_json::Value = {
        let part = token.split('.').nth(1).unwrap();
        serde_json::from_slice(
            &base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(part)
                .unwrap(),
        )
        .unwrap()
    };
    let alg_none = format!(
        "{}.{}.",
        b64(json!({"alg": "none", "typ": "JWT"})),
        b64(payload.clone())
    );
    let mut tampered = payload.clone();
    tampered["role"] = json!("admin");
    tampered["sub"] = json!("someone-else");
    let parts: Vec<&str> = token.split('.').collect();
    let forged = format!("{}.{}.{}", parts[0], b64(tampered), parts[2]);
    let refresh = app.login_answer("admin").await["refresh_token"]
        .as_str()
        .unwrap()
        .to_string();
    for bad in [alg_none, forged, "garbage".to_string(), refresh] {
        let (status, body) = app.get("/api/v1/users/me", &bad).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{bad}: {body}");
    }
    let (status, _) = app.send(Method::GET, "/api/v1/users/me", None, None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

#[actix_web::test]
async fn an_admin_creates_a_user_once() {
    let (app, admin) = TestApp::init().with_ninh_binh().with_admin().await;
    let body = json!({"username": "giamsat", "password": PASSWORD, "full_name": "Giám Sát", "role": "supervisor", "org_unit_code": "37"});
    let created = app
        .post_created("/api/v1/users", &admin, body.clone())
        .await;
    assert_eq!(created["org_unit_code"], "37");
    let (status, _) = app.post("/api/v1/users", &admin, body).await;
    assert_eq!(status, StatusCode::CONFLICT);
    app.login("giamsat").await;
}

#[actix_web::test]
async fn a_supervisor_cannot_create_users() {
    let (app, _) = TestApp::init().with_ninh_binh().with_admin().await;
    let sup = app.supervisor("giamsat", "37").await;
    let (status, _) = app
        .post("/api/v1/users", &sup, json!({"username": "x1", "password": "long-enough-pw", "full_name": "X", "role": "admin"}))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}

#[actix_web::test]
async fn user_errors_name_their_fields() {
    let (app, admin) = TestApp::init().with_ninh_binh().with_admin().await;
    let (status, p) = app
        .post("/api/v1/users", &admin, json!({"username": "xx2", "password": "short", "full_name": "X", "role": "inspector", "org_unit_code": "99999", "extra": 1}))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(p["errors"][0]["field"], "extra");
    let (status, p) = app
        .post("/api/v1/users", &admin, json!({"username": "xx2", "password": "short", "full_name": "X", "role": "inspector", "org_unit_code": "99999"}))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let fields: Vec<&str> = p["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, vec!["password", "org_unit_code"]);
}

#[actix_web::test]
async fn login_is_rate_limited_per_user() {
    let app = TestApp::init().login_attempts_per_minute(3).empty().await;
    let mut last = None;
    for _ in 0..4 {
        let r = app
            .client
            .post(app.url("/api/v1/auth/login"))
            .json(&json!({"username": "victim", "password": "guess-guess"}))
            .send()
            .await
            .unwrap();
        last = Some((r.status(), r.headers().get("retry-after").cloned()));
    }
    let (status, retry) = last.unwrap();
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    assert!(retry.unwrap().to_str().unwrap().parse::<u64>().unwrap() >= 1);
}
