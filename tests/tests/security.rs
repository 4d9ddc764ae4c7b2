//! What the phone refuses: a status update altered in transit, plain HTTP to another machine;
//! what it keeps: a referral the province refuses for good (a revoked device), with the
//! server's reason; and what never leaves it: a referral withdrawn while it waited.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;
use std::sync::atomic::Ordering;

use chrono::Utc;
use chungtay_core::sync::OutboxState;
use chungtay_core::*;
use chungtay_e2e::{Canned, FaultProxy, Province, enrolled_phone, legal_aid};
use chungtay_intake::{Limits, admin};

const PIN: &str = "274915";

fn phone_with_referrals(
    dir: &std::path::Path,
    url: &str,
    code: &str,
    n: usize,
) -> (Store, Vec<String>) {
    let device = Arc::new(SoftwareDeviceSecret::generate().unwrap());
    let (mut store, member, consent) = enrolled_phone(&dir.join("club.db"), device, url, code);
    let mut ids = Vec::new();
    for _ in 0..n {
        let r = store
            .create_referral(&legal_aid(&member.id, &consent.id))
            .unwrap();
        store.mark_referral_ready(&r.id).unwrap();
        store.queue_referral(&r.id).unwrap();
        ids.push(r.id);
    }
    (store, ids)
}

#[test]
fn a_status_update_altered_in_transit_is_refused_and_changes_nothing() {
    let province = Province::start(Limits::default());
    let proxy = FaultProxy::start(province.addr, 7);
    let dir = tempfile::tempdir().unwrap();
    let (mut store, ids) = phone_with_referrals(dir.path(), &proxy.url(), &province.code(), 1);
    assert_eq!(store.sync(true, &mut |_| {}).unwrap().sent, 1);
    assert_eq!(
        store.referral(&ids[0]).unwrap().state,
        ReferralState::Received
    );

    province.transition(&ids[0], "accepted", "Luật sư sẽ gọi vào thứ Hai");
    proxy.tamper_status.store(true, Ordering::Relaxed);
    assert!(matches!(
        store.sync(false, &mut |_| {}),
        Err(Error::Integrity { kind: RecordKind::Referral, id }) if id == ids[0]
    ));
    assert_eq!(
        store.referral(&ids[0]).unwrap().state,
        ReferralState::Received
    );

    // The real answer still arrives once the line is clean.
    proxy.tamper_status.store(false, Ordering::Relaxed);
    let report = store.sync(false, &mut |_| {}).unwrap();
    assert_eq!(report.statuses_applied, 1);
    assert_eq!(
        store.referral(&ids[0]).unwrap().state,
        ReferralState::Accepted
    );
}

#[test]
fn a_revoked_phone_keeps_its_refused_referrals_with_the_reason() {
    let province = Province::start(Limits::default());
    let dir = tempfile::tempdir().unwrap();
    let (mut store, ids) = phone_with_referrals(dir.path(), &province.url(), &province.code(), 2);
    let device = store.enrollment_info().unwrap().unwrap().device_id;
    assert!(admin::revoke(province.data(), &device).unwrap());
    let report = store.sync(true, &mut |_| {}).unwrap();
    assert_eq!(report.failed, 2);
    assert_eq!(report.server_refused.as_deref(), Some("403 device_revoked"));
    assert_eq!(report.still_pending, 0);
    let outbox = store.outbox().unwrap();
    assert_eq!(outbox.len(), 2, "a refused referral must never vanish");
    for item in &outbox {
        assert_eq!(item.state, OutboxState::Failed);
        assert!(item.last_error.contains("403"), "{}", item.last_error);
        assert!(ids.contains(&item.referral_id));
    }
    assert_eq!(province.referral_count(), 0);
    // The referral itself is still there, queued, for the leader to deal with.
    assert_eq!(
        store.referral(&ids[0]).unwrap().state,
        ReferralState::Queued
    );
}

