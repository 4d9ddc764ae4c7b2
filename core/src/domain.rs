//! The clubs' work as data: clubs, members, consent, meetings, livelihood support, referrals.
//! Names and lifecycle follow shared/DOMAIN.md. Inputs are validated here, before sealing.

use chrono::{DateTime, Datelike, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use crate::body::fixed::{self, Coded};
use crate::error::{Reason, Result, ValidationError, invalid};
use crate::text;

pub type Id = String;
/// A moment in UTC (crosses the FFI as epoch milliseconds).
pub type Timestamp = DateTime<Utc>;

/// Debug that prints only the named fields, so personal text never reaches a log, an error
/// report or a panic message. Everything else shows as `..`. The records with personal fields
/// also export it to Kotlin (`uniffi::export(Debug)`): their `toString()` is this, not the data
/// class's list of every field.
macro_rules! redacted_debug {
    ($t:ident { $($f:ident),* }) => {
        impl std::fmt::Debug for $t {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.debug_struct(stringify!($t))
                    $(.field(stringify!($f), &self.$f))*
                    .finish_non_exhaustive()
            }
        }
    };
}
pub(crate) use redacted_debug;

/// Who changed a record and when; kept in plaintext columns for the audit trail.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct Stamp {
    pub created_at: Timestamp,
    pub created_by: Id,
    pub updated_at: Timestamp,
    pub updated_by: Id,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
pub enum ClubKind {
    /// Câu lạc bộ phụ nữ phòng, chống mua bán người
    AntiTrafficking,
    /// Nhóm phụ nữ di cư an toàn
    SafeMigration,
    /// Câu lạc bộ xây dựng gia đình "5 có, 3 sạch"
    FamilyFiveThree,
}

impl ClubKind {
    pub fn vi(self) -> &'static str {
        match self {
            ClubKind::AntiTrafficking => "Câu lạc bộ phụ nữ phòng, chống mua bán người",
            ClubKind::SafeMigration => "Nhóm phụ nữ di cư an toàn",
            ClubKind::FamilyFiveThree => "Câu lạc bộ xây dựng gia đình \"5 có, 3 sạch\"",
        }
    }
}

#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct ClubInput {
    pub name: String,
    #[serde(with = "fixed::code")]
    pub kind: ClubKind,
    pub province: String,
    pub commune: String,
    pub village: Option<String>,
    /// Districts were abolished on 1 July 2025; older records still name them.
    pub former_district: Option<String>,
}
redacted_debug!(ClubInput { kind });

#[derive(Clone, PartialEq, Eq)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct Club {
    pub id: Id,
    pub info: ClubInput,
    pub stamp: Stamp,
}
redacted_debug!(Club { id, info, stamp });

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
pub enum Gender {
    Female,
    Male,
    Other,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
pub enum MemberRole {
    /// chủ nhiệm
    Leader,
    /// phó chủ nhiệm
    Deputy,
    /// thành viên
    Member,
}

/// The most sensitive fact in the app: never in lists, never in small report cells.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
pub enum SurvivorStatus {
    NotASurvivor,
    /// nạn nhân bị mua bán
    Survivor,
    /// người trở về
    Returnee,
    /// Not shown to this user's role (docs/ROLES.md). Sent back on an update, it keeps the
    /// stored status.
    Withheld,
}

/// The 54 ethnic groups in official order; the code is the position (1-based).
pub const ETHNIC_GROUPS: [&str; 54] = [
    "Kinh",
    "Tày",
    "Thái",
    "Mường",
    "Khmer",
    "Hoa",
    "Nùng",
    "Mông",
    "Dao",
    "Gia Rai",
    "Ê Đê",
    "Ba Na",
    "Sán Chay",
    "Chăm",
    "Cơ Ho",
    "Xơ Đăng",
    "Sán Dìu",
    "Hrê",
    "Ra Glai",
    "Mnông",
    "Thổ",
    "Xtiêng",
    "Khơ Mú",
    "Bru-Vân Kiều",
    "Cơ Tu",
    "Giáy",
    "Tà Ôi",
    "Mạ",
    "Giẻ-Triêng",
    "Co",
    "Chơ Ro",
    "Xinh Mun",
    "Hà Nhì",
    "Chu Ru",
    "Lào",
    "La Chí",
    "Kháng",
    "Phù Lá",
    "La Hủ",
    "La Ha",
    "Pà Thẻn",
    "Lự",
    "Ngái",
    "Chứt",
    "Lô Lô",
    "Mảng",
    "Cơ Lao",
    "Bố Y",
    "Cống",
    "Si La",
    "Pu Péo",
    "Rơ Măm",
    "Brâu",
    "Ơ Đu",
];

/// An ethnic group by official code (1..=54). Crosses the FFI as that code (an `Int`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct EthnicGroup(u8);

#[cfg(feature = "uniffi")]
uniffi::custom_type!(EthnicGroup, i32, {
    lower: |g| i32::from(g.code()),
    try_lift: |code| {
        u8::try_from(code)
            .map_err(|_| ValidationError::new("ethnic_group", Reason::UnknownEthnicGroup))
            .and_then(EthnicGroup::from_code)
            .map_err(|e| crate::error::ChungTayError::from(crate::Error::from(e)).into())
    },
});

impl fixed::NumCode for EthnicGroup {
    fn num_code(&self) -> u8 {
        self.0
    }

