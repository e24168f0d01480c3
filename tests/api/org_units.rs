use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::{Expect, TestApp, NINH_BINH};

#[actix_web::test]
async fn import_creates_then_changes_nothing() {
    let (app, admin) = TestApp::init().with_admin().await;
    let rows = NINH_BINH.lines().count() - 1;
    let (status, first) = app
        .post_csv("/api/v1/org-units/import", &admin, NINH_BINH)
        .await;
    assert_eq!(status, StatusCode::OK, "{first}");
    assert_eq!(first["created"], rows);
    assert_eq!(app.count("org_units"), rows as i64);
    let second = app
        .post_csv("/api/v1/org-units/import", &admin, NINH_BINH)
        .await
        .expect(StatusCode::OK);
    assert_eq!(second["created"], 0);
    assert_eq!(second["updated"], 0);
    assert_eq!(second["unchanged"], rows);
    let expected_districts = NINH_BINH
        .lines()
        .filter(|l| l.ends_with(",district,37"))
        .count();
    let (status, page) = app.get("/api/v1/org-units?parent=37", &admin).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(page["items"].as_array().unwrap().len(), expected_districts);
    let (status, unit) = app.get("/api/v1/org-units/372", &admin).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(unit["level"], "district");
    assert_eq!(unit["parent_code"], "37");
}

#[actix_web::test]
async fn bad_rows_are_reported_good_rows_land() {
    let (app, admin) = TestApp::init().with_admin().await;
    let csv = "code,name,level,parent_code\n\
               37,Tỉnh Ninh Bình,province,\n\
               372,Huyện Nho Quan,district,37\n\
               999,Nowhere,district,98\n\
               14362,Xã A,hamlet,372\n\
               14365,Xã B,commune,999\n\
               14368,Xã C,commune,372\n";
    let (status, body) = app.post_csv("/api/v1/org-units/import", &admin, csv).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["created"], 3);
    let rows: Vec<u64> = body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["row"].as_u64().unwrap())
        .collect();
    assert_eq!(rows, vec![4, 5, 6]);
    assert_eq!(body["errors"][1]["field"], "level");
    assert_eq!(app.count("org_units"), 3);
}

#[actix_web::test]
async fn only_an_admin_imports_units() {
    let (app, _) = TestApp::init().with_ninh_binh().with_admin().await;
    let sup = app.supervisor("sup", "37").await;
    let (status, _) = app
        .post_csv("/api/v1/org-units/import", &sup, NINH_BINH)
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}

#[actix_web::test]
async fn a_unit_import_in_json_is_415() {
    let (app, admin) = TestApp::init().with_ninh_binh().with_admin().await;
    let (status, p) = app
        .post("/api/v1/org-units/import", &admin, json!({"rows": []}))
        .await;
    assert_eq!(status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert_eq!(p["code"], "unsupported_media_type");
}

#[actix_web::test]
async fn an_unknown_level_filter_is_422() {
    let (app, admin) = TestApp::init().with_ninh_binh().with_admin().await;
    let (status, p) = app.get("/api/v1/org-units?level=hamlet", &admin).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(p["errors"][0]["field"], "level");
}