#[test]
fn enrollment_needs_https_except_on_this_machine_and_a_valid_code() {
    let province = Province::start(Limits::default());
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::create(
        &dir.path().join("club.db"),
        Arc::new(SoftwareDeviceSecret::generate().unwrap()),
        NewUser::new("Lò Thị Mai", UserRole::Leader, PIN),
        KdfParams::MIN,
    )
    .unwrap();
    // Plain HTTP to another machine, even one whose name starts like this machine's address.
    for url in [
        "http://intake.example.vn",
        "http://127.0.0.1.example.vn",
        "http://localhost.example.vn:8443",
        "ftp://intake.example.vn",
    ] {
        assert!(
            matches!(
                store.enroll(url, "ABCD-EFGH-JKLM", None),
                Err(Error::Invalid(ValidationError {
                    field: "server_url",
                    ..
                }))
            ),
            "{url}"
        );
    }
    // The phone carries no Unicode host-name tables (docs/PERFORMANCE.md §5): a Vietnamese
    // domain is refused with a reason that says to write it in its xn-- form, and that form
    // goes through to the network (nothing answers there, so the error is a network one).
    assert!(matches!(
        store.enroll("https://hộiphụnữ.vn", "ABCD-EFGH-JKLM", None),
        Err(Error::Invalid(ValidationError {
            field: "server_url",
            reason: Reason::BadUrl,
        }))
    ));
    store.set_request_timeout(std::time::Duration::from_secs(2));
    assert!(matches!(
        store.enroll("https://xn--hiphn-4b2bpdvd.invalid", "ABCD-EFGH-JKLM", None),
        Err(Error::Network { .. })
    ));
    assert!(matches!(
        store.enroll(&province.url(), "AAAA-BBBB-CCCC", None),
        Err(Error::Refused { status: 403, .. })
    ));
    // Not enrolled: nothing can be queued or synced, and the error says so.
    assert!(matches!(
        store.sync(true, &mut |_| {}),
        Err(Error::Invalid(ValidationError {
            field: "enrollment",
            ..
        }))
    ));
}

#[test]
fn erasing_a_member_stops_her_queued_referrals_from_leaving() {
    let province = Province::start(Limits::default());
    let dir = tempfile::tempdir().unwrap();
    let (mut store, ids) = phone_with_referrals(dir.path(), &province.url(), &province.code(), 2);
    let member = store.referral(&ids[0]).unwrap().info.member_id;
    store.erase_member(&member).unwrap();
    assert!(store.outbox().unwrap().is_empty());
    let report = store.sync(true, &mut |_| {}).unwrap();
    assert_eq!(report.sent, 0);
    assert_eq!(province.referral_count(), 0);
}

#[test]
fn a_referral_withdrawn_while_waiting_offline_never_leaves_the_phone() {
    let mut province = Province::start(Limits::default());
    let dir = tempfile::tempdir().unwrap();
    let (mut store, ids) = phone_with_referrals(dir.path(), &province.url(), &province.code(), 3);
    // Out of signal: all three wait in the outbox.
    province.stop();
    assert!(
        store
            .sync(true, &mut |_| {})
            .unwrap()
            .network_error
            .is_some()
    );
    assert_eq!(store.outbox().unwrap().len(), 3);
    // She changes her mind about one; then she withdraws the consent the others rest on.
    store.withdraw_referral(&ids[0], "Chị đổi ý").unwrap();
    assert_eq!(store.outbox().unwrap().len(), 2);
    let consent = store.referral(&ids[1]).unwrap().info.consent_id.unwrap();
    store
        .withdraw_consent(&consent, Utc::now().date_naive())
        .unwrap();
    assert!(store.outbox().unwrap().is_empty());
    // Back in signal: nothing of hers reaches the province.
    province.restart();
    let report = store.sync(true, &mut |_| {}).unwrap();
    assert_eq!((report.sent, report.still_pending), (0, 0));
    assert_eq!(province.referral_count(), 0);
    for id in &ids {
        assert_eq!(store.referral(id).unwrap().state, ReferralState::Withdrawn);
    }
}

