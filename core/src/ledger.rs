//! The audit trail as stored: the chain's head, appending entries inside the transaction of the
//! change they describe (one at a time or in a batch), sealed field names, the last write of
//! each record, and the device's signing identity. Below the records (`db` seals each row with
//! the entry that wrote it); `trail` reads and reports on it.

use chrono::{DateTime, SecondsFormat, Utc};
use ring::signature::{Ed25519KeyPair, KeyPair};
use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};

use crate::access::UserRole;
use crate::audit::{self, AuditAction, AuditEntry};
use crate::crypto::{self, Place};
use crate::domain::Timestamp;
use crate::error::{ChainBreak, Error, RecordKind, Result};
use crate::session::Session;

/// A write transaction on a shared connection (the session borrows the store at the same time).
pub(crate) fn immediate(conn: &Connection) -> Result<rusqlite::Transaction<'_>> {
    Ok(rusqlite::Transaction::new_unchecked(
        conn,
        TransactionBehavior::Immediate,
    )?)
}

pub(crate) fn time_text(t: &Timestamp) -> String {
    t.to_rfc3339_opts(SecondsFormat::Micros, true)
}

pub(crate) fn parse_time(s: &str) -> Result<Timestamp> {
    DateTime::parse_from_rfc3339(s)
        .map(|d| d.with_timezone(&Utc))
        .map_err(|_| Error::Integrity {
            kind: RecordKind::Audit,
            id: s.to_owned(),
        })
}

pub(crate) fn read_head(conn: &Connection) -> Result<Option<Vec<u8>>> {
    Ok(conn
        .prepare_cached("SELECT value FROM meta WHERE name = 'audit_head'")?
        .query_row([], |r| r.get(0))
        .optional()?)
}

/// How an annotation's id is written in a trail entry's fields.
pub(crate) const ANNOTATION_FIELD: &str = "annotation=";

/// A new store's head: no entries yet, but a head all the same, so that deleting the whole trail
/// (entries, head and checkpoints) can never pass for a store nobody has used.
pub(crate) fn start(conn: &Connection, store_id: &str, session: &Session) -> Result<()> {
    let genesis = audit::genesis(&session.audit_key, store_id);
    conn.prepare_cached("INSERT INTO meta (name, value) VALUES ('audit_head', ?1)")?
        .execute([audit::encode_head(&session.audit_key, 0, &genesis)])?;
    Ok(())
}

/// The sequence number the next entry will take. Read inside the writing transaction: a record
/// written with an entry carries this number (its version) in its seal.
pub(crate) fn next_seq(conn: &Connection) -> Result<i64> {
    match read_head(conn)? {
        None => Ok(1),
        Some(bytes) => {
            audit::decode_head(&bytes)
                .map(|(seq, _, _)| seq + 1)
                .ok_or(Error::Integrity {
                    kind: RecordKind::Audit,
                    id: "head".into(),
                })
        }
    }
}

/// Changed-field names are sealed: "survivor_status" or "safe_to_contact" in plain text would
/// tell what changed. Padded so their length does not tell either.
const FIELDS_PAD: usize = 256;

pub(crate) fn fields_place(seq: &str) -> Place<'_> {
    Place {
        table: "audit_log",
        kind: RecordKind::Audit,
        id: seq,
        bound: "fields",
    }
}

pub(crate) fn seal_fields(
    session: &Session,
    store_id: &str,
    seq: i64,
    fields: &[String],
) -> Result<crypto::Sealed> {
    let mut json = serde_json::to_vec(fields).map_err(|_| Error::Crypto)?;
    json.resize(json.len().div_ceil(FIELDS_PAD) * FIELDS_PAD, b' ');
    let kid = crate::crypto::key_id_of(RecordKind::Canary, store_id)?;
    crypto::seal(
        &session.record_key,
        kid,
        &fields_place(&seq.to_string()),
        &json,
    )
}

/// The field names of an entry: sealed, or plain text in entries written before they were
/// sealed. One that does not open gives a name no entry has, so the entry fails its MAC.
pub(crate) fn open_fields(
    session: &Session,
    store_id: &str,
    seq: i64,
    plain: &str,
    sealed: Option<&[u8]>,
) -> Vec<String> {
    let Some(sealed) = sealed else {
        return split_fields(plain);
    };
    let opened = crate::crypto::key_id_of(RecordKind::Canary, store_id).and_then(|kid| {
        crypto::open(
            &session.record_key,
            kid,
            &fields_place(&seq.to_string()),
            sealed,
        )
    });
    match opened.ok().and_then(|p| serde_json::from_slice(&p).ok()) {
        Some(fields) if plain.is_empty() => fields,
        _ => vec!["\u{0}unreadable".into()],
    }
}

