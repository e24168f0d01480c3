//! Bulk data: XLSX registries through the CLI (with its error report) and
//! through the API; reruns change nothing.

use std::process::Command;

use reqwest::StatusCode;
use rust_xlsxwriter::Workbook;

use crate::helpers::{commune_of, fresh_database, strings, Expect, TestApp, NINH_BINH};

const BIN: &str = env!("CARGO_BIN_EXE_kiemtra");

/// A registry workbook: 30 good rows, 3 broken ones (rows 12, 20, 33).
fn workbook(commune: &str) -> Vec<u8> {
    let mut wb = Workbook::new();
    let ws = wb.add_worksheet();
    let header = [
        "licence_no",
        "name",
        "business_type",
        "org_unit_code",
        "address",
        "owner_name",
        "phone",
        "latitude",
        "longitude",
    ];
    for (c, h) in header.iter().enumerate() {
        ws.write_string(0, c as u16, *h).unwrap();
    }
    for i in 0..33u32 {
        let r = i + 1;
        let btype = match i {
            10 => "casino",
            _ => "karaoke",
        };
        let unit = if i == 18 { "99999" } else { commune };
        ws.write_string(r, 0, format!("X-{i:03}")).unwrap();
        ws.write_string(r, 1, format!("Karaoke Hoàng Gia {i}"))
            .unwrap();
        ws.write_string(r, 2, btype).unwrap();
        ws.write_string(r, 3, unit).unwrap();
        ws.write_string(r, 4, format!("Số {i}, đường Trần Hưng Đạo"))
            .unwrap();
        ws.write_string(r, 5, "Nguyễn Văn An").unwrap();
        ws.write_string(r, 6, "0912345678").unwrap();
        if i == 31 {
            ws.write_string(r, 7, "bắc").unwrap();
        } else {
            ws.write_number(r, 7, 20.25).unwrap();
        }
        ws.write_number(r, 8, 105.97).unwrap();
    }
    wb.save_to_buffer().unwrap()
}

#[test]
fn cli_imports_xlsx_reports_bad_rows_and_reruns_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let db = fresh_database(dir.path());
    let units = dir.path().join("units.csv");
    std::fs::write(&units, NINH_BINH).unwrap();
    let out = Command::new(BIN)
        .args(["import", "org-units"])
        .arg(&units)
        .env("DATABASE_URL", &db)
        .output()
        .unwrap();
    assert!(out.status.success());
    let file = dir.path().join("registry.xlsx");
    std::fs::write(&file, workbook(&commune_of("372"))).unwrap();
    let run = || {
        Command::new(BIN)
            .args(["import", "establishments"])
            .arg(&file)
            .env("DATABASE_URL", &db)
            .output()
            .unwrap()
    };
    let out = run();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stdout.contains("created 30, updated 0, unchanged 0, errors 3"),
        "{stdout}"
    );
    assert!(stderr.contains("33/33 rows"), "progress: {stderr}");
    let report = std::fs::read_to_string(dir.path().join("registry.errors.csv")).unwrap();
    let lines: Vec<&str> = report.lines().collect();
    assert_eq!(lines[0], "row,field,reason");
    assert!(lines[1].starts_with("12,business_type,"), "{report}");
    assert!(lines[2].starts_with("20,org_unit_code,"), "{report}");
    assert!(lines[3].starts_with("33,latitude,"), "{report}");
    let again = run();
    assert!(String::from_utf8_lossy(&again.stdout)
        .contains("created 0, updated 0, unchanged 30, errors 3"));
}

/// Posts `body` as an XLSX registry.
async fn post_xlsx(app: &TestApp, admin: &str, body: Vec<u8>) -> reqwest::Response {
    app.client
        .post(app.url("/api/v1/establishments/import"))
        .bearer_auth(admin)
        .header(
            "content-type",
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        )
        .body(body)
        .send()
        .await
        .unwrap()
}

/// The units and [`workbook`] of commune 373 imported through the API.
async fn xlsx_imported() -> (TestApp, String) {
    let (app, admin) = TestApp::init().with_ninh_binh().with_admin().await;
    let resp = post_xlsx(&app, &admin, workbook(&commune_of("373"))).await;
    assert_eq!(resp.status(), StatusCode::OK);
    let body: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(body["created"], 30);
    assert_eq!(body["errors"].as_array().unwrap().len(), 3);
    (app, admin)
}

