//! Plans, the draw, verify, top-up, and team sync, checked against counts the
//! test computes itself from the rows it created.

use std::collections::{HashMap, HashSet};

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::{spawn_app, strings, TestApp, NINH_BINH};

const TYPES: [&str; 4] = ["karaoke", "massage", "guest_house", "cafe"];
const SEED: &str = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";

/// District of each commune in the bundled file.
fn commune_district() -> Vec<(String, String)> {
    NINH_BINH
        .lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            (f.len() == 4 && f[2] == "commune").then(|| (f[0].to_string(), f[3].to_string()))
        })
        .collect()
}

fn ceil_pct(pct: u64, n: u64) -> u64 {
    (pct * n).div_ceil(100)
}

struct World {
    app: TestApp,
    admin: String,
    /// team id by jurisdiction code
    teams: HashMap<String, String>,
    /// establishment id -> district
    district_of: HashMap<String, String>,
}

/// Units, one team per district and the province's, `n` establishments
/// spread over all communes by a fixed rule.
async fn world(n: usize) -> World {
    let app = spawn_app().await;
    let admin = app.with_ninh_binh().await;
    let communes = commune_district();
    let mut csv = String::from("licence_no,name,business_type,org_unit_code,address\n");
    for i in 0..n {
        let (c, _) = &communes[(i * 7) % communes.len()];
        csv.push_str(&format!("L-{i:04},Cơ sở {i},{},{c},Số {i}\n", TYPES[i % 4]));
    }
    let (s, r) = app
        .post_csv("/api/v1/establishments/import", &admin, &csv)
        .await;
    assert_eq!(
        (s, r["created"].as_u64()),
        (StatusCode::OK, Some(n as u64)),
        "{r}"
    );
    let mut teams = HashMap::new();
    let (s, t) = app
        .post(
            "/api/v1/teams",
            &admin,
            json!({"name": "Đội tỉnh", "level": "province", "org_unit_code": "37"}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED);
    teams.insert("37".to_string(), t["id"].as_str().unwrap().to_string());
    let districts: HashSet<String> = communes.iter().map(|(_, d)| d.clone()).collect();
    for d in &districts {
        let (s, t) = app
            .post(
                "/api/v1/teams",
                &admin,
                json!({"name": format!("Đội {d}"), "level": "district", "org_unit_code": d}),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED);
        teams.insert(d.clone(), t["id"].as_str().unwrap().to_string());
    }
    let district_by_commune: HashMap<String, String> = communes.into_iter().collect();
    let mut district_of = HashMap::new();
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            Some(c) => format!("/api/v1/establishments?limit=500&cursor={c}"),
            None => "/api/v1/establishments?limit=500".into(),
        };
        let (_, page) = app.get(&path, &admin).await;
        for e in page["items"].as_array().unwrap() {
            district_of.insert(
                e["id"].as_str().unwrap().to_string(),
                district_by_commune[e["org_unit_code"].as_str().unwrap()].clone(),
            );
        }
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_string()),
            None => break,
        }
    }
    World {
        app,
        admin,
        teams,
        district_of,
    }
}

async fn all_assignments(app: &TestApp, token: &str, plan: &str) -> Vec<Value> {
    let mut out = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            Some(c) => format!("/api/v1/plans/{plan}/assignments?limit=500&cursor={c}"),
            None => format!("/api/v1/plans/{plan}/assignments?limit=500"),
        };
        let (s, page) = app.get(&path, token).await;
        assert_eq!(s, StatusCode::OK, "{page}");
        out.extend(page["items"].as_array().unwrap().iter().cloned());
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_string()),
            None => return out,
        }
    }
}

async fn new_plan(w: &World, seed: Option<&str>) -> String {
    let mut body = json!({"name": "Kế hoạch 2016", "year": 2016, "org_unit_code": "37",
        "shares": [{"level": "province", "percent": 10}, {"level": "district", "percent": 40}],
        "stratify_by": ["business_type"], "risk_weighting": false});
    if let Some(s) = seed {
        body["seed"] = json!(s);
    }
    let (s, p) = w.app.post("/api/v1/plans", &w.admin, body).await;
    assert_eq!(s, StatusCode::CREATED, "{p}");
    assert_eq!(p["status"], "draft");
    p["id"].as_str().unwrap().to_string()
}

/// [`new_plan`] with [`SEED`], drawn.
async fn drawn_plan(w: &World) -> String {
    let plan = new_plan(w, Some(SEED)).await;
    let (s, d) = w
        .app
        .post(&format!("/api/v1/plans/{plan}/draw"), &w.admin, json!({}))
        .await;
    assert_eq!(s, StatusCode::OK, "{d}");
    plan
}

/// Checks quotas against the rule, computed here from the registry. After a
/// top-up a team may end a little above its quota (nothing is ever taken
/// back, "at or above target"), at most one per stratum of its jurisdiction.
fn check_quotas(w: &World, active: &HashSet<String>, assigned: &[Value], exact: bool) {
    let mut per_district: HashMap<&str, u64> = HashMap::new();
    for id in active {
        *per_district.entry(w.district_of[id].as_str()).or_default() += 1;
    }
    let open: Vec<&Value> = assigned
        .iter()
        .filter(|a| a["status"] != "cancelled")
        .collect();
    let mut seen = HashSet::new();
    for a in &open {
        assert!(
            seen.insert(a["establishment"]["id"].as_str().unwrap()),
            "establishment assigned twice"
        );
    }
    let count_team = |team: &str| open.iter().filter(|a| a["team_id"] == team).count() as u64;
    let check = |got: u64, quota: u64, what: &str| {
        if exact {
            assert_eq!(got, quota, "{what}");
        } else {
            // Bounded: at most one extra per business-type stratum and cell.
            assert!(
                got >= quota && got <= quota + 4 * 8,
                "{what}: {got} vs quota {quota}"
            );
        }
    };
    check(
        count_team(&w.teams["37"]),
        ceil_pct(10, active.len() as u64),
        "province quota",
    );
    for (d, n) in &per_district {
        check(
            count_team(&w.teams[*d]),
            ceil_pct(40, *n),
            &format!("district {d} quota"),
        );
        // The province team visits every district in proportion.
        let prov_here = open
            .iter()
            .filter(|a| {
                a["team_id"] == w.teams["37"].as_str()
                    && w.district_of[a["establishment"]["id"].as_str().unwrap()] == *d
            })
            .count() as f64;
        let share = ceil_pct(10, active.len() as u64) as f64 * *n as f64 / active.len() as f64;
        assert!(
            prov_here > share - 1.0 - 1e-9,
            "province share of {d}: {prov_here} vs {share}"
        );
        if exact {
            assert!(
                prov_here < share + 1.0 + 1e-9,
                "province share of {d}: {prov_here} vs {share}"
            );
        }
    }
}

