//! The Kotlin API of Chung Tay: thin uniffi objects over `chungtay-core`.
//!
//! Records, enums and the public error are the core's own types (derived under its `uniffi`
//! feature); this crate only adds the objects the app holds and the device-key interface that
//! Kotlin implements. Every call is blocking: call it off the main thread.

use std::sync::{Arc, Mutex};

use chrono::NaiveDate;

use chungtay_core::{
    Annotation, AuditEntry, AuditExport, AuditFindings, Checkpoint, ChungTayError, Club, ClubInput,
    Consent, ConsentInput, Damaged, DeviceSecretError, KdfParams, Livelihood, LivelihoodInput,
    Meeting, MeetingInput, Member, MemberDetail, MemberFilter, MemberInput, MemberSummary, NewUser,
    OverdueThresholds, Permission, RecordKind, Referral, ReferralInput, Store, SupportFollowUp,
    UserInfo, UserRole,
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

/// Adapts the Kotlin implementation to the core's trait.
struct HostDevice(Arc<dyn DeviceKey>);

impl chungtay_core::DeviceSecret for HostDevice {
    fn prf(&self, input: &[u8]) -> std::result::Result<Vec<u8>, DeviceSecretError> {
        self.0.prf(input.to_vec()).map_err(|e| match e {
            DeviceKeyError::Missing => DeviceSecretError::Missing,
            DeviceKeyError::Failed { detail } => DeviceSecretError::Failed { detail },
        })
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
    /// Creates a new store at `path`, unlocked as its first user (the club leader).
    #[uniffi::constructor]
    pub fn create(
        path: String,
        device: Arc<dyn DeviceKey>,
        display_name: String,
        pin: String,
    ) -> Result<Arc<Self>> {
        let store = Store::create(
            path.as_ref(),
            Arc::new(HostDevice(device)),
            NewUser::new(&display_name, UserRole::Leader, &pin),
            KdfParams::MIN,
        )?;
        Ok(Self::wrap(store))
    }

    /// Opens an existing store, locked.
    #[uniffi::constructor]
    pub fn open(path: String, device: Arc<dyn DeviceKey>) -> Result<Arc<Self>> {
        let store = Store::open(path.as_ref(), Arc::new(HostDevice(device)))?;
        Ok(Self::wrap(store))
    }

    /// The unlock screen's list: ids and roles only.
    pub fn users(&self) -> Result<Vec<UserInfo>> {
        self.with(|s| s.users())
    }

    pub fn unlock(&self, user_id: String, pin: String) -> Result<()> {
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

    pub fn add_user(&self, display_name: String, role: UserRole, pin: String) -> Result<UserInfo> {
        self.with(|s| s.add_user(NewUser::new(&display_name, role, &pin), KdfParams::MIN))
    }

    pub fn change_pin(&self, old_pin: String, new_pin: String) -> Result<()> {
        self.with(|s| s.change_pin(&old_pin, &new_pin, KdfParams::MIN))
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

    pub fn add_member(&self, club_id: String, input: MemberInput) -> Result<Member> {
        self.with(|s| s.add_member(&club_id, &input))
    }

    pub fn update_member(&self, id: String, input: MemberInput) -> Result<Member> {
        self.with(|s| s.update_member(&id, &input))
    }

    /// The member list screen: summaries in Vietnamese name order, no survivor status.
    pub fn member_list(&self, club_id: String) -> Result<Vec<MemberSummary>> {
        self.with(|s| s.list_members(&club_id))
    }

    /// Search ignoring case and diacritics ("nguyen" finds "Nguyễn"), with filters.
    pub fn search_members(&self, filter: MemberFilter) -> Result<Vec<MemberSummary>> {
        self.with(|s| s.search_members(&filter))
    }

    /// The member screen: the member, her consents, livelihood support and referrals.
    pub fn member_detail(&self, id: String) -> Result<MemberDetail> {
        self.with(|s| s.member_detail(&id))
    }

    pub fn add_consent(&self, input: ConsentInput) -> Result<Consent> {
        self.with(|s| s.add_consent(&input))
    }

    /// `on` is an ISO date, "YYYY-MM-DD".
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

    /// The device's Ed25519 public key, to verify its checkpoints and exports.
    pub fn device_public_key(&self) -> Result<Vec<u8>> {
        self.with(|s| s.device_public_key())
    }
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
