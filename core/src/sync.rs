//! Referrals that reach the province (scenario 2): enrollment, sealing into the outbox, sending
//! with retries, verified receipts, audit checkpoints, and signed status updates coming back.
//!
//! The wire format and all cryptography are `chungtay-protocol`'s. Each referral is sealed ONCE
//! (HPKE to the province, signed by this device) when it is queued; retries send the same bytes,
//! and the server recognises them by referral id and payload hash, so it is stored exactly once.

use std::collections::BTreeMap;
use std::sync::Once;
use std::time::Duration;

use backon::BackoffBuilder as _;
use chrono::{DateTime, SecondsFormat, Utc};
use chungtay_protocol::{self as protocol, B64, ProvincePins, SigningKeys};
use rusqlite::{OptionalExtension, TransactionBehavior, params};
use rustls_pki_types::pem::PemObject as _;
use serde::{Deserialize, Serialize};

use crate::access::Permission;
use crate::audit::AuditAction;
use crate::crypto::{self, Place};
use crate::db;
use crate::db::Db;
use crate::domain::{Id, Recipient, ReferralState, SharedField, StateChange, SupportService};
use crate::error::{Error, Reason, RecordKind, Result, invalid};
use crate::ledger::{self, NewEntry};
use crate::session::Session;
use crate::{clubs, consent, members, referrals};

/// First retry after about a minute, doubling with jitter, never more than two hours apart.
const MIN_RETRY: Duration = Duration::from_secs(60);
const MAX_RETRY: Duration = Duration::from_secs(2 * 60 * 60);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// How long one request may take before it counts as failed (and is retried later).
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// What the phone pinned at enrollment.
#[derive(Clone, Serialize, Deserialize)]
struct Enrollment {
    server_url: String,
    device_id: String,
    province_hpke_key: Vec<u8>,
    province_signing_key: Vec<u8>,
    /// The server's self-signed certificate (PEM), trusted instead of any CA.
    server_certificate: Option<String>,
    status_cursor: i64,
    /// The last audit checkpoint the province acknowledged (seq, head): the next one names it
    /// as the one it extends, so a restored older copy of this file (which remembers an older
    /// one) is refused by the province as a fork.
    #[serde(default)]
    last_checkpoint: Option<(i64, Vec<u8>)>,
}

/// The enrollment as the settings screen shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct EnrollmentInfo {
    pub server_url: String,
    pub device_id: String,
    /// Compare with the fingerprint printed beside the enrollment code.
    pub province_fingerprint: String,
}

/// One queued referral, for the outbox screen.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct OutboxItem {
    pub referral_id: Id,
    pub state: OutboxState,
    pub attempts: i64,
    pub next_attempt_at: crate::domain::Timestamp,
    /// The server's reason code (e.g. `conflict`) or the network problem; never personal data.
    pub last_error: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
pub enum OutboxState {
    Pending,
    Sent,
    /// Refused by the server for a reason that will not change; kept for the user to see.
    Failed,
}

impl OutboxState {
    fn parse(s: &str) -> Self {
        match s {
            "sent" => OutboxState::Sent,
            "failed" => OutboxState::Failed,
            _ => OutboxState::Pending,
        }
    }
}

/// Progress for the UI while a sync runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct SyncProgress {
    pub done: i64,
    pub total: i64,
}

/// What one sync did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct SyncReport {
    pub sent: i64,
    pub failed: i64,
    pub still_pending: i64,
    pub statuses_applied: i64,
    /// Signed answers in a state this version does not know (a newer province server): passed
    /// over, so later answers still arrive. The app should be updated when this is not 0.
    pub statuses_not_understood: i64,
    pub checkpoint_sent: bool,
    /// Set when the server could not be reached or answered oddly; the outbox keeps everything.
    pub network_error: Option<String>,
    /// Set when the server refused the checkpoint or the status pull (e.g. a revoked device),
    /// with its reason code (`409 fork`: the province keeps a later checkpoint of this phone's
    /// trail than this file extends).
    pub server_refused: Option<String>,
    /// The seq of the province's latest checkpoint of this phone's trail when this file's
    /// trail does not match it: the file is not the one the province last heard from (an
    /// older copy restored?). The leader and the province must look into it.
    pub trail_mismatch: Option<i64>,
    /// Set when this phone's own audit trail does not verify (rows put back from an older
    /// copy, entries edited or deleted): no referral was sent, since what it would send cannot
    /// be trusted; they wait in the outbox. The field audit shows what is wrong.
    pub trail_broken: Option<crate::error::ChainBreak>,
}

fn enrollment_place() -> Place<'static> {
    Place {
        table: "meta",
        kind: RecordKind::DeviceKey,
        id: "enrollment",
        bound: "",
    }
}

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
fn check_url(url: &str) -> Result<reqwest::Url> {
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
const MAX_RETRY_AFTER_SECS: u64 = 24 * 3600;

fn client(
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

fn net(detail: &str) -> Error {
    Error::Network {
        detail: detail.to_owned(),
    }
}

fn time_text(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Micros, true)
}

fn parse_time(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s)
        .map(|d| d.with_timezone(&Utc))
        .unwrap_or_else(|_| Utc::now())
}

