//! The encrypted offline store: one SQLite file, every personal field sealed.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use chrono::{DateTime, NaiveDate, SecondsFormat, Utc};
use rusqlite::{Connection, OpenFlags, OptionalExtension, TransactionBehavior, params};
use serde::{Deserialize, Serialize, de::DeserializeOwned};
use zeroize::{Zeroize, Zeroizing};

use crate::access::{self, Permission};
use crate::audit::{self, AuditAction};
use crate::body;
use crate::crypto::{self, KeyId, Place, SecretKey};
use crate::domain::*;
use crate::error::{DeviceSecretError, Error, Reason, RecordKind, Result, invalid};
use crate::import;
use crate::index::{MemberFilter, MemberIndex};
use crate::keys::{self, DeviceSecret, KdfParams};
use crate::safety;
use crate::schema;
use crate::trail::{self, NewEntry};

/// Who may unlock a store. Permissions per role come with the audit issue.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
pub enum UserRole {
    Leader,
    Deputy,
    Auditor,
}

impl UserRole {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            UserRole::Leader => "leader",
            UserRole::Deputy => "deputy",
            UserRole::Auditor => "auditor",
        }
    }

    pub(crate) fn parse(s: &str) -> Option<Self> {
        [UserRole::Leader, UserRole::Deputy, UserRole::Auditor]
            .into_iter()
            .find(|r| r.as_str() == s)
    }
}

/// A user as the unlock screen lists them: no name, since the store is still locked.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct UserInfo {
    pub id: Id,
    pub role: UserRole,
}

/// A new user of the store. The PIN is zeroized when this is dropped.
pub struct NewUser {
    pub display_name: String,
    pub role: UserRole,
    pub pin: Zeroizing<String>,
}

impl NewUser {
    pub fn new(display_name: &str, role: UserRole, pin: &str) -> Self {
        Self {
            display_name: display_name.to_owned(),
            role,
            pin: Zeroizing::new(pin.to_owned()),
        }
    }
}

/// A record that cannot be shown as it is: it failed its seal, or it is not the version the
/// audit trail last wrote, or the trail says it exists and it is gone.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct Damaged {
    pub kind: RecordKind,
    pub id: Id,
    /// The member (or club) the record belongs to, when the row shows it; empty otherwise.
    pub owner: Id,
    pub reason: DamageReason,
}

/// Why a record is listed as damaged.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
pub enum DamageReason {
    /// Its sealed body or a column bound to it was altered, or its key is gone or damaged.
    Unreadable,
    /// An older copy of the record: the trail wrote it again since (a rollback).
    Stale,
    /// The trail says it was deleted or erased, yet the row is there (an erasure undone).
    Deleted,
    /// The trail says it exists, and there is no row (deleted from the file).
    Missing,
    /// A row the trail never wrote (inserted into the file).
    Untracked,
}

impl DamageReason {
    /// The reason's name in exports and `--json` output.
    pub fn as_str(self) -> &'static str {
        match self {
            DamageReason::Unreadable => "unreadable",
            DamageReason::Stale => "stale",
            DamageReason::Deleted => "deleted",
            DamageReason::Missing => "missing",
            DamageReason::Untracked => "untracked",
        }
    }
}

pub(crate) struct Session {
    pub(crate) user_id: Id,
    pub(crate) role: UserRole,
    pub(crate) store_key: SecretKey,
    pub(crate) record_key: SecretKey,
    member_wrap: SecretKey,
    /// HMAC key of the audit chain.
    pub(crate) audit_key: SecretKey,
    pub(crate) device_id: String,
    /// Boxed so the key bytes never move when the map grows (a move leaves an unzeroized copy).
    pub(crate) member_keys: HashMap<Id, Box<SecretKey>>,
    pub(crate) index: MemberIndex,
    /// Filled at unlock and by lists that meet a record failing its integrity check.
    damaged: std::cell::RefCell<Vec<Damaged>>,
}

pub struct Store {
    pub(crate) conn: Connection,
    pub(crate) path: PathBuf,
    pub(crate) device: Arc<dyn DeviceSecret>,
    pub(crate) store_id: String,
    pub(crate) store_kid: KeyId,
    pub(crate) session: Option<Session>,
    /// Set once the store destroyed itself; every later unlock says so.
    pub(crate) wiped: bool,
    /// Per-request timeout for the sync.
    pub(crate) request_timeout: std::time::Duration,
}

// ---- table descriptions -----------------------------------------------------------------

/// A table of sealed records: its plaintext owner column (foreign key) and state column.
struct Table {
    name: &'static str,
    kind: RecordKind,
    owner: Option<&'static str>,
    extra: Option<&'static str>,
    /// Sealed under the member's own key (so erasing that key erases the record).
    member_owned: bool,
    /// The smallest stored body of this kind (`body::bucket`): about its usual size, so that most
    /// records of a kind have one length.
    floor: usize,
}

const CLUBS: Table = Table {
    name: "clubs",
    kind: RecordKind::Club,
    owner: None,
    extra: None,
    member_owned: false,
    floor: 512,
};
const MEMBERS: Table = Table {
    name: "members",
    kind: RecordKind::Member,
    owner: Some("club_id"),
    extra: None,
    member_owned: true,
    floor: 512,
};
const CONSENTS: Table = Table {
    name: "consents",
    kind: RecordKind::Consent,
    owner: Some("member_id"),
    extra: None,
    member_owned: true,
    floor: 512,
};
const MEETINGS: Table = Table {
    name: "meetings",
    kind: RecordKind::Meeting,
    owner: Some("club_id"),
    extra: Some("meeting_date"),
    member_owned: false,
    floor: 1024,
};
const REFERRALS: Table = Table {
    name: "referrals",
    kind: RecordKind::Referral,
    owner: Some("member_id"),
    extra: Some("state"),
    member_owned: true,
    floor: 2048,
};
const LIVELIHOOD: Table = Table {
    name: "livelihood",
    kind: RecordKind::Livelihood,
    owner: Some("member_id"),
    extra: None,
    member_owned: true,
    floor: 1024,
};

const RECORD_TABLES: [&Table; 6] = [
    &CLUBS,
    &MEMBERS,
    &CONSENTS,
    &MEETINGS,
    &REFERRALS,
    &LIVELIHOOD,
];

/// Whether the trail accounts for each row of this kind (one of the six record tables).
pub(crate) fn is_record_kind(kind: RecordKind) -> bool {
    RECORD_TABLES.iter().any(|t| t.kind == kind)
}

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
struct RawRow {
    id: String,
    owner: String,
    extra: String,
    body: Vec<u8>,
    stamps: [String; 4],
    /// The sequence number of the trail entry that wrote this row; 0 for a row written before
    /// versions existed (resealed at the first unlock after the upgrade).
    version: i64,
}

