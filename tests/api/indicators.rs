//! A plan's other targets (issue 19): indicators defined as data,
//! activities recorded by the units inside their area, values per district
//! and for the province against the target, in the API and in every report.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::helpers::{communes, Expect, TestApp, PASSWORD};

/// A drawn 2016 plan of the province with three indicators: communes'
/// awareness sessions (share of communes, 50 %), the provincial media every
/// month (per month, 1), supervision visits (count, 2).
struct Planned {
    app: TestApp,
    admin: String,
    plan: String,
}

impl std::ops::Deref for Planned {
    type Target = TestApp;
    fn deref(&self) -> &TestApp {
        &self.app
    }
}

impl Planned {
    async fn indicators(&self, token: &str, date: &str) -> Vec<Value> {
        self.get_ok(
            &format!("/api/v1/plans/{}/indicators?date={date}", self.plan),
            token,
        )
        .await["items"]
            .as_array()
            .unwrap()
            .clone()
    }

    fn activity(&self, code: &str, unit: &str, date: &str, quantity: i64) -> Value {
        json!({"plan_id": self.plan, "indicator_code": code, "org_unit_code": unit,
               "date": date, "quantity": quantity, "note": "Buổi tuyên truyền"})
    }

    async fn put(&self, path: &str, token: &str, body: Value) -> (StatusCode, Value) {
        self.send(Method::PUT, path, Some(token), Some(body)).await
    }
}

fn by_code<'a>(items: &'a [Value], code: &str) -> &'a Value {
    items
        .iter()
        .find(|i| i["code"] == code)
        .unwrap_or_else(|| panic!("no indicator {code} in {items:?}"))
}

fn district<'a>(i: &'a Value, code: &str) -> &'a Value {
    i["by_org_unit"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["org_unit_code"] == code)
        .unwrap_or_else(|| panic!("no district {code} in {i}"))
}

fn communes_of(district: &str) -> Vec<String> {
    communes()
        .into_iter()
        .filter(|(_, d)| d == district)
        .map(|(c, _)| c)
        .collect()
}

async fn planned() -> Planned {
    let (app, admin) = TestApp::init()
        .with_establishments(40)
        .with_teams()
        .with_admin()
        .await;
    let plan = app
        .create_plan(
            &admin,
            json!({"name": "Kế hoạch 20/KH-BCĐ phòng, chống mại dâm năm 2016", "year": 2016,
            "org_unit_code": "37"}),
        )
        .await["id"]
        .as_str()
        .unwrap()
        .to_string();
    app.draw(&admin, &plan).await;
    let p = Planned { app, admin, plan };
    for body in [
        json!({"code": "TT_XA", "name": "50 % xã tổ chức truyền thông", "unit_level": "commune",
               "kind": "share_of_units", "target": 50}),
        json!({"code": "TT_BAO_DAI", "name": "Thông tin trên báo, đài mỗi tháng", "unit_level": "province",
               "kind": "per_month", "target": 1}),
        json!({"code": "GIAM_SAT", "name": "Ít nhất 02 đợt giám sát", "unit_level": "province",
               "kind": "count", "target": 2}),
    ] {
        let i = p
            .post_created(
                &format!("/api/v1/plans/{}/indicators", p.plan),
                &p.admin,
                body.clone(),
            )
            .await;
        assert_eq!(i["code"], body["code"]);
        assert_eq!(i["version"], 1);
    }
    p
}

