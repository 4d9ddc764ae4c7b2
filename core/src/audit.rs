//! The tamper-evident audit trail: an append-only chain of entries, each carrying
//! HMAC-SHA256(audit key, previous MAC || entry). A keyed head (last sequence number and MAC)
//! catches a truncated tail; device-signed checkpoints sent with every sync catch a log cut
//! after the fact. Entries hold who, when, what (kind, id, names of changed fields): never values.

use ring::hmac;
use serde::{Deserialize, Serialize};

use crate::access::UserRole;
use crate::crypto::SecretKey;
use crate::domain::{Id, Timestamp};
use crate::error::ChainBreak;
use crate::error::RecordKind;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
pub enum AuditAction {
    Create,
    Update,
    Delete,
    /// A sensitive record was opened: member detail, meeting notes, a referral.
    Read,
    Export,
    Unlock,
    UnlockFailed,
    PinChange,
    UserAdd,
    Annotate,
    Checkpoint,
    Sync,
    Wipe,
    Restore,
}

impl AuditAction {
    pub fn as_str(self) -> &'static str {
        match self {
            AuditAction::Create => "create",
            AuditAction::Update => "update",
            AuditAction::Delete => "delete",
            AuditAction::Read => "read",
            AuditAction::Export => "export",
            AuditAction::Unlock => "unlock",
            AuditAction::UnlockFailed => "unlock_failed",
            AuditAction::PinChange => "pin_change",
            AuditAction::UserAdd => "user_add",
            AuditAction::Annotate => "annotate",
            AuditAction::Checkpoint => "checkpoint",
            AuditAction::Sync => "sync",
            AuditAction::Wipe => "wipe",
            AuditAction::Restore => "restore",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        use AuditAction::*;
        [
            Create,
            Update,
            Delete,
            Read,
            Export,
            Unlock,
            UnlockFailed,
            PinChange,
            UserAdd,
            Annotate,
            Checkpoint,
            Sync,
            Wipe,
            Restore,
        ]
        .into_iter()
        .find(|a| a.as_str() == s)
    }
}

/// One entry of the trail. Its field names are sealed in the file (they tell which protected
/// field changed), so Debug leaves them out too.
#[derive(Clone, PartialEq, Eq)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct AuditEntry {
    pub seq: i64,
    pub at: Timestamp,
    /// The user who acted, or the id someone tried to unlock as.
    pub user_id: Id,
    pub role: Option<UserRole>,
    pub device_id: String,
    pub action: AuditAction,
    pub kind: Option<RecordKind>,
    pub record_id: String,
    /// Names of the fields an update changed (dotted for nested ones); never their values.
    pub fields: Vec<String>,
}
crate::domain::redacted_debug!(AuditEntry {
    seq,
    at,
    user_id,
    role,
    action,
    kind,
    record_id
});

pub(crate) const MAC_LEN: usize = 32;
pub(crate) type Mac = [u8; MAC_LEN];

fn key(audit_key: &SecretKey) -> hmac::Key {
    hmac::Key::new(hmac::HMAC_SHA256, audit_key.as_bytes())
}

/// Length-prefixed parts, so that no two different part lists give the same MAC input.
fn framed(parts: &[&[u8]]) -> Vec<u8> {
    let mut data = Vec::new();
    for p in parts {
        data.extend_from_slice(&(p.len() as u64).to_be_bytes());
        data.extend_from_slice(p);
    }
    data
}

fn tag(audit_key: &SecretKey, parts: &[&[u8]]) -> Mac {
    let mut out = [0u8; MAC_LEN];
    out.copy_from_slice(hmac::sign(&key(audit_key), &framed(parts)).as_ref());
    out
}

/// Constant-time check of a stored MAC (ring's verify).
fn check(audit_key: &SecretKey, parts: &[&[u8]], stored: &[u8]) -> bool {
    hmac::verify(&key(audit_key), &framed(parts), stored).is_ok()
}

/// The MAC the chain starts from: bound to this store, so a log cannot be moved between stores.
pub(crate) fn genesis(audit_key: &SecretKey, store_id: &str) -> Mac {
    tag(
        audit_key,
        &[b"chungtay.audit.genesis.v1", store_id.as_bytes()],
    )
}

fn canonical(e: &AuditEntry) -> Vec<u8> {
    let role = e.role.map(|r| r.as_str()).unwrap_or("");
    let kind = e.kind.map(|k| k.as_str()).unwrap_or("");
    let text = [
        e.at.timestamp_micros().to_string().as_str(),
        &e.user_id,
        role,
        &e.device_id,
        e.action.as_str(),
        kind,
        &e.record_id,
        &e.fields.join(","),
    ]
    .join("\u{1f}");
    let mut out = e.seq.to_be_bytes().to_vec();
    out.extend_from_slice(text.as_bytes());
    out
}

pub(crate) fn chain_mac(audit_key: &SecretKey, prev: &Mac, entry: &AuditEntry) -> Mac {
    tag(
        audit_key,
        &[b"chungtay.audit.entry.v1", prev, &canonical(entry)],
    )
}

