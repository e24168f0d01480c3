//! Operations: health, readiness, metrics, the OpenAPI document.

use std::sync::atomic::Ordering;

use actix_web::{web, HttpResponse};

use crate::db::Db;
use crate::error::ApiError;
use crate::state::{AppState, BUCKETS};

/// The spec, as written in `api-spec/openapi.yaml`.
pub const OPENAPI_YAML: &str = include_str!("../../api-spec/openapi.yaml");

/// The spec as JSON, converted once.
pub fn openapi_json() -> &'static serde_json::Value {
    static JSON: std::sync::OnceLock<serde_json::Value> = std::sync::OnceLock::new();
    JSON.get_or_init(|| {
        serde_yaml::from_str(OPENAPI_YAML).expect("api-spec/openapi.yaml is valid YAML")
    })
}

/// `GET /healthz`: the process is up.
pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(serde_json::json!({"status": "ok"}))
}

/// `GET /readyz`: the database answers.
pub async fn readyz(db: web::Data<Db>) -> Result<HttpResponse, ApiError> {
    db.run(crate::db::ping).await?;
    Ok(HttpResponse::Ok().json(serde_json::json!({"status": "ready"})))
}

/// `GET /api/v1/openapi.json`.
pub async fn openapi() -> HttpResponse {
    HttpResponse::Ok().json(openapi_json())
}

/// `GET /metrics` (Prometheus text format 0.0.4).
pub async fn metrics(
    state: web::Data<AppState>,
    db: web::Data<Db>,
    writer: web::Data<crate::app::minutes_writer::MinutesWriter>,
) -> HttpResponse {
    let m = &state.metrics;
    let mut out = String::new();
    out.push_str("# HELP kiemtra_http_responses_total HTTP responses by status class.\n");
    out.push_str("# TYPE kiemtra_http_responses_total counter\n");
    for (i, c) in m.by_class.iter().enumerate() {
        out.push_str(&format!(
            "kiemtra_http_responses_total{{class=\"{}xx\"}} {}\n",
            i + 1,
            c.load(Ordering::Relaxed)
        ));
    }
    out.push_str("# HELP kiemtra_http_request_duration_seconds Request latency.\n");
    out.push_str("# TYPE kiemtra_http_request_duration_seconds histogram\n");
    for (i, b) in BUCKETS.iter().enumerate() {
        out.push_str(&format!(
            "kiemtra_http_request_duration_seconds_bucket{{le=\"{b}\"}} {}\n",
            m.buckets[i].load(Ordering::Relaxed)
        ));
    }
    let count = m.buckets[7].load(Ordering::Relaxed);
    out.push_str(&format!(
        "kiemtra_http_request_duration_seconds_bucket{{le=\"+Inf\"}} {count}\n"
    ));
    out.push_str(&format!(
        "kiemtra_http_request_duration_seconds_sum {}\n",
        m.duration_us.load(Ordering::Relaxed) as f64 / 1e6
    ));
    out.push_str(&format!(
        "kiemtra_http_request_duration_seconds_count {count}\n"
    ));
    let st = db.pool.state();
    out.push_str("# HELP kiemtra_db_pool_connections Database pool connections.\n");
    out.push_str("# TYPE kiemtra_db_pool_connections gauge\n");
    out.push_str(&format!(
        "kiemtra_db_pool_connections{{state=\"idle\"}} {}\n",
        st.idle_connections
    ));
    out.push_str(&format!(
        "kiemtra_db_pool_connections{{state=\"busy\"}} {}\n",
        st.connections - st.idle_connections
    ));
    let (batches, minutes) = writer.counts();
    out.push_str(
        "# HELP kiemtra_minutes_batches_total Transactions of the minutes group commit.\n",
    );
    out.push_str("# TYPE kiemtra_minutes_batches_total counter\n");
    out.push_str(&format!("kiemtra_minutes_batches_total {batches}\n"));
    out.push_str("# HELP kiemtra_minutes_batched_total Minutes written by the group commit.\n");
    out.push_str("# TYPE kiemtra_minutes_batched_total counter\n");
    out.push_str(&format!("kiemtra_minutes_batched_total {minutes}\n"));
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4")
        .body(out)
}

/// The supervisors' dashboard: one self-contained page (no CDN, works offline).
pub const DASHBOARD_HTML: &str = include_str!("../../static/dashboard.html");

/// `GET /dashboard`.
pub async fn dashboard() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .insert_header(("Content-Security-Policy", "default-src 'self'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src 'self' data:"))
        .body(DASHBOARD_HTML)
}
