//! The store end to end, on embedded defaults in a temporary folder: what a club leader does in
//! a month, and what a thief holding the files would see. Run: `cargo run -p chungtay-core --example demo`.
#![allow(clippy::print_stdout, clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use chrono::{Datelike, Duration, Utc};
use chungtay_core::*;

fn main() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("club.db");
    let device = Arc::new(SoftwareDeviceSecret::load_or_create(
        &dir.path().join("device.key"),
    )?);
    let today = Utc::now().date_naive();

    println!("1. Tạo kho dữ liệu mã hoá / create the encrypted store (Argon2id + device key)");
    let mut store = Store::create(
        &path,
        device.clone(),
        NewUser::new("Lò Thị Mai", UserRole::Leader, "274915"),
        KdfParams::MIN,
    )?;
    let leader = store.current_user()?.id;

    println!("2. Câu lạc bộ và thành viên / a club and its members");
    let club = store.add_club(&ClubInput {
        name: "CLB phụ nữ phòng, chống mua bán người Pù Nhi".into(),
        kind: ClubKind::AntiTrafficking,
        province: "Thanh Hóa".into(),
        commune: "Pù Nhi".into(),
        village: Some("Bản Chai".into()),
        former_district: Some("Mường Lát".into()),
    })?;
    let people = [
        ("Vi Thị Hoa", "Thái", SurvivorStatus::Returnee, false),
        ("Nguyễn Thị Hòa", "Kinh", SurvivorStatus::NotASurvivor, true),
        ("Vàng Thị Mỷ", "Mông", SurvivorStatus::NotASurvivor, true),
        ("Đặng Thị Dung", "Dao", SurvivorStatus::NotASurvivor, true),
        ("Hà Thị Ơn", "Mường", SurvivorStatus::NotASurvivor, true),
    ];
    let mut ids = Vec::new();
    for (name, group, status, safe) in people {
        let m = store.add_member(
            &club.id,
            &MemberInput {
                full_name: name.into(),
                birth_year: Some(today.year() - 19),
                gender: Gender::Female,
                ethnic_group: EthnicGroup::from_name(group)?,
                village: "Bản Chai".into(),
                phone: Some("0912 345 678".into()),
                role: MemberRole::Member,
                survivor_status: status,
                safe_to_contact: safe,
            },
        )?;
        ids.push(m.id);
    }
    for m in store.list_members(&club.id)? {
        let phone = m
            .phone
            .as_deref()
            .unwrap_or("(không liên lạc / do not contact)");
        println!(
            "   {:<18} {:<6} {}",
            m.full_name,
            m.ethnic_group.name(),
            phone
        );
    }

    println!("3. Tìm không dấu / search without diacritics: \"hoa\"");
    let hits = store.search_members(&MemberFilter {
        text: "hoa".into(),
        ..Default::default()
    })?;
    for m in &hits {
        println!("   -> {}", m.full_name);
    }

    println!("4. Sinh hoạt tháng / the monthly meeting");
    let meeting = store.record_meeting(&MeetingInput {
        club_id: club.id.clone(),
        date: today,
        topic: "Nhận diện lừa đảo việc làm qua mạng".into(),
        place: "Nhà văn hóa bản Chai".into(),
        facilitator: "Lò Thị Mai".into(),
        attendees: ids[..4].to_vec(),
        guest_count: 3,
        notes: "Chị em chia sẻ tin nhắn tuyển dụng lạ".into(),
        follow_ups: vec![FollowUp {
            task: "Thăm gia đình chị Hoa".into(),
            person: "Hà Thị Ơn".into(),
            due: today + Duration::days(7),
            done: false,
        }],
    })?;
    println!(
        "   {} có mặt, {} khách / present, guests",
        meeting.info.attendees.len(),
        meeting.info.guest_count
    );

    println!("5. Đồng ý và chuyển tuyến / consent, then a referral");
    let consent = store.add_consent(&ConsentInput {
        member_id: ids[0].clone(),
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
    })?;
    let mut input = ReferralInput {
        member_id: ids[0].clone(),
        services: vec![SupportService::VocationalTraining, SupportService::Loans],
        urgency: Urgency::Routine,
        note: "Muốn học may và vay vốn nhỏ".into(),
        recipient: Recipient::ProvincialUnion,
        shared_fields: vec![SharedField::Name, SharedField::Story],
        consent_id: Some(consent.id.clone()),
    };
    let draft = store.create_referral(&input)?;
    match store.mark_referral_ready(&draft.id) {
        Err(e) => println!("   từ chối / refused: {e}"),
        Ok(_) => println!("   BUG: a referral went out without consent"),
    }
    input.shared_fields = vec![SharedField::Name, SharedField::Need];
    store.update_referral(&draft.id, &input)?;
    let ready = store.mark_referral_ready(&draft.id)?;
    println!("   trạng thái / state: {}", ready.state.as_str());

    println!("6. Khoá máy, nhập sai PIN / lock, wrong PIN");
    store.lock();
    match store.unlock(&leader, "000000") {
        Err(e) => println!("   {e}"),
        Ok(()) => println!("   BUG: wrong PIN accepted"),
    }
    store.unlock(&leader, "274915")?;
    println!(
        "   mở khoá / unlocked: {} thành viên / members",
        store.member_count()?
    );
    drop(store);

    println!("7. Kẻ lấy được tệp thấy gì? / what the files show to someone who took them");
    let mut found = false;
    for entry in std::fs::read_dir(dir.path())? {
        let bytes = std::fs::read(entry?.path())?;
        for needle in ["Vi Thị Hoa", "Bản Chai", "học may", "0912 345 678"] {
            found |= bytes.windows(needle.len()).any(|w| w == needle.as_bytes());
        }
    }
    println!(
        "   {}",
        if found {
            "BUG: plaintext found"
        } else {
            "không có chữ nào đọc được / no readable personal text"
        }
    );
    Ok(())
}