/// The head record: last sequence number and MAC, authenticated.
pub(crate) fn head_tag(audit_key: &SecretKey, seq: i64, mac: &Mac) -> Mac {
    tag(
        audit_key,
        &[b"chungtay.audit.head.v1", &seq.to_be_bytes(), mac],
    )
}

/// The stored head: `seq || mac || tag`.
pub(crate) fn encode_head(audit_key: &SecretKey, seq: i64, mac: &Mac) -> Vec<u8> {
    let mut out = seq.to_be_bytes().to_vec();
    out.extend_from_slice(mac);
    out.extend_from_slice(&head_tag(audit_key, seq, mac));
    out
}

pub(crate) fn decode_head(bytes: &[u8]) -> Option<(i64, Mac, Mac)> {
    if bytes.len() != 8 + 2 * MAC_LEN {
        return None;
    }
    let seq = i64::from_be_bytes(bytes[..8].try_into().ok()?);
    let mac: Mac = bytes[8..8 + MAC_LEN].try_into().ok()?;
    let t: Mac = bytes[8 + MAC_LEN..].try_into().ok()?;
    Some((seq, mac, t))
}

/// Checks a whole chain (entries in stored order, each with its stored MAC) against its head.
/// Returns the last sequence number and MAC.
pub(crate) fn verify_chain(
    audit_key: &SecretKey,
    store_id: &str,
    entries: &[(AuditEntry, Vec<u8>)],
    head: Option<&[u8]>,
) -> Result<(i64, Mac), ChainBreak> {
    let mut prev = genesis(audit_key, store_id);
    let mut last = 0i64;
    for (entry, mac) in entries {
        if entry.seq != last + 1 {
            return Err(ChainBreak::Sequence {
                expected: last + 1,
                found: entry.seq,
            });
        }
        if !check(
            audit_key,
            &[b"chungtay.audit.entry.v1", &prev, &canonical(entry)],
            mac,
        ) {
            return Err(ChainBreak::BadMac { seq: entry.seq });
        }
        prev = chain_mac(audit_key, &prev, entry);
        last = entry.seq;
    }
    match head.map(decode_head) {
        // Every store has a head from its creation on (seq 0 before the first entry).
        None | Some(None) => Err(ChainBreak::BadHead),
        Some(Some((seq, mac, t))) => {
            if !check(
                audit_key,
                &[b"chungtay.audit.head.v1", &seq.to_be_bytes(), &mac],
                &t,
            ) {
                return Err(ChainBreak::BadHead);
            }
            if seq > last {
                return Err(ChainBreak::Truncated { last, head: seq });
            }
            // The head is authentic here, so a plain comparison is enough.
            if seq < last || mac != prev {
                return Err(ChainBreak::BadHead);
            }
            Ok((last, prev))
        }
    }
}

