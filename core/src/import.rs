//! Importing a club's existing member list: the paper register a commune union typed into Excel.
//!
//! A file becomes a [`Table`] of cells (readers in [`files`], behind the `sheets` feature, which
//! the CLI turns on and the phone library leaves off). [`plan`] finds the header row, maps the
//! columns by their Vietnamese or English names, turns each row into a [`MemberInput`] checked by
//! the same rules as a member typed on the phone, and sorts rows into ready, likely duplicates
//! and rejected. `Store::import_members` writes a plan's ready rows in one transaction.
//!
//! Survivor status is never imported: a spreadsheet that says who was trafficked should not
//! exist, and the status is set one member at a time, by the leader, in the app.

use std::collections::HashMap;
use std::fmt;

use chrono::{Datelike, NaiveDate};

use crate::domain::{ETHNIC_GROUPS, EthnicGroup, Gender, MemberInput, MemberRole, SurvivorStatus};
use crate::error::{Reason, ValidationError};
use crate::text;

#[cfg(feature = "sheets")]
pub mod files;

/// Rows a list may have: a commune has a few thousand people; beyond this it is not a list.
pub const MAX_ROWS: usize = 100_000;
/// Columns looked at in each row.
pub const MAX_COLUMNS: usize = 200;
/// Rows searched for the header (a register often has a title and a date above it).
const HEADER_SEARCH_ROWS: usize = 20;

/// One cell as the file gave it. CSV gives only text; a spreadsheet also gives numbers
/// (a year, a phone number that lost its leading 0), dates, booleans and error values.
#[derive(Clone, PartialEq)]
pub enum Cell {
    Empty,
    Text(String),
    Number(f64),
    Date(NaiveDate),
    Bool(bool),
    /// `#REF!`, `#N/A`...: a formula that failed in the spreadsheet.
    Error,
}

// Cells hold names: keep them out of Debug.
impl fmt::Debug for Cell {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Cell::Empty => "Empty",
            Cell::Text(_) => "Text(..)",
            Cell::Number(_) => "Number(..)",
            Cell::Date(_) => "Date(..)",
            Cell::Bool(_) => "Bool(..)",
            Cell::Error => "Error",
        })
    }
}

impl Cell {
    fn is_blank(&self) -> bool {
        match self {
            Cell::Empty => true,
            Cell::Text(s) => s.trim().is_empty(),
            _ => false,
        }
    }

    fn text(&self) -> Option<String> {
        match self {
            Cell::Text(s) => Some(s.clone()),
            Cell::Number(n) if n.fract() == 0.0 && n.abs() < 1e15 => Some(format!("{n:.0}")),
            Cell::Number(n) => Some(n.to_string()),
            Cell::Date(d) => Some(d.format("%d/%m/%Y").to_string()),
            Cell::Bool(b) => Some(b.to_string()),
            Cell::Empty | Cell::Error => None,
        }
    }
}

/// A row and the line it came from (1-based: the spreadsheet's row number, the CSV's line).
#[derive(Clone, Debug, PartialEq)]
pub struct Row {
    pub line: u64,
    pub cells: Vec<Cell>,
}

/// What a file holds, before any meaning is given to it.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Table {
    pub rows: Vec<Row>,
}

/// A member field an import can fill.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Column {
    FullName,
    /// "Họ" / "Họ đệm": a register that writes the family and middle names apart from the
    /// given name ("Tên"); joined to it into the full name.
    FamilyName,
    BirthYear,
    Gender,
    EthnicGroup,
    Village,
    Phone,
    Role,
    DoNotContact,
}

impl Column {
    pub const ALL: [Column; 8] = [
        Column::FullName,
        Column::BirthYear,
        Column::Gender,
        Column::EthnicGroup,
        Column::Village,
        Column::Phone,
        Column::Role,
        Column::DoNotContact,
    ];

