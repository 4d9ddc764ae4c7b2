//! Issue 11's attacks on the server (points 12 and 14): credentials written straight into the
//! database by someone with write access to the data folder but not the province passphrase,
//! and junk that must be refused before it costs a lookup or a key agreement.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::num::NonZeroU32;

use chungtay_intake::{ConnLimits, KdfParams, Limits, RunningServer, admin};
use chungtay_protocol::{B64, EnrollRequest, Submission};
use common::{Env, PASS, TestDb, Val, expect_error};
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
    let token = "ctst_0000000000000000000000000000000000000000000000000000000000000000";
    env.sql(
        "INSERT INTO staff_tokens (token_hash, label, created_at) VALUES ($1, 'intruder', 't')",
        &[Val::Blob(&sha256(&[
            b"chungtay.staff-token.v1\0",
            token.as_bytes(),
        ]))],
    );
    let resp = env
        .client
        .get(env.url("/v1/staff/referrals"))
        .bearer_auth(token)
        .send()
        .unwrap();
    expect_error(resp, StatusCode::UNAUTHORIZED, "unauthorized");

    let code = "7K3M-Q9TX-2H8D";
    env.sql(
        "INSERT INTO enrollment_codes (code_hash, created_at, expires_at) \
         VALUES ($1, 't', 99999999999)",
        &[Val::Blob(&sha256(&[
            b"chungtay.enroll-code.v1\0",
            b"7K3MQ9TX2H8D",
        ]))],
    );
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

/// Point 14: one address sending junk is cut off by its own allowance, before any lookup.
#[test]
fn junk_from_one_address_is_cut_off_before_any_lookup() {
    let env = Env::start_with(Limits {
        ip_per_minute: NonZeroU32::new(3).unwrap(),
        // The test's client is on loopback, which is otherwise left to a proxy in front.
        ip_limit_on_loopback: true,
        ..Limits::default()
    });
    let junk = Submission {
        device_id: "no-such-device".into(),
        referral_id: "r1".into(),
        enc: B64(vec![1; 32]),
        ciphertext: B64(vec![2; chungtay_protocol::MIN_CIPHERTEXT_LEN]),
    };
    for _ in 0..3 {
        expect_error(
            env.post("/v1/referrals", &junk),
            StatusCode::UNAUTHORIZED,
            "unknown_device",
        );
    }
    let resp = env.post("/v1/referrals", &junk);
    assert!(resp.headers().contains_key(reqwest::header::RETRY_AFTER));
    expect_error(resp, StatusCode::TOO_MANY_REQUESTS, "rate_limited");
}

/// Point 14: plain HTTP has the same connection limits as TLS: a client that sends half a
/// request is dropped, and too many header lines are refused.
#[test]
fn plain_http_drops_slow_clients_and_caps_headers() {
    use std::io::{Read as _, Write as _};
    use std::time::{Duration, Instant};
    let dir = tempfile::tempdir().unwrap();
    let db = TestDb::new();
    let site = db.site(dir.path());
    admin::init(&site, PASS, KdfParams::MINIMUM).unwrap();
    let state = admin::load_state(&site, PASS, Limits::default()).unwrap();
    let limits = ConnLimits {
        max_connections: 4,
        handshake: Duration::from_millis(600),
        header_read: Duration::from_millis(600),
        request: Duration::from_secs(5),
    };
    let server =
        RunningServer::spawn_plain_with(state, "127.0.0.1:0".parse().unwrap(), limits).unwrap();
    let mut slow = std::net::TcpStream::connect(server.addr()).unwrap();
    slow.set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    slow.write_all(b"GET /healthz HTTP/1.1\r\nHost: local")
        .unwrap();
    let start = Instant::now();
    let mut buf = Vec::new();
    let _ = slow.read_to_end(&mut buf);
    assert!(
        start.elapsed() < Duration::from_secs(5),
        "{:?}",
        start.elapsed()
    );

    let mut many = std::net::TcpStream::connect(server.addr()).unwrap();
    many.set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let mut req = String::from("GET /healthz HTTP/1.1\r\nHost: local\r\n");
    for i in 0..100 {
        req.push_str(&format!("X-Junk-{i}: 1\r\n"));
    }
    req.push_str("\r\n");
    many.write_all(req.as_bytes()).unwrap();
    let mut answer = String::new();
    let _ = many.read_to_string(&mut answer);
    assert!(answer.starts_with("HTTP/1.1 431"), "{answer}");
    server.stop().unwrap();
}

