//! Survivor safety: scenario 4 (the phone is taken) and scenario 5 (a new phone).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use chungtay_core::*;
use common::*;

const DURESS: &str = "918273";

/// Every file the store has written, byte for byte.
fn copy_files(path: &Path) -> HashMap<PathBuf, Vec<u8>> {
    safety::files_of(path)
        .into_iter()
        .filter(|p| p.exists())
        .map(|p| {
            let bytes = std::fs::read(&p).unwrap();
            (p, bytes)
        })
        .collect()
}

/// Puts saved copies back in a fresh folder and tries to open them with `pin`.
fn try_copies(
    saved: &HashMap<PathBuf, Vec<u8>>,
    device: Arc<SoftwareDeviceSecret>,
    user: &str,
    pin: &str,
) -> Result<Store> {
    let dir = tempfile::tempdir().unwrap().keep();
    let mut db = None;
    for (p, bytes) in saved {
        let target = dir.join(p.file_name().unwrap());
        std::fs::write(&target, bytes).unwrap();
        if !target.to_string_lossy().ends_with("-wal")
            && !target.to_string_lossy().ends_with("-shm")
        {
            db = Some(target);
        }
    }
    let mut store = Store::open(&db.unwrap(), device)?;
    store.unlock(user, pin)?;
    Ok(store)
}

fn populated() -> (Fixture, Club, Member) {
    let mut f = Fixture::new();
    let club = f.store.add_club(&club_input()).unwrap();
    let hoa = f
        .store
        .add_member(&club.id, &member_input("Vi Thị Hoa", "Thái", "Bản Chai"))
        .unwrap();
    f.store
        .add_member(&club.id, &member_input("Lò Thị Mai", "Thái", "Bản Chai"))
        .unwrap();
    f.store.add_consent(&consent_input(&hoa.id)).unwrap();
    (f, club, hoa)
}

#[test]
fn wrong_pins_wait_longer_and_longer_survive_a_restart_and_then_wipe() {
    let (mut f, _club, _hoa) = populated();
    let leader = f.leader_id();
    f.store.set_wipe_after(5).unwrap();
    f.store.lock();
    let saved = {
        // Copy while closed: what a thief would image.
        drop(std::mem::replace(
            &mut f.store,
            Store::open(&f.path, f.device.clone()).unwrap(),
        ));
        copy_files(&f.path)
    };
    assert_eq!(f.store.unlock_attempts_left().unwrap(), 5);
    for n in 1..=3 {
        assert!(matches!(
            f.store.unlock(&leader, "000000"),
            Err(Error::WrongPin)
        ));
        assert_eq!(f.store.unlock_attempts_left().unwrap(), 5 - n);
    }
    // The fourth try must wait 30 s, the fifth 60 s: growing delays.
    assert_eq!(safety::delay_after(3), 30);
    assert_eq!(safety::delay_after(4), 60);
    assert!(safety::delay_after(20) <= 30 * 60);
    assert!(matches!(
        f.store.unlock(&leader, "000000"),
        Err(Error::TooSoon { .. })
    ));
    // Restarting the app does not reset the count or the wait.
    drop(std::mem::replace(
        &mut f.store,
        Store::open(&f.path, f.device.clone()).unwrap(),
    ));
    assert!(matches!(
        f.store.unlock(&leader, PIN),
        Err(Error::TooSoon { .. })
    ));
    assert_eq!(f.store.unlock_attempts_left().unwrap(), 2);
    rewind_lockout(&f, 31);
    assert!(matches!(
        f.store.unlock(&leader, "000000"),
        Err(Error::WrongPin)
    ));
    rewind_lockout(&f, 61);
    // The fifth wrong PIN wipes.
    assert!(matches!(
        f.store.unlock(&leader, "000000"),
        Err(Error::Wiped)
    ));
    assert!(matches!(f.store.unlock(&leader, PIN), Err(Error::Wiped)));
    for file in safety::files_of(&f.path) {
        assert!(!file.exists(), "{} survived the wipe", file.display());
    }
    // A copy of every file taken before does not open, even with the right PIN on this phone.
    assert!(matches!(
        try_copies(&saved, f.device.clone(), &leader, PIN),
        Err(Error::KeyUnavailable(_))
    ));
}

#[test]
fn a_clock_set_back_after_a_wrong_pin_does_not_lock_the_leader_out_for_longer() {
    let (mut f, _, _) = populated();
    let leader = f.leader_id();
    f.store.lock();
    for _ in 0..3 {
        assert!(matches!(
            f.store.unlock(&leader, "000000"),
            Err(Error::WrongPin)
        ));
    }
    // The phone's clock was a year ahead at the last try and has since been corrected.
    rewind_lockout(&f, -365 * 24 * 3600);
    let Err(Error::TooSoon { retry_after_secs }) = f.store.unlock(&leader, PIN) else {
        panic!("expected the usual wait");
    };
    assert!(retry_after_secs <= 30, "{retry_after_secs} s");
    // The wait now runs from the corrected clock: once over, the right PIN opens.
    rewind_lockout(&f, 31);
    f.store.unlock(&leader, PIN).unwrap();
}

/// A keystore that cannot make a new key: the wipe must still be reported as a wipe.
struct StuckKeystore(SoftwareDeviceSecret);

impl DeviceSecret for StuckKeystore {
    fn prf(&self, input: &[u8]) -> std::result::Result<Vec<u8>, DeviceSecretError> {
        self.0.prf(input)
    }
    fn rotate(&self) -> std::result::Result<(), DeviceSecretError> {
        Err(DeviceSecretError::Failed {
            detail: "keystore busy".into(),
        })
    }
}

