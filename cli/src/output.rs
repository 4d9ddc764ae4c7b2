//! What a command hands back: a JSON value for `--json` and a text for people. Printing is
//! here and only here; a closed pipe (`chungtay member list | head`) is not an error.

use std::io::Write;

use chungtay_core::text::{hidden, hidden_chars};
use serde::Serialize;

use crate::error::CliError;
use crate::lang::Lang;

pub struct Output {
    pub json: serde_json::Value,
    pub text: String,
}

impl Output {
    pub fn new(json: impl Serialize, text: String) -> Result<Output, CliError> {
        let json = serde_json::to_value(json).map_err(|e| {
            CliError::Core(chungtay_core::ChungTayError::Internal {
                detail: e.to_string(),
            })
        })?;
        Ok(Output { json, text })
    }

    pub fn print(&self, json: bool) {
        let mut out = std::io::stdout().lock();
        if json {
            let text = json_text(&self.json, true);
            let _ = writeln!(out, "{text}");
        } else if !self.text.is_empty() {
            // Commands escape what they put in (`shown`); this pass is the last line of
            // defence, so a value a command forgot still cannot drive the terminal.
            let text = escape(&self.text, Keep::LineBreaks);
            let _ = write!(out, "{text}");
            if !text.ends_with('\n') {
                let _ = writeln!(out);
            }
        }
    }
}

/// Prints a failure on standard error: one line, or one JSON object with `--json`.
pub fn print_error(e: &CliError, lang: Lang, json: bool) {
    let mut err = std::io::stderr().lock();
    let message = e.message(lang);
    if json {
        let value = serde_json::json!({
            "error": {
                "kind": e.kind(),
                "exit_code": e.exit_code(),
                "message": message,
            }
        });
        let _ = writeln!(err, "{}", json_text(&value, false));
    } else {
        let prefix = lang.pick("Lỗi", "Error");
        // One line, whatever a server put in its reason.
        let message = shown(&message);
        let _ = writeln!(err, "{prefix}: {message}");
    }
}

/// A warning on standard error (the command goes on): one line, or one JSON object with
/// `--json`, so standard output stays what the command prints.
pub fn print_warning(message: &str, kind: &str, lang: Lang, json: bool) {
    let mut err = std::io::stderr().lock();
    if json {
        let value = serde_json::json!({ "warning": { "kind": kind, "message": message } });
        let _ = writeln!(err, "{}", json_text(&value, false));
    } else {
        let prefix = lang.pick("Cảnh báo", "Warning");
        let _ = writeln!(err, "{prefix}: {}", shown(message));
    }
}

/// Which layout characters pass [`escape`] as they are.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Keep {
    /// None: a single-line value (a name, a cell, a line of history).
    Nothing,
    /// `\n` and `\t`: a note, or a whole screen of output.
    LineBreaks,
}

/// The one escaping function for the terminal: every control, bidi and invisible format
/// character (`chungtay_core::text::hidden`, the same set the core refuses in new records) is
/// shown as a visible escape such as `\u{1b}`, so an ESC sequence (an OSC 52 clipboard write,
/// a screen clear) or a bidi override in a record written before that check, or in something a
/// server sent, is printed and not run.
pub fn escape(s: &str, keep: Keep) -> String {
    let mut out = String::with_capacity(s.len());
    // In context: a zero-width joiner inside an emoji (👩‍⚕️) is shown as it is.
    for (c, h) in hidden_chars(s) {
        let layout = c == '\n' || c == '\t';
        if h.is_some() && !(layout && keep == Keep::LineBreaks) {
            out.push_str(&format!("\\u{{{:x}}}", u32::from(c)));
        } else {
            out.push(c);
        }
    }
    out
}

/// A single-line value from the store or a server, ready for a terminal.
pub fn shown(s: &str) -> String {
    escape(s, Keep::Nothing)
}

