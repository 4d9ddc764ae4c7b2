//! Doors into the core's private parsers, for the fuzz targets in `fuzz/` only: compiled with
//! the `fuzzing` feature, which no shipped build turns on. Each one calls the code the store
//! itself runs (nothing here re-implements a parser); keys and places are the store's types,
//! wrapped so that they can be made from fuzz bytes.

use chrono::NaiveDate;
use serde::{Serialize, de::DeserializeOwned};

use crate::audit::{self, AuditEntry};
use crate::body;
use crate::crypto::{self, KeyId, SecretKey};
use crate::db::{self, ConsentBody, LivelihoodBody, ReferralBody};
use crate::domain::{
    ClubInput, ConsentInput, LivelihoodInput, MeetingInput, MemberInput, ReferralInput,
    StateChange, SupportFollowUp,
};
use crate::error::ChainBreak;
use crate::error::{RecordKind, Result};
use crate::safety::BackupFile;
use crate::sync;

/// A 256-bit key of the store's own type.
pub struct Key(SecretKey);

impl Key {
    pub fn from_bytes(bytes: [u8; 32]) -> Key {
        Key(SecretKey::from_slice(&bytes).unwrap_or_else(|_| unreachable!()))
    }

    pub fn generate() -> Result<Key> {
        SecretKey::generate().map(Key)
    }

    pub fn bytes(&self) -> [u8; 32] {
        *self.0.as_bytes()
    }
}

/// Where a sealed value lives; the table is the one the store keeps records of `kind` in.
pub struct Place {
    pub kind: RecordKind,
    pub id: String,
    pub bound: String,
}

impl Place {
    fn as_crypto(&self) -> crypto::Place<'_> {
        let table = match self.kind {
            RecordKind::Club => "clubs",
            RecordKind::Member => "members",
            RecordKind::MemberKey => "member_keys",
            RecordKind::Consent => "consents",
            RecordKind::Meeting => "meetings",
            RecordKind::Livelihood => "livelihood",
            RecordKind::Referral => "referrals",
            RecordKind::User => "users",
            RecordKind::Annotation => "annotations",
            RecordKind::Canary | RecordKind::Audit | RecordKind::DeviceKey => "meta",
        };
        crypto::Place {
            table,
            kind: self.kind,
            id: &self.id,
            bound: &self.bound,
        }
    }
}

// ---- the sealed envelope (crypto.rs) ------------------------------------------------------

pub fn seal(key: &Key, key_id: [u8; 16], place: &Place, plain: &[u8]) -> Result<Vec<u8>> {
    crypto::seal(&key.0, KeyId(key_id), &place.as_crypto(), plain).map(|s| s.as_bytes().to_vec())
}

pub fn open(key: &Key, key_id: [u8; 16], place: &Place, envelope: &[u8]) -> Result<Vec<u8>> {
    crypto::open(&key.0, KeyId(key_id), &place.as_crypto(), envelope).map(|p| p.to_vec())
}

pub fn envelope_key_id(place: &Place, envelope: &[u8]) -> Result<[u8; 16]> {
    crypto::envelope_key_id(&place.as_crypto(), envelope).map(|k| k.0)
}

// ---- member keys (store.rs) ---------------------------------------------------------------

/// Seals `key_bytes` (any length, so that a wrong-length key can be tried) as the row of
/// `member_keys` for `member_id`, as `Store::add_member` does.
pub fn wrap_member_key(
    member_wrap: &Key,
    store_kid: [u8; 16],
    member_id: &str,
    key_bytes: &[u8],
) -> Result<Vec<u8>> {
    crypto::seal(
        &member_wrap.0,
        KeyId(store_kid),
        &db::member_key_place(member_id),
        key_bytes,
    )
    .map(|s| s.as_bytes().to_vec())
}

pub fn unwrap_member_key(
    member_wrap: &Key,
    store_kid: [u8; 16],
    member_id: &str,
    wrapped: &[u8],
) -> Result<Key> {
    let (mut plain, mut aad) = (zeroize::Zeroizing::new(Vec::new()), Vec::new());
    db::unwrap_member_key_into(
        &member_wrap.0,
        KeyId(store_kid),
        member_id,
        wrapped,
        &mut plain,
        &mut aad,
    )
    .map(Key)
}

// ---- record bodies (body.rs) --------------------------------------------------------------

pub fn bucket(len: usize, floor: usize) -> usize {
    body::bucket(len, floor)
}

pub fn encode_body<T: Serialize>(value: &T, floor: usize) -> Result<Vec<u8>> {
    body::encode(value, floor).map(|b| b.to_vec())
}

pub fn decode_body<T: DeserializeOwned>(plain: &[u8]) -> Option<T> {
    body::decode(plain)
}

/// A stored body read as the table of `kind` reads it and written again as today's encoding
/// (the upgrade's reseal).
pub fn reencode(kind: RecordKind, plain: &[u8]) -> Result<Vec<u8>> {
    db::reencode_kind(kind, plain).map(|b| b.to_vec())
}

pub fn encode_consent_body(
    info: &ConsentInput,
    withdrawn_on: Option<NaiveDate>,
    floor: usize,
) -> Result<Vec<u8>> {
    let b = ConsentBody {
        info: info.clone(),
        withdrawn_on,
    };
    encode_body(&b, floor)
}

