//! The SQL of backups and restores: which tables there are, reading every row
//! of them inside one snapshot, and writing them back into an empty database
//! of either backend. Rows travel as JSON arrays whose values have one
//! backend-neutral form per kind of column ([`Kind`]), so that a backup of
//! SQLite restores into PostgreSQL and back with every value as it was.

use chrono::{NaiveDate, NaiveDateTime};
use diesel::connection::{
    AnsiTransactionManager, DefaultLoadingMode, SimpleConnection, TransactionManager,
};
use diesel::pg::PgRowByRowLoadingMode;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Binary, Bool, Date, Double, Integer, Nullable, Text, Timestamp};
use diesel_migrations::MigrationHarness;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::db::{DbConnection, PG_MIGRATIONS, SQLITE_MIGRATIONS};

/// A table the backup copies.
#[derive(Debug, Clone, Copy)]
pub struct TableSpec {
    /// Its name.
    pub name: &'static str,
    /// The order its rows are written in (and so restored in): its key, or
    /// for a table that refers to itself an order that puts parents first.
    pub order_by: &'static str,
    /// Its rows are first put there by the migrations (a singleton counter,
    /// the default catalogue): a restore replaces them instead of refusing.
    pub seeded: bool,
}

const fn t(name: &'static str, order_by: &'static str) -> TableSpec {
    TableSpec {
        name,
        order_by,
        seeded: false,
    }
}

const fn seeded(name: &'static str, order_by: &'static str) -> TableSpec {
    TableSpec {
        name,
        order_by,
        seeded: true,
    }
}

/// Every table of the schema, each after the tables it refers to (a restore
/// inserts them in this order). A backup refuses to run while the database
/// has a table missing here, so a table added by a migration must be added
/// to this list too.
pub const TABLES: &[TableSpec] = &[
    // A unit's path extends its parent's, so it sorts after it.
    t("org_units", "path, code"),
    t("users", "id"),
    t("refresh_tokens", "id"),
    t("establishments", "id"),
    t("audit_log", "seq"),
    t("teams", "id"),
    t("team_members", "team_id, user_id"),
    t("plans", "id"),
    t("draw_rounds", "plan_id, round"),
    t("rehearsal_assignments", "id"),
    seeded("change_counter", "id"),
    // After users, teams and org_units, whose inserts bump it.
    seeded("auth_epoch", "id"),
    t("assignments", "id"),
    seeded("violation_types", "code"),
    t("inspections", "id"),
    t("inspection_versions", "inspection_id, version"),
    t("violations", "inspection_id, position"),
    t("attachments", "sha256"),
    t("inspection_attachments", "inspection_id, sha256"),
    t("plan_indicators", "id"),
    t("activities", "id"),
];

/// Tables that belong to the database engine or to diesel, never backed up.
fn is_internal(name: &str) -> bool {
    name.starts_with("__diesel") || name.starts_with("sqlite_")
}

/// The kind of a column, and with it the form its values take in a backup.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// A JSON string.
    Text,
    /// A 32-bit integer: a JSON number.
    Int,
    /// A 64-bit integer: a JSON number.
    BigInt,
    /// A double, as the decimal string that reads back to the same bits
    /// (a JSON number would pass through a parser that may round).
    Float,
    /// `true` or `false` (SQLite stores 1 or 0).
    Bool,
    /// UTC without zone: `YYYY-MM-DD HH:MM:SS[.fraction]`.
    Timestamp,
    /// `YYYY-MM-DD`.
    Date,
    /// Lower-case hex.
    Bytes,
}

impl Kind {
    /// The kind of a declared type (SQLite) or `data_type` (PostgreSQL).
    fn of(declared: &str) -> Option<Kind> {
        let t = declared.to_ascii_lowercase();
        Some(if t.starts_with("timestamp") || t == "datetime" {
            Kind::Timestamp
        } else if t == "date" {
            Kind::Date
        } else if t.starts_with("bool") {
            Kind::Bool
        } else if t == "bigint" || t == "int8" {
            Kind::BigInt
        } else if t.contains("int") {
            Kind::Int
        } else if t.starts_with("double") || t == "real" || t.starts_with("float") {
            Kind::Float
        } else if t == "text" || t.contains("char") {
            Kind::Text
        } else if t == "blob" || t == "bytea" {
            Kind::Bytes
        } else {
            return None;
        })
    }
}

/// A column and its kind.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Column {
    /// Its name.
    pub name: String,
    /// Its kind.
    pub kind: Kind,
}

#[derive(QueryableByName)]
struct Name {
    #[diesel(sql_type = Text)]
    name: String,
}

#[derive(QueryableByName)]
struct ColumnRow {
    #[diesel(sql_type = Text)]
    name: String,
    #[diesel(sql_type = Text)]
    ty: String,
}

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