    /// The key `--map` takes, and the column's name in an export.
    pub fn key(self) -> &'static str {
        match self {
            Column::FullName => "name",
            Column::FamilyName => "family_name",
            Column::BirthYear => "birth_year",
            Column::Gender => "gender",
            Column::EthnicGroup => "ethnic_group",
            Column::Village => "village",
            Column::Phone => "phone",
            Column::Role => "role",
            Column::DoNotContact => "do_not_contact",
        }
    }

    /// Every field an import reads: the export's columns, and a family name apart.
    pub const READ: [Column; 9] = [
        Column::FullName,
        Column::FamilyName,
        Column::BirthYear,
        Column::Gender,
        Column::EthnicGroup,
        Column::Village,
        Column::Phone,
        Column::Role,
        Column::DoNotContact,
    ];

    pub fn from_key(key: &str) -> Option<Column> {
        let k = compact(key);
        Column::READ.into_iter().find(|c| compact(c.key()) == k)
    }

    /// The Vietnamese header an export writes, which an import reads back.
    pub fn header_vi(self) -> &'static str {
        match self {
            Column::FullName => "Họ và tên",
            Column::FamilyName => "Họ đệm",
            Column::BirthYear => "Năm sinh",
            Column::Gender => "Giới tính",
            Column::EthnicGroup => "Dân tộc",
            Column::Village => "Thôn/bản",
            Column::Phone => "Số điện thoại",
            Column::Role => "Vai trò",
            Column::DoNotContact => "Không liên lạc",
        }
    }

    pub fn header_en(self) -> &'static str {
        match self {
            Column::FullName => "Full name",
            Column::FamilyName => "Family and middle names",
            Column::BirthYear => "Birth year",
            Column::Gender => "Gender",
            Column::EthnicGroup => "Ethnic group",
            Column::Village => "Village",
            Column::Phone => "Phone",
            Column::Role => "Role",
            Column::DoNotContact => "Do not contact",
        }
    }

    /// Headers as registers write them, folded and stripped to letters and digits.
    fn known_headers(self) -> &'static [&'static str] {
        match self {
            Column::FullName => &[
                "hovaten",
                "hoten",
                "hotenthanhvien",
                "hovatenthanhvien",
                "hotenhoivien",
                "hovatenhoivien",
                "ten",
                "fullname",
                "name",
                "membername",
            ],
            Column::BirthYear => &[
                "namsinh",
                "ngaysinh",
                "ngaythangnamsinh",
                "sinhnam",
                "birthyear",
                "yearofbirth",
                "dateofbirth",
                "dob",
                "born",
            ],
            Column::FamilyName => &[
                "ho",
                "hodem",
                "holot",
                "hovatendem",
                "hotendem",
                "familyname",
                "surname",
            ],
            Column::Gender => &["gioitinh", "gioi", "gender", "sex"],
            Column::EthnicGroup => &["dantoc", "ethnicgroup", "ethnicity", "ethnic"],
            Column::Village => &[
                "thonban",
                "thon",
                "ban",
                "thonxom",
                "xom",
                "thonbanto",
                "village",
                "hamlet",
            ],
            Column::Phone => &[
                "sodienthoai",
                "dienthoai",
                "sdt",
                "sodt",
                "phone",
                "phonenumber",
                "mobile",
                "tel",
            ],
            Column::Role => &["vaitro", "chucvu", "chucvuclb", "role", "position"],
            Column::DoNotContact => &[
                "khonglienlac",
                "khongduoclienlac",
                "khonggoi",
                "donotcontact",
                "nocontact",
                "dontcontact",
            ],
        }
    }
}

impl fmt::Display for Column {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.key())
    }
}

/// Folded (no case, no diacritics) and stripped to letters and digits: "Thôn/bản" → "thonban",
/// "H'Mông" → "hmong", "Ê-đê" → "ede".
fn compact(s: &str) -> String {
    text::fold(s)
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .collect()
}

/// What the person running the import decided for the whole file.
#[derive(Clone, Debug, Default)]
pub struct ImportOptions {
    /// `--map name="Tên thành viên"`: a field read from the column with this header (or this
    /// 1-based column number), whatever the header says.
    pub map: Vec<(Column, String)>,
    /// For a list without an ethnic group column, or a blank cell: the group most of the
    /// commune belongs to.
    pub default_ethnic_group: Option<EthnicGroup>,
    /// Add likely duplicates too (by default they are left out and listed).
    pub allow_duplicates: bool,
}

/// Why a file as a whole cannot be imported. Says what, never a cell's content.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ImportError {
    #[error("no header row naming a full-name column in the first {HEADER_SEARCH_ROWS} rows")]
    NoHeader,
    /// No header found, and the top rows hold bytes the encoding could not read.
    #[error("the top rows hold bytes the encoding cannot read: name it with --encoding")]
    Undecodable,
    #[error("the file has no column for {0} (map one with --map, or give a default)")]
    MissingColumn(Column),
    #[error("--map {column}: no column is headed {header:?}")]
    MappedHeaderNotFound { column: Column, header: String },
    #[error("two columns are read as {0}")]
    DuplicateColumn(Column),
    #[error("more than {MAX_ROWS} rows")]
    TooManyRows,
    #[error("the file is not {expected}: {detail}")]
    Unreadable {
        expected: &'static str,
        detail: String,
    },
    #[error("the file is larger than {max_mb} MB")]
    TooLarge { max_mb: u64 },
    #[error("unknown encoding {0:?} (utf-8, windows-1258 or windows-1252)")]
    UnknownEncoding(String),
}

/// Why one row is left out. Names the column, never the value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Problem {
    /// The member rules refused the value (empty name, year in the future, too long...).
    Invalid(Reason),
    /// Not a year, nor a date with a year.
    NotAYear,
    /// A value this column does not know (a gender, role or yes/no it cannot read).
    Unrecognised,
    /// Starts with `=`: a spreadsheet formula, not a name.
    Formula,
    /// A spreadsheet error value (#REF!, #N/A...).
    CellError,
    /// Bytes the file's encoding could not read (U+FFFD): the wrong `--encoding`?
    Undecodable,
    /// A line break inside a cell: in a CSV, usually an unclosed quote that swallowed the
    /// lines after it into this row.
    SpansLines,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Problem::Invalid(r) => write!(f, "{r}"),
            Problem::NotAYear => write!(f, "is not a year (1990) or a date with a year"),
            Problem::Unrecognised => write!(f, "is not a value this column knows"),
            Problem::Formula => write!(f, "is a formula, not a value"),
            Problem::CellError => write!(f, "is a spreadsheet error (#REF!, #N/A...)"),
            Problem::Undecodable => write!(f, "holds bytes the encoding cannot read"),
            Problem::SpansLines => write!(f, "runs over several lines (an unclosed quote?)"),
        }
    }
}

