//! Receipts and status updates (signed by the province), checkpoints and pull requests (signed by
//! the device). Each canonical message starts with its own label, so no signature of one kind
//! verifies as another.

use crate::{
    B64, Checkpoint, CheckpointRef, DeviceKeys, PULL_WINDOW_SECS, ProtocolError, PullRequest,
    Receipt, STATUS_STATES, SigningKeys, StatusUpdate, validate_id, verify_ed25519,
};

// v2: receipts and status updates name the device they are for, checkpoints the one they extend.
const RECEIPT_LABEL: &[u8] = b"chungtay.receipt.v2\0";
const STATUS_LABEL: &[u8] = b"chungtay.status.v2\0";
const CHECKPOINT_LABEL: &[u8] = b"chungtay.checkpoint.v2\0";
const PULL_LABEL: &[u8] = b"chungtay.pull.v1\0";

/// Timestamps and other short text in NUL-separated messages: no control characters, bounded.
fn check_text(s: &str, what: &'static str) -> Result<(), ProtocolError> {
    if s.len() > 64 || s.chars().any(char::is_control) {
        return Err(ProtocolError::Malformed(what));
    }
    Ok(())
}

/// `"chungtay.receipt.v2\0" || device_id || 0 || referral_id || 0 || payload_hash (32 bytes) ||
/// 0 || received_at`. The device id makes a receipt for one phone worthless to another.
pub fn receipt_message(
    device_id: &str,
    referral_id: &str,
    payload_hash: &[u8; 32],
    received_at: &str,
) -> Result<Vec<u8>, ProtocolError> {
    validate_id(device_id, "device_id")?;
    validate_id(referral_id, "referral_id")?;
    check_text(received_at, "received_at")?;
    let mut m = Vec::with_capacity(
        RECEIPT_LABEL.len() + device_id.len() + referral_id.len() + 35 + received_at.len(),
    );
    m.extend_from_slice(RECEIPT_LABEL);
    m.extend_from_slice(device_id.as_bytes());
    m.push(0);
    m.extend_from_slice(referral_id.as_bytes());
    m.push(0);
    m.extend_from_slice(payload_hash);
    m.push(0);
    m.extend_from_slice(received_at.as_bytes());
    Ok(m)
}

/// Province side: a signed receipt.
pub fn sign_receipt(
    province: &SigningKeys,
    device_id: &str,
    referral_id: &str,
    payload_hash: &[u8; 32],
    received_at: &str,
) -> Result<Receipt, ProtocolError> {
    let msg = receipt_message(device_id, referral_id, payload_hash, received_at)?;
    Ok(Receipt {
        referral_id: referral_id.to_string(),
        payload_hash: B64(payload_hash.to_vec()),
        received_at: received_at.to_string(),
        signature: B64(province.sign(&msg)),
    })
}

/// Device side: checks a receipt made for `device_id` (this phone's) against the pinned
/// province signing key. The caller also compares `referral_id` and `payload_hash` with what
/// it sent.
pub fn verify_receipt(
    receipt: &Receipt,
    device_id: &str,
    province_signing_pk: &[u8],
) -> Result<(), ProtocolError> {
    let hash = receipt.payload_hash.to_array::<32>("payload_hash")?;
    let msg = receipt_message(device_id, &receipt.referral_id, &hash, &receipt.received_at)?;
    verify_ed25519(province_signing_pk, &msg, receipt.signature.as_bytes())
}

fn push_lp(m: &mut Vec<u8>, field: &str) -> Result<(), ProtocolError> {
    let len = u32::try_from(field.len()).map_err(|_| ProtocolError::Malformed("field length"))?;
    m.extend_from_slice(&len.to_be_bytes());
    m.extend_from_slice(field.as_bytes());
    Ok(())
}