#[test]
fn a_wipe_whose_key_rotation_failed_says_so_instead_of_wiped() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("club.db");
    let device = Arc::new(StuckKeystore(SoftwareDeviceSecret::generate().unwrap()));
    let mut store = Store::create(
        &path,
        device,
        NewUser::new("Lò Thị Mai", UserRole::Leader, PIN),
        KdfParams::MIN,
    )
    .unwrap();
    let leader = store.current_user().unwrap().id;
    store.set_wipe_after(3).unwrap();
    store.lock();
    let mut last = None;
    // The first three wrong PINs come without a wait; the third is the last allowed.
    for _ in 0..3 {
        last = Some(store.unlock(&leader, "000000"));
    }
    // The files are gone, but the device key that opens copies of them is not: the user is
    // told, rather than told the store is beyond recovery.
    assert!(
        matches!(last, Some(Err(Error::WipeIncomplete { .. }))),
        "{last:?}"
    );
    assert!(matches!(
        ChungTayError::from(last.unwrap().unwrap_err()),
        ChungTayError::WipeIncomplete { .. }
    ));
    assert!(matches!(store.unlock(&leader, PIN), Err(Error::Wiped)));
    assert!(!path.exists());
}

#[test]
fn the_right_pin_resets_the_count() {
    let (mut f, _, _) = populated();
    let leader = f.leader_id();
    // Changing the threshold is a safety setting: the trail says who set it, and to what.
    f.store.set_wipe_after(12).unwrap();
    let set = f.store.audit_entries().unwrap().pop().unwrap();
    assert_eq!(
        (set.action, set.record_id.as_str(), set.fields.clone()),
        (
            AuditAction::Update,
            "wipe_after",
            vec!["wipe_after=12".to_owned()]
        )
    );
    f.store.set_wipe_after(10).unwrap();
    f.store.lock();
    assert!(f.store.unlock(&leader, "000000").is_err());
    assert!(f.store.unlock(&leader, "000001").is_err());
    f.store.unlock(&leader, PIN).unwrap();
    assert_eq!(f.store.unlock_attempts_left().unwrap(), 10);
}

#[test]
fn the_duress_pin_destroys_the_real_data_and_opens_a_plausible_empty_club() {
    let (mut f, club, hoa) = populated();
    let leader = f.leader_id();
    assert!(matches!(
        f.store.set_duress_pin(PIN, PIN),
        Err(Error::Invalid(ValidationError {
            field: "duress_pin",
            ..
        }))
    ));
    f.store.set_duress_pin(PIN, DURESS).unwrap();
    f.store
        .record_meeting(&meeting_input(&club.id, vec![hoa.id.clone()]))
        .unwrap();
    f.store.lock();
    // While the app runs: the files as they are, WAL included.
    let saved = copy_files(&f.path);
    assert!(saved.len() >= 2, "expected the database and its WAL");

    // Forced to unlock, the leader types the duress PIN. It looks like any unlock.
    f.store.unlock(&leader, DURESS).unwrap();
    assert_eq!(f.store.current_user().unwrap().id, leader);
    assert_eq!(f.store.current_user().unwrap().role, UserRole::Leader);
    let clubs = f.store.clubs().unwrap();
    assert_eq!(clubs.len(), 1);
    assert_eq!(clubs[0].info.name, club.info.name);
    assert!(f.store.list_members(&clubs[0].id).unwrap().is_empty());
    assert!(f.store.meetings(&clubs[0].id).unwrap().is_empty());
    assert_eq!(f.store.users().unwrap().len(), 1);
    f.store.verify_audit().unwrap();
    // The duress PIN opens the decoy again; the real PIN opens nothing.
    f.store.lock();
    assert!(matches!(f.store.unlock(&leader, PIN), Err(Error::WrongPin)));
    f.store.unlock(&leader, DURESS).unwrap();

    // Every file the real store had written: none of it opens, with the real PIN and this
    // phone's device secret.
    assert!(matches!(
        try_copies(&saved, f.device.clone(), &leader, PIN),
        Err(Error::KeyUnavailable(_))
    ));
    // Nor with the duress PIN (it only ever opened the decoy).
    assert!(try_copies(&saved, f.device.clone(), &leader, DURESS).is_err());
    // And none of the real names is in the new files.
    drop(f.store);
    for p in safety::files_of(&f.path).into_iter().filter(|p| p.exists()) {
        let bytes = std::fs::read(p).unwrap();
        assert!(!bytes.windows(4).any(|w| w == b"Hoa\""));
    }
}

#[test]
fn erasing_one_member_leaves_nothing_of_her_and_keeps_the_rest() {
    let (mut f, club, hoa) = populated();
    let meeting = f
        .store
        .record_meeting(&meeting_input(&club.id, vec![hoa.id.clone()]))
        .unwrap();
    // Field staff left notes on her consent and on the meeting she attended.
    let leader = f.leader_id();
    let auditor = f
        .store
        .add_user(
            PIN,
            NewUser::new("Cán bộ Hội tỉnh", UserRole::Auditor, "815362"),
            KdfParams::MIN,
        )
        .unwrap();
    let her_consent = f.store.consents_for(&hoa.id).unwrap()[0].id.clone();
    f.store.lock();
    f.store.unlock(&auditor.id, "815362").unwrap();
    f.store
        .annotate(RecordKind::Consent, &her_consent, "Chữ ký của chị ấy bị mờ")
        .unwrap();
    f.store
        .annotate(
            RecordKind::Meeting,
            &meeting.id,
            "Thiếu chữ ký người điểm danh",
        )
        .unwrap();
    f.store.lock();
    f.store.unlock(&leader, PIN).unwrap();
    let conn = rusqlite::Connection::open(&f.path).unwrap();
    let wrapped: Vec<u8> = conn
        .query_row(
            "SELECT wrapped_key FROM member_keys WHERE member_id = ?1",
            [&hoa.id],
            |r| r.get(0),
        )
        .unwrap();
    let body: Vec<u8> = conn
        .query_row("SELECT body FROM members WHERE id = ?1", [&hoa.id], |r| {
            r.get(0)
        })
        .unwrap();
    drop(conn);
    // A backup copy left behind when the app was killed while making one.
    let mut stale = f.path.as_os_str().to_owned();
    stale.push(".backup-tmp");
    std::fs::copy(&f.path, &stale).unwrap();

    f.store.erase_member(&hoa.id).unwrap();
    assert!(!std::path::Path::new(&stale).exists());
    assert!(matches!(
        f.store.member(&hoa.id),
        Err(Error::NotFound { .. })
    ));
    assert!(f.store.consents_for(&hoa.id).unwrap().is_empty());
    assert!(
        f.store
            .annotations(RecordKind::Consent, &her_consent)
            .unwrap()
            .is_empty()
    );
    assert_eq!(f.store.list_members(&club.id).unwrap().len(), 1);
    assert_eq!(f.store.meeting(&meeting.id).unwrap().id, meeting.id);
    // The note on the club's meeting is not hers: it stays.
    assert_eq!(
        f.store
            .annotations(RecordKind::Meeting, &meeting.id)
            .unwrap()
            .len(),
        1
    );
    f.store.verify_audit().unwrap();
    let erased = f
        .store
        .audit_entries()
        .unwrap()
        .into_iter()
        .find(|e| e.action == AuditAction::Delete && e.record_id == hoa.id)
        .unwrap();
    // That it was an erasure, which of her records and of the auditors' notes went with her
    // (kinds and ids only; the field names are sealed in the file).
    assert_eq!(erased.fields[0], "erased");
    let notes = erased
        .fields
        .iter()
        .filter(|f| f.starts_with("annotation="))
        .count();
    assert_eq!(notes, 1, "{:?}", erased.fields);
    let records = erased.fields.iter().filter(|f| {
        ["consent=", "referral=", "livelihood="]
            .iter()
            .any(|p| f.starts_with(p))
    });
    assert_eq!(
        records.count(),
        erased.fields.len() - 2,
        "{:?}",
        erased.fields
    );
    assert!(
        erased.fields.len() > 2,
        "her records are named: {:?}",
        erased.fields
    );

    // Her wrapped key and sealed record are gone from every file, WAL included.
    for p in safety::files_of(&f.path).into_iter().filter(|p| p.exists()) {
        let bytes = std::fs::read(&p).unwrap();
        for (what, needle) in [("wrapped key", &wrapped), ("sealed record", &body)] {
            assert!(
                !bytes.windows(needle.len()).any(|w| w == needle.as_slice()),
                "{what} still in {}",
                p.display()
            );
        }
    }
    f.reopen();
    assert_eq!(f.store.list_members(&club.id).unwrap().len(), 1);
    assert!(f.store.damaged_records().unwrap().is_empty());
}