pub fn decode_consent_body(plain: &[u8]) -> Option<(ConsentInput, Option<NaiveDate>)> {
    body::decode::<ConsentBody>(plain).map(|b| (b.info, b.withdrawn_on))
}

pub fn encode_livelihood_body(
    info: &LivelihoodInput,
    follow_ups: &[SupportFollowUp],
    floor: usize,
) -> Result<Vec<u8>> {
    let b = LivelihoodBody {
        info: info.clone(),
        follow_ups: follow_ups.to_vec(),
    };
    encode_body(&b, floor)
}

pub fn decode_livelihood_body(plain: &[u8]) -> Option<(LivelihoodInput, Vec<SupportFollowUp>)> {
    body::decode::<LivelihoodBody>(plain).map(|b| (b.info, b.follow_ups))
}

pub fn encode_referral_body(
    info: &ReferralInput,
    history: &[StateChange],
    floor: usize,
) -> Result<Vec<u8>> {
    let b = ReferralBody {
        info: info.clone(),
        history: history.to_vec(),
    };
    encode_body(&b, floor)
}

pub fn decode_referral_body(plain: &[u8]) -> Option<(ReferralInput, Vec<StateChange>)> {
    body::decode::<ReferralBody>(plain).map(|b| (b.info, b.history))
}

/// The validation every input goes through before the store writes it.
pub fn normalize_club(v: &ClubInput) -> Result<ClubInput> {
    v.normalized()
}

pub fn normalize_member(v: &MemberInput, today: NaiveDate) -> Result<MemberInput> {
    v.normalized(today)
}

pub fn normalize_consent(v: &ConsentInput, today: NaiveDate) -> Result<ConsentInput> {
    v.normalized(today)
}

pub fn normalize_meeting(v: &MeetingInput, today: NaiveDate) -> Result<MeetingInput> {
    v.normalized(today)
}

pub fn normalize_livelihood(v: &LivelihoodInput, today: NaiveDate) -> Result<LivelihoodInput> {
    v.normalized(today)
}

pub fn normalize_support_follow_up(
    v: &SupportFollowUp,
    today: NaiveDate,
) -> Result<SupportFollowUp> {
    v.normalized(today)
}

pub fn normalize_referral(v: &ReferralInput) -> Result<ReferralInput> {
    v.normalized()
}

// ---- the backup file (safety.rs) ----------------------------------------------------------

/// A backup file split into its parts.
pub struct Backup<'a>(BackupFile<'a>);

pub fn parse_backup(file: &[u8]) -> Result<Backup<'_>> {
    BackupFile::parse(file).map(Backup)
}

impl Backup<'_> {
    /// The key the recovery secret gives for this file (Argon2: slow).
    pub fn key(&self, recovery_secret: &str) -> Result<Key> {
        crate::safety::backup_key(recovery_secret, &self.0).map(Key)
    }

    /// What `Store::restore` would write as the database, and the store key it would use.
    pub fn open(&self, key: &Key) -> Result<(Key, Vec<u8>)> {
        self.0
            .open(&key.0)
            .map(|(store_key, inner)| (Key(store_key), inner[32..].to_vec()))
    }
}

// ---- the audit chain (audit.rs) -----------------------------------------------------------

/// Each entry's MAC, as `ledger::append` chains them, and the head it then stores.
pub fn chain(audit_key: &Key, store_id: &str, entries: &[AuditEntry]) -> (Vec<Vec<u8>>, Vec<u8>) {
    let mut prev = audit::genesis(&audit_key.0, store_id);
    let mut macs = Vec::with_capacity(entries.len());
    let mut seq = 0;
    for e in entries {
        prev = audit::chain_mac(&audit_key.0, &prev, e);
        macs.push(prev.to_vec());
        seq = e.seq;
    }
    (macs, audit::encode_head(&audit_key.0, seq, &prev))
}

pub fn verify_chain(
    audit_key: &Key,
    store_id: &str,
    entries: &[(AuditEntry, Vec<u8>)],
    head: Option<&[u8]>,
) -> std::result::Result<i64, ChainBreak> {
    audit::verify_chain(&audit_key.0, store_id, entries, head).map(|(seq, _)| seq)
}

// ---- enrollment (sync.rs) -----------------------------------------------------------------

/// The base URL every request to the province starts from, as `Store::enroll` checks it.
pub fn server_base(url: &str) -> Result<String> {
    sync::server_base(url)
}

/// How many trust anchors a pinned certificate (PEM) gives.
pub fn pinned_roots(pem: &str) -> Result<usize> {
    sync::pinned_roots(pem).map(|r| r.len())
}

/// The member import's reading of a table (header, columns, rows, duplicates within the file),
/// as `Store::plan_member_import` runs it, without a store: no member is already there.
pub fn plan_import(
    table: &crate::import::Table,
    options: &crate::import::ImportOptions,
    today: NaiveDate,
) -> std::result::Result<crate::import::ImportPlan, crate::import::ImportError> {
    crate::import::plan(table, options, today, |_| None)
}
