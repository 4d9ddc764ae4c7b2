//! Typed errors. None of them carries personal data: ids, field names and counts only.

use std::fmt;

/// The kinds of record the store keeps; named in integrity and not-found errors.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
pub enum RecordKind {
    Club,
    Member,
    MemberKey,
    Consent,
    Meeting,
    Livelihood,
    Referral,
    User,
    Canary,
    Audit,
    DeviceKey,
    Annotation,
}

impl RecordKind {
    /// One of the six kinds of record, each a table of sealed rows (`db::RECORD_TABLES`) that
    /// the trail accounts for row by row.
    pub(crate) fn is_record(self) -> bool {
        matches!(
            self,
            RecordKind::Club
                | RecordKind::Member
                | RecordKind::Consent
                | RecordKind::Meeting
                | RecordKind::Referral
                | RecordKind::Livelihood
        )
    }

    pub fn as_str(self) -> &'static str {
        match self {
            RecordKind::Club => "club",
            RecordKind::Member => "member",
            RecordKind::MemberKey => "member_key",
            RecordKind::Consent => "consent",
            RecordKind::Meeting => "meeting",
            RecordKind::Livelihood => "livelihood",
            RecordKind::Referral => "referral",
            RecordKind::User => "user",
            RecordKind::Canary => "canary",
            RecordKind::Audit => "audit",
            RecordKind::DeviceKey => "device_key",
            RecordKind::Annotation => "annotation",
        }
    }

    pub(crate) const ALL: [RecordKind; 12] = {
        use RecordKind::*;
        [
            Club, Member, MemberKey, Consent, Meeting, Livelihood, Referral, User, Canary, Audit,
            DeviceKey, Annotation,
        ]
    };

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

impl fmt::Display for RecordKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a value was refused.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
pub enum Reason {
    Empty,
    TooLong {
        max: u32,
    },
    TooShort {
        min: u32,
    },
    /// Not a date (YYYY-MM-DD) or time the app can read.
    BadDate,
    /// Key-derivation cost below the minimum, or a number under its lower bound.
    BelowMinimum,
    /// A number over its upper bound.
    AboveMaximum {
        max: u32,
    },
    InFuture,
    TooOld,
    Negative,
    UnknownEthnicGroup,
    /// An attendee who is not a member of the meeting's club (the member id is not personal).
    NotClubMember {
        member_id: String,
    },
    Duplicate,
    Missing,
    NoConsent,
    ConsentWithdrawn,
    ConsentForOtherMember,
    /// The consent does not cover this purpose, recipient or field (named, not valued).
    NotCovered {
        what: String,
    },
    NotAllowedInState {
        state: String,
    },
    /// The PIN is one of the few that anyone would try first.
    TooCommon,
    /// Not a web address the app can use: `https://host[:port]`, a non-ASCII host name in its
    /// `xn--` form.
    BadUrl,
    /// Holds a control character (C0, DEL, C1: an ESC sequence, say), which a terminal or a
    /// screen would act on instead of showing. Notes may hold line breaks and tabs only.
    ControlCharacter,
    /// Holds a bidirectional override, embedding, isolate or mark, which reorders what is shown.
    BidiControl,
    /// Holds an invisible format character (zero-width space, joiner, BOM, soft hyphen...),
    /// which makes two different texts look the same.
    InvisibleCharacter,
    /// Differs from the value it must equal (e.g. the province key fingerprint printed beside
    /// an enrollment code).
    Mismatch,
    /// Names the user's own account where only another user's may be given (a leader removing
    /// herself, or resetting her own PIN rather than changing it).
    OwnAccount,
    /// Would leave the store without a leader, who alone manages users and safety.
    LastLeader,
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Reason::Empty => write!(f, "must not be empty"),
            Reason::TooLong { max } => write!(f, "is longer than {max} characters"),
            Reason::TooShort { min } => write!(f, "is shorter than {min} characters"),
            Reason::BadDate => write!(f, "is not a valid date"),
            Reason::BelowMinimum => write!(f, "is below the minimum"),
            Reason::AboveMaximum { max } => write!(f, "is above the maximum ({max})"),
            Reason::InFuture => write!(f, "is in the future"),
            Reason::TooOld => write!(f, "is too far in the past"),
            Reason::Negative => write!(f, "must not be negative"),
            Reason::UnknownEthnicGroup => write!(f, "is not one of the 54 ethnic groups"),
            Reason::NotClubMember { member_id } => {
                write!(f, "member {member_id} is not in this club")
            }
            Reason::Duplicate => write!(f, "lists the same entry twice"),
            Reason::Missing => write!(f, "is required"),
            Reason::NoConsent => write!(f, "is missing: no consent is recorded"),
            Reason::ConsentWithdrawn => write!(f, "was withdrawn"),
            Reason::ConsentForOtherMember => write!(f, "belongs to another member"),
            Reason::NotCovered { what } => write!(f, "does not cover {what}"),
            Reason::NotAllowedInState { state } => write!(f, "not allowed in state {state}"),
            Reason::TooCommon => write!(f, "is too easy to guess"),
            Reason::BadUrl => write!(
                f,
                "is not a usable address (https://host, a non-ASCII host in its xn-- form)"
            ),
            Reason::ControlCharacter => write!(f, "holds a control character"),
            Reason::BidiControl => write!(f, "holds a bidirectional text control"),
            Reason::InvisibleCharacter => write!(f, "holds an invisible character"),
            Reason::Mismatch => write!(f, "does not match the one expected"),
            Reason::OwnAccount => write!(f, "is your own account"),
            Reason::LastLeader => write!(f, "is the store's last leader"),
        }
    }
}

