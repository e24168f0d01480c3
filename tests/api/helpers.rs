//! Spawns the real application on a fresh database per test: a temporary
//! SQLite file by default, or a new PostgreSQL database when
//! `TEST_POSTGRES_URL` names a server (e.g. `postgres://postgres@127.0.0.1:5432`).

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

/// A running app on its own database.
pub struct TestApp {
    pub address: String,
    pub client: reqwest::Client,
    pub pool: Pool,
    _db: TestDb,
    _dir: tempfile::TempDir,
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

pub async fn spawn_app() -> TestApp {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = fresh_database(dir.path());
    let mut settings =
        Settings::new(&*db, Secret::new("test-secret-test-secret-test-secret!")).unwrap();
    settings.bind = "127.0.0.1:0".into();
    settings.attachments_dir = dir.path().join("attachments");
    settings.login_attempts_per_minute = 1000;
    let app = Application::build(settings).expect("build app");
    let port = app.port();
    let pool = app.db().pool.clone();
    actix_web::rt::spawn(app.run_until_stopped());
    TestApp {
        address: format!("http://127.0.0.1:{port}"),
        client: reqwest::Client::new(),
        pool,
        _db: db,
        _dir: dir,
    }
}

impl TestApp {
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
        let (status, body) = self
            .send(
                Method::POST,
                "/api/v1/auth/login",
                None,
                Some(json!({"username": username, "password": PASSWORD})),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "login {username}: {body}");
        body["access_token"].as_str().unwrap().to_string()
    }

    /// An admin's token.
    pub async fn admin(&self) -> String {
        self.create_user("admin", "admin", None, None);
        self.login("admin").await
    }

    /// Imports Ninh Bình's units through the API; returns the admin token.
    pub async fn with_ninh_binh(&self) -> String {
        let token = self.admin().await;
        let (status, body) = self
            .post_csv("/api/v1/org-units/import", &token, NINH_BINH)
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(body["errors"], json!([]));
        token
    }

    /// Registers one establishment; returns its JSON.
    pub async fn establishment(
        &self,
        token: &str,
        licence: &str,
        unit: &str,
        btype: &str,
    ) -> Value {
        let (status, body) = self
            .post(
                "/api/v1/establishments",
                token,
                json!({"licence_no": licence, "name": format!("Cơ sở {licence}"), "business_type": btype,
                       "org_unit_code": unit, "address": "Số 1", "latitude": 20.25, "longitude": 105.97}),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        body
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

    /// Runs a statement straight on the database, as an operator at an SQL
    /// prompt would; returns the number of rows it touched.
    pub fn exec(&self, sql: &str) -> usize {
        let mut conn = self.pool.get().unwrap();
        diesel::sql_query(sql).execute(&mut **conn).unwrap()
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

/// First commune of a district in the bundled Ninh Bình file.
pub fn commune_of(district: &str) -> String {
    NINH_BINH
        .lines()
        .find(|l| l.ends_with(&format!(",commune,{district}")))
        .and_then(|l| l.split(',').next())
        .expect("district has communes")
        .to_string()
}
