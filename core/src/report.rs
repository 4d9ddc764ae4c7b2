//! The monthly club report (báo cáo tháng) that a club leader hands to the commune union and
//! a field officer takes away: meetings, attendance, members by ethnic group and gender, and
//! referrals by service and by state.
//!
//! What is counted:
//! - **Meetings**: those whose meeting date falls in the month; member attendances (present
//!   members summed over those meetings) and guests.
//! - **Members**: the club's member list when the report is made (the list has no join date).
//! - **Referrals**: those of the club's current members **created during the month** (Vietnam
//!   time, UTC+7), counted by service and by the state they are in when the report is made.
//!   One referral may ask for several services, so the service rows can add up to more than
//!   the total (the number of referrals).
//!
//! Small-cell protection, so no cell points at a person: every count of people from 1 to 4 is
//! shown as `<5`, totals included. A table with any `<5` cell hides its cells of 5 and more too
//! (`x`), so that a reader who knows the total and this very rule can narrow no `<5` cell below
//! "1 to 4" ([`protect`]). When even that is not enough (a very small club: 4 women and 4 men,
//! total 8), the tables that share that total show no number at all: every non-zero cell and
//! the total become `x`. Zero stays 0. With a single
//! meeting in the month, attendance is hidden when it would give away that 1 to 4 members were
//! absent. The number of meetings counts events, not people, and is shown as it is. The raw
//! counts never leave this module: a [`MonthlyReport`] holds only what may be shown.
//!
//! Known limit: the report is rebuilt from the store each time, so two reports of the same
//! month made at different times (a new referral, an erased member in between) can be compared
//! and their difference points at one person. Keeping the first report issued for each month,
//! and refusing the month in progress, would close that; not done yet.
//!
//! Survivor status is never read here: members come from the list (no status), referrals are
//! counted by service and state only.

use chrono::{Datelike, FixedOffset, NaiveDate, Utc};
use serde::Serialize;

use crate::audit::AuditAction;
use crate::db::Db;
use crate::domain::{ETHNIC_GROUPS, EthnicGroup, Gender, Id, Timestamp};
use crate::error::{Error, Reason, RecordKind, Result, invalid};
use crate::session::Session;
use crate::text;
use crate::{clubs, meetings, referrals};

use crate::labels::gender_key;
pub use crate::labels::{
    ALL_SERVICES, ALL_STATES, gender_label, service_key, service_label, state_label,
};

use chungtay_protocol::cells::push_csv_line;
/// The small-cell rule lives in the protocol crate, shared with the province's console.
pub use chungtay_protocol::cells::{SMALL_CELL_LIMIT, Shown, protect};

/// Vietnam's offset from UTC (no daylight saving): month boundaries are local.
const VIETNAM_OFFSET_SECS: i32 = 7 * 3600;

/// Protects tables that share one total (members by ethnic group and by gender; referrals by
/// service and by state). If any of them cannot be protected with the total known, none of
/// them shows a number: every non-zero cell and the total become `x`.
fn protect_group(tables: &mut [&mut ReportTable], counts: &[Vec<u32>], total: u32) {
    let shown: Option<Vec<Vec<Shown>>> = counts.iter().map(|c| protect(c)).collect();
    match shown {
        Some(shown) => {
            for (table, shown) in tables.iter_mut().zip(shown) {
                for (row, s) in table.rows.iter_mut().zip(shown) {
                    row.count = s;
                }
                table.total = Shown::of(total);
            }
        }
        None => {
            for (table, counts) in tables.iter_mut().zip(counts) {
                for (row, c) in table.rows.iter_mut().zip(counts) {
                    row.count = if *c == 0 {
                        Shown::Count(0)
                    } else {
                        Shown::Hidden
                    };
                }
                table.total = if total == 0 {
                    Shown::Count(0)
                } else {
                    Shown::Hidden
                };
                table.note_vi = Some(text::nfc(
                    "Quá ít người để chia nhỏ mà không lộ ai: các số được ẩn.",
                ));
                table.note_en = Some(
                    "Too few people to break down without pointing at someone: numbers hidden."
                        .to_owned(),
                );
            }
        }
    }
}