/// A row left out, with the line it came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rejected {
    pub line: u64,
    pub column: Column,
    pub problem: Problem,
}

/// A row that reads well.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReadyRow {
    pub line: u64,
    pub input: MemberInput,
}

/// Whom a row likely repeats.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DuplicateOf {
    /// A member already in the store (her id; in this club or another).
    Member { id: String, club_id: String },
    /// An earlier row of the same file.
    Line(u64),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Duplicate {
    pub row: ReadyRow,
    pub of: DuplicateOf,
}

/// What an import would do: nothing is written until the ready rows are.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ImportPlan {
    pub header_line: u64,
    /// Each field read and the header it was read from.
    pub columns: Vec<(Column, String)>,
    /// Headers of columns nothing is read from (STT, Ghi chú...).
    pub ignored: Vec<String>,
    pub ready: Vec<ReadyRow>,
    pub duplicates: Vec<Duplicate>,
    pub rejected: Vec<Rejected>,
    /// Blank rows passed over.
    pub blank_rows: usize,
}

impl ImportPlan {
    /// What goes in: the ready rows, and the likely duplicates when they are allowed.
    pub fn to_add(&self, allow_duplicates: bool) -> Vec<&ReadyRow> {
        let mut rows: Vec<&ReadyRow> = self.ready.iter().collect();
        if allow_duplicates {
            rows.extend(self.duplicates.iter().map(|d| &d.row));
            rows.sort_by_key(|r| r.line);
        }
        rows
    }
}

pub(crate) use crate::index::PersonKey;

pub(crate) fn person_key(input: &MemberInput) -> PersonKey {
    (
        text::fold(&input.full_name),
        input.birth_year,
        text::fold(&input.village),
    )
}

/// Reads `table` as a member list. `existing` finds a member already in the store by
/// [`person_key`]; `today` bounds birth years.
pub(crate) fn plan(
    table: &Table,
    options: &ImportOptions,
    today: NaiveDate,
    existing: impl Fn(&PersonKey) -> Option<(String, String)>,
) -> Result<ImportPlan, ImportError> {
    if table.rows.len() > MAX_ROWS {
        return Err(ImportError::TooManyRows);
    }
    let (header_at, columns) = find_header(table, options).map_err(|e| {
        let garbled = table.rows.iter().take(HEADER_SEARCH_ROWS).any(|r| {
            r.cells
                .iter()
                .any(|c| matches!(c, Cell::Text(t) if t.contains('\u{FFFD}')))
        });
        if e == ImportError::NoHeader && garbled {
            ImportError::Undecodable
        } else {
            e
        }
    })?;
    if !columns.contains_key(&Column::FullName) {
        return Err(ImportError::MissingColumn(Column::FullName));
    }
    if !columns.contains_key(&Column::Village) {
        return Err(ImportError::MissingColumn(Column::Village));
    }
    if !columns.contains_key(&Column::EthnicGroup) && options.default_ethnic_group.is_none() {
        return Err(ImportError::MissingColumn(Column::EthnicGroup));
    }
    let header = &table.rows[header_at];
    let mut out = ImportPlan {
        header_line: header.line,
        ..ImportPlan::default()
    };
    let mut used: Vec<(Column, usize)> = columns.iter().map(|(c, i)| (*c, *i)).collect();
    used.sort();
    for (column, i) in &used {
        out.columns
            .push((*column, header_text(header, *i).unwrap_or_default()));
    }
    for (i, cell) in header.cells.iter().enumerate().take(MAX_COLUMNS) {
        if !cell.is_blank() && !columns.values().any(|&c| c == i) {
            out.ignored.push(cell.text().unwrap_or_default());
        }
    }
    let mut seen: HashMap<PersonKey, u64> = HashMap::new();
    for row in &table.rows[header_at + 1..] {
        if row.cells.iter().take(MAX_COLUMNS).all(Cell::is_blank) {
            out.blank_rows += 1;
            continue;
        }
        match read_row(row, &columns, options, today) {
            Err((column, problem)) => out.rejected.push(Rejected {
                line: row.line,
                column,
                problem,
            }),
            Ok(input) => {
                let key = person_key(&input);
                let ready = ReadyRow {
                    line: row.line,
                    input,
                };
                if let Some((id, club_id)) = existing(&key) {
                    out.duplicates.push(Duplicate {
                        row: ready,
                        of: DuplicateOf::Member { id, club_id },
                    });
                } else if let Some(&line) = seen.get(&key) {
                    out.duplicates.push(Duplicate {
                        row: ready,
                        of: DuplicateOf::Line(line),
                    });
                } else {
                    seen.insert(key, row.line);
                    out.ready.push(ready);
                }
            }
        }
    }
    Ok(out)
}

fn header_text(row: &Row, i: usize) -> Option<String> {
    row.cells.get(i).and_then(Cell::text)
}

