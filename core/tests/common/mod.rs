//! Shared fixtures: a store in a temporary folder and realistic inputs from DOMAIN.md.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};
use std::sync::Arc;

use chrono::{Datelike, Duration, NaiveDate, Utc};
use chungtay_core::*;

pub const PIN: &str = "274915";
/// The PIN of the deputy [`add_deputy`] adds.
pub const DEPUTY_PIN: &str = "853190";

/// Adds a deputy, Phạm Thị Lan, with PIN [`DEPUTY_PIN`] (the leader's PIN authorising).
pub fn add_deputy(store: &mut Store) -> UserInfo {
    store
        .add_user(
            PIN,
            NewUser::new("Phạm Thị Lan", UserRole::Deputy, DEPUTY_PIN),
            KdfParams::MIN,
        )
        .unwrap()
}

/// Opens the store a child process shares with its test (`club.db` and `device.key` in `dir`)
/// and unlocks it as its leader.
pub fn open_unlocked(dir: &Path) -> Store {
    let device = Arc::new(SoftwareDeviceSecret::load(&dir.join("device.key")).unwrap());
    let mut store = Store::open(&dir.join("club.db"), device).unwrap();
    let leader = store.users().unwrap()[0].id.clone();
    store.unlock(&leader, PIN).unwrap();
    store
}

pub struct Fixture {
    pub dir: tempfile::TempDir,
    pub device: Arc<SoftwareDeviceSecret>,
    pub store: Store,
    pub path: PathBuf,
}

impl Fixture {
    pub fn new() -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("club.db");
        let device = Arc::new(SoftwareDeviceSecret::generate().unwrap());
        let store = Store::create(
            &path,
            device.clone(),
            NewUser::new("Lò Thị Mai", UserRole::Leader, PIN),
            KdfParams::MIN,
        )
        .unwrap();
        Fixture {
            dir,
            device,
            store,
            path,
        }
    }

    pub fn leader_id(&self) -> String {
        self.store.users().unwrap()[0].id.clone()
    }

    /// Closes and opens the store again, unlocked as the leader.
    pub fn reopen(&mut self) {
        let leader = self.leader_id();
        let store = Store::open(&self.path, self.device.clone()).unwrap();
        self.store = store;
        self.store.unlock(&leader, PIN).unwrap();
    }

    /// Every file of the store (database, WAL, shared memory, journals).
    pub fn files(&self) -> Vec<PathBuf> {
        std::fs::read_dir(self.dir.path())
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect()
    }
}

pub fn today() -> NaiveDate {
    Utc::now().date_naive()
}

pub fn days_ago(n: i64) -> NaiveDate {
    today() - Duration::days(n)
}

pub fn club_input() -> ClubInput {
    ClubInput {
        name: "CLB phụ nữ phòng, chống mua bán người Pù Nhi".into(),
        kind: ClubKind::AntiTrafficking,
        province: "Thanh Hóa".into(),
        commune: "Pù Nhi".into(),
        village: Some("Bản Chai".into()),
        former_district: Some("Mường Lát".into()),
    }
}

pub fn member_input(name: &str, ethnic: &str, village: &str) -> MemberInput {
    MemberInput {
        full_name: name.into(),
        birth_year: Some(today().year() - 19),
        gender: Gender::Female,
        ethnic_group: EthnicGroup::from_name(ethnic).unwrap(),
        village: village.into(),
        phone: Some("0912 345 678".into()),
        role: MemberRole::Member,
        survivor_status: SurvivorStatus::Returnee,
        safe_to_contact: true,
    }
}

/// Scenario 2's consent: vocational training and a loan, to the provincial union; name, year of
/// birth, commune and need, not her story.
pub fn consent_input(member_id: &str) -> ConsentInput {
    ConsentInput {
        member_id: member_id.into(),
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
        given_on: today(),
    }
}

pub fn referral_input(member_id: &str, consent_id: Option<&str>) -> ReferralInput {
    ReferralInput {
        member_id: member_id.into(),
        services: vec![SupportService::VocationalTraining, SupportService::Loans],
        urgency: Urgency::Routine,
        note: "Muốn học may và vay vốn nhỏ".into(),
        recipient: Recipient::ProvincialUnion,
        shared_fields: vec![SharedField::Name, SharedField::BirthYear, SharedField::Need],
        consent_id: consent_id.map(Into::into),
    }
}

pub fn meeting_input(club_id: &str, attendees: Vec<String>) -> MeetingInput {
    MeetingInput {
        club_id: club_id.into(),
        date: days_ago(1),
        topic: "Nhận diện lừa đảo việc làm qua mạng".into(),
        place: "Nhà văn hóa bản Chai".into(),
        facilitator: "Lò Thị Mai".into(),
        attendees,
        guest_count: 3,
        notes: "Chị em chia sẻ về tin nhắn tuyển dụng lạ".into(),
        follow_ups: vec![FollowUp {
            task: "Thăm gia đình chị Hoa".into(),
            person: "Hà Thị Ơn".into(),
            due: today() + Duration::days(7),
            done: false,
        }],
    }
}

/// Moves the last wrong-PIN time `secs` into the past, as if the user had waited.
pub fn rewind_lockout(f: &Fixture, secs: i64) {
    let conn = rusqlite::Connection::open(&f.path).unwrap();
    let then =
        (Utc::now() - Duration::seconds(secs)).to_rfc3339_opts(chrono::SecondsFormat::Micros, true);
    conn.execute(
        "UPDATE meta SET value = ?1 WHERE name = 'last_failed_at'",
        [then.as_bytes()],
    )
    .unwrap();
}

/// A copy of `key` in `dir`, owner-only.
pub fn private_copy(key: &std::path::Path, dir: &tempfile::TempDir) -> std::path::PathBuf {
    let copy = dir.path().join("device.key");
    std::fs::copy(key, &copy).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&copy, std::fs::Permissions::from_mode(0o600)).unwrap();
    }
    copy
}
