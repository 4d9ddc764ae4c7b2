//! The sealed rows: the six record tables, how a row is bound into its seal (its plaintext
//! columns, its stamps and the trail entry that wrote it), and the one place that seals a record
//! into its row and opens it again, with its trail entry in the same transaction. Also the
//! users' key slots and profiles, and the places every other sealed value is bound to.
//! Features read and write records only through here.

use std::path::Path;

use chrono::{DateTime, NaiveDate, SecondsFormat, Utc};
use rusqlite::config::DbConfig;
use rusqlite::{Connection, OpenFlags, TransactionBehavior};
use serde::{Deserialize, Serialize, de::DeserializeOwned};
use zeroize::Zeroizing;

use crate::access::Permission;
use crate::audit::{self, AuditAction};
use crate::body;
use crate::crypto::{self, KeyId, Place, SecretKey, uuid_of};
use crate::domain::*;
use crate::error::{DamageReason, Damaged, Error, RecordKind, Result};
use crate::index::RowDigest;
use crate::ledger::{self, NewEntry};
use crate::session::Session;

/// The open store file as records see it: its connection and the store's ids. Copied freely.
#[derive(Clone, Copy)]
pub(crate) struct Db<'a> {
    pub(crate) conn: &'a Connection,
    pub(crate) store_id: &'a str,
    pub(crate) store_kid: KeyId,
}

// ---- table descriptions -----------------------------------------------------------------

/// A table of sealed records: its plaintext owner column (foreign key) and state column.
pub(crate) struct Table {
    pub(crate) name: &'static str,
    pub(crate) kind: RecordKind,
    pub(crate) owner: Option<&'static str>,
    pub(crate) extra: Option<&'static str>,
    /// Sealed under the member's own key (so erasing that key erases the record).
    pub(crate) member_owned: bool,
    /// The smallest stored body of this kind (`body::bucket`): about its usual size, so that most
    /// records of a kind have one length.
    pub(crate) floor: usize,
}

pub(crate) const CLUBS: Table = Table {
    name: "clubs",
    kind: RecordKind::Club,
    owner: None,
    extra: None,
    member_owned: false,
    floor: 512,
};
pub(crate) const MEMBERS: Table = Table {
    name: "members",
    kind: RecordKind::Member,
    owner: Some("club_id"),
    extra: None,
    member_owned: true,
    floor: 512,
};
pub(crate) const CONSENTS: Table = Table {
    name: "consents",
    kind: RecordKind::Consent,
    owner: Some("member_id"),
    extra: None,
    member_owned: true,
    floor: 512,
};
pub(crate) const MEETINGS: Table = Table {
    name: "meetings",
    kind: RecordKind::Meeting,
    owner: Some("club_id"),
    extra: Some("meeting_date"),
    member_owned: false,
    floor: 1024,
};
pub(crate) const REFERRALS: Table = Table {
    name: "referrals",
    kind: RecordKind::Referral,
    owner: Some("member_id"),
    extra: Some("state"),
    member_owned: true,
    floor: 2048,
};
pub(crate) const LIVELIHOOD: Table = Table {
    name: "livelihood",
    kind: RecordKind::Livelihood,
    owner: Some("member_id"),
    extra: None,
    member_owned: true,
    floor: 1024,
};

pub(crate) const RECORD_TABLES: [&Table; 6] = [
    &CLUBS,
    &MEMBERS,
    &CONSENTS,
    &MEETINGS,
    &REFERRALS,
    &LIVELIHOOD,
];

/// That a record an auditor may annotate exists: a row of one of the six record tables, or a
/// user. Any other kind has nothing to annotate.
pub(crate) fn require_annotatable(conn: &Connection, kind: RecordKind, id: &str) -> Result<()> {
    if let Some(table) = RECORD_TABLES.iter().find(|t| t.kind == kind) {
        return table.require(conn, id);
    }
    let found = kind == RecordKind::User
        && conn
            .prepare_cached("SELECT 1 FROM users WHERE id = ?1")?
            .exists([id])?;
    if found {
        Ok(())
    } else {
        Err(Error::NotFound {
            kind,
            id: id.to_owned(),
        })
    }
}

/// A row as stored: plaintext columns as their exact text (they are bound into the AAD).
pub(crate) struct RawRow {
    pub(crate) id: String,
    pub(crate) owner: String,
    pub(crate) extra: String,
    pub(crate) body: Vec<u8>,
    pub(crate) stamps: [String; 4],
    /// The sequence number of the trail entry that wrote this row; 0 for a row written before
    /// versions existed (resealed at the first unlock after the upgrade).
    pub(crate) version: i64,
}

