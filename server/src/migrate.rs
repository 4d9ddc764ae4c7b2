//! `migrate`: a province's database copied between SQLite and PostgreSQL, either way, row for
//! row (sealed bodies stay sealed bytes for bytes; referral numbers, status numbering,
//! checkpoint chains, staff accounts with their lockout state, sessions, tokens and the audit as
//! they were), in one transaction, then read back from both sides and compared.
//!
//! Both schemas have the same tables and column names (src/sqlite.rs, src/pg.rs), so one copy
//! and one comparison serve both directions: every column of every table, read from either
//! backend into [`Cell`]s and written to the other. Rate buckets are not copied: they refill
//! within a minute (and SQLite keeps them in the server's memory, not in the file).

use std::path::Path;

use postgres::types::ToSql;
use rusqlite::OpenFlags;
use rusqlite::types::{ToSqlOutput, ValueRef};

use crate::admin::Database;
use crate::error::{AdminError, StoreError};
use crate::pg::{self, PgStore};
use crate::sqlite;

/// The tables copied, parents before children, each with the order its rows are compared in.
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

impl rusqlite::ToSql for Cell {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(ToSqlOutput::Borrowed(match self {
            Cell::Null => ValueRef::Null,
            Cell::Int(n) => ValueRef::Integer(*n),
            Cell::Text(t) => ValueRef::Text(t.as_bytes()),
            Cell::Bytes(b) => ValueRef::Blob(b),
        }))
    }
}

/// A column's type, as both schemas declare it (SQLite INTEGER, TEXT, BLOB; PostgreSQL bigint,
/// text, bytea).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Kind {
    Int,
    Text,
    Bytes,
}

type Columns = Vec<(String, Kind)>;

/// One side of a copy: a plain connection, outside any store.
enum End {
    Sqlite(rusqlite::Connection),
    Pg(postgres::Client),
}

/// Copies the province database `from` into `to`, one SQLite and the other PostgreSQL, then
/// compares every row of every table on both sides. Refuses a PostgreSQL target that already
/// holds an intake schema, a SQLite target that already holds anything, and a source that holds
/// no intake database; none of these refusals writes anything.
pub fn migrate(from: &Database, to: &Database) -> Result<Migrated, AdminError> {
    if matches!(
        (from, to),
        (Database::Sqlite(_), Database::Sqlite(_)) | (Database::Postgres(_), Database::Postgres(_))
    ) {
        return Err(AdminError::Usage(
            "migrate copies between SQLite and PostgreSQL: one of --from and --to must be \
             sqlite:PATH, the other postgres://…",
        ));
    }
    // Every refusal before either side is written to.
    match to {
        Database::Sqlite(path) => refuse_used_file(path)?,
        Database::Postgres(url) => {
            if PgStore::has_schema(url)? {
                return Err(AdminError::SchemaExists);
            }
        }
    }
    let is_province = match from {
        Database::Sqlite(path) => {
            if !path.exists() {
                return Err(AdminError::Usage("--from: no such SQLite database"));
            }
            let conn = open_read_only(path)?;
            conn.query_row(
                "SELECT EXISTS (SELECT 1 FROM sqlite_master \
                 WHERE type = 'table' AND name = 'referrals')",
                [],
                |r| r.get(0),
            )
            .map_err(StoreError::from)?
        }
        Database::Postgres(url) => PgStore::has_schema(url)?,
    };
    if !is_province {
        return Err(AdminError::NotAProvince);
    }

    // Brings an older source's schema up first, as `serve` would.
    let mut src = match from {
        Database::Sqlite(path) => {
            drop(sqlite::connect(path)?);
            End::Sqlite(open_read_only(path)?)
        }
        Database::Postgres(url) => {
            drop(PgStore::open(url)?);
            End::Pg(pg::connect(url)?)
        }
    };
    // The target's schema made as the server makes it: a SQLite file with its mode and pragmas,
    // a PostgreSQL schema under the advisory lock an instance starting now would wait on.
    let mut dst = match to {
        Database::Sqlite(path) => End::Sqlite(sqlite::connect(path)?),
        Database::Postgres(url) => {
            drop(PgStore::open(url)?);
            End::Pg(pg::connect(url)?)
        }
    };

    let migrated = copy(&mut src, &mut dst)?;
    verify(&mut src, &mut dst)?;
    dst.settle()?;
    Ok(migrated)
}

