//! Survivor safety (scenarios 4 and 5), over the store's file and the unlocked session: the
//! wrong-PIN count and wait, the duress slot and the decoy it opens, erasing one member, the
//! phone number of someone who must not be contacted, the recovery secret and the encrypted
//! backup's format. What replaces the store itself (the wipe, the decoy taking its place, a
//! restore) is the store's (`store::safety`); the decoy reads the clubs and the trail.

use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use crate::audit::AuditAction;
use crate::clubs;
use crate::crypto::{self, KeyId, Place, SecretKey};
use crate::db::{self, Db};
use crate::domain::{ClubInput, Id, Member, Timestamp};
use crate::error::{Error, Reason, RecordKind, Result, invalid};
use crate::keys::{self, DeviceSecret, KdfParams, SlotKdf};
use crate::ledger::{self, NewEntry};
use crate::session::Session;
use crate::slots;
use crate::trail;

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

/// The decoy of the first release, sealed in `meta.duress` (still honoured, see
/// `try_legacy_duress`): the leader and the clubs, no members.
#[derive(Serialize, Deserialize)]
pub(crate) struct LegacyDecoy {
    pub(crate) leader_id: Id,
    pub(crate) leader_name: String,
    pub(crate) clubs: Vec<ClubInput>,
}

/// What the decoy shows, refreshed at every unlock and lock, sealed under the decoy key: the
/// users (ids, roles, names, stamps), the clubs (ids, contents, stamps) and the trail's entries
/// that name no member record. No members, meetings, consents, referrals or notes.
#[derive(Serialize, Deserialize)]
pub(crate) struct Decoy {
    pub(crate) users: Vec<DecoyUser>,
    pub(crate) clubs: Vec<DecoyClub>,
    pub(crate) trail: Vec<DecoyEntry>,
}

#[derive(Serialize, Deserialize)]
pub(crate) struct DecoyUser {
    pub(crate) id: Id,
    pub(crate) role: String,
    pub(crate) name: String,
    pub(crate) stamps: [String; 4],
    pub(crate) m_kib: u32,
    pub(crate) t: u32,
    pub(crate) p: u32,
}

#[derive(Serialize, Deserialize)]
pub(crate) struct DecoyClub {
    pub(crate) id: Id,
    pub(crate) info: ClubInput,
    pub(crate) stamps: [String; 4],
}

#[derive(Serialize, Deserialize)]
pub(crate) struct DecoyEntry {
    pub(crate) at: Timestamp,
    pub(crate) user_id: Id,
    pub(crate) role: Option<String>,
    pub(crate) action: AuditAction,
    pub(crate) kind: Option<String>,
    pub(crate) record_id: String,
    pub(crate) fields: Vec<String>,
}

/// The trail entries a decoy keeps at most (the newest): enough to look used, small enough to
/// re-seal at every lock.
const DECOY_TRAIL_MAX: usize = 1000;

/// Meta rows every store has (a duress PIN set or not, so their presence says nothing):
/// the duress slot (slot salt, KDF cost, the decoy key wrapped under the duress PIN's KEK, or
/// under a random key when no duress PIN is set), the decoy key under the records key, and the
/// decoy under the decoy key.
pub(crate) const DURESS_SLOT: &str = "duress_slot";
const DECOY_KEY: &str = "decoy_key";
const DECOY: &str = "decoy";

pub(crate) fn meta_place(id: &'static str) -> Place<'static> {
    Place {
        table: "meta",
        kind: RecordKind::User,
        id,
        bound: "",
    }
}

pub(crate) const DURESS_USER: &str = "00000000-0000-4000-8000-00000000d0e5";
const BACKUP_MAGIC: &[u8; 16] = b"CHUNGTAY-BACKUP1";

/// The backup file, and the secret that opens it when it was just set up.
/// Kotlin's `toString` is the redacted `Debug` below, so a stray log line does not hold it.
#[cfg_attr(feature = "uniffi", uniffi::export(Debug))]
#[derive(Clone, PartialEq, Eq)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct RecoverySetup {
    /// Shown once, written down and kept by the commune union. Never stored.
    pub recovery_secret: String,
}
// With a backup file, the secret opens the whole store: never in Debug output.
crate::domain::redacted_debug!(RecoverySetup {});

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

