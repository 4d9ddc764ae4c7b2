//! The encrypted offline store: one SQLite file, every personal field sealed.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use chrono::{DateTime, NaiveDate, Utc};
use rusqlite::{Connection, OpenFlags, OptionalExtension, TransactionBehavior, params};
use zeroize::Zeroizing;

use crate::access::{Permission, UserRole};
use crate::audit::AuditAction;
use crate::audit::AuditEntry;
use crate::crypto::{self, KeyId, SecretKey, key_id_of};
use crate::db::{
    self, CANARY, Db, MEMBERS, RECORD_TABLES, RESEAL_MARK, RawRow, canary_place, check_written,
    new_id, not_a_store, note_record_versions, now_text, open_member, open_pragmas, open_profile,
    place, profile_bound, profile_place, read_slot, reencode, restrict_permissions, slot_place,
    to_json, trail_mismatch, unwrap_member_key, wrap_for_user, write_user,
};
use crate::domain::*;
use crate::error::{
    DamageReason, Damaged, DeviceSecretError, Error, Reason, RecordKind, Result, invalid,
};
use crate::import;
use crate::index::{MemberFilter, MemberIndex};
use crate::keys::{self, DeviceSecret, KdfParams};
use crate::ledger::{self, NewEntry};
use crate::report::{self, MonthlyReport};
use crate::safety;
use crate::schema;
use crate::session::Session;
use crate::sync::{self, EnrollmentInfo, OutboxItem, SyncProgress, SyncReport};
use crate::trail::{self, Annotation, AuditExport, AuditFindings, Checkpoint, OverdueThresholds};
use crate::{clubs, consent, livelihood, meetings, members, referrals};

/// A user as the unlock screen lists them: no name, since the store is still locked.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct UserInfo {
    pub id: Id,
    pub role: UserRole,
}

/// A new user of the store. The PIN is zeroized when this is dropped.
pub struct NewUser {
    pub display_name: String,
    pub role: UserRole,
    pub pin: Zeroizing<String>,
}

impl NewUser {
    pub fn new(display_name: &str, role: UserRole, pin: &str) -> Self {
        Self {
            display_name: display_name.to_owned(),
            role,
            pin: Zeroizing::new(pin.to_owned()),
        }
    }
}

pub struct Store {
    pub(crate) conn: Connection,
    pub(crate) path: PathBuf,
    pub(crate) device: Arc<dyn DeviceSecret>,
    pub(crate) store_id: String,
    pub(crate) store_kid: KeyId,
    pub(crate) session: Option<Session>,
    /// Set once the store destroyed itself; every later unlock says so.
    pub(crate) wiped: bool,
    /// Per-request timeout for the sync.
    pub(crate) request_timeout: std::time::Duration,
}

impl Drop for Store {
    fn drop(&mut self) {
        self.lock();
    }
}

impl Store {
    /// Creates a new store at `path` and unlocks it as its first user.
    pub fn create(
        path: &Path,
        device: Arc<dyn DeviceSecret>,
        first: NewUser,
        params: KdfParams,
    ) -> Result<Store> {
        Self::create_as(path, device, first, params, new_id())
    }

    /// `create`, with the first user's id given (the duress decoy keeps the leader's id).
    pub(crate) fn create_as(
        path: &Path,
        device: Arc<dyn DeviceSecret>,
        first: NewUser,
        params: KdfParams,
        user_id: Id,
    ) -> Result<Store> {
        if path.exists() {
            return Err(Error::AlreadyExists);
        }
        params.check()?;
        keys::check_pin(&first.pin)?;
        let display_name = required("display_name", &first.display_name)?;
        let mut conn = Connection::open(path)?;
        restrict_permissions(path)?;
        open_pragmas(&conn)?;
        schema::install(&mut conn)?;

        let store_id = new_id();
        let store_kid = key_id_of(RecordKind::Canary, &store_id)?;
        let store_key = SecretKey::generate()?;
        let record_key = store_key.derive(b"records")?;
        let check = keys::device_check(device.as_ref(), &store_id)?;
        let canary = crypto::seal(&record_key, store_kid, &canary_place(), CANARY)?;
        let now = now_text();
        {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let meta = "INSERT INTO meta (name, value) VALUES (?1, ?2)";
            tx.execute(meta, params!["store_id", store_id.as_bytes()])?;
            tx.execute(meta, params!["device_check", check])?;
            tx.execute(meta, params!["canary", canary])?;
            write_user(
                &tx,
                device.as_ref(),
                &store_id,
                &store_key,
                &record_key,
                store_kid,
                &user_id,
                first.role,
                &display_name,
                &first.pin,
                params,
                [&now, &user_id, &now, &user_id],
            )?;
            tx.commit()?;
        }
        let store = Store::started(
            Store::locked(conn, path, device, store_id, store_kid),
            user_id,
            first.role,
            store_key,
        )?;
        safety::keep_duress_slot(&store)?;
        Ok(store)
    }

    /// Opens an existing store, locked. Upgrades its schema if it is older.
    pub fn open(path: &Path, device: Arc<dyn DeviceSecret>) -> Result<Store> {
        if !path.exists() {
            return Err(Error::Io(std::io::Error::new(
                std::io::ErrorKind::NotFound,
                "no store at this path",
            )));
        }
        let mut conn = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        open_pragmas(&conn).map_err(|e| match e {
            Error::Storage(s) => not_a_store(s),
            other => other,
        })?;
        schema::migrate(&mut conn).map_err(|e| match e {
            Error::Storage(s) => not_a_store(s),
            other => other,
        })?;
        let store_id: Vec<u8> = conn
            .query_row("SELECT value FROM meta WHERE name = 'store_id'", [], |r| {
                r.get(0)
            })
            .optional()
            .map_err(not_a_store)?
            .ok_or(Error::NotAStore)?;
        let store_id = String::from_utf8(store_id).map_err(|_| Error::NotAStore)?;
        let store_kid = key_id_of(RecordKind::Canary, &store_id).map_err(|_| Error::NotAStore)?;
        Ok(Store::locked(conn, path, device, store_id, store_kid))
    }

    /// A store on an open connection, locked.
    pub(crate) fn locked(
        conn: Connection,
        path: &Path,
        device: Arc<dyn DeviceSecret>,
        store_id: String,
        store_kid: KeyId,
    ) -> Store {
        Store {
            conn,
            path: path.to_owned(),
            device,
            store_id,
            store_kid,
            session: None,
            wiped: false,
            request_timeout: crate::sync::DEFAULT_REQUEST_TIMEOUT,
        }
    }

