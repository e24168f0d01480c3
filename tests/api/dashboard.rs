//! The dashboard in a real headless Chromium, against the demo database
//! served by the release-shaped binary. Chromium comes from Debian's package:
//! a plain `cargo test` lists the test as ignored; `.ci/run` installs
//! chromium and runs it:
//! `cargo test --test api -- --ignored --exact dashboard::supervisor_sees_district_coverage_in_chromium`.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::json;

use crate::crash::json_ok;

const BIN: &str = env!("CARGO_BIN_EXE_kiemtra");

fn chromium() -> Option<&'static str> {
    ["/usr/bin/chromium", "/usr/bin/chromium-browser"]
        .into_iter()
        .find(|p| std::path::Path::new(p).exists())
}

#[test]
#[ignore = "needs chromium; .ci/run installs it and runs it"]
fn supervisor_sees_district_coverage_in_chromium() {
    let browser = chromium().expect("chromium is not installed (apt-get install chromium)");
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("demo.db").display());
    let out = Command::new(BIN)
        .args(["demo", "--no-serve", "--demo-database-url", &db])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut server = Command::new(BIN)
        .args(["serve", "--bind", &format!("127.0.0.1:{port}")])
        .env("DATABASE_URL", &db)
        .env("JWT_SECRET", "dashboard-test-secret-dashboard-test!")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let base = format!("http://127.0.0.1:{port}");
    let deadline = Instant::now() + Duration::from_secs(20);
    while reqwest::blocking::get(format!("{base}/readyz"))
        .map(|r| !r.status().is_success())
        .unwrap_or(true)
    {
        assert!(Instant::now() < deadline, "server not ready");
        std::thread::sleep(Duration::from_millis(50));
    }
    let client = reqwest::blocking::Client::new();
    let login = json_ok(
        client
            .post(format!("{base}/api/v1/auth/login"))
            .json(&json!({"username": "giamsat", "password": "kiemtra-demo-2016"}))
            .send()
            .unwrap(),
    );
    let token = login["access_token"].as_str().unwrap().to_string();
    let plans = json_ok(
        client
            .get(format!("{base}/api/v1/plans"))
            .bearer_auth(&token)
            .send()
            .unwrap(),
    );
    let plan = plans["items"][0]["id"].as_str().unwrap().to_string();
    let cov = json_ok(
        client
            .get(format!("{base}/api/v1/plans/{plan}/coverage"))
            .bearer_auth(&token)
            .send()
            .unwrap(),
    );

    // The page arrives with no external resource at all.
    let html = client.get(format!("{base}/dashboard")).send().unwrap();
    assert_eq!(html.status(), 200);
    let html = html.text().unwrap();
    assert!(
        !html.contains("http://") && !html.contains("https://"),
        "the dashboard must not load anything from outside"
    );

    let shots = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("dashboard-phone.png");
    let url = format!("{base}/dashboard#token={token}");
    let run = |extra: &[&str]| {
        let profile = tempfile::tempdir().unwrap();
        Command::new(browser)
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--virtual-time-budget=15000",
                "--window-size=412,1600",
            ])
            .arg(format!("--user-data-dir={}", profile.path().display()))
            .args(extra)
            .arg(&url)
            .output()
            .unwrap()
    };
    let dom = String::from_utf8_lossy(&run(&["--dump-dom"]).stdout).to_string();
    let shot = run(&[&format!("--screenshot={}", shots.display())]);
    let _ = server.kill();
    let _ = server.wait();
    assert!(
        dom.contains("Tỷ lệ kiểm tra theo địa bàn"),
        "dashboard did not render: {}",
        &dom[..dom.len().min(2000)]
    );
    // Every district of the demo, with the same percentage the API gives.
    for g in cov["groups"].as_array().unwrap() {
        let name = g["name"].as_str().unwrap();
        assert!(dom.contains(name), "district {name} missing");
        let pct = format!("{:.1}%", g["inspected_percent"].as_f64().unwrap());
        let row = dom
            .split(&format!("data-key=\"{}\"", g["key"].as_str().unwrap()))
            .nth(1)
            .unwrap_or("");
        assert!(
            row[..row.len().min(800)].contains(&pct),
            "district {name}: {pct} not shown"
        );
    }
    assert!(dom.contains(&format!(
        "{:.1}% / 50%",
        cov["inspected_percent"].as_f64().unwrap()
    )));
    assert!(
        shot.status.success() && shots.exists(),
        "screenshot: {}",
        String::from_utf8_lossy(&shot.stderr)
    );
    eprintln!("dashboard screenshot: {}", shots.display());
}
