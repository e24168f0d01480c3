//! Login throttling: failures slow guessing down (per user, per address)
//! without locking the owner out; `X-Forwarded-For` only from trusted proxies.

use reqwest::StatusCode;

use crate::helpers::{TestApp, PASSWORD};

const WRONG: &str = "wrong-guess-wrong";

#[actix_web::test]
async fn the_owner_logs_in_from_a_fresh_address_after_an_attackers_failures() {
    let app = TestApp::init().login_attempts_per_minute(10).empty().await;
    app.create_user("owner", "admin", None, None);
    for i in 0..12 {
        let (status, _) = app.login_from(&app.client, None, "owner", WRONG).await;
        let want = if i < 10 {
            StatusCode::UNAUTHORIZED
        } else {
            StatusCode::TOO_MANY_REQUESTS
        };
        assert_eq!(status, want, "attempt {i}");
    }
    let owner = TestApp::client_from("127.0.0.2");
    let (status, _) = app.login_from(&owner, None, "owner", PASSWORD).await;
    assert_eq!(status, StatusCode::OK);
}

#[actix_web::test]
async fn the_owner_logs_in_after_failures_from_ten_addresses() {
    let app = TestApp::init()
        .login_attempts_per_minute(3)
        .trusted_proxies("127.0.0.1")
        .empty()
        .await;
    app.create_user("owner", "admin", None, None);
    for i in 1..=10 {
        let from = format!("198.51.100.{i}");
        let (status, _) = app
            .login_from(&app.client, Some(&from), "owner", WRONG)
            .await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "from {from}");
    }
    let (status, _) = app
        .login_from(&app.client, Some("203.0.113.7"), "owner", PASSWORD)
        .await;
    assert_eq!(status, StatusCode::OK);
}

#[actix_web::test]
async fn guesses_get_429_with_a_growing_retry_after() {
    let app = TestApp::init()
        .login_attempts_per_minute(3)
        .trusted_proxies("127.0.0.1")
        .empty()
        .await;
    app.create_user("owner", "admin", None, None);
    let mut fresh = 0;
    let mut fail_from_fresh = |n: usize| {
        let from: Vec<String> = (0..n)
            .map(|_| {
                fresh += 1;
                format!("198.51.100.{fresh}")
            })
            .collect();
        from
    };
    let mut waits = Vec::new();
    for round in 0..3 {
        for from in fail_from_fresh(if round == 0 { 3 } else { 2 }) {
            let (status, _) = app
                .login_from(&app.client, Some(&from), "owner", WRONG)
                .await;
            assert_eq!(status, StatusCode::UNAUTHORIZED, "from {from}");
        }
        // An address that has failed before now waits, longer each round.
        let (status, retry) = app
            .login_from(&app.client, Some("198.51.100.1"), "owner", WRONG)
            .await;
        assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "round {round}");
        waits.push(retry.expect("Retry-After"));
    }
    assert!(waits[0] >= 1, "{waits:?}");
    assert!(waits[0] < waits[1] && waits[1] < waits[2], "{waits:?}");
}

#[actix_web::test]
async fn a_success_resets_the_users_failures() {
    let app = TestApp::init()
        .login_attempts_per_minute(3)
        .trusted_proxies("127.0.0.1")
        .empty()
        .await;
    app.create_user("owner", "admin", None, None);
    for i in 1..=3 {
        let from = format!("198.51.100.{i}");
        let (status, _) = app
            .login_from(&app.client, Some(&from), "owner", WRONG)
            .await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "from {from}");
    }
    let (status, _) = app
        .login_from(&app.client, Some("198.51.100.1"), "owner", WRONG)
        .await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    let (status, _) = app
        .login_from(&app.client, Some("203.0.113.7"), "owner", PASSWORD)
        .await;
    assert_eq!(status, StatusCode::OK);
    // The user's count is back to zero: the address's one failure is no bar.
    let (status, _) = app
        .login_from(&app.client, Some("198.51.100.1"), "owner", WRONG)
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

#[actix_web::test]
async fn forwarded_for_is_ignored_from_an_untrusted_peer() {
    let app = TestApp::init()
        .login_attempts_per_minute(3)
        .trusted_proxies("10.0.0.1")
        .empty()
        .await;
    app.create_user("owner", "admin", None, None);
    for _ in 0..3 {
        let (status, _) = app
            .login_from(&app.client, Some("198.51.100.1"), "owner", WRONG)
            .await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
    }
    // The same header from another peer: the peer counts, and it is fresh.
    let owner = TestApp::client_from("127.0.0.2");
    let (status, _) = app
        .login_from(&owner, Some("198.51.100.1"), "owner", PASSWORD)
        .await;
    assert_eq!(status, StatusCode::OK);
}

#[actix_web::test]
async fn forwarded_for_is_honoured_from_a_trusted_proxy() {
    let app = TestApp::init()
        .login_attempts_per_minute(3)
        .trusted_proxies("127.0.0.1")
        .empty()
        .await;
    app.create_user("owner", "admin", None, None);
    for _ in 0..3 {
        let (status, _) = app
            .login_from(&app.client, Some("198.51.100.1"), "owner", WRONG)
            .await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
    }
    // The forged left-most entry is not believed; the proxy's own is.
    let (status, _) = app
        .login_from(
            &app.client,
            Some("203.0.113.7, 198.51.100.1"),
            "owner",
            PASSWORD,
        )
        .await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    let (status, _) = app
        .login_from(
            &app.client,
            Some("198.51.100.1, 203.0.113.7"),
            "owner",
            PASSWORD,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
}
