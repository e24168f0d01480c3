//! The web console in a real headless Chromium (Debian's package): sign in;
//! accept one minutes and return another with a comment (the API then
//! shows both reviews); import a workbook with one bad row and fetch its
//! error file; see the warning before drawing a plan with a district that
//! has no team, draw it, fetch its round input and verify it; a form posted without its CSRF token is refused; a
//! supervisor of 372 gets 404 for a 373 page. A plain `cargo test` lists it
//! as ignored; `.ci/run` runs it by name:
//! `cargo test --test api -- --ignored --exact console_browser::a_supervisor_works_through_the_console_in_chromium`.

use std::time::Duration;

use headless_chrome::{Browser, LaunchOptions, Tab};
use serde_json::json;

use crate::helpers::{commune_of, TestApp, PASSWORD};

fn sign_in(tab: &Tab, base: &str, user: &str) {
    tab.navigate_to(&format!("{base}/")).unwrap();
    tab.wait_for_element("input[name=username]")
        .unwrap()
        .click()
        .unwrap();
    tab.type_str(user).unwrap();
    tab.find_element("input[name=password]")
        .unwrap()
        .click()
        .unwrap();
    tab.type_str(PASSWORD).unwrap();
    tab.find_element("button[data-action=login]")
        .unwrap()
        .click()
        .unwrap();
    let h1 = tab.wait_for_xpath("//h1[text()='Tổng quan']");
    assert!(h1.is_ok(), "not signed in: {}", tab.get_content().unwrap());
}

/// Runs `js` (an async function body) in the page; its string result.
fn eval(tab: &Tab, js: &str) -> String {
    let v = tab
        .evaluate(&format!("(async () => {{ {js} }})()"), true)
        .unwrap();
    v.value
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}

/// A workbook with three establishments of `unit`, the second with an
/// unknown business type.
fn workbook(unit: &str) -> Vec<u8> {
    let mut book = rust_xlsxwriter::Workbook::new();
    let sheet = book.add_worksheet();
    let rows = [
        [
            "licence_no",
            "name",
            "business_type",
            "org_unit_code",
            "address",
        ],
        ["X-1", "Karaoke Hoa Sen", "karaoke", unit, "Số 1"],
        ["X-2", "Nhà nghỉ Bình An", "space_station", unit, "Số 2"],
        ["X-3", "Spa Thu Hà", "spa", unit, "Số 3"],
    ];
    for (r, row) in rows.iter().enumerate() {
        for (c, v) in row.iter().enumerate() {
            sheet.write_string(r as u32, c as u16, *v).unwrap();
        }
    }
    book.save_to_buffer().unwrap()
}

