//! Unlocking: PINs, device secrets, several users, PIN changes.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::sync::Arc;

use chungtay_core::*;
use common::*;

fn db_snapshot(f: &Fixture) -> Vec<(String, Vec<u8>)> {
    // The data as SQLite sees it: every row of every table, sealed bytes included.
    let conn = rusqlite::Connection::open(&f.path).unwrap();
    let mut out = Vec::new();
    for table in ["meta", "users", "clubs", "member_keys", "members"] {
        // The wrong-PIN counter is meant to change; everything else must not.
        let mut stmt = conn
            .prepare(&format!(
                "SELECT * FROM {table} WHERE {} ORDER BY 1",
                if table == "meta" {
                    "name NOT IN ('failed_unlocks', 'last_failed_at')"
                } else {
                    "1"
                }
            ))
            .unwrap();
        let n = stmt.column_count();
        let rows = stmt
            .query_map([], |r| {
                let mut bytes = Vec::new();
                for i in 0..n {
                    match r.get_ref(i)? {
                        rusqlite::types::ValueRef::Blob(b) => bytes.extend_from_slice(b),
                        rusqlite::types::ValueRef::Text(t) => bytes.extend_from_slice(t),
                        rusqlite::types::ValueRef::Integer(v) => {
                            bytes.extend_from_slice(&v.to_le_bytes())
                        }
                        _ => {}
                    }
                }
                Ok(bytes)
            })
            .unwrap();
        for row in rows {
            out.push((table.to_owned(), row.unwrap()));
        }
    }
    out
}

#[test]
fn wrong_pin_is_typed_changes_nothing_and_right_pin_works() {
    let mut f = Fixture::new();
    let club = f.store.add_club(&club_input()).unwrap();
    let m = f
        .store
        .add_member(&club.id, &member_input("Vi Thị Hoa", "Thái", "Bản Chai"))
        .unwrap();
    let leader = f.leader_id();
    f.store.lock();
    let before = db_snapshot(&f);
    for wrong in ["000000", "274916", "274915 "] {
        assert!(matches!(
            f.store.unlock(&leader, wrong),
            Err(Error::WrongPin)
        ));
        assert!(!f.store.is_unlocked());
        assert!(matches!(f.store.member(&m.id), Err(Error::Locked)));
    }
    assert_eq!(before, db_snapshot(&f));
    // Three wrong PINs: now even the right one must wait (scenario 4; see tests/safety.rs).
    assert!(matches!(
        f.store.unlock(&leader, PIN),
        Err(Error::TooSoon { retry_after_secs }) if retry_after_secs <= 30
    ));
    common::rewind_lockout(&f, 31);
    f.store.unlock(&leader, PIN).unwrap();
    assert_eq!(f.store.member(&m.id).unwrap(), m);
}

#[test]
fn unknown_user_is_refused() {
    let mut f = Fixture::new();
    f.store.lock();
    assert!(matches!(
        f.store.unlock("8d3c1f0e-0000-4000-8000-000000000000", PIN),
        Err(Error::UnknownUser)
    ));
}

#[test]
fn lost_or_foreign_device_secret_is_its_own_error() {
    let f = Fixture::new();
    let leader = f.leader_id();
    let key_file = f.dir.path().join("device.key");
    drop(f.store);

    // A different phone's secret (or a reset Keystore that made a new key).
    let foreign = Arc::new(SoftwareDeviceSecret::generate().unwrap());
    let mut store = Store::open(&f.path, foreign).unwrap();
    assert!(matches!(
        store.unlock(&leader, PIN),
        Err(Error::KeyUnavailable(_))
    ));

    // The keystore says the key is gone.
    struct Gone;
    impl DeviceSecret for Gone {
        fn prf(&self, _: &[u8]) -> Result<Vec<u8>, DeviceSecretError> {
            Err(DeviceSecretError::Missing)
        }
        fn rotate(&self) -> Result<(), DeviceSecretError> {
            Err(DeviceSecretError::Missing)
        }
    }
    let mut store = Store::open(&f.path, Arc::new(Gone)).unwrap();
    assert!(matches!(
        store.unlock(&leader, PIN),
        Err(Error::KeyUnavailable(DeviceSecretError::Missing))
    ));

    // A laptop whose key file was deleted.
    assert!(matches!(
        SoftwareDeviceSecret::load(&key_file),
        Err(Error::KeyUnavailable(DeviceSecretError::Missing))
    ));

    // The right device still works.
    let mut store = Store::open(&f.path, f.device.clone()).unwrap();
    store.unlock(&leader, PIN).unwrap();
}

