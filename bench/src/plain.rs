//! The baselines: the same rows in plain SQLite (rusqlite, same bundled SQLite, same pragmas as
//! the core's `open_pragmas`), and the core's sealing redone with ring outside the core (its
//! `crypto` module is private; this mirrors `crypto::seal` and `Store::add_member` step by step).

use std::path::Path;

use chrono::{SecondsFormat, Utc};
use ring::aead::{Aad, CHACHA20_POLY1305, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use ring::rand::{SecureRandom, SystemRandom};
use rusqlite::{Connection, TransactionBehavior, params};

pub fn now_text() -> String {
    Utc::now().to_rfc3339_opts(SecondsFormat::Micros, true)
}

/// A plain database with the core's pragmas: WAL, synchronous=FULL, secure_delete, foreign
/// keys, temp_store=MEMORY. Tables shaped like the core's (id, owner, body, four stamps).
pub fn open(path: &Path) -> Connection {
    let conn = Connection::open(path).unwrap();
    crate::same::set_pragmas_and_members(&conn);
    conn.execute_batch(
        "CREATE TABLE IF NOT EXISTS member_keys (
             member_id TEXT PRIMARY KEY, wrapped_key BLOB NOT NULL) STRICT;
         CREATE TABLE IF NOT EXISTS audit_log (
             seq INTEGER PRIMARY KEY, at TEXT NOT NULL, user_id TEXT NOT NULL, role TEXT NOT NULL,
             device_id TEXT NOT NULL, action TEXT NOT NULL, kind TEXT NOT NULL,
             record_id TEXT NOT NULL, fields TEXT NOT NULL, mac BLOB NOT NULL) STRICT;
         CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value BLOB NOT NULL) STRICT;",
    )
    .unwrap();
    conn
}

const USER: &str = "6f1c2a8e-3d4b-4c5a-9e8f-0a1b2c3d4e5f";

