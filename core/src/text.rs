//! Vietnamese-aware text handling: normalisation, search folding and sort keys.
//!
//! Android keyboards hand us names in NFC or NFD, with stray spaces, so stored text goes
//! through [`clean`] / [`nfc`], search goes through [`fold`] / [`Query`], and ordering goes
//! through [`name_sort_key`] / [`text_sort_key`].

use unicode_normalization::UnicodeNormalization;
use unicode_normalization::char::is_combining_mark;

/// NFC-normalise and trim; collapse internal runs of whitespace to one space.
pub fn clean(s: &str) -> String {
    collapse_whitespace(s.nfc())
}

/// NFC only (no trimming) for free-text notes where line breaks matter.
pub fn nfc(s: &str) -> String {
    s.nfc().collect()
}

/// A character that draws nothing a reader can check, and so has no place in stored text: what
/// it does depends on whoever displays it (a terminal runs an ESC sequence, a bidi override
/// reorders what follows), or it makes two different texts look the same.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Hidden {
    /// C0 (U+0000..U+001F), DEL, C1 (U+0080..U+009F).
    Control,
    /// Bidirectional embeddings, overrides, isolates and marks (U+202A..U+202E,
    /// U+2066..U+2069, U+200E, U+200F, U+061C).
    Bidi,
    /// Other invisible format characters: zero-width space and joiners, word joiner, BOM,
    /// soft hyphen, invisible operators, interlinear annotation, tags, line and paragraph
    /// separators. None is needed to write Vietnamese or the Latin orthographies of the
    /// minority languages (Hmong RPA, Thái, Tày, Ê Đê, Ba Na...).
    Invisible,
}

/// Which kind of [`Hidden`] character `c` is, if any. Letters, combining marks (Vietnamese tones
/// in NFD), spaces and punctuation are never hidden.
pub fn hidden(c: char) -> Option<Hidden> {
    match c {
        '\u{0}'..='\u{1f}' | '\u{7f}'..='\u{9f}' => Some(Hidden::Control),
        '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{200e}' | '\u{200f}' | '\u{61c}' => {
            Some(Hidden::Bidi)
        }
        '\u{ad}'
        | '\u{34f}'
        | '\u{115f}'
        | '\u{1160}'
        | '\u{17b4}'
        | '\u{17b5}'
        | '\u{180b}'..='\u{180f}'
        | '\u{3164}'
        | '\u{ffa0}'
        | '\u{200b}'..='\u{200d}'
        | '\u{2028}'
        | '\u{2029}'
        | '\u{2060}'..='\u{2064}'
        | '\u{206a}'..='\u{206f}'
        | '\u{feff}'
        | '\u{fff9}'..='\u{fffb}'
        | '\u{1bca0}'..='\u{1bca3}'
        | '\u{1d173}'..='\u{1d17a}'
        | '\u{e0000}'..='\u{e007f}' => Some(Hidden::Invisible),
        _ => None,
    }
}

/// Pictographs (emoji) and what completes them (skin tones, the emoji presentation selector):
/// what may stand on either side of a zero-width joiner in an emoji sequence such as 👩‍⚕️.
fn emoji_part(c: char) -> bool {
    matches!(
        c,
        '\u{a9}'
            | '\u{ae}'
            | '\u{203c}'
            | '\u{2049}'
            | '\u{2122}'
            | '\u{2139}'
            | '\u{2190}'..='\u{21ff}'
            | '\u{2300}'..='\u{23ff}'
            | '\u{2460}'..='\u{24ff}'
            | '\u{25a0}'..='\u{27bf}'
            | '\u{2900}'..='\u{297f}'
            | '\u{2b00}'..='\u{2bff}'
            | '\u{3030}'
            | '\u{303d}'
            | '\u{3297}'
            | '\u{3299}'
            | '\u{fe0f}'
            | '\u{1f000}'..='\u{1faff}'
    )
}

