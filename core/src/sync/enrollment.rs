//! Enrollment: the one-time code and the province's certificate turn into this phone's
//! device identity at the province, sealed in the store under the records key.

use std::time::Duration;

use chungtay_protocol::{self as protocol, B64, ProvincePins, SigningKeys};
use rusqlite::{OptionalExtension, TransactionBehavior};
use serde::{Deserialize, Serialize};

use super::net::{client, error_code, net, server_base};
use crate::access::Permission;
use crate::audit::AuditAction;
use crate::crypto::{self, Place};
use crate::db;
use crate::db::Db;
use crate::error::{Error, Reason, RecordKind, Result, invalid};
use crate::ledger::{self, NewEntry};
use crate::session::Session;

/// What the phone pinned at enrollment.
#[derive(Clone, Serialize, Deserialize)]
pub(super) struct Enrollment {
    pub(super) server_url: String,
    pub(super) device_id: String,
    pub(super) province_hpke_key: Vec<u8>,
    pub(super) province_signing_key: Vec<u8>,
    /// The server's self-signed certificate (PEM), trusted instead of any CA.
    pub(super) server_certificate: Option<String>,
    pub(super) status_cursor: i64,
    /// The last audit checkpoint the province acknowledged (seq, head): the next one names it
    /// as the one it extends, so a restored older copy of this file (which remembers an older
    /// one) is refused by the province as a fork.
    #[serde(default)]
    pub(super) last_checkpoint: Option<(i64, Vec<u8>)>,
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

pub(super) fn enrollment_place() -> Place<'static> {
    Place {
        table: "meta",
        kind: RecordKind::DeviceKey,
        id: "enrollment",
        bound: "",
    }
}

pub(super) fn load_enrollment(db: Db<'_>, session: &Session) -> Result<Option<Enrollment>> {
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

pub(super) fn save_enrollment(
    db: Db<'_>,
    s: &Session,
    conn: &rusqlite::Connection,
    e: &Enrollment,
) -> Result<()> {
    let sealed = seal_enrollment(db, s, e)?;
    write_enrollment(conn, &sealed)
}

pub(super) fn seal_enrollment(
    db: Db<'_>,
    session: &Session,
    e: &Enrollment,
) -> Result<crypto::Sealed> {
    crypto::seal(
        &session.record_key,
        db.store_kid,
        &enrollment_place(),
        &db::to_json(e)?,
    )
}

pub(super) fn device_keys(db: Db<'_>, session: &Session) -> Result<SigningKeys> {
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

pub(super) fn write_enrollment(conn: &rusqlite::Connection, sealed: &crypto::Sealed) -> Result<()> {
    conn.execute(
        "INSERT OR REPLACE INTO meta (name, value) VALUES ('enrollment', ?1)",
        [sealed.as_bytes()],
    )?;
    Ok(())
}
