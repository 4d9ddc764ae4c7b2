//! Every human message in Vietnamese (the default) and English, and the names of the domain's
//! values in both.

use chungtay_core::report::{gender_label, service_label, state_label};
use chungtay_core::{
    AuditAction, ClubKind, ConsentMethod, DamageReason, Gender, LivelihoodKind, MemberRole,
    Outcome, Permission, Reason, Recipient, RecordKind, ReferralState, SharedField, SupportService,
    SurvivorStatus, Urgency, UserRole,
};

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Lang {
    /// Tiếng Việt
    Vi,
    /// English
    En,
}

/// A message in the chosen language: `tr!(lang, "tiếng Việt {x}", "English {x}")`.
/// Both texts are format strings and capture the same variables.
macro_rules! tr {
    ($lang:expr, $vi:literal, $en:literal $(,)?) => {
        match $lang {
            $crate::lang::Lang::Vi => format!($vi),
            $crate::lang::Lang::En => format!($en),
        }
    };
}
pub(crate) use tr;

impl Lang {
    /// Picks one of two static texts.
    pub fn pick(self, vi: &'static str, en: &'static str) -> &'static str {
        match self {
            Lang::Vi => vi,
            Lang::En => en,
        }
    }

    /// `pick` for texts that are not `'static`.
    pub fn pick_owned(self, vi: &str, en: &str) -> String {
        match self {
            Lang::Vi => vi.to_owned(),
            Lang::En => en.to_owned(),
        }
    }

    fn pair(self, (vi, en): (&'static str, &'static str)) -> &'static str {
        self.pick(vi, en)
    }

    pub fn gender(self, g: Gender) -> &'static str {
        self.pair(gender_label(g))
    }

    pub fn service(self, s: SupportService) -> &'static str {
        self.pair(service_label(s))
    }

    pub fn state(self, s: ReferralState) -> &'static str {
        self.pair(state_label(s))
    }

    pub fn member_role(self, r: MemberRole) -> &'static str {
        match r {
            MemberRole::Leader => self.pick("Chủ nhiệm", "Leader"),
            MemberRole::Deputy => self.pick("Phó chủ nhiệm", "Deputy"),
            MemberRole::Member => self.pick("Thành viên", "Member"),
        }
    }

    pub fn user_role(self, r: UserRole) -> &'static str {
        match r {
            UserRole::Leader => self.pick("chủ nhiệm", "leader"),
            UserRole::Deputy => self.pick("phó chủ nhiệm", "deputy"),
            UserRole::Auditor => self.pick("cán bộ Hội (kiểm tra)", "auditor"),
        }
    }

    pub fn club_kind(self, k: ClubKind) -> &'static str {
        match self {
            Lang::Vi => k.vi(),
            Lang::En => match k {
                ClubKind::AntiTrafficking => "Women's club against human trafficking",
                ClubKind::SafeMigration => "Safe-migration women's group",
                ClubKind::FamilyFiveThree => "Family club \"5 có, 3 sạch\"",
            },
        }
    }

    pub fn survivor_status(self, s: SurvivorStatus) -> &'static str {
        match s {
            SurvivorStatus::NotASurvivor => self.pick("Không", "No"),
            SurvivorStatus::Survivor => self.pick("Nạn nhân bị mua bán", "Trafficking survivor"),
            SurvivorStatus::Returnee => self.pick("Người trở về", "Returnee"),
            SurvivorStatus::Withheld => self.pick(
                "(không hiển thị với vai trò này)",
                "(withheld for this role)",
            ),
        }
    }

    pub fn shared_field(self, f: SharedField) -> &'static str {
        match f {
            SharedField::Name => self.pick("Họ tên", "Name"),
            SharedField::BirthYear => self.pick("Năm sinh", "Year of birth"),
            SharedField::Gender => self.pick("Giới tính", "Gender"),
            SharedField::EthnicGroup => self.pick("Dân tộc", "Ethnic group"),
            SharedField::Commune => self.pick("Xã", "Commune"),
            SharedField::Village => self.pick("Thôn, bản", "Village"),
            SharedField::Phone => self.pick("Số điện thoại", "Phone"),
            SharedField::Need => self.pick("Nhu cầu hỗ trợ", "Need"),
            SharedField::Story => self.pick("Câu chuyện", "Story"),
        }
    }

    pub fn recipient(self, r: Recipient) -> &'static str {
        match r {
            Recipient::ProvincialUnion => self.pick("Hội LHPN tỉnh", "Provincial union"),
            Recipient::CommuneUnion => self.pick("Hội LHPN xã", "Commune union"),
        }
    }

    pub fn consent_method(self, m: ConsentMethod) -> &'static str {
        match m {
            ConsentMethod::SignedPaper => self.pick("Giấy có chữ ký", "Signed paper"),
            ConsentMethod::VerbalWithWitness => {
                self.pick("Bằng lời, có người làm chứng", "Verbal, with a witness")
            }
        }
    }

    pub fn livelihood_kind(self, k: LivelihoodKind) -> &'static str {
        match k {
            LivelihoodKind::SeedCapital => self.pick("Vốn ban đầu", "Seed capital"),
            LivelihoodKind::Livestock => self.pick("Vật nuôi", "Livestock"),
            LivelihoodKind::Tools => self.pick("Công cụ", "Tools"),
            LivelihoodKind::VocationalCourse => self.pick("Khoá học nghề", "Vocational course"),
            LivelihoodKind::JobPlacement => self.pick("Giới thiệu việc làm", "Job placement"),
            LivelihoodKind::SocialPolicyLoan => self.pick(
                "Vay Ngân hàng Chính sách xã hội",
                "Loan from the social-policy bank",
            ),
        }
    }

    pub fn outcome(self, o: Outcome) -> &'static str {
        match o {
            Outcome::EarningIncome => self.pick("Có thu nhập", "Earning income"),
            Outcome::StillWorking => self.pick("Vẫn đang làm", "Still working"),
            Outcome::NeedsMoreHelp => self.pick("Cần hỗ trợ thêm", "Needs more help"),
            Outcome::Stopped => self.pick("Đã dừng", "Stopped"),
        }
    }

    pub fn urgency(self, u: Urgency) -> &'static str {
        match u {
            Urgency::Routine => self.pick("Bình thường", "Routine"),
            Urgency::Urgent => self.pick("Gấp", "Urgent"),
            Urgency::Emergency => self.pick("Khẩn cấp", "Emergency"),
        }
    }

    pub fn record_kind(self, k: RecordKind) -> &'static str {
        match k {
            RecordKind::Club => self.pick("câu lạc bộ", "club"),
            RecordKind::Member => self.pick("thành viên", "member"),
            RecordKind::MemberKey => self.pick("khoá của thành viên", "member key"),
            RecordKind::Consent => self.pick("sự đồng ý", "consent"),
            RecordKind::Meeting => self.pick("buổi sinh hoạt", "meeting"),
            RecordKind::Livelihood => self.pick("hỗ trợ sinh kế", "livelihood support"),
            RecordKind::Referral => self.pick("giới thiệu", "referral"),
            RecordKind::User => self.pick("người dùng", "user"),
            RecordKind::Canary => self.pick("khoá kiểm tra của kho", "store check value"),
            RecordKind::Audit => self.pick("nhật ký kiểm tra", "audit trail"),
            RecordKind::DeviceKey => self.pick("khoá thiết bị", "device key"),
            RecordKind::Annotation => self.pick("ghi chú kiểm tra", "annotation"),
        }
    }

    pub fn action(self, a: AuditAction) -> &'static str {
        match a {
            AuditAction::Create => self.pick("tạo", "create"),
            AuditAction::Update => self.pick("sửa", "update"),
            AuditAction::Delete => self.pick("xoá", "delete"),
            AuditAction::Read => self.pick("xem", "read"),
            AuditAction::Export => self.pick("xuất", "export"),
            AuditAction::Unlock => self.pick("mở kho", "unlock"),
            AuditAction::UnlockFailed => self.pick("sai mã PIN", "wrong PIN"),
            AuditAction::PinChange => self.pick("đổi mã PIN", "PIN change"),
            AuditAction::UserAdd => self.pick("thêm người dùng", "user added"),
            AuditAction::Annotate => self.pick("ghi chú kiểm tra", "annotation"),
            AuditAction::Checkpoint => self.pick("điểm mốc", "checkpoint"),
            AuditAction::Sync => self.pick("đồng bộ", "sync"),
            AuditAction::Wipe => self.pick("tự xoá", "wipe"),
            AuditAction::Restore => self.pick("khôi phục", "restore"),
        }
    }

    pub fn damage(self, r: DamageReason) -> &'static str {
        match r {
            DamageReason::Unreadable => self.pick(
                "không mở được (bị sửa hoặc mất khoá)",
                "does not open (altered, or its key is gone)",
            ),
            DamageReason::Stale => self.pick(
                "là bản cũ được chép lại (nhật ký đã ghi bản mới hơn)",
                "is an older copy put back (the trail wrote a newer one)",
            ),
            DamageReason::Deleted => self.pick(
                "đã bị xoá theo nhật ký nhưng vẫn còn trong tệp",
                "was deleted according to the trail, yet is in the file",
            ),
            DamageReason::Missing => self.pick(
                "có trong nhật ký nhưng đã mất khỏi tệp",
                "is in the trail but gone from the file",
            ),
            DamageReason::Untracked => self.pick(
                "không do nhật ký ghi (bị chèn vào tệp)",
                "was never written through the trail (inserted into the file)",
            ),
        }
    }

    pub fn permission(self, p: Permission) -> &'static str {
        match p {
            Permission::ReadRecords => self.pick("xem hồ sơ", "read records"),
            Permission::ReadSurvivorStatus => {
                self.pick("xem tình trạng bị mua bán", "read survivor status")
            }
            Permission::WriteRecords => self.pick("ghi, sửa hồ sơ", "write records"),
            Permission::ManageUsers => self.pick("thêm người dùng", "manage users"),
            Permission::Annotate => self.pick("ghi chú kiểm tra", "annotate"),
            Permission::ReadAudit => self.pick("xem nhật ký kiểm tra", "read the audit trail"),
            Permission::ExportAudit => self.pick("xuất nhật ký kiểm tra", "export the audit trail"),
            Permission::Sync => self.pick("đồng bộ", "sync"),
            Permission::Safety => self.pick(
                "an toàn (PIN khẩn cấp, xoá, sao lưu)",
                "safety (duress PIN, erasing, backups)",
            ),
        }
    }

    /// Why a value was refused, as a phrase after the field's name.
    pub fn reason(self, r: &Reason) -> String {
        match r {
            Reason::Empty => tr!(self, "không được để trống", "must not be empty"),
            Reason::TooLong { max } => {
                tr!(
                    self,
                    "dài quá {max} ký tự",
                    "is longer than {max} characters"
                )
            }
            Reason::TooShort { min } => {
                tr!(
                    self,
                    "ngắn hơn {min} ký tự",
                    "is shorter than {min} characters"
                )
            }
            Reason::BadDate => tr!(
                self,
                "không phải ngày hợp lệ (YYYY-MM-DD)",
                "is not a valid date (YYYY-MM-DD)"
            ),
            Reason::BelowMinimum => tr!(self, "thấp hơn mức cho phép", "is below the minimum"),
            Reason::AboveMaximum { max } => tr!(
                self,
                "cao hơn mức tối đa ({max})",
                "is above the maximum ({max})"
            ),
            Reason::InFuture => tr!(self, "ở tương lai", "is in the future"),
            Reason::TooOld => tr!(self, "quá xa trong quá khứ", "is too far in the past"),
            Reason::Negative => tr!(self, "không được âm", "must not be negative"),
            Reason::UnknownEthnicGroup => tr!(
                self,
                "không phải một trong 54 dân tộc (tên hoặc mã 1-54)",
                "is not one of the 54 ethnic groups (name or code 1-54)"
            ),
            Reason::NotClubMember { member_id } => tr!(
                self,
                "có thành viên {member_id} không thuộc câu lạc bộ này",
                "lists member {member_id}, who is not in this club"
            ),
            Reason::Duplicate => tr!(self, "bị trùng lặp", "lists the same entry twice"),
            Reason::Missing => tr!(self, "là bắt buộc", "is required"),
            Reason::NoConsent => tr!(
                self,
                "còn thiếu: chưa ghi nhận sự đồng ý",
                "is missing: no consent is recorded"
            ),
            Reason::ConsentWithdrawn => tr!(self, "đã bị rút lại", "was withdrawn"),
            Reason::ConsentForOtherMember => {
                tr!(
                    self,
                    "thuộc về thành viên khác",
                    "belongs to another member"
                )
            }
            Reason::NotCovered { what } => {
                let what = self.covered(what);
                tr!(self, "không bao gồm {what}", "does not cover {what}")
            }
            Reason::NotAllowedInState { state } if state == "not https" => tr!(
                self,
                "phải dùng https (http chỉ với 127.0.0.1 khi thử)",
                "must use https (http only to 127.0.0.1, for trials)"
            ),
            Reason::NotAllowedInState { state } if state == "recorded" => tr!(
                self,
                "không đổi được sau khi buổi sinh hoạt đã được ghi",
                "cannot change once the meeting is recorded"
            ),
            Reason::NotAllowedInState { state } => {
                let state = ReferralState::parse(state)
                    .map(|s| self.state(s).to_owned())
                    .unwrap_or_else(|| state.clone());
                tr!(
                    self,
                    "không được phép ở trạng thái {state}",
                    "is not allowed in state {state}"
                )
            }
            Reason::TooCommon => tr!(self, "quá dễ đoán", "is too easy to guess"),
            Reason::BadUrl => tr!(
                self,
                "không phải địa chỉ dùng được (https://máy-chủ; tên miền có dấu phải viết dạng xn--)",
                "is not a usable address (https://host, a non-ASCII host in its xn-- form)"
            ),
            Reason::ControlCharacter => tr!(
                self,
                "chứa ký tự điều khiển (chỉ ghi chú mới được xuống dòng)",
                "holds a control character (only notes may hold line breaks)"
            ),
            Reason::BidiControl => tr!(
                self,
                "chứa ký tự đảo chiều văn bản (bidi)",
                "holds a bidirectional text control"
            ),
            Reason::InvisibleCharacter => tr!(
                self,
                "chứa ký tự ẩn (không nhìn thấy được)",
                "holds an invisible character"
            ),
            Reason::Mismatch => tr!(self, "không khớp", "does not match the one expected"),
            Reason::OwnAccount => tr!(self, "là tài khoản của chính bạn", "is your own account"),
            Reason::LastLeader => tr!(
                self,
                "là chủ nhiệm cuối cùng của kho",
                "is the store's last leader"
            ),
        }
    }
}