/// The header row and the column of each field: the first of the top rows that names a
/// full-name column (or holds every `--map`ped header).
fn find_header(
    table: &Table,
    options: &ImportOptions,
) -> Result<(usize, HashMap<Column, usize>), ImportError> {
    let mut last_error = ImportError::NoHeader;
    for (at, row) in table.rows.iter().enumerate().take(HEADER_SEARCH_ROWS) {
        let headers: Vec<String> = row
            .cells
            .iter()
            .take(MAX_COLUMNS)
            .map(|c| c.text().map(|t| compact(&t)).unwrap_or_default())
            .collect();
        let mut columns: HashMap<Column, usize> = HashMap::new();
        let mut mapped_ok = true;
        for (column, wanted) in &options.map {
            let by_number = wanted
                .trim()
                .parse::<usize>()
                .ok()
                .filter(|n| (1..=MAX_COLUMNS).contains(n))
                .map(|n| n - 1);
            let wanted_compact = compact(wanted);
            let found = by_number.or_else(|| {
                headers
                    .iter()
                    .position(|h| !h.is_empty() && *h == wanted_compact)
            });
            match found {
                Some(i) => {
                    columns.insert(*column, i);
                }
                None => {
                    mapped_ok = false;
                    last_error = ImportError::MappedHeaderNotFound {
                        column: *column,
                        header: wanted.clone(),
                    };
                }
            }
        }
        if !mapped_ok {
            continue;
        }
        for (i, h) in headers.iter().enumerate() {
            if h.is_empty() || columns.values().any(|&c| c == i) {
                continue;
            }
            if let Some(column) = Column::READ
                .into_iter()
                .find(|c| c.known_headers().contains(&h.as_str()))
            {
                if columns.contains_key(&column) {
                    if options.map.iter().any(|(c, _)| *c == column) {
                        continue;
                    }
                    return Err(ImportError::DuplicateColumn(column));
                }
                columns.insert(column, i);
            }
        }
        if let Some(&name_at) = columns.get(&Column::FullName) {
            // "Họ và tên" merged over two columns, "Họ đệm | Tên" on the row below: read both.
            if let Some(below) = table.rows.get(at + 1)
                && !columns.contains_key(&Column::FamilyName)
            {
                let label = |i: usize| {
                    below
                        .cells
                        .get(i)
                        .and_then(Cell::text)
                        .map(|t| compact(&t))
                        .unwrap_or_default()
                };
                if Column::FamilyName
                    .known_headers()
                    .contains(&label(name_at).as_str())
                    && label(name_at + 1) == "ten"
                {
                    columns.insert(Column::FamilyName, name_at);
                    columns.insert(Column::FullName, name_at + 1);
                    return Ok((at + 1, columns));
                }
            }
            return Ok((at, columns));
        }
    }
    Err(last_error)
}

fn read_row(
    row: &Row,
    columns: &HashMap<Column, usize>,
    options: &ImportOptions,
    today: NaiveDate,
) -> Result<MemberInput, (Column, Problem)> {
    let cell = |c: Column| -> Result<&Cell, (Column, Problem)> {
        let cell = columns
            .get(&c)
            .and_then(|&i| row.cells.get(i))
            .unwrap_or(&Cell::Empty);
        if *cell == Cell::Error {
            return Err((c, Problem::CellError));
        }
        Ok(cell)
    };
    let plain = |c: Column| -> Result<String, (Column, Problem)> {
        let s = unguarded(cell(c)?.text().unwrap_or_default());
        if s.contains('\u{FFFD}') {
            return Err((c, Problem::Undecodable));
        }
        if s.contains(['\n', '\r']) {
            return Err((c, Problem::SpansLines));
        }
        // A formula, or what a spreadsheet would run as one. A phone may start with "+".
        let formula: &[char] = if c == Column::Phone {
            &['=', '@', '-']
        } else {
            &['=', '+', '-', '@']
        };
        if s.trim_start().starts_with(formula) {
            return Err((c, Problem::Formula));
        }
        Ok(s)
    };
    let given = plain(Column::FullName)?;
    let full_name = if columns.contains_key(&Column::FamilyName) {
        let family = plain(Column::FamilyName)?;
        if given.trim().is_empty() {
            String::new()
        } else {
            format!("{} {}", family.trim(), given.trim())
        }
    } else {
        given
    };
    let village = plain(Column::Village)?;
    let birth_year = birth_year(cell(Column::BirthYear)?).map_err(|p| (Column::BirthYear, p))?;
    let gender = choice(&plain(Column::Gender)?, GENDERS, Gender::Female)
        .ok_or((Column::Gender, Problem::Unrecognised))?;
    let role = choice(&plain(Column::Role)?, ROLES, MemberRole::Member)
        .ok_or((Column::Role, Problem::Unrecognised))?;
    let do_not_contact = match cell(Column::DoNotContact)? {
        Cell::Bool(b) => *b,
        _ => choice(&plain(Column::DoNotContact)?, FLAGS, false)
            .ok_or((Column::DoNotContact, Problem::Unrecognised))?,
    };
    let ethnic_text = plain(Column::EthnicGroup)?;
    let ethnic_group = if ethnic_text.trim().is_empty() {
        options
            .default_ethnic_group
            .ok_or((Column::EthnicGroup, Problem::Invalid(Reason::Empty)))?
    } else {
        recognise_ethnic_group(&ethnic_text).ok_or((
            Column::EthnicGroup,
            Problem::Invalid(Reason::UnknownEthnicGroup),
        ))?
    };
    plain(Column::Phone)?;
    let phone = phone(cell(Column::Phone)?).map(unguarded);
    let input = MemberInput {
        full_name,
        birth_year,
        gender,
        ethnic_group,
        village,
        phone,
        role,
        survivor_status: SurvivorStatus::NotASurvivor,
        safe_to_contact: !do_not_contact,
    };
    input.normalized(today).map_err(|e| match e {
        crate::Error::Invalid(ValidationError { field, reason }) => {
            (column_of_field(field), Problem::Invalid(reason))
        }
        _ => (Column::FullName, Problem::Unrecognised),
    })
}

