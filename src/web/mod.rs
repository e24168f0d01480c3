//! The second front door: HTML pages for people. The console
//! ([`console`]) serves supervisors and administrators in Vietnamese; the
//! field app ([`field_app`]) is the inspectors' offline web app (its assets,
//! manifest and service worker); [`api_docs`] is the interactive API
//! documentation. Like the JSON API they only call [`crate::app`] use cases,
//! so every rule and every area check is the same.

pub mod api_docs;
pub mod console;
pub mod field_app;

use actix_web::web;

/// Registers the pages' routes (not in the JSON route table nor in the
/// OpenAPI spec: they are pages, documented in the README).
pub fn configure(cfg: &mut web::ServiceConfig) {
    field_app::configure(cfg);
    api_docs::configure(cfg);
    console::configure(cfg);
}