impl Lang {
    /// What a consent does not cover, as the core names it ("purpose LegalAid", "field Story",
    /// "recipient CommuneUnion"), in this language.
    pub fn covered(self, what: &str) -> String {
        let (kind, name) = what.split_once(' ').unwrap_or(("", what));
        let label = match kind {
            "purpose" => by_debug_name(&ALL_SERVICES, name)
                .map(|s| self.service(s))
                .map(|l| tr!(self, "mục đích \"{l}\"", "purpose \"{l}\"")),
            "field" => by_debug_name(&ALL_SHARED_FIELDS, name)
                .map(|f| self.shared_field(f))
                .map(|l| tr!(self, "thông tin \"{l}\"", "the field \"{l}\"")),
            "recipient" => by_debug_name(&ALL_RECIPIENTS, name)
                .map(|r| self.recipient(r))
                .map(|l| tr!(self, "nơi nhận \"{l}\"", "the recipient \"{l}\"")),
            _ if what == "provincial_union" => {
                let l = self.recipient(Recipient::ProvincialUnion);
                Some(tr!(self, "nơi nhận \"{l}\"", "the recipient \"{l}\""))
            }
            _ => None,
        };
        label.unwrap_or_else(|| what.to_owned())
    }

    /// A field the core or the CLI names, as a person reads it: in Vietnamese its label and the
    /// flag to fix it with ("họ tên (--name)"); in English the flag, or a label when there is
    /// no flag.
    pub fn field(self, field: &str) -> String {
        let (vi, en, flag) = field_label(field);
        match (self, flag) {
            (Lang::Vi, Some(flag)) => format!("{vi} ({flag})"),
            (Lang::Vi, None) => vi.to_owned(),
            (Lang::En, Some(flag)) => flag.to_owned(),
            (Lang::En, None) => en.to_owned(),
        }
    }
}

