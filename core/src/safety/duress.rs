//! The duress PIN: a slot every store has (a dummy until the leader sets the PIN), tried at
//! every unlock; the decoy it opens (users, clubs and a trail without members), kept fresh at
//! each unlock and lock; and the canary's guard that reports a slot deleted or swapped.

use rusqlite::{Connection, TransactionBehavior};
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use crate::audit::AuditAction;
use crate::clubs;
use crate::crypto::{self, KeyId, SecretKey};
use crate::db::{self, Db};
use crate::domain::{ClubInput, Id, Timestamp};
use crate::error::{Error, RecordKind, Result};
use crate::keys::{self, DeviceSecret, KdfParams, SlotKdf};
use crate::ledger::{self, NewEntry};
use crate::session::Session;
use crate::slots;
use crate::trail;

use super::{meta_get, meta_place, meta_set, params_bytes, params_from};

/// The decoy of the first release, sealed in `meta.duress` (still honoured, see
/// `try_legacy_duress`): the leader and the clubs, no members.
#[derive(Serialize, Deserialize)]
pub(crate) struct LegacyDecoy {
    pub(crate) leader_id: Id,
    pub(crate) leader_name: String,
    pub(crate) clubs: Vec<ClubInput>,
}

/// What the decoy shows, refreshed at every unlock and lock, sealed under the decoy key: the
/// users (ids, roles, names, stamps), the clubs (ids, contents, stamps) and the trail's entries
/// that name no member record. No members, meetings, consents, referrals or notes.
#[derive(Serialize, Deserialize)]
pub(crate) struct Decoy {
    pub(crate) users: Vec<DecoyUser>,
    pub(crate) clubs: Vec<DecoyClub>,
    pub(crate) trail: Vec<DecoyEntry>,
}

#[derive(Serialize, Deserialize)]
pub(crate) struct DecoyUser {
    pub(crate) id: Id,
    pub(crate) role: String,
    pub(crate) name: String,
    pub(crate) stamps: [String; 4],
    pub(crate) m_kib: u32,
    pub(crate) t: u32,
    pub(crate) p: u32,
}

#[derive(Serialize, Deserialize)]
pub(crate) struct DecoyClub {
    pub(crate) id: Id,
    pub(crate) info: ClubInput,
    pub(crate) stamps: [String; 4],
}

#[derive(Serialize, Deserialize)]
pub(crate) struct DecoyEntry {
    pub(crate) at: Timestamp,
    pub(crate) user_id: Id,
    pub(crate) role: Option<String>,
    pub(crate) action: AuditAction,
    pub(crate) kind: Option<String>,
    pub(crate) record_id: String,
    pub(crate) fields: Vec<String>,
}

/// The trail entries a decoy keeps at most (the newest): enough to look used, small enough to
/// re-seal at every lock.
const DECOY_TRAIL_MAX: usize = 1000;

/// The trail entries a decoy may show: none about members or their records (the decoy has no
/// such ids), none about the duress PIN. Schema step 7's index `audit_decoy` has this condition
/// word for word, so that SQLite reads the newest of them from it.
pub(crate) const DECOY_ENTRIES: &str = "kind NOT IN ('member', 'member_key', 'consent', \
    'meeting', 'livelihood', 'referral', 'annotation') AND record_id != 'duress'";

/// Which of the trail's rows the decoy's newest entries are (after `FROM audit_log`).
fn decoy_newest() -> String {
    format!("WHERE {DECOY_ENTRIES} ORDER BY seq DESC LIMIT {DECOY_TRAIL_MAX}")
}

/// Whether a decoy may show a trail entry about this kind of record: not about members and
/// their records, which would name ids the decoy does not have.
fn decoy_keeps(kind: Option<RecordKind>) -> bool {
    matches!(
        kind,
        None | Some(
            RecordKind::User
                | RecordKind::Club
                | RecordKind::Canary
                | RecordKind::Audit
                | RecordKind::DeviceKey
        )
    )
}

/// Meta rows every store has (a duress PIN set or not, so their presence says nothing):
/// the duress slot (slot salt, KDF cost, the decoy key wrapped under the duress PIN's KEK, or
/// under a random key when no duress PIN is set), the decoy key under the records key, and the
/// decoy under the decoy key.
pub(crate) const DURESS_SLOT: &str = "duress_slot";
const DECOY_KEY: &str = "decoy_key";
const DECOY: &str = "decoy";

