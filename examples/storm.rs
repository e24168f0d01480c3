//! The retry storm: many clients post minutes, each minutes sent 2 to 4
//! times (the first post and 1 to 3 repeats), some repeats at the same
//! moment as the first post, 5 % of the repeats with a changed body. Then,
//! from the answers and from the database: zero lost (every minutes got its
//! one 201 and is stored), zero duplicates (one row per id), every send of
//! the stored body answered 2xx and every send of the other body 409.
//!
//! It needs a running server over the demo data (the `doi-372` inspector):
//! `bench/storm` builds the release binary, makes a fresh PostgreSQL
//! database, loads the demo into it, serves it and runs this:
//!
//! ```sh
//! cargo run --release --example storm -- BASE_URL[,BASE_URL…] DATABASE_URL [CLIENTS] [MINUTES]
//! ```
//!
//! With several base URLs (service instances on one database) the sends go
//! round-robin over them, so that the repeats of one minutes reach different
//! instances.
//!
//! It prints a JSON summary as its last line and exits 1 if anything was lost,
//! stored twice or answered wrongly.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::Instant;

use diesel::prelude::*;
use serde_json::{json, Value};

/// xorshift64*: a small deterministic generator, so that a run can be repeated.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// One send: which minutes, and whether with the changed body.
#[derive(Clone, Copy)]
struct Send {
    minutes: usize,
    changed: bool,
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.len() < 3 {
        eprintln!("usage: storm BASE_URL DATABASE_URL [CLIENTS] [MINUTES]");
        std::process::exit(2);
    }
    let bases: Vec<String> = args[1]
        .split(',')
        .map(|b| b.trim_end_matches('/').to_string())
        .collect();
    let base = bases[0].clone();
    let db_url = &args[2];
    let clients: usize = args.get(3).map_or(64, |s| s.parse().expect("CLIENTS"));
    let n: usize = args.get(4).map_or(20_000, |s| s.parse().expect("MINUTES"));

