//! Optional TLS serving with rustls (ring provider), for a province that runs the server with
//! no reverse proxy in front. The phone pins the certificate's public key (SPKI SHA-256, the
//! form Android's network security config and OkHttp use), so a self-signed certificate is
//! fine: see `tls-cert` and the README.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;

use axum::extract::connect_info::Connected;
use axum::serve::IncomingStream;
use ring::digest::{SHA256, digest};
use tokio::net::TcpListener;
use tokio_rustls::rustls::pki_types::pem::PemObject as _;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio_rustls::rustls::{self, ServerConfig};

use crate::error::AdminError;
use crate::keyfile::write_new_private;

/// The client address of a connection, plain or TLS (for per-address limits).
#[derive(Clone, Copy, Debug)]
pub struct PeerAddr(pub SocketAddr);

impl Connected<IncomingStream<'_, TcpListener>> for PeerAddr {
    fn connect_info(stream: IncomingStream<'_, TcpListener>) -> Self {
        PeerAddr(*stream.remote_addr())
    }
}

/// A rustls server configuration (TLS 1.2 and 1.3, ring) from PEM files.
pub fn server_config(cert_pem: &Path, key_pem: &Path) -> Result<Arc<ServerConfig>, AdminError> {
    let bad = |_| AdminError::Usage("cannot read the TLS certificate or key (PEM)");
    let certs = CertificateDer::pem_file_iter(cert_pem)
        .map_err(bad)?
        .collect::<Result<Vec<_>, _>>()
        .map_err(bad)?;
    let key = PrivateKeyDer::from_pem_file(key_pem).map_err(bad)?;
    let mut config =
        ServerConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()
            .map_err(|_| AdminError::Usage("TLS configuration"))?
            .with_no_client_auth()
            .with_single_cert(certs, key)
            .map_err(|_| AdminError::Usage("the TLS key does not match the certificate"))?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

/// Where `tls-cert` writes the certificate and key in a data folder.
pub const CERT_FILE: &str = "tls-cert.pem";
pub const KEY_FILE: &str = "tls-key.pem";

/// A generated self-signed certificate.
#[derive(Clone, Debug)]
pub struct GeneratedCert {
    /// Base64 SHA-256 of the certificate's SubjectPublicKeyInfo: the pin for the phone.
    pub spki_sha256: String,
}

/// `tls-cert`: a self-signed certificate (ECDSA P-256) for `names`, written as
/// `tls-cert.pem` and `tls-key.pem` (mode 0600) in `data`. Refuses to overwrite.
pub fn generate_self_signed(data: &Path, names: &[String]) -> Result<GeneratedCert, AdminError> {
    use rcgen::PublicKeyData as _;
    if names.is_empty() {
        return Err(AdminError::Usage(
            "give at least one --name (host name or IP)",
        ));
    }
    let generated = rcgen::generate_simple_self_signed(names.to_vec())
        .map_err(|_| AdminError::Usage("cannot make a certificate for these names"))?;
    let spki = generated.signing_key.subject_public_key_info();
    write_new_private(
        &data.join(KEY_FILE),
        generated.signing_key.serialize_pem().as_bytes(),
    )?;
    write_new_private(&data.join(CERT_FILE), generated.cert.pem().as_bytes())?;
    Ok(GeneratedCert {
        spki_sha256: spki_pin(&spki),
    })
}

/// Base64 SHA-256 of a DER SubjectPublicKeyInfo.
pub fn spki_pin(spki_der: &[u8]) -> String {
    chungtay_protocol::B64(digest(&SHA256, spki_der).as_ref().to_vec()).encode()
}