/// Whether the character at `i` of `chars` is hidden, in its place: a zero-width joiner between
/// two emoji (👩‍⚕️, 👨‍👩‍👧) draws one emoji and is not; anywhere else it is.
fn hidden_in(chars: &[char], i: usize) -> Option<Hidden> {
    let c = chars[i];
    if c == '\u{200d}'
        && i > 0
        && emoji_part(chars[i - 1])
        && chars
            .get(i + 1)
            .is_some_and(|&n| emoji_part(n) && n != '\u{fe0f}')
    {
        return None;
    }
    hidden(c)
}

/// The hidden characters of `s` in order, each with whether it is hidden (see [`hidden_in`]).
pub fn hidden_chars(s: &str) -> impl Iterator<Item = (char, Option<Hidden>)> {
    let chars: Vec<char> = s.chars().collect();
    (0..chars.len()).map(move |i| (chars[i], hidden_in(&chars, i)))
}

/// The first hidden character of a single-line text, if any.
pub fn first_hidden(s: &str) -> Option<Hidden> {
    hidden_chars(s).find_map(|(_, h)| h)
}

/// The first hidden character of a multi-line text (a note): line breaks and tabs are its own.
pub fn first_hidden_multiline(s: &str) -> Option<Hidden> {
    hidden_chars(s)
        .filter(|&(c, _)| c != '\n' && c != '\t')
        .find_map(|(_, h)| h)
}

/// Drops the invisible characters that come with pasted text and that nobody typing can see or
/// remove: zero-width space (U+200B), byte order mark (U+FEFF), soft hyphen (U+00AD). Refusing
/// them would refuse a text that looks right; keeping them would make two names that look the
/// same differ.
pub fn strip_pasted(s: &str) -> String {
    s.chars()
        .filter(|c| !matches!(c, '\u{200b}' | '\u{feff}' | '\u{ad}'))
        .collect()
}

/// Line breaks as one `\n`, whichever system typed them (`\r\n`, a lone `\r`).
pub fn unix_newlines(s: &str) -> String {
    s.replace("\r\n", "\n").replace('\r', "\n")
}

pub use chungtay_protocol::text::{collapse_whitespace, fold};

/// A parsed search query: folded tokens.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Query {
    tokens: Vec<String>,
}

