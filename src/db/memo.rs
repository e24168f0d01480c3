//! Read results kept between requests while nothing was written.
//!
//! Every connection this process opens ([`super::ConnManager`]) carries a
//! [`WriteWatch`]: diesel tells it about every statement it finished, and it
//! advances this process's write generation ([`generation`]) after every
//! `COMMIT` and every statement outside a transaction that may write. No
//! write path can forget it: it is not something a use case calls, it is the
//! connection. A request uses a kept value only if the value's reads began
//! at or after the generation the request read when it arrived, so within
//! this process a request that starts after a write's response never sees a
//! value computed before that write. (Requests that wait for a computation
//! begun after they arrived share its value even if writes came meanwhile.) Writes by other processes on the same database (the CLI's
//! imports, a second server) are not seen by the counter: an entry also
//! serves only for a short time after it was computed (`COUNTS_CACHE_SECS`,
//! [`DEFAULT_TTL`] by default), the bound on how stale such a write can
//! leave a page. See docs/caching.md.

use std::any::Any;
use std::collections::HashMap;
use std::fmt::Write as _;
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use diesel::connection::{Instrumentation, InstrumentationEvent};

/// How long a kept value may serve by default: the bound on staleness after
/// a write made by another process (this process's own writes end it at
/// once).
pub const DEFAULT_TTL: Duration = Duration::from_secs(5);

/// At most this many values are kept; past it the memo starts over.
const MAX_ENTRIES: usize = 2_000;

/// Writes this process's connections finished (see the module docs).
static GENERATION: AtomicU64 = AtomicU64::new(0);

/// The write generation: changes after every write this process commits.
pub fn generation() -> u64 {
    GENERATION.load(Ordering::Acquire)
}

/// Notes a write (also what a connection's [`WriteWatch`] does).
pub fn note_write() {
    GENERATION.fetch_add(1, Ordering::AcqRel);
}

/// The first `N` bytes of a statement's text, and whether it went on.
struct Head<const N: usize> {
    text: String,
}

impl<const N: usize> std::fmt::Write for Head<N> {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        let room = N.saturating_sub(self.text.len());
        if s.len() >= room {
            let mut cut = room;
            while !s.is_char_boundary(cut) {
                cut -= 1;
            }
            self.text.push_str(&s[..cut]);
            // Stops the formatting: the head is all we need.
            return Err(std::fmt::Error);
        }
        self.text.push_str(s);
        Ok(())
    }
}

/// Whether a statement whose text begins with `sql` may have changed data
/// by the time it finished: a `COMMIT` (everything written in its
/// transaction is now visible), and any statement that is not plainly a
/// read or transaction control. Writes inside a transaction count too
/// (harmless: one more change), and their `COMMIT` counts again after them.
pub fn may_write(sql: &str, full: impl FnOnce() -> String) -> bool {
    let word: String = sql
        .trim_start()
        .chars()
        .take_while(|c| c.is_ascii_alphabetic())
        .collect::<String>()
        .to_ascii_uppercase();
    match word.as_str() {
        "SELECT" | "SHOW" | "VALUES" | "BEGIN" | "START" | "SAVEPOINT" | "RELEASE" | "ROLLBACK"
        | "SET" => false,
        // A common table expression may hold an INSERT, UPDATE or DELETE.
        "WITH" => {
            let text = full().to_ascii_uppercase();
            let sql = text.split(" -- BINDS:").next().unwrap_or_default();
            sql.split(|c: char| !c.is_ascii_alphabetic())
                .any(|w| matches!(w, "INSERT" | "UPDATE" | "DELETE" | "MERGE"))
        }
        _ => true,
    }
}

/// Installed on every connection: advances [`generation`] after every
/// statement that may have written ([`may_write`]).
pub struct WriteWatch;

impl Instrumentation for WriteWatch {
    fn on_connection_event(&mut self, event: InstrumentationEvent<'_>) {
        if let InstrumentationEvent::FinishQuery { query, .. } = event {
            let mut head = Head::<16> {
                text: String::new(),
            };
            let _ = write!(head, "{query}");
            if may_write(&head.text, || query.to_string()) {
                note_write();
            }
        }
    }
}

