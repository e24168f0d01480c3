//! The web console: supervisors and administrators do their work in a
//! browser, in Vietnamese. Server-rendered HTML (maud); every form works
//! without JavaScript; assets are compiled in. Each handler reads the caller
//! from the session cookie ([`Ctx`]), calls [`crate::app`] use cases and
//! renders: the same rules and area checks as the JSON API, and a page
//! about something outside the caller's area is 404.

pub mod assets;
pub mod format;
pub mod session;

mod indicators;
mod login;
mod overview;
mod plans;
mod registry;
mod review;
mod teams;

use std::future::Future;
use std::pin::Pin;

use actix_web::cookie::{Cookie, SameSite};
use actix_web::http::{header, StatusCode};
use actix_web::{web, FromRequest, HttpRequest, HttpResponse, ResponseError};
use maud::{html, Markup, PreEscaped, DOCTYPE};

use crate::app::auth::{AuthUser, Role};
use crate::db::Db;
use crate::error::ApiError;
use crate::state::AppState;

pub use session::Keys;

/// Registers the console's routes (HTML, so not in the JSON route table).
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/", web::get().to(root))
        .route("/console", web::get().to(root))
        .route("/console/", web::get().to(overview::overview))
        .route("/console/assets/console.css", web::get().to(assets::css))
        .route("/console/assets/console.js", web::get().to(assets::js))
        .route("/console/login", web::get().to(login::form))
        .route("/console/login", web::post().to(login::submit))
        .route("/console/logout", web::post().to(login::logout))
        .route("/console/review", web::get().to(review::queue))
        .route(
            "/console/inspections/{id}",
            web::get().to(review::inspection),
        )
        .route("/console/inspections/{id}", web::post().to(review::decide))
        .route(
            "/console/inspections/{id}/bien-ban.pdf",
            web::get().to(review::bien_ban),
        )
        .route(
            "/console/inspections/{id}/photos/{sha}",
            web::get().to(review::photo),
        )
        .route("/console/establishments", web::get().to(registry::list))
        .route(
            "/console/establishments/import",
            web::get().to(registry::import_form),
        )
        .route(
            "/console/establishments/import",
            web::post().to(registry::import),
        )
        .route(
            "/console/establishments/import/errors.csv",
            web::post().to(registry::import_errors),
        )
        .route(
            "/console/establishments/{id}",
            web::get().to(registry::detail),
        )
        .route(
            "/console/establishments/{id}",
            web::post().to(registry::edit),
        )
        .route(
            "/console/establishments/{id}/close",
            web::post().to(registry::close),
        )
        .route("/console/plans", web::get().to(plans::list))
        .route("/console/plans", web::post().to(plans::create))
        .route("/console/plans/{id}", web::get().to(plans::detail))
        .route("/console/plans/{id}/draw", web::post().to(plans::draw))
        .route("/console/plans/{id}/top-up", web::post().to(plans::top_up))
        .route("/console/plans/{id}/verify", web::post().to(plans::verify))
        .route("/console/plans/{id}/freeze", web::post().to(plans::freeze))
        .route("/console/plans/{id}/cancel", web::post().to(plans::cancel))
        .route(
            "/console/plans/{id}/rounds/{n}/input",
            web::get().to(plans::round_input),
        )
        .route(
            "/console/plans/{id}/indicators",
            web::get().to(indicators::page),
        )
        .route(
            "/console/plans/{id}/indicators",
            web::post().to(indicators::create),
        )
        .route("/console/activities", web::get().to(indicators::activities))
        .route("/console/activities", web::post().to(indicators::record))
        .route(
            "/console/activities/{id}/withdraw",
            web::post().to(indicators::withdraw),
        )
        .route(
            "/console/activities/{id}/evidence",
            web::get().to(indicators::download_evidence),
        )
        .route(
            "/console/activities/{id}/evidence",
            web::post().to(indicators::upload_evidence),
        )
        .route(
            "/console/plans/{id}/coverage",
            web::get().to(overview::coverage),
        )
        .route("/console/teams", web::get().to(teams::list))
        .route("/console/teams", web::post().to(teams::create))
        .route("/console/teams/{id}", web::get().to(teams::detail))
        .route(
            "/console/teams/{id}/members",
            web::post().to(teams::add_member),
        )
        .route(
            "/console/teams/{id}/members/{user_id}/remove",
            web::post().to(teams::remove_member),
        )
        .route("/console/users", web::get().to(teams::users))
        .route("/console/users", web::post().to(teams::create_user))
        .route(
            "/console/users/{id}/active",
            web::post().to(teams::set_active),
        )
        .route(
            "/console/users/{id}/password",
            web::post().to(teams::reset_password),
        )
        .route("/console/reports", web::get().to(overview::reports))
        .route(
            "/console/reports/download",
            web::get().to(overview::download),
        )
        .route("/console/audit", web::get().to(overview::audit))
        .route("/console/{tail:.*}", web::route().to(not_found));
}

