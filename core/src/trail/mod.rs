//! The store's side of the audit trail, read: loading and verifying the chain, the device's
//! signing key, checkpoints and annotations; the field audit's findings (`findings`) and the
//! signed export (`export`). Appending entries, in the transaction of the change they describe,
//! is `ledger`'s.

mod export;
mod findings;

pub(crate) use export::export;
pub use export::{
    AuditExport, ExportDocument, ExportEntry, ExportError, SignedExport, verify_export,
};
pub(crate) use findings::findings;
pub use findings::{AuditFindings, LateEdit, MeetingRef, OverdueReferral, OverdueThresholds};

use chrono::Utc;
use ring::signature::{self, Ed25519KeyPair, KeyPair};
use rusqlite::{OptionalExtension, params};
use serde::{Deserialize, Serialize};

use crate::audit::{self, AuditAction, AuditEntry};
use crate::crypto::{self, Place};
use crate::db::{self, Db};
use crate::domain::{Id, Stamp};
use crate::error::ChainBreak;
use crate::error::{Error, Reason, RecordKind, Result, invalid};
use crate::ledger::{
    ANNOTATION_FIELD, CheckedTrail, NewEntry, append, entry_from_row, immediate, open_fields,
    parse_time, read_head, signing_key_place, time_text,
};
use crate::session::Session;
use crate::text;

/// An auditor's note on a record ("checked against the paper register"). The note may name
/// people: Debug (and Kotlin's `toString`) leave it out.
#[cfg_attr(feature = "uniffi", uniffi::export(Debug))]
#[derive(Clone, PartialEq, Eq)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct Annotation {
    pub id: Id,
    pub kind: RecordKind,
    pub record_id: Id,
    pub text: String,
    pub stamp: Stamp,
}
crate::domain::redacted_debug!(Annotation {
    id,
    kind,
    record_id,
    stamp
});

/// A signed statement of the trail's head, sent to the province with every sync.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct Checkpoint {
    pub device_id: String,
    pub seq: i64,
    pub head: Vec<u8>,
    pub at: String,
    pub signature: Vec<u8>,
}

impl Checkpoint {
    pub fn signed_bytes(device_id: &str, seq: i64, head: &[u8], at: &str) -> Vec<u8> {
        let mut m = b"chungtay.checkpoint.v1\0".to_vec();
        m.extend_from_slice(device_id.as_bytes());
        m.push(0);
        m.extend_from_slice(&seq.to_be_bytes());
        m.extend_from_slice(head);
        m.extend_from_slice(at.as_bytes());
        m
    }

    /// Checks the device's signature with its Ed25519 public key. The head is a 32-byte MAC:
    /// the signed bytes do not delimit it from `at`, so any other length is refused.
    pub fn verify(&self, device_public_key: &[u8]) -> bool {
        if self.head.len() != 32 {
            return false;
        }
        let msg = Self::signed_bytes(&self.device_id, self.seq, &self.head, &self.at);
        signature::UnparsedPublicKey::new(&signature::ED25519, device_public_key)
            .verify(&msg, &self.signature)
            .is_ok()
    }
}

/// Every entry of the trail, oldest first, with its MAC; field names opened.
pub(crate) fn load(db: Db<'_>, session: &Session) -> Result<Vec<(AuditEntry, Vec<u8>)>> {
    load_some(db, session, "ORDER BY seq")
}

/// The entries `tail` (a `WHERE`, an order, a limit) picks, read as `load` reads them all.
pub(crate) fn load_some(
    db: Db<'_>,
    session: &Session,
    tail: &str,
) -> Result<Vec<(AuditEntry, Vec<u8>)>> {
    let mut stmt = db.conn.prepare(&format!(
        "SELECT seq, at, user_id, role, device_id, action, kind, record_id, fields, mac, \
         fields_sealed FROM audit_log {tail}"
    ))?;
    let rows = stmt.query_map([], entry_from_row)?;
    let mut out = Vec::new();
    for row in rows {
        let raw = row?;
        let mut entry = raw.entry;
        entry.at = parse_time(&raw.at)?;
        entry.fields = open_fields(
            session,
            db.store_id,
            entry.seq,
            &raw.fields,
            raw.fields_sealed.as_deref(),
        );
        out.push((entry, raw.mac));
    }
    Ok(out)
}

/// Verifies the whole trail: every entry's MAC in order, the head, every stored checkpoint
/// against the device's key and the entry it names, and every record row against the trail.
pub(crate) fn verify(db: Db<'_>, session: &Session) -> std::result::Result<i64, ChainBreak> {
    match check(db, session) {
        Ok(checked) => checked.verdict,
        Err(_) => Err(ChainBreak::BadHead),
    }
}

