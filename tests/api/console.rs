//! The web console over plain HTTP (a client that keeps cookies, as a
//! browser does): sign-in, CSRF, the area's 404, a stale edit, the login
//! throttle, the review of minutes, the import's row errors, the pre-draw
//! warnings (also through the API). The same flows in Chromium are in
//! `console_browser`.

use std::collections::HashMap;

use reqwest::header::{HeaderMap, LOCATION, SET_COOKIE};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::helpers::{commune_of, Expect, TestApp, PASSWORD};

/// A cookie-keeping client of the console.
pub struct Console {
    client: reqwest::Client,
    base: String,
    cookies: HashMap<String, String>,
}

/// The value of the first `name="csrf_token" value="…"` of a page.
pub fn csrf_of(html: &str) -> String {
    let at = html
        .find("name=\"csrf_token\" value=\"")
        .unwrap_or_else(|| panic!("no CSRF field in {html}"));
    let rest = &html[at + "name=\"csrf_token\" value=\"".len()..];
    rest[..rest.find('"').unwrap()].to_string()
}

impl Console {
    /// A client with no cookie yet.
    pub fn new(app: &TestApp) -> Console {
        Console {
            client: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
            base: app.address.clone(),
            cookies: HashMap::new(),
        }
    }

    fn keep(&mut self, headers: &HeaderMap) {
        for v in headers.get_all(SET_COOKIE) {
            let v = v.to_str().unwrap();
            let pair = v.split(';').next().unwrap();
            let (name, value) = pair.split_once('=').unwrap();
            if value.is_empty() || v.contains("Max-Age=0") {
                self.cookies.remove(name);
            } else {
                self.cookies.insert(name.to_string(), value.to_string());
            }
        }
    }

    fn cookie_header(&self) -> String {
        self.cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    /// GET: status, headers, body.
    pub async fn get(&mut self, path: &str) -> (StatusCode, HeaderMap, String) {
        let resp = self
            .client
            .get(format!("{}{path}", self.base))
            .header("Cookie", self.cookie_header())
            .send()
            .await
            .unwrap();
        self.keep(resp.headers());
        let (status, headers) = (resp.status(), resp.headers().clone());
        (status, headers, resp.text().await.unwrap())
    }

    /// POST of a form: status, headers, body.
    pub async fn post(
        &mut self,
        path: &str,
        fields: &[(&str, &str)],
    ) -> (StatusCode, HeaderMap, String) {
        let resp = self
            .client
            .post(format!("{}{path}", self.base))
            .header("Cookie", self.cookie_header())
            .form(fields)
            .send()
            .await
            .unwrap();
        self.keep(resp.headers());
        let (status, headers) = (resp.status(), resp.headers().clone());
        (status, headers, resp.text().await.unwrap())
    }

    /// Signs in with `password` on the sign-in form; the answer.
    pub async fn try_sign_in(
        &mut self,
        user: &str,
        password: &str,
    ) -> (StatusCode, HeaderMap, String) {
        let (status, _, page) = self.get("/console/login").await;
        assert_eq!(status, StatusCode::OK);
        let token = csrf_of(&page);
        self.post(
            "/console/login",
            &[
                ("csrf_token", &token),
                ("username", user),
                ("password", password),
                ("next", "/console/"),
            ],
        )
        .await
    }

    /// Signs in (the helpers' password) and opens the overview.
    pub async fn sign_in(app: &TestApp, user: &str) -> Console {
        let mut c = Console::new(app);
        let (status, headers, body) = c.try_sign_in(user, PASSWORD).await;
        assert_eq!(status, StatusCode::SEE_OTHER, "{body}");
        assert_eq!(headers[LOCATION], "/console/");
        c
    }

    /// GET of a binary body (a PDF): status, headers, bytes.
    pub async fn get_bytes(&mut self, path: &str) -> (StatusCode, HeaderMap, Vec<u8>) {
        let resp = self
            .client
            .get(format!("{}{path}", self.base))
            .header("Cookie", self.cookie_header())
            .send()
            .await
            .unwrap();
        self.keep(resp.headers());
        let (status, headers) = (resp.status(), resp.headers().clone());
        (status, headers, resp.bytes().await.unwrap().to_vec())
    }

    /// POST of a `multipart/form-data` form, as a browser sends a file
    /// input: the text `fields`, then `file` (field name, file name, media
    /// type if any, bytes) when given. The answer, unread.
    pub async fn post_multipart(
        &mut self,
        path: &str,
        fields: &[(&str, &str)],
        file: Option<(&str, &str, Option<&str>, &[u8])>,
    ) -> reqwest::Response {
        let boundary = "kiemtra-test-boundary";
        let mut body = Vec::new();
        for (name, value) in fields {
            body.extend_from_slice(
                format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n")
                    .as_bytes(),
            );
        }
        if let Some((name, filename, media_type, bytes)) = file {
            body.extend_from_slice(
                format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"; filename=\"{filename}\"\r\n")
                    .as_bytes(),
            );
            if let Some(t) = media_type {
                body.extend_from_slice(format!("Content-Type: {t}\r\n").as_bytes());
            }
            body.extend_from_slice(b"\r\n");
            body.extend_from_slice(bytes);
            body.extend_from_slice(b"\r\n");
        }
        body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
        let resp = self
            .client
            .post(format!("{}{path}", self.base))
            .header("Cookie", self.cookie_header())
            .header(
                "Content-Type",
                format!("multipart/form-data; boundary={boundary}"),
            )
            .body(body)
            .send()
            .await
            .unwrap();
        self.keep(resp.headers());
        resp
    }

    /// A page's CSRF token (the session's).
    pub async fn csrf(&mut self, path: &str) -> String {
        let (status, _, page) = self.get(path).await;
        assert_eq!(status, StatusCode::OK, "{page}");
        csrf_of(&page)
    }
}

/// Minutes of a surprise visit by `team` to `establishment`.
fn surprise(team: &str, establishment: &str, member: &str) -> Value {
    json!({
        "id": uuid::Uuid::new_v4().to_string(),
        "establishment_id": establishment,
        "team_id": team,
        "started_at": "2016-07-01T09:00:00+07:00",
        "finished_at": "2016-07-01T10:00:00+07:00",
        "members_present": [member],
        "outcome": "no_violation",
        "violations": []
    })
}

#[actix_web::test]
async fn the_root_leads_to_the_console_and_its_sign_in() {
    let (app, _) = TestApp::init().with_admin().await;
    let mut c = Console::new(&app);
    let (status, headers, _) = c.get("/").await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(headers[LOCATION], "/console/");
    let (status, headers, _) = c.get("/console/").await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(headers[LOCATION], "/console/login");
    let (status, headers, page) = c.get("/console/login").await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("Đăng nhập"), "{page}");
    assert!(
        page.contains("<label>Tên đăng nhập"),
        "every control has a label: {page}"
    );
    let cookie = headers[SET_COOKIE].to_str().unwrap();
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"),
        "{cookie}"
    );

    let (status, headers, _) = c.try_sign_in("admin", PASSWORD).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let session = headers
        .get_all(SET_COOKIE)
        .iter()
        .map(|v| v.to_str().unwrap().to_string())
        .find(|v| v.starts_with("kiemtra_console="))
        .expect("a session cookie");
    assert!(
        session.contains("HttpOnly") && session.contains("SameSite=Strict"),
        "{session}"
    );
    assert!(!session.contains("Secure"), "plain HTTP: no Secure flag");
    let (status, _, page) = c.get("/console/").await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("Tổng quan"), "{page}");

    // Signing out ends the session.
    let token = csrf_of(&page);
    let (status, _, _) = c.post("/console/logout", &[("csrf_token", &token)]).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let (status, headers, _) = c.get("/console/review").await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(headers[LOCATION], "/console/login?next=%2Fconsole%2Freview");
}

