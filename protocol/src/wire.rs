use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::B64;

/// `POST /v1/enroll` body: a one-time code from the province and the device's Ed25519 public key.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EnrollRequest {
    pub code: String,
    pub device_public_key: B64,
}

impl fmt::Debug for EnrollRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The code is a secret until used.
        f.debug_struct("EnrollRequest")
            .field("device_public_key", &self.device_public_key)
            .finish_non_exhaustive()
    }
}

/// The answer to an enrollment: the device's id and the two province keys it pins.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EnrollResponse {
    pub device_id: String,
    /// X25519 public key (32 bytes) referrals are sealed to.
    pub province_hpke_public_key: B64,
    /// Ed25519 public key (32 bytes) that signs receipts and status updates.
    pub province_signing_key: B64,
}

/// Consent that travels with a referral: for what, to whom, which fields, and when it was given.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Consent {
    pub purposes: Vec<String>,
    pub recipient: String,
    pub fields: Vec<String>,
    pub given_on: String,
}

/// What the province reads. Plain strings keep the protocol independent of the core's enums.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReferralPayload {
    pub referral_id: String,
    pub services: Vec<String>,
    pub urgency: String,
    pub note: String,
    /// Only the consented fields (e.g. "name", "birth_year", "commune", "need").
    pub shared: BTreeMap<String, String>,
    pub consent: Consent,
    pub created_at: String,
}

impl fmt::Debug for ReferralPayload {
    // Ids, categories and field names only: never the note or a shared value.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ReferralPayload")
            .field("referral_id", &self.referral_id)
            .field("services", &self.services)
            .field("urgency", &self.urgency)
            .field("shared_fields", &self.shared.keys().collect::<Vec<_>>())
            .field("consent", &self.consent)
            .field("created_at", &self.created_at)
            .finish_non_exhaustive()
    }
}

/// `POST /v1/referrals` body: a referral sealed to the province. The device seals once and
/// retries with these same bytes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Submission {
    pub device_id: String,
    pub referral_id: String,
    /// HPKE encapsulated key (32 bytes).
    pub enc: B64,
    /// HPKE ciphertext of `{payload_json, signature}`.
    pub ciphertext: B64,
}

/// The province's signed acknowledgement that it holds a referral with this payload hash.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Receipt {
    pub referral_id: String,
    /// SHA-256 of the payload JSON (32 bytes).
    pub payload_hash: B64,
    /// RFC 3339, UTC.
    pub received_at: String,
    pub signature: B64,
}

/// A province-signed change of a referral's state, pulled by the device that sent it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatusUpdate {
    /// Per-device cursor, strictly increasing.
    pub seq: i64,
    pub referral_id: String,
    /// received | accepted | declined | in_progress | completed
    pub state: String,
    pub note: String,
    /// RFC 3339, UTC.
    pub at: String,
    pub signature: B64,
}

/// `GET /v1/status` answer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatusPage {
    pub updates: Vec<StatusUpdate>,
    /// The cursor to send next time: the last `seq` returned, or the cursor sent.
    pub cursor: i64,
    /// True if there may be more updates after this page.
    pub more: bool,
    /// The latest audit checkpoint the province keeps for this device (signed by the device
    /// itself): the phone checks its own trail against it.
    #[serde(default)]
    pub checkpoint: Option<Checkpoint>,
}

/// A device-signed head of the phone's audit chain, naming the checkpoint it extends.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Checkpoint {
    pub device_id: String,
    pub seq: i64,
    /// Chain head (32 bytes).
    pub head: B64,
    /// The previous checkpoint the province acknowledged; absent only for the first. The
    /// province refuses a checkpoint that does not name its latest one (a fork: an older copy
    /// of the phone's file, restored).
    #[serde(default)]
    pub prev: Option<CheckpointRef>,
    pub at: String,
    pub signature: B64,
}

/// Names a checkpoint: its seq and head.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckpointRef {
    pub seq: i64,
    /// Chain head (32 bytes).
    pub head: B64,
}

/// The query of `GET /v1/status`: a device-signed pull (`sig` over device id, cursor and `ts`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PullRequest {
    pub device_id: String,
    pub cursor: i64,
    /// Unix seconds.
    pub ts: i64,
    pub sig: B64,
}

/// `POST /v1/staff/referrals/{id}/transition` body.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TransitionRequest {
    pub state: String,
    #[serde(default)]
    pub note: String,
}

impl fmt::Debug for TransitionRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TransitionRequest")
            .field("state", &self.state)
            .finish_non_exhaustive()
    }
}

/// `POST /v1/checkpoints` answer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckpointAck {
    pub device_id: String,
    pub seq: i64,
    /// False if this very checkpoint was already kept (a retry).
    pub stored: bool,
}

/// One referral as provincial staff see it (`GET /v1/staff/referrals`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StaffReferral {
    /// Listing cursor: pass it as `after` to get the next page.
    pub n: i64,
    pub referral_id: String,
    pub device_id: String,
    pub state: String,
    pub received_at: String,
    pub updated_at: String,
    /// The staff token id that made the last transition (absent while only received).
    #[serde(default)]
    pub updated_by: Option<String>,
    pub payload_hash: B64,
    pub payload: ReferralPayload,
}

/// `GET /v1/staff/referrals` answer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StaffReferralList {
    pub referrals: Vec<StaffReferral>,
    /// Pass as `after` for the next page; absent on the last page.
    pub next_after: Option<i64>,
}

/// Every error answer of the server: a stable machine code and a human sentence.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorBody {
    pub error: String,
    pub message: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_hides_personal_values() {
        let p = ReferralPayload {
            referral_id: "r1".into(),
            services: vec!["vocational_training".into()],
            urgency: "normal".into(),
            note: "SECRET-NOTE".into(),
            shared: BTreeMap::from([("name".to_string(), "Lò Thị Xuân".to_string())]),
            consent: Consent {
                purposes: vec!["vocational_training".into()],
                recipient: "province".into(),
                fields: vec!["name".into()],
                given_on: "2025-09-01".into(),
            },
            created_at: "2025-09-01T08:00:00Z".into(),
        };
        let dbg = format!("{p:?}");
        assert!(dbg.contains("r1") && dbg.contains("name"));
        assert!(!dbg.contains("SECRET-NOTE") && !dbg.contains("Xuân"));
        let e = EnrollRequest {
            code: "ABCD-EFGH".into(),
            device_public_key: B64(vec![1; 32]),
        };
        assert!(!format!("{e:?}").contains("ABCD"));
        let t = TransitionRequest {
            state: "accepted".into(),
            note: "class starts on the 5th".into(),
        };
        assert!(!format!("{t:?}").contains("class"));
    }
}
