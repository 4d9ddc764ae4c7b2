//! Member-key unwrap (the `member_keys` rows, opened at every unlock; erasing a member erases
//! her key): junk never unwraps; a genuine wrapped key with any one bit flipped, moved to
//! another member's row, or under another store key id never unwraps; a well-sealed value that
//! is not a whole 32-byte key never unwraps either; the genuine one gives back the same key.
#![no_main]

use std::sync::OnceLock;

use chungtay_core::fuzzing::{Key, unwrap_member_key, wrap_member_key};
use libfuzzer_sys::fuzz_target;

const STORE_KID: [u8; 16] = [3; 16];

fn member_wrap() -> &'static Key {
    static K: OnceLock<Key> = OnceLock::new();
    K.get_or_init(|| Key::generate().unwrap())
}

/// Junk is tried under a wrapping key that never wraps anything, so that no genuine wrapped
/// key can come back as "junk" (libFuzzer copies compared bytes into its inputs).
fn junk_wrap() -> &'static Key {
    static K: OnceLock<Key> = OnceLock::new();
    K.get_or_init(|| Key::generate().unwrap())
}

/// `[bit: u32 LE][odd len][id len][other id len][key: 32][id][other id][junk...]`.
struct Input<'a> {
    bit: u32,
    odd_len: u8,
    member_id: String,
    other_id: String,
    key: [u8; 32],
    junk: &'a [u8],
}

impl<'a> Input<'a> {
    fn parse(data: &'a [u8]) -> Option<Self> {
        let (fixed, rest) = data.split_at_checked(39)?;
        let (id, rest) = rest.split_at(usize::from(fixed[5]).min(rest.len()));
        let (other, junk) = rest.split_at(usize::from(fixed[6]).min(rest.len()));
        Some(Input {
            bit: u32::from_le_bytes(fixed[..4].try_into().ok()?),
            odd_len: fixed[4],
            member_id: String::from_utf8_lossy(id).into_owned(),
            other_id: String::from_utf8_lossy(other).into_owned(),
            key: fixed[7..39].try_into().ok()?,
            junk,
        })
    }
}

fuzz_target!(|data: &[u8]| {
    let Some(input) = Input::parse(data) else {
        return;
    };
    let wrap = member_wrap();
    let id = input.member_id.as_str();

    assert!(unwrap_member_key(junk_wrap(), STORE_KID, id, input.junk).is_err());

    let wrapped = wrap_member_key(wrap, STORE_KID, id, &input.key).unwrap();
    let back = unwrap_member_key(wrap, STORE_KID, id, &wrapped).unwrap();
    assert_eq!(back.bytes(), input.key);

    let bit = input.bit as usize % (wrapped.len() * 8);
    let mut bad = wrapped.clone();
    bad[bit / 8] ^= 1 << (bit % 8);
    assert!(unwrap_member_key(wrap, STORE_KID, id, &bad).is_err());

    if input.other_id != id {
        assert!(unwrap_member_key(wrap, STORE_KID, &input.other_id, &wrapped).is_err());
    }
    assert!(unwrap_member_key(wrap, [4; 16], id, &wrapped).is_err());
    let mut other = wrap.bytes();
    other[bit / 8 % 32] ^= 1 << (bit % 8);
    assert!(unwrap_member_key(&Key::from_bytes(other), STORE_KID, id, &wrapped).is_err());

    // Sealed correctly, but not a whole key: refused, not padded or cut.
    let len = usize::from(input.odd_len) % 65;
    if len != 32 {
        let short = wrap_member_key(wrap, STORE_KID, id, &[0x5a; 64][..len]).unwrap();
        assert!(unwrap_member_key(wrap, STORE_KID, id, &short).is_err());
    }
});
