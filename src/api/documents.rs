//! `GET /inspections/{id}/bien-ban.pdf`: the printed minutes
//! ([`crate::app::documents`]).

use actix_web::{http::header, web, HttpResponse};

use crate::app::auth::AuthUser;
use crate::db::Db;
use crate::domain::values::path_uuid;
use crate::error::ApiError;

/// `GET /inspections/{id}/bien-ban.pdf`: the biên bản kiểm tra as PDF
/// (404 where the minutes themselves are).
pub async fn bien_ban(
    user: AuthUser,
    db: web::Data<Db>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = path_uuid(&id)?;
    let name = format!("attachment; filename=\"bien-ban-{id}.pdf\"");
    let body = crate::app::documents::bien_ban_pdf(&db, user, id).await?;
    Ok(HttpResponse::Ok()
        .content_type("application/pdf")
        .insert_header((header::CONTENT_DISPOSITION, name))
        .body(body))
}
