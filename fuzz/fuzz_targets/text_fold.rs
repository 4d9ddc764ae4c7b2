//! Search folding (phone and console): never panics, is idempotent, and does not depend on
//! the normalisation form the text arrived in ("Nguyễn" typed as NFD finds the NFC one).
#![no_main]

use chungtay_protocol::text::{fold, nfc};
use libfuzzer_sys::fuzz_target;
use unicode_normalization::UnicodeNormalization;

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else {
        return;
    };
    let f = fold(s);
    assert_eq!(fold(&f), f, "fold is idempotent");
    let nfd: String = s.nfd().collect();
    assert_eq!(fold(&nfd), f, "NFD and NFC fold alike");
    assert_eq!(fold(&nfc(s)), f);
    assert!(!f.starts_with(' ') && !f.ends_with(' ') && !f.contains("  "));
});