#[test]
fn a_backup_restores_everything_on_a_new_phone_with_the_recovery_secret() {
    let (mut f, club, hoa) = populated();
    f.store
        .record_meeting(&meeting_input(&club.id, vec![hoa.id.clone()]))
        .unwrap();
    f.store
        .add_user(
            PIN,
            NewUser::new("Phạm Thị Lan", UserRole::Deputy, "853190"),
            KdfParams::MIN,
        )
        .unwrap();
    assert!(matches!(
        f.store.create_backup(),
        Err(Error::Invalid(ValidationError {
            field: "recovery",
            ..
        }))
    ));
    let setup = f.store.setup_recovery().unwrap();
    // A log line of the whole record must not carry the secret.
    assert!(!format!("{setup:?}").contains(&setup.recovery_secret));
    let secret = setup.recovery_secret;
    assert!(secret.len() >= 32, "{secret}");
    let backup = f.store.create_backup().unwrap();
    let entries_before = f.store.audit_entries().unwrap().len();
    // Nothing personal readable in the backup file either.
    let name = "Vi Thị Hoa".as_bytes();
    assert!(!backup.windows(name.len()).any(|w| w == name));

    // The new phone: another device secret, another folder.
    let phone = tempfile::tempdir().unwrap();
    let new_device = Arc::new(SoftwareDeviceSecret::generate().unwrap());
    let target = phone.path().join("club.db");

    // A wrong secret, a damaged file, a truncated file: clear errors, nothing imported.
    let wrong = Store::restore(
        &backup,
        "AAAA-BBBB-CCCC-DDDD-EEEE-FFFF-GGGG-HHHH",
        &target,
        new_device.clone(),
        "640213",
        KdfParams::MIN,
    );
    assert!(matches!(wrong, Err(Error::WrongRecoverySecret)));
    let mut damaged = backup.clone();
    let at = damaged.len() - 100;
    damaged[at] ^= 0x10;
    assert!(matches!(
        Store::restore(
            &damaged,
            &secret,
            &target,
            new_device.clone(),
            "640213",
            KdfParams::MIN
        ),
        Err(Error::BackupDamaged)
    ));
    assert!(matches!(
        Store::restore(
            &backup[..200],
            &secret,
            &target,
            new_device.clone(),
            "640213",
            KdfParams::MIN
        ),
        Err(Error::BackupDamaged)
    ));
    assert!(
        std::fs::read_dir(phone.path()).unwrap().next().is_none(),
        "something was imported"
    );

    // The secret as the union wrote it down: lower case, spaces instead of dashes.
    let typed = secret.to_lowercase().replace('-', " ");
    let mut restored = Store::restore(
        &backup,
        &typed,
        &target,
        new_device.clone(),
        "640213",
        KdfParams::MIN,
    )
    .unwrap();
    assert_eq!(
        restored.member(&hoa.id).unwrap().info.full_name,
        "Vi Thị Hoa"
    );
    assert_eq!(restored.list_members(&club.id).unwrap().len(), 2);
    assert_eq!(restored.meetings(&club.id).unwrap().len(), 1);
    assert_eq!(restored.consents_for(&hoa.id).unwrap().len(), 1);
    // The audit chain came along and still verifies, with the restore noted.
    restored.verify_audit().unwrap();
    let entries = restored.audit_entries().unwrap();
    assert!(entries.len() > entries_before);
    assert!(entries.iter().any(|e| e.action == AuditAction::Restore));
    // Only the leader remains; she unlocks with her new PIN on the new phone.
    assert_eq!(restored.users().unwrap().len(), 1);
    let leader = restored.current_user().unwrap().id;
    restored.lock();
    restored.unlock(&leader, "640213").unwrap();
    // The old phone's duress slot was dropped on purpose: nothing is reported damaged.
    assert_eq!(restored.damaged_records().unwrap(), vec![]);
    // The old phone's secret does not open the restored store.
    drop(restored);
    let mut other = Store::open(&target, f.device.clone()).unwrap();
    assert!(matches!(
        other.unlock(&leader, "640213"),
        Err(Error::KeyUnavailable(_))
    ));
}

