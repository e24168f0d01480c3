//! Black-box tests: the real server over HTTP, each test on a fresh database
//! (SQLite by default; PostgreSQL when `TEST_POSTGRES_URL` is set).

mod accounts;
mod area;
mod auth;
mod authority;
mod backup;
mod console;
mod console_browser;
mod contract;
mod crash;
mod dashboard;
mod draw_fairness;
mod draw_trust;
mod establishments;
mod field_app;
mod field_app_browser;
mod helpers;
mod hostile;
mod imports;
mod indicators;
mod inspections;
mod migrations;
mod org_units;
mod pg_restart;
mod plans;
mod refresh_grace;
mod reports;
mod schema_agreement;
mod scope;
mod security_input;
mod spec;
mod throttle;
