//! The storage interface. SQLite ([`crate::sqlite::SqliteStore`]) is the embedded default; a
//! PostgreSQL backend implements the same trait. Every method that must be atomic is one
//! method, so a backend runs it in one transaction.
//!
//! The store never sees plaintext personal data: referral bodies and status updates arrive
//! already sealed ([`crate::keyfile::AtRest`]), and the plaintext columns are ids, hashes,
//! states and times.

use crate::error::StoreError;

/// An enrolled device.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Device {
    pub device_id: String,
    /// Ed25519 public key (32 bytes).
    pub public_key: Vec<u8>,
    pub enrolled_at: String,
    pub revoked_at: Option<String>,
    /// Set when the device sent a checkpoint that does not extend the one the province kept
    /// (an older copy of its file restored, or a rollback): for staff to look into.
    pub flagged_at: Option<String>,
    /// What was flagged, e.g. `fork at seq 12 (kept 9)`: ids and numbers only.
    pub flag_reason: Option<String>,
    /// The club or leader the code was issued for, as the admin wrote it (no survivor data).
    pub label: String,
    /// The last authenticated request from the device (referral, checkpoint or status pull).
    pub last_seen_at: Option<String>,
    /// Why it was revoked, as the admin wrote it.
    pub revoke_reason: Option<String>,
    /// [`crate::keyfile::Credentials`] tag over the device id and public key, made when the
    /// server enrolled it; cleared on revocation. A row without a valid one is no device.
    pub mac: Vec<u8>,
}

/// A staff API token as kept (its hash, never the token).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StaffToken {
    /// Public id, named in logs and in every transition the token makes.
    pub token_id: String,
    pub label: String,
    pub created_at: String,
    /// Unix seconds.
    pub expires_at: i64,
    pub revoked_at: Option<String>,
    /// [`crate::keyfile::Credentials`] tag over the token's hash, id, label, expiry and scope.
    pub mac: Vec<u8>,
    /// `read` (list referrals) or `write` (list and move them); None for a token minted before
    /// scopes, which may do both.
    pub scope: Option<String>,
}

/// A new staff token to keep.
#[derive(Clone, Debug)]
pub struct NewStaffToken {
    pub token_hash: [u8; 32],
    pub token_id: String,
    pub label: String,
    pub created_at: String,
    pub expires_at: i64,
    pub mac: Vec<u8>,
    /// `read` or `write`.
    pub scope: String,
}

/// A console account. `mac` is the [`crate::keyfile::Credentials`] tag over every field that
/// grants access (id, username, role, password hash, setup code, TOTP secret, disabled): a row
/// edited in the database without the province keys opens nothing.
#[derive(Clone, PartialEq, Eq)]
pub struct Account {
    /// `acct-` and 12 hex digits.
    pub account_id: String,
    pub username: String,
    pub display_name: String,
    /// `officer`, `admin` or `viewer`.
    pub role: String,
    /// Argon2id PHC string; None until the person sets a password with her setup code.
    pub password_hash: Option<String>,
    /// SHA-256 of the one-time setup code, and its expiry (unix seconds).
    pub setup_hash: Option<Vec<u8>>,
    pub setup_expires: i64,
    /// The TOTP secret, sealed at rest; None when the account has no second factor.
    pub totp: Option<Vec<u8>>,
    pub created_at: String,
    pub disabled_at: Option<String>,
    /// Failed logins since the last success, and the lockout's end (unix seconds). Not tagged:
    /// they only ever take access away.
    pub failed_logins: i64,
    pub locked_until: i64,
    pub mac: Vec<u8>,
}

impl std::fmt::Debug for Account {
    // No hashes or secrets in logs.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Account")
            .field("account_id", &self.account_id)
            .field("role", &self.role)
            .finish_non_exhaustive()
    }
}

/// A console session as kept: an HMAC of its cookie value under the province's credential key
/// (never the value), so nobody without the keys can make a row that a cookie opens.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StaffSession {
    pub account_id: String,
    /// Unix seconds.
    pub created_at: i64,
    pub last_seen: i64,
    /// [`crate::keyfile::Credentials`] tag over the session's key, account and start: a row
    /// written or pointed at another account in the database is no session.
    pub mac: Vec<u8>,
}

