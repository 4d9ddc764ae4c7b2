//! The vocabulary shared by the report, the member export and the CLI: the Vietnamese and
//! English names of genders, support services and referral states, and their stable keys.

use crate::domain::{Gender, ReferralState, SupportService};

/// Vietnamese and English names of a gender.
pub fn gender_label(g: Gender) -> (&'static str, &'static str) {
    match g {
        Gender::Female => ("Nữ", "Female"),
        Gender::Male => ("Nam", "Male"),
        Gender::Other => ("Khác", "Other"),
    }
}

pub(crate) fn gender_key(g: Gender) -> &'static str {
    match g {
        Gender::Female => "female",
        Gender::Male => "male",
        Gender::Other => "other",
    }
}

pub const ALL_SERVICES: [SupportService; 12] = [
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

/// A stable machine key for a service (`vocational_training`).
pub fn service_key(s: SupportService) -> &'static str {
    match s {
        SupportService::EssentialNeeds => "essential_needs",
        SupportService::HealthCare => "health_care",
        SupportService::Psychological => "psychological",
        SupportService::LegalAid => "legal_aid",
        SupportService::Schooling => "schooling",
        SupportService::VocationalTraining => "vocational_training",
        SupportService::Jobs => "jobs",
        SupportService::Loans => "loans",
        SupportService::HardshipAllowance => "hardship_allowance",
        SupportService::SafeAccommodation => "safe_accommodation",
        SupportService::IdentityPapers => "identity_papers",
        SupportService::Interpretation => "interpretation",
    }
}

/// Vietnamese and English names of a support service (DOMAIN.md's list).
pub fn service_label(s: SupportService) -> (&'static str, &'static str) {
    match s {
        SupportService::EssentialNeeds => {
            ("Nhu cầu thiết yếu và đi lại", "Essential needs and travel")
        }
        SupportService::HealthCare => ("Chăm sóc y tế", "Health care"),
        SupportService::Psychological => ("Hỗ trợ tâm lý", "Psychological support"),
        SupportService::LegalAid => ("Trợ giúp pháp lý", "Legal aid"),
        SupportService::Schooling => ("Học văn hoá", "Schooling"),
        SupportService::VocationalTraining => ("Học nghề", "Vocational training"),
        SupportService::Jobs => ("Việc làm", "Jobs"),
        SupportService::Loans => ("Vay vốn", "Loans"),
        SupportService::HardshipAllowance => {
            ("Trợ cấp khó khăn ban đầu", "Initial hardship allowance")
        }
        SupportService::SafeAccommodation => ("Nơi ở an toàn", "Safe accommodation"),
        SupportService::IdentityPapers => (
            "Giấy tờ tuỳ thân, hộ tịch",
            "Identity papers and civil registration",
        ),
        SupportService::Interpretation => ("Phiên dịch", "Interpretation"),
    }
}

pub const ALL_STATES: [ReferralState; 10] = [
    ReferralState::Draft,
    ReferralState::Ready,
    ReferralState::Queued,
    ReferralState::Sent,
    ReferralState::Received,
    ReferralState::Accepted,
    ReferralState::Declined,
    ReferralState::InProgress,
    ReferralState::Completed,
    ReferralState::Withdrawn,
];

/// Vietnamese and English names of a referral's state.
pub fn state_label(s: ReferralState) -> (&'static str, &'static str) {
    match s {
        ReferralState::Draft => ("Bản nháp", "Draft"),
        ReferralState::Ready => ("Sẵn sàng gửi", "Ready"),
        ReferralState::Queued => ("Chờ gửi", "Queued"),
        ReferralState::Sent => ("Đã gửi", "Sent"),
        ReferralState::Received => ("Tỉnh đã nhận", "Received by the province"),
        ReferralState::Accepted => ("Đã chấp nhận", "Accepted"),
        ReferralState::Declined => ("Từ chối", "Declined"),
        ReferralState::InProgress => ("Đang hỗ trợ", "In progress"),
        ReferralState::Completed => ("Hoàn thành", "Completed"),
        ReferralState::Withdrawn => ("Đã rút", "Withdrawn"),
    }
}
