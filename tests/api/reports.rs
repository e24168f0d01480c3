//! The periodic report: one content as JSON, CSV, XLSX and PDF; period and
//! year-to-date counts; a refusal at the door is not an inspection.

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::{commune_of, TestApp, User, BUSINESS_TYPES};

const XLSX: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";

/// A drawn plan "20/KH-BCĐ"; team 373 filed in Q2 minutes with two fines
/// (5 and 12 million đồng) and a warning, a refused entry (of an
/// establishment named like a formula), and in Q3 clean minutes.
struct Reported {
    app: TestApp,
    admin: String,
    plan: String,
    lead: User,
    /// The minutes posted, in order.
    minutes: Vec<String>,
}

impl std::ops::Deref for Reported {
    type Target = TestApp;
    fn deref(&self) -> &TestApp {
        &self.app
    }
}

impl Reported {
    fn report(&self, period: &str) -> String {
        format!("/api/v1/reports?plan_id={}&period={period}", self.plan)
    }
}

async fn reported() -> Reported {
    let (app, admin) = TestApp::init()
        .with_establishments(80)
        .with_teams()
        .with_admin()
        .await;
    let plan = app
        .create_plan(&admin, json!({"name": "Kế hoạch 20/KH-BCĐ phòng, chống mại dâm năm 2016", "year": 2016,
            "org_unit_code": "37", "shares": [{"level": "province", "percent": 10}, {"level": "district", "percent": 40}],
            "stratify_by": ["business_type"], "risk_weighting": false}))
        .await["id"]
        .as_str()
        .unwrap()
        .to_string();
    app.draw(&admin, &plan).await;
    let formula = app
        .post_created(
            "/api/v1/establishments",
            &admin,
            json!({"licence_no": "F-1", "name": "=HYPERLINK(\"x\")", "business_type": "guest_house",
                   "org_unit_code": commune_of("373"), "address": "Số 1"}),
        )
        .await;
    let team = app.teams["373"].clone();
    let lead = app.inspector("lead373", "373").await;
    let mine = app
        .get_ok(&format!("/api/v1/teams/{team}/assignments"), &lead.token)
        .await;
    let mine = mine["items"].as_array().unwrap().clone();
    let mut minutes = Vec::new();
    let fines = json!([{"code": "LABOUR_CONTRACT", "sanction": "fine", "fine_vnd": 5000000},
        {"code": "KARAOKE_LIGHT", "sanction": "fine", "fine_vnd": 12000000},
        {"code": "GUEST_REGISTER", "sanction": "warning"}]);
    for (est, assignment, day, outcome, violations) in [
        (
            &mine[0]["establishment"]["id"],
            &mine[0]["id"],
            "2016-05-10",
            "violations_found",
            fines,
        ),
        (
            &formula["id"],
            &Value::Null,
            "2016-06-20",
            "refused_entry",
            json!([]),
        ),
        (
            &mine[1]["establishment"]["id"],
            &mine[1]["id"],
            "2016-08-01",
            "no_violation",
            json!([]),
        ),
    ] {
        let id = uuid::Uuid::new_v4().to_string();
        minutes.push(id.clone());
        app.post_created("/api/v1/inspections", &lead.token, json!({"id": id,
            "assignment_id": assignment, "establishment_id": est, "team_id": team,
            "started_at": format!("{day}T08:00:00+07:00"), "finished_at": format!("{day}T09:00:00+07:00"),
            "members_present": [lead.id], "outcome": outcome, "violations": violations}))
            .await;
    }
    Reported {
        app,
        admin,
        plan,
        lead,
        minutes,
    }
}

/// Keeps a rendered file under `$KIEMTRA_KEEP_DIR`, if set, to look at.
fn keep(name: &str, bytes: &[u8]) {
    if let Ok(dir) = std::env::var("KIEMTRA_KEEP_DIR") {
        std::fs::write(std::path::Path::new(&dir).join(name), bytes).unwrap();
    }
}

fn line<'a>(items: &'a Value, key: &str, value: &str) -> &'a Value {
    items
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x[key] == value)
        .unwrap_or_else(|| panic!("no {key}={value} in {items}"))
}