/// One line of the staff audit: who did what to which record. Ids and categories only, never a
/// personal value, a search term or a note.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuditEntry {
    /// Append order.
    pub n: i64,
    pub at: String,
    /// Account id, token id, or `-` before login (a failed login names the username tried in
    /// `target` only when such an account exists).
    pub actor: String,
    /// e.g. `login`, `login_failed`, `view_referral`, `transition`, `create_account`.
    pub action: String,
    pub target: String,
    pub detail: String,
}

/// What redeeming an enrollment code did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Redeem {
    /// A new device was enrolled.
    Enrolled(Device),
    /// The code was already used by this same key: the same device again (safe retry).
    Again(Device),
    /// No such code, or it expired before use.
    Invalid,
    /// The code was already used by another key.
    UsedByAnotherKey,
    /// This key is already enrolled (with another code).
    KeyAlreadyEnrolled,
}

/// A referral ready to store.
#[derive(Clone, Debug)]
pub struct NewReferral {
    pub referral_id: String,
    pub device_id: String,
    pub payload_hash: [u8; 32],
    pub received_at: String,
    pub receipt_signature: Vec<u8>,
    /// Sealed `{payload_json, device_signature}`.
    pub body: Vec<u8>,
}

/// What storing a referral did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum InsertOutcome {
    /// Stored, with the first status update ("received") at this seq.
    Inserted { status_seq: i64 },
    /// Already stored with the same device and payload hash: the stored receipt fields.
    Existing {
        received_at: String,
        receipt_signature: Vec<u8>,
    },
    /// The referral id is taken by other content or another device.
    Conflict,
}

/// A stored referral.
#[derive(Clone, Debug)]
pub struct StoredReferral {
    /// Insertion order (a listing cursor).
    pub n: i64,
    pub referral_id: String,
    pub device_id: String,
    pub payload_hash: Vec<u8>,
    pub received_at: String,
    pub receipt_signature: Vec<u8>,
    pub state: String,
    pub updated_at: String,
    /// The staff token id of the last transition (None while only received).
    pub updated_by: Option<String>,
    pub body: Vec<u8>,
}

/// What a staff transition did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TransitionOutcome {
    Done {
        device_id: String,
        seq: i64,
    },
    NotFound,
    /// The lifecycle does not allow it from the current state.
    NotAllowed {
        from: String,
    },
}

/// A stored, sealed status update.
#[derive(Clone, Debug)]
pub struct StoredStatus {
    pub device_id: String,
    /// Who made it: a staff account id (`acct-…`) or API token id (`st-…`); None for "received".
    pub by_staff: Option<String>,
    pub seq: i64,
    pub referral_id: String,
    pub state: String,
    pub at: String,
    /// Sealed StatusUpdate JSON.
    pub body: Vec<u8>,
}

/// An audit checkpoint as kept.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredCheckpoint {
    pub device_id: String,
    pub seq: i64,
    pub head: Vec<u8>,
    /// The checkpoint it names as the one it extends (seq, head).
    pub prev: Option<(i64, Vec<u8>)>,
    pub at: String,
    pub signature: Vec<u8>,
    pub received_at: String,
}

/// What adding a checkpoint did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CheckpointOutcome {
    Stored,
    /// The very same checkpoint was already kept.
    Duplicate,
    /// It does not name the latest kept checkpoint and is not after it: an older state. The
    /// device is flagged.
    Rollback {
        latest: i64,
    },
    /// It is after the latest kept checkpoint but does not name it as the one it extends
    /// (e.g. an older copy of the phone's file, restored and used): the device is flagged.
    Fork {
        latest: i64,
    },
}

/// Makes the sealed body of the status update numbered `seq` for `device_id`, inside the
/// store's transaction.
pub type MakeStatus<'a> = dyn FnMut(&str, i64) -> Result<Vec<u8>, StoreError> + 'a;

/// A [`MakeStatus`] that another thread may call: the one committing a group of referrals
/// makes each one's first status update.
pub type SharedMakeStatus =
    std::sync::Arc<dyn Fn(&str, i64) -> Result<Vec<u8>, StoreError> + Send + Sync>;

