//! The signed export of the trail for the province, and its verification offline.

use chrono::Utc;
use ring::signature::{self, KeyPair};
use serde::{Deserialize, Serialize};

use crate::audit::AuditAction;
use crate::db::Db;
use crate::domain::Id;
use crate::error::{Error, Result};
use crate::ledger::{NewEntry, append, immediate, time_text};
use crate::session::Session;

use super::{check, signing_key};

/// The signed audit export: `document` is the exact JSON that was signed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignedExport {
    pub format: String,
    pub device_public_key: String,
    pub document: String,
    pub signature: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct ExportDocument {
    pub store_id: String,
    pub device_id: String,
    pub exported_at: String,
    pub exported_by: Id,
    pub chain_verified: bool,
    pub entries: Vec<ExportEntry>,
}

/// An entry as exported: plain text fields, so the file reads without this library.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct ExportEntry {
    pub seq: i64,
    pub at: String,
    pub user_id: String,
    pub role: String,
    pub device_id: String,
    pub action: String,
    pub kind: String,
    pub record_id: String,
    pub fields: Vec<String>,
}

/// The two files of an audit export.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct AuditExport {
    pub signed_json: String,
    pub csv: String,
}

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ExportError {
    #[error("not an audit export")]
    Malformed,
    #[error("the export was signed by another device")]
    WrongDevice,
    #[error("the export was altered after it was signed")]
    BadSignature,
}

const EXPORT_FORMAT: &str = "chungtay.audit-export.v1";

/// Verifies an exported file offline with the device's public key (taken from the phone or the
/// province's enrollment records, never from the file itself).
pub fn verify_export(
    file: &str,
    device_public_key: &[u8],
) -> std::result::Result<ExportDocument, ExportError> {
    use base64::Engine as _;
    let b64 = base64::engine::general_purpose::STANDARD;
    let signed: SignedExport = serde_json::from_str(file).map_err(|_| ExportError::Malformed)?;
    if signed.format != EXPORT_FORMAT {
        return Err(ExportError::Malformed);
    }
    let claimed = b64
        .decode(&signed.device_public_key)
        .map_err(|_| ExportError::Malformed)?;
    if claimed != device_public_key {
        return Err(ExportError::WrongDevice);
    }
    let sig = b64
        .decode(&signed.signature)
        .map_err(|_| ExportError::Malformed)?;
    signature::UnparsedPublicKey::new(&signature::ED25519, device_public_key)
        .verify(signed.document.as_bytes(), &sig)
        .map_err(|_| ExportError::BadSignature)?;
    serde_json::from_str(&signed.document).map_err(|_| ExportError::Malformed)
}

/// The audit export: a signed JSON file a laptop verifies offline with the device's public
/// key, and the same entries as CSV for reading. The export is itself noted in the trail.
pub(crate) fn export(db: Db<'_>, session: &Session) -> Result<AuditExport> {
    use base64::Engine as _;
    let b64 = base64::engine::general_purpose::STANDARD;
    {
        let tx = immediate(db.conn)?;
        append(
            &tx,
            db.store_id,
            session,
            NewEntry::new(AuditAction::Export, None, ""),
        )?;
        tx.commit()?;
    }
    let checked = check(db, session)?;
    let chain_verified = checked.verdict.is_ok();
    let entries: Vec<ExportEntry> = checked
        .entries
        .into_iter()
        .map(|(e, _)| ExportEntry {
            seq: e.seq,
            at: time_text(&e.at),
            user_id: e.user_id,
            role: e.role.map(|r| r.as_str()).unwrap_or("").to_owned(),
            device_id: e.device_id,
            action: e.action.as_str().to_owned(),
            kind: e.kind.map(|k| k.as_str()).unwrap_or("").to_owned(),
            record_id: e.record_id,
            fields: e.fields,
        })
        .collect();
    let doc = ExportDocument {
        store_id: db.store_id.to_owned(),
        device_id: session.device_id.clone(),
        exported_at: time_text(&Utc::now()),
        exported_by: session.user_id.clone(),
        chain_verified,
        entries,
    };
    let document = serde_json::to_string_pretty(&doc).map_err(|_| Error::Crypto)?;
    let key = signing_key(db, session)?;
    let signed = SignedExport {
        format: EXPORT_FORMAT.to_owned(),
        device_public_key: b64.encode(key.public_key().as_ref()),
        signature: b64.encode(key.sign(document.as_bytes()).as_ref()),
        document,
    };
    let mut csv = csv::Writer::from_writer(Vec::new());
    let io = |e: csv::Error| Error::Io(std::io::Error::other(e.to_string()));
    csv.write_record([
        "seq",
        "at",
        "user_id",
        "role",
        "device_id",
        "action",
        "kind",
        "record_id",
        "fields",
    ])
    .map_err(io)?;
    for e in &doc.entries {
        csv.write_record([
            e.seq.to_string().as_str(),
            &e.at,
            &e.user_id,
            &e.role,
            &e.device_id,
            &e.action,
            &e.kind,
            &e.record_id,
            &e.fields.join(";"),
        ])
        .map_err(io)?;
    }
    let csv = String::from_utf8(csv.into_inner().map_err(|e| io(e.into_error().into()))?)
        .map_err(|_| Error::Crypto)?;
    Ok(AuditExport {
        signed_json: serde_json::to_string_pretty(&signed).map_err(|_| Error::Crypto)?,
        csv,
    })
}
