//! Chung Tay wire protocol, shared by the phone's core and the provincial intake server.
//!
//! - Wire types are serde JSON; binary fields are standard base64 strings ([`B64`]).
//! - A referral is signed by the device's Ed25519 key (over the province key it is sealed to,
//!   too), padded to a size bucket and sealed to the province with HPKE (RFC 9180 base mode,
//!   X25519-HKDF-SHA256, HKDF-SHA256, ChaCha20-Poly1305): see [`seal_referral`] and
//!   [`open_submission`].
//! - Receipts and status updates are signed by the province's Ed25519 key, over the device id
//!   they are for; audit checkpoints (each naming the one it extends) and pull requests are
//!   signed by the device key. Every signed message starts with its own domain-separation
//!   label, so a signature of one kind can never pass as another.
//!
//! Errors ([`ProtocolError`]) carry only fixed labels, never payload contents.

mod b64;
pub mod cells;
mod error;
mod keys;
mod referral;
mod signed;
pub mod text;
mod wire;

pub use b64::B64;
pub use error::ProtocolError;
pub use keys::{DeviceKeys, ProvinceHpkeKeys, ProvincePins, SigningKeys, verify_ed25519};
pub use referral::{
    MIN_CIPHERTEXT_LEN, OpenedReferral, open_submission, open_submission_full, payload_hash,
    referral_aad, referral_signed_message, seal_referral,
};
pub use signed::{
    checkpoint_message, pull_message, receipt_message, sign_checkpoint, sign_pull, sign_receipt,
    sign_status, status_message, verify_checkpoint, verify_pull, verify_receipt, verify_status,
};
pub use wire::{
    Checkpoint, CheckpointAck, CheckpointRef, Consent, EnrollRequest, EnrollResponse, ErrorBody,
    PullRequest, Receipt, ReferralPayload, StaffReferral, StaffReferralList, StatusPage,
    StatusUpdate, Submission, TransitionRequest,
};

/// HPKE `info` for referrals.
pub const REFERRAL_INFO: &[u8] = b"chungtay referral v1";
/// Accepted clock difference for signed pull requests, in seconds (either way).
pub const PULL_WINDOW_SECS: i64 = 600;
/// Most status updates returned by one pull.
pub const MAX_STATUS_PAGE: usize = 100;
/// Longest device id or referral id, in bytes.
pub const MAX_ID_LEN: usize = 128;

/// Referral states the province reports, in lifecycle order.
pub const STATUS_STATES: [&str; 5] = [
    "received",
    "accepted",
    "declined",
    "in_progress",
    "completed",
];

/// Whether the province may move a referral from `from` to `to`
/// (received -> accepted | declined; accepted -> in_progress; in_progress -> completed).
pub fn transition_allowed(from: &str, to: &str) -> bool {
    matches!(
        (from, to),
        ("received", "accepted")
            | ("received", "declined")
            | ("accepted", "in_progress")
            | ("in_progress", "completed")
    )
}

/// Checks an identifier that goes into a NUL-separated signed message or AAD:
/// non-empty, at most [`MAX_ID_LEN`] bytes, no control characters (so no NUL).
pub fn validate_id(id: &str, what: &'static str) -> Result<(), ProtocolError> {
    if id.is_empty() || id.len() > MAX_ID_LEN || id.chars().any(char::is_control) {
        return Err(ProtocolError::Malformed(what));
    }
    Ok(())
}
