//! The Kotlin API of Chung Tay: thin uniffi objects over `chungtay-core`.
//!
//! Records, enums and the public error are the core's own types (derived under its `uniffi`
//! feature); this crate only adds the objects the app holds and the device-key interface that
//! Kotlin implements. Every call is blocking: call it off the main thread.

use std::cell::Cell;
use std::sync::{Arc, Mutex};

use chrono::NaiveDate;
use zeroize::Zeroizing;

use chungtay_core::{
    Annotation, AuditEntry, AuditExport, AuditFindings, Checkpoint, ChungTayError, Club, ClubInput,
    Consent, ConsentInput, Damaged, DeviceSecretError, KdfParams, Livelihood, LivelihoodInput,
    Meeting, MeetingInput, Member, MemberDetail, MemberFilter, MemberInput, MemberPage, MemberRow,
    MemberSummary, NewUser, OverdueThresholds, Permission, RecordKind, Referral, ReferralInput,
    Store, SupportFollowUp, UserInfo, UserRole,
    safety::RecoverySetup,
    sync::{EnrollmentInfo, OutboxItem, SyncReport},
};

uniffi::setup_scaffolding!();

// Dates cross as ISO text; the conversion lives in the core, where the records use it.
uniffi::use_remote_type!(chungtay_core::NaiveDate);

type Result<T> = std::result::Result<T, ChungTayError>;

/// The phone's secret for the store, implemented by the app: on Android an HMAC-SHA256 key in
/// the Android Keystore that cannot be exported. `prf` returns HMAC(key, input). Throw
/// `DeviceKeyException.Missing` when the key is gone, `Failed` for anything that may pass.
#[uniffi::export(with_foreign)]
pub trait DeviceKey: Send + Sync {
    fn prf(&self, input: Vec<u8>) -> std::result::Result<Vec<u8>, DeviceKeyError>;

    /// Deletes the key for good and makes a new one (a wipe or the duress PIN calls this).
    fn rotate(&self) -> std::result::Result<(), DeviceKeyError>;
}

/// What the app's `DeviceKey` throws. Declared here rather than in the core because uniffi's
/// Kotlin callback code cannot lower an error type from another crate's package.
#[derive(Debug, thiserror::Error, uniffi::Error)]
pub enum DeviceKeyError {
    #[error("the device key is missing")]
    Missing,
    #[error("the device keystore failed: {detail}")]
    Failed { detail: String },
}

/// Any other exception from the app's keystore code is a keystore failure, not a crash.
impl From<uniffi::UnexpectedUniFFICallbackError> for DeviceKeyError {
    fn from(e: uniffi::UnexpectedUniFFICallbackError) -> Self {
        DeviceKeyError::Failed { detail: e.reason }
    }
}

/// Sync progress for the UI ("sending 3 of 12"); called on the syncing thread, inside the
/// store's call: it must not call the store (that throws `ChungTayException.CalledFromCallback`). Whatever
/// it throws is ignored: the sync goes on and writes its audit entry.
#[uniffi::export(with_foreign)]
pub trait SyncListener: Send + Sync {
    fn progress(&self, done: i64, total: i64) -> std::result::Result<(), SyncListenerError>;
}

/// What a `SyncListener` may throw; the sync ignores it. Returning a `Result` is what keeps a
/// Kotlin exception from becoming a Rust panic that would cut the sync off midway.
#[derive(Debug, thiserror::Error, uniffi::Error)]
pub enum SyncListenerError {
    #[error("the sync listener failed: {detail}")]
    Failed { detail: String },
}

impl From<uniffi::UnexpectedUniFFICallbackError> for SyncListenerError {
    fn from(e: uniffi::UnexpectedUniFFICallbackError) -> Self {
        SyncListenerError::Failed { detail: e.reason }
    }
}

/// Adapts the Kotlin implementation to the core's trait.
struct HostDevice(Arc<dyn DeviceKey>);

impl chungtay_core::DeviceSecret for HostDevice {
    fn prf(&self, input: &[u8]) -> std::result::Result<Vec<u8>, DeviceSecretError> {
        self.0.prf(input.to_vec()).map_err(device_error)
    }

    fn rotate(&self) -> std::result::Result<(), DeviceSecretError> {
        self.0.rotate().map_err(device_error)
    }
}

fn device_error(e: DeviceKeyError) -> DeviceSecretError {
    match e {
        DeviceKeyError::Missing => DeviceSecretError::Missing,
        DeviceKeyError::Failed { detail } => DeviceSecretError::Failed { detail },
    }
}

