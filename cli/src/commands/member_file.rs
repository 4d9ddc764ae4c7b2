//! `chungtay member import|export`: a club's member list in and out of a spreadsheet or CSV.

use std::path::{Path, PathBuf};

use chungtay_core::import::files::{self, TextEncoding};
use chungtay_core::import::{Column, DuplicateOf, ImportOptions, ImportPlan, Problem};

use crate::args;
use crate::commands::write_file;
use crate::ctx::Ctx;
use crate::error::CliError;
use crate::lang::{Lang, tr};
use crate::output::{Output, table};

#[derive(clap::Args)]
pub struct ImportArgs {
    /// Tệp .xlsx hoặc .csv / an .xlsx or .csv file
    pub file: PathBuf,
    /// Câu lạc bộ nhận thành viên / the club the members join
    #[arg(long)]
    pub club: String,
    /// Chỉ xem trước, không ghi gì / show what would happen, write nothing
    #[arg(long)]
    pub dry_run: bool,
    /// Bảng mã của tệp CSV (mặc định: tự nhận) / a CSV's encoding (default: detected):
    /// utf-8, windows-1258, windows-1252
    #[arg(long)]
    pub encoding: Option<String>,
    /// Trang tính trong tệp .xlsx (mặc định: trang đầu) / the worksheet (default: the first)
    #[arg(long)]
    pub sheet: Option<String>,
    /// Đọc một trường từ cột có tiêu đề này hoặc số thứ tự cột (từ 1) / read a field from the
    /// column with this header, or this column number (from 1): name=, birth_year=, gender=,
    /// ethnic_group=, village=, phone=, role=, do_not_contact=
    #[arg(long, value_name = "FIELD=COLUMN")]
    pub map: Vec<String>,
    /// Dân tộc cho dòng không ghi dân tộc / ethnic group for rows that give none
    #[arg(long)]
    pub ethnic_group: Option<String>,
    /// Thêm cả những người có vẻ đã có (cùng tên, năm sinh, thôn) / add likely duplicates too
    #[arg(long)]
    pub allow_duplicates: bool,
}

#[derive(clap::Args)]
pub struct ExportArgs {
    #[arg(long)]
    pub club: String,
    /// Tệp ghi ra, .xlsx hoặc .csv / the file to write, .xlsx or .csv
    #[arg(long)]
    pub out: PathBuf,
    /// Kèm họ tên và số điện thoại (chỉ chủ nhiệm; ghi vào nhật ký) / with names and phone
    /// numbers (leader only; noted in the trail). Without it, members are codes.
    #[arg(long)]
    pub with_names: bool,
}

enum Kind {
    Xlsx,
    Csv,
}

fn kind_of(path: &Path) -> Result<Kind, CliError> {
    match path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase)
        .as_deref()
    {
        Some("xlsx") => Ok(Kind::Xlsx),
        Some("csv" | "txt") => Ok(Kind::Csv),
        _ => Err(CliError::BadFormat {
            field: "FILE",
            expected: ["tệp .xlsx hoặc .csv", "an .xlsx or .csv file"],
        }),
    }
}

fn options(lang_field: &'static str, a: &ImportArgs) -> Result<ImportOptions, CliError> {
    let mut map = Vec::new();
    for m in &a.map {
        let bad = || CliError::BadFormat {
            field: "--map",
            expected: [
                "TRƯỜNG=CỘT, ví dụ name=\"Tên chị em\"",
                "FIELD=COLUMN, e.g. name=\"Tên chị em\"",
            ],
        };
        let (field, column) = m.split_once('=').ok_or_else(bad)?;
        let field = Column::from_key(field).ok_or_else(bad)?;
        map.push((field, column.to_owned()));
    }
    Ok(ImportOptions {
        map,
        default_ethnic_group: a
            .ethnic_group
            .as_deref()
            .map(|g| args::ethnic_group(lang_field, g))
            .transpose()?,
        allow_duplicates: a.allow_duplicates,
    })
}

