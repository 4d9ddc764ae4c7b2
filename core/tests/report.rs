//! The monthly club report on a club of 20 members: the numbers, small-cell protection, and no
//! survivor status anywhere in it.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use chrono::{Datelike, Duration, NaiveDate, Utc};
use chungtay_core::report::{MonthlyReport, Shown};
use chungtay_core::*;
use common::*;

use Shown::{Count, Hidden, Small};

struct Club {
    f: Fixture,
    club_id: String,
}

/// 20 members: 12 Thái, 7 Mông, 1 Dao; 18 women and 2 men; most of them returnees.
/// Two meetings this month (12 + 6 present, 3 guests) and one 40 days ago.
/// Nine referrals this month: 6 for psychological support, then vocational training and a
/// loan (made ready with consent), vocational training, health care; all drafts but one.
fn club() -> Club {
    let mut f = Fixture::new();
    let club_id = f.store.add_club(&club_input()).unwrap().id;
    let mut ids = Vec::new();
    for i in 0..20 {
        let (group, village) = match i {
            0..12 => ("Thái", "Bản Chai"),
            12..19 => ("Mông", "Bản Ma Hác"),
            _ => ("Dao", "Bản Pù Quăn"),
        };
        let mut input = member_input(&format!("Lò Thị Hoa {i}"), group, village);
        if i >= 18 {
            input.gender = Gender::Male;
        }
        if i % 3 == 0 {
            input.survivor_status = SurvivorStatus::Survivor;
        }
        ids.push(f.store.add_member(&club_id, &input).unwrap().id);
    }
    let today = today();
    let mut meeting = meeting_input(&club_id, ids[..12].to_vec());
    meeting.date = today;
    f.store.record_meeting(&meeting).unwrap();
    let mut second = meeting_input(&club_id, ids[12..18].to_vec());
    second.date = today;
    second.guest_count = 0;
    f.store.record_meeting(&second).unwrap();
    let mut old = meeting_input(&club_id, ids[..5].to_vec());
    old.date = today - Duration::days(40);
    old.guest_count = 9;
    f.store.record_meeting(&old).unwrap();

    for id in &ids[..6] {
        let mut r = referral_input(id, None);
        r.services = vec![SupportService::Psychological];
        f.store.create_referral(&r).unwrap();
    }
    let consent = f.store.add_consent(&consent_input(&ids[6])).unwrap();
    let ready = f
        .store
        .create_referral(&referral_input(&ids[6], Some(&consent.id)))
        .unwrap();
    f.store.mark_referral_ready(&ready.id).unwrap();
    let mut vt = referral_input(&ids[7], None);
    vt.services = vec![SupportService::VocationalTraining];
    f.store.create_referral(&vt).unwrap();
    let mut health = referral_input(&ids[12], None);
    health.services = vec![SupportService::HealthCare];
    f.store.create_referral(&health).unwrap();
    Club { f, club_id }
}

fn month_of(d: NaiveDate) -> (i32, u32) {
    (d.year(), d.month())
}

/// Meetings are dated in UTC here; referrals are counted by their creation in Vietnam time.
/// For the seven hours a month when the two months differ, each is read from its own report.
fn reports(c: &Club) -> (MonthlyReport, MonthlyReport) {
    let (y, m) = month_of(today());
    let (vy, vm) = month_of((Utc::now() + Duration::hours(7)).date_naive());
    let by_meeting = c.f.store.monthly_report(&c.club_id, y, m).unwrap();
    let by_referral = c.f.store.monthly_report(&c.club_id, vy, vm).unwrap();
    (by_meeting, by_referral)
}

