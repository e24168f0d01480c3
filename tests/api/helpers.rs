//! Spawns the real application on a fresh database per test: a temporary
//! SQLite file by default, or a new PostgreSQL database when
//! `TEST_POSTGRES_URL` names a server (e.g. `postgres://postgres@127.0.0.1:5432`).
//!
//! A test names what it starts from with [`TestApp::init`], in the style of
//! crates.io's `TestApp::init().with_user()`, so that it reads as the
//! behaviour it checks:
//!
//! ```text
//! let app = TestApp::init().empty().await;                       // no user, no data
//! let (app, admin) = TestApp::init().with_admin().await;         // an admin's token
//! let (app, admin) = TestApp::init().with_ninh_binh().with_admin().await; // + the units
//! let (app, admin) = TestApp::init()
//!     .with_establishments(120) // dealt over every commune (implies the units)
//!     .with_teams()             // the province's team and one per district
//!     .with_admin()
//!     .await;
//! let lead = app.inspector("lead", "372").await; // of team 372: lead.id, lead.token
//! let plan = app.post(path, &admin, body).await.expect(StatusCode::CREATED);
//! ```
//!
//! Every line of the test suite that names the crate's internals (as opposed
//! to its HTTP API and its binary) is in this file.

use std::collections::{BTreeSet, HashMap};

use diesel::{Connection, RunQueryDsl};
use kiemtra::config::{Secret, Settings};
use kiemtra::db::{write_tx, Pool};
use kiemtra::startup::Application;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

/// Password of every user the helpers create.
pub const PASSWORD: &str = "correct-horse-battery";

/// The 2024 Ninh Bình units bundled with the product.
pub const NINH_BINH: &str = include_str!("../../data/ninh-binh-2024.csv");

/// The business types [`TestAppBuilder::with_establishments`] deals out in turn.
pub const BUSINESS_TYPES: [&str; 4] = ["karaoke", "massage", "guest_house", "cafe"];

/// A running app on its own database.
pub struct TestApp {
    pub address: String,
    pub client: reqwest::Client,
    pub pool: Pool,
    /// Id of each team the builder created, by the code of its area.
    pub teams: HashMap<String, String>,
    _db: TestDb,
    _dir: tempfile::TempDir,
}

/// What a test starts from; see [`TestApp::init`]. Nothing happens until
/// one of the finishing calls, [`empty`](Self::empty) or
/// [`with_admin`](Self::with_admin), is awaited.
#[must_use = "a TestAppBuilder does nothing until `.empty()` or `.with_admin()` is awaited"]
pub struct TestAppBuilder {
    ninh_binh: bool,
    establishments: usize,
    teams: Vec<String>,
    login_attempts_per_minute: u32,
    trusted_proxies: String,
    refresh_grace_secs: Option<i64>,
    body_timeout_secs: Option<u64>,
    /// On SQLite even when `TEST_POSTGRES_URL` is set (a backup's source).
    sqlite: bool,
}

impl TestApp {
    /// Describes a test's starting point; finish with `.empty()` or
    /// `.with_admin()`.
    pub fn init() -> TestAppBuilder {
        TestAppBuilder {
            ninh_binh: false,
            establishments: 0,
            teams: Vec::new(),
            login_attempts_per_minute: 1000,
            trusted_proxies: String::new(),
            refresh_grace_secs: None,
            body_timeout_secs: None,
            sqlite: false,
        }
    }
}

impl TestAppBuilder {
    /// Ninh Bình's 2024 units (the bundled file), imported through the API.
    pub fn with_ninh_binh(mut self) -> Self {
        self.ninh_binh = true;
        self
    }

    /// `n` establishments (`L-0000`, `L-0001`, …) imported as one CSV: the
    /// `i`-th in the `7 i`-th commune of the file (round the list) and of
    /// the `i`-th of [`BUSINESS_TYPES`] (round the list). Implies the units.
    pub fn with_establishments(mut self, n: usize) -> Self {
        self.ninh_binh = true;
        self.establishments = n;
        self
    }

    /// The province's team ("37") and one team per district. Implies the units.
    pub fn with_teams(mut self) -> Self {
        self.teams.push("37".into());
        let mut districts: Vec<String> = communes().into_iter().map(|(_, d)| d).collect();
        districts.sort();
        districts.dedup();
        for d in districts {
            self.with_team_of(&d);
        }
        self.with_ninh_binh()
    }