pub(crate) const DURESS_USER: &str = "00000000-0000-4000-8000-00000000d0e5";

/// Seals the duress slot under `pin` (checked by the caller to be nobody's PIN) and re-wraps
/// the leader's own slot under `current_pin` (new salt, new stamps), as `change_pin` does, so
/// that the file shows a PIN change and nothing more. The duress slot keeps the cost it had
/// (a placeholder's is the leader's).
pub(crate) fn set_duress_pin(
    db: Db<'_>,
    s: &Session,
    device: &dyn DeviceSecret,
    current_pin: &str,
    pin: &str,
) -> Result<()> {
    keep_duress_slot(db, s)?;
    let own = slots::read_slot(db.conn, &s.user_id)?.ok_or(Error::UnknownUser)?;
    let params = match DuressSlot::load(db.conn)? {
        Some(slot) => slot.kdf.params,
        None => own.kdf.params,
    };
    let decoy_key = decoy_key(db, s)?;
    let kdf = SlotKdf::new(params)?;
    let kek = keys::user_kek(device, db.store_id, DURESS_USER, pin, &kdf)?;
    let slot = DuressSlot::seal(&kek, kdf, db.store_kid, &decoy_key)?;
    let encoded = slot.encode();
    let tx = rusqlite::Transaction::new_unchecked(db.conn, TransactionBehavior::Immediate)?;
    meta_set(&tx, DURESS_SLOT, &encoded)?;
    write_guard(
        &tx,
        db.store_kid,
        &s.record_key,
        &slot_digest(&encoded),
        Some(&kek),
    )?;
    // The first release's duress row goes: this slot replaces it.
    tx.execute("DELETE FROM meta WHERE name = 'duress'", [])?;
    slots::rewrite_slot(db, device, s, &tx, &s.user_id, current_pin, own.kdf.params)?;
    // Noted as a PIN change of the leader's (which it is), not as "a duress PIN exists":
    // whoever reads the trail, in the store or in the decoy, cannot tell the two apart.
    ledger::append(
        &tx,
        db.store_id,
        s,
        NewEntry::new(AuditAction::PinChange, Some(RecordKind::User), &s.user_id),
    )?;
    tx.commit()?;
    refresh_decoy(db, s)
}

/// The first release's decoy and its cost, when `pin` is that release's duress PIN (its row,
/// `meta.duress`, is still honoured until the leader sets the duress PIN again).
pub(crate) fn open_legacy_duress(
    db: Db<'_>,
    device: &dyn DeviceSecret,
    pin: &str,
) -> Result<Option<(LegacyDecoy, KdfParams)>> {
    let Some(value) = meta_get(db.conn, "duress")? else {
        return Ok(None);
    };
    let (Some(salt), Some(params)) = (value.get(..16), value.get(16..28).and_then(params_from))
    else {
        return Ok(None);
    };
    let Some(kdf) = SlotKdf::decode(salt, params) else {
        return Ok(None);
    };
    let kek = keys::user_kek(device, db.store_id, DURESS_USER, pin, &kdf)?;
    let Ok(plain) = crypto::open(&kek, db.store_kid, &meta_place("duress"), &value[28..]) else {
        return Ok(None);
    };
    let decoy: LegacyDecoy = serde_json::from_slice(&plain).map_err(|_| Error::Crypto)?;
    Ok(Some((decoy, params)))
}

/// The decoy the duress slot's key opens.
pub(crate) fn open_decoy(db: Db<'_>, decoy_key: &SecretKey) -> Result<Decoy> {
    let sealed = meta_get(db.conn, DECOY)?.ok_or(Error::Crypto)?;
    let plain = crypto::open(decoy_key, db.store_kid, &meta_place(DECOY), &sealed)?;
    serde_json::from_slice(&plain).map_err(|_| Error::Crypto)
}