#[test]
fn report_counts_meetings_members_and_referrals_with_protection() {
    let c = club();
    let (r, refs) = reports(&c);
    assert_eq!(r.club_name, club_input().name);
    assert_eq!(r.month_text(), format!("{:04}-{:02}", r.year, r.month));

    // Two meetings this month; the one 40 days ago is not counted.
    assert_eq!(r.meetings_held, 2);
    assert_eq!(r.attendance, Count(18));
    assert_eq!(r.guests, Small, "3 guests is a small count");

    // By ethnic group: Dao 1 is <5, so the counts of 5 and more (Thái 12, Mông 7) are hidden
    // too: with Thái shown, 20 - 12 = 8 = Mông + Dao would pin Dao to at most 3. The total stays.
    // Groups with nobody are left out.
    let g = &r.members_by_ethnic_group;
    assert_eq!(g.rows.len(), 3);
    assert_eq!(g.row("3").unwrap().count, Hidden);
    assert_eq!(g.row("3").unwrap().label_vi, "Thái");
    assert_eq!(g.row("8").unwrap().count, Hidden);
    assert_eq!(g.row("9").unwrap().count, Small);
    assert_eq!(g.total, Count(20));

    // By gender: 2 men is <5, so the women's 18 is hidden too; nobody "other" stays 0.
    let s = &r.members_by_gender;
    assert_eq!(s.row("female").unwrap().count, Hidden);
    assert_eq!(s.row("male").unwrap().count, Small);
    assert_eq!(s.row("other").unwrap().count, Count(0));
    assert_eq!(s.total, Count(20));

    // Referrals by service: psychological 6, vocational training 2, loans 1, health care 1
    // (one referral asks for two services: 10 for 9 referrals). Read as if each referral asked
    // for one service, the three small cells would add up to at most 4: no choice of hidden
    // cells protects them, so both referral tables show no number, only zeros and a note.
    let sv = &refs.referrals_by_service;
    for key in [
        "psychological",
        "vocational_training",
        "loans",
        "health_care",
    ] {
        assert_eq!(sv.row(key).unwrap().count, Hidden, "{key}");
    }
    assert_eq!(sv.row("jobs").unwrap().count, Count(0));
    assert_eq!(sv.rows.len(), 12);
    assert_eq!(sv.total, Hidden);
    assert!(sv.note_en.as_deref().unwrap().contains("Too few"));
    let st = &refs.referrals_by_state;
    assert_eq!(st.row("ready").unwrap().count, Hidden);
    assert_eq!(st.row("draft").unwrap().count, Hidden);
    assert_eq!(st.row("withdrawn").unwrap().count, Count(0));
    assert_eq!(st.rows.len(), 10);
    assert_eq!(st.total, Hidden);
}

#[test]
fn no_survivor_status_anywhere_in_the_report() {
    let c = club();
    let (r, refs) = reports(&c);
    for report in [&r, &refs] {
        let csv = report.to_csv();
        let json = serde_json::to_string(report).unwrap();
        let debug = format!("{report:?}");
        for text in [&csv, &json, &debug] {
            for word in [
                "Returnee",
                "Survivor",
                "survivor",
                "returnee",
                "trở về",
                "nạn nhân",
                "bị mua bán",
                "Lò Thị Hoa",
                "Bản Chai",
            ] {
                assert!(!text.contains(word), "{word} in the report");
            }
        }
        let xlsx = report.to_xlsx().unwrap();
        assert_eq!(&xlsx[..4], b"PK\x03\x04");
    }
}

#[test]
fn report_csv_carries_the_numbers() {
    let c = club();
    let (r, _) = reports(&c);
    let csv = r.to_csv();
    let body = csv.strip_prefix('\u{feff}').unwrap();
    let mut reader = csv::Reader::from_reader(body.as_bytes());
    let rows: Vec<Vec<String>> = reader
        .records()
        .map(|r| r.unwrap().iter().map(str::to_owned).collect())
        .collect();
    let value = |section: &str, item: &str| {
        rows.iter()
            .find(|r| r[0] == section && r[1] == item)
            .map(|r| r[2].clone())
            .unwrap_or_else(|| panic!("no {section} / {item}"))
    };
    assert_eq!(
        value(
            "Thành viên theo dân tộc / Members by ethnic group",
            "Tổng / Total"
        ),
        "20"
    );
    assert_eq!(
        value("Thành viên theo dân tộc / Members by ethnic group", "Dao"),
        "<5"
    );
    assert_eq!(
        value("Thành viên theo dân tộc / Members by ethnic group", "Mông"),
        "x"
    );
    assert_eq!(
        value("Sinh hoạt / Meetings", "Số buổi sinh hoạt / Meetings held"),
        "2"
    );
    assert_eq!(value("Sinh hoạt / Meetings", "Khách mời / Guests"), "<5");
}

