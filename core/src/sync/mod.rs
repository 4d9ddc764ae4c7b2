//! Referrals that reach the province (scenario 2): enrollment, sealing into the outbox, sending
//! with retries, verified receipts, audit checkpoints, and signed status updates coming back.
//!
//! The wire format and all cryptography are `chungtay-protocol`'s. Each referral is sealed ONCE
//! (HPKE to the province, signed by this device) when it is queued; retries send the same bytes,
//! and the server recognises them by referral id and payload hash, so it is stored exactly once.

mod enrollment;
mod net;
mod statuses;

pub use enrollment::EnrollmentInfo;
use enrollment::{Enrollment, device_keys, load_enrollment};
pub(crate) use enrollment::{enroll, enrollment_info};
pub use net::install_crypto_provider;
use net::{MAX_RETRY_AFTER_SECS, client, error_code};
#[cfg(any(test, feature = "fuzzing"))]
pub(crate) use net::{pinned_roots, server_base};
use statuses::{matches_own_trail, pull_statuses, send_checkpoint};

use std::collections::BTreeMap;
use std::time::Duration;

use backon::BackoffBuilder as _;
use chrono::{DateTime, SecondsFormat, Utc};
use chungtay_protocol::{self as protocol};
use rusqlite::{TransactionBehavior, params};

use crate::audit::AuditAction;
use crate::db::Db;
use crate::domain::{Id, Recipient, ReferralState, SharedField, SupportService};
use crate::error::{Error, Reason, Result, invalid};
use crate::ledger::{self, NewEntry};
use crate::session::Session;
use crate::{clubs, consent, members, referrals};

/// First retry after about a minute, doubling with jitter, never more than two hours apart.
const MIN_RETRY: Duration = Duration::from_secs(60);
const MAX_RETRY: Duration = Duration::from_secs(2 * 60 * 60);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// How long one request may take before it counts as failed (and is retried later).
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

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
