//! `chungtay report monthly`: the club's monthly report as XLSX and/or CSV, small counts
//! protected (see core/src/report.rs).

use std::path::PathBuf;

use chungtay_core::report::{MonthlyReport, ReportTable};

use crate::args;
use crate::commands::write_file;
use crate::ctx::Ctx;
use crate::error::CliError;
use crate::lang::{Lang, tr};
use crate::output::{Output, fields, table};

#[derive(clap::Subcommand)]
pub enum ReportCmd {
    /// Báo cáo tháng của câu lạc bộ / a club's monthly report
    Monthly {
        #[arg(long)]
        club: String,
        /// Tháng (YYYY-MM) / month
        #[arg(long)]
        month: String,
        /// Ghi tệp Excel / write an Excel file
        #[arg(long, value_name = "FILE")]
        xlsx: Option<PathBuf>,
        /// Ghi tệp CSV / write a CSV file
        #[arg(long, value_name = "FILE")]
        csv: Option<PathBuf>,
    },
}

fn table_text(lang: Lang, t: &ReportTable) -> String {
    let pick = |vi: &str, en: &str| match lang {
        Lang::Vi => vi.to_owned(),
        Lang::En => en.to_owned(),
    };
    let mut rows: Vec<Vec<String>> = t
        .rows
        .iter()
        .map(|r| vec![pick(&r.label_vi, &r.label_en), r.count.to_string()])
        .collect();
    rows.push(vec![
        lang.pick("Tổng", "Total").to_owned(),
        t.total.to_string(),
    ]);
    let mut out = pick(&t.title_vi, &t.title_en);
    out.push('\n');
    out.push_str(&table(
        &[lang.pick("Mục", "Item"), lang.pick("Số lượng", "Count")],
        &rows,
    ));
    out
}

fn report_text(lang: Lang, r: &MonthlyReport) -> String {
    let mut out = fields(&[
        (lang.pick("Câu lạc bộ", "Club"), r.club_name.clone()),
        (lang.pick("Tháng", "Month"), r.month_text()),
        (
            lang.pick("Số buổi sinh hoạt", "Meetings held"),
            r.meetings_held.to_string(),
        ),
        (
            lang.pick("Lượt thành viên tham dự", "Member attendances"),
            r.attendance.to_string(),
        ),
        (lang.pick("Khách mời", "Guests"), r.guests.to_string()),
    ]);
    for t in r.tables() {
        out.push('\n');
        out.push_str(&table_text(lang, t));
    }
    out.push('\n');
    out.push_str(&tr!(
        lang,
        "<5: từ 1 đến 4; x: ẩn để tổng không làm lộ ô nhỏ.\n",
        "<5: 1 to 4; x: hidden so that the total cannot reveal a small cell.\n"
    ));
    out
}

pub fn run(ctx: &mut Ctx, cmd: ReportCmd) -> Result<Output, CliError> {
    let lang = ctx.lang();
    match cmd {
        ReportCmd::Monthly {
            club,
            month,
            xlsx,
            csv,
        } => {
            let (year, month) = args::month("--month", &month)?;
            let store = ctx.open()?;
            let report = store.monthly_report(&club, year, month)?;
            let mut text = report_text(lang, &report);
            if let Some(path) = &xlsx {
                write_file(path, &report.to_xlsx()?)?;
                let path = path.display();
                text.push_str(&tr!(lang, "Đã ghi {path}.\n", "Wrote {path}.\n"));
            }
            if let Some(path) = &csv {
                write_file(path, report.to_csv().as_bytes())?;
                let path = path.display();
                text.push_str(&tr!(lang, "Đã ghi {path}.\n", "Wrote {path}.\n"));
            }
            Output::new(&report, text)
        }
    }
}
