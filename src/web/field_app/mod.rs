//! The inspectors' field app at `/app/`: an offline-first web app installed
//! from the service itself. Its JavaScript modules, CSS and icon are compiled
//! into the binary. The shell holds the CSS and the modules (joined into one
//! module at startup) inline, so that a phone on a slow network draws the
//! first screen after one round trip; it is served gzip (made once, at the
//! best level) and `no-cache`, and its content security policy allows its
//! inline style and script by their SHA-256 only. The icon is served under a
//! name carrying its content hash (`icon.3f9c0a1b2c.svg`), immutable for a
//! year. The service worker caches exactly these files (its cache's name
//! changes with any of them), so a new release never mixes old and new.

use std::sync::OnceLock;

use actix_web::http::header::{self, HeaderValue};
use actix_web::{web, HttpRequest, HttpResponse};
use sha2::{Digest, Sha256};

/// The source files, in import order: a module may import only those
/// before it (its `./name.js` imports are rewritten to the hashed names).
/// The JavaScript modules, in import order: a module may import only those
/// before it. They are joined into one module, inlined into the shell.
const MODULES: &[(&str, &str)] = &[
    ("rules.js", include_str!("assets/rules.js")),
    ("store.js", include_str!("assets/store.js")),
    ("app.js", include_str!("assets/app.js")),
];

const STYLE: &str = include_str!("assets/style.css");
const ICON: &[u8] = include_bytes!("assets/icon.svg");
const SHELL: &str = include_str!("assets/index.html");
const WORKER: &str = include_str!("assets/sw.js");
const MANIFEST: &str = include_str!("assets/manifest.webmanifest");

/// One asset under its hashed name.
#[derive(Debug)]
pub struct Asset {
    /// The source name (`icon.svg`).
    pub source: &'static str,
    /// The served name (`icon.<10 hex of SHA-256>.svg`).
    pub name: String,
    /// `Content-Type`.
    pub content_type: &'static str,
    /// The bytes served.
    pub body: Vec<u8>,
}

/// Everything `/app/` serves, computed once.
#[derive(Debug)]
pub struct Bundle {
    /// The hashed assets (what the shell does not hold itself: the icon).
    pub assets: Vec<Asset>,
    /// The shell (`/app/`): the CSS and the joined modules inline, so that
    /// the first screen needs one round trip; it names the hashed assets.
    pub shell: String,
    /// The shell, gzip at the best level (computed once, not per request).
    pub shell_gzip: Vec<u8>,
    /// The shell's `Content-Security-Policy`: this origin only, and the
    /// inline style and script by their SHA-256 (no other inline code runs).
    pub csp: String,
    /// The service worker, listing the exact files it caches.
    pub worker: String,
    /// The web manifest.
    pub manifest: String,
}

fn hashed_name(source: &str, body: &[u8]) -> String {
    let digest = hex::encode(Sha256::digest(body));
    match source.rsplit_once('.') {
        Some((stem, ext)) => format!("{stem}.{}.{ext}", &digest[..10]),
        None => format!("{source}.{}", &digest[..10]),
    }
}

/// The variable holding a module's exports in the joined module.
fn module_var(source: &str) -> String {
    let stem = source.trim_start_matches("./").trim_end_matches(".js");
    let ident: String = stem
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect();
    format!("__{ident}")
}

/// The name an `export` line declares (`export async function sha256Hex(`).
fn exported_name(decl: &str) -> &str {
    let d = decl.strip_prefix("async ").unwrap_or(decl);
    let rest = ["function ", "const ", "let ", "class "]
        .iter()
        .find_map(|k| d.strip_prefix(k))
        .unwrap_or_else(|| panic!("unsupported export: export {decl}"));
    let end = rest
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '$'))
        .unwrap_or(rest.len());
    &rest[..end]
}

/// `import { a, b as c } from './x.js';` → `const { a, b: c } = __x;`,
/// `import * as s from './x.js';` → `const s = __x;`.
fn rewrite_import(line: &str, known: &[String]) -> String {
    let rest = line
        .trim_start_matches("import ")
        .trim_end()
        .trim_end_matches(';');
    let (what, from) = rest
        .split_once(" from ")
        .unwrap_or_else(|| panic!("unsupported import: {line}"));
    let var = module_var(from.trim().trim_matches(|c| c == '\'' || c == '"'));
    assert!(
        known.contains(&var),
        "{line}: imports a module not before it"
    );
    let what = what.trim();
    if let Some(name) = what.strip_prefix("* as ") {
        format!("const {} = {var};", name.trim())
    } else if what.starts_with('{') && what.ends_with('}') {
        let names: Vec<String> = what[1..what.len() - 1]
            .split(',')
            .map(str::trim)
            .filter(|n| !n.is_empty())
            .map(|n| match n.split_once(" as ") {
                Some((a, b)) => format!("{}: {}", a.trim(), b.trim()),
                None => n.to_string(),
            })
            .collect();
        format!("const {{ {} }} = {var};", names.join(", "))
    } else {
        panic!("unsupported import: {line}")
    }
}

