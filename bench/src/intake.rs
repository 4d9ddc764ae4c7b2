//! Item 4: referrals through the real intake server on loopback, and a phone's sync of a
//! queued outbox.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::num::NonZeroU32;
use std::panic::{AssertUnwindSafe, catch_unwind, resume_unwind};
use std::path::Path;
use std::sync::Arc;

use chrono::Utc;
use chungtay_core::{
    ClubInput, ClubKind, ConsentInput, ConsentMethod, EthnicGroup, Gender, KdfParams, MemberInput,
    MemberRole, NewUser, Recipient, ReferralInput, SharedField, SoftwareDeviceSecret, Store,
    SupportService, SurvivorStatus, Urgency, UserRole,
};
use chungtay_intake::admin::{Database, Site};
use chungtay_intake::store::{InsertOutcome, NewReferral, SharedMakeStatus};
use chungtay_intake::{IntakeStore, KdfParams as ServerKdf, Limits, RunningServer, admin};
use chungtay_protocol::{
    B64, Consent, DeviceKeys, EnrollRequest, EnrollResponse, ReferralPayload, seal_referral,
};

use crate::Config;
use crate::data::{LEADER, PIN};
use crate::measure::{Report, Row, cpu_between, cpu_of, dur, rate, threads_cpu, timed};

const PASSPHRASE: &str = "province passphrase for the benchmark only";

/// As tests/src/lib.rs `Province`: a data folder, keys, and the server on 127.0.0.1; on
/// PostgreSQL, `instances` servers sharing the province's database.
struct Province {
    /// The data folder (keys, and the SQLite file), kept until the province is dropped.
    dir: tempfile::TempDir,
    site: Site,
    servers: Vec<RunningServer>,
    addrs: Vec<SocketAddr>,
}

impl Province {
    fn start(base: &Path) -> Province {
        Self::start_on(base, None, 1)
    }

    fn start_on(base: &Path, pg: Option<&str>, instances: usize) -> Province {
        let dir = tempfile::Builder::new()
            .prefix("chungtay-bench-intake-")
            .tempdir_in(base)
            .unwrap();
        let site = match pg {
            Some(url) => Site::new(dir.path(), Database::Postgres(url.to_owned())),
            None => Site::from(dir.path()),
        };
        admin::init(&site, PASSPHRASE, ServerKdf::MINIMUM).unwrap();
        let limits = Limits {
            device_per_minute: NonZeroU32::new(10_000_000).unwrap(),
            ..Limits::default()
        };
        let servers: Vec<RunningServer> = (0..instances)
            .map(|_| {
                let state = admin::load_state(&site, PASSPHRASE, limits).unwrap();
                RunningServer::spawn(state, "127.0.0.1:0".parse().unwrap()).unwrap()
            })
            .collect();
        let addrs = servers.iter().map(RunningServer::addr).collect();
        Province {
            dir,
            site,
            servers,
            addrs,
        }
    }

    fn url(&self) -> String {
        format!("http://{}", self.addrs[0])
    }

    /// `path` on every instance.
    fn urls(&self, path: &str) -> Vec<String> {
        self.addrs
            .iter()
            .map(|a| format!("http://{a}{path}"))
            .collect()
    }

    fn code(&self) -> String {
        admin::issue_code(&self.site, PASSPHRASE).unwrap().code
    }
}

impl Drop for Province {
    fn drop(&mut self) {
        for s in self.servers.drain(..) {
            let _ = s.stop();
        }
    }
}

/// A database of its own on the PostgreSQL server named by `CHUNGTAY_TEST_PG`, dropped at the
/// end (scripts/with-pg starts a throwaway one).
struct PgDatabase {
    server: String,
    name: String,
}

impl PgDatabase {
    fn create() -> PgDatabase {
        let server = std::env::var("CHUNGTAY_TEST_PG")
            .expect("--pg needs CHUNGTAY_TEST_PG: run it through scripts/with-pg --durable")
            .trim_end_matches('/')
            .to_owned();
        let name = format!("bench_{}", uuid::Uuid::new_v4().simple());
        postgres::Client::connect(&format!("{server}/postgres"), postgres::NoTls)
            .unwrap()
            .batch_execute(&format!("CREATE DATABASE {name}"))
            .unwrap();
        PgDatabase { server, name }
    }

    fn url(&self) -> String {
        format!("{}/{}", self.server, self.name)
    }
}

