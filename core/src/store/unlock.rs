//! Unlocking: one user's PIN and this phone's device secret open her key slot (and, in the
//! same time, the duress slot), the canary proves the key is this store's, and the session is
//! built: keys derived, member keys unwrapped, the member index filled, damage noted.

use chrono::{DateTime, Utc};
use rusqlite::{OptionalExtension, TransactionBehavior, params};
use zeroize::Zeroizing;

use super::Store;
use crate::access::UserRole;
use crate::audit::AuditAction;
use crate::crypto::{self, KeyId, SecretKey, key_id_of};
use crate::db::{
    self, CANARY, MEMBERS, RECORD_TABLES, RESEAL_MARK, RawRow, canary_place, check_written, judge,
    note_record_versions, open_member_against, place, reencode, unwrap_member_key_into,
};
use crate::domain::Id;
use crate::error::{DamageReason, Damaged, DeviceSecretError, Error, RecordKind, Result};
use crate::index::{MemberIndex, RowDigest, Staged};
use crate::keys;
use crate::ledger::{self, NewEntry};
use crate::safety;
use crate::session::{MemberKeys, Session};
use crate::slots;
use crate::snapshot;
use crate::trail;

impl Store {
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
                let noted = self.note_unlock().and_then(|()| self.keep_duress_slot());
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
                    let _ = ledger::note_failed_unlock(&self.conn, user_id);
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
            ledger::append(&tx, &self.store_id, session, entry)?;
        }
        tx.execute("DELETE FROM audit_pending", [])?;
        ledger::append(
            &tx,
            &self.store_id,
            session,
            NewEntry::new(AuditAction::Unlock, None, ""),
        )?;
        tx.commit()?;
        Ok(())
    }

    fn try_unlock(&mut self, user_id: &str, pin: &str) -> Result<()> {
        let slot = slots::read_slot(&self.conn, user_id)?.ok_or(Error::UnknownUser)?;
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
        let opened = crypto::open(&kek, user_kid, &slots::slot_place(user_id), &slot.wrapped)
            .and_then(|k| SecretKey::from_slice(&k));
        let duress = safety::DuressTry::run(self.db(), self.device.as_ref(), pin, slot.kdf.params)?;
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
            let wrapped = crypto::seal(
                &kek,
                user_kid,
                &slots::slot_place(user_id),
                store_key.as_bytes(),
            )?;
            self.conn.execute(
                "UPDATE users SET kdf_salt = ?1, wrapped_key = ?2 WHERE id = ?3",
                params![kdf.encode_salt(), wrapped.as_bytes(), user_id],
            )?;
        }
        self.start_session(user_id.to_owned(), role, store_key)
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
        slots::open_profile(&self.conn, &record_key, self.store_kid, &user_id)?;
        let device_id = ledger::ensure_device_identity(&self.conn, &record_key, self.store_kid)?;
        let mut session = Session {
            user_id,
            role,
            store_key,
            record_key,
            member_wrap,
            audit_key,
            device_id,
            member_keys: MemberKeys::default(),
            index: MemberIndex::default(),
            damaged: Default::default(),
            from_snapshot: false,
        };
        // The member rows are read and pinned on a second thread (its own read-only connection)
        // while this one unwraps the member keys and opens the snapshot: what a snapshot saves
        // is the work of one thread, the rest is shared by two cores. The second thread first
        // unwraps half the member keys (the rows with an odd rowid) and hands them over, then
        // reads the rows.
        let first = snapshot::current(&self.conn, self.store_kid, &session);
        let has_snapshot = first.is_some();
        let path = self.path.clone();
        let store_kid = self.store_kid;
        // Its own copy of the wrapping key: the session's stays with this thread. Not derived,
        // no second thread: this one does it all.
        let worker_wrap = has_snapshot
            .then(|| session.store_key.derive(b"member-keys").ok())
            .flatten();
        let (send_half, half_back) = std::sync::mpsc::channel();
        std::thread::scope(|scope| {
            // No thread to be had (memory pressure) is no snapshot, not a panic.
            let rows = worker_wrap.and_then(|wrap| {
                std::thread::Builder::new()
                    .name("member-rows".into())
                    .spawn_scoped(scope, move || {
                        // One connection for both: the keys, then the rows.
                        let conn = db::open_reader(&path);
                        let half = conn
                            .as_ref()
                            .ok()
                            .and_then(|c| unwrap_half(c, &wrap, store_kid).ok());
                        drop(wrap);
                        // This thread may have stopped waiting (an error); nothing is lost.
                        let _ = send_half.send(half);
                        MEMBERS.digests_on(&conn?)
                    })
                    .ok()
            });
            let halves = rows.is_some();
            let mine = halves.then_some(0);
            let ready = unwrap_keys(
                &self.conn,
                &session.member_wrap,
                store_kid,
                mine,
                &mut session.member_keys,
                session.damaged.get_mut(),
            )
            .and_then(|()| match halves.then(|| half_back.recv()) {
                None => Ok(()),
                Some(Ok(Some((keys, damaged)))) => {
                    session.member_keys.extend(keys);
                    session.damaged.get_mut().extend(damaged);
                    Ok(())
                }
                // The other half here after all.
                _ => unwrap_keys(
                    &self.conn,
                    &session.member_wrap,
                    store_kid,
                    Some(1),
                    &mut session.member_keys,
                    session.damaged.get_mut(),
                ),
            })
            .and_then(|()| {
                // In one order whichever thread found them (the full path's order too).
                session.damaged.get_mut().sort_by(|a, b| a.id.cmp(&b.id));
                self.reseal_legacy_rows(&session)
            });
            let loaded = match ready {
                Ok(()) => {
                    first.and_then(|f| snapshot::load(&self.conn, self.store_kid, &session, f))
                }
                Err(_) => None,
            };
            // What the rows must be, and the index, made while the rows are still being read.
            let pins = loaded.as_ref().and_then(|s| Self::pins(&mut session, s));
            let index = loaded.map(MemberIndex::from_staged);
            // Joined on every path: a thread left to the scope would re-raise its panic here.
            let rows = rows.map(|worker| worker.join());
            ready?;
            session.index = match (index, pins, rows) {
                (Some(index), Some(pins), Some(Ok(Ok(Some(rows))))) if pins == rows => {
                    session.from_snapshot = true;
                    index
                }
                _ => MemberIndex::from_staged(self.open_every_member(&mut session)?),
            };
            Ok::<_, Error>(())
        })?;
        self.session = Some(session);
        Ok(())
    }

    /// The snapshot's members as the member rows must be (each id with the digest the index
    /// kept of her row), in the order of ids; `None` if a member's key did not unwrap or
    /// anything was found damaged, which only opening every member reports.
    fn pins(session: &mut Session, staged: &[Staged]) -> Option<Vec<(u128, RowDigest)>> {
        if !session.damaged.get_mut().is_empty() {
            return None;
        }
        // Every staged member has her key: her entry opened under it (`snapshot::load`).
        let mut pins = staged
            .iter()
            .map(|s| {
                let digest = s.digest()?;
                Some((crypto::uuid_of(s.id())?, *digest))
            })
            .collect::<Option<Vec<_>>>()?;
        pins.sort_unstable();
        Some(pins)
    }

    /// Opens every member row against the trail, for the index, noting each that fails.
    fn open_every_member(&self, session: &mut Session) -> Result<Vec<Staged>> {
        let last_writes = ledger::last_writes_of(&self.conn, RecordKind::Member)?;
        // Sized once (every member the trail knows, erased ones too): grown by doubling, the
        // old and the new buffer of 50,000 entries were both in memory at the unlock's peak.
        let mut staged = Vec::with_capacity(last_writes.len());
        MEMBERS.read_each(&self.conn, "WHERE ?1 = ''", "", |raw| {
            let last = last_writes.get(&raw.id).copied();
            match open_member_against(session, &raw, last) {
                Ok(m) => staged.push(Staged::of(&m, raw.digest(&raw.body))),
                Err(_) => {
                    let reason =
                        judge(last, false, raw.version).unwrap_or(DamageReason::Unreadable);
                    session.damaged.get_mut().push(Damaged {
                        kind: RecordKind::Member,
                        id: raw.id,
                        owner: raw.owner,
                        reason,
                    })
                }
            }
            Ok(())
        })?;
        Ok(staged)
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
        let done = ledger::last_write(&tx, RecordKind::Audit, RESEAL_MARK)?.is_some();
        if !done {
            for table in RECORD_TABLES {
                for raw in table.read(&tx, "WHERE version = 0 AND ?1 = ''", "")? {
                    let (key, kid) = match self.db().key_for(session, table, &raw.id, &raw.owner) {
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
                        version: ledger::next_seq(&tx)?,
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
                    let seq = ledger::append(&tx, &self.store_id, session, entry)?;
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
                let sealed = ledger::seal_fields(session, &self.store_id, seq, &names)?;
                tx.execute(
                    "UPDATE audit_log SET fields = '', fields_sealed = ?2 WHERE seq = ?1",
                    params![seq, sealed],
                )?;
            }
            // Records the old trail created whose rows were gone before the trail could tell
            // (children of members erased by an older version, which did not name them) are
            // noted as absent at the upgrade, so that from now on a missing row means tampering.
            let entries = trail::load(self.db(), session)?;
            for gone in db::scan_records(self.db(), session, &entries)? {
                if gone.reason == DamageReason::Missing {
                    let mut entry = NewEntry::new(AuditAction::Delete, Some(gone.kind), &gone.id);
                    entry.fields = vec!["absent_at_upgrade".into()];
                    ledger::append(&tx, &self.store_id, session, entry)?;
                }
            }
            note_record_versions(&tx, &self.store_id, session)?;
        }
        tx.execute("DELETE FROM meta WHERE name = 'reseal_pending'", [])?;
        tx.commit()?;
        Ok(())
    }
}

/// Unwraps the keys of the `member_keys` rows whose rowid's last bit is `part` (every row for
/// `None`) into `keys`, noting in `damaged` each that does not unwrap. The last bit, not the
/// remainder: SQLite's `-3 % 2` is -1, and a row given a negative rowid would be in no half.
fn unwrap_keys(
    conn: &rusqlite::Connection,
    member_wrap: &SecretKey,
    store_kid: KeyId,
    part: Option<i64>,
    keys: &mut MemberKeys,
    damaged: &mut Vec<Damaged>,
) -> Result<()> {
    let mut stmt = conn.prepare(
        "SELECT rowid, member_id, wrapped_key FROM member_keys \
         WHERE ?1 IS NULL OR (rowid & 1) = ?1",
    )?;
    let mut rows = stmt.query([part])?;
    let (mut plain, mut aad) = (Zeroizing::new(Vec::new()), Vec::new());
    while let Some(row) = rows.next()? {
        // Both read where SQLite holds them, not copied out first. An id that is no text is
        // reported by its row.
        let rowid: i64 = row.get(0)?;
        let member_id = match row.get_ref(1)?.as_str() {
            Ok(id) => std::borrow::Cow::Borrowed(id),
            Err(_) => std::borrow::Cow::Owned(format!("member_keys row {rowid}")),
        };
        let member_id = member_id.as_ref();
        let wrapped = row.get_ref(2)?.as_blob().unwrap_or_default();
        let unwrapped = unwrap_member_key_into(
            member_wrap,
            store_kid,
            member_id,
            wrapped,
            &mut plain,
            &mut aad,
        );
        // A key under an id in any but its canonical spelling is no key (nor a row of hers).
        let kept = unwrapped
            .ok()
            .and_then(|key| keys.insert(member_id, Box::new(key)));
        if kept.is_none() {
            damaged.push(Damaged {
                kind: RecordKind::MemberKey,
                owner: member_id.to_owned(),
                id: member_id.to_owned(),
                reason: DamageReason::Unreadable,
            });
        }
    }
    Ok(())
}

/// The second thread's half of the member keys (odd rowids), through its own connection, and
/// those of them that did not unwrap.
fn unwrap_half(
    conn: &rusqlite::Connection,
    member_wrap: &SecretKey,
    store_kid: KeyId,
) -> Result<(MemberKeys, Vec<Damaged>)> {
    let (mut keys, mut damaged) = (MemberKeys::default(), Vec::new());
    unwrap_keys(
        conn,
        member_wrap,
        store_kid,
        Some(1),
        &mut keys,
        &mut damaged,
    )?;
    Ok((keys, damaged))
}
