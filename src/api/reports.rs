//! `GET /reports?plan_id=&period=`: the quarterly, half-year and annual
//! reports, as JSON, CSV or XLSX ([`crate::app::reports`]).

use actix_web::{http::header, web, HttpRequest, HttpResponse};
use serde::Deserialize;

use crate::app::auth::AuthUser;
use crate::app::reports::{self, Format, XLSX};
use crate::db::Db;
use crate::error::ApiError;

/// `?plan_id=&period=`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Params {
    plan_id: String,
    period: String,
}

/// `GET /reports?plan_id=&period=Q1|Q2|Q3|Q4|H1|year` (`Accept` chooses JSON,
/// CSV, XLSX or PDF).
pub async fn report(
    req: HttpRequest,
    user: AuthUser,
    db: web::Data<Db>,
    q: web::Query<Params>,
) -> Result<HttpResponse, ApiError> {
    let Params { plan_id, period } = q.into_inner();
    let plan_id = crate::domain::values::parse_uuid("plan_id", &plan_id)?;
    if reports::period_bounds(2000, &period).is_none() {
        return Err(reports::bad_period());
    }
    let accept = req
        .headers()
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("application/json")
        .to_ascii_lowercase();
    let format = if accept.contains(XLSX) {
        Format::Xlsx
    } else if accept.contains("application/pdf") {
        Format::Pdf
    } else if accept.contains("text/csv") {
        Format::Csv
    } else if accept.contains("application/json") || accept.contains("*/*") || accept.is_empty() {
        Format::Json
    } else {
        return Err(ApiError::NotAcceptable(
            "Accept application/json, text/csv, application/pdf or the XLSX media type".into(),
        ));
    };
    let (body, name) = reports::report(&db, user, plan_id, period, format).await?;
    let disposition = format!("attachment; filename=\"{name}\"");
    let mut resp = HttpResponse::Ok();
    resp.content_type(format.content_type());
    if format != Format::Json {
        resp.insert_header((header::CONTENT_DISPOSITION, disposition));
    }
    Ok(resp.body(body))
}