pub fn import(ctx: &mut Ctx, a: ImportArgs) -> Result<Output, CliError> {
    let lang = ctx.lang();
    // Everything about the file is checked before the PIN is asked.
    let kind = kind_of(&a.file)?;
    let options = options("--ethnic-group", &a)?;
    let encoding = a
        .encoding
        .as_deref()
        .map(TextEncoding::parse)
        .transpose()
        .map_err(CliError::Import)?;
    // Read at most one byte past the limit: a pipe or /dev/zero has no size to check first.
    let mut bytes = Vec::new();
    std::fs::File::open(&a.file)
        .and_then(|f| {
            use std::io::Read;
            f.take(files::MAX_FILE_BYTES + 1).read_to_end(&mut bytes)
        })
        .map_err(|e| CliError::file(&a.file, e))?;
    if bytes.len() as u64 > files::MAX_FILE_BYTES {
        return Err(CliError::Import(
            chungtay_core::import::ImportError::TooLarge {
                max_mb: files::MAX_FILE_BYTES / (1024 * 1024),
            },
        ));
    }
    let (table, encoding) = match kind {
        Kind::Xlsx => (
            files::read_xlsx(&bytes, a.sheet.as_deref()).map_err(CliError::Import)?,
            None,
        ),
        Kind::Csv => {
            let (t, e) = files::read_csv(&bytes, encoding).map_err(CliError::Import)?;
            (t, Some(e))
        }
    };
    drop(bytes);
    let mut store = ctx.open()?;
    store.club(&a.club)?;
    let plan = store
        .plan_member_import(&a.club, &table, &options)?
        .map_err(CliError::Import)?;
    drop(table);
    let added = if a.dry_run {
        Vec::new()
    } else {
        let rows = plan.to_add(a.allow_duplicates);
        let inputs: Vec<_> = rows.iter().map(|r| r.input.clone()).collect();
        let bar = progress_bar(inputs.len());
        let added = store.add_members_with_progress(&a.club, &inputs, &mut |done| {
            if let Some(bar) = &bar {
                bar.set_position(done as u64);
            }
        })?;
        if let Some(bar) = bar {
            bar.finish_and_clear();
        }
        added.into_iter().map(|m| m.id).collect()
    };
    let text = report(
        lang,
        &plan,
        a.dry_run,
        a.allow_duplicates,
        encoding,
        added.len(),
    );
    let json = serde_json::json!({
        "dry_run": a.dry_run,
        "encoding": encoding.map(TextEncoding::name),
        "header_line": plan.header_line,
        "columns": plan.columns.iter().map(|(c, h)| serde_json::json!({"field": c.key(), "header": h})).collect::<Vec<_>>(),
        "ignored_columns": plan.ignored,
        "ready": plan.ready.len(),
        "duplicates": plan.duplicates.iter().map(|d| serde_json::json!({
            "line": d.row.line,
            "of_member": match &d.of { DuplicateOf::Member { id, .. } => Some(id), DuplicateOf::Line(_) => None },
            "of_line": match &d.of { DuplicateOf::Line(l) => Some(l), DuplicateOf::Member { .. } => None },
        })).collect::<Vec<_>>(),
        "rejected": plan.rejected.iter().map(|r| serde_json::json!({
            "line": r.line,
            "field": r.column.key(),
            "reason": problem_key(&r.problem),
        })).collect::<Vec<_>>(),
        "blank_rows": plan.blank_rows,
        "added": added,
    });
    Output::new(json, text)
}

/// A bar on the terminal for long lists; nothing when stderr is not a terminal (a script, a
/// pipe, CI), so output stays clean.
fn progress_bar(len: usize) -> Option<indicatif::ProgressBar> {
    use std::io::IsTerminal;
    if len < 200 || !std::io::stderr().is_terminal() {
        return None;
    }
    let bar = indicatif::ProgressBar::new(len as u64);
    if let Ok(style) = indicatif::ProgressStyle::with_template("{bar:40} {pos}/{len}") {
        bar.set_style(style);
    }
    Some(bar)
}

fn problem_key(p: &Problem) -> String {
    match p {
        Problem::Invalid(r) => format!("invalid: {r}"),
        Problem::NotAYear => "not_a_year".to_owned(),
        Problem::Unrecognised => "unrecognised".to_owned(),
        Problem::Formula => "formula".to_owned(),
        Problem::CellError => "cell_error".to_owned(),
        Problem::Undecodable => "undecodable".to_owned(),
        Problem::SpansLines => "spans_lines".to_owned(),
    }
}

fn field_name(lang: Lang, c: Column) -> &'static str {
    lang.pick(c.header_vi(), c.header_en())
}

fn problem_text(lang: Lang, p: &Problem) -> String {
    match p {
        Problem::Invalid(r) => lang.reason(r),
        Problem::NotAYear => lang
            .pick(
                "không phải năm (1990) hay ngày có năm",
                "is not a year (1990) or a date with a year",
            )
            .to_owned(),
        Problem::Unrecognised => lang
            .pick(
                "là giá trị không đọc được",
                "is not a value this column knows",
            )
            .to_owned(),
        Problem::Formula => lang
            .pick(
                "là công thức, không phải giá trị",
                "is a formula, not a value",
            )
            .to_owned(),
        Problem::CellError => lang
            .pick(
                "là ô lỗi của bảng tính (#REF!, #N/A...)",
                "is a spreadsheet error (#REF!, #N/A...)",
            )
            .to_owned(),
        Problem::Undecodable => lang
            .pick(
                "có ký tự bảng mã không đọc được (thử --encoding)",
                "holds bytes the encoding cannot read (try --encoding)",
            )
            .to_owned(),
        Problem::SpansLines => lang
            .pick(
                "kéo dài qua nhiều dòng (thiếu dấu ngoặc kép đóng?)",
                "runs over several lines (an unclosed quote?)",
            )
            .to_owned(),
    }
}

