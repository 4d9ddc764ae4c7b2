//! Deterministic test data: Vietnamese names, members, clubs and meetings.

use chrono::{Datelike, Duration, NaiveDate, Utc};
use chungtay_core::{
    ClubInput, ClubKind, EthnicGroup, FollowUp, Gender, MeetingInput, MemberInput, MemberRole,
    SurvivorStatus,
};

pub const PIN: &str = "274915";
pub const LEADER: &str = "Lò Thị Mai";

/// xorshift64*: fast, deterministic, good enough for picking names.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed | 1)
    }

    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }

    /// True with probability `percent` / 100.
    pub fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }
}

/// Family names, roughly weighted: about a third of Vietnamese are Nguyễn; the northern border
/// provinces add Thái, Mường, H'Mông and Tày family names (Lò, Hà, Sầm, Giàng, Sùng...).
const FAMILY: &[(&str, usize)] = &[
    ("Nguyễn", 30),
    ("Trần", 9),
    ("Lê", 8),
    ("Phạm", 6),
    ("Hoàng", 5),
    ("Vũ", 4),
    ("Đặng", 3),
    ("Bùi", 3),
    ("Đỗ", 3),
    ("Hồ", 2),
    ("Ngô", 2),
    ("Dương", 2),
    ("Lý", 2),
    ("Lò", 4),
    ("Hà", 4),
    ("Sầm", 2),
    ("Vi", 2),
    ("Lục", 2),
    ("Mùa", 2),
    ("Giàng", 2),
    ("Sùng", 2),
    ("Thào", 2),
    ("Lường", 2),
    ("Quàng", 2),
];

const MIDDLE: &[&str] = &["Thị", "Ngọc", "Thu", "Kim", "Thanh", "Minh", "Hồng", "Bích"];

const GIVEN: &[&str] = &[
    "Hoa", "Mai", "Lan", "Hương", "Hằng", "Thảo", "Ơn", "Dung", "Nga", "Xuân", "Yến", "Phương",
    "Thúy", "Hạnh", "Nhung", "Vân", "Linh", "Trang", "Hà", "Chi", "Duyên", "Giang", "Huyền",
    "Loan", "Ly", "Mỵ", "Nương", "Pằng", "Sua", "Tâm", "Tuyết", "Uyên", "Vy", "Xoan", "Ánh", "Đào",
    "Ngân", "Quyên", "Liên", "Oanh",
];

const VILLAGES: &[&str] = &[
    "Bản Sạng",
    "Bản Chai",
    "Bản Na Mèo",
    "Bản Pha Lay",
    "Bản Kéo",
    "Bản Lầu",
    "Bản Mường",
    "Thôn Đông",
    "Thôn Tây",
    "Tổ 3",
    "Tổ 10",
    "Bản Cang",
    "Bản Hua Tạt",
    "Bản Pù Nhi",
];

pub fn full_name(rng: &mut Rng) -> String {
    let total: usize = FAMILY.iter().map(|(_, w)| w).sum();
    let mut at = rng.below(total);
    let mut family = FAMILY[0].0;
    for (name, weight) in FAMILY {
        if at < *weight {
            family = name;
            break;
        }
        at -= weight;
    }
    // Most members are women: "Thị" is by far the commonest middle name.
    let middle = if rng.chance(75) {
        "Thị"
    } else {
        rng.pick(MIDDLE)
    };
    let given = rng.pick(GIVEN);
    if rng.chance(10) {
        let second = rng.pick(MIDDLE);
        format!("{family} {middle} {second} {given}")
    } else {
        format!("{family} {middle} {given}")
    }
}

pub fn member_input(rng: &mut Rng) -> MemberInput {
    let year = Utc::now().year();
    let has_phone = rng.chance(60);
    let phone = has_phone.then(|| {
        format!(
            "09{} {:03} {:03}",
            rng.below(10),
            rng.below(1000),
            rng.below(1000)
        )
    });
    MemberInput {
        full_name: full_name(rng),
        birth_year: Some(year - 16 - rng.below(50) as i32),
        gender: if rng.chance(95) {
            Gender::Female
        } else {
            Gender::Male
        },
        ethnic_group: EthnicGroup::from_code(1 + rng.below(12) as u8).unwrap(),
        village: rng.pick(VILLAGES).to_string(),
        phone,
        role: MemberRole::Member,
        survivor_status: *rng.pick(&[
            SurvivorStatus::NotASurvivor,
            SurvivorStatus::NotASurvivor,
            SurvivorStatus::Survivor,
            SurvivorStatus::Returnee,
        ]),
        safe_to_contact: rng.chance(80),
    }
}

pub fn members(seed: u64, n: usize) -> Vec<MemberInput> {
    let mut rng = Rng::new(seed);
    (0..n).map(|_| member_input(&mut rng)).collect()
}

pub fn club_input(n: usize) -> ClubInput {
    ClubInput {
        name: format!("CLB phòng, chống mua bán người số {n}"),
        kind: ClubKind::AntiTrafficking,
        province: "Thanh Hóa".into(),
        commune: "Na Mèo".into(),
        village: None,
        former_district: Some("Quan Sơn".into()),
    }
}

const TOPICS: &[&str] = &[
    "Nhận diện thủ đoạn mua bán người qua mạng xã hội",
    "Di cư an toàn: giấy tờ cần mang theo khi đi làm ăn xa",
    "Xây dựng gia đình 5 có, 3 sạch",
    "Vay vốn ngân hàng chính sách xã hội",
    "Hỗ trợ người trở về hòa nhập cộng đồng",
];

/// A meeting as a club records it: a topic, a place, the facilitator, who came, notes and one
/// follow-up. `days_ago` spreads the meetings over past years.
pub fn meeting_input(
    rng: &mut Rng,
    club_id: &str,
    days_ago: i64,
    attendees: Vec<String>,
) -> MeetingInput {
    let date: NaiveDate = Utc::now().date_naive() - Duration::days(days_ago);
    MeetingInput {
        club_id: club_id.to_owned(),
        date,
        topic: rng.pick(TOPICS).to_string(),
        place: format!("Nhà văn hóa {}", rng.pick(VILLAGES)),
        facilitator: full_name(rng),
        attendees,
        guest_count: rng.below(6) as i32,
        notes: "Chị em trao đổi về các trường hợp bị dụ dỗ sang biên giới làm việc với lời hứa \
                lương cao; cán bộ hội hướng dẫn số điện thoại đường dây nóng 111 và cách báo \
                cho công an xã khi thấy người lạ tuyển lao động."
            .into(),
        follow_ups: vec![FollowUp {
            task: "Đến thăm gia đình vắng họp".into(),
            person: full_name(rng),
            due: date + Duration::days(7),
            done: rng.chance(50),
        }],
    }
}

/// The member body as the core serialises it before sealing: JSON padded with spaces to a
/// multiple of 64 bytes (core/src/store.rs `to_json`).
pub fn padded_json(input: &MemberInput) -> Vec<u8> {
    let mut json = serde_json::to_vec(input).unwrap();
    json.resize(json.len().div_ceil(64) * 64, b' ');
    json
}
