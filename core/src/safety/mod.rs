//! Survivor safety (scenarios 4 and 5), over the store's file and the unlocked session: the
//! wrong-PIN count and wait, erasing one member, the phone number of someone who must not be
//! contacted; the duress slot and the decoy it opens (`duress`); the recovery secret and the
//! encrypted backup's format (`backup`). What replaces the store itself (the wipe, the decoy
//! taking its place, a restore) is the store's (`store::safety`).

mod backup;
mod duress;

pub use backup::RecoverySetup;
#[cfg(feature = "fuzzing")]
pub(crate) use backup::backup_key;
pub(crate) use backup::{BackupFile, create_backup, recovery_key, setup_recovery};
#[cfg(test)]
pub(crate) use duress::{DURESS_USER, LegacyDecoy};
pub(crate) use duress::{
    Decoy, DecoyUser, DuressTry, is_duress_pin, keep_duress_slot, open_decoy, open_legacy_duress,
    pad_like_decoy, refresh_decoy, reseal_duress_slot, set_duress_pin,
};

use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};

use crate::audit::AuditAction;
use crate::crypto::Place;
use crate::db::{self, Db};
use crate::domain::Member;
use crate::error::{Error, Reason, RecordKind, Result, invalid};
use crate::keys::KdfParams;
use crate::ledger::{self, NewEntry};
use crate::session::Session;

/// Tries without any wait; after that each wrong PIN doubles the wait, from 30 seconds.
pub const FREE_TRIES: i64 = 3;
const FIRST_DELAY_SECS: i64 = 30;
const MAX_DELAY_SECS: i64 = 30 * 60;
/// Consecutive wrong PINs that wipe the store unless the leader set another number.
pub const DEFAULT_WIPE_AFTER: i64 = 10;

pub(crate) fn meta_get(conn: &Connection, name: &str) -> Result<Option<Vec<u8>>> {
    Ok(conn
        .query_row("SELECT value FROM meta WHERE name = ?1", [name], |r| {
            r.get(0)
        })
        .optional()?)
}

pub(crate) fn meta_set(conn: &Connection, name: &str, value: &[u8]) -> Result<()> {
    conn.execute(
        "INSERT OR REPLACE INTO meta (name, value) VALUES (?1, ?2)",
        params![name, value],
    )?;
    Ok(())
}

fn meta_i64(conn: &Connection, name: &str) -> Result<Option<i64>> {
    Ok(meta_get(conn, name)?
        .and_then(|v| <[u8; 8]>::try_from(v.as_slice()).ok())
        .map(i64::from_be_bytes))
}

/// Wait before the next try after `failures` consecutive wrong PINs.
pub fn delay_after(failures: i64) -> i64 {
    if failures < FREE_TRIES {
        return 0;
    }
    let doublings = (failures - FREE_TRIES).min(16) as u32;
    (FIRST_DELAY_SECS << doublings).min(MAX_DELAY_SECS)
}

/// Refuses a try that comes before the wait is over. The count and the time live in the store
/// file, so restarting the app does not reset them.
pub(crate) fn check_lockout(conn: &Connection) -> Result<()> {
    let failures = meta_i64(conn, "failed_unlocks")?.unwrap_or(0);
    let Some(last) = meta_get(conn, "last_failed_at")? else {
        return Ok(());
    };
    let last = String::from_utf8(last)
        .ok()
        .and_then(|s| DateTime::parse_from_rfc3339(&s).ok())
        .map(|d| d.with_timezone(&Utc));
    let wait = delay_after(failures);
    if let Some(last) = last {
        let now = Utc::now();
        if last > now {
            // The clock was set back since that try (or was wrong then): count the wait from
            // now, rather than lock the leader out for as long as the clock is behind.
            meta_set(conn, "last_failed_at", db::now_text().as_bytes())?;
        }
        let left = wait - (now - last).num_seconds().max(0);
        if left > 0 {
            return Err(Error::TooSoon {
                retry_after_secs: left as u64,
            });
        }
    }
    Ok(())
}

