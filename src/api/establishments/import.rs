//! `POST /establishments/import`.

use actix_web::{web, HttpRequest, HttpResponse};

use crate::api::extract::{read_body, require_media_type, IMPORT_LIMIT};
use crate::app::auth::AuthUser;
use crate::app::inspections::OCTET_STREAM;
use crate::app::policy;
use crate::db::Db;
use crate::domain::imports::XLSX;
use crate::error::ApiError;

/// `POST /establishments/import` (admin, supervisor; `text/csv` or XLSX).
pub async fn import(
    req: HttpRequest,
    mut payload: web::Payload,
    user: AuthUser,
    db: web::Data<Db>,
) -> Result<HttpResponse, ApiError> {
    // The role first: a caller without it gets 403 before its upload is read.
    policy::require_manager(&user)?;
    require_media_type(&req, &["text/csv", XLSX, OCTET_STREAM])?;
    let ctype = req
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let (is_xlsx, unstated) = (ctype.starts_with(XLSX), ctype.starts_with(OCTET_STREAM));
    let body = read_body(&req, &mut payload, IMPORT_LIMIT).await?;
    // A binary body of unstated kind (what generated clients send) is a
    // workbook when it is a ZIP archive, else CSV.
    let is_xlsx = is_xlsx || (unstated && body.starts_with(b"PK\x03\x04"));
    let summary = crate::app::establishments::import(&db, user, body, is_xlsx).await?;
    Ok(HttpResponse::Ok().json(summary))
}
