//! Backups that restore: a consistent snapshot of every table taken while the
//! service keeps serving, the photos beside it, and a manifest that a
//! restore checks the files against before it writes anything and the
//! restored database against before it reports success. The tables are
//! written in a backend-neutral form (src/db/backup.rs), so one backup and
//! one restore move a province from SQLite to PostgreSQL or back.
//!
//! A backup directory holds one folder per backup, named by its UTC time,
//! and `photos/`, shared by all of them: photos are stored by their SHA-256,
//! so each backup copies only the photos the folder does not have yet.
//!
//! ```text
//! DIR/photos/ab/abcdef…                 every photo, once
//! DIR/20261130T170000Z/manifest.json    time, schema version, rows, audit head, checksums
//! DIR/20261130T170000Z/SHA256SUMS       the same checksums, for `sha256sum -c`
//! DIR/20261130T170000Z/tables/T.jsonl   one JSON array per row
//! ```

use std::fs::File;
use std::io::{BufRead, BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use std::time::Instant;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::app::audit::GENESIS;
use crate::app::inspections::photo_path;
use crate::db::backup::{self as store, Column, TABLES};
use crate::db::{Backend, DbConnection};

/// The format this build writes and reads.
pub const FORMAT: &str = "kiemtra-backup/1";

/// What a backup holds, written last (`manifest.json`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Manifest {
    /// [`FORMAT`].
    pub format: String,
    /// When the snapshot was taken (UTC, RFC 3339).
    pub created_at: String,
    /// `sqlite` or `postgres`: where it was taken.
    pub backend: String,
    /// The newest migration applied to the database backed up.
    pub schema_version: String,
    /// Every table, in restore order.
    pub tables: Vec<TableEntry>,
    /// The audit chain as of the snapshot.
    pub audit: AuditHead,
    /// The photos the snapshot refers to, in `../photos/`.
    pub photos: Vec<Photo>,
    /// Photos the database names that were missing or damaged on disk when
    /// the backup was taken (also missing after a restore).
    #[serde(default)]
    pub missing_photos: Vec<String>,
}

/// One table's file.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TableEntry {
    /// The table.
    pub name: String,
    /// Its file, relative to the backup's folder.
    pub file: String,
    /// Rows in it.
    pub rows: u64,
    /// SHA-256 of the file.
    pub sha256: String,
    /// Its columns, in the order of each row's values.
    pub columns: Vec<Column>,
}

/// The audit chain's length and last hash.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct AuditHead {
    /// Entries.
    pub entries: i64,
    /// Hash of the last entry (the genesis hash when there is none).
    pub head: String,
}

/// A photo: its SHA-256 (also its checksum) and size.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Photo {
    /// SHA-256, hex.
    pub sha256: String,
    /// Bytes.
    pub size: u64,
}

/// What a backup did.
#[derive(Debug)]
pub struct BackupSummary {
    /// The backup's folder.
    pub dir: PathBuf,
    /// The manifest written.
    pub manifest: Manifest,
    /// Bytes of the table files.
    pub table_bytes: u64,
    /// Photos copied now (the others were there from earlier backups).
    pub photos_copied: usize,
    /// Their bytes.
    pub photo_bytes_copied: u64,
    /// Seconds taken.
    pub seconds: f64,
}

impl BackupSummary {
    /// Rows in all tables.
    pub fn rows(&self) -> u64 {
        self.manifest.tables.iter().map(|t| t.rows).sum()
    }
}

/// What a restore did.
#[derive(Debug)]
pub struct RestoreSummary {
    /// The manifest restored from.
    pub manifest: Manifest,
    /// Photos copied into the attachments folder.
    pub photos_copied: usize,
    /// Seconds taken.
    pub seconds: f64,
}

/// Progress, for a terminal.
#[derive(Debug, Clone, Copy)]
pub enum Progress<'a> {
    /// Rows of a table written or read so far.
    Rows(&'a str, u64),
    /// Photos checked or copied so far, of how many.
    Photos(usize, usize),
    /// Checksums being checked.
    Checking,
}

/// A writer that hashes and counts what passes through.
struct Hashing<W: Write> {
    inner: W,
    hash: Sha256,
    bytes: u64,
}

impl<W: Write> Write for Hashing<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hash.update(&buf[..n]);
        self.bytes += n as u64;
        Ok(n)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

