//! JSON shapes for `--json`, for the core types that have no `Serialize` of their own.
//! Lists never carry survivor status; only `member show` (the audited detail) does.

use chungtay_core::trail::{LateEdit, MeetingRef, OverdueReferral};
use chungtay_core::{
    AuditEntry, AuditFindings, Club, ClubInput, Consent, ConsentInput, Damaged, Livelihood,
    LivelihoodInput, Meeting, MeetingInput, Member, MemberSummary, Referral, ReferralInput,
    ReferralState, Stamp, StateChange, SupportFollowUp, SurvivorStatus, Timestamp, UserInfo,
};
use serde::Serialize;

use crate::error::CliError;
use crate::lang::{Lang, tr};

fn time(t: &Timestamp) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

#[derive(Serialize)]
pub struct StampView {
    pub created_at: String,
    pub created_by: String,
    pub updated_at: String,
    pub updated_by: String,
}

impl From<&Stamp> for StampView {
    fn from(s: &Stamp) -> Self {
        StampView {
            created_at: time(&s.created_at),
            created_by: s.created_by.clone(),
            updated_at: time(&s.updated_at),
            updated_by: s.updated_by.clone(),
        }
    }
}

#[derive(Serialize)]
pub struct UserView {
    pub id: String,
    pub role: &'static str,
}

impl From<&UserInfo> for UserView {
    fn from(u: &UserInfo) -> Self {
        UserView {
            id: u.id.clone(),
            role: match u.role {
                chungtay_core::UserRole::Leader => "leader",
                chungtay_core::UserRole::Deputy => "deputy",
                chungtay_core::UserRole::Auditor => "auditor",
            },
        }
    }
}

#[derive(Serialize)]
pub struct ClubView<'a> {
    pub id: &'a str,
    #[serde(flatten)]
    pub info: &'a ClubInput,
    pub stamp: StampView,
}

impl<'a> From<&'a Club> for ClubView<'a> {
    fn from(c: &'a Club) -> Self {
        ClubView {
            id: &c.id,
            info: &c.info,
            stamp: (&c.stamp).into(),
        }
    }
}

/// A member as lists show her: no survivor status, no phone when contact is unsafe.
#[derive(Serialize)]
pub struct MemberSummaryView<'a> {
    pub id: &'a str,
    pub club_id: &'a str,
    pub full_name: &'a str,
    pub birth_year: Option<i32>,
    pub gender: chungtay_core::Gender,
    pub ethnic_group: &'static str,
    pub ethnic_group_code: u8,
    pub village: &'a str,
    pub role: chungtay_core::MemberRole,
    pub safe_to_contact: bool,
    pub phone: Option<&'a str>,
}

impl<'a> From<&'a MemberSummary> for MemberSummaryView<'a> {
    fn from(m: &'a MemberSummary) -> Self {
        MemberSummaryView {
            id: &m.id,
            club_id: &m.club_id,
            full_name: &m.full_name,
            birth_year: m.birth_year,
            gender: m.gender,
            ethnic_group: m.ethnic_group.name(),
            ethnic_group_code: m.ethnic_group.code(),
            village: &m.village,
            role: m.role,
            safe_to_contact: m.safe_to_contact,
            phone: m.phone.as_deref(),
        }
    }
}

/// The member screen (its read is in the audit trail).
#[derive(Serialize)]
pub struct MemberView<'a> {
    pub id: &'a str,
    pub club_id: &'a str,
    pub full_name: &'a str,
    pub birth_year: Option<i32>,
    pub gender: chungtay_core::Gender,
    pub ethnic_group: &'static str,
    pub ethnic_group_code: u8,
    pub village: &'a str,
    pub phone: Option<&'a str>,
    pub role: chungtay_core::MemberRole,
    /// `Withheld` for a role that may not read it.
    pub survivor_status: SurvivorStatus,
    pub safe_to_contact: bool,
    pub stamp: StampView,
}

impl<'a> From<&'a Member> for MemberView<'a> {
    fn from(m: &'a Member) -> Self {
        MemberView {
            id: &m.id,
            club_id: &m.club_id,
            full_name: &m.info.full_name,
            birth_year: m.info.birth_year,
            gender: m.info.gender,
            ethnic_group: m.info.ethnic_group.name(),
            ethnic_group_code: m.info.ethnic_group.code(),
            village: &m.info.village,
            phone: m.info.phone.as_deref(),
            role: m.info.role,
            survivor_status: m.info.survivor_status,
            safe_to_contact: m.info.safe_to_contact,
            stamp: (&m.stamp).into(),
        }
    }
}

