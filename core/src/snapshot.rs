//! The member index, sealed at lock, so that the next unlock need not open, decode and fold every
//! member again (docs/PERFORMANCE.md, "A cheaper unlock"). It is sealed under a key derived from
//! the store key and bound to the trail's head, and taken only when nothing changed since:
//! - the trail's head is still the one it was sealed with (every write appends an entry);
//! - every member row is still the row the index kept the digest of (`RawRow::digest`), no row
//!   more and none less, and every member's key unwrapped.
//!
//! Each member's entry is sealed once more under her own key, inside the chunk: erasing her key
//! erases her from every copy of a snapshot, as from her records (docs/SECURITY.md 6).
//!
//! Otherwise the unlock opens every member as it always did, and reports what it finds. The
//! unlock's own trail entry makes the snapshot stale at once (it is replaced at the next lock);
//! an erasure deletes it in the erasure's transaction, so her name is never left behind in one.

use rusqlite::{Connection, params};
use zeroize::Zeroizing;

use crate::crypto::{self, KeyId, Place, SecretKey};
use crate::error::{RecordKind, Result};
use crate::index::{self, Staged};
use crate::ledger;
use crate::session::Session;

/// Its rows in `meta` are named `index_snapshot.0`, `index_snapshot.1`...; every name of the
/// range [`FIRST`, `AFTER`) is one of them.
const PREFIX: &str = "index_snapshot.";
const FIRST: &str = "index_snapshot.";
const AFTER: &str = "index_snapshot/";
/// Members a chunk: a chunk is opened at a time, so an unlock never holds a second copy of the
/// whole index.
const PER_CHUNK: usize = 1000;
/// Chunks are padded to a multiple of this, so a chunk's length says little of its names.
const PAD: usize = 4096;
/// The layout of an entry and what `text::fold` and `text::name_sort_key` make of a name: a
/// snapshot sealed under another is never taken (the index is then built anew). Bump it with any
/// change to either, or members unchanged since would keep their old search and sort keys.
const FORMAT: u32 = 1;

fn key_of(session: &Session) -> Result<SecretKey> {
    session.store_key.derive(b"index-snapshot")
}

/// What every chunk's seal binds besides its name: how many chunks there are (none can be
/// dropped) and the trail's head when it was sealed (none is taken after a write).
fn bound(chunks: usize, head: &[u8]) -> String {
    let head = data_encoding::HEXLOWER.encode(head);
    format!("v{FORMAT}\u{1f}{chunks}\u{1f}{head}")
}

fn place<'a>(name: &'a str, bound: &'a str) -> Place<'a> {
    Place {
        table: "meta",
        kind: RecordKind::User,
        id: name,
        bound,
    }
}

/// Where one member's entry is sealed, under her own key.
fn entry_place(member_id: &str) -> Place<'_> {
    Place {
        table: "meta",
        kind: RecordKind::Member,
        id: member_id,
        bound: "index_snapshot",
    }
}

/// A snapshot's first chunk, opened by `current`: `load` takes it as it is, not read and
/// decrypted a second time.
pub(crate) struct First {
    chunks: usize,
    head: Vec<u8>,
    plain: Zeroizing<Vec<u8>>,
}

/// The first chunk of the snapshot the file holds, if it was sealed at the trail's present head
/// (it opens): only then is it worth reading every member row to check it. After a kill the
/// snapshot of the last lock is still there, stale.
pub(crate) fn current(conn: &Connection, store_kid: KeyId, session: &Session) -> Option<First> {
    let n: i64 = conn
        .prepare_cached("SELECT count(*) FROM meta WHERE name >= ?1 AND name < ?2")
        .ok()?
        .query_row([FIRST, AFTER], |r| r.get(0))
        .ok()?;
    let chunks = usize::try_from(n).ok()?;
    let head = ledger::read_head(conn).ok()??;
    let plain = open_chunk(
        conn,
        store_kid,
        &key_of(session).ok()?,
        0,
        &bound(chunks, &head),
    )?;
    Some(First {
        chunks,
        head,
        plain,
    })
}