    fn from_num_code(code: u8) -> Option<Self> {
        Self::from_code(code).ok()
    }
}

impl EthnicGroup {
    pub fn from_code(code: u8) -> Result<Self, ValidationError> {
        if (1..=54).contains(&code) {
            Ok(Self(code))
        } else {
            Err(ValidationError::new(
                "ethnic_group",
                Reason::UnknownEthnicGroup,
            ))
        }
    }

    /// By name, as typed: exact, or ignoring case and diacritics ("thai" finds "Thái").
    pub fn from_name(name: &str) -> Result<Self, ValidationError> {
        let wanted = text::fold(name);
        ETHNIC_GROUPS
            .iter()
            .position(|g| text::fold(g) == wanted)
            .map(|i| Self(i as u8 + 1))
            .ok_or_else(|| ValidationError::new("ethnic_group", Reason::UnknownEthnicGroup))
    }

    pub fn code(self) -> u8 {
        self.0
    }

    pub fn name(self) -> &'static str {
        ETHNIC_GROUPS
            .get(usize::from(self.0).wrapping_sub(1))
            .copied()
            .unwrap_or("?")
    }
}

#[cfg_attr(feature = "uniffi", uniffi::export(Debug))]
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct MemberInput {
    pub full_name: String,
    /// Exact dates are often unknown; the year is what people give.
    #[serde(with = "fixed::opt_num")]
    pub birth_year: Option<i32>,
    #[serde(with = "fixed::code")]
    pub gender: Gender,
    #[serde(with = "fixed::num_code")]
    pub ethnic_group: EthnicGroup,
    pub village: String,
    /// May be shared with others or absent.
    pub phone: Option<String>,
    #[serde(with = "fixed::code")]
    pub role: MemberRole,
    #[serde(with = "fixed::code")]
    pub survivor_status: SurvivorStatus,
    /// False when calling or texting could put the person at risk.
    #[serde(with = "fixed::flag")]
    pub safe_to_contact: bool,
}
redacted_debug!(MemberInput {});

#[derive(Clone, PartialEq, Eq)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct Member {
    pub id: Id,
    pub club_id: Id,
    pub info: MemberInput,
    pub stamp: Stamp,
}
redacted_debug!(Member {
    id,
    club_id,
    info,
    stamp
});

/// What a member list shows: no survivor status, and no phone when contact is unsafe.
#[cfg_attr(feature = "uniffi", uniffi::export(Debug))]
#[derive(Clone, PartialEq, Eq)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct MemberSummary {
    pub id: Id,
    pub club_id: Id,
    pub full_name: String,
    pub birth_year: Option<i32>,
    pub gender: Gender,
    pub ethnic_group: EthnicGroup,
    pub village: String,
    pub role: MemberRole,
    pub safe_to_contact: bool,
    /// None when the member has none, or when contact is unsafe.
    pub phone: Option<String>,
}
redacted_debug!(MemberSummary { id, club_id });

