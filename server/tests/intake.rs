//! The intake server over real HTTP on loopback.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::num::NonZeroU32;

use chrono::Utc;
use chungtay_intake::{AdminError, KeyFileError, Limits, admin};
use chungtay_protocol::{
    B64, CheckpointAck, DeviceKeys, EnrollRequest, EnrollResponse, REFERRAL_INFO, Receipt,
    StaffReferralList, StatusPage, StatusUpdate, Submission, TransitionRequest, payload_hash,
    referral_aad, seal_referral, sign_checkpoint, sign_pull, verify_receipt, verify_status,
};
use common::{Env, PASS, Phone, expect_error, scenario2};
use reqwest::StatusCode;
use reqwest::header::{CONTENT_TYPE, RETRY_AFTER};

fn submit(env: &Env, sub: &Submission) -> reqwest::blocking::Response {
    env.post("/v1/referrals", sub)
}

fn seal(phone: &Phone, referral_id: &str) -> Submission {
    seal_referral(
        &scenario2(referral_id),
        &phone.keys,
        &phone.device_id,
        &phone.pins.hpke_public_key,
    )
    .unwrap()
}

fn pull(env: &Env, phone: &Phone, cursor: i64) -> reqwest::blocking::Response {
    let p = sign_pull(
        &phone.keys,
        &phone.device_id,
        cursor,
        Utc::now().timestamp(),
    )
    .unwrap();
    env.client
        .get(env.url("/v1/status"))
        .query(&[
            ("device_id", p.device_id.clone()),
            ("cursor", p.cursor.to_string()),
            ("ts", p.ts.to_string()),
            ("sig", p.sig.encode()),
        ])
        .send()
        .unwrap()
}

fn transition(
    env: &Env,
    token: &str,
    id: &str,
    state: &str,
    note: &str,
) -> reqwest::blocking::Response {
    env.client
        .post(env.url(&format!("/v1/staff/referrals/{id}/transition")))
        .bearer_auth(token)
        .json(&TransitionRequest {
            state: state.into(),
            note: note.into(),
        })
        .send()
        .unwrap()
}

#[test]
fn enrollment_pins_province_keys_and_retry_is_safe() {
    let env = Env::start();
    let keys = admin::load_keys(env.data(), common::PASS).unwrap();
    let code = admin::issue_code(env.data(), PASS).unwrap().code;
    let device = DeviceKeys::generate().unwrap();
    let req = EnrollRequest {
        code: code.clone(),
        device_public_key: B64(device.public_key().to_vec()),
    };
    let first = env.post("/v1/enroll", &req);
    assert_eq!(first.status(), StatusCode::OK);
    let first: EnrollResponse = first.json().unwrap();
    assert_eq!(
        first.province_hpke_public_key.0,
        keys.hpke.public_key_bytes()
    );
    assert_eq!(first.province_signing_key.0, keys.signing.public_key());
    // The fingerprint handed over with the code matches the keys the phone pinned.
    let pins = chungtay_protocol::ProvincePins::from_response(&first).unwrap();
    let issued = admin::issue_code(env.data(), PASS).unwrap();
    assert_eq!(pins.fingerprint(), issued.fingerprint);

    // Same code, same key (the answer was lost on the way): the same answer.
    let again: EnrollResponse = env.post("/v1/enroll", &req).json().unwrap();
    assert_eq!(again, first);
    // Typed in lower case with spaces: the same code.
    let typed = EnrollRequest {
        code: code.to_lowercase().replace('-', " "),
        ..req.clone()
    };
    assert_eq!(
        env.post("/v1/enroll", &typed)
            .json::<EnrollResponse>()
            .unwrap(),
        first
    );

    // Same code, another key: refused.
    let other = DeviceKeys::generate().unwrap();
    let stolen = EnrollRequest {
        code,
        device_public_key: B64(other.public_key().to_vec()),
    };
    expect_error(
        env.post("/v1/enroll", &stolen),
        StatusCode::CONFLICT,
        "code_used",
    );
    // Unknown code, malformed code, bad key length.
    let bogus = EnrollRequest {
        code: "ZZZZ-ZZZZ-ZZZZ".into(),
        ..stolen.clone()
    };
    expect_error(
        env.post("/v1/enroll", &bogus),
        StatusCode::FORBIDDEN,
        "invalid_code",
    );
    let junk = EnrollRequest {
        code: "hello".into(),
        ..stolen.clone()
    };
    expect_error(
        env.post("/v1/enroll", &junk),
        StatusCode::FORBIDDEN,
        "invalid_code",
    );
    let short = EnrollRequest {
        device_public_key: B64(vec![1; 31]),
        ..req
    };
    expect_error(
        env.post("/v1/enroll", &short),
        StatusCode::BAD_REQUEST,
        "malformed",
    );

    let devices = admin::devices(env.data()).unwrap();
    assert_eq!(devices.len(), 1);
    assert_eq!(devices[0].device_id, first.device_id);
    assert_eq!(devices[0].public_key, device.public_key());
}

