//! A refresh whose answer was lost may be retried within the grace window
//! (`REFRESH_GRACE_SECS`) and gets the same successor; reuse outside it
//! still revokes the family.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::helpers::{Expect, TestApp};

async fn refresh(app: &TestApp, token: &str) -> (StatusCode, Value) {
    app.send(
        Method::POST,
        "/api/v1/auth/refresh",
        None,
        Some(json!({"refresh_token": token})),
    )
    .await
}

fn refresh_token(pair: &Value) -> String {
    pair["refresh_token"].as_str().unwrap().to_string()
}

#[actix_web::test]
async fn a_refresh_retried_within_the_grace_gets_the_same_successor() {
    let app = TestApp::init().empty().await;
    app.create_user("inspector", "admin", None, None);
    let r1 = refresh_token(&app.login_answer("inspector").await);
    let first = refresh(&app, &r1).await.expect(StatusCode::OK);
    // The answer was lost on the way: the phone sends the same token again.
    let retry = refresh(&app, &r1).await.expect(StatusCode::OK);
    let r2 = refresh_token(&first);
    assert_ne!(r2, r1);
    assert_eq!(refresh_token(&retry), r2);
    for pair in [&first, &retry] {
        let access = pair["access_token"].as_str().unwrap();
        let me = app
            .get("/api/v1/users/me", access)
            .await
            .expect(StatusCode::OK);
        assert_eq!(me["username"], "inspector");
    }
    // The family lives on: the successor rotates as usual.
    let third = refresh(&app, &r2).await.expect(StatusCode::OK);
    assert_ne!(refresh_token(&third), r2);
}

#[actix_web::test]
async fn a_refresh_reused_after_the_grace_revokes_the_family() {
    let app = TestApp::init().refresh_grace_secs(0).empty().await;
    app.create_user("inspector", "admin", None, None);
    let r1 = refresh_token(&app.login_answer("inspector").await);
    let r2 = refresh_token(&refresh(&app, &r1).await.expect(StatusCode::OK));
    refresh(&app, &r1).await.expect(StatusCode::UNAUTHORIZED);
    refresh(&app, &r2).await.expect(StatusCode::UNAUTHORIZED);
}

#[actix_web::test]
async fn a_refresh_reused_after_its_successor_was_used_revokes_the_family() {
    let app = TestApp::init().empty().await;
    app.create_user("inspector", "admin", None, None);
    let r1 = refresh_token(&app.login_answer("inspector").await);
    let r2 = refresh_token(&refresh(&app, &r1).await.expect(StatusCode::OK));
    let r3 = refresh_token(&refresh(&app, &r2).await.expect(StatusCode::OK));
    // The successor was received (it was used): r1 again is a replay.
    refresh(&app, &r1).await.expect(StatusCode::UNAUTHORIZED);
    refresh(&app, &r3).await.expect(StatusCode::UNAUTHORIZED);
}

#[actix_web::test]
async fn two_refreshes_racing_with_one_token_get_the_same_successor() {
    let app = TestApp::init().empty().await;
    app.create_user("inspector", "admin", None, None);
    let r1 = refresh_token(&app.login_answer("inspector").await);
    let (a, b) = futures_util::join!(refresh(&app, &r1), refresh(&app, &r1));
    let (a, b) = (a.expect(StatusCode::OK), b.expect(StatusCode::OK));
    assert_eq!(refresh_token(&a), refresh_token(&b));
    refresh(&app, &refresh_token(&a))
        .await
        .expect(StatusCode::OK);
}