#[test]
fn several_users_each_with_their_own_pin() {
    let mut f = Fixture::new();
    let club = f.store.add_club(&club_input()).unwrap();
    let m = f
        .store
        .add_member(&club.id, &member_input("Vi Thị Hoa", "Thái", "Bản Chai"))
        .unwrap();
    let sealed_before = member_body(&f, &m.id);
    let deputy = add_deputy(&mut f.store);
    let auditor = f
        .store
        .add_user(
            PIN,
            NewUser::new("Cán bộ Hội tỉnh", UserRole::Auditor, "hoa sen nở"),
            KdfParams::MIN,
        )
        .unwrap();
    // Adding users re-wrapped the store key only: member data is byte-for-byte the same.
    assert_eq!(sealed_before, member_body(&f, &m.id));
    let roles: Vec<UserRole> = f.store.users().unwrap().iter().map(|u| u.role).collect();
    assert_eq!(
        roles,
        [UserRole::Leader, UserRole::Deputy, UserRole::Auditor]
    );

    f.store.lock();
    assert!(matches!(
        f.store.unlock(&deputy.id, PIN),
        Err(Error::WrongPin)
    ));
    f.store.unlock(&deputy.id, "853190").unwrap();
    assert_eq!(f.store.current_user().unwrap().role, UserRole::Deputy);
    // The deputy reads the member, with survivor status withheld (docs/ROLES.md).
    let mut withheld = m.clone();
    withheld.info.survivor_status = SurvivorStatus::Withheld;
    assert_eq!(f.store.member(&m.id).unwrap(), withheld);
    f.store.lock();
    f.store.unlock(&auditor.id, "hoa sen nở").unwrap();
    assert_eq!(f.store.member(&m.id).unwrap(), m);

    // The auditor changes their PIN: old one stops working, data untouched.
    assert!(matches!(
        f.store
            .change_pin("wrong-pin", "sen trắng 2026", KdfParams::MIN)
            .unwrap_err(),
        Error::WrongPin
    ));
    f.store
        .change_pin("hoa sen nở", "sen trắng 2026", KdfParams::MIN)
        .unwrap();
    assert_eq!(sealed_before, member_body(&f, &m.id));
    f.store.lock();
    assert!(matches!(
        f.store.unlock(&auditor.id, "hoa sen nở"),
        Err(Error::WrongPin)
    ));
    f.store.unlock(&auditor.id, "sen trắng 2026").unwrap();
    // Other users are unaffected.
    f.store.lock();
    f.store.unlock(&f.leader_id(), PIN).unwrap();
}

fn member_body(f: &Fixture, id: &str) -> Vec<u8> {
    let conn = rusqlite::Connection::open(&f.path).unwrap();
    conn.query_row("SELECT body FROM members WHERE id = ?1", [id], |r| r.get(0))
        .unwrap()
}

#[test]
fn weak_kdf_and_weak_pins_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let device = Arc::new(SoftwareDeviceSecret::generate().unwrap());
    let weak = KdfParams {
        m_kib: 4096,
        t: 1,
        p: 1,
    };
    assert!(matches!(
        Store::create(
            &dir.path().join("a.db"),
            device.clone(),
            NewUser::new("Mai", UserRole::Leader, PIN),
            weak
        ),
        Err(Error::WeakKdf { .. })
    ));
    for pin in ["1234", "123456", "111111"] {
        assert!(matches!(
            Store::create(
                &dir.path().join("b.db"),
                device.clone(),
                NewUser::new("Mai", UserRole::Leader, pin),
                KdfParams::MIN
            ),
            Err(Error::Invalid(ValidationError { field: "pin", .. }))
        ));
    }
}