#[test]
fn sealed_referral_gets_a_receipt_that_verifies_and_is_stored_encrypted() {
    let env = Env::start();
    let phone = env.enroll();
    let payload = scenario2("ref-scenario-2");
    let sub = seal(&phone, "ref-scenario-2");
    let resp = submit(&env, &sub);
    assert_eq!(resp.status(), StatusCode::OK);
    let receipt: Receipt = resp.json().unwrap();
    verify_receipt(&receipt, &phone.device_id, &phone.pins.signing_key).unwrap();
    assert_eq!(receipt.referral_id, "ref-scenario-2");
    assert_eq!(receipt.payload_hash.0, payload_hash(&payload).unwrap());
    // A receipt under another key does not verify.
    let other = DeviceKeys::generate().unwrap();
    assert!(verify_receipt(&receipt, &phone.device_id, &other.public_key()).is_err());

    // Staff read exactly what the phone sent.
    let token = env.staff_token();
    let list: StaffReferralList = env
        .client
        .get(env.url("/v1/staff/referrals"))
        .bearer_auth(&token)
        .send()
        .unwrap()
        .json()
        .unwrap();
    assert_eq!(list.referrals.len(), 1);
    assert_eq!(list.referrals[0].payload, payload);
    assert_eq!(list.referrals[0].state, "received");
    assert_eq!(list.referrals[0].device_id, phone.device_id);
    assert_eq!(list.next_after, None);

    // No readable personal text in the database files (main, WAL, shm) or the key file.
    let mut bytes = Vec::new();
    for entry in std::fs::read_dir(env.dir()).unwrap() {
        bytes.extend(std::fs::read(entry.unwrap().path()).unwrap());
    }
    for needle in ["Lò Thị Xuân", "Mường Lát", "học nghề may", "vay vốn"] {
        assert!(
            !bytes.windows(needle.len()).any(|w| w == needle.as_bytes()),
            "{needle} found on disk"
        );
    }
}

#[test]
fn identical_replay_returns_the_same_receipt_and_stores_one_row() {
    let env = Env::start();
    let phone = env.enroll();
    let sub = seal(&phone, "ref-1");
    let first = submit(&env, &sub);
    assert_eq!(first.status(), StatusCode::OK);
    let first = first.text().unwrap();
    for _ in 0..3 {
        let again = submit(&env, &sub);
        assert_eq!(again.status(), StatusCode::OK);
        assert_eq!(
            again.text().unwrap(),
            first,
            "replay gives the byte-identical receipt"
        );
    }
    // Even sealed again (other ciphertext, same payload), it is the same referral.
    let resealed = seal(&phone, "ref-1");
    assert_ne!(resealed.ciphertext, sub.ciphertext);
    assert_eq!(submit(&env, &resealed).text().unwrap(), first);
    assert_eq!(env.referral_rows(), 1);
    // And only one "received" status update.
    let page: StatusPage = pull(&env, &phone, 0).json().unwrap();
    assert_eq!(page.updates.len(), 1);
}

#[test]
fn replay_with_other_content_is_a_conflict() {
    let env = Env::start();
    let phone = env.enroll();
    assert_eq!(
        submit(&env, &seal(&phone, "ref-1")).status(),
        StatusCode::OK
    );
    let mut changed = scenario2("ref-1");
    changed.note = "một nội dung khác".into();
    let sub = seal_referral(
        &changed,
        &phone.keys,
        &phone.device_id,
        &phone.pins.hpke_public_key,
    )
    .unwrap();
    expect_error(submit(&env, &sub), StatusCode::CONFLICT, "conflict");
    // Another device reusing the id is a conflict too.
    let phone2 = env.enroll();
    expect_error(
        submit(&env, &seal(&phone2, "ref-1")),
        StatusCode::CONFLICT,
        "conflict",
    );
    assert_eq!(env.referral_rows(), 1);
}