#[actix_web::test]
async fn a_refusal_at_the_door_is_a_visit_not_an_inspection() {
    let w = reported().await;
    let q2 = w.get_ok(&w.report("Q2"), &w.admin).await;
    assert_eq!(q2["summary"]["inspected"], 1, "{}", q2["summary"]);
    assert_eq!(q2["summary"]["inspected_in_period"], 1);
    let refused = line(&q2["outcomes"], "outcome", "refused_entry");
    assert_eq!(refused["visits"]["period"], 1);
    assert_eq!(refused["counts_as_inspected"], false);
    assert!(q2["inspected_definition"]
        .as_str()
        .unwrap()
        .contains("không tính là đã kiểm tra"));
    let year = w.get_ok(&w.report("year"), &w.admin).await;
    assert_eq!(year["summary"]["inspected"], 2);
    // Q3: one inspected in the period, two since January.
    let q3 = w.get_ok(&w.report("Q3"), &w.admin).await;
    assert_eq!(q3["summary"]["inspected_in_period"], 1);
    assert_eq!(q3["summary"]["inspected"], 2);
    let district = line(&q3["levels"], "level", "district");
    assert_eq!(district["inspected"]["period"], 1);
    assert_eq!(district["inspected"]["year_to_date"], 2);
    assert!(district["quota"].as_i64().unwrap() > 0);
}

#[actix_web::test]
async fn the_json_report_has_sanctions_title_and_offsets() {
    let w = reported().await;
    let r = w.get_ok(&w.report("Q2"), &w.admin).await;
    let fine = line(&r["sanctions"], "sanction", "fine");
    assert_eq!(fine["count"]["period"], 2);
    assert_eq!(fine["fines_vnd"]["period"], 17_000_000);
    assert_eq!(
        line(&r["sanctions"], "sanction", "warning")["count"]["period"],
        1
    );
    assert_eq!(
        line(&r["sanctions"], "sanction", "total")["count"]["period"],
        3
    );
    assert_eq!(
        r["title"]["subject"],
        "Kết quả thực hiện Kế hoạch 20/KH-BCĐ phòng, chống mại dâm năm 2016 Quý II năm 2016"
    );
    assert_eq!(
        r["title"]["period_dates"],
        "(Từ ngày 01/04/2016 đến ngày 30/06/2016)"
    );
    let generated = r["generated_at"].as_str().unwrap();
    assert!(generated.ends_with("+07:00"), "{generated}");
    assert!(chrono::DateTime::parse_from_rfc3339(generated).is_ok());
    assert!(r["closed_or_refused"][0]["finished_at"]
        .as_str()
        .unwrap()
        .ends_with("+07:00"));
    let light = line(&r["violations_by_code"], "code", "KARAOKE_LIGHT");
    assert_eq!(light["title"], "Ánh sáng phòng karaoke dưới 10 lux");
    assert_eq!(light["legal_basis"], "Nghị định 38/2021/NĐ-CP, Điều 15");
    assert!(r["audit_head"].as_str().unwrap().contains(':'));
    for g in r["coverage_by_business_type"].as_array().unwrap() {
        assert!(
            !BUSINESS_TYPES.contains(&g["name"].as_str().unwrap()),
            "{g}"
        );
    }
}

#[actix_web::test]
async fn the_csv_report_starts_with_a_bom_and_defuses_formulas() {
    let w = reported().await;
    let (s, bytes) = w.get_as(&w.report("Q2"), &w.admin, "text/csv").await;
    assert_eq!(s, StatusCode::OK);
    assert!(bytes.starts_with("\u{feff}".as_bytes()));
    let text = String::from_utf8(bytes).unwrap();
    assert!(text.contains(",\"'=HYPERLINK"), "{text}");
    assert!(!text.contains(",\"=HYPERLINK") && !text.contains(",=HYPERLINK"));
    assert!(text.contains("Lũy kế từ đầu năm"));
}

/// A sheet's name and rows.
type Sheet = (String, Vec<Vec<calamine::Data>>);