thread_local! {
    /// Set while this thread is inside a `ClubStore` call (a method holding the store's lock, or
    /// a constructor). The app's callbacks (`DeviceKey`, `SyncListener`) run on that same thread:
    /// a call from one of them back into the store would lock the mutex again and hang for ever,
    /// so any store call from a callback is refused instead.
    static IN_STORE_CALL: Cell<bool> = const { Cell::new(false) };
}

/// Marks this thread as inside a store call; dropping it (return, error or panic) clears the mark.
struct CallGuard(());

impl CallGuard {
    fn enter() -> Result<Self> {
        if IN_STORE_CALL.with(|c| c.replace(true)) {
            // The outer call's guard still owns the mark and clears it.
            return Err(ChungTayError::CalledFromCallback);
        }
        Ok(CallGuard(()))
    }
}

impl Drop for CallGuard {
    fn drop(&mut self) {
        IN_STORE_CALL.with(|c| c.set(false));
    }
}

/// One club store on the phone. Thread-safe: calls from several threads are serialised.
/// Kotlin's `close()` (or `use { }`) frees it, locking it and dropping every key; a call after
/// that throws `IllegalStateException`, never crashes.
#[derive(uniffi::Object)]
pub struct ClubStore {
    inner: Mutex<Store>,
}

impl ClubStore {
    fn with<T>(&self, f: impl FnOnce(&mut Store) -> chungtay_core::Result<T>) -> Result<T> {
        // Before the lock: a callback re-entering on this thread gets an error, not a deadlock.
        let _guard = CallGuard::enter()?;
        // A panic inside a call poisons the lock; the store itself stays consistent (SQLite
        // transactions), so later calls may go on.
        let mut store = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        f(&mut store).map_err(ChungTayError::from)
    }

    fn wrap(store: Store) -> Arc<Self> {
        Arc::new(ClubStore {
            inner: Mutex::new(store),
        })
    }
}

#[uniffi::export]
impl ClubStore {
    /// Creates a new store at `path`, unlocked as its first user (the club leader). `kdf` is
    /// the PIN's Argon2 cost: `calibrateKdf(...)` on the phone (once, at setup); later PINs on
    /// this store reuse the cost of the unlocked user's PIN.
    #[uniffi::constructor]
    pub fn create(
        path: String,
        device: Arc<dyn DeviceKey>,
        display_name: String,
        pin: String,
        kdf: KdfParams,
    ) -> Result<Arc<Self>> {
        // Cleared when this returns: Rust's copy of the PIN does not outlive the call.
        let pin = Zeroizing::new(pin);
        let _guard = CallGuard::enter()?;
        let store = Store::create(
            path.as_ref(),
            Arc::new(HostDevice(device)),
            NewUser::new(&display_name, UserRole::Leader, &pin),
            kdf,
        )?;
        Ok(Self::wrap(store))
    }

    /// Opens an existing store, locked.
    #[uniffi::constructor]
    pub fn open(path: String, device: Arc<dyn DeviceKey>) -> Result<Arc<Self>> {
        let _guard = CallGuard::enter()?;
        let store = Store::open(path.as_ref(), Arc::new(HostDevice(device)))?;
        Ok(Self::wrap(store))
    }

    /// Restores a backup onto this phone, for the leader with a new PIN (scenario 5).
    /// A wrong secret or a damaged file throws and leaves nothing behind. `kdf` as in `create`.
    #[uniffi::constructor]
    pub fn restore(
        backup: Vec<u8>,
        recovery_secret: String,
        path: String,
        device: Arc<dyn DeviceKey>,
        new_pin: String,
        kdf: KdfParams,
    ) -> Result<Arc<Self>> {
        let recovery_secret = Zeroizing::new(recovery_secret);
        let new_pin = Zeroizing::new(new_pin);
        let _guard = CallGuard::enter()?;
        let store = Store::restore(
            &backup,
            &recovery_secret,
            path.as_ref(),
            Arc::new(HostDevice(device)),
            &new_pin,
            kdf,
        )?;
        Ok(Self::wrap(store))
    }

    /// The unlock screen's list: ids and roles only.
    pub fn users(&self) -> Result<Vec<UserInfo>> {
        self.with(|s| s.users())
    }

    pub fn unlock(&self, user_id: String, pin: String) -> Result<()> {
        let pin = Zeroizing::new(pin);
        self.with(|s| s.unlock(&user_id, &pin))
    }

    pub fn lock(&self) -> Result<()> {
        self.with(|s| {
            s.lock();
            Ok(())
        })
    }

    pub fn is_unlocked(&self) -> Result<bool> {
        self.with(|s| Ok(s.is_unlocked()))
    }

    pub fn current_user(&self) -> Result<UserInfo> {
        self.with(|s| s.current_user())
    }

