//! What the HTTP handlers share: settings, token keys, the login limiter,
//! request metrics and the kept callers. Nothing below the HTTP layer
//! imports it; use cases take what they need as arguments.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use crate::app::auth::tokens::TokenKeys;
use crate::app::auth::AuthCache;
use crate::app::ratelimit::Limiter;
use crate::config::Settings;

/// Shared state of the handlers.
pub struct AppState {
    /// Settings.
    pub settings: Settings,
    /// Token keys.
    pub keys: TokenKeys,
    /// Login throttle: attempts per address, delays after failures.
    pub login_limiter: Limiter,
    /// Request metrics.
    pub metrics: Arc<Metrics>,
    /// Callers kept while the auth epoch stands (a team's delta sync).
    pub auth_cache: AuthCache,
}

/// Request counters for `/metrics`.
#[derive(Default)]
pub struct Metrics {
    /// Responses by status class 1xx..5xx (index 0..4).
    pub by_class: [AtomicU64; 5],
    /// Sum of request durations in microseconds.
    pub duration_us: AtomicU64,
    /// Requests whose duration was at most 5, 10, 25, 50, 100, 250, 1000 ms, and all.
    pub buckets: [AtomicU64; 8],
}

/// Upper bounds of the latency histogram, in seconds.
pub const BUCKETS: [f64; 7] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0];

impl Metrics {
    /// Counts one finished request.
    pub fn observe(&self, status: u16, micros: u64) {
        let class = ((status / 100).clamp(1, 5) - 1) as usize;
        self.by_class[class].fetch_add(1, Ordering::Relaxed);
        self.duration_us.fetch_add(micros, Ordering::Relaxed);
        let secs = micros as f64 / 1e6;
        for (i, b) in BUCKETS.iter().enumerate() {
            if secs <= *b {
                self.buckets[i].fetch_add(1, Ordering::Relaxed);
            }
        }
        self.buckets[7].fetch_add(1, Ordering::Relaxed);
    }
}