/// A row's digest from its columns as `Table::select_sql` lists them: id, owner, extra, the four
/// stamps; then its version and sealed body.
fn digest_of(columns: [&[u8]; 7], version: i64, body: &[u8]) -> RowDigest {
    let mut ctx = ring::digest::Context::new(&ring::digest::SHA256);
    for part in columns.into_iter().chain([body]) {
        ctx.update(&(part.len() as u64).to_le_bytes());
        ctx.update(part);
    }
    ctx.update(&version.to_le_bytes());
    let mut out = [0; crate::index::DIGEST_LEN];
    out.copy_from_slice(&ctx.finish().as_ref()[..crate::index::DIGEST_LEN]);
    out
}

impl RawRow {
    /// This row's digest, its sealed body being `body` (the row read, or the seal just written).
    pub(crate) fn digest(&self, body: &[u8]) -> RowDigest {
        let s = &self.stamps;
        let columns = [
            &self.id,
            &self.owner,
            &self.extra,
            &s[0],
            &s[1],
            &s[2],
            &s[3],
        ];
        digest_of(columns.map(|c| c.as_bytes()), self.version, body)
    }

    pub(crate) fn bound(&self) -> String {
        let mut bound = format!(
            "{}\u{1f}{}\u{1f}{}",
            self.owner,
            self.extra,
            self.stamps.join("\u{1f}")
        );
        // The version is sealed with the row, so an older copy cannot be relabelled as newer.
        if self.version != 0 {
            bound.push_str(&format!("\u{1f}v{}", self.version));
        }
        bound
    }

    pub(crate) fn stamp(&self, kind: RecordKind) -> Result<Stamp> {
        let parse = |s: &str| {
            DateTime::parse_from_rfc3339(s)
                .map(|d| d.with_timezone(&Utc))
                .map_err(|_| Error::Integrity {
                    kind,
                    id: self.id.clone(),
                })
        };
        Ok(Stamp {
            created_at: parse(&self.stamps[0])?,
            created_by: self.stamps[1].clone(),
            updated_at: parse(&self.stamps[2])?,
            updated_by: self.stamps[3].clone(),
        })
    }
}

impl Table {
    pub(crate) fn select_sql(&self, filter: &str) -> String {
        format!(
            "SELECT id, {}, {}, body, created_at, created_by, updated_at, updated_by, version \
             FROM {} {}",
            self.owner.unwrap_or("''"),
            self.extra.unwrap_or("''"),
            self.name,
            filter
        )
    }

    pub(crate) fn read(&self, conn: &Connection, filter: &str, arg: &str) -> Result<Vec<RawRow>> {
        let mut rows = Vec::new();
        self.read_each(conn, filter, arg, |row| {
            rows.push(row);
            Ok(())
        })?;
        Ok(rows)
    }

    /// `read` one row at a time, none kept: an unlock goes through every member this way, so
    /// that 50,000 sealed bodies are never in memory at once.
    pub(crate) fn read_each(
        &self,
        conn: &Connection,
        filter: &str,
        arg: &str,
        mut each: impl FnMut(RawRow) -> Result<()>,
    ) -> Result<()> {
        let mut stmt = conn.prepare_cached(&self.select_sql(filter))?;
        let mut rows = stmt.query([arg])?;
        while let Some(r) = rows.next()? {
            each(RawRow {
                id: r.get(0)?,
                owner: r.get(1)?,
                extra: r.get(2)?,
                body: r.get(3)?,
                stamps: [r.get(4)?, r.get(5)?, r.get(6)?, r.get(7)?],
                version: r.get(8)?,
            })?;
        }
        Ok(())
    }

    /// Every row's id and digest (`RawRow::digest`), read in place: nothing is copied out. A row
    /// whose columns are not of their types (edited in the file) comes as `None`.
    pub(crate) fn each_digest(
        &self,
        conn: &Connection,
        mut each: impl FnMut(Option<(&str, RowDigest, i64)>),
    ) -> Result<()> {
        let mut stmt = conn.prepare_cached(&self.select_sql(""))?;
        let mut rows = stmt.query([])?;
        while let Some(r) = rows.next()? {
            let text = |i: usize| r.get_ref(i).ok()?.as_str().ok();
            let pinned = (|| {
                let columns = [0, 1, 2, 4, 5, 6, 7].map(text);
                let [id, owner, extra, s0, s1, s2, s3] = columns;
                let body = r.get_ref(3).ok()?.as_blob().ok()?;
                let version = r.get_ref(8).ok()?.as_i64().ok()?;
                let id = id?;
                let columns = [id, owner?, extra?, s0?, s1?, s2?, s3?].map(str::as_bytes);
                Some((id, digest_of(columns, version, body), version))
            })();
            each(pinned);
        }
        Ok(())
    }