/// One row of a report table.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ReportRow {
    /// Stable machine key: an ethnic group's code, `female`, `vocational_training`, `draft`...
    pub key: String,
    pub label_vi: String,
    pub label_en: String,
    pub count: Shown,
}

/// A table of counts with its total, already protected.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ReportTable {
    pub key: String,
    pub title_vi: String,
    pub title_en: String,
    pub rows: Vec<ReportRow>,
    pub total: Shown,
    /// A remark under the table (both languages), if any.
    pub note_vi: Option<String>,
    pub note_en: Option<String>,
}

impl ReportTable {
    /// A table alone (its total shared with no other table).
    #[cfg(test)]
    fn build(
        key: &str,
        titles: (&str, &str),
        rows: Vec<(String, String, String, u32)>,
        total: u32,
    ) -> ReportTable {
        let counts: Vec<u32> = rows.iter().map(|r| r.3).collect();
        let mut table = Self::unprotected(key, titles, rows);
        protect_group(&mut [&mut table], &[counts], total);
        table
    }

    /// The table's rows, every count still hidden; [`protect_group`] fills them in.
    fn unprotected(
        key: &str,
        titles: (&str, &str),
        rows: Vec<(String, String, String, u32)>,
    ) -> ReportTable {
        ReportTable {
            key: key.to_owned(),
            title_vi: text::nfc(titles.0),
            title_en: titles.1.to_owned(),
            rows: rows
                .into_iter()
                .map(|(key, vi, en, _)| ReportRow {
                    key,
                    label_vi: text::nfc(&vi),
                    label_en: en,
                    count: Shown::Hidden,
                })
                .collect(),
            total: Shown::Hidden,
            note_vi: None,
            note_en: None,
        }
    }

    /// The row with this key.
    pub fn row(&self, key: &str) -> Option<&ReportRow> {
        self.rows.iter().find(|r| r.key == key)
    }
}

/// The monthly report of one club, holding only what may be shown (see the module docs).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct MonthlyReport {
    pub club_id: Id,
    pub club_name: String,
    pub province: String,
    pub commune: String,
    pub year: i32,
    pub month: u32,
    pub generated_at: Timestamp,
    /// Meetings held in the month: events, not people, so never suppressed.
    pub meetings_held: u32,
    /// Members present, summed over the month's meetings.
    pub attendance: Shown,
    pub guests: Shown,
    pub members_by_ethnic_group: ReportTable,
    pub members_by_gender: ReportTable,
    pub referrals_by_service: ReportTable,
    pub referrals_by_state: ReportTable,
}

// ---- building the report -------------------------------------------------------------------

fn in_month(date: NaiveDate, year: i32, month: u32) -> bool {
    date.year() == year && date.month() == month
}