/// `/` and `/console`: the console (its sign-in when signed out).
async fn root() -> HttpResponse {
    see_other("/console/")
}

/// An unknown console address: an HTML 404.
async fn not_found() -> HttpResponse {
    PageError::Api(ApiError::NotFound).error_response()
}

/// 303 to `to`.
pub fn see_other(to: &str) -> HttpResponse {
    HttpResponse::SeeOther()
        .insert_header((header::LOCATION, to))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .finish()
}

/// Why a page is not shown.
#[derive(Debug)]
pub enum PageError {
    /// No valid session: to the sign-in page, back to `next` afterwards.
    SignIn(String),
    /// A form without its CSRF token (or a wrong one): 403.
    Csrf,
    /// What the use case answered.
    Api(ApiError),
}

impl From<ApiError> for PageError {
    fn from(e: ApiError) -> Self {
        PageError::Api(e)
    }
}

impl std::fmt::Display for PageError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PageError::SignIn(_) => f.write_str("sign in required"),
            PageError::Csrf => f.write_str("missing or wrong CSRF token"),
            PageError::Api(e) => write!(f, "{e}"),
        }
    }
}

/// What a page's failure says, in Vietnamese, and its status.
fn explain(e: &ApiError) -> (StatusCode, &'static str, String) {
    use ApiError as E;
    match e {
        E::NotFound => (
            StatusCode::NOT_FOUND,
            "Không tìm thấy",
            "Trang này không có, hoặc nằm ngoài địa bàn của bạn.".into(),
        ),
        E::Forbidden => (
            StatusCode::FORBIDDEN,
            "Không được phép",
            "Vai trò của bạn không được làm việc này.".into(),
        ),
        E::PreconditionFailed { .. } => (
            StatusCode::PRECONDITION_FAILED,
            "Dữ liệu đã thay đổi",
            "Người khác đã sửa bản ghi này sau khi bạn mở trang. Thay đổi của bạn chưa được lưu: hãy mở lại trang để xem bản mới nhất rồi sửa lại.".into(),
        ),
        E::Validation(errs) => (
            StatusCode::UNPROCESSABLE_ENTITY,
            "Dữ liệu chưa hợp lệ",
            errs.iter()
                .map(|f| format!("{}: {}", f.field, f.message))
                .collect::<Vec<_>>()
                .join("; "),
        ),
        E::Conflict(m) => (StatusCode::CONFLICT, "Xung đột", m.clone()),
        E::Duplicate { .. } => (
            StatusCode::CONFLICT,
            "Đã tồn tại",
            "Đã có bản ghi với khóa này (ví dụ số giấy phép hoặc tên đăng nhập).".into(),
        ),
        E::TooManyRequests { retry_after_secs } => (
            StatusCode::TOO_MANY_REQUESTS,
            "Quá nhiều lần thử",
            format!("Vui lòng đợi {retry_after_secs} giây rồi thử lại."),
        ),
        E::PayloadTooLarge(_) => (
            StatusCode::PAYLOAD_TOO_LARGE,
            "Tệp quá lớn",
            "Tệp gửi lên vượt quá giới hạn cho phép.".into(),
        ),
        E::Unavailable(_) => (
            StatusCode::SERVICE_UNAVAILABLE,
            "Tạm thời không truy cập được",
            "Cơ sở dữ liệu tạm thời không trả lời; vui lòng thử lại sau ít phút.".into(),
        ),
        E::Internal(_) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            "Lỗi hệ thống",
            "Đã có lỗi xảy ra; vui lòng thử lại.".into(),
        ),
        other => (
            actix_web::ResponseError::status_code(other),
            "Yêu cầu không hợp lệ",
            other.detail(),
        ),
    }
}

impl ResponseError for PageError {
    fn status_code(&self) -> StatusCode {
        match self {
            PageError::SignIn(_) => StatusCode::SEE_OTHER,
            PageError::Csrf => StatusCode::FORBIDDEN,
            PageError::Api(e) => explain(e).0,
        }
    }