/// Values kept at one write generation, each for at most its `ttl`.
pub struct Memo {
    ttl: Duration,
    inner: Mutex<Kept>,
    flights: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
}

#[derive(Default)]
struct Kept {
    /// The generation every kept value was computed at.
    generation: u64,
    values: HashMap<String, (Instant, Arc<dyn Any + Send + Sync>)>,
}

impl Memo {
    /// A memo whose values serve for at most `ttl` (zero: none is kept).
    pub fn new(ttl: Duration) -> Memo {
        Memo {
            ttl,
            inner: Mutex::default(),
            flights: Mutex::default(),
        }
    }

    fn kept(&self) -> MutexGuard<'_, Kept> {
        // Consistent between statements: a panic elsewhere while holding
        // the lock leaves nothing half-done.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The value kept under `key`, if computed from reads that began at
    /// generation `since` or later (so they saw every write that had
    /// finished when `since` was read) less than `ttl` ago.
    fn get<T: Any + Send + Sync>(&self, key: &str, since: u64) -> Option<Arc<T>> {
        let kept = self.kept();
        if kept.generation < since {
            return None;
        }
        let (at, v) = kept.values.get(key)?;
        if at.elapsed() >= self.ttl {
            return None;
        }
        v.clone().downcast::<T>().ok()
    }

    /// Keeps `value`, computed from reads that all started at `generation`
    /// (read before them). A value of an older generation is dropped; a
    /// newer one drops everything kept.
    fn put<T: Any + Send + Sync>(&self, key: String, generation: u64, value: Arc<T>) {
        let mut kept = self.kept();
        if generation < kept.generation || self.ttl.is_zero() {
            return;
        }
        if generation > kept.generation || kept.values.len() >= MAX_ENTRIES {
            kept.values.clear();
            kept.generation = generation;
        }
        let value: Arc<dyn Any + Send + Sync> = value;
        kept.values.insert(key, (Instant::now(), value));
    }

    /// The value of `key`: kept if nothing was written since it was
    /// computed (and it is younger than `ttl`), else `compute`d and kept.
    /// `key` must name everything the value depends on besides the data
    /// (the caller's area, the day…).
    pub async fn get_or<T, E, Fut>(
        &self,
        key: String,
        compute: impl FnOnce() -> Fut,
    ) -> Result<Arc<T>, E>
    where
        T: Any + Send + Sync,
        Fut: Future<Output = Result<T, E>>,
    {
        if self.ttl.is_zero() {
            return Ok(Arc::new(compute().await?));
        }
        // What this request must see: every write finished before it
        // arrived, i.e. a value whose reads began at this generation or later.
        let arrived = generation();
        if let Some(v) = self.get::<T>(&key, arrived) {
            return Ok(v);
        }
        // One computation of a key at a time: requests that miss together
        // (the value just expired, or a write came) wait for the first one's
        // value instead of all counting the same province at once. A value
        // computed while a request waited began after it arrived, so it is
        // that request's too, even if writes came meanwhile: otherwise, with
        // writes coming faster than a computation, the waiters would each
        // compute in turn, one after another.
        let flight = self.flight(&key);
        let _turn = flight.lock().await;
        if let Some(v) = self.get::<T>(&key, arrived) {
            return Ok(v);
        }
        // Read before any of the value's reads start: a write that commits
        // after this moves the generation on and the value is not used again
        // by a request that arrives after that write.
        let generation = generation();
        let value = Arc::new(compute().await?);
        self.put(key, generation, value.clone());
        Ok(value)
    }