pub(crate) fn split_fields(fields: &str) -> Vec<String> {
    if fields.is_empty() {
        Vec::new()
    } else {
        fields.split(',').map(str::to_owned).collect()
    }
}

/// Both read the index `audit_writes` only (a test checks the plans).
pub(crate) const LAST_WRITE_SQL: &str = "SELECT seq, action FROM audit_log \
     WHERE kind = ?1 AND record_id = ?2 AND action IN ('create', 'update', 'delete') \
     ORDER BY seq DESC LIMIT 1";
pub(crate) const LAST_WRITES_OF_SQL: &str = "SELECT record_id, seq, action FROM audit_log \
     WHERE kind = ?1 AND action IN ('create', 'update', 'delete')";

/// The last entry that wrote this record (created, updated or deleted it), if any.
pub(crate) fn last_write(
    conn: &Connection,
    kind: RecordKind,
    record_id: &str,
) -> Result<Option<(i64, AuditAction)>> {
    let row: Option<(i64, String)> = conn
        .prepare_cached(LAST_WRITE_SQL)?
        .query_row(params![kind.as_str(), record_id], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })
        .optional()?;
    Ok(row.and_then(|(seq, a)| AuditAction::parse(&a).map(|a| (seq, a))))
}

/// `last_write` of every record of `kind` at once, in one pass over the trail's index.
pub(crate) fn last_writes_of(
    conn: &Connection,
    kind: RecordKind,
) -> Result<std::collections::HashMap<String, (i64, AuditAction)>> {
    last_writes_keyed(conn, kind, |id| Some(id.to_owned()))
}

/// `last_writes_of`, each record's id made a key by `key` (entries it refuses are left out).
pub(crate) fn last_writes_keyed<K: std::hash::Hash + Eq>(
    conn: &Connection,
    kind: RecordKind,
    key: impl Fn(&str) -> Option<K>,
) -> Result<std::collections::HashMap<K, (i64, AuditAction)>> {
    let mut stmt = conn.prepare_cached(LAST_WRITES_OF_SQL)?;
    let mut rows = stmt.query([kind.as_str()])?;
    let mut last = std::collections::HashMap::new();
    while let Some(r) = rows.next()? {
        let (id, seq, action) = (r.get_ref(0)?, r.get(1)?, r.get_ref(2)?);
        let id = id.as_str().map_err(rusqlite::Error::from)?;
        // An unknown action is skipped, as `last_write` skips it.
        let action = action.as_str().map_err(rusqlite::Error::from)?;
        let Some(action) = AuditAction::parse(action) else {
            continue;
        };
        let Some(id) = key(id) else {
            continue;
        };
        let newer = match last.get(&id) {
            Some(&(s, _)) => seq > s,
            None => true,
        };
        if newer {
            last.insert(id, (seq, action));
        }
    }
    Ok(last)
}

/// The trail as read once, whether it verifies, and the record rows that do not match it.
pub(crate) struct CheckedTrail {
    pub(crate) entries: Vec<(AuditEntry, Vec<u8>)>,
    pub(crate) verdict: std::result::Result<i64, ChainBreak>,
    pub(crate) damaged: Vec<crate::error::Damaged>,
}

/// How an erasure names each record it took with the member ("consent=<id>").
pub(crate) fn erased_field(kind: RecordKind, id: &str) -> String {
    format!("{}={id}", kind.as_str())
}

/// The last write of every record the trail knows: its entry and whether it was a deletion.
/// An erasure's entry names the member's records it deleted with her.
pub(crate) fn last_writes(
    entries: &[(AuditEntry, Vec<u8>)],
) -> std::collections::HashMap<(RecordKind, String), (i64, AuditAction)> {
    let mut last = std::collections::HashMap::new();
    for (e, _) in entries {
        let Some(kind) = e.kind.filter(|k| k.is_record()) else {
            continue;
        };
        if !matches!(
            e.action,
            AuditAction::Create | AuditAction::Update | AuditAction::Delete
        ) {
            continue;
        }
        last.insert((kind, e.record_id.clone()), (e.seq, e.action));
        if e.action == AuditAction::Delete && kind == RecordKind::Member {
            for (child, id) in e.fields.iter().filter_map(|f| f.split_once('=')) {
                if let Some(child) = RecordKind::parse(child).filter(|k| k.is_record()) {
                    last.insert((child, id.to_owned()), (e.seq, AuditAction::Delete));
                }
            }
        }
    }
    last
}

