//! Group commit for posted minutes.
//!
//! Every write of minutes takes two locks held to its commit: the change
//! counter's row (so that a sync token covers every change below it) and
//! the audit chain's tail. One transaction per post therefore queues posts
//! behind each other's commit and disk flush. Instead, handlers verify only
//! the caller's token and hand the minutes to a writer thread, with a
//! database connection of its own (it never queues behind the handlers for
//! the shared pool), which takes whatever has queued up (at most
//! [`MAX_BATCH`]) and checks and writes it in one transaction
//! ([`inspections::post_batch`]):
//! one statement per table for the whole batch to read what the checks
//! need, one for each table written, one flush and one pass through the
//! locks. Checking in the batch instead of in each handler saves every post
//! three or four round trips to the database (the caller, the
//! establishment, the team's members and the catalogue, the assignment),
//! which on two CPUs shared with PostgreSQL were most of the work. Under
//! light load a batch is a single post and nothing waits; under heavy load
//! the batches grow. A handler answers only after its batch has committed.
//! There are as many writer threads as the writer's pool has connections
//! ([`crate::db::PG_MINUTES_WRITERS`] on PostgreSQL): while one commits, the
//! next reads and copies its batch.
//!
//! If a batch fails as a whole (a constraint another server won, a lost
//! connection), it is rolled back and each of its minutes is retried alone,
//! so that one post's failure is never another's.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{mpsc, Arc, Mutex, PoisonError};

use tokio::sync::oneshot;

use crate::app::inspections::{self, Posting, Written};
use crate::db::{write_tx, Pool};
use crate::error::ApiError;

/// The most minutes written in one transaction.
pub const MAX_BATCH: usize = 256;

type Answer = Result<Written, ApiError>;

struct Job {
    posting: Box<Posting>,
    reply: oneshot::Sender<Answer>,
}

/// Handle to the writer thread (cheap to clone; the thread ends when the
/// last handle is dropped).
#[derive(Clone)]
pub struct MinutesWriter {
    jobs: mpsc::Sender<Job>,
    stats: Arc<Stats>,
}

/// Batches written and minutes in them, for `/metrics`.
#[derive(Default)]
struct Stats {
    batches: AtomicU64,
    minutes: AtomicU64,
}

impl MinutesWriter {
    /// Starts one writer thread per connection of `pool` (its own).
    pub fn start(pool: Pool) -> std::io::Result<Self> {
        let (jobs, queue) = mpsc::channel::<Job>();
        let queue = Arc::new(Mutex::new(queue));
        let stats = Arc::new(Stats::default());
        for i in 0..pool.max_size() {
            let (pool, queue, counted) = (pool.clone(), queue.clone(), stats.clone());
            std::thread::Builder::new()
                .name(format!("minutes-writer-{i}"))
                .spawn(move || run(&pool, &queue, &counted))?;
        }
        Ok(MinutesWriter { jobs, stats })
    }

    /// Batches written so far, and the minutes they held.
    pub fn counts(&self) -> (u64, u64) {
        (
            self.stats.batches.load(Ordering::Relaxed),
            self.stats.minutes.load(Ordering::Relaxed),
        )
    }

    /// Checks and writes posted minutes; answers once they are committed
    /// (or refused).
    pub async fn submit(&self, posting: Box<Posting>) -> Answer {
        let (reply, answer) = oneshot::channel();
        self.jobs
            .send(Job { posting, reply })
            .map_err(|_| ApiError::Unavailable("the minutes writer has stopped".into()))?;
        answer
            .await
            .map_err(|_| ApiError::Internal("the minutes writer dropped a post".into()))?
    }
}

/// Whatever has queued up, at most [`MAX_BATCH`]; waits for the first.
/// `None` once every handle is dropped.
fn next_batch(queue: &Mutex<mpsc::Receiver<Job>>) -> Option<Vec<Job>> {
    let queue = queue.lock().unwrap_or_else(PoisonError::into_inner);
    let mut jobs = vec![queue.recv().ok()?];
    while jobs.len() < MAX_BATCH {
        match queue.try_recv() {
            Ok(j) => jobs.push(j),
            Err(_) => break,
        }
    }
    Some(jobs)
}

fn run(pool: &Pool, queue: &Mutex<mpsc::Receiver<Job>>, stats: &Stats) {
    while let Some(jobs) = next_batch(queue) {
        stats.batches.fetch_add(1, Ordering::Relaxed);
        stats
            .minutes
            .fetch_add(jobs.len() as u64, Ordering::Relaxed);
        let answers =
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| write_all(pool, &jobs)))
                .unwrap_or_else(|_| {
                    jobs.iter()
                        .map(|_| Err(ApiError::Internal("the minutes writer panicked".into())))
                        .collect()
                });
        for (job, answer) in jobs.into_iter().zip(answers) {
            // The client may have gone; its minutes are stored all the same.
            let _ = job.reply.send(answer);
        }
    }
}

/// The same 503 for every job.
fn unavailable(jobs: &[Job], e: &ApiError) -> Vec<Answer> {
    let cause = match e {
        ApiError::Unavailable(cause) => cause.clone(),
        other => other.to_string(),
    };
    jobs.iter()
        .map(|_| Err(ApiError::Unavailable(cause.clone())))
        .collect()
}

/// One transaction for the batch; one each if the batch fails.
fn write_all(pool: &Pool, jobs: &[Job]) -> Vec<Answer> {
    let mut conn = match crate::db::checkout(pool) {
        Ok(c) => c,
        Err(e) => return unavailable(jobs, &e),
    };
    let items: Vec<&Posting> = jobs.iter().map(|j| &*j.posting).collect();
    let outcome = write_tx(&mut conn, |c| inspections::post_batch(c, &items));
    crate::db::note_outcome(&mut conn, &outcome);
    match outcome {
        Ok(answers) => answers,
        // The database is gone: one by one would fail the same way.
        Err(e @ ApiError::Unavailable(_)) => unavailable(jobs, &e),
        Err(e) if items.len() == 1 => vec![Err(e)],
        Err(e) => {
            tracing::warn!(error = %e, size = items.len(), "batch of minutes failed; writing them one by one");
            items
                .iter()
                .map(|r| {
                    write_tx(&mut conn, |c| inspections::post_batch(c, &[r])).and_then(|mut a| {
                        a.pop()
                            .unwrap_or_else(|| Err(ApiError::Internal("empty batch answer".into())))
                    })
                })
                .collect()
        }
    }
}