/// The recovery secret as people copy it: case, spaces and dashes do not matter.
fn normalise_secret(secret: &str) -> Zeroizing<String> {
    Zeroizing::new(
        secret
            .chars()
            .filter(|c| c.is_ascii_alphanumeric())
            .map(|c| c.to_ascii_uppercase())
            .collect(),
    )
}

pub(crate) fn recovery_key(secret: &str, salt: &[u8], params: KdfParams) -> Result<SecretKey> {
    let stretched = keys::stretch(&normalise_secret(secret), salt, params)?;
    crypto::hkdf_sha256(salt, stretched.as_ref(), b"chungtay recovery v1")
}

fn check_value(key: &SecretKey) -> Result<Vec<u8>> {
    Ok(key.derive(b"recovery-check")?.as_bytes()[..16].to_vec())
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

/// Seals the duress slot under `pin` (checked by the caller to be nobody's PIN) and re-wraps
/// the leader's own slot under `current_pin` (new salt, new stamps), as `change_pin` does, so
/// that the file shows a PIN change and nothing more. The duress slot keeps the cost it had
/// (a placeholder's is the leader's).
pub(crate) fn set_duress_pin(
    db: Db<'_>,
    s: &Session,
    device: &dyn DeviceSecret,
    current_pin: &str,
    pin: &str,
) -> Result<()> {
    keep_duress_slot(db, s)?;
    let own = slots::read_slot(db.conn, &s.user_id)?.ok_or(Error::UnknownUser)?;
    let params = match DuressSlot::load(db.conn)? {
        Some(slot) => slot.kdf.params,
        None => own.kdf.params,
    };
    let decoy_key = decoy_key(db, s)?;
    let kdf = SlotKdf::new(params)?;
    let kek = keys::user_kek(device, db.store_id, DURESS_USER, pin, &kdf)?;
    let slot = DuressSlot::seal(&kek, kdf, db.store_kid, &decoy_key)?;
    let encoded = slot.encode();
    let tx = rusqlite::Transaction::new_unchecked(db.conn, TransactionBehavior::Immediate)?;
    meta_set(&tx, DURESS_SLOT, &encoded)?;
    write_guard(
        &tx,
        db.store_kid,
        &s.record_key,
        &slot_digest(&encoded),
        Some(&kek),
    )?;
    // The first release's duress row goes: this slot replaces it.
    tx.execute("DELETE FROM meta WHERE name = 'duress'", [])?;
    slots::rewrite_slot(db, device, s, &tx, &s.user_id, current_pin, own.kdf.params)?;
    // Noted as a PIN change of the leader's (which it is), not as "a duress PIN exists":
    // whoever reads the trail, in the store or in the decoy, cannot tell the two apart.
    ledger::append(
        &tx,
        db.store_id,
        s,
        NewEntry::new(AuditAction::PinChange, Some(RecordKind::User), &s.user_id),
    )?;
    tx.commit()?;
    refresh_decoy(db, s)
}

/// The first release's decoy and its cost, when `pin` is that release's duress PIN (its row,
/// `meta.duress`, is still honoured until the leader sets the duress PIN again).
pub(crate) fn open_legacy_duress(
    db: Db<'_>,
    device: &dyn DeviceSecret,
    pin: &str,
) -> Result<Option<(LegacyDecoy, KdfParams)>> {
    let Some(value) = meta_get(db.conn, "duress")? else {
        return Ok(None);
    };
    let (Some(salt), Some(params)) = (value.get(..16), value.get(16..28).and_then(params_from))
    else {
        return Ok(None);
    };
    let Some(kdf) = SlotKdf::decode(salt, params) else {
        return Ok(None);
    };
    let kek = keys::user_kek(device, db.store_id, DURESS_USER, pin, &kdf)?;
    let Ok(plain) = crypto::open(&kek, db.store_kid, &meta_place("duress"), &value[28..]) else {
        return Ok(None);
    };
    let decoy: LegacyDecoy = serde_json::from_slice(&plain).map_err(|_| Error::Crypto)?;
    Ok(Some((decoy, params)))
}

/// The decoy the duress slot's key opens.
pub(crate) fn open_decoy(db: Db<'_>, decoy_key: &SecretKey) -> Result<Decoy> {
    let sealed = meta_get(db.conn, DECOY)?.ok_or(Error::Crypto)?;
    let plain = crypto::open(decoy_key, db.store_kid, &meta_place(DECOY), &sealed)?;
    serde_json::from_slice(&plain).map_err(|_| Error::Crypto)
}

/// Whether `pin` is the duress PIN, in the duress slot or in a first release's `meta.duress`
/// row (still honoured at unlock, so a user PIN equal to its PIN would open the real data).
pub(crate) fn is_duress_pin(db: Db<'_>, device: &dyn DeviceSecret, pin: &str) -> Result<bool> {
    let mut hit = false;
    if let Some(slot) = DuressSlot::load(db.conn)? {
        let kek = keys::user_kek(device, db.store_id, DURESS_USER, pin, &slot.kdf)?;
        hit |= crypto::open(&kek, db.store_kid, &meta_place(DURESS_SLOT), &slot.wrapped).is_ok();
    }
    hit |= open_legacy_duress(db, device, pin)?.is_some();
    Ok(hit)
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

/// Sets up (or replaces) the recovery secret for backups and returns it, to show once.
pub(crate) fn setup_recovery(db: Db<'_>, s: &Session) -> Result<RecoverySetup> {
    let mut raw = Zeroizing::new([0u8; 20]);
    crypto::fill_random(raw.as_mut())?;
    let encoded = Zeroizing::new(data_encoding::BASE32_NOPAD.encode(raw.as_ref()));
    let secret = encoded
        .as_bytes()
        .chunks(4)
        .map(|c| String::from_utf8_lossy(c).into_owned())
        .collect::<Vec<_>>()
        .join("-");
    let mut salt = [0u8; 16];
    crypto::fill_random(&mut salt)?;
    let params = KdfParams::MIN;
    let key = recovery_key(&secret, &salt, params)?;
    let sealed = crypto::seal(
        &s.record_key,
        db.store_kid,
        &meta_place("recovery"),
        key.as_bytes(),
    )?;
    let mut value = salt.to_vec();
    value.extend_from_slice(&params_bytes(params));
    value.extend_from_slice(sealed.as_bytes());
    let tx = rusqlite::Transaction::new_unchecked(db.conn, TransactionBehavior::Immediate)?;
    meta_set(&tx, "recovery", &value)?;
    ledger::append(
        &tx,
        db.store_id,
        s,
        NewEntry::new(AuditAction::Update, Some(RecordKind::User), "recovery"),
    )?;
    tx.commit()?;
    Ok(RecoverySetup {
        recovery_secret: secret,
    })
}

/// One encrypted file with everything (records, users, audit trail), for a new phone. `path`
/// is the store's file, beside which the copy is made.
pub(crate) fn create_backup(db: Db<'_>, s: &Session, path: &Path) -> Result<Vec<u8>> {
    let value = meta_get(db.conn, "recovery")?
        .ok_or_else(|| Error::Invalid(crate::ValidationError::new("recovery", Reason::Missing)))?;
    let salt = value.get(..16).ok_or(Error::Crypto)?.to_vec();
    let params = value
        .get(16..28)
        .and_then(params_from)
        .ok_or(Error::Crypto)?;
    let key = crypto::open(
        &s.record_key,
        db.store_kid,
        &meta_place("recovery"),
        &value[28..],
    )?;
    let key = SecretKey::from_slice(&key)?;
    {
        let tx = rusqlite::Transaction::new_unchecked(db.conn, TransactionBehavior::Immediate)?;
        ledger::append(
            &tx,
            db.store_id,
            s,
            NewEntry::new(AuditAction::Export, None, "backup"),
        )?;
        tx.commit()?;
    }
    // A consistent copy of the file: its personal fields are sealed already.
    let tmp = backup_tmp_of(path);
    if tmp.exists() {
        std::fs::remove_file(&tmp)?;
    }
    db.conn
        .execute("VACUUM INTO ?1", [tmp.to_string_lossy().as_ref()])?;
    let copy = std::fs::read(&tmp);
    std::fs::remove_file(&tmp)?;
    let copy = copy?;
    let mut inner = Zeroizing::new(s.store_key.as_bytes().to_vec());
    inner.extend_from_slice(&copy);
    let mut header = BACKUP_MAGIC.to_vec();
    header.extend_from_slice(&salt);
    header.extend_from_slice(&params_bytes(params));
    header.extend_from_slice(&check_value(&key)?);
    let bound = data_encoding::HEXLOWER.encode(&header);
    let sealed = crypto::seal(&key, db.store_kid, &backup_place(&bound), &inner)?;
    let mut file = header;
    file.extend_from_slice(db.store_kid.0.as_slice());
    file.extend_from_slice(sealed.as_bytes());
    Ok(file)
}

pub(crate) struct BackupFile<'a> {
    /// Magic, salt, Argon2 cost and check value: bound into the seal.
    header: &'a [u8],
    pub(crate) salt: &'a [u8],
    pub(crate) kdf: KdfParams,
    kid: KeyId,
    sealed: &'a [u8],
}

impl<'a> BackupFile<'a> {
    const HEADER_LEN: usize = 16 + 16 + 12 + 16;

    /// Splits a file into its parts; anything but a backup is `BackupDamaged`.
    pub(crate) fn parse(backup: &'a [u8]) -> Result<Self> {
        let header_len = Self::HEADER_LEN;
        if backup.len() < header_len + KeyId::LEN || &backup[..16] != BACKUP_MAGIC {
            return Err(Error::BackupDamaged);
        }
        let header = &backup[..header_len];
        let kdf = params_from(&header[32..44]).ok_or(Error::BackupDamaged)?;
        kdf.check().map_err(|_| Error::BackupDamaged)?;
        let kid = KeyId(
            backup[header_len..header_len + KeyId::LEN]
                .try_into()
                .map_err(|_| Error::BackupDamaged)?,
        );
        Ok(Self {
            header,
            salt: &header[16..32],
            kdf,
            kid,
            sealed: &backup[header_len + KeyId::LEN..],
        })
    }

    /// Opens the file with the key derived from the recovery secret: the store key, and the
    /// whole opened content (store key, then the database file).
    pub(crate) fn open(&self, key: &SecretKey) -> Result<(SecretKey, Zeroizing<Vec<u8>>)> {
        if check_value(key)? != self.header[44..60] {
            return Err(Error::WrongRecoverySecret);
        }
        let bound = data_encoding::HEXLOWER.encode(self.header);
        let inner = crypto::open(key, self.kid, &backup_place(&bound), self.sealed)
            .map_err(|_| Error::BackupDamaged)?;
        if inner.len() < 32 {
            return Err(Error::BackupDamaged);
        }
        let store_key = SecretKey::from_slice(&inner[..32])?;
        Ok((store_key, inner))
    }
}

/// The key a recovery secret gives for a backup file's salt and cost, for `crate::fuzzing`.
#[cfg(feature = "fuzzing")]
pub(crate) fn backup_key(secret: &str, file: &BackupFile<'_>) -> Result<SecretKey> {
    recovery_key(secret, file.salt, file.kdf)
}

fn backup_place(bound: &str) -> Place<'_> {
    Place {
        table: "backup",
        kind: RecordKind::Canary,
        id: "backup",
        bound,
    }
}

