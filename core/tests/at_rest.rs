//! What a seized phone's files hold: none of the personal text, in any normal form.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use chungtay_core::*;
use common::*;
use unicode_normalization::UnicodeNormalization;

/// Distinctive strings that appear nowhere else, each in a different record kind.
const SECRETS: &[&str] = &[
    "Quàng Thị Huyền Trang",          // member name
    "Bản Phiêng Khoòng",              // village
    "0987 654 321",                   // phone
    "Mường Lát cũ",                   // former district
    "CLB Hoa Ban Trắng",              // club name
    "Sầm Thị Nhớ",                    // the leader's own name
    "bị lừa sang biên giới năm 2021", // meeting notes
    "Lường Văn Khánh",                // consent witness
    "cần học nghề may gấp",           // referral note
    "nuôi dê giống Bách Thảo",        // livelihood note
];

fn needles() -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    for s in SECRETS {
        let nfc: String = s.nfc().collect();
        let nfd: String = s.nfd().collect();
        out.push(nfc.into_bytes());
        out.push(nfd.into_bytes());
        // Also as UTF-16, in case anything ever stored wide strings.
        out.push(s.encode_utf16().flat_map(|u| u.to_le_bytes()).collect());
    }
    out
}

fn assert_no_plaintext(f: &Fixture, when: &str, expect_wal: bool) {
    let needles = needles();
    let files = f.files();
    if expect_wal {
        let wal = files
            .iter()
            .find(|p| p.to_string_lossy().ends_with("-wal"))
            .unwrap_or_else(|| panic!("{when}: expected a WAL file among {files:?}"));
        assert!(
            std::fs::metadata(wal).unwrap().len() > 0,
            "{when}: empty WAL"
        );
    }
    for path in files {
        let bytes = std::fs::read(&path).unwrap();
        for (i, needle) in needles.iter().enumerate() {
            assert!(
                !bytes.windows(needle.len()).any(|w| w == needle.as_slice()),
                "{when}: {} holds secret #{} in plaintext",
                path.display(),
                i / 3
            );
        }
    }
}

fn fill(f: &mut Fixture) {
    let mut club = club_input();
    club.name = SECRETS[4].into();
    club.former_district = Some(SECRETS[3].into());
    let club = f.store.add_club(&club).unwrap();
    let mut m = member_input(SECRETS[0], "Thái", SECRETS[1]);
    m.phone = Some(SECRETS[2].into());
    m.survivor_status = SurvivorStatus::Survivor;
    let member = f.store.add_member(&club.id, &m).unwrap();
    // An NFD copy of the name too: it must be normalised and sealed like any other.
    let nfd: String = SECRETS[0].nfd().collect();
    f.store
        .add_member(&club.id, &member_input(&nfd, "Thái", SECRETS[1]))
        .unwrap();
    let mut meeting = meeting_input(&club.id, vec![member.id.clone()]);
    meeting.notes = format!("Chị {} kể chuyện {}", SECRETS[0], SECRETS[6]);
    f.store.record_meeting(&meeting).unwrap();
    let mut consent = consent_input(&member.id);
    consent.method = ConsentMethod::VerbalWithWitness;
    consent.witness = Some(SECRETS[7].into());
    let consent = f.store.add_consent(&consent).unwrap();
    let mut referral = referral_input(&member.id, Some(&consent.id));
    referral.note = SECRETS[8].into();
    f.store.create_referral(&referral).unwrap();
    f.store
        .add_livelihood(&LivelihoodInput {
            member_id: member.id.clone(),
            kind: LivelihoodKind::Livestock,
            date: days_ago(3),
            amount_vnd: Some(5_000_000),
            quantity: Some(2),
            unit: Some("con dê".into()),
            note: SECRETS[9].into(),
        })
        .unwrap();
}

