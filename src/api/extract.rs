//! Request plumbing shared by the handlers: strict JSON bodies, media types,
//! query and path errors, `If-Match`, the caller.

use std::future::Future;
use std::pin::Pin;

use actix_web::{dev::Payload, http::header, web, FromRequest, HttpRequest};
use futures_util::StreamExt;
use serde::de::DeserializeOwned;

use crate::app::auth::{AuthUser, Caller};
use crate::db::Db;
use crate::domain::json::ObjectsOnly;
use crate::error::{ApiError, FieldError};

/// Largest JSON body accepted (1 MiB, as `api-spec/openapi.yaml` says).
pub const JSON_LIMIT: usize = 1024 * 1024;
/// Largest CSV/XLSX import body accepted (20 MiB).
pub const IMPORT_LIMIT: usize = 20 * 1024 * 1024;

/// How long a body may take: `timeout` for the whole of it, then
/// `min_rate` bytes a second on average (`None`: no minimum rate).
#[derive(Clone, Copy, Debug)]
pub struct BodyDeadline {
    /// The time any body is given in full.
    pub timeout: std::time::Duration,
    /// Bytes per second a body must average beyond `timeout`.
    pub min_rate: Option<u64>,
}

impl BodyDeadline {
    /// The service's settings (`BODY_TIMEOUT_SECS`, `BODY_MIN_RATE`).
    fn of(req: &HttpRequest) -> Self {
        let (secs, rate) = req
            .app_data::<web::Data<crate::state::AppState>>()
            .map(|s| (s.settings.body_timeout_secs, s.settings.body_min_rate))
            .unwrap_or((30, 32 * 1024));
        BodyDeadline {
            timeout: std::time::Duration::from_secs(secs.max(1)),
            min_rate: (rate > 0).then_some(rate),
        }
    }

    /// When more than `received` bytes must have arrived, counted from the
    /// start of the body: `timeout`, plus `received / min_rate` seconds.
    fn next(&self, start: tokio::time::Instant, received: usize) -> tokio::time::Instant {
        let grace = match self.min_rate {
            Some(rate) => std::time::Duration::from_secs_f64(received as f64 / rate as f64),
            None => std::time::Duration::ZERO,
        };
        start + self.timeout + grace
    }
}