    /// The new user's PIN gets the Argon2 cost of the leader's (calibrated on this phone).
    /// `current_pin`: the leader's own PIN, checked like one at the unlock screen (a wrong one
    /// counts, waits and wipes): the new PIN is compared with the duress PIN.
    pub fn add_user(
        &self,
        current_pin: String,
        display_name: String,
        role: UserRole,
        pin: String,
    ) -> Result<UserInfo> {
        let current_pin = Zeroizing::new(current_pin);
        let pin = Zeroizing::new(pin);
        self.with(|s| {
            let kdf = s.kdf_params()?;
            s.add_user(&current_pin, NewUser::new(&display_name, role, &pin), kdf)
        })
    }

    /// The old PIN counts as a PIN try (a wrong one waits and wipes like at the unlock screen).
    pub fn change_pin(&self, old_pin: String, new_pin: String) -> Result<()> {
        let old_pin = Zeroizing::new(old_pin);
        let new_pin = Zeroizing::new(new_pin);
        self.with(|s| {
            let kdf = s.kdf_params()?;
            s.change_pin(&old_pin, &new_pin, kdf)
        })
    }

    /// Sets a new PIN for another user who forgot hers (leader only; her own PIN a leader
    /// changes with `changePin`). `current_pin`: the leader's own PIN, checked like one at the
    /// unlock screen (a wrong one counts, waits and wipes), as for `addUser`. The new PIN gets
    /// the Argon2 cost of the leader's. Her old PIN is never asked and opens nothing after.
    pub fn reset_pin(&self, current_pin: String, user_id: String, new_pin: String) -> Result<()> {
        let current_pin = Zeroizing::new(current_pin);
        let new_pin = Zeroizing::new(new_pin);
        self.with(|s| {
            let kdf = s.kdf_params()?;
            s.reset_pin(&current_pin, &user_id, &new_pin, kdf)
        })
    }

    /// Removes another user (leader only; never herself, never the last leader): her key slot
    /// is deleted, so her PIN opens nothing; her entries stay in the trail.
    pub fn remove_user(&self, user_id: String) -> Result<()> {
        self.with(|s| s.remove_user(&user_id))
    }

    /// Records that failed their integrity check (shown to the user as damaged).
    pub fn damaged_records(&self) -> Result<Vec<Damaged>> {
        self.with(|s| s.damaged_records())
    }

    pub fn add_club(&self, input: ClubInput) -> Result<Club> {
        self.with(|s| s.add_club(&input))
    }

    pub fn update_club(&self, id: String, input: ClubInput) -> Result<Club> {
        self.with(|s| s.update_club(&id, &input))
    }

    pub fn clubs(&self) -> Result<Vec<Club>> {
        self.with(|s| s.clubs())
    }

    /// One club.
    pub fn club(&self, id: String) -> Result<Club> {
        self.with(|s| s.club(&id))
    }

    pub fn add_member(&self, club_id: String, input: MemberInput) -> Result<Member> {
        self.with(|s| s.add_member(&club_id, &input))
    }

    pub fn update_member(&self, id: String, input: MemberInput) -> Result<Member> {
        self.with(|s| s.update_member(&id, &input))
    }

    /// One member's record (an edit form, say): survivor status withheld from roles that may
    /// not read it, no number for someone not to be contacted. Noted in the trail as a read.
    pub fn member(&self, id: String) -> Result<Member> {
        self.with(|s| s.member(&id))
    }

    /// How many members the store holds, all clubs together.
    pub fn member_count(&self) -> Result<i64> {
        self.with(|s| Ok(i64::try_from(s.member_count()?).unwrap_or(i64::MAX)))
    }

    /// The member list screen: summaries in Vietnamese name order, no survivor status.
    pub fn member_list(&self, club_id: String) -> Result<Vec<MemberSummary>> {
        self.with(|s| s.list_members(&club_id))
    }

    /// The same list as `member_list`, in columns (see `MemberColumns`): a long list crosses
    /// the FFI in a few large values instead of five strings a row. Kotlin reads it through
    /// `ClubStore.memberRows`, a `List<MemberSummary>` over the columns.
    pub fn member_columns(&self, club_id: String) -> Result<MemberColumns> {
        let filter = MemberFilter::club(&club_id);
        let mut columns = ColumnsBuilder::new(club_id);
        let mut misfit = false;
        self.with(|s| s.visit_members(&filter, |m| misfit |= columns.push(m).is_err()))?;
        if misfit {
            return Err(ChungTayError::Internal {
                detail: "a member list row does not fit the columns".into(),
            });
        }
        Ok(columns.columns)
    }