/// Services a survivor can be referred for (hỗ trợ).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
pub enum SupportService {
    EssentialNeeds,
    HealthCare,
    Psychological,
    LegalAid,
    Schooling,
    VocationalTraining,
    Jobs,
    Loans,
    HardshipAllowance,
    SafeAccommodation,
    IdentityPapers,
    Interpretation,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
pub enum Recipient {
    ProvincialUnion,
    CommuneUnion,
}

/// Pieces of information a consent may allow to be shared.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
pub enum SharedField {
    Name,
    BirthYear,
    Gender,
    EthnicGroup,
    Commune,
    Village,
    Phone,
    /// What support is needed.
    Need,
    /// Her story: what happened. Rarely shared.
    Story,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
pub enum ConsentMethod {
    SignedPaper,
    VerbalWithWitness,
}

#[cfg_attr(feature = "uniffi", uniffi::export(Debug))]
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct ConsentInput {
    pub member_id: Id,
    #[serde(with = "fixed::set")]
    pub purposes: Vec<SupportService>,
    #[serde(with = "fixed::code")]
    pub recipient: Recipient,
    #[serde(with = "fixed::set")]
    pub fields: Vec<SharedField>,
    #[serde(with = "fixed::code")]
    pub method: ConsentMethod,
    /// Required when consent is verbal.
    pub witness: Option<String>,
    pub given_on: NaiveDate,
}
redacted_debug!(ConsentInput {
    member_id,
    recipient,
    method
});

#[derive(Clone, PartialEq, Eq)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct Consent {
    pub id: Id,
    pub info: ConsentInput,
    pub withdrawn_on: Option<NaiveDate>,
    pub stamp: Stamp,
}
redacted_debug!(Consent {
    id,
    info,
    withdrawn_on,
    stamp
});

#[cfg_attr(feature = "uniffi", uniffi::export(Debug))]
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct FollowUp {
    pub task: String,
    /// Who will do it: a name as the club says it.
    pub person: String,
    pub due: NaiveDate,
    #[serde(with = "fixed::flag")]
    pub done: bool,
}
redacted_debug!(FollowUp { due, done });

#[cfg_attr(feature = "uniffi", uniffi::export(Debug))]
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct MeetingInput {
    pub club_id: Id,
    pub date: NaiveDate,
    pub topic: String,
    pub place: String,
    pub facilitator: String,
    /// Member ids of those present; all must belong to the club.
    pub attendees: Vec<Id>,
    #[serde(with = "fixed::num")]
    pub guest_count: i32,
    pub notes: String,
    pub follow_ups: Vec<FollowUp>,
}
redacted_debug!(MeetingInput {
    club_id,
    date,
    attendees,
    guest_count
});

#[derive(Clone, PartialEq, Eq)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct Meeting {
    pub id: Id,
    pub info: MeetingInput,
    pub stamp: Stamp,
}
redacted_debug!(Meeting { id, info, stamp });

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
pub enum LivelihoodKind {
    SeedCapital,
    Livestock,
    Tools,
    VocationalCourse,
    JobPlacement,
    /// Loan from the social-policy bank.
    SocialPolicyLoan,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
pub enum Outcome {
    EarningIncome,
    StillWorking,
    NeedsMoreHelp,
    Stopped,
}

#[cfg_attr(feature = "uniffi", uniffi::export(Debug))]
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct SupportFollowUp {
    pub date: NaiveDate,
    #[serde(with = "fixed::code")]
    pub outcome: Outcome,
    pub note: String,
}
redacted_debug!(SupportFollowUp { date });

#[cfg_attr(feature = "uniffi", uniffi::export(Debug))]
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct LivelihoodInput {
    pub member_id: Id,
    #[serde(with = "fixed::code")]
    pub kind: LivelihoodKind,
    pub date: NaiveDate,
    /// In đồng.
    #[serde(with = "fixed::opt_num")]
    pub amount_vnd: Option<i64>,
    /// A count with its unit ("2 con lợn" is 2, "con lợn").
    #[serde(with = "fixed::opt_num")]
    pub quantity: Option<i32>,
    pub unit: Option<String>,
    pub note: String,
}
redacted_debug!(LivelihoodInput {
    member_id,
    kind,
    date
});

#[derive(Clone, PartialEq, Eq)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct Livelihood {
    pub id: Id,
    pub info: LivelihoodInput,
    pub follow_ups: Vec<SupportFollowUp>,
    pub stamp: Stamp,
}
redacted_debug!(Livelihood { id, info, stamp });

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
pub enum Urgency {
    Routine,
    Urgent,
    Emergency,
}

/// Lifecycle of DOMAIN.md. This store moves referrals through the local states
/// (draft, ready, withdrawn); sending and the province's answers come with the sync issue.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
pub enum ReferralState {
    Draft,
    Ready,
    Queued,
    Sent,
    Received,
    Accepted,
    Declined,
    InProgress,
    Completed,
    Withdrawn,
}

