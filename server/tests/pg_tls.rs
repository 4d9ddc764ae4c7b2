//! TLS between the intake server and PostgreSQL (issue 18), tried as someone on the network
//! between them: a relay that records every byte both ways, and an impostor answering for the
//! database. Needs the throwaway cluster of `scripts/with-pg` (TLS on, its authority in
//! `CHUNGTAY_TEST_PG_CA`): ignored on SQLite runs, `scripts/pg-test` runs it with `--ignored`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::io::{Read as _, Write as _};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::{Arc, Mutex};

use chungtay_intake::admin::{self, Database, Site};
use chungtay_intake::{KdfParams, Limits, PgStore, RunningServer};
use chungtay_protocol::{B64, DeviceKeys, EnrollRequest, EnrollResponse, ProvincePins};
use common::{PASS, TestDb, scenario2};
use reqwest::StatusCode;

/// A TCP relay on `listen` to `target` that keeps every byte it passes, both ways.
struct Relay {
    addr: SocketAddr,
    seen: Arc<Mutex<Vec<u8>>>,
}

impl Relay {
    fn start(listen: &str, target: SocketAddr) -> Relay {
        Relay::rewriting(listen, target, None)
    }

    /// A relay that also replaces `from` with `to` (the same length) in what the client sends,
    /// as a connection pooler that drops or rewrites startup options would.
    fn rewriting(
        listen: &str,
        target: SocketAddr,
        rewrite: Option<(&'static [u8], &'static [u8])>,
    ) -> Relay {
        let listener = TcpListener::bind(listen).unwrap();
        let addr = listener.local_addr().unwrap();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let kept = seen.clone();
        std::thread::spawn(move || {
            for client in listener.incoming() {
                let Ok(client) = client else { return };
                let Ok(server) = TcpStream::connect(target) else {
                    continue;
                };
                for (mut from, mut to, upstream) in [
                    (
                        client.try_clone().unwrap(),
                        server.try_clone().unwrap(),
                        true,
                    ),
                    (server, client, false),
                ] {
                    let kept = kept.clone();
                    std::thread::spawn(move || {
                        let mut buf = [0u8; 16 * 1024];
                        while let Ok(n) = from.read(&mut buf) {
                            if let (true, Some((old, new))) = (upstream, rewrite)
                                && let Some(at) = buf[..n].windows(old.len()).position(|w| w == old)
                            {
                                buf[at..at + new.len()].copy_from_slice(new);
                            }
                            if n == 0 || to.write_all(&buf[..n]).is_err() {
                                break;
                            }
                            kept.lock().unwrap().extend_from_slice(&buf[..n]);
                        }
                        let _ = to.shutdown(std::net::Shutdown::Both);
                    });
                }
            }
        });
        Relay { addr, seen }
    }

