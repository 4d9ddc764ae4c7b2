//! Survivor safety (scenarios 4 and 5): wrong-PIN delays and wipe, the duress PIN, erasing one
//! member, the phone number of someone who must not be contacted, and the encrypted backup.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use chrono::{DateTime, Utc};
use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use crate::access::Permission;
use crate::access::UserRole;
use crate::audit::AuditAction;
use crate::crypto::{self, KeyId, Place, SecretKey};
use crate::db;
use crate::domain::{ClubInput, Id, Timestamp};
use crate::error::{Error, Reason, RecordKind, Result, invalid};
use crate::keys::{self, DeviceSecret, KdfParams, SlotKdf};
use crate::ledger::{self, NewEntry};
use crate::session::Session;
use crate::store::{NewUser, Store};

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
struct LegacyDecoy {
    leader_id: Id,
    leader_name: String,
    clubs: Vec<ClubInput>,
}

/// What the decoy shows, refreshed at every unlock and lock, sealed under the decoy key: the
/// users (ids, roles, names, stamps), the clubs (ids, contents, stamps) and the trail's entries
/// that name no member record. No members, meetings, consents, referrals or notes.
#[derive(Serialize, Deserialize)]
struct Decoy {
    users: Vec<DecoyUser>,
    clubs: Vec<DecoyClub>,
    trail: Vec<DecoyEntry>,
}

#[derive(Serialize, Deserialize)]
struct DecoyUser {
    id: Id,
    role: String,
    name: String,
    stamps: [String; 4],
    m_kib: u32,
    t: u32,
    p: u32,
}

#[derive(Serialize, Deserialize)]
struct DecoyClub {
    id: Id,
    info: ClubInput,
    stamps: [String; 4],
}

#[derive(Serialize, Deserialize)]
struct DecoyEntry {
    at: Timestamp,
    user_id: Id,
    role: Option<String>,
    action: AuditAction,
    kind: Option<String>,
    record_id: String,
    fields: Vec<String>,
}

/// The trail entries a decoy keeps at most (the newest): enough to look used, small enough to
/// re-seal at every lock.
const DECOY_TRAIL_MAX: usize = 1000;

/// Meta rows every store has (a duress PIN set or not, so their presence says nothing):
/// the duress slot (slot salt, KDF cost, the decoy key wrapped under the duress PIN's KEK, or
/// under a random key when no duress PIN is set), the decoy key under the records key, and the
/// decoy under the decoy key.
const DURESS_SLOT: &str = "duress_slot";
const DECOY_KEY: &str = "decoy_key";
const DECOY: &str = "decoy";

