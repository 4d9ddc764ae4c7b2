//! What a command hands back: a JSON value for `--json` and a text for people. Printing is
//! here and only here; a closed pipe (`chungtay member list | head`) is not an error.

use std::io::Write;

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
            let text = serde_json::to_string_pretty(&self.json).unwrap_or_default();
            let _ = writeln!(out, "{text}");
        } else if !self.text.is_empty() {
            let _ = write!(out, "{}", self.text);
            if !self.text.ends_with('\n') {
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
        let _ = writeln!(err, "{value}");
    } else {
        let prefix = lang.pick("Lỗi", "Error");
        let _ = writeln!(err, "{prefix}: {message}");
    }
}

/// Columns padded to their widest cell (in characters), two spaces apart.
pub fn table(headers: &[&str], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = headers.iter().map(|h| h.chars().count()).collect();
    for row in rows {
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
    for row in rows {
        out.push_str(&line(row.iter().map(String::as_str).collect()));
        out.push('\n');
    }
    out
}

/// "label: value" lines, labels padded.
pub fn fields(pairs: &[(&str, String)]) -> String {
    let width = pairs
        .iter()
        .map(|(l, _)| l.chars().count())
        .max()
        .unwrap_or(0);
    let mut out = String::new();
    for (label, value) in pairs {
        let pad = " ".repeat(width - label.chars().count());
        out.push_str(&format!("{label}:{pad} {value}\n"));
    }
    out
}
