//! `POST /inspections`.

use actix_web::{web, HttpResponse};

use crate::api::extract::ValidJson;
use crate::app::auth::Caller;
use crate::app::inspections::{self, Posted};
use crate::app::minutes_writer::MinutesWriter;
use crate::db::Db;
use crate::domain::minutes::InspectionBody;
use crate::error::ApiError;

/// `POST /inspections`: 201 the first time, 200 for the very same body
/// again, 409 for the same id with another body; never stored twice. The
/// handler reads nothing: the group commit loads the caller, checks the
/// minutes against the database and writes them, for many clients at once.
pub async fn create(
    caller: Caller,
    db: web::Data<Db>,
    writer: web::Data<MinutesWriter>,
    body: ValidJson<InspectionBody>,
) -> Result<HttpResponse, ApiError> {
    Ok(
        match inspections::post(&db, &writer, caller, body.0).await? {
            Posted::Created(d) => HttpResponse::Created().json(d),
            Posted::Existing(d) => HttpResponse::Ok().json(d),
        },
    )
}