    /// Every row's id (a UUID) and digest, in the order of ids, each row the version the trail
    /// last wrote of it (read through `open_reader`'s connection, on a second thread); `None`
    /// if a row cannot be pinned.
    pub(crate) fn digests_on(&self, conn: &Connection) -> Result<Option<Vec<(u128, RowDigest)>>> {
        let sql = format!("SELECT count(*) FROM {}", self.name);
        let count: i64 = conn.query_row(&sql, [], |r| r.get(0))?;
        let trail = ledger::last_writes_keyed(conn, self.kind, uuid_of)?;
        let mut out = Some(Vec::with_capacity(
            usize::try_from(count).unwrap_or(0).min(1 << 20),
        ));
        self.each_digest(conn, |row| {
            // A row is taken as the full path takes it: the version its trail last wrote.
            let pinned = row.and_then(|(id, digest, version)| {
                let id = uuid_of(id)?;
                judge(trail.get(&id).copied(), false, version)
                    .is_none()
                    .then_some((id, digest))
            });
            match (pinned, out.as_mut()) {
                (Some(pin), Some(all)) => all.push(pin),
                _ => out = None,
            }
        })?;
        drop(trail);
        Ok(out.map(|mut all| {
            all.sort_unstable();
            all
        }))
    }

    pub(crate) fn read_one(&self, conn: &Connection, id: &str) -> Result<RawRow> {
        self.read(conn, "WHERE id = ?1", id)?
            .pop()
            .ok_or_else(|| Error::NotFound {
                kind: self.kind,
                id: id.to_owned(),
            })
    }

    /// That the row exists, without reading its body (a check before writing a child row).
    pub(crate) fn require(&self, conn: &Connection, id: &str) -> Result<()> {
        let found = conn
            .prepare_cached(&format!("SELECT 1 FROM {} WHERE id = ?1", self.name))?
            .exists([id])?;
        if found {
            Ok(())
        } else {
            Err(Error::NotFound {
                kind: self.kind,
                id: id.to_owned(),
            })
        }
    }

    pub(crate) fn write(
        &self,
        conn: &Connection,
        row: &RawRow,
        body: &crypto::Sealed,
    ) -> Result<()> {
        let mut cols = vec!["id"];
        let mut vals: Vec<&dyn rusqlite::ToSql> = vec![&row.id];
        if let Some(o) = self.owner {
            cols.push(o);
            vals.push(&row.owner);
        }
        if let Some(e) = self.extra {
            cols.push(e);
            vals.push(&row.extra);
        }
        cols.extend([
            "body",
            "created_at",
            "created_by",
            "updated_at",
            "updated_by",
            "version",
        ]);
        vals.push(body);
        for s in &row.stamps {
            vals.push(s);
        }
        vals.push(&row.version);
        let marks: Vec<String> = (1..=cols.len()).map(|i| format!("?{i}")).collect();
        let sql = format!(
            "INSERT OR REPLACE INTO {} ({}) VALUES ({})",
            self.name,
            cols.join(", "),
            marks.join(", ")
        );
        conn.prepare_cached(&sql)?.execute(vals.as_slice())?;
        Ok(())
    }
}

pub(crate) fn now_text() -> String {
    Utc::now().to_rfc3339_opts(SecondsFormat::Micros, true)
}

pub(crate) fn today() -> NaiveDate {
    Utc::now().date_naive()
}

pub(crate) fn new_id() -> Id {
    uuid::Uuid::new_v4().to_string()
}

/// Serialises a small sealed value that is not a record (a user's profile, the duress decoy, the
/// enrollment), padded with trailing spaces (valid JSON whitespace) to a multiple of `PAD`.
/// Records go through `body::encode`, whose lengths depend on free text only.
pub(crate) fn to_json<T: Serialize>(v: &T) -> Result<Zeroizing<Vec<u8>>> {
    const PAD: usize = 64;
    let mut json = Zeroizing::new(serde_json::to_vec(v).map_err(|_| Error::Crypto)?);
    let padded = json.len().div_ceil(PAD) * PAD;
    json.resize(padded, b' ');
    Ok(json)
}

