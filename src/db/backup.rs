//! The SQL of backups and restores: which tables there are, reading every row
//! of them inside one snapshot, and writing them back into an empty database
//! of either backend. Rows travel as JSON arrays whose values have one
//! backend-neutral form per kind of column ([`Kind`]), so that a backup of
//! SQLite restores into PostgreSQL and back with every value as it was.

use chrono::{NaiveDate, NaiveDateTime};
use diesel::connection::{AnsiTransactionManager, DefaultLoadingMode, TransactionManager};
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
    let mut handle = |r: Result<JsonRow, diesel::result::Error>| -> Result<(), String> {
        let r = r.map_err(sql_err(table.name))?;
        let mut vals: Vec<Value> = serde_json::from_str(&r.row)
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
            for r in diesel::sql_query(&q)
                .load_iter::<JsonRow, PgRowByRowLoadingMode>(c)
                .map_err(sql_err(table.name))?
            {
                handle(r)?;
            }
        }
        DbConnection::Sqlite(c) => {
            for r in diesel::sql_query(&q)
                .load_iter::<JsonRow, DefaultLoadingMode>(c)
                .map_err(sql_err(table.name))?
            {
                handle(r)?;
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
