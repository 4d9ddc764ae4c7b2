//! Words of the domain (services, states, shared fields, urgency) in the console's two languages.
//!
//! The same words as the phone (android/src/main/res/values*/strings_prov.xml, DOMAIN.md), so a
//! service or a state has one name everywhere in the product. Vietnamese is written in NFC.
//! An unknown key comes back as itself: a phone newer than the server may send a service this
//! table does not know yet, and the page shows its key rather than nothing.

/// The console's language: Vietnamese by default, English second.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Lang {
    #[default]
    Vi,
    En,
}

/// The twelve support services (DOMAIN.md's list), in the order of select boxes and tables.
pub const SERVICES: [&str; 12] = [
    "essential_needs",
    "health_care",
    "psychological",
    "legal_aid",
    "schooling",
    "vocational_training",
    "jobs",
    "loans",
    "hardship_allowance",
    "safe_accommodation",
    "identity_papers",
    "interpretation",
];

/// The states a referral has at the province, in lifecycle order.
pub const STATES: [&str; 5] = [
    "received",
    "accepted",
    "declined",
    "in_progress",
    "completed",
];

/// The fields a consent may let the phone share, in the phone's order.
pub const FIELDS: [&str; 9] = [
    "name",
    "birth_year",
    "gender",
    "ethnic_group",
    "commune",
    "village",
    "phone",
    "need",
    "story",
];

/// Urgency of a referral, as the phone sends it (`routine`, `urgent`, `emergency`).
pub const URGENCIES: [&str; 3] = ["routine", "urgent", "emergency"];

/// (key, Vietnamese, English)
type Word = (&'static str, &'static str, &'static str);

const SERVICE_WORDS: [Word; 12] = [
    (
        "essential_needs",
        "Nhu cầu thiết yếu và đi lại",
        "Essential needs and travel",
    ),
    ("health_care", "Chăm sóc y tế", "Health care"),
    ("psychological", "Hỗ trợ tâm lý", "Psychological support"),
    ("legal_aid", "Trợ giúp pháp lý", "Legal aid"),
    ("schooling", "Học văn hoá", "Schooling"),
    ("vocational_training", "Học nghề", "Vocational training"),
    ("jobs", "Việc làm", "Jobs"),
    ("loans", "Vay vốn", "Loans"),
    (
        "hardship_allowance",
        "Trợ cấp khó khăn ban đầu",
        "Initial hardship allowance",
    ),
    ("safe_accommodation", "Nơi ở an toàn", "Safe accommodation"),
    (
        "identity_papers",
        "Giấy tờ tuỳ thân, hộ tịch",
        "Identity papers and civil registration",
    ),
    ("interpretation", "Phiên dịch", "Interpretation"),
];

const STATE_WORDS: [Word; 5] = [
    ("received", "Tỉnh đã nhận", "Received by the province"),
    ("accepted", "Đã chấp nhận", "Accepted"),
    ("declined", "Từ chối", "Declined"),
    ("in_progress", "Đang hỗ trợ", "In progress"),
    ("completed", "Hoàn thành", "Completed"),
];

const FIELD_WORDS: [Word; 9] = [
    ("name", "Họ tên", "Name"),
    ("birth_year", "Năm sinh", "Year of birth"),
    ("gender", "Giới tính", "Gender"),
    ("ethnic_group", "Dân tộc", "Ethnic group"),
    ("commune", "Xã", "Commune"),
    ("village", "Thôn, bản", "Village"),
    ("phone", "Số điện thoại", "Phone"),
    ("need", "Nhu cầu hỗ trợ", "Need"),
    ("story", "Câu chuyện của chị", "Her story"),
];

const URGENCY_WORDS: [Word; 3] = [
    ("routine", "Bình thường", "Routine"),
    ("urgent", "Khẩn", "Urgent"),
    ("emergency", "Cấp cứu", "Emergency"),
];

fn look_up<'a>(words: &[Word], lang: Lang, key: &'a str) -> &'a str {
    match words.iter().find(|w| w.0 == key) {
        Some((_, vi, en)) => match lang {
            Lang::Vi => vi,
            Lang::En => en,
        },
        None => key,
    }
}

/// A support service's name (`vocational_training` → "Học nghề" / "Vocational training").
pub fn service(lang: Lang, key: &str) -> &str {
    look_up(&SERVICE_WORDS, lang, key)
}