/// The cells of every sheet of an XLSX, and its sheet names.
fn xlsx_cells(bytes: &[u8]) -> (Vec<String>, Vec<Sheet>) {
    use calamine::{Reader, Xlsx};
    let mut wb: Xlsx<_> = Xlsx::new(std::io::Cursor::new(bytes.to_vec())).unwrap();
    let names = wb.sheet_names();
    let sheets = names
        .iter()
        .map(|n| {
            let range = wb.worksheet_range(n).unwrap();
            (n.clone(), range.rows().map(|r| r.to_vec()).collect())
        })
        .collect();
    (names, sheets)
}

/// The text of a file stored in a ZIP (deflated or stored).
fn unzip(bytes: &[u8], name: &str) -> String {
    use std::io::Read;
    let mut i = 0;
    while i + 30 < bytes.len() {
        if bytes[i..i + 4] == [0x50, 0x4b, 0x03, 0x04] {
            let u16_at = |o: usize| u16::from_le_bytes([bytes[o], bytes[o + 1]]) as usize;
            let u32_at =
                |o: usize| u32::from_le_bytes(bytes[o..o + 4].try_into().unwrap()) as usize;
            let (method, size) = (u16_at(i + 8), u32_at(i + 18));
            let (nlen, xlen) = (u16_at(i + 26), u16_at(i + 28));
            let fname = String::from_utf8_lossy(&bytes[i + 30..i + 30 + nlen]).to_string();
            let start = i + 30 + nlen + xlen;
            if fname == name {
                let data = &bytes[start..start + size];
                let mut out = String::new();
                if method == 8 {
                    flate2::read::DeflateDecoder::new(data)
                        .read_to_string(&mut out)
                        .unwrap();
                } else {
                    out = String::from_utf8(data.to_vec()).unwrap();
                }
                return out;
            }
            i = start + size;
        } else {
            i += 1;
        }
    }
    panic!("{name} not in the archive")
}

#[actix_web::test]
async fn the_xlsx_report_prints_in_vietnamese_with_the_summary_first() {
    use calamine::Data;
    let w = reported().await;
    let resp = w
        .client
        .get(w.app.url(&w.report("Q2")))
        .bearer_auth(&w.admin)
        .header("Accept", XLSX)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(
        resp.headers()["content-disposition"].to_str().unwrap(),
        "attachment; filename=\"bao-cao-KH20-2016-Q2.xlsx\""
    );
    let bytes = resp.bytes().await.unwrap().to_vec();
    let (names, sheets) = xlsx_cells(&bytes);
    assert_eq!(names[0], "Tổng hợp");
    let texts: Vec<String> = sheets
        .iter()
        .flat_map(|(_, rows)| rows.iter().flatten())
        .filter_map(|c| match c {
            Data::String(s) => Some(s.clone()),
            _ => None,
        })
        .collect();
    let summary = &sheets[0].1;
    let first_texts: Vec<String> = summary
        .iter()
        .flatten()
        .filter_map(|c| match c {
            Data::String(s) => Some(s.clone()),
            _ => None,
        })
        .collect();
    for expected in [
        "BÁO CÁO",
        "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM",
        "Trong kỳ báo cáo",
        "Lũy kế từ đầu năm",
    ] {
        assert!(
            first_texts.iter().any(|t| t == expected),
            "{expected}: {first_texts:?}"
        );
    }
    assert!(first_texts.iter().any(|t| t.contains("Quý II năm 2016")));
    // Dates are dates.
    assert!(summary
        .iter()
        .flatten()
        .any(|c| matches!(c, Data::DateTime(_))));
    let refused = &sheets
        .iter()
        .find(|(n, _)| n == "Đóng cửa - từ chối")
        .unwrap()
        .1;
    assert!(
        matches!(refused[1][4], Data::DateTime(_)),
        "{:?}",
        refused[1]
    );
    // No English business type code, no English catalogue title.
    for t in &texts {
        assert!(!BUSINESS_TYPES.contains(&t.as_str()), "{t}");
        assert!(!t.contains(" / "), "{t}");
    }
    // The refusal is not inspected: the levels' total row, year to date.
    let total = summary
        .iter()
        .find(|r| r.first() == Some(&Data::String("Tổng cộng".into())) && r.len() >= 6)
        .unwrap();
    assert_eq!(total[4], Data::Float(1.0), "{total:?}");
    // Landscape, one page wide.
    let sheet1 = unzip(&bytes, "xl/worksheets/sheet1.xml");
    assert!(sheet1.contains("orientation=\"landscape\""), "{sheet1}");
    assert!(
        sheet1.contains("fitToWidth=\"1\"") || sheet1.contains("fitToPage=\"1\""),
        "{sheet1}"
    );
    let sheet2 = unzip(&bytes, "xl/worksheets/sheet2.xml");
    assert!(sheet2.contains("state=\"frozen\""), "{sheet2}");
    assert!(unzip(&bytes, "xl/workbook.xml").contains("Print_Titles"));
}

