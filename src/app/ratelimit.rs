//! Login throttling, in memory (each instance counts its own attempts):
//! failures slow guessing down without locking the owner out.
//!
//! With `max` the configured attempts a minute:
//! - per client address, at most `max` attempts a minute, whatever their
//!   outcome (a fixed window);
//! - per client address, once it has failed `max` times, each further attempt
//!   from it waits 2^k seconds after its last failure (k = failures − `max`
//!   + 1: 2, 4, 8 … s), at most 15 minutes;
//! - per user name, once it has failed `max` times, an attempt for it from an
//!   address that has been failing waits likewise; an address that has not
//!   been failing is let through, so that the owner still logs in while
//!   someone guesses elsewhere;
//! - a correct password resets the user's failures (not the address's).
//!
//! Only failures count towards the delays; they are forgotten after an hour
//! without any.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};

use crate::error::ApiError;

/// The longest wait a run of failures imposes.
const MAX_DELAY: Duration = Duration::from_secs(15 * 60);
/// Failures older than this (since the last one) are forgotten.
const FORGET_AFTER: Duration = Duration::from_secs(60 * 60);
/// Entries kept per map before stale ones are swept.
const SWEEP_ABOVE: usize = 100_000;

/// A run of failures: how many, and when the last one was.
#[derive(Clone, Copy)]
struct Failures {
    count: u32,
    last: Instant,
}

#[derive(Default)]
struct State {
    /// Per address: start of the current window, attempts in it.
    attempts: HashMap<IpAddr, (Instant, u32)>,
    /// Per address: its failures.
    address_failures: HashMap<IpAddr, Failures>,
    /// Per user name (its SHA-256, so a long name costs no memory): its failures.
    user_failures: HashMap<[u8; 32], Failures>,
}

/// Login throttle: attempts per address, growing delays after failures.
pub struct Limiter {
    max: u32,
    window: Duration,
    state: Mutex<State>,
}

fn user_key(username: &str) -> [u8; 32] {
    Sha256::digest(username.as_bytes()).into()
}

impl Limiter {
    /// At most `max` attempts per address per `window`; delays after `max`
    /// failures of an address or a user.
    pub fn new(max: u32, window: Duration) -> Self {
        Limiter {
            max: max.max(1),
            window,
            state: Mutex::new(State::default()),
        }
    }

    /// Counts one attempt for `username` from `address`: 429 with
    /// `Retry-After` when the address is over its budget or must still wait
    /// after failures (its own, or the user's when the address has been
    /// failing).
    pub fn check(&self, username: &str, address: IpAddr) -> Result<(), ApiError> {
        self.check_at(username, address, Instant::now())
    }

    /// The password was wrong (or the user unknown or disabled).
    pub fn failed(&self, username: &str, address: IpAddr) {
        self.failed_at(username, address, Instant::now())
    }

    /// The password was right: the user's failures are forgotten.
    pub fn succeeded(&self, username: &str) {
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        state.user_failures.remove(&user_key(username));
    }

    fn check_at(&self, username: &str, address: IpAddr, now: Instant) -> Result<(), ApiError> {
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        self.sweep(&mut state, now);
        let mut wait = Duration::ZERO;
        let window = state.attempts.entry(address).or_insert((now, 0));
        if now.duration_since(window.0) >= self.window {
            *window = (now, 0);
        }
        window.1 = window.1.saturating_add(1);
        if window.1 > self.max {
            wait = wait.max(self.window.saturating_sub(now.duration_since(window.0)));
        }
        let address_failures = state
            .address_failures
            .get(&address)
            .copied()
            .filter(|f| !forgotten(f, now));
        if let Some(f) = address_failures {
            wait = wait.max(self.left(&f, now));
            // An address that has been failing also waits for the user's delay.
            if let Some(u) = state.user_failures.get(&user_key(username)) {
                if !forgotten(u, now) {
                    wait = wait.max(self.left(u, now));
                }
            }
        }
        if wait.is_zero() {
            return Ok(());
        }
        Err(ApiError::TooManyRequests {
            retry_after_secs: wait.as_millis().div_ceil(1000).max(1) as u64,
        })
    }