impl Drop for PgDatabase {
    fn drop(&mut self) {
        if let Ok(mut c) =
            postgres::Client::connect(&format!("{}/postgres", self.server), postgres::NoTls)
        {
            let _ = c.batch_execute(&format!("DROP DATABASE {} WITH (FORCE)", self.name));
        }
    }
}

/// A device enrolled with a province, sealing referrals for it (each province has keys of its
/// own, so each enrolls a device of its own).
struct Phone {
    device: DeviceKeys,
    enroll: EnrollResponse,
}

impl Phone {
    fn enroll(province: &Province) -> Phone {
        let device = DeviceKeys::generate().unwrap();
        let enroll: EnrollResponse = reqwest::blocking::Client::new()
            .post(format!("{}/v1/enroll", province.url()))
            .json(&EnrollRequest {
                code: province.code(),
                device_public_key: B64(device.public_key().to_vec()),
            })
            .send()
            .unwrap()
            .json()
            .unwrap();
        Phone { device, enroll }
    }

    /// Submissions `from..from + count`, sealed and serialised, ready to POST.
    fn seal(&self, count: usize, from: usize) -> Vec<Vec<u8>> {
        let hpke = self.enroll.province_hpke_public_key.as_bytes();
        (from..from + count)
            .map(|n| {
                let sub =
                    seal_referral(&payload(n), &self.device, &self.enroll.device_id, hpke).unwrap();
                serde_json::to_vec(&sub).unwrap()
            })
            .collect()
    }
}

fn payload(n: usize) -> ReferralPayload {
    let mut shared = BTreeMap::new();
    shared.insert("name".to_owned(), "Hà Thị Ơn".to_owned());
    shared.insert("birth_year".to_owned(), "2001".to_owned());
    shared.insert(
        "need".to_owned(),
        format!("Cần hỗ trợ học nghề và tìm việc làm gần nhà, hồ sơ số {n}"),
    );
    ReferralPayload {
        referral_id: uuid::Uuid::new_v4().to_string(),
        services: vec!["vocational_training".into(), "jobs".into()],
        urgency: "routine".into(),
        note: format!("Cần hỗ trợ học nghề và tìm việc làm gần nhà, hồ sơ số {n}"),
        shared,
        consent: Consent {
            purposes: vec!["vocational_training".into(), "jobs".into()],
            recipient: "provincial_union".into(),
            fields: vec!["birth_year".into(), "name".into(), "need".into()],
            given_on: Utc::now().date_naive().to_string(),
        },
        created_at: Utc::now().to_rfc3339(),
    }
}

/// `items` dealt round the `hands` (a thread each), as cards: the i-th to hand `i % hands`.
fn deal<T>(items: Vec<T>, hands: usize) -> Vec<Vec<T>> {
    let mut out: Vec<Vec<T>> = (0..hands).map(|_| Vec::new()).collect();
    for (i, item) in items.into_iter().enumerate() {
        out[i % hands].push(item);
    }
    out
}

/// What one `drive` measured: requests per second, and where the CPU went.
struct Driven {
    rate: f64,
    /// CPU seconds a request: the server's threads, and the clients' (each client's thread
    /// and its reqwest runtime's). None where the kernel does not count per thread.
    cpu: Option<(f64, f64)>,
}

/// POSTs (or GETs, for the baseline) with `threads` clients, each with its own keep-alive
/// connection; returns requests per second. Every answer must be 200.
fn drive(url: &str, bodies: Vec<Vec<u8>>, threads: usize) -> f64 {
    drive_all(&[url.to_owned()], bodies, threads).rate
}

