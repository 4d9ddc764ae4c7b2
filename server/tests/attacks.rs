//! Issue 11's attacks on the server (points 12 and 14): credentials written straight into the
//! database by someone with write access to the data folder but not the province passphrase,
//! and junk that must be refused before it costs a lookup or a key agreement.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use chungtay_protocol::{B64, EnrollRequest, Submission};
use common::{Env, expect_error};
use reqwest::StatusCode;

fn sha256(parts: &[&[u8]]) -> Vec<u8> {
    let mut ctx = ring::digest::Context::new(&ring::digest::SHA256);
    for p in parts {
        ctx.update(p);
    }
    ctx.finish().as_ref().to_vec()
}

/// Point 12: write access to the data folder (the database) is not the province's keys. A
/// staff token or an enrollment code inserted there by hand, hashed the way the server hashes
/// them, must open nothing on the running server.
#[test]
fn a_token_or_code_written_into_the_database_without_the_keys_is_refused() {
    let env = Env::start();
    let phone = env.enroll();
    let _ = phone;
    let db = rusqlite::Connection::open(env.data().join("intake.db")).unwrap();
    let token = "ctst_0000000000000000000000000000000000000000000000000000000000000000";
    db.execute(
        "INSERT INTO staff_tokens (token_hash, label, created_at) VALUES (?1, 'intruder', 't')",
        [sha256(&[b"chungtay.staff-token.v1\0", token.as_bytes()])],
    )
    .unwrap();
    let resp = env
        .client
        .get(env.url("/v1/staff/referrals"))
        .bearer_auth(token)
        .send()
        .unwrap();
    expect_error(resp, StatusCode::UNAUTHORIZED, "unauthorized");

    let code = "7K3M-Q9TX-2H8D";
    db.execute(
        "INSERT INTO enrollment_codes (code_hash, created_at, expires_at) \
         VALUES (?1, 't', 99999999999)",
        [sha256(&[b"chungtay.enroll-code.v1\0", b"7K3MQ9TX2H8D"])],
    )
    .unwrap();
    let resp = env.post(
        "/v1/enroll",
        &EnrollRequest {
            code: code.into(),
            device_public_key: B64(vec![7; 32]),
        },
    );
    expect_error(resp, StatusCode::FORBIDDEN, "invalid_code");
}

/// Point 14: a submission whose shape is wrong (an `enc` that is no X25519 key) is refused as
/// malformed before the server looks its device up.
#[test]
fn a_misshapen_submission_is_refused_before_any_lookup() {
    let env = Env::start();
    let junk = Submission {
        device_id: "no-such-device".into(),
        referral_id: "r1".into(),
        enc: B64(vec![1; 5]),
        ciphertext: B64(vec![2; 3]),
    };
    expect_error(
        env.post("/v1/referrals", &junk),
        StatusCode::BAD_REQUEST,
        "malformed",
    );
}
