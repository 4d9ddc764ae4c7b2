//! Schema upgrades: step by step to the same schema as a fresh store, data kept; newer refused.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::sync::Arc;

use chungtay_core::*;
use common::*;

fn fingerprint(path: &std::path::Path) -> Vec<(String, String, String)> {
    let conn = rusqlite::Connection::open(path).unwrap();
    schema::schema_fingerprint(&conn).unwrap()
}

fn user_version(path: &std::path::Path) -> i64 {
    let conn = rusqlite::Connection::open(path).unwrap();
    conn.query_row("PRAGMA user_version", [], |r| r.get(0))
        .unwrap()
}

#[test]
fn a_version_1_store_upgrades_to_exactly_the_fresh_schema_and_keeps_its_data() {
    let fresh = Fixture::new();
    let dir = tempfile::tempdir().unwrap();
    let old_path = dir.path().join("old.db");
    let device = Arc::new(SoftwareDeviceSecret::generate().unwrap());
    let mut old = Store::create_at_schema_version(
        &old_path,
        device.clone(),
        NewUser::new("Lò Thị Mai", UserRole::Leader, PIN),
        KdfParams::MIN,
        1,
    )
    .unwrap();
    let club = old.add_club(&club_input()).unwrap();
    let member = old
        .add_member(&club.id, &member_input("Vi Thị Hoa", "Thái", "Bản Chai"))
        .unwrap();
    let leader = old.current_user().unwrap().id;
    drop(old);
    assert_eq!(user_version(&old_path), 1);
    assert_ne!(fingerprint(&old_path), fingerprint(&fresh.path));

    let mut upgraded = Store::open(&old_path, device).unwrap();
    assert_eq!(user_version(&old_path), user_version(&fresh.path));
    assert_eq!(fingerprint(&old_path), fingerprint(&fresh.path));
    upgraded.unlock(&leader, PIN).unwrap();
    assert_eq!(upgraded.member(&member.id).unwrap(), member);
    assert_eq!(upgraded.club(&club.id).unwrap(), club);
    // The table that version 2 added works.
    upgraded
        .add_livelihood(&LivelihoodInput {
            member_id: member.id.clone(),
            kind: LivelihoodKind::SeedCapital,
            date: days_ago(1),
            amount_vnd: Some(3_000_000),
            quantity: None,
            unit: None,
            note: String::new(),
        })
        .unwrap();
    assert_eq!(upgraded.livelihood_for(&member.id).unwrap().len(), 1);
}

#[test]
fn a_store_from_a_newer_app_is_refused_and_left_alone() {
    let f = Fixture::new();
    let Fixture {
        dir: _dir,
        device,
        store,
        path,
    } = f;
    drop(store);
    let conn = rusqlite::Connection::open(&path).unwrap();
    conn.pragma_update(None, "user_version", 99).unwrap();
    drop(conn);
    let before = fingerprint(&path);
    match Store::open(&path, device.clone()) {
        Err(Error::SchemaTooNew { found, supported }) => {
            assert_eq!(found, 99);
            assert!(supported < 99);
        }
        Err(other) => panic!("expected SchemaTooNew, got {other:?}"),
        Ok(_) => panic!("a newer store was opened"),
    }
    assert_eq!(before, fingerprint(&path));
    assert_eq!(user_version(&path), 99);
}