pub(crate) fn open_pragmas(conn: &Connection) -> Result<()> {
    // WAL for concurrent reads while writing; synchronous=FULL so that a commit the user was told
    // about survives power loss (NORMAL may lose the last commits in WAL mode).
    // secure_delete overwrites freed content; temp_store=MEMORY keeps temp tables off disk.
    let mode: String = conn.query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))?;
    if !mode.eq_ignore_ascii_case("wal") {
        return Err(Error::NotAStore);
    }
    conn.execute_batch(
        "PRAGMA synchronous = FULL;
         PRAGMA secure_delete = ON;
         PRAGMA foreign_keys = ON;
         PRAGMA temp_store = MEMORY;
         PRAGMA busy_timeout = 5000;",
    )?;
    // Plans that never depend on bound values: without this SQLite marks a cached statement
    // with an ORDER BY over a bound index prefix (the trail's "last write of this record") for
    // re-preparing on every use, which was most of the time an unlock spent per member.
    conn.set_db_config(DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG, true)?;
    Ok(())
}

pub(crate) fn not_a_store(e: rusqlite::Error) -> Error {
    match e.sqlite_error_code() {
        Some(rusqlite::ErrorCode::NotADatabase) | Some(rusqlite::ErrorCode::DatabaseCorrupt) => {
            Error::NotAStore
        }
        _ => Error::Storage(e),
    }
}

pub(crate) const CANARY: &[u8] = b"chungtay store canary v1";

/// The trail entry that says the rows of an older store were resealed with their versions.
pub(crate) const RESEAL_MARK: &str = "record_versions";

impl Db<'_> {
    pub(crate) fn key_for<'s>(
        &self,
        session: &'s Session,
        table: &Table,
        row_id: &str,
        owner: &str,
    ) -> Result<(&'s SecretKey, KeyId)> {
        if !table.member_owned {
            return Ok((&session.record_key, self.store_kid));
        }
        let member_id = if table.kind == RecordKind::Member {
            row_id
        } else {
            owner
        };
        session.member_key(table.kind, row_id, member_id)
    }

    /// Seals `body` and inserts or replaces the row, keeping `created_*` of `old`.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn write_record<T: Serialize + DeserializeOwned>(
        &self,
        session: &Session,
        table: &Table,
        id: &str,
        owner: &str,
        extra: &str,
        body: &T,
        old: Option<&RawRow>,
    ) -> Result<Stamp> {
        self.write_record_with(session, table, id, owner, extra, body, old, |_| Ok(()))
    }

    #[allow(clippy::too_many_arguments)]
    pub(crate) fn write_record_with<T: Serialize + DeserializeOwned>(
        &self,
        session: &Session,
        table: &Table,
        id: &str,
        owner: &str,
        extra: &str,
        body: &T,
        old: Option<&RawRow>,
        also: impl FnOnce(&Connection) -> Result<()>,
    ) -> Result<Stamp> {
        self.write_pinned(session, table, id, owner, extra, body, old, also)
            .map(|(stamp, _)| stamp)
    }

    /// `write_record_with`, also giving the row's digest (the member index keeps it).
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn write_pinned<T: Serialize + DeserializeOwned>(
        &self,
        session: &Session,
        table: &Table,
        id: &str,
        owner: &str,
        extra: &str,
        body: &T,
        old: Option<&RawRow>,
        also: impl FnOnce(&Connection) -> Result<()>,
    ) -> Result<(Stamp, RowDigest)> {
        let session = session.require(Permission::WriteRecords)?;
        let now = now_text();
        let user = session.user_id.clone();
        let stamps = match old {
            Some(o) => [o.stamps[0].clone(), o.stamps[1].clone(), now, user],
            None => [now.clone(), user.clone(), now, user],
        };
        let (key, kid) = self.key_for(session, table, id, owner)?;
        let plain = body::encode(body, table.floor)?;
        // The trail names what changed, never the values. Both sides in today's encoding, so an
        // old body (enums by name) does not show every field as changed.
        let (action, fields) = match old {
            None => (AuditAction::Create, Vec::new()),
            Some(o) => {
                let before: T = self.open_record(session, table, o)?.0;
                let before = body::encode(&before, 1)?;
                let as_value =
                    |plain: &[u8]| body::decode::<serde_json::Value>(plain).ok_or(Error::Crypto);
                let (before, after) = (as_value(&before)?, as_value(&plain)?);
                let mut fields = audit::changed_fields(&before, &after);
                if o.extra != extra {
                    fields.extend(table.extra.map(str::to_owned));
                }
                (AuditAction::Update, fields)
            }
        };
        let tx = rusqlite::Transaction::new_unchecked(self.conn, TransactionBehavior::Immediate)?;
        // The row's version is the entry written with it, read inside this transaction.
        let raw = RawRow {
            id: id.to_owned(),
            owner: owner.to_owned(),
            extra: extra.to_owned(),
            body: Vec::new(),
            stamps,
            version: ledger::next_seq(&tx)?,
        };
        let sealed = crypto::seal(key, kid, &place(table, id, &raw.bound()), &plain)?;
        table.write(&tx, &raw, &sealed)?;
        also(&tx)?;
        let mut entry = NewEntry::new(action, Some(table.kind), id);
        entry.fields = fields;
        let seq = ledger::append(&tx, self.store_id, session, entry)?;
        check_written(seq, &raw)?;
        tx.commit()?;
        Ok((raw.stamp(table.kind)?, raw.digest(sealed.as_bytes())))
    }

    pub(crate) fn open_record<T: DeserializeOwned>(
        &self,
        session: &Session,
        table: &Table,
        raw: &RawRow,
    ) -> Result<(T, Stamp)> {
        let session = session.require(Permission::ReadRecords)?;
        let (key, kid) = self.key_for(session, table, &raw.id, &raw.owner)?;
        let plain = crypto::open(key, kid, &place(table, &raw.id, &raw.bound()), &raw.body)?;
        check_current(self.conn, table, raw)?;
        let value = body::decode(&plain).ok_or_else(|| Error::Integrity {
            kind: table.kind,
            id: raw.id.clone(),
        })?;
        Ok((value, raw.stamp(table.kind)?))
    }

    /// Opens each row of a list. One that fails its integrity check is set aside (it shows in
    /// `damaged_records`) so that the rest of the list still shows.
    pub(crate) fn open_each<T>(
        &self,
        session: &Session,
        table: &Table,
        rows: Vec<RawRow>,
        open: impl Fn(&RawRow) -> Result<T>,
    ) -> Result<Vec<T>> {
        let mut out = Vec::with_capacity(rows.len());
        for raw in &rows {
            match open(raw) {
                Ok(v) => out.push(v),
                Err(Error::Integrity { kind, id }) => {
                    let reason =
                        trail_mismatch(self.conn, table, raw)?.unwrap_or(DamageReason::Unreadable);
                    session.note_damaged(&[Damaged {
                        kind,
                        id,
                        owner: raw.owner.clone(),
                        reason,
                    }]);
                }
                Err(e) => return Err(e),
            }
        }
        Ok(out)
    }

    /// Notes a read of a sensitive record in the trail.
    pub(crate) fn note_read(
        &self,
        session: &Session,
        kind: RecordKind,
        id: &str,
        fields: Vec<String>,
    ) -> Result<()> {
        self.note(session, AuditAction::Read, kind, id, fields)
    }

    /// Notes in the trail something done to a record that writes no row: a read, or an export
    /// (a club's data left the phone as a file; `fields` say which).
    pub(crate) fn note(
        &self,
        session: &Session,
        action: AuditAction,
        kind: RecordKind,
        id: &str,
        fields: Vec<String>,
    ) -> Result<()> {
        let tx = rusqlite::Transaction::new_unchecked(self.conn, TransactionBehavior::Immediate)?;
        let mut entry = NewEntry::new(action, Some(kind), id);
        entry.fields = fields;
        ledger::append(&tx, self.store_id, session, entry)?;
        tx.commit()?;
        Ok(())
    }
}

