//! The province's server, through its real router in this process: whatever method, path,
//! query, headers or body arrive, the answer is never a 5xx (a 5xx would be a bug, or a way to
//! make staff and phones retry forever) and nothing panics.
#![no_main]

use std::net::SocketAddr;
use std::sync::OnceLock;

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{Method, Request};
use chungtay_intake::tls::PeerAddr;
use chungtay_intake::{KdfParams, Limits, admin, router};
use libfuzzer_sys::fuzz_target;
use tower::ServiceExt;

const PASS: &str = "fuzzing passphrase, not a real one";

struct Fixture {
    rt: tokio::runtime::Runtime,
    app: axum::Router,
    _dir: tempfile::TempDir,
}

fn fixture() -> &'static Fixture {
    static F: OnceLock<Fixture> = OnceLock::new();
    F.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        admin::init(dir.path(), PASS, KdfParams::MINIMUM).unwrap();
        let state = admin::load_state(dir.path(), PASS, Limits::default()).unwrap();
        Fixture {
            rt: tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap(),
            app: router(state),
            _dir: dir,
        }
    })
}

const PATHS: [&str; 16] = [
    "/v1/enroll",
    "/v1/referrals",
    "/v1/checkpoints",
    "/v1/status",
    "/v1/staff/referrals",
    "/v1/staff/referrals/r-1/transition",
    "/healthz",
    "/console/login",
    "/console/setup",
    "/console/referrals",
    "/console/referrals/r-1",
    "/console/referrals/r-1/transition",
    "/console/devices",
    "/console/stats.xlsx",
    "/console/lang/en",
    "/console/me/totp/confirm",
];

fuzz_target!(|data: &[u8]| {
    if data.len() < 3 {
        return;
    }
    let f = fixture();
    let method = match data[0] % 4 {
        0 => Method::GET,
        1 => Method::POST,
        2 => Method::PUT,
        _ => Method::DELETE,
    };
    let rest = &data[3..];
    // Either a known route with fuzzed query and body, or the first line of the input as the
    // whole path (when it makes a valid URI at all).
    let (uri, body) = if data[1] % 8 == 0 {
        let end = rest.iter().position(|&b| b == b'\n').unwrap_or(rest.len());
        let raw = String::from_utf8_lossy(&rest[..end]).into_owned();
        (
            format!("/{}", raw.trim_start_matches('/')),
            &rest[end.min(rest.len())..],
        )
    } else {
        let path = PATHS[usize::from(data[1]) % PATHS.len()];
        let split = rest.len().min(usize::from(data[2] % 64));
        let query = String::from_utf8_lossy(&rest[..split]).into_owned();
        (format!("{path}?{query}"), &rest[split..])
    };
    let content_type = match data[2] >> 6 {
        0 => "application/json",
        1 => "application/x-www-form-urlencoded",
        2 => "text/plain",
        _ => "application/json; charset=utf-8",
    };
    let Ok(mut req) = Request::builder()
        .method(method)
        .uri(uri)
        .header("content-type", content_type)
        .header("cookie", "__Host-ct_session=00; __Host-ct_pre=11")
        .header("authorization", "Bearer ctst_not_a_token")
        .body(Body::from(body.to_vec()))
    else {
        return;
    };
    let peer: SocketAddr = "127.0.0.1:40000".parse().unwrap();
    req.extensions_mut().insert(ConnectInfo(PeerAddr(peer)));
    let status =
        f.rt.block_on(f.app.clone().oneshot(req))
            .map(|r| r.status())
            .unwrap();
    assert!(!status.is_server_error(), "{status}");
});