impl ReferralState {
    pub fn as_str(self) -> &'static str {
        match self {
            ReferralState::Draft => "draft",
            ReferralState::Ready => "ready",
            ReferralState::Queued => "queued",
            ReferralState::Sent => "sent",
            ReferralState::Received => "received",
            ReferralState::Accepted => "accepted",
            ReferralState::Declined => "declined",
            ReferralState::InProgress => "in_progress",
            ReferralState::Completed => "completed",
            ReferralState::Withdrawn => "withdrawn",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        use ReferralState::*;
        [
            Draft, Ready, Queued, Sent, Received, Accepted, Declined, InProgress, Completed,
            Withdrawn,
        ]
        .into_iter()
        .find(|st| st.as_str() == s)
    }

    pub fn is_final(self) -> bool {
        matches!(
            self,
            ReferralState::Declined | ReferralState::Completed | ReferralState::Withdrawn
        )
    }

    /// Whether the lifecycle allows going from `self` to `next`.
    pub fn can_move_to(self, next: ReferralState) -> bool {
        use ReferralState::*;
        if next == Withdrawn {
            return !self.is_final();
        }
        matches!(
            (self, next),
            (Draft, Ready)
                | (Ready, Draft)
                | (Ready, Queued)
                | (Queued, Sent)
                | (Sent, Received)
                | (Received, Accepted)
                | (Received, Declined)
                | (Accepted, InProgress)
                | (InProgress, Completed)
        )
    }
}

#[cfg_attr(feature = "uniffi", uniffi::export(Debug))]
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct ReferralInput {
    pub member_id: Id,
    #[serde(with = "fixed::set")]
    pub services: Vec<SupportService>,
    #[serde(with = "fixed::code")]
    pub urgency: Urgency,
    pub note: String,
    #[serde(with = "fixed::code")]
    pub recipient: Recipient,
    /// What the payload will carry; the consent must allow each of them.
    #[serde(with = "fixed::set")]
    pub shared_fields: Vec<SharedField>,
    #[serde(with = "fixed::opt_id")]
    pub consent_id: Option<Id>,
}
redacted_debug!(ReferralInput {
    member_id,
    urgency,
    recipient,
    consent_id
});

#[cfg_attr(feature = "uniffi", uniffi::export(Debug))]
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct StateChange {
    #[serde(with = "fixed::code")]
    pub state: ReferralState,
    #[serde(serialize_with = "fixed::time")]
    pub at: Timestamp,
    pub by: Id,
    pub note: String,
}
redacted_debug!(StateChange { state, at, by });

#[derive(Clone, PartialEq, Eq)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct Referral {
    pub id: Id,
    pub info: ReferralInput,
    pub state: ReferralState,
    pub history: Vec<StateChange>,
    pub stamp: Stamp,
}
redacted_debug!(Referral {
    id,
    info,
    state,
    history,
    stamp
});

/// Everything the member screen shows, in one call.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct MemberDetail {
    pub member: Member,
    pub consents: Vec<Consent>,
    pub livelihood: Vec<Livelihood>,
    pub referrals: Vec<Referral>,
}

// ---- stored codes -----------------------------------------------------------------------

/// Stored codes (`body::fixed`): a variant is kept as its position in this list, so the list is
/// in declaration order and a new variant goes at the end, never in between. The `match` makes a
/// variant missing from the list a compile error.
macro_rules! coded {
    ($t:ident: $($v:ident),+) => {
        impl Coded for $t {
            const ALL: &'static [Self] = &[$($t::$v),+];
            const NAMES: &'static str = concat!($(stringify!($v), " "),+).trim_ascii_end();
        }
        impl $t {
            /// Its place in the list above, as one byte: what the index's sealed snapshot
            /// stores and the Kotlin API's member columns send (uniffi's Kotlin enums keep the
            /// declaration order too).
            pub fn code(self) -> u8 {
                // Every variant is in the list (the `match` below) and no list nears 256; a
                // code that cannot be read back is the fallback all the same.
                <$t as Coded>::ALL
                    .iter()
                    .position(|x| *x == self)
                    .and_then(|i| u8::try_from(i).ok())
                    .unwrap_or(u8::MAX)
            }

            /// The variant at `code`'s place; `None` past the end.
            pub fn from_code(code: u8) -> Option<$t> {
                <$t as Coded>::ALL.get(usize::from(code)).copied()
            }
        }
        const _: fn($t) = |x| match x {
            $($t::$v)|+ => {}
        };
    };
}