#[derive(QueryableByName)]
struct JsonRow {
    #[diesel(sql_type = Text)]
    row: String,
}

fn sql_err(what: &str) -> impl Fn(diesel::result::Error) -> String + '_ {
    move |e| format!("{what}: {e}")
}

/// Every table of the database's schema (the engine's and diesel's own
/// excepted), sorted.
pub fn live_tables(conn: &mut DbConnection) -> Result<Vec<String>, String> {
    let rows: Vec<Name> = match conn {
        DbConnection::Pg(c) => diesel::sql_query(
            "SELECT table_name::text AS name FROM information_schema.tables \
             WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'",
        )
        .load(c),
        DbConnection::Sqlite(c) => {
            diesel::sql_query("SELECT name FROM sqlite_master WHERE type = 'table'").load(c)
        }
    }
    .map_err(sql_err("list the tables"))?;
    let mut names: Vec<String> = rows
        .into_iter()
        .map(|r| r.name)
        .filter(|n| !is_internal(n))
        .collect();
    names.sort();
    Ok(names)
}

/// Checks that [`TABLES`] names exactly the database's tables.
pub fn check_table_list(conn: &mut DbConnection) -> Result<(), String> {
    let live = live_tables(conn)?;
    let missing: Vec<&str> = live
        .iter()
        .map(String::as_str)
        .filter(|n| !TABLES.iter().any(|t| t.name == *n))
        .collect();
    if !missing.is_empty() {
        return Err(format!(
            "table(s) {} are not in the backup's table list (src/db/backup.rs, TABLES): add them",
            missing.join(", ")
        ));
    }
    let gone: Vec<&str> = TABLES
        .iter()
        .map(|t| t.name)
        .filter(|n| !live.iter().any(|l| l == n))
        .collect();
    if !gone.is_empty() {
        return Err(format!(
            "the backup's table list names table(s) the database lacks: {}",
            gone.join(", ")
        ));
    }
    Ok(())
}

/// The columns of `table`, in the table's order.
pub fn columns(conn: &mut DbConnection, table: &str) -> Result<Vec<Column>, String> {
    let rows: Vec<ColumnRow> = match conn {
        DbConnection::Pg(c) => diesel::sql_query(
            "SELECT column_name::text AS name, data_type::text AS ty \
             FROM information_schema.columns \
             WHERE table_schema = current_schema() AND table_name = $1 ORDER BY ordinal_position",
        )
        .bind::<Text, _>(table)
        .load(c),
        DbConnection::Sqlite(c) => {
            diesel::sql_query("SELECT name, type AS ty FROM pragma_table_info(?) ORDER BY cid")
                .bind::<Text, _>(table)
                .load(c)
        }
    }
    .map_err(sql_err("read the columns"))?;
    rows.into_iter()
        .map(|r| {
            let kind = Kind::of(&r.ty).ok_or_else(|| {
                format!(
                    "{table}.{}: a backup does not know the type {} (src/db/backup.rs, Kind)",
                    r.name, r.ty
                )
            })?;
            Ok(Column { name: r.name, kind })
        })
        .collect()
}

/// Rows in `table`.
pub fn count(conn: &mut DbConnection, table: &str) -> Result<i64, String> {
    let q = format!("SELECT COUNT(*) AS n FROM {}", quote(table));
    let c: Count = crate::per_backend!(conn, |c| diesel::sql_query(&q).get_result(c))
        .map_err(sql_err(table))?;
    Ok(c.n)
}

fn quote(ident: &str) -> String {
    format!("\"{}\"", ident.replace('"', "\"\""))
}

/// Runs `f` inside one read-only snapshot: on PostgreSQL a `REPEATABLE READ`
/// transaction, on SQLite a read transaction (in WAL mode every read of it
/// sees the database as of its first read, while writers go on).
pub fn snapshot<T>(
    conn: &mut DbConnection,
    f: impl FnOnce(&mut DbConnection) -> Result<T, String>,
) -> Result<T, String> {
    match conn {
        DbConnection::Pg(c) => AnsiTransactionManager::begin_transaction_sql(
            c,
            "BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY",
        ),
        DbConnection::Sqlite(c) => AnsiTransactionManager::begin_transaction_sql(c, "BEGIN"),
    }
    .map_err(sql_err("begin the snapshot"))?;
    let out = f(conn);
    // Read-only: nothing to keep, and a commit after an error would fail.
    let end = <DbConnection as Connection>::TransactionManager::rollback_transaction(conn);
    let out = out?;
    end.map_err(sql_err("end the snapshot"))?;
    Ok(out)
}

/// The schema version: the newest migration applied.
pub fn schema_version(conn: &mut DbConnection) -> Result<Option<String>, String> {
    let versions = applied_versions(conn)?;
    Ok(versions.into_iter().max())
}

