//! `/establishments`: the registry's handlers, one file per action; the use
//! cases are [`crate::app::establishments`].

mod close;
mod create;
mod import;
mod patch;
mod read;

use actix_web::http::{header, StatusCode};
use actix_web::HttpResponse;

pub use crate::app::establishments::{Establishment, EstablishmentDto};
pub use close::close;
pub use create::create;
pub use import::import;
pub use patch::patch;
pub use read::{get, list};

/// The establishment with `status`, its version as the `ETag`.
fn with_etag(status: StatusCode, e: EstablishmentDto) -> HttpResponse {
    HttpResponse::build(status)
        .insert_header((header::ETAG, format!("\"{}\"", e.version())))
        .json(e)
}