#[test]
fn a_referral_stored_by_the_province_whose_answer_was_lost_is_settled_by_its_status() {
    let province = Province::start(Limits::default());
    let proxy = FaultProxy::start(province.addr, 11);
    let dir = tempfile::tempdir().unwrap();
    let (mut store, ids) = phone_with_referrals(dir.path(), &proxy.url(), &province.code(), 1);
    // The province stores it, but the phone never hears back: it stays pending, backed off.
    proxy.lose_submission_answers.store(true, Ordering::Relaxed);
    let report = store.sync(true, &mut |_| {}).unwrap();
    assert_eq!(report.sent, 0);
    assert!(report.network_error.is_some());
    assert_eq!(province.referral_count(), 1);
    proxy
        .lose_submission_answers
        .store(false, Ordering::Relaxed);
    // The next routine sync: the item is not due yet, but the province's "received" comes in.
    let report = store.sync(false, &mut |_| {}).unwrap();
    assert_eq!(report.statuses_applied, 1);
    assert_eq!(
        store.referral(&ids[0]).unwrap().state,
        ReferralState::Received
    );
    // That settles the outbox: "send now" sends nothing twice and keeps working.
    let outbox = store.outbox().unwrap();
    assert_eq!(outbox[0].state, OutboxState::Sent);
    for _ in 0..2 {
        let report = store.sync(true, &mut |_| {}).unwrap();
        assert_eq!(
            (report.sent, report.failed, report.still_pending),
            (0, 0, 0)
        );
    }
    assert_eq!(province.referral_count(), 1);
}

#[test]
fn a_referral_for_the_commune_union_cannot_be_sent_to_the_province() {
    let province = Province::start(Limits::default());
    let dir = tempfile::tempdir().unwrap();
    let (mut store, ids) = phone_with_referrals(dir.path(), &province.url(), &province.code(), 1);
    let member = store.referral(&ids[0]).unwrap().info.member_id;
    // She agreed to the commune union seeing her need, not the province.
    let consent = store
        .add_consent(&ConsentInput {
            member_id: member.clone(),
            purposes: vec![SupportService::LegalAid],
            recipient: Recipient::CommuneUnion,
            fields: vec![SharedField::Name, SharedField::Need],
            method: ConsentMethod::SignedPaper,
            witness: None,
            given_on: Utc::now().date_naive(),
        })
        .unwrap();
    let referral = store
        .create_referral(&ReferralInput {
            member_id: member,
            services: vec![SupportService::LegalAid],
            urgency: Urgency::Routine,
            note: "Cần hỗ trợ pháp lý".into(),
            recipient: Recipient::CommuneUnion,
            shared_fields: vec![SharedField::Name, SharedField::Need],
            consent_id: Some(consent.id),
        })
        .unwrap();
    store.mark_referral_ready(&referral.id).unwrap();
    assert!(matches!(
        store.queue_referral(&referral.id),
        Err(Error::Invalid(ValidationError {
            field: "recipient",
            ..
        }))
    ));
    assert_eq!(
        store.referral(&referral.id).unwrap().state,
        ReferralState::Ready
    );
    assert_eq!(store.outbox().unwrap().len(), 1, "only the provincial one");
}