/// `drive` with the clients spread over several instances (client `i` on `urls[i % n]`), and
/// the CPU time the server and the clients ran meanwhile.
fn drive_all(urls: &[String], bodies: Vec<Vec<u8>>, threads: usize) -> Driven {
    let n = bodies.len();
    let shares = deal(bodies, threads);
    // Passed four times: every client built (a client's set-up, its CA bundle parsed, is not
    // counted); the start; every client done; the CPU counted (a client's reqwest thread ends
    // with its client, so the clients wait for the count). A client that fails still passes
    // all four, then fails at `join`: a barrier never left would hang the bench.
    let barrier = Arc::new(std::sync::Barrier::new(threads + 1));
    let handles: Vec<_> = shares
        .into_iter()
        .enumerate()
        .map(|(i, share)| {
            let (url, barrier) = (urls[i % urls.len()].clone(), barrier.clone());
            std::thread::Builder::new()
                .name(CLIENT_THREAD.into())
                .spawn(move || {
                    let client = catch_unwind(reqwest::blocking::Client::new);
                    barrier.wait();
                    barrier.wait();
                    let run = client.as_ref().map_err(|_| ()).map(|client| {
                        catch_unwind(AssertUnwindSafe(|| {
                            for body in share {
                                let resp = if body.is_empty() {
                                    client.get(url.as_str()).send().unwrap()
                                } else {
                                    client
                                        .post(url.as_str())
                                        .header("content-type", "application/json")
                                        .body(body)
                                        .send()
                                        .unwrap()
                                };
                                assert!(resp.status().is_success(), "{}", resp.status());
                                std::hint::black_box(resp.bytes().unwrap());
                            }
                        }))
                    });
                    barrier.wait();
                    barrier.wait();
                    match (client, run) {
                        (Err(panic), _) | (_, Ok(Err(panic))) => resume_unwind(panic),
                        _ => {}
                    }
                })
                .unwrap()
        })
        .collect();
    barrier.wait();
    let before = threads_cpu();
    barrier.wait();
    let (_, t) = timed(|| barrier.wait());
    let after = threads_cpu();
    barrier.wait();
    for h in handles {
        h.join().unwrap();
    }
    let cpu = before.zip(after).map(|(b, a)| {
        let client = cpu_between(&b, &a, |name| {
            name == CLIENT_THREAD || name.starts_with("reqwest-")
        });
        // The server's Tokio workers and blocking pool, and the thread its accept loop runs on.
        let server = cpu_between(&b, &a, |name| {
            name.starts_with("tokio-") || name == "chungtay-intake"
        });
        (server / n as f64, client / n as f64)
    });
    Driven {
        rate: n as f64 / t,
        cpu,
    }
}

/// The bench's HTTP clients' thread name (theirs, told apart from the server's). At most 15
/// bytes: the kernel keeps no more of a thread's name, and a longer one would match nothing.
const CLIENT_THREAD: &str = "intake-client";