#[test]
fn unsigned_forged_and_undecryptable_submissions_are_refused() {
    use hpke::aead::ChaCha20Poly1305;
    use hpke::kdf::HkdfSha256;
    use hpke::kem::X25519HkdfSha256 as Kem;
    use hpke::{Deserializable as _, Serializable as _};

    let env = Env::start();
    let phone = env.enroll();

    // Forged: sealed in this phone's name, signed by another key.
    let thief = DeviceKeys::generate().unwrap();
    let forged = seal_referral(
        &scenario2("ref-forged"),
        &thief,
        &phone.device_id,
        &phone.pins.hpke_public_key,
    )
    .unwrap();
    expect_error(
        submit(&env, &forged),
        StatusCode::BAD_REQUEST,
        "bad_signature",
    );

    // Unsigned: a well-formed envelope with an empty signature.
    let payload_json = serde_json::to_string(&scenario2("ref-unsigned")).unwrap();
    let mut inner = serde_json::to_vec(&serde_json::json!({
        "payload_json": payload_json, "signature": ""
    }))
    .unwrap();
    // Padded as the phone pads (0x80, then zeros to the first bucket).
    inner.push(0x80);
    inner.resize(2048, 0);
    let pk = <Kem as hpke::Kem>::PublicKey::from_bytes(&phone.pins.hpke_public_key).unwrap();
    let (enc, ct) = hpke::single_shot_seal::<ChaCha20Poly1305, HkdfSha256, Kem>(
        &hpke::OpModeS::Base,
        &pk,
        REFERRAL_INFO,
        &inner,
        &referral_aad(&phone.device_id, "ref-unsigned"),
    )
    .unwrap();
    let unsigned = Submission {
        device_id: phone.device_id.clone(),
        referral_id: "ref-unsigned".into(),
        enc: B64(enc.to_bytes().to_vec()),
        ciphertext: B64(ct),
    };
    expect_error(
        submit(&env, &unsigned),
        StatusCode::BAD_REQUEST,
        "bad_signature",
    );

    // Undecryptable: a flipped ciphertext byte, or an id swapped outside the envelope.
    let mut flipped = seal(&phone, "ref-2");
    flipped.ciphertext.0[5] ^= 1;
    expect_error(
        submit(&env, &flipped),
        StatusCode::BAD_REQUEST,
        "undecryptable",
    );
    let mut swapped = seal(&phone, "ref-3");
    swapped.referral_id = "ref-4".into();
    expect_error(
        submit(&env, &swapped),
        StatusCode::BAD_REQUEST,
        "undecryptable",
    );
    // Not consented: a shared field outside the consent.
    let mut extra = scenario2("ref-5");
    extra.shared.insert("story".into(), "x".into());
    assert!(
        seal_referral(
            &extra,
            &phone.keys,
            &phone.device_id,
            &phone.pins.hpke_public_key
        )
        .is_err()
    );
    assert_eq!(env.referral_rows(), 0);
}

#[test]
fn unknown_and_revoked_devices_are_refused() {
    let env = Env::start();
    let phone = env.enroll();
    let mut sub = seal(&phone, "ref-1");
    sub.device_id = "not-a-device".into();
    let body = expect_error(
        submit(&env, &sub),
        StatusCode::UNAUTHORIZED,
        "unknown_device",
    );
    assert!(body.message.contains("not enrolled"));

    assert_eq!(
        submit(&env, &seal(&phone, "ref-2")).status(),
        StatusCode::OK
    );
    assert!(admin::revoke(env.data(), &phone.device_id).unwrap());
    assert!(!admin::revoke(env.data(), "no-such-device").unwrap());
    expect_error(
        submit(&env, &seal(&phone, "ref-3")),
        StatusCode::FORBIDDEN,
        "device_revoked",
    );
    expect_error(
        pull(&env, &phone, 0),
        StatusCode::FORBIDDEN,
        "device_revoked",
    );
    let devices = admin::devices(env.data()).unwrap();
    assert!(devices[0].revoked_at.is_some());
    assert_eq!(env.referral_rows(), 1);
}

