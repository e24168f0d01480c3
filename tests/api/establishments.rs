use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::helpers::{commune_of, Expect, TestApp};

#[actix_web::test]
async fn an_establishment_is_created_and_read_back() {
    let (app, admin) = TestApp::init().with_ninh_binh().with_admin().await;
    let commune = commune_of("372");
    let e = app
        .establishment(&admin, "37-0001", &commune, "karaoke")
        .await;
    assert_eq!(e["status"], "active");
    assert_eq!(e["version"], 1);
    assert_eq!(e["org_unit_code"], commune);
    let id = e["id"].as_str().unwrap();
    let got = app
        .get_ok(&format!("/api/v1/establishments/{id}"), &admin)
        .await;
    assert_eq!(got["licence_no"], "37-0001");
}

#[actix_web::test]
async fn a_second_establishment_with_the_same_licence_is_409() {
    let (app, admin) = TestApp::init().with_ninh_binh().with_admin().await;
    let commune = commune_of("372");
    app.establishment(&admin, "37-0001", &commune, "karaoke")
        .await;
    let (status, p) = app
        .post(
            "/api/v1/establishments",
            &admin,
            json!({"licence_no": "37-0001", "name": "Other", "business_type": "bar", "org_unit_code": commune, "address": "x"}),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(p["code"], "conflict");
    assert_eq!(app.count("establishments"), 1);
}

#[actix_web::test]
async fn an_unknown_or_malformed_establishment_id_is_404() {
    let (app, admin) = TestApp::init().with_ninh_binh().with_admin().await;
    let (status, _) = app
        .get(
            "/api/v1/establishments/00000000-0000-4000-8000-000000000000",
            &admin,
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = app.get("/api/v1/establishments/not-a-uuid", &admin).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[actix_web::test]
async fn bad_input_names_the_field() {
    let (app, admin) = TestApp::init().with_ninh_binh().with_admin().await;
    let (status, p) = app
        .post(
            "/api/v1/establishments",
            &admin,
            json!({"licence_no": "", "name": "X", "business_type": "casino", "org_unit_code": "37", "address": "x", "latitude": 95.0, "longitude": 105.0}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(p["code"], "validation_failed");
    let fields: Vec<&str> = p["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, vec!["licence_no", "business_type", "latitude"]);
    let (status, p) = app
        .post("/api/v1/establishments", &admin, json!({"licence_no": "a", "name": "X", "business_type": "bar", "org_unit_code": "37", "address": "x", "colour": "red"}))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(p["errors"][0]["field"], "colour");
    let (status, p) = app
        .post("/api/v1/establishments", &admin, json!({"licence_no": "a", "name": 5, "business_type": "bar", "org_unit_code": "37", "address": "x"}))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(p["errors"][0]["field"], "name");
    // Not JSON at all, and a body over 1 MiB.
    let resp = app
        .client
        .post(app.url("/api/v1/establishments"))
        .bearer_auth(&admin)
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    assert_eq!(resp.headers()["content-type"], "application/problem+json");
    let big = format!("{{\"name\": \"{}\"}}", "x".repeat(1_100_000));
    let resp = app
        .client
        .post(app.url("/api/v1/establishments"))
        .bearer_auth(&admin)
        .header("content-type", "application/json")
        .body(big)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(app.count("establishments"), 0);
}

/// Seven establishments: five karaoke in 372, a massage parlour and the
/// guest house "Nhà nghỉ Hà Nội" in 373.
async fn seven() -> (TestApp, String) {
    let (app, admin) = TestApp::init().with_ninh_binh().with_admin().await;
    let c372 = commune_of("372");
    let c373 = commune_of("373");
    for i in 0..5 {
        app.establishment(&admin, &format!("A-{i}"), &c372, "karaoke")
            .await;
    }
    app.establishment(&admin, "B-1", &c373, "massage").await;
    app.post_created(
        "/api/v1/establishments",
        &admin,
        json!({"licence_no": "HN-1", "name": "Nhà nghỉ Hà Nội", "business_type": "guest_house", "org_unit_code": c373, "address": "x"}),
    )
    .await;
    (app, admin)
}

#[actix_web::test]
async fn the_list_filters_by_unit_and_type_and_searches_names() {
    let (app, admin) = seven().await;
    let p = app
        .get_ok("/api/v1/establishments?org_unit=372", &admin)
        .await;
    assert_eq!(p["items"].as_array().unwrap().len(), 5);
    let p = app
        .get_ok("/api/v1/establishments?business_type=massage", &admin)
        .await;
    assert_eq!(p["items"].as_array().unwrap().len(), 1);
    let p = app
        .get_ok("/api/v1/establishments?q=ha%20noi", &admin)
        .await;
    assert_eq!(p["items"].as_array().unwrap().len(), 1);
    assert_eq!(p["items"][0]["name"], "Nhà nghỉ Hà Nội");
}

/// Pages of 2 cover all 7 exactly once.
#[actix_web::test]
async fn pages_cover_the_list_exactly_once() {
    let (app, admin) = seven().await;
    let mut seen = std::collections::HashSet::new();
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            Some(c) => format!("/api/v1/establishments?limit=2&cursor={c}"),
            None => "/api/v1/establishments?limit=2".to_string(),
        };
        let p = app.get_ok(&path, &admin).await;
        for it in p["items"].as_array().unwrap() {
            assert!(seen.insert(it["id"].as_str().unwrap().to_string()));
        }
        match p["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_string()),
            None => break,
        }
    }
    assert_eq!(seen.len(), 7);
}

#[actix_web::test]
async fn a_bad_limit_or_sort_is_422() {
    let (app, admin) = TestApp::init().with_ninh_binh().with_admin().await;
    let (status, p) = app.get("/api/v1/establishments?limit=0", &admin).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(p["errors"][0]["field"], "limit");
    let (status, p) = app.get("/api/v1/establishments?sort=name", &admin).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(p["errors"][0]["field"], "sort");
}

/// One bar in 372; the path of its record.
async fn one_bar() -> (TestApp, String, String) {
    let (app, admin) = TestApp::init().with_ninh_binh().with_admin().await;
    let e = app
        .establishment(&admin, "P-1", &commune_of("372"), "bar")
        .await;
    let path = format!("/api/v1/establishments/{}", e["id"].as_str().unwrap());
    (app, admin, path)
}

#[actix_web::test]
async fn a_patch_needs_the_current_version() {
    let (app, admin, path) = one_bar().await;
    let patch = |version: &str, body: serde_json::Value| {
        app.client
            .patch(app.url(&path))
            .bearer_auth(&admin)
            .header("If-Match", version.to_string())
            .json(&body)
            .send()
    };
    let r = patch("\"1\"", json!({"name": "Bar Mới"})).await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.headers()["etag"], "\"2\"");
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(body["version"], 2);
    assert_eq!(body["name"], "Bar Mới");
    let r = patch("\"1\"", json!({"name": "Lost update"}))
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::PRECONDITION_FAILED);
    let now = app.get_ok(&path, &admin).await;
    assert_eq!(now["name"], "Bar Mới");
}

#[actix_web::test]
async fn an_establishment_is_closed_once() {
    let (app, admin, path) = one_bar().await;
    let closed = app
        .post_ok(
            &format!("{path}/close"),
            &admin,
            json!({"closed_on": "2016-09-01", "reason": "ngừng kinh doanh"}),
        )
        .await;
    assert_eq!(closed["status"], "closed");
    assert_eq!(closed["closed_on"], "2016-09-01");
    let (status, _) = app
        .post(
            &format!("{path}/close"),
            &admin,
            json!({"closed_on": "2016-09-01", "reason": "again"}),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT);
    let p = app
        .get_ok("/api/v1/establishments?status=closed", &admin)
        .await;
    assert_eq!(p["items"].as_array().unwrap().len(), 1);
}

/// A registry CSV for commune `c`: two good rows (I-1, I-2) and four bad
/// ones (a bad type, unit and latitude, and I-1 again).
fn registry_csv(c: &str) -> String {
    format!(
        "licence_no,name,business_type,org_unit_code,address,owner_name,phone,latitude,longitude\n\
         I-1,Karaoke Hoàng Gia,karaoke,{c},Số 1,Nguyễn Văn A,0912345678,20.2,105.9\n\
         I-2,Massage Thảo Nguyên,massage,{c},Số 2,,,,\n\
         I-3,Bad type,casino,{c},Số 3,,,,\n\
         I-4,Bad unit,bar,99999,Số 4,,,,\n\
         I-5,Bad lat,bar,{c},Số 5,,,north,105\n\
         I-1,Twice,bar,{c},Số 6,,,,\n"
    )
}

/// The units, and [`registry_csv`] imported once; the CSV.
async fn imported() -> (TestApp, String, String) {
    let (app, admin) = TestApp::init().with_ninh_binh().with_admin().await;
    let csv = registry_csv(&commune_of("374"));
    let body = app
        .post_csv("/api/v1/establishments/import", &admin, &csv)
        .await
        .expect(StatusCode::OK);
    assert_eq!(body["created"], 2);
    (app, admin, csv)
}

#[actix_web::test]
async fn a_csv_import_reports_bad_rows_and_lands_good_ones() {
    let (app, admin) = TestApp::init().with_ninh_binh().with_admin().await;
    let csv = registry_csv(&commune_of("374"));
    let body = app
        .post_csv("/api/v1/establishments/import", &admin, &csv)
        .await
        .expect(StatusCode::OK);
    assert_eq!(body["created"], 2);
    let errs: Vec<(u64, &str)> = body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["row"].as_u64().unwrap(), e["field"].as_str().unwrap()))
        .collect();
    assert_eq!(
        errs,
        vec![
            (4, "business_type"),
            (5, "org_unit_code"),
            (6, "latitude"),
            (7, "licence_no")
        ]
    );
    assert_eq!(app.count("establishments"), 2);
}