pub fn item_4(cfg: &Config, report: &mut Report) {
    println!(
        "\n## 4. Intake throughput on loopback ({} referrals, {} client threads)",
        cfg.referrals, cfg.intake_threads
    );
    // The core's reqwest is built without a default rustls provider; it installs ring's.
    chungtay_core::sync::install_crypto_provider();
    let province = Province::start(&cfg.disk_dir);
    let phone = Phone::enroll(&province);
    let seal_n = |count: usize, from: usize| phone.seal(count, from);
    let (warm, t_seal) = timed(|| seal_n(50, 0));
    println!(
        "   sealing on the phone side (sign + HPKE), done before timing: {} per referral",
        dur(t_seal / 50.0)
    );
    let referrals_url = format!("{}/v1/referrals", province.url());
    drive(&referrals_url, warm, cfg.intake_threads);
    let health = format!("{}/healthz", province.url());
    drive(&health, vec![Vec::new(); 200], cfg.intake_threads);
    let health_rate = drive(&health, vec![Vec::new(); cfg.referrals], cfg.intake_threads);
    let batch = seal_n(cfg.referrals, 100);
    let intake = drive_all(
        std::slice::from_ref(&referrals_url),
        batch,
        cfg.intake_threads,
    );
    let intake_rate = intake.rate;
    let batch1 = seal_n(cfg.referrals / 2, 100 + cfg.referrals);
    let intake_rate_1 = drive(&referrals_url, batch1, 1);
    println!(
        "   GET /healthz: {} | POST /v1/referrals: {} with {} threads, {} with 1 thread",
        rate(health_rate, "req"),
        rate(intake_rate, "referrals"),
        cfg.intake_threads,
        rate(intake_rate_1, "referrals")
    );
    report.push(Row {
        id: "4a",
        what: format!(
            "intake: {} referrals, {} clients, vs GET /healthz",
            cfg.referrals, cfg.intake_threads
        ),
        baseline: rate(health_rate, "req"),
        measured: rate(intake_rate, "referrals"),
        ratio: format!("{:.2}× of 1,000/s", intake_rate / 1000.0),
        target: "≥ 1,000/s".into(),
        met: Some(intake_rate >= 1000.0),
    });

    let ceiling = item_4e(cfg, report, &province, &phone, intake_rate);
    let split = (ceiling.rate, ceiling.cpu);
    let store = item_4f(cfg, report, &province, ceiling);
    cpu_split(cfg, &intake, split, store);

    if cfg.pg {
        item_4_pg(cfg, report, intake_rate);
    }

    // Device sync of a queued outbox.
    println!("\n## 4b. Device sync of {} queued referrals", cfg.referrals);
    let dir = tempfile::Builder::new()
        .prefix("chungtay-bench-sync-")
        .tempdir_in(&cfg.disk_dir)
        .unwrap();
    let mut store = Store::create(
        &dir.path().join("club.db"),
        Arc::new(SoftwareDeviceSecret::generate().unwrap()),
        NewUser::new(LEADER, UserRole::Leader, PIN),
        KdfParams::MIN,
    )
    .unwrap();
    store
        .enroll(&province.url(), &province.code(), None)
        .unwrap();
    let club = store
        .add_club(&ClubInput {
            name: "CLB Na Mèo".into(),
            kind: ClubKind::SafeMigration,
            province: "Thanh Hóa".into(),
            commune: "Na Mèo".into(),
            village: None,
            former_district: None,
        })
        .unwrap();
    let member = store
        .add_member(
            &club.id,
            &MemberInput {
                full_name: "Hà Thị Ơn".into(),
                birth_year: Some(2001),
                gender: Gender::Female,
                ethnic_group: EthnicGroup::from_name("Mường").unwrap(),
                village: "Bản Sạng".into(),
                phone: None,
                role: MemberRole::Member,
                survivor_status: SurvivorStatus::Survivor,
                safe_to_contact: true,
            },
        )
        .unwrap();
    let consent = store
        .add_consent(&ConsentInput {
            member_id: member.id.clone(),
            purposes: vec![SupportService::Jobs],
            recipient: Recipient::ProvincialUnion,
            fields: vec![SharedField::Name, SharedField::Need],
            method: ConsentMethod::VerbalWithWitness,
            witness: Some(LEADER.into()),
            given_on: Utc::now().date_naive(),
        })
        .unwrap();
    let (_, t_queue) = timed(|| {
        for n in 0..cfg.referrals {
            let r = store
                .create_referral(&ReferralInput {
                    member_id: member.id.clone(),
                    services: vec![SupportService::Jobs],
                    urgency: Urgency::Routine,
                    note: format!("Giới thiệu việc làm số {n}"),
                    recipient: Recipient::ProvincialUnion,
                    shared_fields: vec![SharedField::Name, SharedField::Need],
                    consent_id: Some(consent.id.clone()),
                })
                .unwrap();
            store.mark_referral_ready(&r.id).unwrap();
            store.queue_referral(&r.id).unwrap();
        }
    });
    println!(
        "   setup: create + ready + queue (3 transactions, one seal) {} per referral",
        dur(t_queue / cfg.referrals as f64)
    );
    let start = std::time::Instant::now();
    let mut sent_at = 0.0;
    let (sync, t_sync) = timed(|| {
        store
            .sync(true, &mut |p| {
                if p.done == p.total {
                    sent_at = start.elapsed().as_secs_f64();
                }
            })
            .unwrap()
    });
    assert_eq!(sync.sent as usize, cfg.referrals, "{sync:?}");
    println!(
        "   sync: sent {}, status updates applied {}, checkpoint sent {}, in {}: sending {} ({} per referral), then checkpoint + pulling and applying the statuses {}",
        sync.sent,
        sync.statuses_applied,
        sync.checkpoint_sent,
        dur(t_sync),
        dur(sent_at),
        dur(sent_at / cfg.referrals as f64),
        dur(t_sync - sent_at)
    );
    let sync_rate = cfg.referrals as f64 / t_sync;
    report.push(Row {
        id: "4b",
        what: format!(
            "device `sync(true)` of {} queued referrals vs 1-client POSTs",
            cfg.referrals
        ),
        baseline: format!("{} (1-thread POSTs, 4a)", rate(intake_rate_1, "referrals")),
        measured: format!("{} ({})", dur(t_sync), rate(sync_rate, "referrals")),
        ratio: format!("{:.2}×", sync_rate / intake_rate_1),
        target: "-".into(),
        met: None,
    });
}

