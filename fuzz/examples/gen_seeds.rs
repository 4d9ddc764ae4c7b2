//! Writes the checked-in seeds of the core's fuzz targets (`fuzz/seeds/<target>/`): small real
//! values made by the code itself, laid out as each target reads its input. Run from `fuzz/`:
//! `cargo +nightly run --example gen_seeds` (the values hold fresh random keys, so a new run
//! changes the files; the targets never depend on a seed's keys).

use std::path::Path;
use std::sync::Arc;

use chrono::{DateTime, NaiveDate};
use chungtay_core::fuzzing::{
    Key, Place, encode_body, encode_consent_body, encode_livelihood_body, encode_referral_body,
    seal, wrap_member_key,
};
use chungtay_core::*;
use chungtay_protocol::{B64, DeviceKeys, EnrollResponse, ProvinceHpkeKeys};

fn write(target: &str, name: &str, bytes: &[u8]) {
    let dir = Path::new("seeds").join(target);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join(name), bytes).unwrap();
}

fn cat(parts: &[&[u8]]) -> Vec<u8> {
    parts.concat()
}

fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

const MEMBER_ID: &str = "4b0c7f0e-8d52-4c1e-9a6f-1f2e3d4c5b6a";
const CONSENT_ID: &str = "9e8d7c6b-5a49-4382-b716-0a1b2c3d4e5f";

fn member() -> MemberInput {
    MemberInput {
        full_name: "Lò Thị Xuân".into(),
        birth_year: Some(2004),
        gender: Gender::Female,
        ethnic_group: EthnicGroup::from_code(3).unwrap(),
        village: "Bản Chai".into(),
        phone: None,
        role: MemberRole::Member,
        survivor_status: SurvivorStatus::Returnee,
        safe_to_contact: false,
    }
}

fn consent() -> ConsentInput {
    ConsentInput {
        member_id: MEMBER_ID.into(),
        purposes: vec![SupportService::VocationalTraining, SupportService::Loans],
        recipient: Recipient::ProvincialUnion,
        fields: vec![SharedField::Name, SharedField::Need],
        method: ConsentMethod::VerbalWithWitness,
        witness: Some("Lường Văn Khánh".into()),
        given_on: date(2026, 1, 2),
    }
}

fn referral() -> ReferralInput {
    ReferralInput {
        member_id: MEMBER_ID.into(),
        services: vec![SupportService::VocationalTraining],
        urgency: Urgency::Routine,
        note: "Muốn học may".into(),
        recipient: Recipient::ProvincialUnion,
        shared_fields: vec![SharedField::Name, SharedField::Need],
        consent_id: Some(CONSENT_ID.into()),
    }
}

fn livelihood() -> LivelihoodInput {
    LivelihoodInput {
        member_id: MEMBER_ID.into(),
        kind: LivelihoodKind::Livestock,
        date: date(2026, 1, 2),
        amount_vnd: None,
        quantity: Some(2),
        unit: Some("con dê".into()),
        note: String::new(),
    }
}

fn envelope_seeds() {
    let key = Key::generate().unwrap();
    for (name, kind, id, bound, plain) in [
        (
            "member_body",
            0u8,
            MEMBER_ID,
            "club-1",
            encode_body(&member(), 1).unwrap(),
        ),
        ("member_key", 1, MEMBER_ID, "", vec![0x42; 32]),
        (
            "referral_body",
            3,
            "r-1",
            "draft",
            encode_body(&referral(), 1).unwrap(),
        ),
    ] {
        let place = Place {
            kind: [
                RecordKind::Member,
                RecordKind::MemberKey,
                RecordKind::Consent,
                RecordKind::Referral,
            ][usize::from(kind)],
            id: id.into(),
            bound: bound.into(),
        };
        let sealed = seal(&key, [7; 16], &place, &plain).unwrap();
        let mut fixed = vec![kind];
        fixed.extend_from_slice(&77u32.to_le_bytes());
        fixed.push(id.len() as u8);
        fixed.push(bound.len() as u8);
        fixed.extend_from_slice(&(plain.len() as u16).to_le_bytes());
        write(
            "envelope",
            name,
            &cat(&[&fixed, id.as_bytes(), bound.as_bytes(), &plain, &sealed]),
        );
    }
}