/// Appends one entry and moves the head, on `conn` (the caller's transaction). Returns the
/// entry's sequence number.
pub(crate) fn append(
    conn: &Connection,
    store_id: &str,
    session: &Session,
    entry: NewEntry<'_>,
) -> Result<i64> {
    let mut batch = Batch::start(conn, session, store_id)?;
    let seq = batch.append(conn, session, store_id, entry)?;
    batch.finish(conn, session)?;
    Ok(seq)
}

/// Entries appended in one transaction: the head and the last entry's time are read once, and
/// the head is written once, at [`Batch::finish`] (an import of a thousand members pays for
/// one head, not a thousand). Used inside the caller's transaction only: entries appended
/// without `finish` leave a head that does not match them, which verification reports.
pub(crate) struct Batch {
    last: i64,
    prev: audit::Mac,
    floor: Option<DateTime<Utc>>,
    appended: bool,
}

impl Batch {
    pub(crate) fn start(conn: &Connection, session: &Session, store_id: &str) -> Result<Batch> {
        let (last, prev) = match read_head(conn)? {
            None => (0, audit::genesis(&session.audit_key, store_id)),
            Some(bytes) => {
                let (seq, mac, _) = audit::decode_head(&bytes).ok_or(Error::Integrity {
                    kind: RecordKind::Audit,
                    id: "head".into(),
                })?;
                (seq, mac)
            }
        };
        let previous: Option<String> = conn
            .prepare_cached("SELECT at FROM audit_log ORDER BY seq DESC LIMIT 1")?
            .query_row([], |r| r.get(0))
            .optional()?;
        let floor = previous.as_deref().map(parse_time).transpose()?;
        Ok(Batch {
            last,
            prev,
            floor,
            appended: false,
        })
    }

    /// The sequence number the next entry will take (a record written with it names it).
    pub(crate) fn next_seq(&self) -> i64 {
        self.last + 1
    }

    pub(crate) fn append(
        &mut self,
        conn: &Connection,
        session: &Session,
        store_id: &str,
        entry: NewEntry<'_>,
    ) -> Result<i64> {
        // Times in the trail never go backwards. A clock set back (or a time given from outside
        // the keys, such as a failed unlock noted while locked) takes the previous entry's
        // time, and the entry says so.
        let mut at = entry.at.unwrap_or_else(Utc::now);
        let mut fields = entry.fields;
        if let Some(previous) = self.floor
            && at < previous
        {
            at = previous;
            fields.push("clock_set_back".into());
        }
        let e = AuditEntry {
            seq: self.last + 1,
            at,
            user_id: entry.user_id.unwrap_or(&session.user_id).to_owned(),
            role: entry.role.unwrap_or(Some(session.role)),
            device_id: session.device_id.clone(),
            action: entry.action,
            kind: entry.kind,
            record_id: entry.record_id.to_owned(),
            fields,
        };
        let mac = audit::chain_mac(&session.audit_key, &self.prev, &e);
        let sealed_fields = seal_fields(session, store_id, e.seq, &e.fields)?;
        conn.prepare_cached(
            "INSERT INTO audit_log (seq, at, user_id, role, device_id, action, kind, record_id, \
             fields, mac, fields_sealed) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, '', ?9, ?10)",
        )?
        .execute(params![
            e.seq,
            time_text(&e.at),
            e.user_id,
            e.role.map(|r| r.as_str()).unwrap_or(""),
            e.device_id,
            e.action.as_str(),
            e.kind.map(|k| k.as_str()).unwrap_or(""),
            e.record_id,
            mac.to_vec(),
            sealed_fields
        ])?;
        self.last = e.seq;
        self.prev = mac;
        self.floor = Some(e.at);
        self.appended = true;
        Ok(e.seq)
    }

    /// Writes the head over the last entry appended.
    pub(crate) fn finish(self, conn: &Connection, session: &Session) -> Result<()> {
        if !self.appended {
            return Ok(());
        }
        // An upsert rewrites the head in place; INSERT OR REPLACE would delete and re-insert
        // it, which under secure_delete also zero-fills the freed cell on every entry.
        conn.prepare_cached(
            "INSERT INTO meta (name, value) VALUES ('audit_head', ?1) \
             ON CONFLICT (name) DO UPDATE SET value = excluded.value",
        )?
        .execute([audit::encode_head(
            &session.audit_key,
            self.last,
            &self.prev,
        )])?;
        Ok(())
    }
}

