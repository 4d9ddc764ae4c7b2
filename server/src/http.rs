//! The HTTP API (axum). Handlers log ids and outcomes only, never payload contents, notes,
//! codes or tokens; error bodies are fixed texts.

use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::Arc;

use axum::extract::rejection::QueryRejection;
use axum::extract::{
    ConnectInfo, DefaultBodyLimit, FromRequest, FromRequestParts, Path, Query, Request, State,
};
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use chrono::{SecondsFormat, Utc};
use chungtay_protocol::{
    B64, Checkpoint, CheckpointAck, CheckpointRef, EnrollRequest, EnrollResponse, ErrorBody,
    MAX_STATUS_PAGE, MIN_CIPHERTEXT_LEN, ProtocolError, PullRequest, Receipt, STATUS_STATES,
    StaffReferral, StaffReferralList, StatusPage, StatusUpdate, Submission, TransitionRequest,
    open_submission_full, sign_receipt, sign_status, validate_id, verify_checkpoint, verify_pull,
};
use governor::clock::{Clock as _, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use serde::{Deserialize, Serialize};
use tracing::{error, info, warn};
use zeroize::Zeroizing;

use crate::admin::{code_hash, code_tag_ok, device_tag, device_tag_ok, token_hash, token_tag_ok};
use crate::error::{KeyFileError, StoreError};
use crate::keyfile::ProvinceKeys;
use crate::store::{
    CheckpointOutcome, Device, InsertOutcome, IntakeStore, NewReferral, Redeem, StoredCheckpoint,
    StoredReferral, TransitionOutcome,
};
use crate::tls::PeerAddr;

/// Request limits.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    /// Largest request body, in bytes (larger: 413).
    pub body_bytes: usize,
    /// Token bucket per device: requests per minute, also the burst (more: 429).
    pub device_per_minute: NonZeroU32,
    /// Enrollment attempts per minute per client address (code guessing).
    pub enroll_per_minute_per_ip: NonZeroU32,
    /// Device requests (referrals, checkpoints, status pulls) per minute per client address,
    /// also the burst: charged first, before any lookup or key agreement, so junk from one
    /// address costs the server next to nothing.
    pub ip_per_minute: NonZeroU32,
    /// Console login and password-setup attempts per minute per client address (on top of the
    /// per-account lockout), also the burst.
    pub login_per_minute_per_ip: NonZeroU32,
    /// Whether `ip_per_minute` (and `login_per_minute_per_ip`) also applies to loopback peers. Off by default: on loopback the
    /// peer is this machine or a reverse proxy in front, whose one address every phone would
    /// share, so junk from anyone could block them all; the proxy limits per client there.
    pub ip_limit_on_loopback: bool,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            body_bytes: 64 * 1024,
            device_per_minute: NonZeroU32::new(60).unwrap_or(NonZeroU32::MIN),
            enroll_per_minute_per_ip: NonZeroU32::new(10).unwrap_or(NonZeroU32::MIN),
            ip_per_minute: NonZeroU32::new(600).unwrap_or(NonZeroU32::MIN),
            login_per_minute_per_ip: NonZeroU32::new(20).unwrap_or(NonZeroU32::MIN),
            ip_limit_on_loopback: false,
        }
    }
}

/// Password checks that may run at once (each holds 19 MiB for Argon2id).
const PASSWORD_CHECKS: usize = 4;

/// The key an address is limited under: an IPv6 address by its /64, which one subscriber
/// usually holds whole (so she cannot take a fresh address for every guess).
pub(crate) fn per_network(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => {
            let s = v6.segments();
            IpAddr::V6(std::net::Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0))
        }
        v4 => v4,
    }
}

/// Longest status note staff may write, in characters.
pub const MAX_NOTE_CHARS: usize = 2000;
/// Largest staff listing page.
pub const MAX_LIST_PAGE: usize = 500;

/// Shared state of the handlers.
#[derive(Clone)]
pub struct AppState(Arc<Inner>);

pub(crate) struct Inner {
    pub(crate) store: Arc<dyn IntakeStore>,
    pub(crate) keys: ProvinceKeys,
    limits: Limits,
    /// Enrollment attempts per address, this province's own: behind a proxy every phone has
    /// the proxy's address, so one bucket for all provinces would let ten bad codes a minute
    /// stop enrollment everywhere (codes carry 60 bits: ten guesses a minute per province
    /// still find none).
    enroll_limiter: DefaultKeyedRateLimiter<IpAddr>,
    /// Per-address limits and password slots, one set for the whole process: the provinces
    /// of a deployment share it, so asking each province's host in turn buys no more.
    shared: Arc<Shared>,
    /// Set on the national office's state only: the provinces whose statistics it totals.
    pub(crate) provinces: std::sync::OnceLock<Vec<crate::deployment::ProvinceView>>,
    /// The national totals last made, by year and language, with when: counts only (already
    /// suppressed), so no referral is kept; a national viewer reloading the page does not
    /// make the server open every province's referrals again within a minute.
    pub(crate) national_cache: std::sync::Mutex<crate::console::NationalCache>,
}