fn applied_versions(conn: &mut DbConnection) -> Result<Vec<String>, String> {
    let has: Vec<Name> = match conn {
        DbConnection::Pg(c) => diesel::sql_query(
            "SELECT table_name::text AS name FROM information_schema.tables \
             WHERE table_schema = current_schema() AND table_name = '__diesel_schema_migrations'",
        )
        .load(c),
        DbConnection::Sqlite(c) => diesel::sql_query(
            "SELECT name FROM sqlite_master WHERE name = '__diesel_schema_migrations'",
        )
        .load(c),
    }
    .map_err(sql_err("read the schema version"))?;
    if has.is_empty() {
        return Ok(Vec::new());
    }
    let rows: Vec<Name> = crate::per_backend!(conn, |c| diesel::sql_query(
        "SELECT version AS name FROM __diesel_schema_migrations"
    )
    .load(c))
    .map_err(sql_err("read the schema version"))?;
    Ok(rows.into_iter().map(|r| r.name).collect())
}

/// The versions of every migration this build knows, sorted.
pub fn known_versions(conn: &DbConnection) -> Vec<String> {
    use diesel::migration::MigrationSource;
    let mut v: Vec<String> = match conn {
        DbConnection::Pg(_) => MigrationSource::<diesel::pg::Pg>::migrations(&PG_MIGRATIONS)
            .map(|ms| ms.iter().map(|m| m.name().version().to_string()).collect())
            .unwrap_or_default(),
        DbConnection::Sqlite(_) => {
            MigrationSource::<diesel::sqlite::Sqlite>::migrations(&SQLITE_MIGRATIONS)
                .map(|ms| ms.iter().map(|m| m.name().version().to_string()).collect())
                .unwrap_or_default()
        }
    };
    v.sort();
    v
}

/// Applies the pending migrations up to and including `through` (all of
/// them with `None`), in order; returns how many ran.
pub fn migrate_through(conn: &mut DbConnection, through: Option<&str>) -> Result<usize, String> {
    macro_rules! run {
        ($c:expr, $source:expr) => {{
            let pending = $c
                .pending_migrations($source)
                .map_err(|e| format!("migration failed: {e}"))?;
            let mut pending: Vec<_> = pending.into_iter().collect();
            pending.sort_by_key(|m| m.name().version().to_string());
            let mut n = 0;
            for m in pending {
                if through.is_some_and(|t| m.name().version().to_string().as_str() > t) {
                    break;
                }
                $c.run_migration(&*m)
                    .map_err(|e| format!("migration {} failed: {e}", m.name()))?;
                n += 1;
            }
            Ok(n)
        }};
    }
    match conn {
        DbConnection::Pg(c) => run!(c, PG_MIGRATIONS),
        DbConnection::Sqlite(c) => run!(c, SQLITE_MIGRATIONS),
    }
}

/// The select expression of one column: its value as it goes into the
/// row's JSON array (doubles as exact decimal text, blobs as hex).
fn select_expr(conn: &DbConnection, col: &Column) -> String {
    let q = quote(&col.name);
    match (conn, col.kind) {
        (DbConnection::Pg(_), Kind::Float) => format!("{q}::text"),
        (DbConnection::Pg(_), Kind::Bytes) => format!("encode({q}, 'hex')"),
        // 17 significant digits read back to the same double; `!` lifts
        // SQLite's default limit of 16.
        (DbConnection::Sqlite(_), Kind::Float) => {
            format!("CASE WHEN {q} IS NULL THEN NULL ELSE printf('%!.17g', {q}) END")
        }
        (DbConnection::Sqlite(_), Kind::Bytes) => format!("lower(hex({q}))"),
        _ => q,
    }
}

