//! Issue 18: three `chungtay-intake serve` processes on one PostgreSQL database (the deployment
//! that SQLite is not for: `scripts/pg-test` runs this with `--ignored`), 1,000 referrals from
//! 20 phones spread across them, each instance behind the end-to-end tests' fault-injecting
//! proxy (connections dropped, 500s before and after the server stored a request, requests
//! sent twice, answers lost, slow lines), answers also lost and requests raced to two
//! instances at once by the phones, and one instance killed midway: every referral stored
//! exactly once, every receipt valid, every phone's status updates numbered without a gap.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::io::BufRead as _;
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use chungtay_e2e::{Fault, FaultProxy};
use chungtay_intake::{KdfParams, admin};
use chungtay_protocol::{
    B64, DeviceKeys, EnrollRequest, EnrollResponse, ProvincePins, Receipt, Submission,
    seal_referral, verify_receipt,
};
use common::{PASS, Phone, TestDb, scenario2};

const BIN: &str = env!("CARGO_BIN_EXE_chungtay-intake");
const PHONES: usize = 20;
const PER_PHONE: usize = 50;

struct Instance {
    child: Child,
    url: String,
}

impl Drop for Instance {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `serve` as its own process on a free loopback port; its address read from its log.
fn serve(db: &TestDb, data: &std::path::Path) -> Instance {
    let mut cmd = Command::new(BIN);
    match db.url() {
        Some(url) => cmd.env("CHUNGTAY_DATABASE", url),
        None => cmd.env_remove("CHUNGTAY_DATABASE"),
    };
    let mut child = cmd
        .args(["serve", "--data", data.to_str().unwrap()])
        .args(["--listen", "127.0.0.1:0", "--device-rate", "1000000"])
        .env("CHUNGTAY_PROVINCE_PASSPHRASE", PASS)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        // Read to the end, so the server never blocks on a full pipe.
        for line in std::io::BufReader::new(stderr).lines() {
            let Ok(line) = line else { break };
            if let Some(rest) = line.split("addr=").nth(1) {
                let _ = tx.send(rest.split_whitespace().next().unwrap().to_string());
            }
        }
    });
    let addr = rx
        .recv_timeout(Duration::from_secs(60))
        .expect("serve did not start");
    Instance {
        child,
        url: format!("http://{addr}"),
    }
}

fn enroll(http: &reqwest::blocking::Client, url: &str, code: &str) -> Phone {
    let keys = DeviceKeys::generate().unwrap();
    let er: EnrollResponse = http
        .post(format!("{url}/v1/enroll"))
        .json(&EnrollRequest {
            code: code.into(),
            device_public_key: B64(keys.public_key().to_vec()),
        })
        .send()
        .unwrap()
        .json()
        .unwrap();
    Phone {
        pins: ProvincePins::from_response(&er).unwrap(),
        device_id: er.device_id,
        keys,
    }
}