pub(crate) fn open_member(conn: &Connection, session: &Session, raw: &RawRow) -> Result<Member> {
    let last = ledger::last_write(conn, RecordKind::Member, &raw.id)?;
    open_member_against(session, raw, last)
}

/// A member row opened, and checked against her last write in the trail, read by the caller (an
/// unlock reads every member's in one pass: one query per member was most of its time).
pub(crate) fn open_member_against(
    session: &Session,
    raw: &RawRow,
    last: Option<(i64, AuditAction)>,
) -> Result<Member> {
    let (key, kid) = session.member_key(RecordKind::Member, &raw.id, &raw.id)?;
    let plain = crypto::open(key, kid, &place(&MEMBERS, &raw.id, &raw.bound()), &raw.body)?;
    if judge(last, false, raw.version).is_some() {
        return Err(Error::Integrity {
            kind: RecordKind::Member,
            id: raw.id.clone(),
        });
    }
    let info: MemberInput = body::decode(&plain).ok_or_else(|| Error::Integrity {
        kind: RecordKind::Member,
        id: raw.id.clone(),
    })?;
    Ok(Member {
        id: raw.id.clone(),
        club_id: raw.owner.clone(),
        info,
        stamp: raw.stamp(RecordKind::Member)?,
    })
}

/// An older body in today's encoding (fixed widths, padded to its kind's bucket): the reseal
/// after the upgrade must not keep the old lengths, which told protected values apart.
pub(crate) fn reencode(table: &Table, plain: &[u8]) -> Result<Zeroizing<Vec<u8>>> {
    pub(crate) fn again<T: Serialize + DeserializeOwned>(
        plain: &[u8],
        floor: usize,
    ) -> Result<Zeroizing<Vec<u8>>> {
        let value: T = body::decode(plain).ok_or(Error::Crypto)?;
        body::encode(&value, floor)
    }
    match table.kind {
        RecordKind::Club => again::<ClubInput>(plain, table.floor),
        RecordKind::Member => again::<MemberInput>(plain, table.floor),
        RecordKind::Consent => again::<ConsentBody>(plain, table.floor),
        RecordKind::Meeting => again::<MeetingInput>(plain, table.floor),
        RecordKind::Referral => again::<ReferralBody>(plain, table.floor),
        RecordKind::Livelihood => again::<LivelihoodBody>(plain, table.floor),
        _ => Err(Error::Crypto),
    }
}

