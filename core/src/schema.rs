//! Schema and migrations, versioned by `PRAGMA user_version`.
//!
//! Plaintext columns hold only what queries need (ids, foreign keys, stamps, states); every
//! `body` is a sealed envelope. docs/SECURITY.md lists each plaintext column and why.

use rusqlite::Connection;

use crate::error::{Error, Result};

/// Step N (1-based) takes a store from version N-1 to N. Never edit a released step; add one.
pub(crate) const MIGRATIONS: &[&str] = &[
    // 1: the first release.
    r#"
CREATE TABLE meta (
    name TEXT PRIMARY KEY,
    value BLOB NOT NULL
) STRICT;
CREATE TABLE users (
    id TEXT PRIMARY KEY,
    role TEXT NOT NULL,
    kdf_salt BLOB NOT NULL,
    kdf_m_kib INTEGER NOT NULL,
    kdf_t INTEGER NOT NULL,
    kdf_p INTEGER NOT NULL,
    wrapped_key BLOB NOT NULL,
    profile BLOB NOT NULL,
    created_at TEXT NOT NULL,
    created_by TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    updated_by TEXT NOT NULL
) STRICT;
CREATE TABLE clubs (
    id TEXT PRIMARY KEY,
    body BLOB NOT NULL,
    created_at TEXT NOT NULL,
    created_by TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    updated_by TEXT NOT NULL
) STRICT;
CREATE TABLE member_keys (
    member_id TEXT PRIMARY KEY,
    wrapped_key BLOB NOT NULL
) STRICT;
CREATE TABLE members (
    id TEXT PRIMARY KEY,
    club_id TEXT NOT NULL REFERENCES clubs(id),
    body BLOB NOT NULL,
    created_at TEXT NOT NULL,
    created_by TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    updated_by TEXT NOT NULL
) STRICT;
CREATE INDEX members_by_club ON members(club_id);
CREATE TABLE consents (
    id TEXT PRIMARY KEY,
    member_id TEXT NOT NULL REFERENCES members(id),
    body BLOB NOT NULL,
    created_at TEXT NOT NULL,
    created_by TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    updated_by TEXT NOT NULL
) STRICT;
CREATE INDEX consents_by_member ON consents(member_id);
CREATE TABLE meetings (
    id TEXT PRIMARY KEY,
    club_id TEXT NOT NULL REFERENCES clubs(id),
    meeting_date TEXT NOT NULL,
    body BLOB NOT NULL,
    created_at TEXT NOT NULL,
    created_by TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    updated_by TEXT NOT NULL
) STRICT;
CREATE INDEX meetings_by_club_date ON meetings(club_id, meeting_date);
CREATE TABLE referrals (
    id TEXT PRIMARY KEY,
    member_id TEXT NOT NULL REFERENCES members(id),
    state TEXT NOT NULL,
    body BLOB NOT NULL,
    created_at TEXT NOT NULL,
    created_by TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    updated_by TEXT NOT NULL
) STRICT;
CREATE INDEX referrals_by_member ON referrals(member_id);
CREATE INDEX referrals_by_state ON referrals(state, updated_at);
"#,
    // 2: livelihood support records.
    r#"
CREATE TABLE livelihood (
    id TEXT PRIMARY KEY,
    member_id TEXT NOT NULL REFERENCES members(id),
    body BLOB NOT NULL,
    created_at TEXT NOT NULL,
    created_by TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    updated_by TEXT NOT NULL
) STRICT;
CREATE INDEX livelihood_by_member ON livelihood(member_id);
"#,
    // 3: the audit trail, its checkpoints, and auditors' annotations.
    r#"
CREATE TABLE audit_log (
    seq INTEGER PRIMARY KEY,
    at TEXT NOT NULL,
    user_id TEXT NOT NULL,
    role TEXT NOT NULL,
    device_id TEXT NOT NULL,
    action TEXT NOT NULL,
    kind TEXT NOT NULL,
    record_id TEXT NOT NULL,
    fields TEXT NOT NULL,
    mac BLOB NOT NULL
) STRICT;
CREATE TABLE audit_pending (
    id INTEGER PRIMARY KEY,
    at TEXT NOT NULL,
    user_id TEXT NOT NULL,
    action TEXT NOT NULL
) STRICT;
CREATE TABLE audit_checkpoints (
    seq INTEGER PRIMARY KEY,
    head BLOB NOT NULL,
    at TEXT NOT NULL,
    signature BLOB NOT NULL
) STRICT;
CREATE TABLE annotations (
    id TEXT PRIMARY KEY,
    record_kind TEXT NOT NULL,
    record_id TEXT NOT NULL,
    body BLOB NOT NULL,
    created_at TEXT NOT NULL,
    created_by TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    updated_by TEXT NOT NULL
) STRICT;
CREATE INDEX annotations_by_record ON annotations(record_kind, record_id);
"#,
    // 4: the outbox of referrals sealed for the province.
    r#"
CREATE TABLE outbox (
    referral_id TEXT PRIMARY KEY,
    submission BLOB NOT NULL,
    payload_hash BLOB NOT NULL,
    state TEXT NOT NULL,
    attempts INTEGER NOT NULL,
    next_attempt_at TEXT NOT NULL,
    not_before TEXT NOT NULL,
    last_error TEXT NOT NULL,
    receipt BLOB
) STRICT;
CREATE INDEX outbox_due ON outbox(state, next_attempt_at);
"#,
    // 5: each record carries the sequence number of the trail entry that last wrote it (bound
    // into its seal, so an older copy of a row no longer matches the trail), and the changed
    // field names of trail entries are sealed (they told which protected field changed).
    r#"
ALTER TABLE clubs ADD COLUMN version INTEGER NOT NULL DEFAULT 0;
ALTER TABLE members ADD COLUMN version INTEGER NOT NULL DEFAULT 0;
ALTER TABLE consents ADD COLUMN version INTEGER NOT NULL DEFAULT 0;
ALTER TABLE meetings ADD COLUMN version INTEGER NOT NULL DEFAULT 0;
ALTER TABLE referrals ADD COLUMN version INTEGER NOT NULL DEFAULT 0;
ALTER TABLE livelihood ADD COLUMN version INTEGER NOT NULL DEFAULT 0;
ALTER TABLE audit_log ADD COLUMN fields_sealed BLOB;
CREATE INDEX audit_by_record ON audit_log(kind, record_id, seq);
INSERT INTO meta (name, value) VALUES ('reseal_pending', x'01');
"#,
    // 6: the writes of each record in the trail, in an index that holds all a check against
    // the trail reads, so an unlock's pass over every member's last write never reads the
    // trail's rows (only the action, the one column it lacked, sent it there).
    r#"
CREATE INDEX audit_writes ON audit_log(kind, record_id, seq, action)
    WHERE action IN ('create', 'update', 'delete');
"#,
    // 7: the trail entries a duress decoy may show (none about members or their records, nor
    // the duress PIN's), in an index of their own: refreshing the decoy at every unlock and
    // lock read the trail backwards past every member's and meeting's entry to find its newest
    // 1,000. Members' and meetings' entries are not in it, so their writes do not pay for it.
    // Its condition is `safety::DECOY_ENTRIES` word for word (a test holds them together). A
    // kind added to the decoy's is a new step that drops and makes the index again.
    r#"
CREATE INDEX audit_decoy ON audit_log(seq)
    WHERE kind NOT IN ('member', 'member_key', 'consent', 'meeting', 'livelihood', 'referral', 'annotation') AND record_id != 'duress';
"#,
];

