//! A draw no single person can steer, and that an outsider can check without
//! the database (docs/draw.md §10, §12): seed procedures, rehearsals, one live
//! plan per unit, year and levels, verify against the audit trail, the public
//! round input, and `kiemtra audit verify --head`.

use std::collections::HashSet;
use std::process::Command;

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use crate::helpers::{TestApp, BUSINESS_TYPES};

const BIN: &str = env!("CARGO_BIN_EXE_kiemtra");
const SEED: &str = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";

async fn world() -> (TestApp, String) {
    TestApp::init()
        .with_establishments(120)
        .with_teams()
        .with_admin()
        .await
}

fn plan_body(extra: Value) -> Value {
    let mut body = json!({"name": "Kế hoạch 2016", "year": 2016, "org_unit_code": "37",
        "shares": [{"level": "province", "percent": 10}, {"level": "district", "percent": 40}]});
    for (k, v) in extra.as_object().unwrap() {
        body[k] = v.clone();
    }
    body
}

async fn new_plan(app: &TestApp, admin: &str, extra: Value) -> String {
    app.create_plan(admin, plan_body(extra)).await["id"]
        .as_str()
        .unwrap()
        .to_string()
}

async fn assignments(app: &TestApp, admin: &str, plan: &str) -> Vec<Value> {
    app.all_pages(
        &format!("/api/v1/plans/{plan}/assignments?limit=500"),
        admin,
    )
    .await
}

async fn verify(app: &TestApp, admin: &str, plan: &str) -> Value {
    app.get_ok(&format!("/api/v1/plans/{plan}/verify"), admin)
        .await
}

/// (establishment, team, round, selection order) in selection order.
fn selections(items: &[Value]) -> Vec<(String, String, i64, i64)> {
    let mut v: Vec<_> = items
        .iter()
        .map(|a| {
            (
                a["establishment"]["id"].as_str().unwrap().to_string(),
                a["team_id"].as_str().unwrap().to_string(),
                a["round"].as_i64().unwrap(),
                a["selection_order"].as_i64().unwrap(),
            )
        })
        .collect();
    v.sort_by_key(|s| (s.2, s.3));
    v
}

fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// `S(x)` of docs/draw.md §8.
fn s(x: &str) -> String {
    format!("{}:{x}", x.len())
}

#[actix_web::test]
async fn a_real_plan_given_a_seed_is_422_naming_seed() {
    let (app, admin) = world().await;
    let (status, p) = app
        .post("/api/v1/plans", &admin, plan_body(json!({"seed": SEED})))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{p}");
    assert_eq!(p["errors"][0]["field"], "seed", "{p}");
    assert_eq!(app.count("plans"), 0);
}