// ---- the duress slot and the decoy ----------------------------------------------------------

/// `meta.duress_slot`: slot salt (version 2), Argon2 cost, and the decoy key wrapped under the
/// duress PIN's KEK (or under a random key: the dummy every store without a duress PIN has).
pub(crate) struct DuressSlot {
    kdf: SlotKdf,
    wrapped: Vec<u8>,
}

impl DuressSlot {
    fn seal(
        kek: &SecretKey,
        kdf: SlotKdf,
        store_kid: KeyId,
        decoy_key: &SecretKey,
    ) -> Result<Self> {
        let wrapped = crypto::seal(
            kek,
            store_kid,
            &meta_place(DURESS_SLOT),
            decoy_key.as_bytes(),
        )?;
        Ok(Self {
            kdf,
            wrapped: wrapped.as_bytes().to_vec(),
        })
    }

    /// A slot no PIN opens, of the same size and shape as a real one, and the random key it is
    /// wrapped under (kept in the canary, to re-seal the slot at each PIN change).
    fn dummy(
        params: KdfParams,
        store_kid: KeyId,
        decoy_key: &SecretKey,
    ) -> Result<(Self, SecretKey)> {
        let kek = SecretKey::generate()?;
        let slot = Self::seal(&kek, SlotKdf::new(params)?, store_kid, decoy_key)?;
        Ok((slot, kek))
    }