struct Shared {
    api_ip_limiter: DefaultKeyedRateLimiter<IpAddr>,
    login_ip_limiter: DefaultKeyedRateLimiter<IpAddr>,
    /// Password hashes (Argon2id, 19 MiB each) running at once: a flood of logins waits here
    /// instead of taking the server's memory.
    password_checks: tokio::sync::Semaphore,
}

impl Shared {
    fn new(limits: Limits) -> Shared {
        Shared {
            api_ip_limiter: RateLimiter::keyed(Quota::per_minute(limits.ip_per_minute)),
            login_ip_limiter: RateLimiter::keyed(Quota::per_minute(limits.login_per_minute_per_ip)),
            password_checks: tokio::sync::Semaphore::new(PASSWORD_CHECKS),
        }
    }
}

impl AppState {
    pub fn new(store: Arc<dyn IntakeStore>, keys: ProvinceKeys, limits: Limits) -> Self {
        AppState(Arc::new(Inner {
            store,
            keys,
            limits,
            enroll_limiter: RateLimiter::keyed(Quota::per_minute(limits.enroll_per_minute_per_ip)),
            shared: Arc::new(Shared::new(limits)),
            provinces: std::sync::OnceLock::new(),
            national_cache: std::sync::Mutex::default(),
        }))
    }

    /// Another province's state in the same process, with this one's limits, charged to the
    /// same per-address buckets and password slots.
    pub fn sibling(&self, store: Arc<dyn IntakeStore>, keys: ProvinceKeys) -> Self {
        AppState(Arc::new(Inner {
            store,
            keys,
            limits: self.0.limits,
            enroll_limiter: RateLimiter::keyed(Quota::per_minute(
                self.0.limits.enroll_per_minute_per_ip,
            )),
            shared: self.0.shared.clone(),
            provinces: std::sync::OnceLock::new(),
            national_cache: std::sync::Mutex::default(),
        }))
    }

    /// Whether this is the national office's console (no devices, no referrals of its own).
    pub fn is_national(&self) -> bool {
        self.0.provinces.get().is_some()
    }

    /// Makes this state the national office's, totalling these provinces (once).
    pub(crate) fn set_provinces(
        &self,
        provinces: Vec<crate::deployment::ProvinceView>,
    ) -> Result<(), crate::AdminError> {
        self.0
            .provinces
            .set(provinces)
            .map_err(|_| crate::AdminError::Usage("the national office is served once"))
    }

    /// The shared state, for the console's handlers.
    pub(crate) fn inner(&self) -> Arc<Inner> {
        self.0.clone()
    }

    /// Drops rate-limiter entries that are back to full, so the maps do not grow forever.
    pub fn housekeeping(&self) {
        self.0.enroll_limiter.retain_recent();
        self.0.enroll_limiter.shrink_to_fit();
        let shared = &self.0.shared;
        shared.api_ip_limiter.retain_recent();
        shared.api_ip_limiter.shrink_to_fit();
        shared.login_ip_limiter.retain_recent();
        shared.login_ip_limiter.shrink_to_fit();
    }

    /// A turn to check a password, waiting at most 10 s (None: the server is too busy).
    pub(crate) async fn password_slot(&self) -> Option<tokio::sync::SemaphorePermit<'_>> {
        tokio::time::timeout(
            std::time::Duration::from_secs(10),
            self.0.shared.password_checks.acquire(),
        )
        .await
        .ok()?
        .ok()
    }

    /// Whether a console login or setup attempt from `ip` is within its rate (loopback as for
    /// device requests: exempt unless configured, since a proxy in front shares that address).
    pub(crate) fn login_allowed(&self, ip: IpAddr) -> bool {
        (ip.is_loopback() && !self.0.limits.ip_limit_on_loopback)
            || self
                .0
                .shared
                .login_ip_limiter
                .check_key(&per_network(ip))
                .is_ok()
    }

    /// The cheapest refusal, first: device requests per client address.
    fn limit_ip(&self, ip: IpAddr) -> Result<(), ApiError> {
        if ip.is_loopback() && !self.0.limits.ip_limit_on_loopback {
            return Ok(());
        }
        self.0.shared.api_ip_limiter.check_key(&ip).map_err(|nu| {
            warn!(outcome = "ip_rate_limited");
            too_many(nu.wait_time_from(DefaultClock::default().now()))
        })
    }
}

/// An error answer: status, stable code, fixed message, and `Retry-After` for 429.
#[derive(Debug)]
pub struct ApiError {
    pub(crate) status: StatusCode,
    pub(crate) code: &'static str,
    message: &'static str,
    retry_after: Option<u64>,
}

fn err(status: StatusCode, code: &'static str, message: &'static str) -> ApiError {
    ApiError {
        status,
        code,
        message,
        retry_after: None,
    }
}

fn internal() -> ApiError {
    err(
        StatusCode::INTERNAL_SERVER_ERROR,
        "internal",
        "internal error; the request can be retried",
    )
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut resp = (
            self.status,
            Json(ErrorBody {
                error: self.code.to_string(),
                message: self.message.to_string(),
            }),
        )
            .into_response();
        if let Some(secs) = self.retry_after {
            resp.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        resp
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        error!(error = %e, "store failure");
        internal()
    }
}