#[test]
fn body_limits_content_type_and_malformed_json() {
    let env = Env::start();
    let phone = env.enroll();
    let mut sub = seal(&phone, "ref-1");
    sub.ciphertext = B64(vec![7u8; 80 * 1024]);
    expect_error(
        submit(&env, &sub),
        StatusCode::PAYLOAD_TOO_LARGE,
        "too_large",
    );

    let text = serde_json::to_string(&seal(&phone, "ref-2")).unwrap();
    let resp = env
        .client
        .post(env.url("/v1/referrals"))
        .header(CONTENT_TYPE, "text/plain")
        .body(text)
        .send()
        .unwrap();
    expect_error(
        resp,
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "unsupported_media_type",
    );

    for bad in ["{not json", "{\"device_id\": 1}", "[]", ""] {
        let resp = env
            .client
            .post(env.url("/v1/referrals"))
            .header(CONTENT_TYPE, "application/json")
            .body(bad)
            .send()
            .unwrap();
        let body = expect_error(resp, StatusCode::BAD_REQUEST, "malformed");
        assert_eq!(body.message, "malformed JSON");
    }
    expect_error(
        env.client.get(env.url("/v1/nothing")).send().unwrap(),
        StatusCode::NOT_FOUND,
        "not_found",
    );
    assert_eq!(env.referral_rows(), 0);
}

#[test]
fn staff_transitions_produce_signed_status_updates_for_the_device() {
    let env = Env::start();
    let phone = env.enroll();
    let payload = scenario2("ref-sewing");
    let sub = seal(&phone, "ref-sewing");
    assert_eq!(submit(&env, &sub).status(), StatusCode::OK);
    let token = env.staff_token();

    // No token, a wrong token: refused.
    let resp = env
        .client
        .get(env.url("/v1/staff/referrals"))
        .send()
        .unwrap();
    expect_error(resp, StatusCode::UNAUTHORIZED, "unauthorized");
    expect_error(
        transition(&env, "ctst_wrong", "ref-sewing", "accepted", ""),
        StatusCode::UNAUTHORIZED,
        "unauthorized",
    );

    // Accepted, as in scenario 2.
    let resp = transition(
        &env,
        &token,
        "ref-sewing",
        "accepted",
        "accepted, class starts on the 5th",
    );
    assert_eq!(resp.status(), StatusCode::OK);
    let update: StatusUpdate = resp.json().unwrap();
    verify_status(&update, &phone.device_id, &phone.pins.signing_key).unwrap();
    assert_eq!(update.state, "accepted");
    assert_eq!(update.seq, 2);

    // The phone pulls: "received" then "accepted", both signed by the pinned key.
    let resp = pull(&env, &phone, 0);
    assert_eq!(resp.status(), StatusCode::OK);
    let page: StatusPage = resp.json().unwrap();
    assert_eq!(page.updates.len(), 2);
    assert!(!page.more);
    assert_eq!(page.cursor, 2);
    assert_eq!(page.updates[0].state, "received");
    assert_eq!(page.updates[1], update);
    for u in &page.updates {
        verify_status(u, &phone.device_id, &phone.pins.signing_key).unwrap();
        assert_eq!(u.referral_id, payload.referral_id);
    }
    // Tampered in transit: fails.
    let mut tampered = update.clone();
    tampered.note = "declined".into();
    assert!(verify_status(&tampered, &phone.device_id, &phone.pins.signing_key).is_err());
    let mut tampered = update.clone();
    tampered.state = "declined".into();
    assert!(verify_status(&tampered, &phone.device_id, &phone.pins.signing_key).is_err());

    // The cursor moves on.
    let page: StatusPage = pull(&env, &phone, 2).json().unwrap();
    assert!(page.updates.is_empty());
    assert_eq!(page.cursor, 2);

    // The lifecycle is enforced.
    expect_error(
        transition(&env, &token, "ref-sewing", "completed", "done"),
        StatusCode::CONFLICT,
        "invalid_transition",
    );
    expect_error(
        transition(&env, &token, "ref-sewing", "received", ""),
        StatusCode::BAD_REQUEST,
        "invalid_state",
    );
    expect_error(
        transition(&env, &token, "no-such-ref", "accepted", ""),
        StatusCode::NOT_FOUND,
        "not_found",
    );
    assert_eq!(
        transition(&env, &token, "ref-sewing", "in_progress", "class started").status(),
        StatusCode::OK
    );
    expect_error(
        transition(&env, &token, "ref-sewing", "completed", "  "),
        StatusCode::BAD_REQUEST,
        "note_required",
    );
    let done: StatusUpdate = transition(
        &env,
        &token,
        "ref-sewing",
        "completed",
        "finished the course",
    )
    .json()
    .unwrap();
    assert_eq!(done.seq, 4);
    let page: StatusPage = pull(&env, &phone, 2).json().unwrap();
    assert_eq!(
        page.updates
            .iter()
            .map(|u| u.state.as_str())
            .collect::<Vec<_>>(),
        ["in_progress", "completed"]
    );

    let list: StaffReferralList = env
        .client
        .get(env.url("/v1/staff/referrals"))
        .bearer_auth(&token)
        .send()
        .unwrap()
        .json()
        .unwrap();
    assert_eq!(list.referrals[0].state, "completed");

    // Pull authentication: another key's signature, or an old timestamp, is refused.
    let thief = Phone {
        keys: DeviceKeys::generate().unwrap(),
        device_id: phone.device_id.clone(),
        pins: phone.pins,
    };
    expect_error(
        pull(&env, &thief, 0),
        StatusCode::UNAUTHORIZED,
        "bad_signature",
    );
    let old = sign_pull(
        &phone.keys,
        &phone.device_id,
        0,
        Utc::now().timestamp() - 3600,
    )
    .unwrap();
    let resp = env
        .client
        .get(env.url("/v1/status"))
        .query(&[
            ("device_id", old.device_id.clone()),
            ("cursor", "0".into()),
            ("ts", old.ts.to_string()),
            ("sig", old.sig.encode()),
        ])
        .send()
        .unwrap();
    expect_error(resp, StatusCode::UNAUTHORIZED, "stale_request");
}