    fn encode(&self) -> Vec<u8> {
        let mut out = self.kdf.encode_salt();
        out.extend_from_slice(&params_bytes(self.kdf.params));
        out.extend_from_slice(&self.wrapped);
        out
    }

    fn load(conn: &Connection) -> Result<Option<Self>> {
        let Some(value) = meta_get(conn, DURESS_SLOT)? else {
            return Ok(None);
        };
        let n = keys::SLOT_SALT_LEN;
        let slot = value
            .get(n..n + 12)
            .and_then(params_from)
            .and_then(|params| {
                Some(Self {
                    kdf: SlotKdf::decode(value.get(..n)?, params)?,
                    wrapped: value.get(n + 12..)?.to_vec(),
                })
            });
        slot.map(Some).ok_or(Error::Integrity {
            kind: RecordKind::User,
            id: DURESS_SLOT.into(),
        })
    }
}

/// One try of a PIN against the duress slot, made on every unlock whatever the user slot said.
pub(crate) struct DuressTry {
    pub(crate) kdf: SlotKdf,
    pub(crate) stretched: Zeroizing<[u8; crypto::KEY_LEN]>,
    /// The decoy key, when the PIN is the duress PIN.
    pub(crate) opened: Option<SecretKey>,
}

impl DuressTry {
    /// `params`: the cost of the user's slot, used for a store that has no duress slot yet
    /// (made before this release, until its next unlock), so that it costs the same.
    pub(crate) fn run(
        db: Db<'_>,
        device: &dyn DeviceSecret,
        pin: &str,
        params: KdfParams,
    ) -> Result<Self> {
        let slot = match DuressSlot::load(db.conn)? {
            Some(slot) => slot,
            None => DuressSlot {
                kdf: SlotKdf::new(params)?,
                wrapped: Vec::new(),
            },
        };
        let stretched = keys::stretch(pin, &slot.kdf.salt, slot.kdf.params)?;
        let kek =
            keys::kek_from_stretched(device, db.store_id, DURESS_USER, &stretched, &slot.kdf)?;
        let opened = crypto::open(&kek, db.store_kid, &meta_place(DURESS_SLOT), &slot.wrapped)
            .ok()
            .and_then(|k| SecretKey::from_slice(&k).ok());
        Ok(Self {
            kdf: slot.kdf,
            stretched,
            opened,
        })
    }
}

