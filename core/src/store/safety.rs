//! What replaces or destroys the store itself, over the lower `safety` module: the wipe, the
//! decoy that takes the store's place when the duress PIN is typed, a restore from a backup,
//! and the PIN checks made while unlocked, which wipe at the limit like the unlock screen.

use std::path::Path;
use std::sync::Arc;

use rusqlite::{Connection, TransactionBehavior, params};

use super::Store;
use crate::access::{Permission, UserRole};
use crate::audit::AuditAction;
use crate::clubs;
use crate::crypto::{self, SecretKey};
use crate::db;
use crate::domain::Id;
use crate::error::{Error, Reason, RecordKind, Result, invalid};
use crate::keys::{self, DeviceSecret, KdfParams, SlotKdf};
use crate::ledger::{self, NewEntry};
use crate::safety::{self, Decoy, DecoyUser, RecoverySetup};
use crate::schema;
use crate::slots::{self, NewUser};

impl Store {
    /// Consecutive wrong PINs so far, and how many more the store allows before it wipes itself.
    /// Readable while locked, for the unlock screen.
    pub fn unlock_attempts_left(&self) -> Result<i64> {
        safety::attempts_left(&self.conn)
    }

    /// Sets how many consecutive wrong PINs wipe the store (3 to 50).
    pub fn set_wipe_after(&mut self, tries: i64) -> Result<()> {
        let (db, s) = self.parts_as(Permission::Safety)?;
        safety::set_wipe_after(db, s, tries)
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
        if !self.counted_pin_check(|s| s.pin_opens_slot(&user_id, current_pin))? {
            return Err(Error::WrongPin);
        }
        // The duress PIN must not be any user's real PIN. Finding one that is, is a PIN guess
        // that hit: it waits, counts and wipes like a wrong PIN at the unlock screen, and the
        // answer does not say whose PIN it is.
        safety::check_lockout(&self.conn)?;
        let mut taken = false;
        for user in self.users()? {
            // Every slot is tried, so the time does not tell which one matched either.
            taken |= self.pin_opens_slot(&user.id, pin)?;
        }
        if taken {
            self.count_hit()?;
            return invalid("duress_pin", Reason::Duplicate);
        }
        let (db, s) = self.parts()?;
        safety::set_duress_pin(db, s, self.device.as_ref(), current_pin, pin)
    }

    /// Counts a PIN check that hit (a candidate PIN that turned out to be someone's) as a failed
    /// try, wiping at the limit like the unlock screen.
    fn count_hit(&mut self) -> Result<()> {
        let failures = safety::count_attempt(&self.conn)?;
        if failures >= safety::wipe_after(&self.conn)? {
            self.wipe()?;
            return Err(Error::Wiped);
        }
        Ok(())
    }