coded!(ClubKind: AntiTrafficking, SafeMigration, FamilyFiveThree);
coded!(Gender: Female, Male, Other);
coded!(MemberRole: Leader, Deputy, Member);
coded!(SurvivorStatus: NotASurvivor, Survivor, Returnee, Withheld);
coded!(SupportService: EssentialNeeds, HealthCare, Psychological, LegalAid, Schooling,
    VocationalTraining, Jobs, Loans, HardshipAllowance, SafeAccommodation, IdentityPapers,
    Interpretation);
coded!(Recipient: ProvincialUnion, CommuneUnion);
coded!(SharedField: Name, BirthYear, Gender, EthnicGroup, Commune, Village, Phone, Need, Story);
coded!(ConsentMethod: SignedPaper, VerbalWithWitness);
coded!(LivelihoodKind: SeedCapital, Livestock, Tools, VocationalCourse, JobPlacement,
    SocialPolicyLoan);
coded!(Outcome: EarningIncome, StillWorking, NeedsMoreHelp, Stopped);
coded!(Urgency: Routine, Urgent, Emergency);
coded!(ReferralState: Draft, Ready, Queued, Sent, Received, Accepted, Declined, InProgress,
    Completed, Withdrawn);

// ---- validation -------------------------------------------------------------------------

const MAX_SHORT: usize = 200;
const MAX_LONG: usize = 20_000;

pub(crate) fn required(field: &'static str, value: &str) -> Result<String> {
    let v = text::clean(&text::strip_pasted(value));
    if v.is_empty() {
        return invalid(field, Reason::Empty);
    }
    max_len(field, &v, MAX_SHORT)?;
    single_line(field, &v)?;
    Ok(v)
}

pub(crate) fn optional(field: &'static str, value: &Option<String>) -> Result<Option<String>> {
    match value {
        None => Ok(None),
        Some(s) => {
            let v = text::clean(&text::strip_pasted(s));
            max_len(field, &v, MAX_SHORT)?;
            single_line(field, &v)?;
            Ok(if v.is_empty() { None } else { Some(v) })
        }
    }
}

pub(crate) fn long_text(field: &'static str, value: &str) -> Result<String> {
    let v = text::nfc(&text::unix_newlines(text::strip_pasted(value).trim()));
    max_len(field, &v, MAX_LONG)?;
    if let Some(hidden) = text::first_hidden_multiline(&v) {
        return invalid(field, hidden_reason(hidden));
    }
    Ok(v)
}

/// Checked after `clean`, which has already folded tabs and line breaks into single spaces:
/// what is left of a control, bidi or invisible character is refused, not silently dropped,
/// so the person typing sees that the text was not what it looked like.
fn single_line(field: &'static str, v: &str) -> Result<()> {
    match text::first_hidden(v) {
        Some(hidden) => invalid(field, hidden_reason(hidden)),
        None => Ok(()),
    }
}

fn hidden_reason(hidden: text::Hidden) -> Reason {
    match hidden {
        text::Hidden::Control => Reason::ControlCharacter,
        text::Hidden::Bidi => Reason::BidiControl,
        text::Hidden::Invisible => Reason::InvisibleCharacter,
    }
}

fn max_len(field: &'static str, v: &str, max: usize) -> Result<()> {
    if v.chars().count() > max {
        return invalid(field, Reason::TooLong { max: max as u32 });
    }
    Ok(())
}

fn not_future(field: &'static str, date: NaiveDate, today: NaiveDate) -> Result<()> {
    if date > today {
        return invalid(field, Reason::InFuture);
    }
    Ok(())
}

fn no_duplicates<T: PartialEq>(field: &'static str, items: &[T]) -> Result<()> {
    for (i, a) in items.iter().enumerate() {
        if items[..i].contains(a) {
            return invalid(field, Reason::Duplicate);
        }
    }
    Ok(())
}

fn not_empty_list<T>(field: &'static str, items: &[T]) -> Result<()> {
    if items.is_empty() {
        return invalid(field, Reason::Empty);
    }
    Ok(())
}

impl ClubInput {
    pub(crate) fn normalized(&self) -> Result<ClubInput> {
        Ok(ClubInput {
            name: required("name", &self.name)?,
            kind: self.kind,
            province: required("province", &self.province)?,
            commune: required("commune", &self.commune)?,
            village: optional("village", &self.village)?,
            former_district: optional("former_district", &self.former_district)?,
        })
    }
}