/// Whether `pin` is the duress PIN, in the duress slot or in a first release's `meta.duress`
/// row (still honoured at unlock, so a user PIN equal to its PIN would open the real data).
pub(crate) fn is_duress_pin(db: Db<'_>, device: &dyn DeviceSecret, pin: &str) -> Result<bool> {
    let mut hit = false;
    if let Some(slot) = DuressSlot::load(db.conn)? {
        let kek = keys::user_kek(device, db.store_id, DURESS_USER, pin, &slot.kdf)?;
        hit |= crypto::open(&kek, db.store_kid, &meta_place(DURESS_SLOT), &slot.wrapped).is_ok();
    }
    hit |= open_legacy_duress(db, device, pin)?.is_some();
    Ok(hit)
}

/// `meta.duress_slot`: slot salt (version 2), Argon2 cost, and the decoy key wrapped under the
/// duress PIN's KEK (or under a random key: the dummy every store without a duress PIN has).
pub(crate) struct DuressSlot {
    kdf: SlotKdf,
    wrapped: Vec<u8>,
}

impl DuressSlot {
    fn seal(
        kek: &SecretKey,
        kdf: SlotKdf,
        store_kid: KeyId,
        decoy_key: &SecretKey,
    ) -> Result<Self> {
        let wrapped = crypto::seal(
            kek,
            store_kid,
            &meta_place(DURESS_SLOT),
            decoy_key.as_bytes(),
        )?;
        Ok(Self {
            kdf,
            wrapped: wrapped.as_bytes().to_vec(),
        })
    }

    /// A slot no PIN opens, of the same size and shape as a real one, and the random key it is
    /// wrapped under (kept in the canary, to re-seal the slot at each PIN change).
    fn dummy(
        params: KdfParams,
        store_kid: KeyId,
        decoy_key: &SecretKey,
    ) -> Result<(Self, SecretKey)> {
        let kek = SecretKey::generate()?;
        let slot = Self::seal(&kek, SlotKdf::new(params)?, store_kid, decoy_key)?;
        Ok((slot, kek))
    }

    fn encode(&self) -> Vec<u8> {
        let mut out = self.kdf.encode_salt();
        out.extend_from_slice(&params_bytes(self.kdf.params));
        out.extend_from_slice(&self.wrapped);
        out
    }

    fn load(conn: &Connection) -> Result<Option<Self>> {
        let Some(value) = meta_get(conn, DURESS_SLOT)? else {
            return Ok(None);
        };
        let n = keys::SLOT_SALT_LEN;
        let slot = value
            .get(n..n + 12)
            .and_then(params_from)
            .and_then(|params| {
                Some(Self {
                    kdf: SlotKdf::decode(value.get(..n)?, params)?,
                    wrapped: value.get(n + 12..)?.to_vec(),
                })
            });
        slot.map(Some).ok_or(Error::Integrity {
            kind: RecordKind::User,
            id: DURESS_SLOT.into(),
        })
    }
}

/// One try of a PIN against the duress slot, made on every unlock whatever the user slot said.
pub(crate) struct DuressTry {
    pub(crate) kdf: SlotKdf,
    pub(crate) stretched: Zeroizing<[u8; crypto::KEY_LEN]>,
    /// The decoy key, when the PIN is the duress PIN.
    pub(crate) opened: Option<SecretKey>,
}

impl DuressTry {
    /// `params`: the cost of the user's slot, used for a store that has no duress slot yet
    /// (made before this release, until its next unlock), so that it costs the same.
    pub(crate) fn run(
        db: Db<'_>,
        device: &dyn DeviceSecret,
        pin: &str,
        params: KdfParams,
    ) -> Result<Self> {
        let slot = match DuressSlot::load(db.conn)? {
            Some(slot) => slot,
            None => DuressSlot {
                kdf: SlotKdf::new(params)?,
                wrapped: Vec::new(),
            },
        };
        let stretched = keys::stretch(pin, &slot.kdf.salt, slot.kdf.params)?;
        let kek =
            keys::kek_from_stretched(device, db.store_id, DURESS_USER, &stretched, &slot.kdf)?;
        let opened = crypto::open(&kek, db.store_kid, &meta_place(DURESS_SLOT), &slot.wrapped)
            .ok()
            .and_then(|k| SecretKey::from_slice(&k).ok());
        Ok(Self {
            kdf: slot.kdf,
            stretched,
            opened,
        })
    }
}

