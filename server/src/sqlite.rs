//! SQLite backend (bundled): WAL, `synchronous=FULL`, `secure_delete=ON`, file mode 0600, STRICT
//! tables, append-only triggers on status updates and checkpoints. One connection behind a
//! mutex: the intake load (hundreds of clubs) is far below what one SQLite writer handles.

use std::collections::HashMap;
use std::num::NonZeroU32;
use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard};

use chungtay_protocol::transition_allowed;
use governor::clock::{Clock as _, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use rusqlite::{Connection, OptionalExtension, Row, TransactionBehavior, params};

use crate::error::StoreError;
use crate::store::{
    Account, AuditEntry, CheckpointOutcome, Device, InsertOutcome, IntakeStore, MakeStatus,
    NewReferral, NewStaffToken, Redeem, SharedMakeStatus, StaffSession, StaffToken,
    StoredCheckpoint, StoredReferral, StoredStatus, TransitionOutcome,
};

const SCHEMA_VERSION: i64 = 3;

/// Version 2 (issue 11): credentials carry a tag made with the province keys, staff tokens an
/// id and an expiry, transitions who made them, checkpoints the one they extend, and devices a
/// flag for staff. New columns are nullable: a row without a tag is no credential.
const MIGRATE_2: &str = "
ALTER TABLE enrollment_codes ADD COLUMN mac BLOB;
ALTER TABLE staff_tokens ADD COLUMN token_id TEXT;
ALTER TABLE staff_tokens ADD COLUMN expires_at INTEGER;
ALTER TABLE staff_tokens ADD COLUMN mac BLOB;
CREATE UNIQUE INDEX staff_tokens_by_id ON staff_tokens(token_id);
ALTER TABLE devices ADD COLUMN flagged_at TEXT;
ALTER TABLE devices ADD COLUMN mac BLOB;
ALTER TABLE devices ADD COLUMN flag_reason TEXT;
ALTER TABLE referrals ADD COLUMN updated_by TEXT;
ALTER TABLE status_updates ADD COLUMN by_staff TEXT;
ALTER TABLE checkpoints ADD COLUMN prev_seq INTEGER;
ALTER TABLE checkpoints ADD COLUMN prev_head BLOB;
";

/// Version 3 (issue 13): the staff console's accounts, sessions and audit; device labels, last
/// contact and revocation reasons; a referral's history by referral.
const MIGRATE_3: &str = "
ALTER TABLE enrollment_codes ADD COLUMN label TEXT NOT NULL DEFAULT '';
ALTER TABLE devices ADD COLUMN label TEXT NOT NULL DEFAULT '';
ALTER TABLE devices ADD COLUMN last_seen_at TEXT;
ALTER TABLE devices ADD COLUMN revoke_reason TEXT;
ALTER TABLE staff_tokens ADD COLUMN scope TEXT;
CREATE INDEX status_updates_by_referral ON status_updates(referral_id, seq);
CREATE TABLE staff_accounts (
    account_id     TEXT PRIMARY KEY,
    username       TEXT NOT NULL UNIQUE,
    display_name   TEXT NOT NULL,
    role           TEXT NOT NULL,
    password_hash  TEXT,
    setup_hash     BLOB,
    setup_expires  INTEGER NOT NULL,
    totp           BLOB,
    created_at     TEXT NOT NULL,
    disabled_at    TEXT,
    failed_logins  INTEGER NOT NULL DEFAULT 0,
    locked_until   INTEGER NOT NULL DEFAULT 0,
    totp_last      INTEGER NOT NULL DEFAULT 0,
    mac            BLOB NOT NULL
) STRICT;
CREATE TABLE staff_sessions (
    session_hash BLOB PRIMARY KEY,
    account_id   TEXT NOT NULL REFERENCES staff_accounts(account_id),
    created_at   INTEGER NOT NULL,
    last_seen    INTEGER NOT NULL,
    mac          BLOB NOT NULL
) STRICT;
CREATE INDEX staff_sessions_by_account ON staff_sessions(account_id);
CREATE TABLE staff_audit (
    n      INTEGER PRIMARY KEY AUTOINCREMENT,
    at     TEXT NOT NULL,
    actor  TEXT NOT NULL,
    action TEXT NOT NULL,
    target TEXT NOT NULL,
    detail TEXT NOT NULL
) STRICT;
CREATE TRIGGER staff_audit_no_update BEFORE UPDATE ON staff_audit
    BEGIN SELECT RAISE(ABORT, 'staff_audit is append-only'); END;
CREATE TRIGGER staff_audit_no_delete BEFORE DELETE ON staff_audit
    BEGIN SELECT RAISE(ABORT, 'staff_audit is append-only'); END;
";

const SCHEMA: &str = "
CREATE TABLE enrollment_codes (
    code_hash  BLOB PRIMARY KEY,
    created_at TEXT NOT NULL,
    expires_at INTEGER NOT NULL,
    device_id  TEXT
) STRICT;
CREATE TABLE devices (
    device_id   TEXT PRIMARY KEY,
    public_key  BLOB NOT NULL UNIQUE,
    enrolled_at TEXT NOT NULL,
    revoked_at  TEXT
) STRICT;
CREATE TABLE staff_tokens (
    token_hash BLOB PRIMARY KEY,
    label      TEXT NOT NULL,
    created_at TEXT NOT NULL,
    revoked_at TEXT
) STRICT;
CREATE TABLE referrals (
    n                 INTEGER PRIMARY KEY AUTOINCREMENT,
    referral_id       TEXT NOT NULL UNIQUE,
    device_id         TEXT NOT NULL REFERENCES devices(device_id),
    payload_hash      BLOB NOT NULL,
    received_at       TEXT NOT NULL,
    receipt_signature BLOB NOT NULL,
    state             TEXT NOT NULL,
    updated_at        TEXT NOT NULL,
    body              BLOB NOT NULL
) STRICT;
CREATE INDEX referrals_by_state ON referrals(state, updated_at);
CREATE TABLE status_updates (
    device_id   TEXT NOT NULL REFERENCES devices(device_id),
    seq         INTEGER NOT NULL,
    referral_id TEXT NOT NULL REFERENCES referrals(referral_id),
    state       TEXT NOT NULL,
    at          TEXT NOT NULL,
    body        BLOB NOT NULL,
    PRIMARY KEY (device_id, seq)
) STRICT;
CREATE TABLE checkpoints (
    device_id   TEXT NOT NULL REFERENCES devices(device_id),
    seq         INTEGER NOT NULL,
    head        BLOB NOT NULL,
    at          TEXT NOT NULL,
    signature   BLOB NOT NULL,
    received_at TEXT NOT NULL,
    PRIMARY KEY (device_id, seq)
) STRICT;
CREATE TRIGGER status_updates_no_update BEFORE UPDATE ON status_updates
    BEGIN SELECT RAISE(ABORT, 'status_updates are append-only'); END;
CREATE TRIGGER status_updates_no_delete BEFORE DELETE ON status_updates
    BEGIN SELECT RAISE(ABORT, 'status_updates are append-only'); END;
CREATE TRIGGER checkpoints_no_update BEFORE UPDATE ON checkpoints
    BEGIN SELECT RAISE(ABORT, 'checkpoints are append-only'); END;
CREATE TRIGGER checkpoints_no_delete BEFORE DELETE ON checkpoints
    BEGIN SELECT RAISE(ABORT, 'checkpoints are append-only'); END;
";

/// The embedded SQLite store.
pub struct SqliteStore {
    conn: Mutex<Connection>,
    /// A read-only connection for the device lookup every phone request starts with: in WAL
    /// it reads the last commit while the writer flushes the next, so a request's key
    /// agreement and signature checks need not wait for another's commit.
    reader: Mutex<Connection>,
    /// Referrals waiting for the connection: whoever takes it next commits them all at once
    /// (group commit), see [`SqliteStore::insert_referral_grouped`].
    waiting: Mutex<Vec<Arc<Waiting>>>,
    /// Group commits made, and referrals stored in them (for the bench and the tests).
    groups: std::sync::atomic::AtomicU64,
    /// Rate buckets by rate: in the process, since one server serves a SQLite file.
    buckets: Mutex<HashMap<u32, DefaultKeyedRateLimiter<String>>>,
}

/// Opens (creating if needed, mode 0600) the database at `path` with the server's pragmas and
/// brings its schema up: the one way a connection to an intake file is made (the store's, and
/// `migrate`'s when it fills a new file).
pub(crate) fn connect(path: &Path) -> Result<Connection, StoreError> {
    if !path.exists() {
        let mut opts = std::fs::OpenOptions::new();
        opts.write(true).create(true).truncate(false);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt as _;
            opts.mode(0o600);
        }
        opts.open(path)?;
    }
    let conn = Connection::open(path)?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", "FULL")?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    conn.pragma_update(None, "secure_delete", "ON")?;
    conn.pragma_update(None, "temp_store", "MEMORY")?;
    conn.busy_timeout(std::time::Duration::from_secs(5))?;
    // Stable plans: otherwise SQLite re-prepares a cached statement with an ORDER BY over a
    // bound index prefix (a device's last checkpoint) on every use.
    conn.set_db_config(
        rusqlite::config::DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG,
        true,
    )?;
    let version: i64 = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
    if version > SCHEMA_VERSION {
        return Err(StoreError::SchemaTooNew(version));
    }
    if version < SCHEMA_VERSION {
        let tx = conn.unchecked_transaction()?;
        if version == 0 {
            tx.execute_batch(SCHEMA)?;
        }
        if version < 2 {
            tx.execute_batch(MIGRATE_2)?;
        }
        tx.execute_batch(MIGRATE_3)?;
        tx.pragma_update(None, "user_version", SCHEMA_VERSION)?;
        tx.commit()?;
    }
    Ok(conn)
}