#[test]
fn a_member_who_must_not_be_contacted_has_no_number_anywhere() {
    let mut f = Fixture::new();
    let club = f.store.add_club(&club_input()).unwrap();
    let mut hidden = member_input("Vi Thị Hoa", "Thái", "Bản Chai");
    hidden.safe_to_contact = false;
    hidden.phone = Some("0911 222 333".into());
    let hoa = f.store.add_member(&club.id, &hidden).unwrap();
    let mai = f
        .store
        .add_member(&club.id, &member_input("Lò Thị Mai", "Thái", "Bản Chai"))
        .unwrap();
    // Not in the list, not on the member screen, and no contact action.
    assert_eq!(
        f.store
            .list_members(&club.id)
            .unwrap()
            .iter()
            .find(|m| m.id == hoa.id)
            .unwrap()
            .phone,
        None
    );
    let detail = f.store.member_detail(&hoa.id).unwrap();
    assert_eq!(detail.member.info.phone, None);
    assert!(matches!(
        f.store.contact_phone(&hoa.id),
        Err(Error::DoNotContact)
    ));
    assert_eq!(f.store.contact_phone(&mai.id).unwrap(), "0912 345 678");
    // Saving her form (which never showed the number) keeps it stored.
    let mut edit = detail.member.info.clone();
    edit.village = "Bản Ón".into();
    f.store.update_member(&hoa.id, &edit).unwrap();
    edit.safe_to_contact = true;
    f.store.update_member(&hoa.id, &edit).unwrap();
    assert_eq!(f.store.contact_phone(&hoa.id).unwrap(), "0911 222 333");
}

#[test]
fn only_the_leader_handles_safety() {
    let (mut f, _, hoa) = populated();
    let deputy = add_deputy(&mut f.store);
    f.store.lock();
    f.store.unlock(&deputy.id, "853190").unwrap();
    for result in [
        f.store.set_duress_pin(PIN, DURESS),
        f.store.erase_member(&hoa.id),
        f.store.set_wipe_after(5),
        f.store.setup_recovery().map(drop),
        f.store.create_backup().map(drop),
    ] {
        assert!(matches!(result, Err(Error::Forbidden(Permission::Safety))));
    }
}

// ---- issue 11: the duress PIN (points 7, 8, 9) ----------------------------------------------

/// A device key that counts its calls, so tests can compare the *work* of two unlocks (wall
/// clock time is too noisy to show two paths cost the same).
struct Counting {
    inner: SoftwareDeviceSecret,
    calls: std::sync::atomic::AtomicUsize,
}

impl DeviceSecret for Counting {
    fn prf(&self, input: &[u8]) -> std::result::Result<Vec<u8>, DeviceSecretError> {
        self.calls.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        self.inner.prf(input)
    }
    fn rotate(&self) -> std::result::Result<(), DeviceSecretError> {
        self.inner.rotate()
    }
}

struct Counted {
    _dir: tempfile::TempDir,
    device: Arc<Counting>,
    store: Store,
    path: PathBuf,
}

fn counted_store() -> Counted {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("club.db");
    let device = Arc::new(Counting {
        inner: SoftwareDeviceSecret::generate().unwrap(),
        calls: Default::default(),
    });
    let mut store = Store::create(
        &path,
        device.clone(),
        NewUser::new("Lò Thị Mai", UserRole::Leader, PIN),
        KdfParams::MIN,
    )
    .unwrap();
    let club = store.add_club(&club_input()).unwrap();
    store
        .add_member(&club.id, &member_input("Vi Thị Hoa", "Thái", "Bản Chai"))
        .unwrap();
    Counted {
        _dir: dir,
        device,
        store,
        path,
    }
}

/// (device-key calls, Argon2 runs) made by `f`.
fn work<T>(device: &Counting, f: impl FnOnce() -> T) -> (T, usize, u64) {
    let calls = device.calls.load(std::sync::atomic::Ordering::SeqCst);
    let runs = keys::argon2_runs_on_this_thread();
    let out = f();
    (
        out,
        device.calls.load(std::sync::atomic::Ordering::SeqCst) - calls,
        keys::argon2_runs_on_this_thread() - runs,
    )
}

#[test]
fn a_wrong_pin_costs_the_same_with_or_without_a_duress_pin() {
    let mut plain = counted_store();
    let mut with_duress = counted_store();
    with_duress.store.set_duress_pin(PIN, DURESS).unwrap();
    let leader_a = plain.store.current_user().unwrap().id;
    let leader_b = with_duress.store.current_user().unwrap().id;
    plain.store.lock();
    with_duress.store.lock();
    let (a, a_calls, a_runs) = work(&plain.device, || plain.store.unlock(&leader_a, "000000"));
    let (b, b_calls, b_runs) = work(&with_duress.device, || {
        with_duress.store.unlock(&leader_b, "000000")
    });
    assert!(matches!(a, Err(Error::WrongPin)) && matches!(b, Err(Error::WrongPin)));
    assert_eq!(
        (a_calls, a_runs),
        (b_calls, b_runs),
        "a wrong PIN tells whether a duress PIN is set"
    );
}

#[test]
fn a_duress_unlock_costs_what_a_normal_unlock_costs() {
    let mut c = counted_store();
    let deputy = add_deputy(&mut c.store);
    c.store.set_duress_pin(PIN, DURESS).unwrap();
    c.store.lock();
    let (normal, n_calls, n_runs) = work(&c.device, || c.store.unlock(&deputy.id, "853190"));
    normal.unwrap();
    c.store.lock();
    let (duress, d_calls, d_runs) = work(&c.device, || c.store.unlock(&deputy.id, DURESS));
    duress.unwrap();
    assert!(
        c.store
            .list_members(&c.store.clubs().unwrap()[0].id)
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        (n_calls, n_runs),
        (d_calls, d_runs),
        "a duress unlock does more work than a normal one"
    );
}

fn meta_rows(path: &Path) -> Vec<(String, usize)> {
    let conn = rusqlite::Connection::open(path).unwrap();
    let mut stmt = conn
        .prepare(
            "SELECT name, length(value) FROM meta \
             WHERE name NOT IN ('decoy', 'audit_head') ORDER BY name",
        )
        .unwrap();
    stmt.query_map([], |r| Ok((r.get(0)?, r.get::<_, i64>(1)? as usize)))
        .unwrap()
        .map(|r| r.unwrap())
        .collect()
}