#[test]
fn database_wal_and_temp_files_hold_no_personal_text() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("club.db");
    let device = std::sync::Arc::new(SoftwareDeviceSecret::generate().unwrap());
    let store = Store::create(
        &path,
        device.clone(),
        NewUser::new(SECRETS[5], UserRole::Leader, PIN),
        KdfParams::MIN,
    )
    .unwrap();
    let mut f = Fixture {
        dir,
        device,
        store,
        path,
    };
    fill(&mut f);
    // While the store is open and unlocked: the newest pages are in the WAL.
    assert_no_plaintext(&f, "open", true);
    // Searching works on the same data, so the strings really were written.
    let hits = f
        .store
        .search_members(&MemberFilter {
            text: "quang thi huyen".into(),
            ..Default::default()
        })
        .unwrap();
    assert_eq!(hits.len(), 2);
    // An update leaves the old sealed version in the WAL; still nothing readable.
    let m = f.store.member(&hits[0].id).unwrap();
    let mut info = m.info.clone();
    info.village = "Bản Mới".into();
    f.store.update_member(&m.id, &info).unwrap();
    assert_no_plaintext(&f, "after update", true);
    // Closed: the WAL is checkpointed into the main file.
    let leader = f.leader_id();
    drop(std::mem::replace(
        &mut f.store,
        Store::open(&f.path, f.device.clone()).unwrap(),
    ));
    f.store.unlock(&leader, PIN).unwrap();
    f.store.lock();
    assert_no_plaintext(&f, "reopened and locked", false);
    // Locking folds the WAL into the main file and truncates it.
    let wal = f.path.with_extension("db-wal");
    assert!(!wal.exists() || std::fs::metadata(&wal).unwrap().len() == 0);
}

#[test]
fn ciphertext_length_does_not_reveal_survivor_status() {
    let mut f = Fixture::new();
    let club = f.store.add_club(&club_input()).unwrap();
    let mut lengths = Vec::new();
    for status in [
        SurvivorStatus::NotASurvivor,
        SurvivorStatus::Survivor,
        SurvivorStatus::Returnee,
    ] {
        let mut m = member_input("Vi Thị Hoa", "Thái", "Bản Chai");
        m.survivor_status = status;
        let m = f.store.add_member(&club.id, &m).unwrap();
        let conn = rusqlite::Connection::open(&f.path).unwrap();
        let body: Vec<u8> = conn
            .query_row("SELECT body FROM members WHERE id = ?1", [&m.id], |r| {
                r.get(0)
            })
            .unwrap();
        lengths.push(body.len());
    }
    assert!(lengths.iter().all(|l| *l == lengths[0]), "{lengths:?}");
}

/// Each record's stored body length, read from the file as anyone holding it would.
fn stored_lengths(f: &Fixture, table: &str) -> std::collections::HashMap<String, usize> {
    let conn = rusqlite::Connection::open(&f.path).unwrap();
    let mut stmt = conn
        .prepare(&format!("SELECT id, length(body) FROM {table}"))
        .unwrap();
    stmt.query_map([], |r| Ok((r.get(0)?, r.get::<_, i64>(1)? as usize)))
        .unwrap()
        .map(Result::unwrap)
        .collect()
}

/// That every record in each group has the same stored length.
fn assert_same_length(f: &Fixture, table: &str, groups: &[(String, Vec<String>)]) {
    let lengths = stored_lengths(f, table);
    for (what, ids) in groups {
        let seen: std::collections::BTreeSet<usize> = ids.iter().map(|id| lengths[id]).collect();
        assert_eq!(seen.len(), 1, "{table}, {what}: lengths {seen:?}");
    }
}

