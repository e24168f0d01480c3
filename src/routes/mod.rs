//! HTTP routes: one file per resource. The route table below is the single
//! list of what the server serves; a test keeps it equal to the OpenAPI spec.

pub mod assignments;
pub mod auth;
pub mod coverage;
pub mod establishments;
pub mod inspections;
pub mod minutes_writer;
pub mod ops;
pub mod org_units;
pub mod plans;
pub mod reports;
pub mod teams;
pub mod users;
pub mod violation_types;

use std::sync::Arc;

use actix_web::web;

use crate::auth::tokens::TokenKeys;
use crate::config::Settings;
use crate::ratelimit::Limiter;

/// Shared state of the handlers.
pub struct AppState {
    /// Settings.
    pub settings: Settings,
    /// Token keys.
    pub keys: TokenKeys,
    /// Login attempts per user and per address.
    pub login_limiter: Limiter,
    /// Request metrics.
    pub metrics: Arc<ops::Metrics>,
}

/// Declares the routes once: `ROUTES` lists (method, path) for the spec test,
/// `configure` registers them.
macro_rules! route_table {
    ($( $method:ident $path:literal => $handler:path ),* $(,)?) => {
        /// Every (method, path) the server serves, in OpenAPI path syntax.
        pub const ROUTES: &[(&str, &str)] = &[ $( (stringify!($method), $path) ),* ];

        /// Registers every route of [`ROUTES`].
        pub fn configure(cfg: &mut web::ServiceConfig) {
            $( cfg.route($path, web::$method().to($handler)); )*
        }
    };
}

route_table! {
    get "/healthz" => ops::healthz,
    get "/readyz" => ops::readyz,
    get "/metrics" => ops::metrics,
    get "/api/v1/openapi.json" => ops::openapi,
    get "/dashboard" => ops::dashboard,

    post "/api/v1/auth/login" => auth::login,
    post "/api/v1/auth/refresh" => auth::refresh,
    post "/api/v1/auth/logout" => auth::logout,

    get "/api/v1/users/me" => users::me,
    get "/api/v1/users" => users::list,
    post "/api/v1/users" => users::create,

    post "/api/v1/org-units/import" => org_units::import,
    get "/api/v1/org-units" => org_units::list,
    get "/api/v1/org-units/{code}" => org_units::get,

    post "/api/v1/establishments" => establishments::create,
    get "/api/v1/establishments" => establishments::list,
    post "/api/v1/establishments/import" => establishments::import,
    get "/api/v1/establishments/{id}" => establishments::get,
    patch "/api/v1/establishments/{id}" => establishments::patch,
    post "/api/v1/establishments/{id}/close" => establishments::close,

    post "/api/v1/teams" => teams::create,
    get "/api/v1/teams" => teams::list,
    get "/api/v1/teams/{id}" => teams::get,
    post "/api/v1/teams/{id}/members" => teams::add_member,
    get "/api/v1/teams/{id}/assignments" => assignments::team_assignments,

    post "/api/v1/plans" => plans::create,
    get "/api/v1/plans" => plans::list,
    get "/api/v1/plans/{id}" => plans::get,
    post "/api/v1/plans/{id}/draw" => plans::draw_plan,
    get "/api/v1/plans/{id}/verify" => plans::verify,
    post "/api/v1/plans/{id}/top-up" => plans::top_up,
    get "/api/v1/plans/{id}/assignments" => plans::plan_assignments,
    get "/api/v1/plans/{id}/coverage" => coverage::coverage,

    get "/api/v1/assignments/{id}" => assignments::get,
    patch "/api/v1/assignments/{id}" => assignments::patch,

    post "/api/v1/inspections" => inspections::create,
    get "/api/v1/inspections" => inspections::list,
    get "/api/v1/inspections/{id}" => inspections::get,
    get "/api/v1/inspections/{id}/versions" => inspections::versions,
    post "/api/v1/inspections/{id}/corrections" => inspections::correct,
    post "/api/v1/inspections/{id}/review" => inspections::review,
    put "/api/v1/inspections/{id}/attachments/{sha256}" => inspections::put_attachment,
    get "/api/v1/inspections/{id}/attachments/{sha256}" => inspections::get_attachment,

    get "/api/v1/reports" => reports::report,

    get "/api/v1/violation-types" => violation_types::list,
    post "/api/v1/violation-types" => violation_types::create,
}
