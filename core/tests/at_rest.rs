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