/// Chunk `i`, read and opened under the snapshot key with its seal's `bound`.
fn open_chunk(
    conn: &Connection,
    store_kid: KeyId,
    key: &SecretKey,
    i: usize,
    bound: &str,
) -> Option<Zeroizing<Vec<u8>>> {
    let name = format!("{PREFIX}{i}");
    let value: Vec<u8> = conn
        .prepare_cached("SELECT value FROM meta WHERE name = ?1")
        .ok()?
        .query_row([&name], |r| r.get(0))
        .ok()?;
    crypto::open(key, store_kid, &place(&name, bound), &value).ok()
}

/// Removes the snapshot (inside the caller's transaction, if any).
pub(crate) fn discard(conn: &Connection) -> Result<()> {
    conn.prepare_cached("DELETE FROM meta WHERE name >= ?1 AND name < ?2")?
        .execute([FIRST, AFTER])?;
    Ok(())
}

/// Seals the session's index as of now, in place of any older snapshot. A session that found
/// damaged records leaves none: its next unlock opens everything and reports them again.
pub(crate) fn save(conn: &Connection, store_kid: KeyId, session: &Session) -> Result<()> {
    let tx = ledger::immediate(conn)?;
    discard(&tx)?;
    let Some(head) = ledger::read_head(&tx)? else {
        return Ok(tx.commit()?);
    };
    if !session.damaged.borrow().is_empty() {
        return Ok(tx.commit()?);
    }
    let key = key_of(session)?;
    let bound = bound(session.index.snapshot_chunk_count(PER_CHUNK), &head);
    let seal_entry = |id: &str, plain: &[u8]| {
        let (member_key, kid) = session.member_key(RecordKind::Member, id, id)?;
        Ok(crypto::seal(member_key, kid, &entry_place(id), plain)?
            .as_bytes()
            .to_vec())
    };
    let each = |i, chunk: &[u8]| {
        let name = format!("{PREFIX}{i}");
        let sealed = crypto::seal(&key, store_kid, &place(&name, &bound), chunk)?;
        tx.prepare_cached("INSERT INTO meta (name, value) VALUES (?1, ?2)")?
            .execute(params![name, sealed])?;
        Ok::<_, crate::error::Error>(())
    };
    let overhead = crypto::OVERHEAD;
    session
        .index
        .snapshot_chunks(PER_CHUNK, PAD, overhead, seal_entry, each)?;
    Ok(tx.commit()?)
}