/// The wait before retry number `attempts` (1-based): exponential with jitter, 1 min to 2 h.
fn retry_delay(attempts: i64) -> Duration {
    backon::ExponentialBuilder::default()
        .with_min_delay(MIN_RETRY)
        .with_max_delay(MAX_RETRY)
        .with_factor(2.0)
        .with_jitter()
        .without_max_times()
        .build()
        .nth(attempts.saturating_sub(1).clamp(0, 64) as usize)
        .unwrap_or(MAX_RETRY)
}

fn service_name(s: SupportService) -> &'static str {
    use SupportService::*;
    match s {
        EssentialNeeds => "essential_needs",
        HealthCare => "health_care",
        Psychological => "psychological",
        LegalAid => "legal_aid",
        Schooling => "schooling",
        VocationalTraining => "vocational_training",
        Jobs => "jobs",
        Loans => "loans",
        HardshipAllowance => "hardship_allowance",
        SafeAccommodation => "safe_accommodation",
        IdentityPapers => "identity_papers",
        Interpretation => "interpretation",
    }
}

fn field_name(f: SharedField) -> &'static str {
    use SharedField::*;
    match f {
        Name => "name",
        BirthYear => "birth_year",
        Gender => "gender",
        EthnicGroup => "ethnic_group",
        Commune => "commune",
        Village => "village",
        Phone => "phone",
        Need => "need",
        Story => "story",
    }
}

fn load_enrollment(db: Db<'_>, session: &Session) -> Result<Option<Enrollment>> {
    let sealed: Option<Vec<u8>> = db
        .conn
        .query_row(
            "SELECT value FROM meta WHERE name = 'enrollment'",
            [],
            |r| r.get(0),
        )
        .optional()?;
    let Some(sealed) = sealed else {
        return Ok(None);
    };
    let plain = crypto::open(
        &session.record_key,
        db.store_kid,
        &enrollment_place(),
        &sealed,
    )?;
    serde_json::from_slice(&plain)
        .map(Some)
        .map_err(|_| Error::Integrity {
            kind: RecordKind::DeviceKey,
            id: "enrollment".into(),
        })
}

fn save_enrollment(
    db: Db<'_>,
    s: &Session,
    conn: &rusqlite::Connection,
    e: &Enrollment,
) -> Result<()> {
    let sealed = seal_enrollment(db, s, e)?;
    write_enrollment(conn, &sealed)
}

fn seal_enrollment(db: Db<'_>, session: &Session, e: &Enrollment) -> Result<crypto::Sealed> {
    crypto::seal(
        &session.record_key,
        db.store_kid,
        &enrollment_place(),
        &db::to_json(e)?,
    )
}

fn device_keys(db: Db<'_>, session: &Session) -> Result<SigningKeys> {
    let pkcs8 = crate::trail::signing_key_pkcs8(db, session)?;
    SigningKeys::from_pkcs8(&pkcs8).map_err(|_| Error::Integrity {
        kind: RecordKind::DeviceKey,
        id: "device_signing_key".into(),
    })
}

pub(crate) fn enrollment_info(db: Db<'_>, s: &Session) -> Result<Option<EnrollmentInfo>> {
    Ok(load_enrollment(db, s)?.map(|e| {
        let fingerprint = ProvincePins::from_response(&protocol::EnrollResponse {
            device_id: e.device_id.clone(),
            province_hpke_public_key: B64(e.province_hpke_key.clone()),
            province_signing_key: B64(e.province_signing_key.clone()),
        })
        .map(|p| p.fingerprint())
        .unwrap_or_default();
        EnrollmentInfo {
            server_url: e.server_url,
            device_id: e.device_id,
            province_fingerprint: fingerprint,
        }
    }))
}