    /// A team for the unit `code`, of the unit's level. Implies the units.
    pub fn with_team(mut self, code: &str) -> Self {
        self.with_team_of(code);
        self.with_ninh_binh()
    }

    fn with_team_of(&mut self, code: &str) {
        if !self.teams.iter().any(|t| t == code) {
            self.teams.push(code.to_string());
        }
    }

    /// Login attempts allowed per user and address a minute (1000 unless
    /// a test says otherwise).
    pub fn login_attempts_per_minute(mut self, n: u32) -> Self {
        self.login_attempts_per_minute = n;
        self
    }

    /// `TRUSTED_PROXIES` (none unless a test says otherwise); the tests
    /// connect from 127.0.0.1.
    pub fn trusted_proxies(mut self, proxies: &str) -> Self {
        self.trusted_proxies = proxies.to_string();
        self
    }

    /// `REFRESH_GRACE_SECS` (the default, 60, unless a test says otherwise).
    pub fn refresh_grace_secs(mut self, secs: i64) -> Self {
        self.refresh_grace_secs = Some(secs);
        self
    }

    /// Seconds a request body may take (`BODY_TIMEOUT_SECS`; the
    /// service's default unless a test says otherwise).
    pub fn body_timeout_secs(mut self, secs: u64) -> Self {
        self.body_timeout_secs = Some(secs);
        self
    }

    /// On a SQLite file even when `TEST_POSTGRES_URL` is set.
    pub fn on_sqlite(mut self) -> Self {
        self.sqlite = true;
        self
    }

    /// The app with no user and no data.
    pub async fn empty(self) -> TestApp {
        assert!(
            !self.ninh_binh,
            "units, establishments and teams are set up by an admin: finish with .with_admin()"
        );
        self.spawn()
    }

    /// The app with an admin (`admin`), who set up what was asked; the
    /// admin's access token.
    pub async fn with_admin(self) -> (TestApp, String) {
        let mut app = self.spawn();
        app.create_user("admin", "admin", None, None);
        let admin = app.login("admin").await;
        if self.ninh_binh {
            let body = app
                .post_csv("/api/v1/org-units/import", &admin, NINH_BINH)
                .await
                .expect(StatusCode::OK);
            assert_eq!(body["errors"], json!([]));
        }
        if self.establishments > 0 {
            let communes = communes();
            let mut csv = String::from("licence_no,name,business_type,org_unit_code,address\n");
            for i in 0..self.establishments {
                let (c, _) = &communes[(i * 7) % communes.len()];
                let btype = BUSINESS_TYPES[i % BUSINESS_TYPES.len()];
                csv.push_str(&format!("L-{i:04},Cơ sở {i},{btype},{c},Số {i}\n"));
            }
            let r = app
                .post_csv("/api/v1/establishments/import", &admin, &csv)
                .await
                .expect(StatusCode::OK);
            assert_eq!(
                r["created"].as_u64(),
                Some(self.establishments as u64),
                "{r}"
            );
        }
        for code in &self.teams {
            let id = app.create_team(&admin, code).await;
            app.teams.insert(code.clone(), id);
        }
        (app, admin)
    }

    fn spawn(&self) -> TestApp {
        let dir = tempfile::tempdir().expect("tempdir");
        let db = if self.sqlite {
            fresh_sqlite(dir.path())
        } else {
            fresh_database(dir.path())
        };
        let mut settings =
            Settings::new(&*db, Secret::new("test-secret-test-secret-test-secret!")).unwrap();
        settings.bind = "127.0.0.1:0".into();
        settings.attachments_dir = dir.path().join("attachments");
        settings.login_attempts_per_minute = self.login_attempts_per_minute;
        settings.trusted_proxies = self.trusted_proxies.parse().expect("TRUSTED_PROXIES");
        if let Some(secs) = self.refresh_grace_secs {
            settings.refresh_grace_secs = secs;
        }
        if let Some(secs) = self.body_timeout_secs {
            settings.body_timeout_secs = secs;
        }
        let app = Application::build(settings).expect("build app");
        let port = app.port();
        let pool = app.db().pool.clone();
        actix_web::rt::spawn(app.run_until_stopped());
        TestApp {
            address: format!("http://127.0.0.1:{port}"),
            client: reqwest::Client::new(),
            pool,
            teams: HashMap::new(),
            _db: db,
            _dir: dir,
        }
    }
}

