//! A phone's file rolled back row by row: an older copy of the consent, the referral and the
//! outbox put back after the consent was withdrawn must not send her referral.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;

use chrono::Utc;
use chungtay_core::*;
use chungtay_e2e::{PHONE_PIN as PIN, Province, enrolled_phone, legal_aid};
use chungtay_intake::Limits;

#[test]
fn a_withdrawn_consent_rolled_back_in_the_file_does_not_send_her_referral() {
    rolled_back_then_synced(false);
}

/// The same, and the trail entries written after the copy are made to look like reads, so
/// that a plain read of the trail finds the old rows current: the sync verifies the whole
/// trail first and sends nothing.
#[test]
fn a_rollback_with_the_trail_edited_to_match_does_not_send_her_referral_either() {
    rolled_back_then_synced(true);
}

fn rolled_back_then_synced(edit_trail: bool) {
    let mut province = Province::start(Limits::default());
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("club.db");
    let (mut store, consent, _) = phone_with_a_queued_referral(&mut province, &path);
    // Someone copies the file, then she withdraws her consent: the referral is withdrawn.
    store.lock();
    let copy = dir.path().join("copy.db");
    std::fs::copy(&path, &copy).unwrap();
    store
        .unlock(&store.users().unwrap()[0].id.clone(), PIN)
        .unwrap();
    store
        .withdraw_consent(&consent.id, Utc::now().date_naive())
        .unwrap();
    assert!(store.outbox().unwrap().is_empty());
    store.lock();
    // The consent, referral and outbox rows of the copy are put back into the file.
    let conn = rusqlite::Connection::open(&path).unwrap();
    conn.execute_batch("PRAGMA foreign_keys = OFF").unwrap();
    conn.execute("ATTACH DATABASE ?1 AS old", [copy.to_str().unwrap()])
        .unwrap();
    for table in ["consents", "referrals", "outbox"] {
        conn.execute_batch(&format!(
            "DELETE FROM main.{table}; INSERT INTO main.{table} SELECT * FROM old.{table};"
        ))
        .unwrap();
    }
    if edit_trail {
        conn.execute(
            "UPDATE main.audit_log SET action = 'read' \
             WHERE seq > (SELECT max(seq) FROM old.audit_log)",
            [],
        )
        .unwrap();
    }
    conn.execute_batch("DETACH DATABASE old").unwrap();
    drop(conn);
    store
        .unlock(&store.users().unwrap()[0].id.clone(), PIN)
        .unwrap();
    // Back in signal: nothing of hers reaches the province.
    province.restart();
    let report = store.sync(true, &mut |_| {}).unwrap();
    assert_eq!(report.sent, 0);
    assert_eq!(province.referral_count(), 0);
    // The phone says why: its trail does not verify; the referral waits in the outbox.
    let broken = report
        .trail_broken
        .expect("the sync reports the broken trail");
    if edit_trail {
        assert!(matches!(broken, ChainBreak::BadMac { .. }), "{broken:?}");
    } else {
        assert!(matches!(broken, ChainBreak::Record { .. }), "{broken:?}");
    }
    assert_eq!(store.outbox().unwrap().len(), 1);
    assert!(matches!(store.verify_audit(), Err(Error::AuditBroken(_))));
}

/// A phone enrolled with the province, with one referral resting on a consent, queued while
/// out of signal (the province is left stopped).
fn phone_with_a_queued_referral(
    province: &mut Province,
    path: &std::path::Path,
) -> (Store, Consent, Arc<SoftwareDeviceSecret>) {
    let device = Arc::new(SoftwareDeviceSecret::generate().unwrap());
    let (mut store, member, consent) =
        enrolled_phone(path, device.clone(), &province.url(), &province.code());
    let referral = store
        .create_referral(&legal_aid(&member.id, &consent.id))
        .unwrap();
    store.mark_referral_ready(&referral.id).unwrap();
    // Out of signal, the referral waits in the outbox.
    province.stop();
    store.queue_referral(&referral.id).unwrap();
    store.sync(true, &mut |_| {}).unwrap();
    assert_eq!(store.outbox().unwrap().len(), 1);
    (store, consent, device)
}

/// A whole older copy of the phone's file (trail and rows together, so it verifies on its
/// own) is put back after the consent was withdrawn and the province heard a later checkpoint:
/// the sync learns the province's checkpoint first and sends nothing.
#[test]
fn a_whole_older_file_restored_does_not_send_what_it_still_holds() {
    let mut province = Province::start(Limits::default());
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("club.db");
    let (mut store, consent, device) = phone_with_a_queued_referral(&mut province, &path);
    let leader = store.users().unwrap()[0].id.clone();
    store.lock();
    let copy = dir.path().join("copy.db");
    std::fs::copy(&path, &copy).unwrap();
    store.unlock(&leader, PIN).unwrap();
    store
        .withdraw_consent(&consent.id, Utc::now().date_naive())
        .unwrap();
    province.restart();
    let report = store.sync(true, &mut |_| {}).unwrap();
    assert!(report.checkpoint_sent, "{report:?}");
    assert_eq!(province.referral_count(), 0);
    drop(store);
    // The older file comes back whole.
    for name in ["club.db-wal", "club.db-shm"] {
        let _ = std::fs::remove_file(dir.path().join(name));
    }
    std::fs::copy(&copy, &path).unwrap();
    let mut store = Store::open(&path, device).unwrap();
    store.unlock(&leader, PIN).unwrap();
    store.verify_audit().unwrap();
    let report = store.sync(true, &mut |_| {}).unwrap();
    assert!(report.trail_mismatch.is_some(), "{report:?}");
    assert_eq!(report.sent, 0);
    assert_eq!(province.referral_count(), 0);
    assert_eq!(store.outbox().unwrap().len(), 1);
}
