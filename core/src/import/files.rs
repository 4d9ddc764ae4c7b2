//! Reading the files member lists come in: XLSX (calamine) and CSV in UTF-8, Windows-1258 or
//! Windows-1252 (encoding_rs), which Vietnamese offices still produce.

use std::io::{Cursor, Read, Seek};

use calamine::{DataRef, Reader, Xlsx};
use encoding_rs::{Encoding, UTF_8, WINDOWS_1252, WINDOWS_1258};

use super::{Cell, ImportError, MAX_COLUMNS, MAX_ROWS, Row, Table};

/// Largest file read (bytes). A commune's register is kilobytes.
pub const MAX_FILE_BYTES: u64 = 20 * 1024 * 1024;
/// Most an XLSX may unpack to, by the sizes its zip directory gives: keeps a zip bomb out.
const MAX_UNPACKED_BYTES: u64 = 100 * 1024 * 1024;

/// A CSV's text encoding.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TextEncoding {
    Utf8,
    Windows1258,
    Windows1252,
}

impl TextEncoding {
    pub fn parse(name: &str) -> Result<TextEncoding, ImportError> {
        match name
            .to_ascii_lowercase()
            .replace(['-', '_', ' '], "")
            .as_str()
        {
            "utf8" => Ok(TextEncoding::Utf8),
            "windows1258" | "cp1258" => Ok(TextEncoding::Windows1258),
            "windows1252" | "cp1252" | "latin1" => Ok(TextEncoding::Windows1252),
            _ => Err(ImportError::UnknownEncoding(name.to_owned())),
        }
    }

    pub fn name(self) -> &'static str {
        self.encoding().name()
    }

    fn encoding(self) -> &'static Encoding {
        match self {
            TextEncoding::Utf8 => UTF_8,
            TextEncoding::Windows1258 => WINDOWS_1258,
            TextEncoding::Windows1252 => WINDOWS_1252,
        }
    }
}

/// Which encoding `bytes` are in: UTF-8 when they are valid UTF-8 (with or without a BOM);
/// otherwise whichever of Windows-1258 and Windows-1252 reads as more Vietnamese.
pub fn detect_encoding(bytes: &[u8]) -> TextEncoding {
    if bytes.starts_with(b"\xEF\xBB\xBF") || std::str::from_utf8(bytes).is_ok() {
        return TextEncoding::Utf8;
    }
    // UTF-8 with a few stray bytes (a cell pasted from elsewhere) is still UTF-8: read as a
    // Windows code page it would turn every Vietnamese letter into two ("LÃ² Thá»‹"). The
    // stray bytes become U+FFFD and their rows are refused.
    let sample = &bytes[..bytes.len().min(64 * 1024)];
    let lossy = String::from_utf8_lossy(sample);
    let broken = lossy.chars().filter(|c| *c == '\u{FFFD}').count();
    let multibyte = lossy
        .chars()
        .filter(|c| !c.is_ascii() && *c != '\u{FFFD}')
        .count();
    if multibyte >= 4 * broken.max(1) {
        return TextEncoding::Utf8;
    }
    let score = |enc: TextEncoding| -> i64 {
        let (text, _, _) = enc.encoding().decode(sample);
        let nfc: Vec<char> = crate::text::nfc(&text).chars().collect();
        let mut total = 0;
        for (i, &c) in nfc.iter().enumerate() {
            total += vietnamese_score(c);
            // "LoÌ ThiÒ": Windows-1258's tone marks read as 1252 turn into capitals inside words.
            let after_lower = i > 0 && nfc[i - 1].is_lowercase();
            if !c.is_ascii() && c.is_uppercase() && after_lower {
                total -= 4;
            }
        }
        total
    };
    if score(TextEncoding::Windows1252) > score(TextEncoding::Windows1258) {
        TextEncoding::Windows1252
    } else {
        TextEncoding::Windows1258
    }
}

/// +1 for a letter Vietnamese writes, -3 for one it never does (Þ, ð, ß...) or a tone mark left
/// alone (1252 text read as 1258 puts marks where no vowel takes them).
fn vietnamese_score(c: char) -> i64 {
    const VIETNAMESE: &str =
        "aàáảãạăằắẳẵặâầấẩẫậeèéẻẽẹêềếểễệiìíỉĩịoòóỏõọôồốổỗộơờớởỡợuùúủũụưừứửữựyỳýỷỹỵđ";
    if c.is_ascii() {
        return 0;
    }
    let lower = c.to_lowercase().next().unwrap_or(c);
    if VIETNAMESE.contains(lower) {
        1
    } else if unicode_normalization::char::is_combining_mark(c) || c.is_alphabetic() {
        -3
    } else {
        0
    }
}