fn meta_place(id: &'static str) -> Place<'static> {
    Place {
        table: "meta",
        kind: RecordKind::User,
        id,
        bound: "",
    }
}

const DURESS_USER: &str = "00000000-0000-4000-8000-00000000d0e5";
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

/// Best effort: writes zeros over the whole file, then truncates it.
fn overwrite_with_zeros(path: &Path) {
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
        if tries < 3 {
            return invalid("wipe_after", Reason::BelowMinimum);
        }
        if tries > 50 {
            return invalid("wipe_after", Reason::AboveMaximum { max: 50 });
        }
        // A safety setting: who changed it, and to what (a count, nothing personal).
        let tx = rusqlite::Transaction::new_unchecked(&self.conn, TransactionBehavior::Immediate)?;
        meta_set(&tx, "wipe_after", &tries.to_be_bytes())?;
        let mut entry = NewEntry::new(AuditAction::Update, None, "wipe_after");
        entry.fields = vec![format!("wipe_after={tries}")];
        ledger::append(&tx, &self.store_id, session, entry)?;
        tx.commit()?;
        Ok(())
    }

    /// Sets the duress PIN. Typed at the unlock screen (for any user), it destroys this store
    /// beyond recovery and opens a decoy in its place: the same users, clubs and ids, a trail
    /// that looks used, no members.
    ///
    /// `current_pin` is the leader's own PIN, checked like one typed at the unlock screen (it
    /// waits, counts and wipes): whoever holds the unlocked phone cannot use this to test PINs
    /// without it. The leader's slot is re-wrapped under it (new salt, new stamps), as
    /// `change_pin` does, so that the file shows a PIN change and nothing more. The duress slot
    /// keeps the cost it had (a placeholder's is the leader's).
    pub fn set_duress_pin(&mut self, current_pin: &str, pin: &str) -> Result<()> {
        self.require(Permission::Safety)?;
        keys::check_pin(pin)?;
        let user_id = self.session()?.user_id.clone();
        if !counted_pin_check(self, |s| s.pin_opens_slot(&user_id, current_pin))? {
            return Err(Error::WrongPin);
        }
        // The duress PIN must not be any user's real PIN. Finding one that is, is a PIN guess
        // that hit: it waits, counts and wipes like a wrong PIN at the unlock screen, and the
        // answer does not say whose PIN it is.
        check_lockout(&self.conn)?;
        let mut taken = false;
        for user in self.users()? {
            // Every slot is tried, so the time does not tell which one matched either.
            taken |= self.pin_opens_slot(&user.id, pin)?;
        }
        if taken {
            self.count_hit()?;
            return invalid("duress_pin", Reason::Duplicate);
        }
        keep_duress_slot(self)?;
        let own = db::read_slot(&self.conn, &user_id)?.ok_or(Error::UnknownUser)?;
        let params = match DuressSlot::load(&self.conn)? {
            Some(slot) => slot.kdf.params,
            None => own.kdf.params,
        };
        let session = self.session()?;
        let decoy_key = decoy_key(&self.conn, session, self.store_kid)?;
        let kdf = SlotKdf::new(params)?;
        let kek = keys::user_kek(self.device.as_ref(), &self.store_id, DURESS_USER, pin, &kdf)?;
        let slot = DuressSlot::seal(&kek, kdf, self.store_kid, &decoy_key)?;
        let encoded = slot.encode();
        let tx = rusqlite::Transaction::new_unchecked(&self.conn, TransactionBehavior::Immediate)?;
        meta_set(&tx, DURESS_SLOT, &encoded)?;
        write_guard(
            &tx,
            self.store_kid,
            &session.record_key,
            &slot_digest(&encoded),
            Some(&kek),
        )?;
        // The first release's duress row goes: this slot replaces it.
        tx.execute("DELETE FROM meta WHERE name = 'duress'", [])?;
        self.rewrite_own_slot(&tx, current_pin, own.kdf.params)?;
        // Noted as a PIN change of the leader's (which it is), not as "a duress PIN exists":
        // whoever reads the trail, in the store or in the decoy, cannot tell the two apart.
        ledger::append(
            &tx,
            &self.store_id,
            session,
            NewEntry::new(
                AuditAction::PinChange,
                Some(RecordKind::User),
                &session.user_id,
            ),
        )?;
        tx.commit()?;
        refresh_decoy(self)
    }

    /// Counts a PIN check that hit (a candidate PIN that turned out to be someone's) as a failed
    /// try, wiping at the limit like the unlock screen.
    fn count_hit(&mut self) -> Result<()> {
        let failures = count_attempt(&self.conn)?;
        if failures >= wipe_after(&self.conn)? {
            self.wipe()?;
            return Err(Error::Wiped);
        }
        Ok(())
    }

    /// The first release's duress row (`meta.duress`, one device call per guess), still
    /// honoured until the leader sets the duress PIN again. Tried only when that row exists.
    pub(crate) fn try_legacy_duress(&mut self, pin: &str) -> Result<bool> {
        let Some((decoy, params)) = self.open_legacy_duress(pin)? else {
            return Ok(false);
        };
        // The decoy opens whatever happens to the device key: the person under duress must
        // see an ordinary unlock.
        let _ = self.wipe();
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

    /// The first release's decoy and its cost, when `pin` is that release's duress PIN.
    fn open_legacy_duress(&self, pin: &str) -> Result<Option<(LegacyDecoy, KdfParams)>> {
        let Some(value) = meta_get(&self.conn, "duress")? else {
            return Ok(None);
        };
        let (Some(salt), Some(params)) = (value.get(..16), value.get(16..28).and_then(params_from))
        else {
            return Ok(None);
        };
        let Some(kdf) = SlotKdf::decode(salt, params) else {
            return Ok(None);
        };
        let kek = keys::user_kek(self.device.as_ref(), &self.store_id, DURESS_USER, pin, &kdf)?;
        let Ok(plain) = crypto::open(&kek, self.store_kid, &meta_place("duress"), &value[28..])
        else {
            return Ok(None);
        };
        let decoy: LegacyDecoy = serde_json::from_slice(&plain).map_err(|_| Error::Crypto)?;
        Ok(Some((decoy, params)))
    }

    /// The duress PIN opened the duress slot: destroy the real store (as a wipe does) and put
    /// the decoy in its place, unlocked as `user_id`. Makes exactly the device calls that
    /// `pad_like_decoy` makes on a normal unlock, and no Argon2 run: the stretched PIN from
    /// the duress try is reused for the decoy's slot.
    pub(crate) fn become_decoy(
        &mut self,
        user_id: &str,
        role: UserRole,
        stretched: &[u8; crypto::KEY_LEN],
        kdf: &SlotKdf,
        decoy_key: SecretKey,
    ) -> Result<()> {
        let sealed = meta_get(&self.conn, DECOY)?.ok_or(Error::Crypto)?;
        let plain = crypto::open(&decoy_key, self.store_kid, &meta_place(DECOY), &sealed)?;
        let decoy: Decoy = serde_json::from_slice(&plain).map_err(|_| Error::Crypto)?;
        drop(plain);
        let path = self.path.clone();
        let device = self.device.clone();
        // A failed rotation cannot be reported here without telling the person forcing the
        // unlock; the decoy opens all the same (docs/SECURITY.md 11 says what that leaves).
        let _ = self.wipe();
        let fresh = create_decoy(&path, device, &decoy, user_id, role, stretched, kdf)?;
        *self = fresh;
        Ok(())
    }

    /// Destroys the store: overwrites every key slot, empties every table (`secure_delete`
    /// zeroes what is freed), truncates the WAL, rotates the device secret (so no copy of the
    /// files opens again, even with the right PIN), then writes zeros over every file (the WAL
    /// and shared memory included) and deletes them. A device secret
    /// that could not be rotated is reported (`WipeIncomplete`): copies of the files taken
    /// before would still open with a PIN on this phone.
    pub(crate) fn wipe(&mut self) -> Result<()> {
        self.session = None;
        // From here on the store is wiped, whatever fails next; every later unlock says so.
        self.wiped = true;
        // Best effort on each step: a damaged file must not stop the rest of the wipe.
        let _ = self.conn.execute_batch(
            "PRAGMA foreign_keys = OFF;
             UPDATE users SET wrapped_key = randomblob(length(wrapped_key)), \
                    profile = randomblob(length(profile));",
        );
        let tables: Vec<String> = self
            .conn
            .prepare(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'",
            )
            .and_then(|mut stmt| {
                stmt.query_map([], |r| r.get(0))?
                    .collect::<rusqlite::Result<Vec<String>>>()
            })
            .unwrap_or_default();
        let delete = |t: &String| format!("DELETE FROM \"{}\";", t.replace('"', "\"\""));
        // One transaction (one sync, not one per table); if it fails, table by table.
        let all: String = tables.iter().map(delete).collect();
        if self
            .conn
            .execute_batch(&format!("BEGIN IMMEDIATE; {all} COMMIT;"))
            .is_err()
        {
            let _ = self.conn.execute_batch("ROLLBACK;");
            for table in &tables {
                let _ = self.conn.execute_batch(&delete(table));
            }
        }
        let _ = self
            .conn
            .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()));
        let rotated = self.device.rotate();
        self.conn = Connection::open_in_memory()?;
        for file in files_of(&self.path) {
            // A checkpoint another reader kept from finishing leaves WAL frames (plaintext
            // ids and stamps, older sealed rows); truncating or deleting would only free their
            // blocks, and a second name for the file would keep them: zeros go over them first.
            overwrite_with_zeros(&file);
            let _ = std::fs::remove_file(&file);
        }
        rotated.map_err(|e| Error::WipeIncomplete {
            detail: e.to_string(),
        })
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
        ledger::append(&tx, &self.store_id, session, entry)?;
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
            &meta_place("recovery"),
            key.as_bytes(),
        )?;
        let mut value = salt.to_vec();
        value.extend_from_slice(&params_bytes(params));
        value.extend_from_slice(sealed.as_bytes());
        let tx = rusqlite::Transaction::new_unchecked(&self.conn, TransactionBehavior::Immediate)?;
        meta_set(&tx, "recovery", &value)?;
        ledger::append(
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
            &meta_place("recovery"),
            &value[28..],
        )?;
        let key = SecretKey::from_slice(&key)?;
        {
            let tx =
                rusqlite::Transaction::new_unchecked(&self.conn, TransactionBehavior::Immediate)?;
            ledger::append(
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
        let file = BackupFile::parse(backup)?;
        let key = recovery_key(recovery_secret, file.salt, file.kdf)?;
        let (store_key, inner) = file.open(&key)?;
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
        crypto::open(&record_key, store.store_kid, &db::canary_place(), &canary)
            .map_err(|_| Error::BackupDamaged)?;
        let users = store.users()?;
        let leader = users
            .iter()
            .find(|u| u.role == UserRole::Leader)
            .ok_or(Error::BackupDamaged)?
            .id
            .clone();
        let profile = db::open_profile(&store.conn, &record_key, store.store_kid, &leader)?;
        let (salt, wrapped) = db::wrap_for_user(
            device.as_ref(),
            &store.store_id,
            &store_key,
            &leader,
            new_pin,
            params,
        )?;
        let now = db::now_text();
        let stamps = [
            profile.stamps[0].as_str(),
            &profile.stamps[1],
            &now,
            &leader,
        ];
        let sealed_profile = crypto::seal(
            &record_key,
            store.store_kid,
            &db::profile_place(&leader, &db::profile_bound(&profile.role, stamps)),
            &db::to_json(&profile.profile)?,
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
                // The duress slot and decoy key were made under the old phone's device secret:
                // the unlock below gives the restored store new ones.
                "DELETE FROM meta WHERE name IN ('failed_unlocks', 'last_failed_at', 'duress', \
                 'duress_slot', 'decoy_key', 'decoy')",
                [],
            )?;
            // And the canary no longer names the old slot (it would be reported as deleted).
            let canary = crypto::seal(
                &record_key,
                store.store_kid,
                &db::canary_place(),
                db::CANARY,
            )?;
            meta_set(&tx, "canary", canary.as_bytes())?;
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
        ledger::append(
            &tx,
            &store.store_id,
            session,
            NewEntry::new(AuditAction::Restore, None, ""),
        )?;
        for id in &removed {
            ledger::append(
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

/// A backup file's parts, as read before anything is derived from them.
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
    pub(crate) fn run(store: &Store, pin: &str, params: KdfParams) -> Result<Self> {
        let slot = match DuressSlot::load(&store.conn)? {
            Some(slot) => slot,
            None => DuressSlot {
                kdf: SlotKdf::new(params)?,
                wrapped: Vec::new(),
            },
        };
        let stretched = keys::stretch(pin, &slot.kdf.salt, slot.kdf.params)?;
        let kek = keys::kek_from_stretched(
            store.device.as_ref(),
            &store.store_id,
            DURESS_USER,
            &stretched,
            &slot.kdf,
        )?;
        let opened = crypto::open(
            &kek,
            store.store_kid,
            &meta_place(DURESS_SLOT),
            &slot.wrapped,
        )
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

fn decoy_key(conn: &Connection, session: &Session, store_kid: KeyId) -> Result<SecretKey> {
    let sealed = meta_get(conn, DECOY_KEY)?.ok_or(Error::Integrity {
        kind: RecordKind::User,
        id: DECOY_KEY.into(),
    })?;
    let key = crypto::open(
        &session.record_key,
        store_kid,
        &meta_place(DECOY_KEY),
        &sealed,
    )?;
    SecretKey::from_slice(&key)
}

/// Gives an unlocked store its decoy key and a dummy duress slot if it has none yet (a new
/// store, or one made before this release), then refreshes the decoy.
pub(crate) fn keep_duress_slot(store: &Store) -> Result<()> {
    let session = store.session()?;
    let guard = read_guard(store, &session.record_key)?;
    let has_key = meta_get(&store.conn, DECOY_KEY)?.is_some();
    let slot_bytes = meta_get(&store.conn, DURESS_SLOT)?;
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
            store.note_damaged(&[crate::Damaged {
                kind: RecordKind::User,
                id: id.to_owned(),
                owner: String::new(),
                reason,
            }])?;
        }
    }
    let has_slot = slot_bytes.is_some();
    if !has_key || !has_slot {
        let key = if has_key {
            decoy_key(&store.conn, session, store.store_kid)?
        } else {
            SecretKey::generate()?
        };
        let params = db::read_slot(&store.conn, &session.user_id)?
            .map(|s| s.kdf.params)
            .unwrap_or(KdfParams::MIN);
        let tx = rusqlite::Transaction::new_unchecked(&store.conn, TransactionBehavior::Immediate)?;
        if !has_key {
            let sealed = crypto::seal(
                &session.record_key,
                store.store_kid,
                &meta_place(DECOY_KEY),
                key.as_bytes(),
            )?;
            meta_set(&tx, DECOY_KEY, sealed.as_bytes())?;
        }
        // A new decoy key means any old slot wraps the wrong key: the slot is made anew (so
        // that unlocks keep costing the same), but a guard that names another slot is kept,
        // so the damage goes on being reported.
        let (slot, kek) = DuressSlot::dummy(params, store.store_kid, &key)?;
        let encoded = slot.encode();
        meta_set(&tx, DURESS_SLOT, &encoded)?;
        if guard.is_none() {
            write_guard(
                &tx,
                store.store_kid,
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
            &store.conn,
            store.store_kid,
            &session.record_key,
            &slot_digest(bytes),
            None,
        )?;
    }
    refresh_decoy(store)
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

fn read_guard(store: &Store, record_key: &SecretKey) -> Result<Option<SlotGuard>> {
    let sealed = meta_get(&store.conn, "canary")?.ok_or(Error::Integrity {
        kind: RecordKind::Canary,
        id: "canary".into(),
    })?;
    let plain = crypto::open(record_key, store.store_kid, &db::canary_place(), &sealed)?;
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
pub(crate) fn reseal_duress_slot(store: &Store, conn: &Connection) -> Result<()> {
    let session = store.session()?;
    let Some(guard) = read_guard(store, &session.record_key)? else {
        return Ok(());
    };
    let bytes = meta_get(conn, DURESS_SLOT)?;
    if let (Some(kek), Some(bytes)) = (&guard.kek, &bytes)
        && slot_digest(bytes) == guard.digest
        && let Some(slot) = DuressSlot::load(conn)?
        && let Ok(key) = crypto::open(
            kek,
            store.store_kid,
            &meta_place(DURESS_SLOT),
            &slot.wrapped,
        )
    {
        let key = SecretKey::from_slice(&key)?;
        let fresh = DuressSlot::seal(kek, slot.kdf, store.store_kid, &key)?.encode();
        meta_set(conn, DURESS_SLOT, &fresh)?;
        return write_guard(
            conn,
            store.store_kid,
            &session.record_key,
            &slot_digest(&fresh),
            Some(kek),
        );
    }
    write_guard(
        conn,
        store.store_kid,
        &session.record_key,
        &guard.digest,
        guard.kek.as_ref(),
    )
}

/// Re-seals the decoy from what the store holds now. Skipped when locked.
pub(crate) fn refresh_decoy(store: &Store) -> Result<()> {
    let Ok(session) = store.session() else {
        return Ok(());
    };
    let key = decoy_key(&store.conn, session, store.store_kid)?;
    let mut users = Vec::new();
    for user in store.users()? {
        let profile =
            db::open_profile(&store.conn, &session.record_key, store.store_kid, &user.id)?;
        let slot = db::read_slot(&store.conn, &user.id)?.ok_or(Error::UnknownUser)?;
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
        let mut stmt = store
            .conn
            .prepare("SELECT id, created_at, created_by, updated_at, updated_by FROM clubs")?;
        let rows = stmt.query_map([], |r| {
            Ok((r.get(0)?, [r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?]))
        })?;
        rows.collect::<rusqlite::Result<_>>()?
    };
    let clubs = store
        .clubs()?
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
    let (db, session) = store.parts()?;
    let mut trail: Vec<DecoyEntry> = crate::trail::load(db, session)?
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
        store.store_kid,
        &meta_place(DECOY),
        &db::to_json(&decoy)?,
    )?;
    meta_set(&store.conn, DECOY, sealed.as_bytes())
}

/// Builds the decoy store at `path`: a new store (new store key, new device check, under the
/// device secret just rotated) holding the decoy's users, clubs and trail, unlocked as
/// `user_id`, whose slot opens with the duress PIN. Other users' slots open with no PIN (their
/// PINs are not known here).
fn create_decoy(
    path: &Path,
    device: Arc<dyn DeviceSecret>,
    decoy: &Decoy,
    user_id: &str,
    role: UserRole,
    stretched: &[u8; crypto::KEY_LEN],
    kdf: &SlotKdf,
) -> Result<Store> {
    let mut conn = Connection::open(path)?;
    db::restrict_permissions(path)?;
    db::open_pragmas(&conn)?;
    crate::schema::install(&mut conn)?;
    let store_id = db::new_id();
    let store_kid = crypto::key_id_of(RecordKind::Canary, &store_id)?;
    let store_key = SecretKey::generate()?;
    let record_key = store_key.derive(b"records")?;
    let check = keys::device_check(device.as_ref(), &store_id)?;
    let chain = keys::device_chain(device.as_ref(), &store_id, stretched, kdf.rounds)?;
    let canary = crypto::seal(&record_key, store_kid, &db::canary_place(), db::CANARY)?;
    let mut users: Vec<&DecoyUser> = decoy.users.iter().collect();
    let stand_in;
    if !users.iter().any(|u| u.id == user_id) {
        // Added after the decoy was last refreshed (cannot happen through the API): shown with
        // no name rather than not opening.
        let now = db::now_text();
        stand_in = DecoyUser {
            id: user_id.to_owned(),
            role: role.as_str().to_owned(),
            name: String::new(),
            stamps: [now.clone(), user_id.to_owned(), now, user_id.to_owned()],
            m_kib: kdf.params.m_kib,
            t: kdf.params.t,
            p: kdf.params.p,
        };
        users.push(&stand_in);
    }
    {
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let meta = "INSERT INTO meta (name, value) VALUES (?1, ?2)";
        tx.execute(meta, params!["store_id", store_id.as_bytes()])?;
        tx.execute(meta, params!["device_check", check])?;
        tx.execute(meta, params!["canary", canary.as_bytes()])?;
        for user in &users {
            let (slot, kek) = if user.id == user_id {
                let slot = kdf.clone();
                let kek = keys::kek_from_chain(&slot, &user.id, &chain, stretched)?;
                (slot, kek)
            } else {
                let params = KdfParams {
                    m_kib: user.m_kib,
                    t: user.t,
                    p: user.p,
                };
                (SlotKdf::new(params)?, SecretKey::generate()?)
            };
            let wrapped = crypto::seal(
                &kek,
                crypto::key_id_of(RecordKind::User, &user.id)?,
                &db::slot_place(&user.id),
                store_key.as_bytes(),
            )?;
            let [s0, s1, s2, s3] = &user.stamps;
            let profile = crypto::seal(
                &record_key,
                store_kid,
                &db::profile_place(&user.id, &db::profile_bound(&user.role, [s0, s1, s2, s3])),
                &db::to_json(&db::UserProfile {
                    display_name: user.name.clone(),
                })?,
            )?;
            tx.execute(
                "INSERT INTO users (id, role, kdf_salt, kdf_m_kib, kdf_t, kdf_p, wrapped_key, \
                 profile, created_at, created_by, updated_at, updated_by) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
                params![
                    user.id,
                    user.role,
                    slot.encode_salt(),
                    slot.params.m_kib,
                    slot.params.t,
                    slot.params.p,
                    wrapped.as_bytes(),
                    profile.as_bytes(),
                    s0,
                    s1,
                    s2,
                    s3
                ],
            )?;
        }
        tx.commit()?;
    }
    let store = Store::started(
        Store::locked(conn, path, device, store_id, store_kid),
        user_id.to_owned(),
        role,
        store_key,
    )?;
    {
        let session = store.session()?;
        // The trail and the clubs in one transaction: one sync, not one per club.
        let tx = rusqlite::Transaction::new_unchecked(&store.conn, TransactionBehavior::Immediate)?;
        for e in &decoy.trail {
            let role = e.role.as_deref().and_then(UserRole::parse);
            let mut entry = NewEntry::new(
                e.action,
                e.kind.as_deref().and_then(RecordKind::parse),
                &e.record_id,
            );
            entry.at = Some(e.at);
            entry.user_id = Some(&e.user_id);
            entry.role = Some(role);
            entry.fields = e.fields.clone();
            ledger::append(&tx, &store.store_id, session, entry)?;
        }
        for club in &decoy.clubs {
            let version = match ledger::last_write(&tx, RecordKind::Club, &club.id)? {
                Some((seq, AuditAction::Create | AuditAction::Update)) => seq,
                // A club the real trail never wrote (a store from before the trail): noted now.
                _ => ledger::append(
                    &tx,
                    &store.store_id,
                    session,
                    NewEntry::new(AuditAction::Create, Some(RecordKind::Club), &club.id),
                )?,
            };
            {
                let (db, s) = store.parts()?;
                crate::clubs::put_as(db, s, &club.id, &club.info, club.stamps.clone(), version)?;
            }
        }
        tx.commit()?;
    }
    keep_duress_slot(&store)?;
    Ok(store)
}

/// Refuses `pin` as a user's PIN when it is the duress PIN (it would then open the real data).
/// A hit is counted as a failed PIN try, like one at the unlock screen.
/// Both the duress slot and a first release's `meta.duress` row are checked (that row is still
/// honoured at unlock, so a user PIN equal to its PIN would open the real data).
pub(crate) fn refuse_duress_pin(store: &mut Store, field: &'static str, pin: &str) -> Result<()> {
    check_lockout(&store.conn)?;
    let mut hit = false;
    if let Some(slot) = DuressSlot::load(&store.conn)? {
        let kek = keys::user_kek(
            store.device.as_ref(),
            &store.store_id,
            DURESS_USER,
            pin,
            &slot.kdf,
        )?;
        hit |= crypto::open(
            &kek,
            store.store_kid,
            &meta_place(DURESS_SLOT),
            &slot.wrapped,
        )
        .is_ok();
    }
    hit |= store.open_legacy_duress(pin)?.is_some();
    if hit {
        store.count_hit()?;
        return invalid(field, Reason::Duplicate);
    }
    Ok(())
}

/// A PIN check made while unlocked (the old PIN of `change_pin`): waits, counts and wipes like
/// a try at the unlock screen; the right PIN resets the count.
pub(crate) fn counted_pin_check(
    store: &mut Store,
    check: impl FnOnce(&Store) -> Result<bool>,
) -> Result<bool> {
    check_lockout(&store.conn)?;
    let failures = count_attempt(&store.conn)?;
    if check(store)? {
        reset_attempts(&store.conn)?;
        return Ok(true);
    }
    if failures >= wipe_after(&store.conn)? {
        store.wipe()?;
        return Err(Error::Wiped);
    }
    Ok(false)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::*;
    use crate::domain::ClubKind;
    use crate::keys::SoftwareDeviceSecret;

    /// A store from the first release with a duress PIN set (the `meta.duress` row that release
    /// wrote) still obeys it after the upgrade, until the duress PIN is set again.
    #[test]
    fn a_first_release_duress_row_still_works() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("club.db");
        let device: Arc<dyn DeviceSecret> = Arc::new(SoftwareDeviceSecret::generate().unwrap());
        let mut store = Store::create(
            &path,
            device.clone(),
            NewUser::new("Lò Thị Mai", UserRole::Leader, "274915"),
            KdfParams::MIN,
        )
        .unwrap();
        let club = ClubInput {
            name: "CLB Pù Nhi".into(),
            kind: ClubKind::AntiTrafficking,
            province: "Thanh Hóa".into(),
            commune: "Pù Nhi".into(),
            village: None,
            former_district: None,
        };
        store.add_club(&club).unwrap();
        let leader = store.current_user().unwrap().id;
        // The row as the first release wrote it: salt, cost, decoy under a version-1 KEK.
        let kdf = SlotKdf {
            salt: [5u8; 16],
            params: KdfParams::MIN,
            rounds: 0,
        };
        let kek = keys::user_kek(
            device.as_ref(),
            &store.store_id,
            DURESS_USER,
            "918273",
            &kdf,
        )
        .unwrap();
        let decoy = LegacyDecoy {
            leader_id: leader.clone(),
            leader_name: "Lò Thị Mai".into(),
            clubs: vec![club.clone()],
        };
        let sealed = crypto::seal(
            &kek,
            store.store_kid,
            &meta_place("duress"),
            &db::to_json(&decoy).unwrap(),
        )
        .unwrap();
        let mut value = kdf.salt.to_vec();
        value.extend_from_slice(&params_bytes(KdfParams::MIN));
        value.extend_from_slice(sealed.as_bytes());
        meta_set(&store.conn, "duress", &value).unwrap();
        // Finding D: the first release's duress PIN cannot become a user's PIN either (it
        // would then open the real data instead of the decoy).
        assert!(matches!(
            store.change_pin("274915", "918273", KdfParams::MIN),
            Err(Error::Invalid(crate::ValidationError {
                field: "pin",
                reason: Reason::Duplicate
            }))
        ));
        store.lock();
        store.unlock(&leader, "918273").unwrap();
        let clubs = store.clubs().unwrap();
        assert_eq!(clubs.len(), 1);
        assert_eq!(clubs[0].info.name, club.name);
        assert_eq!(store.member_count().unwrap(), 0);
        store.lock();
        assert!(matches!(
            store.unlock(&leader, "274915"),
            Err(Error::WrongPin)
        ));
    }
}
