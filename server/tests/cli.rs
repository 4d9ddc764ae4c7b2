//! The `chungtay-intake` binary: admin subcommands, passphrase from the environment or stdin.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::io::Write as _;
use std::process::{Command, Output, Stdio};

use common::TestDb;

const BIN: &str = env!("CARGO_BIN_EXE_chungtay-intake");
const PASS: &str = "a long province passphrase";

/// The binary on the test's database: CHUNGTAY_DATABASE names it when on PostgreSQL.
fn bin(db: &TestDb) -> Command {
    let mut cmd = Command::new(BIN);
    match db.url() {
        Some(url) => cmd.env("CHUNGTAY_DATABASE", url),
        None => cmd.env_remove("CHUNGTAY_DATABASE"),
    };
    cmd
}

fn run(db: &TestDb, args: &[&str], env_pass: Option<&str>, stdin: Option<&str>) -> Output {
    let mut cmd = bin(db);
    cmd.args(args)
        .env_remove("CHUNGTAY_PROVINCE_PASSPHRASE")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    if let Some(p) = env_pass {
        cmd.env("CHUNGTAY_PROVINCE_PASSPHRASE", p);
    }
    let mut child = cmd.spawn().unwrap();
    {
        let mut input = child.stdin.take().unwrap();
        if let Some(s) = stdin {
            input.write_all(s.as_bytes()).unwrap();
        }
    }
    child.wait_with_output().unwrap()
}

/// A `serve` process and its log (stderr), read on a thread of its own.
struct Served {
    child: std::process::Child,
    lines: std::sync::mpsc::Receiver<String>,
    reader: std::thread::JoinHandle<()>,
    log: Vec<String>,
    addr: std::net::SocketAddr,
}

impl Served {
    /// Follows `child`'s log until it says the address it listens on.
    fn start(mut child: std::process::Child) -> Served {
        use std::io::BufRead as _;
        let (tx, lines) = std::sync::mpsc::channel::<String>();
        let stderr = child.stderr.take().unwrap();
        let reader = std::thread::spawn(move || {
            for line in std::io::BufReader::new(stderr).lines() {
                let _ = tx.send(line.unwrap());
            }
        });
        let mut log = Vec::new();
        let addr = loop {
            let line = lines
                .recv_timeout(std::time::Duration::from_secs(60))
                .unwrap_or_else(|_| panic!("server did not start:\n{}", log.join("\n")));
            log.push(line.clone());
            if let Some(rest) = line.split("addr=").nth(1) {
                break rest.split_whitespace().next().unwrap().parse().unwrap();
            }
        };
        Served {
            child,
            lines,
            reader,
            log,
            addr,
        }
    }

    /// Stops it; its whole log.
    fn stop(mut self) -> String {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
        self.reader.join().unwrap();
        self.log.extend(self.lines.try_iter());
        self.log.join("\n")
    }
}

fn stdout(o: &Output) -> String {
    String::from_utf8(o.stdout.clone()).unwrap()
}