/// Sends one submission until some live instance answers with a receipt, starting at `first`
/// and moving on at every failure. Now and then the answer is thrown away (lost on the way
/// back) or the same bytes go to two instances at once: the retry must get the same receipt.
fn deliver(
    http: &reqwest::blocking::Client,
    urls: &[String],
    first: usize,
    sub: &Submission,
    chaos: u64,
) -> Receipt {
    let post = |i: usize| {
        http.post(format!("{}/v1/referrals", urls[i % urls.len()]))
            .json(sub)
            .send()
            .ok()
            .filter(|r| r.status() == reqwest::StatusCode::OK)
            .and_then(|r| r.json::<Receipt>().ok())
    };
    match chaos % 10 {
        0 => drop(post(first)), // the answer is lost
        1 => std::thread::scope(|s| {
            let other = s.spawn(|| post(first + 1));
            let _ = post(first);
            let _ = other.join();
        }),
        _ => {}
    }
    for attempt in 0..200 {
        if let Some(receipt) = post(first + attempt) {
            return receipt;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    panic!("no instance stored {}", sub.referral_id);
}

#[test]
#[ignore = "several instances are PostgreSQL's deployment: scripts/pg-test runs it"]
fn three_instances_one_killed_midway_store_a_thousand_referrals_once_each() {
    let db = TestDb::new();
    assert!(
        db.is_pg(),
        "needs CHUNGTAY_TEST_PG: run it with scripts/pg-test"
    );
    let dir = tempfile::tempdir().unwrap();
    let site = db.site(dir.path());
    admin::init(&site, PASS, KdfParams::MINIMUM).unwrap();
    let instances: Vec<Instance> = (0..3).map(|_| serve(&db, dir.path())).collect();
    // Phones reach each instance through a line that fails now and then (a fault in one
    // request of seven), as a mobile network and the proxies in front of a server do.
    let proxies: Vec<FaultProxy> = instances
        .iter()
        .enumerate()
        .map(|(i, inst)| {
            let addr = inst.url.trim_start_matches("http://").parse().unwrap();
            let proxy = FaultProxy::start(addr, 0x5EED + i as u64);
            proxy.set_fault_rate(150);
            proxy
        })
        .collect();
    let urls: Vec<String> = proxies.iter().map(FaultProxy::url).collect();
    let direct: Vec<String> = instances.iter().map(|i| i.url.clone()).collect();

    // Phones enroll through the instances in turn.
    chungtay_intake::install_crypto_provider();
    let http = reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(20))
        .build()
        .unwrap();
    let phones: Vec<_> = (0..PHONES)
        .map(|p| {
            let code = admin::issue_code(&site, PASS).unwrap().code;
            // Enrolled directly: a one-time code is not what this test is about.
            enroll(&http, &direct[p % 3], &code)
        })
        .collect();

    let stored = AtomicUsize::new(0);
    let instances = Mutex::new(instances);
    let receipts: Mutex<Vec<(usize, String, Receipt)>> = Mutex::default();
    std::thread::scope(|s| {
        for worker in 0..4 {
            let (phones, urls, http, stored, receipts) =
                (&phones, &urls, &http, &stored, &receipts);
            s.spawn(move || {
                for p in (worker..PHONES).step_by(4) {
                    let phone = &phones[p];
                    for n in 0..PER_PHONE {
                        let id = format!("ref-{p}-{n}");
                        let sub = seal_referral(
                            &scenario2(&id),
                            &phone.keys,
                            &phone.device_id,
                            &phone.pins.hpke_public_key,
                        )
                        .unwrap();
                        let chaos = (p * PER_PHONE + n) as u64 * 7919;
                        let receipt = deliver(http, urls, p + n, &sub, chaos);
                        receipts.lock().unwrap().push((p, id, receipt));
                        stored.fetch_add(1, Ordering::SeqCst);
                    }
                }
            });
        }
        // Midway, one instance dies without warning (SIGKILL), requests in flight with it.
        while stored.load(Ordering::SeqCst) < PHONES * PER_PHONE / 3 {
            std::thread::sleep(Duration::from_millis(5));
        }
        let mut live = instances.lock().unwrap();
        live[1].child.kill().unwrap();
        live[1].child.wait().unwrap();
    });

    // The lines did fail, in every way that can leave a request stored but unanswered.
    let injected: Vec<Fault> = proxies
        .iter()
        .flat_map(|p| p.injected.lock().unwrap().clone())
        .collect();
    for fault in [
        Fault::DropBefore,
        Fault::ResetAfter,
        Fault::Error500After,
        Fault::Duplicate,
        Fault::Stall,
    ] {
        assert!(
            injected.contains(&fault),
            "{fault:?} never happened in {} faults",
            injected.len()
        );
    }

    // Every receipt verifies under the province key, for its referral.
    let receipts = receipts.into_inner().unwrap();
    assert_eq!(receipts.len(), PHONES * PER_PHONE);
    for (p, id, r) in &receipts {
        assert_eq!(&r.referral_id, id);
        verify_receipt(r, &phones[*p].device_id, &phones[*p].pins.signing_key).unwrap();
    }

    // Exactly 1,000 rows, each once; each phone's status updates are 1..=50.
    let store = admin::open_site(&site).unwrap();
    assert_eq!(store.referral_count().unwrap(), (PHONES * PER_PHONE) as i64);
    let rows = store.referrals(0, usize::MAX).unwrap();
    let ids: BTreeSet<&str> = rows.iter().map(|r| r.referral_id.as_str()).collect();
    assert_eq!(ids.len(), PHONES * PER_PHONE);
    let mut per_device: BTreeMap<&str, usize> = BTreeMap::new();
    for r in &rows {
        *per_device.entry(r.device_id.as_str()).or_default() += 1;
    }
    for phone in &phones {
        assert_eq!(per_device[phone.device_id.as_str()], PER_PHONE);
        let seqs: Vec<i64> = store
            .statuses_after(&phone.device_id, 0, usize::MAX)
            .unwrap()
            .iter()
            .map(|s| s.seq)
            .collect();
        assert_eq!(seqs, (1..=PER_PHONE as i64).collect::<Vec<_>>());
    }
    // The stored receipt is the one each phone holds (a lost answer's retry got the same).
    let by_id: BTreeMap<&str, &Receipt> =
        receipts.iter().map(|(_, id, r)| (id.as_str(), r)).collect();
    for r in &rows {
        assert_eq!(
            by_id[r.referral_id.as_str()].signature.0,
            r.receipt_signature
        );
    }
}