/// `reencode` for the table of records of `kind`, for `crate::fuzzing`.
#[cfg(feature = "fuzzing")]
pub(crate) fn reencode_kind(kind: RecordKind, plain: &[u8]) -> Result<Zeroizing<Vec<u8>>> {
    let table = [
        &CLUBS,
        &MEMBERS,
        &CONSENTS,
        &MEETINGS,
        &REFERRALS,
        &LIVELIHOOD,
    ]
    .into_iter()
    .find(|t| t.kind == kind)
    .ok_or(Error::Crypto)?;
    reencode(table, plain)
}

/// The trail's statement that every row carries its version: written when a store is made and
/// by the one-time reseal after the upgrade. A `reseal_pending` row planted later finds it and
/// reseals nothing (editing it away breaks the chain, which verify and the sync report).
pub(crate) fn note_record_versions(
    conn: &Connection,
    store_id: &str,
    session: &Session,
) -> Result<()> {
    ledger::append(
        conn,
        store_id,
        session,
        NewEntry::new(AuditAction::Update, Some(RecordKind::Audit), RESEAL_MARK),
    )?;
    Ok(())
}

/// The entry just appended must be the one the row was sealed with.
pub(crate) fn check_written(seq: i64, raw: &RawRow) -> Result<()> {
    if seq == raw.version {
        Ok(())
    } else {
        Err(Error::Integrity {
            kind: RecordKind::Audit,
            id: "head".into(),
        })
    }
}

/// How a row stands against the trail's last write of it: `None` when it is that version.
pub(crate) fn judge(
    last: Option<(i64, AuditAction)>,
    owner_erased: bool,
    version: i64,
) -> Option<DamageReason> {
    // A record of an erased member is gone with her, whatever its own entries say.
    if owner_erased {
        return Some(DamageReason::Deleted);
    }
    match last {
        None => Some(DamageReason::Untracked),
        Some((_, AuditAction::Delete)) => Some(DamageReason::Deleted),
        Some((seq, _)) if seq == version => None,
        Some((seq, _)) if version < seq => Some(DamageReason::Stale),
        Some(_) => Some(DamageReason::Untracked),
    }
}

/// Whether a row's owner is a member (so her erasure takes the row with it).
pub(crate) fn owned_by_member(table: &Table) -> bool {
    table.member_owned && table.kind != RecordKind::Member
}

/// How a row stands against the trail, read from the file: `None` when it is current.
pub(crate) fn trail_mismatch(
    conn: &Connection,
    table: &Table,
    raw: &RawRow,
) -> Result<Option<DamageReason>> {
    let owner_erased = owned_by_member(table)
        && matches!(
            ledger::last_write(conn, RecordKind::Member, &raw.owner)?,
            Some((_, AuditAction::Delete))
        );
    let last = ledger::last_write(conn, table.kind, &raw.id)?;
    Ok(judge(last, owner_erased, raw.version))
}

/// A row that opened is shown only if it is the version the trail last wrote: an older copy
/// put back into the file (a withdrawn consent restored, an erasure undone) is refused.
pub(crate) fn check_current(conn: &Connection, table: &Table, raw: &RawRow) -> Result<()> {
    match trail_mismatch(conn, table, raw)? {
        None => Ok(()),
        Some(_) => Err(Error::Integrity {
            kind: table.kind,
            id: raw.id.clone(),
        }),
    }
}

pub(crate) fn place<'a>(table: &Table, id: &'a str, bound: &'a str) -> Place<'a> {
    Place {
        table: table.name,
        kind: table.kind,
        id,
        bound,
    }
}

pub(crate) fn canary_place() -> Place<'static> {
    Place {
        table: "meta",
        kind: RecordKind::Canary,
        id: "canary",
        bound: "",
    }
}

