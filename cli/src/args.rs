//! Command-line values: closed choices as clap value enums (mapped to the core's types), and the
//! few free-form values (dates, months, ethnic groups, follow-ups, keys) checked here so their
//! errors speak the chosen language.

use chrono::NaiveDate;
use chungtay_core::{
    AuditAction, ClubKind, ConsentMethod, EthnicGroup, FollowUp, Gender, LivelihoodKind,
    MemberRole, Outcome, Reason, Recipient, RecordKind, SharedField, SupportService,
    SurvivorStatus, Urgency, UserRole,
};
use clap::ValueEnum;

use crate::error::CliError;

/// Maps a clap value enum to the core's type.
pub trait ToCore<T> {
    fn core(self) -> T;
}

macro_rules! value_enum {
    ($(#[$m:meta])* $name:ident => $core:ident { $($(#[$vm:meta])* $v:ident => $c:expr),* $(,)? }) => {
        $(#[$m])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
        pub enum $name { $($(#[$vm])* $v),* }

        impl ToCore<$core> for $name {
            fn core(self) -> $core {
                match self { $($name::$v => $c),* }
            }
        }
    };
}

value_enum!(GenderArg => Gender {
    Female => Gender::Female,
    Male => Gender::Male,
    Other => Gender::Other,
});

value_enum!(MemberRoleArg => MemberRole {
    Member => MemberRole::Member,
    Leader => MemberRole::Leader,
    Deputy => MemberRole::Deputy,
});

value_enum!(SurvivorArg => SurvivorStatus {
    NotASurvivor => SurvivorStatus::NotASurvivor,
    Survivor => SurvivorStatus::Survivor,
    Returnee => SurvivorStatus::Returnee,
});

value_enum!(UserRoleArg => UserRole {
    Leader => UserRole::Leader,
    Deputy => UserRole::Deputy,
    Auditor => UserRole::Auditor,
});

value_enum!(ClubKindArg => ClubKind {
    /// Câu lạc bộ phụ nữ phòng, chống mua bán người
    AntiTrafficking => ClubKind::AntiTrafficking,
    /// Nhóm phụ nữ di cư an toàn
    SafeMigration => ClubKind::SafeMigration,
    /// Câu lạc bộ xây dựng gia đình "5 có, 3 sạch"
    Family => ClubKind::FamilyFiveThree,
});

value_enum!(ServiceArg => SupportService {
    EssentialNeeds => SupportService::EssentialNeeds,
    HealthCare => SupportService::HealthCare,
    Psychological => SupportService::Psychological,
    LegalAid => SupportService::LegalAid,
    Schooling => SupportService::Schooling,
    VocationalTraining => SupportService::VocationalTraining,
    Jobs => SupportService::Jobs,
    Loans => SupportService::Loans,
    HardshipAllowance => SupportService::HardshipAllowance,
    SafeAccommodation => SupportService::SafeAccommodation,
    IdentityPapers => SupportService::IdentityPapers,
    Interpretation => SupportService::Interpretation,
});

value_enum!(RecipientArg => Recipient {
    /// Hội LHPN tỉnh
    Province => Recipient::ProvincialUnion,
    /// Hội LHPN xã
    Commune => Recipient::CommuneUnion,
});

value_enum!(FieldArg => SharedField {
    Name => SharedField::Name,
    BirthYear => SharedField::BirthYear,
    Gender => SharedField::Gender,
    EthnicGroup => SharedField::EthnicGroup,
    Commune => SharedField::Commune,
    Village => SharedField::Village,
    Phone => SharedField::Phone,
    Need => SharedField::Need,
    Story => SharedField::Story,
});

value_enum!(MethodArg => ConsentMethod {
    SignedPaper => ConsentMethod::SignedPaper,
    Verbal => ConsentMethod::VerbalWithWitness,
});

value_enum!(LivelihoodArg => LivelihoodKind {
    SeedCapital => LivelihoodKind::SeedCapital,
    Livestock => LivelihoodKind::Livestock,
    Tools => LivelihoodKind::Tools,
    VocationalCourse => LivelihoodKind::VocationalCourse,
    JobPlacement => LivelihoodKind::JobPlacement,
    SocialPolicyLoan => LivelihoodKind::SocialPolicyLoan,
});

value_enum!(OutcomeArg => Outcome {
    EarningIncome => Outcome::EarningIncome,
    StillWorking => Outcome::StillWorking,
    NeedsMoreHelp => Outcome::NeedsMoreHelp,
    Stopped => Outcome::Stopped,
});

value_enum!(UrgencyArg => Urgency {
    Routine => Urgency::Routine,
    Urgent => Urgency::Urgent,
    Emergency => Urgency::Emergency,
});

value_enum!(RecordKindArg => RecordKind {
    Club => RecordKind::Club,
    Member => RecordKind::Member,
    Consent => RecordKind::Consent,
    Meeting => RecordKind::Meeting,
    Livelihood => RecordKind::Livelihood,
    Referral => RecordKind::Referral,
    User => RecordKind::User,
});

value_enum!(ActionArg => AuditAction {
    Create => AuditAction::Create,
    Update => AuditAction::Update,
    Delete => AuditAction::Delete,
    Read => AuditAction::Read,
    Export => AuditAction::Export,
    Unlock => AuditAction::Unlock,
    UnlockFailed => AuditAction::UnlockFailed,
    PinChange => AuditAction::PinChange,
    UserAdd => AuditAction::UserAdd,
    Annotate => AuditAction::Annotate,
    Checkpoint => AuditAction::Checkpoint,
    Sync => AuditAction::Sync,
    Wipe => AuditAction::Wipe,
    Restore => AuditAction::Restore,
});

pub fn core_all<T, A: ToCore<T> + Copy>(args: &[A]) -> Vec<T> {
    args.iter().map(|a| a.core()).collect()
}

/// `YYYY-MM-DD`
pub fn date(field: &'static str, s: &str) -> Result<NaiveDate, CliError> {
    NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d").map_err(|_| CliError::Invalid {
        field: field.to_owned(),
        reason: Reason::BadDate,
    })
}

/// An optional date, today when absent.
pub fn date_or_today(field: &'static str, s: Option<&str>) -> Result<NaiveDate, CliError> {
    match s {
        Some(s) => date(field, s),
        None => Ok(chrono::Utc::now().date_naive()),
    }
}

/// `YYYY-MM`
pub fn month(field: &'static str, s: &str) -> Result<(i32, u32), CliError> {
    let bad = || CliError::BadFormat {
        field,
        expected: ["YYYY-MM", "YYYY-MM"],
    };
    let day =
        NaiveDate::parse_from_str(&format!("{}-01", s.trim()), "%Y-%m-%d").map_err(|_| bad())?;
    use chrono::Datelike;
    Ok((day.year(), day.month()))
}

/// An ethnic group by name as typed ("Thái", "thai", "Khơ Mú") or by official code (1-54).
pub fn ethnic_group(field: &'static str, s: &str) -> Result<EthnicGroup, CliError> {
    // The same reading as an imported list's: code, name with or without diacritics, or a
    // common other name ("H'Mông", "Ê-đê").
    chungtay_core::import::recognise_ethnic_group(s).ok_or_else(|| CliError::Invalid {
        field: field.to_owned(),
        reason: Reason::UnknownEthnicGroup,
    })
}

/// `TASK|PERSON|YYYY-MM-DD`
pub fn follow_up(s: &str) -> Result<FollowUp, CliError> {
    let bad = || CliError::BadFormat {
        field: "--follow-up",
        expected: [
            "\"VIỆC|NGƯỜI LÀM|YYYY-MM-DD\"",
            "\"TASK|PERSON|YYYY-MM-DD\"",
        ],
    };
    let mut parts = s.split('|');
    let (Some(task), Some(person), Some(due), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(bad());
    };
    Ok(FollowUp {
        task: task.to_owned(),
        person: person.to_owned(),
        due: date("--follow-up", due)?,
        done: false,
    })
}

/// An Ed25519 public key: 64 hex digits, or base64 of its 32 bytes.
pub fn public_key(s: &str) -> Result<Vec<u8>, CliError> {
    use base64::Engine as _;
    let s = s.trim();
    let bad = || CliError::BadFormat {
        field: "--public-key",
        expected: [
            "64 chữ số hex, hoặc base64 (32 byte)",
            "64 hex digits, or base64 (32 bytes)",
        ],
    };
    let bytes = if s.len() == 64 && s.chars().all(|c| c.is_ascii_hexdigit()) {
        data_encoding::HEXLOWER_PERMISSIVE
            .decode(s.as_bytes())
            .map_err(|_| bad())?
    } else {
        base64::engine::general_purpose::STANDARD
            .decode(s)
            .map_err(|_| bad())?
    };
    if bytes.len() != 32 {
        return Err(bad());
    }
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ethnic_groups_by_name_or_code() {
        assert_eq!(ethnic_group("g", "Thái").unwrap().code(), 3);
        assert_eq!(ethnic_group("g", "thai").unwrap().code(), 3);
        assert_eq!(ethnic_group("g", "3").unwrap().name(), "Thái");
        assert_eq!(ethnic_group("g", "khơ mú").unwrap().code(), 23);
        assert!(ethnic_group("g", "55").is_err());
        assert!(ethnic_group("g", "Klingon").is_err());
    }

    #[test]
    fn months_dates_and_follow_ups() {
        assert_eq!(month("m", "2026-11").unwrap(), (2026, 11));
        assert!(month("m", "2026-13").is_err());
        assert!(month("m", "11/2026").is_err());
        assert!(date("d", "2026-02-30").is_err());
        let f = follow_up("Thăm gia đình chị Hoa|Hà Thị Ơn|2026-12-05").unwrap();
        assert_eq!(f.person, "Hà Thị Ơn");
        assert!(follow_up("only|two").is_err());
    }

    #[test]
    fn public_keys_in_hex_or_base64() {
        let hex = "00".repeat(32);
        assert_eq!(public_key(&hex).unwrap(), vec![0u8; 32]);
        assert_eq!(
            public_key("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=").unwrap(),
            vec![0u8; 32]
        );
        assert!(public_key("abcd").is_err());
    }
}
