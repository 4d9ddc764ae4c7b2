//! What both bench binaries use, so that SQLCipher's peer (bench/sqlcipher, which includes this
//! file: it cannot depend on this crate) runs with the same pragmas, tables and query as the
//! plain baselines here: only rusqlite and std.

use rusqlite::Connection;

pub fn median(mut v: Vec<f64>) -> f64 {
    assert!(!v.is_empty(), "median of nothing");
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

/// The core's pragmas (its `open_pragmas`): WAL, synchronous=FULL, secure_delete, foreign keys,
/// temp_store=MEMORY; and a table shaped like the core's `members` (id, owner, body, stamps).
pub fn set_pragmas_and_members(conn: &Connection) {
    let mode: String = conn
        .query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))
        .unwrap();
    assert_eq!(mode.to_lowercase(), "wal");
    conn.execute_batch(
        "PRAGMA synchronous = FULL;
         PRAGMA secure_delete = ON;
         PRAGMA foreign_keys = ON;
         PRAGMA temp_store = MEMORY;
         PRAGMA busy_timeout = 5000;
         CREATE TABLE IF NOT EXISTS members (
             id TEXT PRIMARY KEY, club_id TEXT NOT NULL, body BLOB NOT NULL,
             created_at TEXT NOT NULL, created_by TEXT NOT NULL,
             updated_at TEXT NOT NULL, updated_by TEXT NOT NULL) STRICT;
         CREATE INDEX IF NOT EXISTS members_by_club ON members(club_id);",
    )
    .unwrap();
}

/// Item 2's plain table: what a list shows, and each name folded for search.
pub const NAMES_TABLE: &str = "CREATE TABLE IF NOT EXISTS names (id TEXT PRIMARY KEY,
    club_id TEXT NOT NULL, full_name TEXT NOT NULL, folded TEXT NOT NULL, birth_year INTEGER,
    village TEXT NOT NULL, phone TEXT) STRICT;";

/// A row of item 2's plain search: id, club, name, birth year, village, phone.
pub type Hit = (String, String, String, Option<i64>, String, Option<String>);

/// Item 2's plain search: the folded names, substring match, unsorted.
pub fn like(conn: &Connection) -> Vec<Hit> {
    let mut stmt = conn
        .prepare_cached(
            "SELECT id, club_id, full_name, birth_year, village, phone FROM names \
             WHERE folded LIKE '%nguyen thi%'",
        )
        .unwrap();
    stmt.query_map([], |r| {
        Ok((
            r.get(0)?,
            r.get(1)?,
            r.get(2)?,
            r.get(3)?,
            r.get(4)?,
            r.get(5)?,
        ))
    })
    .unwrap()
    .collect::<Result<_, _>>()
    .unwrap()
}