#[test]
fn the_report_is_noted_in_the_trail_and_open_to_every_role() {
    let mut c = club();
    let (y, m) = month_of(today());
    c.f.store.monthly_report(&c.club_id, y, m).unwrap();
    let noted =
        c.f.store
            .audit_entries()
            .unwrap()
            .into_iter()
            .filter(|e| {
                e.action == AuditAction::Export
                    && e.record_id == c.club_id
                    && e.fields == ["monthly_report"]
            })
            .count();
    assert_eq!(noted, 1);
    c.f.store.verify_audit().unwrap();

    let deputy =
        c.f.store
            .add_user(
                PIN,
                NewUser::new("Hà Thị Ơn", UserRole::Deputy, "583920"),
                KdfParams::MIN,
            )
            .unwrap();
    c.f.store.lock();
    c.f.store.unlock(&deputy.id, "583920").unwrap();
    let r = c.f.store.monthly_report(&c.club_id, y, m).unwrap();
    assert_eq!(r.members_by_ethnic_group.total, Count(20));
}

#[test]
fn report_refuses_a_bad_month_or_an_unknown_club() {
    let c = club();
    let err = c.f.store.monthly_report(&c.club_id, 2026, 13).unwrap_err();
    assert!(matches!(
        err,
        Error::Invalid(ValidationError {
            field: "month",
            reason: Reason::BadDate
        })
    ));
    let err =
        c.f.store
            .monthly_report("no-such-club", 2026, 11)
            .unwrap_err();
    assert!(matches!(
        err,
        Error::NotFound {
            kind: RecordKind::Club,
            ..
        }
    ));
}

#[test]
fn a_locked_store_gives_no_report() {
    let mut c = club();
    c.f.store.lock();
    assert!(matches!(
        c.f.store.monthly_report(&c.club_id, 2026, 11),
        Err(Error::Locked)
    ));
}

#[test]
fn with_one_meeting_attendance_never_gives_away_who_was_absent() {
    let mut f = Fixture::new();
    let club_id = f.store.add_club(&club_input()).unwrap().id;
    let ids: Vec<String> = (0..6)
        .map(|i| {
            let input = member_input(&format!("Lò Thị Hoa {i}"), "Thái", "Bản Chai");
            f.store.add_member(&club_id, &input).unwrap().id
        })
        .collect();
    // One meeting, five of the six there: members minus attendance would say "1 absent".
    let mut meeting = meeting_input(&club_id, ids[..5].to_vec());
    meeting.date = today();
    f.store.record_meeting(&meeting).unwrap();
    let (y, m) = month_of(today());
    let r = f.store.monthly_report(&club_id, y, m).unwrap();
    assert_eq!(r.meetings_held, 1);
    assert_eq!(r.members_by_gender.total, Count(6));
    assert_eq!(r.attendance, Hidden);
    // All six there: nothing to give away.
    let mut all = meeting_input(&club_id, ids.clone());
    all.date = today();
    let mut g = Fixture::new();
    let club2 = g.store.add_club(&club_input()).unwrap().id;
    let ids2: Vec<String> = (0..6)
        .map(|i| {
            let input = member_input(&format!("Lò Thị Hoa {i}"), "Thái", "Bản Chai");
            g.store.add_member(&club2, &input).unwrap().id
        })
        .collect();
    all.club_id = club2.clone();
    all.attendees = ids2;
    g.store.record_meeting(&all).unwrap();
    let r = g.store.monthly_report(&club2, y, m).unwrap();
    assert_eq!(r.attendance, Count(6));
}