impl SqliteStore {
    /// Opens (creating if needed, mode 0600) the database at `path` and brings its schema up.
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        let conn = connect(path)?;
        let reader = Connection::open_with_flags(
            path,
            rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        reader.busy_timeout(std::time::Duration::from_secs(5))?;
        Ok(SqliteStore {
            conn: Mutex::new(conn),
            reader: Mutex::new(reader),
            waiting: Mutex::default(),
            groups: std::sync::atomic::AtomicU64::new(0),
            buckets: Mutex::default(),
        })
    }

    /// How many group commits stored referrals so far.
    pub fn group_commits(&self) -> u64 {
        self.groups.load(std::sync::atomic::Ordering::Relaxed)
    }

    fn conn(&self) -> Result<MutexGuard<'_, Connection>, StoreError> {
        self.conn.lock().map_err(|_| StoreError::Poisoned)
    }
}

/// A referral waiting to be stored in a group, and, once its group committed, its outcome.
struct Waiting {
    new: NewReferral,
    make_status: SharedMakeStatus,
    outcome: Mutex<Option<Result<InsertOutcome, StoreError>>>,
}

impl Waiting {
    fn take(&self) -> Option<Result<InsertOutcome, StoreError>> {
        self.outcome.lock().ok()?.take()
    }

    fn settle(&self, outcome: Result<InsertOutcome, StoreError>) {
        if let Ok(mut slot) = self.outcome.lock() {
            *slot = Some(outcome);
        }
    }
}

/// Stores one referral inside a transaction (see `insert_referral`): the same again, a
/// conflict, or the row with its first status update.
fn insert_one(
    tx: &Connection,
    new: &NewReferral,
    make_status: &mut MakeStatus<'_>,
) -> Result<InsertOutcome, StoreError> {
    let existing: Option<(String, Vec<u8>, String, Vec<u8>)> = tx
        .prepare_cached(
            "SELECT device_id, payload_hash, received_at, receipt_signature
             FROM referrals WHERE referral_id = ?1",
        )?
        .query_row(params![new.referral_id], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
        })
        .optional()?;
    if let Some((device_id, hash, received_at, receipt_signature)) = existing {
        return Ok(if device_id == new.device_id && hash == new.payload_hash {
            InsertOutcome::Existing {
                received_at,
                receipt_signature,
            }
        } else {
            InsertOutcome::Conflict
        });
    }
    tx.prepare_cached(
        "INSERT INTO referrals (referral_id, device_id, payload_hash, received_at,
                                receipt_signature, state, updated_at, body)
         VALUES (?1, ?2, ?3, ?4, ?5, 'received', ?4, ?6)",
    )?
    .execute(params![
        new.referral_id,
        new.device_id,
        &new.payload_hash[..],
        new.received_at,
        new.receipt_signature,
        new.body
    ])?;
    let seq = next_seq(tx, &new.device_id)?;
    let body = make_status(&new.device_id, seq)?;
    insert_status(
        tx,
        &new.device_id,
        seq,
        &new.referral_id,
        "received",
        &new.received_at,
        &body,
        None,
    )?;
    // Seen now, in the same commit (times to the second: a burst writes it once).
    tx.prepare_cached(
        "UPDATE devices SET last_seen_at = ?2 WHERE device_id = ?1 AND last_seen_at IS NOT ?2",
    )?
    .execute(params![new.device_id, new.received_at])?;
    Ok(InsertOutcome::Inserted { status_seq: seq })
}