/// A CSV's rows. `encoding` None detects it; the one used is returned. The separator is
/// whichever of `,` `;` and tab the first line has most of (Excel writes `;` where the decimal
/// mark is a comma, as in Vietnamese settings).
pub fn read_csv(
    bytes: &[u8],
    encoding: Option<TextEncoding>,
) -> Result<(Table, TextEncoding), ImportError> {
    if bytes.len() as u64 > MAX_FILE_BYTES {
        return Err(too_large());
    }
    let encoding = encoding.unwrap_or_else(|| detect_encoding(bytes));
    // Exactly the encoding named: no switch on a byte-order mark (a UTF-8 one is skipped).
    // Bytes it cannot read become U+FFFD, and the import refuses those rows.
    let body = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let (text, _) = encoding.encoding().decode_without_bom_handling(body);
    // The separator the top lines use most; a tie (a title line has none) goes to the comma.
    let top: String = text.lines().take(20).collect();
    let delimiter = [b'\t', b';', b',']
        .into_iter()
        .max_by_key(|d| top.bytes().filter(|b| b == d).count())
        .unwrap_or(b',');
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .delimiter(delimiter)
        .from_reader(text.as_bytes());
    let mut rows = Vec::new();
    let bytes_of = text.as_bytes();
    let (mut newlines, mut counted) = (0u64, 0usize);
    for record in reader.records() {
        let record = record.map_err(|e| ImportError::Unreadable {
            expected: "a CSV file",
            detail: match e.position() {
                Some(p) => format!("line {}", p.line()),
                None => "unreadable".to_owned(),
            },
        })?;
        if rows.len() >= MAX_ROWS {
            return Err(ImportError::TooManyRows);
        }
        // csv's own line count lags one behind after a CRLF: count the line breaks before the
        // record's first byte instead (a record may span lines inside quotes).
        let mut start = record.position().map_or(0, |p| p.byte() as usize);
        while bytes_of
            .get(start)
            .is_some_and(|b| *b == b'\r' || *b == b'\n')
        {
            start += 1;
        }
        let start = start.min(bytes_of.len());
        // A line ends in LF, CRLF or a lone CR (csv reads all three).
        let gap = &bytes_of[counted.min(start)..start];
        newlines += gap
            .iter()
            .enumerate()
            .filter(|&(i, b)| *b == b'\n' || (*b == b'\r' && gap.get(i + 1) != Some(&b'\n')))
            .count() as u64;
        counted = counted.max(start);
        let line = newlines + 1;
        let cells = record
            .iter()
            .take(MAX_COLUMNS)
            .map(|c| {
                if c.trim().is_empty() {
                    Cell::Empty
                } else {
                    Cell::Text(c.to_owned())
                }
            })
            .collect();
        rows.push(Row { line, cells });
    }
    Ok((Table { rows }, encoding))
}

/// The first worksheet of an XLSX (or the one named), as the spreadsheet shows it: formulas as
/// their last computed value, dates as dates, merged cells in their top-left cell only.
pub fn read_xlsx(bytes: &[u8], sheet: Option<&str>) -> Result<Table, ImportError> {
    if bytes.len() as u64 > MAX_FILE_BYTES {
        return Err(too_large());
    }
    check_unpacked_size(Cursor::new(bytes))?;
    // calamine's messages can quote a cell or a sheet name (one sheet per member, in some
    // workbooks): fixed words only.
    let not_xlsx = |e: calamine::XlsxError| ImportError::Unreadable {
        expected: "an XLSX workbook",
        detail: match e {
            calamine::XlsxError::Password => "protected by a password".to_owned(),
            calamine::XlsxError::WorksheetNotFound(_) => "a worksheet is missing".to_owned(),
            _ => "a damaged or unusual workbook".to_owned(),
        },
    };
    let mut book: Xlsx<_> = Xlsx::new(Cursor::new(bytes)).map_err(not_xlsx)?;
    let names = book.sheet_names();
    let name = match sheet {
        Some(wanted) => names
            .iter()
            .find(|n| n.as_str() == wanted)
            .cloned()
            .ok_or_else(|| ImportError::Unreadable {
                expected: "a workbook with that sheet",
                detail: format!("it has {} sheets, none of that name", names.len()),
            })?,
        None => names.first().cloned().ok_or(ImportError::Unreadable {
            expected: "an XLSX workbook",
            detail: "no worksheet".to_owned(),
        })?,
    };
    let mut cells = book.worksheet_cells_reader(&name).map_err(not_xlsx)?;
    // By row number: a workbook may list its rows out of order (a crafted one, or one edited by
    // a script), and a row must come out once, in the sheet's order.
    let mut by_line: std::collections::BTreeMap<u64, Vec<Cell>> = Default::default();
    while let Some(cell) = cells.next_cell().map_err(not_xlsx)? {
        let (r, c) = cell.get_position();
        let (line, column) = (u64::from(r) + 1, c as usize);
        if column >= MAX_COLUMNS {
            continue;
        }
        if !by_line.contains_key(&line) && by_line.len() >= MAX_ROWS {
            return Err(ImportError::TooManyRows);
        }
        let row = by_line.entry(line).or_default();
        if row.len() <= column {
            row.resize(column + 1, Cell::Empty);
        }
        row[column] = cell_of(cell.get_value());
    }
    let rows = by_line
        .into_iter()
        .map(|(line, cells)| Row { line, cells })
        .collect();
    Ok(Table { rows })
}