#[test]
fn admin_commands_through_the_binary() {
    let dir = tempfile::tempdir().unwrap();
    let db = TestDb::new();
    let data = dir.path().join("province");
    let data = data.to_str().unwrap();

    let init = run(&db, &["init", "--data", data], Some(PASS), None);
    assert!(
        init.status.success(),
        "{}",
        String::from_utf8_lossy(&init.stderr)
    );
    assert!(stdout(&init).contains("province signing public key"));
    let fingerprint = stdout(&init)
        .lines()
        .find_map(|l| l.strip_prefix("province key fingerprint:"))
        .unwrap()
        .trim()
        .to_string();
    // A second init is refused.
    assert!(
        !run(&db, &["init", "--data", data], Some(PASS), None)
            .status
            .success()
    );

    let code = run(&db, &["issue-code", "--data", data], Some(PASS), None);
    assert!(code.status.success());
    let first_line = stdout(&code).lines().next().unwrap().to_string();
    assert_eq!(first_line.len(), 14, "XXXX-XXXX-XXXX");
    assert!(chungtay_intake::admin::code_hash(&first_line).is_some());
    assert!(stdout(&code).contains(&fingerprint));

    let devices = run(&db, &["devices", "--data", data], None, None);
    assert!(devices.status.success());
    assert_eq!(stdout(&devices), "");
    assert!(
        !run(&db, &["revoke", "--data", data, "nope"], None, None)
            .status
            .success()
    );

    let token = run(
        &db,
        &[
            "staff-token",
            "--data",
            data,
            "--label",
            "Chị Hà",
            "--days",
            "7",
        ],
        None,
        Some(&format!("{PASS}\n")),
    );
    assert!(stdout(&token).starts_with("ctst_"));
    let token_id = stdout(&token)
        .lines()
        .find_map(|l| l.strip_prefix("id "))
        .unwrap()
        .to_string();
    let listed = stdout(&run(&db, &["staff-tokens", "--data", data], None, None));
    assert!(listed.contains(&token_id) && listed.contains("Chị Hà") && listed.contains("active"));
    assert!(
        !listed.contains("ctst_"),
        "the token itself is never listed"
    );
    assert!(
        run(
            &db,
            &["revoke-token", "--data", data, &token_id],
            None,
            None
        )
        .status
        .success()
    );
    let listed = stdout(&run(&db, &["staff-tokens", "--data", data], None, None));
    assert!(listed.contains("revoked"), "{listed}");

    // The passphrase is never an argument.
    let argv = run(
        &db,
        &["serve", "--data", data, "--passphrase", PASS],
        None,
        None,
    );
    assert!(!argv.status.success());

    // serve with a wrong passphrase (from stdin) stops at once.
    let wrong = run(
        &db,
        &["serve", "--data", data, "--listen", "127.0.0.1:0"],
        None,
        Some("not the passphrase\n"),
    );
    assert!(!wrong.status.success());
    assert!(String::from_utf8_lossy(&wrong.stderr).contains("wrong passphrase"));

    // init reading the passphrase from stdin (into a database of its own).
    let other = dir.path().join("other");
    let db = TestDb::new();
    let from_stdin = run(
        &db,
        &["init", "--data", other.to_str().unwrap()],
        None,
        Some(&format!("{PASS}\n")),
    );
    assert!(
        from_stdin.status.success(),
        "{}",
        String::from_utf8_lossy(&from_stdin.stderr)
    );
    chungtay_intake::admin::load_keys(&other, PASS).unwrap();

    // A --database that names no backend, or a database beyond this machine without TLS that
    // checks it (or with TLS that checks less than it seems to), is refused before anything
    // is opened or sent, and a password in it is not repeated.
    for (bad, says) in [
        ("mysql://u:s3cret-pw@db/x", "--database"),
        ("sqlite:", "--database"),
        ("postgres://u:s3cret-pw@db:notaport/x", "--database"),
        ("postgres://u:s3cret-pw@db.example.vn/x", "needs TLS"),
        (
            "postgres://u:s3cret-pw@db.example.vn/x?sslmode=require",
            "verify-full",
        ),
    ] {
        let out = run(
            &db,
            &["devices", "--data", data, "--database", bad],
            None,
            None,
        );
        assert!(!out.status.success(), "{bad}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(says), "{err}");
        assert!(!err.contains("s3cret-pw"), "{err}");
    }
}

/// The real binary serving: a referral from scenario 2 goes through, and the log holds ids and
/// outcomes but no personal text.
#[test]
fn serve_logs_ids_and_outcomes_only() {
    use chungtay_protocol::{
        B64, Consent, DeviceKeys, EnrollRequest, EnrollResponse, ProvincePins, Receipt,
        ReferralPayload, TransitionRequest, seal_referral, verify_receipt,
    };

    let dir = tempfile::tempdir().unwrap();
    let db = TestDb::new();
    let data = dir.path().to_str().unwrap().to_string();
    assert!(
        run(&db, &["init", "--data", &data], Some(PASS), None)
            .status
            .success()
    );
    let code = stdout(&run(
        &db,
        &["issue-code", "--data", &data],
        Some(PASS),
        None,
    ))
    .lines()
    .next()
    .unwrap()
    .to_string();
    let token = stdout(&run(
        &db,
        &["staff-token", "--data", &data, "--scope", "write"],
        Some(PASS),
        None,
    ))
    .lines()
    .next()
    .unwrap()
    .to_string();

    let child = bin(&db)
        .args(["serve", "--data", &data, "--listen", "127.0.0.1:0"])
        .env("CHUNGTAY_PROVINCE_PASSPHRASE", PASS)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let served = Served::start(child);
    let addr = served.addr;
    let url = |p: &str| format!("http://{addr}{p}");
    chungtay_intake::install_crypto_provider();
    let http = reqwest::blocking::Client::new();

    let device = DeviceKeys::generate().unwrap();
    let enrolled: EnrollResponse = http
        .post(url("/v1/enroll"))
        .json(&EnrollRequest {
            code,
            device_public_key: B64(device.public_key().to_vec()),
        })
        .send()
        .unwrap()
        .json()
        .unwrap();
    let pins = ProvincePins::from_response(&enrolled).unwrap();
    let payload = ReferralPayload {
        referral_id: "ref-cli-1".into(),
        services: vec!["vocational_training".into(), "loans".into()],
        urgency: "normal".into(),
        note: "Chị ấy muốn học may".into(),
        shared: [("name".to_string(), "Lò Thị Xuân".to_string())].into(),
        consent: Consent {
            purposes: vec!["vocational_training".into()],
            recipient: "Hội LHPN tỉnh".into(),
            fields: vec!["name".into()],
            given_on: "2025-09-01".into(),
        },
        created_at: "2025-09-01T08:00:00Z".into(),
    };
    let sub = seal_referral(
        &payload,
        &device,
        &enrolled.device_id,
        &pins.hpke_public_key,
    )
    .unwrap();
    let receipt: Receipt = http
        .post(url("/v1/referrals"))
        .json(&sub)
        .send()
        .unwrap()
        .json()
        .unwrap();
    verify_receipt(&receipt, &enrolled.device_id, &pins.signing_key).unwrap();
    let resp = http
        .post(url("/v1/staff/referrals/ref-cli-1/transition"))
        .bearer_auth(&token)
        .json(&TransitionRequest {
            state: "accepted".into(),
            note: "Lớp học bắt đầu ngày 5".into(),
        })
        .send()
        .unwrap();
    assert_eq!(resp.status(), reqwest::StatusCode::OK);

    let log = served.stop();
    assert!(log.contains("ref-cli-1") && log.contains("stored"), "{log}");
    assert!(log.contains(&enrolled.device_id));
    for secret in ["Xuân", "học may", "Lớp học", &token, "ctst_"] {
        assert!(!log.contains(secret), "{secret} in the log:\n{log}");
    }
}

/// Point 14: plain HTTP only on this machine. `serve` on every interface without TLS is
/// refused (it would carry codes and referrals in clear), unless explicitly forced.
#[test]
fn serve_refuses_plain_http_beyond_loopback() {
    let dir = tempfile::tempdir().unwrap();
    let db = TestDb::new();
    let data = dir.path().join("province");
    let data = data.to_str().unwrap();
    assert!(
        run(&db, &["init", "--data", data], Some(PASS), None)
            .status
            .success()
    );
    let mut child = bin(&db)
        .args(["serve", "--data", data, "--listen", "0.0.0.0:0"])
        .env("CHUNGTAY_PROVINCE_PASSPHRASE", PASS)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let start = std::time::Instant::now();
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break Some(s);
        }
        if start.elapsed() > std::time::Duration::from_secs(5) {
            break None;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    };
    if status.is_none() {
        let _ = child.kill();
        let _ = child.wait();
        panic!("serve listened in plain HTTP on 0.0.0.0");
    }
    let out = child.wait_with_output().unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("loopback"), "{err}");
}