pub(crate) const CURRENT_VERSION: i64 = MIGRATIONS.len() as i64;

/// The whole current schema, for new stores: one step instead of replaying history.
/// A test proves a store upgraded step by step ends with exactly this schema.
// Columns added by a migration are written as SQLite records ALTER TABLE (", col ...)").
pub(crate) const FRESH_SCHEMA: &str = r#"
CREATE TABLE meta (
    name TEXT PRIMARY KEY,
    value BLOB NOT NULL
) STRICT;
CREATE TABLE users (
    id TEXT PRIMARY KEY,
    role TEXT NOT NULL,
    kdf_salt BLOB NOT NULL,
    kdf_m_kib INTEGER NOT NULL,
    kdf_t INTEGER NOT NULL,
    kdf_p INTEGER NOT NULL,
    wrapped_key BLOB NOT NULL,
    profile BLOB NOT NULL,
    created_at TEXT NOT NULL,
    created_by TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    updated_by TEXT NOT NULL
) STRICT;
CREATE TABLE clubs (
    id TEXT PRIMARY KEY,
    body BLOB NOT NULL,
    created_at TEXT NOT NULL,
    created_by TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    updated_by TEXT NOT NULL
, version INTEGER NOT NULL DEFAULT 0) STRICT;
CREATE TABLE member_keys (
    member_id TEXT PRIMARY KEY,
    wrapped_key BLOB NOT NULL
) STRICT;
CREATE TABLE members (
    id TEXT PRIMARY KEY,
    club_id TEXT NOT NULL REFERENCES clubs(id),
    body BLOB NOT NULL,
    created_at TEXT NOT NULL,
    created_by TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    updated_by TEXT NOT NULL
, version INTEGER NOT NULL DEFAULT 0) STRICT;
CREATE INDEX members_by_club ON members(club_id);
CREATE TABLE consents (
    id TEXT PRIMARY KEY,
    member_id TEXT NOT NULL REFERENCES members(id),
    body BLOB NOT NULL,
    created_at TEXT NOT NULL,
    created_by TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    updated_by TEXT NOT NULL
, version INTEGER NOT NULL DEFAULT 0) STRICT;
CREATE INDEX consents_by_member ON consents(member_id);
CREATE TABLE meetings (
    id TEXT PRIMARY KEY,
    club_id TEXT NOT NULL REFERENCES clubs(id),
    meeting_date TEXT NOT NULL,
    body BLOB NOT NULL,
    created_at TEXT NOT NULL,
    created_by TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    updated_by TEXT NOT NULL
, version INTEGER NOT NULL DEFAULT 0) STRICT;
CREATE INDEX meetings_by_club_date ON meetings(club_id, meeting_date);
CREATE TABLE referrals (
    id TEXT PRIMARY KEY,
    member_id TEXT NOT NULL REFERENCES members(id),
    state TEXT NOT NULL,
    body BLOB NOT NULL,
    created_at TEXT NOT NULL,
    created_by TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    updated_by TEXT NOT NULL
, version INTEGER NOT NULL DEFAULT 0) STRICT;
CREATE INDEX referrals_by_member ON referrals(member_id);
CREATE INDEX referrals_by_state ON referrals(state, updated_at);
CREATE TABLE livelihood (
    id TEXT PRIMARY KEY,
    member_id TEXT NOT NULL REFERENCES members(id),
    body BLOB NOT NULL,
    created_at TEXT NOT NULL,
    created_by TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    updated_by TEXT NOT NULL
, version INTEGER NOT NULL DEFAULT 0) STRICT;
CREATE INDEX livelihood_by_member ON livelihood(member_id);
CREATE TABLE audit_log (
    seq INTEGER PRIMARY KEY,
    at TEXT NOT NULL,
    user_id TEXT NOT NULL,
    role TEXT NOT NULL,
    device_id TEXT NOT NULL,
    action TEXT NOT NULL,
    kind TEXT NOT NULL,
    record_id TEXT NOT NULL,
    fields TEXT NOT NULL,
    mac BLOB NOT NULL
, fields_sealed BLOB) STRICT;
CREATE INDEX audit_by_record ON audit_log(kind, record_id, seq);
CREATE INDEX audit_writes ON audit_log(kind, record_id, seq, action)
    WHERE action IN ('create', 'update', 'delete');