    let http = reqwest::blocking::Client::builder()
        .pool_max_idle_per_host(clients)
        .timeout(std::time::Duration::from_secs(60))
        .build()
        .unwrap();
    let me: Value = http
        .post(format!("{base}/api/v1/auth/login"))
        .json(&json!({"username": "doi-372", "password": "kiemtra-demo-2016"}))
        .send()
        .and_then(|r| r.json())
        .expect("log in as doi-372 (is the demo loaded?)");
    let token = me["access_token"].as_str().expect("token").to_string();
    let team = me["user"]["team_id"].as_str().unwrap().to_string();
    let user_id = me["user"]["id"].as_str().unwrap().to_string();
    let ests: Vec<String> = http
        .get(format!("{base}/api/v1/establishments?limit=500"))
        .bearer_auth(&token)
        .send()
        .and_then(|r| r.json::<Value>())
        .unwrap()["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["id"].as_str().unwrap().to_string())
        .collect();
    assert!(!ests.is_empty(), "no establishments in the team's area");
    // The team's open assignments: the first minutes complete them, so that
    // repeats racing their first post through the other instance (or the
    // other writer) find the assignment completed by that very post.
    let mut assigned: Vec<(String, String)> = Vec::new();
    let mut page = format!("{base}/api/v1/teams/{team}/assignments?limit=500");
    loop {
        let p: Value = http
            .get(&page)
            .bearer_auth(&token)
            .send()
            .and_then(|r| r.json())
            .unwrap();
        for a in p["items"].as_array().unwrap() {
            if a["status"] == "pending" || a["status"] == "scheduled" {
                assigned.push((
                    a["id"].as_str().unwrap().to_string(),
                    a["establishment"]["id"].as_str().unwrap().to_string(),
                ));
            }
        }
        match p["next_cursor"].as_str() {
            Some(c) => {
                page = format!("{base}/api/v1/teams/{team}/assignments?limit=500&cursor={c}")
            }
            None => break,
        }
    }
    assigned.truncate(n);
    assert!(!assigned.is_empty(), "no open assignments for the team");

    let mut rng = Rng(0x05EE_D178_2016);
    let ids: Vec<String> = (0..n)
        .map(|_| {
            let mut b = [0u8; 16];
            b[..8].copy_from_slice(&rng.next().to_le_bytes());
            b[8..].copy_from_slice(&rng.next().to_le_bytes());
            uuid::Builder::from_random_bytes(b).into_uuid().to_string()
        })
        .collect();
    let body = |i: usize, changed: bool| -> Value {
        let (assignment, establishment) = match assigned.get(i) {
            Some((a, e)) => (json!(a), e),
            None => (Value::Null, &ests[i % ests.len()]),
        };
        json!({
            "id": ids[i], "assignment_id": assignment, "establishment_id": establishment, "team_id": team,
            "started_at": "2016-11-01T09:00:00+07:00", "finished_at": "2016-11-01T09:45:00+07:00",
            "members_present": [user_id], "outcome": "violations_found",
            "notes": if changed { format!("đã sửa {i}") } else { format!("biên bản {i}") },
            "violations": [
                {"code": "GUEST_REGISTER", "sanction": "warning"},
                {"code": "KARAOKE_DOOR", "sanction": "fine", "fine_vnd": 12_000_000},
                {"code": "LABOUR_CONTRACT", "sanction": "warning"}
            ]
        })
    };
    // The schedule, as sort keys: every first post in order; a third of the
    // minutes get an identical repeat right behind it (in flight at the same
    // moment on another client); the other repeats land up to 4 × CLIENTS
    // sends later. A changed repeat waits until its minutes have their first
    // answer (a phone that edits a record it already sent); identical
    // repeats race freely.
    let mut keyed: Vec<(u64, Send)> = Vec::new();
    let mut repeats = 0usize;
    let mut changed_repeats = 0usize;
    for i in 0..n {
        let at = 4 * i as u64;
        keyed.push((
            at,
            Send {
                minutes: i,
                changed: false,
            },
        ));
        let r = 1 + rng.below(3) as usize;
        for k in 0..r {
            let changed = rng.below(100) < 5;
            repeats += 1;
            changed_repeats += changed as usize;
            let key = if k == 0 && i % 3 == 0 && !changed {
                at + 1
            } else {
                at + 2 + 4 * rng.below(4 * clients as u64)
            };
            keyed.push((
                key,
                Send {
                    minutes: i,
                    changed,
                },
            ));
        }
    }
    keyed.sort_by_key(|(k, _)| *k);
    let merged: Vec<Send> = keyed.into_iter().map(|(_, s)| s).collect();
    let first_answered: Vec<AtomicBool> = (0..n).map(|_| AtomicBool::new(false)).collect();
    let total = merged.len();

    let next = AtomicUsize::new(0);
    let answers: Mutex<Vec<(Send, u16)>> = Mutex::new(Vec::with_capacity(total));
    let started = Instant::now();
    std::thread::scope(|scope| {
        for _ in 0..clients {
            scope.spawn(|| loop {
                let k = next.fetch_add(1, Ordering::Relaxed);
                let Some(&s) = merged.get(k) else { break };
                if s.changed {
                    while !first_answered[s.minutes].load(Ordering::Acquire) {
                        std::thread::sleep(std::time::Duration::from_millis(1));
                    }
                }
                let status = loop {
                    match http
                        .post(format!("{}/api/v1/inspections", bases[k % bases.len()]))
                        .bearer_auth(&token)
                        .json(&body(s.minutes, s.changed))
                        .send()
                    {
                        // A retry of the very same body, like a phone would.
                        Ok(r) if r.status() == 503 => continue,
                        Ok(r) => break r.status().as_u16(),
                        Err(_) => continue,
                    }
                };
                first_answered[s.minutes].store(true, Ordering::Release);
                answers.lock().unwrap().push((s, status));
            });
        }
    });
    let secs = started.elapsed().as_secs_f64();
    let answers = answers.into_inner().unwrap();

    // Per minutes: which body won (the one answered 201).
    let mut winner: HashMap<usize, bool> = HashMap::new();
    let mut created = 0usize;
    let mut double_created = 0usize;
    for (s, st) in &answers {
        if *st == 201 {
            created += 1;
            if winner.insert(s.minutes, s.changed).is_some() {
                double_created += 1;
            }
        }
    }
    let mut wrong = 0usize;
    let mut changed_409 = 0usize;
    let mut examples = Vec::new();
    for (s, st) in &answers {
        let ok = match winner.get(&s.minutes) {
            Some(w) if *w == s.changed => *st == 200 || *st == 201,
            Some(_) => *st == 409,
            None => false,
        };
        if s.changed && *st == 409 {
            changed_409 += 1;
        }
        if !ok {
            wrong += 1;
            if examples.len() < 5 {
                examples.push(format!(
                    "minutes {} changed={} got {st}",
                    s.minutes, s.changed
                ));
            }
        }
    }
    let lost = n - winner.len();

    // The database: one row per id, no more.
    use kiemtra::db::schema::{inspection_versions, inspections};
    let pool = kiemtra::db::build_pool(db_url, 1).expect("database");
    let mut pooled = pool.get().unwrap();
    let conn: &mut kiemtra::db::DbConnection = &mut pooled;
    let mut stored = 0i64;
    let mut versions = 0i64;
    for chunk in ids.chunks(5000) {
        stored += inspections::table
            .filter(inspections::id.eq_any(chunk))
            .count()
            .get_result::<i64>(conn)
            .unwrap();
        versions += inspection_versions::table
            .filter(inspection_versions::inspection_id.eq_any(chunk))
            .count()
            .get_result::<i64>(conn)
            .unwrap();
    }
    // Each assignment completed, by exactly its minutes.
    use kiemtra::db::schema::assignments;
    let assignment_ids: Vec<&str> = assigned.iter().map(|(a, _)| a.as_str()).collect();
    let completed = assignments::table
        .filter(assignments::id.eq_any(&assignment_ids))
        .filter(assignments::status.eq("completed"))
        .count()
        .get_result::<i64>(conn)
        .unwrap();
    let completing = inspections::table
        .filter(inspections::assignment_id.eq_any(&assignment_ids))
        .count()
        .get_result::<i64>(conn)
        .unwrap();
    let changed_won = winner.values().filter(|c| **c).count();
    let pass = lost == 0
        && completed == assigned.len() as i64
        && completing == assigned.len() as i64
        && double_created == 0
        && changed_409 == changed_repeats
        && wrong == 0
        && stored == n as i64
        && versions == n as i64;
    let summary = json!({
        "instances": bases.len(), "clients": clients, "minutes": n, "sends": total, "repeats": repeats,
        "changed_repeats": changed_repeats, "changed_repeats_409": changed_409,
        "changed_bodies_that_won_the_race": changed_won,
        "for_assignments": assigned.len(), "assignments_completed": completed,
        "inspections_of_those_assignments": completing,
        "created_201": created, "lost": lost, "stored_twice": double_created,
        "rows_stored": stored, "versions_stored": versions, "wrong_answers": wrong,
        "wrong_examples": examples, "seconds": (secs * 100.0).round() / 100.0,
        "sends_per_second": (total as f64 / secs).round(), "pass": pass,
    });
    println!("{summary}");
    if !pass {
        std::process::exit(1);
    }
}