/// Point 12: minting credentials needs the province keys: without the passphrase, neither a
/// code nor a staff token is issued, whatever the access to the data folder.
#[test]
fn minting_codes_and_tokens_needs_the_passphrase() {
    let dir = tempfile::tempdir().unwrap();
    let db = TestDb::new();
    let data = dir.path().join("province");
    let data = data.to_str().unwrap();
    assert!(
        run(&db, &["init", "--data", data], Some(PASS), None)
            .status
            .success()
    );
    for cmd in ["issue-code", "staff-token"] {
        let out = run(&db, &[cmd, "--data", data], None, Some("\n"));
        assert!(!out.status.success(), "{cmd} without passphrase");
        assert!(stdout(&out).trim().is_empty(), "{cmd}");
        let out = run(
            &db,
            &[cmd, "--data", data],
            Some("not the passphrase"),
            None,
        );
        assert!(!out.status.success(), "{cmd} with a wrong passphrase");
    }
}

/// Issue 18: a national deployment through the binary. Each province is initialised in its
/// folder with `--province` (its PostgreSQL schema when on PostgreSQL) under its own
/// passphrase; `serve --deployment` asks each for its own (from its environment variable, or a
/// line of standard input) and serves each at its host.
#[test]
fn a_national_deployment_through_the_binary() {
    use chungtay_protocol::{B64, DeviceKeys, EnrollRequest};

    let root = tempfile::tempdir().unwrap();
    let db = TestDb::new();
    let pass = |slug: &str| format!("{PASS} of {slug}");
    let folder = |slug: &str| root.path().join(slug).to_str().unwrap().to_string();
    for slug in ["thanh-hoa", "lao-cai", "national"] {
        std::fs::create_dir(root.path().join(slug)).unwrap();
        let out = run(
            &db,
            &["init", "--data", &folder(slug), "--province", slug],
            Some(&pass(slug)),
            None,
        );
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    // A national viewer is made at the national office only.
    let national_viewer = |slug: &str| {
        run(
            &db,
            &[
                "add-account",
                "--data",
                &folder(slug),
                "--province",
                slug,
                "--username",
                "quocgia",
                "--name",
                "Quốc Gia",
                "--role",
                "national",
            ],
            Some(&pass(slug)),
            None,
        )
    };
    assert!(national_viewer("national").status.success());
    assert!(!national_viewer("thanh-hoa").status.success());
    // Without --province on PostgreSQL, the command finds no province there.
    if db.is_pg() {
        let out = run(
            &db,
            &["devices", "--data", &folder("thanh-hoa")],
            None,
            None,
        );
        assert!(!out.status.success());
    }
    // One province's folder with another's --province: refused (its keys with the other's
    // schema), before any passphrase is asked for.
    let out = run(
        &db,
        &[
            "devices",
            "--data",
            &folder("thanh-hoa"),
            "--province",
            "lao-cai",
        ],
        None,
        None,
    );
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--province"));
    // With --province, the province's own variable comes before one left in the shared one.
    let own = bin(&db)
        .args([
            "issue-code",
            "--data",
            &folder("lao-cai"),
            "--province",
            "lao-cai",
        ])
        .env("CHUNGTAY_PROVINCE_PASSPHRASE", pass("thanh-hoa"))
        .env("CHUNGTAY_PROVINCE_PASSPHRASE_LAO_CAI", pass("lao-cai"))
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(
        own.status.success(),
        "{}",
        String::from_utf8_lossy(&own.stderr)
    );
    let code = stdout(&run(
        &db,
        &[
            "issue-code",
            "--data",
            &folder("thanh-hoa"),
            "--province",
            "thanh-hoa",
        ],
        Some(&pass("thanh-hoa")),
        None,
    ))
    .lines()
    .next()
    .unwrap()
    .to_string();

    let mut child = bin(&db)
        .args([
            "serve",
            "--deployment",
            root.path().to_str().unwrap(),
            "--domain",
            "intake.test",
            "--listen",
            "127.0.0.1:0",
        ])
        .env_remove("CHUNGTAY_PROVINCE_PASSPHRASE")
        .env("CHUNGTAY_PROVINCE_PASSPHRASE_THANH_HOA", pass("thanh-hoa"))
        .env("CHUNGTAY_PROVINCE_PASSPHRASE_LAO_CAI", pass("lao-cai"))
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // The national office's passphrase comes on standard input.
    writeln!(child.stdin.take().unwrap(), "{}", pass("national")).unwrap();
    let served = Served::start(child);
    let addr = served.addr;
    chungtay_intake::install_crypto_provider();
    let http = reqwest::blocking::Client::builder()
        .resolve("thanh-hoa.intake.test", addr)
        .resolve("lao-cai.intake.test", addr)
        .resolve("intake.test", addr)
        .build()
        .unwrap();
    let url = |host: &str, p: &str| format!("http://{host}:{}{p}", addr.port());
    let enroll = |host: &str| {
        http.post(url(host, "/v1/enroll"))
            .json(&EnrollRequest {
                code: code.clone(),
                device_public_key: B64(DeviceKeys::generate().unwrap().public_key().to_vec()),
            })
            .send()
            .unwrap()
            .status()
    };
    assert_eq!(
        enroll("lao-cai.intake.test"),
        reqwest::StatusCode::FORBIDDEN
    );
    assert_eq!(enroll("thanh-hoa.intake.test"), reqwest::StatusCode::OK);
    let login = http
        .get(url("intake.test", "/console/login"))
        .send()
        .unwrap();
    assert_eq!(login.status(), reqwest::StatusCode::OK);

    let log = served.stop();
    for host in [
        "thanh-hoa.intake.test",
        "lao-cai.intake.test",
        "host=intake.test",
    ] {
        assert!(log.contains(host), "{host} not in the log:\n{log}");
    }
    for slug in ["thanh-hoa", "lao-cai", "national"] {
        assert!(!log.contains(&pass(slug)), "a passphrase in the log");
    }

    // On PostgreSQL, one province moves out of the deployment to a SQLite file of its own:
    // its schema's rows (the device just enrolled), not Lào Cai's.
    if db.is_pg() {
        let file = root.path().join("thanh-hoa").join("intake.db");
        let out = run(
            &db,
            &[
                "migrate",
                "--data",
                &folder("thanh-hoa"),
                "--province",
                "thanh-hoa",
                "--to",
                &format!("sqlite:{}", file.display()),
            ],
            None,
            None,
        );
        let text = stdout(&out);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(
            text.contains("devices\t1 rows") && text.contains("copied and verified"),
            "{text}"
        );
        let devices = run(
            &db,
            &[
                "devices",
                "--data",
                &folder("thanh-hoa"),
                "--database",
                &format!("sqlite:{}", file.display()),
            ],
            None,
            None,
        );
        assert_eq!(stdout(&devices).lines().count(), 1);
    }
}
