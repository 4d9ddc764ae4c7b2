//! Optional TLS serving with rustls (ring provider), for a province that runs the server with
//! no reverse proxy in front. The phone pins the certificate's public key (SPKI SHA-256, the
//! form Android's network security config and OkHttp use), so a self-signed certificate is
//! fine: see `tls-cert` and the README.

use std::io;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::connect_info::Connected;
use axum::serve::{IncomingStream, Listener};
use ring::digest::{SHA256, digest};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls::pki_types::pem::PemObject as _;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio_rustls::rustls::{self, ServerConfig};
use tokio_rustls::server::TlsStream;
use tracing::debug;

use crate::error::AdminError;
use crate::keyfile::write_new_private;

/// How long a client may take to finish its TLS handshake.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// The client address of a connection, plain or TLS (for per-address limits).
#[derive(Clone, Copy, Debug)]
pub struct PeerAddr(pub SocketAddr);

impl Connected<IncomingStream<'_, TcpListener>> for PeerAddr {
    fn connect_info(stream: IncomingStream<'_, TcpListener>) -> Self {
        PeerAddr(*stream.remote_addr())
    }
}

impl Connected<IncomingStream<'_, TlsListener>> for PeerAddr {
    fn connect_info(stream: IncomingStream<'_, TlsListener>) -> Self {
        PeerAddr(*stream.remote_addr())
    }
}

/// A TCP listener whose connections come out TLS-terminated. Handshakes run on their own
/// tasks (with a timeout), so a slow client cannot hold up the others.
pub struct TlsListener {
    ready: mpsc::Receiver<(TlsStream<TcpStream>, SocketAddr)>,
    local: SocketAddr,
    acceptor_task: JoinHandle<()>,
}

impl TlsListener {
    /// Must be called inside a Tokio runtime.
    pub fn new(tcp: TcpListener, config: Arc<ServerConfig>) -> io::Result<Self> {
        let local = tcp.local_addr()?;
        let (tx, ready) = mpsc::channel(64);
        let acceptor = TlsAcceptor::from(config);
        let acceptor_task = tokio::spawn(async move {
            loop {
                let (stream, addr) = match tcp.accept().await {
                    Ok(conn) => conn,
                    Err(e) => {
                        debug!(error = %e, "accept failed");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                };
                let acceptor = acceptor.clone();
                let tx = tx.clone();
                tokio::spawn(async move {
                    match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(stream)).await {
                        Ok(Ok(tls)) => {
                            let _ = tx.send((tls, addr)).await;
                        }
                        Ok(Err(e)) => debug!(error = %e, "TLS handshake failed"),
                        Err(_) => debug!("TLS handshake timed out"),
                    }
                });
            }
        });
        Ok(TlsListener {
            ready,
            local,
            acceptor_task,
        })
    }
}

impl Drop for TlsListener {
    fn drop(&mut self) {
        self.acceptor_task.abort();
    }
}

impl Listener for TlsListener {
    type Io = TlsStream<TcpStream>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        match self.ready.recv().await {
            Some(conn) => conn,
            // The accept task is gone (only on shutdown): never yield a connection again.
            None => std::future::pending().await,
        }
    }

    fn local_addr(&self) -> io::Result<Self::Addr> {
        Ok(self.local)
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
