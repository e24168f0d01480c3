//! Pages of lists: `?limit=&cursor=` in, `{"items", "next_cursor"}` out.

use base64::Engine;
use serde::{Deserialize, Serialize};

use crate::error::ApiError;

/// Default page size (`api-spec/openapi.yaml`).
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
#[derive(Debug, Clone, Serialize)]
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