    fn error_response(&self) -> HttpResponse {
        match self {
            PageError::SignIn(next) => {
                let to = if next.is_empty() || next == "/console/" {
                    "/console/login".to_string()
                } else {
                    format!(
                        "/console/login?next={}",
                        url::form_urlencoded::byte_serialize(next.as_bytes()).collect::<String>()
                    )
                };
                see_other(&to)
            }
            PageError::Csrf => html_response(
                StatusCode::FORBIDDEN,
                bare(
                    "Phiên làm việc không hợp lệ",
                    html! {
                        p { "Biểu mẫu thiếu mã bảo vệ (CSRF) hoặc mã đã hết hạn. Không có gì được lưu." }
                        p { a href="/console/" { "Về trang Tổng quan" } " và thử lại." }
                    },
                ),
            ),
            PageError::Api(e) => {
                if let ApiError::Internal(cause) = e {
                    tracing::error!(%cause, "console page failed");
                }
                let (status, title, detail) = explain(e);
                let mut resp = html_response(
                    status,
                    bare(
                        title,
                        html! {
                            p { (detail) }
                            p { a href="javascript:history.back()" { "Quay lại" } " · " a href="/console/" { "Tổng quan" } }
                        },
                    ),
                );
                if let ApiError::TooManyRequests { retry_after_secs } = e {
                    if let Ok(v) = header::HeaderValue::from_str(&retry_after_secs.to_string()) {
                        resp.headers_mut().insert(header::RETRY_AFTER, v);
                    }
                }
                resp
            }
        }
    }
}

/// A page result.
pub type PageResult = Result<HttpResponse, PageError>;

/// An HTML response that is never cached.
pub fn html_response(status: StatusCode, body: Markup) -> HttpResponse {
    HttpResponse::build(status)
        .content_type("text/html; charset=utf-8")
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .insert_header((header::X_FRAME_OPTIONS, "DENY"))
        .insert_header((
            header::CONTENT_SECURITY_POLICY,
            "default-src 'self'; img-src 'self' data:; style-src 'self'; style-src-attr 'unsafe-inline'; script-src 'self'; form-action 'self'; frame-ancestors 'none'",
        ))
        .body(body.into_string())
}

/// The page head shared by every page.
fn head(title: &str) -> Markup {
    html! {
        head {
            meta charset="utf-8";
            meta name="viewport" content="width=device-width, initial-scale=1";
            title { (title) " · Kiểm tra liên ngành 178" }
            link rel="stylesheet" href=(assets::CSS_PATH);
            script src=(assets::JS_PATH) defer {}
        }
    }
}

/// A page without the navigation (sign-in, errors).
pub fn bare(title: &str, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="vi" {
            (head(title))
            body.bare {
                main {
                    p.brand { "Đội kiểm tra liên ngành 178" }
                    h1 { (title) }
                    (body)
                }
            }
        }
    }
}

/// The console's sections, for the navigation.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Nav {
    /// Tổng quan.
    Overview,
    /// Duyệt biên bản.
    Review,
    /// Cơ sở kinh doanh.
    Registry,
    /// Kế hoạch.
    Plans,
    /// Đội kiểm tra.
    Teams,
    /// Tài khoản.
    Users,
    /// Báo cáo.
    Reports,
    /// Nhật ký.
    Audit,
}

const NAV: [(Nav, &str, &str); 8] = [
    (Nav::Overview, "/console/", "Tổng quan"),
    (Nav::Review, "/console/review", "Duyệt biên bản"),
    (Nav::Registry, "/console/establishments", "Cơ sở kinh doanh"),
    (Nav::Plans, "/console/plans", "Kế hoạch"),
    (Nav::Teams, "/console/teams", "Đội kiểm tra"),
    (Nav::Users, "/console/users", "Tài khoản"),
    (Nav::Reports, "/console/reports", "Báo cáo"),
    (Nav::Audit, "/console/audit", "Nhật ký"),
];

/// The signed-in caller of a console page.
pub struct Ctx {
    /// Who, with the area they may see.
    pub user: AuthUser,
    /// The CSRF token every form of this session carries.
    pub csrf: String,
    /// The session's nonce (its server-side row is keyed by it).
    nonce: String,
    /// A renewed session cookie to send, if the last use was a while ago.
    renew: Option<Cookie<'static>>,
}

/// Whether the request came over TLS (directly or through a proxy that says so).
fn over_tls(req: &HttpRequest) -> bool {
    req.connection_info().scheme() == "https"
}