/// The device calls `create_decoy` makes (the new store's device check, then the chain for the
/// decoy's slot), made on throwaway input and thrown away.
pub(crate) fn pad_like_decoy(device: &dyn DeviceSecret, kdf: &SlotKdf) -> Result<()> {
    let mut throwaway = Zeroizing::new([0u8; crypto::KEY_LEN]);
    crypto::fill_random(throwaway.as_mut())?;
    let id = db::new_id();
    keys::device_check(device, &id)?;
    keys::device_chain(device, &id, &throwaway, kdf.rounds)?;
    Ok(())
}

pub(crate) fn decoy_key(db: Db<'_>, session: &Session) -> Result<SecretKey> {
    let sealed = meta_get(db.conn, DECOY_KEY)?.ok_or(Error::Integrity {
        kind: RecordKind::User,
        id: DECOY_KEY.into(),
    })?;
    let key = crypto::open(
        &session.record_key,
        db.store_kid,
        &meta_place(DECOY_KEY),
        &sealed,
    )?;
    SecretKey::from_slice(&key)
}

/// Gives an unlocked store its decoy key and a dummy duress slot if it has none yet (a new
/// store, or one made before this release), then refreshes the decoy.
pub(crate) fn keep_duress_slot(db: Db<'_>, session: &Session) -> Result<()> {
    let guard = read_guard(db, &session.record_key)?;
    let has_key = meta_get(db.conn, DECOY_KEY)?.is_some();
    let slot_bytes = meta_get(db.conn, DURESS_SLOT)?;
    if let Some(guard) = &guard {
        // The canary (needed to unlock, sealed under the records key) says which slot this
        // store has: one deleted or swapped for another store's would silently turn the duress
        // PIN into a wrong PIN. Reported at every unlock until the duress PIN is set again.
        let found = match &slot_bytes {
            None => Some((DURESS_SLOT, crate::DamageReason::Missing)),
            Some(b) if slot_digest(b) != guard.digest => {
                Some((DURESS_SLOT, crate::DamageReason::Unreadable))
            }
            Some(_) if !has_key => Some((DECOY_KEY, crate::DamageReason::Missing)),
            Some(_) => None,
        };
        if let Some((id, reason)) = found {
            session.note_damaged(&[crate::Damaged {
                kind: RecordKind::User,
                id: id.to_owned(),
                owner: String::new(),
                reason,
            }]);
        }
    }
    let has_slot = slot_bytes.is_some();
    if !has_key || !has_slot {
        let key = if has_key {
            decoy_key(db, session)?
        } else {
            SecretKey::generate()?
        };
        let params = slots::read_slot(db.conn, &session.user_id)?
            .map(|s| s.kdf.params)
            .unwrap_or(KdfParams::MIN);
        let tx = rusqlite::Transaction::new_unchecked(db.conn, TransactionBehavior::Immediate)?;
        if !has_key {
            let sealed = crypto::seal(
                &session.record_key,
                db.store_kid,
                &meta_place(DECOY_KEY),
                key.as_bytes(),
            )?;
            meta_set(&tx, DECOY_KEY, sealed.as_bytes())?;
        }
        // A new decoy key means any old slot wraps the wrong key: the slot is made anew (so
        // that unlocks keep costing the same), but a guard that names another slot is kept,
        // so the damage goes on being reported.
        let (slot, kek) = DuressSlot::dummy(params, db.store_kid, &key)?;
        let encoded = slot.encode();
        meta_set(&tx, DURESS_SLOT, &encoded)?;
        if guard.is_none() {
            write_guard(
                &tx,
                db.store_kid,
                &session.record_key,
                &slot_digest(&encoded),
                Some(&kek),
            )?;
        }
        tx.commit()?;
    } else if guard.is_none()
        && let Some(bytes) = &slot_bytes
    {
        // A store from before the guard: its slot is taken as it is (its key is not known, so
        // PIN changes leave it as it is until the duress PIN is set again).
        write_guard(
            db.conn,
            db.store_kid,
            &session.record_key,
            &slot_digest(bytes),
            None,
        )?;
    }
    refresh_decoy(db, session)
}

/// What the canary says about the duress slot: the digest of its bytes, and the key it is
/// wrapped under when known (the duress PIN's KEK, or a placeholder's random key). The KEK
/// tells nothing about the PIN without this phone's device secret, and whoever can open the
/// canary has the decoy key already.
struct SlotGuard {
    digest: [u8; 32],
    kek: Option<SecretKey>,
}