/// A text our own CSV export guarded against formulas ("'+84...", "'=...") reads as it was.
fn unguarded(s: String) -> String {
    match s.strip_prefix('\'') {
        Some(rest) if rest.starts_with(['=', '+', '-', '@']) => rest.to_owned(),
        _ => s,
    }
}

fn column_of_field(field: &str) -> Column {
    match field {
        "birth_year" => Column::BirthYear,
        "ethnic_group" => Column::EthnicGroup,
        "village" => Column::Village,
        "phone" => Column::Phone,
        _ => Column::FullName,
    }
}

const GENDERS: &[(&str, Gender)] = &[
    ("nu", Gender::Female),
    ("f", Gender::Female),
    ("female", Gender::Female),
    ("phunu", Gender::Female),
    ("nam", Gender::Male),
    ("m", Gender::Male),
    ("male", Gender::Male),
    ("khac", Gender::Other),
    ("other", Gender::Other),
];

const ROLES: &[(&str, MemberRole)] = &[
    ("chunhiem", MemberRole::Leader),
    ("chunhiemclb", MemberRole::Leader),
    ("chunhiemcaulacbo", MemberRole::Leader),
    ("truongclb", MemberRole::Leader),
    ("leader", MemberRole::Leader),
    ("phochunhiem", MemberRole::Deputy),
    ("phochunhiemclb", MemberRole::Deputy),
    ("pho", MemberRole::Deputy),
    ("deputy", MemberRole::Deputy),
    ("thanhvien", MemberRole::Member),
    ("hoivien", MemberRole::Member),
    ("tv", MemberRole::Member),
    ("member", MemberRole::Member),
];

/// Do-not-contact marks: "x" and "có" are how a paper register ticks a box; blank is no mark.
/// "Không" / "no" are refused: under a header that itself says "không liên lạc" they could mean
/// either, and reading them wrong would make someone contactable.
const FLAGS: &[(&str, bool)] = &[
    ("x", true),
    ("co", true),
    ("yes", true),
    ("y", true),
    ("1", true),
    ("true", true),
    ("khonglienlac", true),
    ("0", false),
    ("false", false),
];

/// A value from a closed list; blank is `blank`, an unknown value is None.
fn choice<T: Copy>(value: &str, known: &[(&str, T)], blank: T) -> Option<T> {
    if value.trim().is_empty() {
        return Some(blank);
    }
    let v = compact(value);
    known.iter().find(|(k, _)| *k == v).map(|(_, t)| *t)
}

/// A birth year from a year, a date, or a spreadsheet's number.
fn birth_year(cell: &Cell) -> Result<Option<i32>, Problem> {
    match cell {
        Cell::Empty => Ok(None),
        Cell::Date(d) => Ok(Some(d.year())),
        Cell::Number(n) if n.fract() == 0.0 && (1000.0..=9999.0).contains(n) => Ok(Some(*n as i32)),
        Cell::Number(_) | Cell::Bool(_) | Cell::Error => Err(Problem::NotAYear),
        Cell::Text(s) => {
            let s = s.trim();
            if s.is_empty() {
                return Ok(None);
            }
            // "1990", "12/05/1990", "1990-05-12", "05.1990": exactly one four-digit group, and
            // nothing but digits and date separators.
            if !s
                .chars()
                .all(|c| c.is_ascii_digit() || matches!(c, '/' | '-' | '.' | ' '))
            {
                return Err(Problem::NotAYear);
            }
            let groups: Vec<&str> = s
                .split(|c: char| !c.is_ascii_digit())
                .filter(|g| !g.is_empty())
                .collect();
            let years: Vec<&&str> = groups.iter().filter(|g| g.len() == 4).collect();
            if years.len() != 1 || groups.iter().any(|g| g.len() > 4 || g.len() == 3) {
                return Err(Problem::NotAYear);
            }
            years[0].parse().map(Some).map_err(|_| Problem::NotAYear)
        }
    }
}

/// A phone number. A spreadsheet that stored it as a number dropped its leading 0: a nine-digit
/// number starting 3, 5, 7, 8 or 9 is a Vietnamese mobile number and gets it back.
fn phone(cell: &Cell) -> Option<String> {
    let raw = cell.text()?;
    let t = raw.trim();
    if t.len() == 9
        && t.chars().all(|c| c.is_ascii_digit())
        && t.starts_with(['3', '5', '7', '8', '9'])
    {
        return Some(format!("0{t}"));
    }
    Some(t.to_owned())
}