/// The device calls `create_decoy` makes (the new store's device check, then the chain for the
/// decoy's slot), made on throwaway input and thrown away.
pub(crate) fn pad_like_decoy(device: &dyn DeviceSecret, kdf: &SlotKdf) -> Result<()> {
    let mut throwaway = Zeroizing::new([0u8; crypto::KEY_LEN]);
    crypto::fill_random(throwaway.as_mut())?;
    let id = db::new_id();
    keys::device_check(device, &id)?;
    keys::device_chain(device, &id, &throwaway, kdf.rounds)?;
    Ok(())
}

pub(crate) fn decoy_key(db: Db<'_>, session: &Session) -> Result<SecretKey> {
    let sealed = meta_get(db.conn, DECOY_KEY)?.ok_or(Error::Integrity {
        kind: RecordKind::User,
        id: DECOY_KEY.into(),
    })?;
    let key = crypto::open(
        &session.record_key,
        db.store_kid,
        &meta_place(DECOY_KEY),
        &sealed,
    )?;
    SecretKey::from_slice(&key)
}

/// Gives an unlocked store its decoy key and a dummy duress slot if it has none yet (a new
/// store, or one made before this release), then refreshes the decoy.
pub(crate) fn keep_duress_slot(db: Db<'_>, session: &Session) -> Result<()> {
    let guard = read_guard(db, &session.record_key)?;
    let has_key = meta_get(db.conn, DECOY_KEY)?.is_some();
    let slot_bytes = meta_get(db.conn, DURESS_SLOT)?;
    if let Some(guard) = &guard {
        // The canary (needed to unlock, sealed under the records key) says which slot this
        // store has: one deleted or swapped for another store's would silently turn the duress
        // PIN into a wrong PIN. Reported at every unlock until the duress PIN is set again.
        let found = match &slot_bytes {
            None => Some((DURESS_SLOT, crate::DamageReason::Missing)),
            Some(b) if slot_digest(b) != guard.digest => {
                Some((DURESS_SLOT, crate::DamageReason::Unreadable))
            }
            Some(_) if !has_key => Some((DECOY_KEY, crate::DamageReason::Missing)),
            Some(_) => None,
        };
        if let Some((id, reason)) = found {
            session.note_damaged(&[crate::Damaged {
                kind: RecordKind::User,
                id: id.to_owned(),
                owner: String::new(),
                reason,
            }]);
        }
    }
    let has_slot = slot_bytes.is_some();
    if !has_key || !has_slot {
        let key = if has_key {
            decoy_key(db, session)?
        } else {
            SecretKey::generate()?
        };
        let params = slots::read_slot(db.conn, &session.user_id)?
            .map(|s| s.kdf.params)
            .unwrap_or(KdfParams::MIN);
        let tx = rusqlite::Transaction::new_unchecked(db.conn, TransactionBehavior::Immediate)?;
        if !has_key {
            let sealed = crypto::seal(
                &session.record_key,
                db.store_kid,
                &meta_place(DECOY_KEY),
                key.as_bytes(),
            )?;
            meta_set(&tx, DECOY_KEY, sealed.as_bytes())?;
        }
        // A new decoy key means any old slot wraps the wrong key: the slot is made anew (so
        // that unlocks keep costing the same), but a guard that names another slot is kept,
        // so the damage goes on being reported.
        let (slot, kek) = DuressSlot::dummy(params, db.store_kid, &key)?;
        let encoded = slot.encode();
        meta_set(&tx, DURESS_SLOT, &encoded)?;
        if guard.is_none() {
            write_guard(
                &tx,
                db.store_kid,
                &session.record_key,
                &slot_digest(&encoded),
                Some(&kek),
            )?;
        }
        tx.commit()?;
    } else if guard.is_none()
        && let Some(bytes) = &slot_bytes
    {
        // A store from before the guard: its slot is taken as it is (its key is not known, so
        // PIN changes leave it as it is until the duress PIN is set again).
        write_guard(
            db.conn,
            db.store_kid,
            &session.record_key,
            &slot_digest(bytes),
            None,
        )?;
    }
    refresh_decoy(db, session)
}