/// A referral state's name (`accepted` → "Đã chấp nhận" / "Accepted").
pub fn state(lang: Lang, key: &str) -> &str {
    look_up(&STATE_WORDS, lang, key)
}

/// A shared field's name (`birth_year` → "Năm sinh" / "Year of birth").
pub fn field(lang: Lang, key: &str) -> &str {
    look_up(&FIELD_WORDS, lang, key)
}

/// An urgency's name (`urgent` → "Khẩn" / "Urgent").
pub fn urgency(lang: Lang, key: &str) -> &str {
    look_up(&URGENCY_WORDS, lang, key)
}

/// Picks the Vietnamese or the English of a pair of texts.
pub fn pick(lang: Lang, vi: &'static str, en: &'static str) -> &'static str {
    match lang {
        Lang::Vi => vi,
        Lang::En => en,
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use super::*;
    use unicode_normalization::{UnicodeNormalization, is_nfc};

    /// (what, the word function, its keys)
    type Words = (
        &'static str,
        fn(Lang, &str) -> &str,
        &'static [&'static str],
    );

    fn all() -> Vec<Words> {
        vec![
            ("service", service, &SERVICES),
            ("state", state, &STATES),
            ("field", field, &FIELDS),
            ("urgency", urgency, &URGENCIES),
        ]
    }

    #[test]
    fn every_key_has_a_vietnamese_and_an_english_word() {
        for (what, word, keys) in all() {
            for key in keys {
                let (vi, en) = (word(Lang::Vi, key), word(Lang::En, key));
                assert_ne!(vi, *key, "{what} {key}: no Vietnamese word");
                assert_ne!(en, *key, "{what} {key}: no English word");
                assert_ne!(vi, en, "{what} {key}: Vietnamese and English are the same");
                assert!(!vi.trim().is_empty() && !en.trim().is_empty());
            }
        }
        // Every word table has exactly the keys of its list, in its order.
        let keys = |w: &[Word]| w.iter().map(|w| w.0).collect::<Vec<_>>();
        assert_eq!(keys(&SERVICE_WORDS), SERVICES);
        assert_eq!(keys(&STATE_WORDS), STATES);
        assert_eq!(keys(&FIELD_WORDS), FIELDS);
        assert_eq!(keys(&URGENCY_WORDS), URGENCIES);
    }

    #[test]
    fn vietnamese_words_are_nfc() {
        for (what, word, keys) in all() {
            for key in keys {
                let vi = word(Lang::Vi, key);
                assert!(is_nfc(vi), "{what} {key} is not NFC");
                assert!(is_nfc(word(Lang::En, key)));
            }
        }
        // A known NFC literal, written with escapes: ệ is one code point, not e + marks.
        assert_eq!(service(Lang::Vi, "jobs"), "Vi\u{1ec7}c l\u{e0}m");
        assert_eq!(service(Lang::Vi, "jobs").chars().count(), 8);
        assert_eq!(service(Lang::Vi, "jobs").nfd().count(), 11);
    }

    #[test]
    fn the_words_are_the_phones() {
        // The phone's wording (strings_prov.xml), not the older CLI labels.
        assert_eq!(service(Lang::Vi, "schooling"), "Học văn hoá");
        assert_eq!(
            service(Lang::En, "safe_accommodation"),
            "Safe accommodation"
        );
        assert_eq!(state(Lang::Vi, "received"), "Tỉnh đã nhận");
        assert_eq!(state(Lang::En, "in_progress"), "In progress");
        assert_eq!(field(Lang::Vi, "village"), "Thôn, bản");
        assert_eq!(urgency(Lang::Vi, "emergency"), "Cấp cứu");
    }

    #[test]
    fn an_unknown_key_comes_back_as_itself() {
        assert_eq!(service(Lang::Vi, "space_travel"), "space_travel");
        assert_eq!(state(Lang::En, "withdrawn"), "withdrawn");
        assert_eq!(field(Lang::Vi, ""), "");
        assert_eq!(urgency(Lang::En, "Urgent"), "Urgent");
    }

    #[test]
    fn vietnamese_is_the_default() {
        assert_eq!(Lang::default(), Lang::Vi);
        assert_eq!(pick(Lang::default(), "Xã", "Commune"), "Xã");
        assert_eq!(pick(Lang::En, "Xã", "Commune"), "Commune");
    }
}