#[test]
fn nothing_in_the_file_or_the_trail_says_whether_a_duress_pin_is_set() {
    let mut plain = counted_store();
    let mut with_duress = counted_store();
    // The same day's work on both phones: one leader changes her PIN, the other sets a duress PIN.
    plain
        .store
        .change_pin(PIN, "640213", KdfParams::MIN)
        .unwrap();
    with_duress.store.set_duress_pin(PIN, DURESS).unwrap();
    plain.store.lock();
    with_duress.store.lock();
    // The same rows, of the same sizes, in `meta`.
    assert_eq!(meta_rows(&plain.path), meta_rows(&with_duress.path));
    // The same trail, entry for entry (action and kind).
    let shape = |s: &Store| -> Vec<(AuditAction, Option<RecordKind>)> {
        s.audit_entries()
            .unwrap()
            .into_iter()
            .map(|e| (e.action, e.kind))
            .collect()
    };
    let a = plain.store.users().unwrap()[0].id.clone();
    let b = with_duress.store.users().unwrap()[0].id.clone();
    plain.store.unlock(&a, "640213").unwrap();
    with_duress.store.unlock(&b, PIN).unwrap();
    assert_eq!(shape(&plain.store), shape(&with_duress.store));
    assert!(
        !with_duress
            .store
            .audit_entries()
            .unwrap()
            .iter()
            .any(|e| e.record_id.contains("duress"))
    );
}

fn trail_rows(path: &Path) -> usize {
    let conn = rusqlite::Connection::open(path).unwrap();
    conn.query_row("SELECT count(*) FROM audit_log", [], |r| r.get::<_, i64>(0))
        .unwrap() as usize
}

/// The duress PIN typed by `forced` (the leader or the deputy) under her own name: what she
/// sees after is what she saw before, except the members and their records.
fn decoy_looks_like_the_club(forced_is_leader: bool) {
    let (mut f, club, hoa) = populated();
    let second = f
        .store
        .add_club(&ClubInput {
            name: "CLB Hoa Ban".into(),
            ..club_input()
        })
        .unwrap();
    let deputy = add_deputy(&mut f.store);
    f.store
        .record_meeting(&meeting_input(&club.id, vec![hoa.id.clone()]))
        .unwrap();
    f.store.set_duress_pin(PIN, DURESS).unwrap();
    // A club in use for a while: many unlocks by both users.
    let leader = f.leader_id();
    for i in 0..15 {
        f.store.lock();
        let (who, pin) = if i % 2 == 0 {
            (&leader, PIN)
        } else {
            (&deputy.id, "853190")
        };
        f.store.unlock(who, pin).unwrap();
    }
    f.store.lock();
    let (forced, pin, role) = if forced_is_leader {
        (leader.clone(), PIN, UserRole::Leader)
    } else {
        (deputy.id.clone(), "853190", UserRole::Deputy)
    };
    // What she sees before.
    f.store.unlock(&forced, pin).unwrap();
    let users_before = f.store.users().unwrap();
    let clubs = |s: &Store| -> Vec<(String, String, Stamp)> {
        s.clubs()
            .unwrap()
            .into_iter()
            .map(|c| (c.id, c.info.name, c.stamp))
            .collect()
    };
    let clubs_before = clubs(&f.store);
    assert_eq!(clubs_before.len(), 2);
    f.store.lock();
    let trail_before = trail_rows(&f.path);
    let club_lengths = |path: &std::path::Path| -> Vec<i64> {
        let conn = rusqlite::Connection::open(path).unwrap();
        let mut stmt = conn
            .prepare("SELECT length(body) FROM clubs ORDER BY id")
            .unwrap();
        stmt.query_map([], |r| r.get(0))
            .unwrap()
            .map(Result::unwrap)
            .collect()
    };
    let lengths_before = club_lengths(&f.path);

    f.store.unlock(&forced, DURESS).unwrap();
    assert_eq!(f.store.current_user().unwrap().id, forced);
    assert_eq!(f.store.current_user().unwrap().role, role);
    assert_eq!(f.store.users().unwrap(), users_before);
    // Same ids, names and stamps: nothing looks made today; the rows as long as real ones.
    assert_eq!(clubs(&f.store), clubs_before);
    assert_eq!(club_lengths(&f.path), lengths_before);
    for c in [&club.id, &second.id] {
        assert!(f.store.list_members(c).unwrap().is_empty());
        assert!(f.store.meetings(c).unwrap().is_empty());
    }
    assert!(matches!(
        f.store.member(&hoa.id),
        Err(Error::NotFound { .. })
    ));
    // A trail about as long as the real one (not a two-entry trail), naming no member.
    let n = trail_rows(&f.path);
    assert!(
        n * 10 >= trail_before && n <= trail_before * 10 && n > 20,
        "decoy trail {n} entries, real one {trail_before}"
    );
    if forced_is_leader {
        assert!(f.store.verify_audit().unwrap() as usize >= n);
        let entries = f.store.audit_entries().unwrap();
        assert!(
            entries
                .iter()
                .any(|e| e.user_id == deputy.id && e.action == AuditAction::Unlock)
        );
        assert!(!entries.iter().any(|e| e.record_id == hoa.id));
    }
    // The decoy opens again with the duress PIN; the real PINs open nothing.
    f.store.lock();
    assert!(matches!(
        f.store.unlock(&deputy.id, "853190"),
        Err(Error::WrongPin)
    ));
    assert!(matches!(f.store.unlock(&leader, PIN), Err(Error::WrongPin)));
    f.store.unlock(&forced, DURESS).unwrap();
}

/// 1,050 renames of one club ("CLB Hoa Ban 0" to "CLB Hoa Ban 1049"): more trail entries than
/// the decoy keeps, so older ones fall out of its newest 1,000.
fn rename_many_times(f: &mut Fixture, club_id: &str) {
    for i in 0..1_050 {
        let input = ClubInput {
            name: format!("CLB Hoa Ban {i}"),
            ..club_input()
        };
        f.store.update_club(club_id, &input).unwrap();
    }
}

