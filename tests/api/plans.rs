//! Plans, the draw, verify, top-up, and team sync, checked against counts the
//! test computes itself from the rows it created.

use std::collections::{HashMap, HashSet};

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::{
    commune_of, communes, strings, Expect, TestApp, User, BUSINESS_TYPES, NINH_BINH,
};

const SEED: &str = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";

fn ceil_pct(pct: u64, n: u64) -> u64 {
    (pct * n).div_ceil(100)
}

/// The province's units and teams (its own and one per district), `n`
/// establishments dealt over every commune, and the admin who set it up.
struct World {
    app: TestApp,
    admin: String,
    /// establishment id -> district
    district_of: HashMap<String, String>,
}

impl std::ops::Deref for World {
    type Target = TestApp;
    fn deref(&self) -> &TestApp {
        &self.app
    }
}

async fn world(n: usize) -> World {
    let (app, admin) = TestApp::init()
        .with_establishments(n)
        .with_teams()
        .with_admin()
        .await;
    let district_by_commune: HashMap<String, String> = communes().into_iter().collect();
    let district_of = app
        .all_pages("/api/v1/establishments?limit=500", &admin)
        .await
        .iter()
        .map(|e| {
            (
                e["id"].as_str().unwrap().to_string(),
                district_by_commune[e["org_unit_code"].as_str().unwrap()].clone(),
            )
        })
        .collect();
    World {
        app,
        admin,
        district_of,
    }
}

async fn all_assignments(app: &TestApp, token: &str, plan: &str) -> Vec<Value> {
    app.all_pages(
        &format!("/api/v1/plans/{plan}/assignments?limit=500"),
        token,
    )
    .await
}

/// The path of the team fetch of the team for unit `code`.
fn team_fetch(w: &World, code: &str) -> String {
    format!("/api/v1/teams/{}/assignments", w.teams[code])
}

/// A draft province plan, 10 % province and 40 % districts, stratified by
/// business type; its id.
async fn new_plan(w: &World, seed: Option<&str>) -> String {
    let mut body = json!({"name": "Kế hoạch 2016", "year": 2016, "org_unit_code": "37",
        "shares": [{"level": "province", "percent": 10}, {"level": "district", "percent": 40}],
        "stratify_by": ["business_type"], "risk_weighting": false});
    if let Some(s) = seed {
        // Only a rehearsal takes a caller's seed.
        body["seed"] = json!(s);
        body["rehearsal"] = json!(true);
    }
    w.create_plan(&w.admin, body).await["id"]
        .as_str()
        .unwrap()
        .to_string()
}

/// [`new_plan`], drawn: its id and the draw's answer.
async fn draw_new(w: &World, seed: Option<&str>) -> (String, Value) {
    let plan = new_plan(w, seed).await;
    let d = w.draw(&w.admin, &plan).await;
    (plan, d)
}

/// [`new_plan`], a real plan with a server-random seed, drawn.
async fn drawn_plan(w: &World) -> String {
    draw_new(w, None).await.0
}

