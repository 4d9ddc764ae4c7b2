//! The member import's readers (core/src/import.rs, core/src/import/files.rs): a CSV in any
//! encoding or an XLSX, then the header search, column mapping and row reading. The first byte
//! picks the reader and whether a default ethnic group is given.
//! - nothing panics, whatever the bytes;
//! - every row after the header is accounted for exactly once: ready, likely duplicate, refused
//!   or blank;
//! - a row that goes in has a name and a village that are NFC, single-line, free of control
//!   characters and of U+FFFD, and not a formula; its survivor status is never set;
//! - rows keep the file's order (their lines strictly increase).
#![no_main]

use chrono::NaiveDate;
use chungtay_core::SurvivorStatus;
use chungtay_core::fuzzing::plan_import;
use chungtay_core::import::files::{TextEncoding, read_csv, read_xlsx};
use chungtay_core::import::{ImportOptions, recognise_ethnic_group};
use libfuzzer_sys::fuzz_target;
use unicode_normalization::UnicodeNormalization;

fuzz_target!(|data: &[u8]| {
    let Some((&pick, bytes)) = data.split_first() else {
        return;
    };
    let table = match pick % 4 {
        0 => read_csv(bytes, None).map(|(t, _)| t),
        1 => read_csv(bytes, Some(TextEncoding::Windows1258)).map(|(t, _)| t),
        2 => read_csv(bytes, Some(TextEncoding::Utf8)).map(|(t, _)| t),
        _ => read_xlsx(bytes, None),
    };
    let Ok(table) = table else { return };
    let options = ImportOptions {
        default_ethnic_group: (pick & 4 != 0).then(|| recognise_ethnic_group("Mông")).flatten(),
        ..ImportOptions::default()
    };
    let today = NaiveDate::from_ymd_opt(2026, 12, 3).expect("a date");
    let Ok(plan) = plan_import(&table, &options, today) else {
        return;
    };
    let after_header = table
        .rows
        .iter()
        .filter(|r| r.line > plan.header_line)
        .count();
    assert_eq!(
        plan.ready.len() + plan.duplicates.len() + plan.rejected.len() + plan.blank_rows,
        after_header,
        "a row was lost or counted twice"
    );
    let mut last = 0;
    for row in &plan.ready {
        assert!(row.line > last, "rows out of the file's order");
        last = row.line;
    }
    for row in plan.ready.iter().chain(plan.duplicates.iter().map(|d| &d.row)) {
        let m = &row.input;
        assert_eq!(m.survivor_status, SurvivorStatus::NotASurvivor);
        for text in [&m.full_name, &m.village] {
            assert!(!text.trim().is_empty(), "an empty value went in");
            assert_eq!(text.nfc().collect::<String>(), *text, "not NFC");
            assert!(
                !text.chars().any(|c| c.is_control() || c == '\u{FFFD}'),
                "a control character or U+FFFD went in"
            );
            assert!(
                !text.starts_with(['=', '+', '-', '@']),
                "a formula went in"
            );
        }
    }
});