#[test]
fn a_server_that_says_retry_in_a_century_delays_a_referral_by_a_day_at_most() {
    let province = Province::start(Limits::default());
    let proxy = FaultProxy::start(province.addr, 13);
    let dir = tempfile::tempdir().unwrap();
    let (mut store, ids) = phone_with_referrals(dir.path(), &proxy.url(), &province.code(), 1);
    proxy.canned.lock().unwrap().push(Canned {
        request: "POST /v1/referrals".into(),
        status: 503,
        headers: vec![("retry-after".into(), "3155760000".into())],
        body: b"{\"error\":\"busy\"}".to_vec(),
    });
    let report = store.sync(true, &mut |_| {}).unwrap();
    assert_eq!((report.sent, report.still_pending), (0, 1));
    let item = &store.outbox().unwrap()[0];
    assert_eq!(item.referral_id, ids[0]);
    let wait = item.next_attempt_at - Utc::now();
    assert!(
        wait <= chrono::Duration::hours(24) && wait > chrono::Duration::hours(23),
        "{wait}"
    );
}

#[test]
fn a_server_that_ignores_the_status_cursor_ends_the_pull_instead_of_looping() {
    let province = Province::start(Limits::default());
    let proxy = FaultProxy::start(province.addr, 17);
    let dir = tempfile::tempdir().unwrap();
    let (mut store, ids) = phone_with_referrals(dir.path(), &proxy.url(), &province.code(), 1);
    assert_eq!(store.sync(true, &mut |_| {}).unwrap().statuses_applied, 1);
    // From now on the "server" sends back the first update again and again, "more to come".
    let old = chungtay_protocol::StatusPage {
        updates: vec![chungtay_protocol::StatusUpdate {
            seq: 1,
            referral_id: ids[0].clone(),
            state: "received".into(),
            note: String::new(),
            at: Utc::now().to_rfc3339(),
            signature: chungtay_protocol::B64(vec![0; 64]),
        }],
        cursor: 1,
        more: true,
        checkpoint: None,
    };
    proxy.canned.lock().unwrap().push(Canned {
        request: "GET /v1/status".into(),
        status: 200,
        headers: vec![("content-type".into(), "application/json".into())],
        body: serde_json::to_vec(&old).unwrap(),
    });
    let report = store.sync(false, &mut |_| {}).unwrap();
    assert_eq!(report.statuses_applied, 0);
    assert_eq!(
        store.referral(&ids[0]).unwrap().state,
        ReferralState::Received
    );
}

#[test]
fn only_the_leader_can_point_an_enrolled_phone_at_another_province() {
    let province = Province::start(Limits::default());
    let other = Province::start(Limits::default());
    let dir = tempfile::tempdir().unwrap();
    let (mut store, ids) = phone_with_referrals(dir.path(), &province.url(), &province.code(), 1);
    assert_eq!(store.sync(true, &mut |_| {}).unwrap().statuses_applied, 1);
    let before = store.enrollment_info().unwrap().unwrap();
    let leader = store.current_user().unwrap().id;
    let deputy = store
        .add_user(
            PIN,
            NewUser::new("Vàng Thị Sua", UserRole::Deputy, "630148"),
            KdfParams::MIN,
        )
        .unwrap();
    // The deputy (who may sync) cannot re-point the phone: that would send every later
    // referral to whoever runs the other server.
    store.lock();
    store.unlock(&deputy.id, "630148").unwrap();
    assert!(matches!(
        store.enroll(&other.url(), &other.code(), None),
        Err(Error::Forbidden(Permission::Safety))
    ));
    assert_eq!(store.enrollment_info().unwrap().unwrap(), before);
    // Nothing was lost either: the statuses already applied are not pulled again.
    assert_eq!(store.sync(false, &mut |_| {}).unwrap().statuses_applied, 0);
    assert_eq!(
        store.referral(&ids[0]).unwrap().state,
        ReferralState::Received
    );
    // The leader can, and the trail says so.
    store.lock();
    store.unlock(&leader, PIN).unwrap();
    let after = store.enroll(&other.url(), &other.code(), None).unwrap();
    assert_eq!(after.server_url, other.url());
    assert_ne!(after.province_fingerprint, before.province_fingerprint);
    assert!(
        store
            .audit_entries()
            .unwrap()
            .iter()
            .any(|e| e.action == AuditAction::Sync && e.record_id == "re-enroll")
    );
}