/// (establishment, team) of every assignment.
fn pairs(v: &[Value]) -> HashSet<(String, String)> {
    v.iter()
        .map(|a| {
            (
                a["establishment"]["id"].as_str().unwrap().to_string(),
                a["team_id"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

/// Checks quotas against the rule, computed here from the registry. After a
/// top-up a team may end above its quota only if the quota went down
/// (nothing is ever taken back, "at or above target").
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
            // At or above the quota; above only by assignments kept from
            // before the quota went down (none here: the registry grew).
            assert!(got >= quota, "{what}: {got} vs quota {quota}");
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
        // In a first draw, within 1 of its proportional share (rounded at
        // random). A top-up draws its need from every unassigned
        // establishment with equal chances (docs/draw.md §7), so a district
        // that grew is not brought back to its share: no bound then.
        let share = ceil_pct(10, active.len() as u64) as f64 * *n as f64 / active.len() as f64;
        if exact {
            assert!(
                (prov_here - share).abs() < 1.0 + 1e-9,
                "province share of {d}: {prov_here} vs {share}"
            );
        }
    }
}

#[actix_web::test]
async fn a_draw_meets_the_quotas_exactly() {
    let w = world(300).await;
    let (plan, d) = draw_new(&w, Some(SEED)).await;
    assert_eq!(d["seed"], SEED);
    assert_eq!(d["input_digest"].as_str().unwrap().len(), 64);
    let active: HashSet<String> = w.district_of.keys().cloned().collect();
    let assigned = all_assignments(&w, &w.admin, &plan).await;
    assert_eq!(d["assignments"].as_u64().unwrap() as usize, assigned.len());
    check_quotas(&w, &active, &assigned, true);
    for q in d["quotas"].as_array().unwrap() {
        assert_eq!(q["quota"], q["assigned"], "{q}");
    }
}

#[actix_web::test]
async fn a_drawn_plan_verifies_against_its_input_digest() {
    let w = world(300).await;
    let (plan, d) = draw_new(&w, None).await;
    let v = w
        .get_ok(&format!("/api/v1/plans/{plan}/verify"), &w.admin)
        .await;
    assert_eq!(v["matches"], true, "{v}");
    assert_eq!(v["input_digest"], d["input_digest"]);
}

#[actix_web::test]
async fn a_plan_is_drawn_only_once() {
    let w = world(300).await;
    let plan = drawn_plan(&w).await;
    let (s, _) = w
        .post(&format!("/api/v1/plans/{plan}/draw"), &w.admin, json!({}))
        .await;
    assert_eq!(s, StatusCode::CONFLICT);
    let p = w.get_ok(&format!("/api/v1/plans/{plan}"), &w.admin).await;
    assert_eq!(p["status"], "drawn");
}

#[actix_web::test]
async fn the_same_seed_on_the_same_registry_draws_the_same_sample() {
    let w = world(300).await;
    let (plan, d) = draw_new(&w, Some(SEED)).await;
    let (plan2, d2) = draw_new(&w, Some(SEED)).await;
    assert_eq!(d2["input_digest"], d["input_digest"]);
    assert_eq!(
        pairs(&all_assignments(&w, &w.admin, &plan).await),
        pairs(&all_assignments(&w, &w.admin, &plan2).await)
    );
}

#[actix_web::test]
async fn another_seed_draws_another_sample() {
    let w = world(300).await;
    let plan = draw_new(&w, Some(SEED)).await.0;
    let (plan3, d3) = draw_new(&w, None).await;
    assert_ne!(d3["seed"], SEED);
    assert_ne!(
        pairs(&all_assignments(&w, &w.admin, &plan).await),
        pairs(&all_assignments(&w, &w.admin, &plan3).await)
    );
}

#[actix_web::test]
async fn verify_catches_a_tampered_assignment() {
    let w = world(300).await;
    let plan = drawn_plan(&w).await;
    let assigned = all_assignments(&w, &w.admin, &plan).await;
    let other_team = &w.teams["372"];
    let victim = assigned
        .iter()
        .find(|a| a["team_id"] != other_team.as_str())
        .unwrap();
    w.exec(&format!(
        "UPDATE assignments SET team_id = '{other_team}' WHERE id = '{}'",
        victim["id"].as_str().unwrap()
    ));
    let v = w
        .get_ok(&format!("/api/v1/plans/{plan}/verify"), &w.admin)
        .await;
    assert_eq!(v["matches"], false);
}

/// A drawn plan on 120 establishments.
async fn drawn_world() -> (World, String) {
    let w = world(120).await;
    let plan = drawn_plan(&w).await;
    (w, plan)
}

#[actix_web::test]
async fn a_team_fetch_lists_the_teams_own_assignments() {
    let (w, _) = drawn_world().await;
    let i372 = w.inspector("insp372", "372").await.token;
    let mine = w.get_ok(&team_fetch(&w, "372"), &i372).await;
    let mine = mine["items"].as_array().unwrap();
    assert!(!mine.is_empty());
    assert!(mine.iter().all(|a| a["team_id"] == w.teams["372"].as_str()));
}

#[actix_web::test]
async fn another_districts_inspector_gets_404_for_the_teams_work() {
    let (w, _) = drawn_world().await;
    let i372 = w.inspector("insp372", "372").await.token;
    let i373 = w.inspector("insp373", "373").await.token;
    let mine = w.get_ok(&team_fetch(&w, "372"), &i372).await;
    let one = mine["items"][0]["id"].as_str().unwrap();
    let (s, _) = w.get(&format!("/api/v1/assignments/{one}"), &i373).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, _) = w.get(&team_fetch(&w, "372"), &i373).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
}

/// A supervisor of the district reads the team's fetch too (not its own
/// team: the visibility check runs).
#[actix_web::test]
async fn a_district_supervisor_reads_the_teams_fetch_and_assignments() {
    let (w, _) = drawn_world().await;
    let i372 = w.inspector("insp372", "372").await.token;
    let s372 = w.supervisor("sup372", "372").await;
    let mine = w.get_ok(&team_fetch(&w, "372"), &i372).await;
    let one = mine["items"][0]["id"].as_str().unwrap();
    let (s, _) = w.get(&format!("/api/v1/assignments/{one}"), &s372).await;
    assert_eq!(s, StatusCode::OK);
    let theirs = w.get_ok(&team_fetch(&w, "372"), &s372).await;
    assert_eq!(
        theirs["items"].as_array().unwrap().len(),
        mine["items"].as_array().unwrap().len()
    );
}

/// The team's fetch records the device's sync once (the coverage's list of
/// silent devices reads it).
#[actix_web::test]
async fn a_team_fetch_records_the_devices_sync_once() {
    let (w, _) = drawn_world().await;
    let i372 = w.inspector("insp372", "372").await.token;
    let last_sync =
        || w.text("SELECT CAST(last_sync_at AS TEXT) AS t FROM users WHERE username = 'insp372'");
    w.get_ok(&team_fetch(&w, "372"), &i372).await;
    let first_sync = last_sync().expect("the fetch recorded the sync");
    w.get_ok(&team_fetch(&w, "372"), &i372).await;
    assert_eq!(last_sync().as_deref(), Some(first_sync.as_str()));
}

#[actix_web::test]
async fn the_plans_list_shows_an_inspector_only_its_teams_work() {
    let (w, plan) = drawn_world().await;
    let i373 = w.inspector("insp373", "373").await.token;
    let visible = all_assignments(&w, &i373, &plan).await;
    assert!(visible
        .iter()
        .all(|a| a["team_id"] == w.teams["373"].as_str()));
}

#[actix_web::test]
async fn an_inspector_cannot_top_up_a_plan() {
    let (w, plan) = drawn_world().await;
    let i372 = w.inspector("insp372", "372").await.token;
    let (s, _) = w
        .post(&format!("/api/v1/plans/{plan}/top-up"), &i372, json!({}))
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
}

#[actix_web::test]
async fn a_district_supervisor_cannot_plan_for_the_province() {
    let (w, _) = drawn_world().await;
    let s372 = w.supervisor("sup372", "372").await;
    let (s, p) = w
        .post(
            "/api/v1/plans",
            &s372,
            json!({"name": "x", "year": 2016, "org_unit_code": "37"}),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(p["errors"][0]["field"], "org_unit_code");
}

#[actix_web::test]
async fn plan_errors_name_their_fields() {
    let (app, admin) = TestApp::init().with_ninh_binh().with_admin().await;
    let (s, p) = app
        .post(
            "/api/v1/plans",
            &admin,
            json!({"name": "x", "year": 2016, "org_unit_code": "37", "seed": "abc",
        "shares": [{"level": "district", "percent": 140}]}),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        strings(&p["errors"], "field"),
        vec!["shares[0].percent", "seed"]
    );
}

/// A disabled inspector's valid token is 401 on the handlers that look the
/// caller up themselves: the team's fetch and sync, and posting minutes.
#[actix_web::test]
async fn a_disabled_inspectors_valid_token_is_401_on_fetch_sync_and_minutes() {
    let (w, _) = drawn_world().await;
    let insp372 = w.inspector("insp372", "372").await;
    let i372 = &insp372.token;
    let mine = w.get_ok(&team_fetch(&w, "372"), i372).await;
    let a = &mine["items"][0];
    w.exec("UPDATE users SET is_active = FALSE WHERE username = 'insp372'");
    let (s, _) = w.get(&team_fetch(&w, "372"), i372).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    let (s, _) = w
        .get(&format!("{}?since=s0", team_fetch(&w, "372")), i372)
        .await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    let (s, _) = w
        .post(
            "/api/v1/inspections",
            i372,
            json!({"id": uuid::Uuid::new_v4().to_string(), "assignment_id": a["id"],
                   "establishment_id": a["establishment"]["id"], "team_id": w.teams["372"],
                   "started_at": "2016-05-10T08:00:00+07:00", "finished_at": "2016-05-10T09:00:00+07:00",
                   "members_present": [insp372.id], "outcome": "no_violation", "violations": []}),
        )
        .await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
}

#[actix_web::test]
async fn top_up_restores_quotas_without_moving_anything() {
    let mut w = world(200).await;
    let plan = drawn_plan(&w).await;
    let before = all_assignments(&w, &w.admin, &plan).await;
    // 20 new establishments in one district, 5 closed (some of them assigned).
    let c = communes().into_iter().find(|(_, d)| d == "374").unwrap().0;
    for i in 0..20 {
        let e = w
            .establishment(&w.admin, &format!("NEW-{i}"), &c, BUSINESS_TYPES[i % 4])
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
        w.post_ok(
            &format!("/api/v1/establishments/{id}/close"),
            &w.admin,
            json!({"closed_on": "2016-06-30", "reason": "đóng cửa"}),
        )
        .await;
    }
    let t = w
        .post_ok(&format!("/api/v1/plans/{plan}/top-up"), &w.admin, json!({}))
        .await;
    assert_eq!(t["round"], 2);
    let after = all_assignments(&w, &w.admin, &plan).await;
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
    let v = w
        .get_ok(&format!("/api/v1/plans/{plan}/verify"), &w.admin)
        .await;
    assert_eq!(v["matches"], true, "{v}");
    assert_eq!(v["rounds"].as_array().unwrap().len(), 2);
}

/// Team 372 of a drawn plan, with a leader (`lead372`, made leader through
/// the API) and a member (`member372`), and the leader's first full fetch.
struct TeamSync {
    w: World,
    /// The team's fetch.
    url: String,
    lead: String,
    member: String,
    /// The items and sync token of the leader's first full fetch.
    items: Vec<Value>,
    token: String,
}

async fn sync() -> TeamSync {
    let (w, _) = drawn_world().await;
    let team = &w.teams["372"];
    let leader = w.create_user("lead372", "inspector", Some("372"), None);
    w.post_created(
        &format!("/api/v1/teams/{team}/members"),
        &w.admin,
        json!({"user_id": leader, "agency": "labour_social_affairs", "is_leader": true}),
    )
    .await;
    w.create_user("member372", "inspector", Some("372"), Some(team));
    let lead = w.login("lead372").await;
    let member = w.login("member372").await;
    let url = team_fetch(&w, "372");
    let full = w.get_ok(&url, &lead).await;
    let items = full["items"].as_array().unwrap().clone();
    let token = full["sync_token"].as_str().unwrap().to_string();
    TeamSync {
        w,
        url,
        lead,
        member,
        items,
        token,
    }
}

impl TeamSync {
    /// Sets `scheduled_for` of the first item, sending `If-Match: version`.
    async fn schedule(&self, token: &str, version: &str, day: &str) -> reqwest::Response {
        let path = format!(
            "/api/v1/assignments/{}",
            self.items[0]["id"].as_str().unwrap()
        );
        self.w
            .client
            .patch(self.w.url(&path))
            .bearer_auth(token)
            .header("If-Match", version.to_string())
            .json(&json!({"scheduled_for": day}))
            .send()
            .await
            .unwrap()
    }

    /// The leader schedules the first item and the second one's
    /// establishment closes, cancelling it.
    async fn schedule_one_and_cancel_another(&self) {
        assert_eq!(
            self.schedule(&self.lead, "1", "2016-10-02").await.status(),
            StatusCode::OK
        );
        self.w
            .post_ok(
                &format!(
                    "/api/v1/establishments/{}/close",
                    self.items[1]["establishment"]["id"].as_str().unwrap()
                ),
                &self.w.admin,
                json!({"closed_on": "2016-05-01", "reason": "x"}),
            )
            .await;
    }
}

#[actix_web::test]
async fn a_sync_is_empty_when_nothing_changed() {
    let s = sync().await;
    let empty =
        s.w.get_ok(&format!("{}?since={}", s.url, s.token), &s.lead)
            .await;
    assert_eq!(empty["items"], json!([]));
    assert_eq!(empty["sync_token"].as_str().unwrap(), s.token);
}

/// The leader schedules a visit (If-Match); a stale version is 412, a day
/// outside the plan's year 422; a member may not.
#[actix_web::test]
async fn only_the_leader_schedules_a_visit_at_the_current_version() {
    let s = sync().await;
    assert_eq!(
        s.schedule(&s.member, "1", "2016-10-02").await.status(),
        StatusCode::FORBIDDEN
    );
    let r = s.schedule(&s.lead, "1", "2016-10-02").await;
    assert_eq!(r.status(), StatusCode::OK);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["status"], "scheduled");
    assert_eq!(
        s.schedule(&s.lead, "1", "2016-10-03").await.status(),
        StatusCode::PRECONDITION_FAILED
    );
    assert_eq!(
        s.schedule(&s.lead, "2", "2017-01-03").await.status(),
        StatusCode::UNPROCESSABLE_ENTITY
    );
}

/// A schedule and a closure that cancels another assignment: the delta
/// carries both changes, and a sync from its token is empty.
#[actix_web::test]
async fn a_delta_carries_a_schedule_and_a_cancellation() {
    let s = sync().await;
    s.schedule_one_and_cancel_another().await;
    let (a, b) = (&s.items[0], &s.items[1]);
    let delta =
        s.w.get_ok(&format!("{}?since={}", s.url, s.token), &s.lead)
            .await;
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
    let none =
        s.w.get_ok(&format!("{}?since={token2}", s.url), &s.lead)
            .await;
    assert_eq!(none["items"], json!([]));
    assert_eq!(none["sync_token"].as_str().unwrap(), token2);
}

/// The same delta a page at a time: the cursor continues it and the last
/// page ends at the same token.
#[actix_web::test]
async fn a_delta_a_page_at_a_time_ends_at_the_same_token() {
    let s = sync().await;
    s.schedule_one_and_cancel_another().await;
    let (a, b) = (&s.items[0], &s.items[1]);
    let since = format!("{}?since={}", s.url, s.token);
    let delta = s.w.get_ok(&since, &s.lead).await;
    let token2 = delta["sync_token"].as_str().unwrap();
    let p1 = s.w.get_ok(&format!("{since}&limit=1"), &s.lead).await;
    assert_eq!(p1["items"][0]["id"], a["id"]);
    let cursor = p1["next_cursor"].as_str().expect("a second page");
    let p2 =
        s.w.get_ok(&format!("{since}&limit=1&cursor={cursor}"), &s.lead)
            .await;
    assert_eq!(p2["items"][0]["id"], b["id"]);
    assert_eq!(p2["items"][0]["status"], "cancelled");
    assert_eq!(p2["next_cursor"], Value::Null);
    assert_eq!(p2["sync_token"].as_str().unwrap(), token2);
}

/// Another team's inspector learns nothing of this team's changes.
#[actix_web::test]
async fn another_teams_inspector_gets_404_for_the_teams_sync() {
    let s = sync().await;
    let other = s.w.inspector("member373", "373").await.token;
    let (status, p) = s.w.get(&format!("{}?since=s0", s.url), &other).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{p}");
    assert!(p.get("items").is_none(), "{p}");
}

#[actix_web::test]
async fn a_malformed_sync_token_is_422() {
    let s = sync().await;
    let (status, p) = s.w.get(&format!("{}?since=garbage", s.url), &s.lead).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(p["errors"][0]["field"], "since");
}

#[actix_web::test]
async fn a_full_fetch_no_longer_lists_a_cancelled_assignment() {
    let s = sync().await;
    s.schedule_one_and_cancel_another().await;
    let full2 = s.w.get_ok(&s.url, &s.lead).await;
    assert_eq!(full2["items"].as_array().unwrap().len(), s.items.len() - 1);
}

/// A team's delta sync keeps its caller between requests while the auth
/// epoch stands (`AuthCache`). Whatever changes what a caller is read from,
/// through the API or by hand in SQL, changes the epoch, and the next sync
/// reads the caller afresh: moved to another team, its team moved to another
/// district, disabled. Writing the device's last sync does not.
#[actix_web::test]
async fn a_kept_caller_gives_way_to_any_change_about_callers() {
    let (w, _) = drawn_world().await;
    let (t372, t373) = (&w.teams["372"], &w.teams["373"]);
    let tok = w.inspector("keep372", "372").await.token;
    let all = |team: &str| format!("/api/v1/teams/{team}/assignments?since=s0&limit=500");
    let epoch = || w.scalar("SELECT value AS n FROM auth_epoch WHERE id = 1");
    let ids = |page: &Value| strings(&page["items"], "id");
    let synced = || {
        w.scalar(
            "SELECT COUNT(*) AS n FROM users WHERE username = 'keep372' AND last_sync_at IS NOT NULL",
        )
    };

    // The first sync reads the caller (and writes its last sync), the second
    // uses the kept one: the same answer, and the epoch did not move.
    assert_eq!(synced(), 0);
    let first = w.get_ok(&all(t372), &tok).await;
    assert!(!ids(&first).is_empty());
    assert_eq!(synced(), 1);
    let e0 = epoch();
    let again = w.get_ok(&all(t372), &tok).await;
    assert_eq!(ids(&again), ids(&first));
    assert_eq!(epoch(), e0, "last_sync_at moved the epoch");
    // Columns no caller is read from leave it alone too.
    w.exec("UPDATE users SET full_name = 'Nguyễn Văn A' WHERE username = 'keep372'");
    assert_eq!(epoch(), e0);

    // Moved to team 373 by hand: 404 on its old team, 373's work on the new.
    w.exec(&format!(
        "UPDATE users SET team_id = '{t373}' WHERE username = 'keep372'"
    ));
    assert!(epoch() > e0);
    let (s, _) = w.get(&all(t372), &tok).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let theirs = w.get_ok(&all(t373), &tok).await;
    assert!(!ids(&theirs).is_empty());
    assert!(theirs["items"]
        .as_array()
        .unwrap()
        .iter()
        .all(|a| a["team_id"] == t373.as_str()));

    // Its team moved to district 374: 373's establishments are out of the
    // caller's area now, and the same sync shows none of them.
    let e1 = epoch();
    w.exec(&format!(
        "UPDATE teams SET org_unit_code = '374' WHERE id = '{t373}'"
    ));
    assert!(epoch() > e1);
    let moved = w.get_ok(&all(t373), &tok).await;
    assert_eq!(moved["items"], json!([]));

    // A unit's path written (even unchanged) moves the epoch as well.
    let e2 = epoch();
    w.exec("UPDATE org_units SET path = path WHERE code = '374'");
    assert!(epoch() > e2);
    w.get_ok(&all(t373), &tok).await;

    // Disabled: 401 at once, with a valid token and a caller kept a moment ago.
    w.exec("UPDATE users SET is_active = FALSE WHERE username = 'keep372'");
    let (s, _) = w.get(&all(t373), &tok).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
}

/// Team 372's fetch of a drawn plan, asking for `encoding`.
async fn fetch_encoded(w: &World, token: &str, encoding: &str) -> reqwest::Response {
    w.client
        .get(w.url(&format!("{}?limit=500", team_fetch(w, "372"))))
        .bearer_auth(token)
        .header("Accept-Encoding", encoding)
        .send()
        .await
        .unwrap()
}

/// A phone that asks for it (`Accept-Encoding: gzip`) gets its fetch
/// compressed, the same JSON in about a quarter of the bytes.
#[actix_web::test]
async fn a_fetch_is_compressed_when_asked() {
    use std::io::Read;
    let (w, _) = drawn_world().await;
    let tok = w.inspector("gz372", "372").await.token;
    let plain = fetch_encoded(&w, &tok, "identity").await;
    assert_eq!(plain.status(), StatusCode::OK);
    assert!(plain.headers().get("content-encoding").is_none());
    let plain = plain.bytes().await.unwrap();
    let gz = fetch_encoded(&w, &tok, "gzip").await;
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
}

/// One that asks for no encoding the server has gets a problem+json 406.
#[actix_web::test]
async fn a_fetch_in_no_acceptable_encoding_is_406_problem() {
    let (w, _) = drawn_world().await;
    let tok = w.inspector("gz372", "372").await.token;
    let refused = fetch_encoded(&w, &tok, "identity;q=0, *;q=0").await;
    assert_eq!(refused.status(), StatusCode::NOT_ACCEPTABLE);
    assert_eq!(
        refused.headers()["content-type"],
        "application/problem+json"
    );
}

#[actix_web::test]
async fn risk_weighting_puts_flagged_and_recent_violators_first() {
    let (app, admin) = TestApp::init().with_team("372").with_admin().await;
    let team = &app.teams["372"];
    let c = commune_of("372");
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
    // Five flagged for re-inspection by a complaint.
    for id in &ids[..5] {
        app.patch_ok(
            &format!("/api/v1/establishments/{id}"),
            &admin,
            json!({"reinspect": true}),
        )
        .await;
    }
    // One with a violation found last month (a surprise inspection).
    let insp = app.inspector("lead", "372").await;
    let when = (chrono::Utc::now() - chrono::Duration::days(30)).to_rfc3339();
    app.post_created("/api/v1/inspections", &insp.token, json!({"id": uuid::Uuid::new_v4().to_string(), "establishment_id": ids[39], "team_id": team,
        "started_at": when, "finished_at": when, "members_present": [insp.id], "outcome": "violations_found",
        "violations": [{"code": "GUEST_REGISTER", "sanction": "warning"}]})).await;
    let p = app
        .create_plan(
            &admin,
            json!({"name": "r", "year": 2016, "org_unit_code": "372",
        "shares": [{"level": "district", "percent": 20}], "risk_weighting": true}),
        )
        .await;
    let plan = p["id"].as_str().unwrap();
    let d = app.draw(&admin, plan).await;
    assert_eq!(d["assignments"], 8);
    let chosen: HashSet<String> = all_assignments(&app, &admin, plan)
        .await
        .iter()
        .map(|a| a["establishment"]["id"].as_str().unwrap().to_string())
        .collect();
    for id in ids[..5].iter().chain(std::iter::once(&ids[39])) {
        assert!(chosen.contains(id), "priority establishment {id} not drawn");
    }
    let v = app
        .get_ok(&format!("/api/v1/plans/{plan}/verify"), &admin)
        .await;
    assert_eq!(v["matches"], true);
}

#[actix_web::test]
async fn coverage_matches_counts_made_here() {
    let w = world(150).await;
    let plan = drawn_plan(&w).await;
    let team = &w.teams["372"];
    let lead = w.inspector("lead", "372").await;
    let tok = &lead.token;
    let mine = w.get_ok(&team_fetch(&w, "372"), tok).await;
    // Inspect three assignments, one with two violations.
    for (i, a) in mine["items"].as_array().unwrap().iter().take(3).enumerate() {
        let violations = if i == 0 {
            json!([{"code": "GUEST_REGISTER", "sanction": "warning"}, {"code": "STAFF_REGISTER", "sanction": "warning"}])
        } else {
            json!([])
        };
        w.post_created("/api/v1/inspections", tok, json!({"id": uuid::Uuid::new_v4().to_string(), "assignment_id": a["id"],
            "establishment_id": a["establishment"]["id"], "team_id": team, "started_at": "2016-03-01T08:00:00+07:00",
            "finished_at": "2016-03-01T09:00:00+07:00", "members_present": [lead.id], "outcome": if i == 0 { "violations_found" } else { "no_violation" },
            "violations": violations})).await;
    }
    let eligible_372 = w.district_of.values().filter(|d| *d == "372").count() as i64;
    let assigned = all_assignments(&w, &w.admin, &plan).await;
    let assigned_372 = assigned
        .iter()
        .filter(|a| w.district_of[a["establishment"]["id"].as_str().unwrap()] == "372")
        .count() as i64;
    let cov = w
        .get_ok(
            &format!("/api/v1/plans/{plan}/coverage?group_by=org_unit"),
            &w.admin,
        )
        .await;
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
    let by_team = w
        .get_ok(
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
    let by_type = w
        .get_ok(
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
}

#[actix_web::test]
async fn coverage_group_by_is_validated() {
    let w = world(150).await;
    let plan = drawn_plan(&w).await;
    let (s, p) = w
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
    let p = w
        .create_plan(
            &w.admin,
            json!({"name": "Kế hoạch 372", "year": 2016, "org_unit_code": "372",
                "shares": [{"level": "district", "percent": 50}]}),
        )
        .await;
    let plan = p["id"].as_str().unwrap();
    w.draw(&w.admin, plan).await;
    let assigned = all_assignments(&w, &w.admin, plan).await;
    assert!(!assigned.is_empty());
    // A drawn establishment moves to another district after the draw: its
    // assignment stays the plan's, and coverage still counts it.
    let moved = assigned[0]["establishment"]["id"].as_str().unwrap();
    w.patch_ok(
        &format!("/api/v1/establishments/{moved}"),
        &w.admin,
        json!({"org_unit_code": commune_of("373")}),
    )
    .await;
    let cov = w
        .get_ok(&format!("/api/v1/plans/{plan}/coverage"), &w.admin)
        .await;
    assert_eq!(cov["assigned"], assigned.len());
    let by_team = w
        .get_ok(
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
    w.all_pages("/api/v1/establishments?limit=500", &w.admin)
        .await
        .iter()
        .map(|e| {
            (
                e["id"].as_str().unwrap().to_string(),
                (
                    e["org_unit_code"].as_str().unwrap().to_string(),
                    e["business_type"].as_str().unwrap().to_string(),
                ),
            )
        })
        .collect()
}

/// Posts surprise minutes of `establishment` by the province team's leader
/// with `violations` warnings; returns (establishment, violations).
async fn inspect(w: &World, lead: &User, establishment: &str, violations: usize) -> (String, i64) {
    let codes = ["GUEST_REGISTER", "STAFF_REGISTER", "LABOUR_CONTRACT"];
    let v: Vec<Value> = codes[..violations]
        .iter()
        .map(|c| json!({"code": c, "sanction": "warning"}))
        .collect();
    w.post_created("/api/v1/inspections", &lead.token, json!({"id": uuid::Uuid::new_v4().to_string(),
        "establishment_id": establishment, "team_id": w.teams["37"], "started_at": "2016-05-02T08:00:00+07:00",
        "finished_at": "2016-05-02T09:00:00+07:00", "members_present": [lead.id],
        "outcome": if violations > 0 { "violations_found" } else { "no_violation" }, "violations": v})).await;
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
    let cov = w
        .get_ok(
            &format!("/api/v1/plans/{plan}/coverage?group_by={group_by}"),
            &w.admin,
        )
        .await;
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
    let plan = new_plan(&w, None).await;
    let lead = w.inspector("lead37", "37").await;
    let district_of: HashMap<String, String> = communes().into_iter().collect();
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
        BUSINESS_TYPES
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
            json!({"org_unit_code": commune_of("373"), "business_type": other_type(moved)}),
        ),
        (retyped, json!({"business_type": other_type(retyped)})),
    ] {
        w.patch_ok(&format!("/api/v1/establishments/{e}"), &w.admin, body)
            .await;
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
    let plan = new_plan(&w, None).await;
    let lead = w.inspector("lead37", "37").await;
    let mut district_of: HashMap<String, String> = communes().into_iter().collect();
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
    let r = w
        .post_csv(
            "/api/v1/org-units/import",
            &w.admin,
            &format!("code,name,level,parent_code\n{commune},{name},commune,373\n"),
        )
        .await
        .expect(StatusCode::OK);
    assert_eq!(r["updated"].as_u64(), Some(1), "{r}");

    // Assert: its establishments' minutes count under 373 now.
    district_of.insert(commune.clone(), "373".into());
    check_inspected(&w, &plan, &posted, &district_of).await;
    let (groups, _) = inspected_per_group(&w, &plan, "org_unit").await;
    assert!(groups.contains_key("373"), "{groups:?}");
}

/// A drawn plan whose team 373 filed, in Q2, minutes with two fined
/// violations (5 and 12 million đồng) and minutes of a refused entry, and
/// in Q3 clean minutes; the Q2 report's query.
async fn reported() -> (World, String) {
    let (w, plan) = drawn_world().await;
    let team = &w.teams["373"];
    let lead = w.inspector("lead", "373").await;
    let tok = &lead.token;
    let mine = w
        .get_ok(&format!("/api/v1/teams/{team}/assignments"), tok)
        .await;
    let mine = mine["items"].as_array().unwrap();
    let fines = json!([{"code": "LABOUR_CONTRACT", "sanction": "fine", "fine_vnd": 5000000}, {"code": "KARAOKE_LIGHT", "sanction": "fine", "fine_vnd": 12000000}]);
    for (a, day, outcome, violations) in [
        (&mine[0], "2016-05-10", "violations_found", fines),
        (&mine[1], "2016-06-20", "refused_entry", json!([])),
        (&mine[2], "2016-08-01", "no_violation", json!([])),
    ] {
        w.post_created("/api/v1/inspections", tok, json!({"id": uuid::Uuid::new_v4().to_string(), "assignment_id": a["id"],
            "establishment_id": a["establishment"]["id"], "team_id": team, "started_at": format!("{day}T08:00:00+07:00"),
            "finished_at": format!("{day}T09:00:00+07:00"), "members_present": [lead.id], "outcome": outcome, "violations": violations}))
            .await;
    }
    let url = format!("/api/v1/reports?plan_id={plan}&period=Q2");
    (w, url)
}

/// District 373's row of a JSON report.
fn row_373(report: &Value) -> Value {
    report["coverage_by_org_unit"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["key"] == "373")
        .unwrap()
        .clone()
}

#[actix_web::test]
async fn a_report_counts_the_minutes_of_its_period() {
    let (w, url) = reported().await;
    let r = w.get_ok(&url, &w.admin).await;
    assert_eq!(r["from"], "2016-04-01");
    assert_eq!(r["to"], "2016-06-30");
    // The refused entry is a visit, not an inspection.
    assert_eq!(r["summary"]["inspected"], 1);
    let v = r["violations_by_code"].as_array().unwrap();
    assert_eq!(v.len(), 2);
    let fine_total: i64 = v.iter().map(|x| x["fines_vnd"].as_i64().unwrap()).sum();
    assert_eq!(fine_total, 17_000_000);
    assert_eq!(r["closed_or_refused"].as_array().unwrap().len(), 1);
    assert_eq!(r["closed_or_refused"][0]["outcome"], "refused_entry");
    assert_eq!(row_373(&r)["inspected"], 1);
    let year = w
        .get_ok(&url.replace("period=Q2", "period=year"), &w.admin)
        .await;
    assert_eq!(year["summary"]["inspected"], 2);
}

/// Coverage's inspected count, in all and in the group of district 373 (of
/// its team; of every business type), grouped by org unit, team and
/// business type.
async fn inspected_373(w: &World, plan: &str, team: &str) -> Vec<(i64, i64)> {
    let mut out = Vec::new();
    for group_by in ["org_unit", "team", "business_type"] {
        let c = w
            .get_ok(
                &format!("/api/v1/plans/{plan}/coverage?group_by={group_by}"),
                &w.admin,
            )
            .await;
        let key = match group_by {
            "org_unit" => "373",
            "team" => team,
            _ => "",
        };
        let group: i64 = c["groups"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|g| key.is_empty() || g["key"] == key)
            .map(|g| g["inspected"].as_i64().unwrap())
            .sum();
        out.push((c["inspected"].as_i64().unwrap(), group));
    }
    out
}

/// A refusal at the door, or an establishment not found, is a visit and not
/// an inspection: coverage (and so the console and the dashboard) counts
/// "inspected" as the reports do, and such minutes leave it where it was.
#[actix_web::test]
async fn a_refused_entry_does_not_raise_coverages_inspected_count() {
    // Arrange: team 373 inspected one establishment with violations and one
    // without, and was refused entry at a third (`reported`).
    let (w, url) = reported().await;
    let plan = url
        .split("plan_id=")
        .nth(1)
        .unwrap()
        .split('&')
        .next()
        .unwrap()
        .to_string();
    let team = w.teams["373"].clone();
    let before = inspected_373(&w, &plan, &team).await;
    assert_eq!(before, vec![(2, 2); 3], "the refused entry is not counted");
    let year = w
        .get_ok(&url.replace("period=Q2", "period=year"), &w.admin)
        .await;
    assert_eq!(
        year["summary"]["inspected"], 2,
        "coverage agrees with the report"
    );

    // Act: the team is refused entry at one more establishment and finds
    // another missing.
    let lead = w.inspector("lead2", "373").await;
    let mine = w
        .get_ok(&format!("/api/v1/teams/{team}/assignments"), &lead.token)
        .await;
    let open: Vec<&Value> = mine["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["status"] != "completed")
        .collect();
    for (a, outcome) in [(open[0], "refused_entry"), (open[1], "not_found")] {
        w.post_created("/api/v1/inspections", &lead.token, json!({"id": uuid::Uuid::new_v4().to_string(), "assignment_id": a["id"],
            "establishment_id": a["establishment"]["id"], "team_id": team, "started_at": "2016-09-01T08:00:00+07:00",
            "finished_at": "2016-09-01T09:00:00+07:00", "members_present": [lead.id], "outcome": outcome, "violations": []}))
            .await;
    }

    // Assert: the visits are there, the inspected counts are not raised.
    let year = w
        .get_ok(&url.replace("period=Q2", "period=year"), &w.admin)
        .await;
    let visits = |o: &str| {
        year["outcomes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|l| l["outcome"] == o)
            .unwrap()["visits"]["year_to_date"]
            .as_i64()
            .unwrap()
    };
    assert_eq!((visits("refused_entry"), visits("not_found")), (2, 1));
    assert_eq!(inspected_373(&w, &plan, &team).await, before);
}

/// The CSV report parses back with the JSON report's numbers.
#[actix_web::test]
async fn the_csv_report_agrees_with_the_json() {
    let (w, url) = reported().await;
    let g373 = row_373(&w.get_ok(&url, &w.admin).await);
    let (s, csv_bytes) = w.get_as(&url, &w.admin, "text/csv").await;
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
    assert_eq!(&unit_row[6], "1");
    assert_eq!(&unit_row[3], g373["eligible"].to_string().as_str());
    let fines_csv: i64 = rows
        .iter()
        .filter(|r| &r[0] == "Vi phạm")
        .map(|r| r[5].parse::<i64>().unwrap())
        .sum();
    assert_eq!(fines_csv, 17_000_000);
}

/// Report files are downloads with a name, never sniffed: CSV and XLSX
/// carry `Content-Disposition: attachment` and `nosniff`.
#[actix_web::test]
async fn report_files_are_named_downloads_never_sniffed() {
    let (w, url) = reported().await;
    for (accept, ext) in [
        ("text/csv", "csv"),
        (
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            "xlsx",
        ),
    ] {
        let resp = w
            .client
            .get(w.url(&url))
            .bearer_auth(&w.admin)
            .header("Accept", accept)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), StatusCode::OK, "{accept}");
        let h = resp.headers();
        assert_eq!(
            h.get("content-disposition").map(|v| v.to_str().unwrap()),
            Some(format!("attachment; filename=\"bao-cao-KH-2016-Q2.{ext}\"").as_str())
        );
        assert_eq!(
            h.get("x-content-type-options").map(|v| v.to_str().unwrap()),
            Some("nosniff"),
            "{accept}"
        );
    }
}

/// The XLSX report opens, one sheet per table, typed cells, the JSON
/// report's numbers.
#[actix_web::test]
async fn the_xlsx_report_agrees_with_the_json() {
    use calamine::{Data, Reader, Xlsx};
    let (w, url) = reported().await;
    let g373 = row_373(&w.get_ok(&url, &w.admin).await);
    let (s, bytes) = w
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
            "Tổng hợp",
            "Theo địa bàn",
            "Theo đội",
            "Theo loại hình",
            "Vi phạm",
            "Đóng cửa - từ chối",
            "Chỉ tiêu"
        ]
    );
    let sheet = wb.worksheet_range("Theo địa bàn").unwrap();
    assert_eq!(
        sheet.get((0, 2)),
        Some(&Data::String("Số cơ sở thuộc diện kiểm tra".into()))
    );
    let row = sheet
        .rows()
        .find(|r| r[0] == Data::String("373".into()))
        .unwrap();
    assert_eq!(row[6], Data::Float(1.0));
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
}

#[actix_web::test]
async fn a_report_period_is_validated() {
    let (w, plan) = drawn_world().await;
    let (s, p) = w
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
