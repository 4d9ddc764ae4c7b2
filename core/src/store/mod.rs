//! The encrypted offline store: one SQLite file, every personal field sealed. `Store` is the
//! facade: it owns the connection and the unlocked session, checks the user's role once, and
//! hands each call to the feature module that owns its rules and SQL (core/ARCHITECTURE.md).
//! Unlocking, the users and what replaces the store itself (wipe, decoy, restore) are in the
//! submodules.

mod records;
mod safety;
mod unlock;
mod users;

pub use crate::slots::{NewUser, UserInfo};

use std::path::{Path, PathBuf};
use std::sync::Arc;

use chrono::NaiveDate;
use rusqlite::{Connection, OpenFlags, OptionalExtension, TransactionBehavior, params};

use crate::access::{Permission, UserRole};
use crate::audit::AuditEntry;
use crate::crypto::{self, KeyId, SecretKey, key_id_of};
use crate::db::{
    CANARY, Db, canary_place, new_id, not_a_store, note_record_versions, now_text, open_pragmas,
    restrict_permissions,
};
use crate::domain::*;
use crate::error::{Damaged, Error, Reason, RecordKind, Result, invalid};
use crate::keys::{self, DeviceSecret, KdfParams};
use crate::ledger;
use crate::report::{self, MonthlyReport};
use crate::schema;
use crate::session::Session;
use crate::slots;
use crate::sync::{self, EnrollmentInfo, OutboxItem, SyncProgress, SyncReport};
use crate::trail::{self, Annotation, AuditExport, AuditFindings, Checkpoint, OverdueThresholds};

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
            slots::write_user(
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
        store.keep_duress_slot()?;
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
        store: Store,
        user_id: Id,
        role: UserRole,
        store_key: SecretKey,
    ) -> Result<Store> {
        let store = Store::begun(store, user_id, role, store_key)?;
        note_record_versions(&store.conn, &store.store_id, store.session()?)?;
        Ok(store)
    }

    /// `started` without its first entry (the decoy writes its own, dated as its trail).
    pub(crate) fn begun(
        mut store: Store,
        user_id: Id,
        role: UserRole,
        store_key: SecretKey,
    ) -> Result<Store> {
        store.start_session(user_id, role, store_key)?;
        ledger::start(&store.conn, &store.store_id, store.session()?)?;
        Ok(store)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn store_id(&self) -> &str {
        &self.store_id
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

    /// Drops every key and the member index from memory, and folds the WAL into the main file
    /// (truncating it) so that superseded sealed pages do not linger there.
    pub fn lock(&mut self) {
        // Best effort: the decoy was refreshed at unlock already; this catches today's changes.
        let _ = self.refresh_decoy();
        // Best effort too: without it the next unlock opens every member, as after a kill.
        if let Some(session) = &self.session {
            let _ = crate::snapshot::save(&self.conn, self.store_kid, session);
        }
        self.session = None;
        // Best effort: a reader elsewhere can make the checkpoint partial; the next one finishes.
        let _ = self.checkpoint();
    }

    fn checkpoint(&self) -> Result<()> {
        self.conn
            .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))?;
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
}