fn io(path: &Path) -> impl Fn(std::io::Error) -> String + '_ {
    move |e| format!("{}: {e}", path.display())
}

fn backend_name(b: Backend) -> &'static str {
    match b {
        Backend::Postgres => "postgres",
        Backend::Sqlite => "sqlite",
    }
}

/// SHA-256 of a file, hex.
fn file_sha256(path: &Path) -> Result<(String, u64), String> {
    let mut f = File::open(path).map_err(io(path))?;
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    let mut n = 0u64;
    loop {
        let k = f.read(&mut buf).map_err(io(path))?;
        if k == 0 {
            break;
        }
        h.update(&buf[..k]);
        n += k as u64;
    }
    Ok((hex::encode(h.finalize()), n))
}

fn sync_dir(dir: &Path) -> Result<(), String> {
    File::open(dir).and_then(|f| f.sync_all()).map_err(io(dir))
}

/// Copies `src` to `dst` through a temporary file (synced, then renamed),
/// checking that its content hashes to `sha`: `Ok(None)` when it does not.
fn copy_photo(src: &Path, dst: &Path, sha: &str) -> Result<Option<u64>, String> {
    let parent = dst.parent().expect("a photo path has a parent");
    std::fs::create_dir_all(parent).map_err(io(parent))?;
    let tmp = parent.join(format!(".{sha}.{}.tmp", std::process::id()));
    let mut input = File::open(src).map_err(io(src))?;
    let mut out = Hashing {
        inner: File::create(&tmp).map_err(io(&tmp))?,
        hash: Sha256::new(),
        bytes: 0,
    };
    std::io::copy(&mut input, &mut out).map_err(io(src))?;
    out.inner.sync_all().map_err(io(&tmp))?;
    if hex::encode(out.hash.finalize()) != sha {
        let _ = std::fs::remove_file(&tmp);
        return Ok(None);
    }
    std::fs::rename(&tmp, dst).map_err(io(dst))?;
    Ok(Some(out.bytes))
}