/// Names of the fields that differ between two JSON bodies, one level into nested objects.
pub(crate) fn changed_fields(old: &serde_json::Value, new: &serde_json::Value) -> Vec<String> {
    fn walk(
        prefix: &str,
        old: &serde_json::Value,
        new: &serde_json::Value,
        depth: u8,
        out: &mut Vec<String>,
    ) {
        match (old, new) {
            (serde_json::Value::Object(a), serde_json::Value::Object(b)) if depth < 2 => {
                let mut keys: Vec<&String> = a.keys().chain(b.keys()).collect();
                keys.sort();
                keys.dedup();
                for k in keys {
                    let name = if prefix.is_empty() {
                        k.clone()
                    } else {
                        format!("{prefix}.{k}")
                    };
                    let null = serde_json::Value::Null;
                    walk(
                        &name,
                        a.get(k).unwrap_or(&null),
                        b.get(k).unwrap_or(&null),
                        depth + 1,
                        out,
                    );
                }
            }
            _ if old != new => out.push(prefix.to_owned()),
            _ => {}
        }
    }
    let mut out = Vec::new();
    walk("", old, new, 0, &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{TimeZone, Utc};

    /// A small deterministic generator: the property test must be repeatable.
    struct Rng(u64);
    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }
        fn below(&mut self, n: usize) -> usize {
            (self.next() % n as u64) as usize
        }
    }

    fn entry(seq: i64, rng: &mut Rng) -> AuditEntry {
        let actions = [AuditAction::Create, AuditAction::Update, AuditAction::Read];
        AuditEntry {
            seq,
            at: Utc
                .timestamp_opt(1_760_000_000 + seq * 60, 0)
                .single()
                .unwrap(),
            user_id: format!("user-{}", rng.below(3)),
            role: Some(UserRole::Leader),
            device_id: "device-1".into(),
            action: actions[rng.below(3)],
            kind: Some(RecordKind::Member),
            record_id: format!("member-{}", rng.below(20)),
            fields: if rng.below(2) == 0 {
                vec![]
            } else {
                vec!["village".into()]
            },
        }
    }

    fn build(key: &SecretKey, n: i64, rng: &mut Rng) -> (Vec<(AuditEntry, Vec<u8>)>, Vec<u8>) {
        let mut prev = genesis(key, "store");
        let mut out = Vec::new();
        for seq in 1..=n {
            let e = entry(seq, rng);
            prev = chain_mac(key, &prev, &e);
            out.push((e, prev.to_vec()));
        }
        let head = encode_head(key, n, &prev);
        (out, head)
    }

    #[test]
    fn an_intact_chain_verifies() {
        let key = SecretKey::generate().unwrap();
        let mut rng = Rng(7);
        let (entries, head) = build(&key, 40, &mut rng);
        assert_eq!(
            verify_chain(&key, "store", &entries, Some(&head))
                .unwrap()
                .0,
            40
        );
        // An empty trail verifies with its seq-0 head, and not without one (all deleted).
        let start = encode_head(&key, 0, &genesis(&key, "store"));
        assert!(verify_chain(&key, "store", &[], Some(&start)).is_ok());
        assert_eq!(
            verify_chain(&key, "store", &[], None),
            Err(ChainBreak::BadHead)
        );
        // Another store's key or id does not verify it.
        let other = SecretKey::generate().unwrap();
        assert!(verify_chain(&other, "store", &entries, Some(&head)).is_err());
        assert!(verify_chain(&key, "other-store", &entries, Some(&head)).is_err());
    }

    /// Thousands of random single edits, deletions, insertions, reorders and tail truncations:
    /// every one is caught.
    #[test]
    fn every_random_single_tampering_is_caught() {
        let key = SecretKey::generate().unwrap();
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
        let mut kinds = [0usize; 6];
        for round in 0..5000 {
            let n = 2 + rng.below(40) as i64;
            let (mut entries, head) = build(&key, n, &mut rng);
            let i = rng.below(entries.len());
            let kind = rng.below(6);
            kinds[kind] += 1;
            match kind {
                // Edit one field of one entry.
                0 => {
                    let e = &mut entries[i].0;
                    match rng.below(6) {
                        0 => e.user_id.push('x'),
                        1 => e.at += chrono::Duration::seconds(1),
                        2 => e.record_id = "member-99".into(),
                        3 => e.fields.push("survivor_status".into()),
                        4 => e.action = AuditAction::Delete,
                        _ => e.role = Some(UserRole::Auditor),
                    }
                }
                // Delete one entry (the last one too: then the head catches it).
                1 => {
                    entries.remove(i);
                }
                // Insert a forged entry (its MAC made with a guessed key).
                2 => {
                    let fake_key = SecretKey::generate().unwrap();
                    let mut forged = entry(i as i64 + 1, &mut rng);
                    forged.record_id = "forged".into();
                    let mac = chain_mac(&fake_key, &[0; 32], &forged).to_vec();
                    entries.insert(i, (forged, mac));
                    for (k, (e, _)) in entries.iter_mut().enumerate().skip(i + 1) {
                        e.seq = k as i64 + 1;
                    }
                }
                // Swap two neighbours, with or without renumbering.
                3 => {
                    let j = if i + 1 < entries.len() { i + 1 } else { i - 1 };
                    entries.swap(i, j);
                    if rng.below(2) == 0 {
                        let (si, sj) = (entries[i].0.seq, entries[j].0.seq);
                        entries[i].0.seq = sj;
                        entries[j].0.seq = si;
                    }
                }
                // Cut the tail.
                4 => {
                    let keep = rng.below(entries.len());
                    entries.truncate(keep);
                }
                // Flip one bit of one stored MAC.
                _ => {
                    let b = rng.below(MAC_LEN);
                    entries[i].1[b] ^= 1 << rng.below(8);
                }
            }
            assert!(
                verify_chain(&key, "store", &entries, Some(&head)).is_err(),
                "round {round}, tampering kind {kind} at {i} went unnoticed"
            );
        }
        assert!(kinds.iter().all(|k| *k > 500), "{kinds:?}");
    }

    #[test]
    fn a_forged_or_stale_head_is_caught() {
        let key = SecretKey::generate().unwrap();
        let mut rng = Rng(3);
        let (entries, head) = build(&key, 10, &mut rng);
        let mut bad = head.clone();
        bad[3] ^= 1;
        assert_eq!(
            verify_chain(&key, "store", &entries, Some(&bad)),
            Err(ChainBreak::BadHead)
        );
        // The head of an earlier state: entries were appended without it.
        let stale = encode_head(&key, 9, entries[8].1.as_slice().try_into().unwrap());
        assert_eq!(
            verify_chain(&key, "store", &entries, Some(&stale)),
            Err(ChainBreak::BadHead)
        );
        assert_eq!(
            verify_chain(&key, "store", &entries[..7], Some(&head)),
            Err(ChainBreak::Truncated { last: 7, head: 10 })
        );
        assert_eq!(
            verify_chain(&key, "store", &entries, None),
            Err(ChainBreak::BadHead)
        );
    }

    #[test]
    fn changed_fields_names_only_what_changed() {
        let a =
            serde_json::json!({"full_name": "A", "village": "X", "info": {"note": "n", "k": 1}});
        let b =
            serde_json::json!({"full_name": "A", "village": "Y", "info": {"note": "m", "k": 1}});
        assert_eq!(changed_fields(&a, &b), vec!["info.note", "village"]);
        assert!(changed_fields(&a, &a).is_empty());
    }
}