impl Query {
    pub fn parse(q: &str) -> Query {
        Query {
            tokens: fold(q).split_whitespace().map(str::to_owned).collect(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.tokens.is_empty()
    }

    /// The folded tokens, e.g. for building an SQL prefilter.
    pub fn tokens(&self) -> &[String] {
        &self.tokens
    }

    /// true when every query token is a prefix of some word of the folded haystack
    /// (word-prefix match, order-independent): "nguyen hoa" finds "Nguyễn Thị Hoa",
    /// "d" finds "Đặng", "thi h" finds "Nguyễn Thị Hoa", "hoa nguyen" finds it too, "guyen" does NOT.
    /// `folded_haystack` is already the output of `fold`.
    pub fn matches(&self, folded_haystack: &str) -> bool {
        self.tokens.iter().all(|token| {
            folded_haystack
                .split_whitespace()
                .any(|word| word.starts_with(token.as_str()))
        })
    }
}

/// Vietnamese name sort key, as bytes comparable with Ord (Vec<u8> compare).
/// Vietnamese practice: sort by given name (the LAST word) first, then the rest of the name in order
/// (family name, middle names). Letter order is the Vietnamese alphabet:
/// a ă â b c d đ e ê g h i k l m n o ô ơ p q r s t u ư v x y (f j w z, digits and other chars
/// sort in a sensible place, e.g. f after e-family, j after i, w after v, z after y; digits before letters).
/// Case-insensitive. Tones are a SECONDARY difference (as in CLDR's Vietnamese collation): compare
/// the whole key by base letters first; only if all base letters are equal, compare tones, in the
/// order: none (ngang) < grave (huyền, U+0300) < hook above (hỏi, U+0309) < tilde (ngã, U+0303)
/// < acute (sắc, U+0301) < dot below (nặng, U+0323). As a final tie-breaker lower case before upper.
/// Must be correct for NFC and NFD input alike (normalise first).
///
/// The tone is weighed once per word (syllable), not per letter, so the old and new tone
/// placements ("Hoà"/"Hòa", "Thuý"/"Thúy") give identical keys.
///
/// Stored in the phone's sealed index snapshot: a change to its output must bump
/// `snapshot::FORMAT` in chungtay-core.
pub fn name_sort_key(full_name: &str) -> Vec<u8> {
    let decomposed: String = full_name.nfd().collect();
    let words: Vec<&str> = decomposed.split_whitespace().collect();
    let mut key = KeyBuilder::default();
    if let Some((given, rest)) = words.split_last() {
        key.push_word(given);
        for word in rest {
            key.push_word(word);
        }
    }
    key.finish()
}

/// Same letter order, for any other text (villages, topics), without the given-name-first rule.
///
/// Runs of ASCII digits compare by numeric value ("Tổ 2" before "Tổ 10"), since that is what
/// people expect for hamlet and group numbers.
pub fn text_sort_key(s: &str) -> Vec<u8> {
    let decomposed: String = s.nfd().collect();
    let mut key = KeyBuilder::default();
    for word in decomposed.split_whitespace() {
        key.push_word(word);
    }
    key.finish()
}

// Primary weights. 0x00 is reserved for the section terminators, so every weight is >= 1 and the
// word separator is the lowest, which makes "An" sort before "Anh" and "An Bình".
const W_SEPARATOR: u8 = 0x01;
/// Punctuation and symbols go before digits and letters, as in the CLDR root order.
const W_SYMBOL: u8 = 0x02;
const W_NUMBER: u8 = 0x03;
const W_LETTER_BASE: u8 = 0x10;
/// Letters outside the Vietnamese alphabet (ß, ø, Cyrillic, ...) go after z, by code point.
const W_FOREIGN_LETTER: u8 = 0xF0;

/// Vietnamese alphabet with the loan letters f, j, w, z slotted in where readers expect them.
const ALPHABET: &str = "aăâbcdđeêfghijklmnoôơpqrstuưvwxyz";

// Secondary (tone) weights in the traditional Vietnamese order.
const TONE_NGANG: u8 = 1;
const TONE_HUYEN: u8 = 2;
const TONE_HOI: u8 = 3;
const TONE_NGA: u8 = 4;
const TONE_SAC: u8 = 5;
const TONE_NANG: u8 = 6;

// Tertiary weights.
const CASE_LOWER: u8 = 1;
const CASE_UPPER: u8 = 2;

const BREVE: char = '\u{0306}';
const CIRCUMFLEX: char = '\u{0302}';
const HORN: char = '\u{031B}';

fn tone_weight(mark: char) -> Option<u8> {
    match mark {
        '\u{0300}' => Some(TONE_HUYEN),
        '\u{0309}' => Some(TONE_HOI),
        '\u{0303}' => Some(TONE_NGA),
        '\u{0301}' => Some(TONE_SAC),
        '\u{0323}' => Some(TONE_NANG),
        _ => None,
    }
}

/// Secondary weight for a mark that is neither a Vietnamese tone nor a letter modifier
/// (ü, ç, ...). Always above the tone weights and never 0.
fn other_mark_weight(mark: char) -> u8 {
    let cp = u32::from(mark);
    let weight = if (0x0300..=0x036F).contains(&cp) {
        0x10 + (cp - 0x0300)
    } else {
        0x80 + cp % 0x7F
    };
    u8::try_from(weight).unwrap_or(u8::MAX)
}

/// The Vietnamese letter formed by a lowercase base and a modifier mark, if any.
fn apply_modifier(base: char, mark: char) -> Option<char> {
    match (base, mark) {
        ('a', BREVE) => Some('ă'),
        ('a', CIRCUMFLEX) => Some('â'),
        ('e', CIRCUMFLEX) => Some('ê'),
        ('o', CIRCUMFLEX) => Some('ô'),
        ('o', HORN) => Some('ơ'),
        ('u', HORN) => Some('ư'),
        _ => None,
    }
}

/// Encodes a code point in three base-255 digits offset by one, so no byte is 0x00.
fn push_code_point(out: &mut Vec<u8>, c: char) {
    let cp = u32::from(c);
    for digit in [cp / (255 * 255), (cp / 255) % 255, cp % 255] {
        out.push(u8::try_from(digit + 1).unwrap_or(u8::MAX));
    }
}

/// A count as bytes that compare as the counts do, none of them 0, whatever its size: how many
/// base-255 digits follow (plus one), then those digits, most significant first (each plus one).
/// (One capped byte, as before, sorted a 255-digit number after a 256-digit one.)
fn push_count(out: &mut Vec<u8>, n: usize) {
    let mut digits = Vec::new();
    let mut rest = n;
    while rest > 0 {
        digits.push(u8::try_from(rest % 255 + 1).unwrap_or(u8::MAX));
        rest /= 255;
    }
    out.push(u8::try_from(digits.len() + 1).unwrap_or(u8::MAX));
    out.extend(digits.iter().rev());
}

/// Collects the three collation levels separately, then concatenates them.
#[derive(Default)]
struct KeyBuilder {
    primary: Vec<u8>,
    /// One tone weight per word, so these stay aligned whenever the primaries are equal.
    tones: Vec<u8>,
    /// Non-Vietnamese marks; compared only after all tones.
    marks: Vec<u8>,
    tertiary: Vec<u8>,
    words: usize,
}

impl KeyBuilder {
    /// Adds one NFD word (no whitespace inside).
    fn push_word(&mut self, word: &str) {
        if self.words > 0 {
            self.primary.push(W_SEPARATOR);
        }
        self.words += 1;
        let mut tone = None;
        let mut chars = word.chars().peekable();
        while let Some(c) = chars.next() {
            if is_combining_mark(c) {
                // A mark with no base letter: ignorable at primary level, like in UCA.
                self.push_mark(c, &mut tone);
            } else if c.is_ascii_digit() {
                let mut digits = vec![c];
                while let Some(&next) = chars.peek() {
                    if next.is_ascii_digit() {
                        digits.push(next);
                    } else if is_combining_mark(next) {
                        self.push_mark(next, &mut tone);
                    } else {
                        break;
                    }
                    chars.next();
                }
                self.push_number(&digits);
            } else {
                let mut marks = Vec::new();
                while let Some(&next) = chars.peek() {
                    if !is_combining_mark(next) {
                        break;
                    }
                    marks.push(next);
                    chars.next();
                }
                self.push_letter(c, &marks, &mut tone);
            }
        }
        self.tones.push(tone.unwrap_or(TONE_NGANG));
    }

    /// The first tone mark of a word is its tone; anything else is a lesser mark.
    fn push_mark(&mut self, mark: char, tone: &mut Option<u8>) {
        match tone_weight(mark) {
            Some(weight) if tone.is_none() => *tone = Some(weight),
            _ => self.marks.push(other_mark_weight(mark)),
        }
    }

    fn push_letter(&mut self, c: char, marks: &[char], tone: &mut Option<u8>) {
        let (lower, upper) = if c == '\u{00D0}' {
            // Legacy-encoding lookalike of Đ: sort it as Đ.
            ('đ', true)
        } else {
            let lower = c.to_lowercase().next().unwrap_or(c);
            (lower, lower != c)
        };
        let mut letter = lower;
        let mut modified = false;
        for &mark in marks {
            if !modified && let Some(with_modifier) = apply_modifier(letter, mark) {
                letter = with_modifier;
                modified = true;
                continue;
            }
            self.push_mark(mark, tone);
        }
        let index = ALPHABET
            .chars()
            .position(|a| a == letter)
            .and_then(|i| u8::try_from(i).ok());
        match index {
            Some(i) => self.primary.push(W_LETTER_BASE + i),
            None => {
                let class = if letter.is_alphabetic() {
                    W_FOREIGN_LETTER
                } else {
                    W_SYMBOL
                };
                self.primary.push(class);
                push_code_point(&mut self.primary, letter);
            }
        }
        self.tertiary
            .push(if upper { CASE_UPPER } else { CASE_LOWER });
    }

    /// Digit runs sort by value: count of the significant digits first, then the digits.
    fn push_number(&mut self, digits: &[char]) {
        let zeros = digits.iter().take_while(|&&d| d == '0').count();
        let significant = digits.get(zeros..).unwrap_or_default();
        self.primary.push(W_NUMBER);
        push_count(&mut self.primary, significant.len());
        for d in significant {
            let value = d.to_digit(10).unwrap_or(0);
            self.primary
                .push(u8::try_from(value + 1).unwrap_or(u8::MAX));
        }
        // "007" and "7" tie on value; fewer leading zeros first, at the case level.
        push_count(&mut self.tertiary, zeros);
    }

    fn finish(self) -> Vec<u8> {
        let mut key = self.primary;
        key.push(0);
        key.extend(self.tones);
        key.extend(self.marks);
        key.push(0);
        key.extend(self.tertiary);
        key
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decomposed(s: &str) -> String {
        let d: String = s.nfd().collect();
        assert_ne!(d, s, "test input should change under NFD");
        d
    }

    fn sort_names<'a>(names: &[&'a str]) -> Vec<&'a str> {
        let mut v = names.to_vec();
        v.sort_by_cached_key(|n| name_sort_key(n));
        v
    }