/// [`Store::enroll`], also comparing the province's key fingerprint with
/// `expected_fingerprint` (printed beside the code) when the leader has it: on a mismatch
/// nothing is pinned and the error names `province_fingerprint`. Case, spaces and dashes
/// do not matter.
pub(crate) fn enroll(
    db: Db<'_>,
    s: &Session,
    timeout: Duration,
    server_url: &str,
    code: &str,
    server_certificate: Option<&str>,
    expected_fingerprint: Option<&str>,
) -> Result<EnrollmentInfo> {
    let base = server_base(server_url)?;
    let existing = load_enrollment(db, s)?;
    if existing.as_ref().is_some_and(|e| e.server_url != base) {
        s.require(Permission::Safety)?;
    }
    let keys = device_keys(db, s)?;
    let http = client(server_certificate, timeout)?;
    let resp = http
        .post(format!("{base}/v1/enroll"))
        .json(&protocol::EnrollRequest {
            code: code.trim().to_owned(),
            device_public_key: B64(keys.public_key().to_vec()),
        })
        .send()
        .map_err(|e| net(&e.to_string()))?;
    if !resp.status().is_success() {
        return Err(Error::Refused {
            status: resp.status().as_u16(),
            reason: error_code(resp),
        });
    }
    let answer: protocol::EnrollResponse = resp.json().map_err(|_| net("malformed answer"))?;
    let pins = ProvincePins::from_response(&answer).map_err(|_| net("malformed answer"))?;
    if let Some(expected) = expected_fingerprint {
        let norm = |s: &str| {
            s.chars()
                .filter(|c| c.is_ascii_alphanumeric())
                .map(|c| c.to_ascii_lowercase())
                .collect::<String>()
        };
        if norm(expected) != norm(&pins.fingerprint()) {
            return invalid("province_fingerprint", Reason::Mismatch);
        }
    }
    let mut enrollment = Enrollment {
        server_url: base,
        device_id: answer.device_id.clone(),
        province_hpke_key: answer.province_hpke_public_key.into_vec(),
        province_signing_key: answer.province_signing_key.into_vec(),
        server_certificate: server_certificate.map(str::to_owned),
        status_cursor: 0,
        last_checkpoint: None,
    };
    let mut what = "enroll";
    if let Some(old) = existing {
        let same = old.server_url == enrollment.server_url
            && old.device_id == enrollment.device_id
            && old.province_hpke_key == enrollment.province_hpke_key
            && old.province_signing_key == enrollment.province_signing_key
            && old.server_certificate == enrollment.server_certificate;
        if same {
            // A retry: the statuses already applied stay applied, and the chain of
            // checkpoints goes on.
            enrollment.status_cursor = old.status_cursor;
            enrollment.last_checkpoint = old.last_checkpoint;
        } else {
            s.require(Permission::Safety)?;
            what = "re-enroll";
        }
    }
    let tx = rusqlite::Transaction::new_unchecked(db.conn, TransactionBehavior::Immediate)?;
    save_enrollment(db, s, &tx, &enrollment)?;
    ledger::append(
        &tx,
        db.store_id,
        s,
        NewEntry::new(AuditAction::Sync, None, what),
    )?;
    tx.commit()?;
    Ok(EnrollmentInfo {
        server_url: enrollment.server_url,
        device_id: enrollment.device_id,
        province_fingerprint: pins.fingerprint(),
    })
}

/// Ready -> queued: builds the payload from the consented fields only, signs and seals it to
/// the province once, and puts it in the outbox.
pub(crate) fn queue_referral(db: Db<'_>, s: &Session, id: &str) -> Result<()> {
    let Some(enrollment) = load_enrollment(db, s)? else {
        return invalid("enrollment", Reason::Missing);
    };
    let referral = referrals::load(db, s, id)?;
    if referral.state != ReferralState::Ready {
        return invalid(
            "state",
            Reason::NotAllowedInState {
                state: referral.state.as_str().into(),
            },
        );
    }
    let consent_id = referral.info.consent_id.clone().unwrap_or_default();
    let consent = consent::load(db, s, &consent_id)?;
    crate::domain::check_consent_covers(&consent, &referral.info)?;
    // The enrolled server is the province's: a referral (and a consent) meant for the
    // commune union must not reach the province through it.
    if referral.info.recipient != Recipient::ProvincialUnion {
        return invalid(
            "recipient",
            Reason::NotCovered {
                what: "provincial_union".into(),
            },
        );
    }
    let member = members::unlogged(db, s, &referral.info.member_id)?;
    let club = clubs::get(db, s, &member.club_id)?;
    let mut shared = BTreeMap::new();
    for field in &referral.info.shared_fields {
        let value = match field {
            SharedField::Name => Some(member.info.full_name.clone()),
            SharedField::BirthYear => member.info.birth_year.map(|y| y.to_string()),
            SharedField::Gender => Some(format!("{:?}", member.info.gender).to_lowercase()),
            SharedField::EthnicGroup => Some(member.info.ethnic_group.name().to_owned()),
            SharedField::Commune => Some(club.info.commune.clone()),
            SharedField::Village => Some(member.info.village.clone()),
            // Never for someone who must not be contacted, whatever the consent says.
            SharedField::Phone if member.info.safe_to_contact => member.info.phone.clone(),
            SharedField::Phone => None,
            SharedField::Need => Some(referral.info.note.clone()),
            // The app keeps no story text; nothing to share.
            SharedField::Story => None,
        };
        if let Some(v) = value {
            shared.insert(field_name(*field).to_owned(), v);
        }
    }
    let payload = protocol::ReferralPayload {
        referral_id: referral.id.clone(),
        services: referral
            .info
            .services
            .iter()
            .map(|s| service_name(*s).to_owned())
            .collect(),
        urgency: format!("{:?}", referral.info.urgency).to_lowercase(),
        note: if referral.info.shared_fields.contains(&SharedField::Need) {
            referral.info.note.clone()
        } else {
            String::new()
        },
        shared,
        consent: protocol::Consent {
            purposes: consent
                .info
                .purposes
                .iter()
                .map(|s| service_name(*s).to_owned())
                .collect(),
            recipient: match consent.info.recipient {
                Recipient::ProvincialUnion => "provincial_union".into(),
                Recipient::CommuneUnion => "commune_union".into(),
            },
            fields: consent
                .info
                .fields
                .iter()
                .map(|f| field_name(*f).to_owned())
                .collect(),
            given_on: consent.info.given_on.to_string(),
        },
        created_at: time_text(referral.stamp.created_at),
    };
    let keys = device_keys(db, s)?;
    let submission = protocol::seal_referral(
        &payload,
        &keys,
        &enrollment.device_id,
        &enrollment.province_hpke_key,
    )
    .map_err(|_| Error::Crypto)?;
    let hash = protocol::payload_hash(&payload).map_err(|_| Error::Crypto)?;
    let submission = serde_json::to_vec(&submission).map_err(|_| Error::Crypto)?;
    referrals::move_with(db, s, id, ReferralState::Queued, "", |tx| {
        tx.execute(
            "INSERT INTO outbox (referral_id, submission, payload_hash, state, attempts, \
             next_attempt_at, not_before, last_error, receipt) \
             VALUES (?1, ?2, ?3, 'pending', 0, ?4, '', '', NULL)",
            params![id, submission, hash.to_vec(), time_text(Utc::now())],
        )?;
        Ok(())
    })?;
    Ok(())
}

