//! `Application::build(settings)`: the one place that wires the service, used
//! by `kiemtra serve`, `kiemtra demo` and the tests alike.

use std::net::TcpListener;
use std::sync::Arc;
use std::time::{Duration, Instant};

use actix_web::body::MessageBody;
use actix_web::dev::{Server, ServiceResponse};
use actix_web::http::header::{self, CONTENT_TYPE};
use actix_web::middleware::{ErrorHandlerResponse, ErrorHandlers};
use actix_web::{web, App, HttpServer};

use crate::api as routes;
use crate::api::error::problem_response;
use crate::app::auth::tokens::TokenKeys;
use crate::app::ratelimit::Limiter;
use crate::config::Settings;
use crate::db::{build_pool, run_migrations, Db};
use crate::error::ApiError;
use crate::state::{AppState, Metrics};

/// A built, bound, not yet running server.
pub struct Application {
    port: u16,
    server: Server,
    db: Db,
}

impl Application {
    /// Connects, migrates, binds (port 0 picks a free one) and wires the app.
    pub fn build(settings: Settings) -> Result<Self, String> {
        let pool = build_pool(&settings.database_url, settings.pool_size)?;
        {
            let mut conn = pool
                .get()
                .map_err(|e| format!("cannot connect to the database: {e}"))?;
            let applied = run_migrations(&mut conn)?;
            if !applied.is_empty() {
                tracing::info!(?applied, "migrations applied");
            }
        }
        // The group commit has a connection of its own: it is the one serial
        // step of posting minutes and must never queue behind the handlers
        // for the shared pool.
        let writer = web::Data::new(
            crate::app::minutes_writer::MinutesWriter::start(crate::db::build_writer_pool(
                &settings.database_url,
            )?)
            .map_err(|e| format!("cannot start the minutes writer: {e}"))?,
        );
        let db = Db::new(
            pool,
            std::time::Duration::from_secs(settings.counts_cache_secs),
        );
        let listener = TcpListener::bind(&settings.bind)
            .map_err(|e| format!("cannot bind {}: {e}", settings.bind))?;
        let port = listener.local_addr().map_err(|e| e.to_string())?.port();
        let state = web::Data::new(AppState {
            keys: TokenKeys::new(
                settings.jwt_secret.expose().as_bytes(),
                settings.access_ttl_secs,
            ),
            login_limiter: Limiter::new(
                settings.login_attempts_per_minute,
                Duration::from_secs(60),
            ),
            metrics: Arc::new(Metrics::default()),
            auth_cache: Default::default(),
            settings,
        });
        let (workers, per_worker) = connection_cap(state.settings.max_connections);
        let db_data = web::Data::new(db.clone());
        let server = HttpServer::new(move || {
            let metrics = state.metrics.clone();
            App::new()
                .app_data(state.clone())
                .app_data(db_data.clone())
                .app_data(writer.clone())
                .app_data(
                    web::QueryConfig::default().error_handler(crate::api::extract::query_error),
                )
                .app_data(web::PathConfig::default().error_handler(crate::api::extract::path_error))
                .wrap_fn(|req, srv| {
                    use actix_web::dev::Service;
                    use futures_util::future::FutureExt;
                    if let Some(err) = crate::api::extract::nul_in_target(req.request()) {
                        let resp = actix_web::ResponseError::error_response(&err);
                        let res = req.into_response(resp).map_into_right_body();
                        return futures_util::future::ready(Ok(res)).boxed_local();
                    }
                    srv.call(req)
                        .map(|r| r.map(|res| res.map_into_left_body()))
                        .boxed_local()
                })
                // Compressed when the client asks (`Accept-Encoding`): a
                // full fetch of 500 assignments is 420 KiB of JSON, 95 KiB as
                // gzip, for a phone on a slow network. Inside
                // the error handlers, so that its 406 for an encoding it
                // cannot offer becomes problem+json too.
                .wrap(actix_web::middleware::Compress::default())
                .wrap(ErrorHandlers::new().default_handler(problemize))
                .wrap_fn(move |req, srv| {
                    use actix_web::dev::Service;
                    let started = Instant::now();
                    let metrics = metrics.clone();
                    let fut = srv.call(req);
                    async move {
                        let res = fut.await?;
                        metrics
                            .observe(res.status().as_u16(), started.elapsed().as_micros() as u64);
                        Ok(res)
                    }
                })
                .wrap(actix_web::middleware::Logger::new("%r %s %Dms").log_target("kiemtra::http"))
                // Outermost, so that errors get it too: browsers never guess
                // a type other than the one sent (a "photo" as HTML).
                .wrap(
                    actix_web::middleware::DefaultHeaders::new()
                        .add((header::X_CONTENT_TYPE_OPTIONS, "nosniff")),
                )
                // Pages for people (the console, `/` leading to it; the field
                // app; the API docs): not in the JSON route table nor the
                // OpenAPI spec.
                .configure(crate::web::configure)
                .configure(routes::configure)
                .default_service(web::to(routes::unrouted))
        })
        // No Nagle delay: a compressed response goes out in chunks, and its
        // last small one would otherwise wait for the client's delayed ACK.
        .on_connect(|conn, _| {
            if let Some(tcp) = conn.downcast_ref::<actix_web::rt::net::TcpStream>() {
                let _ = tcp.set_nodelay(true);
            }
        })
        // Each worker holds its share of MAX_CONNECTIONS; beyond it new
        // connections wait in the listen backlog instead of taking file
        // descriptors the database and the photos need.
        .workers(workers)
        .max_connections(per_worker)
        .listen(listener)
        .map_err(|e| e.to_string())?
        .shutdown_timeout(10)
        .run();
        Ok(Application { port, server, db })
    }