pub(crate) fn member_key_place(member_id: &str) -> Place<'_> {
    Place {
        table: "member_keys",
        kind: RecordKind::MemberKey,
        id: member_id,
        bound: "",
    }
}

/// A store's schema twice, for tests of query plans: installed fresh, and upgraded step by step
/// from the first release's; each with its name.
#[cfg(test)]
pub(crate) fn fresh_and_upgraded(dir: &Path) -> Result<[(Connection, &'static str); 2]> {
    let mut fresh = Connection::open(dir.join("fresh.db"))?;
    open_pragmas(&fresh)?;
    crate::schema::install(&mut fresh)?;
    let mut upgraded = Connection::open(dir.join("upgraded.db"))?;
    open_pragmas(&upgraded)?;
    upgraded.execute_batch(crate::schema::MIGRATIONS[0])?;
    upgraded.pragma_update(None, "user_version", 1)?;
    crate::schema::migrate(&mut upgraded)?;
    Ok([(fresh, "fresh"), (upgraded, "upgraded")])
}

/// SQLite's plan for `sql` with `params`, one line a step.
#[cfg(test)]
pub(crate) fn query_plan(
    conn: &Connection,
    sql: &str,
    params: impl rusqlite::Params,
) -> Result<Vec<String>> {
    let mut stmt = conn.prepare(&format!("EXPLAIN QUERY PLAN {sql}"))?;
    let plan = stmt.query_map(params, |r| r.get(3))?;
    Ok(plan.collect::<rusqlite::Result<_>>()?)
}

/// A read-only connection of its own to the store at `path`, for the unlock's second thread.
pub(crate) fn open_reader(path: &Path) -> Result<Connection> {
    let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let conn = Connection::open_with_flags(path, flags)?;
    // One pass over each table: a cache would only add to the unlock's peak memory.
    conn.execute_batch("PRAGMA cache_size = -64")?;
    Ok(conn)
}

/// One member's key from its row of `member_keys`: it must open under the member-key wrapping
/// key at that member's place, and be a whole key. The caller's buffers (zeroized by their
/// owner) are reused for every member's key at unlock.
pub(crate) fn unwrap_member_key_into(
    member_wrap: &SecretKey,
    store_kid: KeyId,
    member_id: &str,
    wrapped: &[u8],
    plain: &mut Zeroizing<Vec<u8>>,
    aad: &mut Vec<u8>,
) -> Result<SecretKey> {
    let place = member_key_place(member_id);
    crypto::open_into(member_wrap, store_kid, &place, wrapped, plain, aad)?;
    SecretKey::from_slice(plain)
}

#[derive(Serialize, Deserialize)]
pub(crate) struct ConsentBody {
    pub(crate) info: ConsentInput,
    #[serde(with = "body::fixed::opt_date")]
    pub(crate) withdrawn_on: Option<NaiveDate>,
}

#[derive(Serialize, Deserialize)]
pub(crate) struct LivelihoodBody {
    pub(crate) info: LivelihoodInput,
    pub(crate) follow_ups: Vec<SupportFollowUp>,
}

#[derive(Serialize, Deserialize)]
pub(crate) struct ReferralBody {
    pub(crate) info: ReferralInput,
    pub(crate) history: Vec<StateChange>,
}

pub(crate) fn restrict_permissions(path: &Path) -> Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))?;
    }
    #[cfg(not(unix))]
    let _ = path;
    Ok(())
}