    /// Search ignoring case and diacritics ("nguyen" finds "Nguyễn"), with filters.
    pub fn search_members(&self, filter: MemberFilter) -> Result<Vec<MemberSummary>> {
        self.with(|s| s.search_members(&filter))
    }

    /// One page of a search for a list screen: the members from the `offset`-th, at most
    /// `limit`, in Vietnamese name order, and how many match in all.
    pub fn search_members_page(
        &self,
        filter: MemberFilter,
        offset: u64,
        limit: u64,
    ) -> Result<MemberPage> {
        let clamp = |n: u64| usize::try_from(n).unwrap_or(usize::MAX);
        self.with(|s| s.search_members_page(&filter, clamp(offset), clamp(limit)))
    }

    /// The villages of a club's members, each once, in Vietnamese order: the list screen's
    /// village filter.
    pub fn member_villages(&self, club_id: String) -> Result<Vec<String>> {
        self.with(|s| s.member_villages(&club_id))
    }

    /// The member screen: the member, her consents, livelihood support and referrals.
    pub fn member_detail(&self, id: String) -> Result<MemberDetail> {
        self.with(|s| s.member_detail(&id))
    }

    pub fn add_consent(&self, input: ConsentInput) -> Result<Consent> {
        self.with(|s| s.add_consent(&input))
    }

    /// `on` is an ISO date, "YYYY-MM-DD".
    pub fn consent(&self, id: String) -> Result<Consent> {
        self.with(|s| s.consent(&id))
    }

    /// A member's consents, oldest first, withdrawn ones included.
    pub fn consents_for(&self, member_id: String) -> Result<Vec<Consent>> {
        self.with(|s| s.consents_for(&member_id))
    }

    /// A member's livelihood support with its follow-ups.
    pub fn livelihood_for(&self, member_id: String) -> Result<Vec<Livelihood>> {
        self.with(|s| s.livelihood_for(&member_id))
    }

    /// A member's referrals.
    pub fn referrals_for(&self, member_id: String) -> Result<Vec<Referral>> {
        self.with(|s| s.referrals_for(&member_id))
    }

    pub fn withdraw_consent(&self, id: String, on: NaiveDate) -> Result<Consent> {
        self.with(|s| s.withdraw_consent(&id, on))
    }

    pub fn record_meeting(&self, input: MeetingInput) -> Result<Meeting> {
        self.with(|s| s.record_meeting(&input))
    }

    pub fn update_meeting(&self, id: String, input: MeetingInput) -> Result<Meeting> {
        self.with(|s| s.update_meeting(&id, &input))
    }

    /// A club's meetings, newest first.
    /// One meeting, to edit it.
    pub fn meeting(&self, id: String) -> Result<Meeting> {
        self.with(|s| s.meeting(&id))
    }

    pub fn meetings(&self, club_id: String) -> Result<Vec<Meeting>> {
        self.with(|s| s.meetings(&club_id))
    }

    pub fn add_livelihood(&self, input: LivelihoodInput) -> Result<Livelihood> {
        self.with(|s| s.add_livelihood(&input))
    }

    pub fn add_livelihood_follow_up(
        &self,
        id: String,
        follow_up: SupportFollowUp,
    ) -> Result<Livelihood> {
        self.with(|s| s.add_livelihood_follow_up(&id, &follow_up))
    }

    /// One referral with its history (the province's answers included).
    pub fn referral(&self, id: String) -> Result<Referral> {
        self.with(|s| s.referral(&id))
    }

    pub fn create_referral(&self, input: ReferralInput) -> Result<Referral> {
        self.with(|s| s.create_referral(&input))
    }

    pub fn update_referral(&self, id: String, input: ReferralInput) -> Result<Referral> {
        self.with(|s| s.update_referral(&id, &input))
    }

    /// Draft to ready: refused unless consent covers services, recipient and fields.
    pub fn mark_referral_ready(&self, id: String) -> Result<Referral> {
        self.with(|s| s.mark_referral_ready(&id))
    }

    pub fn withdraw_referral(&self, id: String, note: String) -> Result<Referral> {
        self.with(|s| s.withdraw_referral(&id, &note))
    }

    /// Whether the unlocked user's role may do this (docs/ROLES.md); the UI hides what it may not.
    pub fn may(&self, permission: Permission) -> Result<bool> {
        self.with(|s| Ok(s.may(permission)))
    }

    /// Checks the whole audit trail; returns the number of entries, or `AuditBroken`.
    pub fn verify_audit(&self) -> Result<i64> {
        self.with(|s| s.verify_audit())
    }

    pub fn audit_entries(&self) -> Result<Vec<AuditEntry>> {
        self.with(|s| s.audit_entries())
    }