fn report(
    lang: Lang,
    plan: &ImportPlan,
    dry_run: bool,
    allow_duplicates: bool,
    encoding: Option<TextEncoding>,
    added: usize,
) -> String {
    let mut out = String::new();
    if let Some(e) = encoding {
        let name = e.name();
        out.push_str(&tr!(lang, "Bảng mã: {name}. ", "Encoding: {name}. "));
    }
    let line = plan.header_line;
    out.push_str(&tr!(
        lang,
        "Dòng tiêu đề: {line}.\n",
        "Header row: {line}.\n"
    ));
    let read: Vec<String> = plan
        .columns
        .iter()
        .map(|(c, h)| format!("{} ← \"{}\"", field_name(lang, *c), crate::output::shown(h)))
        .collect();
    out.push_str(&format!(
        "{}: {}\n",
        lang.pick("Đọc cột", "Columns read"),
        read.join(", ")
    ));
    if !plan.ignored.is_empty() {
        let ignored: Vec<String> = plan
            .ignored
            .iter()
            .map(|h| crate::output::shown(h))
            .collect();
        out.push_str(&format!(
            "{}: {}\n",
            lang.pick("Bỏ qua cột", "Columns ignored"),
            ignored.join(", ")
        ));
    }
    if dry_run && !plan.ready.is_empty() {
        out.push_str(lang.pick("\nSẽ thêm:\n", "\nWould add:\n"));
        let rows: Vec<Vec<String>> = plan
            .ready
            .iter()
            .map(|r| {
                vec![
                    r.line.to_string(),
                    r.input.full_name.clone(),
                    r.input
                        .birth_year
                        .map(|y| y.to_string())
                        .unwrap_or_default(),
                    r.input.ethnic_group.name().to_owned(),
                    r.input.village.clone(),
                ]
            })
            .collect();
        out.push_str(&table(
            &[
                lang.pick("Dòng", "Line"),
                lang.pick("Họ tên", "Name"),
                lang.pick("Năm sinh", "Born"),
                lang.pick("Dân tộc", "Ethnic group"),
                lang.pick("Thôn, bản", "Village"),
            ],
            &rows,
        ));
    }
    if !plan.duplicates.is_empty() {
        out.push_str(lang.pick(
            "\nCó vẻ đã có (cùng tên, năm sinh, thôn):\n",
            "\nLikely already there (same name, year of birth, village):\n",
        ));
        for d in &plan.duplicates {
            let line = d.row.line;
            let name = crate::output::shown(&d.row.input.full_name);
            let of = match &d.of {
                DuplicateOf::Member { id, .. } => {
                    tr!(lang, "thành viên {id}", "member {id}")
                }
                DuplicateOf::Line(l) => tr!(lang, "dòng {l}", "line {l}"),
            };
            out.push_str(&tr!(
                lang,
                "  dòng {line}: {name} — trùng {of}\n",
                "  line {line}: {name} — same as {of}\n"
            ));
        }
    }
    if !plan.rejected.is_empty() {
        out.push_str(lang.pick("\nDòng bị từ chối:\n", "\nRows refused:\n"));
        for r in &plan.rejected {
            let line = r.line;
            let field = field_name(lang, r.column);
            let why = problem_text(lang, &r.problem);
            out.push_str(&tr!(
                lang,
                "  dòng {line}: {field} {why}\n",
                "  line {line}: {field} {why}\n"
            ));
        }
    }
    let ready = plan.ready.len();
    let dups = plan.duplicates.len();
    let bad = plan.rejected.len();
    out.push('\n');
    if dry_run {
        out.push_str(&tr!(
            lang,
            "Xem trước: {ready} người sẽ được thêm, {dups} có vẻ đã có, {bad} dòng bị từ chối. Chưa ghi gì.",
            "Dry run: {ready} would be added, {dups} likely already there, {bad} rows refused. Nothing written."
        ));
    } else {
        let skipped = if allow_duplicates { 0 } else { dups };
        out.push_str(&tr!(
            lang,
            "Đã thêm {added} người (một lần ghi), bỏ qua {skipped} có vẻ đã có, {bad} dòng bị từ chối.",
            "Added {added} (one transaction), skipped {skipped} likely already there, {bad} rows refused."
        ));
    }
    out
}

pub fn export(ctx: &mut Ctx, a: ExportArgs) -> Result<Output, CliError> {
    let lang = ctx.lang();
    let kind = kind_of(&a.out)?;
    let store = ctx.open()?;
    store.club(&a.club)?;
    let export = store.export_members(&a.club, a.with_names)?;
    match kind {
        Kind::Xlsx => write_file(&a.out, &export.to_xlsx()?)?,
        Kind::Csv => write_file(&a.out, export.to_csv().as_bytes())?,
    }
    let n = export.members.len();
    let path = a.out.display().to_string();
    let text = if a.with_names {
        tr!(
            lang,
            "Đã ghi {n} thành viên, có họ tên, vào {path}. Tệp này không được mã hoá: giữ kỹ, xoá khi xong.",
            "Wrote {n} members, with names, to {path}. The file is not encrypted: keep it safe, delete it when done."
        )
    } else {
        tr!(
            lang,
            "Đã ghi {n} thành viên, không có họ tên, vào {path}.",
            "Wrote {n} members, without names, to {path}."
        )
    };
    Output::new(
        serde_json::json!({ "members": n, "with_names": a.with_names, "file": path }),
        text,
    )
}
