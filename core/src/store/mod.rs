//! The encrypted offline store: one SQLite file, every personal field sealed. `Store` is the
//! facade: it owns the connection and the unlocked session, checks the user's role once, and
//! hands each call to the feature module that owns its rules and SQL (core/ARCHITECTURE.md).
//! Unlocking, the users and what replaces the store itself (wipe, decoy, restore) are in the
//! submodules.

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
use crate::import;
use crate::index::MemberFilter;
use crate::keys::{self, DeviceSecret, KdfParams};
use crate::ledger;
use crate::report::{self, MonthlyReport};
use crate::schema;
use crate::session::Session;
use crate::slots;
use crate::sync::{self, EnrollmentInfo, OutboxItem, SyncProgress, SyncReport};
use crate::trail::{self, Annotation, AuditExport, AuditFindings, Checkpoint, OverdueThresholds};
use crate::{clubs, consent, livelihood, meetings, members, referrals};

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