#[actix_web::test]
async fn indicator_values_per_district_and_for_the_province() {
    let p = planned().await;
    let sup = p.supervisor("sup373", "373").await;
    let gia_vien = communes_of("373");
    let all = communes().len();
    // Gia Viễn's supervisor: every commune of its district, in Q1 and Q2.
    for (i, c) in gia_vien.iter().enumerate() {
        let month = 1 + i % 6;
        p.post_created(
            "/api/v1/activities",
            &sup,
            p.activity("TT_XA", c, &format!("2016-{month:02}-10"), 1),
        )
        .await;
    }
    // The province: media in January to May; one supervision visit.
    for month in 1..=5 {
        p.post_created(
            "/api/v1/activities",
            &p.admin,
            p.activity("TT_BAO_DAI", "37", &format!("2016-{month:02}-03"), 1),
        )
        .await;
    }
    p.post_created(
        "/api/v1/activities",
        &p.admin,
        p.activity("GIAM_SAT", "37", "2016-03-01", 1),
    )
    .await;

    let items = p.indicators(&p.admin, "2016-06-30").await;
    let codes: Vec<&str> = items.iter().map(|i| i["code"].as_str().unwrap()).collect();
    assert_eq!(codes, ["TT_XA", "TT_BAO_DAI", "GIAM_SAT"]);

    let tt = by_code(&items, "TT_XA");
    let reached = gia_vien.len();
    let share = (reached as f64 * 10_000.0 / all as f64).round() / 100.0;
    assert_eq!(tt["units_reached"], reached);
    assert_eq!(tt["units_total"], all);
    assert_eq!(tt["value"].as_f64().unwrap(), share);
    assert_eq!(tt["target"], 50.0);
    assert_eq!(tt["as_of"], "2016-06-30");
    // Goal ⌈50 % × all⌉ communes, half the year gone (182 of 366 days).
    let need = ((all as f64 * 0.5).ceil() * 182.0 / 366.0).floor() as usize;
    assert_eq!(tt["on_track"], reached >= need, "{tt}");
    let d373 = district(tt, "373");
    assert_eq!(d373["value"], 100.0);
    assert_eq!(d373["on_track"], true);
    let d372 = district(tt, "372");
    assert_eq!(d372["value"], 0.0);
    assert_eq!(d372["on_track"], false);
    assert_eq!(tt["by_org_unit"].as_array().unwrap().len(), 7);

    let media = by_code(&items, "TT_BAO_DAI");
    assert_eq!(media["value"], 5.0);
    assert_eq!(media["expected"], 6.0);
    assert_eq!(media["on_track"], false, "June is complete and had nothing");
    assert_eq!(
        media["by_org_unit"],
        json!([]),
        "a province-level indicator"
    );
    let media_may = by_code(&p.indicators(&p.admin, "2016-05-31").await, "TT_BAO_DAI").clone();
    assert_eq!(media_may["on_track"], true);

    let visits = by_code(&items, "GIAM_SAT");
    assert_eq!(visits["value"], 1.0);
    assert_eq!(visits["on_track"], true, "1 of 2 by mid-year");
    let year_end = p.indicators(&p.admin, "2016-12-31").await;
    assert_eq!(by_code(&year_end, "GIAM_SAT")["on_track"], false);

    // The district's supervisor sees its own part of the plan's area.
    let mine = p.indicators(&sup, "2016-06-30").await;
    let tt = by_code(&mine, "TT_XA");
    assert_eq!(tt["units_total"], reached);
    assert_eq!(tt["value"], 100.0);
    assert_eq!(tt["by_org_unit"].as_array().unwrap().len(), 1);
}