/// `kiemtra backup --out DIR`: a snapshot of every table, the photos it
/// names that `out/photos` lacks, and the manifest, in a new folder of `out`.
pub fn backup(
    conn: &mut DbConnection,
    attachments_dir: &Path,
    out: &Path,
    progress: &mut dyn FnMut(Progress),
) -> Result<BackupSummary, String> {
    let started = Instant::now();
    store::check_table_list(conn)?;
    std::fs::create_dir_all(out).map_err(io(out))?;
    let now = chrono::Utc::now();
    let mut stamp = now.format("%Y%m%dT%H%M%SZ").to_string();
    let mut n = 1;
    while out.join(&stamp).exists() {
        n += 1;
        stamp = format!("{}-{n}", now.format("%Y%m%dT%H%M%SZ"));
    }
    let partial = out.join(format!(".partial-{stamp}"));
    let tables_dir = partial.join("tables");
    std::fs::create_dir_all(&tables_dir).map_err(io(&tables_dir))?;

    let backend = conn.backend();
    let mut photos = Vec::new();
    let mut table_bytes = 0u64;
    let (schema_version, tables, audit) = store::snapshot(conn, |conn| {
        let schema_version = store::schema_version(conn)?
            .ok_or("the database has no schema yet: nothing to back up")?;
        let mut tables = Vec::new();
        for spec in TABLES {
            let columns = store::columns(conn, spec.name)?;
            let file = format!("tables/{}.jsonl", spec.name);
            let path = partial.join(&file);
            let mut w = Hashing {
                inner: BufWriter::with_capacity(1 << 20, File::create(&path).map_err(io(&path))?),
                hash: Sha256::new(),
                bytes: 0,
            };
            let photo_cols = (spec.name == "attachments").then(|| {
                let at = |n: &str| columns.iter().position(|c| c.name == n);
                (at("sha256"), at("size_bytes"))
            });
            let mut line = Vec::with_capacity(1024);
            let mut done = 0u64;
            let rows = store::read_rows(conn, spec, &columns, &mut |row| {
                if let Some((Some(s), Some(z))) = photo_cols {
                    if let (Some(sha), Some(size)) = (row[s].as_str(), row[z].as_u64()) {
                        photos.push(Photo {
                            sha256: sha.to_string(),
                            size,
                        });
                    }
                }
                line.clear();
                serde_json::to_writer(&mut line, &row).map_err(|e| e.to_string())?;
                line.push(b'\n');
                w.write_all(&line).map_err(io(&path))?;
                done += 1;
                if done.is_multiple_of(10_000) {
                    progress(Progress::Rows(spec.name, done));
                }
                Ok(())
            })?;
            progress(Progress::Rows(spec.name, rows));
            w.flush().map_err(io(&path))?;
            let Hashing {
                inner, hash, bytes, ..
            } = w;
            let f = inner.into_inner().map_err(|e| e.to_string())?;
            f.sync_all().map_err(io(&path))?;
            table_bytes += bytes;
            tables.push(TableEntry {
                name: spec.name.to_string(),
                file,
                rows,
                sha256: hex::encode(hash.finalize()),
                columns,
            });
        }
        let audit = audit_head(conn)?;
        Ok((schema_version, tables, audit))
    })?;
    sync_dir(&tables_dir)?;

    // Photos, outside the snapshot: the service writes a photo's file
    // before its row, so every photo the snapshot names is on disk.
    let shared = out.join("photos");
    let mut missing = Vec::new();
    let mut copied = 0;
    let mut copied_bytes = 0;
    let total = photos.len();
    for (i, p) in photos.iter().enumerate() {
        if p.sha256.len() < 3 || !p.sha256.bytes().all(|b| b.is_ascii_hexdigit()) {
            missing.push(p.sha256.clone());
            continue;
        }
        let dst = photo_path(&shared, &p.sha256);
        let have = std::fs::metadata(&dst).is_ok_and(|m| m.len() == p.size);
        if !have {
            let src = photo_path(attachments_dir, &p.sha256);
            if !src.exists() {
                missing.push(p.sha256.clone());
                continue;
            }
            match copy_photo(&src, &dst, &p.sha256)? {
                Some(bytes) => {
                    copied += 1;
                    copied_bytes += bytes;
                }
                None => missing.push(p.sha256.clone()),
            }
        }
        if (i + 1).is_multiple_of(100) || i + 1 == total {
            progress(Progress::Photos(i + 1, total));
        }
    }
    photos.retain(|p| !missing.contains(&p.sha256));
    if copied > 0 {
        sync_dir(&shared)?;
    }

    let manifest = Manifest {
        format: FORMAT.to_string(),
        created_at: now.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        backend: backend_name(backend).to_string(),
        schema_version,
        tables,
        audit,
        photos,
        missing_photos: missing,
    };
    let text = serde_json::to_vec_pretty(&manifest).map_err(|e| e.to_string())?;
    let manifest_path = partial.join("manifest.json");
    write_synced(&manifest_path, &text)?;
    let mut sums = format!("{}  manifest.json\n", hex::encode(Sha256::digest(&text)));
    for t in &manifest.tables {
        sums.push_str(&format!("{}  {}\n", t.sha256, t.file));
    }
    write_synced(&partial.join("SHA256SUMS"), sums.as_bytes())?;
    sync_dir(&partial)?;
    let dir = out.join(&stamp);
    std::fs::rename(&partial, &dir).map_err(io(&dir))?;
    sync_dir(out)?;
    Ok(BackupSummary {
        dir,
        manifest,
        table_bytes,
        photos_copied: copied,
        photo_bytes_copied: copied_bytes,
        seconds: started.elapsed().as_secs_f64(),
    })
}

fn write_synced(path: &Path, bytes: &[u8]) -> Result<(), String> {
    let mut f = File::create(path).map_err(io(path))?;
    f.write_all(bytes).map_err(io(path))?;
    f.sync_all().map_err(io(path))
}

fn audit_head(conn: &mut DbConnection) -> Result<AuditHead, String> {
    let tail = crate::db::audit::tail(conn).map_err(|e| e.to_string())?;
    Ok(match tail {
        Some((seq, hash)) => AuditHead {
            entries: seq,
            head: hash,
        },
        None => AuditHead {
            entries: 0,
            head: GENESIS.to_string(),
        },
    })
}

