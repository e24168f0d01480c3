//! The JSON front door: a handler extracts and parses the request, calls one
//! use case of [`crate::app`] and maps its result to a response. The route
//! table below is the single list of what the server serves; a test keeps it
//! equal to the OpenAPI spec.

pub mod assignments;
pub mod auth;
pub mod coverage;
pub mod documents;
pub mod error;
pub mod establishments;
pub mod extract;
pub mod indicators;
pub mod inspections;
pub mod ops;
pub mod org_units;
pub mod plans;
pub mod reports;
pub mod teams;
pub mod users;
pub mod violation_types;

use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpRequest, HttpResponse};

use crate::api::error::problem_response;

/// Declares the routes once: `ROUTES` lists (method, path) for the spec test,
/// `configure` registers them.
macro_rules! route_table {
    ($( $method:ident $path:literal => $handler:path ),* $(,)?) => {
        /// Every (method, path) the server serves, in OpenAPI path syntax.
        pub const ROUTES: &[(&str, &str)] = &[ $( (stringify!($method), $path) ),* ];

        /// Registers every route of [`ROUTES`]: first the paths without
        /// parameters, each followed by a catch-all that answers other
        /// methods with 405 (so that `PATCH /establishments/import` is not
        /// taken for `PATCH /establishments/{id}`: a literal path wins over a
        /// template, as in OpenAPI), then the templated paths.
        pub fn configure(cfg: &mut web::ServiceConfig) {
            $( if !$path.contains('{') { cfg.route($path, web::$method().to($handler)); } )*
            let mut literal: Vec<&str> = ROUTES.iter().map(|(_, p)| *p).filter(|p| !p.contains('{')).collect();
            literal.sort_unstable();
            literal.dedup();
            for p in literal {
                cfg.service(web::resource(p).default_service(web::to(unrouted)));
            }
            $( if $path.contains('{') { cfg.route($path, web::$method().to($handler)); } )*
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
    post "/api/v1/users/me/password" => users::change_own_password,
    get "/api/v1/users/{id}" => users::get,
    patch "/api/v1/users/{id}" => users::patch,
    post "/api/v1/users/{id}/password" => users::reset_password,

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
    patch "/api/v1/teams/{id}/members/{user_id}" => teams::update_member,
    delete "/api/v1/teams/{id}/members/{user_id}" => teams::remove_member,
    get "/api/v1/teams/{id}/assignments" => assignments::team_assignments,

    post "/api/v1/plans" => plans::create,
    get "/api/v1/plans" => plans::list,
    get "/api/v1/plans/{id}" => plans::get,
    patch "/api/v1/plans/{id}" => plans::patch,
    post "/api/v1/plans/{id}/draw" => plans::draw::draw_plan,
    get "/api/v1/plans/{id}/verify" => plans::draw::verify,
    post "/api/v1/plans/{id}/top-up" => plans::draw::top_up,
    get "/api/v1/plans/{id}/assignments" => plans::plan_assignments,
    get "/api/v1/plans/{id}/coverage" => coverage::coverage,
    post "/api/v1/plans/{id}/freeze" => plans::draw::freeze,
    post "/api/v1/plans/{id}/cancel" => plans::draw::cancel,
    get "/api/v1/plans/{id}/rounds/{n}/input" => plans::draw::round_input,
    get "/api/v1/plans/{id}/warnings" => plans::warnings,
    post "/api/v1/plans/{id}/indicators" => indicators::create,
    get "/api/v1/plans/{id}/indicators" => indicators::list,
    put "/api/v1/plans/{id}/indicators/{code}" => indicators::update,

    post "/api/v1/activities" => indicators::record,
    get "/api/v1/activities" => indicators::list_activities,
    get "/api/v1/activities/{id}" => indicators::get_activity,
    put "/api/v1/activities/{id}" => indicators::correct,
    post "/api/v1/activities/{id}/withdraw" => indicators::withdraw,
    put "/api/v1/activities/{id}/evidence" => indicators::put_evidence,
    get "/api/v1/activities/{id}/evidence" => indicators::get_evidence,

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
    get "/api/v1/inspections/{id}/bien-ban.pdf" => documents::bien_ban,

    get "/api/v1/violation-types" => violation_types::list,
    post "/api/v1/violation-types" => violation_types::create,
}

/// What no route answered: 405 with `Allow` when the path is served with
/// other methods (RFC 9110 §15.5.6), 404 otherwise.
pub async fn unrouted(req: HttpRequest) -> HttpResponse {
    let allowed = allowed_methods(req.path());
    if allowed.is_empty() {
        return problem_response(
            StatusCode::NOT_FOUND,
            "route_not_found",
            &format!("no route for {} {}", req.method(), req.path()),
        );
    }
    let allow = allowed.join(", ");
    let mut resp = problem_response(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        &format!(
            "{} is not served for {}; allowed: {allow}",
            req.method(),
            req.path()
        ),
    );
    if let Ok(v) = header::HeaderValue::from_str(&allow) {
        resp.headers_mut().insert(header::ALLOW, v);
    }
    resp
}

/// The methods [`ROUTES`] serves for a concrete path, upper case and sorted,
/// from the most specific route template that matches it: a `{name}` segment
/// matches any one non-empty segment, and a literal segment beats it (so
/// `/api/v1/org-units/import` is that path, not `/api/v1/org-units/{code}`).
pub fn allowed_methods(path: &str) -> Vec<String> {
    let segments: Vec<&str> = path.split('/').collect();
    // Per matching template, which segments it matched literally.
    let literal_mask = |template: &str| -> Option<Vec<bool>> {
        let parts: Vec<&str> = template.split('/').collect();
        if parts.len() != segments.len() {
            return None;
        }
        parts
            .iter()
            .zip(&segments)
            .map(|(p, s)| {
                if p == s {
                    Some(true)
                } else if p.starts_with('{') && p.ends_with('}') && !s.is_empty() {
                    Some(false)
                } else {
                    None
                }
            })
            .collect()
    };
    let best = ROUTES.iter().filter_map(|(_, t)| literal_mask(t)).max();
    let Some(best) = best else {
        return Vec::new();
    };
    let mut methods: Vec<String> = ROUTES
        .iter()
        .filter(|(_, t)| literal_mask(t).as_ref() == Some(&best))
        .map(|(m, _)| m.to_ascii_uppercase())
        .collect();
    methods.sort();
    methods.dedup();
    methods
}
