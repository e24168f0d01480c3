//! The real binary, killed with SIGKILL right after answering: nothing it
//! acknowledged is lost.

use std::io::Write;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::json;

use crate::helpers::{fresh_database, NINH_BINH, PASSWORD};

pub const BIN: &str = env!("CARGO_BIN_EXE_kiemtra");
pub const SECRET: &str = "crash-test-secret-crash-test-secret!";

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A running `kiemtra serve`, killed when dropped (also when a test panics).
pub struct Running(Child);

impl std::ops::Deref for Running {
    type Target = Child;
    fn deref(&self) -> &Child {
        &self.0
    }
}

impl std::ops::DerefMut for Running {
    fn deref_mut(&mut self) -> &mut Child {
        &mut self.0
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

pub fn start(db: &str, port: u16) -> Running {
    let mut child = Command::new(BIN)
        .args(["serve", "--bind", &format!("127.0.0.1:{port}")])
        .env("DATABASE_URL", db)
        .env("JWT_SECRET", SECRET)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start kiemtra serve");
    let deadline = Instant::now() + Duration::from_secs(20);
    while Instant::now() < deadline {
        if reqwest::blocking::get(format!("http://127.0.0.1:{port}/readyz"))
            .is_ok_and(|r| r.status().is_success())
        {
            return Running(child);
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = child.kill();
    let _ = child.wait();
    panic!("server did not become ready");
}

/// Loads the demo into `db` with the real binary (`demo --no-serve`).
pub fn load_demo(db: &str) -> std::process::Output {
    let out = Command::new(BIN)
        .args(["demo", "--no-serve", "--demo-database-url", db])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// `kiemtra audit verify` on `db` succeeds.
pub fn audit_verifies(db: &str) {
    let out = Command::new(BIN)
        .args(["audit", "verify"])
        .env("DATABASE_URL", db)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
}

/// The JSON body of a response that must be 200.
#[track_caller]
pub fn json_ok(r: reqwest::blocking::Response) -> serde_json::Value {
    let status = r.status();
    let text = r.text().unwrap();
    assert_eq!(status, 200, "{text}");
    serde_json::from_str(&text).unwrap()
}

/// Logs a demo account in (`base` ends in `/api/v1`); the login answer.
pub fn demo_login(client: &reqwest::blocking::Client, base: &str, user: &str) -> serde_json::Value {
    json_ok(
        client
            .post(format!("{base}/auth/login"))
            .json(&json!({"username": user, "password": "kiemtra-demo-2016"}))
            .send()
            .unwrap(),
    )
}

/// Logs the admin the test created in (`base` ends in `/api/v1`); its
/// access token.
fn admin_login(client: &reqwest::blocking::Client, base: &str) -> String {
    json_ok(
        client
            .post(format!("{base}/auth/login"))
            .json(&json!({"username": "admin", "password": PASSWORD}))
            .send()
            .unwrap(),
    )["access_token"]
        .as_str()
        .unwrap()
        .to_string()
}

#[test]
fn acknowledged_writes_survive_sigkill() {
    let dir = tempfile::tempdir().unwrap();
    let db = fresh_database(dir.path());
    let units = dir.path().join("units.csv");
    std::fs::write(&units, NINH_BINH).unwrap();
    let out = Command::new(BIN)
        .args(["import", "org-units"])
        .arg(&units)
        .env("DATABASE_URL", &db)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut add = Command::new(BIN)
        .args([
            "user",
            "add",
            "--username",
            "admin",
            "--role",
            "admin",
            "--password-stdin",
        ])
        .env("DATABASE_URL", &db)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    add.stdin
        .take()
        .unwrap()
        .write_all(format!("{PASSWORD}\n").as_bytes())
        .unwrap();
    assert!(add.wait().unwrap().success());

    let port = free_port();
    let base = format!("http://127.0.0.1:{port}/api/v1");
    let client = reqwest::blocking::Client::new();
    let mut ids = Vec::new();
    for round in 0..3 {
        let mut server = start(&db, port);
        let token = admin_login(&client, &base);
        // Everything acknowledged before earlier kills is still there.
        for id in &ids {
            let r = client
                .get(format!("{base}/establishments/{id}"))
                .bearer_auth(&token)
                .send()
                .unwrap();
            assert_eq!(r.status(), 200, "establishment {id} lost after kill");
        }
        for i in 0..5 {
            let r = client
                .post(format!("{base}/establishments"))
                .bearer_auth(&token)
                .json(&json!({"licence_no": format!("K-{round}-{i}"), "name": "Karaoke", "business_type": "karaoke",
                              "org_unit_code": "372", "address": "a"}))
                .send()
                .unwrap();
            assert_eq!(r.status(), 201);
            ids.push(
                r.json::<serde_json::Value>().unwrap()["id"]
                    .as_str()
                    .unwrap()
                    .to_string(),
            );
        }
        // SIGKILL straight after the last acknowledgement.
        server.kill().unwrap();
        server.wait().unwrap();
    }
    let mut server = start(&db, port);
    let token = admin_login(&client, &base);
    let page = json_ok(
        client
            .get(format!("{base}/establishments?limit=500"))
            .bearer_auth(&token)
            .send()
            .unwrap(),
    );
    assert_eq!(page["items"].as_array().unwrap().len(), 15);
    audit_verifies(&db);
    server.kill().unwrap();
    server.wait().unwrap();
}

#[test]
fn serve_refuses_a_short_secret_and_names_a_bad_database() {
    let out = Command::new(BIN)
        .arg("serve")
        .env("JWT_SECRET", "short")
        .env("DATABASE_URL", "sqlite://x.db")
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("at least 32 bytes"));
    let out = Command::new(BIN)
        .arg("migrate")
        .env("DATABASE_URL", "postgres://nobody:wrong@127.0.0.1:1/none")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("cannot connect") && (err.contains("refused") || err.contains("connect")),
        "{err}"
    );
}

/// The demo database, served by the real binary: minutes posted, the server
/// killed, the same post retried: 200 and one record.
#[test]
fn retried_minutes_after_sigkill_are_not_duplicated() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("demo.db").display());
    let out = load_demo(&db);
    assert!(String::from_utf8_lossy(&out.stdout).contains("doi-372"));
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}/api/v1");
    let client = reqwest::blocking::Client::new();
    let login = |client: &reqwest::blocking::Client| demo_login(client, &base, "doi-372");
    let mut server = start(&db, port);
    let me = login(&client);
    let token = me["access_token"].as_str().unwrap().to_string();
    let team = me["user"]["team_id"].as_str().unwrap().to_string();
    let page = json_ok(
        client
            .get(format!("{base}/teams/{team}/assignments?limit=500"))
            .bearer_auth(&token)
            .send()
            .unwrap(),
    );
    let open = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["status"] == "pending")
        .expect("a pending assignment")
        .clone();
    let body = json!({
        "id": uuid::Uuid::new_v4().to_string(), "assignment_id": open["id"], "establishment_id": open["establishment"]["id"],
        "team_id": team, "started_at": "2016-08-01T09:00:00+07:00", "finished_at": "2016-08-01T09:40:00+07:00",
        "members_present": [me["user"]["id"]], "outcome": "no_violation", "violations": []
    });
    let r = client
        .post(format!("{base}/inspections"))
        .bearer_auth(&token)
        .json(&body)
        .send()
        .unwrap();
    assert_eq!(r.status(), 201);
    server.kill().unwrap();
    server.wait().unwrap();
    let mut server = start(&db, port);
    let token = login(&client)["access_token"].as_str().unwrap().to_string();
    let r = client
        .post(format!("{base}/inspections"))
        .bearer_auth(&token)
        .json(&body)
        .send()
        .unwrap();
    assert_eq!(
        r.status(),
        200,
        "a retry after the kill must find the stored minutes"
    );
    let list = json_ok(
        client
            .get(format!(
                "{base}/inspections?establishment_id={}",
                open["establishment"]["id"].as_str().unwrap()
            ))
            .bearer_auth(&token)
            .send()
            .unwrap(),
    );
    assert_eq!(list["items"].as_array().unwrap().len(), 1);
    server.kill().unwrap();
    server.wait().unwrap();
    audit_verifies(&db);
}