/// The session cookie carrying `value`.
pub fn session_cookie(req: &HttpRequest, name: &str, value: String, path: &str) -> Cookie<'static> {
    Cookie::build(name.to_string(), value)
        .path(path.to_string())
        .http_only(true)
        .same_site(SameSite::Strict)
        .secure(over_tls(req))
        .finish()
}

/// The keys of the console, from the service's secret.
pub fn keys(state: &AppState) -> Keys {
    Keys::new(state.settings.jwt_secret.expose().as_bytes())
}

impl FromRequest for Ctx {
    type Error = PageError;
    type Future = Pin<Box<dyn Future<Output = Result<Ctx, PageError>>>>;

    fn from_request(req: &HttpRequest, _: &mut actix_web::dev::Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move {
            let next = if req.method() == actix_web::http::Method::GET {
                req.uri()
                    .path_and_query()
                    .map(|p| p.as_str().to_string())
                    .unwrap_or_default()
            } else {
                String::new()
            };
            let state = req
                .app_data::<web::Data<AppState>>()
                .ok_or_else(|| ApiError::Internal("no state".into()))?;
            let db = req
                .app_data::<web::Data<Db>>()
                .ok_or_else(|| ApiError::Internal("no database".into()))?
                .clone();
            let keys = keys(state);
            let now = chrono::Utc::now().timestamp();
            let idle = i64::try_from(state.settings.console_idle_secs).unwrap_or(i64::MAX);
            let Some(mut s) = req
                .cookie(session::COOKIE)
                .and_then(|c| keys.decode(c.value(), now, idle))
            else {
                return Err(PageError::SignIn(next));
            };
            // The cookie's signature is not enough: its session must still
            // be live on the server (not signed out, disabled or reset).
            let user =
                match crate::app::sessions::console_caller(&db, s.user_id.clone(), s.nonce.clone())
                    .await
                {
                    Ok(u) => u,
                    Err(ApiError::Unauthorized(_)) => return Err(PageError::SignIn(next)),
                    Err(e) => return Err(e.into()),
                };
            if user.role == Role::Inspector {
                return Err(ApiError::Forbidden.into());
            }
            let renew = (now - s.seen > session::RENEW_AFTER_SECS).then(|| {
                s.seen = now;
                session_cookie(&req, session::COOKIE, keys.encode(&s), "/console")
            });
            Ok(Ctx {
                user,
                csrf: keys.csrf(&s.nonce),
                nonce: s.nonce,
                renew,
            })
        })
    }
}

/// Fields of a posted form (`application/x-www-form-urlencoded`), in order.
pub struct Fields(pub Vec<(String, String)>);

impl Fields {
    /// Parses a form body.
    pub fn parse(body: &[u8]) -> Fields {
        Fields(
            url::form_urlencoded::parse(body)
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect(),
        )
    }

    /// The first value of `name`, trimmed; `None` when absent or empty.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.trim())
            .filter(|v| !v.is_empty())
    }

    /// Every value of `name`.
    pub fn all(&self, name: &str) -> Vec<&str> {
        self.0
            .iter()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .collect()
    }
}

/// Reads a form body (at most 64 KiB, within the body deadline).
pub async fn read_form(req: &HttpRequest, payload: &mut web::Payload) -> Result<Fields, PageError> {
    let body = crate::api::extract::read_body(req, payload, 64 * 1024).await?;
    Ok(Fields::parse(&body))
}

/// A posted console form whose CSRF token is this session's: the signed-in
/// caller ([`Ctx`]) and the form's fields. A handler that takes it never
/// sees a form without its token (403, nothing done). `LIMIT` is the most
/// bytes the form may have (64 KiB unless a handler says otherwise).
pub struct CheckedForm<const LIMIT: usize = { 64 * 1024 }> {
    /// The signed-in caller.
    pub ctx: Ctx,
    /// The form's fields.
    pub form: Fields,
}

impl<const LIMIT: usize> FromRequest for CheckedForm<LIMIT> {
    type Error = PageError;
    type Future = Pin<Box<dyn Future<Output = Result<CheckedForm<LIMIT>, PageError>>>>;

    fn from_request(req: &HttpRequest, payload: &mut actix_web::dev::Payload) -> Self::Future {
        let req = req.clone();
        let ctx = Ctx::from_request(&req, payload);
        let mut body = payload.take();
        Box::pin(async move {
            let ctx = ctx.await?;
            let raw = crate::api::extract::read_body(&req, &mut body, LIMIT).await?;
            let form = Fields::parse(&raw);
            ctx.check(&form)?;
            Ok(CheckedForm { ctx, form })
        })
    }
}

