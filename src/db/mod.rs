//! Database access: one diesel schema over PostgreSQL and SQLite, chosen at run
//! time from the URL scheme by our own r2d2 manager (so a PostgreSQL that is
//! down gives its real error instead of a silently created SQLite file).

pub mod assignments;
pub mod audit;
pub mod backup;
pub mod callers;
pub mod changes;
pub mod console;
pub mod coverage;
pub mod documents;
pub mod error;
pub mod establishments;
pub mod indicators;
pub mod inspections;
pub mod memo;
pub mod org_units;
pub mod plans;
pub mod refresh_tokens;
pub mod reports;
pub mod schema;
pub mod teams;
pub mod users;
pub mod violation_types;

pub use error::{constraint_of, ResultExt};

use diesel::connection::{AnsiTransactionManager, SimpleConnection, TransactionManager};
use diesel::prelude::*;
use diesel::r2d2::R2D2Connection;
use diesel_migrations::{embed_migrations, EmbeddedMigrations, MigrationHarness};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use crate::error::ApiError;

/// The two backends behind one connection type.
#[derive(diesel::MultiConnection)]
pub enum DbConnection {
    /// Production.
    Pg(diesel::PgConnection),
    /// The embedded default.
    Sqlite(diesel::SqliteConnection),
}

/// Which backend a URL selects.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    /// `postgres://` or `postgresql://`.
    Postgres,
    /// `sqlite://FILE`, `sqlite:FILE` or a bare path.
    Sqlite,
}

/// Parses the scheme of a database URL; returns the backend and the string to
/// hand to the driver.
pub fn parse_url(url: &str) -> Result<(Backend, String), String> {
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        return Ok((Backend::Postgres, url.to_string()));
    }
    let path = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))
        .unwrap_or(url);
    if path.is_empty() {
        return Err("DATABASE_URL names no SQLite file".into());
    }
    if path.contains("://") {
        return Err(format!(
            "DATABASE_URL has an unsupported scheme (use postgres:// or sqlite://): {}",
            url.split("://").next().unwrap_or("")
        ));
    }
    Ok((Backend::Sqlite, path.to_string()))
}

/// SQLite settings applied to every connection: a busy timeout (first, so
/// that the journal-mode pragma after it waits for a writer's lock instead
/// of failing a new connection with "database is locked"), WAL for
/// concurrent readers, foreign keys enforced, and FULL sync so that an
/// acknowledged commit survives power loss.
const SQLITE_PRAGMAS: &str = "PRAGMA busy_timeout = 10000; PRAGMA journal_mode = WAL; \
     PRAGMA foreign_keys = ON; PRAGMA synchronous = FULL; \
     PRAGMA case_sensitive_like = ON;";

/// r2d2 manager that picks the backend by URL scheme and keeps the driver's error.
#[derive(Clone, Debug)]
pub struct ConnManager {
    backend: Backend,
    target: String,
}

impl ConnManager {
    /// A manager for `url`.
    pub fn new(url: &str) -> Result<Self, String> {
        let (backend, target) = parse_url(url)?;
        Ok(ConnManager { backend, target })
    }
}