fn member_key_seeds() {
    let wrap = Key::generate().unwrap();
    let member_key = Key::generate().unwrap().bytes();
    let wrapped = wrap_member_key(&wrap, [3; 16], MEMBER_ID, &member_key).unwrap();
    let other = "0f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f9";
    let mut fixed = 1000u32.to_le_bytes().to_vec();
    fixed.extend_from_slice(&[31, MEMBER_ID.len() as u8, other.len() as u8]);
    fixed.extend_from_slice(&member_key);
    write(
        "member_key",
        "wrapped",
        &cat(&[&fixed, MEMBER_ID.as_bytes(), other.as_bytes(), &wrapped]),
    );
}

fn record_body_seeds() {
    let at = DateTime::from_timestamp(1_767_323_045, 123_456_789).unwrap();
    let history = vec![StateChange {
        state: ReferralState::Draft,
        at,
        by: MEMBER_ID.into(),
        note: String::new(),
    }];
    let follow_ups = vec![SupportFollowUp {
        date: date(2026, 2, 1),
        outcome: Outcome::NeedsMoreHelp,
        note: "Dê ốm".into(),
    }];
    let meeting = MeetingInput {
        club_id: MEMBER_ID.into(),
        date: date(2026, 1, 2),
        topic: "Di cư an toàn".into(),
        place: "Nhà văn hóa bản".into(),
        facilitator: "Vi Thị Hoa".into(),
        attendees: vec![MEMBER_ID.into()],
        guest_count: 3,
        notes: String::new(),
        follow_ups: vec![FollowUp {
            task: "Gọi điện".into(),
            person: "Hoa".into(),
            due: date(2026, 1, 9),
            done: true,
        }],
    };
    let club = ClubInput {
        name: "CLB Pù Nhi".into(),
        kind: ClubKind::AntiTrafficking,
        province: "Thanh Hóa".into(),
        commune: "Pù Nhi".into(),
        village: Some("Bản Chai".into()),
        former_district: None,
    };
    // Junk mode (9): today's stored bodies of every table.
    for (name, body) in [
        ("club", encode_body(&club, 1).unwrap()),
        ("member", encode_body(&member(), 1).unwrap()),
        ("meeting", encode_body(&meeting, 1).unwrap()),
        (
            "consent",
            encode_consent_body(&consent(), Some(date(2026, 3, 1)), 1).unwrap(),
        ),
        (
            "livelihood",
            encode_livelihood_body(&livelihood(), &follow_ups, 1).unwrap(),
        ),
        (
            "referral",
            encode_referral_body(&referral(), &history, 1).unwrap(),
        ),
    ] {
        write(
            "record_body",
            &format!("stored_{name}"),
            &cat(&[&[9], &body]),
        );
    }
    // And one body as the release before format 1 wrote it (plain JSON, names).
    write(
        "record_body",
        "old_member",
        &cat(&[
            &[9],
            br#"{"full_name":"Vi Thi Hoa","birth_year":2006,"gender":"Female","ethnic_group":3,"village":"Ban Chai","phone":null,"role":"Member","survivor_status":"Returnee","safe_to_contact":false}"#,
        ]),
    );
    // Build modes (0 to 5): a few bytes each, which the target turns into values.
    for mode in 0..6u8 {
        let bytes: Vec<u8> = (0..96u8)
            .map(|i| i.wrapping_mul(37).wrapping_add(mode))
            .collect();
        write(
            "record_body",
            &format!("build_{mode}"),
            &cat(&[&[mode], &bytes]),
        );
    }
}