    /// The lock that lines up the computations of `key`.
    fn flight(&self, key: &str) -> Arc<tokio::sync::Mutex<()>> {
        let mut flights = self.flights.lock().unwrap_or_else(|e| e.into_inner());
        if flights.len() >= MAX_ENTRIES {
            // Those in flight keep their lock; a newcomer may then compute
            // beside them, which is only slower.
            flights.clear();
        }
        flights.entry(key.to_string()).or_default().clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn writes(sql: &str) -> bool {
        may_write(sql, || sql.to_string())
    }

    #[test]
    fn reads_and_transaction_control_are_not_writes() {
        for sql in [
            "SELECT 1",
            "  select * from x",
            "BEGIN",
            "BEGIN IMMEDIATE",
            "SAVEPOINT diesel_savepoint_1",
            "RELEASE SAVEPOINT diesel_savepoint_1",
            "ROLLBACK",
            "WITH x AS (SELECT a FROM t) SELECT * FROM x -- binds: [\"DELETE\"]",
            "WITH x AS (SELECT updated_at FROM t) SELECT * FROM x",
        ] {
            assert!(!writes(sql), "{sql}");
        }
    }

    #[test]
    fn commits_and_data_changes_are_writes() {
        for sql in [
            "COMMIT",
            "INSERT INTO t VALUES (1)",
            "update t set a = 1",
            "DELETE FROM t",
            "COPY t FROM STDIN",
            "PRAGMA foreign_keys = ON",
            "WITH x AS (DELETE FROM t RETURNING a) SELECT * FROM x",
            "CREATE INDEX i ON t (a)",
        ] {
            assert!(writes(sql), "{sql}");
        }
    }

    #[test]
    fn the_head_stops_the_formatting() {
        let mut head = Head::<6> {
            text: String::new(),
        };
        assert!(head.write_str("SELECT * FROM t").is_err());
        assert_eq!(head.text, "SELECT");
    }

    #[tokio::test]
    async fn a_value_is_kept_until_a_write() {
        let memo = Memo::new(DEFAULT_TTL);
        let get = |n: i32| memo.get_or("k".into(), move || async move { Ok::<_, ()>(n) });
        // Other tests write concurrently: retry until two reads see no write
        // between them.
        for attempt in 0.. {
            let g = generation();
            let first = get(10).await.unwrap();
            let second = get(20).await.unwrap();
            if generation() == g {
                assert_eq!((*first, *second), (10, 10), "kept, not computed again");
                break;
            }
            assert!(attempt < 1000);
        }
        note_write();
        assert_eq!(*get(30).await.unwrap(), 30, "computed again after a write");
    }

    #[tokio::test]
    async fn requests_that_waited_share_the_value_computed_after_they_arrived() {
        let memo = Arc::new(Memo::new(DEFAULT_TTL));
        let computed = Arc::new(AtomicU64::new(0));
        let get = |memo: Arc<Memo>, computed: Arc<AtomicU64>, hold: Duration| async move {
            memo.get_or("shared".into(), move || async move {
                computed.fetch_add(1, Ordering::SeqCst);
                tokio::time::sleep(hold).await;
                Ok::<_, ()>(computed.load(Ordering::SeqCst))
            })
            .await
            .unwrap()
        };
        // Other tests write concurrently: retry until no write but ours
        // came between the waiters' arrival and the end.
        for attempt in 0.. {
            note_write();
            computed.store(0, Ordering::SeqCst);
            let g = generation();
            // The first request computes for a while; two more arrive
            // meanwhile and wait for its turn to end; then a write comes.
            let first = tokio::spawn(get(
                memo.clone(),
                computed.clone(),
                Duration::from_millis(100),
            ));
            tokio::time::sleep(Duration::from_millis(20)).await;
            let waiters: Vec<_> = (0..2)
                .map(|_| tokio::spawn(get(memo.clone(), computed.clone(), Duration::ZERO)))
                .collect();
            tokio::time::sleep(Duration::from_millis(20)).await;
            let arrived_clean = generation() == g;
            note_write();
            let first = *first.await.unwrap();
            let mut got = Vec::new();
            for w in waiters {
                got.push(*w.await.unwrap());
            }
            if arrived_clean && generation() == g + 1 {
                // Both waiters arrived after the first value's reads began:
                // they take it, though a write came before they got it.
                assert_eq!((first, got), (1, vec![1, 1]));
                assert_eq!(computed.load(Ordering::SeqCst), 1);
                // A request arriving after the write computes again.
                let later = get(memo.clone(), computed.clone(), Duration::ZERO).await;
                assert_eq!(*later, 2);
                break;
            }
            assert!(attempt < 200);
        }
    }
}
