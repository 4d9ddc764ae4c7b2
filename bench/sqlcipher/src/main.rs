//! The peer column of `chungtay-bench` (item 8 of docs/PERFORMANCE.md): the same inserts, search
//! and open as items 1, 2 and 3, on SQLCipher (what CommCare and DHIS2 Capture use on phones),
//! each against the same library with no key (plain SQLite) in the same process.
//!
//! `chungtay-bench` runs it with the rows it measured the core on; it is a binary of its own
//! because SQLCipher and the core's SQLite cannot be linked into one process (see Cargo.toml).
//! Its settings come from the environment, as the Kotlin side's do:
//! - `PEER_DIR`: where its databases go (the disk whose `fsync` is measured);
//! - `PEER_ROWS`: a file of rows, one a line: full name, folded name, village, then the padded
//!   JSON body, separated by tabs;
//! - `PEER_BATCH`, `PEER_REPS`, `PEER_REPS_SMALL`, `PEER_REPS_OPEN`: as the bench's sizes.
//!
//! It prints one `PEER` line per item: `PEER id key=value ...`, times in seconds.
// A benchmark binary: it prints its figures, and a failed setup step should just stop it.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)]

use std::path::{Path, PathBuf};
use std::time::Instant;

use rusqlite::{Connection, TransactionBehavior, params};

// The pragmas, tables, search and median of the main bench's plain baselines, word for word.
#[path = "../../src/same.rs"]
mod same;
use same::{like, median};

/// A passphrase, as an app without a key store would give it: SQLCipher 4 derives the key from
/// it with its defaults (PBKDF2-HMAC-SHA512, 256,000 iterations), at every open.
const PASSPHRASE: &str = "274915-Lò Thị Mai";

struct Row {
    full_name: String,
    folded: String,
    village: String,
    body: Vec<u8>,
}

fn env(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| panic!("{name} is not set (run by chungtay-bench)"))
}

fn env_usize(name: &str) -> usize {
    env(name)
        .parse()
        .unwrap_or_else(|_| panic!("{name} is not a number"))
}

fn timed(f: impl FnOnce()) -> f64 {
    let start = Instant::now();
    f();
    start.elapsed().as_secs_f64()
}

/// The two sides: SQLCipher with a key, and the same library with none (plain SQLite).
#[derive(Clone, Copy, PartialEq)]
enum Side {
    Plain,
    Cipher,
}

/// Opens with the pragmas and tables of the bench's plain baselines (`bench/src/same.rs`).
fn open(path: &Path, side: Side) -> Connection {
    let conn = Connection::open(path).unwrap();
    if side == Side::Cipher {
        conn.pragma_update(None, "key", PASSPHRASE).unwrap();
    }
    same::set_pragmas_and_members(&conn);
    conn.execute_batch(same::NAMES_TABLE).unwrap();
    conn
}

const CLUB: &str = "0b6c1f0e-9a4d-4f7e-8c2b-5d3a1e9f7c60";
const USER: &str = "6f1c2a8e-3d4b-4c5a-9e8f-0a1b2c3d4e5f";

/// An id at a pseudo-random place in the B-tree, as the core's UUIDs are (splitmix64 of the
/// row's number: distinct for distinct numbers).
fn id_for(n: u64) -> String {
    let mut x = n.wrapping_add(0x9e37_79b9_7f4a_7c15);
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    format!("{:016x}-{n:08x}", x ^ (x >> 31))
}

