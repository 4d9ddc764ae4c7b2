//! 1,000 referrals through a network that fails 30% of the time (drops, 500s, resets after the
//! server stored the item, duplicates, delays and timeouts): each stored exactly once.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::num::NonZeroU32;
use std::sync::Arc;

use chrono::Utc;
use chungtay_core::sync::OutboxState;
use chungtay_core::*;
use chungtay_e2e::{Fault, FaultProxy, Province};
use chungtay_intake::Limits;

const PIN: &str = "274915";
const REFERRALS: usize = 1000;

#[test]
fn a_thousand_referrals_through_thirty_percent_faults_arrive_exactly_once() {
    let province = Province::start(Limits {
        device_per_minute: NonZeroU32::new(1_000_000).unwrap(),
        ..Limits::default()
    });
    let proxy = FaultProxy::start(province.addr, 0x5eed_c0de);
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::create(
        &dir.path().join("club.db"),
        Arc::new(SoftwareDeviceSecret::generate().unwrap()),
        NewUser::new("Lò Thị Mai", UserRole::Leader, PIN),
        KdfParams::MIN,
    )
    .unwrap();
    store.enroll(&proxy.url(), &province.code(), None).unwrap();
    // A short timeout, so that stalled requests time out quickly.
    store.set_request_timeout(std::time::Duration::from_secs(1));

    let club = store
        .add_club(&ClubInput {
            name: "CLB Na Mèo".into(),
            kind: ClubKind::SafeMigration,
            province: "Thanh Hóa".into(),
            commune: "Na Mèo".into(),
            village: None,
            former_district: None,
        })
        .unwrap();
    let member = store
        .add_member(
            &club.id,
            &MemberInput {
                full_name: "Hà Thị Ơn".into(),
                birth_year: Some(2001),
                gender: Gender::Female,
                ethnic_group: EthnicGroup::from_name("Mường").unwrap(),
                village: "Bản Sạng".into(),
                phone: None,
                role: MemberRole::Member,
                survivor_status: SurvivorStatus::Survivor,
                safe_to_contact: true,
            },
        )
        .unwrap();
    let consent = store
        .add_consent(&ConsentInput {
            member_id: member.id.clone(),
            purposes: vec![SupportService::Jobs],
            recipient: Recipient::ProvincialUnion,
            fields: vec![SharedField::Name, SharedField::Need],
            method: ConsentMethod::VerbalWithWitness,
            witness: Some("Lò Thị Mai".into()),
            given_on: Utc::now().date_naive(),
        })
        .unwrap();
    let mut ids = Vec::new();
    for n in 0..REFERRALS {
        let r = store
            .create_referral(&ReferralInput {
                member_id: member.id.clone(),
                services: vec![SupportService::Jobs],
                urgency: Urgency::Routine,
                note: format!("Giới thiệu việc làm số {n}"),
                recipient: Recipient::ProvincialUnion,
                shared_fields: vec![SharedField::Name, SharedField::Need],
                consent_id: Some(consent.id.clone()),
            })
            .unwrap();
        store.mark_referral_ready(&r.id).unwrap();
        store.queue_referral(&r.id).unwrap();
        ids.push(r.id);
    }

    proxy.set_fault_rate(300);
    let mut rounds = 0;
    loop {
        rounds += 1;
        assert!(rounds <= 60, "the outbox never emptied");
        let report = store.sync(true, &mut |_| {}).unwrap();
        assert_eq!(
            report.failed, 0,
            "a transient fault became a permanent failure"
        );
        if report.still_pending == 0 {
            break;
        }
    }
    // One more sync, fault-free, to pull the status updates for all of them.
    proxy.set_fault_rate(0);
    while store.sync(true, &mut |_| {}).unwrap().statuses_applied > 0 {}

    let injected = proxy.injected.lock().unwrap().clone();
    assert!(
        injected.len() >= 300,
        "only {} faults were injected",
        injected.len()
    );
    for kind in [
        Fault::DropBefore,
        Fault::Error500Before,
        Fault::ResetAfter,
        Fault::Error500After,
        Fault::Duplicate,
        Fault::Delay,
        Fault::Stall,
    ] {
        assert!(injected.contains(&kind), "{kind:?} never happened");
    }
    // Exactly 1,000 stored, no duplicates, an empty outbox, every receipt verified.
    assert_eq!(province.referral_count(), REFERRALS as i64);
    let conn = rusqlite::Connection::open(province.db_path()).unwrap();
    let distinct: i64 = conn
        .query_row(
            "SELECT count(DISTINCT referral_id) FROM referrals",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(distinct, REFERRALS as i64);
    let outbox = store.outbox().unwrap();
    assert_eq!(outbox.len(), REFERRALS);
    assert!(outbox.iter().all(|i| i.state == OutboxState::Sent));
    // Sent means a receipt that verified against the pinned province key; the province's own
    // first status (received) came back for each.
    for id in &ids {
        assert_eq!(store.referral(id).unwrap().state, ReferralState::Received);
    }
    println!("faults injected: {}, sync rounds: {rounds}", injected.len());
}