/// Other names an ethnic group goes by in registers (folded, letters only): older official
/// names, the group's own name, and common subgroups.
const ETHNIC_ALIASES: &[(&str, &str)] = &[
    ("viet", "Kinh"),
    ("hmong", "Mông"),
    ("meo", "Mông"),
    ("monghoa", "Mông"),
    ("mongden", "Mông"),
    ("mongtrang", "Mông"),
    ("mongxanh", "Mông"),
    ("mongdo", "Mông"),
    ("thaiden", "Thái"),
    ("thaitrang", "Thái"),
    ("khome", "Khmer"),
    ("khomer", "Khmer"),
    ("han", "Hoa"),
    ("daodo", "Dao"),
    ("daotien", "Dao"),
    ("daoquanchet", "Dao"),
    ("daoquantrang", "Dao"),
    ("daothanhy", "Dao"),
    ("daolantien", "Dao"),
    ("jrai", "Gia Rai"),
    ("rade", "Ê Đê"),
    ("bahnar", "Ba Na"),
    ("caolan", "Sán Chay"),
    ("sanchi", "Sán Chay"),
    ("koho", "Cơ Ho"),
    ("kho", "Cơ Ho"),
    ("sedang", "Xơ Đăng"),
    ("roglai", "Ra Glai"),
    ("mnong", "Mnông"),
    ("stieng", "Xtiêng"),
    ("khmu", "Khơ Mú"),
    ("vankieu", "Bru-Vân Kiều"),
    ("bru", "Bru-Vân Kiều"),
    ("katu", "Cơ Tu"),
    ("paco", "Tà Ôi"),
    ("pako", "Tà Ôi"),
    ("hani", "Hà Nhì"),
    ("bouyei", "Bố Y"),
];

/// An ethnic group as a register writes it: its code (1-54), its name with or without
/// diacritics, spaces or hyphens ("Ê-đê", "ede", "H'Mông"), or a common other name.
pub fn recognise_ethnic_group(value: &str) -> Option<EthnicGroup> {
    let v = value.trim();
    if let Ok(code) = v.parse::<u8>() {
        return EthnicGroup::from_code(code).ok();
    }
    let wanted = compact(v);
    if wanted.is_empty() {
        return None;
    }
    let by_name = |name: &str| {
        ETHNIC_GROUPS
            .iter()
            .position(|g| compact(g) == compact(name))
            .and_then(|i| EthnicGroup::from_code(i as u8 + 1).ok())
    };
    by_name(&wanted).or_else(|| {
        ETHNIC_ALIASES
            .iter()
            .find(|(alias, _)| *alias == wanted)
            .and_then(|(_, name)| by_name(name))
    })
}

/// One member as an export shows her. De-identified, she has a code instead of her name and no
/// phone; survivor status is never exported.
#[derive(Clone, PartialEq, Eq)]
pub struct ExportedMember {
    /// Her record id: a pseudonym that means something only to whoever holds the store.
    pub code: String,
    pub full_name: Option<String>,
    pub birth_year: Option<i32>,
    pub gender: Gender,
    pub ethnic_group: EthnicGroup,
    pub village: String,
    pub phone: Option<String>,
    pub role: MemberRole,
    pub do_not_contact: bool,
}
crate::domain::redacted_debug!(ExportedMember { code });

/// A club's member list as it leaves the phone.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MemberExport {
    pub with_names: bool,
    pub members: Vec<ExportedMember>,
}

impl MemberExport {
    fn columns(&self) -> Vec<Column> {
        Column::ALL
            .into_iter()
            .filter(|c| self.with_names || !matches!(c, Column::FullName | Column::Phone))
            .collect()
    }

    /// The header row (Vietnamese, as an import reads it back) and one row per member.
    pub fn rows(&self) -> Vec<Vec<String>> {
        let columns = self.columns();
        let mut header = vec!["Mã".to_owned()];
        header.extend(columns.iter().map(|c| c.header_vi().to_owned()));
        let mut rows = vec![header];
        for m in &self.members {
            let mut row = vec![m.code.clone()];
            for c in &columns {
                row.push(match c {
                    Column::FullName => m.full_name.clone().unwrap_or_default(),
                    // Exports write the whole name in one column.
                    Column::FamilyName => String::new(),
                    Column::BirthYear => m.birth_year.map(|y| y.to_string()).unwrap_or_default(),
                    Column::Gender => crate::labels::gender_label(m.gender).0.to_owned(),
                    Column::EthnicGroup => m.ethnic_group.name().to_owned(),
                    Column::Village => m.village.clone(),
                    Column::Phone => m.phone.clone().unwrap_or_default(),
                    Column::Role => match m.role {
                        MemberRole::Leader => "Chủ nhiệm",
                        MemberRole::Deputy => "Phó chủ nhiệm",
                        MemberRole::Member => "Thành viên",
                    }
                    .to_owned(),
                    Column::DoNotContact => if m.do_not_contact { "x" } else { "" }.to_owned(),
                });
            }
            rows.push(row);
        }
        rows
    }

