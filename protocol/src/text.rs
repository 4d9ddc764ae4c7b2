//! Search folding shared by the phone and the province's console, so that a name is found the
//! same way on both.

use unicode_normalization::UnicodeNormalization;
use unicode_normalization::char::is_combining_mark;

/// Search folding: NFD, drop all combining marks (U+0300..U+036F and other Mn marks), map đ/Đ to d,
/// lowercase, collapse whitespace, trim. "Nguyễn Thị Hoa" -> "nguyen thi hoa"; "Đức" -> "duc".
/// Works on NFD input too (same result as for NFC input).
///
/// U+00D0 (Ð, Icelandic eth) is folded like Đ because it is visually identical and turns up in
/// text converted from legacy Vietnamese encodings.
pub fn fold(s: &str) -> String {
    let folded = s
        .nfd()
        .filter(|c| !is_combining_mark(*c))
        .flat_map(|c| match c {
            'đ' | 'Đ' | '\u{00D0}' => 'd'.to_lowercase(),
            _ => c.to_lowercase(),
        })
        // Lowercasing can emit a combining mark (İ -> i + U+0307), so filter again.
        .filter(|c| !is_combining_mark(*c));
    collapse_whitespace(folded)
}

/// NFC, as every stored Vietnamese text is.
pub fn nfc(s: &str) -> String {
    s.nfc().collect()
}

/// Trims and collapses whitespace runs to a single ASCII space.
pub fn collapse_whitespace(chars: impl Iterator<Item = char>) -> String {
    let mut out = String::new();
    let mut pending_space = false;
    for c in chars {
        if c.is_whitespace() {
            pending_space = !out.is_empty();
        } else {
            if pending_space {
                out.push(' ');
                pending_space = false;
            }
            out.push(c);
        }
    }
    out
}