/// A store used for years: the decoy keeps the newest 1,000 entries it may show, and each
/// club's last write however old (its row names that entry), so the decoy's trail and rows
/// verify; the member records' entries, however many, are never read into it.
#[test]
fn a_long_trail_leaves_the_decoy_the_newest_thousand_entries_and_each_clubs_last_write() {
    let (mut f, old_club, hoa) = populated();
    let busy = f
        .store
        .add_club(&ClubInput {
            name: "CLB Hoa Ban".into(),
            ..club_input()
        })
        .unwrap();
    f.store.set_duress_pin(PIN, DURESS).unwrap();
    rename_many_times(&mut f, &busy.id);
    // The newest entries name a member's meetings: the decoy must leave them out.
    for _ in 0..11 {
        f.store
            .record_meeting(&meeting_input(&old_club.id, vec![hoa.id.clone()]))
            .unwrap();
    }
    let clubs_before = f.store.clubs().unwrap();
    let created = |entries: &[AuditEntry]| {
        entries
            .iter()
            .filter(|e| e.record_id == old_club.id && e.action == AuditAction::Create)
            .map(|e| e.at)
            .collect::<Vec<_>>()
    };
    let created_before = created(&f.store.audit_entries().unwrap());
    assert_eq!(created_before.len(), 1);
    f.store.lock();
    f.store.unlock(&f.leader_id(), DURESS).unwrap();
    assert_eq!(f.store.clubs().unwrap(), clubs_before);
    let entries = f.store.audit_entries().unwrap();
    // The old club's creation is far older than the newest thousand, and still there as it
    // was (a club whose entry the decoy lacked would get one dated now).
    assert_eq!(created(&entries), created_before);
    // Each entry keeps its time: none moved to the moment of the forced unlock and marked as
    // a clock set back (a trail that all happened at once gives the decoy away).
    assert!(
        entries.windows(2).all(|w| w[0].at <= w[1].at),
        "the decoy's trail goes back in time"
    );
    assert!(
        !entries
            .iter()
            .any(|e| e.fields.iter().any(|x| x == "clock_set_back")),
        "{:?}",
        entries.iter().take(3).collect::<Vec<_>>()
    );
    assert!(
        (1_000..=1_010).contains(&entries.len()),
        "{} entries",
        entries.len()
    );
    let last_name = format!("CLB Hoa Ban {}", 1_049);
    assert!(clubs_before.iter().any(|c| c.info.name == last_name));
    assert!(!entries.iter().any(|e| e.record_id == hoa.id
        || e.kind == Some(RecordKind::Meeting)
        || e.kind == Some(RecordKind::Member)));
    f.store.verify_audit().unwrap();
    assert!(f.store.damaged_records().unwrap().is_empty());
}

/// A store old enough that its trail's opening mark is no longer among the entries the decoy
/// keeps, forced as a deputy who joined later: the decoy's trail opens in the name and at the
/// time of its oldest kept entry, never the deputy's or today's.
#[test]
fn the_decoys_opening_entry_is_not_in_the_name_of_the_user_forced() {
    let (mut f, club, _) = populated();
    let leader = f.leader_id();
    let deputy = add_deputy(&mut f.store);
    f.store.set_duress_pin(PIN, DURESS).unwrap();
    rename_many_times(&mut f, &club.id);
    f.store.lock();
    f.store.unlock(&deputy.id, DURESS).unwrap();
    let conn = rusqlite::Connection::open(&f.path).unwrap();
    let first_two: Vec<(String, String, String)> = conn
        .prepare("SELECT user_id, role, at FROM audit_log ORDER BY seq LIMIT 2")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(first_two[0].0, leader);
    assert_eq!(first_two[0], first_two[1]);
}

#[test]
fn the_decoy_keeps_the_users_the_clubs_and_their_ids_and_looks_used_for_the_leader() {
    decoy_looks_like_the_club(true);
}

#[test]
fn the_decoy_keeps_the_users_the_clubs_and_their_ids_and_looks_used_for_the_deputy() {
    decoy_looks_like_the_club(false);
}

#[test]
fn the_wipe_scrubs_every_table_not_only_the_key_slots() {
    let (mut f, club, hoa) = populated();
    let leader = f.leader_id();
    f.store.set_wipe_after(3).unwrap();
    f.store.lock();
    // Someone with access to the phone's storage keeps a second name for the file: deleting
    // the file then does not free its blocks, and whatever the wipe left is readable.
    let kept = f.dir.path().join("kept-link");
    std::fs::hard_link(&f.path, &kept).unwrap();
    for _ in 0..3 {
        let _ = f.store.unlock(&leader, "000000");
    }
    assert!(matches!(f.store.unlock(&leader, PIN), Err(Error::Wiped)));
    let bytes = std::fs::read(&kept).unwrap();
    for (what, id) in [
        ("member id", &hoa.id),
        ("club id", &club.id),
        ("user id", &leader),
    ] {
        assert!(
            !bytes.windows(id.len()).any(|w| w == id.as_bytes()),
            "the {what} survived the wipe in the file"
        );
    }
}

#[test]
fn the_duress_pin_cannot_become_anyones_pin() {
    let (mut f, club, _) = populated();
    f.store.set_duress_pin(PIN, DURESS).unwrap();
    // A leader adds a user whose PIN is the duress PIN, or takes it as her own.
    assert!(matches!(
        f.store.add_user(
            PIN,
            NewUser::new("Phạm Thị Lan", UserRole::Deputy, DURESS),
            KdfParams::MIN
        ),
        Err(Error::Invalid(ValidationError {
            field: "pin",
            reason: Reason::Duplicate
        }))
    ));
    assert!(matches!(
        f.store.change_pin(PIN, DURESS, KdfParams::MIN),
        Err(Error::Invalid(ValidationError {
            field: "pin",
            reason: Reason::Duplicate
        }))
    ));
    // The duress PIN still does its job: it never opens the real data.
    let leader = f.leader_id();
    f.store.lock();
    rewind_lockout(&f, 31);
    f.store.unlock(&leader, DURESS).unwrap();
    assert!(f.store.list_members(&club.id).unwrap().is_empty());
}

