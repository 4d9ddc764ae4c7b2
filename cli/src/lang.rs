//! Every human message in Vietnamese (the default) and English, and the names of the domain's
//! values in both.

use chungtay_core::report::{gender_label, service_label, state_label};
use chungtay_core::{
    ClubKind, ConsentMethod, Gender, LivelihoodKind, MemberRole, Outcome, Permission, Reason,
    Recipient, RecordKind, ReferralState, SharedField, SupportService, SurvivorStatus, Urgency,
    UserRole,
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
                tr!(self, "không bao gồm {what}", "does not cover {what}")
            }
            Reason::NotAllowedInState { state } => tr!(
                self,
                "không được phép ở trạng thái {state}",
                "is not allowed in state {state}"
            ),
            Reason::TooCommon => tr!(self, "quá dễ đoán", "is too easy to guess"),
            Reason::BadUrl => tr!(
                self,
                "không phải địa chỉ dùng được (https://máy-chủ; tên miền có dấu phải viết dạng xn--)",
                "is not a usable address (https://host, a non-ASCII host in its xn-- form)"
            ),
            Reason::Mismatch => tr!(self, "không khớp", "does not match the one expected"),
        }
    }
}

/// The command-line flag for a field the core names, so a message points at what to fix.
pub fn flag_for(field: &str) -> String {
    let flag = match field {
        "full_name" | "display_name" | "name" => "--name",
        "birth_year" => "--birth-year",
        "village" => "--village",
        "phone" => "--phone",
        "province" => "--province",
        "commune" => "--commune",
        "former_district" => "--former-district",
        "ethnic_group" => "--ethnic-group",
        "topic" => "--topic",
        "place" => "--place",
        "facilitator" => "--facilitator",
        "notes" => "--notes",
        "guest_count" => "--guests",
        "attendees" => "--attendee",
        "follow_ups.task" | "follow_ups.person" => "--follow-up",
        "date" => "--date",
        "month" => "--month",
        "given_on" => "--given-on",
        "withdrawn_on" => "--on",
        "witness" => "--witness",
        "purposes" => "--purpose",
        "fields" => "--field",
        "services" => "--service",
        "shared_fields" => "--share",
        "amount_vnd" => "--amount-vnd",
        "quantity" => "--quantity",
        "unit" => "--unit",
        "note" => "--note",
        "consent" => "--consent",
        "pin" | "duress_pin" => "PIN",
        "wipe_after" => "wipe-after",
        other => other,
    };
    flag.to_owned()
}
