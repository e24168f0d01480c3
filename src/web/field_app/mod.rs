//! The inspectors' field app at `/app/`: an offline-first web app installed
//! from the service itself. Its JavaScript modules, CSS and icon are compiled
//! into the binary; each is served under a name carrying its content hash
//! (`app.3f9c0a1b2c.js`), so the service worker's cache is exact and a new
//! release never mixes old and new files. The shell, the manifest and the
//! service worker itself are served `no-cache`; hashed assets are immutable.

use std::sync::OnceLock;

use actix_web::http::header::{self, HeaderValue};
use actix_web::{web, HttpResponse};
use sha2::{Digest, Sha256};

/// The source files, in import order: a module may import only those
/// before it (its `./name.js` imports are rewritten to the hashed names).
const SOURCES: &[(&str, &str, &[u8])] = &[
    (
        "style.css",
        "text/css; charset=utf-8",
        include_bytes!("assets/style.css"),
    ),
    (
        "icon.svg",
        "image/svg+xml",
        include_bytes!("assets/icon.svg"),
    ),
    (
        "rules.js",
        "text/javascript; charset=utf-8",
        include_bytes!("assets/rules.js"),
    ),
    (
        "store.js",
        "text/javascript; charset=utf-8",
        include_bytes!("assets/store.js"),
    ),
    (
        "app.js",
        "text/javascript; charset=utf-8",
        include_bytes!("assets/app.js"),
    ),
];

const SHELL: &str = include_str!("assets/index.html");
const WORKER: &str = include_str!("assets/sw.js");
const MANIFEST: &str = include_str!("assets/manifest.webmanifest");

/// One asset under its hashed name.
#[derive(Debug)]
pub struct Asset {
    /// The source name (`app.js`).
    pub source: &'static str,
    /// The served name (`app.<10 hex of SHA-256>.js`).
    pub name: String,
    /// `Content-Type`.
    pub content_type: &'static str,
    /// The bytes served.
    pub body: Vec<u8>,
}

/// Everything `/app/` serves, computed once.
#[derive(Debug)]
pub struct Bundle {
    /// The hashed assets.
    pub assets: Vec<Asset>,
    /// The shell (`/app/`), naming the hashed assets.
    pub shell: String,
    /// The service worker, listing the exact files it caches.
    pub worker: String,
    /// The web manifest.
    pub manifest: String,
    /// The shell's `Link` header: its style and modules, fetched as soon
    /// as the headers arrive rather than once the page has been parsed
    /// (on a slow network that saves a whole round trip).
    pub preload: String,
}

fn hashed_name(source: &str, body: &[u8]) -> String {
    let digest = hex::encode(Sha256::digest(body));
    match source.rsplit_once('.') {
        Some((stem, ext)) => format!("{stem}.{}.{ext}", &digest[..10]),
        None => format!("{source}.{}", &digest[..10]),
    }
}

fn build() -> Bundle {
    let mut assets: Vec<Asset> = Vec::new();
    for (source, ctype, bytes) in SOURCES {
        let mut body = bytes.to_vec();
        if source.ends_with(".js") {
            let mut text = String::from_utf8(body).expect("assets are UTF-8");
            for earlier in &assets {
                text = text.replace(
                    &format!("'./{}'", earlier.source),
                    &format!("'./{}'", earlier.name),
                );
            }
            body = text.into_bytes();
        }
        assets.push(Asset {
            source,
            name: hashed_name(source, &body),
            content_type: ctype,
            body,
        });
    }
    let name = |s: &str| {
        assets
            .iter()
            .find(|a| a.source == s)
            .map(|a| format!("/app/assets/{}", a.name))
            .unwrap_or_default()
    };
    let shell = SHELL
        .replace("{{style.css}}", &name("style.css"))
        .replace("{{icon.svg}}", &name("icon.svg"))
        .replace("{{rules.js}}", &name("rules.js"))
        .replace("{{store.js}}", &name("store.js"))
        .replace("{{app.js}}", &name("app.js"));
    let manifest = MANIFEST.replace("{{icon.svg}}", &name("icon.svg"));
    let mut files: Vec<String> = vec!["/app/".into(), "/app/manifest.webmanifest".into()];
    files.extend(assets.iter().map(|a| format!("/app/assets/{}", a.name)));
    // The cache's name changes with any file, so an update replaces it whole.
    let mut h = Sha256::new();
    h.update(shell.as_bytes());
    h.update(manifest.as_bytes());
    for a in &assets {
        h.update(a.name.as_bytes());
    }
    let version = hex::encode(h.finalize());
    let worker = WORKER.replace("{{version}}", &version[..16]).replace(
        "{{files}}",
        &serde_json::to_string(&files).expect("a list of strings"),
    );
    let preload = format!(
        "<{}>; rel=preload; as=style, <{}>; rel=modulepreload, <{}>; rel=modulepreload, <{}>; rel=modulepreload",
        name("style.css"),
        name("app.js"),
        name("rules.js"),
        name("store.js")
    );
    Bundle {
        assets,
        shell,
        worker,
        manifest,
        preload,
    }
}

/// The bundle, built at first use.
pub fn bundle() -> &'static Bundle {
    static BUNDLE: OnceLock<Bundle> = OnceLock::new();
    BUNDLE.get_or_init(build)
}

/// Registers `/app`, `/app/`, `/app/manifest.webmanifest`, `/app/sw.js` and
/// `/app/assets/{name}` (outside the JSON route table: pages, not API).
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route(
        "/app",
        web::get().to(|| async {
            HttpResponse::MovedPermanently()
                .insert_header((header::LOCATION, "/app/"))
                .finish()
        }),
    )
    .route("/app/", web::get().to(shell))
    .route("/app/manifest.webmanifest", web::get().to(manifest))
    .route("/app/sw.js", web::get().to(worker))
    .route("/app/assets/{name}", web::get().to(asset));
}

/// Revalidated on every load (the service worker answers offline).
fn fresh(ctype: &'static str, body: String) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, ctype))
        .insert_header((header::CACHE_CONTROL, "no-cache"))
        .body(body)
}

async fn shell() -> HttpResponse {
    let mut r = fresh("text/html; charset=utf-8", bundle().shell.clone());
    if let Ok(v) = HeaderValue::from_str(&bundle().preload) {
        r.headers_mut().insert(header::LINK, v);
    }
    // Nothing but this origin, ever: no CDN, no inline script.
    r.headers_mut().insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'self'; img-src 'self' blob: data:; connect-src 'self'; \
             style-src 'self'; script-src 'self'; worker-src 'self'; manifest-src 'self'",
        ),
    );
    r
}

async fn manifest() -> HttpResponse {
    fresh("application/manifest+json", bundle().manifest.clone())
}

async fn worker() -> HttpResponse {
    let mut r = fresh("text/javascript; charset=utf-8", bundle().worker.clone());
    r.headers_mut().insert(
        header::HeaderName::from_static("service-worker-allowed"),
        HeaderValue::from_static("/app/"),
    );
    r
}

async fn asset(name: web::Path<String>) -> HttpResponse {
    match bundle().assets.iter().find(|a| a.name == *name) {
        Some(a) => HttpResponse::Ok()
            .insert_header((header::CONTENT_TYPE, a.content_type))
            .insert_header((header::CACHE_CONTROL, "public, max-age=31536000, immutable"))
            .body(a.body.clone()),
        None => crate::api::error::problem_response(
            actix_web::http::StatusCode::NOT_FOUND,
            "not_found",
            "no such asset",
        ),
    }
}