#[test]
fn checking_a_pin_while_unlocked_counts_as_a_try_and_names_no_one() {
    let (mut f, _, _) = populated();
    let deputy = add_deputy(&mut f.store);
    let left = f.store.unlock_attempts_left().unwrap();
    // Candidate duress PINs that turn out to be someone's PIN are guesses that hit.
    let err = f.store.set_duress_pin(PIN, "853190").unwrap_err();
    assert!(matches!(
        err,
        Error::Invalid(ValidationError {
            field: "duress_pin",
            ..
        })
    ));
    assert!(!format!("{err} {err:?}").contains(&deputy.id));
    assert_eq!(f.store.unlock_attempts_left().unwrap(), left - 1);
    // The deputy's old-PIN check is a guess too: counted, and then made to wait.
    f.store.lock();
    f.store.unlock(&deputy.id, "853190").unwrap();
    let left = f.store.unlock_attempts_left().unwrap();
    for n in 1..=3 {
        assert!(matches!(
            f.store
                .change_pin(&format!("00000{n}"), "640213", KdfParams::MIN),
            Err(Error::WrongPin)
        ));
        assert_eq!(f.store.unlock_attempts_left().unwrap(), left - n);
    }
    assert!(matches!(
        f.store.change_pin("853190", "640213", KdfParams::MIN),
        Err(Error::TooSoon { .. })
    ));
}

#[test]
fn wipe_after_above_the_maximum_says_so() {
    let (mut f, _, _) = populated();
    assert!(matches!(
        f.store.set_wipe_after(51),
        Err(Error::Invalid(ValidationError {
            field: "wipe_after",
            reason: Reason::AboveMaximum { max: 50 }
        }))
    ));
    assert!(matches!(
        f.store.set_wipe_after(2),
        Err(Error::Invalid(ValidationError {
            field: "wipe_after",
            reason: Reason::BelowMinimum
        }))
    ));
}

/// Wall-clock times of a wrong, a normal and a duress unlock (docs/SECURITY.md 11 quotes them).
/// Run with `cargo test -p chungtay-core --test safety -- --ignored --nocapture wall_clock`.
#[test]
#[ignore = "a measurement, not a check"]
fn wall_clock_of_wrong_normal_and_duress_unlocks() {
    use std::time::Instant;
    for _ in 0..4 {
        let (mut f, club, _) = populated();
        for i in 0..20 {
            f.store
                .add_member(
                    &club.id,
                    &member_input(&format!("Vi Thị Hoa {i}"), "Thái", "Bản Chai"),
                )
                .unwrap();
        }
        f.store.set_duress_pin(PIN, DURESS).unwrap();
        let leader = f.leader_id();
        f.store.lock();
        let t = Instant::now();
        let _ = f.store.unlock(&leader, "000000");
        let wrong = t.elapsed();
        let t = Instant::now();
        f.store.unlock(&leader, PIN).unwrap();
        let normal = t.elapsed();
        f.store.lock();
        let t = Instant::now();
        f.store.unlock(&leader, DURESS).unwrap();
        let duress = t.elapsed();
        eprintln!("wrong PIN {wrong:?}, right PIN {normal:?}, duress PIN {duress:?}");
    }
}

// ---- issue 11 follow-up: attack tests -------------------------------------------------------

/// Finding A: someone holding the unlocked phone, without the leader's PIN, probes candidate
/// PINs through "set the duress PIN" and "add a user". Every probe must cost a try.
#[test]
fn probing_pins_through_the_duress_setting_costs_tries_and_needs_the_leaders_pin() {
    let (mut f, _, _) = populated();
    let deputy = add_deputy(&mut f.store);
    f.store.set_wipe_after(5).unwrap();
    let left = f.store.unlock_attempts_left().unwrap();
    // The attacker does not know the leader's PIN: each probe carries a guess for it, and
    // each guess is a try like one at the unlock screen, whatever the candidate.
    for n in 1..=3 {
        assert!(matches!(
            f.store.set_duress_pin(&format!("10000{n}"), "853190"),
            Err(Error::WrongPin)
        ));
        assert_eq!(f.store.unlock_attempts_left().unwrap(), left - n);
    }
    assert!(matches!(
        f.store.set_duress_pin("100004", "582046"),
        Err(Error::TooSoon { .. })
    ));
    // Adding a user compares her PIN with the duress PIN: the same price.
    rewind_lockout(&f, 31);
    assert!(matches!(
        f.store.add_user(
            "100005",
            NewUser::new("Người mới", UserRole::Deputy, DURESS),
            KdfParams::MIN
        ),
        Err(Error::WrongPin)
    ));
    assert_eq!(f.store.unlock_attempts_left().unwrap(), left - 4);
    // At the limit the store wipes itself, as at the unlock screen.
    rewind_lockout(&f, 31 * 60);
    assert!(matches!(
        f.store.set_duress_pin("100006", "582046"),
        Err(Error::Wiped)
    ));
    let _ = deputy;
}

/// Finding B: the plaintext columns a duress-PIN change touches are those a PIN change touches.
/// The users rows (every column as text), the meta rows, the last trail row's seq.
type PlainState = (Vec<Vec<String>>, Vec<(String, Vec<u8>)>, i64);

fn plain_state(path: &Path) -> PlainState {
    let conn = rusqlite::Connection::open(path).unwrap();
    let users = conn
        .prepare(
            "SELECT id, role, hex(kdf_salt), kdf_m_kib, kdf_t, kdf_p, hex(wrapped_key), \
             hex(profile), created_at, created_by, updated_at, updated_by FROM users ORDER BY id",
        )
        .unwrap()
        .query_map([], |r| {
            (0..12)
                .map(|i| {
                    r.get::<_, rusqlite::types::Value>(i)
                        .map(|v| format!("{v:?}"))
                })
                .collect::<rusqlite::Result<Vec<String>>>()
        })
        .unwrap()
        .map(|r| r.unwrap())
        .collect();
    let meta = conn
        .prepare("SELECT name, value FROM meta ORDER BY name")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .map(|r| r.unwrap())
        .collect();
    let seq = conn
        .query_row("SELECT coalesce(max(seq), 0) FROM audit_log", [], |r| {
            r.get(0)
        })
        .unwrap();
    (users, meta, seq)
}