fn device_row(r: &Row<'_>) -> rusqlite::Result<Device> {
    Ok(Device {
        device_id: r.get(0)?,
        public_key: r.get(1)?,
        enrolled_at: r.get(2)?,
        revoked_at: r.get(3)?,
        flagged_at: r.get(4)?,
        flag_reason: r.get(5)?,
        mac: r.get::<_, Option<Vec<u8>>>(6)?.unwrap_or_default(),
        label: r.get(7)?,
        last_seen_at: r.get(8)?,
        revoke_reason: r.get(9)?,
    })
}

const DEVICE_COLS: &str = "device_id, public_key, enrolled_at, revoked_at, flagged_at, \
                           flag_reason, mac, label, last_seen_at, revoke_reason";
const ACCOUNT_COLS: &str = "account_id, username, display_name, role, password_hash, \
                            setup_hash, setup_expires, totp, created_at, disabled_at, \
                            failed_logins, locked_until, mac";

fn account_row(r: &Row<'_>) -> rusqlite::Result<Account> {
    Ok(Account {
        account_id: r.get(0)?,
        username: r.get(1)?,
        display_name: r.get(2)?,
        role: r.get(3)?,
        password_hash: r.get(4)?,
        setup_hash: r.get(5)?,
        setup_expires: r.get(6)?,
        totp: r.get(7)?,
        created_at: r.get(8)?,
        disabled_at: r.get(9)?,
        failed_logins: r.get(10)?,
        locked_until: r.get(11)?,
        mac: r.get(12)?,
    })
}

fn status_row(r: &Row<'_>) -> rusqlite::Result<StoredStatus> {
    Ok(StoredStatus {
        device_id: r.get(0)?,
        seq: r.get(1)?,
        referral_id: r.get(2)?,
        state: r.get(3)?,
        at: r.get(4)?,
        body: r.get(5)?,
        by_staff: r.get(6)?,
    })
}
const REFERRAL_COLS: &str = "n, referral_id, device_id, payload_hash, received_at, \
                             receipt_signature, state, updated_at, body, updated_by";
const TOKEN_COLS: &str = "token_id, label, created_at, expires_at, revoked_at, mac, scope";
const CHECKPOINT_COLS: &str =
    "device_id, seq, head, at, signature, received_at, prev_seq, prev_head";

/// A token row; one written without an id, expiry or tag reads as expired and untagged.
fn token_row(r: &Row<'_>) -> rusqlite::Result<StaffToken> {
    Ok(StaffToken {
        token_id: r.get::<_, Option<String>>(0)?.unwrap_or_default(),
        label: r.get(1)?,
        created_at: r.get(2)?,
        expires_at: r.get::<_, Option<i64>>(3)?.unwrap_or(0),
        revoked_at: r.get(4)?,
        mac: r.get::<_, Option<Vec<u8>>>(5)?.unwrap_or_default(),
        scope: r.get(6)?,
    })
}

fn checkpoint_row(r: &Row<'_>) -> rusqlite::Result<StoredCheckpoint> {
    let prev_seq: Option<i64> = r.get(6)?;
    let prev_head: Option<Vec<u8>> = r.get(7)?;
    Ok(StoredCheckpoint {
        device_id: r.get(0)?,
        seq: r.get(1)?,
        head: r.get(2)?,
        at: r.get(3)?,
        signature: r.get(4)?,
        received_at: r.get(5)?,
        prev: prev_seq.zip(prev_head),
    })
}

fn referral_row(r: &Row<'_>) -> rusqlite::Result<StoredReferral> {
    Ok(StoredReferral {
        n: r.get(0)?,
        referral_id: r.get(1)?,
        device_id: r.get(2)?,
        payload_hash: r.get(3)?,
        received_at: r.get(4)?,
        receipt_signature: r.get(5)?,
        state: r.get(6)?,
        updated_at: r.get(7)?,
        body: r.get(8)?,
        updated_by: r.get(9)?,
    })
}

fn next_seq(tx: &Connection, device_id: &str) -> rusqlite::Result<i64> {
    tx.prepare_cached("SELECT COALESCE(MAX(seq), 0) + 1 FROM status_updates WHERE device_id = ?1")?
        .query_row(params![device_id], |r| r.get(0))
}