impl RawRow {
    fn bound(&self) -> String {
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

    fn stamp(&self, kind: RecordKind) -> Result<Stamp> {
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
    fn select_sql(&self, filter: &str) -> String {
        format!(
            "SELECT id, {}, {}, body, created_at, created_by, updated_at, updated_by, version \
             FROM {} {}",
            self.owner.unwrap_or("''"),
            self.extra.unwrap_or("''"),
            self.name,
            filter
        )
    }

    fn read(&self, conn: &Connection, filter: &str, arg: &str) -> Result<Vec<RawRow>> {
        let mut stmt = conn.prepare_cached(&self.select_sql(filter))?;
        let rows = stmt.query_map([arg], |r| {
            Ok(RawRow {
                id: r.get(0)?,
                owner: r.get(1)?,
                extra: r.get(2)?,
                body: r.get(3)?,
                stamps: [r.get(4)?, r.get(5)?, r.get(6)?, r.get(7)?],
                version: r.get(8)?,
            })
        })?;
        Ok(rows.collect::<Result<Vec<_>, _>>()?)
    }

    fn read_one(&self, conn: &Connection, id: &str) -> Result<RawRow> {
        self.read(conn, "WHERE id = ?1", id)?
            .pop()
            .ok_or_else(|| Error::NotFound {
                kind: self.kind,
                id: id.to_owned(),
            })
    }

    /// That the row exists, without reading its body (a check before writing a child row).
    fn require(&self, conn: &Connection, id: &str) -> Result<()> {
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

    fn write(&self, conn: &Connection, row: &RawRow, body: &crypto::Sealed) -> Result<()> {
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

fn today() -> NaiveDate {
    Utc::now().date_naive()
}

pub(crate) fn new_id() -> Id {
    uuid::Uuid::new_v4().to_string()
}

pub(crate) fn key_id_of(kind: RecordKind, id: &str) -> Result<KeyId> {
    uuid::Uuid::parse_str(id)
        .map(|u| KeyId(*u.as_bytes()))
        .map_err(|_| Error::Integrity {
            kind,
            id: id.to_owned(),
        })
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
    Ok(())
}

fn not_a_store(e: rusqlite::Error) -> Error {
    match e.sqlite_error_code() {
        Some(rusqlite::ErrorCode::NotADatabase) | Some(rusqlite::ErrorCode::DatabaseCorrupt) => {
            Error::NotAStore
        }
        _ => Error::Storage(e),
    }
}

pub(crate) const CANARY: &[u8] = b"chungtay store canary v1";

/// The trail entry that says the rows of an older store were resealed with their versions.
const RESEAL_MARK: &str = "record_versions";

impl Drop for Store {
    fn drop(&mut self) {
        self.lock();
    }
}

impl Store {
    /// Creates a new store at `path` and unlocks it as its first user.
    pub fn create(
        path: &Path,
        device: Arc<dyn DeviceSecret>,
        first: NewUser,
        params: KdfParams,
    ) -> Result<Store> {
        Self::create_as(path, device, first, params, new_id())
    }

    /// `create`, with the first user's id given (the duress decoy keeps the leader's id).
    pub(crate) fn create_as(
        path: &Path,
        device: Arc<dyn DeviceSecret>,
        first: NewUser,
        params: KdfParams,
        user_id: Id,
    ) -> Result<Store> {
        if path.exists() {
            return Err(Error::AlreadyExists);
        }
        params.check()?;
        keys::check_pin(&first.pin)?;
        let display_name = required("display_name", &first.display_name)?;
        let mut conn = Connection::open(path)?;
        restrict_permissions(path)?;
        open_pragmas(&conn)?;
        schema::install(&mut conn)?;

        let store_id = new_id();
        let store_kid = key_id_of(RecordKind::Canary, &store_id)?;
        let store_key = SecretKey::generate()?;
        let record_key = store_key.derive(b"records")?;
        let check = keys::device_check(device.as_ref(), &store_id)?;
        let canary = crypto::seal(&record_key, store_kid, &canary_place(), CANARY)?;
        let now = now_text();
        {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let meta = "INSERT INTO meta (name, value) VALUES (?1, ?2)";
            tx.execute(meta, params!["store_id", store_id.as_bytes()])?;
            tx.execute(meta, params!["device_check", check])?;
            tx.execute(meta, params!["canary", canary])?;
            write_user(
                &tx,
                device.as_ref(),
                &store_id,
                &store_key,
                &record_key,
                store_kid,
                &user_id,
                first.role,
                &display_name,
                &first.pin,
                params,
                [&now, &user_id, &now, &user_id],
            )?;
            tx.commit()?;
        }
        let store = Store::started(
            Store::locked(conn, path, device, store_id, store_kid),
            user_id,
            first.role,
            store_key,
        )?;
        safety::keep_duress_slot(&store)?;
        Ok(store)
    }

    /// Opens an existing store, locked. Upgrades its schema if it is older.
    pub fn open(path: &Path, device: Arc<dyn DeviceSecret>) -> Result<Store> {
        if !path.exists() {
            return Err(Error::Io(std::io::Error::new(
                std::io::ErrorKind::NotFound,
                "no store at this path",
            )));
        }
        let mut conn = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        open_pragmas(&conn).map_err(|e| match e {
            Error::Storage(s) => not_a_store(s),
            other => other,
        })?;
        schema::migrate(&mut conn).map_err(|e| match e {
            Error::Storage(s) => not_a_store(s),
            other => other,
        })?;
        let store_id: Vec<u8> = conn
            .query_row("SELECT value FROM meta WHERE name = 'store_id'", [], |r| {
                r.get(0)
            })
            .optional()
            .map_err(not_a_store)?
            .ok_or(Error::NotAStore)?;
        let store_id = String::from_utf8(store_id).map_err(|_| Error::NotAStore)?;
        let store_kid = key_id_of(RecordKind::Canary, &store_id).map_err(|_| Error::NotAStore)?;
        Ok(Store::locked(conn, path, device, store_id, store_kid))
    }

    /// A store on an open connection, locked.
    pub(crate) fn locked(
        conn: Connection,
        path: &Path,
        device: Arc<dyn DeviceSecret>,
        store_id: String,
        store_kid: KeyId,
    ) -> Store {
        Store {
            conn,
            path: path.to_owned(),
            device,
            store_id,
            store_kid,
            session: None,
            wiped: false,
            request_timeout: crate::sync::DEFAULT_REQUEST_TIMEOUT,
        }
    }

    /// A store just laid down (a new one, or the duress decoy), unlocked as its first user,
    /// its trail started and saying from the first entry that its rows carry versions.
    pub(crate) fn started(
        mut store: Store,
        user_id: Id,
        role: UserRole,
        store_key: SecretKey,
    ) -> Result<Store> {
        store.start_session(user_id, role, store_key)?;
        let session = store.session()?;
        trail::start(&store.conn, &store.store_id, session)?;
        note_record_versions(&store.conn, &store.store_id, session)?;
        Ok(store)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn store_id(&self) -> &str {
        &self.store_id
    }

    /// The users who can unlock this store (ids and roles only: it may be locked).
    pub fn users(&self) -> Result<Vec<UserInfo>> {
        let mut stmt = self
            .conn
            .prepare("SELECT id, role FROM users ORDER BY created_at, id")?;
        let rows = stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))?;
        let mut out = Vec::new();
        for row in rows {
            let (id, role) = row?;
            let role = UserRole::parse(&role).ok_or_else(|| Error::Integrity {
                kind: RecordKind::User,
                id: id.clone(),
            })?;
            out.push(UserInfo { id, role });
        }
        Ok(out)
    }

    pub fn is_unlocked(&self) -> bool {
        self.session.is_some()
    }

    /// The unlocked user and their role.
    pub fn current_user(&self) -> Result<UserInfo> {
        let s = self.session()?;
        Ok(UserInfo {
            id: s.user_id.clone(),
            role: s.role,
        })
    }

    /// Unlocks with one user's PIN. A wrong PIN changes nothing; a missing or foreign device
    /// secret is reported as such, before any PIN is tried.
    pub fn unlock(&mut self, user_id: &str, pin: &str) -> Result<()> {
        self.session = None;
        if self.wiped {
            return Err(Error::Wiped);
        }
        safety::check_lockout(&self.conn)?;
        match self.try_unlock(user_id, pin) {
            Ok(()) => {
                // Every store keeps a duress slot and a decoy description, kept up to date at
                // each unlock and lock, so that a duress unlock shows today's users and clubs.
                let noted = self
                    .note_unlock()
                    .and_then(|()| safety::keep_duress_slot(self));
                if noted.is_err() {
                    // An unlock the trail could not record is no unlock: keys leave memory.
                    self.session = None;
                }
                noted
            }
            Err(e) => {
                if matches!(
                    e,
                    Error::WrongPin | Error::UnknownUser | Error::KeyUnavailable(_)
                ) {
                    // Best effort: a full disk must not turn a wrong PIN into another error.
                    let _ = trail::note_failed_unlock(&self.conn, user_id);
                }
                Err(e)
            }
        }
    }

    /// Folds failed unlocks noted while locked into the chain, then notes this unlock.
    fn note_unlock(&mut self) -> Result<()> {
        let session = self.session.as_ref().ok_or(Error::Locked)?;
        let tx = rusqlite::Transaction::new_unchecked(&self.conn, TransactionBehavior::Immediate)?;
        let pending: Vec<(i64, String, String)> = {
            let mut stmt = tx.prepare("SELECT id, at, user_id FROM audit_pending ORDER BY id")?;
            let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
            rows.collect::<Result<Vec<_>, _>>()?
        };
        for (_, at, user_id) in &pending {
            let role: Option<String> = tx
                .query_row("SELECT role FROM users WHERE id = ?1", [user_id], |r| {
                    r.get(0)
                })
                .optional()?;
            let mut entry = NewEntry::new(AuditAction::UnlockFailed, None, "");
            // Noted while locked, without keys: anyone with the file could have written the
            // row, so the trail takes it in as unverified, and never dated after now.
            entry.at = DateTime::parse_from_rfc3339(at)
                .ok()
                .map(|d| d.with_timezone(&Utc).min(Utc::now()));
            entry.fields = vec!["unverified".into()];
            // The id was typed at the unlock screen, or planted in the file: keep control
            // characters out of the chain, where U+001F separates an entry's fields and one
            // inside an id would let a field's text move into the next without breaking it.
            let user_id: String = user_id
                .chars()
                .take(200)
                .map(|c| if c.is_control() { '\u{FFFD}' } else { c })
                .collect();
            let user_id = user_id.as_str();
            entry.user_id = Some(user_id);
            entry.role = Some(role.as_deref().and_then(UserRole::parse));
            trail::append(&tx, &self.store_id, session, entry)?;
        }
        tx.execute("DELETE FROM audit_pending", [])?;
        trail::append(
            &tx,
            &self.store_id,
            session,
            NewEntry::new(AuditAction::Unlock, None, ""),
        )?;
        tx.commit()?;
        Ok(())
    }

    fn try_unlock(&mut self, user_id: &str, pin: &str) -> Result<()> {
        let slot = read_slot(&self.conn, user_id)?.ok_or(Error::UnknownUser)?;
        let integrity = || Error::Integrity {
            kind: RecordKind::User,
            id: user_id.to_owned(),
        };
        let role = UserRole::parse(&slot.role).ok_or_else(integrity)?;

        let expected: Vec<u8> = self.conn.query_row(
            "SELECT value FROM meta WHERE name = 'device_check'",
            [],
            |r| r.get(0),
        )?;
        let check = keys::device_check(self.device.as_ref(), &self.store_id)?;
        // Both are public-safe hashes of a PRF output, so a plain comparison leaks nothing.
        if check != expected {
            return Err(Error::KeyUnavailable(DeviceSecretError::Missing));
        }

        // Counted before the PIN is tried, so killing the app mid-try does not dodge the count.
        let failures = safety::count_attempt(&self.conn)?;
        // The user's slot and the duress slot (a dummy when no duress PIN is set) are both
        // tried, always, in full: a wrong PIN costs the same with or without a duress PIN, and
        // the right PIN and the duress PIN cost the same (docs/SECURITY.md 11).
        let stretched = keys::stretch(pin, &slot.kdf.salt, slot.kdf.params)?;
        let kek = keys::kek_from_stretched(
            self.device.as_ref(),
            &self.store_id,
            user_id,
            &stretched,
            &slot.kdf,
        )?;
        let user_kid = key_id_of(RecordKind::User, user_id)?;
        let opened = crypto::open(&kek, user_kid, &slot_place(user_id), &slot.wrapped)
            .and_then(|k| SecretKey::from_slice(&k));
        let duress = safety::DuressTry::run(self, pin, slot.kdf.params)?;
        let store_key = match opened {
            Ok(key) => key,
            Err(_) => {
                if let Some(decoy_key) = duress.opened {
                    return self.become_decoy(
                        user_id,
                        role,
                        &duress.stretched,
                        &duress.kdf,
                        decoy_key,
                    );
                }
                if self.try_legacy_duress(pin)? {
                    return Ok(());
                }
                if failures >= safety::wipe_after(&self.conn)? {
                    self.wipe()?;
                    return Err(Error::Wiped);
                }
                return Err(Error::WrongPin);
            }
        };
        // The device calls a duress unlock makes for the decoy, made here too (on throwaway
        // input) so that the two unlocks cost the same.
        safety::pad_like_decoy(self.device.as_ref(), &duress.kdf)?;
        safety::reset_attempts(&self.conn)?;

        // The canary proves the unwrapped key is this store's key, not one from a spliced slot.
        let record_key = store_key.derive(b"records")?;
        let canary: Vec<u8> =
            self.conn
                .query_row("SELECT value FROM meta WHERE name = 'canary'", [], |r| {
                    r.get(0)
                })?;
        let opened = crypto::open(&record_key, self.store_kid, &canary_place(), &canary)?;
        // The canary may go on to name the duress slot (safety::keep_duress_slot).
        if opened.get(..CANARY.len()) != Some(CANARY) {
            return Err(Error::Integrity {
                kind: RecordKind::Canary,
                id: "canary".into(),
            });
        }
        if !slot.kdf.is_current() {
            // An older slot (one device call per guess) becomes a chained one, same salt and
            // Argon2 cost, so the stretched PIN is reused: no second Argon2 run.
            let kdf = slot.kdf.upgraded();
            let kek = keys::kek_from_stretched(
                self.device.as_ref(),
                &self.store_id,
                user_id,
                &stretched,
                &kdf,
            )?;
            let wrapped = crypto::seal(&kek, user_kid, &slot_place(user_id), store_key.as_bytes())?;
            self.conn.execute(
                "UPDATE users SET kdf_salt = ?1, wrapped_key = ?2 WHERE id = ?3",
                params![kdf.encode_salt(), wrapped.as_bytes(), user_id],
            )?;
        }
        self.start_session(user_id.to_owned(), role, store_key)
    }

    /// Drops every key and the member index from memory, and folds the WAL into the main file
    /// (truncating it) so that superseded sealed pages do not linger there.
    pub fn lock(&mut self) {
        // Best effort: the decoy was refreshed at unlock already; this catches today's changes.
        let _ = safety::refresh_decoy(self);
        self.session = None;
        // Best effort: a reader elsewhere can make the checkpoint partial; the next one finishes.
        let _ = self.checkpoint();
    }

    fn checkpoint(&self) -> Result<()> {
        self.conn
            .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))?;
        Ok(())
    }

    pub(crate) fn start_session(
        &mut self,
        user_id: Id,
        role: UserRole,
        store_key: SecretKey,
    ) -> Result<()> {
        let record_key = store_key.derive(b"records")?;
        let member_wrap = store_key.derive(b"member-keys")?;
        let audit_key = store_key.derive(b"audit")?;
        // Role and stamps are bound into the profile's seal: an edited role is caught here.
        open_profile(&self.conn, &record_key, self.store_kid, &user_id)?;
        let device_id = trail::ensure_device_identity(&self.conn, &record_key, self.store_kid)?;
        let mut session = Session {
            user_id,
            role,
            store_key,
            record_key,
            member_wrap,
            audit_key,
            device_id,
            member_keys: HashMap::new(),
            index: MemberIndex::default(),
            damaged: Default::default(),
        };
        let mut stmt = self
            .conn
            .prepare("SELECT member_id, wrapped_key FROM member_keys")?;
        let rows = stmt.query_map([], |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, Vec<u8>>(1)?))
        })?;
        for row in rows {
            let (member_id, wrapped) = row?;
            match unwrap_member_key(&session.member_wrap, self.store_kid, &member_id, &wrapped) {
                Ok(key) => {
                    session.member_keys.insert(member_id, Box::new(key));
                }
                Err(_) => session.damaged.get_mut().push(Damaged {
                    kind: RecordKind::MemberKey,
                    owner: member_id.clone(),
                    id: member_id,
                    reason: DamageReason::Unreadable,
                }),
            }
        }
        drop(stmt);
        self.reseal_legacy_rows(&session)?;
        for raw in MEMBERS.read(&self.conn, "WHERE ?1 = ''", "")? {
            match open_member(&self.conn, &session, &raw) {
                Ok(m) => session.index.upsert(&m),
                Err(_) => {
                    let reason = trail_mismatch(&self.conn, &MEMBERS, &raw)?
                        .unwrap_or(DamageReason::Unreadable);
                    session.damaged.get_mut().push(Damaged {
                        kind: RecordKind::Member,
                        id: raw.id,
                        owner: raw.owner,
                        reason,
                    })
                }
            }
        }
        self.session = Some(session);
        Ok(())
    }

    /// Every record row checked against the trail (which the caller has verified): rows that do
    /// not open, older copies, rows the trail deleted or never wrote, member keys of erased
    /// members, and records the trail wrote whose row is gone. Sorted by kind and id.
    pub(crate) fn scan_records(
        &self,
        session: &Session,
        entries: &[(crate::audit::AuditEntry, Vec<u8>)],
    ) -> Result<Vec<Damaged>> {
        let last = trail::last_writes(entries);
        let erased = |member_id: &str| {
            matches!(
                last.get(&(RecordKind::Member, member_id.to_owned())),
                Some((_, AuditAction::Delete))
            )
        };
        let mut seen = std::collections::HashSet::new();
        let mut out = Vec::new();
        for table in RECORD_TABLES {
            for raw in table.read(&self.conn, "WHERE ?1 = ''", "")? {
                seen.insert((table.kind, raw.id.clone()));
                let verdict = judge(
                    last.get(&(table.kind, raw.id.clone())).copied(),
                    owned_by_member(table) && erased(&raw.owner),
                    raw.version,
                );
                let opens = self
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
        let keys: Vec<String> = self
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

    /// Adds records found damaged to what `damaged_records` reports in this session.
    pub(crate) fn note_damaged(&self, found: &[Damaged]) -> Result<()> {
        let session = self.session()?;
        let mut damaged = session.damaged.borrow_mut();
        for d in found {
            if !damaged.contains(d) {
                damaged.push(d.clone());
            }
        }
        Ok(())
    }

    /// After the upgrade that bound each record to its trail entry, the first unlock reseals
    /// every older row with its version (one entry each) and seals the older entries' field
    /// names, then marks this done in the trail. Only once: a pre-upgrade row put back later
    /// stays version 0 and is reported, never laundered.
    fn reseal_legacy_rows(&self, session: &Session) -> Result<()> {
        let pending = self
            .conn
            .prepare_cached("SELECT 1 FROM meta WHERE name = 'reseal_pending'")?
            .exists([])?;
        if !pending {
            return Ok(());
        }
        let tx = rusqlite::Transaction::new_unchecked(&self.conn, TransactionBehavior::Immediate)?;
        let done = trail::last_write(&tx, RecordKind::Audit, RESEAL_MARK)?.is_some();
        if !done {
            for table in RECORD_TABLES {
                for raw in table.read(&tx, "WHERE version = 0 AND ?1 = ''", "")? {
                    let (key, kid) = match self.key_for(session, table, &raw.id, &raw.owner) {
                        Ok(k) => k,
                        Err(_) => continue,
                    };
                    // A row that does not open stays as it is and is reported as damaged.
                    let Some(plain) =
                        crypto::open(key, kid, &place(table, &raw.id, &raw.bound()), &raw.body)
                            .ok()
                            .and_then(|p| reencode(table, &p).ok())
                    else {
                        continue;
                    };
                    let resealed = RawRow {
                        version: trail::next_seq(&tx)?,
                        ..raw
                    };
                    let sealed = crypto::seal(
                        key,
                        kid,
                        &place(table, &resealed.id, &resealed.bound()),
                        &plain,
                    )?;
                    table.write(&tx, &resealed, &sealed)?;
                    let mut entry =
                        NewEntry::new(AuditAction::Update, Some(table.kind), &resealed.id);
                    entry.fields = vec!["resealed".into()];
                    let seq = trail::append(&tx, &self.store_id, session, entry)?;
                    check_written(seq, &resealed)?;
                }
            }
            let legacy: Vec<(i64, String)> = {
                let mut stmt = tx.prepare(
                    "SELECT seq, fields FROM audit_log WHERE fields_sealed IS NULL AND fields != ''",
                )?;
                let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
                rows.collect::<Result<_, _>>()?
            };
            for (seq, fields) in legacy {
                let names: Vec<String> = fields.split(',').map(str::to_owned).collect();
                let sealed = trail::seal_fields(session, &self.store_id, seq, &names)?;
                tx.execute(
                    "UPDATE audit_log SET fields = '', fields_sealed = ?2 WHERE seq = ?1",
                    params![seq, sealed],
                )?;
            }
            // Records the old trail created whose rows were gone before the trail could tell
            // (children of members erased by an older version, which did not name them) are
            // noted as absent at the upgrade, so that from now on a missing row means tampering.
            let entries = self.load_trail_with(session)?;
            for gone in self.scan_records(session, &entries)? {
                if gone.reason == DamageReason::Missing {
                    let mut entry = NewEntry::new(AuditAction::Delete, Some(gone.kind), &gone.id);
                    entry.fields = vec!["absent_at_upgrade".into()];
                    trail::append(&tx, &self.store_id, session, entry)?;
                }
            }
            note_record_versions(&tx, &self.store_id, session)?;
        }
        tx.execute("DELETE FROM meta WHERE name = 'reseal_pending'", [])?;
        tx.commit()?;
        Ok(())
    }

    pub(crate) fn session(&self) -> Result<&Session> {
        self.session.as_ref().ok_or(Error::Locked)
    }

    /// The session, if the unlocked user's role has `permission` (docs/ROLES.md).
    pub(crate) fn require(&self, permission: Permission) -> Result<&Session> {
        let session = self.session()?;
        if access::allowed(session.role, permission) {
            Ok(session)
        } else {
            Err(Error::Forbidden(permission))
        }
    }

    /// Whether the unlocked user may do this; false when locked.
    pub fn may(&self, permission: Permission) -> bool {
        self.require(permission).is_ok()
    }

    /// Notes a read of a sensitive record in the trail.
    fn note_read(&self, kind: RecordKind, id: &str, fields: Vec<String>) -> Result<()> {
        let session = self.session()?;
        let tx = rusqlite::Transaction::new_unchecked(&self.conn, TransactionBehavior::Immediate)?;
        let mut entry = NewEntry::new(AuditAction::Read, Some(kind), id);
        entry.fields = fields;
        trail::append(&tx, &self.store_id, session, entry)?;
        tx.commit()?;
        Ok(())
    }

    /// Records that failed their integrity check at unlock. The rest of the store works.
    pub fn damaged_records(&self) -> Result<Vec<Damaged>> {
        Ok(self.session()?.damaged.borrow().clone())
    }

    // ---- users --------------------------------------------------------------------------

    /// Adds a user with their own PIN: the store key is wrapped once more, no data is re-sealed.
    /// `current_pin` is the PIN of the user adding (the leader), checked like one typed at the
    /// unlock screen: the new PIN is compared with the duress PIN, and without this whoever
    /// holds the unlocked phone could test candidate duress PINs for free.
    pub fn add_user(
        &mut self,
        current_pin: &str,
        user: NewUser,
        params: KdfParams,
    ) -> Result<UserInfo> {
        self.require(Permission::ManageUsers)?;
        params.check()?;
        keys::check_pin(&user.pin)?;
        let display_name = required("display_name", &user.display_name)?;
        let me = self.session()?.user_id.clone();
        if !safety::counted_pin_check(self, |s| s.pin_opens_slot(&me, current_pin))? {
            return Err(Error::WrongPin);
        }
        // The duress PIN as someone's real PIN would open the real data instead of the decoy.
        safety::refuse_duress_pin(self, "pin", &user.pin)?;
        let session = self.session.as_ref().ok_or(Error::Locked)?;
        let id = new_id();
        let now = now_text();
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        write_user(
            &tx,
            self.device.as_ref(),
            &self.store_id,
            &session.store_key,
            &session.record_key,
            self.store_kid,
            &id,
            user.role,
            &display_name,
            &user.pin,
            params,
            [&now, &session.user_id, &now, &session.user_id],
        )?;
        trail::append(
            &tx,
            &self.store_id,
            session,
            NewEntry::new(AuditAction::UserAdd, Some(RecordKind::User), &id),
        )?;
        tx.commit()?;
        Ok(UserInfo {
            id,
            role: user.role,
        })
    }

    /// Whether `pin` (with this phone's device secret) opens `user_id`'s key slot.
    pub(crate) fn pin_opens_slot(&self, user_id: &str, pin: &str) -> Result<bool> {
        let slot = read_slot(&self.conn, user_id)?.ok_or(Error::UnknownUser)?;
        let kek = keys::user_kek(
            self.device.as_ref(),
            &self.store_id,
            user_id,
            pin,
            &slot.kdf,
        )?;
        let kid = key_id_of(RecordKind::User, user_id)?;
        Ok(crypto::open(&kek, kid, &slot_place(user_id), &slot.wrapped).is_ok())
    }

    /// The Argon2 cost of the unlocked user's key slot: what this phone was calibrated to
    /// when the store was made (or the PIN last set). The app uses it for new PINs.
    pub fn kdf_params(&self) -> Result<KdfParams> {
        let user_id = &self.session()?.user_id;
        let slot = read_slot(&self.conn, user_id)?.ok_or(Error::UnknownUser)?;
        Ok(slot.kdf.params)
    }

    /// Changes the unlocked user's PIN after checking the old one. Re-wraps the store key only.
    pub fn change_pin(&mut self, old_pin: &str, new_pin: &str, params: KdfParams) -> Result<()> {
        params.check()?;
        keys::check_pin(new_pin)?;
        let user_id = self.session()?.user_id.clone();
        // The old PIN is a PIN guess like one at the unlock screen: the same wait, the same
        // count and the same wipe, so an unlocked phone is no faster oracle for it.
        if !safety::counted_pin_check(self, |s| s.pin_opens_slot(&user_id, old_pin))? {
            return Err(Error::WrongPin);
        }
        safety::refuse_duress_pin(self, "pin", new_pin)?;
        let session = self.session.as_ref().ok_or(Error::Locked)?;
        let tx = rusqlite::Transaction::new_unchecked(&self.conn, TransactionBehavior::Immediate)?;
        self.rewrite_own_slot(&tx, new_pin, params)?;
        // The duress slot is re-sealed at every PIN change, so that setting the duress PIN
        // (which also re-wraps the leader's slot) rewrites exactly the same rows.
        safety::reseal_duress_slot(self, &tx)?;
        trail::append(
            &tx,
            &self.store_id,
            session,
            NewEntry::new(AuditAction::PinChange, Some(RecordKind::User), &user_id),
        )?;
        tx.commit()?;
        // The decoy carries each user's stamps, which just changed.
        safety::refresh_decoy(self)
    }

    /// Removes another user from the store (leader only). Her key slot, the only copy of the
    /// store key she could open, is deleted with her row (overwritten on disk: secure_delete),
    /// so her PIN opens nothing any more. Her past entries stay in the trail under her id and
    /// role, which the chain's MACs cover: it verifies as before. A leader cannot remove herself
    /// (another leader can), and the store always keeps a leader.
    pub fn remove_user(&mut self, user_id: &str) -> Result<()> {
        let session = self.require(Permission::ManageUsers)?;
        if user_id == session.user_id {
            return invalid("user_id", Reason::OwnAccount);
        }
        let users = self.users()?;
        let target = users
            .iter()
            .find(|u| u.id == user_id)
            .ok_or(Error::UnknownUser)?;
        // Unreachable while only leaders manage users (the one removing stays), kept so that a
        // wider permission can never leave a store nobody can manage.
        if target.role == UserRole::Leader
            && !users
                .iter()
                .any(|u| u.id != user_id && u.role == UserRole::Leader)
        {
            return invalid("user_id", Reason::LastLeader);
        }
        let tx = rusqlite::Transaction::new_unchecked(&self.conn, TransactionBehavior::Immediate)?;
        tx.execute("DELETE FROM users WHERE id = ?1", [user_id])?;
        trail::append(
            &tx,
            &self.store_id,
            session,
            NewEntry::new(AuditAction::Delete, Some(RecordKind::User), user_id),
        )?;
        tx.commit()?;
        // The duress decoy lists today's users.
        safety::refresh_decoy(self)
    }

    /// Sets a new PIN for another user who forgot hers (leader only). The leader's session
    /// holds the store key, so it is wrapped for her under the new PIN (new salt, cost
    /// `params`); the old slot is overwritten, so the old PIN opens nothing, and it is never
    /// read nor needed. `current_pin` is the leader's own PIN, checked like one at the unlock
    /// screen, as for `add_user`: the new PIN is compared with the duress PIN, which must not
    /// become a free test from an unlocked phone. In the trail as a `PinChange` of her account,
    /// by the leader, with the field `reset`. Her own PIN a leader changes with `change_pin`.
    pub fn reset_pin(
        &mut self,
        current_pin: &str,
        user_id: &str,
        new_pin: &str,
        params: KdfParams,
    ) -> Result<()> {
        let me = self.require(Permission::ManageUsers)?.user_id.clone();
        if user_id == me {
            return invalid("user_id", Reason::OwnAccount);
        }
        params.check()?;
        keys::check_pin(new_pin)?;
        if read_slot(&self.conn, user_id)?.is_none() {
            return Err(Error::UnknownUser);
        }
        if !safety::counted_pin_check(self, |s| s.pin_opens_slot(&me, current_pin))? {
            return Err(Error::WrongPin);
        }
        safety::refuse_duress_pin(self, "pin", new_pin)?;
        let tx = rusqlite::Transaction::new_unchecked(&self.conn, TransactionBehavior::Immediate)?;
        // Her slot and profile are rewritten with new update stamps by the leader.
        self.rewrite_slot(&tx, user_id, new_pin, params)?;
        let session = self.session()?;
        // As at every PIN change: the same rows change whether or not a duress PIN is set.
        safety::reseal_duress_slot(self, &tx)?;
        let mut entry = NewEntry::new(AuditAction::PinChange, Some(RecordKind::User), user_id);
        entry.fields = vec!["reset".into()];
        trail::append(&tx, &self.store_id, session, entry)?;
        tx.commit()?;
        // The decoy carries each user's stamps, which just changed.
        safety::refresh_decoy(self)
    }

    /// Wraps the store key anew for the unlocked user under `pin` (new salt) and re-seals her
    /// profile with new update stamps: what a PIN change writes to the users row.
    pub(crate) fn rewrite_own_slot(
        &self,
        conn: &Connection,
        pin: &str,
        params: KdfParams,
    ) -> Result<()> {
        let user_id = self.session()?.user_id.clone();
        self.rewrite_slot(conn, &user_id, pin, params)
    }

    /// Wraps the store key for `user_id` under `pin` (new salt, cost `params`) and re-seals her
    /// profile with new update stamps by the unlocked user (its seal binds them): her own PIN
    /// change, or the leader's reset of it.
    fn rewrite_slot(
        &self,
        conn: &Connection,
        user_id: &str,
        pin: &str,
        params: KdfParams,
    ) -> Result<()> {
        let session = self.session()?;
        let me = &session.user_id;
        let (salt, wrapped) = wrap_for_user(
            self.device.as_ref(),
            &self.store_id,
            &session.store_key,
            user_id,
            pin,
            params,
        )?;
        let old = open_profile(&self.conn, &session.record_key, self.store_kid, user_id)?;
        let now = now_text();
        let stamps = [old.stamps[0].as_str(), &old.stamps[1], &now, me];
        let profile = crypto::seal(
            &session.record_key,
            self.store_kid,
            &profile_place(user_id, &profile_bound(&old.role, stamps)),
            &to_json(&old.profile)?,
        )?;
        conn.execute(
            "UPDATE users SET kdf_salt = ?1, kdf_m_kib = ?2, kdf_t = ?3, kdf_p = ?4, \
             wrapped_key = ?5, profile = ?6, updated_at = ?7, updated_by = ?8 WHERE id = ?9",
            params![
                salt,
                params.m_kib,
                params.t,
                params.p,
                wrapped,
                profile,
                now,
                me,
                user_id
            ],
        )?;
        Ok(())
    }

    /// Writes a club row as it was, id and stamps kept, with no trail entry: only for the
    /// duress decoy, which copies the trail's entries itself (`version` is the copied entry
    /// that last wrote the club).
    pub(crate) fn put_club_as(
        &self,
        id: &str,
        info: &ClubInput,
        stamps: [String; 4],
        version: i64,
    ) -> Result<()> {
        let session = self.session()?;
        let raw = RawRow {
            id: id.to_owned(),
            owner: String::new(),
            extra: String::new(),
            body: Vec::new(),
            stamps,
            version,
        };
        let (key, kid) = self.key_for(session, &CLUBS, id, "")?;
        // Today's encoding and bucket, as every real club row: a decoy row must not stand out.
        let plain = body::encode(info, CLUBS.floor)?;
        let sealed = crypto::seal(key, kid, &place(&CLUBS, id, &raw.bound()), &plain)?;
        CLUBS.write(&self.conn, &raw, &sealed)
    }

    // ---- clubs --------------------------------------------------------------------------

    pub fn add_club(&mut self, input: &ClubInput) -> Result<Club> {
        self.require(Permission::WriteRecords)?;
        let info = input.normalized()?;
        let id = new_id();
        let stamp = self.write_record(&CLUBS, &id, "", "", &info, None)?;
        Ok(Club { id, info, stamp })
    }

    pub fn update_club(&mut self, id: &str, input: &ClubInput) -> Result<Club> {
        self.require(Permission::WriteRecords)?;
        let info = input.normalized()?;
        let old = CLUBS.read_one(&self.conn, id)?;
        let stamp = self.write_record(&CLUBS, id, "", "", &info, Some(&old))?;
        Ok(Club {
            id: id.to_owned(),
            info,
            stamp,
        })
    }

    pub fn club(&self, id: &str) -> Result<Club> {
        let raw = CLUBS.read_one(&self.conn, id)?;
        let (info, stamp) = self.open_record(&CLUBS, &raw)?;
        Ok(Club {
            id: raw.id,
            info,
            stamp,
        })
    }

    /// All clubs on this phone, in Vietnamese order of their names.
    pub fn clubs(&self) -> Result<Vec<Club>> {
        self.session()?;
        let rows = CLUBS.read(&self.conn, "WHERE ?1 = ''", "")?;
        let mut out = self.open_each(&CLUBS, rows, |raw| {
            let (info, stamp) = self.open_record::<ClubInput>(&CLUBS, raw)?;
            Ok(Club {
                id: raw.id.clone(),
                info,
                stamp,
            })
        })?;
        out.sort_by_cached_key(|c| crate::text::text_sort_key(&c.info.name));
        Ok(out)
    }

    /// Opens each row of a list. One that fails its integrity check is set aside (it shows in
    /// `damaged_records`) so that the rest of the list still shows.
    fn open_each<T>(
        &self,
        table: &Table,
        rows: Vec<RawRow>,
        open: impl Fn(&RawRow) -> Result<T>,
    ) -> Result<Vec<T>> {
        let session = self.session()?;
        let mut out = Vec::with_capacity(rows.len());
        for raw in &rows {
            match open(raw) {
                Ok(v) => out.push(v),
                Err(Error::Integrity { kind, id }) => {
                    let reason =
                        trail_mismatch(&self.conn, table, raw)?.unwrap_or(DamageReason::Unreadable);
                    let entry = Damaged {
                        kind,
                        id,
                        owner: raw.owner.clone(),
                        reason,
                    };
                    let mut damaged = session.damaged.borrow_mut();
                    if !damaged.contains(&entry) {
                        damaged.push(entry);
                    }
                }
                Err(e) => return Err(e),
            }
        }
        Ok(out)
    }

    // ---- members ------------------------------------------------------------------------

    /// Adds a member with a key of their own (for crypto-shredding one member later).
    pub fn add_member(&mut self, club_id: &str, input: &MemberInput) -> Result<Member> {
        let mut added = self.add_members(club_id, std::slice::from_ref(input))?;
        added.pop().ok_or_else(|| Error::NotFound {
            kind: RecordKind::Member,
            id: String::new(),
        })
    }

    /// Adds members in one transaction: one fsync for the batch, each member still with her own
    /// key and her own trail entry. All go in, or (on any invalid input or error) none does.
    pub fn add_members(&mut self, club_id: &str, inputs: &[MemberInput]) -> Result<Vec<Member>> {
        self.add_members_with_progress(club_id, inputs, &mut |_| {})
    }

    /// [`Store::add_members`], calling `progress` with the count written so far (the commit,
    /// one fsync, follows the last).
    pub fn add_members_with_progress(
        &mut self,
        club_id: &str,
        inputs: &[MemberInput],
        progress: &mut dyn FnMut(usize),
    ) -> Result<Vec<Member>> {
        self.require(Permission::WriteRecords)?;
        let today = today();
        let infos = inputs
            .iter()
            .map(|input| {
                let info = input.normalized(today)?;
                if info.survivor_status == SurvivorStatus::Withheld {
                    return invalid("survivor_status", Reason::Missing);
                }
                Ok(info)
            })
            .collect::<Result<Vec<_>>>()?;
        CLUBS.require(&self.conn, club_id)?;
        let session = self.session.as_mut().ok_or(Error::Locked)?;
        let now = now_text();
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let mut added = Vec::with_capacity(infos.len());
        let mut trail = trail::Batch::start(&tx, session, &self.store_id)?;
        for info in infos {
            let id = new_id();
            let member_key = Box::new(SecretKey::generate()?);
            let wrapped = crypto::seal(
                &session.member_wrap,
                self.store_kid,
                &member_key_place(&id),
                member_key.as_bytes(),
            )?;
            let body = body::encode(&info, MEMBERS.floor)?;
            let raw = RawRow {
                id: id.clone(),
                owner: club_id.to_owned(),
                extra: String::new(),
                body: Vec::new(),
                stamps: [
                    now.clone(),
                    session.user_id.clone(),
                    now.clone(),
                    session.user_id.clone(),
                ],
                version: trail.next_seq(),
            };
            let sealed = crypto::seal(
                &member_key,
                key_id_of(RecordKind::Member, &id)?,
                &place(&MEMBERS, &raw.id, &raw.bound()),
                &body,
            )?;
            tx.prepare_cached("INSERT INTO member_keys (member_id, wrapped_key) VALUES (?1, ?2)")?
                .execute(params![id, wrapped])?;
            MEMBERS.write(&tx, &raw, &sealed)?;
            let seq = trail.append(
                &tx,
                session,
                &self.store_id,
                NewEntry::new(AuditAction::Create, Some(RecordKind::Member), &id),
            )?;
            check_written(seq, &raw)?;
            let member = Member {
                id,
                club_id: club_id.to_owned(),
                stamp: raw.stamp(RecordKind::Member)?,
                info,
            };
            added.push((member, member_key));
            progress(added.len());
        }
        trail.finish(&tx, session)?;
        tx.commit()?;
        // Only once it is durable does the session learn of it: a failed batch leaves no trace.
        let mut out = Vec::with_capacity(added.len());
        for (member, member_key) in added {
            session.member_keys.insert(member.id.clone(), member_key);
            session.index.upsert(&member);
            out.push(member);
        }
        Ok(out.into_iter().map(|m| self.masked(m)).collect())
    }

    /// What importing `table` into a club would do: rows ready, likely duplicates of members
    /// already here (same folded name, birth year and village) or of earlier rows, and rows
    /// refused with their line and reason. Writes nothing. The outer error is the store's (locked,
    /// not allowed, no such club); the inner one says why the file as a whole cannot be read.
    pub fn plan_member_import(
        &self,
        club_id: &str,
        table: &import::Table,
        options: &import::ImportOptions,
    ) -> Result<std::result::Result<import::ImportPlan, import::ImportError>> {
        self.require(Permission::WriteRecords)?;
        CLUBS.require(&self.conn, club_id)?;
        let session = self.session()?;
        let mut existing = session.index.by_person();
        let plan = import::plan(table, options, today(), |key| existing.get(key).cloned());
        // A copy of every member's folded name and village: wiped like the index it came from.
        for ((mut name, _, mut village), _) in existing.drain() {
            name.zeroize();
            village.zeroize();
        }
        Ok(plan)
    }

    /// Writes a plan's rows (see [`import::ImportPlan::to_add`]) in one transaction.
    pub fn import_members(
        &mut self,
        club_id: &str,
        plan: &import::ImportPlan,
        allow_duplicates: bool,
    ) -> Result<Vec<Member>> {
        // Never a survivor status from a file, whatever the plan was made of.
        let inputs: Vec<MemberInput> = plan
            .to_add(allow_duplicates)
            .into_iter()
            .map(|r| MemberInput {
                survivor_status: SurvivorStatus::NotASurvivor,
                ..r.input.clone()
            })
            .collect();
        self.add_members(club_id, &inputs)
    }

    pub fn update_member(&mut self, id: &str, input: &MemberInput) -> Result<Member> {
        self.require(Permission::WriteRecords)?;
        let mut info = input.normalized(today())?;
        let old = MEMBERS.read_one(&self.conn, id)?;
        let stored = open_member(&self.conn, self.session()?, &old)?.info;
        if info.survivor_status == SurvivorStatus::Withheld {
            // A role that cannot read the status sends it back withheld: keep what is stored.
            info.survivor_status = stored.survivor_status;
        }
        if info.phone.is_none() && !stored.safe_to_contact {
            // The form never showed the hidden number: keep it rather than erase it. (To remove
            // it, mark the member safe first, then clear the number.)
            info.phone = stored.phone;
        }
        let stamp = self.write_record(&MEMBERS, id, &old.owner, "", &info, Some(&old))?;
        let member = Member {
            id: id.to_owned(),
            club_id: old.owner,
            info,
            stamp,
        };
        if let Some(s) = self.session.as_mut() {
            s.index.upsert(&member);
        }
        Ok(self.masked(member))
    }

    /// An edit in one step, for a form that changes some values and keeps the rest (the CLI's
    /// `member edit`): the member as this user may see her (as `member` shows her) goes to
    /// `change`, then is written back by `update_member`. The trail gets the update alone: the
    /// read only fed the write. When `change` or the write refuses, nothing is written and the
    /// read is noted instead.
    pub fn edit_member<E: From<Error>>(
        &mut self,
        id: &str,
        change: impl FnOnce(&mut MemberInput) -> Result<(), E>,
    ) -> Result<Member, E> {
        self.edit(
            RecordKind::Member,
            id,
            |s| Ok(s.member_as_shown(id)?.info),
            change,
            |s, info| s.update_member(id, info),
        )
    }

    /// `edit_member` for a meeting (`update_meeting`).
    pub fn edit_meeting<E: From<Error>>(
        &mut self,
        id: &str,
        change: impl FnOnce(&mut MeetingInput) -> Result<(), E>,
    ) -> Result<Meeting, E> {
        self.edit(
            RecordKind::Meeting,
            id,
            |s| {
                let raw = MEETINGS.read_one(&s.conn, id)?;
                Ok(s.open_record::<MeetingInput>(&MEETINGS, &raw)?.0)
            },
            change,
            |s, info| s.update_meeting(id, info),
        )
    }

    /// `edit_member` for a referral (`update_referral`: drafts only).
    pub fn edit_referral<E: From<Error>>(
        &mut self,
        id: &str,
        change: impl FnOnce(&mut ReferralInput) -> Result<(), E>,
    ) -> Result<Referral, E> {
        self.edit(
            RecordKind::Referral,
            id,
            |s| Ok(s.load_referral(id)?.info),
            change,
            |s, info| s.update_referral(id, info),
        )
    }

    /// Read, change, write, with one trail entry: the write's, or the read's if none is written.
    fn edit<I, R, E: From<Error>>(
        &mut self,
        kind: RecordKind,
        id: &str,
        read: impl FnOnce(&Self) -> Result<I>,
        change: impl FnOnce(&mut I) -> Result<(), E>,
        write: impl FnOnce(&mut Self, &I) -> Result<R>,
    ) -> Result<R, E> {
        // Refused before anything is read: an edit is no way to read without a trace.
        self.require(Permission::WriteRecords)?;
        let mut info = read(self)?;
        let outcome = change(&mut info).and_then(|()| write(self, &info).map_err(E::from));
        if outcome.is_err() {
            self.note_read(kind, id, Vec::new())?;
        }
        outcome
    }

    /// One member's full record. Survivor status is withheld from roles that may not read it.
    /// The read is noted in the audit trail.
    pub fn member(&self, id: &str) -> Result<Member> {
        let member = self.member_as_shown(id)?;
        self.note_read(RecordKind::Member, id, Vec::new())?;
        Ok(member)
    }

    /// A member as the unlocked user may see her; the caller notes the read.
    fn member_as_shown(&self, id: &str) -> Result<Member> {
        let raw = MEMBERS.read_one(&self.conn, id)?;
        let member = open_member(&self.conn, self.require(Permission::ReadRecords)?, &raw)?;
        Ok(self.masked(member))
    }

    /// A member as the unlocked user's role may see her. Every call that hands a member back
    /// (read, create, update) goes through here, so a write never returns what a read withholds.
    fn masked(&self, mut member: Member) -> Member {
        if !self.may(Permission::ReadSurvivorStatus) {
            member.info.survivor_status = SurvivorStatus::Withheld;
        }
        // Someone who must not be contacted has no number on any screen (see contact_phone).
        if !member.info.safe_to_contact {
            member.info.phone = None;
        }
        member
    }

    /// A member with her consents, livelihood support and referrals: the member screen.
    pub fn member_detail(&self, id: &str) -> Result<MemberDetail> {
        let detail = MemberDetail {
            member: self.member_as_shown(id)?,
            consents: self.load_consents_for(id)?,
            livelihood: self.load_livelihood_for(id)?,
            referrals: self.load_referrals_for(id)?,
        };
        // One entry for the whole screen, naming what it showed besides her record.
        let shown = ["consents", "livelihood", "referrals"].map(String::from);
        self.note_read(RecordKind::Member, id, shown.to_vec())?;
        Ok(detail)
    }

    /// Search by name ignoring case and diacritics, filtered by club, village and ethnic group,
    /// in Vietnamese name order. Lists never show survivor status.
    pub fn search_members(&self, filter: &MemberFilter) -> Result<Vec<MemberSummary>> {
        Ok(self.session()?.index.search(filter))
    }

    /// A club's member list, in Vietnamese name order.
    pub fn list_members(&self, club_id: &str) -> Result<Vec<MemberSummary>> {
        self.search_members(&MemberFilter {
            club_id: Some(club_id.to_owned()),
            ..MemberFilter::default()
        })
    }

    pub fn member_count(&self) -> Result<usize> {
        Ok(self.session()?.index.len())
    }

    // ---- consent ------------------------------------------------------------------------

    pub fn add_consent(&mut self, input: &ConsentInput) -> Result<Consent> {
        self.require(Permission::WriteRecords)?;
        let info = input.normalized(today())?;
        MEMBERS.require(&self.conn, &info.member_id)?;
        let body = ConsentBody {
            info,
            withdrawn_on: None,
        };
        let id = new_id();
        let owner = body.info.member_id.clone();
        let stamp = self.write_record(&CONSENTS, &id, &owner, "", &body, None)?;
        Ok(Consent {
            id,
            info: body.info,
            withdrawn_on: None,
            stamp,
        })
    }

    /// One consent (noted in the trail as a read).
    pub fn consent(&self, id: &str) -> Result<Consent> {
        let consent = self.load_consent(id)?;
        self.note_read(RecordKind::Consent, id, Vec::new())?;
        Ok(consent)
    }

    pub(crate) fn load_consent(&self, id: &str) -> Result<Consent> {
        let raw = CONSENTS.read_one(&self.conn, id)?;
        self.open_consent(&raw)
    }

    /// A member's consents, oldest first; noted as a read of her that showed them.
    pub fn consents_for(&self, member_id: &str) -> Result<Vec<Consent>> {
        let list = self.load_consents_for(member_id)?;
        self.note_read(RecordKind::Member, member_id, vec!["consents".to_owned()])?;
        Ok(list)
    }

    fn load_consents_for(&self, member_id: &str) -> Result<Vec<Consent>> {
        self.session()?;
        let rows = CONSENTS.read(
            &self.conn,
            "WHERE member_id = ?1 ORDER BY created_at",
            member_id,
        )?;
        self.open_each(&CONSENTS, rows, |raw| self.open_consent(raw))
    }

    fn open_consent(&self, raw: &RawRow) -> Result<Consent> {
        let (body, stamp): (ConsentBody, Stamp) = self.open_record(&CONSENTS, raw)?;
        Ok(Consent {
            id: raw.id.clone(),
            info: body.info,
            withdrawn_on: body.withdrawn_on,
            stamp,
        })
    }

    /// Withdraws consent. Every referral that relied on it and is not finished stops.
    pub fn withdraw_consent(&mut self, id: &str, on: NaiveDate) -> Result<Consent> {
        self.require(Permission::WriteRecords)?;
        let raw = CONSENTS.read_one(&self.conn, id)?;
        let mut consent = self.open_consent(&raw)?;
        if consent.withdrawn_on.is_some() {
            return invalid("withdrawn_on", Reason::ConsentWithdrawn);
        }
        if on > today() {
            return invalid("withdrawn_on", Reason::InFuture);
        }
        consent.withdrawn_on = Some(on);
        let body = ConsentBody {
            info: consent.info.clone(),
            withdrawn_on: consent.withdrawn_on,
        };
        consent.stamp = self.write_record(&CONSENTS, id, &raw.owner, "", &body, Some(&raw))?;
        for referral in self.load_referrals_for(&consent.info.member_id)? {
            if referral.info.consent_id.as_deref() == Some(id) && !referral.state.is_final() {
                self.move_referral(&referral.id, ReferralState::Withdrawn, "consent withdrawn")?;
            }
        }
        Ok(consent)
    }

    // ---- meetings -----------------------------------------------------------------------

    pub fn record_meeting(&mut self, input: &MeetingInput) -> Result<Meeting> {
        self.require(Permission::WriteRecords)?;
        let info = self.check_meeting(input)?;
        let id = new_id();
        let stamp = self.write_record(
            &MEETINGS,
            &id,
            &info.club_id,
            &info.date.to_string(),
            &info,
            None,
        )?;
        Ok(Meeting { id, info, stamp })
    }

    pub fn update_meeting(&mut self, id: &str, input: &MeetingInput) -> Result<Meeting> {
        self.require(Permission::WriteRecords)?;
        let old = MEETINGS.read_one(&self.conn, id)?;
        if old.owner != input.club_id {
            return invalid(
                "club_id",
                Reason::NotAllowedInState {
                    state: "recorded".into(),
                },
            );
        }
        let info = self.check_meeting(input)?;
        let stamp = self.write_record(
            &MEETINGS,
            id,
            &info.club_id,
            &info.date.to_string(),
            &info,
            Some(&old),
        )?;
        Ok(Meeting {
            id: id.to_owned(),
            info,
            stamp,
        })
    }

    fn check_meeting(&self, input: &MeetingInput) -> Result<MeetingInput> {
        self.session()?;
        let info = input.normalized(today())?;
        CLUBS.require(&self.conn, &info.club_id)?;
        let mut stmt = self
            .conn
            .prepare_cached("SELECT club_id FROM members WHERE id = ?1")?;
        for member_id in &info.attendees {
            let club: Option<String> = stmt.query_row([member_id], |r| r.get(0)).optional()?;
            if club.as_deref() != Some(info.club_id.as_str()) {
                return invalid(
                    "attendees",
                    Reason::NotClubMember {
                        member_id: member_id.clone(),
                    },
                );
            }
        }
        Ok(info)
    }

    /// One meeting with its notes; the read is noted in the audit trail.
    pub fn meeting(&self, id: &str) -> Result<Meeting> {
        let raw = MEETINGS.read_one(&self.conn, id)?;
        let (info, stamp) = self.open_record(&MEETINGS, &raw)?;
        self.note_read(RecordKind::Meeting, id, Vec::new())?;
        Ok(Meeting {
            id: raw.id,
            info,
            stamp,
        })
    }

    /// A club's meetings, newest first, with their notes and attendance; noted in the trail.
    pub fn meetings(&self, club_id: &str) -> Result<Vec<Meeting>> {
        let meetings = self.meetings_of(club_id)?;
        // Every meeting's notes and attendance in one read: noted as such, on the club.
        self.note_read(RecordKind::Club, club_id, vec!["meetings".into()])?;
        Ok(meetings)
    }

    /// The same, unnoted: for reports and audit findings, which are noted as a whole (and
    /// must work on a trail that is broken).
    pub(crate) fn meetings_of(&self, club_id: &str) -> Result<Vec<Meeting>> {
        self.session()?;
        let rows = MEETINGS.read(
            &self.conn,
            "WHERE club_id = ?1 ORDER BY meeting_date DESC, created_at DESC",
            club_id,
        )?;
        self.open_each(&MEETINGS, rows, |raw| {
            let (info, stamp) = self.open_record(&MEETINGS, raw)?;
            Ok(Meeting {
                id: raw.id.clone(),
                info,
                stamp,
            })
        })
    }

    // ---- livelihood support -------------------------------------------------------------

    pub fn add_livelihood(&mut self, input: &LivelihoodInput) -> Result<Livelihood> {
        self.require(Permission::WriteRecords)?;
        let info = input.normalized(today())?;
        MEMBERS.require(&self.conn, &info.member_id)?;
        let body = LivelihoodBody {
            info,
            follow_ups: Vec::new(),
        };
        let id = new_id();
        let owner = body.info.member_id.clone();
        let stamp = self.write_record(&LIVELIHOOD, &id, &owner, "", &body, None)?;
        Ok(Livelihood {
            id,
            info: body.info,
            follow_ups: body.follow_ups,
            stamp,
        })
    }

    /// Adds a follow-up outcome (income, still working, needs more help) to a support record.
    pub fn add_livelihood_follow_up(
        &mut self,
        id: &str,
        follow_up: &SupportFollowUp,
    ) -> Result<Livelihood> {
        self.require(Permission::WriteRecords)?;
        let follow_up = follow_up.normalized(today())?;
        let raw = LIVELIHOOD.read_one(&self.conn, id)?;
        let (mut body, _): (LivelihoodBody, Stamp) = self.open_record(&LIVELIHOOD, &raw)?;
        body.follow_ups.push(follow_up);
        body.follow_ups.sort_by_key(|f| f.date);
        let stamp = self.write_record(&LIVELIHOOD, id, &raw.owner, "", &body, Some(&raw))?;
        Ok(Livelihood {
            id: id.to_owned(),
            info: body.info,
            follow_ups: body.follow_ups,
            stamp,
        })
    }

    /// A member's livelihood support, oldest first; noted as a read of her that showed it.
    pub fn livelihood_for(&self, member_id: &str) -> Result<Vec<Livelihood>> {
        let list = self.load_livelihood_for(member_id)?;
        self.note_read(RecordKind::Member, member_id, vec!["livelihood".to_owned()])?;
        Ok(list)
    }

    fn load_livelihood_for(&self, member_id: &str) -> Result<Vec<Livelihood>> {
        self.session()?;
        let rows = LIVELIHOOD.read(
            &self.conn,
            "WHERE member_id = ?1 ORDER BY created_at",
            member_id,
        )?;
        self.open_each(&LIVELIHOOD, rows, |raw| {
            let (body, stamp): (LivelihoodBody, Stamp) = self.open_record(&LIVELIHOOD, raw)?;
            Ok(Livelihood {
                id: raw.id.clone(),
                info: body.info,
                follow_ups: body.follow_ups,
                stamp,
            })
        })
    }

    // ---- referrals ----------------------------------------------------------------------

    /// Creates a referral as a draft. It becomes ready only with consent that covers it.
    pub fn create_referral(&mut self, input: &ReferralInput) -> Result<Referral> {
        self.require(Permission::WriteRecords)?;
        let info = input.normalized()?;
        MEMBERS.require(&self.conn, &info.member_id)?;
        if let Some(cid) = &info.consent_id {
            CONSENTS.require(&self.conn, cid)?;
        }
        let user = self.session()?.user_id.clone();
        let body = ReferralBody {
            info,
            history: vec![StateChange {
                state: ReferralState::Draft,
                at: Utc::now(),
                by: user,
                note: String::new(),
            }],
        };
        let id = new_id();
        let owner = body.info.member_id.clone();
        let stamp = self.write_record(
            &REFERRALS,
            &id,
            &owner,
            ReferralState::Draft.as_str(),
            &body,
            None,
        )?;
        Ok(Referral {
            id,
            info: body.info,
            state: ReferralState::Draft,
            history: body.history,
            stamp,
        })
    }

    /// Edits a draft referral.
    pub fn update_referral(&mut self, id: &str, input: &ReferralInput) -> Result<Referral> {
        self.require(Permission::WriteRecords)?;
        let info = input.normalized()?;
        let raw = REFERRALS.read_one(&self.conn, id)?;
        let mut referral = self.open_referral(&raw)?;
        if referral.state != ReferralState::Draft {
            return invalid(
                "state",
                Reason::NotAllowedInState {
                    state: referral.state.as_str().into(),
                },
            );
        }
        if info.member_id != referral.info.member_id {
            return invalid(
                "member_id",
                Reason::NotAllowedInState {
                    state: referral.state.as_str().into(),
                },
            );
        }
        if let Some(cid) = &info.consent_id {
            CONSENTS.require(&self.conn, cid)?;
        }
        let body = ReferralBody {
            info,
            history: referral.history.clone(),
        };
        referral.stamp =
            self.write_record(&REFERRALS, id, &raw.owner, &raw.extra, &body, Some(&raw))?;
        referral.info = body.info;
        Ok(referral)
    }

    /// Draft -> ready: checks that the referral's consent covers its services, recipient and
    /// every field it will share.
    pub fn mark_referral_ready(&mut self, id: &str) -> Result<Referral> {
        self.require(Permission::WriteRecords)?;
        let referral = self.load_referral(id)?;
        let Some(consent_id) = referral.info.consent_id.as_deref() else {
            return invalid("consent", Reason::NoConsent);
        };
        let consent = self.load_consent(consent_id)?;
        check_consent_covers(&consent, &referral.info)?;
        self.move_referral(id, ReferralState::Ready, "")
    }

    /// The sender withdraws the referral; allowed at any stage before it is finished.
    pub fn withdraw_referral(&mut self, id: &str, note: &str) -> Result<Referral> {
        self.require(Permission::WriteRecords)?;
        self.move_referral(id, ReferralState::Withdrawn, note)
    }

    fn move_referral(&mut self, id: &str, next: ReferralState, note: &str) -> Result<Referral> {
        let referral_id = id.to_owned();
        self.move_referral_with(id, next, note, move |conn| {
            if next == ReferralState::Withdrawn {
                // Withdrawing (or withdrawing the consent) stops it at any stage: a referral
                // still waiting in the outbox never leaves the phone.
                conn.prepare_cached(
                    "DELETE FROM outbox WHERE referral_id = ?1 AND state = 'pending'",
                )?
                .execute([&referral_id])?;
            }
            Ok(())
        })
    }

    /// Moves a referral and runs `also` in the same transaction (the outbox row, say).
    pub(crate) fn move_referral_with(
        &mut self,
        id: &str,
        next: ReferralState,
        note: &str,
        also: impl FnOnce(&Connection) -> Result<()>,
    ) -> Result<Referral> {
        let note = long_text("note", note)?;
        let raw = REFERRALS.read_one(&self.conn, id)?;
        let mut referral = self.open_referral(&raw)?;
        if !referral.state.can_move_to(next) {
            return invalid(
                "state",
                Reason::NotAllowedInState {
                    state: referral.state.as_str().into(),
                },
            );
        }
        referral.history.push(StateChange {
            state: next,
            at: Utc::now(),
            by: self.session()?.user_id.clone(),
            note,
        });
        let body = ReferralBody {
            info: referral.info.clone(),
            history: referral.history.clone(),
        };
        referral.stamp = self.write_record_with(
            &REFERRALS,
            id,
            &raw.owner,
            next.as_str(),
            &body,
            Some(&raw),
            also,
        )?;
        referral.state = next;
        Ok(referral)
    }

    /// A state the province reported (already verified), in its own words and time.
    /// A referral the phone withdrew, or one already finished, keeps its state.
    /// `also` runs in the same transaction (the status cursor), even when the state is kept.
    pub(crate) fn record_remote_state(
        &mut self,
        id: &str,
        change: StateChange,
        also: impl FnOnce(&Connection) -> Result<()>,
    ) -> Result<()> {
        let raw = REFERRALS.read_one(&self.conn, id)?;
        let mut referral = self.open_referral(&raw)?;
        if referral.state.is_final() {
            let tx =
                rusqlite::Transaction::new_unchecked(&self.conn, TransactionBehavior::Immediate)?;
            also(&tx)?;
            tx.commit()?;
            return Ok(());
        }
        let next = change.state;
        referral.history.push(change);
        let body = ReferralBody {
            info: referral.info,
            history: referral.history,
        };
        self.write_record_with(
            &REFERRALS,
            id,
            &raw.owner,
            next.as_str(),
            &body,
            Some(&raw),
            also,
        )?;
        Ok(())
    }

    /// A member, for building a referral payload (the sync is noted in the trail instead).
    pub(crate) fn member_unlogged(&self, id: &str) -> Result<Member> {
        let raw = MEMBERS.read_one(&self.conn, id)?;
        open_member(&self.conn, self.require(Permission::ReadRecords)?, &raw)
    }

    /// One referral; the read is noted in the audit trail.
    pub fn referral(&self, id: &str) -> Result<Referral> {
        let referral = self.load_referral(id)?;
        self.note_read(RecordKind::Referral, id, Vec::new())?;
        Ok(referral)
    }

    pub(crate) fn load_referral(&self, id: &str) -> Result<Referral> {
        let raw = REFERRALS.read_one(&self.conn, id)?;
        self.open_referral(&raw)
    }

    /// A member's referrals, oldest first; noted as a read of her that showed them.
    pub fn referrals_for(&self, member_id: &str) -> Result<Vec<Referral>> {
        let list = self.load_referrals_for(member_id)?;
        self.note_read(RecordKind::Member, member_id, vec!["referrals".to_owned()])?;
        Ok(list)
    }

    pub(crate) fn load_referrals_for(&self, member_id: &str) -> Result<Vec<Referral>> {
        self.session()?;
        let rows = REFERRALS.read(
            &self.conn,
            "WHERE member_id = ?1 ORDER BY created_at",
            member_id,
        )?;
        self.open_each(&REFERRALS, rows, |raw| self.open_referral(raw))
    }

    fn open_referral(&self, raw: &RawRow) -> Result<Referral> {
        let (body, stamp): (ReferralBody, Stamp) = self.open_record(&REFERRALS, raw)?;
        let state = ReferralState::parse(&raw.extra).ok_or_else(|| Error::Integrity {
            kind: RecordKind::Referral,
            id: raw.id.clone(),
        })?;
        Ok(Referral {
            id: raw.id.clone(),
            info: body.info,
            state,
            history: body.history,
            stamp,
        })
    }

    // ---- sealing helpers ----------------------------------------------------------------

    fn key_for<'s>(
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
        member_key(session, table.kind, row_id, member_id)
    }

    /// Seals `body` and inserts or replaces the row, keeping `created_*` of `old`.
    fn write_record<T: Serialize + DeserializeOwned>(
        &mut self,
        table: &Table,
        id: &str,
        owner: &str,
        extra: &str,
        body: &T,
        old: Option<&RawRow>,
    ) -> Result<Stamp> {
        self.write_record_with(table, id, owner, extra, body, old, |_| Ok(()))
    }

    #[allow(clippy::too_many_arguments)]
    fn write_record_with<T: Serialize + DeserializeOwned>(
        &mut self,
        table: &Table,
        id: &str,
        owner: &str,
        extra: &str,
        body: &T,
        old: Option<&RawRow>,
        also: impl FnOnce(&Connection) -> Result<()>,
    ) -> Result<Stamp> {
        let session = self.require(Permission::WriteRecords)?;
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
                let before: T = self.open_record(table, o)?.0;
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
        let tx = rusqlite::Transaction::new_unchecked(&self.conn, TransactionBehavior::Immediate)?;
        // The row's version is the entry written with it, read inside this transaction.
        let raw = RawRow {
            id: id.to_owned(),
            owner: owner.to_owned(),
            extra: extra.to_owned(),
            body: Vec::new(),
            stamps,
            version: trail::next_seq(&tx)?,
        };
        let sealed = crypto::seal(key, kid, &place(table, id, &raw.bound()), &plain)?;
        table.write(&tx, &raw, &sealed)?;
        also(&tx)?;
        let mut entry = NewEntry::new(action, Some(table.kind), id);
        entry.fields = fields;
        let seq = trail::append(&tx, &self.store_id, session, entry)?;
        check_written(seq, &raw)?;
        tx.commit()?;
        raw.stamp(table.kind)
    }

    fn open_record<T: DeserializeOwned>(&self, table: &Table, raw: &RawRow) -> Result<(T, Stamp)> {
        let session = self.require(Permission::ReadRecords)?;
        let (key, kid) = self.key_for(session, table, &raw.id, &raw.owner)?;
        let plain = crypto::open(key, kid, &place(table, &raw.id, &raw.bound()), &raw.body)?;
        check_current(&self.conn, table, raw)?;
        let value = body::decode(&plain).ok_or_else(|| Error::Integrity {
            kind: table.kind,
            id: raw.id.clone(),
        })?;
        Ok((value, raw.stamp(table.kind)?))
    }
}

fn member_key<'s>(
    session: &'s Session,
    kind: RecordKind,
    row_id: &str,
    member_id: &str,
) -> Result<(&'s SecretKey, KeyId)> {
    let key: &SecretKey = session
        .member_keys
        .get(member_id)
        .ok_or_else(|| Error::Integrity {
            kind,
            id: row_id.to_owned(),
        })?;
    Ok((key, key_id_of(kind, member_id)?))
}