/// Reads the trail once, checks it, and checks every record row against it (the rows are
/// listed even when the chain itself is broken). Verify, the findings, the export and the
/// sync all start here, so none reads the trail or opens the rows twice.
pub(crate) fn check(db: Db<'_>, session: &Session) -> Result<CheckedTrail> {
    let entries = load(db, session)?;
    let damaged = db::scan_records(db, session, &entries)?;
    session.note_damaged(&damaged);
    // Not only the chain: every record row must be the one the trail last wrote.
    let verdict = verify_chain_of(db, session, &entries).and_then(|last| match damaged.first() {
        Some(d) => Err(ChainBreak::Record {
            kind: d.kind,
            id: d.id.clone(),
            reason: d.reason,
        }),
        None => Ok(last),
    });
    Ok(CheckedTrail {
        entries,
        verdict,
        damaged,
    })
}

/// The chain, its head, the annotations it names and the stored checkpoints.
fn verify_chain_of(
    db: Db<'_>,
    session: &Session,
    trail: &[(AuditEntry, Vec<u8>)],
) -> std::result::Result<i64, ChainBreak> {
    let head = read_head(db.conn).map_err(|_| ChainBreak::BadHead)?;
    let (last, _) = audit::verify_chain(&session.audit_key, db.store_id, trail, head.as_deref())?;
    // Every auditor's note the trail recorded is still there, unless an erasure took it.
    let present: std::collections::HashSet<String> = db
        .conn
        .prepare("SELECT id FROM annotations")
        .and_then(|mut s| {
            s.query_map([], |r| r.get(0))?
                .collect::<rusqlite::Result<_>>()
        })
        .map_err(|_| ChainBreak::BadHead)?;
    let erased: std::collections::HashSet<&str> = trail
        .iter()
        .filter(|(e, _)| e.action == AuditAction::Delete)
        .flat_map(|(e, _)| e.fields.iter())
        .filter_map(|f| f.strip_prefix(ANNOTATION_FIELD))
        .collect();
    for (e, _) in trail
        .iter()
        .filter(|(e, _)| e.action == AuditAction::Annotate)
    {
        for id in e
            .fields
            .iter()
            .filter_map(|f| f.strip_prefix(ANNOTATION_FIELD))
        {
            if !present.contains(id) && !erased.contains(id) {
                return Err(ChainBreak::AnnotationGone { seq: e.seq });
            }
        }
    }
    let public = device_public_key(db, session).map_err(|_| ChainBreak::BadHead)?;
    for cp in checkpoints(db, session).map_err(|_| ChainBreak::BadHead)? {
        let at_seq = trail.get(cp.seq.saturating_sub(1).max(0) as usize);
        let matches = at_seq.is_some_and(|(e, mac)| e.seq == cp.seq && *mac == cp.head);
        if !cp.verify(&public) || !matches {
            return Err(ChainBreak::Truncated { last, head: cp.seq });
        }
    }
    Ok(last)
}

/// The device's Ed25519 public key: what checkpoints and exports are verified with. Taken
/// from the sealed signing key (so it needs an unlocked store), never trusted from the
/// plaintext copy in `meta`: that copy, if someone replaced it, is reported as tampering.
pub(crate) fn device_public_key(db: Db<'_>, session: &Session) -> Result<Vec<u8>> {
    let public = signing_key(db, session)?.public_key().as_ref().to_vec();
    let stored: Option<Vec<u8>> = db
        .conn
        .query_row(
            "SELECT value FROM meta WHERE name = 'device_public_key'",
            [],
            |r| r.get(0),
        )
        .optional()?;
    if stored.as_deref() != Some(public.as_slice()) {
        return Err(Error::Integrity {
            kind: RecordKind::DeviceKey,
            id: "device_public_key".into(),
        });
    }
    Ok(public)
}

/// The device's Ed25519 key (PKCS#8), opened for signing; zeroized when dropped.
pub(crate) fn signing_key_pkcs8(
    db: Db<'_>,
    session: &Session,
) -> Result<zeroize::Zeroizing<Vec<u8>>> {
    let sealed: Vec<u8> = db.conn.query_row(
        "SELECT value FROM meta WHERE name = 'device_signing_key'",
        [],
        |r| r.get(0),
    )?;
    crypto::open(
        &session.record_key,
        db.store_kid,
        &signing_key_place(),
        &sealed,
    )
}

fn signing_key(db: Db<'_>, session: &Session) -> Result<Ed25519KeyPair> {
    let pkcs8 = signing_key_pkcs8(db, session)?;
    Ed25519KeyPair::from_pkcs8(&pkcs8).map_err(|_| Error::Integrity {
        kind: RecordKind::DeviceKey,
        id: "device_signing_key".into(),
    })
}

/// Signs the current head (after noting the checkpoint itself in the trail) and keeps it.
/// The sync sends it to the province, which keeps it, so a log cut later is caught there.
pub(crate) fn create_checkpoint(db: Db<'_>, session: &Session) -> Result<Checkpoint> {
    let key = signing_key(db, session)?;
    let tx = immediate(db.conn)?;
    append(
        &tx,
        db.store_id,
        session,
        NewEntry::new(AuditAction::Checkpoint, None, ""),
    )?;
    let (seq, mac, _) = read_head(&tx)?
        .as_deref()
        .and_then(audit::decode_head)
        .ok_or(Error::Integrity {
            kind: RecordKind::Audit,
            id: "head".into(),
        })?;
    let at = time_text(&Utc::now());
    let msg = Checkpoint::signed_bytes(&session.device_id, seq, &mac, &at);
    let cp = Checkpoint {
        device_id: session.device_id.clone(),
        seq,
        head: mac.to_vec(),
        at,
        signature: key.sign(&msg).as_ref().to_vec(),
    };
    tx.execute(
        "INSERT INTO audit_checkpoints (seq, head, at, signature) VALUES (?1, ?2, ?3, ?4)",
        params![cp.seq, cp.head, cp.at, cp.signature],
    )?;
    tx.commit()?;
    Ok(cp)
}