/// What the canary says about the duress slot: the digest of its bytes, and the key it is
/// wrapped under when known (the duress PIN's KEK, or a placeholder's random key). The KEK
/// tells nothing about the PIN without this phone's device secret, and whoever can open the
/// canary has the decoy key already.
struct SlotGuard {
    digest: [u8; 32],
    kek: Option<SecretKey>,
}

const GUARD_LEN: usize = 1 + 32 + crypto::KEY_LEN;

fn slot_digest(bytes: &[u8]) -> [u8; 32] {
    let mut out = [0u8; 32];
    out.copy_from_slice(ring::digest::digest(&ring::digest::SHA256, bytes).as_ref());
    out
}

fn read_guard(db: Db<'_>, record_key: &SecretKey) -> Result<Option<SlotGuard>> {
    let sealed = meta_get(db.conn, "canary")?.ok_or(Error::Integrity {
        kind: RecordKind::Canary,
        id: "canary".into(),
    })?;
    let plain = crypto::open(record_key, db.store_kid, &db::canary_place(), &sealed)?;
    let Some(rest) = plain
        .get(db::CANARY.len()..)
        .filter(|r| r.len() == GUARD_LEN)
    else {
        return Ok(None);
    };
    let mut digest = [0u8; 32];
    digest.copy_from_slice(&rest[1..33]);
    let kek = match rest[0] {
        1 => Some(SecretKey::from_slice(&rest[33..])?),
        _ => None,
    };
    Ok(Some(SlotGuard { digest, kek }))
}