/// Issue 7's crash storm, on both databases: four clients post minutes
/// continuously, each retrying the very same body until it gets an answer,
/// while the server is killed with SIGKILL at random moments and restarted,
/// 20 times. Afterwards every id that got a 2xx is stored, exactly once,
/// nothing got a 409 or a 5xx, and the audit chain holds.
#[test]
fn minutes_survive_a_storm_of_sigkills() {
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::{Arc, Mutex};
    const KILLS: usize = 20;
    let dir = tempfile::tempdir().unwrap();
    let db = fresh_database(dir.path());
    load_demo(&db);
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}/api/v1");
    let client = reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap();
    let mut server = start(&db, port);
    let me = demo_login(&client, &base, "doi-372");
    let token = me["access_token"].as_str().unwrap().to_string();
    let team = me["user"]["team_id"].as_str().unwrap().to_string();
    let user_id = me["user"]["id"].as_str().unwrap().to_string();
    let ests: Vec<String> = json_ok(
        client
            .get(format!("{base}/establishments?limit=50"))
            .bearer_auth(&token)
            .send()
            .unwrap(),
    )["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["id"].as_str().unwrap().to_string())
        .collect();
    assert!(!ests.is_empty());

    let stop = Arc::new(AtomicBool::new(false));
    let acked = Arc::new(Mutex::new(Vec::<String>::new()));
    let bad = Arc::new(Mutex::new(Vec::<String>::new()));
    let clients: Vec<_> = (0..4)
        .map(|c| {
            let (stop, acked, bad) = (stop.clone(), acked.clone(), bad.clone());
            let (base, token, team, user_id, ests) =
                (base.clone(), token.clone(), team.clone(), user_id.clone(), ests.clone());
            std::thread::spawn(move || {
                let client = reqwest::blocking::Client::builder()
                    .timeout(Duration::from_secs(10))
                    .build()
                    .unwrap();
                let mut n = 0usize;
                while !stop.load(Ordering::Relaxed) {
                    let id = uuid::Uuid::new_v4().to_string();
                    let body = json!({
                        "id": id, "establishment_id": ests[(c * 7 + n) % ests.len()], "team_id": team,
                        "started_at": "2016-09-01T09:00:00+07:00", "finished_at": "2016-09-01T09:30:00+07:00",
                        "members_present": [user_id], "outcome": "no_violation", "violations": []
                    });
                    n += 1;
                    // Retry the same body until the server answers (it may be down).
                    loop {
                        match client
                            .post(format!("{base}/inspections"))
                            .bearer_auth(&token)
                            .json(&body)
                            .send()
                        {
                            Ok(r) if r.status().is_success() => {
                                acked.lock().unwrap().push(id.clone());
                                break;
                            }
                            Ok(r) if r.status() == 503 => {}
                            Ok(r) => {
                                bad.lock().unwrap().push(format!("{id}: {}", r.status()));
                                break;
                            }
                            Err(_) => {}
                        }
                        if stop.load(Ordering::Relaxed) {
                            return;
                        }
                        std::thread::sleep(Duration::from_millis(20));
                    }
                }
            })
        })
        .collect();
    // Pseudo-random kill moments, 50–300 ms apart (no extra dependency).
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    for _ in 0..KILLS {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        std::thread::sleep(Duration::from_millis(50 + x % 250));
        server.kill().unwrap();
        server.wait().unwrap();
        server = start(&db, port);
    }
    std::thread::sleep(Duration::from_millis(300));
    stop.store(true, Ordering::Relaxed);
    for c in clients {
        c.join().unwrap();
    }
    let bad = bad.lock().unwrap().clone();
    assert!(bad.is_empty(), "answers other than 2xx or 503: {bad:?}");
    let acked = acked.lock().unwrap().clone();
    assert!(
        acked.len() >= 20,
        "only {} minutes acknowledged",
        acked.len()
    );
    eprintln!(
        "crash storm: {} minutes acknowledged over {KILLS} kills",
        acked.len()
    );
    let unique: std::collections::HashSet<&String> = acked.iter().collect();
    assert_eq!(unique.len(), acked.len(), "an id was acknowledged twice");
    for id in &acked {
        let r = client
            .get(format!("{base}/inspections/{id}"))
            .bearer_auth(&token)
            .send()
            .unwrap();
        assert_eq!(r.status(), 200, "acknowledged minutes {id} lost");
    }
    let mut ids = Vec::<String>::new();
    let mut cursor = String::new();
    loop {
        let page = json_ok(
            client
                .get(format!(
                    "{base}/inspections?team_id={team}&limit=500{cursor}"
                ))
                .bearer_auth(&token)
                .send()
                .unwrap(),
        );
        ids.extend(
            page["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|i| i["id"].as_str().unwrap().to_string()),
        );
        match page["next_cursor"].as_str() {
            Some(c) => cursor = format!("&cursor={c}"),
            None => break,
        }
    }
    for id in &acked {
        assert_eq!(
            ids.iter().filter(|s| *s == id).count(),
            1,
            "{id} not stored exactly once"
        );
    }
    server.kill().unwrap();
    server.wait().unwrap();
    audit_verifies(&db);
}

/// Runs `send` for every target at the same moment; the answers in order.
fn at_once(targets: &[&str], send: impl Fn(&str) -> u16 + Sync) -> Vec<u16> {
    std::thread::scope(|s| {
        let send = &send;
        let handles: Vec<_> = targets.iter().map(|t| s.spawn(move || send(t))).collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    })
}

/// Scale-out: two servers on one database (SQLite file or PostgreSQL). A plan
/// drawn through both at once is drawn once (one 200, one 409, one round);
/// the same minutes posted through both at once are stored once.
#[test]
fn two_instances_on_one_database() {
    let dir = tempfile::tempdir().unwrap();
    let db = fresh_database(dir.path());
    load_demo(&db);
    let ports = [free_port(), free_port()];
    let mut servers: Vec<Running> = ports.iter().map(|p| start(&db, *p)).collect();
    let bases: Vec<String> = ports
        .iter()
        .map(|p| format!("http://127.0.0.1:{p}/api/v1"))
        .collect();
    let client = reqwest::blocking::Client::new();
    let login = |user: &str| demo_login(&client, &bases[0], user);
    let admin = login("admin")["access_token"].as_str().unwrap().to_string();
    for round in 0..3 {
        let plan = client
            .post(format!("{}/plans", bases[0]))
            .bearer_auth(&admin)
            .json(&json!({"name": format!("song song {round}"), "year": 2020 + round, "org_unit_code": "37"}))
            .send()
            .unwrap();
        assert_eq!(plan.status(), 201);
        let plan: serde_json::Value = plan.json().unwrap();
        let id = plan["id"].as_str().unwrap().to_string();
        let targets: Vec<&str> = bases.iter().map(String::as_str).collect();
        let statuses = at_once(&targets, |b| {
            client
                .post(format!("{b}/plans/{id}/draw"))
                .bearer_auth(&admin)
                .send()
                .unwrap()
                .status()
                .as_u16()
        });
        let mut sorted = statuses.clone();
        sorted.sort();
        assert_eq!(sorted, vec![200, 409], "one draw per plan: {statuses:?}");
        let v = json_ok(
            client
                .get(format!("{}/plans/{id}/verify", bases[1]))
                .bearer_auth(&admin)
                .send()
                .unwrap(),
        );
        assert_eq!(v["matches"], true, "{v}");
    }
    let me = login("doi-372");
    let token = me["access_token"].as_str().unwrap().to_string();
    let est = json_ok(
        client
            .get(format!("{}/establishments?limit=1", bases[0]))
            .bearer_auth(&token)
            .send()
            .unwrap(),
    )["items"][0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    for _ in 0..10 {
        let body = json!({
            "id": uuid::Uuid::new_v4().to_string(), "establishment_id": est, "team_id": me["user"]["team_id"],
            "started_at": "2016-12-01T09:00:00+07:00", "finished_at": "2016-12-01T09:20:00+07:00",
            "members_present": [me["user"]["id"]], "outcome": "no_violation", "violations": []
        });
        let targets: Vec<&str> = bases
            .iter()
            .flat_map(|b| [b.as_str(), b.as_str()])
            .collect();
        let statuses = at_once(&targets, |b| {
            client
                .post(format!("{b}/inspections"))
                .bearer_auth(&token)
                .json(&body)
                .send()
                .unwrap()
                .status()
                .as_u16()
        });
        let mut sorted = statuses.clone();
        sorted.sort();
        assert_eq!(
            sorted,
            vec![200, 200, 200, 201],
            "one record per id: {statuses:?}"
        );
    }
    for s in &mut servers {
        s.kill().unwrap();
        s.wait().unwrap();
    }
    audit_verifies(&db);
}
