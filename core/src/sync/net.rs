//! The HTTP client to the province: its TLS roots (the province's pinned certificate), its
//! timeouts and retry policy, and what a failed request becomes.

use std::sync::Once;
use std::time::Duration;

use chungtay_protocol::{self as protocol};
use rustls_pki_types::pem::PemObject as _;

use super::CONNECT_TIMEOUT;
use crate::error::{Error, Reason, Result, invalid};

/// Installs rustls's ring provider once per process. Any reqwest client in a build that links
/// the core needs it (the core's reqwest has no built-in provider, to keep aws-lc out).
pub fn install_crypto_provider() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        // Fails only if another provider was installed first, which is then used instead.
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
}

/// HTTPS only, except to this machine (tests, and a server on the same laptop). The host is
/// parsed, not prefix-matched: `http://127.0.0.1.example.vn` is a remote host.
pub(super) fn check_url(url: &str) -> Result<reqwest::Url> {
    let Ok(parsed) = reqwest::Url::parse(url) else {
        return invalid("server_url", Reason::BadUrl);
    };
    // Requests go to this base + "/v1/...": with credentials ("https://<the province's
    // name>@<another host>" reads as the province), a query or a fragment, they would go to
    // another host or path than the one the leader reads.
    if !parsed.username().is_empty()
        || parsed.password().is_some()
        || parsed.query().is_some()
        || parsed.fragment().is_some()
    {
        return invalid("server_url", Reason::BadUrl);
    }
    let host = parsed.host_str().unwrap_or_default();
    let loopback = host.eq_ignore_ascii_case("localhost")
        || host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback());
    match parsed.scheme().to_owned().as_str() {
        _ if host.is_empty() => invalid("server_url", Reason::BadUrl),
        "https" => Ok(parsed),
        "http" if loopback => Ok(parsed),
        "http" => invalid(
            "server_url",
            Reason::NotAllowedInState {
                state: "not https".into(),
            },
        ),
        _ => invalid("server_url", Reason::BadUrl),
    }
}

/// The longest wait a server's `Retry-After` can impose on one item.
pub(super) const MAX_RETRY_AFTER_SECS: u64 = 24 * 3600;

pub(super) fn client(
    server_certificate: Option<&str>,
    request_timeout: Duration,
) -> Result<reqwest::blocking::Client> {
    install_crypto_provider();
    // Always our own rustls configuration, never the platform verifier (which needs Android
    // glue that is not on Maven Central): the pinned self-signed certificate alone when the
    // province gave one at enrollment, otherwise the Mozilla roots bundled in webpki-roots.
    let roots = match server_certificate {
        Some(pem) => pinned_roots(pem)?,
        None => {
            let mut roots = rustls::RootCertStore::empty();
            roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
            roots
        }
    };
    let config = rustls::ClientConfig::builder()
        .with_root_certificates(roots)
        .with_no_client_auth();
    reqwest::blocking::Client::builder()
        .connect_timeout(CONNECT_TIMEOUT)
        .timeout(request_timeout)
        // Never follow a redirect: it would re-send an enrollment code or a sealed referral
        // to whatever host the answer names, even over plain HTTP. A 3xx is an answer.
        .redirect(reqwest::redirect::Policy::none())
        .tls_backend_preconfigured(config)
        .build()
        .map_err(|e| net(&e.to_string()))
}

/// The roots a pinned certificate (PEM, as the province printed it) gives: each certificate in
/// it, and nothing else.
pub(crate) fn pinned_roots(pem: &str) -> Result<rustls::RootCertStore> {
    let mut roots = rustls::RootCertStore::empty();
    for cert in rustls_pki_types::CertificateDer::pem_slice_iter(pem.as_bytes()) {
        let cert = cert.map_err(|_| net("bad pinned certificate"))?;
        roots.add(cert).map_err(|_| net("bad pinned certificate"))?;
    }
    // Text with no certificate in it pins nothing: say so now, not as a failed connection later.
    if roots.is_empty() {
        return Err(net("bad pinned certificate"));
    }
    Ok(roots)
}

/// The base every request to the province starts from: the enrollment URL, checked, as the URL
/// parser understood it (not as typed: it drops stray spaces and control characters), without
/// its trailing slashes.
pub(crate) fn server_base(url: &str) -> Result<String> {
    Ok(check_url(url)?.as_str().trim_end_matches('/').to_owned())
}

pub(super) fn net(detail: &str) -> Error {
    Error::Network {
        detail: detail.to_owned(),
    }
}

pub(super) fn error_code(resp: reqwest::blocking::Response) -> String {
    resp.json::<protocol::ErrorBody>()
        .map(|b| b.error)
        .unwrap_or_else(|_| "unknown".into())
}
