//! Vietnamese sort keys (core/src/text.rs), which order members, clubs and villages:
//! - keys do not depend on the form text arrived in (NFC, NFD) nor on runs of whitespace;
//! - equal keys mean equal text for search (`fold`), so ordering never merges two texts that
//!   search tells apart;
//! - tones and case are lesser differences: the base letters (what `fold`-like stripping of
//!   tones and case keeps) decide the order whenever they differ;
//! - the given name (last word) comes first in name keys;
//! - runs of digits compare by value, then by fewer leading zeros.
#![no_main]

use std::cmp::Ordering;

use chungtay_core::text::{clean, fold, name_sort_key, text_sort_key};
use libfuzzer_sys::fuzz_target;
use unicode_normalization::UnicodeNormalization;
use unicode_normalization::char::is_combining_mark;

/// The key up to its first section terminator: base letters only.
fn primary(key: &[u8]) -> &[u8] {
    &key[..key
        .iter()
        .position(|&b| b == 0)
        .expect("a key has sections")]
}

/// The text with its Vietnamese tones taken off and in lower case, letter by letter.
fn untoned_lower(s: &str) -> String {
    s.nfd()
        .filter(|c| {
            !matches!(
                c,
                '\u{0300}' | '\u{0309}' | '\u{0303}' | '\u{0301}' | '\u{0323}'
            )
        })
        // U+00D0 is sorted as Đ (a legacy-encoding lookalike), whatever its lower case.
        .map(|c| {
            if c == '\u{00D0}' {
                'đ'
            } else {
                c.to_lowercase().next().unwrap_or(c)
            }
        })
        .collect()
}

fn digits(bytes: &[u8]) -> String {
    bytes.iter().map(|b| char::from(b'0' + b % 10)).collect()
}

/// Numeric comparison of two digit strings, then fewer leading zeros first.
fn numeric(a: &str, b: &str) -> Ordering {
    let (ta, tb) = (a.trim_start_matches('0'), b.trim_start_matches('0'));
    ta.len()
        .cmp(&tb.len())
        .then_with(|| ta.cmp(tb))
        .then_with(|| (a.len() - ta.len()).cmp(&(b.len() - tb.len())))
}

fuzz_target!(|data: &[u8]| {
    if data.len() < 2 {
        return;
    }
    let split = usize::from(data[0]) % data.len().max(1);
    let (a, b) = data[1..].split_at(split.min(data.len() - 1));

    // Digit runs by value (any length: hamlet numbers are short, but nothing stops a long one).
    let (da, db) = (digits(a), digits(b));
    if !da.is_empty() && !db.is_empty() {
        let (ka, kb) = (
            text_sort_key(&format!("Tổ {da}")),
            text_sort_key(&format!("Tổ {db}")),
        );
        assert_eq!(ka.cmp(&kb), numeric(&da, &db), "{da} vs {db}");
    }

    let (Ok(s), Ok(t)) = (std::str::from_utf8(a), std::str::from_utf8(b)) else {
        return;
    };
    for key in [text_sort_key, name_sort_key] {
        let ks = key(s);
        // The form and the spacing it arrived in do not matter.
        let nfd: String = s.nfd().collect();
        let nfc: String = s.nfc().collect();
        assert_eq!(key(&nfd), ks, "NFD");
        assert_eq!(key(&nfc), ks, "NFC");
        assert_eq!(key(&clean(s)), ks, "whitespace");
        // Equal keys: texts search cannot tell apart.
        let kt = key(t);
        if ks == kt {
            assert_eq!(fold(s), fold(t), "equal keys, different texts");
        }
        // Tones and case never change the base letters (unless a word is nothing but a stray
        // mark, which taking the tone off would remove), and those decide first.
        let orphan_mark = nfd
            .split_whitespace()
            .any(|w| w.chars().all(is_combining_mark));
        if !orphan_mark {
            let untoned = key(&untoned_lower(s));
            assert_eq!(
                primary(&untoned),
                primary(&ks),
                "tone or case in the primary"
            );
        }
        if primary(&ks) != primary(&kt) {
            assert_eq!(
                ks.cmp(&kt),
                primary(&ks).cmp(primary(&kt)),
                "a lesser level decided"
            );
        }
    }
    // The given name first: "A B" sorts as "B A" would as text.
    let words: Vec<&str> = s.split_whitespace().collect();
    if let Some((given, rest)) = words.split_last() {
        let mut reordered = vec![*given];
        reordered.extend_from_slice(rest);
        assert_eq!(name_sort_key(s), text_sort_key(&reordered.join(" ")));
    }
});