/// 4c/4d: the same referrals into a province on PostgreSQL, with one instance and with three
/// sharing its database, against the SQLite server's rate of 4a in this run (each province
/// has keys of its own, so its device enrolls and seals anew).
fn item_4_pg(cfg: &Config, report: &mut Report, sqlite_rate: f64) {
    for (id, instances, threads) in [("4c", 1usize, cfg.intake_threads), ("4d", 3, 6)] {
        let db = PgDatabase::create();
        let url = db.url();
        let province = Province::start_on(&cfg.disk_dir, Some(&url), instances);
        let phone = Phone::enroll(&province);
        let seal_n = |count: usize, from: usize| phone.seal(count, from);
        let urls = province.urls("/v1/referrals");
        drive_all(&urls, seal_n(50, 0), threads);
        let rate_pg = drive_all(&urls, seal_n(cfg.referrals, 100), threads).rate;
        println!(
            "   PostgreSQL, {instances} instance(s), {threads} clients: {} ({} a referral) | SQLite, 1 instance, {} clients (4a): {}",
            rate(rate_pg, "referrals"),
            dur(1.0 / rate_pg),
            cfg.intake_threads,
            rate(sqlite_rate, "referrals"),
        );
        report.push(Row {
            id,
            what: format!(
                "intake on PostgreSQL: {} referrals, {instances} instance(s), {threads} clients, vs the SQLite server (4a)",
                cfg.referrals
            ),
            baseline: rate(sqlite_rate, "referrals"),
            measured: format!("{} ({} a referral)", rate(rate_pg, "referrals"), dur(1.0 / rate_pg)),
            ratio: format!("{:.2}×", rate_pg / sqlite_rate),
            target: "-".into(),
            met: None,
        });
        drop(province);
        drop(db);
    }
}

/// What 4e measured, and made: each referral's row and first status, for 4f to store.
struct Ceiling {
    rate: f64,
    /// CPU seconds a referral, by the threads' own count.
    cpu: Option<f64>,
    made: Vec<(NewReferral, Vec<u8>)>,
}

/// 4e: the ceiling the server's throughput is held to, its cryptography alone for each
/// referral (`chungtay_intake::http::referral_crypto`: HPKE open and the device's signature,
/// the receipt's signature, the body sealed, the first status update signed and sealed), on as
/// many threads as the machine has cores, with no HTTP and no database.
fn item_4e(
    cfg: &Config,
    report: &mut Report,
    province: &Province,
    phone: &Phone,
    intake_rate: f64,
) -> Ceiling {
    let keys = admin::load_keys(&province.site, PASSPHRASE).unwrap();
    let device_pk = phone.device.public_key().to_vec();
    let subs: Vec<chungtay_protocol::Submission> = phone
        .seal(cfg.referrals, 10 * cfg.referrals)
        .iter()
        .map(|b| serde_json::from_slice(b).unwrap())
        .collect();
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    let run = |subs: &[chungtay_protocol::Submission]| {
        let chunk = subs.len().div_ceil(cores).max(1);
        let (parts, t) = timed(|| {
            std::thread::scope(|scope| {
                let threads: Vec<_> = subs
                    .chunks(chunk)
                    .map(|part| {
                        let (keys, device_pk) = (&keys, &device_pk);
                        scope.spawn(move || {
                            let (made, cpu) = cpu_of(|| {
                                part.iter()
                                    .map(|sub| {
                                        let (new, _receipt, status) =
                                            chungtay_intake::http::referral_crypto(
                                                keys, device_pk, sub,
                                            )
                                            .unwrap();
                                        (new, status)
                                    })
                                    .collect::<Vec<_>>()
                            });
                            (cpu, made)
                        })
                    })
                    .collect();
                threads
                    .into_iter()
                    .map(|h| h.join().unwrap())
                    .collect::<Vec<_>>()
            })
        });
        let cpu = parts.iter().map(|p| p.0).sum::<Option<f64>>();
        let made: Vec<_> = parts.into_iter().flat_map(|p| p.1).collect();
        Ceiling {
            rate: subs.len() as f64 / t,
            cpu: cpu.map(|c| c / subs.len() as f64),
            made,
        }
    };
    run(&subs[..subs.len().min(100)]);
    let ceiling = run(&subs[subs.len().min(100)..]);
    println!(
        "   crypto only, {cores} threads: {} ({} a core) | the server over HTTP (4a): {} = {:.2}× of it ({:.2}× of one core's)",
        rate(ceiling.rate, "referrals"),
        rate(ceiling.rate / cores as f64, "referrals"),
        rate(intake_rate, "referrals"),
        intake_rate / ceiling.rate,
        intake_rate * cores as f64 / ceiling.rate
    );
    report.push(Row {
        id: "4e",
        what: format!(
            "intake (4a) vs its cryptography alone for the same referrals on {cores} threads (HPKE open + verify + sign receipt + seal body + sign and seal status)"
        ),
        baseline: rate(ceiling.rate, "referrals"),
        measured: rate(intake_rate, "referrals"),
        ratio: format!("{:.2}×", intake_rate / ceiling.rate),
        target: "≥ 0.7×".into(),
        met: Some(intake_rate / ceiling.rate >= 0.7),
    });
    ceiling
}