    fn failed_at(&self, username: &str, address: IpAddr, now: Instant) {
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        let bump = |f: &mut Failures| {
            if forgotten(f, now) {
                f.count = 0;
            }
            f.count = f.count.saturating_add(1);
            f.last = now;
        };
        let fresh = Failures {
            count: 0,
            last: now,
        };
        bump(state.address_failures.entry(address).or_insert(fresh));
        bump(
            state
                .user_failures
                .entry(user_key(username))
                .or_insert(fresh),
        );
    }

    /// How long `f` still makes an attempt wait.
    fn left(&self, f: &Failures, now: Instant) -> Duration {
        if f.count < self.max {
            return Duration::ZERO;
        }
        let k = (f.count - self.max + 1).min(20);
        let delay = Duration::from_secs(1u64 << k).min(MAX_DELAY);
        (f.last + delay).saturating_duration_since(now)
    }

    /// Drops what no longer counts once a map has grown large.
    fn sweep(&self, state: &mut State, now: Instant) {
        if state.attempts.len() > SWEEP_ABOVE {
            let window = self.window;
            state
                .attempts
                .retain(|_, (start, _)| now.duration_since(*start) < window);
        }
        if state.address_failures.len() > SWEEP_ABOVE {
            state.address_failures.retain(|_, f| !forgotten(f, now));
        }
        if state.user_failures.len() > SWEEP_ABOVE {
            state.user_failures.retain(|_, f| !forgotten(f, now));
        }
    }
}

fn forgotten(f: &Failures, now: Instant) -> bool {
    now.duration_since(f.last) >= FORGET_AFTER
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn retry(r: Result<(), ApiError>) -> Option<u64> {
        match r {
            Ok(()) => None,
            Err(ApiError::TooManyRequests { retry_after_secs }) => Some(retry_after_secs),
            Err(e) => panic!("{e:?}"),
        }
    }

    #[test]
    fn an_address_is_limited_per_window() {
        let l = Limiter::new(2, Duration::from_secs(60));
        let t = Instant::now();
        assert_eq!(retry(l.check_at("a", ip("10.0.0.1"), t)), None);
        assert_eq!(retry(l.check_at("b", ip("10.0.0.1"), t)), None);
        assert_eq!(retry(l.check_at("c", ip("10.0.0.1"), t)), Some(60));
        assert_eq!(retry(l.check_at("c", ip("10.0.0.2"), t)), None);
        let later = t + Duration::from_secs(60);
        assert_eq!(retry(l.check_at("c", ip("10.0.0.1"), later)), None);
    }

    #[test]
    fn failures_grow_the_delay_up_to_the_cap() {
        let l = Limiter::new(3, Duration::from_secs(60));
        let a = ip("10.0.0.1");
        let t = Instant::now();
        for _ in 0..3 {
            l.failed_at("u", a, t);
        }
        assert_eq!(retry(l.check_at("v", a, t)), Some(2));
        l.failed_at("u", a, t);
        let t2 = t + Duration::from_secs(1);
        assert_eq!(retry(l.check_at("v", a, t2)), Some(3));
        assert_eq!(retry(l.check_at("v", a, t + Duration::from_secs(4))), None);
        for _ in 0..30 {
            l.failed_at("u", a, t);
        }
        assert_eq!(retry(l.check_at("v", ip("10.0.0.2"), t)), None);
        let cap = t + Duration::from_secs(200);
        assert_eq!(retry(l.check_at("v", a, cap)), Some(15 * 60 - 200));
        // Forgotten after an hour without failures.
        let quiet = t + FORGET_AFTER;
        assert_eq!(retry(l.check_at("u", a, quiet)), None);
    }

    #[test]
    fn a_users_failures_bar_failing_addresses_only() {
        let l = Limiter::new(3, Duration::from_secs(60));
        let t = Instant::now();
        for i in 1..=3 {
            l.failed_at("owner", ip(&format!("10.0.0.{i}")), t);
        }
        assert_eq!(retry(l.check_at("owner", ip("10.0.0.1"), t)), Some(2));
        assert_eq!(retry(l.check_at("other", ip("10.0.0.1"), t)), None);
        assert_eq!(retry(l.check_at("owner", ip("192.0.2.1"), t)), None);
        l.succeeded("owner");
        assert_eq!(retry(l.check_at("owner", ip("10.0.0.1"), t)), None);
    }
}