    /// UTF-8 with a BOM (so Excel reads the diacritics), formulas guarded.
    pub fn to_csv(&self) -> String {
        let mut out = String::from("\u{FEFF}");
        for row in self.rows() {
            let fields: Vec<&str> = row.iter().map(String::as_str).collect();
            chungtay_protocol::cells::push_csv_line(&mut out, &fields);
        }
        out
    }

    /// One sheet, every cell text (a phone number keeps its leading 0).
    pub fn to_xlsx(&self) -> crate::Result<Vec<u8>> {
        let xlsx = |e: rust_xlsxwriter::XlsxError| crate::Error::Io(std::io::Error::other(e));
        let mut book = rust_xlsxwriter::Workbook::new();
        let sheet = book.add_worksheet();
        sheet.set_name("Thành viên").map_err(xlsx)?;
        for (r, row) in self.rows().iter().enumerate() {
            for (c, value) in row.iter().enumerate() {
                sheet
                    .write_string(r as u32, c as u16, value)
                    .map_err(xlsx)?;
            }
        }
        book.save_to_buffer().map_err(xlsx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text_row(line: u64, cells: &[&str]) -> Row {
        Row {
            line,
            cells: cells.iter().map(|c| Cell::Text((*c).to_owned())).collect(),
        }
    }

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 12, 3).unwrap_or_default()
    }

    fn plan_of(rows: Vec<Row>, options: &ImportOptions) -> Result<ImportPlan, ImportError> {
        plan(&Table { rows }, options, today(), |_| None)
    }

    #[test]
    fn ethnic_groups_by_their_common_spellings() {
        let name = |s: &str| recognise_ethnic_group(s).map(EthnicGroup::name);
        assert_eq!(name("Mông"), Some("Mông"));
        assert_eq!(name("H'Mông"), Some("Mông"));
        assert_eq!(name("hmong"), Some("Mông"));
        assert_eq!(name("Ê-đê"), Some("Ê Đê"));
        assert_eq!(name("EDE"), Some("Ê Đê"));
        assert_eq!(name("Bru Vân Kiều"), Some("Bru-Vân Kiều"));
        assert_eq!(name("Dao đỏ"), Some("Dao"));
        assert_eq!(name("thai"), Some("Thái"));
        assert_eq!(name("8"), Some("Mông"));
        assert_eq!(name("55"), None);
        assert_eq!(name("Klingon"), None);
        assert_eq!(name(""), None);
    }

    #[test]
    fn years_from_years_dates_and_numbers() {
        let y = |c: Cell| birth_year(&c);
        assert_eq!(y(Cell::Text("1990".into())), Ok(Some(1990)));
        assert_eq!(y(Cell::Text(" 12/05/1990 ".into())), Ok(Some(1990)));
        assert_eq!(y(Cell::Text("1990-05-12".into())), Ok(Some(1990)));
        assert_eq!(y(Cell::Number(1990.0)), Ok(Some(1990)));
        assert_eq!(
            y(Cell::Date(
                NaiveDate::from_ymd_opt(1985, 1, 2).unwrap_or_default()
            )),
            Ok(Some(1985))
        );
        assert_eq!(y(Cell::Text("".into())), Ok(None));
        assert_eq!(y(Cell::Text("12/05/90".into())), Err(Problem::NotAYear));
        assert_eq!(y(Cell::Text("khoảng 1990".into())), Err(Problem::NotAYear));
        assert_eq!(y(Cell::Number(32874.0)), Err(Problem::NotAYear));
        assert_eq!(y(Cell::Number(1990.5)), Err(Problem::NotAYear));
    }

    #[test]
    fn phone_numbers_get_back_the_zero_a_spreadsheet_dropped() {
        assert_eq!(
            phone(&Cell::Number(912_345_678.0)).as_deref(),
            Some("0912345678")
        );
        assert_eq!(
            phone(&Cell::Text("0912345678".into())).as_deref(),
            Some("0912345678")
        );
        assert_eq!(
            phone(&Cell::Text("+84 912 345 678".into())).as_deref(),
            Some("+84 912 345 678")
        );
        assert_eq!(phone(&Cell::Empty), None);
    }

    #[test]
    fn the_header_is_found_below_a_title_and_mapped_in_either_language() {
        let rows = vec![
            text_row(1, &["DANH SÁCH THÀNH VIÊN CÂU LẠC BỘ", "", ""]),
            text_row(2, &["", "", ""]),
            text_row(
                3,
                &[
                    "STT",
                    "Họ và tên",
                    "Năm sinh",
                    "Dân tộc",
                    "Thôn/bản",
                    "Ghi chú",
                ],
            ),
            text_row(4, &["1", "Lò Thị Mai", "1990", "Thái", "Bản Hua", ""]),
        ];
        let p = plan_of(rows, &ImportOptions::default()).unwrap_or_default();
        assert_eq!(p.header_line, 3);
        assert_eq!(p.ready.len(), 1);
        assert_eq!(p.ignored, vec!["STT".to_owned(), "Ghi chú".to_owned()]);
        let rows = vec![
            text_row(1, &["Full name", "Village", "Ethnic group", "Phone"]),
            text_row(2, &["Vàng Thị Súa", "Bản Phố", "hmong", "912345678"]),
        ];
        let p = plan_of(rows, &ImportOptions::default()).unwrap_or_default();
        let got = &p.ready[0].input;
        assert_eq!(got.ethnic_group.name(), "Mông");
        assert_eq!(got.phone.as_deref(), Some("0912345678"));
        assert_eq!(got.gender, Gender::Female);
    }

