//! Helpers for end-to-end tests: a provincial server on loopback, a club phone, and a proxy that
//! injects network faults between them.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

pub mod browser;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use chungtay_intake::{KdfParams as ServerKdf, Limits, RunningServer, admin};

pub const PASSPHRASE: &str = "province passphrase for tests only";

/// The provincial union's intake server, on 127.0.0.1.
pub struct Province {
    pub dir: tempfile::TempDir,
    pub server: Option<RunningServer>,
    pub addr: SocketAddr,
    limits: Limits,
}

impl Province {
    pub fn start(limits: Limits) -> Province {
        let dir = tempfile::tempdir().unwrap();
        admin::init(dir.path(), PASSPHRASE, ServerKdf::MINIMUM).unwrap();
        let state = admin::load_state(dir.path(), PASSPHRASE, limits).unwrap();
        let server = RunningServer::spawn(state, "127.0.0.1:0".parse().unwrap()).unwrap();
        let addr = server.addr();
        Province {
            dir,
            server: Some(server),
            addr,
            limits,
        }
    }

    pub fn data(&self) -> &Path {
        self.dir.path()
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The server goes down (the phone is out of signal, or the province's line is cut).
    pub fn stop(&mut self) {
        if let Some(s) = self.server.take() {
            s.stop().unwrap();
        }
    }

    /// And comes back on the same address.
    pub fn restart(&mut self) {
        self.stop();
        let state = admin::load_state(self.data(), PASSPHRASE, self.limits).unwrap();
        self.server = Some(RunningServer::spawn(state, self.addr).unwrap());
    }

    pub fn code(&self) -> String {
        admin::issue_code(self.data(), PASSPHRASE).unwrap().code
    }

    pub fn referral_count(&self) -> i64 {
        use chungtay_intake::IntakeStore as _;
        admin::open_store(self.data())
            .unwrap()
            .referral_count()
            .unwrap()
    }

    /// Staff move a referral on, with a note, through the staff API.
    pub fn transition(&self, referral_id: &str, state: &str, note: &str) {
        let token = admin::staff_token(self.data(), PASSPHRASE, "e2e", 1)
            .unwrap()
            .token;
        chungtay_intake::install_crypto_provider();
        let resp = reqwest::blocking::Client::new()
            .post(format!(
                "{}/v1/staff/referrals/{referral_id}/transition",
                self.url()
            ))
            .bearer_auth(token)
            .json(&serde_json::json!({ "state": state, "note": note }))
            .send()
            .unwrap();
        assert!(resp.status().is_success(), "{}", resp.status());
    }

    pub fn db_path(&self) -> PathBuf {
        self.data().join("intake.db")
    }
}

/// Kinds of trouble the proxy makes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fault {
    /// Connection closed before anything reached the server.
    DropBefore,
    /// A 500 from a "gateway", nothing reached the server.
    Error500Before,
    /// The server got and stored the request; the phone never hears back.
    ResetAfter,
    /// The server stored it; the phone gets a 500.
    Error500After,
    /// The request reaches the server twice; the phone gets the second answer.
    Duplicate,
    /// A slow line.
    Delay,
    /// A line so slow the phone gives up (its timeout) while the server may still store it.
    Stall,
}

/// How long a stalled request hangs: longer than the phone's timeout in the fault test.
pub const STALL: Duration = Duration::from_millis(1500);

const FAULTS: [Fault; 7] = [
    Fault::DropBefore,
    Fault::Error500Before,
    Fault::ResetAfter,
    Fault::Error500After,
    Fault::Duplicate,
    Fault::Delay,
    Fault::Stall,
];

/// An answer the proxy makes up for requests whose request line starts with `request`.
#[derive(Clone, Debug)]
pub struct Canned {
    pub request: String,
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Canned {
    fn bytes(&self) -> Vec<u8> {
        let mut out = format!("HTTP/1.1 {} Canned\r\n", self.status);
        for (k, v) in &self.headers {
            out.push_str(&format!("{k}: {v}\r\n"));
        }
        out.push_str(&format!(
            "content-length: {}\r\nconnection: close\r\n\r\n",
            self.body.len()
        ));
        let mut bytes = out.into_bytes();
        bytes.extend_from_slice(&self.body);
        bytes
    }
}

/// A loopback HTTP proxy that injects faults into a share of requests.
/// What the proxy's threads share: the switches tests turn, and what they count.
pub struct ProxyState {
    rate_per_mille: AtomicU32,
    pub injected: Mutex<Vec<Fault>>,
    pub forwarded: AtomicU64,
    rng: Mutex<u64>,
    /// When set, status pages are altered in transit ("accepted" becomes "declined").
    pub tamper_status: AtomicBool,
    /// When set, every referral reaches the server and is stored, but its answer is lost.
    pub lose_submission_answers: AtomicBool,
    /// When set, every audit checkpoint reaches the server and is kept, but its answer is lost.
    pub lose_checkpoint_answers: AtomicBool,
    /// Answers given instead of the server's: a misbehaving or hostile server, as far as the
    /// phone can tell.
    pub canned: Mutex<Vec<Canned>>,
    stop: AtomicBool,
}

pub struct FaultProxy {
    pub addr: SocketAddr,
    state: Arc<ProxyState>,
    thread: Option<JoinHandle<()>>,
}

/// `proxy.canned`, `proxy.injected`...: the shared state reads as the proxy's own fields.
impl std::ops::Deref for FaultProxy {
    type Target = ProxyState;
    fn deref(&self) -> &ProxyState {
        &self.state
    }
}

impl FaultProxy {
    pub fn start(upstream: SocketAddr, seed: u64) -> FaultProxy {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let addr = listener.local_addr().unwrap();
        let state = Arc::new(ProxyState {
            rate_per_mille: AtomicU32::new(0),
            injected: Mutex::default(),
            forwarded: AtomicU64::new(0),
            rng: Mutex::new(seed | 1),
            tamper_status: AtomicBool::new(false),
            lose_submission_answers: AtomicBool::new(false),
            lose_checkpoint_answers: AtomicBool::new(false),
            canned: Mutex::default(),
            stop: AtomicBool::new(false),
        });
        let shared = state.clone();
        let thread = std::thread::spawn(move || {
            while !shared.stop.load(Ordering::Relaxed) {
                match listener.accept() {
                    Ok((client, _)) => {
                        let shared = shared.clone();
                        std::thread::spawn(move || {
                            let _ = serve(client, upstream, &shared);
                        });
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(2)),
                }
            }
        });
        FaultProxy {
            addr,
            state,
            thread: Some(thread),
        }
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Share of requests that meet a fault, in thousandths.
    pub fn set_fault_rate(&self, per_mille: u32) {
        self.rate_per_mille.store(per_mille, Ordering::Relaxed);
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self.state.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn next(rng: &Mutex<u64>) -> u64 {
    let mut x = rng.lock().unwrap();
    *x ^= *x << 13;
    *x ^= *x >> 7;
    *x ^= *x << 17;
    *x
}

/// Reads one HTTP/1.1 message (head and Content-Length body).
fn read_message(reader: &mut BufReader<TcpStream>) -> Option<(String, Vec<u8>)> {
    let mut head = String::new();
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).ok()? == 0 {
            return None;
        }
        head.push_str(&line);
        if line == "\r\n" {
            break;
        }
    }
    let len = head
        .lines()
        .find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.eq_ignore_ascii_case("content-length")
                .then(|| v.trim().parse::<usize>().ok())?
        })
        .unwrap_or(0);
    let mut body = vec![0u8; len];
    reader.read_exact(&mut body).ok()?;
    Some((head, body))
}

/// The message with `Connection: close`, so neither side reuses the connection.
fn closing(head: &str, body: &[u8]) -> Vec<u8> {
    let mut out = String::new();
    for line in head.split("\r\n").filter(|l| !l.is_empty()) {
        if !line.to_ascii_lowercase().starts_with("connection:") {
            out.push_str(line);
            out.push_str("\r\n");
        }
    }
    out.push_str("connection: close\r\n\r\n");
    let mut bytes = out.into_bytes();
    bytes.extend_from_slice(body);
    bytes
}

fn forward(upstream: SocketAddr, request: &[u8]) -> Option<Vec<u8>> {
    let stream = TcpStream::connect(upstream).ok()?;
    stream
        .set_read_timeout(Some(Duration::from_secs(20)))
        .ok()?;
    (&stream).write_all(request).ok()?;
    let mut reader = BufReader::new(stream);
    let (head, body) = read_message(&mut reader)?;
    Some(closing(&head, &body))
}

fn serve(client: TcpStream, upstream: SocketAddr, state: &ProxyState) -> Option<()> {
    let ProxyState {
        rate_per_mille: rate,
        injected,
        forwarded,
        rng,
        tamper_status: tamper,
        lose_submission_answers: lose,
        lose_checkpoint_answers: lose_checkpoint,
        canned,
        ..
    } = state;
    client.set_nonblocking(false).ok()?;
    client
        .set_read_timeout(Some(Duration::from_secs(20)))
        .ok()?;
    let mut reader = BufReader::new(client.try_clone().ok()?);
    let (head, body) = read_message(&mut reader)?;
    let request = closing(&head, &body);
    let made_up = canned
        .lock()
        .unwrap()
        .iter()
        .find(|c| head.starts_with(&c.request))
        .map(Canned::bytes);
    if let Some(bytes) = made_up {
        let mut client = client;
        let _ = client.write_all(&bytes);
        let _ = client.shutdown(Shutdown::Both);
        return Some(());
    }
    let fault = if (lose.load(Ordering::Relaxed) && head.starts_with("POST /v1/referrals"))
        || (lose_checkpoint.load(Ordering::Relaxed) && head.starts_with("POST /v1/checkpoints"))
    {
        Some(Fault::ResetAfter)
    } else {
        (next(rng) % 1000 < u64::from(rate.load(Ordering::Relaxed)))
            .then(|| FAULTS[(next(rng) % FAULTS.len() as u64) as usize])
    };
    if let Some(f) = fault {
        injected.lock().unwrap().push(f);
    }
    let mut client = client;
    let error500 =
        b"HTTP/1.1 500 Internal Server Error\r\ncontent-length: 0\r\nconnection: close\r\n\r\n";
    let response = match fault {
        Some(Fault::DropBefore) => None,
        Some(Fault::Error500Before) => Some(error500.to_vec()),
        Some(Fault::ResetAfter) => {
            forward(upstream, &request);
            forwarded.fetch_add(1, Ordering::Relaxed);
            None
        }
        Some(Fault::Error500After) => {
            forward(upstream, &request);
            forwarded.fetch_add(1, Ordering::Relaxed);
            Some(error500.to_vec())
        }
        Some(Fault::Duplicate) => {
            forward(upstream, &request);
            forwarded.fetch_add(2, Ordering::Relaxed);
            forward(upstream, &request)
        }
        Some(Fault::Stall) => {
            std::thread::sleep(STALL);
            forwarded.fetch_add(1, Ordering::Relaxed);
            forward(upstream, &request)
        }
        Some(Fault::Delay) => {
            std::thread::sleep(Duration::from_millis(150));
            forwarded.fetch_add(1, Ordering::Relaxed);
            forward(upstream, &request)
        }
        None => {
            forwarded.fetch_add(1, Ordering::Relaxed);
            let answer = forward(upstream, &request);
            if tamper.load(Ordering::Relaxed) && head.starts_with("GET /v1/status") {
                // Same length, so Content-Length still holds: only the signature can tell.
                answer.map(|a| replace_all(&a, b"\"accepted\"", b"\"declined\""))
            } else {
                answer
            }
        }
    };
    if let Some(bytes) = response {
        let _ = client.write_all(&bytes);
    }
    let _ = client.shutdown(Shutdown::Both);
    Some(())
}

fn replace_all(haystack: &[u8], from: &[u8], to: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(haystack.len());
    let mut i = 0;
    while i < haystack.len() {
        if haystack[i..].starts_with(from) {
            out.extend_from_slice(to);
            i += from.len();
        } else {
            out.push(haystack[i]);
            i += 1;
        }
    }
    out
}

/// The leader's PIN on the test phones.
pub const PHONE_PIN: &str = "274915";

/// A leader's phone at `path` (PIN [`PHONE_PIN`]), enrolled with the province at `url`, with
/// one club.
pub fn enrolled_club(
    path: &Path,
    device: Arc<dyn chungtay_core::DeviceSecret>,
    url: &str,
    code: &str,
) -> (chungtay_core::Store, chungtay_core::Club) {
    use chungtay_core::*;
    let mut store = Store::create(
        path,
        device,
        NewUser::new("Lò Thị Mai", UserRole::Leader, PHONE_PIN),
        KdfParams::MIN,
    )
    .unwrap();
    store.enroll(url, code, None).unwrap();
    let club = store
        .add_club(&ClubInput {
            name: "CLB Quang Chiểu".into(),
            kind: ClubKind::AntiTrafficking,
            province: "Thanh Hóa".into(),
            commune: "Quang Chiểu".into(),
            village: None,
            former_district: None,
        })
        .unwrap();
    (store, club)
}

/// [`enrolled_club`], with one member (a Mông survivor who may be contacted) and her consent to
/// legal aid by the province, name only.
pub fn enrolled_phone(
    path: &Path,
    device: Arc<dyn chungtay_core::DeviceSecret>,
    url: &str,
    code: &str,
) -> (
    chungtay_core::Store,
    chungtay_core::Member,
    chungtay_core::Consent,
) {
    use chungtay_core::*;
    let (mut store, club) = enrolled_club(path, device, url, code);
    let member = store
        .add_member(
            &club.id,
            &MemberInput {
                full_name: "Giàng Thị Dua".into(),
                birth_year: Some(2004),
                gender: Gender::Female,
                ethnic_group: EthnicGroup::from_name("Mông").unwrap(),
                village: "Bản Pù Quăn".into(),
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
            purposes: vec![SupportService::LegalAid],
            recipient: Recipient::ProvincialUnion,
            fields: vec![SharedField::Name],
            method: ConsentMethod::SignedPaper,
            witness: None,
            given_on: chrono::Utc::now().date_naive(),
        })
        .unwrap();
    (store, member, consent)
}

/// An urgent referral for legal aid resting on her consent, sharing her name only.
pub fn legal_aid(member_id: &str, consent_id: &str) -> chungtay_core::ReferralInput {
    use chungtay_core::*;
    ReferralInput {
        member_id: member_id.into(),
        services: vec![SupportService::LegalAid],
        urgency: Urgency::Urgent,
        note: String::new(),
        recipient: Recipient::ProvincialUnion,
        shared_fields: vec![SharedField::Name],
        consent_id: Some(consent_id.into()),
    }
}
