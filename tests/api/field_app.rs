//! The inspectors' field app over plain HTTP: the shell, the manifest, the
//! service worker and the content-hashed assets with their types and cache
//! headers; and the API change it needs, review changes of a team's minutes
//! carried by the team's sync.

use std::io::{Read, Write};

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::{commune_of, TestApp};

/// Team 372 with its leader (`lead`, the signed-in inspector of the field
/// app) and a member, ten establishments in the district, a drawn plan, a
/// supervisor of the province.
pub struct FieldTeam {
    pub app: TestApp,
    pub admin: String,
    pub sup: String,
    pub lead: String,
    pub lead_id: String,
    pub team: String,
    pub assignments: Vec<Value>,
}

pub async fn field_team() -> FieldTeam {
    let (app, admin) = TestApp::init().with_team("372").with_admin().await;
    let c = commune_of("372");
    for i in 0..10 {
        app.establishment(&admin, &format!("FA-{i}"), &c, "karaoke")
            .await;
    }
    let team = app.teams["372"].clone();
    let lead_id = app.create_user("lead", "inspector", Some("372"), None);
    app.post_created(
        &format!("/api/v1/teams/{team}/members"),
        &admin,
        json!({"user_id": lead_id, "agency": "labour_social_affairs", "is_leader": true}),
    )
    .await;
    let police = app.create_user("police", "inspector", Some("372"), None);
    app.post_created(
        &format!("/api/v1/teams/{team}/members"),
        &admin,
        json!({"user_id": police, "agency": "police", "is_leader": false}),
    )
    .await;
    let p = app
        .create_plan(
            &admin,
            json!({"name": "Kế hoạch 2026", "year": 2026, "org_unit_code": "37",
                   "shares": [{"level": "district", "percent": 40}]}),
        )
        .await;
    app.draw(&admin, p["id"].as_str().unwrap()).await;
    let lead = app.login("lead").await;
    let page = app
        .get_ok(&format!("/api/v1/teams/{team}/assignments"), &lead)
        .await;
    let assignments = page["items"].as_array().unwrap().clone();
    assert!(assignments.len() >= 3, "{page}");
    let sup = app.supervisor("sup", "37").await;
    FieldTeam {
        app,
        admin,
        sup,
        lead,
        lead_id,
        team,
        assignments,
    }
}

/// Minutes of `assignment` as the field app posts them.
pub fn minutes_body(f: &FieldTeam, id: &str, assignment: &Value, notes: &str) -> Value {
    json!({
        "id": id,
        "assignment_id": assignment["id"],
        "establishment_id": assignment["establishment"]["id"],
        "team_id": f.team,
        "started_at": "2026-11-30T09:00:00+07:00",
        "finished_at": "2026-11-30T10:00:00+07:00",
        "location": null,
        "members_present": [f.lead_id],
        "outcome": "no_violation",
        "notes": notes,
        "checklist": {"licence": true},
        "violations": []
    })
}

fn gzip_len(body: &[u8]) -> usize {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(body).unwrap();
    e.finish().unwrap().len()
}