/// Re-seals the canary naming the duress slot by `digest` (a fresh nonce each time: the row
/// changes at every PIN change, whether or not a duress PIN is set).
fn write_guard(
    conn: &Connection,
    store_kid: KeyId,
    record_key: &SecretKey,
    digest: &[u8; 32],
    kek: Option<&SecretKey>,
) -> Result<()> {
    let mut plain = Zeroizing::new(db::CANARY.to_vec());
    plain.push(u8::from(kek.is_some()));
    plain.extend_from_slice(digest);
    match kek {
        Some(k) => plain.extend_from_slice(k.as_bytes()),
        None => plain.extend_from_slice(&[0u8; crypto::KEY_LEN]),
    }
    let sealed = crypto::seal(record_key, store_kid, &db::canary_place(), &plain)?;
    meta_set(conn, "canary", sealed.as_bytes())
}

/// For a PIN change: re-seals the duress slot under the key the canary keeps (same salt, same
/// cost, a new nonce) and the canary with it, so that a PIN change rewrites the same rows as
/// setting the duress PIN does. A slot the canary does not name is left as it is (and goes on
/// being reported).
pub(crate) fn reseal_duress_slot(db: Db<'_>, session: &Session, conn: &Connection) -> Result<()> {
    let Some(guard) = read_guard(db, &session.record_key)? else {
        return Ok(());
    };
    let bytes = meta_get(conn, DURESS_SLOT)?;
    if let (Some(kek), Some(bytes)) = (&guard.kek, &bytes)
        && slot_digest(bytes) == guard.digest
        && let Some(slot) = DuressSlot::load(conn)?
        && let Ok(key) = crypto::open(kek, db.store_kid, &meta_place(DURESS_SLOT), &slot.wrapped)
    {
        let key = SecretKey::from_slice(&key)?;
        let fresh = DuressSlot::seal(kek, slot.kdf, db.store_kid, &key)?.encode();
        meta_set(conn, DURESS_SLOT, &fresh)?;
        return write_guard(
            conn,
            db.store_kid,
            &session.record_key,
            &slot_digest(&fresh),
            Some(kek),
        );
    }
    write_guard(
        conn,
        db.store_kid,
        &session.record_key,
        &guard.digest,
        guard.kek.as_ref(),
    )
}