/// The signed checkpoints kept in the store, oldest first.
pub(crate) fn checkpoints(db: Db<'_>, session: &Session) -> Result<Vec<Checkpoint>> {
    let device_id = session.device_id.clone();
    let mut stmt = db
        .conn
        .prepare("SELECT seq, head, at, signature FROM audit_checkpoints ORDER BY seq")?;
    let rows = stmt.query_map([], |r| {
        Ok(Checkpoint {
            device_id: device_id.clone(),
            seq: r.get(0)?,
            head: r.get(1)?,
            at: r.get(2)?,
            signature: r.get(3)?,
        })
    })?;
    Ok(rows.collect::<Result<Vec<_>, _>>()?)
}

/// An auditor's note on any record.
pub(crate) fn annotate(
    db: Db<'_>,
    session: &Session,
    kind: RecordKind,
    record_id: &str,
    note: &str,
) -> Result<Annotation> {
    let note = text::nfc(note.trim());
    if note.is_empty() {
        return invalid("text", Reason::Empty);
    }
    // A note on nothing would sit in the trail as if a record had been checked.
    crate::db::require_annotatable(db.conn, kind, record_id)?;
    let id = uuid::Uuid::new_v4().to_string();
    let now = time_text(&Utc::now());
    let stamps = [
        now.clone(),
        session.user_id.clone(),
        now,
        session.user_id.clone(),
    ];
    let bound = annotation_bound(kind, record_id, &stamps);
    let sealed = crypto::seal(
        &session.record_key,
        db.store_kid,
        &annotation_place(&id, &bound),
        note.as_bytes(),
    )?;
    let tx = immediate(db.conn)?;
    tx.execute(
        "INSERT INTO annotations (id, record_kind, record_id, body, created_at, created_by, \
         updated_at, updated_by) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        params![
            id,
            kind.as_str(),
            record_id,
            sealed,
            stamps[0],
            stamps[1],
            stamps[2],
            stamps[3]
        ],
    )?;
    // The note's id in the trail, so that deleting the note from the file shows.
    let mut entry = NewEntry::new(AuditAction::Annotate, Some(kind), record_id);
    entry.fields = vec![format!("{ANNOTATION_FIELD}{id}")];
    append(&tx, db.store_id, session, entry)?;
    tx.commit()?;
    Ok(Annotation {
        id,
        kind,
        record_id: record_id.to_owned(),
        text: note,
        stamp: Stamp {
            created_at: parse_time(&stamps[0])?,
            created_by: stamps[1].clone(),
            updated_at: parse_time(&stamps[2])?,
            updated_by: stamps[3].clone(),
        },
    })
}

pub(crate) fn annotations(
    db: Db<'_>,
    session: &Session,
    kind: RecordKind,
    record_id: &str,
) -> Result<Vec<Annotation>> {
    let mut stmt = db.conn.prepare(
        "SELECT id, body, created_at, created_by, updated_at, updated_by FROM annotations \
         WHERE record_kind = ?1 AND record_id = ?2 ORDER BY created_at",
    )?;
    let rows = stmt.query_map(params![kind.as_str(), record_id], |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, Vec<u8>>(1)?,
            [r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?],
        ))
    })?;
    let mut out = Vec::new();
    for row in rows {
        let (id, body, stamps): (String, Vec<u8>, [String; 4]) = row?;
        let bound = annotation_bound(kind, record_id, &stamps);
        let plain = crypto::open(
            &session.record_key,
            db.store_kid,
            &annotation_place(&id, &bound),
            &body,
        )?;
        out.push(Annotation {
            text: String::from_utf8(plain.to_vec()).map_err(|_| Error::Integrity {
                kind: RecordKind::Annotation,
                id: id.clone(),
            })?,
            id,
            kind,
            record_id: record_id.to_owned(),
            stamp: Stamp {
                created_at: parse_time(&stamps[0])?,
                created_by: stamps[1].clone(),
                updated_at: parse_time(&stamps[2])?,
                updated_by: stamps[3].clone(),
            },
        });
    }
    Ok(out)
}

fn annotation_bound(kind: RecordKind, record_id: &str, stamps: &[String; 4]) -> String {
    format!(
        "{}\u{1f}{record_id}\u{1f}{}",
        kind.as_str(),
        stamps.join("\u{1f}")
    )
}

fn annotation_place<'a>(id: &'a str, bound: &'a str) -> Place<'a> {
    Place {
        table: "annotations",
        kind: RecordKind::Annotation,
        id,
        bound,
    }
}