/// Counts one try as failed until it succeeds; returns the count including this one.
pub(crate) fn count_attempt(conn: &Connection) -> Result<i64> {
    let tx = rusqlite::Transaction::new_unchecked(conn, TransactionBehavior::Immediate)?;
    // Read under the write lock: two handles on the same file must not both write N + 1.
    let failures = meta_i64(&tx, "failed_unlocks")?.unwrap_or(0) + 1;
    meta_set(&tx, "failed_unlocks", &failures.to_be_bytes())?;
    meta_set(&tx, "last_failed_at", db::now_text().as_bytes())?;
    tx.commit()?;
    Ok(failures)
}

pub(crate) fn reset_attempts(conn: &Connection) -> Result<()> {
    conn.execute(
        "DELETE FROM meta WHERE name IN ('failed_unlocks', 'last_failed_at')",
        [],
    )?;
    Ok(())
}

pub(crate) fn wipe_after(conn: &Connection) -> Result<i64> {
    Ok(meta_i64(conn, "wipe_after")?.unwrap_or(DEFAULT_WIPE_AFTER))
}

pub(crate) fn params_bytes(p: KdfParams) -> [u8; 12] {
    let mut out = [0u8; 12];
    out[..4].copy_from_slice(&p.m_kib.to_be_bytes());
    out[4..8].copy_from_slice(&p.t.to_be_bytes());
    out[8..].copy_from_slice(&p.p.to_be_bytes());
    out
}

pub(crate) fn params_from(b: &[u8]) -> Option<KdfParams> {
    Some(KdfParams {
        m_kib: u32::from_be_bytes(b.get(..4)?.try_into().ok()?),
        t: u32::from_be_bytes(b.get(4..8)?.try_into().ok()?),
        p: u32::from_be_bytes(b.get(8..12)?.try_into().ok()?),
    })
}

fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut s = path.as_os_str().to_owned();
    s.push(suffix);
    PathBuf::from(s)
}

/// The `VACUUM INTO` copy a backup makes; one is left if the app is killed while making it, and
/// it holds every wrapped key.
pub(crate) fn backup_tmp_of(path: &Path) -> PathBuf {
    with_suffix(path, ".backup-tmp")
}

/// Best effort: writes zeros over the whole file, then truncates it.
pub(crate) fn overwrite_with_zeros(path: &Path) {
    use std::io::Write;
    let Ok(mut file) = std::fs::OpenOptions::new().write(true).open(path) else {
        return;
    };
    let Ok(len) = file.metadata().map(|m| m.len()) else {
        return;
    };
    let zeros = [0u8; 64 * 1024];
    let mut left = len;
    while left > 0 {
        let n = left.min(zeros.len() as u64) as usize;
        if file.write_all(&zeros[..n]).is_err() {
            break;
        }
        left -= n as u64;
    }
    let _ = file.sync_all();
    let _ = file.set_len(0);
}

/// Every file a store at `path` may have written (database, WAL, shared memory, journal, and a
/// backup's leftover copy).
pub fn files_of(path: &Path) -> Vec<PathBuf> {
    let mut out = vec![path.to_owned()];
    out.extend(["-wal", "-shm", "-journal"].map(|s| with_suffix(path, s)));
    out.push(backup_tmp_of(path));
    out
}

/// Consecutive wrong PINs so far, and how many more the store allows before it wipes itself.
pub(crate) fn attempts_left(conn: &Connection) -> Result<i64> {
    let failures = meta_i64(conn, "failed_unlocks")?.unwrap_or(0);
    Ok((wipe_after(conn)? - failures).max(0))
}

/// Sets how many consecutive wrong PINs wipe the store (3 to 50).
pub(crate) fn set_wipe_after(db: Db<'_>, s: &Session, tries: i64) -> Result<()> {
    if tries < 3 {
        return invalid("wipe_after", Reason::BelowMinimum);
    }
    if tries > 50 {
        return invalid("wipe_after", Reason::AboveMaximum { max: 50 });
    }
    // A safety setting: who changed it, and to what (a count, nothing personal).
    let tx = rusqlite::Transaction::new_unchecked(db.conn, TransactionBehavior::Immediate)?;
    meta_set(&tx, "wipe_after", &tries.to_be_bytes())?;
    let mut entry = NewEntry::new(AuditAction::Update, None, "wipe_after");
    entry.fields = vec![format!("wipe_after={tries}")];
    ledger::append(&tx, db.store_id, s, entry)?;
    tx.commit()?;
    Ok(())
}