#[actix_web::test]
async fn draw_meets_quotas_verifies_and_is_reproducible() {
    let w = world(300).await;
    let plan = new_plan(&w, Some(SEED)).await;
    let (s, d) = w
        .app
        .post(&format!("/api/v1/plans/{plan}/draw"), &w.admin, json!({}))
        .await;
    assert_eq!(s, StatusCode::OK, "{d}");
    assert_eq!(d["seed"], SEED);
    assert_eq!(d["input_digest"].as_str().unwrap().len(), 64);
    let active: HashSet<String> = w.district_of.keys().cloned().collect();
    let assigned = all_assignments(&w.app, &w.admin, &plan).await;
    assert_eq!(d["assignments"].as_u64().unwrap() as usize, assigned.len());
    check_quotas(&w, &active, &assigned, true);
    for q in d["quotas"].as_array().unwrap() {
        assert_eq!(q["quota"], q["assigned"], "{q}");
    }
    let (s, v) = w
        .app
        .get(&format!("/api/v1/plans/{plan}/verify"), &w.admin)
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(v["matches"], true, "{v}");
    assert_eq!(v["input_digest"], d["input_digest"]);
    let (s, _) = w
        .app
        .post(&format!("/api/v1/plans/{plan}/draw"), &w.admin, json!({}))
        .await;
    assert_eq!(s, StatusCode::CONFLICT);
    let (_, p) = w.app.get(&format!("/api/v1/plans/{plan}"), &w.admin).await;
    assert_eq!(p["status"], "drawn");

    // Same seed, same registry: the same assignments.
    let plan2 = new_plan(&w, Some(SEED)).await;
    let (_, d2) = w
        .app
        .post(&format!("/api/v1/plans/{plan2}/draw"), &w.admin, json!({}))
        .await;
    assert_eq!(d2["input_digest"], d["input_digest"]);
    let pairs = |v: &[Value]| -> HashSet<(String, String)> {
        v.iter()
            .map(|a| {
                (
                    a["establishment"]["id"].as_str().unwrap().to_string(),
                    a["team_id"].as_str().unwrap().to_string(),
                )
            })
            .collect()
    };
    let second = all_assignments(&w.app, &w.admin, &plan2).await;
    assert_eq!(pairs(&assigned), pairs(&second));
    // Another seed: another sample.
    let plan3 = new_plan(&w, None).await;
    let (_, d3) = w
        .app
        .post(&format!("/api/v1/plans/{plan3}/draw"), &w.admin, json!({}))
        .await;
    assert_ne!(d3["seed"], SEED);
    assert_ne!(
        pairs(&assigned),
        pairs(&all_assignments(&w.app, &w.admin, &plan3).await)
    );

    // Tampering with a stored assignment is caught by verify.
    {
        use diesel::RunQueryDsl;
        let mut conn = w.app.pool.get().unwrap();
        let other_team = &w.teams["372"];
        let victim = assigned
            .iter()
            .find(|a| a["team_id"] != other_team.as_str())
            .unwrap();
        diesel::sql_query(format!(
            "UPDATE assignments SET team_id = '{other_team}' WHERE id = '{}'",
            victim["id"].as_str().unwrap()
        ))
        .execute(&mut **conn)
        .unwrap();
    }
    let (_, v) = w
        .app
        .get(&format!("/api/v1/plans/{plan}/verify"), &w.admin)
        .await;
    assert_eq!(v["matches"], false);
}