/// Point 12: staff tokens expire and can be revoked, and every transition names the token
/// that made it.
#[test]
fn staff_tokens_expire_are_revoked_and_name_their_transitions() {
    let env = Env::start();
    let issued = admin::staff_token(env.data(), PASS, "Chị Hà, phòng tiếp nhận", 1).unwrap();
    let list = |token: &str| {
        env.client
            .get(env.url("/v1/staff/referrals"))
            .bearer_auth(token)
            .send()
            .unwrap()
    };
    assert_eq!(list(&issued.token).status(), StatusCode::OK);

    // A referral, moved on with this token: the listing names the token.
    let phone = env.enroll();
    let sub = chungtay_protocol::seal_referral(
        &common::scenario2("ref-who"),
        &phone.keys,
        &phone.device_id,
        &phone.pins.hpke_public_key,
    )
    .unwrap();
    assert_eq!(env.post("/v1/referrals", &sub).status(), StatusCode::OK);
    let resp = env
        .client
        .post(env.url("/v1/staff/referrals/ref-who/transition"))
        .bearer_auth(&issued.token)
        .json(&chungtay_protocol::TransitionRequest {
            state: "accepted".into(),
            note: String::new(),
        })
        .send()
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let listed: chungtay_protocol::StaffReferralList = list(&issued.token).json().unwrap();
    assert_eq!(
        listed.referrals[0].updated_by.as_deref(),
        Some(issued.token_id.as_str())
    );

    // Listed by id and label, never by the token itself; revoked, it opens nothing.
    let tokens = admin::staff_tokens(env.data()).unwrap();
    assert_eq!(tokens.len(), 1);
    assert_eq!(tokens[0].token_id, issued.token_id);
    assert!(admin::revoke_token(env.data(), &issued.token_id).unwrap());
    expect_error(
        list(&issued.token),
        StatusCode::UNAUTHORIZED,
        "unauthorized",
    );
    // Un-revoked by hand in the database: still nothing.
    env.sql(
        "UPDATE staff_tokens SET revoked_at = NULL WHERE token_id = $1",
        &[Val::Text(&issued.token_id)],
    );
    expect_error(
        list(&issued.token),
        StatusCode::UNAUTHORIZED,
        "unauthorized",
    );

    // A token past its expiry (minted with the keys, so genuine) opens nothing either.
    let keys = admin::load_keys(env.data(), PASS).unwrap();
    let token = "ctst_expired";
    let hash = admin::token_hash(token);
    let expires_at = chrono::Utc::now().timestamp() - 1;
    let mac = keys.credentials().tag(
        "staff-token",
        &[&hash, b"st-old", b"old", &expires_at.to_be_bytes(), b"read"],
    );
    env.store()
        .add_staff_token(&chungtay_intake::store::NewStaffToken {
            token_hash: hash,
            token_id: "st-old".into(),
            label: "old".into(),
            created_at: "t".into(),
            expires_at,
            mac,
            scope: "read".into(),
        })
        .unwrap();
    expect_error(list(token), StatusCode::UNAUTHORIZED, "unauthorized");
    // Editing the expiry in the database breaks the tag: still refused.
    env.sql(
        "UPDATE staff_tokens SET expires_at = 99999999999 WHERE token_id = 'st-old'",
        &[],
    );
    expect_error(list(token), StatusCode::UNAUTHORIZED, "unauthorized");
}

/// Point 12, the same hole one table over: a device row written into the database by hand
/// (enrolling without a code), or a revoked device un-revoked by hand, is no device.
#[test]
fn a_device_written_or_un_revoked_in_the_database_is_refused() {
    let env = Env::start();
    let at = "2025-09-04T02:00:00Z";
    let intruder = chungtay_protocol::DeviceKeys::generate().unwrap();
    env.sql(
        "INSERT INTO devices (device_id, public_key, enrolled_at) VALUES ('dev-x', $1, 't')",
        &[Val::Blob(&intruder.public_key())],
    );
    let cp = chungtay_protocol::sign_checkpoint(&intruder, "dev-x", 1, &[1; 32], None, at).unwrap();
    expect_error(
        env.post("/v1/checkpoints", &cp),
        StatusCode::UNAUTHORIZED,
        "unknown_device",
    );

    let phone = env.enroll();
    let cp =
        chungtay_protocol::sign_checkpoint(&phone.keys, &phone.device_id, 1, &[1; 32], None, at)
            .unwrap();
    assert_eq!(env.post("/v1/checkpoints", &cp).status(), StatusCode::OK);
    assert!(admin::revoke(env.data(), &phone.device_id).unwrap());
    env.sql(
        "UPDATE devices SET revoked_at = NULL WHERE device_id = $1",
        &[Val::Text(&phone.device_id)],
    );
    let cp2 = chungtay_protocol::sign_checkpoint(
        &phone.keys,
        &phone.device_id,
        2,
        &[2; 32],
        Some((1, &[1; 32])),
        at,
    )
    .unwrap();
    expect_error(
        env.post("/v1/checkpoints", &cp2),
        StatusCode::UNAUTHORIZED,
        "unknown_device",
    );
}
