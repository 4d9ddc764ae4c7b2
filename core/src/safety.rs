//! Survivor safety (scenarios 4 and 5): wrong-PIN delays and wipe, the duress PIN, erasing one
//! member, the phone number of someone who must not be contacted, and the encrypted backup.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use chrono::{DateTime, Utc};
use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use crate::access::Permission;
use crate::audit::AuditAction;
use crate::crypto::{self, KeyId, Place, SecretKey};
use crate::domain::{ClubInput, Id};
use crate::error::{Error, Reason, RecordKind, Result, invalid};
use crate::keys::{self, DeviceSecret, KdfParams};
use crate::store::{self, NewUser, Store, UserRole};
use crate::trail::{self, NewEntry};

/// Tries without any wait; after that each wrong PIN doubles the wait, from 30 seconds.
pub const FREE_TRIES: i64 = 3;
const FIRST_DELAY_SECS: i64 = 30;
const MAX_DELAY_SECS: i64 = 30 * 60;
/// Consecutive wrong PINs that wipe the store unless the leader set another number.
pub const DEFAULT_WIPE_AFTER: i64 = 10;

fn meta_get(conn: &Connection, name: &str) -> Result<Option<Vec<u8>>> {
    Ok(conn
        .query_row("SELECT value FROM meta WHERE name = ?1", [name], |r| {
            r.get(0)
        })
        .optional()?)
}

fn meta_set(conn: &Connection, name: &str, value: &[u8]) -> Result<()> {
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
            meta_set(conn, "last_failed_at", store::now_text().as_bytes())?;
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
    meta_set(&tx, "last_failed_at", store::now_text().as_bytes())?;
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

/// What the decoy store looks like: the leader and the clubs, no members.
#[derive(Serialize, Deserialize)]
struct Decoy {
    leader_id: Id,
    leader_name: String,
    clubs: Vec<ClubInput>,
}

fn duress_place() -> Place<'static> {
    Place {
        table: "meta",
        kind: RecordKind::User,
        id: "duress",
        bound: "",
    }
}

fn recovery_place() -> Place<'static> {
    Place {
        table: "meta",
        kind: RecordKind::User,
        id: "recovery",
        bound: "",
    }
}

const DURESS_USER: &str = "00000000-0000-4000-8000-00000000d0e5";
const BACKUP_MAGIC: &[u8; 16] = b"CHUNGTAY-BACKUP1";

/// The backup file, and the secret that opens it when it was just set up.
/// (Kotlin's generated `toString` does print it: the app must never log this record.)
#[derive(Clone, PartialEq, Eq)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct RecoverySetup {
    /// Shown once, written down and kept by the commune union. Never stored.
    pub recovery_secret: String,
}
// With a backup file, the secret opens the whole store: never in Debug output.
crate::domain::redacted_debug!(RecoverySetup {});

fn params_bytes(p: KdfParams) -> [u8; 12] {
    let mut out = [0u8; 12];
    out[..4].copy_from_slice(&p.m_kib.to_be_bytes());
    out[4..8].copy_from_slice(&p.t.to_be_bytes());
    out[8..].copy_from_slice(&p.p.to_be_bytes());
    out
}

