//! Request plumbing shared by the handlers: strict JSON bodies, query errors,
//! `If-Match`, and cursor pagination.

use std::future::Future;
use std::pin::Pin;

use actix_web::{dev::Payload, http::header, FromRequest, HttpRequest};
use base64::Engine;
use futures_util::StreamExt;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::error::{ApiError, FieldError};

/// Largest JSON body accepted (API.md: 1 MiB).
pub const JSON_LIMIT: usize = 1024 * 1024;
/// Largest CSV/XLSX import body accepted (20 MiB).
pub const IMPORT_LIMIT: usize = 20 * 1024 * 1024;

/// Reads the whole body, answering 413 as soon as it passes `limit`
/// (before reading anything when `Content-Length` already says so).
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
    let mut body = Vec::new();
    while let Some(chunk) = payload.next().await {
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

/// Checks the request's media type against the accepted ones (415 otherwise).
/// Bodies are read as sent: one with a `Content-Encoding` other than
/// `identity` (gzip and the like) is 415 too, rather than bytes that do not
/// parse.
pub fn require_media_type(req: &HttpRequest, accepted: &[&str]) -> Result<(), ApiError> {
    if let Some(coding) = req.headers().get(header::CONTENT_ENCODING) {
        let coding = String::from_utf8_lossy(coding.as_bytes());
        if !coding.trim().eq_ignore_ascii_case("identity") {
            return Err(ApiError::UnsupportedMediaType(format!(
                "Content-Encoding {coding} is not accepted; send the body uncompressed"
            )));
        }
    }
    match media_type(req) {
        Some(m) if accepted.contains(&m.as_str()) => Ok(()),
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

/// Why text holding U+0000 is refused.
pub const NUL_MESSAGE: &str = "may not contain U+0000 (NUL)";

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

/// 412 when `If-Match` was given and differs from `current`.
pub fn check_version(expected: Option<i32>, current: i32) -> Result<(), ApiError> {
    match expected {
        Some(v) if v != current => Err(ApiError::PreconditionFailed {
            current_version: current,
        }),
        _ => Ok(()),
    }
}

/// Default and maximum page sizes (API.md).
pub const DEFAULT_LIMIT: i64 = 50;
/// Largest page.
pub const MAX_LIMIT: i64 = 500;

/// `?limit=&cursor=` as they arrive.
#[derive(Debug, Clone, Deserialize, Default)]
pub struct PageParams {
    /// Page size; capped at 500.
    pub limit: Option<i64>,
    /// Opaque cursor from a previous page.
    pub cursor: Option<String>,
}

impl PageParams {
    /// The effective limit: default 50, capped at 500; below 1 is 422.
    pub fn limit(&self) -> Result<i64, ApiError> {
        match self.limit {
            None => Ok(DEFAULT_LIMIT),
            Some(l) if l < 1 => Err(ApiError::field("limit", "must be at least 1")),
            Some(l) => Ok(l.min(MAX_LIMIT)),
        }
    }
    /// The decoded cursor (the last key of the previous page).
    pub fn after(&self) -> Result<Option<String>, ApiError> {
        match &self.cursor {
            None => Ok(None),
            Some(c) => decode_cursor(c).map(Some),
        }
    }
}

/// Encodes a key as an opaque cursor.
pub fn encode_cursor(key: &str) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(key.as_bytes())
}

/// Decodes a cursor: canonical unpadded base64url (the spec's pattern for
/// `cursor`), else 422 naming `cursor`. A cursor is only a position (the
/// last key of the previous page), so any well-formed one is answered: bytes
/// that are not UTF-8, and NUL (which PostgreSQL text cannot hold), become
/// U+FFFD and just position the page somewhere, like any forged key.
pub fn decode_cursor(c: &str) -> Result<String, ApiError> {
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(c)
        .map(|b| String::from_utf8_lossy(&b).replace('\0', "\u{FFFD}"))
        .map_err(|_| ApiError::field("cursor", "not a cursor this server issued"))
}

/// A page of a list: `{"items": [...], "next_cursor": ...}`.
#[derive(Debug, Serialize)]
pub struct Page<T> {
    /// The items.
    pub items: Vec<T>,
    /// Cursor of the next page, or null at the end.
    pub next_cursor: Option<String>,
}

impl<T> Page<T> {
    /// Builds a page from `limit + 1` fetched rows: the extra row only says
    /// that there is more.
    pub fn from_rows(mut rows: Vec<T>, limit: i64, key: impl Fn(&T) -> String) -> Page<T> {
        let more = rows.len() as i64 > limit;
        if more {
            rows.truncate(limit as usize);
        }
        let next_cursor = if more {
            rows.last().map(|r| encode_cursor(&key(r)))
        } else {
            None
        };
        Page {
            items: rows,
            next_cursor,
        }
    }
}

/// The current time, truncated to microseconds (what both databases keep).
pub fn now() -> chrono::NaiveDateTime {
    use chrono::{SubsecRound, Utc};
    Utc::now().naive_utc().trunc_subsecs(6)
}

/// RFC 3339 (UTC, `Z`) rendering of a stored timestamp.
pub fn rfc3339(t: &chrono::NaiveDateTime) -> String {
    t.and_utc()
        .to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
}

/// A new random id (UUID v4, lower-case text).
pub fn new_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// Parses a UUID path or body id into canonical lower-case text.
pub fn parse_uuid(field: &str, s: &str) -> Result<String, ApiError> {
    uuid::Uuid::parse_str(s)
        .map(|u| u.to_string())
        .map_err(|_| ApiError::field(field, "must be a UUID"))
}

/// Like [`parse_uuid`] for path ids: an id that cannot exist is 404.
pub fn path_uuid(s: &str) -> Result<String, ApiError> {
    uuid::Uuid::parse_str(s)
        .map(|u| u.to_string())
        .map_err(|_| ApiError::NotFound)
}

/// For PATCH-like bodies: tells an absent field (`None`) from an explicit
/// `null` (`Some(None)`). Use with `#[serde(default, deserialize_with = …)]`.
pub fn double_option<'de, T, D>(d: D) -> Result<Option<Option<T>>, D::Error>
where
    T: Deserialize<'de>,
    D: serde::Deserializer<'de>,
{
    Option::<T>::deserialize(d).map(Some)
}

/// A deserializer that reads structs only from JSON objects. serde's derived
/// structs also accept an array of the field values (`[null]` for
/// `{"refresh_token": null}`), which the contract does not allow: every body
/// and nested object is an object. Wraps the top level in [`parse_json`]; a
/// nested type opts in with `#[serde(remote = "Self")]` and a `Deserialize`
/// impl that calls the generated one through `ObjectsOnly`.
pub struct ObjectsOnly<D>(pub D);

impl<'de, D: serde::Deserializer<'de>> serde::Deserializer<'de> for ObjectsOnly<D> {
    type Error = D::Error;

    fn deserialize_any<V: serde::de::Visitor<'de>>(self, visitor: V) -> Result<V::Value, D::Error> {
        self.0.deserialize_any(visitor)
    }

    fn deserialize_struct<V: serde::de::Visitor<'de>>(
        self,
        _name: &'static str,
        _fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, D::Error> {
        self.0.deserialize_map(visitor)
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string
        bytes byte_buf option unit unit_struct newtype_struct seq tuple
        tuple_struct map enum identifier ignored_any
    }
}