#[actix_web::test]
async fn a_wrong_password_is_401_and_a_throttled_login_says_to_wait() {
    let (app, _) = TestApp::init()
        .login_attempts_per_minute(2)
        .with_admin()
        .await;
    let mut c = Console::new(&app);
    let (status, _, page) = c.try_sign_in("admin", "wrong-password").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(page.contains("Sai tên đăng nhập hoặc mật khẩu"), "{page}");
    c.try_sign_in("admin", "wrong-password").await;
    let (status, headers, page) = c.try_sign_in("admin", PASSWORD).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{page}");
    assert!(headers.contains_key("retry-after"));
    assert!(page.contains("Vui lòng đợi"), "{page}");
    assert!(
        !page.contains("Sai tên đăng nhập"),
        "a 429 is not a wrong password: {page}"
    );
}

#[actix_web::test]
async fn a_form_without_its_csrf_token_is_refused() {
    let (app, admin) = TestApp::init().with_teams().with_admin().await;
    let e = app
        .establishment(&admin, "K-1", &commune_of("372"), "karaoke")
        .await;
    let id = e["id"].as_str().unwrap();
    let mut c = Console::sign_in(&app, "admin").await;
    let (status, _, page) = c
        .post(
            &format!("/console/establishments/{id}"),
            &[("name", "Đổi tên"), ("version", "1")],
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{page}");
    let (status, _, _) = c
        .post(
            &format!("/console/establishments/{id}"),
            &[
                ("csrf_token", "0123456789abcdef0123456789abcdef"),
                ("name", "Đổi tên"),
                ("version", "1"),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let now = app
        .get_ok(&format!("/api/v1/establishments/{id}"), &admin)
        .await;
    assert_eq!(now["name"], "Cơ sở K-1", "nothing written");
    // The sign-in form too.
    let mut fresh = Console::new(&app);
    let (status, _, _) = fresh
        .post(
            "/console/login",
            &[("username", "admin"), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}

#[actix_web::test]
async fn a_stale_edit_is_refused_not_overwritten() {
    let (app, admin) = TestApp::init().with_teams().with_admin().await;
    let e = app
        .establishment(&admin, "K-1", &commune_of("372"), "karaoke")
        .await;
    let id = e["id"].as_str().unwrap();
    let mut c = Console::sign_in(&app, "admin").await;
    let page_path = format!("/console/establishments/{id}");
    let token = c.csrf(&page_path).await;
    let form = |name: &'static str| {
        vec![
            ("name", name),
            ("licence_no", "K-1"),
            ("business_type", "karaoke"),
            ("address", "Số 1"),
            ("version", "1"),
        ]
    };
    let unit = commune_of("372");
    let mut first = form("Karaoke Hoa Sen");
    first.push(("csrf_token", &token));
    first.push(("org_unit_code", &unit));
    let (status, headers, body) = c.post(&page_path, &first).await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{body}");
    assert_eq!(headers[LOCATION], format!("{page_path}?ok=saved"));
    // A second form opened at version 1 is now stale.
    let mut second = form("Karaoke Cũ");
    second.push(("csrf_token", &token));
    second.push(("org_unit_code", &unit));
    let (status, _, page) = c.post(&page_path, &second).await;
    assert_eq!(status, StatusCode::PRECONDITION_FAILED, "{page}");
    assert!(page.contains("Người khác đã sửa"), "{page}");
    let now = app
        .get_ok(&format!("/api/v1/establishments/{id}"), &admin)
        .await;
    assert_eq!(now["name"], "Karaoke Hoa Sen");
    assert_eq!(now["version"], 2);
}

#[actix_web::test]
async fn a_supervisor_of_372_gets_404_for_pages_of_373() {
    let (app, admin) = TestApp::init().with_teams().with_admin().await;
    let mine = app
        .establishment(&admin, "K-372", &commune_of("372"), "karaoke")
        .await;
    let theirs = app
        .establishment(&admin, "K-373", &commune_of("373"), "karaoke")
        .await;
    let other = app.inspector("doi373", "373").await;
    let minutes = app
        .post_created(
            "/api/v1/inspections",
            &other.token,
            surprise(&app.teams["373"], theirs["id"].as_str().unwrap(), &other.id),
        )
        .await;
    app.create_user("sup372", "supervisor", Some("372"), None);
    let mut c = Console::sign_in(&app, "sup372").await;
    let (status, _, page) = c
        .get(&format!(
            "/console/establishments/{}",
            mine["id"].as_str().unwrap()
        ))
        .await;
    assert_eq!(status, StatusCode::OK, "{page}");
    for path in [
        format!("/console/establishments/{}", theirs["id"].as_str().unwrap()),
        format!("/console/inspections/{}", minutes["id"].as_str().unwrap()),
        format!("/console/teams/{}", app.teams["373"]),
    ] {
        let (status, headers, page) = c.get(&path).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{path}: {page}");
        assert!(headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html"));
        assert!(page.contains("Không tìm thấy"), "{page}");
    }
    // Nor does its review queue list them.
    let (_, _, queue) = c.get("/console/review").await;
    assert!(!queue.contains(minutes["id"].as_str().unwrap()), "{queue}");
    // A form posted about it is 404 too, and changes nothing.
    let token = csrf_of(&queue);
    let (status, _, _) = c
        .post(
            &format!("/console/inspections/{}", minutes["id"].as_str().unwrap()),
            &[("csrf_token", &token), ("decision", "accepted")],
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let m = app
        .get_ok(
            &format!("/api/v1/inspections/{}", minutes["id"].as_str().unwrap()),
            &admin,
        )
        .await;
    assert_eq!(m["review"]["status"], "pending");
}

#[actix_web::test]
async fn a_supervisor_accepts_one_minutes_and_returns_another_with_a_comment() {
    let (app, admin) = TestApp::init().with_teams().with_admin().await;
    let a = app
        .establishment(&admin, "K-1", &commune_of("372"), "karaoke")
        .await;
    let b = app
        .establishment(&admin, "K-2", &commune_of("372"), "massage")
        .await;
    let lead = app.inspector("lead", "372").await;
    let team = app.teams["372"].clone();
    let first = app
        .post_created(
            "/api/v1/inspections",
            &lead.token,
            surprise(&team, a["id"].as_str().unwrap(), &lead.id),
        )
        .await;
    let second = app
        .post_created(
            "/api/v1/inspections",
            &lead.token,
            surprise(&team, b["id"].as_str().unwrap(), &lead.id),
        )
        .await;
    app.create_user("sup", "supervisor", Some("37"), None);
    let mut c = Console::sign_in(&app, "sup").await;
    let (status, _, queue) = c.get("/console/review").await;
    assert_eq!(status, StatusCode::OK);
    let (one, two) = (
        first["id"].as_str().unwrap(),
        second["id"].as_str().unwrap(),
    );
    assert!(queue.contains(one) && queue.contains(two), "{queue}");

    let token = c.csrf(&format!("/console/inspections/{one}")).await;
    let (status, headers, body) = c
        .post(
            &format!("/console/inspections/{one}"),
            &[
                ("csrf_token", &token),
                ("decision", "accepted"),
                ("version", "1"),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{body}");
    assert_eq!(
        headers[LOCATION],
        format!("/console/inspections/{one}?ok=accepted")
    );
    // Returning needs a comment.
    let (status, _, page) = c
        .post(
            &format!("/console/inspections/{two}"),
            &[("csrf_token", &token), ("decision", "returned")],
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{page}");
    let (status, _, _) = c
        .post(
            &format!("/console/inspections/{two}"),
            &[
                ("csrf_token", &token),
                ("decision", "returned"),
                ("comment", "Thiếu chữ ký của chủ cơ sở"),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);

    let one = app
        .get_ok(&format!("/api/v1/inspections/{one}"), &admin)
        .await;
    assert_eq!(one["review"]["status"], "accepted", "{one}");
    let two = app
        .get_ok(&format!("/api/v1/inspections/{two}"), &admin)
        .await;
    assert_eq!(two["review"]["status"], "returned", "{two}");
    assert_eq!(two["review"]["comment"], "Thiếu chữ ký của chủ cơ sở");
    let (_, _, queue) = c.get("/console/review").await;
    assert!(queue.contains("Không có biên bản nào chờ duyệt"), "{queue}");
}

/// A workbook of establishments: a header and `rows`.
fn workbook(rows: &[[&str; 5]]) -> Vec<u8> {
    let mut book = rust_xlsxwriter::Workbook::new();
    let sheet = book.add_worksheet();
    for (c, h) in [
        "licence_no",
        "name",
        "business_type",
        "org_unit_code",
        "address",
    ]
    .iter()
    .enumerate()
    {
        sheet.write_string(0, c as u16, *h).unwrap();
    }
    for (r, row) in rows.iter().enumerate() {
        for (c, v) in row.iter().enumerate() {
            sheet.write_string(r as u32 + 1, c as u16, *v).unwrap();
        }
    }
    book.save_to_buffer().unwrap()
}

#[actix_web::test]
async fn an_activitys_evidence_is_uploaded_and_downloaded_in_the_console() {
    // Arrange: a drawn plan with one indicator and one activity.
    let (app, admin) = TestApp::init()
        .with_establishments(10)
        .with_teams()
        .with_admin()
        .await;
    let plan = app
        .create_plan(
            &admin,
            json!({"name": "Kế hoạch 2016", "year": 2016, "org_unit_code": "37"}),
        )
        .await["id"]
        .as_str()
        .unwrap()
        .to_string();
    app.post_created(
        &format!("/api/v1/plans/{plan}/indicators"),
        &admin,
        json!({"code": "GIAM_SAT", "name": "Ít nhất 02 đợt giám sát", "unit_level": "province",
               "kind": "count", "target": 2}),
    )
    .await;
    let a = app
        .post_created(
            "/api/v1/activities",
            &admin,
            json!({"plan_id": plan, "indicator_code": "GIAM_SAT", "org_unit_code": "37",
                   "date": "2016-03-01", "quantity": 1, "note": "Giám sát quý I"}),
        )
        .await;
    let id = a["id"].as_str().unwrap().to_string();
    let pdf = b"%PDF-1.4\n1 0 obj << >> endobj\ntrailer << >>\n%%EOF\n".to_vec();
    let mut c = Console::sign_in(&app, "admin").await;
    let list = format!("/console/activities?plan_id={plan}");
    let (_, _, page) = c.get(&list).await;
    assert!(page.contains("data-action=\"upload-evidence\""), "{page}");
    assert!(!page.contains("data-action=\"download-evidence\""));
    let token = csrf_of(&page);

    // Act: the upload form, as a browser sends it.
    let resp = c
        .post_multipart(
            &format!("/console/activities/{id}/evidence"),
            &[("csrf_token", &token), ("version", "1")],
            Some(("file", "bien-ban.pdf", Some("application/pdf"), &pdf)),
        )
        .await;

    // Assert: back to the list, which links the file; the file is the PDF.
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    let (_, _, page) = c.get(&list).await;
    assert!(page.contains("data-action=\"download-evidence\""), "{page}");
    let resp = c
        .client
        .get(format!("{}/console/activities/{id}/evidence", c.base))
        .header("Cookie", c.cookie_header())
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(resp.headers()["content-type"], "application/pdf");
    assert_eq!(resp.bytes().await.unwrap().to_vec(), pdf);
    let got = app
        .get_ok(&format!("/api/v1/activities/{id}"), &admin)
        .await;
    assert_eq!(got["version"], 2);
    // Without its CSRF token, nothing is stored.
    let resp = c
        .post_multipart(
            &format!("/console/activities/{id}/evidence"),
            &[],
            Some(("file", "x.pdf", None, b"%PDF-1.4 %%EOF")),
        )
        .await;
    assert_eq!(resp.status(), StatusCode::FORBIDDEN);
    assert_eq!(
        app.get_ok(&format!("/api/v1/activities/{id}"), &admin)
            .await["version"],
        2
    );
}

#[actix_web::test]
async fn an_imported_workbook_reports_its_bad_row_in_a_file() {
    let (app, _) = TestApp::init().with_ninh_binh().with_admin().await;
    let unit = commune_of("372");
    let xlsx = workbook(&[
        ["X-1", "Karaoke Hoa Sen", "karaoke", &unit, "Số 1"],
        ["X-2", "Nhà nghỉ Bình An", "space_station", &unit, "Số 2"],
        ["X-3", "Spa Thu Hà", "spa", &unit, "Số 3"],
    ]);
    let mut c = Console::sign_in(&app, "admin").await;
    let token = c.csrf("/console/establishments/import").await;
    let resp = c
        .post_multipart(
            "/console/establishments/import",
            &[("csrf_token", &token)],
            Some((
                "file",
                "co-so.xlsx",
                Some("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
                &xlsx,
            )),
        )
        .await;
    assert_eq!(resp.status(), StatusCode::OK);
    let page = resp.text().await.unwrap();
    assert!(
        page.contains("<div class=\"big\" id=\"created\">2</div>"),
        "{page}"
    );
    assert!(page.contains("id=\"error-count\">1<"), "{page}");
    let errors = page.split("name=\"errors_csv\"").nth(1).unwrap();
    let errors = &errors[errors.find('>').unwrap() + 1..errors.find("</textarea>").unwrap()];
    let errors = errors.replace("&quot;", "\"").replace("&amp;", "&");
    let (status, headers, file) = c
        .post(
            "/console/establishments/import/errors.csv",
            &[("csrf_token", &token), ("errors_csv", &errors)],
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(headers["content-disposition"]
        .to_str()
        .unwrap()
        .starts_with("attachment"));
    let lines: Vec<&str> = file.trim_start_matches('\u{feff}').lines().collect();
    assert_eq!(lines[0], "row,field,message");
    assert_eq!(lines.len(), 2, "{file}");
    assert!(lines[1].starts_with("3,business_type,"), "{file}");
}

#[actix_web::test]
async fn a_district_without_a_team_is_warned_about_before_the_draw() {
    // Teams for the province and every district but 373.
    let mut builder = TestApp::init().with_team("37");
    for d in ["370", "372", "374", "375", "376", "377"] {
        builder = builder.with_team(d);
    }
    let (app, admin) = builder.with_admin().await;
    for (i, d) in ["370", "372", "373", "374", "375", "376", "377"]
        .iter()
        .enumerate()
    {
        app.establishment(&admin, &format!("K-{i}"), &commune_of(d), "karaoke")
            .await;
    }
    // A member for every team but 374's.
    for d in ["37", "370", "372", "375", "376", "377"] {
        let user = app.create_user(&format!("m{d}"), "inspector", Some(d), None);
        app.post_created(
            &format!("/api/v1/teams/{}/members", app.teams[d]),
            &admin,
            json!({"user_id": user, "agency": "police"}),
        )
        .await;
    }
    let plan = app
        .create_plan(
            &admin,
            json!({"name": "2016", "year": 2016, "org_unit_code": "37"}),
        )
        .await;
    let id = plan["id"].as_str().unwrap();
    let w = app
        .get_ok(&format!("/api/v1/plans/{id}/warnings"), &admin)
        .await;
    let kinds: Vec<(String, String)> = w["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| {
            (
                x["kind"].as_str().unwrap().to_string(),
                x["org_unit_code"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert!(
        kinds.contains(&("level_without_team".into(), "373".into())),
        "{w}"
    );
    assert!(
        kinds.contains(&("team_without_members".into(), "374".into())),
        "{w}"
    );
    assert!(!kinds.iter().any(|(_, u)| u == "372"), "{w}");
    assert_eq!(w["eligible"], 7);

    app.create_user("sup", "supervisor", Some("37"), None);
    let mut c = Console::sign_in(&app, "sup").await;
    let (status, _, page) = c.get(&format!("/console/plans/{id}")).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert!(
        page.contains("data-kind=\"level_without_team\" data-unit=\"373\""),
        "{page}"
    );
    assert!(page.contains("chưa có đội cấp huyện"), "{page}");
    assert!(page.contains("data-action=\"draw\""), "{page}");
    // The drill-down: the province by district, a district by commune.
    let (_, _, page) = c.get(&format!("/console/plans/{id}/coverage")).await;
    assert!(page.contains("data-unit=\"373\""), "{page}");
    let (status, _, page) = c
        .get(&format!("/console/plans/{id}/coverage?unit=372"))
        .await;
    assert_eq!(status, StatusCode::OK, "{page}");
    let commune = commune_of("372");
    assert!(page.contains(&format!("data-unit=\"{commune}\"")), "{page}");
    assert!(
        page.contains(&format!("/console/establishments?org_unit={commune}")),
        "{page}"
    );
    assert!(!page.contains("data-unit=\"373\""), "{page}");
    // An inspector may not read them; a plan is 404 to an area below nobody.
    let m = app.login("m372").await;
    app.get(&format!("/api/v1/plans/{id}/warnings"), &m)
        .await
        .expect(StatusCode::FORBIDDEN);
}

#[actix_web::test]
async fn every_console_page_answers_in_vietnamese() {
    let (app, admin) = TestApp::init()
        .with_establishments(30)
        .with_teams()
        .with_admin()
        .await;
    let plan = app
        .create_plan(
            &admin,
            json!({"name": "Kế hoạch 2016", "year": 2016, "org_unit_code": "37"}),
        )
        .await;
    let id = plan["id"].as_str().unwrap();
    app.draw(&admin, id).await;
    let team = app.teams["372"].clone();
    let mut c = Console::sign_in(&app, "admin").await;
    for (path, words) in [
        // The 2016 plan's assignments are all past due.
        ("/console/".to_string(), "phân công đã quá hạn"),
        ("/console/review".into(), "Duyệt biên bản"),
        ("/console/establishments?q=co+so".into(), "Cơ sở 1"),
        ("/console/establishments/import".into(), "Nhập danh sách"),
        ("/console/teams".into(), "Đội kiểm tra liên ngành 178"),
        (format!("/console/teams/{team}"), "Thêm thành viên"),
        ("/console/users".into(), "Tạo tài khoản"),
        ("/console/plans".into(), "Lập kế hoạch mới"),
        (format!("/console/plans/{id}"), "Phân công theo đội"),
        (
            format!("/console/plans/{id}/coverage?unit=372"),
            "Theo địa bàn trực thuộc",
        ),
        ("/console/reports".into(), "Quý I"),
        ("/console/audit".into(), "Đầu chuỗi"),
    ] {
        let (status, _, page) = c.get(&path).await;
        assert_eq!(status, StatusCode::OK, "{path}: {page}");
        assert!(page.contains(words), "{path} lacks {words}: {page}");
        assert!(page.contains("<html lang=\"vi\">"), "{path}");
    }
    let (status, headers, bytes) = c
        .get(&format!(
            "/console/reports/download?plan_id={id}&period=year&format=csv"
        ))
        .await;
    assert_eq!(status, StatusCode::OK, "{bytes}");
    assert!(headers["content-disposition"]
        .to_str()
        .unwrap()
        .contains("bao-cao-KH-2016-year.csv"));
    let (status, _, page) = c.get("/console/no-such-page").await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{page}");
}

#[actix_web::test]
async fn corrected_minutes_show_their_versions_side_by_side_and_flags_first() {
    let (app, admin) = TestApp::init().with_teams().with_admin().await;
    let a = app
        .establishment(&admin, "K-1", &commune_of("372"), "karaoke")
        .await;
    let b = app
        .establishment(&admin, "K-2", &commune_of("372"), "karaoke")
        .await;
    let lead = app.inspector("lead", "372").await;
    let team = app.teams["372"].clone();
    let plain = app
        .post_created(
            "/api/v1/inspections",
            &lead.token,
            surprise(&team, a["id"].as_str().unwrap(), &lead.id),
        )
        .await;
    // Posted 30 km from the establishment's registered position.
    let mut far = surprise(&team, b["id"].as_str().unwrap(), &lead.id);
    far["location"] = json!({"latitude": 20.52, "longitude": 105.97, "accuracy_m": 10.0});
    let far = app
        .post_created("/api/v1/inspections", &lead.token, far)
        .await;
    assert_eq!(far["flags"]["far_from_establishment"], true, "{far}");
    let id = plain["id"].as_str().unwrap();
    let corrected = app
        .post_created(
            &format!("/api/v1/inspections/{id}/corrections"),
            &lead.token,
            json!({"reason": "ghi nhầm kết quả", "outcome": "refused_entry"}),
        )
        .await;
    assert_eq!(corrected["version"], 2);

    let mut c = Console::sign_in(&app, "admin").await;
    let (_, _, queue) = c.get("/console/review").await;
    let (far_at, plain_at) = (
        queue.find(far["id"].as_str().unwrap()).unwrap(),
        queue.find(id).unwrap(),
    );
    assert!(far_at < plain_at, "flagged minutes come first: {queue}");
    assert!(queue.contains("Xa cơ sở"), "{queue}");

    let (status, _, page) = c.get(&format!("/console/inspections/{id}")).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert!(
        page.contains("Phiên bản 1") && page.contains("Phiên bản 2"),
        "{page}"
    );
    assert!(
        page.contains("<td class=\"diff\">Không cho kiểm tra</td>"),
        "{page}"
    );
    assert!(
        page.contains("<td class=\"diff\">ghi nhầm kết quả</td>"),
        "{page}"
    );
    assert!(
        page.contains(&format!("/console/inspections/{id}/bien-ban.pdf")),
        "{page}"
    );
    // A review of the version shown, once a newer one exists, is refused.
    let token = csrf_of(&page);
    let (status, _, _) = c
        .post(
            &format!("/console/inspections/{id}"),
            &[
                ("csrf_token", &token),
                ("decision", "accepted"),
                ("version", "1"),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::PRECONDITION_FAILED);
    let (_, _, page) = c
        .get(&format!(
            "/console/inspections/{}",
            far["id"].as_str().unwrap()
        ))
        .await;
    assert!(page.contains("openstreetmap.org/?mlat=20.52"), "{page}");
    assert!(page.contains("Cách vị trí đăng ký"), "{page}");
}

#[actix_web::test]
async fn the_bien_ban_prints_from_the_minutes_page_and_is_404_outside_the_area() {
    let (app, admin) = TestApp::init().with_teams().with_admin().await;
    let e = app
        .establishment(&admin, "K-1", &commune_of("372"), "karaoke")
        .await;
    let lead = app.inspector("lead", "372").await;
    let team = app.teams["372"].clone();
    let minutes = app
        .post_created(
            "/api/v1/inspections",
            &lead.token,
            surprise(&team, e["id"].as_str().unwrap(), &lead.id),
        )
        .await;
    let id = minutes["id"].as_str().unwrap();
    app.create_user("sup372", "supervisor", Some("372"), None);
    app.create_user("sup373", "supervisor", Some("373"), None);

    let mut c = Console::sign_in(&app, "sup372").await;
    let (status, _, page) = c.get(&format!("/console/inspections/{id}")).await;
    assert_eq!(status, StatusCode::OK);
    let link = format!("/console/inspections/{id}/bien-ban.pdf");
    assert!(page.contains(&link), "no link to the biên bản in {page}");
    let (status, headers, pdf) = c.get_bytes(&link).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers["content-type"], "application/pdf");
    let text = pdf_extract::extract_text_from_mem(&pdf).unwrap();
    let flat = text.split_whitespace().collect::<Vec<_>>().join(" ");
    for expected in ["Cơ sở K-1", "BIÊN BẢN KIỂM TRA"] {
        assert!(flat.contains(expected), "{expected} not in {flat}");
    }

    let mut other = Console::sign_in(&app, "sup373").await;
    let (status, _, _) = other.get_bytes(&link).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

impl Console {
    /// Another client holding a copy of this one's cookies (a stolen or
    /// copied session cookie).
    fn copy(&self) -> Console {
        Console {
            client: self.client.clone(),
            base: self.base.clone(),
            cookies: self.cookies.clone(),
        }
    }
}

/// The new-plan form of the console, as a browser sends it: the default
/// shares plus `extra`.
fn plan_form<'a>(
    token: &'a str,
    name: &'a str,
    extra: &[(&'a str, &'a str)],
) -> Vec<(&'a str, &'a str)> {
    let mut f = vec![
        ("csrf_token", token),
        ("name", name),
        ("year", "2016"),
        ("org_unit_code", "37"),
        ("level", "province"),
        ("percent", "10"),
        ("level", "district"),
        ("percent", "40"),
        ("level", "commune"),
        ("percent", ""),
        ("stratify_by", "business_type"),
    ];
    f.extend_from_slice(extra);
    f
}

/// The plan id a 303 after the new-plan form leads to.
fn created_plan(headers: &HeaderMap) -> String {
    let to = headers[LOCATION].to_str().unwrap();
    let rest = to
        .strip_prefix("/console/plans/")
        .unwrap_or_else(|| panic!("{to}"));
    assert!(rest.ends_with("?ok=created"), "{to}");
    rest.trim_end_matches("?ok=created").to_string()
}

fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    hex::encode(Sha256::digest(bytes))
}

#[actix_web::test]
async fn a_public_beacon_plan_is_frozen_drawn_verified_and_cancelled_through_the_console() {
    let (app, admin) = TestApp::init()
        .with_establishments(60)
        .with_teams()
        .with_admin()
        .await;
    app.create_user("sup", "supervisor", Some("37"), None);
    let mut c = Console::sign_in(&app, "sup").await;
    let token = c.csrf("/console/plans").await;
    let day = (chrono::Utc::now() + chrono::Duration::days(3))
        .date_naive()
        .to_string();

    // A day already past is refused on the page, in Vietnamese, with the
    // form as it was sent.
    let (status, _, page) = c
        .post(
            "/console/plans",
            &plan_form(
                &token,
                "Kế hoạch công khai",
                &[
                    ("seed_procedure", "public_beacon"),
                    ("beacon.source", "XSKT miền Bắc, giải đặc biệt"),
                    ("beacon.date", "2016-06-20"),
                ],
            ),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{page}");
    assert!(page.contains("id=\"problem\""), "{page}");
    assert!(page.contains("Ngày công bố (beacon.date)"), "{page}");
    assert!(page.contains("phải là một ngày sau hôm nay"), "{page}");
    assert!(page.contains("value=\"Kế hoạch công khai\""), "{page}");
    assert!(!page.contains("problem+json"), "{page}");
    assert_eq!(app.count("plans"), 0, "nothing written");

    let (status, headers, page) = c
        .post(
            "/console/plans",
            &plan_form(
                &token,
                "Kế hoạch công khai",
                &[
                    ("seed_procedure", "public_beacon"),
                    ("beacon.source", "XSKT miền Bắc, giải đặc biệt"),
                    ("beacon.date", &day),
                ],
            ),
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{page}");
    let id = created_plan(&headers);
    let plan_path = format!("/console/plans/{id}");
    let p = app.get_ok(&format!("/api/v1/plans/{id}"), &admin).await;
    assert_eq!(p["seed_procedure"]["procedure"], "public_beacon", "{p}");
    assert_eq!(p["rehearsal"], false);
    let (_, _, page) = c.get(&plan_path).await;
    assert!(page.contains("data-procedure=\"public_beacon\""), "{page}");
    assert!(page.contains("data-action=\"freeze\""), "{page}");
    assert!(
        !page.contains("data-action=\"draw\""),
        "no draw before the freeze: {page}"
    );

    // Freeze: the commitment is published.
    let (status, headers, page) = c
        .post(&format!("{plan_path}/freeze"), &[("csrf_token", &token)])
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{page}");
    assert_eq!(headers[LOCATION], format!("{plan_path}?ok=frozen"));
    let p = app.get_ok(&format!("/api/v1/plans/{id}"), &admin).await;
    let commitment = p["seed_procedure"]["server_commitment"]
        .as_str()
        .unwrap()
        .to_string();
    let (_, _, page) = c.get(&plan_path).await;
    assert!(page.contains(&commitment), "{page}");
    assert!(page.contains("name=\"beacon_value\""), "{page}");
    // A second freeze is refused on the page.
    let (status, _, page) = c
        .post(&format!("{plan_path}/freeze"), &[("csrf_token", &token)])
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{page}");
    assert!(
        page.contains("dữ liệu đầu vào của kế hoạch đã được chốt"),
        "{page}"
    );

    // The draw needs the published value.
    let (status, _, page) = c
        .post(
            &format!("{plan_path}/draw"),
            &[("csrf_token", &token), ("beacon_value", "")],
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{page}");
    assert!(page.contains("Giá trị đã công bố (beacon_value)"), "{page}");
    assert_eq!(app.count("assignments"), 0);
    let (status, headers, page) = c
        .post(
            &format!("{plan_path}/draw"),
            &[("csrf_token", &token), ("beacon_value", "12345")],
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{page}");
    assert_eq!(headers[LOCATION], format!("{plan_path}?ok=drawn"));
    let p = app.get_ok(&format!("/api/v1/plans/{id}"), &admin).await;
    assert_eq!(p["status"], "drawn");
    let digest = p["rounds"][0]["input_digest"].as_str().unwrap().to_string();

    // The round's input downloads and hashes to its digest.
    let (_, _, page) = c.get(&plan_path).await;
    let input_path = format!("{plan_path}/rounds/1/input");
    assert!(page.contains(&format!("href=\"{input_path}\"")), "{page}");
    assert!(page.contains(&digest), "{page}");
    let (status, headers, bytes) = c.get_bytes(&input_path).await;
    assert_eq!(status, StatusCode::OK);
    assert!(headers["content-disposition"]
        .to_str()
        .unwrap()
        .contains("attachment"));
    assert_eq!(sha256_hex(&bytes), digest);
    let (status, headers, json_bytes) = c.get_bytes(&format!("{input_path}?format=json")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers["content-type"], "application/json");
    let input: kiemtra::domain::draw::DrawInput = serde_json::from_slice(&json_bytes).unwrap();
    assert_eq!(kiemtra::domain::draw::canonical_input(&input), bytes);
    let (status, _, _) = c.get_bytes(&format!("{plan_path}/rounds/2/input")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // Verify: everything matches.
    let (status, _, page) = c
        .post(&format!("{plan_path}/verify"), &[("csrf_token", &token)])
        .await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert!(page.contains("data-matches=\"true\""), "{page}");
    assert!(!page.contains("id=\"discrepancies\""), "{page}");
    // An assignment cancelled by SQL is shown as a discrepancy.
    let victim = app
        .text("SELECT id AS t FROM assignments ORDER BY id LIMIT 1")
        .unwrap();
    app.exec(&format!(
        "UPDATE assignments SET status = 'cancelled', cancel_reason = 'establishment closed' WHERE id = '{victim}'"
    ));
    let (_, _, page) = c
        .post(&format!("{plan_path}/verify"), &[("csrf_token", &token)])
        .await;
    assert!(page.contains("data-matches=\"false\""), "{page}");
    assert!(page.contains("id=\"discrepancies\""), "{page}");
    assert!(page.contains("data-check=\"status_changes\""), "{page}");
    assert!(
        page.contains("bị hủy nhưng không có việc đóng cơ sở"),
        "{page}"
    );
    assert!(page.contains(&victim), "{page}");

    // Cancel: a reason is required, then the plan stays listed, cancelled.
    let (status, _, page) = c
        .post(
            &format!("{plan_path}/cancel"),
            &[("csrf_token", &token), ("reason", "  ")],
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{page}");
    assert!(page.contains("Lý do hủy (reason): bắt buộc"), "{page}");
    let (status, headers, _) = c
        .post(
            &format!("{plan_path}/cancel"),
            &[
                ("csrf_token", &token),
                ("reason", "Lập lại theo chỉ đạo mới"),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(headers[LOCATION], format!("{plan_path}?ok=cancelled"));
    let p = app.get_ok(&format!("/api/v1/plans/{id}"), &admin).await;
    assert_eq!(p["status"], "cancelled");
    assert_eq!(p["cancel_reason"], "Lập lại theo chỉ đạo mới");
    let (_, _, page) = c.get(&plan_path).await;
    assert!(page.contains("id=\"cancelled-banner\""), "{page}");
    assert!(!page.contains("data-action=\"cancel\""), "{page}");
    let (status, _, page) = c
        .post(
            &format!("{plan_path}/cancel"),
            &[("csrf_token", &token), ("reason", "Lần nữa")],
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{page}");
    assert!(page.contains("kế hoạch đã bị hủy"), "{page}");
    // Without their CSRF token the plan's forms do nothing.
    let (status, _, _) = c.post(&format!("{plan_path}/freeze"), &[]).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _, _) = c
        .post(&format!("{plan_path}/cancel"), &[("reason", "x")])
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}

#[actix_web::test]
async fn a_rehearsal_takes_a_seed_in_the_console_and_reaches_no_team() {
    let (app, admin) = TestApp::init()
        .with_establishments(60)
        .with_teams()
        .with_admin()
        .await;
    let mut c = Console::sign_in(&app, "admin").await;
    let token = c.csrf("/console/plans").await;
    let seed = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";
    // A real plan given a seed is refused, naming the field.
    let (status, _, page) = c
        .post(
            "/console/plans",
            &plan_form(
                &token,
                "Thật",
                &[("seed_procedure", "server_random"), ("seed", seed)],
            ),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{page}");
    assert!(page.contains("Hạt giống (seed)"), "{page}");
    assert!(page.contains("chỉ kế hoạch diễn tập"), "{page}");
    let (status, headers, page) = c
        .post(
            "/console/plans",
            &plan_form(
                &token,
                "Diễn tập",
                &[
                    ("seed_procedure", "server_random"),
                    ("rehearsal", "true"),
                    ("seed", seed),
                ],
            ),
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{page}");
    let id = created_plan(&headers);
    let plan_path = format!("/console/plans/{id}");
    let (_, _, page) = c.get(&plan_path).await;
    assert!(page.contains("id=\"rehearsal-banner\""), "{page}");
    assert!(page.contains("data-procedure=\"caller\""), "{page}");
    assert!(page.contains(seed), "the caller's seed is shown: {page}");
    let (status, _, page) = c
        .post(&format!("{plan_path}/draw"), &[("csrf_token", &token)])
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{page}");
    let p = app.get_ok(&format!("/api/v1/plans/{id}"), &admin).await;
    assert_eq!(p["status"], "drawn");
    assert_eq!(p["seed"], seed);
    assert_eq!(app.count("assignments"), 0, "a rehearsal reaches no team");
    let would = p["rounds"][0]["assignments"].as_i64().unwrap();
    assert!(would > 0, "{p}");
    let (_, _, page) = c.get(&plan_path).await;
    assert!(page.contains("data-rehearsal=\"true\""), "{page}");
    assert_eq!(
        page.matches("data-label=\"Thứ tự\"").count() as i64,
        would.min(100)
    );
    assert!(!page.contains("data-action=\"top-up\""), "{page}");
    let (_, _, page) = c
        .post(&format!("{plan_path}/verify"), &[("csrf_token", &token)])
        .await;
    assert!(page.contains("data-matches=\"true\""), "{page}");
    // It is listed as a rehearsal.
    let (_, _, page) = c.get("/console/plans").await;
    assert!(page.contains("Diễn tập</span>"), "{page}");
}

#[actix_web::test]
async fn signing_out_ends_the_session_on_the_server() {
    let (app, _) = TestApp::init().with_admin().await;
    let mut c = Console::sign_in(&app, "admin").await;
    let mut copy = c.copy();
    let (status, _, _) = copy.get("/console/plans").await;
    assert_eq!(status, StatusCode::OK, "the copy works while signed in");
    let token = c.csrf("/console/").await;
    let (status, _, _) = c.post("/console/logout", &[("csrf_token", &token)]).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let (status, headers, _) = copy.get("/console/plans").await;
    assert_eq!(status, StatusCode::SEE_OTHER, "the copied cookie is dead");
    assert_eq!(headers[LOCATION], "/console/login?next=%2Fconsole%2Fplans");
    // A form posted with it does nothing either.
    let (status, headers, _) = copy
        .post(
            "/console/teams",
            &[
                ("csrf_token", &token),
                ("name", "Đội X"),
                ("level", "district"),
                ("org_unit_code", "372"),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(headers[LOCATION], "/console/login");
    assert_eq!(app.count("teams"), 0);
    // Signing in again opens a new session.
    let mut again = Console::sign_in(&app, "admin").await;
    let (status, _, _) = again.get("/console/plans").await;
    assert_eq!(status, StatusCode::OK);
}

#[actix_web::test]
async fn disabling_an_account_or_resetting_its_password_ends_its_console_sessions() {
    let (app, admin) = TestApp::init().with_teams().with_admin().await;
    let sup = app.create_user("sup", "supervisor", Some("372"), None);
    let other = app.create_user("sup2", "supervisor", Some("373"), None);
    let mut s1 = Console::sign_in(&app, "sup").await;
    let mut s2 = Console::sign_in(&app, "sup2").await;
    assert_eq!(s1.get("/console/review").await.0, StatusCode::OK);
    assert_eq!(s2.get("/console/review").await.0, StatusCode::OK);

    // The administrator disables one account in the console.
    let mut a = Console::sign_in(&app, "admin").await;
    let token = a.csrf("/console/users").await;
    let (status, _, page) = a
        .post(
            &format!("/console/users/{sup}/active"),
            &[
                ("csrf_token", &token),
                ("is_active", "false"),
                ("version", "1"),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{page}");
    let (status, headers, _) = s1.get("/console/review").await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert!(headers[LOCATION]
        .to_str()
        .unwrap()
        .starts_with("/console/login"));
    // Enabled again, the old session stays ended: a new sign-in is needed.
    app.patch_ok(
        &format!("/api/v1/users/{sup}"),
        &admin,
        json!({"is_active": true}),
    )
    .await;
    assert_eq!(s1.get("/console/review").await.0, StatusCode::SEE_OTHER);
    let mut s1 = Console::sign_in(&app, "sup").await;
    assert_eq!(s1.get("/console/review").await.0, StatusCode::OK);

    // A password reset (through the API) ends the other's session.
    assert_eq!(s2.get("/console/review").await.0, StatusCode::OK);
    app.post(
        &format!("/api/v1/users/{other}/password"),
        &admin,
        json!({"password": "another-long-password"}),
    )
    .await
    .expect(StatusCode::NO_CONTENT);
    let (status, _, _) = s2.get("/console/review").await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let (status, _, _) = Console::new(&app)
        .try_sign_in("sup2", "another-long-password")
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
}

#[actix_web::test]
async fn a_supervisor_adds_a_member_from_a_picker_of_its_area() {
    let (app, _) = TestApp::init().with_teams().with_admin().await;
    app.create_user("sup", "supervisor", Some("372"), None);
    let mine = app.create_user("ins372", "inspector", Some("372"), None);
    let theirs = app.create_user("ins373", "inspector", Some("373"), None);
    let mut c = Console::sign_in(&app, "sup").await;
    let team_path = format!("/console/teams/{}", app.teams["372"]);
    let (status, _, page) = c.get(&team_path).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert!(page.contains("id=\"member-picker\""), "{page}");
    assert!(page.contains(&format!("value=\"{mine}\"")), "{page}");
    assert!(!page.contains(&theirs), "outside the area: {page}");
    let token = csrf_of(&page);
    let (status, _, page) = c
        .post(
            &format!("{team_path}/members"),
            &[
                ("csrf_token", &token),
                ("user_id", &mine),
                ("agency", "police"),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{page}");
    let (_, _, page) = c.get(&team_path).await;
    assert!(page.contains("(ins372)"), "{page}");
    assert!(
        !page.contains(&format!("value=\"{mine}\"")),
        "a member is not offered again: {page}"
    );
    // The account list itself stays an administrator's.
    let (status, _, _) = c.get("/console/users").await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}

/// The overview's count of minutes waiting for review.
fn waiting(page: &str) -> String {
    let start = page
        .find("id=\"waiting\">")
        .unwrap_or_else(|| panic!("no #waiting in {page}"))
        + "id=\"waiting\">".len();
    page[start..start + page[start..].find('<').unwrap()].to_string()
}

/// The `#totals` card of a page whose label is `label`: its number.
fn card(page: &str, label: &str) -> String {
    let at = page
        .find(label)
        .unwrap_or_else(|| panic!("no card {label} in {page}"));
    let before = &page[..at];
    let start = before.rfind("<div class=\"big\">").unwrap() + "<div class=\"big\">".len();
    before[start..before[start..].find('<').unwrap() + start].to_string()
}

#[actix_web::test]
async fn a_page_shows_a_write_made_just_before() {
    // The counts of the overview, a plan's page and the coverage are kept
    // between requests (db::memo): every write through this server must
    // show on the very next page, whichever connection wrote it.
    let (app, admin) = TestApp::init()
        .with_team("37")
        .with_team("372")
        .with_admin()
        .await;
    let first = app
        .establishment(&admin, "K-1", &commune_of("372"), "karaoke")
        .await;
    let lead = app.inspector("lead", "372").await;
    let province_member = app.create_user("m37", "inspector", Some("37"), None);
    app.post_created(
        &format!("/api/v1/teams/{}/members", app.teams["37"]),
        &admin,
        json!({"user_id": province_member, "agency": "police"}),
    )
    .await;
    let plan = app
        .create_plan(
            &admin,
            json!({"name": "2016", "year": 2016, "org_unit_code": "37"}),
        )
        .await;
    let id = plan["id"].as_str().unwrap();
    app.create_user("sup", "supervisor", Some("37"), None);
    let mut c = Console::sign_in(&app, "sup").await;
    let coverage = format!("/api/v1/plans/{id}/coverage");
    let eligible = |page: &str| card(page, "cơ sở đang hoạt động");

    // Read twice: the second is the kept value.
    for _ in 0..2 {
        let (_, _, page) = c.get("/console/").await;
        assert_eq!(eligible(&page), "1", "{page}");
        assert_eq!(app.get_ok(&coverage, &admin).await["eligible"], 1);
        let (_, _, page) = c.get(&format!("/console/plans/{id}")).await;
        assert!(page.contains("id=\"warnings\""), "{page}");
        assert!(!page.contains("data-unit=\"373\""), "{page}");
    }

    // A new establishment in a district without a team: counted, and warned
    // about, at once.
    app.establishment(&admin, "K-2", &commune_of("373"), "massage")
        .await;
    let (_, _, page) = c.get("/console/").await;
    assert_eq!(eligible(&page), "2", "{page}");
    assert_eq!(app.get_ok(&coverage, &admin).await["eligible"], 2);
    let (_, _, page) = c.get(&format!("/console/plans/{id}")).await;
    assert!(
        page.contains("data-kind=\"level_without_team\" data-unit=\"373\""),
        "{page}"
    );
    let w = app
        .get_ok(&format!("/api/v1/plans/{id}/warnings"), &admin)
        .await;
    assert_eq!(w["eligible"], 2, "{w}");

    // A team for 373 (through the console's own connection pool): the
    // warning goes.
    app.create_team(&admin, "373").await;
    let (_, _, page) = c.get(&format!("/console/plans/{id}")).await;
    assert!(
        page.contains("data-kind=\"team_without_members\" data-unit=\"373\""),
        "{page}"
    );
    assert!(
        !page.contains("data-kind=\"level_without_team\" data-unit=\"373\""),
        "{page}"
    );

    // Minutes, written by the group commit's own connections: inspected at
    // once.
    let (_, _, page) = c.get("/console/").await;
    assert_eq!(card(&page, "đã kiểm tra ("), "0", "{page}");
    assert_eq!(waiting(&page), "0", "{page}");
    let (_, _, queue) = c.get("/console/review").await;
    let minutes = app
        .post_created(
            "/api/v1/inspections",
            &lead.token,
            surprise(&app.teams["372"], first["id"].as_str().unwrap(), &lead.id),
        )
        .await;
    let minutes_id = minutes["id"].as_str().unwrap();
    assert!(!queue.contains(minutes_id), "{queue}");
    let (_, _, page) = c.get("/console/").await;
    assert_eq!(card(&page, "đã kiểm tra ("), "1", "{page}");
    assert_eq!(app.get_ok(&coverage, &admin).await["inspected"], 1);
    // And it waits for review, on the overview and in the queue (both kept
    // too), until it is reviewed.
    assert_eq!(waiting(&page), "1", "{page}");
    let (_, _, queue) = c.get("/console/review").await;
    assert!(queue.contains(minutes_id), "{queue}");
    app.post_ok(
        &format!("/api/v1/inspections/{minutes_id}/review"),
        &admin,
        json!({"decision": "accepted", "comment": ""}),
    )
    .await;
    let (_, _, page) = c.get("/console/").await;
    assert_eq!(waiting(&page), "0", "{page}");
    let (_, _, queue) = c.get("/console/review").await;
    assert!(!queue.contains(minutes_id), "{queue}");

    // Drawn, then the establishment of one of team 372's assignments
    // closes: its assignment shows cancelled at once, and it is no longer
    // counted.
    for i in 3..7 {
        app.establishment(&admin, &format!("K-{i}"), &commune_of("372"), "karaoke")
            .await;
    }
    let (_, _, page) = c.get("/console/").await;
    assert_eq!(eligible(&page), "6", "{page}");
    app.draw(&admin, id).await;
    let schedule = format!(
        "/api/v1/plans/{id}/assignments?team_id={}",
        app.teams["372"]
    );
    let listed = app.get_ok(&schedule, &admin).await;
    assert_eq!(app.get_ok(&schedule, &admin).await, listed);
    let assignment = listed["items"][0].clone();
    assert_eq!(assignment["status"], "pending", "{listed}");
    let (_, _, page) = c
        .get(&format!("/console/plans/{id}?team_id={}", app.teams["372"]))
        .await;
    assert!(
        page.contains(assignment["establishment"]["name"].as_str().unwrap()),
        "{page}"
    );
    app.post_ok(
        &format!(
            "/api/v1/establishments/{}/close",
            assignment["establishment"]["id"].as_str().unwrap()
        ),
        &admin,
        json!({"closed_on": "2016-07-01", "reason": "Ngừng kinh doanh"}),
    )
    .await;
    let listed = app.get_ok(&schedule, &admin).await;
    assert_eq!(listed["items"][0]["status"], "cancelled", "{listed}");
    let (_, _, page) = c.get("/console/").await;
    assert_eq!(eligible(&page), "5", "{page}");
    assert_eq!(app.get_ok(&coverage, &admin).await["eligible"], 5);
}

#[actix_web::test]
async fn expired_tokens_and_sessions_go_when_their_user_signs_in_again() {
    // One row per API sign-in, per refresh and per console session: without
    // a purge the table grows for ever. A sign-in deletes its user's expired
    // rows, and only those.
    let app = TestApp::init().empty().await;
    app.create_user("admin", "admin", None, None);
    app.create_user("other", "admin", None, None);
    let first = app.login_answer("admin").await;
    app.login_answer("other").await;
    let mut c = Console::sign_in(&app, "admin").await;
    let rows = |user: &str| {
        app.scalar(&format!(
            "SELECT COUNT(*) AS n FROM refresh_tokens t JOIN users u ON u.id = t.user_id \
             WHERE u.username = '{user}'"
        ))
    };
    assert_eq!((rows("admin"), rows("other")), (2, 1));
    app.exec("UPDATE refresh_tokens SET expires_at = '2000-01-01 00:00:00'");

    // Expired: refused as before.
    let (status, _) = app
        .send(
            Method::POST,
            "/api/v1/auth/refresh",
            None,
            Some(json!({"refresh_token": first["refresh_token"]})),
        )
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, headers, _) = c.get("/console/review").await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(headers[LOCATION], "/console/login?next=%2Fconsole%2Freview");

    // Signing in again: admin's expired rows go, the new session stays,
    // other's expired row stays until other signs in.
    let login = app.login_answer("admin").await;
    assert_eq!((rows("admin"), rows("other")), (1, 1));
    let mut c = Console::sign_in(&app, "admin").await;
    assert_eq!(rows("admin"), 2);
    let (status, _, _) = c.get("/console/review").await;
    assert_eq!(status, StatusCode::OK);
    app.send(
        Method::POST,
        "/api/v1/auth/refresh",
        None,
        Some(json!({"refresh_token": login["refresh_token"]})),
    )
    .await
    .expect(StatusCode::OK);
    app.login_answer("other").await;
    assert_eq!(rows("other"), 1);
}