/// The members of the snapshot whose first chunk `current` opened, if the rest opens and
/// nothing was written since (the trail's head is still the one it was sealed with). Whether
/// the rows still match is the caller's to check (`Staged::digest`).
pub(crate) fn load(
    conn: &Connection,
    store_kid: KeyId,
    session: &Session,
    first: First,
) -> Option<Vec<Staged>> {
    let names: Vec<String> = {
        let mut stmt = conn
            .prepare_cached("SELECT name FROM meta WHERE name >= ?1 AND name < ?2")
            .ok()?;
        let names = stmt.query_map([FIRST, AFTER], |r| r.get(0)).ok()?;
        names.collect::<rusqlite::Result<_>>().ok()?
    };
    // No more chunks than the members whose keys opened can fill: a file claiming more is not
    // ours, and must not size what is allocated before anything is authenticated.
    let n = names.len();
    if n == 0 || n != first.chunks || n > session.member_keys.len() / PER_CHUNK + 1 {
        return None;
    }
    // Exactly `index_snapshot.0` to `.{n-1}`, each written as `save` writes it.
    let mut seen = vec![false; n];
    for name in &names {
        let suffix = name.strip_prefix(PREFIX)?;
        let i: usize = suffix.parse().ok()?;
        if i.to_string() != suffix || std::mem::replace(seen.get_mut(i)?, true) {
            return None;
        }
    }
    // A write since `current` (the upgrade's reseal) moved the head: the snapshot is stale.
    let head = ledger::read_head(conn).ok()??;
    if head != first.head {
        return None;
    }
    let key = key_of(session).ok()?;
    let bound = bound(n, &head);
    // Sized once: grown by doubling, the old and the new buffer were both at the unlock's peak.
    let mut staged = Vec::with_capacity(n.checked_mul(PER_CHUNK)?);
    let mut aad = Vec::new();
    let mut first = Some(first.plain);
    for i in 0..n {
        // One chunk read at a time: the sealed snapshot is never in memory whole.
        let plain = match first.take() {
            Some(plain) => plain,
            None => open_chunk(conn, store_kid, &key, i, &bound)?,
        };
        let open_entry = |id: &str, sealed: &[u8], plain: &mut Zeroizing<Vec<u8>>| {
            let (member_key, kid) = session.member_key(RecordKind::Member, id, id).ok()?;
            crypto::open_into(member_key, kid, &entry_place(id), sealed, plain, &mut aad).ok()
        };
        staged.extend(index::staged_from_chunk(&plain, open_entry)?);
    }
    Some(staged)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use std::path::{Path, PathBuf};
    use std::sync::Arc;

    use super::*;
    use crate::domain::*;
    use crate::index::MemberFilter;
    use crate::keys::{KdfParams, SoftwareDeviceSecret};
    use crate::store::{NewUser, Store};
    use crate::{Damaged, UserRole};

    const PIN: &str = "274915";

    struct Phone {
        _dir: tempfile::TempDir,
        path: PathBuf,
        device: Arc<SoftwareDeviceSecret>,
        store: Store,
        leader: String,
        club: String,
    }

    fn member(name: &str, village: &str, safe: bool) -> MemberInput {
        MemberInput {
            full_name: name.into(),
            birth_year: Some(1999),
            gender: Gender::Female,
            ethnic_group: EthnicGroup::from_name("Thái").unwrap(),
            village: village.into(),
            phone: Some("0912 345 678".into()),
            role: MemberRole::Member,
            survivor_status: SurvivorStatus::NotASurvivor,
            safe_to_contact: safe,
        }
    }

    /// A store with a club of `n` members more than its three named ones.
    fn phone(n: usize) -> Phone {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("club.db");
        let device = Arc::new(SoftwareDeviceSecret::generate().unwrap());
        let mut store = Store::create(
            &path,
            device.clone(),
            NewUser::new("Lò Thị Mai", UserRole::Leader, PIN),
            KdfParams::MIN,
        )
        .unwrap();
        let leader = store.current_user().unwrap().id;
        let club = store
            .add_club(&ClubInput {
                name: "CLB Pù Nhi".into(),
                kind: ClubKind::AntiTrafficking,
                province: "Thanh Hóa".into(),
                commune: "Pù Nhi".into(),
                village: None,
                former_district: None,
            })
            .unwrap()
            .id;
        let mut inputs = vec![
            member("Nguyễn Thị Hoa", "Bản Chai", true),
            member("Vàng Thị Dua", "Bản Pù Nhi", false),
            member("Hà Thị Ánh", "Bản Chai", true),
        ];
        inputs.extend((0..n).map(|i| member(&format!("Lò Thị Số {i}"), "Bản Mới", true)));
        store.add_members(&club, &inputs).unwrap();
        Phone {
            _dir: dir,
            path,
            device,
            store,
            leader,
            club,
        }
    }

    impl Phone {
        fn everyone(&self) -> Vec<MemberSummary> {
            self.store.list_members(&self.club).unwrap()
        }
        fn unlock(&mut self) {
            self.store.unlock(&self.leader, PIN).unwrap();
        }
        fn took_snapshot(&self) -> bool {
            self.store.session.as_ref().unwrap().from_snapshot
        }
        /// Locks and unlocks again: whether that unlock took the snapshot.
        fn relock(&mut self) -> bool {
            self.store.lock();
            self.unlock();
            self.took_snapshot()
        }
        fn damaged(&self) -> Vec<Damaged> {
            self.store.damaged_records().unwrap()
        }
        /// The app killed: the store closed without a lock.
        fn kill_and_open(&mut self) {
            let store = Store::open(&self.path, self.device.clone()).unwrap();
            std::mem::forget(std::mem::replace(&mut self.store, store));
        }
        fn id_of(&self, name: &str) -> String {
            self.everyone()
                .into_iter()
                .find(|m| m.full_name == name)
                .unwrap()
                .id
        }
    }

    /// A second connection to the file, as someone holding it would edit it.
    fn file(path: &Path) -> rusqlite::Connection {
        rusqlite::Connection::open(path).unwrap()
    }

    /// One bit of a member's sealed body flipped in the file.
    fn flip_body(path: &Path, id: &str) {
        let conn = file(path);
        let mut body: Vec<u8> = conn
            .query_row("SELECT body FROM members WHERE id = ?1", [id], |r| r.get(0))
            .unwrap();
        body[40] ^= 1;
        conn.execute(
            "UPDATE members SET body = ?2 WHERE id = ?1",
            rusqlite::params![id, body],
        )
        .unwrap();
    }

    fn chunks(path: &Path) -> Vec<(String, Vec<u8>)> {
        let conn = file(path);
        let mut stmt = conn
            .prepare(
                "SELECT name, value FROM meta WHERE name LIKE 'index_snapshot.%' ORDER BY name",
            )
            .unwrap();
        stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap()
    }

    fn put_chunks(path: &Path, rows: &[(String, Vec<u8>)]) {
        let conn = file(path);
        conn.execute("DELETE FROM meta WHERE name LIKE 'index_snapshot.%'", [])
            .unwrap();
        for (name, value) in rows {
            conn.execute(
                "INSERT INTO meta (name, value) VALUES (?1, ?2)",
                rusqlite::params![name, value],
            )
            .unwrap();
        }
    }

    #[test]
    fn the_unlock_after_a_lock_takes_the_index_from_the_snapshot() {
        let mut p = phone(0);
        let before = p.everyone();
        let hoa = p.id_of("Nguyễn Thị Hoa");
        p.store.lock();
        assert_eq!(chunks(&p.path).len(), 1);
        p.unlock();
        assert!(p.took_snapshot());
        assert_eq!(p.everyone(), before);
        // Search still ignores diacritics; do-not-contact still has no number on the list.
        let found = p
            .store
            .search_members(&MemberFilter {
                text: "nguyen thi".into(),
                ..Default::default()
            })
            .unwrap();
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].id, hoa);
        let dua = p
            .everyone()
            .into_iter()
            .find(|m| m.full_name == "Vàng Thị Dua");
        assert_eq!(dua.unwrap().phone, None);
        assert!(p.damaged().is_empty());
        // Changes made after that unlock are in the next snapshot.
        p.store
            .update_member(&hoa, &member("Nguyễn Thị Hòa", "Bản Chai", true))
            .unwrap();
        let edited = p.everyone();
        assert!(p.relock());
        assert_eq!(p.everyone(), edited);
    }

    /// The snapshot is left in the file by the unlock that read it, but that unlock's own entry
    /// moved the trail's head: after a kill, it is not taken again.
    #[test]
    fn an_app_killed_without_locking_opens_every_member_at_the_next_unlock() {
        let mut p = phone(0);
        let before = p.everyone();
        p.store.lock();
        p.unlock();
        p.kill_and_open();
        p.unlock();
        assert!(!p.took_snapshot());
        assert_eq!(p.everyone(), before);
    }

    /// The snapshot is a copy of names: a member erased must not stay in one, whether the app
    /// was locked after the erasure or killed before it could be.
    #[test]
    fn an_erased_member_is_in_no_snapshot_left_in_the_file() {
        let mut p = phone(0);
        let hoa = p.id_of("Nguyễn Thị Hoa");
        p.store.lock();
        p.unlock();
        assert!(!chunks(&p.path).is_empty());
        p.store.erase_member(&hoa).unwrap();
        // Killed right after: the erasure took the snapshot read at this session's unlock.
        p.kill_and_open();
        assert!(chunks(&p.path).is_empty());
        p.unlock();
        assert!(p.everyone().iter().all(|m| m.id != hoa));
        // Locked after: the new snapshot has every member but her.
        assert!(p.relock());
        assert_eq!(p.everyone().len(), 2);
        assert!(p.everyone().iter().all(|m| m.id != hoa));
    }

    /// Someone who copied the file before an erasure, and later has a PIN (so the store key):
    /// the copy's chunks open, but her entry inside is sealed under her own key, which the
    /// erasure destroyed. Nothing of her is readable in them.
    #[test]
    fn a_snapshot_copied_before_an_erasure_does_not_give_her_back() {
        let mut p = phone(0);
        let hoa = p.id_of("Nguyễn Thị Hoa");
        p.store.lock();
        let copied = chunks(&p.path);
        let head: Vec<u8> = file(&p.path)
            .query_row(
                "SELECT value FROM meta WHERE name = 'audit_head'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        p.unlock();
        p.store.erase_member(&hoa).unwrap();
        let s = p.store.session.as_ref().unwrap();
        let key = key_of(s).unwrap();
        let bound = bound(copied.len(), &head);
        let (name, sealed) = &copied[0];
        let plain = crypto::open(&key, p.store.store_kid, &place(name, &bound), sealed).unwrap();
        for needle in ["Nguyễn Thị Hoa", "nguyen thi hoa", "Bản Chai", "0912"] {
            let found = plain.windows(needle.len()).any(|w| w == needle.as_bytes());
            assert!(!found, "{needle}");
        }
        // Entry by entry, in list order: those before hers open with their keys, hers does not
        // (the reading stops there); the other members' keys are all still there.
        let mut tried = Vec::new();
        let opened = crate::index::staged_from_chunk(&plain, |id, sealed, out| {
            let (k, kid) = s.member_key(RecordKind::Member, id, id).ok().or_else(|| {
                tried.push((id.to_owned(), false));
                None
            })?;
            crypto::open_into(k, kid, &entry_place(id), sealed, out, &mut Vec::new()).ok()?;
            tried.push((id.to_owned(), true));
            Some(())
        });
        assert!(opened.is_none());
        let (last, rest) = tried.split_last().unwrap();
        assert_eq!(last, &(hoa.clone(), false));
        assert!(
            !rest.is_empty() && rest.iter().all(|(_, ok)| *ok),
            "{tried:?}"
        );
        assert_eq!(s.member_keys.len(), 2);
        assert!(s.member_key(RecordKind::Member, &hoa, &hoa).is_err());
    }

    /// An edit replaces her old name or number in her row; the snapshot from the last lock must
    /// not keep them until the next lock (the app may be killed before it).
    #[test]
    fn an_edit_takes_the_old_values_out_of_the_file_at_once() {
        let mut p = phone(0);
        let hoa = p.id_of("Nguyễn Thị Hoa");
        p.store.lock();
        p.unlock();
        assert!(!chunks(&p.path).is_empty());
        let mut moved = member("Nguyễn Thị Hoa", "Bản Mới", true);
        moved.phone = Some("0987 654 321".into());
        p.store.update_member(&hoa, &moved).unwrap();
        assert!(chunks(&p.path).is_empty());
        p.kill_and_open();
        p.unlock();
        let hoa = p.everyone().into_iter().find(|m| m.id == hoa).unwrap();
        assert_eq!(hoa.village, "Bản Mới");
    }

    /// An older snapshot put back (taken before a rename) must not show the old name: it was
    /// sealed at an older head of the trail.
    #[test]
    fn an_older_snapshot_put_back_is_refused() {
        let mut p = phone(0);
        let hoa = p.id_of("Nguyễn Thị Hoa");
        p.store.lock();
        let old = chunks(&p.path);
        p.unlock();
        p.store
            .update_member(&hoa, &member("Nguyễn Thị Hòa", "Bản Chai", true))
            .unwrap();
        p.store.lock();
        put_chunks(&p.path, &old);
        p.unlock();
        assert!(!p.took_snapshot());
        assert!(p.everyone().iter().any(|m| m.full_name == "Nguyễn Thị Hòa"));
        assert!(p.everyone().iter().all(|m| m.full_name != "Nguyễn Thị Hoa"));
        assert!(p.damaged().is_empty());
    }

    /// The snapshot and the member row both put back from before the rename: the trail has
    /// moved on, so the snapshot is refused, every member is opened, and the row is reported.
    #[test]
    fn a_member_row_rolled_back_with_its_snapshot_is_reported() {
        let mut p = phone(0);
        let hoa = p.id_of("Nguyễn Thị Hoa");
        p.store.lock();
        let old = chunks(&p.path);
        let conn = file(&p.path);
        let n: i64 = conn
            .query_row(
                "SELECT count(*) FROM pragma_table_info('members')",
                [],
                |r| r.get(0),
            )
            .unwrap();
        let n = n as usize;
        let row: Vec<rusqlite::types::Value> = conn
            .query_row("SELECT * FROM members WHERE id = ?1", [&hoa], |r| {
                (0..n).map(|i| r.get(i)).collect()
            })
            .unwrap();
        drop(conn);
        p.unlock();
        p.store
            .update_member(&hoa, &member("Nguyễn Thị Hòa", "Bản Chai", true))
            .unwrap();
        p.store.lock();
        put_chunks(&p.path, &old);
        let marks: Vec<String> = (1..=n).map(|i| format!("?{i}")).collect();
        file(&p.path)
            .execute(
                &format!(
                    "INSERT OR REPLACE INTO members VALUES ({})",
                    marks.join(", ")
                ),
                rusqlite::params_from_iter(row.iter()),
            )
            .unwrap();
        p.unlock();
        assert!(!p.took_snapshot());
        let damaged = p.damaged();
        assert_eq!(damaged.len(), 1, "{damaged:?}");
        assert_eq!(damaged[0].id, hoa);
        assert_eq!(damaged[0].reason, crate::DamageReason::Stale);
    }

    /// With the trail untouched, a member row edited in the file (one byte of its seal, or a
    /// stamp) must not pass on the snapshot's word: the unlock opens every member and reports it.
    #[test]
    fn a_member_row_edited_since_the_lock_is_opened_and_reported() {
        for edit in [
            "flip a bit of the body",
            "UPDATE members SET updated_at = '2020-01-01T00:00:00.000000Z' WHERE id = ?1",
            "DELETE FROM members WHERE id = ?1",
        ] {
            let mut p = phone(0);
            let hoa = p.id_of("Nguyễn Thị Hoa");
            p.store.lock();
            if edit.starts_with("flip") {
                flip_body(&p.path, &hoa);
            } else {
                file(&p.path).execute(edit, [&hoa]).unwrap();
            }
            p.unlock();
            assert!(!p.took_snapshot(), "{edit}");
            let damaged = p.damaged();
            if edit.starts_with("DELETE") {
                // A missing row is the trail's to report (findings), as before the snapshot.
                assert!(p.everyone().iter().all(|m| m.id != hoa), "{edit}");
            } else {
                assert!(damaged.iter().any(|d| d.id == hoa), "{edit}: {damaged:?}");
            }
        }
    }

    /// Half the member keys are unwrapped on the unlock's second thread (the odd rows of
    /// `member_keys`), half on the first: a wrapped key edited in the file is reported whichever
    /// half it is in, the snapshot is not taken, and every other member still opens.
    #[test]
    fn a_member_key_edited_in_either_half_is_reported() {
        let mut p = phone(4);
        // The split is the snapshot path's: it is taken before the edit.
        assert!(p.relock());
        p.store.lock();
        let conn = file(&p.path);
        let rows: Vec<(i64, String)> = conn
            .prepare("SELECT rowid, member_id FROM member_keys ORDER BY rowid")
            .unwrap()
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap();
        let odd = rows
            .iter()
            .find(|(rowid, _)| rowid % 2 == 1)
            .unwrap()
            .1
            .clone();
        let even = rows
            .iter()
            .find(|(rowid, _)| rowid % 2 == 0)
            .unwrap()
            .1
            .clone();
        for id in [&odd, &even] {
            conn.execute(
                "UPDATE member_keys SET wrapped_key = zeroblob(77) WHERE member_id = ?1",
                [id],
            )
            .unwrap();
        }
        drop(conn);
        p.unlock();
        assert!(!p.took_snapshot());
        let keys: Vec<String> = p
            .damaged()
            .into_iter()
            .filter(|d| d.kind == RecordKind::MemberKey)
            .map(|d| d.id)
            .collect();
        assert!(keys.contains(&odd) && keys.contains(&even), "{keys:?}");
        let listed: Vec<String> = p.everyone().into_iter().map(|m| m.id).collect();
        assert_eq!(listed.len(), rows.len() - 2);
        assert!(!listed.contains(&odd) && !listed.contains(&even));
    }

    /// The halves are told by the rowid's last bit: a key row given a negative rowid (whose
    /// remainder by 2 is -1 in SQLite) is still in one of them, so nothing is missed or reported.
    #[test]
    fn a_member_key_row_with_a_negative_rowid_is_in_a_half() {
        let mut p = phone(4);
        p.store.lock();
        let conn = file(&p.path);
        let odd: i64 = conn
            .query_row(
                "SELECT rowid FROM member_keys WHERE rowid % 2 = 1 LIMIT 1",
                [],
                |r| r.get(0),
            )
            .unwrap();
        conn.execute("UPDATE member_keys SET rowid = -?1 WHERE rowid = ?1", [odd])
            .unwrap();
        drop(conn);
        p.unlock();
        assert!(p.took_snapshot());
        assert_eq!(p.damaged(), []);
        assert_eq!(p.everyone().len(), 7);
    }

    /// A key row whose id is no text (bytes that are not UTF-8) does not stop the unlock, as it
    /// did when every row was read as a string: it is reported by its row, and the member whose
    /// key it was is reported as her rows are.
    #[test]
    fn a_member_key_row_with_an_id_that_is_no_text_is_reported_by_its_row() {
        let mut p = phone(2);
        let hoa = p.id_of("Nguyễn Thị Hoa");
        p.store.lock();
        let conn = file(&p.path);
        let rowid: i64 = conn
            .query_row(
                "SELECT rowid FROM member_keys WHERE member_id = ?1",
                [&hoa],
                |r| r.get(0),
            )
            .unwrap();
        conn.execute(
            "UPDATE member_keys SET member_id = CAST(x'ff' AS TEXT) WHERE rowid = ?1",
            [rowid],
        )
        .unwrap();
        drop(conn);
        p.unlock();
        let damaged = p.damaged();
        let row = format!("member_keys row {rowid}");
        assert!(
            damaged
                .iter()
                .any(|d| d.kind == RecordKind::MemberKey && d.id == row),
            "{damaged:?}"
        );
        assert!(damaged.iter().any(|d| d.id == hoa), "{damaged:?}");
        assert_eq!(p.everyone().len(), 4);
    }

    /// The trail's entries between the lock and the head are the full path's to judge as well:
    /// a member's last entry edited to an erasure is reported, not covered by the snapshot.
    #[test]
    fn a_trail_entry_edited_since_the_lock_is_reported_as_before() {
        for (edit, reason) in [
            (
                "UPDATE audit_log SET action = 'delete' WHERE kind = 'member' AND record_id = ?1",
                crate::DamageReason::Deleted,
            ),
            (
                "DELETE FROM audit_log WHERE kind = 'member' AND record_id = ?1",
                crate::DamageReason::Untracked,
            ),
            (
                "UPDATE audit_log SET record_id = upper(record_id) WHERE kind = 'member' AND record_id = ?1",
                crate::DamageReason::Untracked,
            ),
        ] {
            let mut p = phone(0);
            let hoa = p.id_of("Nguyễn Thị Hoa");
            p.store.lock();
            let edited = file(&p.path).execute(edit, [&hoa]).unwrap();
            assert_eq!(edited, 1, "{edit}");
            p.unlock();
            assert!(!p.took_snapshot(), "{edit}");
            let damaged = p.damaged();
            assert!(
                damaged.iter().any(|d| d.id == hoa && d.reason == reason),
                "{edit}: {damaged:?}"
            );
        }
    }

    /// Rows planted to look like a snapshot of millions of members, or named out of form, are
    /// refused before anything is sized by them (an allocation that fails aborts the app).
    #[test]
    fn a_planted_snapshot_is_refused_before_it_sizes_anything() {
        let mut p = phone(0);
        let before = p.everyone();
        p.store.lock();
        let whole = chunks(&p.path);
        let mut planted = whole.clone();
        planted.extend((1..2_000).map(|i| (format!("index_snapshot.{i}"), vec![0])));
        let renamed = vec![("index_snapshot.00".to_owned(), whole[0].1.clone())];
        for rows in [planted, renamed] {
            put_chunks(&p.path, &rows);
            p.unlock();
            assert!(!p.took_snapshot());
            assert_eq!(p.everyone(), before);
            p.store.lock();
        }
    }

    /// A chunk edited, or one of several dropped, is refused: the unlock opens every member
    /// and lists all of them.
    #[test]
    fn a_snapshot_edited_or_cut_short_is_refused() {
        let mut p = phone(1_200);
        let before = p.everyone();
        p.store.lock();
        let whole = chunks(&p.path);
        assert_eq!(whole.len(), 2);
        let mut flipped = whole.clone();
        let last = flipped[1].1.len() - 20;
        flipped[1].1[last] ^= 1;
        for (what, rows) in [("edited", flipped), ("cut short", whole[..1].to_vec())] {
            put_chunks(&p.path, &rows);
            p.unlock();
            assert!(!p.took_snapshot(), "{what}");
            assert_eq!(p.everyone(), before, "{what}");
            assert!(p.damaged().is_empty(), "{what}");
            p.store.lock();
        }
        p.unlock();
        assert!(p.took_snapshot());
        assert_eq!(p.everyone(), before);
    }

    /// A session that found damage leaves no snapshot: the next unlock reports it again.
    #[test]
    fn damage_found_is_found_again_at_the_next_unlock() {
        let mut p = phone(0);
        let hoa = p.id_of("Nguyễn Thị Hoa");
        p.store.lock();
        flip_body(&p.path, &hoa);
        p.unlock();
        assert_eq!(p.damaged().len(), 1);
        p.store.lock();
        assert!(chunks(&p.path).is_empty());
        p.unlock();
        assert_eq!(p.damaged().len(), 1);
    }

    /// Under duress the store is wiped and the decoy made: the real index's snapshot is gone
    /// with it, and the decoy's own holds no member.
    #[test]
    fn a_duress_unlock_leaves_no_snapshot_of_the_real_members() {
        let mut p = phone(0);
        p.store.set_duress_pin(PIN, "550011").unwrap();
        p.store.lock();
        let real = chunks(&p.path);
        assert!(!real.is_empty());
        p.store.unlock(&p.leader, "550011").unwrap();
        let left: Vec<Vec<u8>> = chunks(&p.path).into_iter().map(|(_, v)| v).collect();
        assert!(real.iter().all(|(_, v)| !left.contains(v)));
        p.store.lock();
        p.store.unlock(&p.leader, "550011").unwrap();
        assert!(p.everyone().is_empty());
    }

    /// Names are in the snapshot, sealed: none of them is in the file's bytes after a lock.
    #[test]
    fn the_snapshot_holds_no_name_in_the_clear() {
        let mut p = phone(0);
        p.store.lock();
        let bytes: Vec<u8> = chunks(&p.path).into_iter().flat_map(|(_, v)| v).collect();
        assert!(!bytes.is_empty());
        for needle in [
            "Nguyễn Thị Hoa",
            "nguyen thi hoa",
            "Bản Chai",
            "ban chai",
            "0912",
        ] {
            assert!(
                !bytes.windows(needle.len()).any(|w| w == needle.as_bytes()),
                "{needle}"
            );
        }
    }
}