/// Integers as JSON Schema counts them: `2016` and also `2016.0` (a number
/// with a zero fraction *is* an integer there, and clients built from the
/// spec may send one); `2016.5`, strings and out-of-range values are errors.
/// Use with `#[serde(deserialize_with = "crate::http::integer")]`.
pub fn integer<'de, T, D>(d: D) -> Result<T, D::Error>
where
    T: TryFrom<i64>,
    D: serde::Deserializer<'de>,
{
    use serde::de::{Error, Unexpected};
    let n = serde_json::Number::deserialize(d)?;
    let whole = match (n.as_i64(), n.as_f64()) {
        (Some(i), _) => Some(i),
        // i64's range as floats: [-2^63, 2^63).
        (None, Some(f))
            if f.fract() == 0.0
                && (-9.223_372_036_854_776e18..9.223_372_036_854_776e18).contains(&f) =>
        {
            Some(f as i64)
        }
        _ => None,
    };
    let unexpected = || match n.as_f64() {
        Some(f) => Unexpected::Float(f),
        None => Unexpected::Other("number"),
    };
    let i = whole.ok_or_else(|| D::Error::invalid_type(unexpected(), &"an integer"))?;
    T::try_from(i)
        .map_err(|_| D::Error::invalid_value(Unexpected::Signed(i), &"an integer in range"))
}

/// [`integer`] for an optional (nullable) field; use with `#[serde(default)]`.
pub fn opt_integer<'de, T, D>(d: D) -> Result<Option<T>, D::Error>
where
    T: TryFrom<i64>,
    D: serde::Deserializer<'de>,
{
    #[derive(Deserialize)]
    struct Wrap<T: TryFrom<i64>>(#[serde(deserialize_with = "integer")] T);
    Ok(Option::<Wrap<T>>::deserialize(d)?.map(|w| w.0))
}

/// Implements `Deserialize` (through [`ObjectsOnly`]) and `Serialize` for
/// types whose derives carry `#[serde(remote = "Self")]`.
macro_rules! objects_only {
    ($($t:ty),* $(,)?) => {$(
        impl<'de> serde::Deserialize<'de> for $t {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                <$t>::deserialize($crate::http::ObjectsOnly(d))
            }
        }
        impl serde::Serialize for $t {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                <$t>::serialize(self, s)
            }
        }
    )*};
}
pub(crate) use objects_only;