#[actix_web::test]
async fn the_api_accepts_an_xlsx_registry() {
    let (app, admin) = xlsx_imported().await;
    let resp = post_xlsx(&app, &admin, b"not a workbook".to_vec()).await;
    assert_eq!(resp.status(), StatusCode::UNPROCESSABLE_ENTITY);
}

#[actix_web::test]
async fn search_ignores_case_and_diacritics() {
    let (app, admin) = xlsx_imported().await;
    let found = app
        .get_ok("/api/v1/establishments?q=hoang%20gia%207&limit=500", &admin)
        .await;
    assert_eq!(
        strings(&found["items"], "name"),
        vec!["Karaoke Hoàng Gia 7"]
    );
    let found = app
        .get_ok("/api/v1/establishments?q=HOÀNG%20GIA&limit=500", &admin)
        .await;
    assert_eq!(found["items"].as_array().unwrap().len(), 30);
}

/// The 2025 reform: districts disappear, communes hang from the province.
/// Establishments keep their commune; plans for the new structure use
/// commune-level teams (Hà Nội-style 60% at commune level).
#[actix_web::test]
async fn two_level_structure_after_the_2025_reform() {
    let (app, admin) = TestApp::init().with_ninh_binh().with_admin().await;
    let units_2025: String = include_str!("../../data/vn-admin-units-2025.csv")
        .lines()
        .enumerate()
        .filter(|(i, l)| *i == 0 || l.starts_with("37,") || l.ends_with(",37"))
        .map(|(_, l)| format!("{l}\n"))
        .collect();
    // A commune that exists in both structures, and its 2024 district.
    let shared = units_2025
        .lines()
        .filter_map(|l| l.split(',').next())
        .find(|c| {
            NINH_BINH
                .lines()
                .any(|l| l.starts_with(&format!("{c},")) && l.contains(",commune,"))
        })
        .unwrap()
        .to_string();
    let old_district = NINH_BINH
        .lines()
        .find(|l| l.starts_with(&format!("{shared},")))
        .unwrap()
        .rsplit(',')
        .next()
        .unwrap()
        .to_string();
    for i in 0..10 {
        app.establishment(
            &admin,
            &format!("R25-{i}"),
            &shared,
            if i % 2 == 0 { "karaoke" } else { "spa" },
        )
        .await;
    }
    let before = app
        .get_ok(
            &format!("/api/v1/establishments?org_unit={old_district}"),
            &admin,
        )
        .await;
    assert_eq!(before["items"].as_array().unwrap().len(), 10);

    let r = app
        .post_csv("/api/v1/org-units/import", &admin, &units_2025)
        .await
        .expect(StatusCode::OK);
    assert_eq!(r["errors"], serde_json::json!([]));
    let unit = app
        .get_ok(&format!("/api/v1/org-units/{shared}"), &admin)
        .await;
    assert_eq!(unit["parent_code"], "37");
    // The establishments kept their commune and now sit directly under the province.
    let moved = app
        .get_ok(&format!("/api/v1/establishments?org_unit={shared}"), &admin)
        .await;
    assert_eq!(moved["items"].as_array().unwrap().len(), 10);
    assert!(moved["items"]
        .as_array()
        .unwrap()
        .iter()
        .all(|e| e["org_unit_code"] == shared.as_str()));
    let old = app
        .get_ok(
            &format!("/api/v1/establishments?org_unit={old_district}"),
            &admin,
        )
        .await;
    assert_eq!(old["items"].as_array().unwrap().len(), 0);

    // A commune-level team and a 60% commune-level plan.
    app.post_created(
        "/api/v1/teams",
        &admin,
        serde_json::json!({"name": "Đội xã", "level": "commune", "org_unit_code": shared}),
    )
    .await;
    let p = app
        .create_plan(&admin, serde_json::json!({"name": "2026", "year": 2026, "org_unit_code": "37", "shares": [{"level": "commune", "percent": 60}]}))
        .await;
    let d = app.draw(&admin, p["id"].as_str().unwrap()).await;
    assert_eq!(d["quotas"][0]["eligible"], 10);
    assert_eq!(d["quotas"][0]["quota"], 6);
    assert_eq!(d["assignments"], 6);
}
