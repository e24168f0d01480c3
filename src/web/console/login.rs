//! Sign in and out: the same accounts and the same login throttle as the
//! API (`app::sessions::check_credentials`); a session cookie, HttpOnly,
//! SameSite=Strict, Secure over TLS; the sign-in form has its own CSRF
//! token, bound to a cookie set when the form is shown.

use actix_web::cookie::Cookie;
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use maud::html;
use serde::Deserialize;

use super::session::{self, Session};
use super::{
    bare, html_response, keys, read_form, session_cookie, CheckedForm, PageError, PageResult,
};
use crate::app::auth::{Caller, Role};
use crate::app::sessions::LoginBody;
use crate::db::Db;
use crate::error::ApiError;
use crate::state::AppState;

/// `?next=` of the sign-in page.
#[derive(Deserialize)]
pub struct Next {
    next: Option<String>,
}

/// Where to go after signing in: a console address only.
fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(n) if n.starts_with("/console/") && !n.starts_with("//") && !n.contains('\\') => {
            n.to_string()
        }
        _ => "/console/".into(),
    }
}

fn login_page(
    status: StatusCode,
    csrf: &str,
    next: &str,
    username: &str,
    problem: Option<&str>,
) -> HttpResponse {
    html_response(
        status,
        bare(
            "Đăng nhập",
            html! {
                p.muted { "Bảng điều khiển dành cho Ban chỉ đạo, giám sát viên và quản trị viên." }
                @if let Some(p) = problem {
                    p.warning role="alert" { (p) }
                }
                form.stack method="post" action="/console/login" {
                    input type="hidden" name="csrf_token" value=(csrf);
                    input type="hidden" name="next" value=(next);
                    label { "Tên đăng nhập" input name="username" autocomplete="username" required value=(username); }
                    label { "Mật khẩu" input name="password" type="password" autocomplete="current-password" required; }
                    button type="submit" data-action="login" { "Đăng nhập" }
                }
            },
        ),
    )
}

/// `GET /console/login`.
pub async fn form(
    req: HttpRequest,
    state: web::Data<AppState>,
    q: web::Query<Next>,
) -> HttpResponse {
    let k = keys(&state);
    let nonce = req
        .cookie(session::LOGIN_COOKIE)
        .map(|c| c.value().to_string())
        .filter(|v| v.len() == 32)
        .unwrap_or_else(session::nonce);
    let mut resp = login_page(
        StatusCode::OK,
        &k.login_csrf(&nonce),
        &safe_next(q.next.as_deref()),
        "",
        None,
    );
    let _ = resp.add_cookie(&session_cookie(
        &req,
        session::LOGIN_COOKIE,
        nonce,
        "/console/login",
    ));
    resp
}

/// `POST /console/login`: `username`, `password`, `csrf_token`, `next`.
pub async fn submit(
    req: HttpRequest,
    mut payload: web::Payload,
    state: web::Data<AppState>,
    db: web::Data<Db>,
) -> PageResult {
    let form = read_form(&req, &mut payload).await?;
    let k = keys(&state);
    let nonce = req
        .cookie(session::LOGIN_COOKIE)
        .map(|c| c.value().to_string())
        .ok_or(PageError::Csrf)?;
    match form.get("csrf_token") {
        Some(t) if session::same(t, &k.login_csrf(&nonce)) => {}
        _ => return Err(PageError::Csrf),
    }
    let next = safe_next(form.get("next"));
    let username = form.get("username").unwrap_or("").to_string();
    let password = form
        .0
        .iter()
        .find(|(n, _)| n == "password")
        .map(|(_, v)| v.clone())
        .unwrap_or_default();
    let client = crate::api::auth::client_address(&req, &state);
    let csrf = k.login_csrf(&nonce);
    let body = LoginBody {
        username: username.clone(),
        password,
    };
    let id = match crate::app::sessions::check_credentials(&db, &state.login_limiter, client, body)
        .await
    {
        Ok(id) => id,
        Err(ApiError::TooManyRequests { retry_after_secs }) => {
            let mut resp = login_page(
                StatusCode::TOO_MANY_REQUESTS,
                &csrf,
                &next,
                &username,
                Some(&format!(
                    "Đã thử đăng nhập quá nhiều lần. Vui lòng đợi {retry_after_secs} giây rồi thử lại."
                )),
            );
            if let Ok(v) =
                actix_web::http::header::HeaderValue::from_str(&retry_after_secs.to_string())
            {
                resp.headers_mut()
                    .insert(actix_web::http::header::RETRY_AFTER, v);
            }
            return Ok(resp);
        }
        Err(ApiError::Unauthorized(_)) => {
            return Ok(login_page(
                StatusCode::UNAUTHORIZED,
                &csrf,
                &next,
                &username,
                Some("Sai tên đăng nhập hoặc mật khẩu."),
            ))
        }
        Err(e) => return Err(e.into()),
    };
    let caller = Caller::new(id.clone());
    let user = db.run(move |conn| caller.load(conn)).await?;
    if user.role == Role::Inspector {
        return Ok(login_page(
            StatusCode::FORBIDDEN,
            &csrf,
            &next,
            &username,
            Some("Bảng điều khiển dành cho giám sát viên và quản trị viên; thành viên đội kiểm tra dùng ứng dụng hiện trường."),
        ));
    }
    let now = chrono::Utc::now().timestamp();
    let s = Session {
        user_id: id,
        issued: now,
        seen: now,
        nonce: session::nonce(),
    };
    crate::app::sessions::open_console_session(
        &db,
        s.user_id.clone(),
        s.nonce.clone(),
        session::MAX_AGE_SECS,
    )
    .await?;
    let mut resp = super::see_other(&next);
    let _ = resp.add_cookie(&session_cookie(
        &req,
        session::COOKIE,
        k.encode(&s),
        "/console",
    ));
    let mut gone = Cookie::new(session::LOGIN_COOKIE, "");
    gone.set_path("/console/login");
    gone.make_removal();
    let _ = resp.add_cookie(&gone);
    Ok(resp)
}

/// `POST /console/logout` (CSRF-checked): the session ends on the server
/// (a copy of the cookie no longer works) and the cookie is removed.
pub async fn logout(f: CheckedForm, db: web::Data<Db>) -> PageResult {
    let CheckedForm { ctx, .. } = f;
    crate::app::sessions::close_console_session(&db, ctx.user.id.clone(), ctx.nonce().to_string())
        .await?;
    let mut resp = super::see_other("/console/login");
    let mut gone = Cookie::new(session::COOKIE, "");
    gone.set_path("/console");
    gone.make_removal();
    let _ = resp.add_cookie(&gone);
    Ok(resp)
}