CREATE INDEX audit_decoy ON audit_log(seq)
    WHERE kind NOT IN ('member', 'member_key', 'consent', 'meeting', 'livelihood', 'referral', 'annotation') AND record_id != 'duress';
CREATE TABLE audit_pending (
    id INTEGER PRIMARY KEY,
    at TEXT NOT NULL,
    user_id TEXT NOT NULL,
    action TEXT NOT NULL
) STRICT;
CREATE TABLE audit_checkpoints (
    seq INTEGER PRIMARY KEY,
    head BLOB NOT NULL,
    at TEXT NOT NULL,
    signature BLOB NOT NULL
) STRICT;
CREATE TABLE annotations (
    id TEXT PRIMARY KEY,
    record_kind TEXT NOT NULL,
    record_id TEXT NOT NULL,
    body BLOB NOT NULL,
    created_at TEXT NOT NULL,
    created_by TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    updated_by TEXT NOT NULL
) STRICT;
CREATE INDEX annotations_by_record ON annotations(record_kind, record_id);
CREATE TABLE outbox (
    referral_id TEXT PRIMARY KEY,
    submission BLOB NOT NULL,
    payload_hash BLOB NOT NULL,
    state TEXT NOT NULL,
    attempts INTEGER NOT NULL,
    next_attempt_at TEXT NOT NULL,
    not_before TEXT NOT NULL,
    last_error TEXT NOT NULL,
    receipt BLOB
) STRICT;
CREATE INDEX outbox_due ON outbox(state, next_attempt_at);
"#;

pub(crate) fn user_version(conn: &Connection) -> Result<i64> {
    Ok(conn.query_row("PRAGMA user_version", [], |r| r.get(0))?)
}

/// Lays down the current schema on an empty database.
pub(crate) fn install(conn: &mut Connection) -> Result<()> {
    let tx = conn.transaction()?;
    tx.execute_batch(FRESH_SCHEMA)?;
    tx.pragma_update(None, "user_version", CURRENT_VERSION)?;
    tx.commit()?;
    Ok(())
}

/// Brings an existing store up to date, one transaction per step, so a crash mid-way leaves
/// a store at some whole version that the next open continues from.
pub(crate) fn migrate(conn: &mut Connection) -> Result<()> {
    let found = user_version(conn)?;
    if found > CURRENT_VERSION {
        return Err(Error::SchemaTooNew {
            found,
            supported: CURRENT_VERSION,
        });
    }
    if found < 1 {
        return Err(Error::NotAStore);
    }
    for (i, step) in MIGRATIONS.iter().enumerate().skip(found as usize) {
        let tx = conn.transaction()?;
        tx.execute_batch(step)?;
        tx.pragma_update(None, "user_version", i as i64 + 1)?;
        tx.commit()?;
    }
    Ok(())
}

/// The schema as SQLite reports it, whitespace-normalised, for comparing stores.
pub fn schema_fingerprint(conn: &Connection) -> Result<Vec<(String, String, String)>> {
    let mut stmt = conn.prepare(
        "SELECT type, name, COALESCE(sql, '') FROM sqlite_master \
         WHERE name NOT LIKE 'sqlite_%' ORDER BY type, name",
    )?;
    let rows = stmt.query_map([], |r| {
        let sql: String = r.get(2)?;
        Ok((
            r.get(0)?,
            r.get(1)?,
            sql.split_whitespace().collect::<Vec<_>>().join(" "),
        ))
    })?;
    Ok(rows.collect::<Result<Vec<_>, _>>()?)
}