fn insert_member(conn: &Connection, id: &str, club_id: &str, body: &[u8]) {
    let now = now_text();
    conn.prepare_cached(
        "INSERT INTO members (id, club_id, body, created_at, created_by, updated_at, updated_by) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )
    .unwrap()
    .execute(params![id, club_id, body, now, USER, now, USER])
    .unwrap();
}

/// One member row per transaction, nothing else: "plain SQLite".
pub fn insert_one(conn: &mut Connection, club_id: &str, body: &[u8]) {
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .unwrap();
    insert_member(&tx, &uuid::Uuid::new_v4().to_string(), club_id, body);
    tx.commit().unwrap();
}

/// What `Store::add_member` writes, without any cryptography: a key row (77 bytes, the size of
/// a wrapped member key), the member row, an audit row (32-byte MAC) and the audit head in
/// `meta` (INSERT OR REPLACE), in one transaction.
pub fn insert_same_shape(conn: &mut Connection, club_id: &str, body: &[u8], seq: i64) {
    let id = uuid::Uuid::new_v4().to_string();
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .unwrap();
    tx.prepare_cached("INSERT INTO member_keys (member_id, wrapped_key) VALUES (?1, ?2)")
        .unwrap()
        .execute(params![id, [7u8; 77].as_slice()])
        .unwrap();
    insert_member(&tx, &id, club_id, body);
    tx.prepare_cached(
        "INSERT INTO audit_log (seq, at, user_id, role, device_id, action, kind, record_id, \
         fields, mac) VALUES (?1, ?2, ?3, 'leader', ?4, 'create', 'member', ?5, '', ?6)",
    )
    .unwrap()
    .execute(params![
        seq,
        now_text(),
        USER,
        USER,
        id,
        [9u8; 32].as_slice()
    ])
    .unwrap();
    tx.prepare_cached("INSERT OR REPLACE INTO meta (name, value) VALUES ('audit_head', ?1)")
        .unwrap()
        .execute([[seq as u8; 72].as_slice()])
        .unwrap();
    tx.commit().unwrap();
}

/// `rows` member rows in ONE transaction (the "1,000 per transaction"), plain JSON.
pub fn insert_batch_plain(conn: &mut Connection, club_id: &str, bodies: &[Vec<u8>]) {
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .unwrap();
    for body in bodies {
        insert_member(&tx, &uuid::Uuid::new_v4().to_string(), club_id, body);
    }
    tx.commit().unwrap();
}

/// The same rows sealed as the core seals a member, in ONE transaction: per row a fresh member
/// key, that key wrapped under the store's member-wrap key into `member_keys`, and the body
/// sealed under the member key into `members`. Without `with_keys`, the wrapped keys are made
/// but not stored (to tell the cost of the key rows from that of sealing).
pub fn insert_batch_sealed(
    conn: &mut Connection,
    club_id: &str,
    bodies: &[Vec<u8>],
    sealer: &Sealer,
    with_keys: bool,
) {
    let sealed: Vec<SealedMember> = bodies.iter().map(|b| sealer.member(club_id, b)).collect();
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .unwrap();
    for m in &sealed {
        if with_keys {
            tx.prepare_cached("INSERT INTO member_keys (member_id, wrapped_key) VALUES (?1, ?2)")
                .unwrap()
                .execute(params![m.id, m.wrapped])
                .unwrap();
        }
        insert_member(&tx, &m.id, club_id, &m.body);
    }
    tx.commit().unwrap();
}

pub struct SealedMember {
    pub id: String,
    pub wrapped: Vec<u8>,
    pub body: Vec<u8>,
}

/// The core's record envelope: `[1][key id 16][nonce 12][ChaCha20-Poly1305 ciphertext+tag]`,
/// AAD = label, table, kind, id, bound plaintext columns, header.
pub struct Sealer {
    wrap_key: [u8; 32],
    store_kid: [u8; 16],
}

impl Default for Sealer {
    fn default() -> Self {
        let mut wrap_key = [0u8; 32];
        SystemRandom::new().fill(&mut wrap_key).unwrap();
        Sealer {
            wrap_key,
            store_kid: *uuid::Uuid::new_v4().as_bytes(),
        }
    }
}

fn seal(key: &[u8; 32], kid: &[u8; 16], place: [&str; 4], plain: &[u8]) -> Vec<u8> {
    let mut nonce = [0u8; NONCE_LEN];
    SystemRandom::new().fill(&mut nonce).unwrap();
    let mut out = Vec::with_capacity(1 + 16 + NONCE_LEN + plain.len() + 16);
    out.push(1);
    out.extend_from_slice(kid);
    out.extend_from_slice(&nonce);
    let mut aad = Vec::with_capacity(128);
    aad.extend_from_slice(b"chungtay.record.v1\0");
    for part in place {
        aad.extend_from_slice(part.as_bytes());
        aad.push(0);
    }
    aad.extend_from_slice(&out);
    let mut body = plain.to_vec();
    let key = LessSafeKey::new(UnboundKey::new(&CHACHA20_POLY1305, key).unwrap());
    let tag = key
        .seal_in_place_separate_tag(
            Nonce::assume_unique_for_key(nonce),
            Aad::from(&aad),
            &mut body,
        )
        .unwrap();
    out.extend_from_slice(&body);
    out.extend_from_slice(tag.as_ref());
    out
}

impl Sealer {
    /// What `add_member` does before it touches SQLite: new id, new member key, wrap it, seal
    /// the (already serialised, padded) body bound to the row's plaintext columns.
    pub fn member(&self, club_id: &str, body: &[u8]) -> SealedMember {
        let uuid = uuid::Uuid::new_v4();
        let id = uuid.to_string();
        let mut member_key = [0u8; 32];
        SystemRandom::new().fill(&mut member_key).unwrap();
        let wrapped = seal(
            &self.wrap_key,
            &self.store_kid,
            ["member_keys", "member_key", &id, ""],
            &member_key,
        );
        let now = now_text();
        let bound = format!("{club_id}\u{1f}\u{1f}{now}\u{1f}{USER}\u{1f}{now}\u{1f}{USER}");
        let body = seal(
            &member_key,
            uuid.as_bytes(),
            ["members", "member", &id, &bound],
            body,
        );
        SealedMember { id, wrapped, body }
    }
}

/// The rows one `add_members` batch wrote, read back from the core's file as they are (sealed
/// bytes and all), to be written again by plain rusqlite (item 1d′).
pub struct CoreBatch {
    /// Per member, in the order the core wrote them: her key row, her member row, her trail
    /// entry.
    rows: Vec<[Vec<rusqlite::types::Value>; 3]>,
    head: Vec<u8>,
}

/// A copy of the core's file (schema, indexes and rows) for item 1d′, opened with the core's
/// pragmas, and where in each table the next batch's rows will start.
pub struct Replay {
    conn: Connection,
    after: [i64; 3],
}

const REPLAYED: [&str; 3] = ["member_keys", "members", "audit_log"];

impl Replay {
    pub fn copy_of(core_db: &Path, to: &Path) -> Replay {
        let src = Connection::open(core_db).unwrap();
        src.execute("VACUUM INTO ?1", [to.to_str().unwrap()])
            .unwrap();
        let after = REPLAYED.map(|t| {
            src.query_row(
                &format!("SELECT coalesce(max(rowid), 0) FROM {t}"),
                [],
                |r| r.get(0),
            )
            .unwrap()
        });
        let conn = Connection::open(to).unwrap();
        let mode: String = conn
            .query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))
            .unwrap();
        assert_eq!(mode.to_lowercase(), "wal");
        conn.execute_batch(
            "PRAGMA synchronous = FULL; PRAGMA secure_delete = ON; PRAGMA foreign_keys = ON;
             PRAGMA temp_store = MEMORY; PRAGMA busy_timeout = 5000;",
        )
        .unwrap();
        Replay { conn, after }
    }

    /// What the core wrote since the last call, read from its file (not timed).
    pub fn read_batch(&mut self, core_db: &Path, n: usize) -> CoreBatch {
        let src = Connection::open(core_db).unwrap();
        let mut tables = Vec::new();
        for (t, after) in REPLAYED.iter().zip(self.after.iter_mut()) {
            let mut stmt = src
                .prepare(&format!(
                    "SELECT rowid, * FROM {t} WHERE rowid > ?1 ORDER BY rowid"
                ))
                .unwrap();
            let cols = stmt.column_count();
            let rows: Vec<(i64, Vec<rusqlite::types::Value>)> = stmt
                .query_map([*after], |r| {
                    Ok((
                        r.get(0)?,
                        (1..cols).map(|i| r.get(i)).collect::<Result<_, _>>()?,
                    ))
                })
                .unwrap()
                .collect::<Result<_, _>>()
                .unwrap();
            assert_eq!(rows.len(), n, "{t}: one row a member");
            *after = rows.last().unwrap().0;
            tables.push(rows.into_iter().map(|(_, v)| v));
        }
        let [mut keys, mut members, mut trail] = <[_; 3]>::try_from(tables).ok().unwrap();
        let rows = (0..n)
            .map(|_| {
                [
                    keys.next().unwrap(),
                    members.next().unwrap(),
                    trail.next().unwrap(),
                ]
            })
            .collect();
        let head = src
            .query_row(
                "SELECT value FROM meta WHERE name = 'audit_head'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        CoreBatch { rows, head }
    }

    /// Writes a batch as the core does (per member: key, member, trail entry; then the trail's
    /// head), with the same statements' shapes, in one transaction: no cryptography, no checks.
    pub fn write(&mut self, batch: &CoreBatch) {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .unwrap();
        let sql = std::array::from_fn::<_, 3, _>(|i| {
            let marks = vec!["?"; batch.rows[0][i].len()].join(", ");
            format!("INSERT INTO {} VALUES ({marks})", REPLAYED[i])
        });
        for row in &batch.rows {
            for (sql, values) in sql.iter().zip(row) {
                tx.prepare_cached(sql)
                    .unwrap()
                    .execute(rusqlite::params_from_iter(values))
                    .unwrap();
            }
        }
        tx.prepare_cached(
            "INSERT INTO meta (name, value) VALUES ('audit_head', ?1) \
             ON CONFLICT (name) DO UPDATE SET value = excluded.value",
        )
        .unwrap()
        .execute([&batch.head])
        .unwrap();
        tx.commit().unwrap();
    }
}