const USER_COLUMNS: [&str; 12] = [
    "id",
    "role",
    "kdf_salt",
    "kdf_m_kib",
    "kdf_t",
    "kdf_p",
    "wrapped_key",
    "profile",
    "created_at",
    "created_by",
    "updated_at",
    "updated_by",
];

/// What changed between two snapshots, as names: `users.<column>`, `meta.<row>`, and the
/// new trail rows' plain `action/kind/record_id` (the leader's id written as `leader`).
fn changed(path: &Path, leader: &str, before: &PlainState) -> std::collections::BTreeSet<String> {
    let after = plain_state(path);
    let mut out = std::collections::BTreeSet::new();
    for (a, b) in before.0.iter().zip(&after.0) {
        for (i, (x, y)) in a.iter().zip(b).enumerate() {
            if x != y {
                out.insert(format!("users.{}", USER_COLUMNS[i]));
            }
        }
    }
    let old: HashMap<_, _> = before.1.iter().cloned().collect();
    let new: HashMap<_, _> = after.1.iter().cloned().collect();
    for name in old.keys().chain(new.keys()) {
        if old.get(name) != new.get(name) {
            out.insert(format!("meta.{name}"));
        }
    }
    let conn = rusqlite::Connection::open(path).unwrap();
    let mut stmt = conn
        .prepare("SELECT action, kind, record_id FROM audit_log WHERE seq > ?1 ORDER BY seq")
        .unwrap();
    let rows = stmt
        .query_map([before.2], |r| {
            Ok(format!(
                "audit_log.{}/{}/{}",
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?.replace(leader, "leader")
            ))
        })
        .unwrap();
    for row in rows {
        out.insert(row.unwrap());
    }
    out
}

#[test]
fn setting_the_duress_pin_changes_the_same_plain_columns_as_changing_the_pin() {
    let mut plain = counted_store();
    let mut with_duress = counted_store();
    let a = plain.store.current_user().unwrap().id;
    let b = with_duress.store.current_user().unwrap().id;
    plain.store.lock();
    with_duress.store.lock();
    plain.store.unlock(&a, PIN).unwrap();
    with_duress.store.unlock(&b, PIN).unwrap();
    let before_a = plain_state(&plain.path);
    let before_b = plain_state(&with_duress.path);
    std::thread::sleep(std::time::Duration::from_millis(1100));
    plain
        .store
        .change_pin(PIN, "640213", KdfParams::MIN)
        .unwrap();
    with_duress.store.set_duress_pin(PIN, DURESS).unwrap();
    assert_eq!(
        changed(&plain.path, &a, &before_a),
        changed(&with_duress.path, &b, &before_b)
    );
}

/// Finding C: deleting the duress slot (or putting another store's in its place) must not
/// silently disable the duress PIN: the leader is told at her next unlock.
fn duress_slot_tampered_is_reported(replace: bool) {
    let (mut f, _, _) = populated();
    let leader = f.leader_id();
    f.store.set_duress_pin(PIN, DURESS).unwrap();
    f.store.lock();
    let other = Fixture::new();
    let other_slot: Vec<u8> = rusqlite::Connection::open(&other.path)
        .unwrap()
        .query_row(
            "SELECT value FROM meta WHERE name = 'duress_slot'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    {
        let conn = rusqlite::Connection::open(&f.path).unwrap();
        if replace {
            conn.execute(
                "UPDATE meta SET value = ?1 WHERE name = 'duress_slot'",
                [other_slot],
            )
            .unwrap();
        } else {
            conn.execute("DELETE FROM meta WHERE name = 'duress_slot'", [])
                .unwrap();
        }
    }
    for _ in 0..2 {
        f.store.unlock(&leader, PIN).unwrap();
        assert!(
            f.store
                .damaged_records()
                .unwrap()
                .iter()
                .any(|d| d.id == "duress_slot"),
            "the duress PIN was disabled and nobody was told"
        );
        f.store.lock();
    }
}

#[test]
fn a_deleted_duress_slot_is_reported_to_the_leader() {
    duress_slot_tampered_is_reported(false);
}

#[test]
fn another_stores_duress_slot_put_in_is_reported_to_the_leader() {
    duress_slot_tampered_is_reported(true);
}

/// Finding E: the WAL's earlier frames (plaintext columns: ids, stamps) do not survive a wipe
/// in a second name for the WAL file.
#[test]
fn the_wipe_leaves_no_ids_in_the_wal_either() {
    let (mut f, club, hoa) = populated();
    let leader = f.leader_id();
    f.store.set_wipe_after(3).unwrap();
    // Writes that go to the WAL and stay there until a checkpoint.
    f.store
        .record_meeting(&meeting_input(&club.id, vec![hoa.id.clone()]))
        .unwrap();
    let wal = safety::files_of(&f.path)[1].clone();
    assert!(wal.exists());
    let kept = f.dir.path().join("kept-wal-link");
    std::fs::hard_link(&wal, &kept).unwrap();
    let before = std::fs::read(&kept).unwrap();
    assert!(
        before.windows(hoa.id.len()).any(|w| w == hoa.id.as_bytes()),
        "the test expects the member id in the WAL before the wipe"
    );
    // Another process reading the store (a backup tool, a second app instance) keeps the
    // wipe's checkpoint from emptying the WAL.
    let reader = rusqlite::Connection::open(&f.path).unwrap();
    reader.execute_batch("BEGIN").unwrap();
    let _: i64 = reader
        .query_row("SELECT count(*) FROM meta", [], |r| r.get(0))
        .unwrap();
    for _ in 0..3 {
        let _ = f.store.unlock(&leader, "000000");
    }
    assert!(matches!(f.store.unlock(&leader, PIN), Err(Error::Wiped)));
    drop(reader);
    let bytes = std::fs::read(&kept).unwrap();
    for (what, id) in [
        ("member id", &hoa.id),
        ("club id", &club.id),
        ("user id", &leader),
    ] {
        assert!(
            !bytes.windows(id.len()).any(|w| w == id.as_bytes()),
            "the {what} survived the wipe in the WAL"
        );
    }
}