#[allow(clippy::too_many_arguments)]
fn insert_status(
    tx: &Connection,
    device_id: &str,
    seq: i64,
    referral_id: &str,
    state: &str,
    at: &str,
    body: &[u8],
    by_staff: Option<&str>,
) -> rusqlite::Result<()> {
    tx.prepare_cached(
        "INSERT INTO status_updates (device_id, seq, referral_id, state, at, body, by_staff)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )?
    .execute(params![
        device_id,
        seq,
        referral_id,
        state,
        at,
        body,
        by_staff
    ])?;
    Ok(())
}

impl IntakeStore for SqliteStore {
    fn add_code(
        &self,
        code_hash: &[u8; 32],
        label: &str,
        created_at: &str,
        expires_at: i64,
        mac: &[u8],
    ) -> Result<(), StoreError> {
        self.conn()?.execute(
            "INSERT INTO enrollment_codes (code_hash, created_at, expires_at, mac, label) \
             VALUES (?1, ?2, ?3, ?4, ?5)",
            params![&code_hash[..], created_at, expires_at, mac, label],
        )?;
        Ok(())
    }

    fn redeem_code(
        &self,
        code_hash: &[u8; 32],
        public_key: &[u8],
        new_device_id: &str,
        now_unix: i64,
        now: &str,
        genuine: &dyn Fn(i64, &[u8]) -> bool,
        device_tag: &dyn Fn(&str, &[u8]) -> Vec<u8>,
    ) -> Result<Redeem, StoreError> {
        let mut conn = self.conn()?;
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        // (expires_at, device_id, mac, label)
        #[allow(clippy::type_complexity)]
        let code: Option<(i64, Option<String>, Option<Vec<u8>>, String)> = tx
            .query_row(
                "SELECT expires_at, device_id, mac, label FROM enrollment_codes \
                 WHERE code_hash = ?1",
                params![&code_hash[..]],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
            )
            .optional()?;
        let label = code.as_ref().map(|c| c.3.clone()).unwrap_or_default();
        // A row not minted with the province keys is no code at all.
        let code = code
            .filter(|(expires_at, _, mac, _)| genuine(*expires_at, mac.as_deref().unwrap_or(&[])))
            .map(|(expires_at, device_id, _, _)| (expires_at, device_id));
        let outcome = match code {
            None => Redeem::Invalid,
            Some((_, Some(used_by))) => {
                let dev = tx
                    .query_row(
                        &format!("SELECT {DEVICE_COLS} FROM devices WHERE device_id = ?1"),
                        params![used_by],
                        device_row,
                    )
                    .optional()?;
                match dev {
                    Some(d) if d.public_key == public_key => Redeem::Again(d),
                    _ => Redeem::UsedByAnotherKey,
                }
            }
            Some((expires_at, None)) if expires_at < now_unix => Redeem::Invalid,
            Some((_, None)) => {
                let taken: bool = tx.query_row(
                    "SELECT EXISTS (SELECT 1 FROM devices WHERE public_key = ?1)",
                    params![public_key],
                    |r| r.get(0),
                )?;
                if taken {
                    Redeem::KeyAlreadyEnrolled
                } else {
                    let mac = device_tag(new_device_id, public_key);
                    tx.execute(
                        "INSERT INTO devices (device_id, public_key, enrolled_at, mac, label) \
                         VALUES (?1, ?2, ?3, ?4, ?5)",
                        params![new_device_id, public_key, now, mac, label],
                    )?;
                    tx.execute(
                        "UPDATE enrollment_codes SET device_id = ?1 WHERE code_hash = ?2",
                        params![new_device_id, &code_hash[..]],
                    )?;
                    Redeem::Enrolled(Device {
                        device_id: new_device_id.to_string(),
                        public_key: public_key.to_vec(),
                        enrolled_at: now.to_string(),
                        revoked_at: None,
                        flagged_at: None,
                        flag_reason: None,
                        mac,
                        label,
                        last_seen_at: None,
                        revoke_reason: None,
                    })
                }
            }
        };
        tx.commit()?;
        Ok(outcome)
    }

    fn device(&self, device_id: &str) -> Result<Option<Device>, StoreError> {
        let reader = self.reader.lock().map_err(|_| StoreError::Poisoned)?;
        Ok(reader
            .prepare_cached(&format!(
                "SELECT {DEVICE_COLS} FROM devices WHERE device_id = ?1"
            ))?
            .query_row(params![device_id], device_row)
            .optional()?)
    }

    fn devices(&self) -> Result<Vec<Device>, StoreError> {
        let conn = self.conn()?;
        let mut stmt = conn.prepare(&format!(
            "SELECT {DEVICE_COLS} FROM devices ORDER BY enrolled_at, device_id"
        ))?;
        let rows = stmt.query_map([], device_row)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    fn revoke_device_because(
        &self,
        device_id: &str,
        at: &str,
        reason: &str,
    ) -> Result<bool, StoreError> {
        let mut conn = self.conn()?;
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let changed = tx.execute(
            "UPDATE devices SET revoked_at = ?2, mac = NULL, revoke_reason = ?3 \
             WHERE device_id = ?1 AND revoked_at IS NULL",
            params![device_id, at, reason],
        )?;
        let exists: bool = tx.query_row(
            "SELECT EXISTS (SELECT 1 FROM devices WHERE device_id = ?1)",
            params![device_id],
            |r| r.get(0),
        )?;
        tx.commit()?;
        Ok(changed > 0 || exists)
    }

    fn touch_device(&self, device_id: &str, at: &str) -> Result<(), StoreError> {
        // Times are to the second: the rest of a burst writes nothing (the rate bucket does).
        self.conn()?.execute(
            "UPDATE devices SET last_seen_at = ?2 WHERE device_id = ?1 AND last_seen_at IS NOT ?2",
            params![device_id, at],
        )?;
        Ok(())
    }

    fn set_device_label(&self, device_id: &str, label: &str) -> Result<bool, StoreError> {
        Ok(self.conn()?.execute(
            "UPDATE devices SET label = ?2 WHERE device_id = ?1",
            params![device_id, label],
        )? > 0)
    }

    fn add_account(&self, a: &Account) -> Result<bool, StoreError> {
        let n = self.conn()?.execute(
            &format!(
                "INSERT OR IGNORE INTO staff_accounts ({ACCOUNT_COLS}) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)"
            ),
            params![
                a.account_id,
                a.username,
                a.display_name,
                a.role,
                a.password_hash,
                a.setup_hash,
                a.setup_expires,
                a.totp,
                a.created_at,
                a.disabled_at,
                a.failed_logins,
                a.locked_until,
                a.mac
            ],
        )?;
        Ok(n > 0)
    }

    fn account(&self, account_id: &str) -> Result<Option<Account>, StoreError> {
        Ok(self
            .conn()?
            .query_row(
                &format!("SELECT {ACCOUNT_COLS} FROM staff_accounts WHERE account_id = ?1"),
                params![account_id],
                account_row,
            )
            .optional()?)
    }

    fn account_by_username(&self, username: &str) -> Result<Option<Account>, StoreError> {
        Ok(self
            .conn()?
            .query_row(
                &format!("SELECT {ACCOUNT_COLS} FROM staff_accounts WHERE username = ?1"),
                params![username],
                account_row,
            )
            .optional()?)
    }

    fn accounts(&self) -> Result<Vec<Account>, StoreError> {
        let conn = self.conn()?;
        let mut stmt = conn.prepare(&format!(
            "SELECT {ACCOUNT_COLS} FROM staff_accounts ORDER BY username"
        ))?;
        let rows = stmt.query_map([], account_row)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    fn update_account(&self, a: &Account) -> Result<(), StoreError> {
        self.conn()?.execute(
            "UPDATE staff_accounts SET username = ?2, display_name = ?3, role = ?4, \
             password_hash = ?5, setup_hash = ?6, setup_expires = ?7, totp = ?8, \
             disabled_at = ?9, failed_logins = ?10, locked_until = ?11, mac = ?12 \
             WHERE account_id = ?1",
            params![
                a.account_id,
                a.username,
                a.display_name,
                a.role,
                a.password_hash,
                a.setup_hash,
                a.setup_expires,
                a.totp,
                a.disabled_at,
                a.failed_logins,
                a.locked_until,
                a.mac
            ],
        )?;
        Ok(())
    }

    fn set_login_failures(
        &self,
        account_id: &str,
        failed: i64,
        locked_until: i64,
    ) -> Result<(), StoreError> {
        self.conn()?.execute(
            "UPDATE staff_accounts SET failed_logins = ?2, locked_until = ?3 \
             WHERE account_id = ?1",
            params![account_id, failed, locked_until],
        )?;
        Ok(())
    }

    fn login_failed(
        &self,
        account_id: &str,
        now: i64,
        max: i64,
        lock_secs: i64,
    ) -> Result<i64, StoreError> {
        // SET expressions all read the row as it was: one atomic step per failure.
        let until: Option<i64> = self
            .conn()?
            .query_row(
                "UPDATE staff_accounts SET \
                 failed_logins = CASE WHEN failed_logins + 1 >= ?3 THEN 0 \
                                      ELSE failed_logins + 1 END, \
                 locked_until = CASE WHEN failed_logins + 1 >= ?3 THEN ?2 + ?4 \
                                     ELSE locked_until END \
                 WHERE account_id = ?1 RETURNING locked_until",
                params![account_id, now, max, lock_secs],
                |r| r.get(0),
            )
            .optional()?;
        Ok(until.unwrap_or(0))
    }

    fn use_totp_step(&self, account_id: &str, step: i64) -> Result<bool, StoreError> {
        Ok(self.conn()?.execute(
            "UPDATE staff_accounts SET totp_last = ?2 WHERE account_id = ?1 AND totp_last < ?2",
            params![account_id, step],
        )? > 0)
    }

    fn add_session(&self, hash: &[u8; 32], s: &StaffSession) -> Result<(), StoreError> {
        self.conn()?.execute(
            "INSERT INTO staff_sessions (session_hash, account_id, created_at, last_seen, mac) \
             VALUES (?1, ?2, ?3, ?4, ?5)",
            params![&hash[..], s.account_id, s.created_at, s.last_seen, s.mac],
        )?;
        Ok(())
    }

    fn session(&self, hash: &[u8; 32]) -> Result<Option<StaffSession>, StoreError> {
        Ok(self
            .conn()?
            .query_row(
                "SELECT account_id, created_at, last_seen, mac FROM staff_sessions \
                 WHERE session_hash = ?1",
                params![&hash[..]],
                |r| {
                    Ok(StaffSession {
                        account_id: r.get(0)?,
                        created_at: r.get(1)?,
                        last_seen: r.get(2)?,
                        mac: r.get(3)?,
                    })
                },
            )
            .optional()?)
    }

    fn touch_session(&self, hash: &[u8; 32], now: i64) -> Result<(), StoreError> {
        self.conn()?.execute(
            "UPDATE staff_sessions SET last_seen = ?2 WHERE session_hash = ?1",
            params![&hash[..], now],
        )?;
        Ok(())
    }

    fn delete_session(&self, hash: &[u8; 32]) -> Result<(), StoreError> {
        self.conn()?.execute(
            "DELETE FROM staff_sessions WHERE session_hash = ?1",
            params![&hash[..]],
        )?;
        Ok(())
    }

    fn delete_sessions(&self, account_id: &str) -> Result<usize, StoreError> {
        Ok(self.conn()?.execute(
            "DELETE FROM staff_sessions WHERE account_id = ?1",
            params![account_id],
        )?)
    }

    fn add_audit(
        &self,
        at: &str,
        actor: &str,
        action: &str,
        target: &str,
        detail: &str,
    ) -> Result<(), StoreError> {
        self.conn()?.execute(
            "INSERT INTO staff_audit (at, actor, action, target, detail) \
             VALUES (?1, ?2, ?3, ?4, ?5)",
            params![at, actor, action, target, detail],
        )?;
        Ok(())
    }

    fn audit(&self, before: i64, limit: usize) -> Result<Vec<AuditEntry>, StoreError> {
        let conn = self.conn()?;
        let mut stmt = conn.prepare(
            "SELECT n, at, actor, action, target, detail FROM staff_audit \
             WHERE n < ?1 ORDER BY n DESC LIMIT ?2",
        )?;
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let rows = stmt.query_map(params![before, limit], |r| {
            Ok(AuditEntry {
                n: r.get(0)?,
                at: r.get(1)?,
                actor: r.get(2)?,
                action: r.get(3)?,
                target: r.get(4)?,
                detail: r.get(5)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    fn referral_history(&self, referral_id: &str) -> Result<Vec<StoredStatus>, StoreError> {
        let conn = self.conn()?;
        let mut stmt = conn.prepare(
            "SELECT device_id, seq, referral_id, state, at, body, by_staff FROM status_updates \
             WHERE referral_id = ?1 ORDER BY seq",
        )?;
        let rows = stmt.query_map(params![referral_id], status_row)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    fn add_staff_token(&self, t: &NewStaffToken) -> Result<(), StoreError> {
        self.conn()?.execute(
            "INSERT INTO staff_tokens \
             (token_hash, token_id, label, created_at, expires_at, mac, scope) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            params![
                &t.token_hash[..],
                t.token_id,
                t.label,
                t.created_at,
                t.expires_at,
                t.mac,
                t.scope
            ],
        )?;
        Ok(())
    }

    fn staff_token(&self, token_hash: &[u8; 32]) -> Result<Option<StaffToken>, StoreError> {
        Ok(self
            .conn()?
            .query_row(
                &format!("SELECT {TOKEN_COLS} FROM staff_tokens WHERE token_hash = ?1"),
                params![&token_hash[..]],
                token_row,
            )
            .optional()?)
    }

    fn staff_tokens(&self) -> Result<Vec<StaffToken>, StoreError> {
        let conn = self.conn()?;
        let mut stmt = conn.prepare(&format!(
            "SELECT {TOKEN_COLS} FROM staff_tokens ORDER BY created_at, token_id"
        ))?;
        let rows = stmt.query_map([], token_row)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    fn revoke_staff_token(&self, token_id: &str, at: &str) -> Result<bool, StoreError> {
        let conn = self.conn()?;
        let exists: bool = conn.query_row(
            "SELECT EXISTS (SELECT 1 FROM staff_tokens WHERE token_id = ?1)",
            params![token_id],
            |r| r.get(0),
        )?;
        // The tag goes too, as for a device: clearing `revoked_at` by hand brings nothing back.
        conn.execute(
            "UPDATE staff_tokens SET revoked_at = ?2, mac = NULL \
             WHERE token_id = ?1 AND revoked_at IS NULL",
            params![token_id, at],
        )?;
        Ok(exists)
    }

    fn insert_referral(
        &self,
        new: &NewReferral,
        make_status: &mut MakeStatus<'_>,
    ) -> Result<InsertOutcome, StoreError> {
        let mut conn = self.conn()?;
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let outcome = insert_one(&tx, new, make_status)?;
        if matches!(outcome, InsertOutcome::Inserted { .. }) {
            tx.commit()?;
        }
        Ok(outcome)
    }

    /// Group commit: the caller queues its referral, then waits for the connection. Whoever
    /// holds the connection next takes every referral queued by then, stores each in its own
    /// savepoint of one transaction, commits once (`synchronous=FULL`: one flush for all), and
    /// only then hands each caller its outcome. A caller whose referral went in someone
    /// else's group finds its outcome when its turn with the connection comes. Under load the
    /// groups grow by themselves (the referrals that arrived during the last flush); alone, a
    /// referral is a group of one, as before.
    fn insert_referral_grouped(
        &self,
        new: NewReferral,
        make_status: SharedMakeStatus,
    ) -> Result<InsertOutcome, StoreError> {
        let mine = Arc::new(Waiting {
            new,
            make_status,
            outcome: Mutex::new(None),
        });
        self.waiting
            .lock()
            .map_err(|_| StoreError::Poisoned)?
            .push(mine.clone());
        let mut conn = match self.conn() {
            Ok(conn) => conn,
            Err(e) => {
                // Not left queued for a commit that will not come (nor kept in memory).
                if let Ok(mut waiting) = self.waiting.lock() {
                    waiting.retain(|w| !Arc::ptr_eq(w, &mine));
                }
                return Err(e);
            }
        };
        if let Some(done) = mine.take() {
            return done;
        }
        let group = std::mem::take(&mut *self.waiting.lock().map_err(|_| StoreError::Poisoned)?);
        let mut outcomes = Vec::with_capacity(group.len());
        let committed = (|| -> Result<(), StoreError> {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            for w in &group {
                // One referral's failure (a sealing error, say) undoes that one only.
                tx.prepare_cached("SAVEPOINT one")?.execute([])?;
                let make = w.make_status.clone();
                let outcome = insert_one(&tx, &w.new, &mut |d, seq| make(d, seq));
                if outcome.is_err() {
                    tx.prepare_cached("ROLLBACK TO one")?.execute([])?;
                }
                tx.prepare_cached("RELEASE one")?.execute([])?;
                outcomes.push(outcome);
            }
            tx.commit()?;
            Ok(())
        })();
        match committed {
            Ok(()) => {
                self.groups
                    .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                for (w, outcome) in group.iter().zip(outcomes) {
                    w.settle(outcome);
                }
            }
            Err(e) => {
                // Nothing of the group is stored: every caller hears so (and may retry).
                let text = e.to_string();
                for w in &group {
                    w.settle(Err(StoreError::Batch(text.clone())));
                }
            }
        }
        drop(conn);
        mine.take()
            .unwrap_or_else(|| Err(StoreError::Batch("not in the group committed".into())))
    }

    fn referrals(&self, after: i64, limit: usize) -> Result<Vec<StoredReferral>, StoreError> {
        let conn = self.conn()?;
        let mut stmt = conn.prepare(&format!(
            "SELECT {REFERRAL_COLS} FROM referrals WHERE n > ?1 ORDER BY n LIMIT ?2"
        ))?;
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let rows = stmt.query_map(params![after, limit], referral_row)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    fn referral(&self, referral_id: &str) -> Result<Option<StoredReferral>, StoreError> {
        Ok(self
            .conn()?
            .query_row(
                &format!("SELECT {REFERRAL_COLS} FROM referrals WHERE referral_id = ?1"),
                params![referral_id],
                referral_row,
            )
            .optional()?)
    }

    fn referral_count(&self) -> Result<i64, StoreError> {
        Ok(self
            .conn()?
            .query_row("SELECT COUNT(*) FROM referrals", [], |r| r.get(0))?)
    }

    fn transition(
        &self,
        referral_id: &str,
        to: &str,
        at: &str,
        by: &str,
        make_status: &mut MakeStatus<'_>,
    ) -> Result<TransitionOutcome, StoreError> {
        let mut conn = self.conn()?;
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let current: Option<(String, String)> = tx
            .query_row(
                "SELECT device_id, state FROM referrals WHERE referral_id = ?1",
                params![referral_id],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?;
        let Some((device_id, from)) = current else {
            return Ok(TransitionOutcome::NotFound);
        };
        if !transition_allowed(&from, to) {
            return Ok(TransitionOutcome::NotAllowed { from });
        }
        let seq = next_seq(&tx, &device_id)?;
        let body = make_status(&device_id, seq)?;
        insert_status(&tx, &device_id, seq, referral_id, to, at, &body, Some(by))?;
        tx.execute(
            "UPDATE referrals SET state = ?2, updated_at = ?3, updated_by = ?4 \
             WHERE referral_id = ?1",
            params![referral_id, to, at, by],
        )?;
        tx.commit()?;
        Ok(TransitionOutcome::Done { device_id, seq })
    }

    fn statuses_after(
        &self,
        device_id: &str,
        cursor: i64,
        limit: usize,
    ) -> Result<Vec<StoredStatus>, StoreError> {
        let conn = self.conn()?;
        let mut stmt = conn.prepare(
            "SELECT device_id, seq, referral_id, state, at, body, by_staff FROM status_updates
             WHERE device_id = ?1 AND seq > ?2 ORDER BY seq LIMIT ?3",
        )?;
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let rows = stmt.query_map(params![device_id, cursor, limit], status_row)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    fn add_checkpoint(&self, cp: &StoredCheckpoint) -> Result<CheckpointOutcome, StoreError> {
        let mut conn = self.conn()?;
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let same: Option<(Vec<u8>, String, Vec<u8>)> = tx
            .query_row(
                "SELECT head, at, signature FROM checkpoints WHERE device_id = ?1 AND seq = ?2",
                params![cp.device_id, cp.seq],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .optional()?;
        if let Some((head, at, signature)) = &same
            && *head == cp.head
            && *at == cp.at
            && *signature == cp.signature
        {
            return Ok(CheckpointOutcome::Duplicate);
        }
        let latest: Option<(i64, Vec<u8>)> = tx
            .query_row(
                "SELECT seq, head FROM checkpoints WHERE device_id = ?1 ORDER BY seq DESC LIMIT 1",
                params![cp.device_id],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?;
        // Only a checkpoint naming the latest kept one extends the chain the province knows;
        // the first one of a device may name none (or one the province never kept).
        if let Some((latest_seq, latest_head)) = latest
            && cp.prev.as_ref() != Some(&(latest_seq, latest_head))
        {
            let (outcome, what) = if cp.seq <= latest_seq {
                (
                    CheckpointOutcome::Rollback { latest: latest_seq },
                    "rollback",
                )
            } else {
                (CheckpointOutcome::Fork { latest: latest_seq }, "fork")
            };
            tx.execute(
                "UPDATE devices SET flagged_at = COALESCE(flagged_at, ?2), flag_reason = ?3 \
                 WHERE device_id = ?1",
                params![
                    cp.device_id,
                    cp.received_at,
                    format!("{what} at seq {} (kept {latest_seq})", cp.seq)
                ],
            )?;
            tx.commit()?;
            return Ok(outcome);
        }
        let (prev_seq, prev_head) = cp.prev.clone().unzip();
        tx.execute(
            "INSERT INTO checkpoints (device_id, seq, head, at, signature, received_at,
                                      prev_seq, prev_head)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            params![
                cp.device_id,
                cp.seq,
                cp.head,
                cp.at,
                cp.signature,
                cp.received_at,
                prev_seq,
                prev_head
            ],
        )?;
        tx.commit()?;
        Ok(CheckpointOutcome::Stored)
    }

    fn checkpoints(&self, device_id: &str) -> Result<Vec<StoredCheckpoint>, StoreError> {
        let conn = self.conn()?;
        let mut stmt = conn.prepare(&format!(
            "SELECT {CHECKPOINT_COLS} FROM checkpoints WHERE device_id = ?1 ORDER BY seq"
        ))?;
        let rows = stmt.query_map(params![device_id], checkpoint_row)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    fn latest_checkpoint(&self, device_id: &str) -> Result<Option<StoredCheckpoint>, StoreError> {
        Ok(self
            .conn()?
            .query_row(
                &format!(
                    "SELECT {CHECKPOINT_COLS} FROM checkpoints WHERE device_id = ?1 \
                     ORDER BY seq DESC LIMIT 1"
                ),
                params![device_id],
                checkpoint_row,
            )
            .optional()?)
    }

    fn take_token(
        &self,
        key: &str,
        per_minute: u32,
    ) -> Result<Option<std::time::Duration>, StoreError> {
        // One server per SQLite file, so the process's bucket is the only one: no commit (and
        // no fsync) per request for it, as the PostgreSQL store needs for several instances.
        let quota = Quota::per_minute(NonZeroU32::new(per_minute).unwrap_or(NonZeroU32::MIN));
        let mut buckets = self.buckets.lock().map_err(|_| StoreError::Poisoned)?;
        let limiter = buckets
            .entry(per_minute)
            .or_insert_with(|| RateLimiter::keyed(quota));
        Ok(limiter
            .check_key(&key.to_string())
            .err()
            .map(|nu| nu.wait_time_from(DefaultClock::default().now())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn genuine(_: i64, mac: &[u8]) -> bool {
        mac == b"ok"
    }

    fn tag(_: &str, _: &[u8]) -> Vec<u8> {
        b"device".to_vec()
    }

    fn store() -> (tempfile::TempDir, SqliteStore) {
        let dir = tempfile::tempdir().unwrap();
        let s = SqliteStore::open(&dir.path().join("intake.db")).unwrap();
        (dir, s)
    }

    #[test]
    fn codes_are_one_time_and_expire() {
        let (_d, s) = store();
        s.add_code(&[1; 32], "", "t0", 100, b"ok").unwrap();
        s.add_code(&[2; 32], "", "t0", 10, b"ok").unwrap();
        assert_eq!(
            s.redeem_code(&[9; 32], &[7; 32], "dx", 50, "t", &genuine, &tag)
                .unwrap(),
            Redeem::Invalid
        );
        assert_eq!(
            s.redeem_code(&[2; 32], &[7; 32], "dx", 50, "t", &genuine, &tag)
                .unwrap(),
            Redeem::Invalid
        );
        let Redeem::Enrolled(d) = s
            .redeem_code(&[1; 32], &[7; 32], "d1", 50, "t", &genuine, &tag)
            .unwrap()
        else {
            panic!("not enrolled")
        };
        assert_eq!(d.device_id, "d1");
        assert_eq!(
            s.redeem_code(&[1; 32], &[7; 32], "d2", 60, "t", &genuine, &tag)
                .unwrap(),
            Redeem::Again(d.clone())
        );
        assert_eq!(
            s.redeem_code(&[1; 32], &[8; 32], "d3", 60, "t", &genuine, &tag)
                .unwrap(),
            Redeem::UsedByAnotherKey
        );
        s.add_code(&[3; 32], "", "t0", 100, b"ok").unwrap();
        assert_eq!(
            s.redeem_code(&[3; 32], &[7; 32], "d4", 60, "t", &genuine, &tag)
                .unwrap(),
            Redeem::KeyAlreadyEnrolled
        );
        // A row whose tag is not the province's is no code, even unexpired and unused.
        s.add_code(&[4; 32], "", "t0", 100, b"forged").unwrap();
        assert_eq!(
            s.redeem_code(&[4; 32], &[6; 32], "d5", 60, "t", &genuine, &tag)
                .unwrap(),
            Redeem::Invalid
        );
        assert_eq!(s.devices().unwrap().len(), 1);
        assert!(s.revoke_device("d1", "t9").unwrap());
        assert!(!s.revoke_device("nope", "t9").unwrap());
        assert_eq!(
            s.device("d1").unwrap().unwrap().revoked_at.as_deref(),
            Some("t9")
        );
    }

    #[test]
    fn checkpoints_chain_and_a_fork_or_rollback_flags_the_device() {
        let (_d, s) = store();
        s.add_code(&[1; 32], "", "t0", 100, b"ok").unwrap();
        s.redeem_code(&[1; 32], &[7; 32], "d1", 50, "t", &genuine, &tag)
            .unwrap();
        let cp = |seq: i64, h: u8, prev: Option<(i64, u8)>| StoredCheckpoint {
            device_id: "d1".into(),
            seq,
            head: vec![h; 32],
            prev: prev.map(|(s, h)| (s, vec![h; 32])),
            at: "t".into(),
            signature: vec![1; 64],
            received_at: "t".into(),
        };
        assert_eq!(
            s.add_checkpoint(&cp(5, 1, None)).unwrap(),
            CheckpointOutcome::Stored
        );
        assert_eq!(
            s.add_checkpoint(&cp(5, 1, None)).unwrap(),
            CheckpointOutcome::Duplicate
        );
        assert_eq!(
            s.add_checkpoint(&cp(8, 2, Some((5, 1)))).unwrap(),
            CheckpointOutcome::Stored
        );
        assert_eq!(s.device("d1").unwrap().unwrap().flagged_at, None);
        // The same old checkpoint again is still only a retry.
        assert_eq!(
            s.add_checkpoint(&cp(5, 1, None)).unwrap(),
            CheckpointOutcome::Duplicate
        );
        // A later checkpoint that extends 5, not 8: an older copy, used since. Refused, flagged.
        assert_eq!(
            s.add_checkpoint(&cp(12, 3, Some((5, 1)))).unwrap(),
            CheckpointOutcome::Fork { latest: 8 }
        );
        let d = s.device("d1").unwrap().unwrap();
        assert!(d.flagged_at.is_some());
        assert_eq!(d.flag_reason.as_deref(), Some("fork at seq 12 (kept 8)"));
        // Naming 8 with the wrong head is a fork too; an older seq is a rollback.
        assert_eq!(
            s.add_checkpoint(&cp(12, 3, Some((8, 9)))).unwrap(),
            CheckpointOutcome::Fork { latest: 8 }
        );
        assert_eq!(
            s.add_checkpoint(&cp(7, 3, Some((5, 1)))).unwrap(),
            CheckpointOutcome::Rollback { latest: 8 }
        );
        assert_eq!(
            s.add_checkpoint(&cp(12, 3, Some((8, 2)))).unwrap(),
            CheckpointOutcome::Stored
        );
        let latest = s.latest_checkpoint("d1").unwrap().unwrap();
        assert_eq!((latest.seq, latest.prev), (12, Some((8, vec![2; 32]))));
        assert_eq!(s.checkpoints("d1").unwrap().len(), 3);
        let conn = s.conn().unwrap();
        assert!(conn.execute("DELETE FROM checkpoints", []).is_err());
        assert!(conn.execute("UPDATE checkpoints SET seq = 1", []).is_err());
    }
}

#[cfg(test)]
mod group_commit {
    use super::*;

    fn store_with_device() -> (tempfile::TempDir, Arc<SqliteStore>) {
        let dir = tempfile::tempdir().unwrap();
        let s = SqliteStore::open(&dir.path().join("intake.db")).unwrap();
        s.add_code(&[1; 32], "", "t0", 100, b"ok").unwrap();
        s.redeem_code(
            &[1; 32],
            &[7; 32],
            "d1",
            50,
            "t",
            &|_, m| m == b"ok",
            &|_, _| b"tag".to_vec(),
        )
        .unwrap();
        (dir, Arc::new(s))
    }

    fn referral(id: &str, hash: u8) -> NewReferral {
        NewReferral {
            referral_id: id.into(),
            device_id: "d1".into(),
            payload_hash: [hash; 32],
            received_at: "2026-12-04T00:00:00Z".into(),
            receipt_signature: vec![1; 64],
            body: vec![2; 100],
        }
    }

    fn plain_status() -> SharedMakeStatus {
        Arc::new(|_: &str, seq: i64| Ok(seq.to_be_bytes().to_vec()))
    }

    /// Every thread queues its referral while the connection is held (as if a commit were
    /// flushing), then all wait; returns each outcome by its referral id.
    fn queued_together(
        s: &Arc<SqliteStore>,
        jobs: Vec<(NewReferral, SharedMakeStatus)>,
    ) -> Vec<(String, Result<InsertOutcome, StoreError>)> {
        let n = jobs.len();
        let held = s.conn().unwrap();
        let handles: Vec<_> = jobs
            .into_iter()
            .map(|(new, make)| {
                let s = s.clone();
                let id = new.referral_id.clone();
                std::thread::spawn(move || (id, s.insert_referral_grouped(new, make)))
            })
            .collect();
        while s.waiting.lock().unwrap().len() < n {
            std::thread::sleep(std::time::Duration::from_millis(1));
        }
        drop(held);
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    }

    fn statuses(s: &SqliteStore) -> Vec<i64> {
        let conn = s.conn().unwrap();
        let mut stmt = conn
            .prepare("SELECT seq FROM status_updates WHERE device_id = 'd1' ORDER BY seq")
            .unwrap();
        stmt.query_map([], |r| r.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap()
    }

    #[test]
    fn referrals_that_wait_together_are_committed_together_each_decided_on_its_own() {
        let (_d, s) = store_with_device();
        let mut jobs: Vec<(NewReferral, SharedMakeStatus)> = (0..12)
            .map(|i| (referral(&format!("r{i}"), 1), plain_status()))
            .collect();
        // The same referral again in the same group, and another one under a taken id.
        jobs.push((referral("r0", 1), plain_status()));
        jobs.push((referral("r1", 9), plain_status()));
        // One whose status update cannot be made: it alone is not stored.
        let failing: SharedMakeStatus =
            Arc::new(|_: &str, _: i64| Err(StoreError::Config("sealing failed")));
        jobs.push((referral("r-fail", 1), failing));
        let outcomes = queued_together(&s, jobs);

        let inserted = outcomes
            .iter()
            .filter(|(_, o)| matches!(o, Ok(InsertOutcome::Inserted { .. })))
            .count();
        let existing = outcomes
            .iter()
            .filter(|(_, o)| matches!(o, Ok(InsertOutcome::Existing { .. })))
            .count();
        let conflicts = outcomes
            .iter()
            .filter(|(_, o)| matches!(o, Ok(InsertOutcome::Conflict)))
            .count();
        // Which of the two r0 (and of the two r1) came first is the threads' order.
        assert_eq!((inserted, existing, conflicts), (12, 1, 1), "{outcomes:?}");
        let failed: Vec<&String> = outcomes
            .iter()
            .filter(|(_, o)| o.is_err())
            .map(|(id, _)| id)
            .collect();
        assert_eq!(failed, ["r-fail"]);
        assert_eq!(s.referral_count().unwrap(), 12);
        assert!(s.referral("r-fail").unwrap().is_none());
        // Status updates numbered 1..=12, no gap where the failing one was undone.
        assert_eq!(statuses(&s), (1..=12).collect::<Vec<i64>>());
        // All fifteen in one commit.
        assert_eq!(s.group_commits(), 1);
    }

    #[test]
    fn a_group_whose_commit_fails_stores_none_and_tells_every_caller() {
        let (_d, s) = store_with_device();
        // A referral that aborts the whole transaction, not just its savepoint (as a full
        // disk or a lost lock would).
        s.conn()
            .unwrap()
            .execute_batch(
                "CREATE TEMP TRIGGER boom BEFORE INSERT ON referrals \
                 WHEN NEW.referral_id = 'boom' BEGIN SELECT RAISE(ROLLBACK, 'disk full'); END",
            )
            .unwrap();
        let jobs = ["a", "boom", "b"]
            .into_iter()
            .map(|id| (referral(id, 1), plain_status()))
            .collect();
        let outcomes = queued_together(&s, jobs);
        for (id, o) in &outcomes {
            assert!(matches!(o, Err(StoreError::Batch(_))), "{id}: {o:?}");
        }
        assert_eq!(s.referral_count().unwrap(), 0);
        assert!(statuses(&s).is_empty());
        // The next group is not held back by it.
        let outcomes = queued_together(&s, vec![(referral("a", 1), plain_status())]);
        assert!(matches!(
            outcomes[0].1,
            Ok(InsertOutcome::Inserted { status_seq: 1 })
        ));
    }

    #[test]
    fn many_callers_at_once_share_commits_and_each_is_stored_once() {
        let (_d, s) = store_with_device();
        let handles: Vec<_> = (0..64)
            .map(|i| {
                let s = s.clone();
                std::thread::spawn(move || {
                    // Each sends its referral twice, as a phone retrying would.
                    let a =
                        s.insert_referral_grouped(referral(&format!("m{i}"), 3), plain_status());
                    let b =
                        s.insert_referral_grouped(referral(&format!("m{i}"), 3), plain_status());
                    (a.unwrap(), b.unwrap())
                })
            })
            .collect();
        for h in handles {
            let (a, b) = h.join().unwrap();
            assert!(matches!(a, InsertOutcome::Inserted { .. }));
            assert!(matches!(b, InsertOutcome::Existing { .. }));
        }
        assert_eq!(s.referral_count().unwrap(), 64);
        assert_eq!(statuses(&s), (1..=64).collect::<Vec<i64>>());
        assert!(s.waiting.lock().unwrap().is_empty());
        // How many commits they shared depends on how the threads ran (66 for 128 once).
        eprintln!("{} group commits for 128 referrals", s.group_commits());
    }
}