#[test]
fn declined_needs_a_reason_and_updates_stay_per_device() {
    let env = Env::start();
    let a = env.enroll();
    let b = env.enroll();
    assert_eq!(submit(&env, &seal(&a, "ref-a")).status(), StatusCode::OK);
    assert_eq!(submit(&env, &seal(&b, "ref-b")).status(), StatusCode::OK);
    let token = env.staff_token();
    expect_error(
        transition(&env, &token, "ref-b", "declined", ""),
        StatusCode::BAD_REQUEST,
        "note_required",
    );
    let d: StatusUpdate = transition(&env, &token, "ref-b", "declined", "outside our services")
        .json()
        .unwrap();
    assert_eq!(d.seq, 2, "seq counts per device");
    let pa: StatusPage = pull(&env, &a, 0).json().unwrap();
    assert_eq!(pa.updates.len(), 1);
    assert!(pa.updates.iter().all(|u| u.referral_id == "ref-a"));
    let pb: StatusPage = pull(&env, &b, 0).json().unwrap();
    assert_eq!(
        pb.updates
            .iter()
            .map(|u| u.state.as_str())
            .collect::<Vec<_>>(),
        ["received", "declined"]
    );
}

#[test]
fn per_device_rate_limit_answers_429_with_retry_after() {
    let env = Env::start_with(Limits {
        device_per_minute: NonZeroU32::new(3).unwrap(),
        ..Limits::default()
    });
    let phone = env.enroll();
    let other = env.enroll();
    for _ in 0..3 {
        assert_eq!(pull(&env, &phone, 0).status(), StatusCode::OK);
    }
    let resp = pull(&env, &phone, 0);
    assert_eq!(resp.status(), StatusCode::TOO_MANY_REQUESTS);
    let retry: u64 = resp
        .headers()
        .get(RETRY_AFTER)
        .unwrap()
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&retry), "Retry-After {retry}");
    expect_error(resp, StatusCode::TOO_MANY_REQUESTS, "rate_limited");
    expect_error(
        submit(&env, &seal(&phone, "ref-1")),
        StatusCode::TOO_MANY_REQUESTS,
        "rate_limited",
    );
    // Another device has its own bucket.
    assert_eq!(pull(&env, &other, 0).status(), StatusCode::OK);
}