fn params_from(b: &[u8]) -> Option<KdfParams> {
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

fn recovery_key(secret: &str, salt: &[u8], params: KdfParams) -> Result<SecretKey> {
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
fn backup_tmp_of(path: &Path) -> PathBuf {
    with_suffix(path, ".backup-tmp")
}

/// Every file a store at `path` may have written (database, WAL, shared memory, journal, and a
/// backup's leftover copy).
pub fn files_of(path: &Path) -> Vec<PathBuf> {
    let mut out = vec![path.to_owned()];
    out.extend(["-wal", "-shm", "-journal"].map(|s| with_suffix(path, s)));
    out.push(backup_tmp_of(path));
    out
}

impl Store {
    /// Consecutive wrong PINs so far, and how many more the store allows before it wipes itself.
    /// Readable while locked, for the unlock screen.
    pub fn unlock_attempts_left(&self) -> Result<i64> {
        let failures = meta_i64(&self.conn, "failed_unlocks")?.unwrap_or(0);
        Ok((wipe_after(&self.conn)? - failures).max(0))
    }

    /// Sets how many consecutive wrong PINs wipe the store (3 to 50).
    pub fn set_wipe_after(&mut self, tries: i64) -> Result<()> {
        let session = self.require(Permission::Safety)?;
        if !(3..=50).contains(&tries) {
            return invalid("wipe_after", Reason::BelowMinimum);
        }
        // A safety setting: who changed it, and to what (a count, nothing personal).
        let tx = rusqlite::Transaction::new_unchecked(&self.conn, TransactionBehavior::Immediate)?;
        meta_set(&tx, "wipe_after", &tries.to_be_bytes())?;
        let mut entry = NewEntry::new(AuditAction::Update, None, "wipe_after");
        entry.fields = vec![format!("wipe_after={tries}")];
        trail::append(&tx, &self.store_id, session, entry)?;
        tx.commit()?;
        Ok(())
    }

    /// Sets the duress PIN. Typed at the unlock screen, it destroys this store beyond recovery
    /// and opens an empty one that looks like it: same leader, same clubs, no members.
    pub fn set_duress_pin(&mut self, pin: &str, params: KdfParams) -> Result<()> {
        let session = self.require(Permission::Safety)?;
        params.check()?;
        keys::check_pin(pin)?;
        // The duress PIN must not be any user's real PIN.
        for user in self.users()? {
            if self.pin_opens_slot(&user.id, pin)? {
                return invalid("duress_pin", Reason::Duplicate);
            }
        }
        let leader = self
            .users()?
            .into_iter()
            .find(|u| u.role == UserRole::Leader)
            .ok_or(Error::UnknownUser)?;
        let profile =
            store::open_profile(&self.conn, &session.record_key, self.store_kid, &leader.id)?;
        let decoy = Decoy {
            leader_id: leader.id,
            leader_name: profile.profile.display_name,
            clubs: self.clubs()?.into_iter().map(|c| c.info).collect(),
        };
        let mut salt = [0u8; 16];
        crypto::fill_random(&mut salt)?;
        let kek = keys::user_kek(
            self.device.as_ref(),
            &self.store_id,
            DURESS_USER,
            pin,
            &salt,
            params,
        )?;
        let sealed = crypto::seal(
            &kek,
            self.store_kid,
            &duress_place(),
            &store::to_json(&decoy)?,
        )?;
        let mut value = salt.to_vec();
        value.extend_from_slice(&params_bytes(params));
        value.extend_from_slice(sealed.as_bytes());
        let tx = rusqlite::Transaction::new_unchecked(&self.conn, TransactionBehavior::Immediate)?;
        meta_set(&tx, "duress", &value)?;
        trail::append(
            &tx,
            &self.store_id,
            session,
            NewEntry::new(AuditAction::Update, Some(RecordKind::User), "duress"),
        )?;
        tx.commit()?;
        Ok(())
    }

    /// If `pin` is the duress PIN: destroy everything and become the decoy, unlocked.
    pub(crate) fn try_duress(&mut self, pin: &str) -> Result<bool> {
        let Some(value) = meta_get(&self.conn, "duress")? else {
            return Ok(false);
        };
        let (Some(salt), Some(params)) = (value.get(..16), value.get(16..28).and_then(params_from))
        else {
            return Ok(false);
        };
        let kek = keys::user_kek(
            self.device.as_ref(),
            &self.store_id,
            DURESS_USER,
            pin,
            salt,
            params,
        )?;
        let Ok(plain) = crypto::open(&kek, self.store_kid, &duress_place(), &value[28..]) else {
            return Ok(false);
        };
        let decoy: Decoy = serde_json::from_slice(&plain).map_err(|_| Error::Crypto)?;
        self.wipe()?;
        let mut fresh = Store::create_as(
            &self.path,
            self.device.clone(),
            NewUser::new(&decoy.leader_name, UserRole::Leader, pin),
            params,
            decoy.leader_id,
        )?;
        for club in &decoy.clubs {
            fresh.add_club(club)?;
        }
        *self = fresh;
        Ok(true)
    }

    /// Destroys the store: overwrites every key slot, rotates the device secret (so no copy of
    /// the files opens again, even with the right PIN), then deletes the files.
    pub(crate) fn wipe(&mut self) -> Result<()> {
        self.session = None;
        let destroy = "UPDATE users SET wrapped_key = randomblob(length(wrapped_key)), \
                       profile = randomblob(length(profile));
             DELETE FROM member_keys;
             DELETE FROM meta WHERE name IN ('device_signing_key', 'duress', 'recovery', 'canary');";
        // Best effort on each step: a damaged file must not stop the rest of the wipe.
        let _ = self.conn.execute_batch(destroy);
        let _ = self
            .conn
            .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()));
        // The key slots are gone: from here on the store is wiped, whatever fails next, and
        // the user is told `Wiped`, not "try again". Rotating the device secret and deleting
        // the files are the defence against copies of the files; each is best effort.
        self.wiped = true;
        let _ = self.device.rotate();
        self.conn = Connection::open_in_memory()?;
        for file in files_of(&self.path) {
            let _ = std::fs::remove_file(&file);
        }
        Ok(())
    }

    /// Erases one member beyond recovery (her safety, or her right to erasure): her key and
    /// every record sealed under it. The trail keeps that an erasure happened, not what.
    pub fn erase_member(&mut self, id: &str) -> Result<()> {
        let session = self.require(Permission::Safety)?;
        let exists: Option<String> = self
            .conn
            .query_row("SELECT id FROM members WHERE id = ?1", [id], |r| r.get(0))
            .optional()?;
        if exists.is_none() {
            return Err(Error::NotFound {
                kind: RecordKind::Member,
                id: id.to_owned(),
            });
        }
        let tx = rusqlite::Transaction::new_unchecked(&self.conn, TransactionBehavior::Immediate)?;
        // Auditors' notes on her and on her records are sealed under the records key, not hers:
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
                taken.push(trail::erased_field(kind, &record?));
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
                .map(|n| format!("{}{n}", trail::ANNOTATION_FIELD)),
        );
        trail::append(&tx, &self.store_id, session, entry)?;
        tx.commit()?;
        if let Some(session) = self.session.as_mut() {
            session.member_keys.remove(id);
            session.index.remove(id);
        }
        // secure_delete zeroed the freed cells; this folds and empties the WAL as well.
        self.conn
            .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))?;
        // A backup copy left behind by a killed app still holds her wrapped key.
        let stale_copy = backup_tmp_of(&self.path);
        if stale_copy.exists() {
            std::fs::remove_file(stale_copy)?;
        }
        Ok(())
    }

    /// The number to call or text, only when contact is safe; the read is noted in the trail.
    pub fn contact_phone(&self, member_id: &str) -> Result<String> {
        let member = self.member(member_id)?;
        if !member.info.safe_to_contact {
            return Err(Error::DoNotContact);
        }
        member
            .info
            .phone
            .ok_or_else(|| Error::Invalid(crate::ValidationError::new("phone", Reason::Missing)))
    }

    /// Sets up (or replaces) the recovery secret for backups and returns it, to show once.
    pub fn setup_recovery(&mut self) -> Result<RecoverySetup> {
        let session = self.require(Permission::Safety)?;
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
            &session.record_key,
            self.store_kid,
            &recovery_place(),
            key.as_bytes(),
        )?;
        let mut value = salt.to_vec();
        value.extend_from_slice(&params_bytes(params));
        value.extend_from_slice(sealed.as_bytes());
        let tx = rusqlite::Transaction::new_unchecked(&self.conn, TransactionBehavior::Immediate)?;
        meta_set(&tx, "recovery", &value)?;
        trail::append(
            &tx,
            &self.store_id,
            session,
            NewEntry::new(AuditAction::Update, Some(RecordKind::User), "recovery"),
        )?;
        tx.commit()?;
        Ok(RecoverySetup {
            recovery_secret: secret,
        })
    }

    /// One encrypted file with everything (records, users, audit trail), for a new phone.
    pub fn create_backup(&mut self) -> Result<Vec<u8>> {
        let session = self.require(Permission::Safety)?;
        let value = meta_get(&self.conn, "recovery")?.ok_or_else(|| {
            Error::Invalid(crate::ValidationError::new("recovery", Reason::Missing))
        })?;
        let salt = value.get(..16).ok_or(Error::Crypto)?.to_vec();
        let params = value
            .get(16..28)
            .and_then(params_from)
            .ok_or(Error::Crypto)?;
        let key = crypto::open(
            &session.record_key,
            self.store_kid,
            &recovery_place(),
            &value[28..],
        )?;
        let key = SecretKey::from_slice(&key)?;
        {
            let tx =
                rusqlite::Transaction::new_unchecked(&self.conn, TransactionBehavior::Immediate)?;
            trail::append(
                &tx,
                &self.store_id,
                session,
                NewEntry::new(AuditAction::Export, None, "backup"),
            )?;
            tx.commit()?;
        }
        // A consistent copy of the file: its personal fields are sealed already.
        let tmp = backup_tmp_of(&self.path);
        if tmp.exists() {
            std::fs::remove_file(&tmp)?;
        }
        self.conn
            .execute("VACUUM INTO ?1", [tmp.to_string_lossy().as_ref()])?;
        let db = std::fs::read(&tmp);
        std::fs::remove_file(&tmp)?;
        let db = db?;
        let mut inner = Zeroizing::new(session.store_key.as_bytes().to_vec());
        inner.extend_from_slice(&db);
        let mut header = BACKUP_MAGIC.to_vec();
        header.extend_from_slice(&salt);
        header.extend_from_slice(&params_bytes(params));
        header.extend_from_slice(&check_value(&key)?);
        let bound = data_encoding::HEXLOWER.encode(&header);
        let sealed = crypto::seal(&key, self.store_kid, &backup_place(&bound), &inner)?;
        let mut file = header;
        file.extend_from_slice(self.store_kid.0.as_slice());
        file.extend_from_slice(sealed.as_bytes());
        Ok(file)
    }

    /// Restores a backup onto this phone at `path`, for the leader with a new PIN. Users of the
    /// old phone other than the leader must be added again (their PINs were bound to it).
    /// A wrong secret or a damaged file gives an error and leaves nothing behind.
    pub fn restore(
        backup: &[u8],
        recovery_secret: &str,
        path: &Path,
        device: Arc<dyn DeviceSecret>,
        new_pin: &str,
        params: KdfParams,
    ) -> Result<Store> {
        if path.exists() {
            return Err(Error::AlreadyExists);
        }
        keys::check_pin(new_pin)?;
        params.check()?;
        let header_len = 16 + 16 + 12 + 16;
        if backup.len() < header_len + KeyId::LEN || &backup[..16] != BACKUP_MAGIC {
            return Err(Error::BackupDamaged);
        }
        let header = &backup[..header_len];
        let salt = &header[16..32];
        let kdf = params_from(&header[32..44]).ok_or(Error::BackupDamaged)?;
        kdf.check().map_err(|_| Error::BackupDamaged)?;
        let key = recovery_key(recovery_secret, salt, kdf)?;
        if check_value(&key)? != header[44..60] {
            return Err(Error::WrongRecoverySecret);
        }
        let kid = KeyId(
            backup[header_len..header_len + KeyId::LEN]
                .try_into()
                .map_err(|_| Error::BackupDamaged)?,
        );
        let bound = data_encoding::HEXLOWER.encode(header);
        let inner = crypto::open(
            &key,
            kid,
            &backup_place(&bound),
            &backup[header_len + KeyId::LEN..],
        )
        .map_err(|_| Error::BackupDamaged)?;
        if inner.len() < 32 {
            return Err(Error::BackupDamaged);
        }
        let store_key = SecretKey::from_slice(&inner[..32])?;
        let result = Self::restore_into(path, device, &inner[32..], store_key, new_pin, params);
        if result.is_err() {
            for file in files_of(path) {
                let _ = std::fs::remove_file(file);
            }
        }
        result
    }

    fn restore_into(
        path: &Path,
        device: Arc<dyn DeviceSecret>,
        db: &[u8],
        store_key: SecretKey,
        new_pin: &str,
        params: KdfParams,
    ) -> Result<Store> {
        {
            let mut options = std::fs::OpenOptions::new();
            options.write(true).create_new(true);
            #[cfg(unix)]
            {
                use std::os::unix::fs::OpenOptionsExt;
                options.mode(0o600);
            }
            let mut file = options.open(path)?;
            std::io::Write::write_all(&mut file, db)?;
            file.sync_all()?;
        }
        let mut store = Store::open(path, device.clone()).map_err(|_| Error::BackupDamaged)?;
        // The store key must open this store's canary, or the backup is not what it claims.
        let record_key = store_key.derive(b"records")?;
        let canary: Vec<u8> = meta_get(&store.conn, "canary")?.ok_or(Error::BackupDamaged)?;
        crypto::open(
            &record_key,
            store.store_kid,
            &store::canary_place(),
            &canary,
        )
        .map_err(|_| Error::BackupDamaged)?;
        let users = store.users()?;
        let leader = users
            .iter()
            .find(|u| u.role == UserRole::Leader)
            .ok_or(Error::BackupDamaged)?
            .id
            .clone();
        let profile = store::open_profile(&store.conn, &record_key, store.store_kid, &leader)?;
        let (salt, wrapped) = store::wrap_for_user(
            device.as_ref(),
            &store.store_id,
            &store_key,
            &leader,
            new_pin,
            params,
        )?;
        let now = store::now_text();
        let stamps = [
            profile.stamps[0].as_str(),
            &profile.stamps[1],
            &now,
            &leader,
        ];
        let sealed_profile = crypto::seal(
            &record_key,
            store.store_kid,
            &store::profile_place(&leader, &store::profile_bound(&profile.role, stamps)),
            &store::to_json(&profile.profile)?,
        )?;
        let check = keys::device_check(device.as_ref(), &store.store_id)?;
        let removed: Vec<Id> = users
            .iter()
            .filter(|u| u.id != leader)
            .map(|u| u.id.clone())
            .collect();
        {
            let tx = store
                .conn
                .transaction_with_behavior(TransactionBehavior::Immediate)?;
            meta_set(&tx, "device_check", &check)?;
            tx.execute(
                "DELETE FROM meta WHERE name IN ('failed_unlocks', 'last_failed_at', 'duress')",
                [],
            )?;
            tx.execute(
                "UPDATE users SET kdf_salt = ?1, kdf_m_kib = ?2, kdf_t = ?3, kdf_p = ?4, \
                 wrapped_key = ?5, profile = ?6, updated_at = ?7, updated_by = ?8 WHERE id = ?8",
                params![
                    salt,
                    params.m_kib,
                    params.t,
                    params.p,
                    wrapped,
                    sealed_profile,
                    now,
                    leader
                ],
            )?;
            tx.execute("DELETE FROM users WHERE id != ?1", [&leader])?;
            tx.commit()?;
        }
        store.unlock(&leader, new_pin)?;
        let session = store.session()?;
        let tx = rusqlite::Transaction::new_unchecked(&store.conn, TransactionBehavior::Immediate)?;
        trail::append(
            &tx,
            &store.store_id,
            session,
            NewEntry::new(AuditAction::Restore, None, ""),
        )?;
        for id in &removed {
            trail::append(
                &tx,
                &store.store_id,
                session,
                NewEntry::new(AuditAction::Delete, Some(RecordKind::User), id),
            )?;
        }
        tx.commit()?;
        Ok(store)
    }
}

fn backup_place(bound: &str) -> Place<'_> {
    Place {
        table: "backup",
        kind: RecordKind::Canary,
        id: "backup",
        bound,
    }
}