/// Property: for names of 1 to 200 characters, every survivor status and both contact flags
/// give one stored length per name length, and that length only grows with the name, in a few
/// steps (buckets).
#[test]
fn a_members_stored_length_depends_only_on_her_free_text_bucket() {
    let mut f = Fixture::new();
    let club = f.store.add_club(&club_input()).unwrap();
    // Vietnamese letters of one to three UTF-8 bytes, no spaces (cleaning would trim them).
    let letters: Vec<char> = "ViThịHoaLườngBảnChaiẰ".chars().collect();
    let mut made = Vec::new();
    for n in 1..=200 {
        let name: String = letters.iter().cycle().take(n).collect();
        for status in [
            SurvivorStatus::NotASurvivor,
            SurvivorStatus::Survivor,
            SurvivorStatus::Returnee,
        ] {
            for safe in [true, false] {
                let mut m = member_input(&name, "Thái", "Bản Chai");
                m.survivor_status = status;
                m.safe_to_contact = safe;
                made.push((f.store.add_member(&club.id, &m).unwrap().id, n));
            }
        }
    }
    let lengths = stored_lengths(&f, "members");
    let mut by_len: std::collections::BTreeMap<usize, std::collections::BTreeSet<usize>> =
        Default::default();
    for (id, n) in &made {
        by_len.entry(*n).or_default().insert(lengths[id]);
    }
    for (n, seen) in &by_len {
        assert_eq!(seen.len(), 1, "name of {n} chars: lengths {seen:?}");
    }
    let steps: Vec<usize> = by_len.values().map(|s| *s.first().unwrap()).collect();
    assert!(steps.windows(2).all(|w| w[0] <= w[1]), "{steps:?}");
    let buckets: std::collections::BTreeSet<&usize> = steps.iter().collect();
    assert!(buckets.len() <= 8, "too many distinct lengths: {buckets:?}");
}