impl From<KeyFileError> for ApiError {
    fn from(e: KeyFileError) -> Self {
        error!(error = %e, "sealing failure");
        internal()
    }
}

fn protocol_error(e: &ProtocolError) -> ApiError {
    match e {
        ProtocolError::Decrypt => err(
            StatusCode::BAD_REQUEST,
            "undecryptable",
            "the submission cannot be opened with the province key",
        ),
        ProtocolError::BadSignature => err(
            StatusCode::BAD_REQUEST,
            "bad_signature",
            "the signature does not verify under the device key",
        ),
        ProtocolError::Mismatch(_) => err(
            StatusCode::BAD_REQUEST,
            "mismatch",
            "the referral id inside the envelope differs from the one outside",
        ),
        ProtocolError::NotConsented => err(
            StatusCode::BAD_REQUEST,
            "not_consented",
            "a shared field is not covered by the consent",
        ),
        ProtocolError::Malformed(_) => {
            err(StatusCode::BAD_REQUEST, "malformed", "malformed request")
        }
        ProtocolError::Stale => err(
            StatusCode::UNAUTHORIZED,
            "stale_request",
            "the request timestamp is too far from the server clock",
        ),
        ProtocolError::Crypto(_) => internal(),
    }
}

/// JSON body extractor whose rejections are JSON errors: 415 without a JSON content type, 413
/// over the body limit, 400 for anything that does not parse (serde's message is not echoed:
/// it can quote the input).
pub struct ApiJson<T>(pub T);

impl<S, T> FromRequest<S> for ApiJson<T>
where
    Json<T>: FromRequest<S, Rejection = axum::extract::rejection::JsonRejection>,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        match Json::<T>::from_request(req, state).await {
            Ok(Json(v)) => Ok(ApiJson(v)),
            Err(rej) => Err(match rej.status() {
                StatusCode::UNSUPPORTED_MEDIA_TYPE => err(
                    StatusCode::UNSUPPORTED_MEDIA_TYPE,
                    "unsupported_media_type",
                    "send Content-Type: application/json",
                ),
                StatusCode::PAYLOAD_TOO_LARGE => err(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "too_large",
                    "request body too large",
                ),
                _ => err(StatusCode::BAD_REQUEST, "malformed", "malformed JSON"),
            }),
        }
    }
}

/// Proof of a valid staff token (`Authorization: Bearer <token>`): minted with the province
/// keys, not revoked, not expired. Carries the token's id, recorded with what it does.
pub struct Staff {
    pub token_id: String,
    /// Whether the token may move referrals (scope `write`, or minted before scopes).
    pub may_write: bool,
}

impl FromRequestParts<AppState> for Staff {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, st: &AppState) -> Result<Self, ApiError> {
        let unauthorized = || {
            err(
                StatusCode::UNAUTHORIZED,
                "unauthorized",
                "a valid staff token is required",
            )
        };
        let token = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .ok_or_else(unauthorized)?;
        let hash = token_hash(token);
        let found = blocking(st, move |inner| {
            let Some(t) = inner.store.staff_token(&hash)? else {
                return Ok(Err("unknown"));
            };
            // The tag first: a row written into the database without the keys says nothing.
            if !token_tag_ok(&inner.keys, &hash, &t) {
                return Ok(Err("forged"));
            }
            if t.revoked_at.is_some() {
                return Ok(Err("revoked"));
            }
            if t.expires_at <= Utc::now().timestamp() {
                return Ok(Err("expired"));
            }
            let may_write = t.scope.as_deref().is_none_or(|s| s == "write");
            Ok(Ok((t.token_id, may_write)))
        })
        .await?;
        match found {
            Ok((token_id, may_write)) => Ok(Staff {
                token_id,
                may_write,
            }),
            Err(why) => {
                warn!(outcome = "staff_auth_failed", why);
                Err(unauthorized())
            }
        }
    }
}

pub(crate) async fn blocking<T, F>(st: &AppState, f: F) -> Result<T, ApiError>
where
    T: Send + 'static,
    F: FnOnce(&Inner) -> Result<T, ApiError> + Send + 'static,
{
    let inner = st.0.clone();
    tokio::task::spawn_blocking(move || f(&inner))
        .await
        .map_err(|_| internal())?
}

fn now_text() -> String {
    Utc::now().to_rfc3339_opts(SecondsFormat::Secs, true)
}

fn retry_after(wait: std::time::Duration) -> u64 {
    let secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
    secs.max(1)
}

fn too_many(wait: std::time::Duration) -> ApiError {
    ApiError {
        retry_after: Some(retry_after(wait)),
        ..err(
            StatusCode::TOO_MANY_REQUESTS,
            "rate_limited",
            "too many requests; retry after the given seconds",
        )
    }
}

#[derive(Serialize, Deserialize)]
struct StoredBody {
    payload_json: String,
    device_signature: B64,
}

