use thiserror::Error;

/// Protocol failures. Each variant carries at most a fixed label naming the field or the check,
/// never a value taken from a payload.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum ProtocolError {
    /// A signature did not verify under the expected key.
    #[error("bad signature")]
    BadSignature,
    /// The HPKE ciphertext could not be opened (wrong key, tampered `enc`, ciphertext or AAD).
    #[error("cannot decrypt")]
    Decrypt,
    /// A field is missing, of the wrong length, or not valid JSON/base64.
    #[error("malformed: {0}")]
    Malformed(&'static str),
    /// Two values that must agree do not (e.g. the referral id outside and inside the envelope).
    #[error("mismatch: {0}")]
    Mismatch(&'static str),
    /// A shared field is not covered by the consent carried with the referral.
    #[error("shared field not covered by consent")]
    NotConsented,
    /// A signed request's timestamp is outside the accepted window.
    #[error("timestamp outside the accepted window")]
    Stale,
    /// Key generation, random numbers or encryption failed.
    #[error("crypto failure: {0}")]
    Crypto(&'static str),
}