#[derive(Serialize)]
pub struct ConsentView<'a> {
    pub id: &'a str,
    #[serde(flatten)]
    pub info: &'a ConsentInput,
    pub withdrawn_on: Option<chrono::NaiveDate>,
    pub stamp: StampView,
}

impl<'a> From<&'a Consent> for ConsentView<'a> {
    fn from(c: &'a Consent) -> Self {
        ConsentView {
            id: &c.id,
            info: &c.info,
            withdrawn_on: c.withdrawn_on,
            stamp: (&c.stamp).into(),
        }
    }
}

#[derive(Serialize)]
pub struct MeetingView<'a> {
    pub id: &'a str,
    #[serde(flatten)]
    pub info: &'a MeetingInput,
    pub stamp: StampView,
}

impl<'a> From<&'a Meeting> for MeetingView<'a> {
    fn from(m: &'a Meeting) -> Self {
        MeetingView {
            id: &m.id,
            info: &m.info,
            stamp: (&m.stamp).into(),
        }
    }
}

/// A meeting in a list: no notes, no follow-ups, no attendee ids.
#[derive(Serialize)]
pub struct MeetingRow<'a> {
    pub id: &'a str,
    pub club_id: &'a str,
    pub date: chrono::NaiveDate,
    pub topic: &'a str,
    pub place: &'a str,
    pub present: usize,
    pub guests: i32,
}

impl<'a> From<&'a Meeting> for MeetingRow<'a> {
    fn from(m: &'a Meeting) -> Self {
        MeetingRow {
            id: &m.id,
            club_id: &m.info.club_id,
            date: m.info.date,
            topic: &m.info.topic,
            place: &m.info.place,
            present: m.info.attendees.len(),
            guests: m.info.guest_count,
        }
    }
}

#[derive(Serialize)]
pub struct LivelihoodView<'a> {
    pub id: &'a str,
    #[serde(flatten)]
    pub info: &'a LivelihoodInput,
    pub follow_ups: &'a [SupportFollowUp],
    pub stamp: StampView,
}

impl<'a> From<&'a Livelihood> for LivelihoodView<'a> {
    fn from(l: &'a Livelihood) -> Self {
        LivelihoodView {
            id: &l.id,
            info: &l.info,
            follow_ups: &l.follow_ups,
            stamp: (&l.stamp).into(),
        }
    }
}

#[derive(Serialize)]
pub struct ReferralView<'a> {
    pub id: &'a str,
    #[serde(flatten)]
    pub info: &'a ReferralInput,
    pub state: ReferralState,
    pub history: &'a [StateChange],
    pub stamp: StampView,
}

impl<'a> From<&'a Referral> for ReferralView<'a> {
    fn from(r: &'a Referral) -> Self {
        ReferralView {
            id: &r.id,
            info: &r.info,
            state: r.state,
            history: &r.history,
            stamp: (&r.stamp).into(),
        }
    }
}

#[derive(Serialize)]
pub struct AuditEntryView {
    pub seq: i64,
    pub at: String,
    pub user_id: String,
    pub role: Option<&'static str>,
    pub device_id: String,
    pub action: &'static str,
    pub kind: Option<&'static str>,
    pub record_id: String,
    pub fields: Vec<String>,
}

impl From<&AuditEntry> for AuditEntryView {
    fn from(e: &AuditEntry) -> Self {
        AuditEntryView {
            seq: e.seq,
            at: time(&e.at),
            user_id: e.user_id.clone(),
            role: e.role.map(|r| match r {
                chungtay_core::UserRole::Leader => "leader",
                chungtay_core::UserRole::Deputy => "deputy",
                chungtay_core::UserRole::Auditor => "auditor",
            }),
            device_id: e.device_id.clone(),
            action: e.action.as_str(),
            kind: e.kind.map(|k| k.as_str()),
            record_id: e.record_id.clone(),
            fields: e.fields.clone(),
        }
    }
}

#[derive(Serialize)]
pub struct AnnotationView {
    pub id: String,
    pub kind: &'static str,
    pub record_id: String,
    pub text: String,
    pub stamp: StampView,
}

