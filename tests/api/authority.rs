//! Acting on a team's work needs authority over the team: a supervisor
//! reads the province team's work done inside its district (its area), but
//! may not reschedule or review it (403); it still acts on its district
//! team's work, and the admin on every team's.

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::{commune_of, Expect, TestApp, User};

/// The province's team and one per district, ten establishments in 372, a
/// drawn 2016 province plan (10 % province, 40 % districts), so both the
/// province team and team 372 have assignments in 372, and an inspector of
/// each team; `sup372` supervises district 372.
struct Work {
    app: TestApp,
    admin: String,
    sup372: String,
    insp37: User,
    insp372: User,
    /// An establishment of 372 assigned to no team.
    free: String,
    /// One assignment of the province team and one of team 372.
    a37: Value,
    a372: Value,
}

impl std::ops::Deref for Work {
    type Target = TestApp;
    fn deref(&self) -> &TestApp {
        &self.app
    }
}

async fn work() -> Work {
    let (app, admin) = TestApp::init().with_teams().with_admin().await;
    let c = commune_of("372");
    let mut ids = Vec::new();
    for i in 0..10 {
        let e = app
            .establishment(&admin, &format!("W-{i}"), &c, "karaoke")
            .await;
        ids.push(e["id"].as_str().unwrap().to_string());
    }
    let plan = app
        .create_plan(&admin, json!({"name": "2016", "year": 2016, "org_unit_code": "37",
            "shares": [{"level": "province", "percent": 10}, {"level": "district", "percent": 40}]}))
        .await["id"]
        .as_str()
        .unwrap()
        .to_string();
    app.draw(&admin, &plan).await;
    let all = app
        .all_pages(
            &format!("/api/v1/plans/{plan}/assignments?limit=500"),
            &admin,
        )
        .await;
    let of = |team: &str| {
        all.iter()
            .find(|a| a["team_id"] == app.teams[team].as_str())
            .unwrap_or_else(|| panic!("team {team} has an assignment"))
            .clone()
    };
    let (a37, a372) = (of("37"), of("372"));
    let free = ids
        .iter()
        .find(|e| !all.iter().any(|a| a["establishment"]["id"] == e.as_str()))
        .unwrap()
        .clone();
    let insp37 = app.inspector("insp37", "37").await;
    let insp372 = app.inspector("insp372", "372").await;
    let sup372 = app.supervisor("sup372", "372").await;
    Work {
        app,
        admin,
        sup372,
        insp37,
        insp372,
        free,
        a37,
        a372,
    }
}

impl Work {
    /// `who` schedules the visit of `assignment` on 2 October 2016 at its
    /// current version; the status and body.
    async fn schedule(&self, who: &str, assignment: &Value) -> (StatusCode, Value) {
        let path = format!("/api/v1/assignments/{}", assignment["id"].as_str().unwrap());
        let resp = self
            .client
            .patch(self.url(&path))
            .bearer_auth(who)
            .header("If-Match", assignment["version"].to_string())
            .json(&json!({"scheduled_for": "2016-10-02"}))
            .send()
            .await
            .unwrap();
        let status = resp.status();
        (status, resp.json().await.unwrap_or(Value::Null))
    }

    /// Surprise minutes of the free establishment by `who` of the team of
    /// `team` (201); their id.
    async fn minutes(&self, who: &User, team: &str) -> String {
        let id = uuid::Uuid::new_v4().to_string();
        self.post_created(
            "/api/v1/inspections",
            &who.token,
            json!({"id": id,
            "establishment_id": self.free, "team_id": self.teams[team],
            "started_at": "2016-05-02T08:00:00+07:00", "finished_at": "2016-05-02T09:00:00+07:00",
            "members_present": [who.id], "outcome": "no_violation", "violations": []}),
        )
        .await;
        id
    }

    /// `who` returns minutes `id`; the status and body.
    async fn review(&self, who: &str, id: &str) -> (StatusCode, Value) {
        self.post(
            &format!("/api/v1/inspections/{id}/review"),
            who,
            json!({"decision": "returned", "comment": "Thiếu chữ ký"}),
        )
        .await
    }
}

/// The province team's assignment in 372 is visible to 372's supervisor,
/// but rescheduling it is 403 and changes nothing.
#[actix_web::test]
async fn a_district_supervisor_cannot_reschedule_the_province_teams_work() {
    let w = work().await;
    let path = format!("/api/v1/assignments/{}", w.a37["id"].as_str().unwrap());
    w.get(&path, &w.sup372).await.expect(StatusCode::OK);
    w.schedule(&w.sup372, &w.a37)
        .await
        .expect(StatusCode::FORBIDDEN);
    let after = w.get(&path, &w.admin).await.expect(StatusCode::OK);
    assert_eq!(after["scheduled_for"], Value::Null);
    assert_eq!(after["version"], w.a37["version"]);
}

#[actix_web::test]
async fn a_district_supervisor_reschedules_its_district_teams_work() {
    let w = work().await;
    let a = w.schedule(&w.sup372, &w.a372).await.expect(StatusCode::OK);
    assert_eq!(a["scheduled_for"], "2016-10-02");
}

#[actix_web::test]
async fn an_admin_reschedules_the_province_teams_work() {
    let w = work().await;
    let a = w.schedule(&w.admin, &w.a37).await.expect(StatusCode::OK);
    assert_eq!(a["scheduled_for"], "2016-10-02");
}

/// The province team's minutes of a 372 establishment are readable by
/// 372's supervisor, but returning them is 403 and changes nothing.
#[actix_web::test]
async fn a_district_supervisor_cannot_review_the_province_teams_minutes() {
    let w = work().await;
    let id = w.minutes(&w.insp37, "37").await;
    let path = format!("/api/v1/inspections/{id}");
    w.get(&path, &w.sup372).await.expect(StatusCode::OK);
    w.review(&w.sup372, &id).await.expect(StatusCode::FORBIDDEN);
    let after = w.get(&path, &w.admin).await.expect(StatusCode::OK);
    assert_eq!(after["review"]["status"], "pending", "{after}");
}

#[actix_web::test]
async fn a_district_supervisor_reviews_its_district_teams_minutes() {
    let w = work().await;
    let id = w.minutes(&w.insp372, "372").await;
    let r = w.review(&w.sup372, &id).await.expect(StatusCode::OK);
    assert_eq!(r["review"]["status"], "returned");
}

#[actix_web::test]
async fn an_admin_reviews_the_province_teams_minutes() {
    let w = work().await;
    let id = w.minutes(&w.insp37, "37").await;
    let r = w.review(&w.admin, &id).await.expect(StatusCode::OK);
    assert_eq!(r["review"]["status"], "returned");
}
