//! Search folding shared by the phone and the province's console, so that a name is found the
//! same way on both.

use unicode_normalization::UnicodeNormalization;
use unicode_normalization::char::{decompose_canonical, is_combining_mark};

/// Search folding: NFD, drop all combining marks (U+0300..U+036F and other Mn marks), map đ/Đ to d,
/// lowercase, collapse whitespace, trim. "Nguyễn Thị Hoa" -> "nguyen thi hoa"; "Đức" -> "duc".
/// Works on NFD input too (same result as for NFC input).
///
/// U+00D0 (Ð, Icelandic eth) is folded like Đ because it is visually identical and turns up in
/// text converted from legacy Vietnamese encodings.
///
/// Stored in the phone's sealed index snapshot: a change to its output must bump
/// `snapshot::FORMAT` in chungtay-core.
pub fn fold(s: &str) -> String {
    let mut out = Collapsing::with_capacity(s.len());
    for c in s.chars() {
        if c.is_ascii() {
            out.push(c.to_ascii_lowercase());
        } else {
            // Char by char rather than `nfd()`: NFD's canonical reordering moves combining
            // marks only, and every mark is dropped here, so the result is the same (a test
            // checks that every code point with a combining class is a mark) at a third of
            // the cost; an unlock folds every member's name and village.
            decompose_canonical(c, |d| {
                if is_combining_mark(d) {
                    return;
                }
                match d {
                    'đ' | 'Đ' | '\u{00D0}' => out.push('d'),
                    // Lowercasing can emit a combining mark (İ -> i + U+0307): dropped too.
                    _ => d
                        .to_lowercase()
                        .filter(|l| !is_combining_mark(*l))
                        .for_each(|l| out.push(l)),
                }
            });
        }
    }
    out.text
}

/// `collapse_whitespace` fed one char at a time.
struct Collapsing {
    text: String,
    pending_space: bool,
}

impl Collapsing {
    fn with_capacity(n: usize) -> Self {
        Collapsing {
            text: String::with_capacity(n),
            pending_space: false,
        }
    }

    fn push(&mut self, c: char) {
        if c.is_whitespace() {
            self.pending_space = !self.text.is_empty();
        } else {
            if self.pending_space {
                self.text.push(' ');
                self.pending_space = false;
            }
            self.text.push(c);
        }
    }
}

/// NFC, as every stored Vietnamese text is.
pub fn nfc(s: &str) -> String {
    s.nfc().collect()
}

/// Trims and collapses whitespace runs to a single ASCII space.
pub fn collapse_whitespace(chars: impl Iterator<Item = char>) -> String {
    let mut out = Collapsing::with_capacity(0);
    chars.for_each(|c| out.push(c));
    out.text
}

#[cfg(test)]
mod tests {
    use super::*;
    use unicode_normalization::char::canonical_combining_class;

    /// `fold` as it was written first, on the whole string's NFD: the reference.
    fn fold_by_nfd(s: &str) -> String {
        let folded = s
            .nfd()
            .filter(|c| !is_combining_mark(*c))
            .flat_map(|c| match c {
                'đ' | 'Đ' | '\u{00D0}' => 'd'.to_lowercase(),
                _ => c.to_lowercase(),
            })
            .filter(|c| !is_combining_mark(*c));
        collapse_whitespace(folded)
    }

    /// What makes decomposing char by char equal to NFD here: reordering moves only code points
    /// with a non-zero combining class, and `fold` drops every one of them.
    #[test]
    fn every_code_point_that_reordering_moves_is_a_dropped_mark() {
        let moved: Vec<char> = (0..=0x10FFFFu32)
            .filter_map(char::from_u32)
            .filter(|&c| canonical_combining_class(c) != 0 && !is_combining_mark(c))
            .collect();
        assert_eq!(moved, Vec::<char>::new());
    }

    #[test]
    fn fold_equals_the_reference_on_every_code_point_and_on_mixed_strings() {
        for c in (0..=0x10FFFFu32).filter_map(char::from_u32) {
            let s = format!("a{c}b {c}");
            assert_eq!(fold(&s), fold_by_nfd(&s), "U+{:04X}", c as u32);
        }
        // Marks out of canonical order, precomposed letters followed by more marks, spaces of
        // several kinds: strings a reference-only code path would treat differently.
        let parts = [
            "Nguyễn",
            "THỊ",
            "e\u{0302}\u{0323}",
            "e\u{0323}\u{0302}",
            "ệ\u{0301}",
            "Đ",
            "\u{00D0}",
            "İ",
            " ",
            "\t",
            "\u{00A0}",
            "\u{3000}",
            "ǅ",
            "ﬃ",
            "가",
            "\u{0345}",
            "x",
            "Σ",
            "1",
        ];
        let mut state = 0x9E37_79B9_7F4A_7C15u64;
        for _ in 0..20_000 {
            let mut s = String::new();
            for _ in 0..8 {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                s.push_str(parts[(state % parts.len() as u64) as usize]);
            }
            assert_eq!(fold(&s), fold_by_nfd(&s), "{s:?}");
        }
        assert_eq!(fold("  Nguyễn   Thị  Hoa "), "nguyen thi hoa");
        assert_eq!(fold("ĐỨC"), "duc");
    }
}