impl Inner {
    /// Called once the device's signature verified: its rate limit, then its last contact
    /// (for the console's device list). The device's bucket is the store's, so several
    /// instances on one PostgreSQL database share it.
    fn limit_device(&self, device_id: &str) -> Result<(), ApiError> {
        let per_minute = self.limits.device_per_minute.get();
        if let Some(wait) = self
            .store
            .take_token(&format!("device:{device_id}"), per_minute)?
        {
            warn!(device_id, outcome = "rate_limited");
            return Err(too_many(wait));
        }
        Ok(())
    }

    /// Marks the device seen now. A referral does not call it: its store marks the device in
    /// the referral's own commit (a write of its own would cost every referral a flush outside
    /// its group).
    fn seen(&self, device_id: &str) -> Result<(), ApiError> {
        Ok(self.store.touch_device(device_id, &now_text())?)
    }

    /// An enrolled, not revoked device, or 400/401/403.
    fn active_device(&self, device_id: &str) -> Result<Device, ApiError> {
        validate_id(device_id, "device_id").map_err(|e| protocol_error(&e))?;
        match self.store.device(device_id)? {
            None => {
                warn!(outcome = "unknown_device");
                Err(err(
                    StatusCode::UNAUTHORIZED,
                    "unknown_device",
                    "this device is not enrolled with the province",
                ))
            }
            Some(d) if d.revoked_at.is_some() => {
                warn!(device_id, outcome = "revoked_device");
                Err(err(
                    StatusCode::FORBIDDEN,
                    "device_revoked",
                    "this device has been revoked by the province",
                ))
            }
            // A row this server did not enroll (written into the database by hand, or
            // un-revoked by hand) is no device.
            Some(d) if !device_tag_ok(&self.keys, &d) => {
                warn!(device_id, outcome = "forged_device");
                Err(err(
                    StatusCode::UNAUTHORIZED,
                    "unknown_device",
                    "this device is not enrolled with the province",
                ))
            }
            Some(d) => Ok(d),
        }
    }

    fn enroll_response(&self, device_id: String) -> EnrollResponse {
        EnrollResponse {
            device_id,
            province_hpke_public_key: B64(self.keys.hpke.public_key_bytes().to_vec()),
            province_signing_key: B64(self.keys.signing.public_key().to_vec()),
        }
    }

    fn seal_status(&self, device_id: &str, update: &StatusUpdate) -> Result<Vec<u8>, StoreError> {
        seal_status(&self.keys, device_id, update)
    }

    pub(crate) fn open_status(
        &self,
        device_id: &str,
        seq: i64,
        body: &[u8],
    ) -> Result<StatusUpdate, ApiError> {
        let json = self.keys.at_rest().open(
            "status",
            &[device_id.as_bytes(), &seq.to_be_bytes()],
            body,
        )?;
        serde_json::from_slice(&json).map_err(|_| {
            error!(device_id, seq, "stored status update does not decode");
            internal()
        })
    }

    pub(crate) fn open_referral(&self, r: &StoredReferral) -> Result<StaffReferral, ApiError> {
        let json = self.keys.at_rest().open(
            "referral",
            &[
                r.referral_id.as_bytes(),
                r.device_id.as_bytes(),
                &r.payload_hash,
            ],
            &r.body,
        )?;
        let body: StoredBody = serde_json::from_slice(&json).map_err(|_| internal())?;
        let payload_json = Zeroizing::new(body.payload_json);
        let payload = serde_json::from_str(&payload_json).map_err(|_| internal())?;
        Ok(StaffReferral {
            n: r.n,
            referral_id: r.referral_id.clone(),
            device_id: r.device_id.clone(),
            state: r.state.clone(),
            received_at: r.received_at.clone(),
            updated_at: r.updated_at.clone(),
            updated_by: r.updated_by.clone(),
            payload_hash: B64(r.payload_hash.clone()),
            payload,
        })
    }
}

