//! A small in-memory fixed-window limiter for login attempts, per user name
//! and per client address (each instance counts its own attempts).

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::error::ApiError;

/// Counts attempts per key in fixed windows.
pub struct Limiter {
    max: u32,
    window: Duration,
    hits: Mutex<HashMap<String, (Instant, u32)>>,
}

impl Limiter {
    /// At most `max` attempts per key per `window`.
    pub fn new(max: u32, window: Duration) -> Self {
        Limiter {
            max,
            window,
            hits: Mutex::new(HashMap::new()),
        }
    }

    /// Counts one attempt for every key; 429 with `Retry-After` when any key
    /// is over its budget.
    pub fn check(&self, keys: &[String]) -> Result<(), ApiError> {
        let now = Instant::now();
        let mut hits = self.hits.lock().unwrap_or_else(|p| p.into_inner());
        if hits.len() > 100_000 {
            let window = self.window;
            hits.retain(|_, (start, _)| now.duration_since(*start) < window);
        }
        let mut wait = None;
        for key in keys {
            let entry = hits.entry(key.clone()).or_insert((now, 0));
            if now.duration_since(entry.0) >= self.window {
                *entry = (now, 0);
            }
            entry.1 += 1;
            if entry.1 > self.max {
                let left = self.window.saturating_sub(now.duration_since(entry.0));
                wait = Some(wait.unwrap_or(0).max(left.as_secs().max(1)));
            }
        }
        match wait {
            Some(secs) => Err(ApiError::TooManyRequests {
                retry_after_secs: secs,
            }),
            None => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_after_budget() {
        let l = Limiter::new(2, Duration::from_secs(60));
        let k = vec!["u:a".to_string()];
        assert!(l.check(&k).is_ok());
        assert!(l.check(&k).is_ok());
        assert!(matches!(l.check(&k), Err(ApiError::TooManyRequests { .. })));
        assert!(l.check(&["u:b".to_string()]).is_ok());
    }
}