    /// The field-audit screen in one call.
    pub fn audit_findings(&self, thresholds: OverdueThresholds) -> Result<AuditFindings> {
        self.with(|s| s.audit_findings(&thresholds))
    }

    pub fn annotate(
        &self,
        kind: RecordKind,
        record_id: String,
        text: String,
    ) -> Result<Annotation> {
        self.with(|s| s.annotate(kind, &record_id, &text))
    }

    pub fn annotations(&self, kind: RecordKind, record_id: String) -> Result<Vec<Annotation>> {
        self.with(|s| s.annotations(kind, &record_id))
    }

    /// The signed JSON and the CSV of the audit trail, for a laptop to verify offline.
    pub fn export_audit(&self) -> Result<AuditExport> {
        self.with(|s| s.export_audit())
    }

    pub fn create_checkpoint(&self) -> Result<Checkpoint> {
        self.with(|s| s.create_checkpoint())
    }

    /// The signed checkpoints kept on the phone (one per sync), oldest first; read with the
    /// trail's permission (leader, auditor). Verify one with `Checkpoint.verify` semantics on a
    /// laptop, or here with `verifyAudit`, which checks them all.
    pub fn checkpoints(&self) -> Result<Vec<Checkpoint>> {
        self.with(|s| s.checkpoints())
    }

    /// Wrong PINs left before the store wipes itself; works while locked.
    pub fn unlock_attempts_left(&self) -> Result<i64> {
        self.with(|s| s.unlock_attempts_left())
    }

    pub fn set_wipe_after(&self, tries: i64) -> Result<()> {
        self.with(|s| s.set_wipe_after(tries))
    }

    /// The duress PIN: typed at unlock, it destroys the real data and opens a decoy.
    /// `current_pin`: the leader's own PIN, checked like one at the unlock screen (a wrong one
    /// counts, waits and wipes); a duress PIN equal to any user's PIN is refused (`Invalid`,
    /// field `duress_pin`) and counted as a try.
    pub fn set_duress_pin(&self, current_pin: String, pin: String) -> Result<()> {
        let current_pin = Zeroizing::new(current_pin);
        let pin = Zeroizing::new(pin);
        self.with(|s| s.set_duress_pin(&current_pin, &pin))
    }

    /// Erases one member beyond recovery; the audit trail keeps only that it happened.
    pub fn erase_member(&self, id: String) -> Result<()> {
        self.with(|s| s.erase_member(&id))
    }

    /// The number to call, or `DoNotContact` for someone who must not be contacted.
    pub fn contact_phone(&self, member_id: String) -> Result<String> {
        self.with(|s| s.contact_phone(&member_id))
    }

    /// Sets up the recovery secret; show it once, for the commune union to keep.
    pub fn setup_recovery(&self) -> Result<RecoverySetup> {
        self.with(|s| s.setup_recovery())
    }

    /// The encrypted backup file (everything, the audit trail included).
    pub fn create_backup(&self) -> Result<Vec<u8>> {
        self.with(|s| s.create_backup())
    }

    /// Enrolls the phone with the province (one-time code; safe to retry). `server_certificate`
    /// is the PEM of a self-signed server certificate to pin, or null for loopback tests.
    pub fn enroll(
        &self,
        server_url: String,
        code: String,
        server_certificate: Option<String>,
    ) -> Result<EnrollmentInfo> {
        self.with(|s| s.enroll(&server_url, &code, server_certificate.as_deref()))
    }

    /// Like `enroll`, refusing (error on `province_fingerprint`, nothing pinned) when the
    /// province's key fingerprint differs from `expected_fingerprint`, the one printed beside
    /// the code.
    pub fn enroll_expecting(
        &self,
        server_url: String,
        code: String,
        server_certificate: Option<String>,
        expected_fingerprint: String,
    ) -> Result<EnrollmentInfo> {
        self.with(|s| {
            s.enroll_expecting(
                &server_url,
                &code,
                server_certificate.as_deref(),
                Some(&expected_fingerprint),
            )
        })
    }

    pub fn enrollment_info(&self) -> Result<Option<EnrollmentInfo>> {
        self.with(|s| s.enrollment_info())
    }

    /// Ready to queued: seals the referral for the province and puts it in the outbox.
    pub fn queue_referral(&self, id: String) -> Result<()> {
        self.with(|s| s.queue_referral(&id))
    }

    pub fn outbox(&self) -> Result<Vec<OutboxItem>> {
        self.with(|s| s.outbox())
    }

