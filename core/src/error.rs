//! Typed errors. None of them carries personal data: ids, field names and counts only.

use std::fmt;

/// The kinds of record the store keeps; named in integrity and not-found errors.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
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
}

impl RecordKind {
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
        }
    }
}

impl fmt::Display for RecordKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a value was refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Reason {
    Empty,
    TooLong {
        max: usize,
    },
    TooShort {
        min: usize,
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
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Reason::Empty => write!(f, "must not be empty"),
            Reason::TooLong { max } => write!(f, "is longer than {max} characters"),
            Reason::TooShort { min } => write!(f, "is shorter than {min} characters"),
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

/// Why the device's secret could not be used.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum DeviceSecretError {
    /// The key is gone (app data cleared, Keystore reset, another phone).
    #[error("the device key is missing")]
    Missing,
    /// The keystore failed for another reason; may work on a retry.
    #[error("the device keystore failed: {0}")]
    Failed(String),
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
    #[error("KDF parameters below the minimum (m={min_m_kib} KiB, t={min_t})")]
    WeakKdf { min_m_kib: u32, min_t: u32 },
    #[error("cryptographic operation failed")]
    Crypto,
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