async fn enroll(
    State(st): State<AppState>,
    ConnectInfo(PeerAddr(peer)): ConnectInfo<PeerAddr>,
    ApiJson(req): ApiJson<EnrollRequest>,
) -> Result<Json<EnrollResponse>, ApiError> {
    if let Err(nu) = st.0.enroll_limiter.check_key(&peer.ip()) {
        warn!(outcome = "enroll_rate_limited");
        return Err(too_many(nu.wait_time_from(DefaultClock::default().now())));
    }
    let public_key = req.device_public_key.into_vec();
    if public_key.len() != 32 {
        return Err(err(
            StatusCode::BAD_REQUEST,
            "malformed",
            "device_public_key must be a 32-byte Ed25519 key",
        ));
    }
    let invalid = || {
        err(
            StatusCode::FORBIDDEN,
            "invalid_code",
            "unknown or expired enrollment code",
        )
    };
    let Some(hash) = code_hash(&req.code) else {
        warn!(outcome = "enroll_bad_code");
        return Err(invalid());
    };
    blocking(&st, move |inner| {
        let now = Utc::now();
        let new_id = uuid::Uuid::new_v4().to_string();
        let genuine =
            |expires_at: i64, mac: &[u8]| code_tag_ok(&inner.keys, &hash, expires_at, mac);
        let tag = |device_id: &str, key: &[u8]| device_tag(&inner.keys, device_id, key);
        let outcome = inner.store.redeem_code(
            &hash,
            &public_key,
            &new_id,
            now.timestamp(),
            &now.to_rfc3339_opts(SecondsFormat::Secs, true),
            &genuine,
            &tag,
        )?;
        match outcome {
            Redeem::Enrolled(d) => {
                info!(device_id = %d.device_id, outcome = "enrolled");
                Ok(inner.enroll_response(d.device_id))
            }
            Redeem::Again(d) if !device_tag_ok(&inner.keys, &d) && d.revoked_at.is_none() => {
                warn!(outcome = "enroll_forged_device");
                Err(invalid())
            }
            Redeem::Again(d) if d.revoked_at.is_some() => Err(err(
                StatusCode::FORBIDDEN,
                "device_revoked",
                "this device has been revoked by the province",
            )),
            Redeem::Again(d) => {
                info!(device_id = %d.device_id, outcome = "enroll_retry");
                Ok(inner.enroll_response(d.device_id))
            }
            Redeem::Invalid => {
                warn!(outcome = "enroll_bad_code");
                Err(invalid())
            }
            Redeem::UsedByAnotherKey => {
                warn!(outcome = "enroll_code_reused");
                Err(err(
                    StatusCode::CONFLICT,
                    "code_used",
                    "this enrollment code was already used by another device",
                ))
            }
            Redeem::KeyAlreadyEnrolled => Err(err(
                StatusCode::CONFLICT,
                "key_enrolled",
                "this device key is already enrolled",
            )),
        }
    })
    .await
    .map(Json)
}

/// The shape a submission must have before it costs a lookup or a key agreement: valid ids, a
/// 32-byte `enc`, a ciphertext at least one tag and one padding bucket long.
fn check_submission_shape(sub: &Submission) -> Result<(), ApiError> {
    validate_id(&sub.device_id, "device_id").map_err(|e| protocol_error(&e))?;
    validate_id(&sub.referral_id, "referral_id").map_err(|e| protocol_error(&e))?;
    if sub.enc.as_bytes().len() != 32 || sub.ciphertext.as_bytes().len() < MIN_CIPHERTEXT_LEN {
        return Err(err(
            StatusCode::BAD_REQUEST,
            "malformed",
            "malformed request",
        ));
    }
    Ok(())
}

/// What intake makes of an opened referral before the database: the signed receipt, and the
/// row with its body sealed at rest (bound to the referral, the device and the payload hash).
fn for_storage(
    keys: &ProvinceKeys,
    device_id: &str,
    referral_id: &str,
    opened: &chungtay_protocol::OpenedReferral,
    received_at: &str,
) -> Result<(NewReferral, Receipt), ApiError> {
    let receipt = sign_receipt(
        &keys.signing,
        device_id,
        referral_id,
        &opened.payload_hash,
        received_at,
    )
    .map_err(|e| protocol_error(&e))?;
    let body_json = Zeroizing::new(
        serde_json::to_vec(&StoredBody {
            payload_json: opened.payload_json.to_string(),
            device_signature: B64(opened.device_signature.clone()),
        })
        .map_err(|_| internal())?,
    );
    let body = keys.at_rest().seal(
        "referral",
        &[
            referral_id.as_bytes(),
            device_id.as_bytes(),
            &opened.payload_hash,
        ],
        &body_json,
    )?;
    let new = NewReferral {
        referral_id: referral_id.to_string(),
        device_id: device_id.to_string(),
        payload_hash: opened.payload_hash,
        received_at: received_at.to_string(),
        receipt_signature: receipt.signature.as_bytes().to_vec(),
        body,
    };
    Ok((new, receipt))
}

/// A referral's first status update, "received", signed and sealed for storage.
fn received_status(
    keys: &ProvinceKeys,
    device_id: &str,
    seq: i64,
    referral_id: &str,
    received_at: &str,
) -> Result<Vec<u8>, StoreError> {
    let update = sign_status(
        &keys.signing,
        device_id,
        seq,
        referral_id,
        "received",
        "",
        received_at,
    )?;
    seal_status(keys, device_id, &update)
}

fn seal_status(
    keys: &ProvinceKeys,
    device_id: &str,
    update: &StatusUpdate,
) -> Result<Vec<u8>, StoreError> {
    let json = Zeroizing::new(
        serde_json::to_vec(update).map_err(|_| KeyFileError::Malformed("status update"))?,
    );
    Ok(keys.at_rest().seal(
        "status",
        &[device_id.as_bytes(), &update.seq.to_be_bytes()],
        &json,
    )?)
}

/// The cryptography intake does for one referral, and nothing else (no HTTP, no database):
/// open it (HPKE) and check the device's signature, sign the receipt, seal the body, sign and
/// seal its first status update. The bench runs it on every core for the ceiling the server's
/// throughput is compared with, then stores what it made (the row, and the status as made for
/// seq 1) to time the store alone.
pub fn referral_crypto(
    keys: &ProvinceKeys,
    device_public_key: &[u8],
    sub: &Submission,
) -> Result<(NewReferral, Receipt, Vec<u8>), ApiError> {
    let opened =
        open_submission_full(sub, &keys.hpke, device_public_key).map_err(|e| protocol_error(&e))?;
    let received_at = now_text();
    let (new, receipt) = for_storage(
        keys,
        &sub.device_id,
        &sub.referral_id,
        &opened,
        &received_at,
    )?;
    let status = received_status(keys, &sub.device_id, 1, &sub.referral_id, &received_at)?;
    Ok((new, receipt, status))
}

