//! Minutes from the field: idempotent posting, validation, scope, photos,
//! corrections, review, and the audit chain.

use reqwest::StatusCode;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use crate::helpers::{commune_of, strings, BatchAnswer, TestApp};

struct Field {
    app: TestApp,
    admin: String,
    sup: String,
    lead: String,
    lead_id: String,
    member_id: String,
    other: String,
    team: String,
    assignment: Value,
    surprise_target: String,
    outside: String,
}

impl std::ops::Deref for Field {
    type Target = TestApp;
    fn deref(&self) -> &TestApp {
        &self.app
    }
}

/// Units, teams 372 and 373 with inspectors, 10 establishments in 372 and
/// one in 373, a drawn plan.
async fn field() -> Field {
    let (app, admin) = TestApp::init()
        .with_team("372")
        .with_team("373")
        .with_admin()
        .await;
    let c = commune_of("372");
    let mut ids = Vec::new();
    for i in 0..10 {
        ids.push(
            app.establishment(&admin, &format!("F-{i}"), &c, "karaoke")
                .await["id"]
                .as_str()
                .unwrap()
                .to_string(),
        );
    }
    let outside = app
        .establishment(&admin, "F-373", &commune_of("373"), "bar")
        .await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let team = app.teams["372"].clone();
    let lead_id = app.create_user("lead", "inspector", Some("372"), None);
    app.post_created(
        &format!("/api/v1/teams/{team}/members"),
        &admin,
        json!({"user_id": lead_id, "agency": "labour_social_affairs", "is_leader": true}),
    )
    .await;
    let member_id = app.create_user("police", "inspector", Some("372"), Some(&team));
    app.create_user("other", "inspector", Some("373"), Some(&app.teams["373"]));
    let p = app.create_plan(&admin, json!({"name": "2016", "year": 2016, "org_unit_code": "37", "shares": [{"level": "district", "percent": 40}]})).await;
    app.draw(&admin, p["id"].as_str().unwrap()).await;
    let lead = app.login("lead").await;
    let mine = app
        .get_ok(&format!("/api/v1/teams/{team}/assignments"), &lead)
        .await;
    let assignment = mine["items"][0].clone();
    let assigned: Vec<&str> = mine["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["establishment"]["id"].as_str().unwrap())
        .collect();
    let surprise_target = ids
        .iter()
        .find(|i| !assigned.contains(&i.as_str()))
        .unwrap()
        .clone();
    let sup = app.supervisor("sup", "37").await;
    let other = app.login("other").await;
    Field {
        app,
        admin,
        sup,
        lead,
        lead_id,
        member_id,
        other,
        team,
        assignment,
        surprise_target,
        outside,
    }
}

fn minutes(f: &Field, id: &str) -> Value {
    json!({
        "id": id,
        "assignment_id": f.assignment["id"],
        "establishment_id": f.assignment["establishment"]["id"],
        "team_id": f.team,
        "started_at": "2016-07-01T09:00:00+07:00",
        "finished_at": "2016-07-01T10:15:00+07:00",
        "location": {"latitude": 20.2501, "longitude": 105.9701, "accuracy_m": 8.0},
        "members_present": [f.lead_id, f.member_id],
        "outcome": "violations_found",
        "notes": "Phòng 3 cửa có chốt trong",
        "checklist": {"licence": true, "guest_register": false},
        "violations": [
            {"code": "GUEST_REGISTER", "sanction": "warning"},
            {"code": "KARAOKE_DOOR", "description": "chốt cài trong", "sanction": "fine", "fine_vnd": 12000000}
        ]
    })
}

/// The minutes of [`minutes`] posted by the leader (201); their id, the
/// body posted and the answer.
async fn posted(f: &Field) -> (String, Value, Value) {
    let id = uuid::Uuid::new_v4().to_string();
    let body = minutes(f, &id);
    let first = f
        .post_created("/api/v1/inspections", &f.lead, body.clone())
        .await;
    (id, body, first)
}

#[actix_web::test]
async fn minutes_are_stored_once_and_an_identical_repeat_is_200() {
    let f = field().await;
    let (_id, body, first) = posted(&f).await;
    assert_eq!(first["version"], 1);
    assert_eq!(first["violations"].as_array().unwrap().len(), 2);
    assert_eq!(first["flags"]["far_from_establishment"], false);
    assert_eq!(first["review"]["status"], "pending");
    assert_eq!(first["started_at"], "2016-07-01T09:00:00+07:00");
    // The very same body: 200, still one record.
    let again = f.post_ok("/api/v1/inspections", &f.lead, body).await;
    assert_eq!(again["id"], first["id"]);
    assert_eq!(f.count("inspections"), 1);
    assert_eq!(f.count("violations"), 2);
}

#[actix_web::test]
async fn a_repeat_with_one_field_changed_is_409_and_stores_nothing() {
    let f = field().await;
    let (_id, body, _) = posted(&f).await;
    let mut changed = body;
    changed["notes"] = json!("khác");
    let (s, p) = f.post("/api/v1/inspections", &f.lead, changed).await;
    assert_eq!(s, StatusCode::CONFLICT, "{p}");
    assert_eq!(f.count("inspections"), 1);
}

#[actix_web::test]
async fn minutes_complete_their_assignment() {
    let f = field().await;
    posted(&f).await;
    let a = f
        .get_ok(
            &format!(
                "/api/v1/assignments/{}",
                f.assignment["id"].as_str().unwrap()
            ),
            &f.lead,
        )
        .await;
    assert_eq!(a["status"], "completed");
}

/// The inspector cannot review; the supervisor returns the minutes, with a
/// comment.
#[actix_web::test]
async fn a_supervisor_returns_minutes_with_a_comment() {
    let f = field().await;
    let (id, _, _) = posted(&f).await;
    let rv = format!("/api/v1/inspections/{id}/review");
    let (s, _) = f.post(&rv, &f.lead, json!({"decision": "accepted"})).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, p) = f.post(&rv, &f.sup, json!({"decision": "returned"})).await;
    assert_eq!(
        (s, p["errors"][0]["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("comment"))
    );
    let r = f
        .post_ok(
            &rv,
            &f.sup,
            json!({"decision": "returned", "comment": "Thiếu mức phạt cho vi phạm 1"}),
        )
        .await;
    assert_eq!(r["review"]["status"], "returned");
}

/// A correction of returned minutes is a new version, pending review
/// again; the original stays readable.
#[actix_web::test]
async fn a_correction_is_a_new_version_and_the_original_stays_readable() {
    let f = field().await;
    let (id, _, _) = posted(&f).await;
    f.post_ok(
        &format!("/api/v1/inspections/{id}/review"),
        &f.sup,
        json!({"decision": "returned", "comment": "Thiếu mức phạt cho vi phạm 1"}),
    )
    .await;
    let c = f.post_created(&format!("/api/v1/inspections/{id}/corrections"), &f.lead, json!({
        "reason": "bổ sung mức phạt",
        "violations": [
            {"code": "GUEST_REGISTER", "sanction": "fine", "fine_vnd": 800000},
            {"code": "KARAOKE_DOOR", "description": "chốt cài trong", "sanction": "fine", "fine_vnd": 12000000}
        ]})).await;
    assert_eq!(c["version"], 2);
    assert_eq!(c["review"]["status"], "pending");
    let v = f
        .get_ok(&format!("/api/v1/inspections/{id}/versions"), &f.sup)
        .await;
    let v = v["items"].as_array().unwrap();
    assert_eq!(v.len(), 2);
    assert_eq!(v[0]["violations"][0]["sanction"], "warning");
    assert_eq!(v[1]["violations"][0]["fine_vnd"], 800000);
    assert_eq!(v[1]["reason"], "bổ sung mức phạt");
    let now = f
        .get_ok(&format!("/api/v1/inspections/{id}"), &f.lead)
        .await;
    assert_eq!(now["version"], 2);
}

/// The audit chain holds, and an edit behind the service's back breaks it.
#[actix_web::test]
async fn the_audit_chain_breaks_where_it_is_edited_by_hand() {
    let f = field().await;
    posted(&f).await;
    assert!(f.audit_chain().is_ok());
    f.exec("UPDATE audit_log SET actor = 'mallory' WHERE seq = 3");
    assert_eq!(f.audit_chain(), Err(3));
}

#[actix_web::test]
async fn field_input_is_validated() {
    let f = field().await;
    let members = json!([f.lead_id]);
    let cases: Vec<(Value, &str)> = vec![
        (
            json!({"started_at": "2099-01-01T09:00:00+07:00"}),
            "started_at",
        ),
        (
            json!({"finished_at": "2016-07-01T08:00:00+07:00"}),
            "finished_at",
        ),
        (json!({"finished_at": "yesterday"}), "finished_at"),
        (json!({"violations": []}), "violations"),
        (json!({"outcome": "no_violation"}), "violations"),
        (json!({"outcome": "bribed"}), "outcome"),
        (
            json!({"members_present": [uuid::Uuid::new_v4().to_string()]}),
            "members_present[0]",
        ),
        (json!({"members_present": []}), "members_present"),
        (
            json!({"location": {"latitude": 120.0, "longitude": 105.0}}),
            "location.latitude",
        ),
        (
            json!({"violations": [{"code": "NO_SUCH", "sanction": "warning"}]}),
            "violations[0].code",
        ),
        (
            json!({"violations": [{"code": "KARAOKE_DOOR", "sanction": "fine", "fine_vnd": 1000}]}),
            "violations[0].fine_vnd",
        ),
        (
            json!({"violations": [{"code": "KARAOKE_DOOR", "sanction": "fine"}]}),
            "violations[0].fine_vnd",
        ),
        (json!({"mood": "tired"}), "mood"),
    ];
    for (patch, field) in cases {
        let mut body = minutes(&f, &uuid::Uuid::new_v4().to_string());
        body["members_present"] = members.clone();
        for (k, v) in patch.as_object().unwrap() {
            body[k] = v.clone();
        }
        let (s, p) = f.post("/api/v1/inspections", &f.lead, body).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{field}: {p}");
        assert!(
            p["errors"]
                .as_array()
                .unwrap()
                .iter()
                .any(|e| e["field"] == field),
            "{field}: {p}"
        );
    }
    assert_eq!(f.count("inspections"), 0);
}

/// Another team's inspector: 404 for this assignment.
#[actix_web::test]
async fn another_teams_inspector_cannot_post_for_the_assignment() {
    let f = field().await;
    let body = minutes(&f, &uuid::Uuid::new_v4().to_string());
    let (s, _) = f.post("/api/v1/inspections", &f.other, body).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
}

#[actix_web::test]
async fn a_supervisor_does_not_post_minutes() {
    let f = field().await;
    let body = minutes(&f, &uuid::Uuid::new_v4().to_string());
    let (s, _) = f.post("/api/v1/inspections", &f.sup, body).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
}

/// Another team's inspector neither reads the minutes nor sees them
/// listed; the supervisor does.
#[actix_web::test]
async fn minutes_are_read_inside_the_area_only() {
    let f = field().await;
    let (id, _, _) = posted(&f).await;
    let (s, _) = f.get(&format!("/api/v1/inspections/{id}"), &f.other).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let list = f.get_ok("/api/v1/inspections", &f.other).await;
    assert_eq!(list["items"], json!([]));
    let list = f
        .get_ok(&format!("/api/v1/inspections?team_id={}", f.team), &f.sup)
        .await;
    assert_eq!(list["items"].as_array().unwrap().len(), 1);
}

/// Surprise minutes (no assignment) of `establishment`, 3 km away from it
/// and with a clock 30 minutes ahead.
fn surprise(f: &Field, establishment: &str) -> Value {
    let ahead = (chrono::Utc::now() + chrono::Duration::minutes(30)).to_rfc3339();
    let mut body = minutes(f, &uuid::Uuid::new_v4().to_string());
    body["assignment_id"] = Value::Null;
    body["establishment_id"] = json!(establishment);
    body["finished_at"] = json!(ahead);
    body["location"] = json!({"latitude": 20.277, "longitude": 105.97});
    body
}

/// A surprise inspection inside the jurisdiction, 3 km away and with a
/// clock 30 minutes ahead: accepted, flagged.
#[actix_web::test]
async fn a_surprise_inspection_far_away_with_a_clock_ahead_is_flagged() {
    let f = field().await;
    let sur = f
        .post_created(
            "/api/v1/inspections",
            &f.lead,
            surprise(&f, &f.surprise_target),
        )
        .await;
    assert_eq!(sur["assignment_id"], Value::Null);
    assert_eq!(sur["flags"]["clock_skew"], true);
    assert_eq!(sur["flags"]["far_from_establishment"], true);
    assert!(sur["flags"]["distance_m"].as_f64().unwrap() > 2900.0);
}

#[actix_web::test]
async fn a_surprise_inspection_outside_the_area_is_404() {
    let f = field().await;
    let (s, _) = f
        .post("/api/v1/inspections", &f.lead, surprise(&f, &f.outside))
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
}

/// Days are Vietnam's (UTC+07:00): minutes finished at 06:00 on 1 April
/// there (23:00 on 31 March in UTC) belong to 1 April and to Q2, in the
/// list's `from`/`to`, in the report's periods and in its CSV; minutes
/// finished at 23:30 on 31 March there belong to 31 March and Q1.
#[actix_web::test]
async fn days_and_quarters_are_counted_in_vietnam_time() {
    let f = field().await;
    let mut posted = Vec::new();
    for (finished, outcome) in [
        ("2016-04-01T06:00:00+07:00", "refused_entry"),
        ("2016-03-31T23:30:00+07:00", "closed"),
    ] {
        let mut body = minutes(&f, &uuid::Uuid::new_v4().to_string());
        body["assignment_id"] = Value::Null;
        body["establishment_id"] = json!(f.surprise_target);
        body["started_at"] = json!("2016-03-31T20:00:00+07:00");
        body["finished_at"] = json!(finished);
        body["outcome"] = json!(outcome);
        body["violations"] = json!([]);
        let (s, m) = f.post("/api/v1/inspections", &f.lead, body).await;
        assert_eq!(s, StatusCode::CREATED, "{m}");
        posted.push(m["id"].as_str().unwrap().to_string());
    }
    let (april, march) = (&posted[0], &posted[1]);
    let plan = f.assignment["plan_id"].as_str().unwrap();
    let listed = |day: &str| format!("inspections?team_id={}&from={day}&to={day}", f.team);
    let report = |period: &str| format!("reports?plan_id={plan}&period={period}");
    for (query, field, key, expected) in [
        (listed("2016-04-01"), "items", "id", april.as_str()),
        (listed("2016-03-31"), "items", "id", march),
        (report("Q1"), "closed_or_refused", "outcome", "closed"),
        (
            report("Q2"),
            "closed_or_refused",
            "outcome",
            "refused_entry",
        ),
    ] {
        let (s, page) = f.get(&format!("/api/v1/{query}"), &f.sup).await;
        assert_eq!(s, StatusCode::OK, "{query}: {page}");
        assert_eq!(strings(&page[field], key), vec![expected], "{query}");
    }
    let (s, csv) = f
        .get_as(
            &format!("/api/v1/reports?plan_id={plan}&period=Q2"),
            &f.sup,
            "text/csv",
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    let csv = String::from_utf8(csv).unwrap();
    // The table of closed and refusing establishments dates its row by the
    // day in Vietnam.
    let rows: Vec<&str> = csv
        .lines()
        .filter(|l| l.starts_with("Đóng cửa - từ chối"))
        .collect();
    assert!(rows.iter().any(|l| l.contains(",2016-04-01,")), "{csv}");
    assert!(!rows.iter().any(|l| l.contains("2016-03-31")), "{csv}");
}

/// Six copies of the same minutes posted at once, for each of the team's
/// assignments: on PostgreSQL two writers take batches side by side, so
/// copies of one minutes land in both, and the one that loses must answer
/// the repeat, never "the assignment is completed".
#[actix_web::test]
async fn identical_posts_racing_store_one_record() {
    let f = field().await;
    let mine = f
        .get_ok(&format!("/api/v1/teams/{}/assignments", f.team), &f.lead)
        .await;
    let bodies: Vec<Value> = mine["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            let mut body = minutes(&f, &uuid::Uuid::new_v4().to_string());
            body["assignment_id"] = a["id"].clone();
            body["establishment_id"] = a["establishment"]["id"].clone();
            body
        })
        .collect();
    assert!(bodies.len() >= 2, "{mine}");
    // One race per assignment, one after another: each is a fresh chance
    // for a copy to be read between the other writer's check and commit.
    for body in &bodies {
        let posts = (0..6).map(|_| f.post("/api/v1/inspections", &f.lead, body.clone()));
        let copies = futures_util::future::join_all(posts).await;
        let created = copies
            .iter()
            .filter(|(s, _)| *s == StatusCode::CREATED)
            .count();
        let replayed = copies.iter().filter(|(s, _)| *s == StatusCode::OK).count();
        assert_eq!(
            (created, replayed),
            (1, 5),
            "{:?}",
            copies.iter().map(|r| r.1.to_string()).collect::<Vec<_>>()
        );
        assert!(copies.iter().all(|(_, b)| b["id"] == body["id"]));
    }
    assert_eq!(f.count("inspections"), bodies.len() as i64);
    assert_eq!(f.count("inspection_versions"), bodies.len() as i64);
}

/// A real photo: 64 × 48 pixels of a gradient, encoded as `format`.
fn photo(format: image::ImageFormat) -> Vec<u8> {
    let img = image::RgbImage::from_fn(64, 48, |x, y| {
        image::Rgb([(x * 4) as u8, (y * 5) as u8, ((x + y) * 2) as u8])
    });
    let mut out = std::io::Cursor::new(Vec::new());
    img.write_to(&mut out, format).unwrap();
    out.into_inner()
}

/// Minutes of the lead's team and an upload of `body` as `ctype` to them,
/// named by the body's hash: its status and answer.
async fn upload(f: &Field, ctype: &str, body: Vec<u8>) -> (String, String, StatusCode, Value) {
    let id = uuid::Uuid::new_v4().to_string();
    f.post_created("/api/v1/inspections", &f.lead, minutes(f, &id))
        .await;
    let sha = hex::encode(Sha256::digest(&body));
    let resp = f
        .client
        .put(f.url(&format!("/api/v1/inspections/{id}/attachments/{sha}")))
        .bearer_auth(&f.lead)
        .header("content-type", ctype)
        .body(body)
        .send()
        .await
        .unwrap();
    let status = resp.status();
    let answer = resp.json().await.unwrap_or(Value::Null);
    (id, sha, status, answer)
}

/// A PNG signature followed by HTML is no photo: 422 naming `body`, nothing
/// stored.
#[actix_web::test]
async fn a_png_signature_followed_by_html_is_refused() {
    let f = field().await;
    let mut polyglot = vec![0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A];
    polyglot
        .extend_from_slice(b"<html><body><script>alert(document.cookie)</script></body></html>");
    let (_, _, status, answer) = upload(&f, "image/png", polyglot).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{answer}");
    assert_eq!(answer["errors"][0]["field"], "body", "{answer}");
    assert_eq!(f.count("attachments"), 0);
}

/// A whole, valid PNG with HTML after its end is refused too: 422 naming
/// `body`.
#[actix_web::test]
async fn a_valid_png_with_html_after_its_end_is_refused() {
    let f = field().await;
    let mut polyglot = photo(image::ImageFormat::Png);
    polyglot.extend_from_slice(b"<html><script>alert(document.cookie)</script></html>");
    let (_, _, status, answer) = upload(&f, "image/png", polyglot).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{answer}");
    assert_eq!(answer["errors"][0]["field"], "body", "{answer}");
    assert_eq!(f.count("attachments"), 0);
}

/// A JPEG whose data is cut short does not decode: 422 naming `body`.
#[actix_web::test]
async fn a_jpeg_that_does_not_decode_is_refused() {
    let f = field().await;
    let mut jpeg = photo(image::ImageFormat::Jpeg);
    jpeg.truncate(jpeg.len() / 2);
    let (_, _, status, answer) = upload(&f, "image/jpeg", jpeg).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{answer}");
    assert_eq!(answer["errors"][0]["field"], "body", "{answer}");
    assert_eq!(f.count("attachments"), 0);
}

/// A real JPEG is stored, and comes back as a download named by its hash,
/// `nosniff`.
#[actix_web::test]
async fn a_photo_downloads_as_an_attachment_never_sniffed() {
    let f = field().await;
    let jpeg = photo(image::ImageFormat::Jpeg);
    let (id, sha, status, answer) = upload(&f, "image/jpeg", jpeg.clone()).await;
    assert_eq!(status, StatusCode::CREATED, "{answer}");
    let back = f
        .client
        .get(f.url(&format!("/api/v1/inspections/{id}/attachments/{sha}")))
        .bearer_auth(&f.sup)
        .send()
        .await
        .unwrap();
    assert_eq!(back.status(), StatusCode::OK);
    let h = back.headers().clone();
    assert_eq!(h["content-type"], "image/jpeg");
    assert_eq!(
        h.get("x-content-type-options").map(|v| v.to_str().unwrap()),
        Some("nosniff")
    );
    assert_eq!(
        h.get("content-disposition")
            .map(|v| v.to_str().unwrap().to_string()),
        Some(format!("attachment; filename=\"{sha}.jpg\""))
    );
    assert_eq!(back.bytes().await.unwrap().to_vec(), jpeg);
}

#[actix_web::test]
async fn photos_are_verified_and_idempotent() {
    let f = field().await;
    let id = uuid::Uuid::new_v4().to_string();
    f.post_created("/api/v1/inspections", &f.lead, minutes(&f, &id))
        .await;
    let png = photo(image::ImageFormat::Png);
    let sha = hex::encode(Sha256::digest(&png));
    let put = |sha: String, ctype: &'static str, body: Vec<u8>| {
        f.client
            .put(f.url(&format!("/api/v1/inspections/{id}/attachments/{sha}")))
            .bearer_auth(&f.lead)
            .header("content-type", ctype)
            .body(body)
            .send()
    };
    assert_eq!(
        put(sha.clone(), "image/png", png.clone())
            .await
            .unwrap()
            .status(),
        StatusCode::CREATED
    );
    assert_eq!(
        put(sha.clone(), "image/png", png.clone())
            .await
            .unwrap()
            .status(),
        StatusCode::OK
    );
    assert_eq!(
        put("a".repeat(64), "image/png", png.clone())
            .await
            .unwrap()
            .status(),
        StatusCode::UNPROCESSABLE_ENTITY
    );
    assert_eq!(
        put(sha.clone(), "image/jpeg", png.clone())
            .await
            .unwrap()
            .status(),
        StatusCode::UNPROCESSABLE_ENTITY
    );
    assert_eq!(
        put(sha.clone(), "text/plain", png.clone())
            .await
            .unwrap()
            .status(),
        StatusCode::UNSUPPORTED_MEDIA_TYPE
    );
    let big = vec![0xFFu8; 10 * 1024 * 1024 + 1];
    assert_eq!(
        put(hex::encode(Sha256::digest(&big)), "image/jpeg", big)
            .await
            .unwrap()
            .status(),
        StatusCode::PAYLOAD_TOO_LARGE
    );
    assert_eq!(f.count("attachments"), 1);
    let got = f
        .get_ok(&format!("/api/v1/inspections/{id}"), &f.lead)
        .await;
    assert_eq!(got["attachments"], json!([sha]));
    let back = f
        .client
        .get(f.url(&format!("/api/v1/inspections/{id}/attachments/{sha}")))
        .bearer_auth(&f.sup)
        .send()
        .await
        .unwrap();
    assert_eq!(back.status(), StatusCode::OK);
    assert_eq!(back.headers()["content-type"], "image/png");
    assert_eq!(back.bytes().await.unwrap().to_vec(), png);
}

#[actix_web::test]
async fn violation_catalogue() {
    let f = field().await;
    let (s, list) = f.get("/api/v1/violation-types", &f.lead).await;
    assert_eq!(s, StatusCode::OK);
    assert!(list["items"].as_array().unwrap().len() >= 10);
    let body = json!({"code": "FIRE_SAFETY", "title": "PCCC", "legal_basis": "NĐ 136/2020", "min_fine_vnd": 100000, "max_fine_vnd": 500000});
    let (s, _) = f
        .post("/api/v1/violation-types", &f.sup, body.clone())
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, _) = f
        .post("/api/v1/violation-types", &f.admin, body.clone())
        .await;
    assert_eq!(s, StatusCode::CREATED);
    let (s, _) = f.post("/api/v1/violation-types", &f.admin, body).await;
    assert_eq!(s, StatusCode::CONFLICT);
    let (s, p) = f.post("/api/v1/violation-types", &f.admin, json!({"code": "X", "title": "t", "legal_basis": "b", "min_fine_vnd": 5, "max_fine_vnd": 1})).await;
    assert_eq!(
        (s, p["errors"][0]["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("max_fine_vnd"))
    );
}

/// Many clients at once, as the group commit batches them: every id stored
/// exactly once, identical repeats 200 with the stored minutes, changed
/// repeats 409, two posts for one assignment one 201 and one 409, and what
/// the 201 answered is what a later read returns.
#[actix_web::test]
async fn storm_of_posts_and_repeats_through_the_group_commit() {
    let f = field().await;
    let mut bodies = Vec::new();
    for i in 0..24 {
        let mut b = minutes(&f, &uuid::Uuid::new_v4().to_string());
        b["assignment_id"] = Value::Null;
        b["establishment_id"] = json!(f.surprise_target);
        b["notes"] = json!(format!("lần {i}"));
        // 1 to 3 sends; every fourth id has one repeat with a changed body.
        for k in 0..(1 + i % 3) {
            bodies.push((i, b.clone()));
            if k == 1 && i % 4 == 1 {
                let mut changed = b.clone();
                changed["notes"] = json!(format!("đã sửa {i}"));
                bodies.push((i, changed));
            }
        }
    }
    // Two different minutes for the one assignment.
    let a1 = minutes(&f, &uuid::Uuid::new_v4().to_string());
    let a2 = minutes(&f, &uuid::Uuid::new_v4().to_string());
    bodies.push((100, a1));
    bodies.push((101, a2));
    let posts = bodies
        .iter()
        .map(|(_, b)| f.post("/api/v1/inspections", &f.lead, b.clone()));
    let results = futures_util::future::join_all(posts).await;
    let mut winner: std::collections::HashMap<String, Value> = Default::default();
    for ((_, b), (s, r)) in bodies.iter().zip(&results) {
        if *s == StatusCode::CREATED {
            let id = b["id"].as_str().unwrap().to_string();
            assert!(
                winner.insert(id, b.clone()).is_none(),
                "two 201s for one id"
            );
            let (gs, stored) = f
                .app
                .get(
                    &format!("/api/v1/inspections/{}", r["id"].as_str().unwrap()),
                    &f.lead,
                )
                .await;
            assert_eq!(gs, StatusCode::OK);
            assert_eq!(&stored, r, "the 201 answer differs from the stored minutes");
        }
    }
    assert_eq!(
        winner.len(),
        24 + 1,
        "one 201 per surprise id and one for the assignment"
    );
    for ((tag, b), (s, r)) in bodies.iter().zip(&results) {
        let id = b["id"].as_str().unwrap();
        match winner.get(id) {
            Some(w) if w == b => assert!(
                *s == StatusCode::CREATED || *s == StatusCode::OK,
                "{tag}: identical repeat got {s}: {r}"
            ),
            Some(_) => assert_eq!(*s, StatusCode::CONFLICT, "{tag}: changed repeat: {r}"),
            None => {
                assert!(*tag >= 100, "{tag}: a surprise id was not stored: {s} {r}");
                assert_eq!(
                    *s,
                    StatusCode::CONFLICT,
                    "second minutes for one assignment: {r}"
                );
                assert!(r["detail"].as_str().unwrap().contains("completed"), "{r}");
            }
        }
    }
    assert_eq!(f.count("inspections"), 25);
    assert_eq!(f.count("inspection_versions"), 25);
    assert_eq!(f.count("violations"), 50);
    // One audit entry per stored minutes, and the chain holds.
    assert_eq!(
        f.scalar("SELECT COUNT(*) AS n FROM audit_log WHERE action = 'inspection.create'"),
        25
    );
    assert!(f.audit_chain().is_ok());
}

/// One batch of the group commit, run directly: a repeat of an id inside
/// the batch is answered as stored, second minutes for an assignment
/// completed earlier in the same batch get 409, minutes that fail their own
/// checks get their own 422, and only the first minutes of each are written.
#[actix_web::test]
async fn one_batch_with_repeats_and_a_taken_assignment() {
    let f = field().await;
    let id_a = uuid::Uuid::new_v4().to_string();
    let mut stranger = minutes(&f, &uuid::Uuid::new_v4().to_string());
    stranger["members_present"] = json!([uuid::Uuid::new_v4().to_string()]);
    let answers = f.post_batch(
        &f.lead_id,
        vec![
            stranger,
            minutes(&f, &id_a),
            minutes(&f, &id_a),
            minutes(&f, &uuid::Uuid::new_v4().to_string()),
        ],
    );
    match &answers[0] {
        BatchAnswer::Invalid(fields) => assert_eq!(fields, &["members_present[0]"]),
        other => panic!("expected 422, got {other:?}"),
    }
    assert!(
        matches!(answers[1], BatchAnswer::Created),
        "{:?}",
        answers[1]
    );
    assert!(
        matches!(answers[2], BatchAnswer::Stored),
        "{:?}",
        answers[2]
    );
    match &answers[3] {
        BatchAnswer::Conflict(m) => assert!(m.contains("completed"), "{m}"),
        other => panic!("expected 409, got {other:?}"),
    }
    assert_eq!(f.count("inspections"), 1);
    assert_eq!(f.count("violations"), 2);
    let a = f
        .get_ok(
            &format!(
                "/api/v1/assignments/{}",
                f.assignment["id"].as_str().unwrap()
            ),
            &f.lead,
        )
        .await;
    assert_eq!(a["status"], "completed");
    assert_eq!(a["version"], f.assignment["version"].as_i64().unwrap() + 1);
}

/// Posts [`minutes`] with `patch` merged in; the 422's first field and
/// that nothing was stored.
async fn refused_field(f: &Field, patch: Value) -> String {
    let mut body = minutes(f, &uuid::Uuid::new_v4().to_string());
    for (k, v) in patch.as_object().unwrap() {
        body[k] = v.clone();
    }
    let (s, p) = f.post("/api/v1/inspections", &f.lead, body).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{p}");
    assert_eq!(f.count("inspections"), 0);
    p["errors"][0]["field"].as_str().unwrap().to_string()
}

/// A fine is a sum of đồng written as a whole number: `12000000.0` is not one.
#[actix_web::test]
async fn a_fine_written_as_a_decimal_is_422() {
    let f = field().await;
    let violations = json!({"violations": [{"code": "KARAOKE_DOOR", "sanction": "fine", "fine_vnd": 12000000.0}]});
    assert_eq!(
        refused_field(&f, violations).await,
        "violations[0].fine_vnd"
    );
}

/// Minutes of an assignment dated before its plan's year are refused.
#[actix_web::test]
async fn minutes_dated_before_their_plans_year_are_422() {
    let f = field().await;
    let old = json!({"started_at": "1900-01-01T09:00:00+07:00"});
    assert_eq!(refused_field(&f, old).await, "started_at");
}

/// Surprise minutes dated before any plan can be (2000) are refused.
#[actix_web::test]
async fn surprise_minutes_dated_1999_are_422() {
    let f = field().await;
    let old = json!({"assignment_id": null, "establishment_id": f.surprise_target,
        "started_at": "1999-12-31T09:00:00+07:00", "finished_at": "1999-12-31T10:00:00+07:00"});
    assert_eq!(refused_field(&f, old).await, "started_at");
}