/// The outbox, oldest first: what is waiting, sent, or refused.
pub(crate) fn outbox(db: Db<'_>) -> Result<Vec<OutboxItem>> {
    let mut stmt = db.conn.prepare(
        "SELECT referral_id, state, attempts, next_attempt_at, last_error FROM outbox \
         ORDER BY rowid",
    )?;
    let rows = stmt.query_map([], |r| {
        Ok(OutboxItem {
            referral_id: r.get(0)?,
            state: OutboxState::parse(&r.get::<_, String>(1)?),
            attempts: r.get(2)?,
            next_attempt_at: parse_time(&r.get::<_, String>(3)?),
            last_error: r.get(4)?,
        })
    })?;
    Ok(rows.collect::<Result<Vec<_>, _>>()?)
}

/// Pulls the province's answers, sends what is due in the outbox (everything pending when
/// `send_all_now`, the user's "send now"), and sends an audit checkpoint. The outbox waits
/// when this phone's trail does not verify or does not extend the province's latest
/// checkpoint of it (`trail_broken`, `trail_mismatch`). Nothing is ever dropped: a network
/// failure leaves every item queued with its next try.
pub(crate) fn sync(
    db: Db<'_>,
    s: &Session,
    timeout: Duration,
    send_all_now: bool,
    progress: &mut dyn FnMut(SyncProgress),
) -> Result<SyncReport> {
    let Some(enrollment) = load_enrollment(db, s)? else {
        return invalid("enrollment", Reason::Missing);
    };
    let http = client(enrollment.server_certificate.as_deref(), timeout)?;
    // Nothing leaves a phone whose own trail does not verify: a referral, consent or
    // outbox row put back from an older copy (with the trail entries after it edited or
    // deleted) would otherwise be sent as if current.
    let mut report = SyncReport {
        trail_broken: crate::trail::verify(db, s).err(),
        ..SyncReport::default()
    };
    // The province's answers first: the pull also brings its latest checkpoint of this
    // phone's trail. A file that does not extend it (an older copy restored) sends nothing.
    let mut province_checkpoint = None;
    match pull_statuses(db, s, &http, &enrollment) {
        Ok((n, unknown, cp)) => {
            report.statuses_applied = n;
            report.statuses_not_understood = unknown;
            province_checkpoint = cp;
        }
        Err(Error::Network { detail }) => report.network_error = Some(detail),
        Err(Error::Refused { status, reason }) => {
            report.server_refused = Some(format!("{status} {reason}"));
        }
        Err(e) => return Err(e),
    }
    // The pull may have moved the cursor: the enrollment as saved now.
    let enrollment = load_enrollment(db, s)?.unwrap_or(enrollment);
    let prev = match province_checkpoint {
        Some(cp) => match matches_own_trail(db, s, &cp, &enrollment)? {
            // Ours, and in this file's trail: extend it (also when its acknowledgement
            // was lost on the way back).
            true => Some((cp.seq, cp.head.into_vec())),
            false => {
                report.trail_mismatch = Some(cp.seq);
                enrollment.last_checkpoint.clone()
            }
        },
        None => enrollment.last_checkpoint.clone(),
    };
    if report.trail_broken.is_none() && report.trail_mismatch.is_none() {
        send_outbox(
            db,
            s,
            &http,
            &enrollment,
            send_all_now,
            progress,
            &mut report,
        )?;
        if report.sent > 0 && report.network_error.is_none() {
            // The province answers a new referral at once ("received"): show it now.
            let enrollment = load_enrollment(db, s)?.unwrap_or_else(|| enrollment.clone());
            if let Ok((n, unknown, _)) = pull_statuses(db, s, &http, &enrollment) {
                report.statuses_applied += n;
                report.statuses_not_understood += unknown;
            }
        }
    }
    report.still_pending = db.conn.query_row(
        "SELECT count(*) FROM outbox WHERE state = 'pending'",
        [],
        |r| r.get(0),
    )?;
    if report.network_error.is_none() && report.server_refused.is_none() {
        // As saved now: a second pull above moved the cursor, which must not go back.
        let enrollment = load_enrollment(db, s)?.unwrap_or(enrollment);
        match send_checkpoint(db, s, &http, &enrollment, prev) {
            Ok(()) => report.checkpoint_sent = true,
            Err(Error::Network { detail }) => report.network_error = Some(detail),
            Err(Error::Refused { status, reason }) => {
                report.server_refused = Some(format!("{status} {reason}"));
            }
            Err(e) => return Err(e),
        }
    }
    let tx = rusqlite::Transaction::new_unchecked(db.conn, TransactionBehavior::Immediate)?;
    let mut entry = NewEntry::new(AuditAction::Sync, None, "");
    entry.fields = vec![
        format!("sent={}", report.sent),
        format!("failed={}", report.failed),
        format!("statuses={}", report.statuses_applied),
    ];
    if let Some(seq) = report.trail_mismatch {
        // In the trail too: whoever audits this phone sees the province disagreed.
        entry.fields.push(format!("trail_mismatch={seq}"));
    }
    ledger::append(&tx, db.store_id, s, entry)?;
    tx.commit()?;
    Ok(report)
}