#[actix_web::test]
async fn every_report_format_carries_the_indicators() {
    let p = planned().await;
    let sup = p.supervisor("sup373", "373").await;
    for c in communes_of("373") {
        p.post_created(
            "/api/v1/activities",
            &sup,
            p.activity("TT_XA", &c, "2016-02-10", 1),
        )
        .await;
    }
    p.post_created(
        "/api/v1/activities",
        &p.admin,
        p.activity("GIAM_SAT", "37", "2016-03-01", 2),
    )
    .await;
    let report = format!("/api/v1/reports?plan_id={}&period=Q2", p.plan);
    let r = p.get_ok(&report, &p.admin).await;
    let inds = r["indicators"].as_array().unwrap();
    let codes: Vec<&str> = inds.iter().map(|i| i["code"].as_str().unwrap()).collect();
    assert_eq!(codes, ["KIEM_TRA_CO_SO", "TT_XA", "TT_BAO_DAI", "GIAM_SAT"]);
    // The inspection target comes from the coverage figures of the report.
    let insp = &inds[0];
    assert_eq!(insp["source"], "coverage");
    assert_eq!(insp["target"], r["summary"]["target_percent"]);
    assert_eq!(insp["value"], r["summary"]["inspected_percent"]);
    assert_eq!(insp["on_track"], r["summary"]["on_track"]);
    assert_eq!(
        insp["by_org_unit"].as_array().unwrap().len(),
        r["coverage_by_org_unit"].as_array().unwrap().len()
    );
    let visits = by_code(inds, "GIAM_SAT");
    assert_eq!(visits["value"], 2.0);
    assert_eq!(visits["target"], 2.0);
    assert_eq!(visits["on_track"], true);
    assert_eq!(district(by_code(inds, "TT_XA"), "373")["value"], 100.0);
    // The Q1 report does not count what happened after March.
    let q1 = p
        .get_ok(
            &format!("/api/v1/reports?plan_id={}&period=Q1", p.plan),
            &p.admin,
        )
        .await;
    assert_eq!(
        by_code(q1["indicators"].as_array().unwrap(), "GIAM_SAT")["value"],
        2.0
    );
    p.post_created(
        "/api/v1/activities",
        &p.admin,
        p.activity("GIAM_SAT", "37", "2016-05-01", 1),
    )
    .await;
    let q1 = p
        .get_ok(
            &format!("/api/v1/reports?plan_id={}&period=Q1", p.plan),
            &p.admin,
        )
        .await;
    assert_eq!(
        by_code(q1["indicators"].as_array().unwrap(), "GIAM_SAT")["value"],
        2.0
    );

    let (status, csv) = p.get_as(&report, &p.admin, "text/csv").await;
    assert_eq!(status, StatusCode::OK);
    let csv = String::from_utf8(csv).unwrap();
    let rows: Vec<&str> = csv.lines().filter(|l| l.starts_with("Chỉ tiêu,")).collect();
    assert!(
        rows.iter()
            .any(|l| l.contains("GIAM_SAT") && l.contains("Toàn địa bàn")),
        "{csv}"
    );
    assert!(rows
        .iter()
        .any(|l| l.contains("TT_XA") && l.contains("Huyện Gia Viễn")));
    assert!(rows.iter().any(|l| l.contains("KIEM_TRA_CO_SO")));

    let (status, xlsx) = p
        .get_as(
            &report,
            &p.admin,
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    use calamine::{Data, Reader, Xlsx};
    let mut wb: Xlsx<_> = Xlsx::new(std::io::Cursor::new(xlsx)).unwrap();
    assert!(wb.sheet_names().contains(&"Chỉ tiêu".to_string()));
    let sheet = wb.worksheet_range("Chỉ tiêu").unwrap();
    let row = sheet
        .rows()
        .find(|r| r[0] == Data::String("GIAM_SAT".into()))
        .expect("GIAM_SAT row");
    assert_eq!(row[2], Data::String("Toàn địa bàn".into()));
    assert_eq!(row[3], Data::Float(2.0), "the target is a number");
    assert_eq!(
        row[4],
        Data::Float(3.0),
        "the value is a number (2 in March, 1 in May)"
    );
    assert_eq!(row[7], Data::String("Có".into()));

    let (status, pdf) = p.get_as(&report, &p.admin, "application/pdf").await;
    assert_eq!(status, StatusCode::OK);
    assert!(pdf.starts_with(b"%PDF"));
}

#[actix_web::test]
async fn a_district_supervisor_records_only_inside_its_area() {
    let p = planned().await;
    let sup = p.supervisor("sup373", "373").await;
    let other = communes_of("372")[0].clone();
    // Another district's commune, and the province itself: not there for it.
    let (status, body) = p
        .post(
            "/api/v1/activities",
            &sup,
            p.activity("TT_XA", &other, "2016-02-10", 1),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    let (status, _) = p
        .post(
            "/api/v1/activities",
            &sup,
            p.activity("GIAM_SAT", "37", "2016-02-10", 1),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(p.count("activities"), 0);
    // Nor may it correct or withdraw another district's activity, or see it.
    let theirs = p
        .post_created(
            "/api/v1/activities",
            &p.admin,
            p.activity("TT_XA", &other, "2016-02-10", 1),
        )
        .await;
    let id = theirs["id"].as_str().unwrap();
    let (status, _) = p.get(&format!("/api/v1/activities/{id}"), &sup).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = p
        .put(
            &format!("/api/v1/activities/{id}"),
            &sup,
            json!({"version": 1, "org_unit_code": other, "date": "2016-02-11", "quantity": 1}),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = p
        .post(
            &format!("/api/v1/activities/{id}/withdraw"),
            &sup,
            json!({"reason": "nhầm"}),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let listed = p
        .get_ok(&format!("/api/v1/activities?plan_id={}", p.plan), &sup)
        .await;
    assert_eq!(listed["items"], json!([]));
    // Its own commune is fine; it may not define the province plan's indicators.
    let mine = communes_of("373")[0].clone();
    p.post_created(
        "/api/v1/activities",
        &sup,
        p.activity("TT_XA", &mine, "2016-02-10", 1),
    )
    .await;
    let (status, _) = p
        .post(
            &format!("/api/v1/plans/{}/indicators", p.plan),
            &sup,
            json!({"code": "X", "name": "x", "unit_level": "commune", "kind": "count", "target": 1}),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    // An inspector records nothing.
    let lead = p.inspector("lead373", "373").await;
    let (status, _) = p
        .post(
            "/api/v1/activities",
            &lead.token,
            p.activity("TT_XA", &mine, "2016-02-11", 1),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}

#[actix_web::test]
async fn the_same_activity_posted_twice_is_stored_once() {
    let p = planned().await;
    let id = "5b0c4f0e-8a52-4d3e-9a57-0d0c7c1f2a11";
    let mut body = p.activity("GIAM_SAT", "37", "2016-03-01", 1);
    body["id"] = json!(id);
    let first = p
        .post_created("/api/v1/activities", &p.admin, body.clone())
        .await;
    assert_eq!(first["id"], id);
    let again = p
        .post_ok("/api/v1/activities", &p.admin, body.clone())
        .await;
    assert_eq!(again, first);
    body["quantity"] = json!(2);
    let (status, err) = p.post("/api/v1/activities", &p.admin, body).await;
    assert_eq!(status, StatusCode::CONFLICT, "{err}");
    assert_eq!(p.count("activities"), 1);
    assert_eq!(
        p.scalar("SELECT COUNT(*) AS n FROM audit_log WHERE action = 'activity.create'"),
        1
    );
}

#[actix_web::test]
async fn a_stale_correction_is_409() {
    let p = planned().await;
    let path = format!("/api/v1/plans/{}/indicators/GIAM_SAT", p.plan);
    let fix = json!({"version": 1, "name": "Ít nhất 03 đợt giám sát", "unit_level": "province",
                     "kind": "count", "target": 3});
    let fixed = p
        .put(&path, &p.admin, fix.clone())
        .await
        .expect(StatusCode::OK);
    assert_eq!(fixed["version"], 2);
    assert_eq!(fixed["target"], 3.0);
    let (status, err) = p.put(&path, &p.admin, fix).await;
    assert_eq!(status, StatusCode::CONFLICT, "{err}");
    let listed = p.indicators(&p.admin, "2016-12-31").await;
    assert_eq!(
        by_code(&listed, "GIAM_SAT")["name"],
        "Ít nhất 03 đợt giám sát"
    );

    let a = p
        .post_created(
            "/api/v1/activities",
            &p.admin,
            p.activity("GIAM_SAT", "37", "2016-03-01", 1),
        )
        .await;
    let apath = format!("/api/v1/activities/{}", a["id"].as_str().unwrap());
    let corr = json!({"version": 1, "org_unit_code": "37", "date": "2016-04-01", "quantity": 3,
                      "note": "Sửa số lượt"});
    let c = p
        .put(&apath, &p.admin, corr.clone())
        .await
        .expect(StatusCode::OK);
    assert_eq!(c["version"], 2);
    assert_eq!(c["quantity"], 3);
    assert_eq!(c["date"], "2016-04-01");
    let (status, _) = p.put(&apath, &p.admin, corr).await;
    assert_eq!(status, StatusCode::CONFLICT);
    // If-Match works as everywhere else: stale is 412.
    let resp = p
        .client
        .post(p.url(&format!("{apath}/withdraw")))
        .bearer_auth(&p.admin)
        .header("If-Match", "1")
        .json(&json!({"reason": "Trùng"}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::PRECONDITION_FAILED);
    // Withdrawn, it stays readable and no longer counts.
    let w = p
        .post_ok(
            &format!("{apath}/withdraw"),
            &p.admin,
            json!({"reason": "Trùng", "version": 2}),
        )
        .await;
    assert_eq!(w["status"], "withdrawn");
    assert_eq!(w["withdraw_reason"], "Trùng");
    let listed = p.indicators(&p.admin, "2016-12-31").await;
    assert_eq!(by_code(&listed, "GIAM_SAT")["value"], 0.0);
    let page = p
        .get_ok(
            &format!("/api/v1/activities?plan_id={}&status=withdrawn", p.plan),
            &p.admin,
        )
        .await;
    assert_eq!(page["items"].as_array().unwrap().len(), 1);
    for action in [
        "indicator.create",
        "indicator.update",
        "activity.create",
        "activity.correct",
        "activity.withdraw",
    ] {
        assert!(
            p.scalar(&format!(
                "SELECT COUNT(*) AS n FROM audit_log WHERE action = '{action}'"
            )) >= 1,
            "{action} audited"
        );
    }
    assert!(p.audit_chain().is_ok());
}

#[actix_web::test]
async fn bad_input_names_the_field() {
    let p = planned().await;
    let field = |v: &Value| v["errors"][0]["field"].as_str().unwrap_or("").to_string();
    let commune = communes_of("373")[0].clone();
    for (body, name) in [
        (
            p.activity("NO_SUCH", "37", "2016-03-01", 1),
            "indicator_code",
        ),
        (p.activity("TT_XA", "373", "2016-03-01", 1), "org_unit_code"),
        (
            p.activity("TT_XA", "99999", "2016-03-01", 1),
            "org_unit_code",
        ),
        (p.activity("TT_XA", &commune, "2017-01-02", 1), "date"),
        (p.activity("TT_XA", &commune, "1 March", 1), "date"),
        (p.activity("TT_XA", &commune, "2016-03-01", -1), "quantity"),
    ] {
        let (status, err) = p.post("/api/v1/activities", &p.admin, body.clone()).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body} → {err}");
        assert_eq!(field(&err), name, "{body} → {err}");
    }
    let path = format!("/api/v1/plans/{}/indicators", p.plan);
    for (body, name) in [
        (
            json!({"code": "A", "name": "a", "unit_level": "commune", "kind": "share_of_units", "target": 150}),
            "target",
        ),
        (
            json!({"code": "A", "name": "a", "unit_level": "ward", "kind": "count", "target": 1}),
            "unit_level",
        ),
        (
            json!({"code": "A", "name": "a", "unit_level": "commune", "kind": "monthly", "target": 1}),
            "kind",
        ),
        (
            json!({"code": "A B", "name": "a", "unit_level": "commune", "kind": "count", "target": 1}),
            "code",
        ),
        (
            json!({"code": "A", "name": " ", "unit_level": "commune", "kind": "count", "target": 1}),
            "name",
        ),
    ] {
        let (status, err) = p.post(&path, &p.admin, body.clone()).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body} → {err}");
        assert_eq!(field(&err), name, "{body} → {err}");
    }
    let (status, _) = p
        .post(
            &path,
            &p.admin,
            json!({"code": "TT_XA", "name": "again", "unit_level": "commune",
                                      "kind": "count", "target": 1}),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(p.count("activities"), 0);
    assert_eq!(p.count("plan_indicators"), 3);
}

#[actix_web::test]
async fn the_demo_sets_the_seed_plans_indicators() {
    let app = TestApp::init().empty().await;
    {
        let mut conn = app.pool.get().unwrap();
        kiemtra::demo::seed(&mut conn, PASSWORD).unwrap();
    }
    let admin = app.login("admin").await;
    let plans = app.get_ok("/api/v1/plans", &admin).await;
    let plan = plans["items"][0]["id"].as_str().unwrap().to_string();
    let year = app
        .get_ok(
            &format!("/api/v1/reports?plan_id={plan}&period=year"),
            &admin,
        )
        .await;
    let inds = year["indicators"].as_array().unwrap();
    let codes: Vec<&str> = inds.iter().map(|i| i["code"].as_str().unwrap()).collect();
    assert_eq!(
        codes,
        [
            "KIEM_TRA_CO_SO",
            "TT_XA",
            "KH_HUYEN",
            "TT_BAO_DAI",
            "MO_HINH",
            "TAP_HUAN",
            "GIAM_SAT"
        ]
    );
    for i in inds {
        assert!(i["target"].as_f64().unwrap() > 0.0, "{i}");
    }
    assert_eq!(by_code(inds, "TT_BAO_DAI")["value"], 10.0);
    assert_eq!(by_code(inds, "TT_BAO_DAI")["on_track"], false);
    assert_eq!(by_code(inds, "MO_HINH")["on_track"], true);
    assert!(by_code(inds, "TT_XA")["value"].as_f64().unwrap() >= 50.0);
    let (_, csv) = app
        .get_as(
            &format!("/api/v1/reports?plan_id={plan}&period=year"),
            &admin,
            "text/csv",
        )
        .await;
    assert!(String::from_utf8(csv).unwrap().contains("TAP_HUAN"));
}

/// A small PDF the service accepts as evidence.
fn evidence_pdf() -> Vec<u8> {
    b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n".to_vec()
}

/// A small PNG.
fn evidence_png() -> Vec<u8> {
    let img = image::RgbImage::from_fn(16, 12, |x, y| {
        image::Rgb([(x * 9) as u8, (y * 11) as u8, 40])
    });
    let mut out = std::io::Cursor::new(Vec::new());
    img.write_to(&mut out, image::ImageFormat::Png).unwrap();
    out.into_inner()
}

impl Planned {
    /// `PUT /activities/{id}/evidence` with `bytes` as `content_type`.
    async fn put_evidence(
        &self,
        token: &str,
        id: &str,
        content_type: &str,
        if_match: Option<&str>,
        bytes: Vec<u8>,
    ) -> (StatusCode, Value) {
        let mut req = self
            .client
            .put(self.url(&format!("/api/v1/activities/{id}/evidence")))
            .bearer_auth(token)
            .header("content-type", content_type)
            .body(bytes);
        if let Some(v) = if_match {
            req = req.header("If-Match", v);
        }
        let resp = req.send().await.unwrap();
        let status = resp.status();
        if status != StatusCode::OK {
            let ct = resp.headers()["content-type"].to_str().unwrap().to_string();
            assert_eq!(ct, "application/problem+json", "{status}");
        }
        (status, resp.json().await.unwrap_or(Value::Null))
    }

    /// `GET /activities/{id}/evidence`: status, content type, disposition, bytes.
    async fn get_evidence(&self, token: &str, id: &str) -> (StatusCode, String, String, Vec<u8>) {
        let resp = self
            .client
            .get(self.url(&format!("/api/v1/activities/{id}/evidence")))
            .bearer_auth(token)
            .send()
            .await
            .unwrap();
        let header = |n: &str| {
            resp.headers()
                .get(n)
                .map(|v| v.to_str().unwrap().to_string())
                .unwrap_or_default()
        };
        let (status, ct, cd) = (
            resp.status(),
            header("content-type"),
            header("content-disposition"),
        );
        (status, ct, cd, resp.bytes().await.unwrap().to_vec())
    }
}

#[actix_web::test]
async fn an_activity_carries_an_evidence_file() {
    use sha2::Digest;
    // Arrange: Gia Viễn's supervisor records a session in one of its communes.
    let p = planned().await;
    let sup = p.supervisor("sup373", "373").await;
    let commune = communes_of("373")[0].clone();
    let a = p
        .post_created(
            "/api/v1/activities",
            &sup,
            p.activity("TT_XA", &commune, "2016-03-10", 1),
        )
        .await;
    let id = a["id"].as_str().unwrap().to_string();
    assert_eq!(a["evidence_sha256"], Value::Null);
    let pdf = evidence_pdf();
    let sha = hex::encode(sha2::Sha256::digest(&pdf));

    // Act: upload it.
    let (status, up) = p
        .put_evidence(&sup, &id, "application/pdf", Some("1"), pdf.clone())
        .await;

    // Assert: the activity names it, and it comes back byte for byte.
    assert_eq!(status, StatusCode::OK, "{up}");
    assert_eq!(up["evidence_sha256"], sha.as_str());
    assert_eq!(up["version"], 2);
    let (status, ct, cd, bytes) = p.get_evidence(&sup, &id).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(ct, "application/pdf");
    assert_eq!(cd, format!("attachment; filename=\"minh-chung-{id}.pdf\""));
    assert_eq!(bytes, pdf);
    assert_eq!(
        p.get_ok(&format!("/api/v1/activities/{id}"), &sup).await,
        up
    );
    // Stored where the photos are, so that a backup copies it.
    let stored = p.attachments_dir().join(&sha[..2]).join(&sha);
    assert_eq!(std::fs::read(stored).unwrap(), pdf);
    assert_eq!(
        p.text(&format!(
            "SELECT content_type AS t FROM attachments WHERE sha256 = '{sha}'"
        ))
        .as_deref(),
        Some("application/pdf")
    );

    // The same bytes again (a retry with the If-Match it was sent with):
    // nothing changes.
    let (status, again) = p
        .put_evidence(&sup, &id, "application/pdf", Some("1"), pdf.clone())
        .await;
    assert_eq!(status, StatusCode::OK, "{again}");
    assert_eq!(again, up);
    assert_eq!(
        p.scalar("SELECT COUNT(*) AS n FROM audit_log WHERE action = 'activity.evidence'"),
        1
    );

    // Other bytes with a stale If-Match: 412, nothing changes.
    let png = evidence_png();
    let (status, err) = p
        .put_evidence(&sup, &id, "image/png", Some("1"), png.clone())
        .await;
    assert_eq!(status, StatusCode::PRECONDITION_FAILED, "{err}");
    // With the current one, sent as bytes of unstated kind: replaced, typed
    // by its content.
    let (status, png_up) = p
        .put_evidence(
            &p.admin,
            &id,
            "application/octet-stream",
            Some("2"),
            png.clone(),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{png_up}");
    assert_eq!(png_up["version"], 3);
    assert_eq!(
        png_up["evidence_sha256"],
        hex::encode(sha2::Sha256::digest(&png))
    );
    let (_, ct, cd, bytes) = p.get_evidence(&sup, &id).await;
    assert_eq!((ct.as_str(), bytes), ("image/png", png));
    assert!(cd.ends_with(".png\""), "{cd}");
    assert_eq!(
        p.scalar("SELECT COUNT(*) AS n FROM audit_log WHERE action = 'activity.evidence'"),
        2
    );
    assert!(p.audit_chain().is_ok());
}

#[actix_web::test]
async fn evidence_follows_the_activity_rules() {
    let p = planned().await;
    let sup = p.supervisor("sup373", "373").await;
    let other = p.supervisor("sup372", "372").await;
    let commune = communes_of("373")[0].clone();
    let a = p
        .post_created(
            "/api/v1/activities",
            &sup,
            p.activity("TT_XA", &commune, "2016-03-10", 1),
        )
        .await;
    let id = a["id"].as_str().unwrap().to_string();
    let field = |v: &Value| v["errors"][0]["field"].as_str().unwrap_or("").to_string();

    // Another district's supervisor: the activity does not exist for it.
    let (status, _) = p
        .put_evidence(&other, &id, "application/pdf", None, evidence_pdf())
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    // Too large: 413 naming the limit.
    let (status, err) = p
        .put_evidence(
            &sup,
            &id,
            "application/pdf",
            None,
            vec![b'%'; 10 * 1024 * 1024 + 1],
        )
        .await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{err}");
    assert!(
        err["detail"].as_str().unwrap().contains("10485760"),
        "{err}"
    );
    // Empty, or not what it says: 422 naming the body.
    let (status, err) = p
        .put_evidence(&sup, &id, "application/pdf", None, vec![])
        .await;
    assert_eq!(
        (status, field(&err)),
        (StatusCode::UNPROCESSABLE_ENTITY, "body".into()),
        "{err}"
    );
    let (status, err) = p
        .put_evidence(
            &sup,
            &id,
            "application/pdf",
            None,
            b"<html><script>".to_vec(),
        )
        .await;
    assert_eq!(
        (status, field(&err)),
        (StatusCode::UNPROCESSABLE_ENTITY, "body".into()),
        "{err}"
    );
    // Another kind of file: 415.
    let (status, _) = p
        .put_evidence(&sup, &id, "text/html", None, b"<html>".to_vec())
        .await;
    assert_eq!(status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    // Nothing was stored by any of these.
    assert_eq!(p.count("attachments"), 0);
    let (status, _, _, _) = p.get_evidence(&sup, &id).await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // Stored, then withdrawn: readable, but it can no longer change.
    let (status, _) = p
        .put_evidence(&sup, &id, "application/pdf", None, evidence_pdf())
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, _, _, _) = p.get_evidence(&other, &id).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    p.post_ok(
        &format!("/api/v1/activities/{id}/withdraw"),
        &sup,
        json!({"reason": "Trùng"}),
    )
    .await;
    let (status, err) = p
        .put_evidence(&sup, &id, "image/png", None, evidence_png())
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{err}");
    assert!(
        err["detail"].as_str().unwrap().contains("withdrawn"),
        "{err}"
    );
    let (status, _, _, bytes) = p.get_evidence(&sup, &id).await;
    assert_eq!((status, bytes), (StatusCode::OK, evidence_pdf()));
    assert_eq!(p.count("attachments"), 1);
}