/// JSON text in which no character a terminal acts on appears raw. serde_json escapes C0
/// already; DEL, C1, bidi and invisible characters it writes as they are, so they are written
/// here as `\uXXXX` (a UTF-16 pair above U+FFFF). They can only occur inside strings, where the
/// escape means the same character: the document parses to the same value.
pub fn json_text(value: &serde_json::Value, pretty: bool) -> String {
    let text = if pretty {
        serde_json::to_string_pretty(value)
    } else {
        serde_json::to_string(value)
    }
    .unwrap_or_default();
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if hidden(c).is_some() && !c.is_ascii_whitespace() {
            let mut units = [0u16; 2];
            for unit in c.encode_utf16(&mut units) {
                out.push_str(&format!("\\u{unit:04x}"));
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// Columns padded to their widest cell (in characters), two spaces apart.
pub fn table(headers: &[&str], rows: &[Vec<String>]) -> String {
    let rows: Vec<Vec<String>> = rows
        .iter()
        .map(|row| row.iter().map(|cell| shown(cell)).collect())
        .collect();
    let mut widths: Vec<usize> = headers.iter().map(|h| h.chars().count()).collect();
    for row in &rows {
        for (i, cell) in row.iter().enumerate() {
            if let Some(w) = widths.get_mut(i) {
                *w = (*w).max(cell.chars().count());
            }
        }
    }
    let line = |cells: Vec<&str>| {
        let mut s = String::new();
        for (i, cell) in cells.iter().enumerate() {
            if i > 0 {
                s.push_str("  ");
            }
            s.push_str(cell);
            if i + 1 < cells.len() {
                let pad = widths.get(i).copied().unwrap_or(0);
                s.push_str(&" ".repeat(pad.saturating_sub(cell.chars().count())));
            }
        }
        s.trim_end().to_owned()
    };
    let mut out = line(headers.to_vec());
    out.push('\n');
    for row in &rows {
        out.push_str(&line(row.iter().map(String::as_str).collect()));
        out.push('\n');
    }
    out
}

/// "label: value" lines, labels padded. Every value is one line: a line break in it (a name,
/// or a status note a server sent) is escaped, so that it cannot fake the lines that follow.
pub fn fields(pairs: &[(&str, String)]) -> String {
    lines(pairs, None)
}

/// [`fields`], then a note of several lines under its label, the lines after the first one
/// indented under it; everything else hidden in it is escaped.
pub fn fields_then_note(pairs: &[(&str, String)], note: (&str, &str)) -> String {
    lines(pairs, Some(note))
}

fn lines(pairs: &[(&str, String)], note: Option<(&str, &str)>) -> String {
    let width = pairs
        .iter()
        .map(|(l, _)| *l)
        .chain(note.map(|(l, _)| l))
        .map(|l| l.chars().count())
        .max()
        .unwrap_or(0);
    let indent = format!("\n{}", " ".repeat(width + 2));
    let mut out = String::new();
    let line = |out: &mut String, label: &str, value: String| {
        let pad = " ".repeat(width - label.chars().count());
        out.push_str(&format!("{label}:{pad} {value}\n"));
    };
    for (label, value) in pairs {
        line(&mut out, label, shown(value));
    }
    if let Some((label, value)) = note {
        line(
            &mut out,
            label,
            escape(value, Keep::LineBreaks).replace('\n', &indent),
        );
    }
    out
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    const NASTY: &str =
        "Hoa\u{1b}]52;c;eA==\u{7}\u{7f}\u{9b}2J\u{202e}\u{2066}\u{200b}\u{feff}\u{e0041}\n\tĐặng";

    #[test]
    fn escape_shows_every_hidden_character() {
        let one_line = shown(NASTY);
        assert_eq!(
            one_line,
            "Hoa\\u{1b}]52;c;eA==\\u{7}\\u{7f}\\u{9b}2J\\u{202e}\\u{2066}\\u{200b}\\u{feff}\\u{e0041}\\u{a}\\u{9}Đặng"
        );
        let note = escape(NASTY, Keep::LineBreaks);
        assert!(note.ends_with("\\u{e0041}\n\tĐặng"), "{note}");
        assert!(!note.contains('\u{1b}'));
    }

    #[test]
    fn json_stays_valid_and_holds_no_raw_hidden_character() {
        let value = serde_json::json!({ "note": NASTY, "nested": [NASTY] });
        for pretty in [true, false] {
            let text = json_text(&value, pretty);
            assert!(
                !text
                    .chars()
                    .any(|c| hidden(c).is_some() && !c.is_ascii_whitespace()),
                "{text}"
            );
            let back: serde_json::Value = serde_json::from_str(&text).unwrap();
            assert_eq!(back, value);
        }
    }

    #[test]
    fn fields_indent_the_lines_of_a_note() {
        let text = fields_then_note(&[("Id", "x".into())], ("Ghi chép", "một\nhai\u{1b}"));
        assert_eq!(text, "Id:       x\nGhi chép: một\n          hai\\u{1b}\n");
    }

    /// Finding F: a one-line value (a status note from the province, a name) cannot print
    /// lines of its own that look like the command's output.
    #[test]
    fn a_line_break_in_a_one_line_field_is_escaped() {
        let text = fields(&[
            (
                "Trạng thái",
                "Đã nhận\nTình trạng: không phải nạn nhân".into(),
            ),
            ("Id", "x".into()),
        ]);
        assert_eq!(text.lines().count(), 2, "{text}");
        assert!(text.contains("Đã nhận\\u{a}Tình trạng"), "{text}");
    }

    #[test]
    fn an_emoji_joined_by_zwj_is_shown_as_it_is() {
        assert_eq!(
            shown("Y tá 👩\u{200d}⚕\u{fe0f}"),
            "Y tá 👩\u{200d}⚕\u{fe0f}"
        );
        assert_eq!(shown("Hoa\u{200d}"), "Hoa\\u{200d}");
    }
}