#[test]
fn junk_naming_a_device_does_not_spend_its_rate_limit() {
    let env = Env::start_with(Limits {
        device_per_minute: NonZeroU32::new(2).unwrap(),
        ..Limits::default()
    });
    let phone = env.enroll();
    let thief = DeviceKeys::generate().unwrap();
    let at = "2025-09-04T02:00:00Z";
    // Device ids are not secret: anyone can name this phone's id, but cannot sign for it.
    for _ in 0..5 {
        let mut forged = seal(&phone, "ref-junk");
        forged.ciphertext.0[0] ^= 1;
        expect_error(
            submit(&env, &forged),
            StatusCode::BAD_REQUEST,
            "undecryptable",
        );
        let cp = sign_checkpoint(&thief, &phone.device_id, 1, &[1; 32], None, at).unwrap();
        expect_error(
            env.post("/v1/checkpoints", &cp),
            StatusCode::BAD_REQUEST,
            "bad_signature",
        );
        let bad_pull = Phone {
            keys: DeviceKeys::generate().unwrap(),
            device_id: phone.device_id.clone(),
            pins: phone.pins,
        };
        expect_error(
            pull(&env, &bad_pull, 0),
            StatusCode::UNAUTHORIZED,
            "bad_signature",
        );
    }
    // The real phone still has its whole allowance.
    assert_eq!(
        submit(&env, &seal(&phone, "ref-1")).status(),
        StatusCode::OK
    );
    assert_eq!(pull(&env, &phone, 0).status(), StatusCode::OK);
    expect_error(
        pull(&env, &phone, 0),
        StatusCode::TOO_MANY_REQUESTS,
        "rate_limited",
    );
}

#[test]
fn enrollment_attempts_are_rate_limited_per_address() {
    let env = Env::start_with(Limits {
        enroll_per_minute_per_ip: NonZeroU32::new(2).unwrap(),
        ..Limits::default()
    });
    let guess = EnrollRequest {
        code: "AAAA-AAAA-AAAA".into(),
        device_public_key: B64(vec![1; 32]),
    };
    for _ in 0..2 {
        expect_error(
            env.post("/v1/enroll", &guess),
            StatusCode::FORBIDDEN,
            "invalid_code",
        );
    }
    let resp = env.post("/v1/enroll", &guess);
    assert!(resp.headers().contains_key(RETRY_AFTER));
    expect_error(resp, StatusCode::TOO_MANY_REQUESTS, "rate_limited");
}