/// Sends what is due in the outbox; a network failure leaves each item queued with its
/// next try.
fn send_outbox(
    db: Db<'_>,
    s: &Session,
    http: &reqwest::blocking::Client,
    enrollment: &Enrollment,
    send_all_now: bool,
    progress: &mut dyn FnMut(SyncProgress),
    report: &mut SyncReport,
) -> Result<()> {
    let now = Utc::now();
    let due: Vec<(String, Vec<u8>, Vec<u8>, i64)> = {
        let mut stmt = db.conn.prepare(
            // "Send now" skips our own backoff, never the server's Retry-After.
            // Only referrals still queued: a withdrawn one never leaves, even if its
            // outbox row were somehow left behind.
            "SELECT referral_id, submission, payload_hash, attempts FROM outbox \
             WHERE state = 'pending' AND not_before <= ?2 AND (?1 OR next_attempt_at <= ?2) \
             AND referral_id IN (SELECT id FROM referrals WHERE state = 'queued') \
             ORDER BY rowid",
        )?;
        let rows = stmt.query_map(params![send_all_now, time_text(now)], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
        })?;
        rows.collect::<Result<Vec<_>, _>>()?
    };
    let total = due.len() as i64;
    progress(SyncProgress { done: 0, total });
    for (done, (referral_id, submission, hash, attempts)) in due.into_iter().enumerate() {
        // Checked again now, not only when it was queued: the referral and the consent it
        // rests on, as the trail last wrote them (an older copy of either put back into
        // the file does not open), must still allow it. Otherwise it stays here, refused.
        if let Err(reason) = still_sendable(db, s, &referral_id) {
            db.conn.execute(
                "UPDATE outbox SET state = 'failed', last_error = ?2 WHERE referral_id = ?1",
                params![referral_id, reason],
            )?;
            report.failed += 1;
            progress(SyncProgress {
                done: done as i64 + 1,
                total,
            });
            continue;
        }
        let outcome = http
            .post(format!("{}/v1/referrals", enrollment.server_url))
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(submission)
            .send();
        match outcome {
            Ok(resp) if resp.status().is_success() => {
                let receipt: Option<protocol::Receipt> = resp.json().ok();
                let verified = receipt.as_ref().is_some_and(|r| {
                    r.referral_id == referral_id
                        && r.payload_hash.as_bytes() == hash.as_slice()
                        && protocol::verify_receipt(
                            r,
                            &enrollment.device_id,
                            &enrollment.province_signing_key,
                        )
                        .is_ok()
                });
                if verified {
                    mark_sent(db, s, &referral_id, receipt.as_ref())?;
                    report.sent += 1;
                } else {
                    // A receipt we cannot verify is no receipt: try again later.
                    schedule_retry(db, &referral_id, attempts + 1, None, "bad_receipt")?;
                }
            }
            Ok(resp) => {
                let status = resp.status();
                let retry_after = resp
                    .headers()
                    .get(reqwest::header::RETRY_AFTER)
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| v.trim().parse::<u64>().ok())
                    // A day at most: a wrong or hostile header must not park the item for
                    // years (or overflow the date), beyond the reach of "send now".
                    .map(|secs| Duration::from_secs(secs.min(MAX_RETRY_AFTER_SECS)));
                let reason = error_code(resp);
                let transient = status.is_server_error()
                    || status == reqwest::StatusCode::TOO_MANY_REQUESTS
                    || status == reqwest::StatusCode::REQUEST_TIMEOUT;
                if transient {
                    schedule_retry(db, &referral_id, attempts + 1, retry_after, &reason)?;
                } else {
                    // A refusal that will not change: keep it, with the server's reason.
                    db.conn.execute(
                        "UPDATE outbox SET state = 'failed', attempts = ?2, last_error = ?3 \
                         WHERE referral_id = ?1",
                        params![
                            referral_id,
                            attempts + 1,
                            format!("{} {reason}", status.as_u16())
                        ],
                    )?;
                    report.failed += 1;
                }
            }
            Err(e) => {
                let detail = if e.is_timeout() {
                    "timeout"
                } else if e.is_connect() {
                    "unreachable"
                } else {
                    "network"
                };
                schedule_retry(db, &referral_id, attempts + 1, None, detail)?;
                report
                    .network_error
                    .get_or_insert_with(|| detail.to_owned());
            }
        }
        progress(SyncProgress {
            done: done as i64 + 1,
            total,
        });
    }
    Ok(())
}