/// The monthly report of one club (see the module docs for what is counted and how small
/// counts are protected). Noted in the audit trail as an export of the club.
pub(crate) fn monthly(
    db: Db<'_>,
    s: &Session,
    club_id: &str,
    year: i32,
    month: u32,
) -> Result<MonthlyReport> {
    if NaiveDate::from_ymd_opt(year, month, 1).is_none() || !(2000..=9999).contains(&year) {
        return invalid("month", Reason::BadDate);
    }
    let club = clubs::get(db, s, club_id)?;
    let vietnam = FixedOffset::east_opt(VIETNAM_OFFSET_SECS).ok_or(Error::Crypto)?;

    let (mut meetings_held, mut attendance, mut guests) = (0u32, 0u32, 0u32);
    for meeting in meetings::of_club(db, s, club_id)? {
        if in_month(meeting.info.date, year, month) {
            meetings_held += 1;
            attendance = attendance.saturating_add(count_u32(meeting.info.attendees.len()));
            guests = guests.saturating_add(u32::try_from(meeting.info.guest_count).unwrap_or(0));
        }
    }

    let members = s.index.search(&crate::index::MemberFilter::club(club_id));
    let mut by_group = [0u32; ETHNIC_GROUPS.len()];
    let mut by_gender = [0u32; 3];
    let genders = [Gender::Female, Gender::Male, Gender::Other];
    let mut by_service = [0u32; ALL_SERVICES.len()];
    let mut by_state = [0u32; ALL_STATES.len()];
    let mut referrals = 0u32;
    for m in &members {
        let group = usize::from(m.ethnic_group.code()).checked_sub(1);
        if let Some(slot) = group.and_then(|i| by_group.get_mut(i)) {
            *slot += 1;
        }
        if let Some(i) = genders.iter().position(|g| *g == m.gender) {
            by_gender[i] += 1;
        }
        for r in referrals::load_for(db, s, &m.id)? {
            let created = r.stamp.created_at.with_timezone(&vietnam).date_naive();
            if !in_month(created, year, month) {
                continue;
            }
            referrals += 1;
            for (i, s) in ALL_SERVICES.iter().enumerate() {
                if r.info.services.contains(s) {
                    by_service[i] += 1;
                }
            }
            if let Some(i) = ALL_STATES.iter().position(|s| *s == r.state) {
                by_state[i] += 1;
            }
        }
    }
    let member_total = count_u32(members.len());

    let group_rows = by_group
        .iter()
        .enumerate()
        .filter(|(_, n)| **n > 0)
        .filter_map(|(i, n)| {
            let code = u8::try_from(i + 1).ok()?;
            let name = EthnicGroup::from_code(code).ok()?.name();
            // Names of peoples are the same in both languages.
            Some((code.to_string(), name.to_owned(), name.to_owned(), *n))
        })
        .collect();
    let group_counts: Vec<u32> = by_group.iter().copied().filter(|n| *n > 0).collect();
    let mut members_by_ethnic_group = ReportTable::unprotected(
        "members_by_ethnic_group",
        ("Thành viên theo dân tộc", "Members by ethnic group"),
        group_rows,
    );
    let gender_rows = genders
        .iter()
        .zip(by_gender)
        .map(|(g, n)| {
            let (vi, en) = gender_label(*g);
            (gender_key(*g).to_owned(), vi.to_owned(), en.to_owned(), n)
        })
        .collect();
    let mut members_by_gender = ReportTable::unprotected(
        "members_by_gender",
        ("Thành viên theo giới tính", "Members by gender"),
        gender_rows,
    );
    protect_group(
        &mut [&mut members_by_ethnic_group, &mut members_by_gender],
        &[group_counts, by_gender.to_vec()],
        member_total,
    );
    let service_rows = ALL_SERVICES
        .iter()
        .zip(by_service)
        .map(|(s, n)| {
            let (vi, en) = service_label(*s);
            (service_key(*s).to_owned(), vi.to_owned(), en.to_owned(), n)
        })
        .collect();
    let mut referrals_by_service = ReportTable::unprotected(
        "referrals_by_service",
        (
            "Giới thiệu lập trong tháng, theo dịch vụ",
            "Referrals made this month, by service",
        ),
        service_rows,
    );
    referrals_by_service.note_vi = Some(text::nfc(
        "Một giới thiệu có thể gồm nhiều dịch vụ; tổng là số giới thiệu.",
    ));
    referrals_by_service.note_en = Some(
        "One referral may ask for several services; the total is the number of referrals."
            .to_owned(),
    );
    let state_rows = ALL_STATES
        .iter()
        .zip(by_state)
        .map(|(s, n)| {
            let (vi, en) = state_label(*s);
            (s.as_str().to_owned(), vi.to_owned(), en.to_owned(), n)
        })
        .collect();
    let mut referrals_by_state = ReportTable::unprotected(
        "referrals_by_state",
        (
            "Giới thiệu lập trong tháng, theo trạng thái hiện tại",
            "Referrals made this month, by current state",
        ),
        state_rows,
    );
    referrals_by_state.note_vi = Some(text::nfc("Trạng thái tại thời điểm lập báo cáo."));
    referrals_by_state.note_en = Some("State when the report was made.".to_owned());
    protect_group(
        &mut [&mut referrals_by_service, &mut referrals_by_state],
        &[by_service.to_vec(), by_state.to_vec()],
        referrals,
    );
    // With a single meeting, members minus attendance is the number absent: hide the
    // attendance when that would be 1 to 4 and the member total is shown.
    let absent = member_total.saturating_sub(attendance);
    let attendance_shown = if meetings_held == 1
        && members_by_gender.total.count().is_some()
        && Shown::of(absent) == Shown::Small
    {
        Shown::Hidden
    } else {
        Shown::of(attendance)
    };

    // The report leaves the phone (a file, a printout): note it like an export.
    db.note(
        s,
        AuditAction::Export,
        RecordKind::Club,
        club_id,
        vec!["monthly_report".to_owned()],
    )?;

    Ok(MonthlyReport {
        club_id: club.id,
        club_name: club.info.name,
        province: club.info.province,
        commune: club.info.commune,
        year,
        month,
        generated_at: Utc::now(),
        meetings_held,
        attendance: attendance_shown,
        guests: Shown::of(guests),
        members_by_ethnic_group,
        members_by_gender,
        referrals_by_service,
        referrals_by_state,
    })
}