/// Every record row checked against the trail (which the caller has verified): rows that do
/// not open, older copies, rows the trail deleted or never wrote, member keys of erased
/// members, and records the trail wrote whose row is gone. Sorted by kind and id.
pub(crate) fn scan_records(
    db: Db<'_>,
    session: &Session,
    entries: &[(crate::audit::AuditEntry, Vec<u8>)],
) -> Result<Vec<Damaged>> {
    let last = ledger::last_writes(entries);
    let erased = |member_id: &str| {
        matches!(
            last.get(&(RecordKind::Member, member_id.to_owned())),
            Some((_, AuditAction::Delete))
        )
    };
    let mut seen = std::collections::HashSet::new();
    let mut out = Vec::new();
    for table in RECORD_TABLES {
        for raw in table.read(db.conn, "WHERE ?1 = ''", "")? {
            seen.insert((table.kind, raw.id.clone()));
            let verdict = judge(
                last.get(&(table.kind, raw.id.clone())).copied(),
                owned_by_member(table) && erased(&raw.owner),
                raw.version,
            );
            let opens = db
                .key_for(session, table, &raw.id, &raw.owner)
                .and_then(|(key, kid)| {
                    crypto::open(key, kid, &place(table, &raw.id, &raw.bound()), &raw.body)
                })
                .is_ok();
            let reason = verdict.or((!opens).then_some(DamageReason::Unreadable));
            if let Some(reason) = reason {
                out.push(Damaged {
                    kind: table.kind,
                    id: raw.id,
                    owner: raw.owner,
                    reason,
                });
            }
        }
    }
    let keys: Vec<String> = db
        .conn
        .prepare("SELECT member_id FROM member_keys")?
        .query_map([], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    for member_id in keys.into_iter().filter(|m| erased(m)) {
        out.push(Damaged {
            kind: RecordKind::MemberKey,
            owner: member_id.clone(),
            id: member_id,
            reason: DamageReason::Deleted,
        });
    }
    for ((kind, id), (_, action)) in &last {
        if *action != AuditAction::Delete && !seen.contains(&(*kind, id.clone())) {
            out.push(Damaged {
                kind: *kind,
                id: id.clone(),
                owner: String::new(),
                reason: DamageReason::Missing,
            });
        }
    }
    out.sort_by(|a, b| (a.kind.as_str(), &a.id).cmp(&(b.kind.as_str(), &b.id)));
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A record id is a key only as `new_id` spells it: every other spelling of the same UUID
    /// (capitals, braces, no hyphens, a URN, spaces) is none, so two spellings are never one
    /// member's key or one trail entry's record.
    #[test]
    fn only_the_canonical_spelling_of_an_id_is_a_key() {
        let id = new_id();
        let n = uuid::Uuid::parse_str(&id).map(|u| u.as_u128()).ok();
        assert!(n.is_some());
        assert_eq!(uuid_of(&id), n);
        let simple = id.replace('-', "");
        for other in [
            id.to_uppercase(),
            format!("{{{id}}}"),
            format!("urn:uuid:{id}"),
            simple,
            format!(" {}", &id[1..]),
            id[..35].to_owned(),
            format!("{}g", &id[..35]),
            String::new(),
        ] {
            assert_eq!(uuid_of(&other), None, "{other}");
        }
        // One capital anywhere is enough to refuse it.
        let mut one = id.clone().into_bytes();
        let i = one.iter().position(u8::is_ascii_alphabetic).unwrap_or(0);
        one[i] = one[i].to_ascii_uppercase();
        let one = String::from_utf8(one).unwrap_or_default();
        if one != id {
            assert_eq!(uuid_of(&one), None);
        }
    }

    #[test]
    fn the_record_tables_are_the_kinds_the_trail_accounts_for() {
        let tables: Vec<RecordKind> = RECORD_TABLES.iter().map(|t| t.kind).collect();
        for kind in RecordKind::ALL {
            assert_eq!(kind.is_record(), tables.contains(&kind), "{kind:?}");
        }
    }

    /// The trail's "last write of this record" is asked once per record opened; SQLite
    /// re-prepared it on every use (an ORDER BY over a bound index prefix) until the connection
    /// asked for stable plans.
    #[test]
    fn a_cached_statement_is_not_prepared_again_on_each_use() {
        let dir = tempfile::tempdir().unwrap();
        let mut conn = Connection::open(dir.path().join("store.db")).unwrap();
        open_pragmas(&conn).unwrap();
        crate::schema::install(&mut conn).unwrap();
        for i in 0..5 {
            let id = format!("member-{i}");
            crate::ledger::last_write(&conn, RecordKind::Member, &id).unwrap();
        }
        let stmt = conn.prepare_cached(crate::ledger::LAST_WRITE_SQL).unwrap();
        assert_eq!(stmt.get_status(rusqlite::StatementStatus::Run), 5);
        assert_eq!(stmt.get_status(rusqlite::StatementStatus::RePrepare), 0);
    }

    /// A check against the trail reads one index and never the trail's rows, in a fresh store
    /// and in one upgraded from the first release's schema.
    #[test]
    fn checks_against_the_trail_read_only_its_index_of_writes() {
        let dir = tempfile::tempdir().unwrap();
        for (conn, how) in fresh_and_upgraded(dir.path()).unwrap() {
            let plans = [
                (crate::ledger::LAST_WRITE_SQL, 2, "(kind=? AND record_id=?)"),
                (crate::ledger::LAST_WRITES_OF_SQL, 1, "(kind=?)"),
            ];
            for (sql, params, search) in plans {
                let args = rusqlite::params_from_iter(std::iter::repeat_n("member", params));
                let plan = query_plan(&conn, sql, args).unwrap();
                let expected =
                    format!("SEARCH audit_log USING COVERING INDEX audit_writes {search}");
                assert_eq!(plan, [expected], "{how}: {sql}");
            }
        }
    }
}