    /// Sends what is due (everything pending with `send_all_now`, except what the server asked
    /// to wait), sends an audit checkpoint and pulls the province's answers. Blocks for the
    /// network: call it from a background thread; other calls on this store wait meanwhile.
    /// The listener must not call the store; what it throws is ignored.
    pub fn sync(
        &self,
        send_all_now: bool,
        listener: Option<Arc<dyn SyncListener>>,
    ) -> Result<SyncReport> {
        self.with(|s| {
            s.sync(send_all_now, &mut |p| {
                if let Some(l) = &listener {
                    // Only a progress display: its failure must not stop the sync.
                    let _ = l.progress(p.done, p.total);
                }
            })
        })
    }

    /// The monthly report of one club (`month` 1-12), small cells already suppressed, with its
    /// XLSX file to share. One call, so one audit entry per report made.
    pub fn monthly_report(&self, club_id: String, year: i32, month: i32) -> Result<ReportView> {
        let month = u32::try_from(month).unwrap_or(0);
        self.with(|s| {
            let report = s.monthly_report(&club_id, year, month)?;
            let xlsx = report.to_xlsx()?;
            Ok(ReportView::of(&report, xlsx))
        })
    }

    /// The device's Ed25519 public key, to verify its checkpoints and exports.
    pub fn device_public_key(&self) -> Result<Vec<u8>> {
        self.with(|s| s.device_public_key())
    }
}

/// A monthly report as a screen shows it: every count already as text (`12`, `<5`, `x`).
#[derive(uniffi::Record)]
pub struct ReportView {
    pub club_name: String,
    pub commune: String,
    pub province: String,
    /// `2026-11`
    pub month: String,
    pub meetings_held: i64,
    pub attendance: String,
    pub guests: String,
    pub tables: Vec<ReportTableView>,
    /// The same report as an XLSX workbook, for the share sheet.
    pub xlsx: Vec<u8>,
}

#[derive(uniffi::Record)]
pub struct ReportTableView {
    pub title_vi: String,
    pub title_en: String,
    pub rows: Vec<ReportRowView>,
    pub total: String,
    pub note_vi: Option<String>,
    pub note_en: Option<String>,
}

#[derive(uniffi::Record)]
pub struct ReportRowView {
    pub label_vi: String,
    pub label_en: String,
    pub count: String,
}

impl ReportView {
    fn of(r: &chungtay_core::report::MonthlyReport, xlsx: Vec<u8>) -> ReportView {
        ReportView {
            club_name: r.club_name.clone(),
            commune: r.commune.clone(),
            province: r.province.clone(),
            month: r.month_text(),
            meetings_held: i64::from(r.meetings_held),
            attendance: r.attendance.to_string(),
            guests: r.guests.to_string(),
            tables: r
                .tables()
                .iter()
                .map(|t| ReportTableView {
                    title_vi: t.title_vi.clone(),
                    title_en: t.title_en.clone(),
                    rows: t
                        .rows
                        .iter()
                        .map(|row| ReportRowView {
                            label_vi: row.label_vi.clone(),
                            label_en: row.label_en.clone(),
                            count: row.count.to_string(),
                        })
                        .collect(),
                    total: t.total.to_string(),
                    note_vi: t.note_vi.clone(),
                    note_en: t.note_en.clone(),
                })
                .collect(),
            xlsx,
        }
    }
}

/// The Argon2 cost for PINs on this phone: raises the passes from the minimum until one
/// derivation takes about `target_millis` here (capped at 10 passes; never below the minimum).
/// Call it once when the store is made (it runs Argon2 a few times, so off the main thread);
/// an unlock runs two derivations, so 250-500 ms is a sensible target.
#[uniffi::export]
pub fn calibrate_kdf(target_millis: u32) -> Result<KdfParams> {
    KdfParams::calibrate(std::time::Duration::from_millis(u64::from(target_millis)))
        .map_err(ChungTayError::from)
}

/// The least Argon2 cost the store accepts (OWASP's minimum): for tests, not for phones.
#[uniffi::export]
pub fn minimum_kdf() -> KdfParams {
    KdfParams::MIN
}

/// The province's default thresholds for overdue referrals and late edits.
#[uniffi::export]
pub fn default_overdue_thresholds() -> OverdueThresholds {
    OverdueThresholds::default()
}