#[test]
fn an_existing_store_is_never_overwritten_and_junk_is_not_a_store() {
    let f = Fixture::new();
    assert!(matches!(
        Store::create(
            &f.path,
            f.device.clone(),
            NewUser::new("Mai", UserRole::Leader, PIN),
            KdfParams::MIN
        ),
        Err(Error::AlreadyExists)
    ));
    let junk = f.dir.path().join("junk.db");
    std::fs::write(&junk, vec![0x42u8; 8192]).unwrap();
    assert!(matches!(
        Store::open(&junk, f.device.clone()),
        Err(Error::NotAStore)
    ));
    assert!(matches!(
        Store::open(&f.dir.path().join("missing.db"), f.device.clone()),
        Err(Error::Io(_))
    ));
}

#[test]
fn role_edited_in_the_file_is_caught_at_unlock() {
    let mut f = Fixture::new();
    let deputy = add_deputy(&mut f.store);
    drop(f.store);
    for edit in [
        "UPDATE users SET role = 'leader' WHERE id = ?1",
        "UPDATE users SET created_by = 'someone-else' WHERE id = ?1",
        "UPDATE users SET updated_at = '2020-01-01T00:00:00Z' WHERE id = ?1",
    ] {
        let conn = rusqlite::Connection::open(&f.path).unwrap();
        let saved: (String, String, String) = conn
            .query_row(
                "SELECT role, created_by, updated_at FROM users WHERE id = ?1",
                [&deputy.id],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .unwrap();
        conn.execute(edit, [&deputy.id]).unwrap();
        let mut store = Store::open(&f.path, f.device.clone()).unwrap();
        assert!(
            matches!(
                store.unlock(&deputy.id, "853190"),
                Err(Error::Integrity {
                    kind: RecordKind::User,
                    ..
                })
            ),
            "{edit}"
        );
        drop(store);
        conn.execute(
            "UPDATE users SET role = ?2, created_by = ?3, updated_at = ?4 WHERE id = ?1",
            [&deputy.id, &saved.0, &saved.1, &saved.2],
        )
        .unwrap();
        let mut store = Store::open(&f.path, f.device.clone()).unwrap();
        store.unlock(&deputy.id, "853190").unwrap();
    }
}

// ---- issue 11, point 10: each guess needs a chain of device-key calls ------------------------

/// A device key that records every call's input and output.
struct Recording {
    inner: SoftwareDeviceSecret,
    calls: std::sync::Mutex<Vec<(Vec<u8>, Vec<u8>)>>,
}

impl DeviceSecret for Recording {
    fn prf(&self, input: &[u8]) -> Result<Vec<u8>, DeviceSecretError> {
        let out = self.inner.prf(input)?;
        self.calls
            .lock()
            .unwrap()
            .push((input.to_vec(), out.clone()));
        Ok(out)
    }
    fn rotate(&self) -> Result<(), DeviceSecretError> {
        self.inner.rotate()
    }
}

/// The longest run of consecutive calls in which each call's input holds the previous call's
/// output: calls that cannot be made before the previous one answered.
fn longest_chain(calls: &[(Vec<u8>, Vec<u8>)]) -> usize {
    let mut best = usize::from(!calls.is_empty());
    let mut run = 1;
    for w in calls.windows(2) {
        let prev_out = &w[0].1;
        if w[1]
            .0
            .windows(prev_out.len())
            .any(|x| x == prev_out.as_slice())
        {
            run += 1;
            best = best.max(run);
        } else {
            run = 1;
        }
    }
    best
}

fn recording_store(dir: &std::path::Path) -> (Arc<Recording>, Store) {
    let device = Arc::new(Recording {
        inner: SoftwareDeviceSecret::generate().unwrap(),
        calls: Default::default(),
    });
    let store = Store::create(
        &dir.join("club.db"),
        device.clone(),
        NewUser::new("Lò Thị Mai", UserRole::Leader, PIN),
        KdfParams::MIN,
    )
    .unwrap();
    (device, store)
}

#[test]
fn one_pin_guess_needs_a_chain_of_device_calls_each_fed_the_previous_output() {
    let dir = tempfile::tempdir().unwrap();
    let (device, mut store) = recording_store(dir.path());
    let leader = store.current_user().unwrap().id;
    store.lock();
    device.calls.lock().unwrap().clear();
    assert!(matches!(
        store.unlock(&leader, "000000"),
        Err(Error::WrongPin)
    ));
    let calls = device.calls.lock().unwrap().clone();
    // Precomputing Argon2 for every PIN elsewhere leaves this many keystore calls per guess,
    // one after the other.
    let chain = longest_chain(&calls);
    assert!(
        chain >= keys::PRF_ROUNDS as usize && chain >= 8,
        "a guess needs only {chain} chained device calls"
    );
    // The first call of the chain already depends on the PIN: nothing can be computed ahead.
    let other = {
        device.calls.lock().unwrap().clear();
        let _ = store.unlock(&leader, "000001");
        device.calls.lock().unwrap().clone()
    };
    let firsts: Vec<_> = calls.iter().map(|c| &c.0).collect();
    assert!(other.iter().filter(|c| firsts.contains(&&c.0)).count() <= 1);
}

#[test]
fn a_first_release_key_slot_still_opens_and_becomes_a_chained_one() {
    let dir = tempfile::tempdir().unwrap();
    let fixtures = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let path = dir.path().join("old.db");
    std::fs::copy(fixtures.join("store-v1.db"), &path).unwrap();
    let salt_len = || -> usize {
        let conn = rusqlite::Connection::open(&path).unwrap();
        conn.query_row("SELECT length(kdf_salt) FROM users", [], |r| {
            r.get::<_, i64>(0)
        })
        .unwrap() as usize
    };
    let device = Arc::new(Recording {
        // A checked-out file is readable by all; a key file must be owner-only to be loaded.
        inner: SoftwareDeviceSecret::load(&private_copy(&fixtures.join("device.key"), &dir))
            .unwrap(),
        calls: Default::default(),
    });
    let mut store = Store::open(&path, device.clone()).unwrap();
    let leader = store.users().unwrap()[0].id.clone();
    assert_eq!(salt_len(), 16, "the fixture is a first-release slot");
    store.unlock(&leader, PIN).unwrap();
    // Re-wrapped at this unlock: the slot now says it is chained.
    assert!(salt_len() > 16);
    store.lock();
    drop(store);
    let mut store = Store::open(&path, device.clone()).unwrap();
    store.unlock(&leader, PIN).unwrap();
    store.lock();
    device.calls.lock().unwrap().clear();
    assert!(matches!(
        store.unlock(&leader, "000000"),
        Err(Error::WrongPin)
    ));
    assert!(longest_chain(&device.calls.lock().unwrap()) >= keys::PRF_ROUNDS as usize);
}

#[test]
fn a_key_file_cut_short_is_a_permanent_error_not_try_again() {
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("device.key");
    SoftwareDeviceSecret::load_or_create(&key).unwrap();
    let bytes = std::fs::read(&key).unwrap();
    std::fs::write(&key, &bytes[..10]).unwrap();
    let err = SoftwareDeviceSecret::load(&key).err().unwrap();
    assert!(
        matches!(err, Error::KeyUnavailable(DeviceSecretError::Damaged)),
        "{err:?}"
    );
    // What the app and the CLI see: the key is unusable (restore a backup), not "retry".
    assert_eq!(ChungTayError::from(err), ChungTayError::KeyUnavailable);
}

/// Finding G: a key file other accounts on the computer can read is refused, not used: whoever
/// read it can guess the PIN of a copy of the store elsewhere.
#[cfg(unix)]
#[test]
fn a_device_key_file_others_can_read_is_refused() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("device.key");
    SoftwareDeviceSecret::load_or_create(&key).unwrap();
    for mode in [0o644, 0o640, 0o604] {
        std::fs::set_permissions(&key, std::fs::Permissions::from_mode(mode)).unwrap();
        let err = SoftwareDeviceSecret::load(&key).err();
        assert!(
            matches!(err, Some(Error::KeyUnavailable(DeviceSecretError::Exposed))),
            "mode {mode:o}: {err:?}"
        );
    }
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600)).unwrap();
    SoftwareDeviceSecret::load(&key).unwrap();
}