/// Every protected attribute of every record kind (enums, flags, sets, amounts, dates, the
/// consent it relies on) leaves the stored length alone when the free text is the same.
#[test]
fn no_protected_attribute_of_any_record_kind_changes_a_stored_length() {
    let mut f = Fixture::new();
    let st = &mut f.store;
    // Clubs: their kind.
    let mut clubs = Vec::new();
    for kind in [
        ClubKind::AntiTrafficking,
        ClubKind::SafeMigration,
        ClubKind::FamilyFiveThree,
    ] {
        let mut c = club_input();
        c.kind = kind;
        clubs.push(st.add_club(&c).unwrap().id);
    }
    let club = clubs[0].clone();
    // Members: status, flag, gender, role, ethnic group, year of birth.
    let mut members = Vec::new();
    let mut add = |st: &mut Store, edit: &dyn Fn(&mut MemberInput)| {
        let mut m = member_input("Vi Thị Hoa", "Thái", "Bản Chai");
        edit(&mut m);
        members.push(st.add_member(&club, &m).unwrap().id);
    };
    for status in [
        SurvivorStatus::NotASurvivor,
        SurvivorStatus::Survivor,
        SurvivorStatus::Returnee,
    ] {
        add(st, &|m| m.survivor_status = status);
    }
    add(st, &|m| m.safe_to_contact = false);
    for gender in [Gender::Female, Gender::Male, Gender::Other] {
        add(st, &|m| m.gender = gender);
    }
    for role in [MemberRole::Leader, MemberRole::Deputy, MemberRole::Member] {
        add(st, &|m| m.role = role);
    }
    for code in [1, 9, 10, 54] {
        add(st, &|m| {
            m.ethnic_group = EthnicGroup::from_code(code).unwrap()
        });
    }
    for year in [None, Some(1950), Some(2006)] {
        add(st, &|m| m.birth_year = year);
    }
    let member = members[0].clone();
    // Consents: purposes, recipient, fields, method, withdrawn or not.
    use SharedField as F;
    use SupportService as S;
    let all_services = vec![
        S::EssentialNeeds,
        S::HealthCare,
        S::Psychological,
        S::LegalAid,
        S::Schooling,
        S::VocationalTraining,
        S::Jobs,
        S::Loans,
        S::HardshipAllowance,
        S::SafeAccommodation,
        S::IdentityPapers,
        S::Interpretation,
    ];
    let all_fields = vec![
        F::Name,
        F::BirthYear,
        F::Gender,
        F::EthnicGroup,
        F::Commune,
        F::Village,
        F::Phone,
        F::Need,
        F::Story,
    ];
    let mut service_sets: Vec<Vec<SupportService>> =
        all_services.iter().map(|s| vec![*s]).collect();
    service_sets.push(all_services.clone());
    service_sets.push(vec![S::Psychological, S::SafeAccommodation]);
    let mut field_sets: Vec<Vec<SharedField>> = all_fields.iter().map(|x| vec![*x]).collect();
    field_sets.push(all_fields.clone());
    let consent_with = |edit: &dyn Fn(&mut ConsentInput)| {
        let mut c = consent_input(&member);
        c.witness = Some("Lường Văn Khánh".into());
        edit(&mut c);
        c
    };
    let mut consents = Vec::new();
    for set in &service_sets {
        consents.push(
            st.add_consent(&consent_with(&|c| c.purposes = set.clone()))
                .unwrap()
                .id,
        );
    }
    for set in &field_sets {
        consents.push(
            st.add_consent(&consent_with(&|c| c.fields = set.clone()))
                .unwrap()
                .id,
        );
    }
    for recipient in [Recipient::ProvincialUnion, Recipient::CommuneUnion] {
        consents.push(
            st.add_consent(&consent_with(&|c| c.recipient = recipient))
                .unwrap()
                .id,
        );
    }
    for method in [ConsentMethod::SignedPaper, ConsentMethod::VerbalWithWitness] {
        consents.push(
            st.add_consent(&consent_with(&|c| c.method = method))
                .unwrap()
                .id,
        );
    }
    let withdrawn = st.add_consent(&consent_with(&|_| {})).unwrap().id;
    st.withdraw_consent(&withdrawn, today()).unwrap();
    consents.push(withdrawn);
    // Referrals: services, urgency, recipient, shared fields, with or without a consent.
    let referral_with = |edit: &dyn Fn(&mut ReferralInput)| {
        let mut r = referral_input(&member, Some(&consents[0]));
        edit(&mut r);
        r
    };
    let mut referrals = Vec::new();
    for set in &service_sets {
        referrals.push(
            st.create_referral(&referral_with(&|r| r.services = set.clone()))
                .unwrap()
                .id,
        );
    }
    for set in &field_sets {
        referrals.push(
            st.create_referral(&referral_with(&|r| r.shared_fields = set.clone()))
                .unwrap()
                .id,
        );
    }
    for urgency in [Urgency::Routine, Urgency::Urgent, Urgency::Emergency] {
        referrals.push(
            st.create_referral(&referral_with(&|r| r.urgency = urgency))
                .unwrap()
                .id,
        );
    }
    for recipient in [Recipient::ProvincialUnion, Recipient::CommuneUnion] {
        referrals.push(
            st.create_referral(&referral_with(&|r| r.recipient = recipient))
                .unwrap()
                .id,
        );
    }
    referrals.push(
        st.create_referral(&referral_with(&|r| r.consent_id = None))
            .unwrap()
            .id,
    );
    // Support: kind, amount, quantity; follow-ups: outcome.
    let support_with = |kind, amount_vnd, quantity| LivelihoodInput {
        member_id: member.clone(),
        kind,
        date: days_ago(3),
        amount_vnd,
        quantity,
        unit: Some("con".into()),
        note: "nuôi dê".into(),
    };
    let mut support = Vec::new();
    for kind in [
        LivelihoodKind::SeedCapital,
        LivelihoodKind::Livestock,
        LivelihoodKind::Tools,
        LivelihoodKind::VocationalCourse,
        LivelihoodKind::JobPlacement,
        LivelihoodKind::SocialPolicyLoan,
    ] {
        support.push(
            st.add_livelihood(&support_with(kind, Some(1), None))
                .unwrap()
                .id,
        );
    }
    for (amount, quantity) in [
        (None, Some(1)),
        (Some(0), None),
        (Some(5_000_000_000), Some(100_000)),
    ] {
        support.push(
            st.add_livelihood(&support_with(LivelihoodKind::Livestock, amount, quantity))
                .unwrap()
                .id,
        );
    }
    let mut followed = Vec::new();
    for outcome in [
        Outcome::EarningIncome,
        Outcome::StillWorking,
        Outcome::NeedsMoreHelp,
        Outcome::Stopped,
    ] {
        let id = st
            .add_livelihood(&support_with(LivelihoodKind::Tools, Some(1), None))
            .unwrap()
            .id;
        st.add_livelihood_follow_up(
            &id,
            &SupportFollowUp {
                date: days_ago(1),
                outcome,
                note: "có thu nhập".into(),
            },
        )
        .unwrap();
        followed.push(id);
    }
    // Meetings: guests, follow-ups done or not.
    let mut meetings = Vec::new();
    for (guests, done) in [(0, false), (7, true), (1000, false)] {
        let mut m = meeting_input(&club, vec![members[0].clone()]);
        m.guest_count = guests;
        m.follow_ups[0].done = done;
        meetings.push(st.record_meeting(&m).unwrap().id);
    }
    assert_same_length(&f, "clubs", &[("kind".into(), clubs)]);
    assert_same_length(&f, "members", &[("attributes".into(), members)]);
    assert_same_length(&f, "consents", &[("attributes".into(), consents)]);
    assert_same_length(&f, "referrals", &[("attributes".into(), referrals)]);
    assert_same_length(
        &f,
        "livelihood",
        &[("attributes".into(), support), ("outcome".into(), followed)],
    );
    assert_same_length(&f, "meetings", &[("attributes".into(), meetings)]);
}