#[test]
fn checkpoints_are_kept_chained_and_a_rollback_or_fork_is_refused_and_flagged() {
    let env = Env::start();
    let phone = env.enroll();
    let at = "2025-09-04T02:00:00Z";
    let sign = |seq: i64, h: u8, prev: Option<(i64, u8)>| {
        let prev_head = prev.map(|(_, h)| [h; 32]);
        sign_checkpoint(
            &phone.keys,
            &phone.device_id,
            seq,
            &[h; 32],
            prev.zip(prev_head.as_ref()).map(|((s, _), h)| (s, h)),
            at,
        )
        .unwrap()
    };
    let cp1 = sign(1, 1, None);
    let cp2 = sign(2, 2, Some((1, 1)));
    let ack: CheckpointAck = env.post("/v1/checkpoints", &cp1).json().unwrap();
    assert!(ack.stored);
    let ack: CheckpointAck = env.post("/v1/checkpoints", &cp2).json().unwrap();
    assert!(ack.stored && ack.seq == 2);
    // The same checkpoint again: fine, nothing new.
    let ack: CheckpointAck = env.post("/v1/checkpoints", &cp2).json().unwrap();
    assert!(!ack.stored);
    // Signed by another key, or tampered: refused, and no flag (anyone can name a device).
    let thief = DeviceKeys::generate().unwrap();
    let forged = sign_checkpoint(&thief, &phone.device_id, 3, &[4; 32], None, at).unwrap();
    expect_error(
        env.post("/v1/checkpoints", &forged),
        StatusCode::BAD_REQUEST,
        "bad_signature",
    );
    let mut tampered = sign(3, 4, Some((2, 2)));
    tampered.head.0[0] ^= 1;
    expect_error(
        env.post("/v1/checkpoints", &tampered),
        StatusCode::BAD_REQUEST,
        "bad_signature",
    );
    let devices = || admin::devices(env.data()).unwrap();
    assert_eq!(devices()[0].flagged_at, None);
    let cp3 = sign(3, 4, Some((2, 2)));
    assert!(
        env.post("/v1/checkpoints", &cp3)
            .json::<CheckpointAck>()
            .unwrap()
            .stored
    );
    // A lower seq than one kept: a rollback, and the device is flagged.
    expect_error(
        env.post("/v1/checkpoints", &sign(2, 9, Some((1, 1)))),
        StatusCode::CONFLICT,
        "rollback",
    );
    assert!(devices()[0].flagged_at.is_some());
    // A later one that extends an older checkpoint (an older copy of the file, used since):
    // a fork.
    expect_error(
        env.post("/v1/checkpoints", &sign(9, 5, Some((2, 2)))),
        StatusCode::CONFLICT,
        "fork",
    );
    assert_eq!(
        devices()[0].flag_reason.as_deref(),
        Some("fork at seq 9 (kept 3)")
    );

    let kept = admin::open_site(env.data())
        .unwrap()
        .checkpoints(&phone.device_id)
        .unwrap();
    assert_eq!(kept.iter().map(|c| c.seq).collect::<Vec<_>>(), [1, 2, 3]);
    assert_eq!(kept[1].head, vec![2; 32]);
    // The phone learns the latest kept checkpoint with its status pull.
    let page: StatusPage = pull(&env, &phone, 0).json().unwrap();
    assert_eq!(page.checkpoint, Some(cp3));
}

#[test]
fn province_key_file_needs_the_right_passphrase() {
    let dir = tempfile::tempdir().unwrap();
    let db = common::TestDb::new();
    let site = db.site(dir.path());
    let summary = admin::init(&site, common::PASS, chungtay_intake::KdfParams::MINIMUM).unwrap();
    let keys = admin::load_keys(dir.path(), common::PASS).unwrap();
    assert_eq!(keys.hpke.public_key_bytes(), summary.hpke_public_key);
    assert_eq!(keys.signing.public_key(), summary.signing_public_key);

    let wrong = admin::load_keys(dir.path(), "correct horse battery stapler");
    assert!(matches!(
        wrong,
        Err(AdminError::Key(KeyFileError::WrongPassphrase))
    ));
    assert!(admin::load_state(&site, "nope", Limits::default()).is_err());

    // The secrets are not in the file in the clear.
    let path = dir.path().join(admin::KEY_FILE);
    let text = std::fs::read(&path).unwrap();
    let pkcs8 = keys.signing.pkcs8();
    assert!(!text.windows(pkcs8.len()).any(|w| w == pkcs8));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        assert_eq!(
            std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o600
        );
        if !db.is_pg() {
            let db = dir.path().join(admin::DB_FILE);
            assert_eq!(
                std::fs::metadata(&db).unwrap().permissions().mode() & 0o777,
                0o600
            );
        }
    }

    // An edited header (cheaper KDF, swapped public key) fails too.
    let mut json: serde_json::Value = serde_json::from_slice(&text).unwrap();
    json["kdf"]["t"] = serde_json::json!(3);
    std::fs::remove_file(&path).unwrap();
    std::fs::write(&path, serde_json::to_vec(&json).unwrap()).unwrap();
    assert!(matches!(
        admin::load_keys(dir.path(), common::PASS),
        Err(AdminError::Key(KeyFileError::WrongPassphrase))
    ));
    json["kdf"]["t"] = serde_json::json!(1);
    std::fs::write(&path, serde_json::to_vec(&json).unwrap()).unwrap();
    assert!(matches!(
        admin::load_keys(dir.path(), common::PASS),
        Err(AdminError::Key(KeyFileError::WeakKdf))
    ));

    // init refuses a short passphrase and an existing key file.
    let other = tempfile::tempdir().unwrap();
    assert!(matches!(
        admin::init(other.path(), "short", chungtay_intake::KdfParams::MINIMUM),
        Err(AdminError::Usage(_))
    ));
    assert!(matches!(
        admin::init(&site, common::PASS, chungtay_intake::KdfParams::MINIMUM),
        Err(AdminError::Key(KeyFileError::Exists))
    ));
}

