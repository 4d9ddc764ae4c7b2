//! Managing users: the leader removes a user, or sets a new PIN for one who forgot hers.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use chungtay_core::*;
use common::*;

const DEPUTY_PIN: &str = "853190";
const AUDITOR_PIN: &str = "hoa sen nở";
const NEW_PIN: &str = "640218";

fn add(f: &mut Fixture, name: &str, role: UserRole, pin: &str) -> UserInfo {
    f.store
        .add_user(PIN, NewUser::new(name, role, pin), KdfParams::MIN)
        .unwrap()
}

fn login(f: &mut Fixture, id: &str, pin: &str) {
    f.store.lock();
    f.store.unlock(id, pin).unwrap();
}

fn ids(f: &Fixture) -> Vec<String> {
    f.store.users().unwrap().into_iter().map(|u| u.id).collect()
}

/// The users row of `id` as stored: salt and wrapped key, or nothing.
fn slot_bytes(f: &Fixture, id: &str) -> Option<(Vec<u8>, Vec<u8>)> {
    let conn = rusqlite::Connection::open(&f.path).unwrap();
    conn.query_row(
        "SELECT kdf_salt, wrapped_key FROM users WHERE id = ?1",
        [id],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )
    .ok()
}

fn trail_len(f: &mut Fixture) -> usize {
    let mut reader = Store::open(&f.path, f.device.clone()).unwrap();
    reader.unlock(&f.leader_id(), PIN).unwrap();
    // Minus the reader's own unlock entry.
    reader.audit_entries().unwrap().len() - 1
}

#[test]
fn a_removed_user_can_no_longer_unlock_and_her_past_entries_still_verify() {
    let mut f = Fixture::new();
    let leader = f.leader_id();
    let deputy = add(&mut f, "Phạm Thị Lan", UserRole::Deputy, DEPUTY_PIN);
    // She worked on the store: her entries are in the trail.
    login(&mut f, &deputy.id, DEPUTY_PIN);
    let club = f.store.add_club(&club_input()).unwrap();
    login(&mut f, &leader, PIN);
    let (_, wrapped) = slot_bytes(&f, &deputy.id).unwrap();

    f.store.remove_user(&deputy.id).unwrap();

    assert_eq!(ids(&f), vec![leader.clone()]);
    assert!(slot_bytes(&f, &deputy.id).is_none(), "her key slot is gone");
    let entries = f.store.audit_entries().unwrap();
    let removal = entries
        .iter()
        .find(|e| {
            e.action == AuditAction::Delete
                && e.kind == Some(RecordKind::User)
                && e.record_id == deputy.id
        })
        .expect("the removal is in the trail");
    assert_eq!(removal.user_id, leader);
    assert_eq!(removal.role, Some(UserRole::Leader));
    // Her earlier entries are kept and the chain still verifies.
    assert!(entries.iter().any(|e| e.action == AuditAction::Create
        && e.record_id == club.id
        && e.user_id == deputy.id
        && e.role == Some(UserRole::Deputy)));
    f.store.verify_audit().unwrap();
    assert!(f.store.damaged_records().unwrap().is_empty());

    // Her old PIN opens nothing.
    f.store.lock();
    assert!(matches!(
        f.store.unlock(&deputy.id, DEPUTY_PIN),
        Err(Error::UnknownUser)
    ));
    // Locked (WAL folded in): no file holds her wrapped store key any more.
    for path in f.files() {
        let bytes = std::fs::read(&path).unwrap();
        assert!(
            !bytes
                .windows(wrapped.len())
                .any(|w| w == wrapped.as_slice()),
            "{path:?} still holds her wrapped key"
        );
    }
    // The leader goes on, and the trail verifies after a reopen too.
    f.reopen();
    f.store.verify_audit().unwrap();
    assert_eq!(f.store.clubs().unwrap().len(), 1);
}