/// A body written before the fixed-width format (the schema-1 fixture) still opens; an update
/// rewrites it in the new format, padded like any new member, and the trail names only the
/// field that changed (not every enum whose stored form changed).
#[test]
fn an_old_body_still_opens_and_its_update_names_only_what_changed() {
    const OLD_MEMBER: &str = "6fcd9ad9-7159-48e6-971b-1c31560b1de1";
    let dir = tempfile::tempdir().unwrap();
    let fixtures = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let path = dir.path().join("old.db");
    std::fs::copy(fixtures.join("store-v1.db"), &path).unwrap();
    let device = std::sync::Arc::new(
        SoftwareDeviceSecret::load(&private_copy(&fixtures.join("device.key"), &dir)).unwrap(),
    );
    let length_of = |id: &str| -> usize {
        let conn = rusqlite::Connection::open(&path).unwrap();
        conn.query_row(
            "SELECT length(body) FROM members WHERE id = ?1",
            [id],
            |r| r.get::<_, i64>(0),
        )
        .unwrap() as usize
    };
    let before = length_of(OLD_MEMBER);
    let mut store = Store::open(&path, device).unwrap();
    let leader = store.users().unwrap()[0].id.clone();
    // The first unlock after the upgrade reseals it in the new format.
    store.unlock(&leader, PIN).unwrap();
    let member = store.member(OLD_MEMBER).unwrap();
    assert_eq!(member.info.survivor_status, SurvivorStatus::Returnee);
    let mut info = member.info.clone();
    info.village = "Bản Mới".into();
    store.update_member(OLD_MEMBER, &info).unwrap();
    let after = length_of(OLD_MEMBER);
    assert_ne!(before, after, "the update rewrote the body");
    let mut fresh = info.clone();
    fresh.survivor_status = SurvivorStatus::NotASurvivor;
    fresh.safe_to_contact = true;
    let fresh = store.add_member(&member.club_id, &fresh).unwrap();
    assert_eq!(after, length_of(&fresh.id));
    let update = store
        .audit_entries()
        .unwrap()
        .into_iter()
        .rfind(|e| e.action == AuditAction::Update && e.record_id == OLD_MEMBER)
        .unwrap();
    assert_eq!(update.fields, ["village"]);
}