/// A SQLite target must be new, or an empty file; a `-wal` beside it could hold pages of an
/// older database.
fn refuse_used_file(path: &Path) -> Result<(), AdminError> {
    let mut wal = path.as_os_str().to_owned();
    wal.push("-wal");
    if Path::new(&wal).exists() {
        return Err(AdminError::TargetNotEmpty);
    }
    match std::fs::metadata(path) {
        Ok(meta) if meta.len() > 0 => Err(AdminError::TargetNotEmpty),
        Ok(_) => {
            // An empty file made beforehand gets the mode the server gives the files it makes.
            #[cfg(unix)]
            {
                use std::os::unix::fs::PermissionsExt as _;
                std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))?;
            }
            Ok(())
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e.into()),
    }
}

fn open_read_only(path: &Path) -> Result<rusqlite::Connection, StoreError> {
    Ok(rusqlite::Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_ONLY,
    )?)
}

/// Every table, read from `src` in one snapshot and written to `dst` in one transaction.
fn copy(src: &mut End, dst: &mut End) -> Result<Migrated, AdminError> {
    let mut migrated = Migrated::default();
    src.begin(false)?;
    dst.begin(true)?;
    for (table, order) in TABLES {
        let cols = src.columns(table)?;
        let mut theirs = dst.columns(table)?;
        let mut ours = cols.clone();
        ours.sort();
        theirs.sort();
        if ours != theirs {
            return Err(AdminError::SchemaMismatch(table));
        }
        let rows = src.read(table, &cols, order)?;
        dst.insert(table, &cols, &rows)?;
        migrated.tables.push((table.to_string(), rows.len()));
    }
    dst.carry_on()?;
    dst.end()?;
    src.end()?;
    Ok(migrated)
}

/// Every row of every table, read again from both sides in the same order: equal, or an error
/// naming the table (never a value).
fn verify(src: &mut End, dst: &mut End) -> Result<(), AdminError> {
    src.begin(false)?;
    dst.begin(false)?;
    for (table, order) in TABLES {
        let cols = src.columns(table)?;
        if src.read(table, &cols, order)? != dst.read(table, &cols, order)? {
            return Err(AdminError::MigrationMismatch(table));
        }
    }
    dst.end()?;
    src.end()?;
    Ok(())
}

impl End {
    /// A read snapshot, or the write transaction of the copy.
    fn begin(&mut self, write: bool) -> Result<(), StoreError> {
        match self {
            End::Sqlite(c) => c.execute_batch(if write { "BEGIN IMMEDIATE" } else { "BEGIN" })?,
            End::Pg(c) => c.batch_execute(if write {
                "BEGIN"
            } else {
                "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"
            })?,
        }
        Ok(())
    }

    fn end(&mut self) -> Result<(), StoreError> {
        match self {
            End::Sqlite(c) => c.execute_batch("COMMIT")?,
            End::Pg(c) => c.batch_execute("COMMIT")?,
        }
        Ok(())
    }

    /// The table's columns in their declared order, with their types.
    fn columns(&mut self, table: &str) -> Result<Columns, StoreError> {
        let named: Vec<(String, String)> = match self {
            End::Sqlite(c) => c
                .prepare("SELECT name, type FROM pragma_table_info(?1) ORDER BY cid")?
                .query_map([table], |r| Ok((r.get(0)?, r.get(1)?)))?
                .collect::<Result<_, _>>()?,
            End::Pg(c) => c
                .query(
                    "SELECT column_name::text, data_type::text FROM information_schema.columns \
                     WHERE table_schema = current_schema() AND table_name = $1 \
                     ORDER BY ordinal_position",
                    &[&table],
                )?
                .iter()
                .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
                .collect::<Result<_, postgres::Error>>()?,
        };
        named
            .into_iter()
            .map(|(name, ty)| {
                let kind = match ty.to_ascii_lowercase().as_str() {
                    "integer" | "bigint" => Kind::Int,
                    "text" => Kind::Text,
                    "blob" | "bytea" => Kind::Bytes,
                    _ => return Err(StoreError::Config("migrate: a column of a type not copied")),
                };
                Ok((name, kind))
            })
            .collect()
    }