    /// A store just laid down (a new one, or the duress decoy), unlocked as its first user,
    /// its trail started and saying from the first entry that its rows carry versions.
    pub(crate) fn started(
        mut store: Store,
        user_id: Id,
        role: UserRole,
        store_key: SecretKey,
    ) -> Result<Store> {
        store.start_session(user_id, role, store_key)?;
        let session = store.session()?;
        ledger::start(&store.conn, &store.store_id, session)?;
        note_record_versions(&store.conn, &store.store_id, session)?;
        Ok(store)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn store_id(&self) -> &str {
        &self.store_id
    }

    /// The users who can unlock this store (ids and roles only: it may be locked).
    pub fn users(&self) -> Result<Vec<UserInfo>> {
        let mut stmt = self
            .conn
            .prepare("SELECT id, role FROM users ORDER BY created_at, id")?;
        let rows = stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))?;
        let mut out = Vec::new();
        for row in rows {
            let (id, role) = row?;
            let role = UserRole::parse(&role).ok_or_else(|| Error::Integrity {
                kind: RecordKind::User,
                id: id.clone(),
            })?;
            out.push(UserInfo { id, role });
        }
        Ok(out)
    }

    pub fn is_unlocked(&self) -> bool {
        self.session.is_some()
    }

    /// The unlocked user and their role.
    pub fn current_user(&self) -> Result<UserInfo> {
        let s = self.session()?;
        Ok(UserInfo {
            id: s.user_id.clone(),
            role: s.role,
        })
    }

    /// Unlocks with one user's PIN. A wrong PIN changes nothing; a missing or foreign device
    /// secret is reported as such, before any PIN is tried.
    pub fn unlock(&mut self, user_id: &str, pin: &str) -> Result<()> {
        self.session = None;
        if self.wiped {
            return Err(Error::Wiped);
        }
        safety::check_lockout(&self.conn)?;
        match self.try_unlock(user_id, pin) {
            Ok(()) => {
                // Every store keeps a duress slot and a decoy description, kept up to date at
                // each unlock and lock, so that a duress unlock shows today's users and clubs.
                let noted = self
                    .note_unlock()
                    .and_then(|()| safety::keep_duress_slot(self));
                if noted.is_err() {
                    // An unlock the trail could not record is no unlock: keys leave memory.
                    self.session = None;
                }
                noted
            }
            Err(e) => {
                if matches!(
                    e,
                    Error::WrongPin | Error::UnknownUser | Error::KeyUnavailable(_)
                ) {
                    // Best effort: a full disk must not turn a wrong PIN into another error.
                    let _ = ledger::note_failed_unlock(&self.conn, user_id);
                }
                Err(e)
            }
        }
    }

    /// Folds failed unlocks noted while locked into the chain, then notes this unlock.
    fn note_unlock(&mut self) -> Result<()> {
        let session = self.session.as_ref().ok_or(Error::Locked)?;
        let tx = rusqlite::Transaction::new_unchecked(&self.conn, TransactionBehavior::Immediate)?;
        let pending: Vec<(i64, String, String)> = {
            let mut stmt = tx.prepare("SELECT id, at, user_id FROM audit_pending ORDER BY id")?;
            let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
            rows.collect::<Result<Vec<_>, _>>()?
        };
        for (_, at, user_id) in &pending {
            let role: Option<String> = tx
                .query_row("SELECT role FROM users WHERE id = ?1", [user_id], |r| {
                    r.get(0)
                })
                .optional()?;
            let mut entry = NewEntry::new(AuditAction::UnlockFailed, None, "");
            // Noted while locked, without keys: anyone with the file could have written the
            // row, so the trail takes it in as unverified, and never dated after now.
            entry.at = DateTime::parse_from_rfc3339(at)
                .ok()
                .map(|d| d.with_timezone(&Utc).min(Utc::now()));
            entry.fields = vec!["unverified".into()];
            // The id was typed at the unlock screen, or planted in the file: keep control
            // characters out of the chain, where U+001F separates an entry's fields and one
            // inside an id would let a field's text move into the next without breaking it.
            let user_id: String = user_id
                .chars()
                .take(200)
                .map(|c| if c.is_control() { '\u{FFFD}' } else { c })
                .collect();
            let user_id = user_id.as_str();
            entry.user_id = Some(user_id);
            entry.role = Some(role.as_deref().and_then(UserRole::parse));
            ledger::append(&tx, &self.store_id, session, entry)?;
        }
        tx.execute("DELETE FROM audit_pending", [])?;
        ledger::append(
            &tx,
            &self.store_id,
            session,
            NewEntry::new(AuditAction::Unlock, None, ""),
        )?;
        tx.commit()?;
        Ok(())
    }

    fn try_unlock(&mut self, user_id: &str, pin: &str) -> Result<()> {
        let slot = read_slot(&self.conn, user_id)?.ok_or(Error::UnknownUser)?;
        let integrity = || Error::Integrity {
            kind: RecordKind::User,
            id: user_id.to_owned(),
        };
        let role = UserRole::parse(&slot.role).ok_or_else(integrity)?;

        let expected: Vec<u8> = self.conn.query_row(
            "SELECT value FROM meta WHERE name = 'device_check'",
            [],
            |r| r.get(0),
        )?;
        let check = keys::device_check(self.device.as_ref(), &self.store_id)?;
        // Both are public-safe hashes of a PRF output, so a plain comparison leaks nothing.
        if check != expected {
            return Err(Error::KeyUnavailable(DeviceSecretError::Missing));
        }

        // Counted before the PIN is tried, so killing the app mid-try does not dodge the count.
        let failures = safety::count_attempt(&self.conn)?;
        // The user's slot and the duress slot (a dummy when no duress PIN is set) are both
        // tried, always, in full: a wrong PIN costs the same with or without a duress PIN, and
        // the right PIN and the duress PIN cost the same (docs/SECURITY.md 11).
        let stretched = keys::stretch(pin, &slot.kdf.salt, slot.kdf.params)?;
        let kek = keys::kek_from_stretched(
            self.device.as_ref(),
            &self.store_id,
            user_id,
            &stretched,
            &slot.kdf,
        )?;
        let user_kid = key_id_of(RecordKind::User, user_id)?;
        let opened = crypto::open(&kek, user_kid, &slot_place(user_id), &slot.wrapped)
            .and_then(|k| SecretKey::from_slice(&k));
        let duress = safety::DuressTry::run(self, pin, slot.kdf.params)?;
        let store_key = match opened {
            Ok(key) => key,
            Err(_) => {
                if let Some(decoy_key) = duress.opened {
                    return self.become_decoy(
                        user_id,
                        role,
                        &duress.stretched,
                        &duress.kdf,
                        decoy_key,
                    );
                }
                if self.try_legacy_duress(pin)? {
                    return Ok(());
                }
                if failures >= safety::wipe_after(&self.conn)? {
                    self.wipe()?;
                    return Err(Error::Wiped);
                }
                return Err(Error::WrongPin);
            }
        };
        // The device calls a duress unlock makes for the decoy, made here too (on throwaway
        // input) so that the two unlocks cost the same.
        safety::pad_like_decoy(self.device.as_ref(), &duress.kdf)?;
        safety::reset_attempts(&self.conn)?;

        // The canary proves the unwrapped key is this store's key, not one from a spliced slot.
        let record_key = store_key.derive(b"records")?;
        let canary: Vec<u8> =
            self.conn
                .query_row("SELECT value FROM meta WHERE name = 'canary'", [], |r| {
                    r.get(0)
                })?;
        let opened = crypto::open(&record_key, self.store_kid, &canary_place(), &canary)?;
        // The canary may go on to name the duress slot (safety::keep_duress_slot).
        if opened.get(..CANARY.len()) != Some(CANARY) {
            return Err(Error::Integrity {
                kind: RecordKind::Canary,
                id: "canary".into(),
            });
        }
        if !slot.kdf.is_current() {
            // An older slot (one device call per guess) becomes a chained one, same salt and
            // Argon2 cost, so the stretched PIN is reused: no second Argon2 run.
            let kdf = slot.kdf.upgraded();
            let kek = keys::kek_from_stretched(
                self.device.as_ref(),
                &self.store_id,
                user_id,
                &stretched,
                &kdf,
            )?;
            let wrapped = crypto::seal(&kek, user_kid, &slot_place(user_id), store_key.as_bytes())?;
            self.conn.execute(
                "UPDATE users SET kdf_salt = ?1, wrapped_key = ?2 WHERE id = ?3",
                params![kdf.encode_salt(), wrapped.as_bytes(), user_id],
            )?;
        }
        self.start_session(user_id.to_owned(), role, store_key)
    }

    /// Drops every key and the member index from memory, and folds the WAL into the main file
    /// (truncating it) so that superseded sealed pages do not linger there.
    pub fn lock(&mut self) {
        // Best effort: the decoy was refreshed at unlock already; this catches today's changes.
        let _ = safety::refresh_decoy(self);
        self.session = None;
        // Best effort: a reader elsewhere can make the checkpoint partial; the next one finishes.
        let _ = self.checkpoint();
    }

    fn checkpoint(&self) -> Result<()> {
        self.conn
            .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))?;
        Ok(())
    }

    pub(crate) fn start_session(
        &mut self,
        user_id: Id,
        role: UserRole,
        store_key: SecretKey,
    ) -> Result<()> {
        let record_key = store_key.derive(b"records")?;
        let member_wrap = store_key.derive(b"member-keys")?;
        let audit_key = store_key.derive(b"audit")?;
        // Role and stamps are bound into the profile's seal: an edited role is caught here.
        open_profile(&self.conn, &record_key, self.store_kid, &user_id)?;
        let device_id = ledger::ensure_device_identity(&self.conn, &record_key, self.store_kid)?;
        let mut session = Session {
            user_id,
            role,
            store_key,
            record_key,
            member_wrap,
            audit_key,
            device_id,
            member_keys: HashMap::new(),
            index: MemberIndex::default(),
            damaged: Default::default(),
        };
        let mut stmt = self
            .conn
            .prepare("SELECT member_id, wrapped_key FROM member_keys")?;
        let rows = stmt.query_map([], |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, Vec<u8>>(1)?))
        })?;
        for row in rows {
            let (member_id, wrapped) = row?;
            match unwrap_member_key(&session.member_wrap, self.store_kid, &member_id, &wrapped) {
                Ok(key) => {
                    session.member_keys.insert(member_id, Box::new(key));
                }
                Err(_) => session.damaged.get_mut().push(Damaged {
                    kind: RecordKind::MemberKey,
                    owner: member_id.clone(),
                    id: member_id,
                    reason: DamageReason::Unreadable,
                }),
            }
        }
        drop(stmt);
        self.reseal_legacy_rows(&session)?;
        for raw in MEMBERS.read(&self.conn, "WHERE ?1 = ''", "")? {
            match open_member(&self.conn, &session, &raw) {
                Ok(m) => session.index.upsert(&m),
                Err(_) => {
                    let reason = trail_mismatch(&self.conn, &MEMBERS, &raw)?
                        .unwrap_or(DamageReason::Unreadable);
                    session.damaged.get_mut().push(Damaged {
                        kind: RecordKind::Member,
                        id: raw.id,
                        owner: raw.owner,
                        reason,
                    })
                }
            }
        }
        self.session = Some(session);
        Ok(())
    }

    /// Adds records found damaged to what `damaged_records` reports in this session.
    pub(crate) fn note_damaged(&self, found: &[Damaged]) -> Result<()> {
        self.session()?.note_damaged(found);
        Ok(())
    }

    /// After the upgrade that bound each record to its trail entry, the first unlock reseals
    /// every older row with its version (one entry each) and seals the older entries' field
    /// names, then marks this done in the trail. Only once: a pre-upgrade row put back later
    /// stays version 0 and is reported, never laundered.
    fn reseal_legacy_rows(&self, session: &Session) -> Result<()> {
        let pending = self
            .conn
            .prepare_cached("SELECT 1 FROM meta WHERE name = 'reseal_pending'")?
            .exists([])?;
        if !pending {
            return Ok(());
        }
        let tx = rusqlite::Transaction::new_unchecked(&self.conn, TransactionBehavior::Immediate)?;
        let done = ledger::last_write(&tx, RecordKind::Audit, RESEAL_MARK)?.is_some();
        if !done {
            for table in RECORD_TABLES {
                for raw in table.read(&tx, "WHERE version = 0 AND ?1 = ''", "")? {
                    let (key, kid) = match self.db().key_for(session, table, &raw.id, &raw.owner) {
                        Ok(k) => k,
                        Err(_) => continue,
                    };
                    // A row that does not open stays as it is and is reported as damaged.
                    let Some(plain) =
                        crypto::open(key, kid, &place(table, &raw.id, &raw.bound()), &raw.body)
                            .ok()
                            .and_then(|p| reencode(table, &p).ok())
                    else {
                        continue;
                    };
                    let resealed = RawRow {
                        version: ledger::next_seq(&tx)?,
                        ..raw
                    };
                    let sealed = crypto::seal(
                        key,
                        kid,
                        &place(table, &resealed.id, &resealed.bound()),
                        &plain,
                    )?;
                    table.write(&tx, &resealed, &sealed)?;
                    let mut entry =
                        NewEntry::new(AuditAction::Update, Some(table.kind), &resealed.id);
                    entry.fields = vec!["resealed".into()];
                    let seq = ledger::append(&tx, &self.store_id, session, entry)?;
                    check_written(seq, &resealed)?;
                }
            }
            let legacy: Vec<(i64, String)> = {
                let mut stmt = tx.prepare(
                    "SELECT seq, fields FROM audit_log WHERE fields_sealed IS NULL AND fields != ''",
                )?;
                let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
                rows.collect::<Result<_, _>>()?
            };
            for (seq, fields) in legacy {
                let names: Vec<String> = fields.split(',').map(str::to_owned).collect();
                let sealed = ledger::seal_fields(session, &self.store_id, seq, &names)?;
                tx.execute(
                    "UPDATE audit_log SET fields = '', fields_sealed = ?2 WHERE seq = ?1",
                    params![seq, sealed],
                )?;
            }
            // Records the old trail created whose rows were gone before the trail could tell
            // (children of members erased by an older version, which did not name them) are
            // noted as absent at the upgrade, so that from now on a missing row means tampering.
            let entries = trail::load(self.db(), session)?;
            for gone in db::scan_records(self.db(), session, &entries)? {
                if gone.reason == DamageReason::Missing {
                    let mut entry = NewEntry::new(AuditAction::Delete, Some(gone.kind), &gone.id);
                    entry.fields = vec!["absent_at_upgrade".into()];
                    ledger::append(&tx, &self.store_id, session, entry)?;
                }
            }
            note_record_versions(&tx, &self.store_id, session)?;
        }
        tx.execute("DELETE FROM meta WHERE name = 'reseal_pending'", [])?;
        tx.commit()?;
        Ok(())
    }

    pub(crate) fn session(&self) -> Result<&Session> {
        self.session.as_ref().ok_or(Error::Locked)
    }

    /// The session, if the unlocked user's role has `permission` (docs/ROLES.md).
    pub(crate) fn require(&self, permission: Permission) -> Result<&Session> {
        self.session()?.require(permission)
    }

    /// Whether the unlocked user may do this; false when locked.
    pub fn may(&self, permission: Permission) -> bool {
        self.require(permission).is_ok()
    }

    /// Records that failed their integrity check at unlock. The rest of the store works.
    pub fn damaged_records(&self) -> Result<Vec<Damaged>> {
        Ok(self.session()?.damaged.borrow().clone())
    }

    // ---- users --------------------------------------------------------------------------

    /// Adds a user with their own PIN: the store key is wrapped once more, no data is re-sealed.
    /// `current_pin` is the PIN of the user adding (the leader), checked like one typed at the
    /// unlock screen: the new PIN is compared with the duress PIN, and without this whoever
    /// holds the unlocked phone could test candidate duress PINs for free.
    pub fn add_user(
        &mut self,
        current_pin: &str,
        user: NewUser,
        params: KdfParams,
    ) -> Result<UserInfo> {
        self.require(Permission::ManageUsers)?;
        params.check()?;
        keys::check_pin(&user.pin)?;
        let display_name = required("display_name", &user.display_name)?;
        let me = self.session()?.user_id.clone();
        if !safety::counted_pin_check(self, |s| s.pin_opens_slot(&me, current_pin))? {
            return Err(Error::WrongPin);
        }
        // The duress PIN as someone's real PIN would open the real data instead of the decoy.
        safety::refuse_duress_pin(self, "pin", &user.pin)?;
        let session = self.session.as_ref().ok_or(Error::Locked)?;
        let id = new_id();
        let now = now_text();
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        write_user(
            &tx,
            self.device.as_ref(),
            &self.store_id,
            &session.store_key,
            &session.record_key,
            self.store_kid,
            &id,
            user.role,
            &display_name,
            &user.pin,
            params,
            [&now, &session.user_id, &now, &session.user_id],
        )?;
        ledger::append(
            &tx,
            &self.store_id,
            session,
            NewEntry::new(AuditAction::UserAdd, Some(RecordKind::User), &id),
        )?;
        tx.commit()?;
        Ok(UserInfo {
            id,
            role: user.role,
        })
    }

    /// Whether `pin` (with this phone's device secret) opens `user_id`'s key slot.
    pub(crate) fn pin_opens_slot(&self, user_id: &str, pin: &str) -> Result<bool> {
        let slot = read_slot(&self.conn, user_id)?.ok_or(Error::UnknownUser)?;
        let kek = keys::user_kek(
            self.device.as_ref(),
            &self.store_id,
            user_id,
            pin,
            &slot.kdf,
        )?;
        let kid = key_id_of(RecordKind::User, user_id)?;
        Ok(crypto::open(&kek, kid, &slot_place(user_id), &slot.wrapped).is_ok())
    }

    /// The Argon2 cost of the unlocked user's key slot: what this phone was calibrated to
    /// when the store was made (or the PIN last set). The app uses it for new PINs.
    pub fn kdf_params(&self) -> Result<KdfParams> {
        let user_id = &self.session()?.user_id;
        let slot = read_slot(&self.conn, user_id)?.ok_or(Error::UnknownUser)?;
        Ok(slot.kdf.params)
    }

    /// Changes the unlocked user's PIN after checking the old one. Re-wraps the store key only.
    pub fn change_pin(&mut self, old_pin: &str, new_pin: &str, params: KdfParams) -> Result<()> {
        params.check()?;
        keys::check_pin(new_pin)?;
        let user_id = self.session()?.user_id.clone();
        // The old PIN is a PIN guess like one at the unlock screen: the same wait, the same
        // count and the same wipe, so an unlocked phone is no faster oracle for it.
        if !safety::counted_pin_check(self, |s| s.pin_opens_slot(&user_id, old_pin))? {
            return Err(Error::WrongPin);
        }
        safety::refuse_duress_pin(self, "pin", new_pin)?;
        let session = self.session.as_ref().ok_or(Error::Locked)?;
        let tx = rusqlite::Transaction::new_unchecked(&self.conn, TransactionBehavior::Immediate)?;
        self.rewrite_own_slot(&tx, new_pin, params)?;
        // The duress slot is re-sealed at every PIN change, so that setting the duress PIN
        // (which also re-wraps the leader's slot) rewrites exactly the same rows.
        safety::reseal_duress_slot(self, &tx)?;
        ledger::append(
            &tx,
            &self.store_id,
            session,
            NewEntry::new(AuditAction::PinChange, Some(RecordKind::User), &user_id),
        )?;
        tx.commit()?;
        // The decoy carries each user's stamps, which just changed.
        safety::refresh_decoy(self)
    }

    /// Removes another user from the store (leader only). Her key slot, the only copy of the
    /// store key she could open, is deleted with her row (overwritten on disk: secure_delete),
    /// so her PIN opens nothing any more. Her past entries stay in the trail under her id and
    /// role, which the chain's MACs cover: it verifies as before. A leader cannot remove herself
    /// (another leader can), and the store always keeps a leader.
    pub fn remove_user(&mut self, user_id: &str) -> Result<()> {
        let session = self.require(Permission::ManageUsers)?;
        if user_id == session.user_id {
            return invalid("user_id", Reason::OwnAccount);
        }
        let users = self.users()?;
        let target = users
            .iter()
            .find(|u| u.id == user_id)
            .ok_or(Error::UnknownUser)?;
        // Unreachable while only leaders manage users (the one removing stays), kept so that a
        // wider permission can never leave a store nobody can manage.
        if target.role == UserRole::Leader
            && !users
                .iter()
                .any(|u| u.id != user_id && u.role == UserRole::Leader)
        {
            return invalid("user_id", Reason::LastLeader);
        }
        let tx = rusqlite::Transaction::new_unchecked(&self.conn, TransactionBehavior::Immediate)?;
        tx.execute("DELETE FROM users WHERE id = ?1", [user_id])?;
        ledger::append(
            &tx,
            &self.store_id,
            session,
            NewEntry::new(AuditAction::Delete, Some(RecordKind::User), user_id),
        )?;
        tx.commit()?;
        // The duress decoy lists today's users.
        safety::refresh_decoy(self)
    }

    /// Sets a new PIN for another user who forgot hers (leader only). The leader's session
    /// holds the store key, so it is wrapped for her under the new PIN (new salt, cost
    /// `params`); the old slot is overwritten, so the old PIN opens nothing, and it is never
    /// read nor needed. `current_pin` is the leader's own PIN, checked like one at the unlock
    /// screen, as for `add_user`: the new PIN is compared with the duress PIN, which must not
    /// become a free test from an unlocked phone. In the trail as a `PinChange` of her account,
    /// by the leader, with the field `reset`. Her own PIN a leader changes with `change_pin`.
    pub fn reset_pin(
        &mut self,
        current_pin: &str,
        user_id: &str,
        new_pin: &str,
        params: KdfParams,
    ) -> Result<()> {
        let me = self.require(Permission::ManageUsers)?.user_id.clone();
        if user_id == me {
            return invalid("user_id", Reason::OwnAccount);
        }
        params.check()?;
        keys::check_pin(new_pin)?;
        if read_slot(&self.conn, user_id)?.is_none() {
            return Err(Error::UnknownUser);
        }
        if !safety::counted_pin_check(self, |s| s.pin_opens_slot(&me, current_pin))? {
            return Err(Error::WrongPin);
        }
        safety::refuse_duress_pin(self, "pin", new_pin)?;
        let tx = rusqlite::Transaction::new_unchecked(&self.conn, TransactionBehavior::Immediate)?;
        // Her slot and profile are rewritten with new update stamps by the leader.
        self.rewrite_slot(&tx, user_id, new_pin, params)?;
        let session = self.session()?;
        // As at every PIN change: the same rows change whether or not a duress PIN is set.
        safety::reseal_duress_slot(self, &tx)?;
        let mut entry = NewEntry::new(AuditAction::PinChange, Some(RecordKind::User), user_id);
        entry.fields = vec!["reset".into()];
        ledger::append(&tx, &self.store_id, session, entry)?;
        tx.commit()?;
        // The decoy carries each user's stamps, which just changed.
        safety::refresh_decoy(self)
    }

    /// Wraps the store key anew for the unlocked user under `pin` (new salt) and re-seals her
    /// profile with new update stamps: what a PIN change writes to the users row.
    pub(crate) fn rewrite_own_slot(
        &self,
        conn: &Connection,
        pin: &str,
        params: KdfParams,
    ) -> Result<()> {
        let user_id = self.session()?.user_id.clone();
        self.rewrite_slot(conn, &user_id, pin, params)
    }

    /// Wraps the store key for `user_id` under `pin` (new salt, cost `params`) and re-seals her
    /// profile with new update stamps by the unlocked user (its seal binds them): her own PIN
    /// change, or the leader's reset of it.
    fn rewrite_slot(
        &self,
        conn: &Connection,
        user_id: &str,
        pin: &str,
        params: KdfParams,
    ) -> Result<()> {
        let session = self.session()?;
        let me = &session.user_id;
        let (salt, wrapped) = wrap_for_user(
            self.device.as_ref(),
            &self.store_id,
            &session.store_key,
            user_id,
            pin,
            params,
        )?;
        let old = open_profile(&self.conn, &session.record_key, self.store_kid, user_id)?;
        let now = now_text();
        let stamps = [old.stamps[0].as_str(), &old.stamps[1], &now, me];
        let profile = crypto::seal(
            &session.record_key,
            self.store_kid,
            &profile_place(user_id, &profile_bound(&old.role, stamps)),
            &to_json(&old.profile)?,
        )?;
        conn.execute(
            "UPDATE users SET kdf_salt = ?1, kdf_m_kib = ?2, kdf_t = ?3, kdf_p = ?4, \
             wrapped_key = ?5, profile = ?6, updated_at = ?7, updated_by = ?8 WHERE id = ?9",
            params![
                salt,
                params.m_kib,
                params.t,
                params.p,
                wrapped,
                profile,
                now,
                me,
                user_id
            ],
        )?;
        Ok(())
    }

    /// The store file and the unlocked session, for a feature.
    pub(crate) fn parts(&self) -> Result<(Db<'_>, &Session)> {
        let session = self.session.as_ref().ok_or(Error::Locked)?;
        Ok((self.db(), session))
    }

    /// `parts`, checking once that the user's role has `permission`.
    pub(crate) fn parts_as(&self, permission: Permission) -> Result<(Db<'_>, &Session)> {
        let (db, session) = self.parts()?;
        Ok((db, session.require(permission)?))
    }

    /// `parts_as` for a feature that changes the session (its member keys and index).
    fn parts_mut_as(&mut self, permission: Permission) -> Result<(Db<'_>, &mut Session)> {
        let session = self.session.as_mut().ok_or(Error::Locked)?;
        session.require(permission)?;
        let db = Db {
            conn: &self.conn,
            store_id: &self.store_id,
            store_kid: self.store_kid,
        };
        Ok((db, session))
    }

    pub(crate) fn db(&self) -> Db<'_> {
        Db {
            conn: &self.conn,
            store_id: &self.store_id,
            store_kid: self.store_kid,
        }
    }

    // ---- clubs --------------------------------------------------------------------------

    pub fn add_club(&mut self, input: &ClubInput) -> Result<Club> {
        let (db, s) = self.parts_as(Permission::WriteRecords)?;
        clubs::add(db, s, input)
    }

    pub fn update_club(&mut self, id: &str, input: &ClubInput) -> Result<Club> {
        let (db, s) = self.parts_as(Permission::WriteRecords)?;
        clubs::update(db, s, id, input)
    }

    pub fn club(&self, id: &str) -> Result<Club> {
        let (db, s) = self.parts_as(Permission::ReadRecords)?;
        clubs::get(db, s, id)
    }

    /// All clubs on this phone, in Vietnamese order of their names.
    pub fn clubs(&self) -> Result<Vec<Club>> {
        let (db, s) = self.parts_as(Permission::ReadRecords)?;
        clubs::all(db, s)
    }

    // ---- members ------------------------------------------------------------------------

    /// Adds a member with a key of their own (for crypto-shredding one member later).
    pub fn add_member(&mut self, club_id: &str, input: &MemberInput) -> Result<Member> {
        members::one(self.add_members(club_id, std::slice::from_ref(input))?)
    }

    /// Adds members in one transaction: one fsync for the batch, each member still with her own
    /// key and her own trail entry. All go in, or (on any invalid input or error) none does.
    pub fn add_members(&mut self, club_id: &str, inputs: &[MemberInput]) -> Result<Vec<Member>> {
        self.add_members_with_progress(club_id, inputs, &mut |_| {})
    }

    /// [`Store::add_members`], calling `progress` with the count written so far (the commit,
    /// one fsync, follows the last).
    pub fn add_members_with_progress(
        &mut self,
        club_id: &str,
        inputs: &[MemberInput],
        progress: &mut dyn FnMut(usize),
    ) -> Result<Vec<Member>> {
        let (db, s) = self.parts_mut_as(Permission::WriteRecords)?;
        members::add(db, s, club_id, inputs, progress)
    }

    /// What importing `table` into a club would do: rows ready, likely duplicates of members
    /// already here (same folded name, birth year and village) or of earlier rows, and rows
    /// refused with their line and reason. Writes nothing. The outer error is the store's (locked,
    /// not allowed, no such club); the inner one says why the file as a whole cannot be read.
    pub fn plan_member_import(
        &self,
        club_id: &str,
        table: &import::Table,
        options: &import::ImportOptions,
    ) -> Result<std::result::Result<import::ImportPlan, import::ImportError>> {
        let (db, s) = self.parts_as(Permission::WriteRecords)?;
        members::plan_import(db, s, club_id, table, options)
    }

    /// Writes a plan's rows (see [`import::ImportPlan::to_add`]) in one transaction.
    pub fn import_members(
        &mut self,
        club_id: &str,
        plan: &import::ImportPlan,
        allow_duplicates: bool,
    ) -> Result<Vec<Member>> {
        let (db, s) = self.parts_mut_as(Permission::WriteRecords)?;
        members::import(db, s, club_id, plan, allow_duplicates)
    }

    pub fn update_member(&mut self, id: &str, input: &MemberInput) -> Result<Member> {
        let (db, s) = self.parts_mut_as(Permission::WriteRecords)?;
        members::update(db, s, id, input)
    }

    /// An edit in one step, for a form that changes some values and keeps the rest (the CLI's
    /// `member edit`): the member as this user may see her (as `member` shows her) goes to
    /// `change`, then is written back by `update_member`. The trail gets the update alone: the
    /// read only fed the write. When `change` or the write refuses, nothing is written and the
    /// read is noted instead.
    pub fn edit_member<E: From<Error>>(
        &mut self,
        id: &str,
        change: impl FnOnce(&mut MemberInput) -> Result<(), E>,
    ) -> Result<Member, E> {
        self.edit(
            RecordKind::Member,
            id,
            |s| {
                let (db, session) = s.parts()?;
                Ok(members::as_shown(db, session, id)?.info)
            },
            change,
            |s, info| s.update_member(id, info),
        )
    }

    /// `edit_member` for a meeting (`update_meeting`).
    pub fn edit_meeting<E: From<Error>>(
        &mut self,
        id: &str,
        change: impl FnOnce(&mut MeetingInput) -> Result<(), E>,
    ) -> Result<Meeting, E> {
        self.edit(
            RecordKind::Meeting,
            id,
            |s| {
                let (db, session) = s.parts()?;
                Ok(meetings::load(db, session, id)?.info)
            },
            change,
            |s, info| s.update_meeting(id, info),
        )
    }

    /// `edit_member` for a referral (`update_referral`: drafts only).
    pub fn edit_referral<E: From<Error>>(
        &mut self,
        id: &str,
        change: impl FnOnce(&mut ReferralInput) -> Result<(), E>,
    ) -> Result<Referral, E> {
        self.edit(
            RecordKind::Referral,
            id,
            |s| {
                let (db, session) = s.parts()?;
                Ok(referrals::load(db, session, id)?.info)
            },
            change,
            |s, info| s.update_referral(id, info),
        )
    }

    /// Read, change, write, with one trail entry: the write's, or the read's if none is written.
    fn edit<I, R, E: From<Error>>(
        &mut self,
        kind: RecordKind,
        id: &str,
        read: impl FnOnce(&Self) -> Result<I>,
        change: impl FnOnce(&mut I) -> Result<(), E>,
        write: impl FnOnce(&mut Self, &I) -> Result<R>,
    ) -> Result<R, E> {
        // Refused before anything is read: an edit is no way to read without a trace.
        self.require(Permission::WriteRecords)?;
        let mut info = read(self)?;
        let outcome = change(&mut info).and_then(|()| write(self, &info).map_err(E::from));
        if outcome.is_err() {
            let (db, s) = self.parts()?;
            db.note_read(s, kind, id, Vec::new())?;
        }
        outcome
    }

    /// One member's full record. Survivor status is withheld from roles that may not read it.
    /// The read is noted in the audit trail.
    pub fn member(&self, id: &str) -> Result<Member> {
        let (db, s) = self.parts()?;
        let member = members::as_shown(db, s, id)?;
        db.note_read(s, RecordKind::Member, id, Vec::new())?;
        Ok(member)
    }

    /// A member with her consents, livelihood support and referrals: the member screen.
    pub fn member_detail(&self, id: &str) -> Result<MemberDetail> {
        let (db, s) = self.parts()?;
        let detail = MemberDetail {
            member: members::as_shown(db, s, id)?,
            consents: consent::load_for(db, s, id)?,
            livelihood: livelihood::load_for(db, s, id)?,
            referrals: referrals::load_for(db, s, id)?,
        };
        // One entry for the whole screen, naming what it showed besides her record.
        let shown = ["consents", "livelihood", "referrals"].map(String::from);
        db.note_read(s, RecordKind::Member, id, shown.to_vec())?;
        Ok(detail)
    }

    /// Search by name ignoring case and diacritics, filtered by club, village and ethnic group,
    /// in Vietnamese name order. Lists never show survivor status.
    pub fn search_members(&self, filter: &MemberFilter) -> Result<Vec<MemberSummary>> {
        Ok(self.session()?.index.search(filter))
    }

    /// A club's member list, in Vietnamese name order.
    pub fn list_members(&self, club_id: &str) -> Result<Vec<MemberSummary>> {
        self.search_members(&MemberFilter {
            club_id: Some(club_id.to_owned()),
            ..MemberFilter::default()
        })
    }

    pub fn member_count(&self) -> Result<usize> {
        Ok(self.session()?.index.len())
    }

    /// A club's members for a file. With names (and phones of those who may be contacted) only
    /// for a role that may take the store's data off the phone (the leader: like a backup, the
    /// Safety permission); otherwise de-identified. Noted in the trail as an export.
    pub fn export_members(&self, club_id: &str, with_names: bool) -> Result<import::MemberExport> {
        let (db, s) = self.parts_as(Permission::ReadRecords)?;
        if with_names {
            s.require(Permission::Safety)?;
        }
        members::export(db, s, club_id, with_names)
    }

    // ---- reports ------------------------------------------------------------------------

    /// The monthly report of one club (see `report` for what is counted and how small counts
    /// are protected). Any role that reads records may make it; it is noted in the audit
    /// trail as an export of the club.
    pub fn monthly_report(&self, club_id: &str, year: i32, month: u32) -> Result<MonthlyReport> {
        let (db, s) = self.parts_as(Permission::ReadRecords)?;
        if NaiveDate::from_ymd_opt(year, month, 1).is_none() || !(2000..=9999).contains(&year) {
            return invalid("month", Reason::BadDate);
        }
        report::monthly(db, s, club_id, year, month)
    }

    // ---- the audit trail ----------------------------------------------------------------

    /// Verifies the whole trail: every entry's MAC in order, the head, and every stored
    /// checkpoint against the device's key and the entry it names.
    pub fn verify_audit(&self) -> Result<i64> {
        let (db, s) = self.parts_as(Permission::ReadAudit)?;
        trail::verify(db, s).map_err(Error::AuditBroken)
    }

    /// The trail, oldest first.
    pub fn audit_entries(&self) -> Result<Vec<AuditEntry>> {
        let (db, s) = self.parts_as(Permission::ReadAudit)?;
        Ok(trail::load(db, s)?.into_iter().map(|(e, _)| e).collect())
    }

    pub fn device_id(&self) -> Result<String> {
        Ok(self.session()?.device_id.clone())
    }

    /// The device's Ed25519 public key: what checkpoints and exports are verified with. Taken
    /// from the sealed signing key (so it needs an unlocked store), never trusted from the
    /// plaintext copy in `meta`: that copy, if someone replaced it, is reported as tampering.
    pub fn device_public_key(&self) -> Result<Vec<u8>> {
        let (db, s) = self.parts()?;
        trail::device_public_key(db, s)
    }

    /// Signs the current head (after noting the checkpoint itself in the trail) and keeps it.
    /// The sync sends it to the province, which keeps it, so a log cut later is caught there.
    pub fn create_checkpoint(&mut self) -> Result<Checkpoint> {
        let (db, s) = self.parts_as(Permission::Sync)?;
        trail::create_checkpoint(db, s)
    }

    /// The signed checkpoints kept in the store, oldest first: part of the trail, so read with
    /// the same permission.
    pub fn checkpoints(&self) -> Result<Vec<Checkpoint>> {
        let (db, s) = self.parts_as(Permission::ReadAudit)?;
        trail::checkpoints(db, s)
    }

    /// An auditor's note on any record.
    pub fn annotate(
        &mut self,
        kind: RecordKind,
        record_id: &str,
        note: &str,
    ) -> Result<Annotation> {
        let (db, s) = self.parts_as(Permission::Annotate)?;
        trail::annotate(db, s, kind, record_id, note)
    }

    pub fn annotations(&self, kind: RecordKind, record_id: &str) -> Result<Vec<Annotation>> {
        let (db, s) = self.parts_as(Permission::ReadRecords)?;
        trail::annotations(db, s, kind, record_id)
    }

    /// The field-audit view: what a visiting officer checks first.
    pub fn audit_findings(&self, thresholds: &OverdueThresholds) -> Result<AuditFindings> {
        let (db, s) = self.parts_as(Permission::ReadAudit)?;
        trail::findings(db, s, thresholds)
    }

    /// The audit export: a signed JSON file a laptop verifies offline with the device's public
    /// key, and the same entries as CSV for reading. The export is itself noted in the trail.
    pub fn export_audit(&mut self) -> Result<AuditExport> {
        let (db, s) = self.parts_as(Permission::ExportAudit)?;
        trail::export(db, s)
    }

    // ---- sync with the province -----------------------------------------------------------

    /// How long one request may take (default 30 s); slow lines may need more. Not persisted.
    pub fn set_request_timeout(&mut self, timeout: std::time::Duration) {
        self.request_timeout = timeout;
    }

    pub fn enrollment_info(&self) -> Result<Option<EnrollmentInfo>> {
        let (db, s) = self.parts_as(Permission::ReadRecords)?;
        sync::enrollment_info(db, s)
    }

    /// Enrolls this phone with the province using a one-time code, pinning the province's keys
    /// (and the server's certificate when it is self-signed). Safe to retry with the same code.
    /// Pointing an enrolled phone at another server, other province keys or another
    /// certificate is a leader's decision (`Permission::Safety`): every later referral would be
    /// sealed to those keys, or readable by whoever holds that certificate.
    pub fn enroll(
        &mut self,
        server_url: &str,
        code: &str,
        server_certificate: Option<&str>,
    ) -> Result<EnrollmentInfo> {
        self.enroll_expecting(server_url, code, server_certificate, None)
    }

    /// [`Store::enroll`], also comparing the province's key fingerprint with
    /// `expected_fingerprint` (printed beside the code) when the leader has it: on a mismatch
    /// nothing is pinned and the error names `province_fingerprint`. Case, spaces and dashes
    /// do not matter.
    pub fn enroll_expecting(
        &mut self,
        server_url: &str,
        code: &str,
        server_certificate: Option<&str>,
        expected_fingerprint: Option<&str>,
    ) -> Result<EnrollmentInfo> {
        let timeout = self.request_timeout;
        let (db, s) = self.parts_as(Permission::Sync)?;
        sync::enroll(
            db,
            s,
            timeout,
            server_url,
            code,
            server_certificate,
            expected_fingerprint,
        )
    }

    /// Ready -> queued: builds the payload from the consented fields only, signs and seals it to
    /// the province once, and puts it in the outbox.
    pub fn queue_referral(&mut self, id: &str) -> Result<()> {
        let (db, s) = self.parts_as(Permission::Sync)?;
        sync::queue_referral(db, s, id)
    }

    /// The outbox, oldest first: what is waiting, sent, or refused.
    pub fn outbox(&self) -> Result<Vec<OutboxItem>> {
        let (db, _) = self.parts_as(Permission::ReadRecords)?;
        sync::outbox(db)
    }

    /// Pulls the province's answers, sends what is due in the outbox (everything pending when
    /// `send_all_now`, the user's "send now"), and sends an audit checkpoint. The outbox waits
    /// when this phone's trail does not verify or does not extend the province's latest
    /// checkpoint of it (`trail_broken`, `trail_mismatch`). Nothing is ever dropped: a network
    /// failure leaves every item queued with its next try.
    pub fn sync(
        &mut self,
        send_all_now: bool,
        progress: &mut dyn FnMut(SyncProgress),
    ) -> Result<SyncReport> {
        let timeout = self.request_timeout;
        let (db, s) = self.parts_as(Permission::Sync)?;
        sync::sync(db, s, timeout, send_all_now, progress)
    }

    // ---- consent ------------------------------------------------------------------------

    pub fn add_consent(&mut self, input: &ConsentInput) -> Result<Consent> {
        let (db, s) = self.parts_as(Permission::WriteRecords)?;
        consent::add(db, s, input)
    }

    /// One consent (noted in the trail as a read).
    pub fn consent(&self, id: &str) -> Result<Consent> {
        let (db, s) = self.parts()?;
        let consent = consent::load(db, s, id)?;
        db.note_read(s, RecordKind::Consent, id, Vec::new())?;
        Ok(consent)
    }

    /// A member's consents, oldest first; noted as a read of her that showed them.
    pub fn consents_for(&self, member_id: &str) -> Result<Vec<Consent>> {
        let (db, s) = self.parts()?;
        let list = consent::load_for(db, s, member_id)?;
        db.note_read(
            s,
            RecordKind::Member,
            member_id,
            vec!["consents".to_owned()],
        )?;
        Ok(list)
    }

    /// Withdraws consent. Every referral that relied on it and is not finished stops.
    pub fn withdraw_consent(&mut self, id: &str, on: NaiveDate) -> Result<Consent> {
        let (db, s) = self.parts_as(Permission::WriteRecords)?;
        let consent = consent::withdraw(db, s, id, on)?;
        referrals::stop_for_withdrawn(db, s, &consent)?;
        Ok(consent)
    }

    // ---- meetings -----------------------------------------------------------------------

    pub fn record_meeting(&mut self, input: &MeetingInput) -> Result<Meeting> {
        let (db, s) = self.parts_as(Permission::WriteRecords)?;
        meetings::record(db, s, input)
    }

    pub fn update_meeting(&mut self, id: &str, input: &MeetingInput) -> Result<Meeting> {
        let (db, s) = self.parts_as(Permission::WriteRecords)?;
        meetings::update(db, s, id, input)
    }

    /// One meeting with its notes; the read is noted in the audit trail.
    pub fn meeting(&self, id: &str) -> Result<Meeting> {
        let (db, s) = self.parts()?;
        let meeting = meetings::load(db, s, id)?;
        db.note_read(s, RecordKind::Meeting, id, Vec::new())?;
        Ok(meeting)
    }

    /// A club's meetings, newest first, with their notes and attendance; noted in the trail.
    pub fn meetings(&self, club_id: &str) -> Result<Vec<Meeting>> {
        let (db, s) = self.parts()?;
        let meetings = meetings::of_club(db, s, club_id)?;
        // Every meeting's notes and attendance in one read: noted as such, on the club.
        db.note_read(s, RecordKind::Club, club_id, vec!["meetings".into()])?;
        Ok(meetings)
    }

    // ---- livelihood support -------------------------------------------------------------

    pub fn add_livelihood(&mut self, input: &LivelihoodInput) -> Result<Livelihood> {
        let (db, s) = self.parts_as(Permission::WriteRecords)?;
        livelihood::add(db, s, input)
    }

    /// Adds a follow-up outcome (income, still working, needs more help) to a support record.
    pub fn add_livelihood_follow_up(
        &mut self,
        id: &str,
        follow_up: &SupportFollowUp,
    ) -> Result<Livelihood> {
        let (db, s) = self.parts_as(Permission::WriteRecords)?;
        livelihood::add_follow_up(db, s, id, follow_up)
    }

    /// A member's livelihood support, oldest first; noted as a read of her that showed it.
    pub fn livelihood_for(&self, member_id: &str) -> Result<Vec<Livelihood>> {
        let (db, s) = self.parts()?;
        let list = livelihood::load_for(db, s, member_id)?;
        db.note_read(
            s,
            RecordKind::Member,
            member_id,
            vec!["livelihood".to_owned()],
        )?;
        Ok(list)
    }

    // ---- referrals ----------------------------------------------------------------------

    /// Creates a referral as a draft. It becomes ready only with consent that covers it.
    pub fn create_referral(&mut self, input: &ReferralInput) -> Result<Referral> {
        let (db, s) = self.parts_as(Permission::WriteRecords)?;
        referrals::create(db, s, input)
    }

    /// Edits a draft referral.
    pub fn update_referral(&mut self, id: &str, input: &ReferralInput) -> Result<Referral> {
        let (db, s) = self.parts_as(Permission::WriteRecords)?;
        referrals::update(db, s, id, input)
    }

    /// Draft -> ready: checks that the referral's consent covers its services, recipient and
    /// every field it will share.
    pub fn mark_referral_ready(&mut self, id: &str) -> Result<Referral> {
        let (db, s) = self.parts_as(Permission::WriteRecords)?;
        referrals::mark_ready(db, s, id)
    }

    /// The sender withdraws the referral; allowed at any stage before it is finished.
    pub fn withdraw_referral(&mut self, id: &str, note: &str) -> Result<Referral> {
        let (db, s) = self.parts_as(Permission::WriteRecords)?;
        referrals::move_to(db, s, id, ReferralState::Withdrawn, note)
    }

    /// One referral; the read is noted in the audit trail.
    pub fn referral(&self, id: &str) -> Result<Referral> {
        let (db, s) = self.parts()?;
        let referral = referrals::load(db, s, id)?;
        db.note_read(s, RecordKind::Referral, id, Vec::new())?;
        Ok(referral)
    }

    /// A member's referrals, oldest first; noted as a read of her that showed them.
    pub fn referrals_for(&self, member_id: &str) -> Result<Vec<Referral>> {
        let (db, s) = self.parts()?;
        let list = referrals::load_for(db, s, member_id)?;
        db.note_read(
            s,
            RecordKind::Member,
            member_id,
            vec!["referrals".to_owned()],
        )?;
        Ok(list)
    }
}