fn store() -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::create(
        &dir.path().join("club.db"),
        Arc::new(SoftwareDeviceSecret::generate().unwrap()),
        NewUser::new("Lò Thị Mai", UserRole::Leader, "274915"),
        KdfParams::MIN,
    )
    .unwrap();
    (dir, store)
}

fn backup_seeds() {
    let (_dir, mut store) = store();
    store.setup_recovery().unwrap();
    let backup = store.create_backup().unwrap();
    // The header and key id, and the first bytes of the sealed part: the whole file is the
    // size of a database, too big to check in; the target has its own genuine one.
    let head = &backup[..backup.len().min(128)];
    write(
        "backup",
        "junk_header",
        &cat(&[&[0], &0u32.to_le_bytes(), &[0], head]),
    );
    for (name, mode, at) in [
        ("flip_magic", 1u8, 3u32),
        ("flip_salt", 1, 20),
        ("flip_sealed", 1, 500),
    ] {
        write("backup", name, &cat(&[&[mode], &at.to_le_bytes(), &[5]]));
    }
    write("backup", "cut", &cat(&[&[3], &76u32.to_le_bytes(), &[0]]));
}

fn audit_seeds() {
    let (_dir, mut store) = store();
    let export = store.export_audit().unwrap();
    write(
        "audit_export",
        "export_json",
        &cat(&[
            &[0],
            &0u32.to_le_bytes(),
            &[0],
            export.signed_json.as_bytes(),
        ]),
    );
    write(
        "audit_export",
        "flip",
        &cat(&[&[1], &40u32.to_le_bytes(), &[2]]),
    );
    write(
        "audit_export",
        "edit",
        &cat(&[&[2], &60u32.to_le_bytes(), &[4], b"\"update\""]),
    );
    let chain: Vec<u8> = (0..64u8).map(|i| i.wrapping_mul(29)).collect();
    write("audit_export", "chain", &cat(&[&[3], &chain]));
}

fn enrollment_seeds() {
    for (name, url) in [
        ("url_https", "https://chungtay.thanhhoa.gov.vn/"),
        ("url_loopback", "http://127.0.0.1:8443"),
        ("url_ipv6", "http://[::1]:8080/intake/"),
    ] {
        write("enrollment", name, url.as_bytes());
    }
    let dir = tempfile::tempdir().unwrap();
    chungtay_intake::tls::generate_self_signed(dir.path(), &["chungtay.thanhhoa.gov.vn".into()])
        .unwrap();
    let pem = std::fs::read(dir.path().join(chungtay_intake::tls::CERT_FILE)).unwrap();
    write("enrollment", "certificate.pem", &pem);
    let answer = EnrollResponse {
        device_id: "dev-1".into(),
        province_hpke_public_key: B64(ProvinceHpkeKeys::generate()
            .unwrap()
            .public_key_bytes()
            .to_vec()),
        province_signing_key: B64(DeviceKeys::generate().unwrap().public_key().to_vec()),
    };
    write(
        "enrollment",
        "answer.json",
        &serde_json::to_vec(&answer).unwrap(),
    );
}

fn sort_key_seeds() {
    for (name, a, b) in [
        ("names", "Nguyễn Thị Hoà", "Lò Văn Xuân"),
        (
            "nfd",
            "Nguye\u{302}\u{303}n Thi\u{323} Ho\u{300}a",
            "Đặng Thùy Dương",
        ),
        ("numbers", "Tổ 2", "Tổ 10"),
    ] {
        let split = a.len() as u8;
        write(
            "sort_key",
            name,
            &cat(&[&[split], a.as_bytes(), b.as_bytes()]),
        );
    }
    write("sort_key", "digits", &cat(&[&[3], &[1, 2, 3, 0, 0, 7]]));
}

fn main() {
    envelope_seeds();
    member_key_seeds();
    record_body_seeds();
    backup_seeds();
    audit_seeds();
    enrollment_seeds();
    sort_key_seeds();
}