/// `"chungtay.status.v2\0" || lp(device_id) || seq (i64, 8 bytes big-endian) || lp(referral_id) ||
/// lp(state) || lp(note) || lp(at)`, where `lp(x)` is the length of `x` as a u32 big-endian,
/// then `x` (UTF-8). Length prefixes let the free-text note hold any character; the device id
/// keeps an update for one phone from being replayed to another.
pub fn status_message(
    device_id: &str,
    seq: i64,
    referral_id: &str,
    state: &str,
    note: &str,
    at: &str,
) -> Result<Vec<u8>, ProtocolError> {
    validate_id(device_id, "device_id")?;
    validate_id(referral_id, "referral_id")?;
    // Any well-formed state code verifies, so that a phone can skip a state added by a newer
    // province server instead of taking it for tampering; only `sign_status` insists on the
    // states of this version.
    let code = |c: char| c.is_ascii_lowercase() || c == '_';
    if state.is_empty() || state.len() > 32 || !state.chars().all(code) {
        return Err(ProtocolError::Malformed("state"));
    }
    check_text(at, "at")?;
    let mut m = Vec::with_capacity(
        STATUS_LABEL.len()
            + 28
            + device_id.len()
            + referral_id.len()
            + state.len()
            + note.len()
            + at.len(),
    );
    m.extend_from_slice(STATUS_LABEL);
    push_lp(&mut m, device_id)?;
    m.extend_from_slice(&seq.to_be_bytes());
    push_lp(&mut m, referral_id)?;
    push_lp(&mut m, state)?;
    push_lp(&mut m, note)?;
    push_lp(&mut m, at)?;
    Ok(m)
}

/// Province side: a signed status update.
pub fn sign_status(
    province: &SigningKeys,
    device_id: &str,
    seq: i64,
    referral_id: &str,
    state: &str,
    note: &str,
    at: &str,
) -> Result<StatusUpdate, ProtocolError> {
    if !STATUS_STATES.contains(&state) {
        return Err(ProtocolError::Malformed("state"));
    }
    let msg = status_message(device_id, seq, referral_id, state, note, at)?;
    Ok(StatusUpdate {
        seq,
        referral_id: referral_id.to_string(),
        state: state.to_string(),
        note: note.to_string(),
        at: at.to_string(),
        signature: B64(province.sign(&msg)),
    })
}

/// Device side: checks a status update made for `device_id` (this phone's) against the pinned
/// province signing key.
pub fn verify_status(
    update: &StatusUpdate,
    device_id: &str,
    province_signing_pk: &[u8],
) -> Result<(), ProtocolError> {
    let msg = status_message(
        device_id,
        update.seq,
        &update.referral_id,
        &update.state,
        &update.note,
        &update.at,
    )?;
    verify_ed25519(province_signing_pk, &msg, update.signature.as_bytes())
}

/// `"chungtay.checkpoint.v2\0" || device_id || 0 || seq (i64, 8 bytes big-endian) || head (32) ||
/// prev || at`, where `prev` is one byte 0 (the device's first checkpoint) or one byte 1, the
/// previous checkpoint's seq (8 bytes big-endian) and head (32).
pub fn checkpoint_message(
    device_id: &str,
    seq: i64,
    head: &[u8; 32],
    prev: Option<(i64, &[u8; 32])>,
    at: &str,
) -> Result<Vec<u8>, ProtocolError> {
    validate_id(device_id, "device_id")?;
    check_text(at, "at")?;
    let mut m = Vec::with_capacity(CHECKPOINT_LABEL.len() + device_id.len() + 82 + at.len());
    m.extend_from_slice(CHECKPOINT_LABEL);
    m.extend_from_slice(device_id.as_bytes());
    m.push(0);
    m.extend_from_slice(&seq.to_be_bytes());
    m.extend_from_slice(head);
    match prev {
        None => m.push(0),
        Some((prev_seq, prev_head)) => {
            if prev_seq >= seq {
                return Err(ProtocolError::Malformed("prev"));
            }
            m.push(1);
            m.extend_from_slice(&prev_seq.to_be_bytes());
            m.extend_from_slice(prev_head);
        }
    }
    m.extend_from_slice(at.as_bytes());
    Ok(m)
}

fn prev_of(cp: &Checkpoint) -> Result<Option<(i64, [u8; 32])>, ProtocolError> {
    cp.prev
        .as_ref()
        .map(|p| Ok((p.seq, p.head.to_array::<32>("prev")?)))
        .transpose()
}

/// Device side: signs the head of its audit chain, naming the checkpoint it extends (the last one
/// the province acknowledged; `None` for the first).
pub fn sign_checkpoint(
    device: &DeviceKeys,
    device_id: &str,
    seq: i64,
    head: &[u8; 32],
    prev: Option<(i64, &[u8; 32])>,
    at: &str,
) -> Result<Checkpoint, ProtocolError> {
    let msg = checkpoint_message(device_id, seq, head, prev, at)?;
    Ok(Checkpoint {
        device_id: device_id.to_string(),
        seq,
        head: B64(head.to_vec()),
        prev: prev.map(|(seq, head)| CheckpointRef {
            seq,
            head: B64(head.to_vec()),
        }),
        at: at.to_string(),
        signature: B64(device.sign(&msg)),
    })
}