/// A refused input, naming the field.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{field} {reason}")]
pub struct ValidationError {
    pub field: &'static str,
    pub reason: Reason,
}

impl ValidationError {
    pub fn new(field: &'static str, reason: Reason) -> Self {
        Self { field, reason }
    }
}

/// Why the device's secret could not be used. The host's keystore returns these.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum DeviceSecretError {
    /// The key is gone (app data cleared, Keystore reset, another phone).
    #[error("the device key is missing")]
    Missing,
    /// The keystore failed for another reason; may work on a retry.
    #[error("the device keystore failed: {detail}")]
    Failed { detail: String },
    /// The key is there but unusable for good (a key file cut short or overwritten): a retry
    /// cannot help; the data needs a backup.
    #[error("the device key is damaged")]
    Damaged,
    /// A key file that other accounts on the computer can read: whoever read it can guess the
    /// PIN of a copy of the store elsewhere. Refused until it is made owner-only.
    #[error("the device key file can be read by other accounts")]
    Exposed,
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("wrong PIN")]
    WrongPin,
    #[error("the store is locked")]
    Locked,
    #[error("no such user on this store")]
    UnknownUser,
    /// The device secret is missing or is not the one this store was made with.
    #[error("this phone's key for the store is unavailable: {0}")]
    KeyUnavailable(DeviceSecretError),
    #[error("{kind} {id} not found")]
    NotFound { kind: RecordKind, id: String },
    #[error("invalid input: {0}")]
    Invalid(#[from] ValidationError),
    /// A sealed record failed authentication: altered, moved or damaged.
    #[error("{kind} {id} failed its integrity check")]
    Integrity { kind: RecordKind, id: String },
    #[error(
        "the store was written by a newer version (schema {found}, this app knows {supported})"
    )]
    SchemaTooNew { found: i64, supported: i64 },
    #[error("not a Chung Tay store, or the store is damaged")]
    NotAStore,
    #[error("a store already exists at this path")]
    AlreadyExists,
    /// The server could not be reached, timed out, or answered something unreadable.
    #[error("network problem: {detail}")]
    Network { detail: String },
    /// The server refused, with its reason code (never personal data).
    #[error("the server refused ({status}): {reason}")]
    Refused { status: u16, reason: String },
    #[error("KDF parameters below the minimum (m={min_m_kib} KiB, t={min_t})")]
    WeakKdf { min_m_kib: u32, min_t: u32 },
    #[error("cryptographic operation failed")]
    Crypto,
    /// This user's role may not do this (docs/ROLES.md).
    #[error("not allowed for this role: {0:?}")]
    Forbidden(crate::access::Permission),
    /// Too many wrong PINs: the next try is allowed after this many seconds.
    #[error("too many wrong PINs: try again in {retry_after_secs} s")]
    TooSoon { retry_after_secs: u64 },
    /// The store destroyed itself after too many wrong PINs.
    #[error("the store was wiped")]
    Wiped,
    /// The store's files and key slots were destroyed, but the device key could not be
    /// replaced: a copy of the files taken earlier would still open with a PIN on this phone.
    #[error("the store was wiped, but the device key could not be destroyed: {detail}")]
    WipeIncomplete { detail: String },
    /// This member must not be called or texted.
    #[error("this member must not be contacted")]
    DoNotContact,
    #[error("wrong recovery secret")]
    WrongRecoverySecret,
    #[error("the backup file is damaged or not a backup")]
    BackupDamaged,
    /// The audit trail failed verification.
    #[error("the audit trail is broken: {0}")]
    AuditBroken(ChainBreak),
    /// SQLite failed. Parameters are always bound, so its message holds no field values.
    #[error("storage error: {0}")]
    Storage(#[from] rusqlite::Error),
    #[error("file error: {0}")]
    Io(#[from] std::io::Error),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

pub(crate) fn invalid<T>(field: &'static str, reason: Reason) -> Result<T> {
    Err(Error::Invalid(ValidationError::new(field, reason)))
}

/// The small error the app's screens act on (the Kotlin `ChungTayException`). Every core error
/// maps to exactly one of these; none carries personal data.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Error))]
pub enum ChungTayError {
    #[error("wrong PIN")]
    WrongPin,
    #[error("the store is locked")]
    Locked,
    #[error("no such user on this store")]
    UnknownUser,
    /// The phone's key for this store is gone or is another phone's: the data cannot be opened
    /// here (restore from backup).
    #[error("this phone's key for the store is unavailable")]
    KeyUnavailable,
    /// The keystore failed this time; trying again may work.
    #[error("the phone's keystore failed: {detail}")]
    KeystoreFailed { detail: String },
    #[error("{kind} {id} not found")]
    NotFound { kind: RecordKind, id: String },
    #[error("{field} {reason}")]
    Invalid { field: String, reason: Reason },
    #[error("{kind} {id} failed its integrity check")]
    Integrity { kind: RecordKind, id: String },
    #[error("the store was written by a newer app (schema {found}, this app knows {supported})")]
    NewerVersion { found: i64, supported: i64 },
    #[error("not a Chung Tay store, or the store is damaged")]
    NotAStore,
    #[error("a store already exists at this path")]
    AlreadyExists,
    /// Wait before the next PIN (growing delays after wrong PINs).
    #[error("too many wrong PINs: try again in {retry_after_secs} s")]
    TooSoon { retry_after_secs: u64 },
    /// The store destroyed itself after too many wrong PINs: set up the phone again.
    #[error("the store was wiped")]
    Wiped,
    /// The store was wiped, but the phone's keystore could not delete its key: copies of the
    /// files made before the wipe could still be opened with a PIN on this phone. The app
    /// should tell the user and retry deleting the key (e.g. clear the app's key alias).
    #[error("the store was wiped, but the device key could not be destroyed: {detail}")]
    WipeIncomplete { detail: String },
    #[error("this member must not be contacted")]
    DoNotContact,
    #[error("wrong recovery secret")]
    WrongRecoverySecret,
    #[error("the backup file is damaged or not a backup")]
    BackupDamaged,
    /// No network, a timeout, or an unreadable answer: the outbox keeps everything.
    #[error("network problem: {detail}")]
    Network { detail: String },
    /// The server refused, with its reason code.
    #[error("the server refused ({status}): {reason}")]
    Refused { status: u16, reason: String },
    #[error("not allowed for this role: {permission:?}")]
    Forbidden {
        permission: crate::access::Permission,
    },
    #[error("the audit trail is broken: {problem}")]
    AuditBroken { problem: ChainBreak },
    #[error("storage error: {detail}")]
    Storage { detail: String },
    #[error("internal error: {detail}")]
    Internal { detail: String },
    /// A store call made from inside one of the store's own callbacks (`DeviceKey`,
    /// `SyncListener`) on the same thread: refused, since it would wait for itself for ever.
    #[error("a store call from inside a DeviceKey or SyncListener callback is refused")]
    CalledFromCallback,
}

impl From<Error> for ChungTayError {
    fn from(e: Error) -> Self {
        // Exhaustive on purpose: a new core error must choose its public face here.
        match e {
            Error::WrongPin => ChungTayError::WrongPin,
            Error::Locked => ChungTayError::Locked,
            Error::UnknownUser => ChungTayError::UnknownUser,
            Error::KeyUnavailable(
                DeviceSecretError::Missing
                | DeviceSecretError::Damaged
                | DeviceSecretError::Exposed,
            ) => ChungTayError::KeyUnavailable,
            Error::KeyUnavailable(DeviceSecretError::Failed { detail }) => {
                ChungTayError::KeystoreFailed { detail }
            }
            Error::NotFound { kind, id } => ChungTayError::NotFound { kind, id },
            Error::Invalid(ValidationError { field, reason }) => ChungTayError::Invalid {
                field: field.to_owned(),
                reason,
            },
            Error::Integrity { kind, id } => ChungTayError::Integrity { kind, id },
            Error::SchemaTooNew { found, supported } => {
                ChungTayError::NewerVersion { found, supported }
            }
            Error::NotAStore => ChungTayError::NotAStore,
            Error::AlreadyExists => ChungTayError::AlreadyExists,
            Error::WeakKdf { .. } => ChungTayError::Invalid {
                field: "kdf_params".to_owned(),
                reason: Reason::BelowMinimum,
            },
            Error::Forbidden(permission) => ChungTayError::Forbidden { permission },
            Error::TooSoon { retry_after_secs } => ChungTayError::TooSoon { retry_after_secs },
            Error::Wiped => ChungTayError::Wiped,
            Error::WipeIncomplete { detail } => ChungTayError::WipeIncomplete { detail },
            Error::DoNotContact => ChungTayError::DoNotContact,
            Error::WrongRecoverySecret => ChungTayError::WrongRecoverySecret,
            Error::BackupDamaged => ChungTayError::BackupDamaged,
            Error::Network { detail } => ChungTayError::Network { detail },
            Error::Refused { status, reason } => ChungTayError::Refused { status, reason },
            Error::AuditBroken(problem) => ChungTayError::AuditBroken { problem },
            Error::Crypto => ChungTayError::Internal {
                detail: "cryptographic operation failed".to_owned(),
            },
            Error::Storage(e) => ChungTayError::Storage {
                detail: e.to_string(),
            },
            Error::Io(e) => ChungTayError::Storage {
                detail: e.to_string(),
            },
        }
    }
}

/// A record that cannot be shown as it is: it failed its seal, or it is not the version the
/// audit trail last wrote, or the trail says it exists and it is gone.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct Damaged {
    pub kind: RecordKind,
    pub id: String,
    /// The member (or club) the record belongs to, when the row shows it; empty otherwise.
    pub owner: String,
    pub reason: DamageReason,
}

/// Why a record is listed as damaged.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
pub enum DamageReason {
    /// Its sealed body or a column bound to it was altered, or its key is gone or damaged.
    Unreadable,
    /// An older copy of the record: the trail wrote it again since (a rollback).
    Stale,
    /// The trail says it was deleted or erased, yet the row is there (an erasure undone).
    Deleted,
    /// The trail says it exists, and there is no row (deleted from the file).
    Missing,
    /// A row the trail never wrote (inserted into the file).
    Untracked,
}

impl DamageReason {
    /// The reason's name in exports and `--json` output.
    pub fn as_str(self) -> &'static str {
        match self {
            DamageReason::Unreadable => "unreadable",
            DamageReason::Stale => "stale",
            DamageReason::Deleted => "deleted",
            DamageReason::Missing => "missing",
            DamageReason::Untracked => "untracked",
        }
    }
}

/// Where verification found the chain broken.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
pub enum ChainBreak {
    /// An entry is missing, or entries were inserted or renumbered, at this sequence number.
    #[error("entry {expected} is missing or out of order (found {found})")]
    Sequence { expected: i64, found: i64 },
    /// This entry was altered, inserted or moved.
    #[error("entry {seq} does not match its MAC")]
    BadMac { seq: i64 },
    /// The log ends before the recorded head: its tail was cut.
    #[error("the log ends at {last} but its head says {head}")]
    Truncated { last: i64, head: i64 },
    /// The head itself was altered, or entries were added after it.
    #[error("the log head does not match the entries")]
    BadHead,
    /// The auditor's note this entry recorded is gone, and no erasure accounts for it.
    #[error("the annotation noted at entry {seq} was deleted")]
    AnnotationGone { seq: i64 },
    /// A record row is not what the trail last wrote (the first one found; the field-audit
    /// findings list them all).
    #[error("{kind:?} {id} does not match the trail ({reason:?})")]
    Record {
        kind: RecordKind,
        id: String,
        reason: DamageReason,
    },
}
