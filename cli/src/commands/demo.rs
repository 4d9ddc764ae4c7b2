//! `chungtay demo`: the whole flow of scenario 2 on embedded defaults, in a temporary folder,
//! step by step: a provincial intake server on loopback, a club phone's encrypted store,
//! members, a meeting, a consented referral sent through a dead line and then a live one, the
//! province's answer, the audit trail, and what the files on disk show to someone who took them.
#![allow(clippy::print_stdout)]

use std::io::Write;
use std::sync::Arc;
use std::time::Instant;

use chrono::{Datelike, Duration, Utc};
use chungtay_core::*;
use chungtay_intake::{KdfParams as ProvinceKdf, Limits, RunningServer, admin};
use serde::Serialize;

use crate::ctx::Ctx;
use crate::error::CliError;
use crate::lang::Lang;
use crate::output::{Output, shown};

const PIN: &str = "274915";
/// The demo province's passphrase: a temporary folder's, never a real one.
const PASSPHRASE: &str = "demo: mật khẩu tạm của Hội tỉnh";

#[derive(Serialize)]
struct Step {
    n: usize,
    title: String,
    detail: Vec<String>,
}

struct Steps {
    lang: Lang,
    json: bool,
    done: Vec<Step>,
}

impl Steps {
    fn step(&mut self, vi: &str, en: &str, detail: Vec<String>) {
        let n = self.done.len() + 1;
        let title = self.lang.pick_owned(vi, en);
        if !self.json {
            let mut out = std::io::stdout().lock();
            let _ = writeln!(out, "{n:>2}. {}", shown(&title));
            for line in &detail {
                let _ = writeln!(out, "      {}", shown(line));
            }
            let _ = out.flush();
        }
        self.done.push(Step { n, title, detail });
    }
}

fn demo_error(e: impl std::fmt::Display) -> CliError {
    CliError::Core(ChungTayError::Internal {
        detail: format!("demo: {e}"),
    })
}

/// `chungtay demo [--serve]`.
#[derive(clap::Args, Debug)]
pub struct DemoArgs {
    /// Giữ máy chủ tỉnh và trang quản lý chạy đến khi nhấn Enter / keep the province's server
    /// and its console up until Enter is pressed
    #[arg(long)]
    pub serve: bool,
}

/// The demo province's console logins (a temporary folder's, never real ones).
const CONSOLE_PASSWORD: &str = "demo: mật khẩu cán bộ";