#[test]
fn init_refuses_a_folder_that_still_holds_a_database() {
    let env = Env::start();
    let phone = env.enroll();
    assert_eq!(
        submit(&env, &seal(&phone, "ref-1")).status(),
        StatusCode::OK
    );
    // The key file is lost; the database with its sealed row is still there.
    std::fs::remove_file(env.dir().join(admin::KEY_FILE)).unwrap();
    let again = admin::init(
        env.data(),
        common::PASS,
        chungtay_intake::KdfParams::MINIMUM,
    );
    match again {
        Err(e @ AdminError::DatabaseExists) if !env.db.is_pg() => {
            assert!(e.to_string().contains("intake.db"), "{e}")
        }
        Err(e @ AdminError::SchemaExists) if env.db.is_pg() => {
            assert!(e.to_string().contains("PostgreSQL"), "{e}")
        }
        other => panic!("init must refuse: {other:?}"),
    };
    // Nothing was written: no new key file, the old row is untouched (the update touches it
    // and finds it).
    assert!(!env.dir().join(admin::KEY_FILE).exists());
    assert_eq!(
        env.sql(
            "UPDATE referrals SET state = state WHERE referral_id = 'ref-1'",
            &[]
        ),
        1
    );

    // A write-ahead log alone (the database file lost) is refused too.
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("intake.db-wal"), b"").unwrap();
    assert!(matches!(
        admin::init(
            dir.path(),
            common::PASS,
            chungtay_intake::KdfParams::MINIMUM
        ),
        Err(AdminError::DatabaseExists)
    ));
    assert!(!dir.path().join(admin::KEY_FILE).exists());
}

#[test]
fn staff_listing_skips_an_unreadable_row_and_pages_past_it() {
    let env = Env::start();
    let phone = env.enroll();
    for id in ["ref-1", "ref-2", "ref-3"] {
        assert_eq!(submit(&env, &seal(&phone, id)).status(), StatusCode::OK);
    }
    // ref-2's sealed body no longer opens (damaged, or sealed under keys since lost).
    let zeroes = if env.db.is_pg() {
        "decode(repeat('00', length(body)), 'hex')"
    } else {
        "zeroblob(length(body))"
    };
    env.sql(
        &format!("UPDATE referrals SET body = {zeroes} WHERE referral_id = 'ref-2'"),
        &[],
    );
    let token = env.staff_token();
    let list = |after: i64, limit: usize| {
        env.client
            .get(env.url("/v1/staff/referrals"))
            .bearer_auth(&token)
            .query(&[("after", after.to_string()), ("limit", limit.to_string())])
            .send()
            .unwrap()
    };
    let unreadable = |resp: &reqwest::blocking::Response| {
        resp.headers()
            .get(chungtay_intake::http::UNREADABLE_HEADER)
            .map(|v| v.to_str().unwrap().to_string())
    };

    // One page: the readable rows, and the count of the one left out.
    let resp = list(0, 100);
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(unreadable(&resp).as_deref(), Some("1"));
    let page: StaffReferralList = resp.json().unwrap();
    let ids: Vec<_> = page
        .referrals
        .iter()
        .map(|r| r.referral_id.as_str())
        .collect();
    assert_eq!(ids, ["ref-1", "ref-3"]);

    // Pages of one: the page holding only the bad row is empty but still moves on.
    let mut after = 0;
    let mut seen = Vec::new();
    for _ in 0..5 {
        let resp = list(after, 1);
        assert_eq!(resp.status(), StatusCode::OK);
        let page: StaffReferralList = resp.json().unwrap();
        seen.extend(page.referrals.into_iter().map(|r| r.referral_id));
        match page.next_after {
            Some(n) => after = n,
            None => break,
        }
    }
    assert_eq!(seen, ["ref-1", "ref-3"]);
    // Healthy pages carry no header.
    assert_eq!(unreadable(&list(0, 1)), None);
}