const GUARD_LEN: usize = 1 + 32 + crypto::KEY_LEN;

fn slot_digest(bytes: &[u8]) -> [u8; 32] {
    let mut out = [0u8; 32];
    out.copy_from_slice(ring::digest::digest(&ring::digest::SHA256, bytes).as_ref());
    out
}

fn read_guard(db: Db<'_>, record_key: &SecretKey) -> Result<Option<SlotGuard>> {
    let sealed = meta_get(db.conn, "canary")?.ok_or(Error::Integrity {
        kind: RecordKind::Canary,
        id: "canary".into(),
    })?;
    let plain = crypto::open(record_key, db.store_kid, &db::canary_place(), &sealed)?;
    let Some(rest) = plain
        .get(db::CANARY.len()..)
        .filter(|r| r.len() == GUARD_LEN)
    else {
        return Ok(None);
    };
    let mut digest = [0u8; 32];
    digest.copy_from_slice(&rest[1..33]);
    let kek = match rest[0] {
        1 => Some(SecretKey::from_slice(&rest[33..])?),
        _ => None,
    };
    Ok(Some(SlotGuard { digest, kek }))
}

/// Re-seals the canary naming the duress slot by `digest` (a fresh nonce each time: the row
/// changes at every PIN change, whether or not a duress PIN is set).
fn write_guard(
    conn: &Connection,
    store_kid: KeyId,
    record_key: &SecretKey,
    digest: &[u8; 32],
    kek: Option<&SecretKey>,
) -> Result<()> {
    let mut plain = Zeroizing::new(db::CANARY.to_vec());
    plain.push(u8::from(kek.is_some()));
    plain.extend_from_slice(digest);
    match kek {
        Some(k) => plain.extend_from_slice(k.as_bytes()),
        None => plain.extend_from_slice(&[0u8; crypto::KEY_LEN]),
    }
    let sealed = crypto::seal(record_key, store_kid, &db::canary_place(), &plain)?;
    meta_set(conn, "canary", sealed.as_bytes())
}

/// For a PIN change: re-seals the duress slot under the key the canary keeps (same salt, same
/// cost, a new nonce) and the canary with it, so that a PIN change rewrites the same rows as
/// setting the duress PIN does. A slot the canary does not name is left as it is (and goes on
/// being reported).
pub(crate) fn reseal_duress_slot(db: Db<'_>, session: &Session, conn: &Connection) -> Result<()> {
    let Some(guard) = read_guard(db, &session.record_key)? else {
        return Ok(());
    };
    let bytes = meta_get(conn, DURESS_SLOT)?;
    if let (Some(kek), Some(bytes)) = (&guard.kek, &bytes)
        && slot_digest(bytes) == guard.digest
        && let Some(slot) = DuressSlot::load(conn)?
        && let Ok(key) = crypto::open(kek, db.store_kid, &meta_place(DURESS_SLOT), &slot.wrapped)
    {
        let key = SecretKey::from_slice(&key)?;
        let fresh = DuressSlot::seal(kek, slot.kdf, db.store_kid, &key)?.encode();
        meta_set(conn, DURESS_SLOT, &fresh)?;
        return write_guard(
            conn,
            db.store_kid,
            &session.record_key,
            &slot_digest(&fresh),
            Some(kek),
        );
    }
    write_guard(
        conn,
        db.store_kid,
        &session.record_key,
        &guard.digest,
        guard.kek.as_ref(),
    )
}