async fn submit_referral(
    State(st): State<AppState>,
    ConnectInfo(PeerAddr(peer)): ConnectInfo<PeerAddr>,
    ApiJson(sub): ApiJson<Submission>,
) -> Result<Json<Receipt>, ApiError> {
    // Cheap refusals first: the address's allowance, then the shape; only then the lookup.
    st.limit_ip(peer.ip())?;
    check_submission_shape(&sub)?;
    let shared = st.inner();
    blocking(&st, move |inner| {
        let device = inner.active_device(&sub.device_id)?;
        let device_id = device.device_id.as_str();
        let referral_id = sub.referral_id.as_str();
        let opened =
            open_submission_full(&sub, &inner.keys.hpke, &device.public_key).map_err(|e| {
                warn!(device_id, referral_id, outcome = "refused", reason = %e);
                protocol_error(&e)
            })?;
        // Charged only once the device's own signature verified: device ids are not secret,
        // so charging earlier would let anyone spend a phone's allowance with junk.
        inner.limit_device(device_id)?;
        let received_at = now_text();
        let (new, receipt) =
            for_storage(&inner.keys, device_id, referral_id, &opened, &received_at)?;
        // Made by whichever request commits the group this referral lands in.
        let make: crate::store::SharedMakeStatus = {
            let (referral_id, received_at) = (referral_id.to_owned(), received_at.clone());
            Arc::new(move |dev: &str, seq: i64| {
                received_status(&shared.keys, dev, seq, &referral_id, &received_at)
            })
        };
        let outcome = inner.store.insert_referral_grouped(new, make)?;
        match outcome {
            InsertOutcome::Inserted { status_seq } => {
                info!(device_id, referral_id, status_seq, outcome = "stored");
                Ok(receipt)
            }
            InsertOutcome::Existing {
                received_at,
                receipt_signature,
            } => {
                info!(device_id, referral_id, outcome = "replay");
                Ok(Receipt {
                    referral_id: referral_id.to_string(),
                    payload_hash: B64(opened.payload_hash.to_vec()),
                    received_at,
                    signature: B64(receipt_signature),
                })
            }
            InsertOutcome::Conflict => {
                warn!(device_id, referral_id, outcome = "conflict");
                Err(err(
                    StatusCode::CONFLICT,
                    "conflict",
                    "this referral id is already stored with other content",
                ))
            }
        }
    })
    .await
    .map(Json)
}

async fn post_checkpoint(
    State(st): State<AppState>,
    ConnectInfo(PeerAddr(peer)): ConnectInfo<PeerAddr>,
    ApiJson(cp): ApiJson<Checkpoint>,
) -> Result<Json<CheckpointAck>, ApiError> {
    st.limit_ip(peer.ip())?;
    let well_formed = cp.head.as_bytes().len() == 32
        && cp.signature.as_bytes().len() == 64
        && cp
            .prev
            .as_ref()
            .is_none_or(|p| p.head.as_bytes().len() == 32);
    if !well_formed {
        return Err(err(
            StatusCode::BAD_REQUEST,
            "malformed",
            "malformed request",
        ));
    }
    blocking(&st, move |inner| {
        let device = inner.active_device(&cp.device_id)?;
        let device_id = device.device_id.as_str();
        verify_checkpoint(&cp, &device.public_key).map_err(|e| {
            warn!(device_id, seq = cp.seq, outcome = "checkpoint_refused", reason = %e);
            protocol_error(&e)
        })?;
        // After verification, as for referrals.
        inner.limit_device(device_id)?;
        inner.seen(device_id)?;
        let stored = StoredCheckpoint {
            device_id: device_id.to_string(),
            seq: cp.seq,
            head: cp.head.as_bytes().to_vec(),
            prev: cp
                .prev
                .as_ref()
                .map(|p| (p.seq, p.head.as_bytes().to_vec())),
            at: cp.at.clone(),
            signature: cp.signature.as_bytes().to_vec(),
            received_at: now_text(),
        };
        let ack = |stored| CheckpointAck {
            device_id: device_id.to_string(),
            seq: cp.seq,
            stored,
        };
        match inner.store.add_checkpoint(&stored)? {
            CheckpointOutcome::Stored => {
                info!(device_id, seq = cp.seq, outcome = "checkpoint_stored");
                Ok(ack(true))
            }
            CheckpointOutcome::Duplicate => Ok(ack(false)),
            CheckpointOutcome::Rollback { latest } => {
                warn!(
                    device_id,
                    seq = cp.seq,
                    latest,
                    outcome = "checkpoint_rollback",
                    flagged = true
                );
                Err(err(
                    StatusCode::CONFLICT,
                    "rollback",
                    "a later checkpoint is already kept for this device; it has been flagged",
                ))
            }
            CheckpointOutcome::Fork { latest } => {
                warn!(
                    device_id,
                    seq = cp.seq,
                    latest,
                    outcome = "checkpoint_fork",
                    flagged = true
                );
                Err(err(
                    StatusCode::CONFLICT,
                    "fork",
                    "this checkpoint does not extend the one kept for this device (an older \
                     copy of the phone's data?); it has been flagged",
                ))
            }
        }
    })
    .await
    .map(Json)
}