/// `.expect(status)` on the `(status, body)` a request helper answers.
pub trait Expect {
    /// The body, once the status is asserted to be `status`.
    fn expect(self, status: StatusCode) -> Value;
}

impl Expect for (StatusCode, Value) {
    #[track_caller]
    fn expect(self, status: StatusCode) -> Value {
        assert_eq!(self.0, status, "{}", self.1);
        self.1
    }
}

/// A fresh database: a new PostgreSQL database (dropped again when this is
/// dropped, so that test runs leave nothing behind on the server), or a
/// SQLite file in the caller's temporary directory. Derefs to its URL.
pub struct TestDb {
    url: String,
    pg: Option<(String, String)>,
}

impl std::ops::Deref for TestDb {
    type Target = str;
    fn deref(&self) -> &str {
        &self.url
    }
}

impl AsRef<std::ffi::OsStr> for TestDb {
    fn as_ref(&self) -> &std::ffi::OsStr {
        self.url.as_ref()
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let Some((base, name)) = &self.pg {
            if let Ok(mut admin) = diesel::PgConnection::establish(&format!("{base}/postgres")) {
                let _ = diesel::sql_query(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                    .execute(&mut admin);
            }
        }
    }
}

/// A fresh SQLite database file in `dir`.
pub fn fresh_sqlite(dir: &std::path::Path) -> TestDb {
    TestDb {
        url: format!("sqlite://{}", dir.join("test.db").display()),
        pg: None,
    }
}

/// A fresh database of the other backend than `url`'s: a SQLite file in
/// `dir` for a PostgreSQL `url`; a PostgreSQL database for a SQLite `url`
/// when `TEST_POSTGRES_URL` is set, else (no server) another SQLite file.
pub fn fresh_database_other_than(url: &str, dir: &std::path::Path) -> TestDb {
    if url.starts_with("postgres") {
        fresh_sqlite(dir)
    } else {
        fresh_database(dir)
    }
}

/// Runs `sql` on the database at `url`; its one BIGINT value, named `n`.
pub fn scalar_on(url: &str, sql: &str) -> i64 {
    #[derive(diesel::QueryableByName)]
    struct N {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    let pool = kiemtra::db::build_pool(url, 1).expect("connect");
    let mut conn = pool.get().unwrap();
    diesel::sql_query(sql)
        .get_result::<N>(&mut **conn)
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
        .n
}

/// Runs `sql` on the database at `url`; its TEXT values, named `t`.
pub fn texts_on(url: &str, sql: &str) -> Vec<String> {
    #[derive(diesel::QueryableByName)]
    struct T {
        #[diesel(sql_type = diesel::sql_types::Text)]
        t: String,
    }
    let pool = kiemtra::db::build_pool(url, 1).expect("connect");
    let mut conn = pool.get().unwrap();
    diesel::sql_query(sql)
        .load::<T>(&mut **conn)
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
        .into_iter()
        .map(|t| t.t)
        .collect()
}

/// The tables of the database at `url`, read from its catalog (the
/// engine's and diesel's own left out), sorted.
pub fn catalog_tables(url: &str) -> Vec<String> {
    let sql = if url.starts_with("postgres") {
        "SELECT table_name::text AS t FROM information_schema.tables \
         WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'"
    } else {
        "SELECT name AS t FROM sqlite_master WHERE type = 'table'"
    };
    let mut t: Vec<String> = texts_on(url, sql)
        .into_iter()
        .filter(|n| !n.starts_with("__diesel") && !n.starts_with("sqlite_"))
        .collect();
    t.sort();
    t
}

/// A fresh database URL: a new PostgreSQL database, or a SQLite file in `dir`.
pub fn fresh_database(dir: &std::path::Path) -> TestDb {
    match std::env::var("TEST_POSTGRES_URL") {
        Ok(base) if !base.is_empty() => {
            let base = base.trim_end_matches('/').to_string();
            let name = format!("kiemtra_test_{}", uuid::Uuid::new_v4().simple());
            let mut admin = diesel::PgConnection::establish(&format!("{base}/postgres"))
                .expect("connect to PostgreSQL");
            diesel::sql_query(format!("CREATE DATABASE {name}"))
                .execute(&mut admin)
                .expect("create test database");
            TestDb {
                url: format!("{base}/{name}"),
                pg: Some((base, name)),
            }
        }
        _ => TestDb {
            url: format!("sqlite://{}", dir.join("test.db").display()),
            pg: None,
        },
    }
}

impl TestApp {
    /// A client whose connections come from `ip` (any of 127.0.0.0/8 on
    /// Linux), for a caller at another address than the tests' 127.0.0.1.
    pub fn client_from(ip: &str) -> reqwest::Client {
        reqwest::Client::builder()
            .local_address(ip.parse::<std::net::IpAddr>().expect("an address"))
            .build()
            .expect("client")
    }

    /// A login attempt through `client`, with `X-Forwarded-For: forwarded`
    /// if given: its status and `Retry-After` seconds.
    pub async fn login_from(
        &self,
        client: &reqwest::Client,
        forwarded: Option<&str>,
        username: &str,
        password: &str,
    ) -> (StatusCode, Option<u64>) {
        let mut req = client
            .post(self.url("/api/v1/auth/login"))
            .json(&json!({"username": username, "password": password}));
        if let Some(f) = forwarded {
            req = req.header("X-Forwarded-For", f);
        }
        let resp = req.send().await.expect("request");
        let retry = resp.headers().get("retry-after").map(|v| {
            v.to_str()
                .unwrap()
                .parse::<u64>()
                .expect("Retry-After seconds")
        });
        (resp.status(), retry)
    }

    /// Where the app stores photos (for the `kiemtra` binary run beside it).
    pub fn attachments_dir(&self) -> std::path::PathBuf {
        self._dir.path().join("attachments")
    }

    /// The app's database URL (for the `kiemtra` binary run beside it).
    pub fn database_url(&self) -> String {
        self._db.url.clone()
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.address, path)
    }

    /// Sends a request with optional token and JSON body; returns status and JSON (or Null).
    pub async fn send(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let mut req = self.client.request(method, self.url(path));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().await.expect("request");
        let status = resp.status();
        let text = resp.text().await.unwrap_or_default();
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    pub async fn get(&self, path: &str, token: &str) -> (StatusCode, Value) {
        self.send(Method::GET, path, Some(token), None).await
    }

    pub async fn post(&self, path: &str, token: &str, body: Value) -> (StatusCode, Value) {
        self.send(Method::POST, path, Some(token), Some(body)).await
    }

    pub async fn patch(&self, path: &str, token: &str, body: Value) -> (StatusCode, Value) {
        self.send(Method::PATCH, path, Some(token), Some(body))
            .await
    }

    /// A GET that must answer 200; its body.
    pub async fn get_ok(&self, path: &str, token: &str) -> Value {
        let (status, body) = self.get(path, token).await;
        assert_eq!(status, StatusCode::OK, "GET {path}: {body}");
        body
    }

    /// A POST that must answer 200; its body.
    pub async fn post_ok(&self, path: &str, token: &str, body: Value) -> Value {
        let (status, body) = self.post(path, token, body).await;
        assert_eq!(status, StatusCode::OK, "POST {path}: {body}");
        body
    }

    /// A POST that must answer 201; its body.
    pub async fn post_created(&self, path: &str, token: &str, body: Value) -> Value {
        let (status, body) = self.post(path, token, body).await;
        assert_eq!(status, StatusCode::CREATED, "POST {path}: {body}");
        body
    }

    /// A PATCH that must answer 200; its body.
    pub async fn patch_ok(&self, path: &str, token: &str, body: Value) -> Value {
        let (status, body) = self.patch(path, token, body).await;
        assert_eq!(status, StatusCode::OK, "PATCH {path}: {body}");
        body
    }

    /// Every item of a paged list (`path` has a query already), following
    /// `next_cursor`; every page must answer 200.
    pub async fn all_pages(&self, path: &str, token: &str) -> Vec<Value> {
        let mut out = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let page = match &cursor {
                Some(c) => format!("{path}&cursor={c}"),
                None => path.to_string(),
            };
            let page = self.get_ok(&page, token).await;
            out.extend(page["items"].as_array().unwrap().iter().cloned());
            match page["next_cursor"].as_str() {
                Some(c) => cursor = Some(c.to_string()),
                None => return out,
            }
        }
    }

    /// Posts a CSV body.
    pub async fn post_csv(&self, path: &str, token: &str, csv: &str) -> (StatusCode, Value) {
        let resp = self
            .client
            .post(self.url(path))
            .bearer_auth(token)
            .header("Content-Type", "text/csv")
            .body(csv.to_string())
            .send()
            .await
            .expect("request");
        let status = resp.status();
        (status, resp.json().await.unwrap_or(Value::Null))
    }

    /// A GET asking for `accept` (CSV, XLSX): status and body bytes.
    pub async fn get_as(&self, path: &str, token: &str, accept: &str) -> (StatusCode, Vec<u8>) {
        let resp = self
            .client
            .get(self.url(path))
            .bearer_auth(token)
            .header("Accept", accept)
            .send()
            .await
            .unwrap();
        (resp.status(), resp.bytes().await.unwrap().to_vec())
    }

    /// Creates a user straight in the database (arrange step).
    pub fn create_user(
        &self,
        username: &str,
        role: &str,
        unit: Option<&str>,
        team: Option<&str>,
    ) -> String {
        // Hashed before the transaction, as every caller of create_user does.
        let new = kiemtra::app::users::NewUser {
            username: username.into(),
            password: PASSWORD.into(),
            full_name: format!("User {username}"),
            role: role.into(),
            org_unit_code: unit.map(str::to_string),
            team_id: team.map(str::to_string),
        }
        .hashed();
        let mut conn = self.pool.get().unwrap();
        write_tx(&mut conn, |c| kiemtra::app::users::create_user(c, new))
            .expect("create user")
            .id
    }

    /// Logs in and returns the access token.
    pub async fn login(&self, username: &str) -> String {
        self.login_answer(username).await["access_token"]
            .as_str()
            .unwrap()
            .to_string()
    }

    /// Logs in; the whole 200 answer (tokens and user).
    pub async fn login_answer(&self, username: &str) -> Value {
        self.send(
            Method::POST,
            "/api/v1/auth/login",
            None,
            Some(json!({"username": username, "password": PASSWORD})),
        )
        .await
        .expect(StatusCode::OK)
    }

    /// A new inspector of the builder's team for `team` (a unit code),
    /// living in that unit, logged in.
    pub async fn inspector(&self, username: &str, team: &str) -> User {
        let id = self.create_user(username, "inspector", Some(team), Some(&self.teams[team]));
        User {
            id,
            token: self.login(username).await,
        }
    }

    /// A new supervisor of `unit`, logged in: the access token.
    pub async fn supervisor(&self, username: &str, unit: &str) -> String {
        self.create_user(username, "supervisor", Some(unit), None);
        self.login(username).await
    }

    /// Registers one establishment; returns its JSON.
    pub async fn establishment(
        &self,
        token: &str,
        licence: &str,
        unit: &str,
        btype: &str,
    ) -> Value {
        self.post_created(
            "/api/v1/establishments",
            token,
            json!({"licence_no": licence, "name": format!("Cơ sở {licence}"), "business_type": btype,
                   "org_unit_code": unit, "address": "Số 1", "latitude": 20.25, "longitude": 105.97}),
        )
        .await
    }

    /// Creates a team for the unit `code` (of the unit's level: "Đội tỉnh"
    /// for the province, "Đội {code}" otherwise); its id.
    pub async fn create_team(&self, token: &str, code: &str) -> String {
        let level = unit_level(code);
        let name = if level == "province" {
            "Đội tỉnh".to_string()
        } else {
            format!("Đội {code}")
        };
        self.post_created(
            "/api/v1/teams",
            token,
            json!({"name": name, "level": level, "org_unit_code": code}),
        )
        .await["id"]
            .as_str()
            .unwrap()
            .to_string()
    }

    /// Creates a plan (201, draft); its JSON.
    pub async fn create_plan(&self, token: &str, plan: Value) -> Value {
        let p = self.post_created("/api/v1/plans", token, plan).await;
        assert_eq!(p["status"], "draft", "{p}");
        p
    }

    /// Draws a plan (200); the draw's answer.
    pub async fn draw(&self, token: &str, plan: &str) -> Value {
        self.post_ok(&format!("/api/v1/plans/{plan}/draw"), token, json!({}))
            .await
    }

    /// Row counts of a table (independent of the API).
    pub fn count(&self, table: &str) -> i64 {
        self.scalar(&format!("SELECT COUNT(*) AS n FROM {table}"))
    }

    /// The one BIGINT value, named `n`, of a query run straight on the
    /// database.
    pub fn scalar(&self, sql: &str) -> i64 {
        #[derive(diesel::QueryableByName)]
        struct N {
            #[diesel(sql_type = diesel::sql_types::BigInt)]
            n: i64,
        }
        let mut conn = self.pool.get().unwrap();
        diesel::sql_query(sql)
            .get_result::<N>(&mut **conn)
            .unwrap()
            .n
    }

    /// The one nullable TEXT value, named `t`, of a query run straight on
    /// the database.
    pub fn text(&self, sql: &str) -> Option<String> {
        #[derive(diesel::QueryableByName)]
        struct T {
            #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Text>)]
            t: Option<String>,
        }
        let mut conn = self.pool.get().unwrap();
        diesel::sql_query(sql)
            .get_result::<T>(&mut **conn)
            .unwrap()
            .t
    }

    /// Runs a statement straight on the database, as an operator at an SQL
    /// prompt would; returns the number of rows it touched.
    pub fn exec(&self, sql: &str) -> usize {
        let mut conn = self.pool.get().unwrap();
        diesel::sql_query(sql).execute(&mut **conn).unwrap()
    }

    /// Runs a statement straight on the database that must fail; the error.
    pub fn exec_err(&self, sql: &str) -> String {
        let mut conn = self.pool.get().unwrap();
        diesel::sql_query(sql)
            .execute(&mut **conn)
            .expect_err(sql)
            .to_string()
    }

    /// The audit chain walked as `kiemtra audit verify` walks it: the
    /// number of entries, or the `seq` of the first that does not hold.
    pub fn audit_chain(&self) -> Result<u64, i64> {
        let mut conn = self.pool.get().unwrap();
        kiemtra::app::audit::verify(&mut conn)
            .expect("read the audit log")
            .map_err(|(seq, _)| seq)
    }

    /// One batch of the group commit, run directly in one write transaction
    /// (not through HTTP): the minutes `bodies`, posted by the user
    /// `caller`, in this order; what each was answered.
    pub fn post_batch(&self, caller: &str, bodies: Vec<Value>) -> Vec<BatchAnswer> {
        use kiemtra::app::inspections::{post_batch, Posting, Written};
        use kiemtra::domain::minutes::{body_hash, InspectionBody};
        use kiemtra::error::ApiError;
        let postings: Vec<Posting> = bodies
            .into_iter()
            .map(|v| {
                let body: InspectionBody = serde_json::from_value(v).unwrap();
                Posting {
                    caller: caller.to_string(),
                    hash: body_hash(&body),
                    body,
                    received: kiemtra::domain::values::now(),
                }
            })
            .collect();
        let items: Vec<&Posting> = postings.iter().collect();
        let mut conn = self.pool.get().unwrap();
        let answers = write_tx(&mut conn, |c| post_batch(c, &items)).unwrap();
        answers
            .into_iter()
            .map(|a| match a {
                Ok(Written::Created(_)) => BatchAnswer::Created,
                Ok(Written::Stored) => BatchAnswer::Stored,
                Err(ApiError::Validation(errs)) => {
                    BatchAnswer::Invalid(errs.into_iter().map(|e| e.field).collect())
                }
                Err(ApiError::Conflict(m)) => BatchAnswer::Conflict(m),
                Err(other) => panic!("a batch answer other than 422 or 409: {other:?}"),
            })
            .collect()
    }
}

/// A user the helpers created and logged in.
pub struct User {
    pub id: String,
    /// Its access token.
    pub token: String,
}

/// What one minutes of [`TestApp::post_batch`] was answered.
#[derive(Debug)]
pub enum BatchAnswer {
    /// Stored now (201).
    Created,
    /// Stored before, the same (200).
    Stored,
    /// 422, naming these fields.
    Invalid(Vec<String>),
    /// 409, with this detail.
    Conflict(String),
}

/// Every (method, path) the server serves, in OpenAPI path syntax.
pub fn served_routes() -> BTreeSet<(String, String)> {
    kiemtra::api::ROUTES
        .iter()
        .map(|(m, p)| (m.to_string(), p.to_string()))
        .collect()
}

/// The migrations of the backend under test, run by hand on one
/// connection to `db`.
pub struct Migrations(kiemtra::db::PooledConn);

impl Migrations {
    pub fn on(db: &str) -> Migrations {
        let pool = kiemtra::db::build_pool(db, 1).unwrap();
        Migrations(pool.get().unwrap())
    }