#[actix_web::test]
async fn a_csv_import_run_again_changes_nothing() {
    let (app, admin, csv) = imported().await;
    let again = app
        .post_csv("/api/v1/establishments/import", &admin, &csv)
        .await
        .expect(StatusCode::OK);
    assert_eq!(again["created"], 0);
    assert_eq!(again["updated"], 0);
    assert_eq!(again["unchanged"], 2);
    assert_eq!(app.count("establishments"), 2);
}

#[actix_web::test]
async fn a_csv_import_updates_a_changed_row() {
    let (app, admin, csv) = imported().await;
    let changed = csv.replace("Massage Thảo Nguyên", "Massage Thảo Nguyên 2");
    let third = app
        .post_csv("/api/v1/establishments/import", &admin, &changed)
        .await
        .expect(StatusCode::OK);
    assert_eq!(third["updated"], 1);
}

#[actix_web::test]
async fn a_csv_import_with_an_unknown_column_is_422() {
    let (app, admin) = TestApp::init().with_ninh_binh().with_admin().await;
    let (status, p) = app
        .post_csv(
            "/api/v1/establishments/import",
            &admin,
            "licence_no,name,colour\nx,y,z\n",
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(p["errors"]
        .as_array()
        .unwrap()
        .iter()
        .any(|e| e["field"] == "colour"));
}

#[actix_web::test]
async fn an_import_in_json_is_415() {
    let (app, admin) = TestApp::init().with_ninh_binh().with_admin().await;
    let (status, _) = app
        .send(
            Method::POST,
            "/api/v1/establishments/import",
            Some(&admin),
            Some(json!({})),
        )
        .await;
    assert_eq!(status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
}
