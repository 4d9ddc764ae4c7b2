//! HTTPS with a self-signed certificate that the client pins, over loopback.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use chungtay_intake::tls::{CERT_FILE, KEY_FILE, generate_self_signed, server_config, spki_pin};
use chungtay_intake::{ConnLimits, KdfParams, Limits, RunningServer, admin};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio_rustls::TlsConnector;
use tokio_rustls::rustls::pki_types::pem::PemObject as _;
use tokio_rustls::rustls::pki_types::{CertificateDer, ServerName};
use tokio_rustls::rustls::{self, ClientConfig, RootCertStore};

const PASS: &str = "correct horse battery staple";

fn client(roots: RootCertStore) -> TlsConnector {
    let config =
        ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_root_certificates(roots)
            .with_no_client_auth();
    TlsConnector::from(Arc::new(config))
}

async fn get(
    connector: &TlsConnector,
    addr: std::net::SocketAddr,
    path: &str,
) -> std::io::Result<(String, Vec<u8>)> {
    let tcp = tokio::net::TcpStream::connect(addr).await?;
    let mut tls = connector
        .connect(ServerName::try_from("localhost").unwrap(), tcp)
        .await?;
    let presented = tls.get_ref().1.peer_certificates().unwrap()[0].to_vec();
    tls.write_all(
        format!("GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n").as_bytes(),
    )
    .await?;
    let mut resp = Vec::new();
    tls.read_to_end(&mut resp).await?;
    Ok((String::from_utf8_lossy(&resp).into_owned(), presented))
}

#[test]
fn https_with_a_pinned_self_signed_certificate() {
    let dir = tempfile::tempdir().unwrap();
    let db = common::TestDb::new();
    let site = db.site(dir.path());
    admin::init(&site, PASS, KdfParams::MINIMUM).unwrap();
    let generated = generate_self_signed(dir.path(), &["localhost".into()]).unwrap();
    // A second run does not overwrite the key.
    assert!(generate_self_signed(dir.path(), &["localhost".into()]).is_err());
    let cert_path = dir.path().join(CERT_FILE);
    let key_path = dir.path().join(KEY_FILE);
    let tls = server_config(&cert_path, &key_path).unwrap();
    let state = admin::load_state(&site, PASS, Limits::default()).unwrap();
    let server = RunningServer::spawn_tls(state, "127.0.0.1:0".parse().unwrap(), tls).unwrap();
    assert!(server.url("/healthz").starts_with("https://"));

    // The pin printed by tls-cert is the SHA-256 of the key's SubjectPublicKeyInfo.
    let key_pem = std::fs::read_to_string(&key_path).unwrap();
    let key = rcgen::KeyPair::from_pem(&key_pem).unwrap();
    use rcgen::PublicKeyData as _;
    assert_eq!(
        spki_pin(&key.subject_public_key_info()),
        generated.spki_sha256
    );

    let cert = CertificateDer::from_pem_file(&cert_path).unwrap();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        // A client that trusts exactly this certificate gets through.
        let mut roots = RootCertStore::empty();
        roots.add(cert.clone()).unwrap();
        let (resp, presented) = get(&client(roots), server.addr(), "/healthz")
            .await
            .unwrap();
        assert!(resp.starts_with("HTTP/1.1 200"), "{resp}");
        assert!(resp.ends_with("ok"));
        assert_eq!(presented, cert.to_vec());

        // A client that does not trust it fails the handshake.
        let other = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).unwrap();
        let mut wrong = RootCertStore::empty();
        wrong.add(other.cert.der().clone()).unwrap();
        assert!(
            get(&client(wrong), server.addr(), "/healthz")
                .await
                .is_err()
        );

        // Plain HTTP to the TLS port gets no HTTP answer.
        let mut tcp = tokio::net::TcpStream::connect(server.addr()).await.unwrap();
        tcp.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
            .await
            .unwrap();
        let mut buf = Vec::new();
        let _ = tcp.read_to_end(&mut buf).await;
        assert!(!String::from_utf8_lossy(&buf).contains("200"));
    });
    server.stop().unwrap();
}

/// Reads until the server closes the connection; how long that took.
async fn time_to_close(stream: &mut (impl tokio::io::AsyncRead + Unpin)) -> Duration {
    let start = Instant::now();
    let mut buf = [0u8; 256];
    // Bounded, so a server that never closes fails the test instead of hanging it.
    tokio::time::timeout(Duration::from_secs(10), async {
        while let Ok(n) = stream.read(&mut buf).await {
            if n == 0 {
                break;
            }
        }
    })
    .await
    .expect("the server never closed the connection");
    start.elapsed()
}

#[test]
fn slow_clients_are_dropped_and_connections_are_capped() {
    let dir = tempfile::tempdir().unwrap();
    let db = common::TestDb::new();
    let site = db.site(dir.path());
    admin::init(&site, PASS, KdfParams::MINIMUM).unwrap();
    generate_self_signed(dir.path(), &["localhost".into()]).unwrap();
    let cert_path = dir.path().join(CERT_FILE);
    let tls = server_config(&cert_path, &dir.path().join(KEY_FILE)).unwrap();
    let state = admin::load_state(&site, PASS, Limits::default()).unwrap();
    let limits = ConnLimits {
        max_connections: 1,
        handshake: Duration::from_millis(600),
        header_read: Duration::from_millis(600),
        request: Duration::from_secs(5),
    };
    let server =
        RunningServer::spawn_tls_with(state, "127.0.0.1:0".parse().unwrap(), tls, limits).unwrap();
    let mut roots = RootCertStore::empty();
    roots
        .add(CertificateDer::from_pem_file(&cert_path).unwrap())
        .unwrap();
    let connector = client(roots);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        // A client that connects and never says hello is dropped after the handshake timeout.
        let mut stalled = tokio::net::TcpStream::connect(server.addr()).await.unwrap();
        assert!(time_to_close(&mut stalled).await < Duration::from_secs(5));

        // One that finishes the handshake but sends half a request is dropped too.
        let tcp = tokio::net::TcpStream::connect(server.addr()).await.unwrap();
        let mut tls = connector
            .connect(ServerName::try_from("localhost").unwrap(), tcp)
            .await
            .unwrap();
        tls.write_all(b"GET /healthz HTTP/1.1\r\nHost: local")
            .await
            .unwrap();
        assert!(time_to_close(&mut tls).await < Duration::from_secs(5));

        // The cap: while one stalled connection holds the only slot, a real client waits for
        // it to be dropped, then gets its answer.
        let _holder = tokio::net::TcpStream::connect(server.addr()).await.unwrap();
        tokio::time::sleep(Duration::from_millis(100)).await;
        let start = Instant::now();
        let (resp, _) = get(&connector, server.addr(), "/healthz").await.unwrap();
        assert!(resp.starts_with("HTTP/1.1 200"), "{resp}");
        assert!(
            start.elapsed() >= Duration::from_millis(300),
            "{:?}",
            start.elapsed()
        );
    });
    server.stop().unwrap();
}