/// The 54 ethnic groups in official order; a group's code is its position plus one.
#[uniffi::export]
pub fn ethnic_group_names() -> Vec<String> {
    chungtay_core::ETHNIC_GROUPS
        .iter()
        .map(|s| (*s).to_owned())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn is_refusal<T>(r: Result<T>) -> bool {
        matches!(r, Err(ChungTayError::CalledFromCallback))
    }

    #[test]
    fn a_nested_store_call_is_refused_and_the_mark_is_cleared_on_every_exit() {
        {
            let _outer = CallGuard::enter().unwrap();
            assert!(is_refusal(CallGuard::enter()));
            // The refused attempt must not have cleared the outer call's mark.
            assert!(is_refusal(CallGuard::enter()));
        }
        drop(CallGuard::enter().unwrap());
        // A panic inside a call (uniffi catches it at the FFI) clears the mark too.
        let caught = std::panic::catch_unwind(|| {
            let _guard = CallGuard::enter().unwrap();
            panic!("inside a store call");
        });
        assert!(caught.is_err());
        drop(CallGuard::enter().unwrap());
        // Other threads are not affected by this one's mark.
        let _held = CallGuard::enter().unwrap();
        std::thread::spawn(|| drop(CallGuard::enter().unwrap()))
            .join()
            .unwrap();
    }
}

/// A member list in columns. uniffi lifts a `Vec<MemberSummary>` one string at a time, five a
/// row, and on the JVM that decoding cost more than the whole list in Rust (docs/PERFORMANCE.md,
/// item 7). Here each text column is one string, and the rest is one fixed-width table.
///
/// `rows` holds `ROW_BYTES` bytes a row, big-endian like the rest of uniffi's wire format:
/// where the row's name, village and phone end in their strings (in UTF-16 units, which are
/// Kotlin's string indices; each starts where the row before ended), the birth year, then one
/// byte each for gender, ethnic group, role (uniffi's variant order) and flags (`FLAG_*`).
/// `ids` holds every id back to back, `ID_CHARS` characters each. Every row has `club_id`.
/// The Kotlin reader is `bindings/kotlin/src/main/kotlin/org/chungtay/ffi/MemberRows.kt`.
#[uniffi::export(Debug)]
#[derive(uniffi::Record)]
pub struct MemberColumns {
    pub club_id: String,
    pub ids: String,
    pub full_names: String,
    pub villages: String,
    pub phones: String,
    pub rows: Vec<u8>,
}

// Names and villages; the Debug that Kotlin's toString() calls names nobody.
impl std::fmt::Debug for MemberColumns {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MemberColumns")
            .field("club_id", &self.club_id)
            .field("rows", &(self.rows.len() / MemberColumns::ROW_BYTES))
            .finish_non_exhaustive()
    }
}

impl MemberColumns {
    pub const ROW_BYTES: usize = 20;
    pub const ID_CHARS: usize = 36;
    pub const FLAG_SAFE_TO_CONTACT: u8 = 1;
    pub const FLAG_PHONE: u8 = 2;
    pub const FLAG_BIRTH_YEAR: u8 = 4;
}

/// How many UTF-16 units `text` takes: one for each character, two for one past U+FFFF. Counted
/// on the bytes (each character has one byte that is not a continuation byte, and the
/// characters past U+FFFF are the ones with a four-byte lead), which the compiler vectorises;
/// decoding each character was most of this call's time.
fn utf16_len(text: &str) -> usize {
    text.bytes()
        .map(|b| usize::from(b & 0xC0 != 0x80) + usize::from(b >= 0xF0))
        .sum()
}

/// Fills a `MemberColumns` a row at a time, keeping where each text column ends.
struct ColumnsBuilder {
    columns: MemberColumns,
    /// Where the names, villages and phones end so far, in UTF-16 units.
    ends: [i32; 3],
}

impl ColumnsBuilder {
    fn new(club_id: String) -> ColumnsBuilder {
        ColumnsBuilder {
            columns: MemberColumns {
                club_id,
                ids: String::new(),
                full_names: String::new(),
                villages: String::new(),
                phones: String::new(),
                rows: Vec::new(),
            },
            ends: [0; 3],
        }
    }

    /// Adds a row; `Err` (and nothing added) if it cannot be one: an id that is not 36 ASCII
    /// characters, which would shift every id after it, another club, or a text column past
    /// Kotlin's `Int` indices.
    fn push(&mut self, m: MemberRow<'_>) -> std::result::Result<(), ()> {
        let c = &mut self.columns;
        if m.id.len() != MemberColumns::ID_CHARS || !m.id.is_ascii() || m.club_id != c.club_id {
            return Err(());
        }
        let phone = m.phone.unwrap_or("");
        let mut ends = self.ends;
        for (end, text) in ends.iter_mut().zip([m.full_name, m.village, phone]) {
            let units = utf16_len(text);
            *end = i32::try_from(units)
                .ok()
                .and_then(|n| end.checked_add(n))
                .ok_or(())?;
        }
        self.ends = ends;
        c.ids.push_str(m.id);
        c.full_names.push_str(m.full_name);
        c.villages.push_str(m.village);
        c.phones.push_str(phone);
        let mut flags = 0;
        if m.safe_to_contact {
            flags |= MemberColumns::FLAG_SAFE_TO_CONTACT;
        }
        if m.phone.is_some() {
            flags |= MemberColumns::FLAG_PHONE;
        }
        if m.birth_year.is_some() {
            flags |= MemberColumns::FLAG_BIRTH_YEAR;
        }
        for n in ends {
            c.rows.extend_from_slice(&n.to_be_bytes());
        }
        c.rows
            .extend_from_slice(&m.birth_year.unwrap_or(0).to_be_bytes());
        // The variants' places in their Kotlin enums (`Gender::code`, `MemberRole::code`).
        c.rows
            .extend_from_slice(&[m.gender.code(), m.ethnic_group.code(), m.role.code(), flags]);
        Ok(())
    }
}