#[actix_web::test]
async fn scope_of_plans_and_assignments() {
    let w = world(120).await;
    let plan = drawn_plan(&w).await;
    let insp372 = w
        .app
        .create_user("insp372", "inspector", Some("372"), Some(&w.teams["372"]));
    w.app
        .create_user("insp373", "inspector", Some("373"), Some(&w.teams["373"]));
    w.app.create_user("sup372", "supervisor", Some("372"), None);
    let i372 = w.app.login("insp372").await;
    let i373 = w.app.login("insp373").await;
    let s372 = w.app.login("sup372").await;
    let (s, mine) = w
        .app
        .get(
            &format!("/api/v1/teams/{}/assignments", w.teams["372"]),
            &i372,
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    let mine = mine["items"].as_array().unwrap().clone();
    assert!(!mine.is_empty());
    assert!(mine.iter().all(|a| a["team_id"] == w.teams["372"].as_str()));
    let one = mine[0]["id"].as_str().unwrap();
    let (s, _) = w
        .app
        .get(&format!("/api/v1/assignments/{one}"), &i373)
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, _) = w
        .app
        .get(
            &format!("/api/v1/teams/{}/assignments", w.teams["372"]),
            &i373,
        )
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, _) = w
        .app
        .get(&format!("/api/v1/assignments/{one}"), &s372)
        .await;
    assert_eq!(s, StatusCode::OK);
    // A supervisor of the district reads the team's fetch too (not its own
    // team: the visibility check runs); the provincial-team inspector of
    // another district does not.
    let (s, theirs) = w
        .app
        .get(
            &format!("/api/v1/teams/{}/assignments", w.teams["372"]),
            &s372,
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(theirs["items"].as_array().unwrap().len(), mine.len());
    // The team's fetch records the device's sync once (the coverage's list of
    // silent devices reads it); a disabled inspector's valid token is 401 on
    // the fetch and on posting minutes, which look the caller up themselves.
    let last_sync = |app: &TestApp| -> Option<String> {
        use diesel::RunQueryDsl;
        #[derive(diesel::QueryableByName)]
        struct Row {
            #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Text>)]
            t: Option<String>,
        }
        let mut conn = app.pool.get().unwrap();
        diesel::sql_query(
            "SELECT CAST(last_sync_at AS TEXT) AS t FROM users WHERE username = 'insp372'",
        )
        .get_result::<Row>(&mut **conn)
        .unwrap()
        .t
    };
    let first_sync = last_sync(&w.app).expect("the fetch recorded the sync");
    w.app
        .get(
            &format!("/api/v1/teams/{}/assignments", w.teams["372"]),
            &i372,
        )
        .await;
    assert_eq!(last_sync(&w.app).as_deref(), Some(first_sync.as_str()));
    // The plan's list shows an inspector only its team's work.
    let visible = all_assignments(&w.app, &i373, &plan).await;
    assert!(visible
        .iter()
        .all(|a| a["team_id"] == w.teams["373"].as_str()));
    // Inspectors and district supervisors cannot create or draw province plans.
    let (s, _) = w
        .app
        .post(&format!("/api/v1/plans/{plan}/top-up"), &i372, json!({}))
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, p) = w
        .app
        .post(
            "/api/v1/plans",
            &s372,
            json!({"name": "x", "year": 2016, "org_unit_code": "37"}),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(p["errors"][0]["field"], "org_unit_code");
    let (s, p) = w
        .app
        .post(
            "/api/v1/plans",
            &w.admin,
            json!({"name": "x", "year": 2016, "org_unit_code": "37", "seed": "abc",
        "shares": [{"level": "district", "percent": 140}]}),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    let fields: Vec<&str> = p["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, vec!["shares[0].percent", "seed"]);
    // Last, as it locks the inspector out: a disabled inspector's valid
    // token is 401 on the handlers that look the caller up themselves.
    {
        use diesel::RunQueryDsl;
        let mut conn = w.app.pool.get().unwrap();
        diesel::sql_query("UPDATE users SET is_active = FALSE WHERE username = 'insp372'")
            .execute(&mut **conn)
            .unwrap();
    }
    let (s, _) = w
        .app
        .get(
            &format!("/api/v1/teams/{}/assignments", w.teams["372"]),
            &i372,
        )
        .await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    let (s, _) = w
        .app
        .get(
            &format!("/api/v1/teams/{}/assignments?since=s0", w.teams["372"]),
            &i372,
        )
        .await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    let (s, _) = w
        .app
        .post(
            "/api/v1/inspections",
            &i372,
            json!({"id": uuid::Uuid::new_v4().to_string(), "assignment_id": mine[0]["id"],
                   "establishment_id": mine[0]["establishment"]["id"], "team_id": w.teams["372"],
                   "started_at": "2016-05-10T08:00:00+07:00", "finished_at": "2016-05-10T09:00:00+07:00",
                   "members_present": [insp372], "outcome": "no_violation", "violations": []}),
        )
        .await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
}

#[actix_web::test]
async fn top_up_restores_quotas_without_moving_anything() {
    let mut w = world(200).await;
    let plan = drawn_plan(&w).await;
    let before = all_assignments(&w.app, &w.admin, &plan).await;
    // 20 new establishments in one district, 5 closed (some of them assigned).
    let c = commune_district()
        .into_iter()
        .find(|(_, d)| d == "374")
        .unwrap()
        .0;
    for i in 0..20 {
        let e = w
            .app
            .establishment(&w.admin, &format!("NEW-{i}"), &c, TYPES[i % 4])
            .await;
        w.district_of
            .insert(e["id"].as_str().unwrap().to_string(), "374".into());
    }
    let closed: Vec<String> = before
        .iter()
        .take(3)
        .map(|a| a["establishment"]["id"].as_str().unwrap().to_string())
        .chain(
            w.district_of
                .keys()
                .filter(|id| {
                    !before
                        .iter()
                        .any(|a| a["establishment"]["id"] == id.as_str())
                })
                .take(2)
                .cloned(),
        )
        .collect();
    for id in &closed {
        let (s, _) = w
            .app
            .post(
                &format!("/api/v1/establishments/{id}/close"),
                &w.admin,
                json!({"closed_on": "2016-06-30", "reason": "đóng cửa"}),
            )
            .await;
        assert_eq!(s, StatusCode::OK);
    }
    let (s, t) = w
        .app
        .post(&format!("/api/v1/plans/{plan}/top-up"), &w.admin, json!({}))
        .await;
    assert_eq!(s, StatusCode::OK, "{t}");
    assert_eq!(t["round"], 2);
    let after = all_assignments(&w.app, &w.admin, &plan).await;
    // Nothing moved: every earlier assignment keeps its team and establishment.
    let by_id: HashMap<&str, &Value> = after
        .iter()
        .map(|a| (a["id"].as_str().unwrap(), a))
        .collect();
    for a in &before {
        let now = by_id[a["id"].as_str().unwrap()];
        assert_eq!(now["team_id"], a["team_id"]);
        assert_eq!(now["establishment"]["id"], a["establishment"]["id"]);
        let was_closed = closed
            .iter()
            .any(|c| a["establishment"]["id"] == c.as_str());
        assert_eq!(
            now["status"],
            if was_closed { "cancelled" } else { "pending" }
        );
    }
    assert_eq!(
        after.len() - before.len(),
        t["assignments"].as_u64().unwrap() as usize
    );
    let active: HashSet<String> = w
        .district_of
        .keys()
        .filter(|id| !closed.contains(id))
        .cloned()
        .collect();
    check_quotas(&w, &active, &after, false);
    let (_, v) = w
        .app
        .get(&format!("/api/v1/plans/{plan}/verify"), &w.admin)
        .await;
    assert_eq!(v["matches"], true, "{v}");
    assert_eq!(v["rounds"].as_array().unwrap().len(), 2);
}

#[actix_web::test]
async fn teams_sync_deltas_and_schedule() {
    let w = world(120).await;
    drawn_plan(&w).await;
    let team = &w.teams["372"];
    let leader = w.app.create_user("lead372", "inspector", Some("372"), None);
    let (s, _) = w
        .app
        .post(
            &format!("/api/v1/teams/{team}/members"),
            &w.admin,
            json!({"user_id": leader, "agency": "labour_social_affairs", "is_leader": true}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED);
    w.app
        .create_user("member372", "inspector", Some("372"), Some(team));
    let lead = w.app.login("lead372").await;
    let member = w.app.login("member372").await;
    let url = format!("/api/v1/teams/{team}/assignments");
    let (_, full) = w.app.get(&url, &lead).await;
    let items = full["items"].as_array().unwrap().clone();
    let token = full["sync_token"].as_str().unwrap().to_string();
    let (_, empty) = w.app.get(&format!("{url}?since={token}"), &lead).await;
    assert_eq!(empty["items"], json!([]));
    assert_eq!(empty["sync_token"].as_str().unwrap(), token);

    // The leader schedules a visit (If-Match); a stale version is 412; a member may not.
    let a = &items[0];
    let path = format!("/api/v1/assignments/{}", a["id"].as_str().unwrap());
    let patch = |tok: &str, ver: &str, day: &str| {
        w.app
            .client
            .patch(w.app.url(&path))
            .bearer_auth(tok)
            .header("If-Match", ver.to_string())
            .json(&json!({"scheduled_for": day}))
            .send()
    };
    assert_eq!(
        patch(&member, "1", "2016-10-02").await.unwrap().status(),
        StatusCode::FORBIDDEN
    );
    let r = patch(&lead, "1", "2016-10-02").await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["status"], "scheduled");
    assert_eq!(
        patch(&lead, "1", "2016-10-03").await.unwrap().status(),
        StatusCode::PRECONDITION_FAILED
    );
    assert_eq!(
        patch(&lead, "2", "2017-01-03").await.unwrap().status(),
        StatusCode::UNPROCESSABLE_ENTITY
    );

    // A closure cancels another assignment; the delta carries both changes.
    let b = &items[1];
    w.app
        .post(
            &format!(
                "/api/v1/establishments/{}/close",
                b["establishment"]["id"].as_str().unwrap()
            ),
            &w.admin,
            json!({"closed_on": "2016-05-01", "reason": "x"}),
        )
        .await;
    let (_, delta) = w.app.get(&format!("{url}?since={token}"), &lead).await;
    let changed: Vec<(&str, &str)> = delta["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| (i["id"].as_str().unwrap(), i["status"].as_str().unwrap()))
        .collect();
    assert_eq!(
        changed,
        vec![
            (a["id"].as_str().unwrap(), "scheduled"),
            (b["id"].as_str().unwrap(), "cancelled")
        ]
    );
    let token2 = delta["sync_token"].as_str().unwrap();
    let (_, none) = w.app.get(&format!("{url}?since={token2}"), &lead).await;
    assert_eq!(none["items"], json!([]));
    assert_eq!(none["sync_token"].as_str().unwrap(), token2);
    // The same delta a page at a time: the cursor continues it and the last
    // page ends at the same token.
    let (_, p1) = w
        .app
        .get(&format!("{url}?since={token}&limit=1"), &lead)
        .await;
    assert_eq!(p1["items"][0]["id"], a["id"]);
    let cursor = p1["next_cursor"].as_str().expect("a second page");
    let (_, p2) = w
        .app
        .get(
            &format!("{url}?since={token}&limit=1&cursor={cursor}"),
            &lead,
        )
        .await;
    assert_eq!(p2["items"][0]["id"], b["id"]);
    assert_eq!(p2["items"][0]["status"], "cancelled");
    assert_eq!(p2["next_cursor"], Value::Null);
    assert_eq!(p2["sync_token"].as_str().unwrap(), token2);
    // Another team's inspector learns nothing of this team's changes.
    w.app
        .create_user("member373", "inspector", Some("373"), Some(&w.teams["373"]));
    let other = w.app.login("member373").await;
    let (s, p) = w.app.get(&format!("{url}?since=s0"), &other).await;
    assert_eq!(s, StatusCode::NOT_FOUND, "{p}");
    assert!(p.get("items").is_none(), "{p}");
    let (s, p) = w.app.get(&format!("{url}?since=garbage"), &lead).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(p["errors"][0]["field"], "since");
    // A full fetch no longer lists the cancelled one.
    let (_, full2) = w.app.get(&url, &lead).await;
    assert_eq!(full2["items"].as_array().unwrap().len(), items.len() - 1);
}

/// A team's delta sync keeps its caller between requests while the auth
/// epoch stands (`AuthCache`). Whatever changes what a caller is read from,
/// through the API or by hand in SQL, changes the epoch, and the next sync
/// reads the caller afresh: moved to another team, its team moved to another
/// district, disabled. Writing the device's last sync does not.
#[actix_web::test]
async fn a_kept_caller_gives_way_to_any_change_about_callers() {
    let w = world(120).await;
    drawn_plan(&w).await;
    let (t372, t373) = (&w.teams["372"], &w.teams["373"]);
    w.app
        .create_user("keep372", "inspector", Some("372"), Some(t372));
    let tok = w.app.login("keep372").await;
    let all = |team: &str| format!("/api/v1/teams/{team}/assignments?since=s0&limit=500");
    let epoch = || {
        w.app
            .scalar("SELECT value AS n FROM auth_epoch WHERE id = 1")
    };
    let ids = |page: &Value| strings(&page["items"], "id");
    let synced = || {
        w.app.scalar(
            "SELECT COUNT(*) AS n FROM users WHERE username = 'keep372' AND last_sync_at IS NOT NULL",
        )
    };

    // The first sync reads the caller (and writes its last sync), the second
    // uses the kept one: the same answer, and the epoch did not move.
    assert_eq!(synced(), 0);
    let (s, first) = w.app.get(&all(t372), &tok).await;
    assert_eq!(s, StatusCode::OK, "{first}");
    assert!(!ids(&first).is_empty());
    assert_eq!(synced(), 1);
    let e0 = epoch();
    let (s, again) = w.app.get(&all(t372), &tok).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(ids(&again), ids(&first));
    assert_eq!(epoch(), e0, "last_sync_at moved the epoch");
    // Columns no caller is read from leave it alone too.
    w.app
        .exec("UPDATE users SET full_name = 'Nguyễn Văn A' WHERE username = 'keep372'");
    assert_eq!(epoch(), e0);

    // Moved to team 373 by hand: 404 on its old team, 373's work on the new.
    w.app.exec(&format!(
        "UPDATE users SET team_id = '{t373}' WHERE username = 'keep372'"
    ));
    assert!(epoch() > e0);
    let (s, _) = w.app.get(&all(t372), &tok).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, theirs) = w.app.get(&all(t373), &tok).await;
    assert_eq!(s, StatusCode::OK, "{theirs}");
    assert!(!ids(&theirs).is_empty());
    assert!(theirs["items"]
        .as_array()
        .unwrap()
        .iter()
        .all(|a| a["team_id"] == t373.as_str()));

    // Its team moved to district 374: 373's establishments are out of the
    // caller's area now, and the same sync shows none of them.
    let e1 = epoch();
    w.app.exec(&format!(
        "UPDATE teams SET org_unit_code = '374' WHERE id = '{t373}'"
    ));
    assert!(epoch() > e1);
    let (s, moved) = w.app.get(&all(t373), &tok).await;
    assert_eq!(s, StatusCode::OK, "{moved}");
    assert_eq!(moved["items"], json!([]));

    // A unit's path written (even unchanged) moves the epoch as well.
    let e2 = epoch();
    w.app
        .exec("UPDATE org_units SET path = path WHERE code = '374'");
    assert!(epoch() > e2);
    let (s, _) = w.app.get(&all(t373), &tok).await;
    assert_eq!(s, StatusCode::OK);

    // Disabled: 401 at once, with a valid token and a caller kept a moment ago.
    w.app
        .exec("UPDATE users SET is_active = FALSE WHERE username = 'keep372'");
    let (s, _) = w.app.get(&all(t373), &tok).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
}

/// A phone that asks for it (`Accept-Encoding: gzip`) gets its fetch
/// compressed, the same JSON in about a quarter of the bytes; one that asks
/// for no encoding the server has gets a problem+json 406.
#[actix_web::test]
async fn a_fetch_is_compressed_when_asked() {
    use std::io::Read;
    let w = world(120).await;
    drawn_plan(&w).await;
    let team = &w.teams["372"];
    w.app
        .create_user("gz372", "inspector", Some("372"), Some(team));
    let tok = w.app.login("gz372").await;
    let url = w
        .app
        .url(&format!("/api/v1/teams/{team}/assignments?limit=500"));
    let fetch = |encoding: &'static str| {
        w.app
            .client
            .get(&url)
            .bearer_auth(&tok)
            .header("Accept-Encoding", encoding)
            .send()
    };
    let plain = fetch("identity").await.unwrap();
    assert_eq!(plain.status(), StatusCode::OK);
    assert!(plain.headers().get("content-encoding").is_none());
    let plain = plain.bytes().await.unwrap();
    let gz = fetch("gzip").await.unwrap();
    assert_eq!(gz.status(), StatusCode::OK);
    assert_eq!(gz.headers()["content-encoding"], "gzip");
    let gz = gz.bytes().await.unwrap();
    assert!(
        gz.len() * 2 < plain.len(),
        "{} vs {}",
        gz.len(),
        plain.len()
    );
    let mut unzipped = Vec::new();
    flate2::read::GzDecoder::new(&gz[..])
        .read_to_end(&mut unzipped)
        .unwrap();
    let (plain, unzipped): (Value, Value) = (
        serde_json::from_slice(&plain).unwrap(),
        serde_json::from_slice(&unzipped).unwrap(),
    );
    assert!(!plain["items"].as_array().unwrap().is_empty());
    assert_eq!(unzipped, plain);

    let refused = fetch("identity;q=0, *;q=0").await.unwrap();
    assert_eq!(refused.status(), StatusCode::NOT_ACCEPTABLE);
    assert_eq!(
        refused.headers()["content-type"],
        "application/problem+json"
    );
}

#[actix_web::test]
async fn risk_weighting_puts_flagged_and_recent_violators_first() {
    let app = spawn_app().await;
    let admin = app.with_ninh_binh().await;
    let c = commune_of_372();
    let mut ids = Vec::new();
    for i in 0..40 {
        ids.push(
            app.establishment(&admin, &format!("R-{i}"), &c, "karaoke")
                .await["id"]
                .as_str()
                .unwrap()
                .to_string(),
        );
    }
    let (_, t) = app
        .post(
            "/api/v1/teams",
            &admin,
            json!({"name": "Đội 372", "level": "district", "org_unit_code": "372"}),
        )
        .await;
    let team = t["id"].as_str().unwrap().to_string();
    // Five flagged for re-inspection by a complaint.
    for id in &ids[..5] {
        let r = app
            .client
            .patch(app.url(&format!("/api/v1/establishments/{id}")))
            .bearer_auth(&admin)
            .json(&json!({"reinspect": true}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK);
    }
    // One with a violation found last month (a surprise inspection).
    let insp = app.create_user("lead", "inspector", Some("372"), Some(&team));
    let lead = app.login("lead").await;
    let when = (chrono::Utc::now() - chrono::Duration::days(30)).to_rfc3339();
    let (s, m) = app.post("/api/v1/inspections", &lead, json!({"id": uuid::Uuid::new_v4().to_string(), "establishment_id": ids[39], "team_id": team,
        "started_at": when, "finished_at": when, "members_present": [insp], "outcome": "violations_found",
        "violations": [{"code": "GUEST_REGISTER", "sanction": "warning"}]})).await;
    assert_eq!(s, StatusCode::CREATED, "{m}");
    let (_, p) = app
        .post(
            "/api/v1/plans",
            &admin,
            json!({"name": "r", "year": 2016, "org_unit_code": "372",
        "shares": [{"level": "district", "percent": 20}], "risk_weighting": true, "seed": SEED}),
        )
        .await;
    let plan = p["id"].as_str().unwrap();
    let (s, d) = app
        .post(&format!("/api/v1/plans/{plan}/draw"), &admin, json!({}))
        .await;
    assert_eq!(s, StatusCode::OK, "{d}");
    assert_eq!(d["assignments"], 8);
    let chosen: HashSet<String> = all_assignments(&app, &admin, plan)
        .await
        .iter()
        .map(|a| a["establishment"]["id"].as_str().unwrap().to_string())
        .collect();
    for id in ids[..5].iter().chain(std::iter::once(&ids[39])) {
        assert!(chosen.contains(id), "priority establishment {id} not drawn");
    }
    let (_, v) = app
        .get(&format!("/api/v1/plans/{plan}/verify"), &admin)
        .await;
    assert_eq!(v["matches"], true);
}

fn commune_of_372() -> String {
    crate::helpers::commune_of("372")
}

#[actix_web::test]
async fn coverage_matches_counts_made_here() {
    let w = world(150).await;
    let plan = drawn_plan(&w).await;
    let team = &w.teams["372"];
    let lead = w
        .app
        .create_user("lead", "inspector", Some("372"), Some(team));
    let tok = w.app.login("lead").await;
    let (_, mine) = w
        .app
        .get(&format!("/api/v1/teams/{team}/assignments"), &tok)
        .await;
    let mine = mine["items"].as_array().unwrap().clone();
    // Inspect three assignments, one with two violations.
    for (i, a) in mine.iter().take(3).enumerate() {
        let violations = if i == 0 {
            json!([{"code": "GUEST_REGISTER", "sanction": "warning"}, {"code": "STAFF_REGISTER", "sanction": "warning"}])
        } else {
            json!([])
        };
        let (s, b) = w.app.post("/api/v1/inspections", &tok, json!({"id": uuid::Uuid::new_v4().to_string(), "assignment_id": a["id"],
            "establishment_id": a["establishment"]["id"], "team_id": team, "started_at": "2016-03-01T08:00:00+07:00",
            "finished_at": "2016-03-01T09:00:00+07:00", "members_present": [lead], "outcome": if i == 0 { "violations_found" } else { "no_violation" },
            "violations": violations})).await;
        assert_eq!(s, StatusCode::CREATED, "{b}");
    }
    let eligible_372 = w.district_of.values().filter(|d| *d == "372").count() as i64;
    let assigned = all_assignments(&w.app, &w.admin, &plan).await;
    let assigned_372 = assigned
        .iter()
        .filter(|a| w.district_of[a["establishment"]["id"].as_str().unwrap()] == "372")
        .count() as i64;
    let (s, cov) = w
        .app
        .get(
            &format!("/api/v1/plans/{plan}/coverage?group_by=org_unit"),
            &w.admin,
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{cov}");
    assert_eq!(cov["target_percent"], 50.0);
    assert_eq!(cov["eligible"], 150);
    assert_eq!(cov["assigned"], assigned.len());
    assert_eq!(cov["inspected"], 3);
    assert_eq!(cov["violations"], 2);
    assert_eq!(cov["inspected_percent"], 2.0);
    let g = cov["groups"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["key"] == "372")
        .unwrap();
    assert_eq!(g["eligible"], eligible_372);
    assert_eq!(g["assigned"], assigned_372);
    assert_eq!(g["inspected"], 3);
    assert_eq!(g["quota"], ceil_pct(50, eligible_372 as u64));
    assert_eq!(g["name"], "Huyện Nho Quan");
    let (_, by_team) = w
        .app
        .get(
            &format!("/api/v1/plans/{plan}/coverage?group_by=team"),
            &w.admin,
        )
        .await;
    let t = by_team["groups"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["key"] == team.as_str())
        .unwrap();
    assert_eq!(t["quota"], ceil_pct(40, eligible_372 as u64));
    assert_eq!(t["inspected"], 3);
    let (_, by_type) = w
        .app
        .get(
            &format!("/api/v1/plans/{plan}/coverage?group_by=business_type"),
            &w.admin,
        )
        .await;
    let sum: i64 = by_type["groups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["eligible"].as_i64().unwrap())
        .sum();
    assert_eq!(sum, 150);
    let (s, p) = w
        .app
        .get(
            &format!("/api/v1/plans/{plan}/coverage?group_by=moon"),
            &w.admin,
        )
        .await;
    assert_eq!(
        (s, p["errors"][0]["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("group_by"))
    );
}

#[actix_web::test]
async fn coverage_counts_assignments_of_establishments_moved_out() {
    let w = world(150).await;
    let (s, p) = w
        .app
        .post(
            "/api/v1/plans",
            &w.admin,
            json!({"name": "Kế hoạch 372", "year": 2016, "org_unit_code": "372",
                "shares": [{"level": "district", "percent": 50}], "seed": SEED}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{p}");
    let plan = p["id"].as_str().unwrap();
    let (s, d) = w
        .app
        .post(&format!("/api/v1/plans/{plan}/draw"), &w.admin, json!({}))
        .await;
    assert_eq!(s, StatusCode::OK, "{d}");
    let assigned = all_assignments(&w.app, &w.admin, plan).await;
    assert!(!assigned.is_empty());
    // A drawn establishment moves to another district after the draw: its
    // assignment stays the plan's, and coverage still counts it.
    let moved = assigned[0]["establishment"]["id"].as_str().unwrap();
    let r = w
        .app
        .client
        .patch(w.app.url(&format!("/api/v1/establishments/{moved}")))
        .bearer_auth(&w.admin)
        .json(&json!({"org_unit_code": crate::helpers::commune_of("373")}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let (s, cov) = w
        .app
        .get(&format!("/api/v1/plans/{plan}/coverage"), &w.admin)
        .await;
    assert_eq!(s, StatusCode::OK, "{cov}");
    assert_eq!(cov["assigned"], assigned.len());
    let (_, by_team) = w
        .app
        .get(
            &format!("/api/v1/plans/{plan}/coverage?group_by=team"),
            &w.admin,
        )
        .await;
    let t = by_team["groups"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["key"] == w.teams["372"].as_str())
        .unwrap();
    assert_eq!(t["assigned"], assigned.len());
}

/// The registry as the API lists it now: establishment id -> (commune, type).
async fn registry(w: &World) -> HashMap<String, (String, String)> {
    let mut out = HashMap::new();
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            Some(c) => format!("/api/v1/establishments?limit=500&cursor={c}"),
            None => "/api/v1/establishments?limit=500".into(),
        };
        let (_, page) = w.app.get(&path, &w.admin).await;
        for e in page["items"].as_array().unwrap() {
            out.insert(
                e["id"].as_str().unwrap().to_string(),
                (
                    e["org_unit_code"].as_str().unwrap().to_string(),
                    e["business_type"].as_str().unwrap().to_string(),
                ),
            );
        }
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_string()),
            None => return out,
        }
    }
}

/// A new inspector of the province team 37: (user id, access token).
async fn province_lead(w: &World) -> (String, String) {
    let id = w
        .app
        .create_user("lead37", "inspector", Some("37"), Some(&w.teams["37"]));
    (id, w.app.login("lead37").await)
}

/// Posts surprise minutes of `establishment` by the province team's leader
/// with `violations` warnings; returns (establishment, violations).
async fn inspect(
    w: &World,
    lead: &(String, String),
    establishment: &str,
    violations: usize,
) -> (String, i64) {
    let codes = ["GUEST_REGISTER", "STAFF_REGISTER", "LABOUR_CONTRACT"];
    let v: Vec<Value> = codes[..violations]
        .iter()
        .map(|c| json!({"code": c, "sanction": "warning"}))
        .collect();
    let (lead_id, token) = lead;
    let (s, b) = w.app.post("/api/v1/inspections", token, json!({"id": uuid::Uuid::new_v4().to_string(),
        "establishment_id": establishment, "team_id": w.teams["37"], "started_at": "2016-05-02T08:00:00+07:00",
        "finished_at": "2016-05-02T09:00:00+07:00", "members_present": [lead_id],
        "outcome": if violations > 0 { "violations_found" } else { "no_violation" }, "violations": v})).await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
    (establishment.to_string(), violations as i64)
}

/// Inspected establishments and violations per group, as counted here from
/// the minutes posted and where each establishment is now (`district_of`
/// maps communes to districts); groups with nothing inspected are left out.
fn expected_inspected(
    posted: &[(String, i64)],
    now: &HashMap<String, (String, String)>,
    district_of: &HashMap<String, String>,
    group_by: &str,
) -> HashMap<String, (i64, i64)> {
    let mut seen = HashSet::new();
    let mut out: HashMap<String, (i64, i64)> = HashMap::new();
    for (e, v) in posted {
        let (commune, btype) = &now[e];
        let key = match group_by {
            "business_type" => btype.clone(),
            _ => district_of[commune].clone(),
        };
        let g = out.entry(key).or_default();
        if seen.insert(e.clone()) {
            g.0 += 1;
        }
        g.1 += v;
    }
    out
}

/// What coverage answers, in the shape of [`expected_inspected`], and its
/// totals (inspected, violations).
async fn inspected_per_group(
    w: &World,
    plan: &str,
    group_by: &str,
) -> (HashMap<String, (i64, i64)>, (i64, i64)) {
    let (s, cov) = w
        .app
        .get(
            &format!("/api/v1/plans/{plan}/coverage?group_by={group_by}"),
            &w.admin,
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{cov}");
    let groups = cov["groups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| {
            let n = (
                g["inspected"].as_i64().unwrap(),
                g["violations"].as_i64().unwrap(),
            );
            (g["key"].as_str().unwrap().to_string(), n)
        })
        .filter(|(_, n)| *n != (0, 0))
        .collect();
    let totals = (
        cov["inspected"].as_i64().unwrap(),
        cov["violations"].as_i64().unwrap(),
    );
    (groups, totals)
}

/// Checks coverage by commune's district and by business type against the
/// counts made here.
async fn check_inspected(
    w: &World,
    plan: &str,
    posted: &[(String, i64)],
    district_of: &HashMap<String, String>,
) {
    let now = registry(w).await;
    let distinct = posted.iter().map(|(e, _)| e).collect::<HashSet<_>>().len() as i64;
    let violations: i64 = posted.iter().map(|(_, v)| v).sum();
    for group_by in ["org_unit", "business_type"] {
        let (groups, totals) = inspected_per_group(w, plan, group_by).await;
        assert_eq!(
            groups,
            expected_inspected(posted, &now, district_of, group_by),
            "{group_by}"
        );
        assert_eq!(totals, (distinct, violations), "{group_by}");
    }
}

#[actix_web::test]
async fn inspected_counts_follow_an_establishment_that_moves_or_changes_type() {
    // Arrange: minutes of three establishments of district 372, one of them
    // inspected twice.
    let w = world(150).await;
    let plan = new_plan(&w, Some(SEED)).await;
    let lead = province_lead(&w).await;
    let district_of: HashMap<String, String> = commune_district().into_iter().collect();
    let mut in_372: Vec<&String> = w
        .district_of
        .iter()
        .filter(|(_, d)| *d == "372")
        .map(|(e, _)| e)
        .collect();
    in_372.sort();
    let (moved, retyped, stays) = (in_372[0], in_372[1], in_372[2]);
    let mut posted = vec![
        inspect(&w, &lead, moved, 2).await,
        inspect(&w, &lead, moved, 1).await,
        inspect(&w, &lead, retyped, 1).await,
        inspect(&w, &lead, stays, 0).await,
    ];
    check_inspected(&w, &plan, &posted, &district_of).await;
    let before = registry(&w).await;
    let other_type = |e: &str| {
        TYPES
            .iter()
            .find(|t| **t != before[e].1)
            .unwrap()
            .to_string()
    };

    // Act: one establishment moves to district 373 and changes type, one
    // changes type only; then one more inspection of the moved one.
    for (e, body) in [
        (
            moved,
            json!({"org_unit_code": crate::helpers::commune_of("373"), "business_type": other_type(moved)}),
        ),
        (retyped, json!({"business_type": other_type(retyped)})),
    ] {
        let r = w
            .app
            .client
            .patch(w.app.url(&format!("/api/v1/establishments/{e}")))
            .bearer_auth(&w.admin)
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK);
    }
    posted.push(inspect(&w, &lead, moved, 3).await);

    // Assert: the counts follow the establishments, old minutes and new.
    let after = registry(&w).await;
    assert_eq!(district_of[&after[moved].0], "373");
    assert_ne!(after[retyped].1, before[retyped].1);
    check_inspected(&w, &plan, &posted, &district_of).await;
}

#[actix_web::test]
async fn inspected_counts_move_with_a_reparented_commune() {
    // Arrange: minutes of every establishment of one commune of district
    // 372, and of one elsewhere in 372.
    let w = world(150).await;
    let plan = new_plan(&w, Some(SEED)).await;
    let lead = province_lead(&w).await;
    let mut district_of: HashMap<String, String> = commune_district().into_iter().collect();
    let now = registry(&w).await;
    let mut in_372: Vec<(&String, &String)> = now
        .iter()
        .filter(|(_, (c, _))| district_of[c] == "372")
        .map(|(e, (c, _))| (c, e))
        .collect();
    in_372.sort();
    let commune = in_372[0].0.clone();
    let mut posted = Vec::new();
    for (i, (c, e)) in in_372.iter().enumerate() {
        if **c == commune {
            posted.push(inspect(&w, &lead, e, 1 + i % 2).await);
        }
    }
    let elsewhere = in_372.iter().find(|(c, _)| **c != commune).unwrap().1;
    posted.push(inspect(&w, &lead, elsewhere, 1).await);
    check_inspected(&w, &plan, &posted, &district_of).await;

    // Act: the commune is moved from district 372 to 373 by an import.
    let name = NINH_BINH
        .lines()
        .find(|l| l.starts_with(&format!("{commune},")))
        .unwrap()
        .split(',')
        .nth(1)
        .unwrap();
    let (s, r) = w
        .app
        .post_csv(
            "/api/v1/org-units/import",
            &w.admin,
            &format!("code,name,level,parent_code\n{commune},{name},commune,373\n"),
        )
        .await;
    assert_eq!((s, r["updated"].as_u64()), (StatusCode::OK, Some(1)), "{r}");

    // Assert: its establishments' minutes count under 373 now.
    district_of.insert(commune.clone(), "373".into());
    check_inspected(&w, &plan, &posted, &district_of).await;
    let (groups, _) = inspected_per_group(&w, &plan, "org_unit").await;
    assert!(groups.contains_key("373"), "{groups:?}");
}

#[actix_web::test]
async fn reports_agree_in_json_csv_and_xlsx() {
    use calamine::{Data, Reader, Xlsx};
    let w = world(120).await;
    let plan = drawn_plan(&w).await;
    let team = &w.teams["373"];
    let lead = w
        .app
        .create_user("lead", "inspector", Some("373"), Some(team));
    let tok = w.app.login("lead").await;
    let (_, mine) = w
        .app
        .get(&format!("/api/v1/teams/{team}/assignments"), &tok)
        .await;
    let mine = mine["items"].as_array().unwrap().clone();
    // Q2: one with two fined violations, one refused entry; Q3: one clean.
    let post = |a: &Value, day: &str, outcome: &str, violations: Value| {
        w.app.post("/api/v1/inspections", &tok, json!({"id": uuid::Uuid::new_v4().to_string(), "assignment_id": a["id"],
            "establishment_id": a["establishment"]["id"], "team_id": team, "started_at": format!("{day}T08:00:00+07:00"),
            "finished_at": format!("{day}T09:00:00+07:00"), "members_present": [lead], "outcome": outcome, "violations": violations}))
    };
    let fines = json!([{"code": "LABOUR_CONTRACT", "sanction": "fine", "fine_vnd": 5000000}, {"code": "KARAOKE_LIGHT", "sanction": "fine", "fine_vnd": 12000000}]);
    assert_eq!(
        post(&mine[0], "2016-05-10", "violations_found", fines)
            .await
            .0,
        StatusCode::CREATED
    );
    assert_eq!(
        post(&mine[1], "2016-06-20", "refused_entry", json!([]))
            .await
            .0,
        StatusCode::CREATED
    );
    assert_eq!(
        post(&mine[2], "2016-08-01", "no_violation", json!([]))
            .await
            .0,
        StatusCode::CREATED
    );
    let url = format!("/api/v1/reports?plan_id={plan}&period=Q2");
    let (s, r) = w.app.get(&url, &w.admin).await;
    assert_eq!(s, StatusCode::OK, "{r}");
    assert_eq!(r["from"], "2016-04-01");
    assert_eq!(r["to"], "2016-06-30");
    assert_eq!(r["summary"]["inspected"], 2);
    let v = r["violations_by_code"].as_array().unwrap();
    assert_eq!(v.len(), 2);
    let fine_total: i64 = v.iter().map(|x| x["fines_vnd"].as_i64().unwrap()).sum();
    assert_eq!(fine_total, 17_000_000);
    assert_eq!(r["closed_or_refused"].as_array().unwrap().len(), 1);
    assert_eq!(r["closed_or_refused"][0]["outcome"], "refused_entry");
    let g373 = r["coverage_by_org_unit"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["key"] == "373")
        .unwrap()
        .clone();
    assert_eq!(g373["inspected"], 2);
    let (_, year) = w
        .app
        .get(
            &format!("/api/v1/reports?plan_id={plan}&period=year"),
            &w.admin,
        )
        .await;
    assert_eq!(year["summary"]["inspected"], 3);

    // CSV parses back with the same numbers.
    let (s, csv_bytes) = w.app.get_as(&url, &w.admin, "text/csv").await;
    assert_eq!(s, StatusCode::OK);
    let csv_text = String::from_utf8(csv_bytes).unwrap();
    let mut rdr = csv::ReaderBuilder::new()
        .flexible(true)
        .has_headers(false)
        .from_reader(csv_text.as_bytes());
    let rows: Vec<csv::StringRecord> = rdr.records().map(|r| r.unwrap()).collect();
    let unit_row = rows
        .iter()
        .find(|r| &r[0] == "Theo địa bàn" && &r[1] == "373")
        .unwrap();
    assert_eq!(&unit_row[6], "2");
    assert_eq!(&unit_row[3], g373["eligible"].to_string().as_str());
    let fines_csv: i64 = rows
        .iter()
        .filter(|r| &r[0] == "Vi phạm")
        .map(|r| r[5].parse::<i64>().unwrap())
        .sum();
    assert_eq!(fines_csv, 17_000_000);

    // XLSX opens, one sheet per table, typed cells, same numbers.
    let (s, bytes) = w
        .app
        .get_as(
            &url,
            &w.admin,
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    let mut wb: Xlsx<_> = Xlsx::new(std::io::Cursor::new(bytes)).unwrap();
    assert_eq!(
        wb.sheet_names(),
        vec![
            "Theo địa bàn",
            "Theo đội",
            "Theo loại hình",
            "Vi phạm",
            "Đóng cửa - từ chối"
        ]
    );
    let sheet = wb.worksheet_range("Theo địa bàn").unwrap();
    assert_eq!(sheet.get((0, 2)), Some(&Data::String("Số cơ sở".into())));
    let row = sheet
        .rows()
        .find(|r| r[0] == Data::String("373".into()))
        .unwrap();
    assert_eq!(row[5], Data::Float(2.0));
    assert_eq!(row[2], Data::Float(g373["eligible"].as_f64().unwrap()));
    let fines = wb.worksheet_range("Vi phạm").unwrap();
    let total: f64 = fines
        .rows()
        .skip(1)
        .map(|r| match r[4] {
            Data::Float(f) => f,
            _ => 0.0,
        })
        .sum();
    assert_eq!(total, 17_000_000.0);
    let (s, p) = w
        .app
        .get(
            &format!("/api/v1/reports?plan_id={plan}&period=Q5"),
            &w.admin,
        )
        .await;
    assert_eq!(
        (s, p["errors"][0]["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("period"))
    );
}
