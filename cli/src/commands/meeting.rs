//! `chungtay meeting add|edit|list|show`.

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
    /// Sửa một buổi sinh hoạt: chỉ đổi những gì được ghi trên dòng lệnh (điểm danh bổ sung,
    /// việc đã làm) / edit a meeting: only what is given changes (late attendance, a follow-up
    /// done)
    #[command(group(clap::ArgGroup::new("change").required(true).multiple(true).args(["date", "topic", "place", "facilitator", "attendees", "remove_attendees", "guests", "notes", "follow_ups", "done"])))]
    Edit {
        id: String,
        /// Ngày (YYYY-MM-DD) / date
        #[arg(long)]
        date: Option<String>,
        /// Chủ đề / topic
        #[arg(long)]
        topic: Option<String>,
        /// Địa điểm / place
        #[arg(long)]
        place: Option<String>,
        /// Người điều hành / facilitator
        #[arg(long)]
        facilitator: Option<String>,
        /// Thêm người có mặt (lặp lại) / add a member present (repeat)
        #[arg(long = "attendee", value_name = "MEMBER_ID")]
        attendees: Vec<String>,
        /// Bỏ người có mặt (lặp lại) / remove a member from those present (repeat)
        #[arg(long = "remove-attendee", value_name = "MEMBER_ID")]
        remove_attendees: Vec<String>,
        /// Số khách mời / number of guests
        #[arg(long)]
        guests: Option<i32>,
        /// Ghi chép thay cho ghi chép cũ / notes, replacing the old ones
        #[arg(long)]
        notes: Option<String>,
        /// Thêm việc cần làm: "VIỆC|NGƯỜI|YYYY-MM-DD" (lặp lại) / add a follow-up (repeat)
        #[arg(long = "follow-up", value_name = "TASK|PERSON|DATE")]
        follow_ups: Vec<String>,
        /// Đánh dấu việc thứ N (từ 1, như `meeting show`) đã làm (lặp lại) / mark follow-up N
        /// (from 1, as `meeting show` numbers them) done (repeat)
        #[arg(long = "done", value_name = "N")]
        done: Vec<usize>,
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
        MeetingCmd::Edit {
            id,
            date,
            topic,
            place,
            facilitator,
            attendees,
            remove_attendees,
            guests,
            notes,
            follow_ups,
            done,
        } => {
            // Values checked here fail before anything is read or written.
            let date = date.map(|d| args::date("--date", &d)).transpose()?;
            let follow_ups = follow_ups
                .iter()
                .map(|f| args::follow_up(f))
                .collect::<Result<Vec<_>, _>>()?;
            let mut store = ctx.open()?;
            // Read and written in one step: the trail gets the update, not a read besides.
            let meeting = store.edit_meeting(&id, |info| {
                for n in done {
                    let Some(f) = n.checked_sub(1).and_then(|i| info.follow_ups.get_mut(i)) else {
                        return Err(CliError::BadFormat {
                            field: "--done",
                            expected: [
                                "số thứ tự của một việc cần làm mà `meeting show` liệt kê (từ 1)",
                                "the number of a follow-up listed by `meeting show` (from 1)",
                            ],
                        });
                    };
                    f.done = true;
                }
                if let Some(date) = date {
                    info.date = date;
                }
                if let Some(topic) = topic {
                    info.topic = topic;
                }
                if let Some(place) = place {
                    info.place = place;
                }
                if let Some(facilitator) = facilitator {
                    info.facilitator = facilitator;
                }
                info.attendees.retain(|a| !remove_attendees.contains(a));
                for a in attendees {
                    if !info.attendees.contains(&a) {
                        info.attendees.push(a);
                    }
                }
                if let Some(guests) = guests {
                    info.guest_count = guests;
                }
                if let Some(notes) = notes {
                    info.notes = notes;
                }
                info.follow_ups.extend(follow_ups);
                Ok::<_, CliError>(())
            })?;
            let present = meeting.info.attendees.len();
            let guests = meeting.info.guest_count;
            let text = tr!(
                lang,
                "Đã sửa buổi sinh hoạt {id} ({present} thành viên có mặt, {guests} khách).",
                "Meeting {id} updated ({present} members present, {guests} guests)."
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
            for (n, f) in m.info.follow_ups.iter().enumerate() {
                let done = if f.done { " ✓" } else { "" };
                text.push_str(&format!(
                    "{}. {} ({}, {}){}\n",
                    n + 1,
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