/// Connection errors, with the driver's own message.
#[derive(Debug, thiserror::Error)]
pub enum ConnError {
    /// Could not connect.
    #[error("{0}")]
    Connection(#[from] diesel::ConnectionError),
    /// Connected but setup or ping failed.
    #[error("{0}")]
    Query(#[from] diesel::result::Error),
}

/// Connections lost so far, by any pool of this process. The pools do not
/// ping a connection at every checkout (a round trip per request, a quarter
/// of a sync's); instead, once a request has seen a connection lost, every
/// connection is pinged once before its next use ([`checkout`]).
static LOSSES: AtomicU64 = AtomicU64::new(0);

/// A pooled connection and what the pool needs to know about it.
pub struct Conn {
    db: DbConnection,
    /// [`LOSSES`] when it was last known to work.
    checked_at: u64,
    /// Lost: the pool drops it instead of handing it out again.
    lost: bool,
}

impl std::ops::Deref for Conn {
    type Target = DbConnection;
    fn deref(&self) -> &DbConnection {
        &self.db
    }
}

impl std::ops::DerefMut for Conn {
    fn deref_mut(&mut self) -> &mut DbConnection {
        &mut self.db
    }
}

impl r2d2::ManageConnection for ConnManager {
    type Connection = Conn;
    type Error = ConnError;

    fn connect(&self) -> Result<Conn, ConnError> {
        let checked_at = LOSSES.load(Ordering::Acquire);
        let db = match self.backend {
            Backend::Postgres => {
                let mut c = diesel::PgConnection::establish(&self.target)?;
                // Every write this process commits moves the write
                // generation of the kept counts (see `memo`).
                c.set_instrumentation(memo::WriteWatch);
                DbConnection::Pg(c)
            }
            Backend::Sqlite => {
                let mut c = diesel::SqliteConnection::establish(&self.target)?;
                c.set_instrumentation(memo::WriteWatch);
                c.batch_execute(SQLITE_PRAGMAS)?;
                DbConnection::Sqlite(c)
            }
        };
        Ok(Conn {
            db,
            checked_at,
            lost: false,
        })
    }

    fn is_valid(&self, conn: &mut Conn) -> Result<(), ConnError> {
        conn.db.ping().map_err(ConnError::Query)
    }

    fn has_broken(&self, conn: &mut Conn) -> bool {
        conn.lost || conn.db.is_broken()
    }
}

/// Takes a connection from `pool`. After a connection loss anywhere (see
/// `LOSSES`) it pings the connection first and replaces one that fails.
pub fn checkout(pool: &Pool) -> Result<PooledConn, ApiError> {
    let losses = LOSSES.load(Ordering::Acquire);
    for _ in 0..=pool.max_size() {
        let mut conn = pool
            .get()
            .map_err(|e| ApiError::Unavailable(e.to_string()))?;
        if conn.checked_at >= losses {
            return Ok(conn);
        }
        if conn.db.ping().is_ok() {
            conn.checked_at = losses;
            return Ok(conn);
        }
        conn.lost = true;
    }
    Err(ApiError::Unavailable(
        "no connection to the database works".into(),
    ))
}

/// Notes the outcome of work done on `conn`: a lost database connection
/// (a 503) marks it for the pool to drop and has every other one checked.
pub fn note_outcome<T>(conn: &mut PooledConn, outcome: &Result<T, ApiError>) {
    if let Err(ApiError::Unavailable(_)) = outcome {
        conn.lost = true;
        LOSSES.fetch_add(1, Ordering::AcqRel);
    }
}

/// The connection pool.
pub type Pool = r2d2::Pool<ConnManager>;
/// A connection taken from the pool.
pub type PooledConn = r2d2::PooledConnection<ConnManager>;

/// Builds a pool and checks that one connection can be made, returning the
/// driver's real error otherwise.
pub fn build_pool(url: &str, size: u32) -> Result<Pool, String> {
    build_pool_with(ConnManager::new(url)?, size)
}

/// Writer threads of the minutes group commit on PostgreSQL, each with a
/// connection of its own. With two, one batch reads and copies its rows
/// while the one before it appends to the audit chain and commits (the
/// audit tail's lock orders that part). SQLite writes one transaction at a time, so it gets one.
pub const PG_MINUTES_WRITERS: u32 = 2;

/// The minutes writer's pool: one connection per writer thread.
pub fn build_writer_pool(url: &str) -> Result<Pool, String> {
    let writers = match parse_url(url)?.0 {
        Backend::Postgres => PG_MINUTES_WRITERS,
        Backend::Sqlite => 1,
    };
    build_pool(url, writers)
}

fn build_pool_with(manager: ConnManager, size: u32) -> Result<Pool, String> {
    // Fail fast with the real reason (bad password, server down, bad path).
    let probe = r2d2::ManageConnection::connect(&manager)
        .map_err(|e| format!("cannot connect to the database: {e}"))?;
    drop(probe);
    let size = if manager.backend == Backend::Sqlite {
        size.clamp(1, 8)
    } else {
        size.max(1)
    };
    r2d2::Pool::builder()
        .max_size(size)
        .min_idle(Some(1))
        // Checked after a loss instead: see `checkout`.
        .test_on_check_out(false)
        // A request waits at most this long for a connection: when the
        // database is down it gets its 503 (with Retry-After) quickly.
        .connection_timeout(std::time::Duration::from_secs(2))
        .build(manager)
        .map_err(|e| format!("cannot build the connection pool: {e}"))
}

/// Embedded SQL migrations, one set per backend.
pub const PG_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/postgres");
/// Embedded SQL migrations for SQLite.
pub const SQLITE_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/sqlite");

/// Brings the schema up to date; returns the names of the migrations applied.
pub fn run_migrations(conn: &mut DbConnection) -> Result<Vec<String>, String> {
    let applied = match conn {
        DbConnection::Pg(c) => c.run_pending_migrations(PG_MIGRATIONS),
        DbConnection::Sqlite(c) => c.run_pending_migrations(SQLITE_MIGRATIONS),
    }
    .map_err(|e| format!("migration failed: {e}"))?;
    Ok(applied.iter().map(|m| m.to_string()).collect())
}

impl DbConnection {
    /// Which backend this connection talks to.
    pub fn backend(&self) -> Backend {
        match self {
            DbConnection::Pg(_) => Backend::Postgres,
            DbConnection::Sqlite(_) => Backend::Sqlite,
        }
    }
}

/// Runs the same diesel code on whichever backend `conn` is, for the few
/// statements `MultiConnection` cannot express (batch inserts, upserts).
#[macro_export]
macro_rules! per_backend {
    ($conn:expr, |$c:ident| $body:expr) => {
        match $conn {
            $crate::db::DbConnection::Pg($c) => $body,
            $crate::db::DbConnection::Sqlite($c) => $body,
        }
    };
}

/// Inserts many rows: PostgreSQL's binary `COPY FROM` (several times faster
/// than multi-row `INSERT` for thousands of rows), multi-row `INSERT`s of
/// `$chunk` rows on SQLite. `$rows` is a slice of flat tuples of
/// `column.eq(value)`; `$chunk` × columns must stay under SQLite's 32,766
/// binds. Like an `INSERT`, it fails as a whole on a constraint violation.
#[macro_export]
macro_rules! bulk_insert {
    ($conn:expr, $table:expr, $rows:expr, $chunk:expr) => {{
        let rows = $rows;
        let conn: &mut $crate::db::DbConnection = &mut *$conn;
        if let ($crate::db::DbConnection::Pg(c), true) = (&mut *conn, rows.len() > 1) {
            diesel::copy_from($table).from_insertable(rows).execute(c)?;
        } else {
            for chunk in rows.chunks($chunk) {
                $crate::per_backend!(&mut *conn, |c| diesel::insert_into($table)
                    .values(chunk)
                    .execute(c))?;
            }
        }
    }};
}

/// Runs `f` in a write transaction: `BEGIN IMMEDIATE` on SQLite (a deferred
/// read-then-write transaction fails with "database is locked" whatever the
/// timeout), a plain `BEGIN` on PostgreSQL. Commits on `Ok`, rolls back on `Err`.
pub fn write_tx<T, E, F>(conn: &mut DbConnection, f: F) -> Result<T, E>
where
    F: FnOnce(&mut DbConnection) -> Result<T, E>,
    E: From<diesel::result::Error>,
{
    match conn {
        DbConnection::Sqlite(c) => {
            AnsiTransactionManager::begin_transaction_sql(c, "BEGIN IMMEDIATE")?
        }
        DbConnection::Pg(c) => AnsiTransactionManager::begin_transaction(c)?,
    }
    match f(conn) {
        Ok(v) => {
            <DbConnection as Connection>::TransactionManager::commit_transaction(conn)?;
            Ok(v)
        }
        Err(e) => {
            if let Err(rb) =
                <DbConnection as Connection>::TransactionManager::rollback_transaction(conn)
            {
                tracing::error!(error = %rb, "rollback failed");
            }
            Err(e)
        }
    }
}

/// Shared handle to the pool, run off the async workers.
#[derive(Clone)]
pub struct Db {
    /// The pool.
    pub pool: Pool,
    /// One permit per pooled connection: a request waits for a connection
    /// as a parked task on its worker and takes a blocking thread only once
    /// a connection is free for it, instead of every waiting request
    /// blocking a thread inside the pool.
    permits: Arc<tokio::sync::Semaphore>,
    /// Read results kept while nothing is written (the console's counts).
    memo: Arc<memo::Memo>,
}

/// How long a request waits for a free connection before its 503, as the
/// pool's own checkout does.
const CONNECTION_WAIT: std::time::Duration = std::time::Duration::from_secs(2);

impl Db {
    /// A handle to `pool` whose kept read results ([`memo::Memo`]) serve
    /// for at most `memo_ttl` (zero: nothing is kept).
    pub fn new(pool: Pool, memo_ttl: std::time::Duration) -> Db {
        let permits = Arc::new(tokio::sync::Semaphore::new(pool.max_size() as usize));
        Db {
            pool,
            permits,
            memo: Arc::new(memo::Memo::new(memo_ttl)),
        }
    }

    /// The read results kept while nothing is written.
    pub fn memo(&self) -> &memo::Memo {
        &self.memo
    }

    /// Runs blocking database work on the blocking thread pool.
    pub async fn run<T, F>(&self, f: F) -> Result<T, ApiError>
    where
        F: FnOnce(&mut DbConnection) -> Result<T, ApiError> + Send + 'static,
        T: Send + 'static,
    {
        let permit = tokio::time::timeout(CONNECTION_WAIT, self.permits.clone().acquire_owned())
            .await
            .map_err(|_| ApiError::Unavailable("every database connection is busy".into()))?
            .map_err(|e| ApiError::Internal(e.to_string()))?;
        let pool = self.pool.clone();
        tokio::task::spawn_blocking(move || {
            let _permit = permit;
            let mut conn = checkout(&pool)?;
            let outcome = f(&mut conn);
            note_outcome(&mut conn, &outcome);
            outcome
        })
        .await
        .map_err(|e| ApiError::Internal(format!("blocking task failed: {e}")))?
    }

    /// Runs `f` inside [`write_tx`] on the blocking thread pool.
    pub async fn write<T, F>(&self, f: F) -> Result<T, ApiError>
    where
        F: FnOnce(&mut DbConnection) -> Result<T, ApiError> + Send + 'static,
        T: Send + 'static,
    {
        self.run(move |conn| write_tx(conn, f)).await
    }
}

/// Whether the database answers (`SELECT 1`), for readiness.
pub fn ping(conn: &mut DbConnection) -> Result<(), ApiError> {
    diesel::sql_query("SELECT 1").execute(conn)?;
    Ok(())
}