fn insert(conn: &Connection, n: u64, body: &[u8]) {
    let now = "2026-12-05T06:00:00.000000Z";
    conn.prepare_cached(
        "INSERT INTO members (id, club_id, body, created_at, created_by, updated_at, updated_by) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )
    .unwrap()
    .execute(params![id_for(n), CLUB, body, now, USER, now, USER])
    .unwrap();
}

fn txn(conn: &mut Connection, rows: &[Row], next: &mut u64) {
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .unwrap();
    for r in rows {
        *next += 1;
        insert(&tx, *next, &r.body);
    }
    tx.commit().unwrap();
}

/// 8a: one row per transaction (item 1a's shape), in batches, the sides alternating which goes
/// first; the ratio is the median of the batches' ratios, as 1a's.
fn item_8a(dir: &Path, rows: &[Row], batch: usize) {
    let mut conns = [
        open(&dir.join("one-plain.db"), Side::Plain),
        open(&dir.join("one-cipher.db"), Side::Cipher),
    ];
    let mut next = 0;
    let warm = (rows.len() / 20).clamp(10, 100);
    for r in &rows[..warm] {
        for c in &mut conns {
            txn(c, std::slice::from_ref(r), &mut next);
        }
    }
    let (mut plain, mut cipher) = (Vec::new(), Vec::new());
    for (round, chunk) in rows[warm..].chunks(batch).enumerate() {
        let n = chunk.len() as f64;
        for step in 0..2 {
            let side = (round + step) % 2;
            let t = timed(|| {
                for r in chunk {
                    txn(&mut conns[side], std::slice::from_ref(r), &mut next);
                }
            });
            [&mut plain, &mut cipher][side].push(n / t);
        }
    }
    let ratio = median(cipher.iter().zip(&plain).map(|(c, p)| c / p).collect());
    println!(
        "PEER 8a rows={} plain_rows_per_s={:.1} cipher_rows_per_s={:.1} ratio={ratio:.4}",
        rows.len() - warm,
        median(plain),
        median(cipher)
    );
}

/// 8b: `batch` rows in one transaction (item 1b/1d's shape), `reps` times a side, alternating.
fn item_8b(dir: &Path, rows: &[Row], reps: usize) {
    let mut conns = [
        open(&dir.join("bulk-plain.db"), Side::Plain),
        open(&dir.join("bulk-cipher.db"), Side::Cipher),
    ];
    let mut next = 0;
    for c in &mut conns {
        txn(c, rows, &mut next);
    }
    let mut times = [Vec::new(), Vec::new()];
    for i in 0..reps {
        for step in 0..2 {
            let side = (i + step) % 2;
            let t = timed(|| txn(&mut conns[side], rows, &mut next));
            times[side].push(t);
        }
    }
    let [plain, cipher] = times.map(median);
    println!(
        "PEER 8b rows={} plain_s={plain:.6} cipher_s={cipher:.6} ratio={:.4}",
        rows.len(),
        plain / cipher
    );
}

fn fill_names(conn: &mut Connection, rows: &[Row]) {
    let tx = conn.transaction().unwrap();
    for (n, r) in rows.iter().enumerate() {
        let year = 1960 + (n % 45) as i64;
        tx.prepare_cached("INSERT INTO names VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)")
            .unwrap()
            .execute(params![
                id_for(n as u64),
                CLUB,
                r.full_name,
                r.folded,
                year,
                r.village,
                Option::<String>::None
            ])
            .unwrap();
    }
    tx.commit().unwrap();
    conn.execute_batch("PRAGMA wal_checkpoint(TRUNCATE)")
        .unwrap();
}

/// 8c: item 2's search on an open connection with SQLCipher's default page cache.
fn item_8c(conns: &[Connection; 2], reps: usize) {
    let hits = like(&conns[0]).len();
    assert_eq!(
        hits,
        like(&conns[1]).len(),
        "the two sides found different rows"
    );
    for _ in 0..5 {
        for c in conns {
            std::hint::black_box(like(c));
        }
    }
    let mut times = [Vec::new(), Vec::new()];
    for i in 0..reps {
        for step in 0..2 {
            let side = (i + step) % 2;
            times[side].push(timed(|| {
                std::hint::black_box(like(&conns[side]));
            }));
        }
    }
    let [plain, cipher] = times.map(median);
    println!(
        "PEER 8c hits={hits} plain_s={plain:.7} cipher_s={cipher:.7} ratio={:.4}",
        cipher / plain
    );
}

/// 8d: what a list screen needs after the app starts: a new connection, the key, and every
/// member's list columns read. Timed in two parts on the same connection: the open with one read
/// of the schema (for SQLCipher, its KDF: PBKDF2 runs at the first read), then the read of every
/// row (each page decrypted, the connection's page cache being new).
fn item_8d(paths: &[PathBuf; 2], rows: usize, reps: usize) {
    let open_and_read = |side: usize| {
        let start = Instant::now();
        let conn = open(&paths[side], [Side::Plain, Side::Cipher][side]);
        let opened = start.elapsed().as_secs_f64();
        let start = Instant::now();
        let mut stmt = conn
            .prepare("SELECT id, club_id, full_name, birth_year, village, phone FROM names")
            .unwrap();
        let n = stmt
            .query_map([], |r| {
                Ok(std::hint::black_box((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, Option<i64>>(3)?,
                    r.get::<_, String>(4)?,
                    r.get::<_, Option<String>>(5)?,
                )))
            })
            .unwrap()
            .count();
        assert_eq!(n, rows);
        (opened, start.elapsed().as_secs_f64())
    };
    open_and_read(1);
    let mut times = [(Vec::new(), Vec::new()), (Vec::new(), Vec::new())];
    for i in 0..reps {
        for step in 0..2 {
            let side = (i + step) % 2;
            let (o, r) = open_and_read(side);
            times[side].0.push(o);
            times[side].1.push(r);
        }
    }
    let [(p_open, p_read), (c_open, c_read)] = times.map(|(o, r)| (median(o), median(r)));
    println!(
        "PEER 8d rows={rows} plain_open_s={p_open:.6} plain_read_s={p_read:.6} \
         cipher_open_s={c_open:.6} cipher_read_s={c_read:.6} ratio={:.4}",
        c_read / c_open
    );
}

/// The comparison means nothing unless the keyed side really is encrypted: the keyed file must
/// not hold SQLite's header or any name in its bytes, while the plain file does (so that this
/// check can fail).
fn check_encrypted(paths: &[PathBuf; 2], rows: &[Row]) {
    let bytes = paths.each_ref().map(|p| std::fs::read(p).unwrap());
    let holds = |hay: &[u8], needle: &[u8]| hay.windows(needle.len()).any(|w| w == needle);
    let probe = rows[0].folded.as_bytes();
    assert!(
        bytes[0].starts_with(b"SQLite format 3") && holds(&bytes[0], probe),
        "the plain file should show its rows"
    );
    assert!(
        !bytes[1].starts_with(b"SQLite format 3"),
        "SQLCipher's file has a plain header"
    );
    for r in rows.iter().take(200) {
        for needle in [r.folded.as_bytes(), r.full_name.as_bytes()] {
            assert!(!holds(&bytes[1], needle), "SQLCipher's file shows a name");
        }
    }
}

fn main() {
    let dir = PathBuf::from(env("PEER_DIR"));
    let text = std::fs::read_to_string(env("PEER_ROWS")).unwrap();
    let rows: Vec<Row> = text
        .lines()
        .filter(|l| !l.is_empty())
        .map(|l| {
            let mut f = l.splitn(4, '\t');
            let mut next = || f.next().expect("a row has four fields").to_owned();
            Row {
                full_name: next(),
                folded: next(),
                village: next(),
                body: next().into_bytes(),
            }
        })
        .collect();
    assert!(rows.len() >= 100, "too few rows to measure");
    let batch = env_usize("PEER_BATCH").min(rows.len());
    let probe = open(&dir.join("version.db"), Side::Cipher);
    let cipher: String = probe
        .query_row("PRAGMA cipher_version", [], |r| r.get(0))
        .unwrap();
    let sqlite: String = probe
        .query_row("SELECT sqlite_version()", [], |r| r.get(0))
        .unwrap();
    let provider: String = probe
        .query_row("PRAGMA cipher_provider_version", [], |r| r.get(0))
        .unwrap();
    drop(probe);
    println!("PEER version sqlcipher={cipher} sqlite={sqlite} provider={provider:?}");

    item_8a(&dir, &rows, batch);
    item_8b(&dir, &rows[..batch], env_usize("PEER_REPS_SMALL"));

    let paths = [dir.join("names-plain.db"), dir.join("names-cipher.db")];
    let mut conns = [open(&paths[0], Side::Plain), open(&paths[1], Side::Cipher)];
    for c in &mut conns {
        fill_names(c, &rows);
    }
    item_8c(&conns, env_usize("PEER_REPS"));
    drop(conns);
    check_encrypted(&paths, &rows);
    item_8d(&paths, rows.len(), env_usize("PEER_REPS_OPEN"));
}