#[derive(Deserialize)]
struct StatusQuery {
    device_id: String,
    cursor: i64,
    ts: i64,
    sig: String,
}

async fn pull_status(
    State(st): State<AppState>,
    ConnectInfo(PeerAddr(peer)): ConnectInfo<PeerAddr>,
    query: Result<Query<StatusQuery>, QueryRejection>,
) -> Result<Json<StatusPage>, ApiError> {
    st.limit_ip(peer.ip())?;
    let Query(q) = query.map_err(|_| {
        err(
            StatusCode::BAD_REQUEST,
            "malformed",
            "expected device_id, cursor, ts and sig",
        )
    })?;
    // A '+' sent unencoded in a query string arrives as a space.
    let sig = B64::decode(&q.sig.replace(' ', "+"), "sig").map_err(|e| protocol_error(&e))?;
    blocking(&st, move |inner| {
        let device = inner.active_device(&q.device_id)?;
        let device_id = device.device_id.as_str();
        let req = PullRequest {
            device_id: device_id.to_string(),
            cursor: q.cursor,
            ts: q.ts,
            sig,
        };
        verify_pull(&req, &device.public_key, Utc::now().timestamp()).map_err(|e| {
            warn!(device_id, outcome = "pull_refused", reason = %e);
            match e {
                ProtocolError::BadSignature => err(
                    StatusCode::UNAUTHORIZED,
                    "bad_signature",
                    "the pull signature does not verify under the device key",
                ),
                other => protocol_error(&other),
            }
        })?;
        // After verification, as for referrals.
        inner.limit_device(device_id)?;
        inner.seen(device_id)?;
        let mut rows = inner
            .store
            .statuses_after(device_id, q.cursor, MAX_STATUS_PAGE + 1)?;
        let more = rows.len() > MAX_STATUS_PAGE;
        rows.truncate(MAX_STATUS_PAGE);
        let updates = rows
            .iter()
            .map(|r| inner.open_status(&r.device_id, r.seq, &r.body))
            .collect::<Result<Vec<_>, _>>()?;
        let cursor = updates.last().map_or(q.cursor, |u| u.seq);
        // The device's own latest checkpoint, for it to check its trail against.
        let checkpoint = inner
            .store
            .latest_checkpoint(device_id)?
            .map(|c| Checkpoint {
                device_id: c.device_id,
                seq: c.seq,
                head: B64(c.head),
                prev: c.prev.map(|(seq, head)| CheckpointRef {
                    seq,
                    head: B64(head),
                }),
                at: c.at,
                signature: B64(c.signature),
            });
        info!(device_id, count = updates.len(), cursor, outcome = "pulled");
        Ok(StatusPage {
            updates,
            cursor,
            more,
            checkpoint,
        })
    })
    .await
    .map(Json)
}

#[derive(Deserialize)]
struct ListQuery {
    after: Option<i64>,
    limit: Option<usize>,
}

async fn staff_list(
    State(st): State<AppState>,
    staff: Staff,
    query: Result<Query<ListQuery>, QueryRejection>,
) -> Result<Response, ApiError> {
    let Query(q) = query.map_err(|_| err(StatusCode::BAD_REQUEST, "malformed", "bad query"))?;
    let after = q.after.unwrap_or(0);
    let limit = q.limit.unwrap_or(100).clamp(1, MAX_LIST_PAGE);
    blocking(&st, move |inner| {
        let mut rows = inner.store.referrals(after, limit + 1)?;
        let more = rows.len() > limit;
        rows.truncate(limit);
        // One row that no longer opens (damaged, or sealed under other keys) must not hide
        // the others forever: skip it, name it in the log (ids are not personal), count it.
        let mut referrals = Vec::with_capacity(rows.len());
        let mut unreadable = 0u32;
        for r in &rows {
            match inner.open_referral(r) {
                Ok(sr) => referrals.push(sr),
                Err(_) => {
                    error!(
                        referral_id = %r.referral_id,
                        device_id = %r.device_id,
                        n = r.n,
                        outcome = "unreadable_referral"
                    );
                    unreadable += 1;
                }
            }
        }
        // The cursor follows the rows read, not the ones shown, so paging moves past a
        // skipped row.
        let next_after = if more { rows.last().map(|r| r.n) } else { None };
        info!(
            by = %staff.token_id,
            count = referrals.len(),
            unreadable,
            outcome = "staff_listed"
        );
        // A script reading decrypted referrals is in the staff audit as a person would be.
        inner.store.add_audit(
            &now_text(),
            &staff.token_id,
            "api_list_referrals",
            "",
            &format!("{} shown", referrals.len()),
        )?;
        Ok((
            unreadable,
            StaffReferralList {
                referrals,
                next_after,
            },
        ))
    })
    .await
    .map(|(unreadable, list)| {
        let mut resp = Json(list).into_response();
        if unreadable > 0 {
            resp.headers_mut()
                .insert(UNREADABLE_HEADER, HeaderValue::from(unreadable));
        }
        resp
    })
}