/// Re-seals the decoy from what the store holds now.
pub(crate) fn refresh_decoy(db: Db<'_>, session: &Session) -> Result<()> {
    let key = decoy_key(db, session)?;
    let mut users = Vec::new();
    for user in slots::users(db.conn)? {
        let profile = slots::open_profile(db.conn, &session.record_key, db.store_kid, &user.id)?;
        let slot = slots::read_slot(db.conn, &user.id)?.ok_or(Error::UnknownUser)?;
        users.push(DecoyUser {
            id: user.id,
            role: profile.role,
            name: profile.profile.display_name,
            stamps: profile.stamps,
            m_kib: slot.kdf.params.m_kib,
            t: slot.kdf.params.t,
            p: slot.kdf.params.p,
        });
    }
    let stamps: std::collections::HashMap<String, [String; 4]> = {
        let mut stmt = db
            .conn
            .prepare("SELECT id, created_at, created_by, updated_at, updated_by FROM clubs")?;
        let rows = stmt.query_map([], |r| {
            Ok((r.get(0)?, [r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?]))
        })?;
        rows.collect::<rusqlite::Result<_>>()?
    };
    let clubs = clubs::all(db, session)?
        .into_iter()
        .filter_map(|c| {
            Some(DecoyClub {
                stamps: stamps.get(&c.id)?.clone(),
                id: c.id,
                info: c.info,
            })
        })
        .collect();
    // Read from the file are only the entries the decoy keeps: the newest DECOY_TRAIL_MAX, and
    // each club's last write however old (the decoy's club rows carry the entry that wrote
    // them, as every record does: docs/SECURITY.md section 9). Loading the whole trail here,
    // at every unlock and lock, cost time and memory in proportion to all the store ever did.
    // The newest are read through the index `audit_decoy`, whose condition this is.
    let wanted = DECOY_ENTRIES;
    let newest = trail::load_some(db, session, &decoy_newest())?;
    let club_writes = trail::load_some(
        db,
        session,
        &format!(
            "WHERE seq IN (SELECT max(seq) FROM audit_log WHERE {wanted} AND kind = 'club' \
             AND action IN ('create', 'update') GROUP BY record_id)"
        ),
    )?;
    let by_seq: std::collections::BTreeMap<i64, crate::audit::AuditEntry> = newest
        .into_iter()
        .chain(club_writes)
        .map(|(e, _)| (e.seq, e))
        .collect();
    let trail: Vec<DecoyEntry> = by_seq
        .into_values()
        .filter(|e| decoy_keeps(e.kind) && e.record_id != "duress")
        .map(|e| DecoyEntry {
            at: e.at,
            user_id: e.user_id,
            role: e.role.map(|r| r.as_str().to_owned()),
            action: e.action,
            kind: e.kind.map(|k| k.as_str().to_owned()),
            record_id: e.record_id,
            fields: e.fields,
        })
        .collect();
    let decoy = Decoy {
        users,
        clubs,
        trail,
    };
    let sealed = crypto::seal(
        &key,
        db.store_kid,
        &meta_place(DECOY),
        &db::to_json(&decoy)?,
    )?;
    meta_set(db.conn, DECOY, sealed.as_bytes())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    /// The decoy's SQL condition (and so the index `audit_decoy`, which has it word for word)
    /// leaves out exactly the kinds `decoy_keeps` leaves out: a kind added to one and not the
    /// other would put member ids in a decoy, or leave the index unused.
    #[test]
    fn the_decoy_condition_and_its_index_leave_out_the_same_kinds() {
        let left_out: Vec<String> = RecordKind::ALL
            .into_iter()
            .filter(|k| !decoy_keeps(Some(*k)))
            .map(|k| format!("'{}'", k.as_str()))
            .collect();
        let expected = format!(
            "kind NOT IN ({}) AND record_id != 'duress'",
            left_out.join(", ")
        );
        assert_eq!(DECOY_ENTRIES, expected);
        // The last step that makes the index is the one a store has.
        let index = format!("audit_decoy ON audit_log(seq)\n    WHERE {DECOY_ENTRIES};");
        let step = crate::schema::MIGRATIONS
            .iter()
            .rev()
            .find(|m| m.contains("audit_decoy"));
        assert!(step.is_some_and(|m| m.contains(&index)));
        assert!(crate::schema::FRESH_SCHEMA.contains(&index));
    }

    /// The decoy's newest entries come from their own index, not a scan of the trail past
    /// every member's entry: in a fresh store and in one upgraded from the first release.
    #[test]
    fn the_decoy_reads_its_entries_from_their_index() {
        let dir = tempfile::tempdir().unwrap();
        for (conn, how) in db::fresh_and_upgraded(dir.path()).unwrap() {
            let sql = format!("SELECT * FROM audit_log {}", decoy_newest());
            let plan = db::query_plan(&conn, &sql, []).unwrap();
            assert_eq!(plan, ["SCAN audit_log USING INDEX audit_decoy"], "{how}");
        }
    }
}