    /// The first release's duress row (`meta.duress`, one device call per guess), still
    /// honoured until the leader sets the duress PIN again. Tried only when that row exists.
    pub(crate) fn try_legacy_duress(&mut self, pin: &str) -> Result<bool> {
        let Some((decoy, params)) =
            safety::open_legacy_duress(self.db(), self.device.as_ref(), pin)?
        else {
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
        let decoy = safety::open_decoy(self.db(), &decoy_key)?;
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
        for file in safety::files_of(&self.path) {
            // A checkpoint another reader kept from finishing leaves WAL frames (plaintext
            // ids and stamps, older sealed rows); truncating or deleting would only free their
            // blocks, and a second name for the file would keep them: zeros go over them first.
            safety::overwrite_with_zeros(&file);
            let _ = std::fs::remove_file(&file);
        }
        rotated.map_err(|e| Error::WipeIncomplete {
            detail: e.to_string(),
        })
    }

    /// Erases one member beyond recovery (her safety, or her right to erasure): her key and
    /// every record sealed under it. The trail keeps that an erasure happened, not what.
    pub fn erase_member(&mut self, id: &str) -> Result<()> {
        let path = self.path.clone();
        let (db, s) = self.parts_mut_as(Permission::Safety)?;
        safety::erase_member(db, s, &path, id)
    }

    /// The number to call or text, only when contact is safe; the read is noted in the trail.
    pub fn contact_phone(&self, member_id: &str) -> Result<String> {
        safety::contact_phone(self.member(member_id)?)
    }

    /// Sets up (or replaces) the recovery secret for backups and returns it, to show once.
    pub fn setup_recovery(&mut self) -> Result<RecoverySetup> {
        let (db, s) = self.parts_as(Permission::Safety)?;
        safety::setup_recovery(db, s)
    }

    /// One encrypted file with everything (records, users, audit trail), for a new phone.
    pub fn create_backup(&mut self) -> Result<Vec<u8>> {
        let (db, s) = self.parts_as(Permission::Safety)?;
        safety::create_backup(db, s, &self.path)
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
        let file = safety::BackupFile::parse(backup)?;
        let key = safety::recovery_key(recovery_secret, file.salt, file.kdf)?;
        let (store_key, inner) = file.open(&key)?;
        let result = Self::restore_into(path, device, &inner[32..], store_key, new_pin, params);
        if result.is_err() {
            for file in safety::files_of(path) {
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
        let canary: Vec<u8> =
            safety::meta_get(&store.conn, "canary")?.ok_or(Error::BackupDamaged)?;
        crypto::open(&record_key, store.store_kid, &db::canary_place(), &canary)
            .map_err(|_| Error::BackupDamaged)?;
        let users = store.users()?;
        let leader = users
            .iter()
            .find(|u| u.role == UserRole::Leader)
            .ok_or(Error::BackupDamaged)?
            .id
            .clone();
        let check = keys::device_check(device.as_ref(), &store.store_id)?;
        let removed: Vec<Id> = users
            .iter()
            .filter(|u| u.id != leader)
            .map(|u| u.id.clone())
            .collect();
        {
            let tx =
                rusqlite::Transaction::new_unchecked(&store.conn, TransactionBehavior::Immediate)?;
            safety::meta_set(&tx, "device_check", &check)?;
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
            safety::meta_set(&tx, "canary", canary.as_bytes())?;
            // The leader's slot under the new PIN and this phone's device secret, her profile
            // stamped as updated by herself.
            slots::rewrap(
                store.db(),
                device.as_ref(),
                (&store_key, &record_key),
                &tx,
                &leader,
                new_pin,
                params,
                &leader,
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

    /// Refuses `pin` as a user's PIN when it is the duress PIN (it would then open the real
    /// data). A hit is counted as a failed PIN try, like one at the unlock screen.
    pub(crate) fn refuse_duress_pin(&mut self, field: &'static str, pin: &str) -> Result<()> {
        safety::check_lockout(&self.conn)?;
        if safety::is_duress_pin(self.db(), self.device.as_ref(), pin)? {
            self.count_hit()?;
            return invalid(field, Reason::Duplicate);
        }
        Ok(())
    }

    /// A PIN check made while unlocked (the old PIN of `change_pin`): waits, counts and wipes
    /// like a try at the unlock screen; the right PIN resets the count.
    pub(crate) fn counted_pin_check(
        &mut self,
        check: impl FnOnce(&Store) -> Result<bool>,
    ) -> Result<bool> {
        safety::check_lockout(&self.conn)?;
        let failures = safety::count_attempt(&self.conn)?;
        if check(self)? {
            safety::reset_attempts(&self.conn)?;
            return Ok(true);
        }
        if failures >= safety::wipe_after(&self.conn)? {
            self.wipe()?;
            return Err(Error::Wiped);
        }
        Ok(false)
    }

    /// Gives the unlocked store its decoy key and duress slot if it has none yet, then
    /// refreshes the decoy (`safety::keep_duress_slot`).
    pub(crate) fn keep_duress_slot(&self) -> Result<()> {
        let (db, s) = self.parts()?;
        safety::keep_duress_slot(db, s)
    }

    /// Re-seals the decoy from what the store holds now. Skipped when locked.
    pub(crate) fn refresh_decoy(&self) -> Result<()> {
        match self.parts() {
            Ok((db, s)) => safety::refresh_decoy(db, s),
            Err(_) => Ok(()),
        }
    }
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
    schema::install(&mut conn)?;
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
                &slots::slot_place(&user.id),
                store_key.as_bytes(),
            )?;
            let [s0, s1, s2, s3] = &user.stamps;
            let profile = crypto::seal(
                &record_key,
                store_kid,
                &slots::profile_place(
                    &user.id,
                    &slots::profile_bound(&user.role, [s0, s1, s2, s3]),
                ),
                &db::to_json(&slots::UserProfile {
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
    let store = Store::begun(
        Store::locked(conn, path, device, store_id, store_kid),
        user_id.to_owned(),
        role,
        store_key,
    )?;
    {
        let session = store.session()?;
        // The trail and the clubs in one transaction: one sync, not one per club.
        let tx = rusqlite::Transaction::new_unchecked(&store.conn, TransactionBehavior::Immediate)?;
        // The mark a new store's trail opens with, dated as the decoy's first entry: dated now,
        // every older entry after it would be moved to now and marked "clock_set_back", a
        // trail that all happened at the moment of a forced unlock. Kept as is when the
        // decoy's entries hold the real store's own mark.
        let has_mark = decoy.trail.iter().any(|e| {
            e.kind.as_deref() == Some(RecordKind::Audit.as_str()) && e.record_id == db::RESEAL_MARK
        });
        if !has_mark {
            let mut mark = NewEntry::new(
                AuditAction::Update,
                Some(RecordKind::Audit),
                db::RESEAL_MARK,
            );
            // And in the name of whoever made that first entry, not of the user being forced
            // now (who may have joined the club later than it).
            if let Some(first) = decoy.trail.first() {
                mark.at = Some(first.at);
                mark.user_id = Some(&first.user_id);
                mark.role = Some(first.role.as_deref().and_then(UserRole::parse));
            }
            ledger::append(&tx, &store.store_id, session, mark)?;
        }
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
                clubs::put_as(db, s, &club.id, &club.info, club.stamps.clone(), version)?;
            }
        }
        tx.commit()?;
    }
    store.keep_duress_slot()?;
    Ok(store)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::*;
    use crate::domain::{ClubInput, ClubKind};
    use crate::keys::SoftwareDeviceSecret;
    use crate::safety::{DURESS_USER, LegacyDecoy, meta_place, meta_set, params_bytes};

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