/// Why a queued referral may not leave now, if it may not (a short code for the outbox).
fn still_sendable(
    db: Db<'_>,
    s: &Session,
    referral_id: &str,
) -> std::result::Result<(), &'static str> {
    let referral = referrals::load(db, s, referral_id).map_err(|_| "referral_not_current")?;
    if referral.state != ReferralState::Queued {
        return Err("referral_not_queued");
    }
    let consent_id = referral.info.consent_id.as_deref().unwrap_or_default();
    let consent = consent::load(db, s, consent_id).map_err(|_| "consent_not_current")?;
    crate::domain::check_consent_covers(&consent, &referral.info)
        .map_err(|_| "consent_does_not_cover")?;
    members::unlogged(db, s, &referral.info.member_id).map_err(|_| "member_not_current")?;
    Ok(())
}

fn schedule_retry(
    db: Db<'_>,
    referral_id: &str,
    attempts: i64,
    retry_after: Option<Duration>,
    reason: &str,
) -> Result<()> {
    let later = |d: Duration| {
        Utc::now() + chrono::Duration::from_std(d).unwrap_or(chrono::Duration::hours(2))
    };
    let next = later(retry_delay(attempts).max(retry_after.unwrap_or_default()));
    let not_before = retry_after.map(|d| time_text(later(d))).unwrap_or_default();
    db.conn.execute(
        "UPDATE outbox SET attempts = ?2, next_attempt_at = ?3, not_before = ?4, \
         last_error = ?5 WHERE referral_id = ?1",
        params![referral_id, attempts, time_text(next), not_before, reason],
    )?;
    Ok(())
}

fn mark_sent(
    db: Db<'_>,
    s: &Session,
    referral_id: &str,
    receipt: Option<&protocol::Receipt>,
) -> Result<()> {
    let receipt = serde_json::to_vec(&receipt).map_err(|_| Error::Crypto)?;
    let id = referral_id.to_owned();
    referrals::move_with(db, s, referral_id, ReferralState::Sent, "", move |tx| {
        tx.execute(
            "UPDATE outbox SET state = 'sent', receipt = ?2, last_error = '' \
             WHERE referral_id = ?1",
            params![id, receipt],
        )?;
        Ok(())
    })?;
    Ok(())
}

/// Whether `cp`, the province's latest checkpoint of this phone, was signed by this
/// device for this enrollment and names an entry of this file's trail with the same MAC.
fn matches_own_trail(
    db: Db<'_>,
    s: &Session,
    cp: &protocol::Checkpoint,
    enrollment: &Enrollment,
) -> Result<bool> {
    let public = crate::trail::device_public_key(db, s)?;
    if cp.device_id != enrollment.device_id || protocol::verify_checkpoint(cp, &public).is_err() {
        return Ok(false);
    }
    let mac: Option<Vec<u8>> = db
        .conn
        .query_row("SELECT mac FROM audit_log WHERE seq = ?1", [cp.seq], |r| {
            r.get(0)
        })
        .optional()?;
    Ok(mac.as_deref() == Some(cp.head.as_bytes()))
}

/// Signs a checkpoint of the trail naming `prev` as the one it extends, sends it, and on
/// acknowledgement remembers it as the next one's `prev`.
fn send_checkpoint(
    db: Db<'_>,
    s: &Session,
    http: &reqwest::blocking::Client,
    enrollment: &Enrollment,
    prev: Option<(i64, Vec<u8>)>,
) -> Result<()> {
    let local = crate::trail::create_checkpoint(db, s)?;
    let head: [u8; 32] = local
        .head
        .as_slice()
        .try_into()
        .map_err(|_| Error::Crypto)?;
    let prev_head: Option<[u8; 32]> = match &prev {
        Some((_, h)) => Some(h.as_slice().try_into().map_err(|_| Error::Crypto)?),
        None => None,
    };
    let keys = device_keys(db, s)?;
    let cp = protocol::sign_checkpoint(
        &keys,
        &enrollment.device_id,
        local.seq,
        &head,
        prev.as_ref()
            .zip(prev_head.as_ref())
            .map(|((s, _), h)| (*s, h)),
        &local.at,
    )
    .map_err(|_| Error::Crypto)?;
    let resp = http
        .post(format!("{}/v1/checkpoints", enrollment.server_url))
        .json(&cp)
        .send()
        .map_err(|e| {
            net(if e.is_timeout() {
                "timeout"
            } else {
                "unreachable"
            })
        })?;
    if resp.status().is_server_error() {
        return Err(net("server error"));
    }
    if !resp.status().is_success() {
        return Err(Error::Refused {
            status: resp.status().as_u16(),
            reason: error_code(resp),
        });
    }
    let mut acked = enrollment.clone();
    acked.last_checkpoint = Some((local.seq, local.head));
    save_enrollment(db, s, db.conn, &acked)
}