#[test]
fn an_answer_in_a_state_from_a_newer_province_is_passed_over_and_later_ones_still_arrive() {
    let province = Province::start(Limits::default());
    let proxy = FaultProxy::start(province.addr, 19);
    let dir = tempfile::tempdir().unwrap();
    let (mut store, ids) = phone_with_referrals(dir.path(), &proxy.url(), &province.code(), 1);
    assert_eq!(store.sync(true, &mut |_| {}).unwrap().statuses_applied, 1);
    // A newer province server signs a state this version has never heard of (seq 2), then
    // "accepted" (seq 3).
    let keys = admin::load_keys(province.data(), chungtay_e2e::PASSPHRASE).unwrap();
    let at = Utc::now().to_rfc3339();
    let device_id = store.enrollment_info().unwrap().unwrap().device_id;
    let newer =
        chungtay_protocol::status_message(&device_id, 2, &ids[0], "transferred", "", &at).unwrap();
    let page = chungtay_protocol::StatusPage {
        updates: vec![
            chungtay_protocol::StatusUpdate {
                seq: 2,
                referral_id: ids[0].clone(),
                state: "transferred".into(),
                note: String::new(),
                at: at.clone(),
                signature: chungtay_protocol::B64(keys.signing.sign(&newer)),
            },
            chungtay_protocol::sign_status(
                &keys.signing,
                &device_id,
                3,
                &ids[0],
                "accepted",
                "Hẹn thứ Hai",
                &at,
            )
            .unwrap(),
        ],
        cursor: 3,
        more: false,
        checkpoint: None,
    };
    proxy.canned.lock().unwrap().push(Canned {
        request: "GET /v1/status".into(),
        status: 200,
        headers: vec![("content-type".into(), "application/json".into())],
        body: serde_json::to_vec(&page).unwrap(),
    });
    let report = store.sync(false, &mut |_| {}).unwrap();
    assert_eq!(report.statuses_applied, 2, "{report:?}");
    assert_eq!(report.statuses_not_understood, 1);
    let referral = store.referral(&ids[0]).unwrap();
    assert_eq!(referral.state, ReferralState::Accepted);
    assert_eq!(referral.history.last().unwrap().note, "Hẹn thứ Hai");
    // Passed over once, not again.
    proxy.canned.lock().unwrap().clear();
    let report = store.sync(false, &mut |_| {}).unwrap();
    assert_eq!(
        (report.statuses_applied, report.statuses_not_understood),
        (0, 0)
    );
}

fn leader_store(path: &std::path::Path, device: Arc<SoftwareDeviceSecret>) -> Store {
    Store::create(
        path,
        device,
        NewUser::new("Lò Thị Mai", UserRole::Leader, PIN),
        KdfParams::MIN,
    )
    .unwrap()
}

/// The phone's file and its journal, copied aside (or back).
fn copy_store(from: &std::path::Path, to: &std::path::Path) {
    for suffix in ["", "-wal", "-shm"] {
        let src = std::path::PathBuf::from(format!("{}{suffix}", from.display()));
        let dst = std::path::PathBuf::from(format!("{}{suffix}", to.display()));
        let _ = std::fs::remove_file(&dst);
        if src.exists() {
            std::fs::copy(&src, &dst).unwrap();
        }
    }
}