/// Joins ES modules (in import order) into one module: each but the last
/// runs in a function of its own (its top-level names stay its own) and
/// returns what it exports; `import` lines become reads of those values.
/// Only single-line `import`/`export` declarations at the start of a line
/// are understood, which is all the field app uses; anything else panics
/// when the bundle is first built (the tests build it).
pub fn join_modules(modules: &[(&str, &str)]) -> String {
    let mut out = String::new();
    let mut known: Vec<String> = Vec::new();
    for (i, (source, text)) in modules.iter().enumerate() {
        let mut body = String::new();
        let mut exports: Vec<&str> = Vec::new();
        for line in text.lines() {
            if line.starts_with("import ") {
                body.push_str(&rewrite_import(line, &known));
            } else if let Some(decl) = line.strip_prefix("export ") {
                exports.push(exported_name(decl));
                body.push_str(decl);
            } else {
                body.push_str(line);
            }
            body.push('\n');
        }
        out.push_str(&format!("// {source}\n"));
        if i + 1 == modules.len() {
            out.push_str(&body);
        } else {
            let var = module_var(source);
            out.push_str(&format!(
                "const {var} = (() => {{\n{body}return {{ {} }};\n}})();\n",
                exports.join(", ")
            ));
            known.push(var);
        }
    }
    out
}

fn csp_hash(text: &str) -> String {
    use base64::Engine;
    format!(
        "'sha256-{}'",
        base64::engine::general_purpose::STANDARD.encode(Sha256::digest(text.as_bytes()))
    )
}

fn gzip_best(body: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    e.write_all(body).expect("gzip into memory");
    e.finish().expect("gzip into memory")
}

fn build() -> Bundle {
    let icon = Asset {
        source: "icon.svg",
        name: hashed_name("icon.svg", ICON),
        content_type: "image/svg+xml",
        body: ICON.to_vec(),
    };
    let icon_path = format!("/app/assets/{}", icon.name);
    let script = join_modules(MODULES);
    // Inline text must not end its element early.
    assert!(!script.to_ascii_lowercase().contains("</script") && !script.contains("<!--"));
    assert!(!STYLE.to_ascii_lowercase().contains("</style"));
    let shell = SHELL
        .replace("{{icon.svg}}", &icon_path)
        .replace("{{style.css}}", STYLE)
        .replace("{{app.js}}", &script);
    let csp = format!(
        "default-src 'self'; img-src 'self' blob: data:; connect-src 'self'; \
         style-src 'self' {}; script-src 'self' {}; worker-src 'self'; manifest-src 'self'",
        csp_hash(STYLE),
        csp_hash(&script)
    );
    let manifest = MANIFEST.replace("{{icon.svg}}", &icon_path);
    let assets = vec![icon];
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
    Bundle {
        assets,
        shell_gzip: gzip_best(shell.as_bytes()),
        shell,
        csp,
        worker,
        manifest,
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

/// Whether the request accepts `coding` (`Accept-Encoding`, `q=0` refuses).
fn accepts(req: &HttpRequest, coding: &str) -> bool {
    req.headers()
        .get_all(header::ACCEPT_ENCODING)
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|item| {
            let mut parts = item.split(';').map(str::trim);
            let name = parts.next().unwrap_or("");
            let refused = parts.any(|p| {
                p.strip_prefix("q=")
                    .and_then(|q| q.parse::<f32>().ok())
                    .is_some_and(|q| q == 0.0)
            });
            name.eq_ignore_ascii_case(coding) && !refused
        })
}

async fn shell(req: HttpRequest) -> HttpResponse {
    let b = bundle();
    // Gzip made once at the best level, unless the client takes brotli
    // (which the compression middleware then makes, smaller still).
    let mut r = if accepts(&req, "gzip") && !accepts(&req, "br") {
        let mut r = HttpResponse::Ok()
            .insert_header((header::CONTENT_TYPE, "text/html; charset=utf-8"))
            .insert_header((header::CACHE_CONTROL, "no-cache"))
            .insert_header((header::CONTENT_ENCODING, "gzip"))
            .body(b.shell_gzip.clone());
        r.headers_mut()
            .insert(header::VARY, HeaderValue::from_static("accept-encoding"));
        r
    } else {
        fresh("text/html; charset=utf-8", b.shell.clone())
    };
    // Nothing but this origin, ever: no CDN, no inline code but the shell's
    // own style and script, allowed by their hashes.
    if let Ok(v) = HeaderValue::from_str(&b.csp) {
        r.headers_mut().insert(header::CONTENT_SECURITY_POLICY, v);
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modules_are_joined_with_their_imports_resolved() {
        let joined = join_modules(&[
            (
                "a.js",
                "const hidden = 1;\nexport function twice(x) { return 2 * x; }\nexport const K = hidden;\n",
            ),
            (
                "b.js",
                "import { twice as t } from './a.js';\nexport async function go() { return t(2); }\n",
            ),
            (
                "main.js",
                "import { K } from './a.js';\nimport * as b from './b.js';\nb.go(K);\n",
            ),
        ]);
        assert!(joined.contains("const __a = (() => {\nconst hidden = 1;\nfunction twice(x)"));
        assert!(joined.contains("return { twice, K };\n})();"));
        assert!(joined.contains("const { twice: t } = __a;"));
        assert!(joined.contains("return { go };"));
        assert!(joined.contains("const { K } = __a;\nconst b = __b;\nb.go(K);"));
        assert!(!joined.contains("import ") && !joined.contains("export "));
    }

    #[test]
    #[should_panic(expected = "imports a module not before it")]
    fn a_module_may_import_only_those_before_it() {
        join_modules(&[
            ("a.js", "import { x } from './b.js';\n"),
            ("b.js", "export const x = 1;\n"),
        ]);
    }

    #[test]
    fn the_shell_holds_its_style_and_script_allowed_by_hash() {
        let b = bundle();
        assert!(
            b.shell.contains("<style>") && b.shell.contains("<script type=\"module\">// rules.js")
        );
        assert!(!b.shell.contains("{{"), "every placeholder filled");
        assert!(b.csp.matches("'sha256-").count() == 2);
        assert!(b.shell_gzip.len() < b.shell.len() / 2);
    }
}