/// Reads every row of `table` in its order, each as a JSON array in the
/// backup's form (see [`Kind`]), handing them to `each`; returns how many.
pub fn read_rows(
    conn: &mut DbConnection,
    table: &TableSpec,
    cols: &[Column],
    each: &mut dyn FnMut(Vec<Value>) -> Result<(), String>,
) -> Result<u64, String> {
    let exprs: Vec<String> = cols.iter().map(|c| select_expr(conn, c)).collect();
    // json_build_array takes at most 100 arguments: nest past that.
    let nested = matches!(conn, DbConnection::Pg(_)) && exprs.len() > 90;
    let select = match conn {
        DbConnection::Pg(_) if nested => format!(
            "json_build_array({})::text",
            exprs
                .chunks(90)
                .map(|c| format!("json_build_array({})", c.join(", ")))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        DbConnection::Pg(_) => format!("json_build_array({})::text", exprs.join(", ")),
        DbConnection::Sqlite(_) => format!("json_array({})", exprs.join(", ")),
    };
    let q = format!(
        "SELECT {select} AS row FROM {} ORDER BY {}",
        quote(table.name),
        table.order_by
    );
    let flatten = nested;
    let mut n = 0u64;
    let mut handle = |row: &str| -> Result<(), String> {
        let mut vals: Vec<Value> = serde_json::from_str(row)
            .map_err(|e| format!("{}: a row that is not JSON: {e}", table.name))?;
        if flatten {
            vals = vals
                .into_iter()
                .flat_map(|v| match v {
                    Value::Array(a) => a,
                    other => vec![other],
                })
                .collect();
        }
        if vals.len() != cols.len() {
            return Err(format!("{}: a row of {} values", table.name, vals.len()));
        }
        let row = vals
            .into_iter()
            .zip(cols)
            .map(|(v, c)| {
                to_backup_form(c, v).map_err(|e| format!("{}.{}: {e}", table.name, c.name))
            })
            .collect::<Result<Vec<_>, _>>()?;
        each(row)?;
        n += 1;
        Ok(())
    };
    match conn {
        DbConnection::Pg(c) => {
            // Not `COPY (query) TO STDOUT`: diesel 2.3's `copy_to(..).load_raw`
            // never reads the statement's final result, and the next
            // statement on the connection then fails with "another command
            // is already in progress".
            for r in diesel::sql_query(&q)
                .load_iter::<JsonRow, PgRowByRowLoadingMode>(c)
                .map_err(sql_err(table.name))?
            {
                handle(&r.map_err(sql_err(table.name))?.row)?;
            }
        }
        DbConnection::Sqlite(c) => {
            for r in diesel::sql_query(&q)
                .load_iter::<JsonRow, DefaultLoadingMode>(c)
                .map_err(sql_err(table.name))?
            {
                handle(&r.map_err(sql_err(table.name))?.row)?;
            }
        }
    }
    Ok(n)
}

const TIMESTAMP_OUT: &str = "%Y-%m-%d %H:%M:%S%.f";

fn parse_timestamp(s: &str) -> Result<NaiveDateTime, String> {
    NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S%.f")
        .or_else(|_| NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%.f"))
        .or_else(|_| NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M"))
        .map_err(|e| format!("not a timestamp ({s}): {e}"))
}

/// One value as the database gave it, in the backup's form for its kind.
fn to_backup_form(col: &Column, v: Value) -> Result<Value, String> {
    if v.is_null() {
        return Ok(v);
    }
    Ok(match (col.kind, v) {
        (Kind::Text, Value::String(s)) => Value::String(s),
        // A number in a TEXT column of SQLite (its affinity keeps it text,
        // but a hand-made file may not).
        (Kind::Text, Value::Number(n)) => Value::String(n.to_string()),
        (Kind::Int | Kind::BigInt, Value::Number(n)) if n.is_i64() => Value::Number(n),
        (Kind::Bool, Value::Bool(b)) => Value::Bool(b),
        (Kind::Bool, Value::Number(n)) => Value::Bool(n.as_i64() != Some(0)),
        (Kind::Float, Value::String(s)) => {
            let f: f64 = s
                .trim()
                .parse()
                .map_err(|e| format!("not a number ({s}): {e}"))?;
            Value::String(format!("{f:?}"))
        }
        (Kind::Float, Value::Number(n)) => {
            let f = n.as_f64().ok_or("not a number")?;
            Value::String(format!("{f:?}"))
        }
        (Kind::Timestamp, Value::String(s)) => {
            Value::String(parse_timestamp(&s)?.format(TIMESTAMP_OUT).to_string())
        }
        (Kind::Date, Value::String(s)) => {
            let d = NaiveDate::parse_from_str(&s, "%Y-%m-%d")
                .map_err(|e| format!("not a date ({s}): {e}"))?;
            Value::String(d.format("%Y-%m-%d").to_string())
        }
        (Kind::Bytes, Value::String(s)) => Value::String(s.to_ascii_lowercase()),
        (kind, v) => return Err(format!("a {kind:?} column holds {v}")),
    })
}

/// One value of the backup, typed for binding.
enum Typed {
    Text(Option<String>),
    Int(Option<i32>),
    BigInt(Option<i64>),
    Float(Option<f64>),
    Bool(Option<bool>),
    Timestamp(Option<NaiveDateTime>),
    Date(Option<NaiveDate>),
    Bytes(Option<Vec<u8>>),
}

fn typed(kind: Kind, v: &Value) -> Result<Typed, String> {
    let bad = || format!("a {kind:?} value cannot be {v}");
    let null = v.is_null();
    let s = || v.as_str().ok_or_else(bad);
    Ok(match kind {
        Kind::Text => Typed::Text(if null { None } else { Some(s()?.to_string()) }),
        Kind::Int => Typed::Int(if null {
            None
        } else {
            Some(
                v.as_i64()
                    .and_then(|i| i32::try_from(i).ok())
                    .ok_or_else(bad)?,
            )
        }),
        Kind::BigInt => Typed::BigInt(if null {
            None
        } else {
            Some(v.as_i64().ok_or_else(bad)?)
        }),
        Kind::Float => Typed::Float(if null {
            None
        } else {
            Some(s()?.parse().map_err(|_| bad())?)
        }),
        Kind::Bool => Typed::Bool(if null {
            None
        } else {
            Some(v.as_bool().ok_or_else(bad)?)
        }),
        Kind::Timestamp => Typed::Timestamp(if null {
            None
        } else {
            Some(parse_timestamp(s()?)?)
        }),
        Kind::Date => Typed::Date(if null {
            None
        } else {
            Some(NaiveDate::parse_from_str(s()?, "%Y-%m-%d").map_err(|_| bad())?)
        }),
        Kind::Bytes => Typed::Bytes(if null {
            None
        } else {
            Some(hex::decode(s()?).map_err(|_| bad())?)
        }),
    })
}

/// Rows of one statement: SQLite allows 32,766 bound values, PostgreSQL 65,535.
pub fn rows_per_insert(columns: usize) -> usize {
    (30_000 / columns.max(1)).clamp(1, 5_000)
}

macro_rules! bind_all {
    ($q:expr, $vals:expr) => {{
        let mut q = $q;
        for v in $vals {
            q = match v {
                Typed::Text(x) => q.bind::<Nullable<Text>, _>(x),
                Typed::Int(x) => q.bind::<Nullable<Integer>, _>(x),
                Typed::BigInt(x) => q.bind::<Nullable<BigInt>, _>(x),
                Typed::Float(x) => q.bind::<Nullable<Double>, _>(x),
                Typed::Bool(x) => q.bind::<Nullable<Bool>, _>(x),
                Typed::Timestamp(x) => q.bind::<Nullable<Timestamp>, _>(x),
                Typed::Date(x) => q.bind::<Nullable<Date>, _>(x),
                Typed::Bytes(x) => q.bind::<Nullable<Binary>, _>(x),
            };
        }
        q
    }};
}

/// Inserts `rows` (in the backup's form, values in the order of `cols`)
/// into `table`, inside the caller's transaction.
pub fn insert_rows(
    conn: &mut DbConnection,
    table: &str,
    cols: &[Column],
    rows: &[Vec<Value>],
) -> Result<(), String> {
    if rows.is_empty() {
        return Ok(());
    }
    let mut vals = Vec::with_capacity(rows.len() * cols.len());
    for row in rows {
        if row.len() != cols.len() {
            return Err(format!(
                "{table}: a row of {} values for {} columns",
                row.len(),
                cols.len()
            ));
        }
        for (v, c) in row.iter().zip(cols) {
            vals.push(typed(c.kind, v).map_err(|e| format!("{table}.{}: {e}", c.name))?);
        }
    }
    let names = cols
        .iter()
        .map(|c| quote(&c.name))
        .collect::<Vec<_>>()
        .join(", ");
    let mut sql = format!("INSERT INTO {} ({names}) VALUES ", quote(table));
    let pg = matches!(conn, DbConnection::Pg(_));
    let mut k = 0;
    for (i, _) in rows.iter().enumerate() {
        if i > 0 {
            sql.push_str(", ");
        }
        sql.push('(');
        for j in 0..cols.len() {
            if j > 0 {
                sql.push_str(", ");
            }
            k += 1;
            if pg {
                sql.push_str(&format!("${k}"));
            } else {
                sql.push('?');
            }
        }
        sql.push(')');
    }
    match conn {
        DbConnection::Pg(c) => {
            bind_all!(diesel::sql_query(sql).into_boxed::<diesel::pg::Pg>(), vals).execute(c)
        }
        DbConnection::Sqlite(c) => bind_all!(
            diesel::sql_query(sql).into_boxed::<diesel::sqlite::Sqlite>(),
            vals
        )
        .execute(c),
    }
    .map_err(sql_err(table))?;
    Ok(())
}

/// Deletes every row of `table` (a seeded table, before its rows are restored).
pub fn clear(conn: &mut DbConnection, table: &str) -> Result<(), String> {
    let q = format!("DELETE FROM {}", quote(table));
    crate::per_backend!(conn, |c| diesel::sql_query(&q).execute(c)).map_err(sql_err(table))?;
    Ok(())
}

/// Sets every PostgreSQL sequence that feeds a column past the column's
/// largest value, as if the restored rows had been inserted through it.
pub fn reset_sequences(conn: &mut DbConnection) -> Result<(), String> {
    let DbConnection::Pg(c) = conn else {
        // SQLite keeps AUTOINCREMENT counters up to date on every insert.
        return Ok(());
    };
    #[derive(QueryableByName)]
    struct Serial {
        #[diesel(sql_type = Text)]
        t: String,
        #[diesel(sql_type = Text)]
        c: String,
    }
    let serials: Vec<Serial> = diesel::sql_query(
        "SELECT table_name::text AS t, column_name::text AS c FROM information_schema.columns \
         WHERE table_schema = current_schema() AND column_default LIKE 'nextval(%'",
    )
    .load(c)
    .map_err(sql_err("list the sequences"))?;
    for s in serials {
        diesel::sql_query(format!(
            "SELECT setval(pg_get_serial_sequence($1, $2), COALESCE(MAX({col}), 0) + 1, false) FROM {tab}",
            col = quote(&s.c),
            tab = quote(&s.t)
        ))
        .bind::<Text, _>(&s.t)
        .bind::<Text, _>(&s.c)
        .execute(c)
        .map_err(sql_err("reset a sequence"))?;
    }
    Ok(())
}

// --- Restores at scale ------------------------------------------------------------

/// An index dropped for a restore's load and rebuilt after it.
#[derive(Debug, Clone)]
pub struct IndexDef {
    name: String,
    create: String,
}

/// Drops every secondary index that is neither unique nor behind a
/// constraint (so no key, uniqueness or foreign key check is ever off),
/// inside the restore's transaction, and returns them for
/// [`create_indexes`]: building an index once over all the rows is many
/// times cheaper than keeping it up to date through a million inserts in
/// random key order.
pub fn drop_secondary_indexes(conn: &mut DbConnection) -> Result<Vec<IndexDef>, String> {
    let rows: Vec<ColumnRow> = match conn {
        DbConnection::Pg(c) => diesel::sql_query(
            "SELECT i.relname::text AS name, pg_get_indexdef(i.oid) AS ty \
             FROM pg_index x \
             JOIN pg_class i ON i.oid = x.indexrelid \
             JOIN pg_class t ON t.oid = x.indrelid \
             JOIN pg_namespace n ON n.oid = t.relnamespace \
             WHERE n.nspname = current_schema() AND NOT x.indisunique AND NOT x.indisprimary \
               AND t.relname NOT LIKE '\\_\\_diesel%' \
               AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = x.indexrelid) \
             ORDER BY 1",
        )
        .load(c),
        DbConnection::Sqlite(c) => diesel::sql_query(
            "SELECT name, sql AS ty FROM sqlite_master \
             WHERE type = 'index' AND sql IS NOT NULL AND tbl_name NOT LIKE '\\_\\_diesel%' ESCAPE '\\' \
             ORDER BY 1",
        )
        .load(c),
    }
    .map_err(sql_err("list the indexes"))?;
    let mut dropped = Vec::new();
    for r in rows {
        // SQLite keeps the statement as written: a unique index is left alone.
        let head = r.ty.split('(').next().unwrap_or("").to_ascii_uppercase();
        if head.contains("UNIQUE") {
            continue;
        }
        let q = format!("DROP INDEX {}", quote(&r.name));
        crate::per_backend!(conn, |c| diesel::sql_query(&q).execute(c))
            .map_err(sql_err("drop an index"))?;
        dropped.push(IndexDef {
            name: r.name,
            create: r.ty,
        });
    }
    Ok(dropped)
}

/// Builds the indexes [`drop_secondary_indexes`] dropped, as they were.
pub fn create_indexes(conn: &mut DbConnection, indexes: &[IndexDef]) -> Result<(), String> {
    if let DbConnection::Pg(c) = conn {
        // For this transaction only: sort an index's keys in memory.
        diesel::sql_query("SET LOCAL maintenance_work_mem = '256MB'")
            .execute(c)
            .map_err(sql_err("set maintenance_work_mem"))?;
    }
    for ix in indexes {
        crate::per_backend!(conn, |c| diesel::sql_query(&ix.create).execute(c))
            .map_err(|e| format!("rebuild the index {}: {e}", ix.name))?;
    }
    Ok(())
}

/// The settings a restore changes on SQLite, to be put back.
#[derive(Debug)]
pub struct BulkLoad {
    sqlite: Option<(i64, String)>,
}

#[derive(QueryableByName)]
struct Setting {
    #[diesel(sql_type = Text)]
    v: String,
}

fn sqlite_setting(c: &mut diesel::SqliteConnection, pragma: &str) -> Result<String, String> {
    let r: Setting = diesel::sql_query(format!(
        "SELECT CAST({pragma} AS TEXT) AS v FROM pragma_{pragma}"
    ))
    .get_result(c)
    .map_err(sql_err(pragma))?;
    Ok(r.v)
}

/// Before a restore's transaction, on SQLite: a page cache large enough
/// for the load (the default 2 MB spills pages to disk all along), and the
/// rollback journal instead of the write-ahead log when no other
/// connection has the file open, so that each page is written once into
/// the database instead of once into the log and again at the checkpoint
/// (a rollback journal of a database that was empty holds almost nothing).
/// Durability is not traded: `synchronous` stays `FULL`, and in one
/// transaction it costs a few syncs at its commit. PostgreSQL needs nothing.
pub fn begin_bulk_load(conn: &mut DbConnection) -> Result<BulkLoad, String> {
    let DbConnection::Sqlite(c) = conn else {
        return Ok(BulkLoad { sqlite: None });
    };
    let cache: i64 = sqlite_setting(c, "cache_size")?
        .parse()
        .map_err(|e| format!("cache_size: {e}"))?;
    let journal = sqlite_setting(c, "journal_mode")?;
    diesel::sql_query("PRAGMA cache_size = -524288")
        .execute(c)
        .map_err(sql_err("cache_size"))?;
    // Refused (the database is locked) while another connection has the
    // file open: the restore then runs in WAL mode, only slower.
    let _ = c.batch_execute("PRAGMA journal_mode = DELETE");
    Ok(BulkLoad {
        sqlite: Some((cache, journal)),
    })
}

/// After a restore's transaction (committed or not): the settings as they
/// were. No checkpoint is needed for durability: the commit already synced
/// the database file (rollback journal, `synchronous = FULL`) or, when the
/// restore had to stay in WAL mode, the log.
pub fn end_bulk_load(conn: &mut DbConnection, was: BulkLoad) -> Result<(), String> {
    let (DbConnection::Sqlite(c), Some((cache, journal))) = (conn, was.sqlite) else {
        return Ok(());
    };
    let journal = match journal.to_ascii_lowercase().as_str() {
        j @ ("wal" | "delete" | "truncate" | "persist" | "memory" | "off") => j.to_string(),
        _ => "wal".to_string(),
    };
    c.batch_execute(&format!(
        "PRAGMA cache_size = {cache}; PRAGMA journal_mode = {journal};"
    ))
    .map_err(sql_err("put the settings back"))?;
    Ok(())
}

thread_local! {
    /// The target of the `COPY` being run on this thread (see [`CopyInto`]).
    static COPY_TARGET: std::cell::RefCell<String> = const { std::cell::RefCell::new(String::new()) };
}

/// A `COPY` target named at run time: diesel's `copy_from` knows tables of
/// the schema only, and a restore copies into the tables its manifest
/// names, with its columns. diesel asks for the target's SQL while it runs
/// the statement, on this thread: [`copy_in`] sets it just before.
struct CopyInto;

impl diesel::pg::CopyTarget for CopyInto {
    // Any table: diesel only needs one to type the query.
    type Table = crate::db::schema::org_units::table;
    type SqlType = Text;

    fn walk_target(
        mut pass: diesel::query_builder::AstPass<'_, '_, diesel::pg::Pg>,
    ) -> QueryResult<()> {
        COPY_TARGET.with(|t| pass.push_sql(&t.borrow()));
        Ok(())
    }
}

fn copy_error(e: String) -> diesel::result::Error {
    diesel::result::Error::QueryBuilderError(e.into())
}

/// `COPY table (columns) FROM STDIN` in text format, the rows written by
/// `write` into the buffered stream it is given.
fn copy_in(
    c: &mut diesel::PgConnection,
    target: String,
    write: &mut dyn FnMut(&mut dyn std::io::Write) -> Result<(), String>,
) -> Result<(), String> {
    COPY_TARGET.with(|t| *t.borrow_mut() = target);
    let write = std::cell::RefCell::new(write);
    let out = diesel::copy_from(crate::db::schema::org_units::table)
        .from_raw_data(CopyInto, |sink: &mut dyn std::io::Write| {
            let mut buf = std::io::BufWriter::with_capacity(1 << 18, sink);
            (write.borrow_mut())(&mut buf).map_err(copy_error)?;
            std::io::Write::flush(&mut buf).map_err(|e| copy_error(e.to_string()))
        })
        .execute(c);
    COPY_TARGET.with(|t| t.borrow_mut().clear());
    out.map(|_| ()).map_err(|e| e.to_string())
}

/// Appends `s` to a `COPY` text-format line, escaped.
fn copy_text(out: &mut Vec<u8>, s: &str) {
    for b in s.bytes() {
        match b {
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            b'\t' => out.extend_from_slice(b"\\t"),
            _ => out.push(b),
        }
    }
}

/// Appends one value of the backup to a `COPY` text-format line, checked
/// as [`typed`] checks it for an `INSERT`.
fn copy_value(out: &mut Vec<u8>, kind: Kind, v: &Value) -> Result<(), String> {
    use std::io::Write as _;
    if v.is_null() {
        out.extend_from_slice(b"\\N");
        return Ok(());
    }
    match typed(kind, v)? {
        Typed::Text(Some(s)) => copy_text(out, &s),
        Typed::Int(Some(i)) => write!(out, "{i}").expect("a Vec takes it"),
        Typed::BigInt(Some(i)) => write!(out, "{i}").expect("a Vec takes it"),
        Typed::Float(Some(f)) => {
            if f.is_nan() {
                out.extend_from_slice(b"NaN");
            } else if f.is_infinite() {
                out.extend_from_slice(if f > 0.0 { b"Infinity" } else { b"-Infinity" });
            } else {
                // The shortest decimal that reads back to the same bits.
                write!(out, "{f:?}").expect("a Vec takes it");
            }
        }
        Typed::Bool(Some(b)) => out.push(if b { b't' } else { b'f' }),
        Typed::Timestamp(Some(t)) => {
            write!(out, "{}", t.format(TIMESTAMP_OUT)).expect("a Vec takes it")
        }
        Typed::Date(Some(d)) => write!(out, "{}", d.format("%Y-%m-%d")).expect("a Vec takes it"),
        Typed::Bytes(Some(b)) => {
            out.extend_from_slice(b"\\\\x");
            out.extend_from_slice(hex::encode(b).as_bytes());
        }
        _ => out.extend_from_slice(b"\\N"),
    }
    Ok(())
}

/// Writes the rows `next` gives (values in the order of `cols`, in the
/// backup's form) into `table`, inside the caller's transaction: one `COPY`
/// on PostgreSQL, multi-row `INSERT`s on SQLite. `progress` hears the rows
/// written so far now and then. Returns how many.
pub fn load_rows(
    conn: &mut DbConnection,
    table: &str,
    cols: &[Column],
    next: &mut dyn FnMut() -> Result<Option<Vec<Value>>, String>,
    progress: &mut dyn FnMut(u64),
) -> Result<u64, String> {
    let mut done = 0u64;
    match conn {
        DbConnection::Pg(c) => {
            let names = cols
                .iter()
                .map(|c| quote(&c.name))
                .collect::<Vec<_>>()
                .join(", ");
            let mut line = Vec::with_capacity(4096);
            // An error of ours, kept whole: diesel's carries only its text.
            let mut failed = None;
            let out = copy_in(c, format!("{} ({names})", quote(table)), &mut |w| {
                let mut go = || -> Result<(), String> {
                    while let Some(row) = next()? {
                        if row.len() != cols.len() {
                            return Err(format!(
                                "{table}: a row of {} values for {} columns",
                                row.len(),
                                cols.len()
                            ));
                        }
                        line.clear();
                        for (i, (v, c)) in row.iter().zip(cols).enumerate() {
                            if i > 0 {
                                line.push(b'\t');
                            }
                            copy_value(&mut line, c.kind, v)
                                .map_err(|e| format!("{table}.{}: {e}", c.name))?;
                        }
                        line.push(b'\n');
                        w.write_all(&line).map_err(|e| format!("{table}: {e}"))?;
                        done += 1;
                        if done.is_multiple_of(50_000) {
                            progress(done);
                        }
                    }
                    Ok(())
                };
                go().inspect_err(|e| failed = Some(e.clone()))
            });
            if let Some(e) = failed {
                return Err(e);
            }
            out.map_err(|e| format!("{table}: {e}"))?;
        }
        DbConnection::Sqlite(_) => {
            let per = rows_per_insert(cols.len());
            let mut batch = Vec::with_capacity(per);
            while let Some(row) = next()? {
                batch.push(row);
                if batch.len() == per {
                    insert_rows(conn, table, cols, &batch)?;
                    done += batch.len() as u64;
                    batch.clear();
                    progress(done);
                }
            }
            insert_rows(conn, table, cols, &batch)?;
            done += batch.len() as u64;
        }
    }
    progress(done);
    Ok(done)
}

/// An error of a restore's transaction: ours, or the database's.
struct TxError(String);

impl From<diesel::result::Error> for TxError {
    fn from(e: diesel::result::Error) -> Self {
        TxError(e.to_string())
    }
}

/// Runs `f` in one write transaction (see [`crate::db::write_tx`]):
/// committed when it returns `Ok`, rolled back otherwise.
pub fn restore_tx<T>(
    conn: &mut DbConnection,
    f: impl FnOnce(&mut DbConnection) -> Result<T, String>,
) -> Result<T, String> {
    crate::db::write_tx(conn, |conn| f(conn).map_err(TxError)).map_err(|TxError(e)| e)
}