/// Pulls signed status updates after the cursor; each is verified with the pinned province
/// key and applied once, in order. A bad one stops the pull without moving the cursor.
/// Returns the updates applied, of those the ones in a state this version does not know, and
/// the province's latest checkpoint of this phone (from the first page).
fn pull_statuses(
    db: Db<'_>,
    s: &Session,
    http: &reqwest::blocking::Client,
    enrollment: &Enrollment,
) -> Result<(i64, i64, Option<protocol::Checkpoint>)> {
    let keys = device_keys(db, s)?;
    let mut applied = 0;
    let mut unknown = 0;
    let mut checkpoint = None;
    let mut enrollment = enrollment.clone();
    loop {
        let cursor = enrollment.status_cursor;
        let pull =
            protocol::sign_pull(&keys, &enrollment.device_id, cursor, Utc::now().timestamp())
                .map_err(|_| Error::Crypto)?;
        let resp = http
            .get(format!("{}/v1/status", enrollment.server_url))
            .query(&[
                ("device_id", pull.device_id.clone()),
                ("cursor", pull.cursor.to_string()),
                ("ts", pull.ts.to_string()),
                ("sig", pull.sig.encode()),
            ])
            .send()
            .map_err(|e| {
                net(if e.is_timeout() {
                    "timeout"
                } else {
                    "unreachable"
                })
            })?;
        if resp.status().is_client_error() {
            return Err(Error::Refused {
                status: resp.status().as_u16(),
                reason: error_code(resp),
            });
        }
        if !resp.status().is_success() {
            return Err(net(&format!("status pull: {}", resp.status().as_u16())));
        }
        let mut page: protocol::StatusPage = resp.json().map_err(|_| net("malformed answer"))?;
        if checkpoint.is_none() {
            checkpoint = page.checkpoint.take();
        }
        let mut expected = cursor + 1;
        let applied_before = applied;
        for update in &page.updates {
            if update.seq < expected {
                continue;
            }
            if update.seq > expected {
                // A gap: wait for the missing update rather than apply out of order.
                return Ok((applied, unknown, checkpoint));
            }
            if protocol::verify_status(
                update,
                &enrollment.device_id,
                &enrollment.province_signing_key,
            )
            .is_err()
            {
                return Err(Error::Integrity {
                    kind: RecordKind::Referral,
                    id: update.referral_id.clone(),
                });
            }
            if !apply_status(db, s, update, &mut enrollment)? {
                unknown += 1;
            }
            applied += 1;
            expected += 1;
        }
        // A page that moved nothing (a server ignoring the cursor) ends the pull rather
        // than asking for the same page forever while the store is held.
        if !page.more || applied == applied_before {
            return Ok((applied, unknown, checkpoint));
        }
    }
}

/// Applies one verified update and moves the cursor in the same transaction as the last
/// state change, so a crash in between cannot apply it twice. False when the state is one
/// this version does not know: then only the cursor moves.
fn apply_status(
    db: Db<'_>,
    s: &Session,
    update: &protocol::StatusUpdate,
    enrollment: &mut Enrollment,
) -> Result<bool> {
    use ReferralState::*;
    let target = match update.state.as_str() {
        "received" => Some(Received),
        "accepted" => Some(Accepted),
        "declined" => Some(Declined),
        "in_progress" => Some(InProgress),
        "completed" => Some(Completed),
        // Signed by the province, so not tampering: a state from a newer server.
        _ => None,
    };
    let seq = update.seq;
    let current = referrals::load(db, s, &update.referral_id)
        .ok()
        .map(|r| r.state);
    let order = [Queued, Sent, Received, Accepted, InProgress, Completed];
    let rank = |s: ReferralState| order.iter().position(|x| *x == s);
    let mut steps: Vec<ReferralState> = Vec::new();
    if let (Some(from), Some(target)) = (current, target) {
        // The province's answer may overtake the receipt: walk forward through the states
        // the phone has not seen yet. A withdrawn or finished referral stays as it is.
        if target == Declined && matches!(from, Queued | Sent | Received) {
            steps.extend(
                [Sent, Received]
                    .into_iter()
                    .filter(|s| rank(*s) > rank(from)),
            );
            steps.push(Declined);
        } else if let (Some(a), Some(b)) = (rank(from), rank(target)) {
            steps.extend(order[a + 1..=b.max(a)].iter().copied());
        }
    }
    let at = parse_time(&update.at);
    enrollment.status_cursor = seq;
    let sealed = seal_enrollment(db, s, enrollment)?;
    let referral_id = update.referral_id.clone();
    let move_cursor = move |conn: &rusqlite::Connection| {
        write_enrollment(conn, &sealed)?;
        // The province has it, whatever became of the receipt: nothing is left to send.
        conn.execute(
            "UPDATE outbox SET state = 'sent', last_error = '' \
             WHERE referral_id = ?1 AND state = 'pending'",
            [&referral_id],
        )?;
        Ok(())
    };
    let Some((final_step, earlier)) = steps.split_last() else {
        // Nothing to change here (unknown state, unknown or erased referral): only the
        // cursor moves.
        let tx = rusqlite::Transaction::new_unchecked(db.conn, TransactionBehavior::Immediate)?;
        move_cursor(&tx)?;
        tx.commit()?;
        return Ok(target.is_some());
    };
    for step in earlier {
        let change = StateChange {
            state: *step,
            at,
            by: "province".into(),
            note: String::new(),
        };
        referrals::record_remote_state(db, s, &update.referral_id, change, |_| Ok(()))?;
    }
    let change = StateChange {
        state: *final_step,
        at,
        by: "province".into(),
        note: update.note.clone(),
    };
    referrals::record_remote_state(db, s, &update.referral_id, change, move_cursor)?;
    Ok(true)
}