fn open_member(conn: &Connection, session: &Session, raw: &RawRow) -> Result<Member> {
    let (key, kid) = member_key(session, RecordKind::Member, &raw.id, &raw.id)?;
    let plain = crypto::open(key, kid, &place(&MEMBERS, &raw.id, &raw.bound()), &raw.body)?;
    check_current(conn, &MEMBERS, raw)?;
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
fn reencode(table: &Table, plain: &[u8]) -> Result<Zeroizing<Vec<u8>>> {
    fn again<T: Serialize + DeserializeOwned>(
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
    trail::append(
        conn,
        store_id,
        session,
        NewEntry::new(AuditAction::Update, Some(RecordKind::Audit), RESEAL_MARK),
    )?;
    Ok(())
}

/// The entry just appended must be the one the row was sealed with.
fn check_written(seq: i64, raw: &RawRow) -> Result<()> {
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
fn judge(
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
fn owned_by_member(table: &Table) -> bool {
    table.member_owned && table.kind != RecordKind::Member
}

/// How a row stands against the trail, read from the file: `None` when it is current.
fn trail_mismatch(conn: &Connection, table: &Table, raw: &RawRow) -> Result<Option<DamageReason>> {
    let owner_erased = owned_by_member(table)
        && matches!(
            trail::last_write(conn, RecordKind::Member, &raw.owner)?,
            Some((_, AuditAction::Delete))
        );
    let last = trail::last_write(conn, table.kind, &raw.id)?;
    Ok(judge(last, owner_erased, raw.version))
}

/// A row that opened is shown only if it is the version the trail last wrote: an older copy
/// put back into the file (a withdrawn consent restored, an erasure undone) is refused.
fn check_current(conn: &Connection, table: &Table, raw: &RawRow) -> Result<()> {
    match trail_mismatch(conn, table, raw)? {
        None => Ok(()),
        Some(_) => Err(Error::Integrity {
            kind: table.kind,
            id: raw.id.clone(),
        }),
    }
}

fn place<'a>(table: &Table, id: &'a str, bound: &'a str) -> Place<'a> {
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

pub(crate) fn slot_place(user_id: &str) -> Place<'_> {
    Place {
        table: "users",
        kind: RecordKind::User,
        id: user_id,
        bound: "wrapped_key",
    }
}

/// A user's role and stamps, bound into the seal of their profile.
pub(crate) fn profile_bound(role: &str, stamps: [&str; 4]) -> String {
    format!("{role}\u{1f}{}", stamps.join("\u{1f}"))
}

pub(crate) fn profile_place<'a>(user_id: &'a str, bound: &'a str) -> Place<'a> {
    Place {
        table: "users",
        kind: RecordKind::User,
        id: user_id,
        bound,
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

/// One member's key from its row of `member_keys`: it must open under the member-key wrapping
/// key at that member's place, and be a whole key.
pub(crate) fn unwrap_member_key(
    member_wrap: &SecretKey,
    store_kid: KeyId,
    member_id: &str,
    wrapped: &[u8],
) -> Result<SecretKey> {
    let plain = crypto::open(
        member_wrap,
        store_kid,
        &member_key_place(member_id),
        wrapped,
    )?;
    SecretKey::from_slice(&plain)
}

#[derive(Serialize, Deserialize)]
pub(crate) struct UserProfile {
    pub(crate) display_name: String,
}

pub(crate) struct OpenedProfile {
    pub(crate) role: String,
    pub(crate) stamps: [String; 4],
    pub(crate) profile: UserProfile,
}

pub(crate) fn open_profile(
    conn: &Connection,
    record_key: &SecretKey,
    store_kid: KeyId,
    user_id: &str,
) -> Result<OpenedProfile> {
    let (role, profile, stamps): (String, Vec<u8>, [String; 4]) = conn.query_row(
        "SELECT role, profile, created_at, created_by, updated_at, updated_by \
         FROM users WHERE id = ?1",
        [user_id],
        |r| {
            Ok((
                r.get(0)?,
                r.get(1)?,
                [r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?],
            ))
        },
    )?;
    let bound = profile_bound(&role, [&stamps[0], &stamps[1], &stamps[2], &stamps[3]]);
    let plain = crypto::open(
        record_key,
        store_kid,
        &profile_place(user_id, &bound),
        &profile,
    )?;
    let profile = serde_json::from_slice(&plain).map_err(|_| Error::Integrity {
        kind: RecordKind::User,
        id: user_id.to_owned(),
    })?;
    Ok(OpenedProfile {
        role,
        stamps,
        profile,
    })
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

/// A user's key slot as stored: role, how its KEK is made, the wrapped store key.
pub(crate) struct UserSlot {
    pub(crate) role: String,
    pub(crate) kdf: keys::SlotKdf,
    pub(crate) wrapped: Vec<u8>,
}

pub(crate) fn read_slot(conn: &Connection, user_id: &str) -> Result<Option<UserSlot>> {
    let row = conn
        .query_row(
            "SELECT role, kdf_salt, kdf_m_kib, kdf_t, kdf_p, wrapped_key FROM users WHERE id = ?1",
            [user_id],
            |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, Vec<u8>>(1)?,
                    KdfParams {
                        m_kib: r.get(2)?,
                        t: r.get(3)?,
                        p: r.get(4)?,
                    },
                    r.get::<_, Vec<u8>>(5)?,
                ))
            },
        )
        .optional()?;
    let Some((role, salt, params, wrapped)) = row else {
        return Ok(None);
    };
    let kdf = keys::SlotKdf::decode(&salt, params).ok_or_else(|| Error::Integrity {
        kind: RecordKind::User,
        id: user_id.to_owned(),
    })?;
    Ok(Some(UserSlot { role, kdf, wrapped }))
}

/// Wraps the store key for one user under a new (chained) slot; returns the salt column's value
/// and the wrapped key.
pub(crate) fn wrap_for_user(
    device: &dyn DeviceSecret,
    store_id: &str,
    store_key: &SecretKey,
    user_id: &str,
    pin: &str,
    params: KdfParams,
) -> Result<(Vec<u8>, crypto::Sealed)> {
    let kdf = keys::SlotKdf::new(params)?;
    let kek = keys::user_kek(device, store_id, user_id, pin, &kdf)?;
    let wrapped = crypto::seal(
        &kek,
        key_id_of(RecordKind::User, user_id)?,
        &slot_place(user_id),
        store_key.as_bytes(),
    )?;
    Ok((kdf.encode_salt(), wrapped))
}

#[allow(clippy::too_many_arguments)]
fn write_user(
    conn: &Connection,
    device: &dyn DeviceSecret,
    store_id: &str,
    store_key: &SecretKey,
    record_key: &SecretKey,
    store_kid: KeyId,
    user_id: &str,
    role: UserRole,
    display_name: &str,
    pin: &str,
    params: KdfParams,
    stamps: [&str; 4],
) -> Result<()> {
    let (salt, wrapped) = wrap_for_user(device, store_id, store_key, user_id, pin, params)?;
    let profile = crypto::seal(
        record_key,
        store_kid,
        &profile_place(user_id, &profile_bound(role.as_str(), stamps)),
        &to_json(&UserProfile {
            display_name: display_name.to_owned(),
        })?,
    )?;
    conn.execute(
        "INSERT INTO users (id, role, kdf_salt, kdf_m_kib, kdf_t, kdf_p, wrapped_key, profile, \
         created_at, created_by, updated_at, updated_by) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
        params![
            user_id,
            role.as_str(),
            salt,
            params.m_kib,
            params.t,
            params.p,
            wrapped,
            profile,
            stamps[0],
            stamps[1],
            stamps[2],
            stamps[3]
        ],
    )?;
    Ok(())
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