pub fn run(ctx: &mut Ctx, args: DemoArgs) -> Result<Output, CliError> {
    let started = Instant::now();
    let lang = ctx.lang();
    let mut s = Steps {
        lang,
        json: ctx.global.json,
        done: Vec::new(),
    };
    let l = |vi: &str, en: &str| lang.pick_owned(vi, en);
    let folder = tempfile::tempdir().map_err(demo_error)?;
    let province_dir = folder.path().join("province");
    let phone_dir = folder.path().join("phone");
    std::fs::create_dir_all(&province_dir).map_err(demo_error)?;
    std::fs::create_dir_all(&phone_dir).map_err(demo_error)?;

    // 1. The province.
    admin::init(&province_dir, PASSPHRASE, ProvinceKdf::MINIMUM).map_err(demo_error)?;
    let state =
        admin::load_state(&province_dir, PASSPHRASE, Limits::default()).map_err(demo_error)?;
    let server = RunningServer::spawn(state, "127.0.0.1:0".parse().map_err(demo_error)?)
        .map_err(demo_error)?;
    let addr = server.addr();
    let url = format!("http://{addr}");
    s.step(
        "Hội tỉnh khởi tạo máy chủ tiếp nhận (khoá tỉnh mã hoá bằng mật khẩu)",
        "The province sets up its intake server (province keys encrypted under a passphrase)",
        vec![url.clone()],
    );

    // 2. The phone.
    // The phone's key is in its Keystore, not among the app's files: here, a folder of its own.
    let keystore_dir = folder.path().join("keystore");
    std::fs::create_dir_all(&keystore_dir).map_err(demo_error)?;
    let device = Arc::new(SoftwareDeviceSecret::load_or_create(
        &keystore_dir.join("device.key"),
    )?);
    let mut store = Store::create(
        &phone_dir.join("club.db"),
        device.clone(),
        NewUser::new("Lò Thị Mai", UserRole::Leader, PIN),
        KdfParams::MIN,
    )?;
    let leader = store.current_user()?.id;
    s.step(
        "Điện thoại của chủ nhiệm CLB tạo kho mã hoá (PIN + khoá thiết bị)",
        "The club leader's phone creates its encrypted store (PIN + device key)",
        vec![l("Chủ nhiệm: Lò Thị Mai", "Leader: Lò Thị Mai")],
    );

    // 3. Enrollment.
    let issued = admin::issue_code(&province_dir, PASSPHRASE).map_err(demo_error)?;
    let info = store.enroll(&url, &issued.code, None)?;
    s.step(
        "Đăng ký điện thoại với mã một lần của Hội tỉnh",
        "The phone enrolls with the province's one-time code",
        vec![
            format!("{} {}", l("Mã:", "Code:"), issued.code),
            format!(
                "{} {}",
                l("Dấu vân tay khoá tỉnh:", "Province key fingerprint:"),
                info.province_fingerprint
            ),
        ],
    );

    // 4. Club and members.
    let club = store.add_club(&ClubInput {
        name: "CLB phụ nữ phòng, chống mua bán người Pù Nhi".into(),
        kind: ClubKind::AntiTrafficking,
        province: "Thanh Hóa".into(),
        commune: "Pù Nhi".into(),
        village: Some("Bản Chai".into()),
        former_district: Some("Mường Lát".into()),
    })?;
    let today = Utc::now().date_naive();
    let people: [(&str, &str, SurvivorStatus, bool); 8] = [
        ("Vi Thị Hoa", "Thái", SurvivorStatus::Returnee, false),
        ("Nguyễn Thị Hòa", "Kinh", SurvivorStatus::NotASurvivor, true),
        ("Vàng Thị Mỷ", "Mông", SurvivorStatus::NotASurvivor, true),
        ("Đặng Thị Dung", "Dao", SurvivorStatus::NotASurvivor, true),
        ("Hà Thị Ơn", "Mường", SurvivorStatus::NotASurvivor, true),
        ("Lò Thị Xuân", "Thái", SurvivorStatus::NotASurvivor, true),
        ("Giàng Thị Dua", "Mông", SurvivorStatus::NotASurvivor, true),
        ("Phạm Thị Lan", "Thổ", SurvivorStatus::NotASurvivor, true),
    ];
    let mut ids = Vec::new();
    for (i, (name, group, status, safe)) in people.iter().enumerate() {
        let m = store.add_member(
            &club.id,
            &MemberInput {
                full_name: (*name).into(),
                birth_year: Some(today.year() - 19 - i as i32),
                gender: Gender::Female,
                ethnic_group: EthnicGroup::from_name(group).map_err(Error::from)?,
                village: "Bản Chai".into(),
                phone: Some(format!("0912 345 67{i}")),
                role: MemberRole::Member,
                survivor_status: *status,
                safe_to_contact: *safe,
            },
        )?;
        ids.push(m.id);
    }
    let listed: Vec<String> = store
        .list_members(&club.id)?
        .into_iter()
        .map(|m| {
            let phone = m
                .phone
                .unwrap_or_else(|| l("(không liên lạc)", "(do not contact)"));
            format!("{:<16} {:<6} {phone}", m.full_name, m.ethnic_group.name())
        })
        .collect();
    s.step(
        "Câu lạc bộ và thành viên (xếp theo tên, đ sau d)",
        "A club and its members (sorted by given name, đ after d)",
        listed,
    );

    // 5. Search.
    let hits: Vec<String> = store
        .search_members(&MemberFilter {
            text: "hoa".into(),
            ..Default::default()
        })?
        .into_iter()
        .map(|m| m.full_name)
        .collect();
    s.step(
        "Tìm không dấu: \"hoa\"",
        "Search without diacritics: \"hoa\"",
        hits,
    );

    // 6. The meeting.
    let meeting = store.record_meeting(&MeetingInput {
        club_id: club.id.clone(),
        date: today,
        topic: "Nhận diện lừa đảo việc làm qua mạng".into(),
        place: "Nhà văn hóa bản Chai".into(),
        facilitator: "Lò Thị Mai".into(),
        attendees: ids[..6].to_vec(),
        guest_count: 3,
        notes: "Chị em chia sẻ tin nhắn tuyển dụng lạ".into(),
        follow_ups: vec![FollowUp {
            task: "Thăm gia đình chị Hoa".into(),
            person: "Hà Thị Ơn".into(),
            due: today + Duration::days(7),
            done: false,
        }],
    })?;
    s.step(
        "Buổi sinh hoạt tháng",
        "The monthly meeting",
        vec![format!(
            "{}: {} {}, {} {}",
            meeting.info.topic,
            meeting.info.attendees.len(),
            l("có mặt", "present"),
            meeting.info.guest_count,
            l("khách", "guests")
        )],
    );

    // 7. Consent and referral.
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
    let refused = match store.mark_referral_ready(&draft.id) {
        Err(e) => format!(
            "{} {}",
            l("Từ chối đúng:", "Rightly refused:"),
            CliError::from(e).message(lang)
        ),
        Ok(_) => return Err(demo_error("a referral went ready without consent")),
    };
    input.shared_fields = vec![
        SharedField::Name,
        SharedField::BirthYear,
        SharedField::Commune,
        SharedField::Need,
    ];
    store.update_referral(&draft.id, &input)?;
    store.mark_referral_ready(&draft.id)?;
    store.queue_referral(&draft.id)?;
    s.step(
        "Sự đồng ý, rồi giới thiệu học nghề may và vay vốn (chỉ thông tin được đồng ý)",
        "Consent, then a referral for a sewing course and a loan (consented fields only)",
        vec![
            refused,
            l(
                "Niêm phong cho Hội tỉnh (HPKE) và ký bằng khoá thiết bị; vào hộp thư đi",
                "Sealed to the province (HPKE), signed by the device; in the outbox",
            ),
        ],
    );

    // 8. No signal.
    server.stop().map_err(demo_error)?;
    let offline = store.sync(true, &mut |_| {})?;
    let waiting = store.outbox()?;
    s.step(
        "Ba ngày không có sóng: gửi không được, không mất gì",
        "Three days without signal: nothing goes out, nothing is lost",
        vec![format!(
            "{} {}, {} {}",
            l("còn chờ", "waiting"),
            offline.still_pending,
            l("lần thử lại sau", "next try at"),
            waiting
                .first()
                .map(|w| w.next_attempt_at.format("%H:%M").to_string())
                .unwrap_or_default()
        )],
    );

    // 9. At the commune office.
    let state =
        admin::load_state(&province_dir, PASSPHRASE, Limits::default()).map_err(demo_error)?;
    let server = RunningServer::spawn(state, addr).map_err(demo_error)?;
    let online = store.sync(true, &mut |_| {})?;
    let again = store.sync(true, &mut |_| {})?;
    s.step(
        "Wi-Fi ở trụ sở xã: gửi đúng một lần, biên nhận có chữ ký của tỉnh",
        "Commune office Wi-Fi: sent exactly once, with a receipt signed by the province",
        vec![format!(
            "{} {}, {} {}",
            l("đã gửi", "sent"),
            online.sent + again.sent,
            l("trạng thái", "state"),
            lang.state(store.referral(&draft.id)?.state)
        )],
    );

    // 10. The province answers.
    let token = admin::staff_token(&province_dir, PASSPHRASE, "demo", 1)
        .map_err(demo_error)?
        .token;
    chungtay_intake::install_crypto_provider();
    let staff = reqwest::blocking::Client::new();
    let listed: serde_json::Value = staff
        .get(format!("{url}/v1/staff/referrals"))
        .bearer_auth(&token)
        .send()
        .and_then(|r| r.json())
        .map_err(demo_error)?;
    let stored = listed["referrals"].as_array().map(Vec::len).unwrap_or(0);
    let shared = listed["referrals"][0]["payload"]["shared"].clone();
    let note = "Đã nhận, lớp học bắt đầu ngày 5";
    let resp = staff
        .post(format!("{url}/v1/staff/referrals/{}/transition", draft.id))
        .bearer_auth(&token)
        .json(&serde_json::json!({ "state": "accepted", "note": note }))
        .send()
        .map_err(demo_error)?;
    if !resp.status().is_success() {
        return Err(demo_error(format!("staff transition: {}", resp.status())));
    }
    s.step(
        "Cán bộ Hội tỉnh mở giới thiệu và chấp nhận",
        "Provincial staff open the referral and accept it",
        vec![
            format!(
                "{} {stored}",
                l("giới thiệu lưu ở tỉnh:", "referrals stored:")
            ),
            format!(
                "{} {shared}",
                l("thông tin nhận được:", "what they received:")
            ),
        ],
    );

    // 11. The answer comes back.
    let pulled = store.sync(false, &mut |_| {})?;
    let referral = store.referral(&draft.id)?;
    let answer = referral
        .history
        .last()
        .map(|h| h.note.clone())
        .unwrap_or_default();
    s.step(
        "Điện thoại nhận câu trả lời (kiểm chữ ký của tỉnh)",
        "The phone gets the answer (province signature checked)",
        vec![format!(
            "{} {}: {} \"{answer}\" ({} {})",
            l("trạng thái", "state"),
            lang.state(referral.state),
            l("ghi chú", "note"),
            pulled.statuses_applied,
            l("cập nhật", "updates")
        )],
    );

    // 12. The audit trail.
    let entries = store.verify_audit()?;
    let findings = store.audit_findings(&OverdueThresholds::default())?;
    s.step(
        "Nhật ký kiểm tra: chuỗi HMAC nguyên vẹn, điểm mốc đã gửi tỉnh",
        "Audit trail: HMAC chain intact, checkpoints sent to the province",
        vec![
            format!("{} {entries}", l("số mục:", "entries:")),
            format!(
                "{} {}",
                l("thành viên chưa có sự đồng ý:", "members without consent:"),
                findings.members_without_consent.len()
            ),
        ],
    );
    // 13. The province's console, in a browser.
    for (user, name, role) in [
        ("canbo", "Cán bộ tiếp nhận (demo)", "officer"),
        ("quantri", "Quản trị (demo)", "admin"),
    ] {
        let made =
            admin::add_account(&province_dir, PASSPHRASE, user, name, role).map_err(demo_error)?;
        admin::set_password_with_code(
            &province_dir,
            PASSPHRASE,
            user,
            &made.setup_code,
            CONSOLE_PASSWORD,
        )
        .map_err(demo_error)?;
    }
    s.step(
        "Trang quản lý của Hội tỉnh trong trình duyệt",
        "The province's console in a browser",
        vec![
            format!("{url}/console"),
            format!(
                "{} canbo / quantri, {} \"{CONSOLE_PASSWORD}\"",
                l("đăng nhập", "log in as"),
                l("mật khẩu", "password")
            ),
            if args.serve {
                l(
                    "đang chạy; nhấn Enter để dừng",
                    "running; press Enter to stop",
                )
            } else {
                l(
                    "chạy `chungtay demo --serve` để mở nó",
                    "run `chungtay demo --serve` to open it",
                )
            },
        ],
    );
    if args.serve {
        let mut line = String::new();
        std::io::stdin().read_line(&mut line).map_err(demo_error)?;
    }
    store.lock();
    drop(store);
    server.stop().map_err(demo_error)?;

    // 14. The files.
    let mut found = Vec::new();
    for dir in [&phone_dir, &province_dir] {
        for entry in std::fs::read_dir(dir).map_err(demo_error)? {
            let path = entry.map_err(demo_error)?.path();
            let bytes = std::fs::read(&path).map_err(demo_error)?;
            for secret in [
                "Vi Thị Hoa",
                "Bản Chai",
                "học may",
                "0912 345 670",
                "Nhận diện",
            ] {
                if bytes.windows(secret.len()).any(|w| w == secret.as_bytes()) {
                    found.push(format!("{}: {secret}", path.display()));
                }
            }
        }
    }
    if !found.is_empty() {
        return Err(demo_error(format!("plaintext on disk: {found:?}")));
    }
    s.step(
        "Kẻ lấy được các tệp (điện thoại và máy chủ) thấy gì?",
        "What someone who took the files (phone and server) would see",
        vec![l(
            "không có tên, làng, số điện thoại hay ghi chú nào đọc được",
            "no readable name, village, phone number or note",
        )],
    );
    let seconds = started.elapsed().as_secs_f64();
    let text = format!(
        "{} {seconds:.1} s\n",
        l("Xong toàn bộ quy trình trong", "The whole flow ran in")
    );
    Output::new(
        serde_json::json!({ "steps": s.done, "seconds": seconds, "leader": leader }),
        text,
    )
}