/// The value whose Rust name is `name` (the core names values this way in `NotCovered`).
fn by_debug_name<T: Copy + std::fmt::Debug>(all: &[T], name: &str) -> Option<T> {
    all.iter().copied().find(|v| format!("{v:?}") == name)
}

const ALL_SERVICES: [SupportService; 12] = [
    SupportService::EssentialNeeds,
    SupportService::HealthCare,
    SupportService::Psychological,
    SupportService::LegalAid,
    SupportService::Schooling,
    SupportService::VocationalTraining,
    SupportService::Jobs,
    SupportService::Loans,
    SupportService::HardshipAllowance,
    SupportService::SafeAccommodation,
    SupportService::IdentityPapers,
    SupportService::Interpretation,
];

const ALL_SHARED_FIELDS: [SharedField; 9] = [
    SharedField::Name,
    SharedField::BirthYear,
    SharedField::Gender,
    SharedField::EthnicGroup,
    SharedField::Commune,
    SharedField::Village,
    SharedField::Phone,
    SharedField::Need,
    SharedField::Story,
];

const ALL_RECIPIENTS: [Recipient; 2] = [Recipient::ProvincialUnion, Recipient::CommuneUnion];

/// (Vietnamese label, English label, flag) of a field named by the core (`full_name`) or by
/// the CLI (`--date`). An unknown name is shown as it is.
fn field_label(field: &str) -> (&str, &str, Option<&'static str>) {
    let (vi, en, flag) = match field {
        "full_name" => ("họ tên", "name", Some("--name")),
        "display_name" => ("tên người dùng", "user name", Some("--name")),
        "name" => ("tên", "name", Some("--name")),
        "birth_year" => ("năm sinh", "year of birth", Some("--birth-year")),
        "village" => ("thôn, bản", "village", Some("--village")),
        "phone" => ("số điện thoại", "phone", Some("--phone")),
        "province" => ("tỉnh", "province", Some("--province")),
        "commune" => ("xã", "commune", Some("--commune")),
        "former_district" => ("huyện cũ", "former district", Some("--former-district")),
        "ethnic_group" | "--ethnic-group" => ("dân tộc", "ethnic group", Some("--ethnic-group")),
        "topic" => ("chủ đề", "topic", Some("--topic")),
        "place" => ("địa điểm", "place", Some("--place")),
        "facilitator" => ("người điều hành", "facilitator", Some("--facilitator")),
        "notes" => ("ghi chép", "notes", Some("--notes")),
        "guest_count" => ("số khách mời", "guests", Some("--guests")),
        "attendees" => ("người có mặt", "attendees", Some("--attendee")),
        "follow_ups.task" => ("việc cần làm", "follow-up task", Some("--follow-up")),
        "follow_ups.person" => ("người làm", "follow-up person", Some("--follow-up")),
        "--follow-up" => ("việc cần làm", "follow-up", Some("--follow-up")),
        "--done" => ("việc đã làm", "follow-up done", Some("--done")),
        "date" | "--date" => ("ngày", "date", Some("--date")),
        "month" | "--month" => ("tháng", "month", Some("--month")),
        "given_on" | "--given-on" => ("ngày đồng ý", "date given", Some("--given-on")),
        "withdrawn_on" | "--on" => ("ngày rút", "date withdrawn", Some("--on")),
        "witness" => ("người làm chứng", "witness", Some("--witness")),
        "purposes" => ("mục đích", "purposes", Some("--purpose")),
        "fields" => ("thông tin được chia sẻ", "fields", Some("--field")),
        "services" => ("dịch vụ", "services", Some("--service")),
        "shared_fields" => ("thông tin gửi đi", "shared fields", Some("--share")),
        "amount_vnd" => ("số tiền", "amount", Some("--amount-vnd")),
        "quantity" => ("số lượng", "quantity", Some("--quantity")),
        "unit" => ("đơn vị", "unit", Some("--unit")),
        "note" => ("ghi chú", "note", Some("--note")),
        "consent" => ("sự đồng ý", "consent", Some("--consent")),
        "recipient" => ("nơi nhận", "recipient", Some("--recipient")),
        "survivor_status" => ("tình trạng", "survivor status", Some("--survivor-status")),
        "member_id" => ("thành viên", "member", Some("--member")),
        "club_id" => ("câu lạc bộ", "club", Some("--club")),
        "server_url" => ("địa chỉ máy chủ", "server address", Some("--server")),
        "certificate" => (
            "chứng chỉ máy chủ",
            "server certificate",
            Some("--certificate"),
        ),
        "--public-key" => ("khoá công khai", "public key", Some("--public-key")),
        "pin" => ("mã PIN", "PIN", None),
        "duress_pin" => ("mã PIN khẩn cấp", "duress PIN", None),
        "wipe_after" => (
            "số lần sai trước khi tự xoá",
            "wrong PINs before wiping",
            None,
        ),
        "state" => ("trạng thái", "state", None),
        "text" => ("nội dung ghi chú", "note text", Some("--note")),
        "enrollment" => ("đăng ký với Hội tỉnh", "enrollment", None),
        "recovery" => ("mã khôi phục", "recovery secret", None),
        other => (other, other, None),
    };
    (vi, en, flag)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_value_a_consent_may_not_cover_has_a_vietnamese_name() {
        let mut names = Vec::new();
        names.extend(ALL_SERVICES.iter().map(|s| format!("purpose {s:?}")));
        names.extend(ALL_SHARED_FIELDS.iter().map(|f| format!("field {f:?}")));
        names.extend(ALL_RECIPIENTS.iter().map(|r| format!("recipient {r:?}")));
        for what in names {
            let (_, debug) = what.split_once(' ').unwrap_or_default();
            let vi = Lang::Vi.covered(&what);
            assert!(!vi.contains(debug), "{what}: {vi}");
        }
    }

    #[test]
    fn every_field_the_core_names_has_a_vietnamese_label() {
        for field in [
            "full_name",
            "display_name",
            "name",
            "birth_year",
            "village",
            "phone",
            "province",
            "commune",
            "former_district",
            "ethnic_group",
            "topic",
            "place",
            "facilitator",
            "notes",
            "guest_count",
            "attendees",
            "follow_ups.task",
            "follow_ups.person",
            "date",
            "given_on",
            "withdrawn_on",
            "witness",
            "purposes",
            "fields",
            "services",
            "shared_fields",
            "amount_vnd",
            "quantity",
            "unit",
            "note",
            "consent",
            "recipient",
            "survivor_status",
            "member_id",
            "club_id",
            "server_url",
            "pin",
            "duress_pin",
            "wipe_after",
            "state",
            "text",
            "enrollment",
            "certificate",
            "recovery",
        ] {
            let vi = Lang::Vi.field(field);
            let label = vi.split(" (--").next().unwrap_or_default();
            assert_ne!(label, field, "{field}");
            assert!(!label.contains('_'), "{field}: {vi}");
        }
    }
}