fn cell_of(value: &DataRef<'_>) -> Cell {
    match value {
        DataRef::Empty => Cell::Empty,
        DataRef::String(s) | DataRef::DateTimeIso(s) | DataRef::DurationIso(s) => {
            Cell::Text(s.clone())
        }
        DataRef::SharedString(s) => Cell::Text((*s).to_owned()),
        DataRef::Int(i) => Cell::Number(*i as f64),
        DataRef::Float(f) => Cell::Number(*f),
        DataRef::Bool(b) => Cell::Bool(*b),
        DataRef::Error(_) => Cell::Error,
        DataRef::DateTime(d) => match d.as_datetime() {
            Some(at) if d.is_datetime() => Cell::Date(at.date()),
            _ => Cell::Number(d.as_f64()),
        },
    }
}

/// Unpacks every part once, against one budget, before calamine reads anything: a zip bomb's
/// directory can declare a small size for a part that inflates to gigabytes (the unpacker does
/// not stop at the declared size), so the bytes themselves are counted.
fn check_unpacked_size<R: Read + Seek>(reader: R) -> Result<(), ImportError> {
    let not_zip = |e: zip::result::ZipError| ImportError::Unreadable {
        expected: "an XLSX workbook",
        detail: zip_problem(&e).to_owned(),
    };
    let mut archive = zip::ZipArchive::new(reader).map_err(not_zip)?;
    let mut left = MAX_UNPACKED_BYTES;
    for i in 0..archive.len() {
        let mut part = archive.by_index(i).map_err(not_zip)?;
        if part.size() > left {
            return Err(too_large());
        }
        let read =
            std::io::copy(&mut (&mut part).take(left + 1), &mut std::io::sink()).map_err(|_| {
                ImportError::Unreadable {
                    expected: "an XLSX workbook",
                    detail: "a damaged part".to_owned(),
                }
            })?;
        if read > left {
            return Err(too_large());
        }
        left -= read;
    }
    Ok(())
}

/// What went wrong with a zip, in fixed words: the library's message may quote a file name.
fn zip_problem(e: &zip::result::ZipError) -> &'static str {
    use zip::result::ZipError as Z;
    match e {
        Z::InvalidArchive(_) => "not a zip archive, or a damaged one",
        Z::UnsupportedArchive(_) => "a zip feature it cannot read (encryption?)",
        Z::FileNotFound => "a part is missing",
        _ => "a damaged zip archive",
    }
}

fn too_large() -> ImportError {
    ImportError::TooLarge {
        max_mb: MAX_FILE_BYTES / (1024 * 1024),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn lines_are_the_files_lines_with_any_line_ending_and_quoted_breaks() {
        for text in [
            "Title,,\nHọ và tên,Thôn\n\nLò Thị Mai,Bản Hua\n\"Giàng\nThị Dợ\",Bản Phố\nX,Y\n",
            "Title,,\r\nHọ và tên,Thôn\r\n\r\nLò Thị Mai,Bản Hua\r\n\"Giàng\r\nThị Dợ\",Bản Phố\r\nX,Y\r\n",
            // Old Mac line ends (the fuzzer's find): a lone CR.
            "Title,,\rHọ và tên,Thôn\r\rLò Thị Mai,Bản Hua\r\"Giàng\rThị Dợ\",Bản Phố\rX,Y\r",
        ] {
            let (table, _) = read_csv(text.as_bytes(), None).unwrap();
            let lines: Vec<u64> = table.rows.iter().map(|r| r.line).collect();
            assert_eq!(lines, [1, 2, 4, 5, 7], "{text:?}");
        }
    }
}
