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

/// A store written by the schema-1 release (core/tests/fixtures/README.md).
const FIXTURE_CLUB: &str = "2dab9aca-d525-4cf5-800e-8abb1ac2ed8b";
const FIXTURE_MEMBER: &str = "6fcd9ad9-7159-48e6-971b-1c31560b1de1";

#[test]
fn a_version_1_store_upgrades_to_exactly_the_fresh_schema_and_keeps_its_data() {
    let fresh = Fixture::new();
    let dir = tempfile::tempdir().unwrap();
    let fixtures = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let old_path = dir.path().join("old.db");
    std::fs::copy(fixtures.join("store-v1.db"), &old_path).unwrap();
    // A checked-out file is readable by all; a key file must be owner-only to be loaded.
    let device = Arc::new(
        SoftwareDeviceSecret::load(&private_copy(&fixtures.join("device.key"), &dir)).unwrap(),
    );
    assert_eq!(user_version(&old_path), 1);
    assert_ne!(fingerprint(&old_path), fingerprint(&fresh.path));

    let mut upgraded = Store::open(&old_path, device).unwrap();
    assert_eq!(user_version(&old_path), user_version(&fresh.path));
    assert_eq!(fingerprint(&old_path), fingerprint(&fresh.path));
    let leader = upgraded.users().unwrap()[0].id.clone();
    upgraded.unlock(&leader, PIN).unwrap();
    let member = upgraded.member(FIXTURE_MEMBER).unwrap();
    assert_eq!(member.info.full_name, "Vi Thị Hoa");
    assert_eq!(member.info.survivor_status, SurvivorStatus::Returnee);
    assert!(!member.info.safe_to_contact);
    assert_eq!(upgraded.club(FIXTURE_CLUB).unwrap().info.name, "CLB Pù Nhi");
    // The tables later versions added work: livelihood (2) and the audit trail (3).
    upgraded
        .add_livelihood(&LivelihoodInput {
            member_id: FIXTURE_MEMBER.into(),
            kind: LivelihoodKind::SeedCapital,
            date: days_ago(1),
            amount_vnd: Some(3_000_000),
            quantity: None,
            unit: None,
            note: String::new(),
        })
        .unwrap();
    assert_eq!(upgraded.livelihood_for(FIXTURE_MEMBER).unwrap().len(), 1);
    assert!(upgraded.verify_audit().unwrap() >= 2);
    // The first unlock resealed every older row once, with its version and in today's
    // encoding: none is left at version 0, nothing is damaged, and the member's stored length
    // is her kind's bucket (at least 512 bytes), not the old JSON's.
    assert!(upgraded.damaged_records().unwrap().is_empty());
    let conn = rusqlite::Connection::open(&old_path).unwrap();
    for table in [
        "clubs",
        "members",
        "consents",
        "meetings",
        "referrals",
        "livelihood",
    ] {
        let old: i64 = conn
            .query_row(
                &format!("SELECT count(*) FROM {table} WHERE version = 0"),
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(old, 0, "{table}");
    }
    let shortest: i64 = conn
        .query_row("SELECT min(length(body)) FROM members", [], |r| r.get(0))
        .unwrap();
    assert!(shortest >= 512, "{shortest}");
    let marker: i64 = conn
        .query_row(
            "SELECT count(*) FROM audit_log WHERE record_id = 'record_versions'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(marker, 1);
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