    /// Runs the pending migrations; their names.
    pub fn run(&mut self) -> Vec<String> {
        kiemtra::db::run_migrations(&mut self.0).unwrap()
    }

    /// Reverts migrations, newest first, down to and including the one whose
    /// name ends with `suffix`.
    pub fn revert_through(&mut self, suffix: &str) {
        use diesel_migrations::MigrationHarness;
        use kiemtra::db::{DbConnection, PG_MIGRATIONS, SQLITE_MIGRATIONS};
        loop {
            let version = match &mut **self.0 {
                DbConnection::Pg(c) => c.revert_last_migration(PG_MIGRATIONS),
                DbConnection::Sqlite(c) => c.revert_last_migration(SQLITE_MIGRATIONS),
            }
            .unwrap()
            .to_string();
            if version.ends_with(suffix) {
                return;
            }
        }
    }

    /// Runs one statement, panicking with it if it fails.
    pub fn exec(&mut self, sql: &str) {
        use diesel::RunQueryDsl;
        diesel::sql_query(sql).execute(&mut **self.0).expect(sql);
    }

    /// The `n` column of a one-row query.
    pub fn scalar(&mut self, sql: &str) -> i64 {
        use diesel::RunQueryDsl;
        #[derive(diesel::QueryableByName)]
        struct N {
            #[diesel(sql_type = diesel::sql_types::BigInt)]
            n: i64,
        }
        diesel::sql_query(sql)
            .get_result::<N>(&mut **self.0)
            .expect(sql)
            .n
    }