#[actix_web::test]
async fn the_pdf_report_holds_the_title_and_the_totals() {
    let w = reported().await;
    let (s, bytes) = w.get_as(&w.report("Q2"), &w.admin, "application/pdf").await;
    assert_eq!(s, StatusCode::OK);
    assert!(bytes.starts_with(b"%PDF-"));
    keep("report.pdf", &bytes);
    let text = pdf_extract::extract_text_from_mem(&bytes).unwrap();
    let flat = text.split_whitespace().collect::<Vec<_>>().join(" ");
    for expected in [
        "BÁO CÁO",
        "Kết quả thực hiện Kế hoạch 20/KH-BCĐ",
        "Quý II năm 2016",
        "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM",
        "17.000.000",
        "Cơ sở không chấp hành kiểm tra",
    ] {
        assert!(flat.contains(expected), "{expected} not in {flat}");
    }
    assert!(bytes.len() < 400_000, "{}", bytes.len());
}

#[actix_web::test]
async fn a_district_inspector_reads_only_its_area_in_the_report() {
    let w = reported().await;
    let r = w.get_ok(&w.report("Q2"), &w.lead.token).await;
    for g in r["coverage_by_org_unit"].as_array().unwrap() {
        assert_eq!(g["key"], "373");
    }
}

#[actix_web::test]
async fn the_bien_ban_pdf_names_the_establishment_and_is_404_outside_the_area() {
    let w = reported().await;
    let id = &w.minutes[0];
    let m = w
        .get_ok(&format!("/api/v1/inspections/{id}"), &w.admin)
        .await;
    let e = w
        .get_ok(
            &format!(
                "/api/v1/establishments/{}",
                m["establishment_id"].as_str().unwrap()
            ),
            &w.admin,
        )
        .await;
    let name = e["name"].as_str().unwrap();
    let url = format!("/api/v1/inspections/{id}/bien-ban.pdf");
    let (s, bytes) = w.get_as(&url, &w.lead.token, "application/pdf").await;
    assert_eq!(s, StatusCode::OK);
    keep("bien-ban.pdf", &bytes);
    let text = pdf_extract::extract_text_from_mem(&bytes).unwrap();
    let flat = text.split_whitespace().collect::<Vec<_>>().join(" ");
    for expected in [
        name,
        "BIÊN BẢN KIỂM TRA",
        "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM",
        "Độc lập - Tự do - Hạnh phúc",
        "Ánh sáng phòng karaoke dưới 10 lux",
        "Nghị định 38/2021/NĐ-CP, Điều 15",
        "12.000.000 đồng",
    ] {
        assert!(flat.contains(expected), "{expected} not in {flat}");
    }
    let other = w.supervisor("sup372", "372").await;
    let (s, _) = w.get_as(&url, &other, "application/pdf").await;
    assert_eq!(s, StatusCode::NOT_FOUND);
}

