//! PostgreSQL itself stopped (as by a crash) and restarted under load: the
//! service answers 503 while it is down, recovers by itself within 5 seconds
//! of it coming back, and loses nothing it acknowledged. The test runs its
//! own throw-away PostgreSQL cluster (initdb, pg_ctl) on a free port so that
//! the shared server is never touched. A plain `cargo test` lists it as
//! ignored; `.ci/run` runs it in its PostgreSQL pass:
//! `cargo test --test api -- --ignored --exact pg_restart::postgres_restarted_under_load`.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::json;

use crate::crash::{demo_login, free_port, json_ok, load_demo, start};

fn pg_bin(name: &str) -> Option<PathBuf> {
    let dir = std::fs::read_dir("/usr/lib/postgresql").ok()?;
    let mut versions: Vec<PathBuf> = dir.flatten().map(|e| e.path()).collect();
    versions.sort();
    versions
        .into_iter()
        .rev()
        .map(|v| v.join("bin").join(name))
        .find(|p| p.exists())
}

/// Runs a PostgreSQL tool, as the `postgres` user when we are root
/// (initdb and postgres refuse to run as root).
fn pg(tool: &Path, args: &[&str]) -> std::process::Output {
    let root = Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| o.stdout.starts_with(b"0"));
    let mut cmd = if root {
        let mut c = Command::new("runuser");
        c.args(["-u", "postgres", "--"]).arg(tool);
        c
    } else {
        Command::new(tool)
    };
    let out = cmd.args(args).output().expect("run a PostgreSQL tool");
    assert!(
        out.status.success(),
        "{} {args:?}: {}{}",
        tool.display(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

struct Cluster {
    pg_ctl: PathBuf,
    data: String,
    log: String,
    opts: String,
    _dir: tempfile::TempDir,
}

impl Cluster {
    fn new(port: u16) -> Cluster {
        let dir = tempfile::Builder::new()
            .prefix("kiemtra-pg-")
            .tempdir_in("/tmp")
            .unwrap();
        let _ = Command::new("chown")
            .args(["-R", "postgres:postgres"])
            .arg(dir.path())
            .status();
        let data = dir.path().join("data").display().to_string();
        let log = dir.path().join("pg.log").display().to_string();
        let sock = dir.path().display().to_string();
        pg(
            &pg_bin("initdb").unwrap(),
            &[
                "-D",
                &data,
                "-U",
                "postgres",
                "--auth=trust",
                "-E",
                "UTF8",
                "--locale=C.UTF-8",
            ],
        );
        let c = Cluster {
            pg_ctl: pg_bin("pg_ctl").unwrap(),
            data,
            log,
            opts: format!("-p {port} -k {sock} -c listen_addresses=127.0.0.1"),
            _dir: dir,
        };
        c.start();
        c
    }

    fn start(&self) {
        pg(
            &self.pg_ctl,
            &[
                "-D", &self.data, "-l", &self.log, "-o", &self.opts, "-w", "start",
            ],
        );
    }

    /// `-m immediate`: no shutdown checkpoint, like a crash.
    fn crash(&self) {
        pg(
            &self.pg_ctl,
            &["-D", &self.data, "-m", "immediate", "-w", "stop"],
        );
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let _ = Command::new("runuser")
            .args(["-u", "postgres", "--"])
            .arg(&self.pg_ctl)
            .args(["-D", &self.data, "-m", "immediate", "-w", "stop"])
            .output();
    }
}

#[test]
#[ignore = "needs TEST_POSTGRES_URL and PostgreSQL server binaries; .ci/run runs it"]
fn postgres_restarted_under_load() {
    assert!(
        pg_bin("initdb").is_some(),
        "no PostgreSQL server binaries (initdb, pg_ctl) under /usr/lib/postgresql"
    );
    let pg_port = free_port();
    let cluster = Cluster::new(pg_port);
    let db = format!("postgres://postgres@127.0.0.1:{pg_port}/postgres");
    load_demo(&db);
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}/api/v1");
    let mut server = start(&db, port);
    let client = reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(15))
        .build()
        .unwrap();
    let me = demo_login(&client, &base, "doi-372");
    let token = me["access_token"].as_str().unwrap().to_string();
    let team = me["user"]["team_id"].as_str().unwrap().to_string();
    let user_id = me["user"]["id"].as_str().unwrap().to_string();
    let est = json_ok(
        client
            .get(format!("{base}/establishments?limit=1"))
            .bearer_auth(&token)
            .send()
            .unwrap(),
    )["items"][0]["id"]
        .as_str()
        .unwrap()
        .to_string();

    let stop = Arc::new(AtomicBool::new(false));
    // (id, when it was acknowledged), and every status seen with its time.
    let acked = Arc::new(Mutex::new(Vec::<(String, Instant)>::new()));
    let seen = Arc::new(Mutex::new(Vec::<(u16, Instant)>::new()));
    let clients: Vec<_> = (0..3)
        .map(|_| {
            let (stop, acked, seen) = (stop.clone(), acked.clone(), seen.clone());
            let (base, token, team, user_id, est) =
                (base.clone(), token.clone(), team.clone(), user_id.clone(), est.clone());
            std::thread::spawn(move || {
                let client = reqwest::blocking::Client::builder()
                    .timeout(Duration::from_secs(15))
                    .build()
                    .unwrap();
                while !stop.load(Ordering::Relaxed) {
                    let id = uuid::Uuid::new_v4().to_string();
                    let body = json!({
                        "id": id, "establishment_id": est, "team_id": team,
                        "started_at": "2016-10-01T09:00:00+07:00", "finished_at": "2016-10-01T09:30:00+07:00",
                        "members_present": [user_id], "outcome": "no_violation", "violations": []
                    });
                    while !stop.load(Ordering::Relaxed) {
                        let r = client
                            .post(format!("{base}/inspections"))
                            .bearer_auth(&token)
                            .json(&body)
                            .send();
                        let status = r.map(|r| r.status().as_u16()).unwrap_or(0);
                        seen.lock().unwrap().push((status, Instant::now()));
                        if (200..300).contains(&status) {
                            acked.lock().unwrap().push((id.clone(), Instant::now()));
                            break;
                        }
                        std::thread::sleep(Duration::from_millis(50));
                    }
                }
            })
        })
        .collect();
    std::thread::sleep(Duration::from_secs(1));
    cluster.crash();
    let down_at = Instant::now();
    std::thread::sleep(Duration::from_millis(500));
    // While PostgreSQL is down: 503, for a read as for a write.
    let r = client
        .get(format!("{base}/establishments/{est}"))
        .bearer_auth(&token)
        .send()
        .unwrap();
    assert_eq!(r.status(), 503, "a read while the database is down");
    let ready = client
        .get(format!("http://127.0.0.1:{port}/readyz"))
        .send()
        .unwrap();
    assert_eq!(ready.status(), 503, "readyz while the database is down");
    std::thread::sleep(Duration::from_secs(2));
    cluster.start();
    let up_at = Instant::now();
    // Recovery: a post acknowledged within 5 s of PostgreSQL being back.
    let deadline = up_at + Duration::from_secs(5);
    let recovered = loop {
        if let Some(t) = acked
            .lock()
            .unwrap()
            .iter()
            .map(|(_, t)| *t)
            .find(|t| *t > up_at)
        {
            break Some(t);
        }
        if Instant::now() > deadline {
            break None;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let recovered = recovered.expect("no post acknowledged within 5 s of PostgreSQL coming back");
    eprintln!(
        "postgres restart: down {:.1} s, first acknowledgement {:.2} s after it came back",
        (up_at - down_at).as_secs_f64(),
        (recovered - up_at).as_secs_f64()
    );
    std::thread::sleep(Duration::from_millis(500));
    stop.store(true, Ordering::Relaxed);
    for c in clients {
        c.join().unwrap();
    }
    let seen = seen.lock().unwrap().clone();
    let during: Vec<u16> = seen
        .iter()
        .filter(|(_, t)| *t > down_at + Duration::from_millis(200) && *t < up_at)
        .map(|(s, _)| *s)
        .collect();
    assert!(during.contains(&503), "no 503 while down: {during:?}");
    let wrong: Vec<u16> = seen
        .iter()
        .map(|(s, _)| *s)
        .filter(|s| !(200..300).contains(s) && *s != 503)
        .collect();
    assert!(
        wrong.is_empty(),
        "answers other than 2xx and 503: {wrong:?}"
    );
    let acked = acked.lock().unwrap().clone();
    assert!(
        acked.iter().any(|(_, t)| *t < down_at),
        "nothing posted before the crash"
    );
    for (id, _) in &acked {
        let r = client
            .get(format!("{base}/inspections/{id}"))
            .bearer_auth(&token)
            .send()
            .unwrap();
        assert_eq!(r.status(), 200, "acknowledged minutes {id} lost");
    }
    server.kill().unwrap();
    server.wait().unwrap();
    drop(cluster);
}