    #[test]
    fn a_map_overrides_the_headers() {
        let rows = vec![
            text_row(1, &["Tên chị em", "Nơi ở", "Dân tộc"]),
            text_row(2, &["Lò Thị Mai", "Bản Hua", "Thái"]),
        ];
        assert_eq!(
            plan_of(rows.clone(), &ImportOptions::default()),
            Err(ImportError::NoHeader)
        );
        let options = ImportOptions {
            map: vec![
                (Column::FullName, "tên chị em".into()),
                (Column::Village, "2".into()),
            ],
            ..ImportOptions::default()
        };
        let p = plan_of(rows, &options).unwrap_or_default();
        assert_eq!(p.ready.len(), 1);
        assert_eq!(p.ready[0].input.village, "Bản Hua");
        let options = ImportOptions {
            map: vec![(Column::FullName, "Họ tên đầy đủ".into())],
            ..ImportOptions::default()
        };
        assert!(matches!(
            plan_of(vec![text_row(1, &["a"])], &options),
            Err(ImportError::MappedHeaderNotFound { .. })
        ));
    }

    #[test]
    fn bad_rows_are_rejected_with_their_line_and_column_and_the_rest_read() {
        let rows = vec![
            text_row(
                1,
                &["Họ và tên", "Năm sinh", "Dân tộc", "Thôn", "Giới tính"],
            ),
            text_row(2, &["", "1990", "Thái", "Bản Hua", "Nữ"]),
            text_row(
                3,
                &["=HYPERLINK(\"http://x\")", "1990", "Thái", "Bản Hua", ""],
            ),
            text_row(4, &["Lò Thị Mai", "2090", "Thái", "Bản Hua", ""]),
            text_row(5, &["Lò Thị Mai", "1990", "Klingon", "Bản Hua", ""]),
            text_row(6, &["Lò Thị Mai", "1990", "Thái", "Bản Hua", "?"]),
            text_row(7, &["", "", "", "", ""]),
            text_row(8, &["Lò Văn Minh", "1988", "Thái", "Bản Hua", "Nam"]),
        ];
        let p = plan_of(rows, &ImportOptions::default()).unwrap_or_default();
        let got: Vec<(u64, Column, Problem)> = p
            .rejected
            .iter()
            .map(|r| (r.line, r.column, r.problem.clone()))
            .collect();
        assert_eq!(
            got,
            vec![
                (2, Column::FullName, Problem::Invalid(Reason::Empty)),
                (3, Column::FullName, Problem::Formula),
                (4, Column::BirthYear, Problem::Invalid(Reason::InFuture)),
                (
                    5,
                    Column::EthnicGroup,
                    Problem::Invalid(Reason::UnknownEthnicGroup)
                ),
                (6, Column::Gender, Problem::Unrecognised),
            ]
        );
        assert_eq!(p.blank_rows, 1);
        assert_eq!(p.ready.len(), 1);
        assert_eq!(p.ready[0].line, 8);
        assert_eq!(p.ready[0].input.gender, Gender::Male);
    }

    #[test]
    fn a_list_without_an_ethnic_group_needs_a_default() {
        let rows = vec![
            text_row(1, &["Họ và tên", "Thôn"]),
            text_row(2, &["Giàng Thị Dợ", "Bản Phố"]),
        ];
        assert_eq!(
            plan_of(rows.clone(), &ImportOptions::default()),
            Err(ImportError::MissingColumn(Column::EthnicGroup))
        );
        let options = ImportOptions {
            default_ethnic_group: recognise_ethnic_group("Mông"),
            ..ImportOptions::default()
        };
        let p = plan_of(rows, &options).unwrap_or_default();
        assert_eq!(p.ready[0].input.ethnic_group.name(), "Mông");
    }

    #[test]
    fn the_same_person_twice_in_a_file_is_a_likely_duplicate() {
        let rows = vec![
            text_row(1, &["Họ và tên", "Năm sinh", "Dân tộc", "Thôn"]),
            text_row(2, &["Lò Thị Mai", "1990", "Thái", "Bản Hua"]),
            // Typed again without diacritics and with other spacing.
            text_row(3, &["lo  thi mai", "1990", "Thai", "ban hua"]),
            // Another year: another person.
            text_row(4, &["Lò Thị Mai", "1991", "Thái", "Bản Hua"]),
        ];
        let p = plan_of(rows, &ImportOptions::default()).unwrap_or_default();
        assert_eq!(p.ready.len(), 2);
        assert_eq!(p.duplicates.len(), 1);
        assert_eq!(p.duplicates[0].row.line, 3);
        assert_eq!(p.duplicates[0].of, DuplicateOf::Line(2));
        assert_eq!(p.to_add(true).len(), 3);
    }

    #[test]
    fn cells_never_show_their_content_in_debug() {
        let rows = vec![text_row(1, &["Lò Thị Mai"])];
        let shown = format!("{rows:?}");
        assert!(!shown.contains("Mai"), "{shown}");
    }
}