    /// Every row of the table, `cols` in that order, sorted by `order` in byte order on both
    /// backends.
    fn read(
        &mut self,
        table: &str,
        cols: &Columns,
        order: &str,
    ) -> Result<Vec<Vec<Cell>>, StoreError> {
        let list = column_list(cols);
        match self {
            End::Sqlite(c) => {
                let mut stmt =
                    c.prepare(&format!("SELECT {list} FROM {table} ORDER BY {order}"))?;
                let rows = stmt
                    .query_map([], |r| {
                        (0..cols.len())
                            .map(|i| {
                                Ok(match r.get_ref(i)? {
                                    ValueRef::Null => Cell::Null,
                                    ValueRef::Integer(n) => Cell::Int(n),
                                    ValueRef::Text(_) => Cell::Text(r.get(i)?),
                                    ValueRef::Blob(b) => Cell::Bytes(b.to_vec()),
                                    // No copied column is REAL (the tables are STRICT).
                                    ValueRef::Real(_) => {
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
                Ok(rows)
            }
            End::Pg(c) => {
                // Text keys in byte order, as SQLite sorts them.
                let order: Vec<String> = order
                    .split(", ")
                    .map(|key| {
                        if cols.iter().any(|(c, k)| c == key && *k == Kind::Text) {
                            format!("{key} COLLATE \"C\"")
                        } else {
                            key.to_string()
                        }
                    })
                    .collect();
                let rows = c.query(
                    &format!("SELECT {list} FROM {table} ORDER BY {}", order.join(", ")),
                    &[],
                )?;
                rows.iter()
                    .map(|row| {
                        cols.iter()
                            .enumerate()
                            .map(|(i, (_, kind))| {
                                Ok(match kind {
                                    Kind::Int => row.try_get::<_, Option<i64>>(i)?.map(Cell::Int),
                                    Kind::Text => {
                                        row.try_get::<_, Option<String>>(i)?.map(Cell::Text)
                                    }
                                    Kind::Bytes => {
                                        row.try_get::<_, Option<Vec<u8>>>(i)?.map(Cell::Bytes)
                                    }
                                }
                                .unwrap_or(Cell::Null))
                            })
                            .collect::<Result<Vec<Cell>, StoreError>>()
                    })
                    .collect()
            }
        }
    }

    fn insert(
        &mut self,
        table: &str,
        cols: &Columns,
        rows: &[Vec<Cell>],
    ) -> Result<(), StoreError> {
        let list = column_list(cols);
        match self {
            End::Sqlite(c) => {
                let marks: Vec<String> = (1..=cols.len()).map(|i| format!("?{i}")).collect();
                let mut stmt = c.prepare(&format!(
                    "INSERT INTO {table} ({list}) VALUES ({})",
                    marks.join(", ")
                ))?;
                for row in rows {
                    stmt.execute(rusqlite::params_from_iter(row))?;
                }
            }
            End::Pg(c) => {
                let marks: Vec<String> = (1..=cols.len()).map(|i| format!("${i}")).collect();
                // The audit's numbers are kept as they were, not drawn again.
                let overriding = if table == "staff_audit" {
                    "OVERRIDING SYSTEM VALUE"
                } else {
                    ""
                };
                let stmt = c.prepare(&format!(
                    "INSERT INTO {table} ({list}) {overriding} VALUES ({})",
                    marks.join(", ")
                ))?;
                for row in rows {
                    let params = row
                        .iter()
                        .zip(cols)
                        .map(|(cell, (_, kind))| pg_param(cell, *kind))
                        .collect::<Result<Vec<_>, _>>()?;
                    c.execute(&stmt, &params)?;
                }
            }
        }
        Ok(())
    }

    /// New referrals and audit lines are numbered after the copied ones.
    fn carry_on(&mut self) -> Result<(), StoreError> {
        match self {
            // AUTOINCREMENT: SQLite keeps the largest number inserted in sqlite_sequence.
            End::Sqlite(_) => {}
            End::Pg(c) => c.batch_execute(
                "UPDATE intake_counters SET value = (SELECT COALESCE(MAX(n), 0) FROM referrals) \
                 WHERE name = 'referrals';
                 SELECT setval(pg_get_serial_sequence('staff_audit', 'n'), \
                               (SELECT COALESCE(MAX(n), 0) + 1 FROM staff_audit), false);",
            )?,
        }
        Ok(())
    }

    /// A new SQLite file whole by itself: its write-ahead log folded in, so that copying the
    /// file alone (without its `-wal`) loses nothing.
    fn settle(&mut self) -> Result<(), StoreError> {
        if let End::Sqlite(c) = self {
            c.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))?;
        }
        Ok(())
    }
}

fn column_list(cols: &Columns) -> String {
    let names: Vec<&str> = cols.iter().map(|(c, _)| c.as_str()).collect();
    names.join(", ")
}

fn pg_param(cell: &Cell, kind: Kind) -> Result<&(dyn ToSql + Sync), StoreError> {
    Ok(match (kind, cell) {
        (Kind::Int, Cell::Int(n)) => n,
        (Kind::Int, Cell::Null) => &None::<i64>,
        (Kind::Text, Cell::Text(t)) => t,
        (Kind::Text, Cell::Null) => &None::<String>,
        (Kind::Bytes, Cell::Bytes(b)) => b,
        (Kind::Bytes, Cell::Null) => &None::<Vec<u8>>,
        _ => {
            return Err(StoreError::Config(
                "migrate: a value does not fit its PostgreSQL column",
            ));
        }
    })
}
