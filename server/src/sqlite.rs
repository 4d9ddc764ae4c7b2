//! SQLite backend (bundled): WAL, `synchronous=FULL`, `secure_delete=ON`, file mode 0600, STRICT
//! tables, append-only triggers on status updates and checkpoints. One connection behind a
//! mutex: the intake load (hundreds of clubs) is far below what one SQLite writer handles.

use std::path::Path;
use std::sync::{Mutex, MutexGuard};

use chungtay_protocol::transition_allowed;
use rusqlite::{Connection, OptionalExtension, Row, TransactionBehavior, params};

use crate::error::StoreError;
use crate::store::{
    CheckpointOutcome, Device, InsertOutcome, IntakeStore, MakeStatus, NewReferral, Redeem,
    StoredCheckpoint, StoredReferral, StoredStatus, TransitionOutcome,
};

const SCHEMA_VERSION: i64 = 1;

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
}

impl SqliteStore {
    /// Opens (creating if needed, mode 0600) the database at `path` and brings its schema up.
    pub fn open(path: &Path) -> Result<Self, StoreError> {
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
        let version: i64 = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
        if version > SCHEMA_VERSION {
            return Err(StoreError::SchemaTooNew(version));
        }
        if version == 0 {
            let tx = conn.unchecked_transaction()?;
            tx.execute_batch(SCHEMA)?;
            tx.pragma_update(None, "user_version", SCHEMA_VERSION)?;
            tx.commit()?;
        }
        Ok(SqliteStore {
            conn: Mutex::new(conn),
        })
    }

    fn conn(&self) -> Result<MutexGuard<'_, Connection>, StoreError> {
        self.conn.lock().map_err(|_| StoreError::Poisoned)
    }
}

fn device_row(r: &Row<'_>) -> rusqlite::Result<Device> {
    Ok(Device {
        device_id: r.get(0)?,
        public_key: r.get(1)?,
        enrolled_at: r.get(2)?,
        revoked_at: r.get(3)?,
    })
}

const DEVICE_COLS: &str = "device_id, public_key, enrolled_at, revoked_at";
const REFERRAL_COLS: &str = "n, referral_id, device_id, payload_hash, received_at, \
                             receipt_signature, state, updated_at, body";

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
    })
}

fn next_seq(tx: &Connection, device_id: &str) -> rusqlite::Result<i64> {
    tx.query_row(
        "SELECT COALESCE(MAX(seq), 0) + 1 FROM status_updates WHERE device_id = ?1",
        params![device_id],
        |r| r.get(0),
    )
}

fn insert_status(
    tx: &Connection,
    device_id: &str,
    seq: i64,
    referral_id: &str,
    state: &str,
    at: &str,
    body: &[u8],
) -> rusqlite::Result<()> {
    tx.execute(
        "INSERT INTO status_updates (device_id, seq, referral_id, state, at, body)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params![device_id, seq, referral_id, state, at, body],
    )?;
    Ok(())
}

