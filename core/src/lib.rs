//! Chung Tay core: the clubs' records in an encrypted offline store.
//!
//! Everything the app does lives here; the Android UI, the CLI and the server call into it.
//! Personal data is sealed before it reaches SQLite and opened only while the store is unlocked.

pub mod access;
pub mod audit;
mod body;
mod clubs;
mod consent;
mod crypto;
mod db;
pub mod domain;
pub mod error;
/// Thin doors into private parsers, for `fuzz/` only (feature `fuzzing`, off by default).
#[cfg(feature = "fuzzing")]
#[doc(hidden)]
pub mod fuzzing;
pub mod import;
mod index;
pub mod keys;
mod labels;
mod ledger;
mod livelihood;
mod meetings;
mod members;
mod referrals;
pub mod report;
pub mod safety;
pub mod schema;
mod session;
mod slots;
mod snapshot;
pub mod store;
pub mod sync;
pub mod text;
pub mod trail;

pub use access::Permission;
pub use access::UserRole;
pub use audit::{AuditAction, AuditEntry};
pub use domain::*;
pub use error::ChungTayError;
pub use error::{ChainBreak, DamageReason, Damaged};
pub use error::{DeviceSecretError, Error, Reason, RecordKind, Result, ValidationError};
pub use index::{MemberFilter, MemberPage, MemberRow};
pub use keys::{DeviceSecret, KdfParams, SoftwareDeviceSecret};
pub use store::{NewUser, Store, UserInfo};
pub use trail::{
    Annotation, AuditExport, AuditFindings, Checkpoint, OverdueThresholds, verify_export,
};

// The domain types above derive uniffi's traits under this feature; bindings/ exports the API.
#[cfg(feature = "uniffi")]
uniffi::setup_scaffolding!("chungtay_core");

#[cfg(feature = "uniffi")]
mod ffi_types {
    use chrono::{DateTime, NaiveDate};

    use crate::domain::Timestamp;

    use crate::error::{ChungTayError, Reason};

    fn bad_date(field: &str) -> uniffi::deps::anyhow::Error {
        ChungTayError::Invalid {
            field: field.to_owned(),
            reason: Reason::BadDate,
        }
        .into()
    }

    // Calendar dates cross as ISO text ("2026-11-29"): Kotlin's LocalDate.parse reads it.
    uniffi::custom_type!(NaiveDate, String, {
        remote,
        lower: |d| d.format("%Y-%m-%d").to_string(),
        try_lift: |s| NaiveDate::parse_from_str(&s, "%Y-%m-%d").map_err(|_| bad_date("date")),
    });

    // Instants cross as milliseconds since the epoch: Kotlin's Instant.ofEpochMilli reads it.
    uniffi::custom_type!(Timestamp, i64, {
        remote,
        lower: |t| t.timestamp_millis(),
        try_lift: |ms| DateTime::from_timestamp_millis(ms).ok_or_else(|| bad_date("timestamp")),
    });
}