/// Issue 11, point 6: a whole older copy of the phone's file is restored (hiding what was done
/// since), then unlocked a few times so its trail is longer than what the province last saw.
/// The province must refuse the checkpoint, which does not extend the one it keeps, and flag
/// the device for its staff; the phone must say its trail does not match the province's.
#[test]
fn an_older_copy_of_the_phone_file_restored_is_refused_and_flagged() {
    let province = Province::start(Limits::default());
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("club.db");
    let device = Arc::new(SoftwareDeviceSecret::generate().unwrap());
    let mut store = leader_store(&path, device.clone());
    let leader = store.current_user().unwrap().id;
    store
        .enroll(&province.url(), &province.code(), None)
        .unwrap();
    let first = store.sync(true, &mut |_| {}).unwrap();
    assert!(first.checkpoint_sent, "{first:?}");
    drop(store);
    let copy = dir.path().join("copy.db");
    copy_store(&path, &copy);

    // Later work the province hears of.
    let mut store = Store::open(&path, device.clone()).unwrap();
    store.unlock(&leader, PIN).unwrap();
    store
        .add_club(&ClubInput {
            name: "CLB Mường Lát".into(),
            kind: ClubKind::AntiTrafficking,
            province: "Thanh Hóa".into(),
            commune: "Mường Lát".into(),
            village: None,
            former_district: None,
        })
        .unwrap();
    let second = store.sync(true, &mut |_| {}).unwrap();
    assert!(second.checkpoint_sent, "{second:?}");
    drop(store);

    // The older copy comes back, and is used for a while.
    copy_store(&copy, &path);
    let mut store = Store::open(&path, device.clone()).unwrap();
    for _ in 0..12 {
        store.unlock(&leader, PIN).unwrap();
        store.lock();
    }
    store.unlock(&leader, PIN).unwrap();
    let report = store.sync(true, &mut |_| {}).unwrap();
    assert!(!report.checkpoint_sent, "{report:?}");
    assert_eq!(
        report.server_refused.as_deref(),
        Some("409 fork"),
        "{report:?}"
    );
    // The phone says its trail does not match the province's, and its own trail keeps that.
    let kept_seq = latest_kept_seq(&province);
    assert_eq!(report.trail_mismatch, Some(kept_seq), "{report:?}");
    assert!(store.audit_entries().unwrap().iter().any(|e| {
        e.action == AuditAction::Sync && e.fields.contains(&format!("trail_mismatch={kept_seq}"))
    }));
    // The province flagged the device for its staff, and kept nothing of the fork.
    let device_id = store.enrollment_info().unwrap().unwrap().device_id;
    let flagged = admin::devices(province.data())
        .unwrap()
        .into_iter()
        .find(|d| d.device_id == device_id)
        .unwrap();
    assert!(flagged.flagged_at.is_some());
    assert!(
        flagged
            .flag_reason
            .as_deref()
            .unwrap()
            .starts_with("fork at seq")
    );
    // Syncing again does not wash it out: still refused, still reported.
    let again = store.sync(true, &mut |_| {}).unwrap();
    assert_eq!(again.server_refused.as_deref(), Some("409 fork"));
    assert_eq!(again.trail_mismatch, Some(kept_seq));
    assert_eq!(latest_kept_seq(&province), kept_seq);
}

/// The seq of the latest checkpoint the province keeps for its only device.
fn latest_kept_seq(province: &Province) -> i64 {
    use chungtay_intake::IntakeStore as _;
    let store = admin::open_store(province.data()).unwrap();
    let device = store.devices().unwrap().remove(0);
    store
        .latest_checkpoint(&device.device_id)
        .unwrap()
        .unwrap()
        .seq
}