/// The backup folder `from` names: itself if it holds a manifest, else its
/// newest backup.
pub fn locate(from: &Path) -> Result<PathBuf, String> {
    if from.join("manifest.json").is_file() {
        return Ok(from.to_path_buf());
    }
    let mut found: Vec<PathBuf> = std::fs::read_dir(from)
        .map_err(io(from))?
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| {
            p.join("manifest.json").is_file()
                && p.file_name()
                    .and_then(|n| n.to_str())
                    .is_some_and(|n| !n.starts_with('.'))
        })
        .collect();
    found.sort();
    found
        .pop()
        .ok_or_else(|| format!("{}: no backup here (no manifest.json)", from.display()))
}

/// Checks every checksum of the backup in `dir` (its `SHA256SUMS` for the
/// manifest, the manifest for the tables and the photos); the manifest.
pub fn verify_files(dir: &Path, progress: &mut dyn FnMut(Progress)) -> Result<Manifest, String> {
    progress(Progress::Checking);
    let sums_path = dir.join("SHA256SUMS");
    let sums = std::fs::read_to_string(&sums_path).map_err(io(&sums_path))?;
    let manifest_path = dir.join("manifest.json");
    let text = std::fs::read(&manifest_path).map_err(io(&manifest_path))?;
    let listed = sums
        .lines()
        .find_map(|l| l.strip_suffix("  manifest.json"))
        .ok_or("SHA256SUMS does not list manifest.json: the backup is damaged")?;
    if hex::encode(Sha256::digest(&text)) != listed {
        return Err("manifest.json does not match its checksum: the backup is damaged".into());
    }
    let m: Manifest = serde_json::from_slice(&text)
        .map_err(|e| format!("manifest.json: {e}: the backup is damaged"))?;
    if m.format != FORMAT {
        return Err(format!(
            "the backup's format is {}, this kiemtra reads {FORMAT}",
            m.format
        ));
    }
    for t in &m.tables {
        if t.file.contains("..") || Path::new(&t.file).is_absolute() {
            return Err(format!("{}: a file outside the backup", t.file));
        }
        let (sha, _) = file_sha256(&dir.join(&t.file))?;
        if sha != t.sha256 {
            return Err(format!(
                "{} does not match its checksum: the backup is damaged",
                t.file
            ));
        }
    }
    let shared = photos_of(dir);
    let total = m.photos.len();
    for (i, p) in m.photos.iter().enumerate() {
        if p.sha256.len() != 64 || !p.sha256.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(format!("the manifest names a photo {}", p.sha256));
        }
        let path = photo_path(&shared, &p.sha256);
        let (sha, _) = file_sha256(&path)?;
        if sha != p.sha256 {
            return Err(format!(
                "{} does not match its checksum: the backup is damaged",
                path.display()
            ));
        }
        if (i + 1).is_multiple_of(100) || i + 1 == total {
            progress(Progress::Photos(i + 1, total));
        }
    }
    Ok(m)
}

/// The shared photo folder of a backup folder.
fn photos_of(dir: &Path) -> PathBuf {
    dir.parent()
        .map(|p| p.join("photos"))
        .unwrap_or_else(|| PathBuf::from("photos"))
}

/// Refuses a database with rows in any table the migrations do not fill.
fn refuse_non_empty(conn: &mut DbConnection) -> Result<(), String> {
    for table in store::live_tables(conn)? {
        if TABLES.iter().any(|t| t.name == table && t.seeded) {
            continue;
        }
        let n = store::count(conn, &table)?;
        if n > 0 {
            return Err(format!(
                "the database is not empty ({table} has {n} rows): restore only into an empty database"
            ));
        }
    }
    Ok(())
}