/// Storage for the intake server.
pub trait IntakeStore: Send + Sync + 'static {
    /// Keeps a one-time enrollment code (its SHA-256) valid until `expires_at` (unix seconds).
    fn add_code(
        &self,
        code_hash: &[u8; 32],
        label: &str,
        created_at: &str,
        expires_at: i64,
        mac: &[u8],
    ) -> Result<(), StoreError>;

    /// Atomically redeems a code for `public_key`, enrolling a device as `new_device_id`.
    /// `genuine(expires_at, mac)` says whether the code row was minted with the province keys;
    /// a row that is not is [`Redeem::Invalid`]. `device_tag(device_id, public_key)` makes the
    /// new device row's tag.
    #[allow(clippy::too_many_arguments)]
    fn redeem_code(
        &self,
        code_hash: &[u8; 32],
        public_key: &[u8],
        new_device_id: &str,
        now_unix: i64,
        now: &str,
        genuine: &dyn Fn(i64, &[u8]) -> bool,
        device_tag: &dyn Fn(&str, &[u8]) -> Vec<u8>,
    ) -> Result<Redeem, StoreError>;

    fn device(&self, device_id: &str) -> Result<Option<Device>, StoreError>;
    fn devices(&self) -> Result<Vec<Device>, StoreError>;
    /// Marks a device revoked; false if there is no such device.
    fn revoke_device(&self, device_id: &str, at: &str) -> Result<bool, StoreError> {
        self.revoke_device_because(device_id, at, "")
    }
    /// Revokes with the admin's reason (its tag goes too, so clearing `revoked_at` by hand later
    /// brings nothing back); false if there is no such device.
    fn revoke_device_because(
        &self,
        device_id: &str,
        at: &str,
        reason: &str,
    ) -> Result<bool, StoreError>;
    /// Notes an authenticated request from the device.
    fn touch_device(&self, device_id: &str, at: &str) -> Result<(), StoreError>;
    fn set_device_label(&self, device_id: &str, label: &str) -> Result<bool, StoreError>;

    /// Keeps a new account; false if the username is taken.
    fn add_account(&self, a: &Account) -> Result<bool, StoreError>;
    fn account(&self, account_id: &str) -> Result<Option<Account>, StoreError>;
    fn account_by_username(&self, username: &str) -> Result<Option<Account>, StoreError>;
    fn accounts(&self) -> Result<Vec<Account>, StoreError>;
    /// Writes every field of the account (by id).
    fn update_account(&self, a: &Account) -> Result<(), StoreError>;
    fn set_login_failures(
        &self,
        account_id: &str,
        failed: i64,
        locked_until: i64,
    ) -> Result<(), StoreError>;

    /// Counts a failed login in one statement: the failure that makes `max` locks the account
    /// until `now + lock_secs` and starts the count again. The lock's end (0 when not locked).
    fn login_failed(
        &self,
        account_id: &str,
        now: i64,
        max: i64,
        lock_secs: i64,
    ) -> Result<i64, StoreError>;

    /// Spends a TOTP time step: true only if it is later than every step the account used
    /// before (a code seen over a shoulder or in a log cannot be used again).
    fn use_totp_step(&self, account_id: &str, step: i64) -> Result<bool, StoreError>;

    fn add_session(&self, hash: &[u8; 32], s: &StaffSession) -> Result<(), StoreError>;
    fn session(&self, hash: &[u8; 32]) -> Result<Option<StaffSession>, StoreError>;
    fn touch_session(&self, hash: &[u8; 32], now: i64) -> Result<(), StoreError>;
    fn delete_session(&self, hash: &[u8; 32]) -> Result<(), StoreError>;
    /// Ends every session of the account; how many there were.
    fn delete_sessions(&self, account_id: &str) -> Result<usize, StoreError>;

    /// Appends to the staff audit (append-only).
    fn add_audit(
        &self,
        at: &str,
        actor: &str,
        action: &str,
        target: &str,
        detail: &str,
    ) -> Result<(), StoreError>;
    /// The staff audit, newest first, with `n < before`, at most `limit`.
    fn audit(&self, before: i64, limit: usize) -> Result<Vec<AuditEntry>, StoreError>;

    /// Every status update of a referral, in order (its history).
    fn referral_history(&self, referral_id: &str) -> Result<Vec<StoredStatus>, StoreError>;

    /// Keeps a staff API token (its SHA-256).
    fn add_staff_token(&self, token: &NewStaffToken) -> Result<(), StoreError>;
    /// The token with this hash, if any (revoked and expired ones included).
    fn staff_token(&self, token_hash: &[u8; 32]) -> Result<Option<StaffToken>, StoreError>;
    fn staff_tokens(&self) -> Result<Vec<StaffToken>, StoreError>;
    /// Revokes a token by id; false if there is no such token.
    fn revoke_staff_token(&self, token_id: &str, at: &str) -> Result<bool, StoreError>;

    /// Stores a referral and its first status update ("received") in one transaction, or
    /// reports the same referral already stored, or a conflict. `make_status` is called only
    /// when the referral is new.
    fn insert_referral(
        &self,
        new: &NewReferral,
        make_status: &mut MakeStatus<'_>,
    ) -> Result<InsertOutcome, StoreError>;

    /// [`IntakeStore::insert_referral`] for a server taking many at once: a backend may store
    /// several callers' referrals in one transaction, so that they share one commit (one
    /// flush to disk), and answers each caller only once that commit is durable. Each
    /// referral is still decided on its own (stored, the same again, or a conflict). The
    /// default stores it alone.
    fn insert_referral_grouped(
        &self,
        new: NewReferral,
        make_status: SharedMakeStatus,
    ) -> Result<InsertOutcome, StoreError> {
        self.insert_referral(&new, &mut |device, seq| make_status(device, seq))
    }

    /// Referrals with `n > after`, oldest first, at most `limit`.
    fn referrals(&self, after: i64, limit: usize) -> Result<Vec<StoredReferral>, StoreError>;
    fn referral(&self, referral_id: &str) -> Result<Option<StoredReferral>, StoreError>;
    fn referral_count(&self) -> Result<i64, StoreError>;

    /// Moves a referral to `to` if the lifecycle allows it, and appends the device's next
    /// status update, in one transaction. `by` is the staff token id that asked.
    fn transition(
        &self,
        referral_id: &str,
        to: &str,
        at: &str,
        by: &str,
        make_status: &mut MakeStatus<'_>,
    ) -> Result<TransitionOutcome, StoreError>;

    /// The device's status updates with `seq > cursor`, in order, at most `limit`.
    fn statuses_after(
        &self,
        device_id: &str,
        cursor: i64,
        limit: usize,
    ) -> Result<Vec<StoredStatus>, StoreError>;

    /// Appends a verified checkpoint (append-only, per device) if it names the latest kept one
    /// as the one it extends (or is the device's first); otherwise flags the device, in the
    /// same transaction, and reports a rollback or a fork.
    fn add_checkpoint(&self, cp: &StoredCheckpoint) -> Result<CheckpointOutcome, StoreError>;
    fn checkpoints(&self, device_id: &str) -> Result<Vec<StoredCheckpoint>, StoreError>;
    /// The device's latest kept checkpoint.
    fn latest_checkpoint(&self, device_id: &str) -> Result<Option<StoredCheckpoint>, StoreError>;

    /// Takes one request from the token bucket `key` (`per_minute` a minute, also the burst),
    /// shared by every server instance on the database: in PostgreSQL itself; in the process
    /// for SQLite, whose file one server serves. None when taken; otherwise how long until one
    /// is back.
    fn take_token(
        &self,
        key: &str,
        per_minute: u32,
    ) -> Result<Option<std::time::Duration>, StoreError>;
}

/// The wait until a bucket at `tokens` (refilled to now) holds one again.
pub(crate) fn wait_for_token(tokens: f64, per_minute: u32) -> std::time::Duration {
    let ms = (1.0 - tokens).max(0.0) * 60_000.0 / f64::from(per_minute.max(1));
    std::time::Duration::from_millis(ms.ceil() as u64).max(std::time::Duration::from_millis(1))
}
