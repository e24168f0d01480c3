//! The command line: `serve`, `migrate`, `user add|disable|enable|reset-password`,
//! `import`, `audit verify|head`,
//! `generate`, `demo`, `backup`, `restore`, `copy`. Every command first
//! brings the schema up to date, except `backup` (which leaves the database
//! as it is) and `restore` (which migrates only up to the backup's version).

use std::io::{IsTerminal, Read, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::app::establishments::import_rows;
use crate::app::org_units::import_units;
use crate::app::users::{create_user, NewUser};
use crate::config::{Secret, Settings};
use crate::db::{build_pool, run_migrations, write_tx, DbConnection, Pool};
use crate::domain::imports::{csv_rows, xlsx_rows, ImportRow, ImportSummary};
use crate::startup::Application;

/// Default database: a SQLite file in the working directory.
pub const DEFAULT_DATABASE_URL: &str = "sqlite://kiemtra.db";

#[derive(Parser)]
#[command(
    name = "kiemtra",
    version,
    about = "Inspection programme of the inter-agency 178 teams"
)]
struct Cli {
    /// `postgres://…` or `sqlite://FILE`.
    #[arg(long, env = "DATABASE_URL", default_value = DEFAULT_DATABASE_URL, global = true)]
    database_url: String,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the HTTP service.
    Serve {
        /// Address to listen on.
        #[arg(long, env = "BIND_ADDR", default_value = "127.0.0.1:8080")]
        bind: String,
        /// Where photos are stored.
        #[arg(long, env = "ATTACHMENTS_DIR", default_value = "attachments")]
        attachments_dir: PathBuf,
        /// Database connections in the pool (SQLite: at most 8).
        #[arg(long, env = "DB_POOL_SIZE", default_value_t = 8)]
        pool_size: u32,
        /// Login attempts allowed per minute per address; also the failures
        /// (of a username or an address) after which attempts must wait.
        #[arg(long, env = "LOGIN_ATTEMPTS_PER_MINUTE", default_value_t = 10)]
        login_attempts_per_minute: u32,
        /// Reverse proxies whose X-Forwarded-For is believed: comma-separated
        /// IPs and CIDR blocks (none by default: the client is the peer).
        #[arg(long, env = "TRUSTED_PROXIES", default_value = "")]
        trusted_proxies: String,
        /// Seconds during which a refresh token presented again gets the same
        /// successor (an answer lost on the network) instead of revoking its
        /// family; 0 turns the grace off.
        #[arg(long, env = "REFRESH_GRACE_SECS", default_value_t = 60)]
        refresh_grace_secs: u32,
        /// Seconds a request body may take in full before 408 (at least 1).
        #[arg(long, env = "BODY_TIMEOUT_SECS", default_value_t = 30)]
        body_timeout_secs: u64,
        /// Bytes per second a body must average past BODY_TIMEOUT_SECS (0: none).
        #[arg(long, env = "BODY_MIN_RATE", default_value_t = 32 * 1024)]
        body_min_rate: u64,
        /// Concurrent connections per instance (capped by the file limit).
        #[arg(long, env = "MAX_CONNECTIONS", default_value_t = 10_000)]
        max_connections: usize,
        /// Seconds of inactivity after which a console session ends.
        #[arg(long, env = "CONSOLE_IDLE_SECS", default_value_t = 1800)]
        console_idle_secs: u64,
        /// Seconds the console's counts are kept while this process writes
        /// nothing: how late another process's write may show (0: not kept).
        #[arg(long, env = "COUNTS_CACHE_SECS", default_value_t = 5)]
        counts_cache_secs: u64,
    },
    /// Bring the database schema up to date.
    Migrate,
    /// Manage accounts.
    User {
        #[command(subcommand)]
        action: UserAction,
    },
    /// Load data files.
    Import {
        #[command(subcommand)]
        what: ImportWhat,
    },
    /// The audit chain.
    Audit {
        #[command(subcommand)]
        action: AuditAction,
    },
    /// Write a synthetic registry CSV for load tests and demos.
    Generate {
        /// Province code whose communes to use, or `all`.
        #[arg(long, default_value = "37")]
        communes: String,
        /// How many establishments.
        #[arg(long, default_value_t = 400)]
        establishments: usize,
        /// Seed of the generator.
        #[arg(long, default_value_t = 2016)]
        seed: u64,
        /// Administrative structure: 2024 (three levels) or 2025 (two levels).
        #[arg(long, default_value = "2024")]
        structure: String,
        /// Output CSV (standard output when absent).
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// A fresh demo database for Ninh Bình 2016, then serve it.
    Demo {
        /// Address to listen on.
        #[arg(long, env = "BIND_ADDR", default_value = "127.0.0.1:8080")]
        bind: String,
        /// Demo database (recreated).
        #[arg(long, default_value = "sqlite://kiemtra-demo.db")]
        demo_database_url: String,
        /// Seed everything, print the logins, and exit without serving.
        #[arg(long)]
        no_serve: bool,
    },
    /// A consistent backup while the service keeps serving: every table,
    /// the new photos and a manifest, in a new folder of DIR.
    Backup {
        /// Backup directory (one folder per backup, photos shared).
        #[arg(long)]
        out: PathBuf,
        /// Where the service stores photos.
        #[arg(long, env = "ATTACHMENTS_DIR", default_value = "attachments")]
        attachments_dir: PathBuf,
    },
    /// Restore a backup into an empty database (DATABASE_URL, either backend).
    Restore {
        /// A backup folder, or a backup directory (its newest backup).
        #[arg(long)]
        from: PathBuf,
        /// Where to put the photos.
        #[arg(long, env = "ATTACHMENTS_DIR", default_value = "attachments")]
        attachments_dir: PathBuf,
    },
    /// Copy the database (DATABASE_URL) into another, empty one: a backup
    /// and a restore, e.g. from the embedded SQLite to PostgreSQL.
    Copy {
        /// The empty target database.
        #[arg(long)]
        to: String,
        /// Where the service stores photos.
        #[arg(long, env = "ATTACHMENTS_DIR", default_value = "attachments")]
        attachments_dir: PathBuf,
        /// Photos folder of the target (default: the same folder).
        #[arg(long)]
        to_attachments_dir: Option<PathBuf>,
        /// Directory for the intermediate backup (kept); default a
        /// temporary one, removed afterwards.
        #[arg(long)]
        via: Option<PathBuf>,
    },
}

#[derive(Subcommand)]
enum UserAction {
    /// Create a user; the password is read from standard input.
    Add {
        #[arg(long)]
        username: String,
        /// admin, supervisor or inspector.
        #[arg(long)]
        role: String,
        #[arg(long)]
        org_unit: Option<String>,
        #[arg(long)]
        team: Option<String>,
        #[arg(long)]
        full_name: Option<String>,
        /// Read the password from standard input (required: never on the command line).
        #[arg(long, required = true)]
        password_stdin: bool,
    },
    /// Disable an account: it can no longer log in, its tokens stop working
    /// at once and its refresh tokens are revoked.
    Disable {
        #[arg(long)]
        username: String,
    },
    /// Enable a disabled account again.
    Enable {
        #[arg(long)]
        username: String,
    },
    /// Set a new password, read as one line from standard input; the
    /// account's refresh tokens are revoked.
    ResetPassword {
        #[arg(long)]
        username: String,
    },
}

#[derive(Subcommand)]
enum ImportWhat {
    /// Org units CSV (`code,name,level,parent_code`).
    OrgUnits { file: PathBuf },
    /// Establishments CSV or XLSX (first sheet) with the create fields as header.
    Establishments { file: PathBuf },
}

#[derive(Subcommand)]
enum AuditAction {
    /// Check the hash chain; exit 1 naming the first broken entry, or, with
    /// `--head`, when the chain no longer extends that head.
    Verify {
        /// A head hash printed earlier by `kiemtra audit head`: the log must
        /// still hold it, so a rewrite of the whole log is caught.
        #[arg(long)]
        head: Option<String>,
    },
    /// Print the chain's head: its last entry's hash (and its position on
    /// standard error). Keep it somewhere the operator cannot change.
    Head,
}

/// Entry point of the binary.
pub fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "info,actix_server=warn".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(2)
        }
    }
}