/// Reads the whole body, answering 413 as soon as it passes `limit`
/// (before reading anything when `Content-Length` already says so), and 408
/// when it does not arrive in time: within `BODY_TIMEOUT_SECS`, or later but
/// averaging `BODY_MIN_RATE` (a client trickling bytes holds a connection
/// and a file descriptor for no longer than that).
pub async fn read_body<S>(
    req: &HttpRequest,
    payload: &mut S,
    limit: usize,
) -> Result<Vec<u8>, ApiError>
where
    S: futures_util::Stream<Item = Result<actix_web::web::Bytes, actix_web::error::PayloadError>>
        + Unpin,
{
    let too_large = || ApiError::PayloadTooLarge(format!("the body is larger than {limit} bytes"));
    if let Some(len) = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok())
    {
        if len > limit {
            return Err(too_large());
        }
    }
    let deadline = BodyDeadline::of(req);
    let start = tokio::time::Instant::now();
    let mut body = Vec::new();
    loop {
        let next = tokio::time::timeout_at(deadline.next(start, body.len()), payload.next());
        let Ok(chunk) = next.await else {
            return Err(ApiError::RequestTimeout(format!(
                "the body did not arrive in time ({} bytes in {} s)",
                body.len(),
                start.elapsed().as_secs()
            )));
        };
        let Some(chunk) = chunk else { break };
        let chunk =
            chunk.map_err(|e| ApiError::BadRequest(format!("could not read the body: {e}")))?;
        if body.len() + chunk.len() > limit {
            return Err(too_large());
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

fn media_type(req: &HttpRequest) -> Option<String> {
    req.headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|v| {
            v.split(';')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase()
        })
}

/// The `charset` parameter of the request's `Content-Type` when it names
/// anything but UTF-8: bodies are read as UTF-8 only, so one declared in
/// another charset is refused rather than misread.
fn foreign_charset(req: &HttpRequest) -> Option<String> {
    let v = req.headers().get(header::CONTENT_TYPE)?;
    let v = String::from_utf8_lossy(v.as_bytes());
    v.split(';').skip(1).find_map(|param| {
        let (name, value) = param.split_once('=')?;
        let value = value.trim().trim_matches('"');
        (name.trim().eq_ignore_ascii_case("charset")
            && !value.eq_ignore_ascii_case("utf-8")
            && !value.eq_ignore_ascii_case("utf8"))
        .then(|| value.to_string())
    })
}

/// Checks the request's media type against the accepted ones (415 otherwise;
/// also for a `charset` other than UTF-8); the media type, lower-cased
/// without its parameters.
/// Bodies are read as sent: one with a `Content-Encoding` other than
/// `identity` (gzip and the like) is 415 too, rather than bytes that do not
/// parse.
pub fn require_media_type(req: &HttpRequest, accepted: &[&str]) -> Result<String, ApiError> {
    if let Some(coding) = req.headers().get(header::CONTENT_ENCODING) {
        let coding = String::from_utf8_lossy(coding.as_bytes());
        if !coding.trim().eq_ignore_ascii_case("identity") {
            return Err(ApiError::UnsupportedMediaType(format!(
                "Content-Encoding {coding} is not accepted; send the body uncompressed"
            )));
        }
    }
    if let Some(charset) = foreign_charset(req) {
        return Err(ApiError::UnsupportedMediaType(format!(
            "charset {charset} is not accepted; send UTF-8"
        )));
    }
    match media_type(req) {
        Some(m) if accepted.contains(&m.as_str()) => Ok(m),
        Some(m) => Err(ApiError::UnsupportedMediaType(format!(
            "Content-Type {m} is not accepted here; use {}",
            accepted.join(" or ")
        ))),
        None => Err(ApiError::UnsupportedMediaType(format!(
            "Content-Type is missing; use {}",
            accepted.join(" or ")
        ))),
    }
}

/// Turns a serde message plus its path into a field error naming the field.
fn field_error(path: &str, msg: &str) -> FieldError {
    // serde says "unknown field `x`, expected …" / "missing field `x`".
    let named = msg
        .split('`')
        .nth(1)
        .filter(|_| msg.starts_with("unknown field") || msg.starts_with("missing field"));
    let field = match (path, named) {
        (".", Some(n)) | ("", Some(n)) => n.to_string(),
        // serde_path_to_error already ends the path with an unknown field.
        (p, Some(n)) if p == n || p.ends_with(&format!(".{n}")) => p.to_string(),
        (p, Some(n)) => format!("{p}.{n}"),
        (".", None) | ("", None) => "body".to_string(),
        (p, None) => p.to_string(),
    };
    let message = msg.split(" at line ").next().unwrap_or(msg).to_string();
    FieldError::new(field, message)
}

/// Parses JSON strictly: DTOs use `deny_unknown_fields`, and the error names
/// the field (by its JSON path). Invalid JSON or UTF-8 is 400, a well-formed
/// body that breaks the contract is 422.
pub fn parse_json<T: DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    let text = std::str::from_utf8(body)
        .map_err(|e| ApiError::BadRequest(format!("the body is not valid UTF-8: {e}")))?;
    if text.contains("\\u0000") {
        let v: serde_json::Value = serde_json::from_str(text)
            .map_err(|e| ApiError::BadRequest(format!("the body is not valid JSON: {e}")))?;
        if let Some(path) = nul_path(&v, String::new()) {
            return Err(ApiError::field(path, NUL_MESSAGE));
        }
    }
    let mut de = serde_json::Deserializer::from_str(text);
    let value = serde_path_to_error::deserialize::<_, T>(ObjectsOnly(&mut de)).map_err(|e| {
        let inner = e.inner();
        match inner.classify() {
            serde_json::error::Category::Data => {
                ApiError::Validation(vec![field_error(&e.path().to_string(), &inner.to_string())])
            }
            _ => ApiError::BadRequest(format!("the body is not valid JSON: {inner}")),
        }
    })?;
    de.end()
        .map_err(|e| ApiError::BadRequest(format!("the body is not valid JSON: {e}")))?;
    Ok(value)
}

pub use crate::domain::text::NUL_MESSAGE;

/// The JSON path (`violations[0].code`) of the first string or key holding
/// U+0000, which PostgreSQL text cannot store: such input is 422 on either
/// database, never a 500 on one of them.
fn nul_path(v: &serde_json::Value, path: String) -> Option<String> {
    let at = |p: &str| {
        if p.is_empty() {
            "body".to_string()
        } else {
            p.to_string()
        }
    };
    match v {
        serde_json::Value::String(s) if s.contains('\0') => Some(at(&path)),
        serde_json::Value::Array(items) => items
            .iter()
            .enumerate()
            .find_map(|(i, x)| nul_path(x, format!("{path}[{i}]"))),
        serde_json::Value::Object(map) => map.iter().find_map(|(k, x)| {
            let p = if path.is_empty() {
                k.clone()
            } else {
                format!("{path}.{k}")
            };
            if k.contains('\0') {
                Some(at(&p))
            } else {
                nul_path(x, p)
            }
        }),
        _ => None,
    }
}