impl IntakeStore for SqliteStore {
    fn add_code(
        &self,
        code_hash: &[u8; 32],
        created_at: &str,
        expires_at: i64,
    ) -> Result<(), StoreError> {
        self.conn()?.execute(
            "INSERT INTO enrollment_codes (code_hash, created_at, expires_at) VALUES (?1, ?2, ?3)",
            params![&code_hash[..], created_at, expires_at],
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
    ) -> Result<Redeem, StoreError> {
        let mut conn = self.conn()?;
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let code: Option<(i64, Option<String>)> = tx
            .query_row(
                "SELECT expires_at, device_id FROM enrollment_codes WHERE code_hash = ?1",
                params![&code_hash[..]],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?;
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
                    tx.execute(
                        "INSERT INTO devices (device_id, public_key, enrolled_at) VALUES (?1, ?2, ?3)",
                        params![new_device_id, public_key, now],
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
                    })
                }
            }
        };
        tx.commit()?;
        Ok(outcome)
    }

    fn device(&self, device_id: &str) -> Result<Option<Device>, StoreError> {
        Ok(self
            .conn()?
            .query_row(
                &format!("SELECT {DEVICE_COLS} FROM devices WHERE device_id = ?1"),
                params![device_id],
                device_row,
            )
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

    fn revoke_device(&self, device_id: &str, at: &str) -> Result<bool, StoreError> {
        let conn = self.conn()?;
        let exists: bool = conn.query_row(
            "SELECT EXISTS (SELECT 1 FROM devices WHERE device_id = ?1)",
            params![device_id],
            |r| r.get(0),
        )?;
        conn.execute(
            "UPDATE devices SET revoked_at = ?2 WHERE device_id = ?1 AND revoked_at IS NULL",
            params![device_id, at],
        )?;
        Ok(exists)
    }

    fn add_staff_token(
        &self,
        token_hash: &[u8; 32],
        label: &str,
        created_at: &str,
    ) -> Result<(), StoreError> {
        self.conn()?.execute(
            "INSERT INTO staff_tokens (token_hash, label, created_at) VALUES (?1, ?2, ?3)",
            params![&token_hash[..], label, created_at],
        )?;
        Ok(())
    }

    fn staff_token_valid(&self, token_hash: &[u8; 32]) -> Result<bool, StoreError> {
        Ok(self.conn()?.query_row(
            "SELECT EXISTS (SELECT 1 FROM staff_tokens WHERE token_hash = ?1 AND revoked_at IS NULL)",
            params![&token_hash[..]],
            |r| r.get(0),
        )?)
    }

    fn insert_referral(
        &self,
        new: &NewReferral,
        make_status: &mut MakeStatus<'_>,
    ) -> Result<InsertOutcome, StoreError> {
        let mut conn = self.conn()?;
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let existing: Option<(String, Vec<u8>, String, Vec<u8>)> = tx
            .query_row(
                "SELECT device_id, payload_hash, received_at, receipt_signature
                 FROM referrals WHERE referral_id = ?1",
                params![new.referral_id],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
            )
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
        tx.execute(
            "INSERT INTO referrals (referral_id, device_id, payload_hash, received_at,
                                    receipt_signature, state, updated_at, body)
             VALUES (?1, ?2, ?3, ?4, ?5, 'received', ?4, ?6)",
            params![
                new.referral_id,
                new.device_id,
                &new.payload_hash[..],
                new.received_at,
                new.receipt_signature,
                new.body
            ],
        )?;
        let seq = next_seq(&tx, &new.device_id)?;
        let body = make_status(&new.device_id, seq)?;
        insert_status(
            &tx,
            &new.device_id,
            seq,
            &new.referral_id,
            "received",
            &new.received_at,
            &body,
        )?;
        tx.commit()?;
        Ok(InsertOutcome::Inserted { status_seq: seq })
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
        insert_status(&tx, &device_id, seq, referral_id, to, at, &body)?;
        tx.execute(
            "UPDATE referrals SET state = ?2, updated_at = ?3 WHERE referral_id = ?1",
            params![referral_id, to, at],
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
            "SELECT device_id, seq, referral_id, state, at, body FROM status_updates
             WHERE device_id = ?1 AND seq > ?2 ORDER BY seq LIMIT ?3",
        )?;
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let rows = stmt.query_map(params![device_id, cursor, limit], |r| {
            Ok(StoredStatus {
                device_id: r.get(0)?,
                seq: r.get(1)?,
                referral_id: r.get(2)?,
                state: r.get(3)?,
                at: r.get(4)?,
                body: r.get(5)?,
            })
        })?;
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
        let latest: Option<i64> = tx.query_row(
            "SELECT MAX(seq) FROM checkpoints WHERE device_id = ?1",
            params![cp.device_id],
            |r| r.get(0),
        )?;
        if let Some(latest) = latest
            && cp.seq < latest
        {
            return Ok(CheckpointOutcome::Rollback { latest });
        }
        if same.is_some() {
            return Ok(CheckpointOutcome::Conflict);
        }
        tx.execute(
            "INSERT INTO checkpoints (device_id, seq, head, at, signature, received_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![
                cp.device_id,
                cp.seq,
                cp.head,
                cp.at,
                cp.signature,
                cp.received_at
            ],
        )?;
        tx.commit()?;
        Ok(CheckpointOutcome::Stored)
    }

    fn checkpoints(&self, device_id: &str) -> Result<Vec<StoredCheckpoint>, StoreError> {
        let conn = self.conn()?;
        let mut stmt = conn.prepare(
            "SELECT device_id, seq, head, at, signature, received_at FROM checkpoints
             WHERE device_id = ?1 ORDER BY seq",
        )?;
        let rows = stmt.query_map(params![device_id], |r| {
            Ok(StoredCheckpoint {
                device_id: r.get(0)?,
                seq: r.get(1)?,
                head: r.get(2)?,
                at: r.get(3)?,
                signature: r.get(4)?,
                received_at: r.get(5)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store() -> (tempfile::TempDir, SqliteStore) {
        let dir = tempfile::tempdir().unwrap();
        let s = SqliteStore::open(&dir.path().join("intake.db")).unwrap();
        (dir, s)
    }

    #[test]
    fn codes_are_one_time_and_expire() {
        let (_d, s) = store();
        s.add_code(&[1; 32], "t0", 100).unwrap();
        s.add_code(&[2; 32], "t0", 10).unwrap();
        assert_eq!(
            s.redeem_code(&[9; 32], &[7; 32], "dx", 50, "t").unwrap(),
            Redeem::Invalid
        );
        assert_eq!(
            s.redeem_code(&[2; 32], &[7; 32], "dx", 50, "t").unwrap(),
            Redeem::Invalid
        );
        let Redeem::Enrolled(d) = s.redeem_code(&[1; 32], &[7; 32], "d1", 50, "t").unwrap() else {
            panic!("not enrolled")
        };
        assert_eq!(d.device_id, "d1");
        assert_eq!(
            s.redeem_code(&[1; 32], &[7; 32], "d2", 60, "t").unwrap(),
            Redeem::Again(d.clone())
        );
        assert_eq!(
            s.redeem_code(&[1; 32], &[8; 32], "d3", 60, "t").unwrap(),
            Redeem::UsedByAnotherKey
        );
        s.add_code(&[3; 32], "t0", 100).unwrap();
        assert_eq!(
            s.redeem_code(&[3; 32], &[7; 32], "d4", 60, "t").unwrap(),
            Redeem::KeyAlreadyEnrolled
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
    fn checkpoints_are_append_only() {
        let (_d, s) = store();
        s.add_code(&[1; 32], "t0", 100).unwrap();
        s.redeem_code(&[1; 32], &[7; 32], "d1", 50, "t").unwrap();
        let cp = |seq: i64, h: u8| StoredCheckpoint {
            device_id: "d1".into(),
            seq,
            head: vec![h; 32],
            at: "t".into(),
            signature: vec![1; 64],
            received_at: "t".into(),
        };
        assert_eq!(
            s.add_checkpoint(&cp(5, 1)).unwrap(),
            CheckpointOutcome::Stored
        );
        assert_eq!(
            s.add_checkpoint(&cp(5, 1)).unwrap(),
            CheckpointOutcome::Duplicate
        );
        assert_eq!(
            s.add_checkpoint(&cp(5, 2)).unwrap(),
            CheckpointOutcome::Conflict
        );
        assert_eq!(
            s.add_checkpoint(&cp(4, 2)).unwrap(),
            CheckpointOutcome::Rollback { latest: 5 }
        );
        assert_eq!(
            s.add_checkpoint(&cp(6, 3)).unwrap(),
            CheckpointOutcome::Stored
        );
        // An old seq with another head, once a newer one is kept: a rollback.
        assert_eq!(
            s.add_checkpoint(&cp(5, 9)).unwrap(),
            CheckpointOutcome::Rollback { latest: 6 }
        );
        // The same old checkpoint again is still only a retry.
        assert_eq!(
            s.add_checkpoint(&cp(5, 1)).unwrap(),
            CheckpointOutcome::Duplicate
        );
        assert_eq!(s.checkpoints("d1").unwrap().len(), 2);
        let conn = s.conn().unwrap();
        assert!(conn.execute("DELETE FROM checkpoints", []).is_err());
        assert!(conn.execute("UPDATE checkpoints SET seq = 1", []).is_err());
    }
}