/// Checks a requested transition's target state and note; the trimmed note.
pub(crate) fn check_transition(state: &str, note: &str) -> Result<String, ApiError> {
    if !STATUS_STATES.contains(&state) || state == "received" {
        return Err(err(
            StatusCode::BAD_REQUEST,
            "invalid_state",
            "state must be accepted, declined, in_progress or completed",
        ));
    }
    let note = note.trim().to_string();
    if note.chars().count() > MAX_NOTE_CHARS {
        return Err(err(
            StatusCode::BAD_REQUEST,
            "note_too_long",
            "the note is too long",
        ));
    }
    if (state == "declined" || state == "completed") && note.is_empty() {
        return Err(err(
            StatusCode::BAD_REQUEST,
            "note_required",
            "a declined referral needs a reason, a completed one an outcome",
        ));
    }
    Ok(note)
}

impl Inner {
    /// Moves a referral to `state` with `note` (checked by [`check_transition`]), signing the
    /// device's next status update; `by` is the staff token or account id.
    pub(crate) fn transition(
        &self,
        referral_id: &str,
        state: &str,
        note: &str,
        by: &str,
    ) -> Result<StatusUpdate, ApiError> {
        let at = now_text();
        let mut signed = None;
        let outcome = {
            let mut make = |dev: &str, seq: i64| -> Result<Vec<u8>, StoreError> {
                let update =
                    sign_status(&self.keys.signing, dev, seq, referral_id, state, note, &at)?;
                let body = self.seal_status(dev, &update)?;
                signed = Some(update);
                Ok(body)
            };
            self.store
                .transition(referral_id, state, &at, by, &mut make)?
        };
        match outcome {
            TransitionOutcome::Done { device_id, seq } => {
                info!(
                    %referral_id,
                    %device_id,
                    seq,
                    to = %state,
                    by = %by,
                    outcome = "transition"
                );
                signed.ok_or_else(internal)
            }
            TransitionOutcome::NotFound => Err(err(
                StatusCode::NOT_FOUND,
                "not_found",
                "no referral with this id",
            )),
            TransitionOutcome::NotAllowed { from } => {
                warn!(%referral_id, %from, to = %state, outcome = "transition_refused");
                Err(err(
                    StatusCode::CONFLICT,
                    "invalid_transition",
                    "the lifecycle does not allow this change from the current state",
                ))
            }
        }
    }
}

/// Response header of the staff listing: how many rows of this page could not be opened and
/// were left out (absent when none). Their ids are in the server log.
pub const UNREADABLE_HEADER: &str = "x-unreadable-referrals";

async fn staff_transition(
    State(st): State<AppState>,
    staff: Staff,
    Path(referral_id): Path<String>,
    ApiJson(req): ApiJson<TransitionRequest>,
) -> Result<Json<StatusUpdate>, ApiError> {
    if !staff.may_write {
        warn!(by = %staff.token_id, outcome = "token_scope_refused");
        return Err(err(
            StatusCode::FORBIDDEN,
            "scope",
            "this token may only read; moving a referral needs a write token",
        ));
    }
    validate_id(&referral_id, "referral_id").map_err(|e| protocol_error(&e))?;
    let note = check_transition(&req.state, &req.note)?;
    let state = req.state;
    blocking(&st, move |inner| {
        let update = inner.transition(&referral_id, &state, &note, &staff.token_id)?;
        inner.store.add_audit(
            &now_text(),
            &staff.token_id,
            "api_transition",
            &referral_id,
            &format!("to {state}, seq {}", update.seq),
        )?;
        Ok(update)
    })
    .await
    .map(Json)
}

async fn not_found() -> ApiError {
    err(StatusCode::NOT_FOUND, "not_found", "no such endpoint")
}

async fn healthz() -> &'static str {
    "ok"
}

/// The intake API. Serve it with `into_make_service_with_connect_info::<PeerAddr>()` (as
/// [`crate::run`] does): enrollment limits attempts per client address.
pub fn router(st: AppState) -> Router {
    let body_limit = st.0.limits.body_bytes;
    if st.is_national() {
        // The national office enrolls no phone and holds no referral: its console only.
        return Router::new()
            .route("/healthz", get(healthz))
            .merge(crate::console::national_router())
            .fallback(not_found)
            .layer(DefaultBodyLimit::max(body_limit))
            .with_state(st);
    }
    Router::new()
        .route("/v1/enroll", post(enroll))
        .route("/v1/referrals", post(submit_referral))
        .route("/v1/checkpoints", post(post_checkpoint))
        .route("/v1/status", get(pull_status))
        .route("/v1/staff/referrals", get(staff_list))
        .route(
            "/v1/staff/referrals/{id}/transition",
            post(staff_transition),
        )
        .route("/healthz", get(healthz))
        .merge(crate::console::router())
        .fallback(not_found)
        .layer(DefaultBodyLimit::max(body_limit))
        .with_state(st)
}