/// `/app/` is the shell (revalidated on every load, gzip when asked), with
/// its style and its one module inline, allowed by the content security
/// policy through their hashes; the assets it names carry their content hash
/// (immutable for a year); the manifest and the service worker are served
/// with their types, the worker lists exactly the shell's files; an unknown
/// asset is 404. The shell with its assets stays under 100 KB gzip.
#[actix_web::test]
async fn the_shell_manifest_worker_and_hashed_assets_are_served() {
    let app = TestApp::init().empty().await;
    let r = app.client.get(app.url("/app")).send().await.unwrap();
    assert_eq!(r.url().path(), "/app/", "/app redirects to /app/");
    // Served gzip (made once, at the best level) to a browser that takes it.
    let r = app
        .client
        .get(app.url("/app/"))
        .header("accept-encoding", "gzip, deflate")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.headers()["content-encoding"], "gzip");
    let gz = r.bytes().await.unwrap();
    let mut shell = String::new();
    flate2::read::GzDecoder::new(&gz[..])
        .read_to_string(&mut shell)
        .unwrap();
    let r = app.client.get(app.url("/app/")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.headers()["content-type"], "text/html; charset=utf-8");
    assert_eq!(r.headers()["cache-control"], "no-cache");
    let csp = r.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(csp.contains("default-src 'self'"), "{csp}");
    assert_eq!(r.text().await.unwrap(), shell);
    assert!(shell.contains("lang=\"vi\"") && shell.contains("/app/manifest.webmanifest"));
    assert!(!shell.contains("http://") && !shell.contains("https://"));
    let mut total = gz.len();

    // The first screen needs nothing but the shell: its style and its one
    // module are inline, allowed by their hashes and by nothing looser.
    let inline = |open: &str, close: &str| -> String {
        let start = shell.find(open).unwrap_or_else(|| panic!("no {open}")) + open.len();
        let end = start + shell[start..].find(close).unwrap();
        assert_eq!(shell.matches(open).count(), 1, "one {open}");
        shell[start..end].to_string()
    };
    let style = inline("<style>", "</style>");
    let script = inline("<script type=\"module\">", "</script>");
    assert!(style.contains("--green") && script.contains("kiemtra-ready"));
    assert!(!shell.contains("<script src") && !shell.contains("rel=\"stylesheet\""));
    assert!(!shell.contains("modulepreload"));
    assert!(
        !script.contains("import ") && !script.contains("export "),
        "one module"
    );
    for text in [&style, &script] {
        use base64::Engine;
        use sha2::Digest;
        let hash = base64::engine::general_purpose::STANDARD.encode(sha2::Sha256::digest(text));
        assert!(csp.contains(&format!("'sha256-{hash}'")), "{csp}");
    }
    assert!(
        !csp.contains("unsafe-inline") && !csp.contains("unsafe-eval"),
        "{csp}"
    );

    let worker = app.client.get(app.url("/app/sw.js")).send().await.unwrap();
    assert_eq!(worker.status(), StatusCode::OK);
    assert_eq!(
        worker.headers()["content-type"],
        "text/javascript; charset=utf-8"
    );
    assert_eq!(worker.headers()["cache-control"], "no-cache");
    assert_eq!(worker.headers()["service-worker-allowed"], "/app/");
    let worker = worker.text().await.unwrap();
    assert!(
        worker.contains("'/api/'"),
        "the worker leaves the API alone"
    );
    assert!(worker.contains("\"/app/\"") && worker.contains("\"/app/manifest.webmanifest\""));
    total += gzip_len(worker.as_bytes());

    let manifest = app
        .client
        .get(app.url("/app/manifest.webmanifest"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        manifest.headers()["content-type"],
        "application/manifest+json"
    );
    let manifest: Value = manifest.json().await.unwrap();
    assert_eq!(manifest["start_url"], "/app/");
    assert_eq!(manifest["display"], "standalone");
    total += gzip_len(manifest.to_string().as_bytes());
    let icon = manifest["icons"][0]["src"].as_str().unwrap().to_string();

    // Every asset the shell names, and the manifest's icon: hashed, cached
    // by the worker, immutable.
    let mut names: Vec<String> = shell
        .split('"')
        .filter(|s| s.starts_with("/app/assets/"))
        .map(str::to_string)
        .collect();
    names.push(icon);
    names.sort();
    names.dedup();
    for name in &names {
        assert!(
            worker.contains(&format!("\"{name}\"")),
            "{name} not cached by the worker"
        );
        let r = app.client.get(app.url(name)).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::OK, "{name}");
        let ctype = r.headers()["content-type"].to_str().unwrap().to_string();
        let expected = match name.rsplit('.').next().unwrap() {
            "js" => "text/javascript; charset=utf-8",
            "css" => "text/css; charset=utf-8",
            "svg" => "image/svg+xml",
            other => panic!("unexpected asset type {other}"),
        };
        assert_eq!(ctype, expected, "{name}");
        assert_eq!(
            r.headers()["cache-control"],
            "public, max-age=31536000, immutable"
        );
        let body = r.bytes().await.unwrap();
        // The name carries the first 10 hex digits of the body's SHA-256.
        use sha2::Digest;
        let digest = hex::encode(sha2::Sha256::digest(&body));
        assert!(
            name.contains(&format!(".{}.", &digest[..10])),
            "{name} is not its hash"
        );
        total += gzip_len(&body);
    }
    eprintln!("app shell: {total} bytes gzip (budget 102,400)");
    assert!(total < 100 * 1024, "app shell {total} bytes gzip");
    let r = app
        .client
        .get(app.url("/app/assets/app.0000000000.js"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    assert!(r.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("application/problem+json"));
}

/// A supervisor returns minutes: the team's next delta sync carries the
/// review (and nothing else changed); a full fetch carries minutes that are
/// returned; the correction puts them back to pending at version 2, which
/// the next delta carries; then nothing more.
#[actix_web::test]
async fn a_teams_sync_carries_the_review_changes_of_its_minutes() {
    let f = field_team().await;
    let app = &f.app;
    let sync = format!("/api/v1/teams/{}/assignments", f.team);
    let id = uuid::Uuid::new_v4().to_string();
    app.post_created(
        "/api/v1/inspections",
        &f.lead,
        minutes_body(&f, &id, &f.assignments[0], "Phòng 3"),
    )
    .await;
    let first = app.get_ok(&sync, &f.lead).await;
    assert_eq!(first["reviews"], json!([]), "nothing returned yet");
    let token = first["sync_token"].as_str().unwrap().to_string();

    app.post_ok(
        &format!("/api/v1/inspections/{id}/review"),
        &f.sup,
        json!({"decision": "returned", "comment": "Thiếu chữ ký đại diện"}),
    )
    .await;
    let delta = app.get_ok(&format!("{sync}?since={token}"), &f.lead).await;
    assert_eq!(delta["items"], json!([]), "{delta}");
    let reviews = delta["reviews"].as_array().unwrap();
    assert_eq!(reviews.len(), 1, "{delta}");
    assert_eq!(reviews[0]["inspection_id"], json!(id));
    assert_eq!(reviews[0]["assignment_id"], f.assignments[0]["id"]);
    assert_eq!(reviews[0]["status"], "returned");
    assert_eq!(reviews[0]["comment"], "Thiếu chữ ký đại diện");
    assert_eq!(reviews[0]["version"], 1);
    let token2 = delta["sync_token"].as_str().unwrap().to_string();
    assert_ne!(token2, token);
    let again = app.get_ok(&format!("{sync}?since={token2}"), &f.lead).await;
    assert_eq!(again["reviews"], json!([]));

    // A phone starting afresh learns it from the full fetch.
    let full = app.get_ok(&sync, &f.lead).await;
    assert_eq!(full["reviews"].as_array().unwrap().len(), 1, "{full}");

    let c = app
        .post_created(
            &format!("/api/v1/inspections/{id}/corrections"),
            &f.lead,
            json!({"reason": "bổ sung chữ ký", "notes": "Phòng 3, đã ký"}),
        )
        .await;
    assert_eq!(c["version"], 2);
    let delta = app.get_ok(&format!("{sync}?since={token2}"), &f.lead).await;
    let reviews = delta["reviews"].as_array().unwrap();
    assert_eq!(reviews.len(), 1, "{delta}");
    assert_eq!(
        (&reviews[0]["status"], &reviews[0]["version"]),
        (&json!("pending"), &json!(2))
    );
    let full = app.get_ok(&sync, &f.lead).await;
    assert_eq!(full["reviews"], json!([]), "nothing is returned now");
}

/// A generated client sends a photo as `application/octet-stream`: it is
/// stored as the kind its content is, and downloads as that type.
#[actix_web::test]
async fn a_photo_sent_as_octet_stream_is_stored_as_its_kind() {
    let f = field_team().await;
    let id = uuid::Uuid::new_v4().to_string();
    f.app
        .post_created(
            "/api/v1/inspections",
            &f.lead,
            minutes_body(&f, &id, &f.assignments[0], "ảnh"),
        )
        .await;
    let img = image::RgbImage::from_fn(16, 16, |x, y| image::Rgb([x as u8 * 9, y as u8 * 9, 80]));
    let mut png = std::io::Cursor::new(Vec::new());
    img.write_to(&mut png, image::ImageFormat::Png).unwrap();
    let png = png.into_inner();
    use sha2::Digest;
    let sha = hex::encode(sha2::Sha256::digest(&png));
    let put = |body: Vec<u8>| {
        f.app
            .client
            .put(
                f.app
                    .url(&format!("/api/v1/inspections/{id}/attachments/{sha}")),
            )
            .bearer_auth(&f.lead)
            .header("content-type", "application/octet-stream")
            .body(body)
            .send()
    };
    let r = put(b"<html>not a photo</html>".to_vec()).await.unwrap();
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let r = put(png.clone()).await.unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let got = f
        .app
        .client
        .get(
            f.app
                .url(&format!("/api/v1/inspections/{id}/attachments/{sha}")),
        )
        .bearer_auth(&f.lead)
        .send()
        .await
        .unwrap();
    assert_eq!(got.headers()["content-type"], "image/png");
    assert_eq!(got.bytes().await.unwrap().to_vec(), png);
}

/// `/api/docs` is served by the binary, with its script and style, and
/// loads nothing from elsewhere.
#[actix_web::test]
async fn api_docs_are_served_without_a_cdn() {
    let app = TestApp::init().empty().await;
    for (path, ctype) in [
        ("/api/docs", "text/html; charset=utf-8"),
        ("/api/docs/docs.js", "text/javascript; charset=utf-8"),
        ("/api/docs/docs.css", "text/css; charset=utf-8"),
    ] {
        let r = app.client.get(app.url(path)).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::OK, "{path}");
        assert_eq!(r.headers()["content-type"], ctype, "{path}");
        let body = r.text().await.unwrap();
        assert!(
            !body.contains("http://") && !body.contains("https://"),
            "{path}"
        );
    }
}

/// Imports sent as `application/octet-stream` (what generated clients send
/// for a file) are read as CSV; bytes that are no CSV are 422, never 5xx.
#[actix_web::test]
async fn imports_sent_as_octet_stream_are_read_as_csv() {
    let (app, admin) = TestApp::init().with_admin().await;
    let send = |path: &str, body: Vec<u8>| {
        app.client
            .post(app.url(path))
            .bearer_auth(&admin)
            .header("content-type", "application/octet-stream")
            .body(body)
            .send()
    };
    for path in ["/api/v1/org-units/import", "/api/v1/establishments/import"] {
        let r = send(path, vec![0xff, 0xfe, 0x00, 0x81, 0x13])
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY, "{path}");
    }
    let r = send(
        "/api/v1/org-units/import",
        crate::helpers::NINH_BINH.as_bytes().to_vec(),
    )
    .await
    .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["errors"], json!([]), "{body}");
    assert!(body["created"].as_u64().unwrap() > 100, "{body}");
}