#[cfg(test)]
mod column_tests {
    use super::*;
    use chungtay_core::{EthnicGroup, Gender, MemberRole};

    const ID: &str = "0b9d7f0e-3f5a-4c1e-9a57-6f1d2c3b4a50";

    fn row<'a>(id: &'a str, club_id: &'a str, full_name: &'a str) -> MemberRow<'a> {
        MemberRow {
            id,
            club_id,
            full_name,
            birth_year: Some(1990),
            gender: Gender::Male,
            ethnic_group: EthnicGroup::from_code(3).unwrap(),
            village: "Bản Ón",
            role: MemberRole::Deputy,
            safe_to_contact: true,
            phone: None,
        }
    }

    #[test]
    fn the_table_holds_utf16_ends_and_the_row_s_fields() {
        let mut b = ColumnsBuilder::new("club".into());
        b.push(row(ID, "club", "Lò Văn 𡨸")).unwrap();
        let second = MemberRow {
            village: "Bản 𠀧",
            phone: Some("0912 345 678"),
            birth_year: None,
            gender: Gender::Other,
            role: MemberRole::Leader,
            safe_to_contact: false,
            ..row(ID, "club", "Hà Thị Ơn")
        };
        b.push(second).unwrap();
        let c = b.columns;
        assert_eq!(c.rows.len(), 2 * MemberColumns::ROW_BYTES);
        let int = |at: usize| i32::from_be_bytes(c.rows[at..at + 4].try_into().unwrap());
        // "Lò Văn 𡨸": 7 characters in the 16-bit range, one (𡨸) that takes two units.
        assert_eq!(int(0), 9);
        assert_eq!(int(20), 9 + 9);
        assert_eq!(int(4), 6);
        assert_eq!(int(8), 0);
        assert_eq!(int(12), 1990);
        assert_eq!(&c.rows[16..20], &[1, 3, 1, 1 | 4]);
        // The second row: village "Bản 𠀧" (4 + 2 units) after "Bản Ón", a phone of 12, no year.
        assert_eq!(int(24), 6 + 6);
        assert_eq!(int(28), 12);
        assert_eq!(int(32), 0);
        assert_eq!(&c.rows[36..40], &[2, 3, 0, 2]);
        assert_eq!(c.phones, "0912 345 678");
        assert_eq!(c.villages, "Bản ÓnBản 𠀧");
        assert_eq!(c.ids, format!("{ID}{ID}"));
    }

    #[test]
    fn utf16_lengths_are_counted_as_kotlin_counts_them() {
        for text in [
            "",
            "Lò Thị Mai",
            "Nguyễn",
            "𡨸",
            "Bản 𠀧 Ón",
            "a\u{10FFFF}b",
            "\u{FFFF}",
        ] {
            assert_eq!(utf16_len(text), text.encode_utf16().count(), "{text}");
        }
    }

    #[test]
    fn a_row_that_would_shift_the_others_is_refused_and_adds_nothing() {
        let mut b = ColumnsBuilder::new("club".into());
        b.push(row(ID, "club", "Lò Thị Mai")).unwrap();
        assert!(b.push(row(&ID[1..], "club", "Vi Thị Hoa")).is_err());
        // 36 bytes, but "ă" is two of them: 35 characters.
        let respelled = format!("ă{}", &ID[2..]);
        assert_eq!(respelled.len(), 36);
        assert!(b.push(row(&respelled, "club", "Vi")).is_err());
        assert!(b.push(row(ID, "another club", "Vi Thị Hoa")).is_err());
        assert_eq!(b.columns.rows.len(), MemberColumns::ROW_BYTES);
        assert_eq!(b.columns.full_names, "Lò Thị Mai");
        assert_eq!(b.columns.ids, ID);
        assert_eq!(b.ends, [10, 6, 0]);
    }
}
