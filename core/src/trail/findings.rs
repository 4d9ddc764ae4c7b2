//! The field audit's findings: what is missing or overdue (meetings without follow-up,
//! referrals without an answer), records edited long after the fact, and damage.

use chrono::{NaiveDate, Utc};

use crate::audit::{AuditAction, AuditEntry};
use crate::db::Db;
use crate::domain::{Id, ReferralState, Timestamp};
use crate::error::ChainBreak;
use crate::error::Result;
use crate::ledger::{CheckedTrail, parse_time};
use crate::session::Session;
use crate::{clubs, meetings};

use super::{check, checkpoints};

/// Days after which something is overdue; the province sets its own.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct OverdueThresholds {
    pub draft_days: i64,
    pub ready_days: i64,
    pub queued_days: i64,
    pub sent_days: i64,
    pub received_days: i64,
    pub accepted_days: i64,
    pub in_progress_days: i64,
    /// A meeting changed this long after it took place is flagged.
    pub late_edit_days: i64,
}

impl Default for OverdueThresholds {
    fn default() -> Self {
        Self {
            draft_days: 14,
            ready_days: 3,
            queued_days: 3,
            sent_days: 7,
            received_days: 7,
            accepted_days: 14,
            in_progress_days: 90,
            late_edit_days: 7,
        }
    }
}

impl OverdueThresholds {
    fn for_state(&self, state: ReferralState) -> Option<i64> {
        use ReferralState::*;
        match state {
            Draft => Some(self.draft_days),
            Ready => Some(self.ready_days),
            Queued => Some(self.queued_days),
            Sent => Some(self.sent_days),
            Received => Some(self.received_days),
            Accepted => Some(self.accepted_days),
            InProgress => Some(self.in_progress_days),
            Declined | Completed | Withdrawn => None,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct OverdueReferral {
    pub referral_id: Id,
    pub member_id: Id,
    pub state: ReferralState,
    pub since: Timestamp,
    pub days: i64,
}

#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct LateEdit {
    pub meeting_id: Id,
    pub club_id: Id,
    pub meeting_date: NaiveDate,
    pub edited_at: Timestamp,
    pub edited_by: Id,
    pub days_after: i64,
}

#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct MeetingRef {
    pub meeting_id: Id,
    pub club_id: Id,
    pub date: NaiveDate,
}

/// What a field visit looks at first (scenario 3 of DOMAIN.md).
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct AuditFindings {
    /// The trail itself: None when it verifies.
    pub chain_break: Option<ChainBreak>,
    pub entries: i64,
    pub last_checkpoint_seq: Option<i64>,
    pub members_without_consent: Vec<Id>,
    pub overdue_referrals: Vec<OverdueReferral>,
    pub meetings_without_attendance: Vec<MeetingRef>,
    pub late_meeting_edits: Vec<LateEdit>,
    /// Creates, updates and deletes since the last checkpoint, with who made them.
    pub changed_since_checkpoint: Vec<AuditEntry>,
    /// Records that are not as the trail last wrote them: unreadable, older copies, deleted
    /// ones back in the file, rows the trail never wrote, rows gone from the file.
    pub damaged_records: Vec<crate::error::Damaged>,
}

/// The field-audit view: what a visiting officer checks first.
pub(crate) fn findings(
    db: Db<'_>,
    session: &Session,
    thresholds: &OverdueThresholds,
) -> Result<AuditFindings> {
    let now = Utc::now();
    let CheckedTrail {
        entries: trail,
        verdict: chain,
        damaged: damaged_records,
    } = check(db, session)?;
    let checkpoints = checkpoints(db, session)?;
    let last_checkpoint_seq = checkpoints.last().map(|c| c.seq);

    let mut stmt = db.conn.prepare(
        "SELECT id FROM members WHERE id NOT IN (SELECT member_id FROM consents) ORDER BY id",
    )?;
    let members_without_consent = stmt
        .query_map([], |r| r.get(0))?
        .collect::<Result<Vec<Id>, _>>()?;

    let mut overdue_referrals = Vec::new();
    let mut stmt = db
        .conn
        .prepare("SELECT id, member_id, state, updated_at FROM referrals ORDER BY updated_at")?;
    let rows = stmt.query_map([], |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, String>(2)?,
            r.get::<_, String>(3)?,
        ))
    })?;
    for row in rows {
        let (id, member_id, state, since) = row?;
        let Some(state) = ReferralState::parse(&state) else {
            continue;
        };
        let since = parse_time(&since)?;
        let days = (now - since).num_days();
        if thresholds
            .for_state(state)
            .is_some_and(|limit| days > limit)
        {
            overdue_referrals.push(OverdueReferral {
                referral_id: id,
                member_id,
                state,
                since,
                days,
            });
        }
    }

    let mut meetings_without_attendance = Vec::new();
    let mut late_meeting_edits = Vec::new();
    for club in clubs::all(db, session)? {
        for m in meetings::of_club(db, session, &club.id)? {
            if m.info.attendees.is_empty() {
                meetings_without_attendance.push(MeetingRef {
                    meeting_id: m.id.clone(),
                    club_id: club.id.clone(),
                    date: m.info.date,
                });
            }
            let held = m.info.date.and_hms_opt(23, 59, 59).map(|d| d.and_utc());
            if let Some(held) = held {
                let days_after = (m.stamp.updated_at - held).num_days();
                if m.stamp.updated_at != m.stamp.created_at
                    && days_after >= thresholds.late_edit_days
                {
                    late_meeting_edits.push(LateEdit {
                        meeting_id: m.id.clone(),
                        club_id: club.id.clone(),
                        meeting_date: m.info.date,
                        edited_at: m.stamp.updated_at,
                        edited_by: m.stamp.updated_by.clone(),
                        days_after,
                    });
                }
            }
        }
    }

    let after = last_checkpoint_seq.unwrap_or(0);
    let changed_since_checkpoint = trail
        .into_iter()
        .map(|(e, _)| e)
        .filter(|e| {
            e.seq > after
                && matches!(
                    e.action,
                    AuditAction::Create | AuditAction::Update | AuditAction::Delete
                )
        })
        .collect();

    Ok(AuditFindings {
        entries: chain.as_ref().map(|n| *n).unwrap_or(0),
        chain_break: chain.err(),
        last_checkpoint_seq,
        members_without_consent,
        overdue_referrals,
        meetings_without_attendance,
        late_meeting_edits,
        changed_since_checkpoint,
        damaged_records,
    })
}