impl From<&chungtay_core::Annotation> for AnnotationView {
    fn from(a: &chungtay_core::Annotation) -> Self {
        AnnotationView {
            id: a.id.clone(),
            kind: a.kind.as_str(),
            record_id: a.record_id.clone(),
            text: a.text.clone(),
            stamp: (&a.stamp).into(),
        }
    }
}

#[derive(Serialize)]
pub struct OverdueView {
    pub referral_id: String,
    pub member_id: String,
    pub state: ReferralState,
    pub since: String,
    pub days: i64,
}

impl From<&OverdueReferral> for OverdueView {
    fn from(o: &OverdueReferral) -> Self {
        OverdueView {
            referral_id: o.referral_id.clone(),
            member_id: o.member_id.clone(),
            state: o.state,
            since: time(&o.since),
            days: o.days,
        }
    }
}

#[derive(Serialize)]
pub struct MeetingRefView {
    pub meeting_id: String,
    pub club_id: String,
    pub date: chrono::NaiveDate,
}

impl From<&MeetingRef> for MeetingRefView {
    fn from(m: &MeetingRef) -> Self {
        MeetingRefView {
            meeting_id: m.meeting_id.clone(),
            club_id: m.club_id.clone(),
            date: m.date,
        }
    }
}

#[derive(Serialize)]
pub struct LateEditView {
    pub meeting_id: String,
    pub club_id: String,
    pub meeting_date: chrono::NaiveDate,
    pub edited_at: String,
    pub edited_by: String,
    pub days_after: i64,
}

impl From<&LateEdit> for LateEditView {
    fn from(l: &LateEdit) -> Self {
        LateEditView {
            meeting_id: l.meeting_id.clone(),
            club_id: l.club_id.clone(),
            meeting_date: l.meeting_date,
            edited_at: time(&l.edited_at),
            edited_by: l.edited_by.clone(),
            days_after: l.days_after,
        }
    }
}

#[derive(Serialize)]
pub struct FindingsView {
    pub chain_ok: bool,
    pub chain_break: Option<String>,
    pub entries: i64,
    pub last_checkpoint_seq: Option<i64>,
    pub members_without_consent: Vec<String>,
    pub overdue_referrals: Vec<OverdueView>,
    pub meetings_without_attendance: Vec<MeetingRefView>,
    pub late_meeting_edits: Vec<LateEditView>,
    pub changed_since_checkpoint: Vec<AuditEntryView>,
    pub damaged_records: Vec<DamagedView>,
}

/// A line under a list when records could not be shown: a record must not vanish silently.
pub fn damaged_note(store: &chungtay_core::Store, lang: Lang) -> Result<String, CliError> {
    let n = store.damaged_records()?.len();
    Ok(if n == 0 {
        String::new()
    } else {
        tr!(
            lang,
            "\n! {n} hồ sơ không hiện được vì hỏng hoặc không khớp nhật ký kiểm tra; xem `chungtay audit findings`.\n",
            "\n! {n} records cannot be shown: damaged or not as the audit trail wrote them; see `chungtay audit findings`.\n"
        )
    })
}

#[derive(Serialize)]
pub struct DamagedView {
    pub kind: &'static str,
    pub id: String,
    pub owner: String,
    pub reason: &'static str,
}

impl From<&Damaged> for DamagedView {
    fn from(d: &Damaged) -> Self {
        DamagedView {
            kind: d.kind.as_str(),
            id: d.id.clone(),
            owner: d.owner.clone(),
            reason: d.reason.as_str(),
        }
    }
}

impl From<&AuditFindings> for FindingsView {
    fn from(f: &AuditFindings) -> Self {
        FindingsView {
            chain_ok: f.chain_break.is_none(),
            chain_break: f.chain_break.as_ref().map(|b| b.to_string()),
            entries: f.entries,
            last_checkpoint_seq: f.last_checkpoint_seq,
            members_without_consent: f.members_without_consent.clone(),
            overdue_referrals: f.overdue_referrals.iter().map(Into::into).collect(),
            meetings_without_attendance: f
                .meetings_without_attendance
                .iter()
                .map(Into::into)
                .collect(),
            late_meeting_edits: f.late_meeting_edits.iter().map(Into::into).collect(),
            changed_since_checkpoint: f.changed_since_checkpoint.iter().map(Into::into).collect(),
            damaged_records: f.damaged_records.iter().map(Into::into).collect(),
        }
    }
}