    fn sort_texts<'a>(texts: &[&'a str]) -> Vec<&'a str> {
        let mut v = texts.to_vec();
        v.sort_by_cached_key(|t| text_sort_key(t));
        v
    }

    /// Asserts each name sorts strictly before the next one.
    fn assert_name_order(names: &[&str]) {
        for pair in names.windows(2) {
            assert!(
                name_sort_key(pair[0]) < name_sort_key(pair[1]),
                "{:?} should sort before {:?}",
                pair[0],
                pair[1]
            );
        }
    }

    fn assert_text_order(texts: &[&str]) {
        for pair in texts.windows(2) {
            assert!(
                text_sort_key(pair[0]) < text_sort_key(pair[1]),
                "{:?} should sort before {:?}",
                pair[0],
                pair[1]
            );
        }
    }

    fn finds(query: &str, name: &str) -> bool {
        Query::parse(query).matches(&fold(name))
    }

    #[test]
    fn no_vietnamese_letter_or_tone_is_hidden() {
        let letters = "aăâbcdđeêghiklmnoôơpqrstuưvxy fjwz";
        for base in letters.chars().chain(letters.to_uppercase().chars()) {
            for tone in ["", "\u{300}", "\u{309}", "\u{303}", "\u{301}", "\u{323}"] {
                let nfd: String = format!("{base}{tone}").nfd().collect();
                let nfc = nfc(&nfd);
                assert_eq!(first_hidden(&nfd), None, "{nfd:?}");
                assert_eq!(first_hidden(&nfc), None, "{nfc:?}");
            }
        }
        for c in [
            '\u{2019}', '\u{2bc}', '\'', '-', '\u{a0}', '\u{306}', '\u{30c}',
        ] {
            assert_eq!(hidden(c), None, "{c:?}");
        }
        assert_eq!(first_hidden_multiline("một\nhai\tba"), None);
        assert_eq!(first_hidden("một\nhai"), Some(Hidden::Control));
        assert_eq!(first_hidden_multiline("\u{1b}[2J"), Some(Hidden::Control));
        assert_eq!(first_hidden_multiline("\u{85}"), Some(Hidden::Control));
        assert_eq!(first_hidden("a\u{202e}b"), Some(Hidden::Bidi));
        assert_eq!(first_hidden("a\u{200d}b"), Some(Hidden::Invisible));
    }

    /// Found while writing the `sort_key` fuzz target's rule for digit runs (by value, then
    /// fewer leading zeros), not by a run: the count of significant digits was one byte, capped
    /// at 254, so a 255-digit number sorted after a 256-digit one; the count of leading zeros
    /// likewise, so 255 and 256 of them gave equal keys for texts search tells apart.
    #[test]
    fn long_digit_runs_still_sort_by_value() {
        let nines = format!("Tổ {}", "9".repeat(255));
        let bigger = format!("Tổ 1{}", "0".repeat(255));
        assert!(text_sort_key(&nines) < text_sort_key(&bigger));
        let fewer = format!("Tổ {}1", "0".repeat(255));
        let more = format!("Tổ {}1", "0".repeat(256));
        assert!(text_sort_key(&fewer) < text_sort_key(&more));
        assert!(text_sort_key("Tổ 7") < text_sort_key("Tổ 007"));
        assert!(text_sort_key("Tổ 99") < text_sort_key("Tổ 100"));
    }

    #[test]
    fn clean_composes_nfd_input() {
        let nfd = decomposed("Nguyễn");
        assert_eq!(clean(&nfd), "Nguyễn");
        assert_eq!(clean(&nfd).as_bytes(), "Nguy\u{1EC5}n".as_bytes());
    }

    #[test]
    fn clean_trims_and_collapses_whitespace() {
        assert_eq!(clean("  Lò   Thị \t Mai \n"), "Lò Thị Mai");
        assert_eq!(clean("Hà\u{00A0}Thị  Ơn"), "Hà Thị Ơn");
        assert_eq!(clean("   "), "");
        assert_eq!(clean(""), "");
    }

    #[test]
    fn nfc_keeps_line_breaks_and_spaces() {
        let note = format!(" Họp chi hội\n{}  ", decomposed("Đặng Văn Đức"));
        assert_eq!(nfc(&note), " Họp chi hội\nĐặng Văn Đức  ");
    }

    #[test]
    fn fold_strips_tones_and_letter_modifiers() {
        assert_eq!(fold("Nguyễn Thị Hoa"), "nguyen thi hoa");
        assert_eq!(fold("Vàng A Pó"), "vang a po");
        assert_eq!(fold("Hà Thị Ơn"), "ha thi on");
        assert_eq!(fold("ăâêôơư ĂÂÊÔƠƯ"), "aaeoou aaeoou");
        assert_eq!(fold("Nguyễn Thị Ngọc Ánh"), "nguyen thi ngoc anh");
    }

    #[test]
    fn fold_nfd_input_matches_nfc_input() {
        for name in [
            "Nguyễn Thị Hoa",
            "Đặng Văn Đức",
            "Hà Thị Ơn",
            "Lò Thị Mai",
            "Trương Mỹ Lệ",
        ] {
            assert_eq!(fold(&decomposed(name)), fold(name), "{name}");
        }
    }

    #[test]
    fn fold_maps_d_with_stroke_to_d() {
        assert_eq!(fold("ĐẶNG"), "dang");
        assert_eq!(fold("Đức"), "duc");
        assert_eq!(fold("đ"), "d");
        // Ð (U+00D0) from legacy conversions looks the same as Đ.
        assert_eq!(fold("\u{00D0}ặng"), "dang");
    }

    #[test]
    fn fold_collapses_whitespace() {
        assert_eq!(fold("  Lò   Thị  Mai "), "lo thi mai");
        assert_eq!(fold("\tHà\nThị\u{00A0}Ơn"), "ha thi on");
        assert_eq!(fold(" \n "), "");
    }

    #[test]
    fn query_matches_word_prefixes_in_any_order() {
        let name = "Nguyễn Thị Hoa";
        assert!(finds("nguyen hoa", name));
        assert!(finds("nguyen thi hoa", name));
        assert!(finds("thi h", name));
        assert!(finds("hoa nguyen", name));
        assert!(finds("NGUY", name));
        assert!(finds("d", "Đặng Văn Đức"));
        assert!(finds("duc", "Đặng Văn Đức"));
        assert!(finds("po", "Vàng A Pó"));
    }

    #[test]
    fn query_does_not_match_inside_words() {
        assert!(!finds("guyen", "Nguyễn Thị Hoa"));
        assert!(!finds("oa", "Nguyễn Thị Hoa"));
        assert!(!finds("hoa", "Nguyễn Văn Bình"));
        assert!(!finds("nguyen lan", "Nguyễn Thị Hoa"));
        assert!(!finds("hoang", "Nguyễn Thị Hoa"));
    }

    #[test]
    fn query_folds_tones_on_both_sides() {
        assert!(finds("hoà", "Hòa"));
        assert!(finds("Hòa", "Nguyễn Thị Hoà"));
        assert!(finds("đức", "Phạm Đức"));
        assert!(finds(&decomposed("Nguyễn"), "Nguyễn Thị Hoa"));
    }

    #[test]
    fn empty_query_matches_everything() {
        for q in ["", "   ", "\n\t"] {
            let query = Query::parse(q);
            assert!(query.is_empty());
            assert!(query.matches(&fold("Nguyễn Thị Hoa")));
            assert!(query.matches(""));
        }
        assert!(!Query::parse("hoa").is_empty());
        assert_eq!(Query::parse(" Nguyễn  Hoà ").tokens(), ["nguyen", "hoa"]);
    }

    #[test]
    fn names_sort_by_given_name_first() {
        let names = [
            "Trần Văn Bình",
            "Nguyễn Thị An",
            "Lê Thị Anh",
            "Phạm Đức",
            "Hà Văn Dũng",
            "Nguyễn Văn Ân",
        ];
        assert_eq!(
            sort_names(&names),
            [
                "Nguyễn Thị An",
                "Lê Thị Anh",
                "Nguyễn Văn Ân",
                "Trần Văn Bình",
                "Hà Văn Dũng",
                "Phạm Đức",
            ]
        );
    }

    #[test]
    fn same_given_name_sorts_by_family_then_middle_name() {
        assert_name_order(&["Lê Thị Hoa", "Nguyễn Thị Hoa", "Trần Hoa"]);
        assert_name_order(&["Nguyễn Thị Hoa", "Nguyễn Văn Hoa"]);
        // A bare given name comes before the same given name with a family name.
        assert_name_order(&["Hoa", "Lê Hoa"]);
    }

    #[test]
    fn letter_order_follows_vietnamese_alphabet() {
        assert_name_order(&["Dung", "Đan"]);
        assert_name_order(&["Du", "Dư"]);
        assert_name_order(&["An", "Ăn", "Ân", "Bê"]);
        assert_name_order(&["Oanh", "Ông", "Ơn", "Phúc"]);
        assert_name_order(&["Ut", "Ưu", "Vân"]);
        assert_name_order(&["Em", "Êm", "Gấm"]);
        // Prefix first, and the word boundary sorts before any letter.
        assert_name_order(&["An", "Anh"]);
        assert_name_order(&["Lê An", "Nguyễn An", "Anh"]);
    }

    #[test]
    fn loan_letters_digits_and_symbols_have_sensible_places() {
        assert_text_order(&["ê", "f", "g"]);
        assert_text_order(&["i", "j", "k"]);
        assert_text_order(&["v", "w", "x"]);
        assert_text_order(&["y", "z", "ß"]);
        assert_text_order(&["-", "1", "9", "a"]);
        assert_text_order(&["Tổ 2", "Tổ 10", "Tổ 10A", "Tổ A"]);
        assert_text_order(&["Xóm 7", "Xóm 07", "Xóm 8"]);
    }

    #[test]
    fn tones_follow_traditional_order() {
        assert_name_order(&["ma", "mà", "mả", "mã", "má", "mạ"]);
        assert_name_order(&["Hồng", "Hổng", "Hỗng", "Hống", "Hộng"]);
    }

    #[test]
    fn tones_are_only_a_secondary_difference() {
        // Given names An < Bình decide before any tone.
        assert_name_order(&["Hà An", "Ha Bình"]);
        assert_name_order(&["Án", "Anh"]);
        assert_name_order(&["Mạ", "Mai"]);
        // Tone outranks case.
        assert_name_order(&["Má", "mạ"]);
        // Same letters everywhere: the given name's tone is compared first.
        assert_name_order(&["Lệ Hà", "Lê Hạ"]);
    }

    #[test]
    fn case_is_the_last_tie_breaker() {
        assert_name_order(&["an", "An", "ăn"]);
        assert_name_order(&["hoa", "Hoa", "hoà"]);
        assert_name_order(&["nguyễn hoa", "Nguyễn hoa", "Nguyễn Hoa"]);
    }

    #[test]
    fn old_and_new_tone_placement_give_equal_keys() {
        assert_eq!(
            name_sort_key("Nguyễn Thị Hoà"),
            name_sort_key("Nguyễn Thị Hòa")
        );
        assert_eq!(name_sort_key("Thuý"), name_sort_key("Thúy"));
        assert_name_order(&["Hoà", "Hóa"]);
        assert_name_order(&["Hòa", "Hoá"]);
    }

    #[test]
    fn nfd_and_nfc_give_equal_keys() {
        for name in [
            "Nguyễn Thị Hoa",
            "Đặng Văn Đức",
            "Hà Thị Ơn",
            "Trương Mỹ Lệ",
            "Vàng A Pó",
        ] {
            let nfd = decomposed(name);
            assert_eq!(name_sort_key(&nfd), name_sort_key(name), "{name}");
            assert_eq!(text_sort_key(&nfd), text_sort_key(name), "{name}");
        }
        assert_eq!(
            name_sort_key("  Lò   Thị Mai "),
            name_sort_key("Lò Thị Mai")
        );
    }

    #[test]
    fn text_key_keeps_word_order() {
        assert_eq!(
            sort_texts(&["Thôn Bản Lầy", "Bản Mới", "Bản", "Đồng Tâm", "Dốc Đỏ"]),
            ["Bản", "Bản Mới", "Dốc Đỏ", "Đồng Tâm", "Thôn Bản Lầy"]
        );
        // A name key would put "Hoa" first here; a text key must not.
        assert_text_order(&["Lê Hoa", "Nguyễn An"]);
        assert_name_order(&["Nguyễn An", "Lê Hoa"]);
    }

    #[test]
    fn keys_never_contain_zero_outside_separators() {
        for s in [
            "Nguyễn Thị Hoa",
            "Tổ 0 - 00",
            "Müller Ça",
            "\u{0301}x",
            "ß Ж 中",
        ] {
            let key = text_sort_key(s);
            assert_eq!(key.iter().filter(|&&b| b == 0).count(), 2, "{s}: {key:?}");
        }
    }

    #[test]
    fn empty_input_sorts_first() {
        assert_eq!(name_sort_key(""), vec![0, 0]);
        assert_eq!(name_sort_key("   "), name_sort_key(""));
        assert!(name_sort_key("") < name_sort_key("A"));
        assert!(text_sort_key("") < text_sort_key("-"));
    }

    #[test]
    fn foreign_marks_sort_next_to_their_base_letter() {
        assert_text_order(&["c", "ç", "d"]);
        assert_text_order(&["u", "ü", "ư"]);
    }
}