/// U+0000 in the request target (`%00`): 404 in the path (nothing is stored
/// under such a name), 422 naming the parameter in the query.
pub fn nul_in_target(req: &HttpRequest) -> Option<ApiError> {
    let has_nul = |s: &str| s.to_ascii_lowercase().contains("%00");
    if has_nul(req.uri().path()) {
        return Some(ApiError::NotFound);
    }
    let query = req.uri().query().unwrap_or("");
    query.split('&').find(|pair| has_nul(pair)).map(|pair| {
        let name = pair.split('=').next().unwrap_or("");
        let field = if name.is_empty() || has_nul(name) {
            "query"
        } else {
            name
        };
        ApiError::field(field, NUL_MESSAGE)
    })
}

/// A JSON body, at most 1 MiB, unknown fields rejected with 422 naming them.
pub struct ValidJson<T>(pub T);

impl<T: DeserializeOwned + 'static> FromRequest for ValidJson<T> {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let req = req.clone();
        let mut payload = payload.take();
        Box::pin(async move {
            require_media_type(&req, &["application/json"])?;
            let body = read_body(&req, &mut payload, JSON_LIMIT).await?;
            parse_json(&body).map(ValidJson)
        })
    }
}

/// Query-string errors: 422 naming the parameter.
pub fn query_error(
    err: actix_web::error::QueryPayloadError,
    _req: &HttpRequest,
) -> actix_web::Error {
    let msg = err.to_string();
    let msg = msg
        .strip_prefix("Query deserialize error: ")
        .unwrap_or(&msg)
        .to_string();
    let fe = field_error("", &msg);
    let field = if fe.field == "body" {
        "query".to_string()
    } else {
        fe.field
    };
    ApiError::Validation(vec![FieldError::new(field, fe.message)]).into()
}

/// Path errors (a malformed id): 404, since nothing can be found under it.
pub fn path_error(_err: actix_web::error::PathError, _req: &HttpRequest) -> actix_web::Error {
    ApiError::NotFound.into()
}

/// The version an `If-Match` header asks for: `3`, `"3"` or `W/"3"` (the
/// spec's pattern `^(?:[0-9]{1,9}|(?:W/)?"[0-9]{1,9}")$`, one to nine
/// digits so that it always fits the stored `i32`); `None` when the header is
/// absent; 422 for anything else.
pub fn if_match(req: &HttpRequest) -> Result<Option<i32>, ApiError> {
    let Some(v) = req.headers().get(header::IF_MATCH) else {
        return Ok(None);
    };
    let s = v.to_str().unwrap_or("").trim();
    let digits = match s.strip_prefix("W/").unwrap_or(s).strip_prefix('"') {
        Some(quoted) => quoted.strip_suffix('"'),
        None if !s.starts_with("W/") => Some(s),
        None => None,
    };
    digits
        .filter(|d| (1..=9).contains(&d.len()) && d.bytes().all(|b| b.is_ascii_digit()))
        .and_then(|d| d.parse::<i32>().ok())
        .map(Some)
        .ok_or_else(|| ApiError::field("If-Match", "must be the resource's version number"))
}

fn bearer(req: &HttpRequest) -> Result<String, ApiError> {
    let value = req
        .headers()
        .get(actix_web::http::header::AUTHORIZATION)
        .ok_or_else(|| ApiError::Unauthorized("missing Authorization header".into()))?
        .to_str()
        .map_err(|_| ApiError::Unauthorized("malformed Authorization header".into()))?;
    let token = value
        .strip_prefix("Bearer ")
        .or_else(|| value.strip_prefix("bearer "))
        .ok_or_else(|| ApiError::Unauthorized("expected a Bearer token".into()))?;
    Ok(token.trim().to_string())
}

/// The subject of the request's verified access token.
fn verified_subject(req: &HttpRequest) -> Result<String, ApiError> {
    let token = bearer(req)?;
    let keys = req
        .app_data::<web::Data<crate::state::AppState>>()
        .map(|s| &s.keys)
        .ok_or_else(|| ApiError::Internal("auth state not configured".into()))?;
    let claims = keys
        .verify(&token)
        .map_err(|e| ApiError::Unauthorized(format!("invalid token: {e}")))?;
    Ok(claims.sub)
}

impl FromRequest for AuthUser {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let sub = verified_subject(req);
        let db = req.app_data::<web::Data<Db>>().cloned();
        Box::pin(async move {
            let sub = sub?;
            let db = db.ok_or_else(|| ApiError::Internal("database not configured".into()))?;
            db.run(move |conn| Caller::new(sub).load(conn)).await
        })
    }
}

impl FromRequest for Caller {
    type Error = ApiError;
    type Future = std::future::Ready<Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        std::future::ready(verified_subject(req).map(Caller::new))
    }
}
