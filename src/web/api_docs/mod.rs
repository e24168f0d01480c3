//! `/api/docs`: interactive documentation of the API, built in the browser
//! from the served OpenAPI document (`/api/v1/openapi.json`), with a form to
//! send any operation. Its three files are compiled into the binary; nothing
//! comes from a CDN.

use actix_web::http::header;
use actix_web::{web, HttpResponse};

const PAGE: &str = include_str!("docs.html");
const SCRIPT: &str = include_str!("docs.js");
const STYLE: &str = include_str!("docs.css");

/// Registers `/api/docs`, `/api/docs/docs.js` and `/api/docs/docs.css`
/// (pages, outside the JSON route table and the spec).
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route(
        "/api/docs",
        web::get().to(|| file("text/html; charset=utf-8", PAGE)),
    )
    .route(
        "/api/docs/docs.js",
        web::get().to(|| file("text/javascript; charset=utf-8", SCRIPT)),
    )
    .route(
        "/api/docs/docs.css",
        web::get().to(|| file("text/css; charset=utf-8", STYLE)),
    );
}

async fn file(ctype: &'static str, body: &'static str) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, ctype))
        .insert_header((header::CACHE_CONTROL, "no-cache"))
        .insert_header((
            header::CONTENT_SECURITY_POLICY,
            "default-src 'self'; style-src 'self'; script-src 'self'",
        ))
        .body(body)
}