/// Checks a checkpoint against the device's public key.
pub fn verify_checkpoint(cp: &Checkpoint, device_public_key: &[u8]) -> Result<(), ProtocolError> {
    let head = cp.head.to_array::<32>("head")?;
    let prev = prev_of(cp)?;
    let msg = checkpoint_message(
        &cp.device_id,
        cp.seq,
        &head,
        prev.as_ref().map(|(s, h)| (*s, h)),
        &cp.at,
    )?;
    verify_ed25519(device_public_key, &msg, cp.signature.as_bytes())
}

/// `"chungtay.pull.v1\0" || device_id || 0 || cursor || 0 || ts`, with `cursor` and `ts`
/// (unix seconds) as decimal ASCII.
pub fn pull_message(device_id: &str, cursor: i64, ts: i64) -> Result<Vec<u8>, ProtocolError> {
    validate_id(device_id, "device_id")?;
    let mut m = Vec::with_capacity(PULL_LABEL.len() + device_id.len() + 44);
    m.extend_from_slice(PULL_LABEL);
    m.extend_from_slice(device_id.as_bytes());
    m.push(0);
    m.extend_from_slice(cursor.to_string().as_bytes());
    m.push(0);
    m.extend_from_slice(ts.to_string().as_bytes());
    Ok(m)
}

/// Device side: a signed pull request for status updates after `cursor`, at time `ts`
/// (unix seconds).
pub fn sign_pull(
    device: &DeviceKeys,
    device_id: &str,
    cursor: i64,
    ts: i64,
) -> Result<PullRequest, ProtocolError> {
    let msg = pull_message(device_id, cursor, ts)?;
    Ok(PullRequest {
        device_id: device_id.to_string(),
        cursor,
        ts,
        sig: B64(device.sign(&msg)),
    })
}