    fn seen(&self) -> Vec<u8> {
        self.seen.lock().unwrap().clone()
    }
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

/// The test's database URL with its host and port replaced by `addr` and `query` added.
fn via(db: &TestDb, addr: SocketAddr, query: &str) -> String {
    let url = db.url().expect("scripts/pg-test sets CHUNGTAY_TEST_PG");
    let (head, name) = url.rsplit_once('/').unwrap();
    let (creds, _) = head.rsplit_once('@').unwrap();
    format!("{creds}@{addr}/{name}{query}")
}

fn pg_addr(db: &TestDb) -> SocketAddr {
    let url = db.url().unwrap();
    let host_port = url.rsplit_once('@').unwrap().1.split('/').next().unwrap();
    host_port.parse().unwrap()
}

fn ca() -> String {
    std::env::var("CHUNGTAY_TEST_PG_CA").expect("scripts/with-pg sets CHUNGTAY_TEST_PG_CA")
}

/// A province on `url`: init, enroll a phone, send scenario 2's referral, list it as staff.
fn a_day_of_intake(url: &str) {
    let dir = tempfile::tempdir().unwrap();
    a_day_of_intake_at(&Site::new(dir.path(), Database::Postgres(url.to_string())));
}

fn a_day_of_intake_at(site: &Site) {
    let site = site.clone();
    admin::init(&site, PASS, KdfParams::MINIMUM).unwrap();
    let state = admin::load_state(&site, PASS, Limits::default()).unwrap();
    let server = RunningServer::spawn(state, "127.0.0.1:0".parse().unwrap()).unwrap();
    chungtay_intake::install_crypto_provider();
    let http = reqwest::blocking::Client::new();
    let code = admin::issue_code(&site, PASS).unwrap().code;
    let keys = DeviceKeys::generate().unwrap();
    let er: EnrollResponse = http
        .post(server.url("/v1/enroll"))
        .json(&EnrollRequest {
            code,
            device_public_key: B64(keys.public_key().to_vec()),
        })
        .send()
        .unwrap()
        .json()
        .unwrap();
    let pins = ProvincePins::from_response(&er).unwrap();
    let sub = chungtay_protocol::seal_referral(
        &scenario2("ref-tls-1"),
        &keys,
        &er.device_id,
        &pins.hpke_public_key,
    )
    .unwrap();
    let resp = http
        .post(server.url("/v1/referrals"))
        .json(&sub)
        .send()
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let token = admin::staff_token(&site, PASS, "cb", 1).unwrap().token;
    let list = http
        .get(server.url("/v1/staff/referrals"))
        .bearer_auth(token)
        .send()
        .unwrap();
    assert_eq!(list.status(), StatusCode::OK);
    assert_eq!(
        admin::open_site(&site).unwrap().referral_count().unwrap(),
        1
    );
}

#[test]
#[ignore = "needs PostgreSQL with TLS: scripts/pg-test runs it"]
fn over_verify_full_a_relay_between_server_and_database_reads_nothing() {
    // The control: in plain text the relay reads the statements and the referral's ids.
    let plain_db = TestDb::new();
    let relay = Relay::start("127.0.0.1:0", pg_addr(&plain_db));
    a_day_of_intake(&via(&plain_db, relay.addr, ""));
    let seen = relay.seen();
    assert!(contains(&seen, b"INSERT INTO referrals"));
    assert!(contains(&seen, b"ref-tls-1"));
    // The startup message names the user in clear.
    assert!(contains(&seen, b"user\0postgres\0"));

    let db = TestDb::new();
    let relay = Relay::start("127.0.0.1:0", pg_addr(&db));
    let url = via(
        &db,
        relay.addr,
        &format!("?sslmode=verify-full&sslrootcert={}", ca()),
    );
    a_day_of_intake(&url);
    let seen = relay.seen();
    // Every connection opened with PostgreSQL's SSLRequest (length 8, code 80877103)...
    assert!(seen.starts_with(&[0, 0, 0, 8, 4, 210, 22, 47]));
    // ...and nothing of the statements, ids or user name crossed in clear. (The cluster's md5
    // exchange never sends the password itself, in clear or not.)
    for clear in [
        b"INSERT".as_slice(),
        b"referrals",
        b"ref-tls-1",
        b"postgres",
    ] {
        assert!(
            !contains(&seen, clear),
            "{}",
            String::from_utf8_lossy(clear)
        );
    }
}

#[test]
#[ignore = "needs PostgreSQL with TLS: scripts/pg-test runs it"]
fn an_impostor_for_the_database_is_refused_before_the_password_is_sent() {
    let db = TestDb::new();
    // A certificate for another name: the relay answers at 127.0.0.2, which the database's
    // certificate (127.0.0.1, localhost) does not name.
    let relay = Relay::start("127.0.0.2:0", pg_addr(&db));
    let url = via(
        &db,
        relay.addr,
        &format!("?sslmode=verify-full&sslrootcert={}", ca()),
    );
    let err = PgStore::open(&url).err().unwrap().to_string();
    assert!(err.contains("not valid for name"), "{err}");
    // Another authority than the one that signed the database's certificate.
    let other = tempfile::tempdir().unwrap();
    let made = chungtay_intake::tls::generate_self_signed(other.path(), &["127.0.0.1".into()]);
    assert!(made.is_ok());
    let relay2 = Relay::start("127.0.0.1:0", pg_addr(&db));
    let wrong = via(
        &db,
        relay2.addr,
        &format!(
            "?sslmode=verify-full&sslrootcert={}",
            other.path().join(chungtay_intake::tls::CERT_FILE).display()
        ),
    );
    let err = PgStore::open(&wrong).err().unwrap().to_string();
    assert!(err.contains("invalid peer certificate"), "{err}");
    assert!(!err.contains("not valid for name"), "{err}");
    // Neither got as far as the startup message (the user name, then the password exchange):
    // the handshake failed first.
    for seen in [relay.seen(), relay2.seen()] {
        assert!(seen.starts_with(&[0, 0, 0, 8, 4, 210, 22, 47]));
        assert!(!contains(&seen, b"postgres"));
    }
    // The right authority, by the right name, opens.
    let good = via(
        &db,
        pg_addr(&db),
        &format!("?sslmode=verify-full&sslrootcert={}", ca()),
    );
    assert!(PgStore::open(&good).is_ok());
}

#[test]
#[ignore = "needs PostgreSQL: scripts/pg-test runs it"]
fn a_pooler_that_drops_the_schema_option_still_leaves_each_province_in_its_own_schema() {
    let db = TestDb::new();
    // Between server and database, something rewrites the startup option that names the
    // province's schema (pgbouncer's ignore_startup_parameters drops it the same way).
    let relay = Relay::rewriting(
        "127.0.0.1:0",
        pg_addr(&db),
        Some((b"-c search_path=thanh_hoa", b"-c statement_timeout=0  ")),
    );
    let url = admin::in_schema(&via(&db, relay.addr, ""), "thanh_hoa").unwrap();
    // The rewrite works: a plain connection through it is left on the shared schema.
    let mut plain = postgres::Client::connect(&url, postgres::NoTls).unwrap();
    let path: String = plain.query_one("SHOW search_path", &[]).unwrap().get(0);
    assert_ne!(path, "thanh_hoa");
    drop(plain);
    // The province set up and used through it still lands in its own schema, none in public.
    let dir = tempfile::tempdir().unwrap();
    a_day_of_intake_at(&Site::new(dir.path(), Database::Postgres(url)));
    let mut direct = postgres::Client::connect(&db.url().unwrap(), postgres::NoTls).unwrap();
    let tables = |c: &mut postgres::Client, schema: &str| -> i64 {
        c.query_one(
            "SELECT count(*) FROM information_schema.tables WHERE table_schema = $1",
            &[&schema],
        )
        .unwrap()
        .get(0)
    };
    assert!(tables(&mut direct, "thanh_hoa") > 5);
    assert_eq!(tables(&mut direct, "public"), 0);
    let stored: i64 = direct
        .query_one("SELECT count(*) FROM thanh_hoa.referrals", &[])
        .unwrap()
        .get(0);
    assert_eq!(stored, 1);
}
