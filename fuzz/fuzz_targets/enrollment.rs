//! What a leader types or pastes at enrollment (core/src/sync.rs) and what the server answers:
//! - the server URL: what `Store::enroll` accepts is the base of every request, and each
//!   request URL made from it goes to the same scheme, host and port, over HTTPS unless that
//!   host is this machine, at the path meant, with no query, fragment or credentials in it
//!   (so "https://province.example@elsewhere.example" cannot pass for the province);
//! - the pinned certificate (PEM): refused, or pins at least one and at most as many
//!   certificates as the text holds;
//! - the enrollment answer (JSON): refused, or two 32-byte keys with a fingerprint of five
//!   groups of four hex digits.
#![no_main]

use chungtay_core::fuzzing::{pinned_roots, server_base};
use chungtay_protocol::{EnrollResponse, ProvincePins};
use libfuzzer_sys::fuzz_target;
use url::{Host, Url};

fn loopback(host: Option<Host<&str>>) -> bool {
    match host {
        Some(Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(Host::Ipv4(ip)) => ip.is_loopback(),
        Some(Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    }
}

fn check_url(text: &str) {
    let Ok(base) = server_base(text) else {
        return;
    };
    let given = Url::parse(text).expect("an accepted URL parses");
    for path in [
        "/v1/enroll",
        "/v1/referrals",
        "/v1/checkpoints",
        "/v1/status",
    ] {
        let url = Url::parse(&format!("{base}{path}")).expect("a request URL parses");
        assert_eq!(url.scheme(), given.scheme(), "{path}: scheme changed");
        assert_eq!(url.host(), given.host(), "{path}: host changed");
        assert_eq!(url.port_or_known_default(), given.port_or_known_default());
        assert!(
            url.scheme() == "https" || (url.scheme() == "http" && loopback(url.host())),
            "{path}: plain HTTP to another machine"
        );
        assert!(
            url.path().ends_with(path),
            "{path}: the request goes elsewhere"
        );
        assert_eq!(url.query(), None, "{path}: a query in the request URL");
        assert_eq!(
            url.fragment(),
            None,
            "{path}: a fragment in the request URL"
        );
        assert!(
            url.username().is_empty() && url.password().is_none(),
            "credentials in the URL"
        );
    }
}

fn check_pem(text: &str) {
    if let Ok(n) = pinned_roots(text) {
        let blocks = text.matches("-----BEGIN CERTIFICATE-----").count();
        assert!(
            n >= 1,
            "a pinned certificate that pins nothing was accepted"
        );
        assert!(n <= blocks, "{n} roots from {blocks} certificates");
    }
}

fn check_answer(data: &[u8]) {
    let Ok(answer) = serde_json::from_slice::<EnrollResponse>(data) else {
        return;
    };
    if let Ok(pins) = ProvincePins::from_response(&answer) {
        assert_eq!(
            answer.province_hpke_public_key.as_bytes(),
            pins.hpke_public_key
        );
        assert_eq!(answer.province_signing_key.as_bytes(), pins.signing_key);
        let fp = pins.fingerprint();
        assert_eq!(fp.len(), 24);
        assert!(
            fp.split('-')
                .all(|g| g.len() == 4 && g.bytes().all(|b| b.is_ascii_hexdigit()))
        );
    }
}

fuzz_target!(|data: &[u8]| {
    check_answer(data);
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    check_url(text);
    check_url(text.trim());
    check_pem(text);
});