/// 4f: the store alone. The rows and statuses 4e made go into the province's database through
/// the server's own group commit, from as many threads as 4a has clients, with no HTTP and no
/// cryptography; returns the CPU seconds a referral (every thread's own count: the one that
/// commits a group does its work for the others).
fn item_4f(
    cfg: &Config,
    report: &mut Report,
    province: &Province,
    ceiling: Ceiling,
) -> Option<f64> {
    let store = Arc::new(admin::open_store(province.dir.path()).unwrap());
    let threads = cfg.intake_threads;
    let n = ceiling.made.len();
    let shares = deal(ceiling.made, threads);
    let (cpu, t) = timed(|| {
        std::thread::scope(|scope| {
            let handles: Vec<_> = shares
                .into_iter()
                .map(|share| {
                    let store = store.clone();
                    scope.spawn(move || {
                        cpu_of(|| {
                            for (new, status) in share {
                                let make: SharedMakeStatus =
                                    Arc::new(move |_, _| Ok(status.clone()));
                                let outcome = store.insert_referral_grouped(new, make).unwrap();
                                assert!(matches!(outcome, InsertOutcome::Inserted { .. }));
                            }
                        })
                        .1
                    })
                })
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().unwrap())
                .sum::<Option<f64>>()
        })
    });
    let cpu = cpu.map(|c| c / n as f64);
    let crypto = ceiling.cpu;
    println!(
        "   the store alone, {threads} threads: {} | CPU a referral {} ({} for its cryptography)",
        rate(n as f64 / t, "referrals"),
        cpu.map_or("-".into(), dur),
        crypto.map_or("-".into(), dur),
    );
    report.push(Row {
        id: "4f",
        what: format!(
            "intake's store alone: {n} referrals made in 4e, {threads} threads, group commit, vs their cryptography"
        ),
        baseline: format!(
            "its cryptography: {} CPU a referral (4e)",
            crypto.map_or("-".into(), dur)
        ),
        measured: format!(
            "{}, {} CPU a referral",
            rate(n as f64 / t, "referrals"),
            cpu.map_or("-".into(), dur)
        ),
        ratio: match (cpu, crypto) {
            (Some(store), Some(crypto)) => format!("{:.2}×", store / crypto),
            _ => "-".into(),
        },
        target: "-".into(),
        met: None,
    });
    cpu
}

/// Where 4a's CPU went, and the most 4a could reach on these cores with the work it cannot
/// shed: the cryptography, storing each referral durably, and (as the bench runs them here)
/// the clients'.
fn cpu_split(cfg: &Config, intake: &Driven, ceiling: (f64, Option<f64>), store: Option<f64>) {
    let cores = std::thread::available_parallelism().map_or(1, usize::from) as f64;
    let (Some((server, client)), (ceiling, Some(crypto))) = (intake.cpu, ceiling) else {
        return;
    };
    println!(
        "   CPU a referral in 4a: server {}, its {} clients {}; cores busy {:.0}% | cryptography alone {} = {:.0}% of the server's",
        dur(server),
        cfg.intake_threads,
        dur(client),
        100.0 * (server + client) * intake.rate / cores,
        dur(crypto),
        100.0 * crypto / server
    );
    let most = |cpu: f64| {
        let r = cores / cpu;
        format!("{} = {:.2}× of 4e", rate(r, "referrals"), r / ceiling)
    };
    println!(
        "   most 4a could reach here (against 4e's ceiling, as its target is), both cores busy, with nothing but: the cryptography and the clients {}; and the store (4f) {}; clients elsewhere, the cryptography and the store {}",
        most(crypto + client),
        store.map_or("-".into(), |s| most(crypto + client + s)),
        store.map_or("-".into(), |s| most(crypto + s)),
    );
}