    /// Reverts every migration; how many it reverted.
    pub fn revert_all(&mut self) -> usize {
        use diesel_migrations::MigrationHarness;
        use kiemtra::db::{DbConnection, PG_MIGRATIONS, SQLITE_MIGRATIONS};
        match &mut **self.0 {
            DbConnection::Pg(c) => c.revert_all_migrations(PG_MIGRATIONS).unwrap().len(),
            DbConnection::Sqlite(c) => c.revert_all_migrations(SQLITE_MIGRATIONS).unwrap().len(),
        }
    }
}

/// The string `key` of every element of the JSON array `items`.
pub fn strings(items: &Value, key: &str) -> Vec<String> {
    items
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i[key].as_str().unwrap().to_string())
        .collect()
}

/// Every commune of the bundled Ninh Bình file with its district, in the
/// file's order.
pub fn communes() -> Vec<(String, String)> {
    NINH_BINH
        .lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            (f.len() == 4 && f[2] == "commune").then(|| (f[0].to_string(), f[3].to_string()))
        })
        .collect()
}

/// First commune of a district in the bundled Ninh Bình file.
pub fn commune_of(district: &str) -> String {
    NINH_BINH
        .lines()
        .find(|l| l.ends_with(&format!(",commune,{district}")))
        .and_then(|l| l.split(',').next())
        .expect("district has communes")
        .to_string()
}

/// The level of a unit of the bundled Ninh Bình file.
fn unit_level(code: &str) -> String {
    NINH_BINH
        .lines()
        .map(|l| l.split(',').collect::<Vec<_>>())
        .find(|f| f[0] == code)
        .map(|f| f[2].to_string())
        .unwrap_or_else(|| panic!("no unit {code} in the Ninh Bình file"))
}