impl Ctx {
    /// 403 unless `form` carries this session's CSRF token.
    pub fn check(&self, form: &Fields) -> Result<(), PageError> {
        match form.get("csrf_token") {
            Some(t) if session::same(t, &self.csrf) => Ok(()),
            _ => Err(PageError::Csrf),
        }
    }

    /// The session's nonce (to end it on the server).
    pub(crate) fn nonce(&self) -> &str {
        &self.nonce
    }

    /// The hidden CSRF field of a form.
    pub fn csrf_field(&self) -> Markup {
        html! { input type="hidden" name="csrf_token" value=(self.csrf); }
    }

    /// Whether the caller is an administrator.
    pub fn is_admin(&self) -> bool {
        self.user.is_admin()
    }

    /// A full page in the console's layout.
    pub fn page(&self, nav: Nav, title: &str, body: Markup) -> HttpResponse {
        self.page_with(StatusCode::OK, nav, title, body)
    }

    /// [`Ctx::page`] with another status.
    pub fn page_with(
        &self,
        status: StatusCode,
        nav: Nav,
        title: &str,
        body: Markup,
    ) -> HttpResponse {
        let markup = html! {
            (DOCTYPE)
            html lang="vi" {
                (head(title))
                body {
                    header.top {
                        a.brand href="/console/" { "Kiểm tra liên ngành 178" }
                        nav aria-label="Chức năng" {
                            @for (n, href, label) in NAV {
                                @if !matches!(n, Nav::Audit | Nav::Users) || self.is_admin() {
                                    a href=(href) aria-current=[(n == nav).then_some("page")] { (label) }
                                }
                            }
                        }
                        form.who method="post" action="/console/logout" {
                            span { (self.user.username) " · " (format::role(self.user.role.as_str())) }
                            (self.csrf_field())
                            button type="submit" data-action="logout" { "Đăng xuất" }
                        }
                    }
                    main {
                        h1 { (title) }
                        (body)
                    }
                    footer { "Giờ Việt Nam (UTC+7) · " (format::date(format::today())) }
                }
            }
        };
        let mut resp = html_response(status, markup);
        if let Some(c) = &self.renew {
            let _ = resp.add_cookie(c);
        }
        resp
    }

    /// A 303 after a form, carrying the renewed cookie.
    pub fn redirect(&self, to: &str) -> HttpResponse {
        let mut resp = see_other(to);
        if let Some(c) = &self.renew {
            let _ = resp.add_cookie(c);
        }
        resp
    }
}

/// A notice at the top of a page (after a form: `?ok=…`).
pub fn notice(text: Option<&str>) -> Markup {
    html! {
        @if let Some(t) = text {
            p.notice role="status" { (t) }
        }
    }
}

/// An `<a>` whose query string is `params` (empty values left out).
pub fn link_with(path: &str, params: &[(&str, &str)]) -> String {
    let q: Vec<String> = params
        .iter()
        .filter(|(_, v)| !v.is_empty())
        .map(|(k, v)| {
            format!(
                "{k}={}",
                url::form_urlencoded::byte_serialize(v.as_bytes()).collect::<String>()
            )
        })
        .collect();
    if q.is_empty() {
        path.to_string()
    } else {
        format!("{path}?{}", q.join("&"))
    }
}

/// Raw, already escaped text (for the few inline SVG bits).
pub fn raw(s: &str) -> PreEscaped<String> {
    PreEscaped(s.to_string())
}

/// A JSON value's string at `key` ("" when absent or not a string).
pub fn s<'a>(v: &'a serde_json::Value, key: &str) -> &'a str {
    v.get(key).and_then(|x| x.as_str()).unwrap_or("")
}

/// A JSON value's integer at `key` (0 when absent).
pub fn n(v: &serde_json::Value, key: &str) -> i64 {
    v.get(key)
        .and_then(|x| x.as_i64().or_else(|| x.as_f64().map(|f| f as i64)))
        .unwrap_or(0)
}

/// A JSON value's number at `key` (0 when absent).
pub fn f(v: &serde_json::Value, key: &str) -> f64 {
    v.get(key).and_then(|x| x.as_f64()).unwrap_or(0.0)
}

/// Serialises a use case's answer for rendering.
pub fn json<T: serde::Serialize>(t: &T) -> Result<serde_json::Value, PageError> {
    serde_json::to_value(t).map_err(|e| ApiError::Internal(e.to_string()).into())
}
