//! The second front door: HTML pages for people. The console
//! ([`console`]) serves supervisors and administrators in Vietnamese; like
//! the JSON API it only calls [`crate::app`] use cases, so every rule and
//! every area check is the same.

pub mod console;

use actix_web::web;

/// Registers the HTML routes (not in the JSON route table nor in the
/// OpenAPI spec: they are pages, documented in the README).
pub fn configure(cfg: &mut web::ServiceConfig) {
    console::configure(cfg);
}
