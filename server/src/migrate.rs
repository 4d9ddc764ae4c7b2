//! `migrate`: a province's SQLite database copied into an empty PostgreSQL database, row for row
//! (sealed bodies stay sealed, referral numbers, status numbering and checkpoint chains as they
//! were), in one transaction, then read back from both sides and compared.
//!
//! Both schemas have the same tables and column names (src/sqlite.rs, src/pg.rs), so the copy
//! is generic: every column of every table, typed by the PostgreSQL column it goes to.

use std::path::Path;

use postgres::types::ToSql;
use postgres::{NoTls, Transaction};
use rusqlite::OpenFlags;
use rusqlite::types::Value;

use crate::error::{AdminError, StoreError};
use crate::pg::PgStore;
use crate::sqlite::SqliteStore;

/// The tables copied, each with the order its rows are compared in. Rate buckets are not
/// copied: they refill within a minute.
const TABLES: [(&str, &str); 9] = [
    ("devices", "device_id"),
    ("enrollment_codes", "code_hash"),
    ("staff_tokens", "token_hash"),
    ("referrals", "n"),
    ("status_updates", "device_id, seq"),
    ("checkpoints", "device_id, seq"),
    ("staff_accounts", "account_id"),
    ("staff_sessions", "session_hash"),
    ("staff_audit", "n"),
];

/// What was copied: rows per table.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Migrated {
    pub tables: Vec<(String, usize)>,
}

/// A value as both databases can hold it.
#[derive(Clone, Debug, PartialEq)]
enum Cell {
    Null,
    Int(i64),
    Text(String),
    Bytes(Vec<u8>),
}

/// Copies the SQLite database at `from` into the empty PostgreSQL database `to`, then compares
/// every row of every table on both sides. Refuses a target that already holds an intake schema.
pub fn sqlite_to_postgres(from: &Path, to: &str) -> Result<Migrated, AdminError> {
    if !from.exists() {
        return Err(AdminError::Usage("--from: no such SQLite database"));
    }
    if PgStore::has_schema(to)? {
        return Err(AdminError::SchemaExists);
    }
    // Brings an older file's schema up first, as `serve` would.
    drop(SqliteStore::open(from)?);
    let src = rusqlite::Connection::open_with_flags(from, OpenFlags::SQLITE_OPEN_READ_ONLY)
        .map_err(StoreError::from)?;
    // Creates the schema (and takes the advisory lock an instance starting now would wait on).
    drop(PgStore::open(to)?);
    let config: postgres::Config = to
        .parse()
        .map_err(|_| StoreError::Config("not a PostgreSQL connection URL"))?;
    let mut pg = config.connect(NoTls).map_err(StoreError::from)?;

    let mut migrated = Migrated::default();
    let mut tx = pg.transaction().map_err(StoreError::from)?;
    for (table, order) in TABLES {
        let (cols, rows) = read_sqlite(&src, table, order)?;
        let types = pg_types(&mut tx, table, &cols)?;
        let list = cols.join(", ");
        let marks: Vec<String> = (1..=cols.len()).map(|i| format!("${i}")).collect();
        // The audit's numbers are kept as they were, not drawn again.
        let overriding = if table == "staff_audit" {
            "OVERRIDING SYSTEM VALUE"
        } else {
            ""
        };
        let stmt = tx
            .prepare(&format!(
                "INSERT INTO {table} ({list}) {overriding} VALUES ({})",
                marks.join(", ")
            ))
            .map_err(StoreError::from)?;
        for row in &rows {
            let params: Vec<Box<dyn ToSql + Sync>> = row
                .iter()
                .zip(&types)
                .map(|(cell, ty)| param(cell, ty))
                .collect::<Result<_, _>>()?;
            let refs: Vec<&(dyn ToSql + Sync)> = params.iter().map(|p| &**p).collect();
            tx.execute(&stmt, &refs).map_err(StoreError::from)?;
        }
        migrated.tables.push((table.to_string(), rows.len()));
    }
    // New referrals and audit lines are numbered after the copied ones.
    tx.batch_execute(
        "UPDATE intake_counters SET value = (SELECT COALESCE(MAX(n), 0) FROM referrals) \
         WHERE name = 'referrals';
         SELECT setval(pg_get_serial_sequence('staff_audit', 'n'), \
                       (SELECT COALESCE(MAX(n), 0) + 1 FROM staff_audit), false);",
    )
    .map_err(StoreError::from)?;
    tx.commit().map_err(StoreError::from)?;

    verify(&src, &mut pg)?;
    Ok(migrated)
}