/// Server side: checks the signature, and that `ts` is within [`PULL_WINDOW_SECS`] of `now`.
pub fn verify_pull(
    req: &PullRequest,
    device_public_key: &[u8],
    now_unix: i64,
) -> Result<(), ProtocolError> {
    let msg = pull_message(&req.device_id, req.cursor, req.ts)?;
    verify_ed25519(device_public_key, &msg, req.sig.as_bytes())?;
    if now_unix.abs_diff(req.ts) > PULL_WINDOW_SECS.unsigned_abs() {
        return Err(ProtocolError::Stale);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn receipt_verifies_and_tampering_fails() {
        let province = SigningKeys::generate().unwrap();
        let pk = province.public_key();
        let r = sign_receipt(
            &province,
            "dev-1",
            "ref-1",
            &[7u8; 32],
            "2025-09-04T02:03:04Z",
        )
        .unwrap();
        verify_receipt(&r, "dev-1", &pk).unwrap();
        let json = serde_json::to_string(&r).unwrap();
        let back: Receipt = serde_json::from_str(&json).unwrap();
        verify_receipt(&back, "dev-1", &pk).unwrap();

        let mut t = r.clone();
        t.referral_id = "ref-2".into();
        assert_eq!(
            verify_receipt(&t, "dev-1", &pk),
            Err(ProtocolError::BadSignature)
        );
        let mut t = r.clone();
        t.payload_hash.0[0] ^= 1;
        assert_eq!(
            verify_receipt(&t, "dev-1", &pk),
            Err(ProtocolError::BadSignature)
        );
        let mut t = r.clone();
        t.received_at = "2025-09-04T02:03:05Z".into();
        assert_eq!(
            verify_receipt(&t, "dev-1", &pk),
            Err(ProtocolError::BadSignature)
        );
        for i in 0..r.signature.0.len() {
            let mut t = r.clone();
            t.signature.0[i] ^= 0x10;
            assert_eq!(
                verify_receipt(&t, "dev-1", &pk),
                Err(ProtocolError::BadSignature)
            );
        }
        let mut t = r.clone();
        t.payload_hash.0.pop();
        assert_eq!(
            verify_receipt(&t, "dev-1", &pk),
            Err(ProtocolError::Malformed("payload_hash"))
        );
        let other = SigningKeys::generate().unwrap();
        assert_eq!(
            verify_receipt(&r, "dev-1", &other.public_key()),
            Err(ProtocolError::BadSignature)
        );
    }

    #[test]
    fn status_verifies_and_tampering_fails() {
        let province = SigningKeys::generate().unwrap();
        let pk = province.public_key();
        let s = sign_status(
            &province,
            "dev-1",
            3,
            "ref-1",
            "accepted",
            "accepted, class starts on the 5th",
            "2025-09-11T03:00:00Z",
        )
        .unwrap();
        verify_status(&s, "dev-1", &pk).unwrap();
        let cases: [fn(&mut StatusUpdate); 6] = [
            |s| s.seq = 4,
            |s| s.referral_id = "ref-2".into(),
            |s| s.state = "declined".into(),
            |s| s.note = "accepted, class starts on the 6th".into(),
            |s| s.at = "2025-09-11T03:00:01Z".into(),
            |s| s.signature.0[10] ^= 1,
        ];
        for (i, tamper) in cases.iter().enumerate() {
            let mut t = s.clone();
            tamper(&mut t);
            assert_eq!(
                verify_status(&t, "dev-1", &pk),
                Err(ProtocolError::BadSignature),
                "{i}"
            );
        }
        // A state changed in transit to another well-formed code fails on the signature...
        let mut t = s.clone();
        t.state = "lost".into();
        assert_eq!(
            verify_status(&t, "dev-1", &pk),
            Err(ProtocolError::BadSignature)
        );
        // ...and one that is no state code at all is malformed.
        t.state = "Lost\0".into();
        assert_eq!(
            verify_status(&t, "dev-1", &pk),
            Err(ProtocolError::Malformed("state"))
        );
        // A state a newer province signs verifies here, so the phone can pass over it.
        let newer = status_message("dev-1", 6, "ref-1", "transferred", "", "t").unwrap();
        let n = StatusUpdate {
            seq: 6,
            referral_id: "ref-1".into(),
            state: "transferred".into(),
            note: String::new(),
            at: "t".into(),
            signature: B64(province.sign(&newer)),
        };
        verify_status(&n, "dev-1", &pk).unwrap();
        // This version's province signs only the states it knows.
        assert!(sign_status(&province, "dev-1", 1, "ref-1", "withdrawn", "", "x").is_err());
        // A note may hold anything, NUL included, without ambiguity.
        let n = sign_status(&province, "dev-1", 5, "ref-1", "completed", "a\0b", "t").unwrap();
        verify_status(&n, "dev-1", &pk).unwrap();
    }

    #[test]
    fn checkpoint_verifies_and_tampering_fails() {
        let device = DeviceKeys::generate().unwrap();
        let pk = device.public_key();
        let c = sign_checkpoint(
            &device,
            "dev-1",
            42,
            &[9u8; 32],
            Some((40, &[8u8; 32])),
            "2025-09-04T02:03:04Z",
        )
        .unwrap();
        verify_checkpoint(&c, &pk).unwrap();
        let mut t = c.clone();
        t.seq = 41;
        assert_eq!(verify_checkpoint(&t, &pk), Err(ProtocolError::BadSignature));
        // The checkpoint it extends is signed too: naming another one, or none, fails.
        let mut t = c.clone();
        if let Some(p) = t.prev.as_mut() {
            p.seq = 39;
        }
        assert_eq!(verify_checkpoint(&t, &pk), Err(ProtocolError::BadSignature));
        let mut t = c.clone();
        if let Some(p) = t.prev.as_mut() {
            p.head.0[0] ^= 1;
        }
        assert_eq!(verify_checkpoint(&t, &pk), Err(ProtocolError::BadSignature));
        let mut t = c.clone();
        t.prev = None;
        assert_eq!(verify_checkpoint(&t, &pk), Err(ProtocolError::BadSignature));
        let json = serde_json::to_string(&c).unwrap();
        verify_checkpoint(&serde_json::from_str(&json).unwrap(), &pk).unwrap();
        // A checkpoint cannot extend one at or after itself.
        assert!(sign_checkpoint(&device, "dev-1", 5, &[1; 32], Some((5, &[1; 32])), "t").is_err());
        let first = sign_checkpoint(&device, "dev-1", 1, &[1; 32], None, "t").unwrap();
        verify_checkpoint(&first, &pk).unwrap();
        let mut t = c.clone();
        t.head.0[31] ^= 1;
        assert_eq!(verify_checkpoint(&t, &pk), Err(ProtocolError::BadSignature));
        let mut t = c.clone();
        t.device_id = "dev-2".into();
        assert_eq!(verify_checkpoint(&t, &pk), Err(ProtocolError::BadSignature));
        let mut t = c.clone();
        t.at = "2025-09-04T02:03:05Z".into();
        assert_eq!(verify_checkpoint(&t, &pk), Err(ProtocolError::BadSignature));
        let other = DeviceKeys::generate().unwrap();
        assert_eq!(
            verify_checkpoint(&c, &other.public_key()),
            Err(ProtocolError::BadSignature)
        );
        let mut t = c.clone();
        t.head.0.push(0);
        assert_eq!(
            verify_checkpoint(&t, &pk),
            Err(ProtocolError::Malformed("head"))
        );
    }

    #[test]
    fn pull_checks_signature_and_window() {
        let device = DeviceKeys::generate().unwrap();
        let pk = device.public_key();
        let now = 1_757_000_000;
        let p = sign_pull(&device, "dev-1", 7, now).unwrap();
        verify_pull(&p, &pk, now).unwrap();
        verify_pull(&p, &pk, now + PULL_WINDOW_SECS).unwrap();
        verify_pull(&p, &pk, now - PULL_WINDOW_SECS).unwrap();
        assert_eq!(
            verify_pull(&p, &pk, now + PULL_WINDOW_SECS + 1),
            Err(ProtocolError::Stale)
        );
        assert_eq!(
            verify_pull(&p, &pk, now - PULL_WINDOW_SECS - 1),
            Err(ProtocolError::Stale)
        );
        let mut t = p.clone();
        t.cursor = 0;
        assert_eq!(verify_pull(&t, &pk, now), Err(ProtocolError::BadSignature));
        let mut t = p.clone();
        t.ts += 1;
        assert_eq!(verify_pull(&t, &pk, now), Err(ProtocolError::BadSignature));
        let other = DeviceKeys::generate().unwrap();
        assert_eq!(
            verify_pull(&p, &other.public_key(), now),
            Err(ProtocolError::BadSignature)
        );
    }

    #[test]
    fn labels_separate_kinds() {
        // A receipt signature must not verify as a checkpoint over look-alike fields.
        let k = SigningKeys::generate().unwrap();
        let r = sign_receipt(&k, "dev-1", "dev-1", &[1u8; 32], "t").unwrap();
        let c = Checkpoint {
            device_id: "dev-1".into(),
            seq: 0,
            head: B64(vec![1u8; 32]),
            prev: None,
            at: "t".into(),
            signature: r.signature.clone(),
        };
        assert!(verify_checkpoint(&c, &k.public_key()).is_err());
    }

    /// Attack (issue 11, point 13): a receipt or status update the province signed for one
    /// phone, replayed to another (e.g. by a proxy in between), must not verify there.
    #[test]
    fn receipts_and_statuses_for_one_device_fail_on_another() {
        let province = SigningKeys::generate().unwrap();
        let pk = province.public_key();
        let s = sign_status(&province, "dev-A", 1, "ref-1", "accepted", "", "t").unwrap();
        verify_status(&s, "dev-A", &pk).unwrap();
        assert_eq!(
            verify_status(&s, "dev-B", &pk),
            Err(ProtocolError::BadSignature)
        );
        let r = sign_receipt(&province, "dev-A", "ref-1", &[3; 32], "t").unwrap();
        verify_receipt(&r, "dev-A", &pk).unwrap();
        assert_eq!(
            verify_receipt(&r, "dev-B", &pk),
            Err(ProtocolError::BadSignature)
        );
    }

    #[test]
    fn lifecycle() {
        use crate::transition_allowed;
        assert!(transition_allowed("received", "accepted"));
        assert!(transition_allowed("received", "declined"));
        assert!(transition_allowed("accepted", "in_progress"));
        assert!(transition_allowed("in_progress", "completed"));
        assert!(!transition_allowed("received", "completed"));
        assert!(!transition_allowed("declined", "accepted"));
        assert!(!transition_allowed("completed", "in_progress"));
        assert!(!transition_allowed("accepted", "accepted"));
    }
}
