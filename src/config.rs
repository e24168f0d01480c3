//! Typed configuration, handed down through `web::Data`; secrets never print.

use std::fmt;
use std::path::PathBuf;

/// A secret string whose `Debug`/`Display` never reveal it.
#[derive(Clone)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret value.
    pub fn new(s: impl Into<String>) -> Self {
        Secret(s.into())
    }
    /// The secret's bytes, for the few places that must use it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

/// Everything the running service needs to know.
#[derive(Clone, Debug)]
pub struct Settings {
    /// `sqlite://FILE` or `postgres://…`.
    pub database_url: String,
    /// Address to bind; port 0 picks a free port (tests).
    pub bind: String,
    /// HS256 key for access tokens; at least 32 bytes.
    pub jwt_secret: Secret,
    /// Access token lifetime in seconds (15 minutes by default).
    pub access_ttl_secs: i64,
    /// Refresh token lifetime in seconds (30 days by default).
    pub refresh_ttl_secs: i64,
    /// Where inspection photos are stored, content-addressed.
    pub attachments_dir: PathBuf,
    /// Maximum connections in the database pool.
    pub pool_size: u32,
    /// Login attempts allowed per address per minute; also the failures (of
    /// a user or an address) after which attempts wait, longer each time.
    pub login_attempts_per_minute: u32,
    /// Proxies whose `X-Forwarded-For` is believed (`TRUSTED_PROXIES`: IPs
    /// and CIDRs); none by default, so the client is the socket's peer.
    pub trusted_proxies: crate::domain::proxies::TrustedProxies,
    /// Seconds during which a refresh token presented again (its answer
    /// lost) gets the same successor instead of revoking its family.
    pub refresh_grace_secs: i64,
    /// Seconds a request body may take to arrive in full (30 by default);
    /// past them it must keep up [`body_min_rate`](Self::body_min_rate).
    /// Slower bodies are answered 408 and their connection closed.
    pub body_timeout_secs: u64,
    /// Bytes per second a body must average beyond
    /// [`body_timeout_secs`](Self::body_timeout_secs) (32 KiB/s by
    /// default; 0: the deadline is fixed at `body_timeout_secs`).
    pub body_min_rate: u64,
    /// Concurrent connections one instance holds (10,000 by default, never
    /// more than the file-descriptor limit allows); beyond them new ones
    /// wait in the listen backlog.
    pub max_connections: usize,
    /// Seconds of inactivity after which a console session ends
    /// (`CONSOLE_IDLE_SECS`, 30 minutes by default).
    pub console_idle_secs: u64,
    /// Seconds the console's counts (and the coverage) are kept while this
    /// process writes nothing (`COUNTS_CACHE_SECS`, 5 by default; 0: not
    /// kept): the bound on how late a write by another process shows.
    pub counts_cache_secs: u64,
}

/// Minimum JWT secret length, in bytes (HS256 wants a key as long as its hash).
pub const MIN_JWT_SECRET_BYTES: usize = 32;

impl Settings {
    /// Settings with defaults for everything but the database and the secret.
    pub fn new(database_url: impl Into<String>, jwt_secret: Secret) -> Result<Self, String> {
        if jwt_secret.expose().len() < MIN_JWT_SECRET_BYTES {
            return Err(format!(
                "JWT_SECRET must be at least {MIN_JWT_SECRET_BYTES} bytes long"
            ));
        }
        Ok(Settings {
            database_url: database_url.into(),
            bind: "127.0.0.1:8080".into(),
            jwt_secret,
            access_ttl_secs: 15 * 60,
            refresh_ttl_secs: 30 * 24 * 3600,
            attachments_dir: PathBuf::from("attachments"),
            pool_size: 8,
            login_attempts_per_minute: 10,
            trusted_proxies: Default::default(),
            refresh_grace_secs: 60,
            body_timeout_secs: 30,
            body_min_rate: 32 * 1024,
            max_connections: 10_000,
            console_idle_secs: 30 * 60,
            counts_cache_secs: crate::db::memo::DEFAULT_TTL.as_secs(),
        })
    }
}