#[test]
fn a_leader_cannot_remove_herself_nor_leave_the_store_without_a_leader() {
    let mut f = Fixture::new();
    let first = f.leader_id();
    assert!(matches!(
        f.store.remove_user(&first),
        Err(Error::Invalid(ValidationError {
            field: "user_id",
            reason: Reason::OwnAccount
        }))
    ));
    assert!(matches!(
        f.store.remove_user("0b6f4a8e-0000-4000-8000-000000000000"),
        Err(Error::UnknownUser)
    ));
    assert_eq!(ids(&f), vec![first.clone()]);

    // A second leader may remove the first; then she is the last, and cannot leave.
    let second = add(&mut f, "Hà Thị Ơn", UserRole::Leader, NEW_PIN);
    login(&mut f, &second.id, NEW_PIN);
    f.store.remove_user(&first).unwrap();
    assert!(matches!(
        f.store.remove_user(&second.id),
        Err(Error::Invalid(ValidationError {
            field: "user_id",
            reason: Reason::OwnAccount
        }))
    ));
    let users = f.store.users().unwrap();
    assert_eq!(users.len(), 1);
    assert_eq!(users[0].id, second.id);
    assert_eq!(users[0].role, UserRole::Leader);
    f.store.verify_audit().unwrap();
}

#[test]
fn only_a_leader_removes_users_or_resets_pins_and_a_refusal_changes_nothing() {
    let mut f = Fixture::new();
    let leader = f.leader_id();
    let deputy = add(&mut f, "Phạm Thị Lan", UserRole::Deputy, DEPUTY_PIN);
    let auditor = add(&mut f, "Cán bộ Hội tỉnh", UserRole::Auditor, AUDITOR_PIN);
    for (me, pin, other) in [
        (&deputy.id, DEPUTY_PIN, &auditor.id),
        (&auditor.id, AUDITOR_PIN, &deputy.id),
    ] {
        login(&mut f, me, pin);
        let slots: Vec<_> = [&leader, other]
            .iter()
            .map(|id| slot_bytes(&f, id))
            .collect();
        let before = trail_len(&mut f);
        for target in [&leader, other] {
            assert!(matches!(
                f.store.remove_user(target),
                Err(Error::Forbidden(Permission::ManageUsers))
            ));
            assert!(matches!(
                f.store.reset_pin(pin, target, NEW_PIN, KdfParams::MIN),
                Err(Error::Forbidden(Permission::ManageUsers))
            ));
        }
        assert_eq!(ids(&f).len(), 3);
        let after: Vec<_> = [&leader, other]
            .iter()
            .map(|id| slot_bytes(&f, id))
            .collect();
        assert_eq!(slots, after, "a key slot changed");
        assert_eq!(trail_len(&mut f), before + 1, "only the reader's unlock");
    }
    // Everyone still unlocks with her own PIN, and no one with the PIN tried.
    for (id, pin) in [
        (&leader, PIN),
        (&deputy.id, DEPUTY_PIN),
        (&auditor.id, AUDITOR_PIN),
    ] {
        login(&mut f, id, pin);
    }
    f.store.lock();
    assert!(matches!(
        f.store.unlock(&leader, NEW_PIN),
        Err(Error::WrongPin)
    ));
}