/// A drawn plan with a document number and issuing body, and an admin.
async fn numbered() -> (TestApp, String, String) {
    let (app, admin) = TestApp::init()
        .with_establishments(30)
        .with_teams()
        .with_admin()
        .await;
    let plan = app
        .create_plan(
            &admin,
            json!({"name": "Kế hoạch phòng, chống mại dâm năm 2016", "year": 2016,
                   "org_unit_code": "37", "number": " 20/KH-BCĐ ",
                   "issuing_body": "BAN CHỈ ĐẠO 138 TỈNH NINH BÌNH"}),
        )
        .await;
    assert_eq!(plan["number"], "20/KH-BCĐ", "{plan}");
    assert_eq!(plan["issuing_body"], "BAN CHỈ ĐẠO 138 TỈNH NINH BÌNH");
    let id = plan["id"].as_str().unwrap().to_string();
    app.draw(&admin, &id).await;
    (app, admin, id)
}

#[actix_web::test]
async fn the_plans_number_and_issuing_body_head_the_report_and_name_its_files() {
    let (app, admin, plan) = numbered().await;
    let got = app.get_ok(&format!("/api/v1/plans/{plan}"), &admin).await;
    assert_eq!(got["number"], "20/KH-BCĐ");
    assert_eq!(got["issuing_body"], "BAN CHỈ ĐẠO 138 TỈNH NINH BÌNH");
    let url = format!("/api/v1/reports?plan_id={plan}&period=Q2");
    let r = app.get_ok(&url, &admin).await;
    assert_eq!(r["plan_number"], "20/KH-BCĐ");
    assert_eq!(r["title"]["issuer"][1], "BAN CHỈ ĐẠO 138 TỈNH NINH BÌNH");
    assert_eq!(r["title"]["number_line"], "Số:        /BC-BCĐ");
    assert_eq!(
        r["title"]["subject"],
        "Kết quả thực hiện Kế hoạch số 20/KH-BCĐ Quý II năm 2016"
    );
    assert!(r["title"]["place_date"]
        .as_str()
        .unwrap()
        .starts_with("Ninh Bình, ngày "));
    for (accept, name) in [
        (XLSX, "bao-cao-KH20-2016-Q2.xlsx"),
        ("application/pdf", "bao-cao-KH20-2016-Q2.pdf"),
        ("text/csv", "bao-cao-KH20-2016-Q2.csv"),
    ] {
        let resp = app
            .client
            .get(app.url(&url))
            .bearer_auth(&admin)
            .header("Accept", accept)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), StatusCode::OK);
        assert_eq!(
            resp.headers()["content-disposition"].to_str().unwrap(),
            format!("attachment; filename=\"{name}\"")
        );
        let bytes = resp.bytes().await.unwrap().to_vec();
        if accept == XLSX {
            let (_, sheets) = xlsx_cells(&bytes);
            let first: Vec<String> = sheets[0]
                .1
                .iter()
                .flatten()
                .filter_map(|c| match c {
                    calamine::Data::String(s) => Some(s.clone()),
                    _ => None,
                })
                .collect();
            for expected in [
                "BAN CHỈ ĐẠO 138 TỈNH NINH BÌNH",
                "Số:        /BC-BCĐ",
                "Kết quả thực hiện Kế hoạch số 20/KH-BCĐ Quý II năm 2016",
            ] {
                assert!(first.iter().any(|t| t == expected), "{expected}: {first:?}");
            }
        }
    }
}

