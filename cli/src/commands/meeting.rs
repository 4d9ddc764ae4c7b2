//! `chungtay meeting add|list|show`.

use chungtay_core::MeetingInput;

use crate::args;
use crate::ctx::Ctx;
use crate::error::CliError;
use crate::lang::tr;
use crate::output::{Output, fields_then_note, shown, table};
use crate::views::damaged_note;
use crate::views::{MeetingRow, MeetingView};

#[derive(clap::Subcommand)]
pub enum MeetingCmd {
    /// Ghi một buổi sinh hoạt / record a meeting
    Add {
        #[arg(long)]
        club: String,
        /// Ngày (YYYY-MM-DD) / date
        #[arg(long)]
        date: String,
        /// Chủ đề / topic
        #[arg(long)]
        topic: String,
        /// Địa điểm / place
        #[arg(long)]
        place: String,
        /// Người điều hành / facilitator
        #[arg(long)]
        facilitator: String,
        /// Mã thành viên có mặt (lặp lại) / id of a member present (repeat)
        #[arg(long = "attendee", value_name = "MEMBER_ID")]
        attendees: Vec<String>,
        /// Số khách mời / number of guests
        #[arg(long, default_value_t = 0)]
        guests: i32,
        /// Ghi chép (có thể nhạy cảm) / notes (may be sensitive)
        #[arg(long, default_value = "")]
        notes: String,
        /// Việc cần làm: "VIỆC|NGƯỜI|YYYY-MM-DD" (lặp lại) / follow-up task (repeat)
        #[arg(long = "follow-up", value_name = "TASK|PERSON|DATE")]
        follow_ups: Vec<String>,
    },
    /// Các buổi sinh hoạt của câu lạc bộ, mới nhất trước / a club's meetings, newest first
    List {
        #[arg(long)]
        club: String,
    },
    /// Một buổi sinh hoạt với ghi chép (ghi vào nhật ký) / one meeting with its notes (noted in
    /// the audit trail)
    Show { id: String },
}

pub fn run(ctx: &mut Ctx, cmd: MeetingCmd) -> Result<Output, CliError> {
    let lang = ctx.lang();
    match cmd {
        MeetingCmd::Add {
            club,
            date,
            topic,
            place,
            facilitator,
            attendees,
            guests,
            notes,
            follow_ups,
        } => {
            let date = args::date("--date", &date)?;
            let follow_ups = follow_ups
                .iter()
                .map(|f| args::follow_up(f))
                .collect::<Result<Vec<_>, _>>()?;
            let mut store = ctx.open()?;
            let meeting = store.record_meeting(&MeetingInput {
                club_id: club,
                date,
                topic,
                place,
                facilitator,
                attendees,
                guest_count: guests,
                notes,
                follow_ups,
            })?;
            let id = &meeting.id;
            let present = meeting.info.attendees.len();
            let text = tr!(
                lang,
                "Đã ghi buổi sinh hoạt {id} ({present} thành viên có mặt, {guests} khách).",
                "Meeting {id} recorded ({present} members present, {guests} guests)."
            );
            Output::new(MeetingView::from(&meeting), text)
        }
        MeetingCmd::List { club } => {
            let store = ctx.open()?;
            store.club(&club)?;
            let meetings = store.meetings(&club)?;
            let rows: Vec<Vec<String>> = meetings
                .iter()
                .map(|m| {
                    vec![
                        m.id.clone(),
                        m.info.date.to_string(),
                        m.info.topic.clone(),
                        m.info.attendees.len().to_string(),
                        m.info.guest_count.to_string(),
                    ]
                })
                .collect();
            let text = table(
                &[
                    lang.pick("Mã", "Id"),
                    lang.pick("Ngày", "Date"),
                    lang.pick("Chủ đề", "Topic"),
                    lang.pick("Có mặt", "Present"),
                    lang.pick("Khách", "Guests"),
                ],
                &rows,
            );
            let views: Vec<MeetingRow> = meetings.iter().map(Into::into).collect();
            let text = text + &damaged_note(&store, lang)?;
            Output::new(views, text)
        }
        MeetingCmd::Show { id } => {
            let store = ctx.open()?;
            let m = store.meeting(&id)?;
            let mut text = fields_then_note(
                &[
                    (lang.pick("Mã", "Id"), m.id.clone()),
                    (lang.pick("Câu lạc bộ", "Club"), m.info.club_id.clone()),
                    (lang.pick("Ngày", "Date"), m.info.date.to_string()),
                    (lang.pick("Chủ đề", "Topic"), m.info.topic.clone()),
                    (lang.pick("Địa điểm", "Place"), m.info.place.clone()),
                    (
                        lang.pick("Người điều hành", "Facilitator"),
                        m.info.facilitator.clone(),
                    ),
                    (
                        lang.pick("Có mặt", "Present"),
                        m.info.attendees.len().to_string(),
                    ),
                    (
                        lang.pick("Khách mời", "Guests"),
                        m.info.guest_count.to_string(),
                    ),
                ],
                (lang.pick("Ghi chép", "Notes"), &m.info.notes),
            );
            for f in &m.info.follow_ups {
                let done = if f.done { " ✓" } else { "" };
                text.push_str(&format!(
                    "- {} ({}, {}){}\n",
                    shown(&f.task),
                    shown(&f.person),
                    f.due,
                    done
                ));
            }
            Output::new(MeetingView::from(&m), text)
        }
    }
}