#[actix_web::test]
#[ignore = "needs chromium; .ci/run runs it"]
async fn a_supervisor_works_through_the_console_in_chromium() {
    // Teams for the province and every district but 373.
    let mut builder = TestApp::init().with_team("37");
    for d in ["370", "372", "374", "375", "376", "377"] {
        builder = builder.with_team(d);
    }
    let (app, admin) = builder.with_admin().await;
    let a = app
        .establishment(&admin, "K-1", &commune_of("372"), "karaoke")
        .await;
    let b = app
        .establishment(&admin, "K-2", &commune_of("372"), "massage")
        .await;
    let far = app
        .establishment(&admin, "K-3", &commune_of("373"), "spa")
        .await;
    let lead = app.inspector("lead", "372").await;
    let team = app.teams["372"].clone();
    let mut minutes = vec![];
    for e in [&a, &b] {
        let m = app
            .post_created(
                "/api/v1/inspections",
                &lead.token,
                json!({
                    "id": uuid::Uuid::new_v4().to_string(),
                    "establishment_id": e["id"], "team_id": team,
                    "started_at": "2016-07-01T09:00:00+07:00", "finished_at": "2016-07-01T10:00:00+07:00",
                    "members_present": [lead.id], "outcome": "no_violation", "violations": []
                }),
            )
            .await;
        minutes.push(m["id"].as_str().unwrap().to_string());
    }
    let plan = app
        .create_plan(
            &admin,
            json!({"name": "Kế hoạch 2016", "year": 2016, "org_unit_code": "37"}),
        )
        .await;
    let plan = plan["id"].as_str().unwrap().to_string();
    app.create_user("giamsat", "supervisor", Some("37"), None);
    app.create_user("giamsat372", "supervisor", Some("372"), None);

    let base = app.address.clone();
    let xlsx = tempfile::Builder::new().suffix(".xlsx").tempfile().unwrap();
    std::fs::write(xlsx.path(), workbook(&commune_of("372"))).unwrap();
    let xlsx_path = xlsx.path().display().to_string();
    let (first, second) = (minutes[0].clone(), minutes[1].clone());
    let (a_id, far_id) = (
        a["id"].as_str().unwrap().to_string(),
        far["id"].as_str().unwrap().to_string(),
    );
    actix_web::rt::task::spawn_blocking(move || {
        let browser = Browser::new(
            LaunchOptions::default_builder()
                .path(Some("/usr/bin/chromium".into()))
                .sandbox(false)
                .window_size(Some((1280, 900)))
                .build()
                .unwrap(),
        )
        .expect("chromium starts");
        let tab = browser.new_tab().unwrap();
        tab.set_default_timeout(Duration::from_secs(20));

        // Sign in.
        sign_in(&tab, &base, "giamsat");

        // The review queue lists both; accept one, return the other.
        tab.navigate_to(&format!("{base}/console/review")).unwrap();
        let queue = tab.wait_for_element("#review-queue").unwrap().get_content().unwrap();
        assert!(queue.contains(&first) && queue.contains(&second), "{queue}");
        tab.navigate_to(&format!("{base}/console/inspections/{first}")).unwrap();
        tab.wait_for_element("input[name=decision][value=accepted]").unwrap().click().unwrap();
        tab.find_element("button[data-action=review]").unwrap().click().unwrap();
        let done = tab.wait_for_element(".notice").unwrap().get_inner_text().unwrap();
        assert_eq!(done, "Đã chấp nhận biên bản.");
        tab.navigate_to(&format!("{base}/console/inspections/{second}")).unwrap();
        tab.wait_for_element("input[name=decision][value=returned]").unwrap().click().unwrap();
        tab.find_element("textarea[name=comment]").unwrap().click().unwrap();
        tab.type_str("Thiếu chữ ký của chủ cơ sở").unwrap();
        tab.find_element("button[data-action=review]").unwrap().click().unwrap();
        let done = tab.wait_for_element(".notice").unwrap().get_inner_text().unwrap();
        assert_eq!(done, "Đã trả lại biên bản kèm ý kiến.");

        // Import a workbook with one bad row (the script sends it with a
        // progress bar), then fetch the row-error file.
        tab.navigate_to(&format!("{base}/console/establishments/import")).unwrap();
        tab.wait_for_element("input[name=file]")
            .unwrap()
            .set_input_files(&[&xlsx_path])
            .unwrap();
        tab.find_element("button[data-action=import]").unwrap().click().unwrap();
        let errors = tab.wait_for_element("#error-count").unwrap().get_inner_text().unwrap();
        assert_eq!(errors, "1");
        let created = tab.find_element("#created").unwrap().get_inner_text().unwrap();
        assert_eq!(created, "2");
        let file = eval(
            &tab,
            "const f = document.querySelector('form[action$=\"errors.csv\"]');
             const r = await fetch(f.action, {method: 'POST', body: new URLSearchParams(new FormData(f))});
             return r.status + ' ' + r.headers.get('content-disposition') + '\\n' + await r.text();",
        );
        assert!(file.starts_with("200 attachment"), "{file}");
        assert!(file.contains("\n3,business_type,"), "{file}");

        // The warning before drawing: district 373 has no team.
        tab.navigate_to(&format!("{base}/console/plans/{plan}")).unwrap();
        let w = tab
            .wait_for_element("#warnings li[data-kind=level_without_team][data-unit='373']")
            .unwrap()
            .get_inner_text()
            .unwrap();
        assert!(w.contains("chưa có đội cấp huyện"), "{w}");
        assert!(tab.find_element("button[data-action=draw]").is_ok());
        // Draw it (the confirmation answered yes), fetch round 1's input,
        // verify it.
        eval(&tab, "window.confirm = () => true; return '';");
        tab.find_element("button[data-action=draw]").unwrap().click().unwrap();
        tab.wait_for_element("#rounds tr[data-round='1']").unwrap();
        let input = eval(
            &tab,
            "const a = document.querySelector('#rounds a[data-action=download-input]');
             const r = await fetch(a.href);
             return r.status + ' ' + (await r.text()).slice(0, 20);",
        );
        assert!(input.starts_with("200 kiemtra-draw-input-v"), "{input}");
        tab.find_element("button[data-action=verify]").unwrap().click().unwrap();
        tab.wait_for_element("#verify-result[data-matches='true']").unwrap();

        // A form posted without its CSRF token is refused.
        let status = eval(
            &tab,
            &format!(
                "const r = await fetch('/console/establishments/{a_id}', {{method: 'POST',
                   headers: {{'Content-Type': 'application/x-www-form-urlencoded'}},
                   body: 'name=Tr%C3%A1i+ph%C3%A9p&version=1'}});
                 return String(r.status);"
            ),
        );
        assert_eq!(status, "403");

        // Sign out; a supervisor of 372 gets 404 for a 373 page.
        tab.find_element("button[data-action=logout]").unwrap().click().unwrap();
        tab.wait_for_element("input[name=username]").unwrap();
        sign_in(&tab, &base, "giamsat372");
        tab.navigate_to(&format!("{base}/console/establishments/{far_id}")).unwrap();
        let h1 = tab.wait_for_element("h1").unwrap().get_inner_text().unwrap();
        assert_eq!(h1, "Không tìm thấy");
        let status = eval(
            &tab,
            &format!("const r = await fetch('/console/establishments/{far_id}'); return String(r.status);"),
        );
        assert_eq!(status, "404");
        let status = eval(
            &tab,
            &format!("const r = await fetch('/console/establishments/{a_id}'); return String(r.status);"),
        );
        assert_eq!(status, "200");
    })
    .await
    .unwrap();

    // The API shows both reviews.
    let one = app
        .get_ok(&format!("/api/v1/inspections/{}", minutes[0]), &admin)
        .await;
    assert_eq!(one["review"]["status"], "accepted", "{one}");
    let two = app
        .get_ok(&format!("/api/v1/inspections/{}", minutes[1]), &admin)
        .await;
    assert_eq!(two["review"]["status"], "returned", "{two}");
    assert_eq!(two["review"]["comment"], "Thiếu chữ ký của chủ cơ sở");
    let name = app
        .get_ok(
            &format!("/api/v1/establishments/{}", a["id"].as_str().unwrap()),
            &admin,
        )
        .await;
    assert_eq!(
        name["name"], "Cơ sở K-1",
        "the form without a token changed nothing"
    );
}