/// What to append; `None` fields default to the unlocked user, now.
pub(crate) struct NewEntry<'a> {
    pub action: AuditAction,
    pub kind: Option<RecordKind>,
    pub record_id: &'a str,
    pub fields: Vec<String>,
    pub at: Option<Timestamp>,
    pub user_id: Option<&'a str>,
    pub role: Option<Option<UserRole>>,
}

impl<'a> NewEntry<'a> {
    pub(crate) fn new(action: AuditAction, kind: Option<RecordKind>, record_id: &'a str) -> Self {
        Self {
            action,
            kind,
            record_id,
            fields: Vec::new(),
            at: None,
            user_id: None,
            role: None,
        }
    }
}

/// A failed unlock, noted while the store is locked (no audit key yet). It joins the chain at the
/// next successful unlock; until then it is not authenticated.
pub(crate) fn note_failed_unlock(conn: &Connection, user_id: &str) -> Result<()> {
    conn.execute(
        "INSERT INTO audit_pending (at, user_id, action) VALUES (?1, ?2, ?3)",
        params![
            time_text(&Utc::now()),
            user_id,
            AuditAction::UnlockFailed.as_str()
        ],
    )?;
    Ok(())
}

/// An entry as read, before its time is parsed and its sealed field names are opened.
pub(crate) struct RawEntry {
    pub(crate) entry: AuditEntry,
    pub(crate) mac: Vec<u8>,
    pub(crate) at: String,
    pub(crate) fields: String,
    pub(crate) fields_sealed: Option<Vec<u8>>,
}

pub(crate) fn entry_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<RawEntry> {
    let role: String = r.get(3)?;
    let kind: String = r.get(6)?;
    let action: String = r.get(5)?;
    let at: String = r.get(1)?;
    Ok(RawEntry {
        entry: AuditEntry {
            seq: r.get(0)?,
            at: Utc::now(),
            user_id: r.get(2)?,
            role: UserRole::parse(&role),
            device_id: r.get(4)?,
            // Unknown text makes the MAC check fail below, so a placeholder is safe here.
            action: AuditAction::parse(&action).unwrap_or(AuditAction::Wipe),
            kind: RecordKind::parse(&kind),
            record_id: r.get(7)?,
            fields: Vec::new(),
        },
        mac: r.get(9)?,
        at,
        fields: r.get(8)?,
        fields_sealed: r.get(10)?,
    })
}

/// Creates the device's identity (id and Ed25519 key pair) if the store has none yet: at
/// creation, or on the first unlock of a store from before the audit trail.
pub(crate) fn ensure_device_identity(
    conn: &Connection,
    session_record_key: &crypto::SecretKey,
    store_kid: crypto::KeyId,
) -> Result<String> {
    if let Some(id) = conn
        .query_row("SELECT value FROM meta WHERE name = 'device_id'", [], |r| {
            r.get::<_, Vec<u8>>(0)
        })
        .optional()?
    {
        return String::from_utf8(id).map_err(|_| Error::NotAStore);
    }
    let rng = ring::rand::SystemRandom::new();
    let pkcs8 = Ed25519KeyPair::generate_pkcs8(&rng).map_err(|_| Error::Crypto)?;
    let pair = Ed25519KeyPair::from_pkcs8(pkcs8.as_ref()).map_err(|_| Error::Crypto)?;
    let sealed = crypto::seal(
        session_record_key,
        store_kid,
        &signing_key_place(),
        pkcs8.as_ref(),
    )?;
    let device_id = uuid::Uuid::new_v4().to_string();
    let tx = conn.unchecked_transaction()?;
    let meta = "INSERT INTO meta (name, value) VALUES (?1, ?2)";
    tx.execute(meta, params!["device_id", device_id.as_bytes()])?;
    tx.execute(
        meta,
        params!["device_public_key", pair.public_key().as_ref()],
    )?;
    tx.execute(meta, params!["device_signing_key", sealed])?;
    tx.commit()?;
    Ok(device_id)
}

pub(crate) fn signing_key_place() -> Place<'static> {
    Place {
        table: "meta",
        kind: RecordKind::DeviceKey,
        id: "device_signing_key",
        bound: "",
    }
}