impl MemberInput {
    pub(crate) fn normalized(&self, today: NaiveDate) -> Result<MemberInput> {
        if let Some(year) = self.birth_year {
            if year > today.year() {
                return invalid("birth_year", Reason::InFuture);
            }
            if year < today.year() - 120 {
                return invalid("birth_year", Reason::TooOld);
            }
        }
        EthnicGroup::from_code(self.ethnic_group.code())?;
        let phone = optional("phone", &self.phone)?;
        Ok(MemberInput {
            full_name: required("full_name", &self.full_name)?,
            birth_year: self.birth_year,
            gender: self.gender,
            ethnic_group: self.ethnic_group,
            village: required("village", &self.village)?,
            phone,
            role: self.role,
            survivor_status: self.survivor_status,
            safe_to_contact: self.safe_to_contact,
        })
    }
}

impl ConsentInput {
    pub(crate) fn normalized(&self, today: NaiveDate) -> Result<ConsentInput> {
        not_empty_list("purposes", &self.purposes)?;
        no_duplicates("purposes", &self.purposes)?;
        not_empty_list("fields", &self.fields)?;
        no_duplicates("fields", &self.fields)?;
        not_future("given_on", self.given_on, today)?;
        let witness = optional("witness", &self.witness)?;
        if self.method == ConsentMethod::VerbalWithWitness && witness.is_none() {
            return invalid("witness", Reason::Missing);
        }
        let mut out = self.clone();
        out.witness = witness;
        out.purposes.sort();
        out.fields.sort();
        Ok(out)
    }
}