/// Re-seals the decoy from what the store holds now.
pub(crate) fn refresh_decoy(db: Db<'_>, session: &Session) -> Result<()> {
    let key = decoy_key(db, session)?;
    let mut users = Vec::new();
    for user in slots::users(db.conn)? {
        let profile = slots::open_profile(db.conn, &session.record_key, db.store_kid, &user.id)?;
        let slot = slots::read_slot(db.conn, &user.id)?.ok_or(Error::UnknownUser)?;
        users.push(DecoyUser {
            id: user.id,
            role: profile.role,
            name: profile.profile.display_name,
            stamps: profile.stamps,
            m_kib: slot.kdf.params.m_kib,
            t: slot.kdf.params.t,
            p: slot.kdf.params.p,
        });
    }
    let stamps: std::collections::HashMap<String, [String; 4]> = {
        let mut stmt = db
            .conn
            .prepare("SELECT id, created_at, created_by, updated_at, updated_by FROM clubs")?;
        let rows = stmt.query_map([], |r| {
            Ok((r.get(0)?, [r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?]))
        })?;
        rows.collect::<rusqlite::Result<_>>()?
    };
    let clubs = clubs::all(db, session)?
        .into_iter()
        .filter_map(|c| {
            Some(DecoyClub {
                stamps: stamps.get(&c.id)?.clone(),
                id: c.id,
                info: c.info,
            })
        })
        .collect();
    // Entries about members and their records would name ids the decoy does not have.
    let kept = |kind: Option<RecordKind>| {
        matches!(
            kind,
            None | Some(
                RecordKind::User
                    | RecordKind::Club
                    | RecordKind::Canary
                    | RecordKind::Audit
                    | RecordKind::DeviceKey
            )
        )
    };
    let mut trail: Vec<DecoyEntry> = trail::load(db, session)?
        .into_iter()
        .map(|(e, _)| e)
        .filter(|e| kept(e.kind) && e.record_id != "duress")
        .map(|e| DecoyEntry {
            at: e.at,
            user_id: e.user_id,
            role: e.role.map(|r| r.as_str().to_owned()),
            action: e.action,
            kind: e.kind.map(|k| k.as_str().to_owned()),
            record_id: e.record_id,
            fields: e.fields,
        })
        .collect();
    if trail.len() > DECOY_TRAIL_MAX {
        // The newest entries, and each club's last write however old: the decoy's club rows
        // carry the entry that wrote them, as every record does (docs/SECURITY.md section 9).
        let cut = trail.len() - DECOY_TRAIL_MAX;
        let mut last_write: std::collections::HashMap<&str, usize> =
            std::collections::HashMap::new();
        for (i, e) in trail.iter().enumerate() {
            if e.kind.as_deref() == Some(RecordKind::Club.as_str())
                && matches!(e.action, AuditAction::Create | AuditAction::Update)
            {
                last_write.insert(&e.record_id, i);
            }
        }
        let keep: std::collections::HashSet<usize> = last_write.into_values().collect();
        trail = trail
            .into_iter()
            .enumerate()
            .filter(|(i, _)| *i >= cut || keep.contains(i))
            .map(|(_, e)| e)
            .collect();
    }
    let decoy = Decoy {
        users,
        clubs,
        trail,
    };
    let sealed = crypto::seal(
        &key,
        db.store_kid,
        &meta_place(DECOY),
        &db::to_json(&decoy)?,
    )?;
    meta_set(db.conn, DECOY, sealed.as_bytes())
}
