//! Scenario 2 of DOMAIN.md: a referral that comes back.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;

use chrono::{Datelike, Utc};
use chungtay_core::sync::OutboxState;
use chungtay_core::*;
use chungtay_e2e::Province;
use chungtay_intake::Limits;

const PIN: &str = "274915";

fn phone(dir: &std::path::Path, device: Arc<SoftwareDeviceSecret>) -> Store {
    Store::create(
        &dir.join("club.db"),
        device,
        NewUser::new("Lò Thị Mai", UserRole::Leader, PIN),
        KdfParams::MIN,
    )
    .unwrap()
}

#[test]
fn a_referral_is_sent_exactly_once_after_days_offline_and_the_answer_comes_back() {
    let mut province = Province::start(Limits::default());
    let dir = tempfile::tempdir().unwrap();
    let device = Arc::new(SoftwareDeviceSecret::generate().unwrap());
    let mut store = phone(dir.path(), device.clone());

    // Enrollment with the province's one-time code; a retry with the same code is fine.
    let code = province.code();
    let info = store.enroll(&province.url(), &code, None).unwrap();
    assert!(!info.province_fingerprint.is_empty());
    assert_eq!(
        store
            .enroll(&province.url(), &code, None)
            .unwrap()
            .device_id,
        info.device_id
    );

    // A 19-year-old Thái returnee who wants a sewing course and a small loan.
    let club = store
        .add_club(&ClubInput {
            name: "CLB phụ nữ phòng, chống mua bán người Pù Nhi".into(),
            kind: ClubKind::AntiTrafficking,
            province: "Thanh Hóa".into(),
            commune: "Pù Nhi".into(),
            village: None,
            former_district: Some("Mường Lát".into()),
        })
        .unwrap();
    let today = Utc::now().date_naive();
    let member = store
        .add_member(
            &club.id,
            &MemberInput {
                full_name: "Vi Thị Hoa".into(),
                birth_year: Some(today.year() - 19),
                gender: Gender::Female,
                ethnic_group: EthnicGroup::from_name("Thái").unwrap(),
                village: "Bản Chai".into(),
                phone: Some("0912 345 678".into()),
                role: MemberRole::Member,
                survivor_status: SurvivorStatus::Returnee,
                safe_to_contact: false,
            },
        )
        .unwrap();
    let consent = store
        .add_consent(&ConsentInput {
            member_id: member.id.clone(),
            purposes: vec![SupportService::VocationalTraining, SupportService::Loans],
            recipient: Recipient::ProvincialUnion,
            fields: vec![
                SharedField::Name,
                SharedField::BirthYear,
                SharedField::Commune,
                SharedField::Need,
            ],
            method: ConsentMethod::SignedPaper,
            witness: None,
            given_on: today,
        })
        .unwrap();
    let referral = store
        .create_referral(&ReferralInput {
            member_id: member.id.clone(),
            services: vec![SupportService::VocationalTraining, SupportService::Loans],
            urgency: Urgency::Routine,
            note: "Muốn học may và vay vốn nhỏ".into(),
            recipient: Recipient::ProvincialUnion,
            shared_fields: vec![
                SharedField::Name,
                SharedField::BirthYear,
                SharedField::Commune,
                SharedField::Need,
            ],
            consent_id: Some(consent.id.clone()),
        })
        .unwrap();
    store.mark_referral_ready(&referral.id).unwrap();
    store.queue_referral(&referral.id).unwrap();
    assert_eq!(
        store.referral(&referral.id).unwrap().state,
        ReferralState::Queued
    );

    // Three days without signal: every try fails, nothing is lost.
    province.stop();
    for _ in 0..3 {
        let report = store.sync(true, &mut |_| {}).unwrap();
        assert_eq!(report.sent, 0);
        assert_eq!(report.still_pending, 1);
        assert!(report.network_error.is_some());
    }
    let waiting = store.outbox().unwrap();
    assert_eq!(waiting.len(), 1);
    assert_eq!(waiting[0].state, OutboxState::Pending);
    assert_eq!(waiting[0].attempts, 3);
    // The next try is scheduled a minute or more ahead (backoff), not hammered.
    assert!(waiting[0].next_attempt_at > Utc::now() + chrono::Duration::seconds(30));
    // Without "send now", nothing is due yet.
    province.restart();
    let idle = store.sync(false, &mut |_| {}).unwrap();
    assert_eq!(idle.sent, 0);

    // At the commune office Wi-Fi: sent once, only once.
    let mut seen = Vec::new();
    let report = store.sync(true, &mut |p| seen.push(p)).unwrap();
    assert_eq!(report.sent, 1, "{report:?}");
    assert_eq!(seen.last().unwrap().done, 1);
    assert!(report.checkpoint_sent);
    assert_eq!(
        store.referral(&referral.id).unwrap().state,
        ReferralState::Received
    );
    store.sync(true, &mut |_| {}).unwrap();
    assert_eq!(province.referral_count(), 1);
    assert_eq!(store.outbox().unwrap()[0].state, OutboxState::Sent);

    // Readable only by the province: neither the phone's outbox nor the server's files hold
    // her name or her need in the clear.
    drop(store);
    for dir in [dir.path(), province.data()] {
        for entry in std::fs::read_dir(dir).unwrap() {
            let bytes = std::fs::read(entry.unwrap().path()).unwrap();
            for secret in ["Vi Thị Hoa", "học may"] {
                assert!(!bytes.windows(secret.len()).any(|w| w == secret.as_bytes()));
            }
        }
    }

    // A week later the province answers.
    province.transition(&referral.id, "accepted", "Đã nhận, lớp học bắt đầu ngày 5");
    let mut store = Store::open(&dir.path().join("club.db"), device).unwrap();
    let leader = store.users().unwrap()[0].id.clone();
    store.unlock(&leader, PIN).unwrap();
    let report = store.sync(false, &mut |_| {}).unwrap();
    assert_eq!(report.statuses_applied, 1, "{report:?}");
    let answered = store.referral(&referral.id).unwrap();
    assert_eq!(answered.state, ReferralState::Accepted);
    let last = answered.history.last().unwrap();
    assert_eq!(last.note, "Đã nhận, lớp học bắt đầu ngày 5");
    assert_eq!(last.by, "province");
    // Each update applies once: another sync changes nothing.
    let again = store.sync(false, &mut |_| {}).unwrap();
    assert_eq!(again.statuses_applied, 0);
    assert_eq!(
        store.referral(&referral.id).unwrap().history.len(),
        answered.history.len()
    );
    // The audit trail holds the sync and still verifies; the province kept our checkpoints.
    store.verify_audit().unwrap();
    assert!(
        store
            .audit_entries()
            .unwrap()
            .iter()
            .any(|e| e.action == AuditAction::Sync)
    );
}