impl MeetingInput {
    pub(crate) fn normalized(&self, today: NaiveDate) -> Result<MeetingInput> {
        not_future("date", self.date, today)?;
        no_duplicates("attendees", &self.attendees)?;
        if self.guest_count < 0 {
            return invalid("guest_count", Reason::Negative);
        }
        let follow_ups = self
            .follow_ups
            .iter()
            .map(|f| {
                Ok(FollowUp {
                    task: required("follow_ups.task", &f.task)?,
                    person: required("follow_ups.person", &f.person)?,
                    due: f.due,
                    done: f.done,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(MeetingInput {
            club_id: self.club_id.clone(),
            date: self.date,
            topic: required("topic", &self.topic)?,
            place: required("place", &self.place)?,
            facilitator: required("facilitator", &self.facilitator)?,
            attendees: self.attendees.clone(),
            guest_count: self.guest_count,
            notes: long_text("notes", &self.notes)?,
            follow_ups,
        })
    }
}

impl LivelihoodInput {
    pub(crate) fn normalized(&self, today: NaiveDate) -> Result<LivelihoodInput> {
        not_future("date", self.date, today)?;
        if self.amount_vnd.is_none() && self.quantity.is_none() {
            return invalid("amount_vnd", Reason::Missing);
        }
        if self.amount_vnd.is_some_and(|a| a < 0) {
            return invalid("amount_vnd", Reason::Negative);
        }
        if self.quantity.is_some_and(|q| q < 0) {
            return invalid("quantity", Reason::Negative);
        }
        let unit = optional("unit", &self.unit)?;
        if self.quantity.is_some() && unit.is_none() {
            return invalid("unit", Reason::Missing);
        }
        Ok(LivelihoodInput {
            unit,
            note: long_text("note", &self.note)?,
            ..self.clone()
        })
    }
}

impl SupportFollowUp {
    pub(crate) fn normalized(&self, today: NaiveDate) -> Result<SupportFollowUp> {
        not_future("date", self.date, today)?;
        Ok(SupportFollowUp {
            date: self.date,
            outcome: self.outcome,
            note: long_text("note", &self.note)?,
        })
    }
}

impl ReferralInput {
    pub(crate) fn normalized(&self) -> Result<ReferralInput> {
        not_empty_list("services", &self.services)?;
        no_duplicates("services", &self.services)?;
        not_empty_list("shared_fields", &self.shared_fields)?;
        no_duplicates("shared_fields", &self.shared_fields)?;
        let mut out = self.clone();
        out.note = long_text("note", &self.note)?;
        out.services.sort();
        out.shared_fields.sort();
        Ok(out)
    }
}

/// Whether `consent` covers the referral's purposes, recipient and fields.
pub(crate) fn check_consent_covers(consent: &Consent, referral: &ReferralInput) -> Result<()> {
    if consent.info.member_id != referral.member_id {
        return invalid("consent", Reason::ConsentForOtherMember);
    }
    if consent.withdrawn_on.is_some() {
        return invalid("consent", Reason::ConsentWithdrawn);
    }
    if consent.info.recipient != referral.recipient {
        return invalid(
            "consent",
            Reason::NotCovered {
                what: format!("recipient {:?}", referral.recipient),
            },
        );
    }
    if let Some(s) = referral
        .services
        .iter()
        .find(|s| !consent.info.purposes.contains(s))
    {
        return invalid(
            "consent",
            Reason::NotCovered {
                what: format!("purpose {s:?}"),
            },
        );
    }
    if let Some(f) = referral
        .shared_fields
        .iter()
        .find(|f| !consent.info.fields.contains(f))
    {
        return invalid(
            "consent",
            Reason::NotCovered {
                what: format!("field {f:?}"),
            },
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The one-byte codes are stored (the index snapshot) and sent (the Kotlin columns): each
    /// variant keeps its place, and every code reads back as its variant.
    #[test]
    fn gender_and_role_codes_are_their_places_and_read_back() {
        for (code, g) in [Gender::Female, Gender::Male, Gender::Other]
            .into_iter()
            .enumerate()
        {
            assert_eq!(usize::from(g.code()), code);
            assert_eq!(Gender::from_code(g.code()), Some(g));
        }
        for (code, r) in [MemberRole::Leader, MemberRole::Deputy, MemberRole::Member]
            .into_iter()
            .enumerate()
        {
            assert_eq!(usize::from(r.code()), code);
            assert_eq!(MemberRole::from_code(r.code()), Some(r));
        }
        assert_eq!(Gender::from_code(3), None);
        assert_eq!(MemberRole::from_code(3), None);
    }

    #[test]
    fn ethnic_groups_are_54_and_distinct_when_folded() {
        assert_eq!(ETHNIC_GROUPS.len(), 54);
        let mut folded: Vec<String> = ETHNIC_GROUPS.iter().map(|g| text::fold(g)).collect();
        folded.sort();
        folded.dedup();
        assert_eq!(folded.len(), 54);
        assert_eq!(EthnicGroup::from_name("thai").unwrap().name(), "Thái");
        assert_eq!(EthnicGroup::from_name("Khơ Mú").unwrap().code(), 23);
        assert_eq!(EthnicGroup::from_code(54).unwrap().name(), "Ơ Đu");
        assert!(EthnicGroup::from_code(0).is_err());
        assert!(EthnicGroup::from_code(55).is_err());
        assert!(EthnicGroup::from_name("Klingon").is_err());
    }

    #[test]
    fn debug_output_holds_no_personal_text() {
        let m = MemberInput {
            full_name: "Vi Thị Hoa".into(),
            birth_year: Some(2006),
            gender: Gender::Female,
            ethnic_group: EthnicGroup::from_name("Thái").unwrap(),
            village: "Bản Chai".into(),
            phone: Some("0912345678".into()),
            role: MemberRole::Member,
            survivor_status: SurvivorStatus::Survivor,
            safe_to_contact: false,
        };
        let shown = format!("{m:?} {m:#?}");
        for secret in ["Hoa", "Chai", "0912", "Survivor", "2006"] {
            assert!(!shown.contains(secret), "{secret} in {shown}");
        }
    }

    #[test]
    fn stored_codes_follow_declaration_order() {
        // A set is stored as one bit per variant in `ALL` order and read back in that order,
        // which must be the order `normalized` sorts it in.
        assert!(SupportService::ALL.windows(2).all(|w| w[0] < w[1]));
        assert!(SharedField::ALL.windows(2).all(|w| w[0] < w[1]));
    }

    #[test]
    fn lifecycle_transitions() {
        use ReferralState::*;
        assert!(Draft.can_move_to(Ready));
        assert!(!Draft.can_move_to(Sent));
        assert!(Sent.can_move_to(Withdrawn));
        assert!(!Completed.can_move_to(Withdrawn));
        assert!(!Declined.can_move_to(Accepted));
        for s in [
            Draft, Ready, Queued, Sent, Received, Accepted, Declined, InProgress,
        ] {
            assert_eq!(ReferralState::parse(s.as_str()), Some(s));
        }
    }
}