/// Every row of every table, read again from both sides in the same order: equal, or an error
/// naming the table (never a value).
fn verify(src: &rusqlite::Connection, pg: &mut postgres::Client) -> Result<(), AdminError> {
    for (table, order) in TABLES {
        let (cols, want) = read_sqlite(src, table, order)?;
        let mut tx = pg.transaction().map_err(StoreError::from)?;
        let types = pg_types(&mut tx, table, &cols)?;
        // Text keys in byte order, as SQLite sorts them.
        let pg_order: Vec<String> = order
            .split(", ")
            .map(|key| {
                let text = cols
                    .iter()
                    .zip(&types)
                    .any(|(c, ty)| c == key && ty == "text");
                if text {
                    format!("{key} COLLATE \"C\"")
                } else {
                    key.to_string()
                }
            })
            .collect();
        let rows = tx
            .query(
                &format!(
                    "SELECT {} FROM {table} ORDER BY {}",
                    cols.join(", "),
                    pg_order.join(", ")
                ),
                &[],
            )
            .map_err(StoreError::from)?;
        let mut got = Vec::with_capacity(rows.len());
        for row in &rows {
            let mut cells = Vec::with_capacity(cols.len());
            for (i, ty) in types.iter().enumerate() {
                cells.push(match ty.as_str() {
                    "bigint" => row
                        .try_get::<_, Option<i64>>(i)
                        .map_err(StoreError::from)?
                        .map_or(Cell::Null, Cell::Int),
                    "text" => row
                        .try_get::<_, Option<String>>(i)
                        .map_err(StoreError::from)?
                        .map_or(Cell::Null, Cell::Text),
                    "bytea" => row
                        .try_get::<_, Option<Vec<u8>>>(i)
                        .map_err(StoreError::from)?
                        .map_or(Cell::Null, Cell::Bytes),
                    _ => return Err(StoreError::Config("migrate: unexpected column type").into()),
                });
            }
            got.push(cells);
        }
        tx.commit().map_err(StoreError::from)?;
        if got != want {
            return Err(AdminError::MigrationMismatch(table));
        }
    }
    Ok(())
}

fn read_sqlite(
    src: &rusqlite::Connection,
    table: &str,
    order: &str,
) -> Result<(Vec<String>, Vec<Vec<Cell>>), StoreError> {
    let mut info = src.prepare(&format!("SELECT name FROM pragma_table_info('{table}')"))?;
    let cols: Vec<String> = info
        .query_map([], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    let mut stmt = src.prepare(&format!(
        "SELECT {} FROM {table} ORDER BY {order}",
        cols.join(", ")
    ))?;
    let rows = stmt
        .query_map([], |r| {
            (0..cols.len())
                .map(|i| {
                    Ok(match r.get::<_, Value>(i)? {
                        Value::Null => Cell::Null,
                        Value::Integer(n) => Cell::Int(n),
                        Value::Text(t) => Cell::Text(t),
                        Value::Blob(b) => Cell::Bytes(b),
                        // No copied column is REAL (the rate buckets are not copied).
                        Value::Real(_) => {
                            return Err(rusqlite::Error::InvalidColumnType(
                                i,
                                "REAL".into(),
                                rusqlite::types::Type::Real,
                            ));
                        }
                    })
                })
                .collect::<rusqlite::Result<Vec<Cell>>>()
        })?
        .collect::<Result<_, _>>()?;
    Ok((cols, rows))
}

/// The PostgreSQL type of each column, by name (bigint, text or bytea).
fn pg_types(
    tx: &mut Transaction<'_>,
    table: &str,
    cols: &[String],
) -> Result<Vec<String>, StoreError> {
    cols.iter()
        .map(|c| {
            let row = tx.query_opt(
                "SELECT data_type::text FROM information_schema.columns \
                 WHERE table_schema = current_schema() AND table_name = $1 AND column_name = $2",
                &[&table, c],
            )?;
            match row {
                Some(r) => Ok(r.try_get(0)?),
                None => Err(StoreError::Config(
                    "migrate: a SQLite column has no PostgreSQL column",
                )),
            }
        })
        .collect()
}

fn param(cell: &Cell, ty: &str) -> Result<Box<dyn ToSql + Sync>, StoreError> {
    Ok(match (ty, cell) {
        ("bigint", Cell::Int(n)) => Box::new(*n),
        ("bigint", Cell::Null) => Box::new(None::<i64>),
        ("text", Cell::Text(t)) => Box::new(t.clone()),
        ("text", Cell::Null) => Box::new(None::<String>),
        ("bytea", Cell::Bytes(b)) => Box::new(b.clone()),
        ("bytea", Cell::Null) => Box::new(None::<Vec<u8>>),
        _ => {
            return Err(StoreError::Config(
                "migrate: a SQLite value does not fit its PostgreSQL column",
            ));
        }
    })
}