fn open(url: &str) -> Result<Pool, String> {
    let pool = build_pool(url, 4)?;
    let mut conn = pool.get().map_err(|e| e.to_string())?;
    run_migrations(&mut conn)?;
    Ok(pool)
}

fn run(cli: Cli) -> Result<ExitCode, String> {
    match cli.command {
        Command::Serve {
            bind,
            attachments_dir,
            pool_size,
            login_attempts_per_minute,
            trusted_proxies,
            refresh_grace_secs,
            body_timeout_secs,
            body_min_rate,
            max_connections,
            console_idle_secs,
            counts_cache_secs,
        } => {
            let secret = std::env::var("JWT_SECRET")
                .map_err(|_| "JWT_SECRET must be set (at least 32 bytes)".to_string())?;
            let mut settings = Settings::new(cli.database_url, Secret::new(secret))?;
            settings.bind = bind;
            settings.attachments_dir = attachments_dir;
            settings.pool_size = pool_size;
            settings.login_attempts_per_minute = login_attempts_per_minute.max(1);
            settings.trusted_proxies = trusted_proxies.parse().map_err(|e| format!("{e}"))?;
            settings.refresh_grace_secs = i64::from(refresh_grace_secs);
            settings.body_timeout_secs = body_timeout_secs.max(1);
            settings.body_min_rate = body_min_rate;
            settings.max_connections = max_connections.max(1);
            settings.console_idle_secs = console_idle_secs.max(60);
            settings.counts_cache_secs = counts_cache_secs;
            serve(settings, None)
        }
        Command::Migrate => {
            let pool = build_pool(&cli.database_url, 1)?;
            let mut conn = pool.get().map_err(|e| e.to_string())?;
            let applied = run_migrations(&mut conn)?;
            println!("{} migration(s) applied", applied.len());
            for m in applied {
                println!("  {m}");
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::User {
            action:
                UserAction::Add {
                    username,
                    role,
                    org_unit,
                    team,
                    full_name,
                    password_stdin: _,
                },
        } => {
            let mut password = String::new();
            std::io::stdin()
                .read_to_string(&mut password)
                .map_err(|e| e.to_string())?;
            let password = password.trim_end_matches(['\r', '\n']).to_string();
            let pool = open(&cli.database_url)?;
            let mut conn = pool.get().map_err(|e| e.to_string())?;
            let new = NewUser {
                full_name: full_name.unwrap_or_else(|| username.clone()),
                username,
                password,
                role,
                org_unit_code: org_unit,
                team_id: team,
            }
            .hashed();
            let user = write_tx(&mut conn, |c| create_user(c, new)).map_err(describe)?;
            println!(
                "created user {} ({}) id {}",
                user.username, user.role, user.id
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::User {
            action: UserAction::Disable { username },
        } => set_active(&cli.database_url, &username, false),
        Command::User {
            action: UserAction::Enable { username },
        } => set_active(&cli.database_url, &username, true),
        Command::User {
            action: UserAction::ResetPassword { username },
        } => {
            let mut line = String::new();
            std::io::stdin()
                .read_line(&mut line)
                .map_err(|e| e.to_string())?;
            let password = line.trim_end_matches(['\r', '\n']).to_string();
            if password.chars().count() < crate::app::users::MIN_PASSWORD {
                return Err(format!(
                    "password: must be at least {} characters",
                    crate::app::users::MIN_PASSWORD
                ));
            }
            // Hashed before the write transaction, as everywhere.
            let hash = crate::app::auth::password::hash_password(&password);
            let pool = open(&cli.database_url)?;
            let mut conn = pool.get().map_err(|e| e.to_string())?;
            let user = write_tx(&mut conn, |c| {
                crate::app::users::reset_password_by_name(c, &username, &hash)
            })
            .map_err(|e| not_found_as(e, &username))?;
            println!(
                "password of {} reset; its refresh tokens revoked",
                user.username
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::Import { what } => {
            let pool = open(&cli.database_url)?;
            let mut conn = pool.get().map_err(|e| e.to_string())?;
            let (file, summary) = match what {
                ImportWhat::OrgUnits { file } => {
                    let bytes =
                        std::fs::read(&file).map_err(|e| format!("{}: {e}", file.display()))?;
                    let s = write_tx(&mut conn, |c| import_units(c, &bytes)).map_err(describe)?;
                    (file, s)
                }
                ImportWhat::Establishments { file } => {
                    let bytes =
                        std::fs::read(&file).map_err(|e| format!("{}: {e}", file.display()))?;
                    let is_xlsx = file
                        .extension()
                        .is_some_and(|e| e.eq_ignore_ascii_case("xlsx"));
                    let rows = if is_xlsx {
                        xlsx_rows(&bytes)
                    } else {
                        csv_rows(&bytes)
                    }
                    .map_err(describe)?;
                    let s = import_establishments(&mut conn, rows)?;
                    (file, s)
                }
            };
            report_import(&file, &summary)?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Audit {
            action: AuditAction::Verify { head },
        } => {
            let pool = open(&cli.database_url)?;
            let mut conn = pool.get().map_err(|e| e.to_string())?;
            match crate::app::audit::verify_extends(&mut conn, head.as_deref()).map_err(describe)? {
                Ok(n) => {
                    match head {
                        Some(h) => println!("audit chain intact: {n} entries, extending head {h}"),
                        None => println!("audit chain intact: {n} entries"),
                    }
                    Ok(ExitCode::SUCCESS)
                }
                Err((seq, why)) => {
                    println!("audit chain broken at entry {seq}: {why}");
                    Ok(ExitCode::from(1))
                }
            }
        }
        Command::Audit {
            action: AuditAction::Head,
        } => {
            let pool = open(&cli.database_url)?;
            let mut conn = pool.get().map_err(|e| e.to_string())?;
            let (seq, hash) = crate::db::audit::tail(&mut conn)
                .map_err(describe)?
                .unwrap_or((0, crate::app::audit::GENESIS.to_string()));
            println!("{hash}");
            eprintln!("head of the audit chain: entry {seq}");
            Ok(ExitCode::SUCCESS)
        }
        Command::Generate {
            communes,
            establishments,
            seed,
            structure,
            out,
        } => {
            let text = crate::cli::units_csv(&structure)?;
            let units = crate::domain::synth::load_units_csv(text)?;
            let province = if communes == "all" {
                None
            } else {
                Some(communes.as_str())
            };
            let list = crate::domain::synth::communes_of(&units, province);
            if list.is_empty() {
                return Err(format!(
                    "no communes for {communes} in the {structure} structure"
                ));
            }
            let rows = crate::domain::synth::generate(&list, establishments, seed);
            let mut w = csv::Writer::from_writer(match &out {
                Some(p) => {
                    Box::new(std::fs::File::create(p).map_err(|e| e.to_string())?) as Box<dyn Write>
                }
                None => Box::new(std::io::stdout()),
            });
            for r in &rows {
                w.serialize(r).map_err(|e| e.to_string())?;
            }
            w.flush().map_err(|e| e.to_string())?;
            if let Some(p) = out {
                eprintln!("wrote {} establishments to {}", rows.len(), p.display());
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Demo {
            bind,
            demo_database_url,
            no_serve,
        } => crate::cli::demo(&demo_database_url, &bind, no_serve),
        Command::Backup {
            out,
            attachments_dir,
        } => {
            let pool = build_pool(&cli.database_url, 1)?;
            let mut conn = pool.get().map_err(|e| e.to_string())?;
            let s = run_backup(&mut conn, &attachments_dir, &out)?;
            println!("{}", backup_line(&s));
            Ok(ExitCode::SUCCESS)
        }
        Command::Restore {
            from,
            attachments_dir,
        } => {
            let pool = build_pool(&cli.database_url, 1)?;
            let mut conn = pool.get().map_err(|e| e.to_string())?;
            let s = run_restore(&mut conn, &from, &attachments_dir)?;
            println!("{}", restore_line(&s));
            Ok(ExitCode::SUCCESS)
        }
        Command::Copy {
            to,
            attachments_dir,
            to_attachments_dir,
            via,
        } => copy(
            &cli.database_url,
            &to,
            &attachments_dir,
            to_attachments_dir.as_deref(),
            via,
        ),
    }
}

/// Progress of a backup or restore: a spinner on a terminal, nothing
/// otherwise (cron gets the summary line only).
fn progress_display() -> impl FnMut(crate::app::backup::Progress) {
    use crate::app::backup::Progress;
    let bar = std::io::stderr().is_terminal().then(|| {
        let bar = indicatif::ProgressBar::new_spinner();
        bar.enable_steady_tick(std::time::Duration::from_millis(200));
        bar
    });
    move |p| {
        if let Some(b) = &bar {
            match p {
                Progress::Rows(table, n) => b.set_message(format!("{table}: {n} rows")),
                Progress::Photos(i, n) => b.set_message(format!("photos: {i}/{n}")),
                Progress::Checking => b.set_message("checking checksums"),
            }
        }
    }
}

fn run_backup(
    conn: &mut DbConnection,
    attachments_dir: &Path,
    out: &Path,
) -> Result<crate::app::backup::BackupSummary, String> {
    crate::app::backup::backup(conn, attachments_dir, out, &mut progress_display())
}

fn run_restore(
    conn: &mut DbConnection,
    from: &Path,
    attachments_dir: &Path,
) -> Result<crate::app::backup::RestoreSummary, String> {
    crate::app::backup::restore(conn, from, attachments_dir, &mut progress_display())
}

fn mb(bytes: u64) -> String {
    format!("{:.1} MB", bytes as f64 / 1_000_000.0)
}

/// The one line a backup prints (for cron's mail).
fn backup_line(s: &crate::app::backup::BackupSummary) -> String {
    let m = &s.manifest;
    let mut line = format!(
        "backup {}: {} tables, {} rows, {} of tables, audit head {} (entry {}), {} photos ({} new, {}) in {:.1} s -> {}",
        m.created_at,
        m.tables.len(),
        s.rows(),
        mb(s.table_bytes),
        &m.audit.head[..12],
        m.audit.entries,
        m.photos.len(),
        s.photos_copied,
        mb(s.photo_bytes_copied),
        s.seconds,
        s.dir.display()
    );
    if !m.missing_photos.is_empty() {
        line.push_str(&format!(
            "; WARNING {} photo(s) missing or damaged in the attachments folder",
            m.missing_photos.len()
        ));
    }
    line
}

/// The one line a restore prints.
fn restore_line(s: &crate::app::backup::RestoreSummary) -> String {
    let m = &s.manifest;
    format!(
        "restored the backup of {} ({}, schema {}): {} tables, {} rows, audit chain verified to entry {} ({}), {} photos copied, in {:.1} s",
        m.created_at,
        m.backend,
        m.schema_version,
        m.tables.len(),
        m.tables.iter().map(|t| t.rows).sum::<u64>(),
        m.audit.entries,
        &m.audit.head[..12],
        s.photos_copied,
        s.seconds
    )
}

/// `kiemtra copy --to URL`: a backup of this database, restored into `to`.
fn copy(
    from: &str,
    to: &str,
    attachments_dir: &Path,
    to_attachments_dir: Option<&Path>,
    via: Option<PathBuf>,
) -> Result<ExitCode, String> {
    let source = build_pool(from, 1)?;
    let target = build_pool(to, 1)?;
    let (dir, temporary) = match via {
        Some(d) => (d, false),
        None => (
            std::env::temp_dir().join(format!("kiemtra-copy-{}", std::process::id())),
            true,
        ),
    };
    let outcome = (|| {
        let mut conn = source.get().map_err(|e| e.to_string())?;
        let b = run_backup(&mut conn, attachments_dir, &dir)?;
        println!("{}", backup_line(&b));
        let mut conn = target.get().map_err(|e| e.to_string())?;
        let r = run_restore(
            &mut conn,
            &b.dir,
            to_attachments_dir.unwrap_or(attachments_dir),
        )?;
        println!("{}", restore_line(&r));
        Ok::<_, String>(())
    })();
    if temporary {
        let _ = std::fs::remove_dir_all(&dir);
    }
    outcome?;
    Ok(ExitCode::SUCCESS)
}

/// The bundled administrative units of a structure (2024 or 2025).
pub fn units_csv(structure: &str) -> Result<&'static str, String> {
    match structure {
        "2024" => Ok(include_str!("../data/vn-admin-units-2024.csv")),
        "2025" => Ok(include_str!("../data/vn-admin-units-2025.csv")),
        other => Err(format!("unknown structure {other}; use 2024 or 2025")),
    }
}

fn describe(e: crate::error::ApiError) -> String {
    match e {
        crate::error::ApiError::Validation(errs) => errs
            .iter()
            .map(|e| format!("{}: {}", e.field, e.message))
            .collect::<Vec<_>>()
            .join("; "),
        other => other.to_string(),
    }
}

/// Imports establishment rows with a progress bar on a terminal, plain
/// progress lines otherwise.
fn import_establishments(
    conn: &mut DbConnection,
    rows: Vec<ImportRow>,
) -> Result<ImportSummary, String> {
    let total = rows.len();
    let started = std::time::Instant::now();
    let bar = if std::io::stderr().is_terminal() {
        let bar = indicatif::ProgressBar::new(total as u64);
        bar.set_style(
            indicatif::ProgressStyle::with_template(
                "{bar:40} {pos}/{len} rows  {per_sec}  eta {eta}",
            )
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        Some(bar)
    } else {
        None
    };
    let summary = write_tx(conn, |c| {
        import_rows(c, rows, None, "cli", |done| match &bar {
            Some(b) => b.set_position(done as u64),
            None if done == total || done % 10_000 == 0 => eprintln!("{done}/{total} rows"),
            None => {}
        })
    })
    .map_err(describe)?;
    if let Some(b) = bar {
        b.finish();
    }
    eprintln!("done in {:.1} s", started.elapsed().as_secs_f64());
    Ok(summary)
}

/// Prints the summary and writes row errors next to the input as
/// `FILE.errors.csv` (row, field, reason).
fn report_import(file: &Path, s: &ImportSummary) -> Result<(), String> {
    println!(
        "created {}, updated {}, unchanged {}, errors {}",
        s.created,
        s.updated,
        s.unchanged,
        s.errors.len()
    );
    let report = file.with_extension("errors.csv");
    if s.errors.is_empty() {
        let _ = std::fs::remove_file(&report);
        return Ok(());
    }
    let mut w = csv::Writer::from_path(&report).map_err(|e| e.to_string())?;
    w.write_record(["row", "field", "reason"])
        .map_err(|e| e.to_string())?;
    for e in &s.errors {
        // The reason may quote the file's cells: safe to open in a spreadsheet.
        let cell = |s: &str| crate::domain::text::csv_text_cell(s).into_owned();
        w.write_record([
            e.row.to_string(),
            cell(e.field.as_deref().unwrap_or_default()),
            cell(&e.message),
        ])
        .map_err(|e| e.to_string())?;
    }
    w.flush().map_err(|e| e.to_string())?;
    println!("row errors written to {}", report.display());
    Ok(())
}

fn serve(settings: Settings, banner: Option<String>) -> Result<ExitCode, String> {
    let sys = actix_web::rt::System::new();
    sys.block_on(async move {
        let app = Application::build(settings)?;
        let port = app.port();
        tracing::info!(port, "listening");
        if let Some(b) = banner {
            println!("{}", b.replace("{port}", &port.to_string()));
        }
        app.run_until_stopped().await.map_err(|e| e.to_string())
    })?;
    Ok(ExitCode::SUCCESS)
}

/// Demo passwords: printed, meant for a laptop, never for production.
const DEMO_PASSWORD: &str = "kiemtra-demo-2016";

/// `kiemtra demo`: a fresh Ninh Bình 2016 database, then serve it.
pub fn demo(url: &str, bind: &str, no_serve: bool) -> Result<ExitCode, String> {
    if let Ok((crate::db::Backend::Sqlite, path)) = crate::db::parse_url(url) {
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{path}{suffix}"));
        }
    }
    let pool = open(url)?;
    let mut conn = pool.get().map_err(|e| e.to_string())?;
    let logins = crate::demo::seed(&mut conn, DEMO_PASSWORD).map_err(describe)?;
    drop(conn);
    let mut banner = String::from("\nkiemtra demo — Ninh Bình 2016\n");
    banner.push_str("  API:       http://{host}:{port}/api/v1\n");
    banner.push_str("  Dashboard: http://{host}:{port}/dashboard (log in as giamsat)\n");
    banner.push_str(
        "  Field app: http://{host}:{port}/app/ (inspectors: doi-tinh, doi-<district code>)\n",
    );
    banner.push_str("  Console:   http://{host}:{port}/console/ (sign in as giamsat or admin)\n");
    banner.push_str(&format!(
        "  Password of every demo account: {DEMO_PASSWORD}\n"
    ));
    for (user, what) in &logins {
        banner.push_str(&format!("  {user:<22} {what}\n"));
    }
    let host = bind.rsplit_once(':').map(|(h, _)| h).unwrap_or("127.0.0.1");
    let banner = banner.replace("{host}", host);
    if no_serve {
        println!(
            "{}",
            banner.replace("{port}", bind.rsplit(':').next().unwrap_or("8080"))
        );
        return Ok(ExitCode::SUCCESS);
    }
    // A fresh random key each run: demo tokens die with the process.
    let secret: [u8; 32] = rand::random();
    let mut settings = Settings::new(url, Secret::new(hex::encode(secret)))?;
    settings.bind = bind.to_string();
    settings.attachments_dir = PathBuf::from("kiemtra-demo-attachments");
    serve(settings, Some(banner))
}

/// `kiemtra user disable|enable`.
fn set_active(url: &str, username: &str, active: bool) -> Result<ExitCode, String> {
    let pool = open(url)?;
    let mut conn = pool.get().map_err(|e| e.to_string())?;
    let user = write_tx(&mut conn, |c| {
        crate::app::users::set_active_by_name(c, username, active)
    })
    .map_err(|e| not_found_as(e, username))?;
    println!(
        "user {} {}",
        user.username,
        if active { "enabled" } else { "disabled" }
    );
    Ok(ExitCode::SUCCESS)
}

/// An error of a `user` command: "no user U" for a 404.
fn not_found_as(e: crate::error::ApiError, username: &str) -> String {
    match e {
        crate::error::ApiError::NotFound => format!("no user {username}"),
        other => describe(other),
    }
}