/// Point 6, the other way round: a checkpoint the province kept but whose answer was lost is
/// not mistaken for a fork: the phone finds it in its own trail and extends it.
#[test]
fn a_checkpoint_whose_answer_was_lost_is_extended_not_flagged() {
    let province = Province::start(Limits::default());
    let proxy = FaultProxy::start(province.addr, 23);
    let dir = tempfile::tempdir().unwrap();
    let device = Arc::new(SoftwareDeviceSecret::generate().unwrap());
    let mut store = leader_store(&dir.path().join("club.db"), device);
    store.enroll(&proxy.url(), &province.code(), None).unwrap();
    assert!(store.sync(true, &mut |_| {}).unwrap().checkpoint_sent);
    proxy.lose_checkpoint_answers.store(true, Ordering::Relaxed);
    let lost = store.sync(true, &mut |_| {}).unwrap();
    assert!(
        !lost.checkpoint_sent && lost.network_error.is_some(),
        "{lost:?}"
    );
    proxy
        .lose_checkpoint_answers
        .store(false, Ordering::Relaxed);
    let report = store.sync(true, &mut |_| {}).unwrap();
    assert!(report.checkpoint_sent, "{report:?}");
    assert_eq!(report.trail_mismatch, None);
    assert_eq!(report.server_refused, None);
    assert!(
        admin::devices(province.data())
            .unwrap()
            .iter()
            .all(|d| d.flagged_at.is_none())
    );
    use chungtay_intake::IntakeStore as _;
    let device_id = store.enrollment_info().unwrap().unwrap().device_id;
    assert_eq!(
        admin::open_store(province.data())
            .unwrap()
            .checkpoints(&device_id)
            .unwrap()
            .len(),
        3
    );
}

/// Point 13: when the leader has the fingerprint printed beside the code, the phone compares
/// it and pins nothing on a mismatch.
#[test]
fn enrollment_with_the_wrong_fingerprint_pins_nothing() {
    let province = Province::start(Limits::default());
    let dir = tempfile::tempdir().unwrap();
    let device = Arc::new(SoftwareDeviceSecret::generate().unwrap());
    let mut store = leader_store(&dir.path().join("club.db"), device);
    let issued = admin::issue_code(province.data(), chungtay_e2e::PASSPHRASE).unwrap();
    assert!(matches!(
        store.enroll_expecting(
            &province.url(),
            &issued.code,
            None,
            Some("0000-1111-2222-3333-4444")
        ),
        Err(Error::Invalid(ValidationError {
            field: "province_fingerprint",
            reason: Reason::Mismatch,
        }))
    ));
    assert!(store.enrollment_info().unwrap().is_none());
    // The right one, written loosely (upper case, spaces), goes through.
    let loose = issued.fingerprint.to_uppercase().replace('-', " ");
    let info = store
        .enroll_expecting(&province.url(), &issued.code, None, Some(&loose))
        .unwrap();
    assert_eq!(info.province_fingerprint, issued.fingerprint);
}

/// Point 13: the phone follows no redirect: an enrollment code sent to one host must not be
/// re-sent to another because the first said so.
#[test]
fn enrollment_does_not_follow_a_redirect_to_another_host() {
    use std::io::{Read as _, Write as _};
    let province = Province::start(Limits::default());
    let elsewhere = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let target = format!("http://{}/v1/enroll", elsewhere.local_addr().unwrap());
    let redirector = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", redirector.local_addr().unwrap());
    std::thread::spawn(move || {
        if let Ok((mut s, _)) = redirector.accept() {
            let mut buf = [0u8; 4096];
            let _ = s.read(&mut buf);
            let _ = s.write_all(
                format!(
                    "HTTP/1.1 307 Temporary Redirect\r\nLocation: {target}\r\n\
                     Content-Length: 0\r\nConnection: close\r\n\r\n"
                )
                .as_bytes(),
            );
        }
    });
    let dir = tempfile::tempdir().unwrap();
    let device = Arc::new(SoftwareDeviceSecret::generate().unwrap());
    let mut store = leader_store(&dir.path().join("club.db"), device);
    store.set_request_timeout(std::time::Duration::from_secs(2));
    let code = province.code();
    assert!(store.enroll(&url, &code, None).is_err());
    assert!(store.enrollment_info().unwrap().is_none());
    elsewhere.set_nonblocking(true).unwrap();
    assert!(
        elsewhere.accept().is_err(),
        "the enrollment was re-sent to the redirect's target"
    );
}