#[actix_web::test]
async fn a_plans_number_is_changed_by_patch_with_its_version_and_audited() {
    let (app, admin, plan) = numbered().await;
    let url = format!("/api/v1/plans/{plan}");
    let before = app.get_ok(&url, &admin).await;
    let version = before["version"].as_i64().unwrap();
    let send = |token: &str, if_match: Option<i64>, body: Value| {
        let mut req = app
            .client
            .patch(app.url(&url))
            .bearer_auth(token)
            .json(&body);
        if let Some(v) = if_match {
            req = req.header("If-Match", v.to_string());
        }
        async move {
            let resp = req.send().await.unwrap();
            let s = resp.status();
            (s, resp.json::<Value>().await.unwrap_or(Value::Null))
        }
    };
    // A stale version is 412, and nothing changes.
    let (s, _) = send(&admin, Some(version + 5), json!({"number": "21/KH-BCĐ"})).await;
    assert_eq!(s, StatusCode::PRECONDITION_FAILED);
    // Too long, or not one line: 422 naming the field.
    let (s, body) = send(&admin, None, json!({"number": "9".repeat(51)})).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["errors"][0]["field"], "number");
    let (s, body) = send(&admin, None, json!({"issuing_body": "BAN\u{1}"})).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["errors"][0]["field"], "issuing_body");
    // An inspector may not; a supervisor of another province's district sees nothing.
    let inspector = app.inspector("insp373", "373").await;
    let (s, _) = send(&inspector.token, None, json!({"number": "1/KH"})).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let district = app.supervisor("sup372", "372").await;
    let (s, _) = send(&district, None, json!({"number": "1/KH"})).await;
    assert_eq!(
        s,
        StatusCode::NOT_FOUND,
        "a plan above the caller's area is not writable"
    );
    assert_eq!(app.get_ok(&url, &admin).await["number"], "20/KH-BCĐ");
    // The right version: the number changes, the issuing body stays.
    let (s, after) = send(&admin, Some(version), json!({"number": "21/KH-BCĐ"})).await;
    assert_eq!(s, StatusCode::OK, "{after}");
    assert_eq!(after["number"], "21/KH-BCĐ");
    assert_eq!(after["issuing_body"], "BAN CHỈ ĐẠO 138 TỈNH NINH BÌNH");
    assert_eq!(after["version"].as_i64().unwrap(), version + 1);
    assert_eq!(after["status"], "drawn");
    assert_eq!(
        app.scalar(&format!(
            "SELECT COUNT(*) AS n FROM audit_log WHERE action = 'plan.update' AND entity_id = '{plan}'"
        )),
        1
    );
    let r = app
        .get_ok(
            &format!("/api/v1/reports?plan_id={plan}&period=year"),
            &admin,
        )
        .await;
    assert_eq!(
        r["title"]["subject"],
        "Kết quả thực hiện Kế hoạch số 21/KH-BCĐ năm 2016"
    );
    // An empty string clears it: the title falls back on the plan's name.
    let (s, cleared) = send(&admin, None, json!({"number": ""})).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(cleared["number"], Value::Null);
    assert_eq!(app.get_ok(&url, &admin).await["number"], Value::Null);
}

#[actix_web::test]
async fn a_plan_with_a_number_too_long_is_not_created() {
    let (app, admin) = TestApp::init().with_establishments(1).with_admin().await;
    let (s, body) = app
        .post(
            "/api/v1/plans",
            &admin,
            json!({"name": "KH", "year": 2016, "org_unit_code": "37", "number": "x".repeat(51)}),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["errors"][0]["field"], "number");
    assert_eq!(app.count("plans"), 0);
}

#[actix_web::test]
async fn the_consoles_plan_form_takes_the_number_and_issuing_body() {
    use crate::console::Console;
    let (app, admin) = TestApp::init().with_establishments(5).with_admin().await;
    let mut c = Console::sign_in(&app, "admin").await;
    let token = c.csrf("/console/plans").await;
    let (status, headers, body) = c
        .post(
            "/console/plans",
            &[
                ("csrf_token", &token),
                ("name", "Kế hoạch 2016"),
                ("year", "2016"),
                ("org_unit_code", "37"),
                ("number", "20/KH-BCĐ"),
                ("issuing_body", "BAN CHỈ ĐẠO 138 TỈNH NINH BÌNH"),
                ("level", "province"),
                ("percent", "10"),
                ("stratify_by", "business_type"),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{body}");
    let location = headers["location"].to_str().unwrap();
    let id = location
        .trim_start_matches("/console/plans/")
        .split('?')
        .next()
        .unwrap();
    let plan = app.get_ok(&format!("/api/v1/plans/{id}"), &admin).await;
    assert_eq!(plan["number"], "20/KH-BCĐ");
    assert_eq!(plan["issuing_body"], "BAN CHỈ ĐẠO 138 TỈNH NINH BÌNH");
}