fn count_u32(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

// ---- output --------------------------------------------------------------------------------

/// The CSV's header line (after the byte-order mark).
pub const CSV_HEADER: [&str; 3] = ["Phần / Section", "Mục / Item", "Giá trị / Value"];

const LEGEND_SMALL: (&str, &str) = ("từ 1 đến 4", "1 to 4");
const LEGEND_HIDDEN: (&str, &str) = (
    "ẩn để tổng không làm lộ ô nhỏ",
    "hidden so that the total cannot reveal a small cell",
);

/// One line of the report as the CSV and the spreadsheet lay it out.
enum Line {
    /// A labelled text value.
    Text(String, String, String),
    /// A labelled count.
    Count(String, String, Shown),
    /// A labelled plain number that is never suppressed.
    Number(String, String, u32),
    /// A total row.
    Total(Shown),
    /// A remark: Vietnamese, English.
    Note(String, String),
}

impl MonthlyReport {
    /// `2026-11`
    pub fn month_text(&self) -> String {
        format!("{:04}-{:02}", self.year, self.month)
    }

    pub fn tables(&self) -> [&ReportTable; 4] {
        [
            &self.members_by_ethnic_group,
            &self.members_by_gender,
            &self.referrals_by_service,
            &self.referrals_by_state,
        ]
    }

    /// Sections, in order: (Vietnamese title, English title, lines).
    fn layout(&self) -> Vec<(String, String, Vec<Line>)> {
        let s = |v: &str| text::nfc(v);
        let mut out = vec![
            (
                s("Thông tin"),
                "About".to_owned(),
                vec![
                    Line::Text(s("Câu lạc bộ"), "Club".into(), self.club_name.clone()),
                    Line::Text(s("Xã"), "Commune".into(), self.commune.clone()),
                    Line::Text(s("Tỉnh"), "Province".into(), self.province.clone()),
                    Line::Text(s("Tháng"), "Month".into(), self.month_text()),
                    Line::Text(
                        s("Lập lúc"),
                        "Generated at".into(),
                        self.generated_at
                            .to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                    ),
                    Line::Text(
                        "<5".into(),
                        "<5".into(),
                        format!("{} / {}", s(LEGEND_SMALL.0), LEGEND_SMALL.1),
                    ),
                    Line::Text(
                        "x".into(),
                        "x".into(),
                        format!("{} / {}", s(LEGEND_HIDDEN.0), LEGEND_HIDDEN.1),
                    ),
                ],
            ),
            (
                s("Sinh hoạt"),
                "Meetings".to_owned(),
                vec![
                    Line::Number(
                        s("Số buổi sinh hoạt"),
                        "Meetings held".into(),
                        self.meetings_held,
                    ),
                    Line::Count(
                        s("Lượt thành viên tham dự"),
                        "Member attendances".into(),
                        self.attendance,
                    ),
                    Line::Count(s("Khách mời"), "Guests".into(), self.guests),
                ],
            ),
        ];
        for table in self.tables() {
            let mut lines: Vec<Line> = table
                .rows
                .iter()
                .map(|r| Line::Count(r.label_vi.clone(), r.label_en.clone(), r.count))
                .collect();
            lines.push(Line::Total(table.total));
            if let (Some(vi), Some(en)) = (&table.note_vi, &table.note_en) {
                lines.push(Line::Note(vi.clone(), en.clone()));
            }
            out.push((table.title_vi.clone(), table.title_en.clone(), lines));
        }
        out
    }

    /// The report as CSV (UTF-8 with a byte-order mark, so spreadsheets read the diacritics):
    /// one line per value, columns "section / item / value", Vietnamese and English joined
    /// with " / ".
    pub fn to_csv(&self) -> String {
        let mut out = String::from("\u{feff}");
        push_csv_line(&mut out, &CSV_HEADER);
        let both = |vi: &str, en: &str| {
            if vi == en {
                vi.to_owned()
            } else {
                format!("{vi} / {en}")
            }
        };
        for (vi, en, lines) in self.layout() {
            let section = both(&vi, &en);
            for line in lines {
                let (item, value) = match line {
                    Line::Note(v, e) => (both(&v, &e), String::new()),
                    Line::Text(v, e, value) => (both(&v, &e), value),
                    Line::Count(v, e, n) => (both(&v, &e), n.to_string()),
                    Line::Number(v, e, n) => (both(&v, &e), n.to_string()),
                    Line::Total(n) => (both(&text::nfc("Tổng"), "Total"), n.to_string()),
                };
                push_csv_line(&mut out, &[&section, &item, &value]);
            }
        }
        out
    }

    /// The report as an Excel workbook, built in memory, laid out as the paper form the union
    /// prints and files: one sheet per language (Vietnamese first, then English), labels in
    /// column A and values in column B (counts as numbers, `<5` and `x` as text). Each sheet
    /// prints on A4 portrait, one page wide, with the club, commune and month in the page
    /// header, the title row repeated on every page and the page number in the footer.
    pub fn to_xlsx(&self) -> Result<Vec<u8>> {
        use rust_xlsxwriter::{DocProperties, Workbook};
        let xlsx = |e: rust_xlsxwriter::XlsxError| Error::Io(std::io::Error::other(e.to_string()));
        let mut book = Workbook::new();
        book.set_properties(
            &DocProperties::new()
                .set_title(text::nfc("Báo cáo tháng câu lạc bộ"))
                .set_subject("Chung Tay monthly club report"),
        );
        let layout = self.layout();
        for vietnamese in [true, false] {
            self.write_sheet(&mut book, &layout, vietnamese)
                .map_err(xlsx)?;
        }
        book.save_to_buffer().map_err(xlsx)
    }

    /// One language's sheet of [`MonthlyReport::to_xlsx`].
    fn write_sheet(
        &self,
        book: &mut rust_xlsxwriter::Workbook,
        layout: &[(String, String, Vec<Line>)],
        vietnamese: bool,
    ) -> std::result::Result<(), rust_xlsxwriter::XlsxError> {
        use rust_xlsxwriter::{Format, FormatAlign, FormatBorder};
        let pick = |vi: &str, en: &str| {
            if vietnamese {
                text::nfc(vi)
            } else {
                en.to_owned()
            }
        };
        let bold = Format::new().set_bold();
        let heading = Format::new().set_bold().set_font_size(14);
        let section = Format::new()
            .set_bold()
            .set_border_bottom(FormatBorder::Thin);
        let section_right = section.clone().set_align(FormatAlign::Right);
        let right = Format::new().set_align(FormatAlign::Right);
        let bold_right = Format::new().set_bold().set_align(FormatAlign::Right);
        let italic = Format::new().set_italic().set_text_wrap();
        let sheet = book.add_worksheet();
        sheet.set_name(pick("Báo cáo tháng", "Monthly report"))?;
        sheet.set_column_width(0, 58)?;
        sheet.set_column_width(1, 22)?;
        // A4 portrait, one page wide however long the tables grow.
        sheet.set_paper_size(9);
        sheet.set_portrait();
        sheet.set_print_fit_to_pages(1, 0);
        sheet.set_margins(0.6, 0.6, 0.8, 0.8, 0.3, 0.3);
        // In a header, "&" starts a code: a club named "A & B" must print as it is.
        let header_text = |s: &str| s.replace('&', "&&");
        sheet.set_header(format!(
            "&L{}&C{}&R{}",
            header_text(&self.club_name),
            header_text(&self.commune),
            self.month_text()
        ));
        sheet.set_footer(pick("&CTrang &P / &N", "&CPage &P of &N"));
        sheet.set_repeat_rows(0, 0)?;
        sheet.write_string_with_format(
            0,
            0,
            pick("Báo cáo tháng của câu lạc bộ", "Monthly club report"),
            &heading,
        )?;
        let mut row: u32 = 2;
        for (i, (vi, en, lines)) in layout.iter().enumerate() {
            let column = if i == 0 {
                pick("Giá trị", "Value")
            } else {
                pick("Số lượng", "Count")
            };
            sheet.write_string_with_format(row, 0, pick(vi, en), &section)?;
            sheet.write_string_with_format(row, 1, column, &section_right)?;
            row += 1;
            for line in lines {
                match line {
                    Line::Note(v, e) => {
                        sheet.write_string_with_format(row, 0, pick(v, e), &italic)?;
                    }
                    Line::Text(v, e, value) => {
                        let value = match v.as_str() {
                            "<5" => pick(LEGEND_SMALL.0, LEGEND_SMALL.1),
                            "x" => pick(LEGEND_HIDDEN.0, LEGEND_HIDDEN.1),
                            _ => value.clone(),
                        };
                        sheet.write_string(row, 0, pick(v, e))?;
                        sheet.write_string_with_format(row, 1, value, &right)?;
                    }
                    Line::Count(v, e, n) => {
                        sheet.write_string(row, 0, pick(v, e))?;
                        write_shown(sheet, row, *n, &right)?;
                    }
                    Line::Number(v, e, n) => {
                        sheet.write_string(row, 0, pick(v, e))?;
                        sheet.write_number(row, 1, *n)?;
                    }
                    Line::Total(n) => {
                        sheet.write_string_with_format(row, 0, pick("Tổng", "Total"), &bold)?;
                        write_shown(sheet, row, *n, &bold_right)?;
                    }
                }
                row += 1;
            }
            row += 1;
        }
        Ok(())
    }
}

fn write_shown(
    sheet: &mut rust_xlsxwriter::Worksheet,
    row: u32,
    value: Shown,
    format: &rust_xlsxwriter::Format,
) -> std::result::Result<(), rust_xlsxwriter::XlsxError> {
    match value {
        Shown::Count(n) => sheet.write_number_with_format(row, 1, n, format)?,
        other => sheet.write_string_with_format(row, 1, other.to_string(), format)?,
    };
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use unicode_normalization::is_nfc;

    use Shown::{Count, Hidden, Small};

    #[test]
    fn a_table_that_the_total_pins_whatever_is_hidden_is_refused() {
        // 4 women, 4 men (total 8): both <5 cells must be 4.
        assert_eq!(protect(&[4, 4, 0]), None);
        // The two tables sharing that total then show no number at all.
        let row = |k: &str, n| (k.to_owned(), k.to_owned(), k.to_owned(), n);
        let mut a = ReportTable::unprotected("a", ("A", "A"), vec![row("f", 4), row("m", 4)]);
        let mut b = ReportTable::unprotected("b", ("B", "B"), vec![row("thai", 8)]);
        protect_group(&mut [&mut a, &mut b], &[vec![4, 4], vec![8]], 8);
        for t in [&a, &b] {
            assert_eq!(t.total, Hidden);
            assert!(t.rows.iter().all(|r| r.count == Hidden));
            assert!(t.note_en.as_deref().unwrap_or("").contains("Too few"));
        }
    }

    #[test]
    fn totals_stay_visible_when_the_table_can_be_protected() {
        let rows = vec![
            ("a".to_owned(), "A".to_owned(), "A".to_owned(), 1),
            ("b".to_owned(), "B".to_owned(), "B".to_owned(), 7),
            ("c".to_owned(), "C".to_owned(), "C".to_owned(), 12),
        ];
        let t = ReportTable::build("t", ("Bảng", "Table"), rows, 20);
        assert_eq!(t.total, Count(20));
        // A total from 1 to 4 is itself <5.
        let one = vec![("a".to_owned(), "A".to_owned(), "A".to_owned(), 3)];
        let t = ReportTable::build("t", ("Bảng", "Table"), one, 3);
        assert_eq!(t.total, Small);
        assert_eq!(t.rows[0].count, Small);
    }

    fn sample() -> MonthlyReport {
        let t = |key: &str, rows: Vec<(&str, u32)>, total| {
            ReportTable::build(
                key,
                ("Dân tộc", "Ethnic group"),
                rows.into_iter()
                    .map(|(k, n)| (k.to_owned(), k.to_owned(), k.to_owned(), n))
                    .collect(),
                total,
            )
        };
        MonthlyReport {
            club_id: "c1".into(),
            // Typed in NFD, as some keyboards do: the report must come out in NFC.
            club_name: text::clean("CLB Pu\u{300} Nhi, \"ba\u{309}n Chai\""),
            province: "Thanh Hóa".into(),
            commune: "Pù Nhi".into(),
            year: 2026,
            month: 11,
            generated_at: Utc::now(),
            meetings_held: 1,
            attendance: Shown::of(18),
            guests: Shown::of(3),
            members_by_ethnic_group: t("e", vec![("Thái", 12), ("Mông", 7), ("Dao", 1)], 20),
            members_by_gender: t("g", vec![("Nữ", 20), ("Nam", 0)], 20),
            referrals_by_service: t("s", vec![("Học nghề", 1)], 1),
            referrals_by_state: t("st", vec![("Sẵn sàng gửi", 1)], 1),
        }
    }

    #[test]
    fn csv_has_its_header_and_parses() {
        let csv_text = sample().to_csv();
        let body = csv_text
            .strip_prefix('\u{feff}')
            .expect("starts with a byte-order mark");
        assert!(body.starts_with("Phần / Section,Mục / Item,Giá trị / Value\r\n"));
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(true)
            .from_reader(body.as_bytes());
        let headers = reader.headers().unwrap().clone();
        assert_eq!(headers.iter().collect::<Vec<_>>(), CSV_HEADER.to_vec());
        let rows: Vec<csv::StringRecord> = reader.records().map(|r| r.unwrap()).collect();
        assert!(rows.iter().all(|r| r.len() == 3));
        let find = |section: &str, item: &str| {
            rows.iter()
                .find(|r| r[0] == *section && r[1] == *item)
                .map(|r| r[2].to_owned())
        };
        assert_eq!(
            find("Thông tin / About", "Câu lạc bộ / Club").as_deref(),
            Some("CLB Pù Nhi, \"bản Chai\"")
        );
        assert_eq!(
            find("Sinh hoạt / Meetings", "Khách mời / Guests").as_deref(),
            Some("<5")
        );
        assert_eq!(find("Dân tộc / Ethnic group", "Dao").as_deref(), Some("<5"));
        assert_eq!(find("Dân tộc / Ethnic group", "Mông").as_deref(), Some("x"));
        // With a <5 cell in the table, the counts of 5 and more are hidden too.
        assert_eq!(find("Dân tộc / Ethnic group", "Thái").as_deref(), Some("x"));
        assert_eq!(
            find("Dân tộc / Ethnic group", "Tổng / Total").as_deref(),
            Some("20")
        );
    }

    #[test]
    fn csv_never_starts_a_cell_with_a_formula() {
        let mut r = sample();
        r.club_name = "=HYPERLINK(\"x\")".into();
        let csv_text = r.to_csv();
        assert!(csv_text.contains("\"'=HYPERLINK(\"\"x\"\")\""));
    }

    #[test]
    fn every_text_is_nfc() {
        let r = sample();
        let csv_text = r.to_csv();
        assert!(is_nfc(&csv_text));
        let json = serde_json::to_string(&r).unwrap();
        assert!(is_nfc(&json));
        for (vi, en) in ALL_SERVICES.iter().map(|s| service_label(*s)) {
            assert!(is_nfc(vi) && is_nfc(en));
        }
        for (vi, en) in ALL_STATES.iter().map(|s| state_label(*s)) {
            assert!(is_nfc(vi) && is_nfc(en));
        }
        assert!(ETHNIC_GROUPS.iter().all(|g| is_nfc(g)));
    }

    #[test]
    fn json_shows_small_cells_as_text() {
        let json = serde_json::to_value(sample()).unwrap();
        assert_eq!(json["guests"], "<5");
        assert_eq!(json["attendance"], 18);
        assert_eq!(json["members_by_ethnic_group"]["rows"][1]["count"], "x");
    }

    #[test]
    fn xlsx_is_a_zip_file() {
        let bytes = sample().to_xlsx().unwrap();
        assert_eq!(&bytes[..2], b"PK");
        assert!(bytes.len() > 1000);
    }
}