/// Point 13: a deputy may retry an enrollment, but not change what the phone pins: a new
/// certificate for the same server would let whoever holds it read every later referral's
/// metadata and answer in the province's place.
#[test]
fn a_deputy_cannot_change_the_pinned_certificate_by_enrolling_again() {
    let province = Province::start(Limits::default());
    let dir = tempfile::tempdir().unwrap();
    let device = Arc::new(SoftwareDeviceSecret::generate().unwrap());
    let mut store = leader_store(&dir.path().join("club.db"), device);
    let code = province.code();
    store.enroll(&province.url(), &code, None).unwrap();
    let deputy = store
        .add_user(
            PIN,
            NewUser::new("Vàng Thị Sua", UserRole::Deputy, "630148"),
            KdfParams::MIN,
        )
        .unwrap();
    store.lock();
    store.unlock(&deputy.id, "630148").unwrap();
    // A retry with the same everything is fine for her.
    store.enroll(&province.url(), &code, None).unwrap();
    let certs = tempfile::tempdir().unwrap();
    chungtay_intake::tls::generate_self_signed(certs.path(), &["evil.example".into()]).unwrap();
    let pem = std::fs::read_to_string(certs.path().join(chungtay_intake::tls::CERT_FILE)).unwrap();
    assert!(matches!(
        store.enroll(&province.url(), &code, Some(&pem)),
        Err(Error::Forbidden(Permission::Safety))
    ));
}

/// Point 13: a status update the province signed for another phone, replayed to this one
/// (by anyone on the line), is refused: it would otherwise decline this phone's referral, or
/// move its cursor past its own answer.
#[test]
fn a_status_signed_for_another_phone_is_refused_and_changes_nothing() {
    let province = Province::start(Limits::default());
    let proxy = FaultProxy::start(province.addr, 29);
    let dir_a = tempfile::tempdir().unwrap();
    let (mut phone_a, _) = phone_with_referrals(dir_a.path(), &province.url(), &province.code(), 1);
    assert_eq!(phone_a.sync(true, &mut |_| {}).unwrap().sent, 1);
    let device_a = phone_a.enrollment_info().unwrap().unwrap().device_id;
    let dir_b = tempfile::tempdir().unwrap();
    let (mut phone_b, ids) = phone_with_referrals(dir_b.path(), &proxy.url(), &province.code(), 1);
    assert_eq!(phone_b.sync(true, &mut |_| {}).unwrap().sent, 1);
    assert_eq!(
        phone_b.referral(&ids[0]).unwrap().state,
        ReferralState::Received
    );
    // Genuinely signed by the province, but for device A.
    let keys = admin::load_keys(province.data(), chungtay_e2e::PASSPHRASE).unwrap();
    let replayed = chungtay_protocol::sign_status(
        &keys.signing,
        &device_a,
        2,
        &ids[0],
        "declined",
        "Không đủ điều kiện",
        &Utc::now().to_rfc3339(),
    )
    .unwrap();
    let page = chungtay_protocol::StatusPage {
        updates: vec![replayed],
        cursor: 2,
        more: false,
        checkpoint: None,
    };
    proxy.canned.lock().unwrap().push(Canned {
        request: "GET /v1/status".into(),
        status: 200,
        headers: vec![("content-type".into(), "application/json".into())],
        body: serde_json::to_vec(&page).unwrap(),
    });
    assert!(matches!(
        phone_b.sync(false, &mut |_| {}),
        Err(Error::Integrity { kind: RecordKind::Referral, id }) if id == ids[0]
    ));
    assert_eq!(
        phone_b.referral(&ids[0]).unwrap().state,
        ReferralState::Received
    );
    // Its own answer still arrives at that place once the line is clean.
    proxy.canned.lock().unwrap().clear();
    province.transition(&ids[0], "accepted", "Hẹn thứ Hai");
    assert_eq!(
        phone_b.sync(false, &mut |_| {}).unwrap().statuses_applied,
        1
    );
    assert_eq!(
        phone_b.referral(&ids[0]).unwrap().state,
        ReferralState::Accepted
    );
}