/// Erases one member beyond recovery (her safety, or her right to erasure): her key and
/// every record sealed under it. The trail keeps that an erasure happened, not what.
/// `path` is the store's file, whose backup leftover is removed too.
pub(crate) fn erase_member(db: Db<'_>, s: &mut Session, path: &Path, id: &str) -> Result<()> {
    let exists: Option<String> = db
        .conn
        .query_row("SELECT id FROM members WHERE id = ?1", [id], |r| r.get(0))
        .optional()?;
    if exists.is_none() {
        return Err(Error::NotFound {
            kind: RecordKind::Member,
            id: id.to_owned(),
        });
    }
    let tx = rusqlite::Transaction::new_unchecked(db.conn, TransactionBehavior::Immediate)?;
    // they go explicitly, and the erasure's entry names them so the trail accounts for them.
    let notes: Vec<String> = {
        let mut stmt = tx.prepare(
            "SELECT id FROM annotations WHERE \
                   (record_kind = 'member' AND record_id = ?1) \
                   OR (record_kind = 'referral' AND record_id IN \
                     (SELECT id FROM referrals WHERE member_id = ?1)) \
                   OR (record_kind = 'consent' AND record_id IN \
                     (SELECT id FROM consents WHERE member_id = ?1)) \
                   OR (record_kind = 'livelihood' AND record_id IN \
                     (SELECT id FROM livelihood WHERE member_id = ?1))",
        )?;
        let rows = stmt.query_map([id], |r| r.get(0))?;
        rows.collect::<std::result::Result<_, _>>()?
    };
    // Her records, named in the erasure's entry: the trail then knows they are gone on
    // purpose, and reports any of them that comes back (or goes missing otherwise).
    let mut taken: Vec<String> = Vec::new();
    for (kind, table) in [
        (RecordKind::Consent, "consents"),
        (RecordKind::Referral, "referrals"),
        (RecordKind::Livelihood, "livelihood"),
    ] {
        let mut stmt = tx.prepare(&format!("SELECT id FROM {table} WHERE member_id = ?1"))?;
        let ids = stmt.query_map([id], |r| r.get::<_, String>(0))?;
        for record in ids {
            taken.push(ledger::erased_field(kind, &record?));
        }
    }
    for sql in [
        // A referral still waiting to go out must not leave after she is erased.
        "DELETE FROM outbox WHERE referral_id IN (SELECT id FROM referrals WHERE member_id = ?1)",
        "DELETE FROM referrals WHERE member_id = ?1",
        "DELETE FROM livelihood WHERE member_id = ?1",
        "DELETE FROM consents WHERE member_id = ?1",
        "DELETE FROM members WHERE id = ?1",
        "DELETE FROM member_keys WHERE member_id = ?1",
    ] {
        tx.execute(sql, [id])?;
    }
    for note in &notes {
        tx.execute("DELETE FROM annotations WHERE id = ?1", [note])?;
    }
    // The index's sealed snapshot holds her name: gone with her (a new one is sealed at lock).
    crate::snapshot::discard(&tx)?;
    let mut entry = NewEntry::new(AuditAction::Delete, Some(RecordKind::Member), id);
    entry.fields = vec!["erased".into()];
    entry.fields.extend(taken);
    entry.fields.extend(
        notes
            .iter()
            .map(|n| format!("{}{n}", ledger::ANNOTATION_FIELD)),
    );
    ledger::append(&tx, db.store_id, s, entry)?;
    tx.commit()?;
    s.member_keys.remove(id);
    s.index.remove(id);
    // secure_delete zeroed the freed cells; this folds and empties the WAL as well.
    db.conn
        .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))?;
    // A backup copy left behind by a killed app still holds her wrapped key.
    let stale_copy = backup_tmp_of(path);
    if stale_copy.exists() {
        std::fs::remove_file(stale_copy)?;
    }
    Ok(())
}

/// The number to call or text, only when contact is safe.
pub(crate) fn contact_phone(member: Member) -> Result<String> {
    if !member.info.safe_to_contact {
        return Err(Error::DoNotContact);
    }
    member
        .info
        .phone
        .ok_or_else(|| Error::Invalid(crate::ValidationError::new("phone", Reason::Missing)))
}

pub(crate) fn meta_place(id: &'static str) -> Place<'static> {
    Place {
        table: "meta",
        kind: RecordKind::User,
        id,
        bound: "",
    }
}