fn write_enrollment(conn: &rusqlite::Connection, sealed: &crypto::Sealed) -> Result<()> {
    conn.execute(
        "INSERT OR REPLACE INTO meta (name, value) VALUES ('enrollment', ?1)",
        [sealed.as_bytes()],
    )?;
    Ok(())
}

fn error_code(resp: reqwest::blocking::Response) -> String {
    resp.json::<protocol::ErrorBody>()
        .map(|b| b.error)
        .unwrap_or_else(|_| "unknown".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused_url(url: &str) -> bool {
        matches!(
            server_base(url),
            Err(Error::Invalid(crate::ValidationError {
                field: "server_url",
                ..
            }))
        )
    }

    #[test]
    fn the_base_url_keeps_the_host_and_path_it_names() {
        assert_eq!(
            server_base("https://chungtay.thanhhoa.gov.vn/").unwrap(),
            "https://chungtay.thanhhoa.gov.vn"
        );
        assert_eq!(
            server_base("http://127.0.0.1:8443").unwrap(),
            "http://127.0.0.1:8443"
        );
        assert_eq!(
            server_base("http://[::1]:8080/intake//").unwrap(),
            "http://[::1]:8080/intake"
        );
    }

    /// Found by the `enrollment` fuzz target (`http://[::1]:8080/i#take/`): a URL with a
    /// fragment, and likewise a query or credentials, was accepted, and every request then
    /// went elsewhere than the URL reads: "/v1/enroll" into the fragment or query instead of
    /// the path, or to the host after the `@` ("https://<the province's name>@<another host>"
    /// reads as the province).
    #[test]
    fn a_url_that_reads_as_one_place_and_goes_to_another_is_refused() {
        for url in [
            "https://chungtay.thanhhoa.gov.vn@intake.example.net/",
            "https://chungtay.thanhhoa.gov.vn:443@intake.example.net",
            "https://user:secret@chungtay.thanhhoa.gov.vn",
            "https://chungtay.thanhhoa.gov.vn/?",
            "https://chungtay.thanhhoa.gov.vn?next=/",
            "https://chungtay.thanhhoa.gov.vn#",
            "http://localhost/#/v1",
        ] {
            assert!(refused_url(url), "{url}");
        }
    }

    /// Found by the `enrollment` fuzz target (`https:/-----hanhho` + NUL bytes): the URL
    /// parser drops leading and trailing control characters and spaces, the base kept them,
    /// and the request URLs built from it (`{base}/v1/enroll`) then did not parse at all.
    /// The base is the URL as parsed.
    #[test]
    fn the_base_is_the_url_as_parsed_not_as_typed() {
        for (typed, base) in [
            (
                "https://chungtay.thanhhoa.gov.vn\0\0\u{4}",
                "https://chungtay.thanhhoa.gov.vn",
            ),
            (
                " https://chungtay.thanhhoa.gov.vn/intake/ ",
                "https://chungtay.thanhhoa.gov.vn/intake",
            ),
            (
                "https:/chungtay.thanhhoa.gov.vn",
                "https://chungtay.thanhhoa.gov.vn",
            ),
        ] {
            let got = server_base(typed).unwrap();
            assert_eq!(got, base, "{typed:?}");
            let url = reqwest::Url::parse(&format!("{got}/v1/enroll")).unwrap();
            assert_eq!(
                url.path(),
                format!(
                    "{}/v1/enroll",
                    reqwest::Url::parse(base)
                        .unwrap()
                        .path()
                        .trim_end_matches('/')
                )
            );
        }
    }

    /// Found by the `enrollment` fuzz target: text holding no certificate at all was taken
    /// as a pinned certificate (pinning nothing, so every later connection failed as a network
    /// error instead of enrollment saying the certificate was wrong).
    #[test]
    fn a_pinned_certificate_that_pins_nothing_is_refused() {
        for pem in [
            "",
            "not a certificate",
            "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
        ] {
            assert!(
                matches!(pinned_roots(pem), Err(Error::Network { .. })),
                "{pem:?}"
            );
        }
    }
}