#[test]
fn the_leader_sets_a_new_pin_for_a_user_who_forgot_hers() {
    let mut f = Fixture::new();
    let leader = f.leader_id();
    let club = f.store.add_club(&club_input()).unwrap();
    let deputy = add(&mut f, "Phạm Thị Lan", UserRole::Deputy, DEPUTY_PIN);
    let (salt, wrapped) = slot_bytes(&f, &deputy.id).unwrap();

    f.store
        .reset_pin(PIN, &deputy.id, NEW_PIN, KdfParams::MIN)
        .unwrap();
    let (new_salt, new_wrapped) = slot_bytes(&f, &deputy.id).unwrap();
    assert_ne!(salt, new_salt, "a new salt");
    assert_ne!(wrapped, new_wrapped);
    let entries = f.store.audit_entries().unwrap();
    let reset = entries.last().unwrap();
    assert_eq!(reset.action, AuditAction::PinChange);
    assert_eq!(reset.kind, Some(RecordKind::User));
    assert_eq!(reset.record_id, deputy.id);
    assert_eq!(reset.user_id, leader);
    assert_eq!(reset.fields, vec!["reset"]);

    // Her old PIN no longer opens; the new one does, with her role and the club's data.
    f.store.lock();
    assert!(matches!(
        f.store.unlock(&deputy.id, DEPUTY_PIN),
        Err(Error::WrongPin)
    ));
    f.store.unlock(&deputy.id, NEW_PIN).unwrap();
    assert_eq!(f.store.current_user().unwrap().role, UserRole::Deputy);
    assert_eq!(f.store.club(&club.id).unwrap().info, club.info);
    // She can choose her own PIN again from there.
    f.store
        .change_pin(NEW_PIN, "520731", KdfParams::MIN)
        .unwrap();
    login(&mut f, &deputy.id, "520731");
    // The leader's own PIN is untouched, and the trail verifies.
    login(&mut f, &leader, PIN);
    f.store.verify_audit().unwrap();
}

#[test]
fn a_pin_reset_is_refused_for_herself_an_unknown_user_a_weak_or_duress_pin_or_a_wrong_leader_pin() {
    let mut f = Fixture::new();
    let leader = f.leader_id();
    let deputy = add(&mut f, "Phạm Thị Lan", UserRole::Deputy, DEPUTY_PIN);
    f.store.set_duress_pin(PIN, "918273").unwrap();
    let before = slot_bytes(&f, &deputy.id);
    // Her own PIN is changed with the old one (change_pin), never reset.
    assert!(matches!(
        f.store.reset_pin(PIN, &leader, NEW_PIN, KdfParams::MIN),
        Err(Error::Invalid(ValidationError {
            field: "user_id",
            reason: Reason::OwnAccount
        }))
    ));
    assert!(matches!(
        f.store.reset_pin(
            PIN,
            "0b6f4a8e-0000-4000-8000-000000000000",
            NEW_PIN,
            KdfParams::MIN
        ),
        Err(Error::UnknownUser)
    ));
    assert!(matches!(
        f.store.reset_pin(PIN, &deputy.id, "123456", KdfParams::MIN),
        Err(Error::Invalid(ValidationError {
            field: "pin",
            reason: Reason::TooCommon
        }))
    ));
    // The duress PIN as her real PIN would open the real data instead of the decoy.
    assert!(matches!(
        f.store.reset_pin(PIN, &deputy.id, "918273", KdfParams::MIN),
        Err(Error::Invalid(ValidationError { field: "pin", .. }))
    ));
    // The leader's PIN is checked like one at the unlock screen, and counted.
    let left = f.store.unlock_attempts_left().unwrap();
    assert!(matches!(
        f.store
            .reset_pin("385027", &deputy.id, NEW_PIN, KdfParams::MIN),
        Err(Error::WrongPin)
    ));
    assert_eq!(f.store.unlock_attempts_left().unwrap(), left - 1);
    assert_eq!(slot_bytes(&f, &deputy.id), before, "her slot is unchanged");
    login(&mut f, &deputy.id, DEPUTY_PIN);
}

#[test]
fn the_duress_decoy_no_longer_lists_a_removed_user() {
    let mut f = Fixture::new();
    let leader = f.leader_id();
    let deputy = add(&mut f, "Phạm Thị Lan", UserRole::Deputy, DEPUTY_PIN);
    f.store.set_duress_pin(PIN, "918273").unwrap();
    f.store.remove_user(&deputy.id).unwrap();
    f.store.lock();
    f.store.unlock(&leader, "918273").unwrap();
    assert_eq!(ids(&f), vec![leader]);
    f.store.verify_audit().unwrap();
}