#[actix_web::test]
async fn a_plan_without_a_seed_draws_with_no_body_and_its_seed_is_recomputable() {
    let (app, admin) = world().await;
    let plan = new_plan(&app, &admin, json!({})).await;
    // No body at all, as before.
    let (status, d) = app
        .send(
            Method::POST,
            &format!("/api/v1/plans/{plan}/draw"),
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{d}");
    let p = app.get_ok(&format!("/api/v1/plans/{plan}"), &admin).await;
    assert_eq!(p["seed"], d["seed"]);
    assert_eq!(p["rounds"][0]["round"], 1);
    assert_eq!(p["rounds"][0]["seed"], d["seed"]);
    assert_eq!(p["rounds"][0]["input_digest"], d["input_digest"]);
    let rec = &p["seed_procedure"];
    assert_eq!(rec["procedure"], "server_random", "{rec}");
    // The seed, recomputed here from the public record as §12 says.
    let server = rec["server_value"].as_str().unwrap();
    assert_eq!(
        rec["server_commitment"],
        sha256_hex(&hex::decode(server).unwrap())
    );
    let text = format!(
        "kiemtra-seed-v1\nprocedure {}\ninput {}\nserver {server}\n",
        s("server_random"),
        rec["frozen_digest"].as_str().unwrap()
    );
    assert_eq!(d["seed"], sha256_hex(text.as_bytes()));
    // The frozen digest is round 1's input with a zero seed.
    let input = app
        .get_ok(
            &format!("/api/v1/plans/{plan}/rounds/1/input?format=json"),
            &admin,
        )
        .await;
    let mut frozen: kiemtra::domain::draw::DrawInput = serde_json::from_value(input).unwrap();
    frozen.seed = [0; 32];
    assert_eq!(
        rec["frozen_digest"],
        kiemtra::domain::draw::input_digest(&frozen)
    );
    let v = verify(&app, &admin, &plan).await;
    assert_eq!(v["matches"], true, "{v}");
    for check in [
        "recomputed",
        "audit_trail",
        "seed_procedure",
        "status_changes",
    ] {
        assert_eq!(v[check], true, "{check}: {v}");
    }
    assert_eq!(v["discrepancies"], json!([]));
}

#[actix_web::test]
async fn the_round_input_hashes_to_the_plans_input_digest() {
    let (app, admin) = world().await;
    let plan = new_plan(&app, &admin, json!({})).await;
    let d = app.draw(&admin, &plan).await;
    let (status, bytes) = app
        .get_as(
            &format!("/api/v1/plans/{plan}/rounds/1/input"),
            &admin,
            "text/plain",
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(bytes.starts_with(b"kiemtra-draw-input-v"));
    assert_eq!(sha256_hex(&bytes), d["input_digest"].as_str().unwrap());
    // The JSON view, asked for by Accept, is the same input.
    let (status, json_bytes) = app
        .get_as(
            &format!("/api/v1/plans/{plan}/rounds/1/input"),
            &admin,
            "application/json",
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let input: kiemtra::domain::draw::DrawInput = serde_json::from_slice(&json_bytes).unwrap();
    assert_eq!(kiemtra::domain::draw::canonical_input(&input), bytes);
    assert_eq!(input.establishments.len(), 120);
    // Every team whose area is inside the plan's unit is sent.
    assert_eq!(input.teams.len(), app.teams.len());
    let (status, _) = app
        .get(&format!("/api/v1/plans/{plan}/rounds/2/input"), &admin)
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    // Assignments carry their round and selection order: the draw's output
    // order, which the input recomputes.
    let got = selections(&assignments(&app, &admin, &plan).await);
    let out = kiemtra::domain::draw::draw(&input);
    let want: Vec<(String, String, i64, i64)> = out
        .selections
        .iter()
        .enumerate()
        .map(|(i, s)| {
            (
                s.establishment_id.clone(),
                s.team_id.clone(),
                1,
                i as i64 + 1,
            )
        })
        .collect();
    assert_eq!(got, want);
}

#[actix_web::test]
async fn a_rehearsal_with_a_seed_draws_reproducibly_and_reaches_no_team() {
    let (app, admin) = world().await;
    let a = new_plan(&app, &admin, json!({"rehearsal": true, "seed": SEED})).await;
    let b = new_plan(&app, &admin, json!({"rehearsal": true, "seed": SEED})).await;
    let da = app.draw(&admin, &a).await;
    let db = app.draw(&admin, &b).await;
    assert_eq!(da["seed"], SEED);
    assert_eq!(da["input_digest"], db["input_digest"]);
    let sa = assignments(&app, &admin, &a).await;
    let sb = assignments(&app, &admin, &b).await;
    assert!(!sa.is_empty());
    assert_eq!(sa.len() as u64, da["assignments"].as_u64().unwrap());
    assert_eq!(selections(&sa), selections(&sb));
    let p = app.get_ok(&format!("/api/v1/plans/{a}"), &admin).await;
    assert_eq!(p["rehearsal"], true);
    assert_eq!(p["seed_procedure"]["procedure"], "caller");
    assert_eq!(verify(&app, &admin, &a).await["matches"], true);
    // Nothing reached a team: no assignment rows, no team fetch, no sync.
    assert_eq!(app.count("assignments"), 0);
    for team in app.teams.values() {
        let fetch = app
            .get_ok(&format!("/api/v1/teams/{team}/assignments"), &admin)
            .await;
        assert_eq!(fetch["items"], json!([]), "team {team}");
    }
    let lead = app.inspector("lead", "372").await;
    let mine = app
        .get_ok(&format!("/api/v1/plans/{a}/assignments"), &lead.token)
        .await;
    assert_eq!(mine["items"], json!([]));
    // Coverage and reports count nothing of it.
    let cov = app
        .get_ok(
            &format!("/api/v1/plans/{a}/coverage?group_by=org_unit"),
            &admin,
        )
        .await;
    assert_eq!(cov["assigned"], 0, "{cov}");
    // A rehearsal is never the live plan: a real one can still be created,
    // and it draws from a seed of its own.
    let real = new_plan(&app, &admin, json!({})).await;
    let dr = app.draw(&admin, &real).await;
    assert_ne!(dr["seed"], SEED);
    // A rehearsal has no top-up.
    let (status, _) = app
        .post(&format!("/api/v1/plans/{a}/top-up"), &admin, json!({}))
        .await;
    assert_eq!(status, StatusCode::CONFLICT);
}

#[actix_web::test]
async fn a_second_live_plan_is_409_until_the_first_is_cancelled() {
    let (app, admin) = world().await;
    let first = new_plan(&app, &admin, json!({})).await;
    app.draw(&admin, &first).await;
    let (status, p) = app
        .post("/api/v1/plans", &admin, plan_body(json!({})))
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{p}");
    // The same levels in another order are the same level set.
    let swapped = json!({"shares": [{"level": "district", "percent": 40}, {"level": "province", "percent": 10}]});
    let (status, _) = app.post("/api/v1/plans", &admin, plan_body(swapped)).await;
    assert_eq!(status, StatusCode::CONFLICT);
    // Another year, or another set of levels, is another plan.
    new_plan(&app, &admin, json!({"year": 2017})).await;
    new_plan(
        &app,
        &admin,
        json!({"shares": [{"level": "district", "percent": 40}]}),
    )
    .await;
    // A team's sync before the cancellation.
    let team = &app.teams["372"];
    let before = app
        .get_ok(&format!("/api/v1/teams/{team}/assignments"), &admin)
        .await;
    assert!(!before["items"].as_array().unwrap().is_empty());
    let token = before["sync_token"].as_str().unwrap().to_string();

    let (status, e) = app
        .post(
            &format!("/api/v1/plans/{first}/cancel"),
            &admin,
            json!({"reason": " "}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(e["errors"][0]["field"], "reason");
    let cancelled = app
        .post_ok(
            &format!("/api/v1/plans/{first}/cancel"),
            &admin,
            json!({"reason": "Danh sách cơ sở nhập sai"}),
        )
        .await;
    assert_eq!(cancelled["status"], "cancelled");
    assert_eq!(cancelled["cancel_reason"], "Danh sách cơ sở nhập sai");
    assert_eq!(cancelled["rounds"].as_array().unwrap().len(), 1);
    let (status, _) = app
        .post(
            &format!("/api/v1/plans/{first}/cancel"),
            &admin,
            json!({"reason": "again"}),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT);
    let (status, _) = app
        .post(&format!("/api/v1/plans/{first}/top-up"), &admin, json!({}))
        .await;
    assert_eq!(status, StatusCode::CONFLICT);
    // Its open assignments are withdrawn, and the team's sync says so.
    let delta = app
        .get_ok(
            &format!("/api/v1/teams/{team}/assignments?since={token}"),
            &admin,
        )
        .await;
    let items = delta["items"].as_array().unwrap();
    assert_eq!(items.len(), before["items"].as_array().unwrap().len());
    assert!(items.iter().all(|a| a["status"] == "cancelled"
        && a["cancel_reason"] == "plan cancelled: Danh sách cơ sở nhập sai"));
    // Audited, and still verifiable: the cancellations are explained.
    assert_eq!(
        app.scalar(&format!(
            "SELECT COUNT(*) AS n FROM audit_log WHERE action = 'plan.cancel' AND entity_id = '{first}'"
        )),
        1
    );
    let v = verify(&app, &admin, &first).await;
    assert_eq!(v["matches"], true, "{v}");

    // The replacement: created, drawn with a seed of its own.
    let second = new_plan(&app, &admin, json!({})).await;
    let d2 = app.draw(&admin, &second).await;
    let listed: HashSet<String> = app
        .all_pages("/api/v1/plans?limit=500", &admin)
        .await
        .iter()
        .map(|p| p["id"].as_str().unwrap().to_string())
        .collect();
    assert!(listed.contains(&first) && listed.contains(&second));
    let p1 = app.get_ok(&format!("/api/v1/plans/{first}"), &admin).await;
    assert_ne!(p1["seed"], d2["seed"]);
    assert_ne!(
        p1["seed_procedure"]["server_value"],
        app.get_ok(&format!("/api/v1/plans/{second}"), &admin).await["seed_procedure"]
            ["server_value"]
    );
}

#[actix_web::test]
async fn an_sql_forgery_of_seed_digest_input_and_assignments_fails_verify() {
    let (app, admin) = world().await;
    let plan = new_plan(&app, &admin, json!({})).await;
    app.draw(&admin, &plan).await;
    assert_eq!(verify(&app, &admin, &plan).await["matches"], true);
    // The forger picks a seed, redraws offline, and rewrites every copy the
    // plan's own tables hold, consistently.
    let inputs = app
        .text(&format!(
            "SELECT inputs AS t FROM draw_rounds WHERE plan_id = '{plan}' AND round = 1"
        ))
        .unwrap();
    let mut input: kiemtra::domain::draw::DrawInput = serde_json::from_str(&inputs).unwrap();
    input.seed = [7; 32];
    let seed = hex::encode(input.seed);
    let digest = kiemtra::domain::draw::input_digest(&input);
    let out = kiemtra::domain::draw::draw(&input);
    let forged = serde_json::to_string(&input).unwrap();
    app.exec(&format!(
        "UPDATE plans SET seed = '{seed}' WHERE id = '{plan}'"
    ));
    app.exec(&format!(
        "UPDATE draw_rounds SET seed = '{seed}', input_digest = '{digest}', inputs = '{}' \
         WHERE plan_id = '{plan}'",
        forged.replace('\'', "''")
    ));
    app.exec(&format!("DELETE FROM assignments WHERE plan_id = '{plan}'"));
    for (i, s) in out.selections.iter().enumerate() {
        app.exec(&format!(
            "INSERT INTO assignments (id, plan_id, team_id, establishment_id, level, round, status, \
             due_by, version, change_seq, created_at, updated_at, selection_order) VALUES \
             ('{}', '{plan}', '{}', '{}', '{}', 1, 'pending', '2016-12-31', 1, {}, \
             '2016-06-08 00:00:00', '2016-06-08 00:00:00', {})",
            uuid::Uuid::new_v4(),
            s.team_id,
            s.establishment_id,
            s.level,
            100_000 + i,
            i + 1
        ));
    }
    let v = verify(&app, &admin, &plan).await;
    // The forgery is self-consistent...
    assert_eq!(v["recomputed"], true, "{v}");
    // ...but not with the audit log, nor with the seed's procedure.
    assert_eq!(v["audit_trail"], false, "{v}");
    assert_eq!(v["seed_procedure"], false, "{v}");
    assert_eq!(v["matches"], false);
    assert!(!v["discrepancies"].as_array().unwrap().is_empty());
}

#[actix_web::test]
async fn a_cancellation_no_audited_action_explains_fails_verify() {
    let (app, admin) = world().await;
    let plan = new_plan(&app, &admin, json!({})).await;
    app.draw(&admin, &plan).await;
    let all = assignments(&app, &admin, &plan).await;
    // One closed through the service: explained by its audited close.
    let closed = &all[0];
    let est = closed["establishment"]["id"].as_str().unwrap();
    app.post_ok(
        &format!("/api/v1/establishments/{est}/close"),
        &admin,
        json!({"closed_on": "2016-07-01", "reason": "Ngừng kinh doanh"}),
    )
    .await;
    // One of the provincial team's completed by its minutes, one scheduled
    // by its leader: both explained by their audited actions.
    let province = &app.teams["37"];
    let lead = app.inspector("lead", "37").await;
    let (status, body) = app
        .send(
            Method::PATCH,
            &format!("/api/v1/teams/{province}/members/{}", lead.id),
            Some(&admin),
            Some(json!({"is_leader": true})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let theirs: Vec<&Value> = all[1..]
        .iter()
        .filter(|a| a["team_id"] == province.as_str())
        .collect();
    assert!(theirs.len() >= 3);
    let (done, planned) = (theirs[0], theirs[1]);
    app.post_created("/api/v1/inspections", &lead.token, json!({"id": uuid::Uuid::new_v4().to_string(),
        "assignment_id": done["id"], "establishment_id": done["establishment"]["id"], "team_id": province,
        "started_at": "2016-05-02T08:00:00+07:00", "finished_at": "2016-05-02T09:00:00+07:00",
        "members_present": [lead.id], "outcome": "no_violation", "violations": []}))
        .await;
    let (status, body) = app
        .send(
            Method::PATCH,
            &format!("/api/v1/assignments/{}", planned["id"].as_str().unwrap()),
            Some(&lead.token),
            Some(json!({"scheduled_for": "2016-09-01"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let v = verify(&app, &admin, &plan).await;
    assert_eq!(v["matches"], true, "{v}");
    // One cancelled by SQL, with a plausible reason, its establishment open.
    let victim = theirs[2]["id"].as_str().unwrap();
    app.exec(&format!(
        "UPDATE assignments SET status = 'cancelled', cancel_reason = 'establishment closed' \
         WHERE id = '{victim}'"
    ));
    let v = verify(&app, &admin, &plan).await;
    assert_eq!(v["matches"], false, "{v}");
    assert_eq!(v["status_changes"], false);
    assert_eq!(v["recomputed"], true);
    let found = v["discrepancies"].as_array().unwrap();
    assert_eq!(found.len(), 1, "{v}");
    assert_eq!(found[0]["check"], "status_changes");
    assert_eq!(found[0]["assignment_id"], victim);
}

#[actix_web::test]
async fn a_public_beacon_plan_is_frozen_before_its_value_is_known() {
    let (app, admin) = world().await;
    let tomorrow = (chrono::Utc::now() + chrono::Duration::days(2))
        .date_naive()
        .to_string();
    // Its day must lie ahead.
    let (status, e) = app
        .post(
            "/api/v1/plans",
            &admin,
            plan_body(json!({"seed_procedure": "public_beacon",
                "beacon": {"source": "XSKT miền Bắc, giải đặc biệt", "date": "2016-06-20"}})),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(e["errors"][0]["field"], "beacon.date");
    let plan = new_plan(
        &app,
        &admin,
        json!({"seed_procedure": "public_beacon",
            "beacon": {"source": "XSKT miền Bắc, giải đặc biệt", "date": tomorrow}}),
    )
    .await;
    // No draw before the freeze.
    let (status, _) = app
        .post(
            &format!("/api/v1/plans/{plan}/draw"),
            &admin,
            json!({"beacon_value": "12345"}),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT);
    let frozen = app
        .post_ok(&format!("/api/v1/plans/{plan}/freeze"), &admin, json!({}))
        .await;
    let rec = frozen["seed_procedure"].clone();
    assert_eq!(rec["procedure"], "public_beacon");
    assert_eq!(rec["server_commitment"].as_str().unwrap().len(), 64);
    assert!(rec.get("server_value").is_none(), "{rec}");
    // A registration after the freeze does not enter the draw.
    let c = crate::helpers::commune_of("372");
    app.establishment(&admin, "AFTER-FREEZE", &c, BUSINESS_TYPES[0])
        .await;
    // Ten establishments of the frozen input close before the draw.
    let registry = app
        .all_pages("/api/v1/establishments?limit=500", &admin)
        .await;
    let mut closed = HashSet::new();
    for e in registry
        .iter()
        .filter(|e| e["licence_no"] != "AFTER-FREEZE")
        .take(10)
    {
        let id = e["id"].as_str().unwrap();
        app.post_ok(
            &format!("/api/v1/establishments/{id}/close"),
            &admin,
            json!({"closed_on": "2016-07-01", "reason": "Ngừng kinh doanh"}),
        )
        .await;
        closed.insert(id.to_string());
    }
    let (status, e) = app
        .post(&format!("/api/v1/plans/{plan}/draw"), &admin, json!({}))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(e["errors"][0]["field"], "beacon_value");
    let d = app
        .post_ok(
            &format!("/api/v1/plans/{plan}/draw"),
            &admin,
            json!({"beacon_value": "12345"}),
        )
        .await;
    let p = app.get_ok(&format!("/api/v1/plans/{plan}"), &admin).await;
    let rec = &p["seed_procedure"];
    let server = rec["server_value"].as_str().unwrap();
    assert_eq!(
        rec["server_commitment"],
        sha256_hex(&hex::decode(server).unwrap())
    );
    assert_eq!(
        rec["frozen_digest"],
        frozen["seed_procedure"]["frozen_digest"]
    );
    let text = format!(
        "kiemtra-seed-v1\nprocedure {}\ninput {}\nserver {server}\nbeacon {} {} {}\n",
        s("public_beacon"),
        rec["frozen_digest"].as_str().unwrap(),
        s("XSKT miền Bắc, giải đặc biệt"),
        s(&tomorrow),
        s("12345")
    );
    assert_eq!(d["seed"], sha256_hex(text.as_bytes()));
    let input = app
        .get_ok(
            &format!("/api/v1/plans/{plan}/rounds/1/input?format=json"),
            &admin,
        )
        .await;
    assert_eq!(input["establishments"].as_array().unwrap().len(), 120);
    // No team is sent to an establishment closed since the freeze.
    let drawn = assignments(&app, &admin, &plan).await;
    assert_eq!(drawn.len() as u64, d["assignments"].as_u64().unwrap());
    for a in &drawn {
        let closed_one = closed.contains(a["establishment"]["id"].as_str().unwrap());
        assert_eq!(a["status"] == "cancelled", closed_one, "{a}");
    }
    let v = verify(&app, &admin, &plan).await;
    assert_eq!(v["matches"], true, "{v}");
    // A forged beacon value in the record is caught.
    let forged = p["seed_procedure"]
        .to_string()
        .replace("\"value\":\"12345\"", "\"value\":\"99999\"");
    app.exec(&format!(
        "UPDATE plans SET seed_record = '{}' WHERE id = '{plan}'",
        forged.replace('\'', "''")
    ));
    let v = verify(&app, &admin, &plan).await;
    assert_eq!(v["seed_procedure"], false, "{v}");
    assert_eq!(v["audit_trail"], false, "{v}");
}

/// Runs `kiemtra audit ARGS` on the app's database: exit code and stdout.
fn audit_cli(app: &TestApp, args: &[&str]) -> (i32, String) {
    let out = Command::new(BIN)
        .arg("audit")
        .args(args)
        .env("DATABASE_URL", app.database_url())
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

#[actix_web::test]
async fn audit_verify_head_catches_a_log_rewritten_in_full() {
    let (app, admin) = world().await;
    let plan = new_plan(&app, &admin, json!({})).await;
    app.draw(&admin, &plan).await;
    let (code, head) = audit_cli(&app, &["head"]);
    assert_eq!(code, 0);
    let head = head.trim().to_string();
    assert_eq!(head.len(), 64);
    // More entries later: the chain still extends the kept head.
    new_plan(&app, &admin, json!({"year": 2017})).await;
    let (code, out) = audit_cli(&app, &["verify", "--head", &head]);
    assert_eq!(code, 0, "{out}");
    // The operator rewrites the draw's entry and re-chains every hash, so
    // that the chain alone holds.
    app.exec(&format!(
        "UPDATE audit_log SET after = REPLACE(after, '\"assignments\":', '\"assignments\": ') \
         WHERE action = 'plan.draw' AND entity_id = '{plan}'"
    ));
    {
        use diesel::prelude::*;
        use kiemtra::db::schema::audit_log;
        let mut conn = app.pool.get().unwrap();
        let entries: Vec<kiemtra::app::audit::Entry> = audit_log::table
            .order(audit_log::seq)
            .load(&mut **conn)
            .unwrap();
        let mut prev = kiemtra::app::audit::GENESIS.to_string();
        for mut e in entries {
            e.prev_hash = prev;
            e.hash = kiemtra::app::audit::entry_hash(&e);
            diesel::update(audit_log::table.find(e.seq))
                .set((
                    audit_log::prev_hash.eq(&e.prev_hash),
                    audit_log::hash.eq(&e.hash),
                ))
                .execute(&mut **conn)
                .unwrap();
            prev = e.hash;
        }
    }
    let (code, out) = audit_cli(&app, &["verify"]);
    assert_eq!(code, 0, "the rewritten chain holds by itself: {out}");
    let (code, out) = audit_cli(&app, &["verify", "--head", &head]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("does not extend head"), "{out}");
}