    /// The bound port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The database handle (for the demo's seeding).
    pub fn db(&self) -> Db {
        self.db.clone()
    }

    /// Serves until stopped.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        self.server.await
    }
}

/// File descriptors kept for everything but client connections: the
/// database pools, photos and imports being written, the listener, the
/// runtime's own.
const FD_RESERVE: u64 = 512;

/// The worker count and each worker's connection cap for `max` connections
/// per instance, lowered so that all of them fit the soft file limit (which
/// the binary raised to the hard one at start).
fn connection_cap(max: usize) -> (usize, usize) {
    let workers = std::thread::available_parallelism().map_or(2, |n| n.get());
    let soft = crate::fd_soft_limit();
    let fits = soft.map_or(max, |s| {
        usize::try_from(s.saturating_sub(FD_RESERVE)).unwrap_or(usize::MAX)
    });
    let total = max.min(fits).max(workers);
    if total < max {
        tracing::warn!(
            max_connections = max,
            fd_soft_limit = soft,
            capped_at = total,
            "the file limit is too low for MAX_CONNECTIONS; holding fewer connections"
        );
    }
    if let Some((before, now, hard)) = crate::FD_LIMIT.get() {
        tracing::info!(
            soft_before = before,
            soft = now,
            hard = hard,
            max_connections = total,
            workers,
            "open file limit (RLIMIT_NOFILE)"
        );
    }
    (workers, total.div_ceil(workers))
}

/// Turns any error response that is not problem+json already (actix's own
/// 404/405/413/400s) into one, so every error has the same shape.
fn problemize<B: MessageBody + 'static>(
    res: ServiceResponse<B>,
) -> actix_web::Result<ErrorHandlerResponse<B>> {
    // The console's own error pages (HTML) stay as they are.
    let is_problem = res.headers().get(CONTENT_TYPE).is_some_and(|v| {
        v.as_bytes().starts_with(b"application/problem+json")
            || v.as_bytes().starts_with(b"text/html")
    });
    if is_problem {
        return Ok(ErrorHandlerResponse::Response(res.map_into_left_body()));
    }
    let status = res.status();
    let err = match status.as_u16() {
        400 => ApiError::BadRequest("the request could not be read".into()),
        401 => ApiError::Unauthorized("authentication required".into()),
        404 => ApiError::NotFound,
        413 => ApiError::PayloadTooLarge("the body is too large".into()),
        s if s >= 500 => ApiError::Internal(format!("status {s} from the framework")),
        _ => {
            let (req, _) = res.into_parts();
            let resp = problem_response(
                status,
                "error",
                status.canonical_reason().unwrap_or("error"),
            );
            return Ok(ErrorHandlerResponse::Response(
                ServiceResponse::new(req, resp).map_into_right_body(),
            ));
        }
    };
    let (req, _) = res.into_parts();
    let resp = actix_web::ResponseError::error_response(&err);
    Ok(ErrorHandlerResponse::Response(
        ServiceResponse::new(req, resp).map_into_right_body(),
    ))
}