/// `kiemtra restore --from DIR`: checks every checksum, refuses a database
/// that is not empty, brings its schema to the backup's version, restores
/// every table in one transaction and checks the counts and the audit chain
/// against the manifest before committing; then the newer migrations, if any.
pub fn restore(
    conn: &mut DbConnection,
    from: &Path,
    attachments_dir: &Path,
    progress: &mut dyn FnMut(Progress),
) -> Result<RestoreSummary, String> {
    let started = Instant::now();
    let dir = locate(from)?;
    let m = verify_files(&dir, progress)?;

    refuse_non_empty(conn)?;
    let known = store::known_versions(conn);
    if !known.contains(&m.schema_version) {
        return Err(format!(
            "the backup's schema version {} is unknown to this kiemtra (newest known: {}): restore with the version that took it or a newer one",
            m.schema_version,
            known.last().map(String::as_str).unwrap_or("none")
        ));
    }
    if let Some(v) = store::schema_version(conn)? {
        if v > m.schema_version {
            return Err(format!(
                "the database's schema ({v}) is newer than the backup's ({}): restore into a database that has never been migrated",
                m.schema_version
            ));
        }
    }
    store::migrate_through(conn, Some(&m.schema_version))?;

    // The backup's columns must be the database's, kind for kind.
    for t in &m.tables {
        let live = store::columns(conn, &t.name)?;
        if live.is_empty() {
            return Err(format!("the database has no table {}", t.name));
        }
        for c in &live {
            match t.columns.iter().find(|b| b.name == c.name) {
                Some(b) if b.kind == c.kind => {}
                Some(b) => {
                    return Err(format!(
                        "{}.{} is {:?} in the backup and {:?} here",
                        t.name, c.name, b.kind, c.kind
                    ))
                }
                None => return Err(format!("the backup lacks the column {}.{}", t.name, c.name)),
            }
        }
        if let Some(b) = t
            .columns
            .iter()
            .find(|b| !live.iter().any(|c| c.name == b.name))
        {
            return Err(format!(
                "the database lacks the column {}.{}",
                t.name, b.name
            ));
        }
    }
    for spec in TABLES {
        if !m.tables.iter().any(|t| t.name == spec.name) {
            return Err(format!("the backup has no table {}", spec.name));
        }
    }

    // Photos first: when a row names a photo, its file is there.
    let shared = photos_of(&dir);
    let mut photos_copied = 0;
    let total = m.photos.len();
    for (i, p) in m.photos.iter().enumerate() {
        let dst = photo_path(attachments_dir, &p.sha256);
        if !dst.exists() {
            if copy_photo(&photo_path(&shared, &p.sha256), &dst, &p.sha256)?.is_none() {
                return Err(format!("photo {} changed while restoring", p.sha256));
            }
            photos_copied += 1;
        }
        if (i + 1).is_multiple_of(100) || i + 1 == total {
            progress(Progress::Photos(i + 1, total));
        }
    }

    let settings = store::begin_bulk_load(conn)?;
    let restored = store::restore_tx(conn, |conn| {
        for spec in TABLES.iter().filter(|t| t.seeded) {
            store::clear(conn, spec.name)?;
        }
        let indexes = store::drop_secondary_indexes(conn)?;
        for t in &m.tables {
            let path = dir.join(&t.file);
            let mut lines =
                BufReader::with_capacity(1 << 20, File::open(&path).map_err(io(&path))?).lines();
            let mut next = || -> Result<Option<Vec<serde_json::Value>>, String> {
                match lines.next() {
                    None => Ok(None),
                    Some(line) => {
                        let line = line.map_err(io(&path))?;
                        serde_json::from_str(&line)
                            .map(Some)
                            .map_err(|e| format!("{}: {e}", t.file))
                    }
                }
            };
            store::load_rows(conn, &t.name, &t.columns, &mut next, &mut |n| {
                progress(Progress::Rows(&t.name, n))
            })?;
        }
        store::create_indexes(conn, &indexes)?;
        store::reset_sequences(conn)?;
        // The proof, before anything is committed.
        for t in &m.tables {
            let n = store::count(conn, &t.name)?;
            if n as u64 != t.rows {
                return Err(format!(
                    "{} has {n} rows after the restore, the manifest says {}",
                    t.name, t.rows
                ));
            }
        }
        let head = audit_head(conn)?;
        if head != m.audit {
            return Err(format!(
                "the restored audit chain ends at entry {} with {}, the manifest says entry {} with {}",
                head.entries, head.head, m.audit.entries, m.audit.head
            ));
        }
        match crate::app::audit::verify(conn).map_err(|e| e.to_string())? {
            Ok(n) if n as i64 == m.audit.entries => Ok(()),
            Ok(n) => Err(format!(
                "the restored audit chain has {n} entries, the manifest says {}",
                m.audit.entries
            )),
            Err((seq, why)) => Err(format!(
                "the restored audit chain is broken at entry {seq}: {why}"
            )),
        }
    });
    // The settings go back whatever happened; the restore's error first.
    let settings_back = store::end_bulk_load(conn, settings);
    restored?;
    settings_back?;
    store::migrate_through(conn, None)?;
    Ok(RestoreSummary {
        manifest: m,
        photos_copied,
        seconds: started.elapsed().as_secs_f64(),
    })
}
