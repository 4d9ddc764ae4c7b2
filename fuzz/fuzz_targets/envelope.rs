//! The store's sealed envelope (core/src/crypto.rs), which every personal field goes through:
//! junk never opens; a genuine envelope with any one bit flipped never opens, nor under another
//! place, key id or key; what opens is what was sealed, and seals again to a value that opens to
//! the same. `envelope_key_id` reads the header and nothing else.
#![no_main]

use std::sync::OnceLock;

use chungtay_core::RecordKind;
use chungtay_core::fuzzing::{Key, Place, envelope_key_id, open, seal};
use libfuzzer_sys::fuzz_target;

const KID: [u8; 16] = [7; 16];
const HEADER_LEN: usize = 1 + 16 + 12;
const TAG_LEN: usize = 16;

fn key() -> &'static Key {
    static K: OnceLock<Key> = OnceLock::new();
    K.get_or_init(|| Key::generate().unwrap())
}

/// The key junk is tried under: it never seals anything, so nothing genuine under it can
/// reach the fuzzer (libFuzzer copies compared bytes into inputs, and it once fed a value
/// sealed under `key()` back as "junk").
fn junk_key() -> &'static Key {
    static K: OnceLock<Key> = OnceLock::new();
    K.get_or_init(|| Key::generate().unwrap())
}

const KINDS: [RecordKind; 6] = [
    RecordKind::Member,
    RecordKind::MemberKey,
    RecordKind::Consent,
    RecordKind::Referral,
    RecordKind::User,
    RecordKind::Canary,
];

/// `[kind][bit: u32 LE][id len][bound len][plain len: u16 LE][id][bound][plain][junk...]`
/// (lengths cut to what is there), so that seeds are easy to write (`examples/gen_seeds.rs`).
struct Input<'a> {
    kind: u8,
    bit: u32,
    id: String,
    bound: String,
    plain: &'a [u8],
    junk: &'a [u8],
}

fn take<'a>(rest: &mut &'a [u8], n: usize) -> &'a [u8] {
    let (head, tail) = rest.split_at(n.min(rest.len()));
    *rest = tail;
    head
}

impl<'a> Input<'a> {
    fn parse(data: &'a [u8]) -> Option<Self> {
        let (fixed, mut rest) = data.split_at_checked(9)?;
        let bit = u32::from_le_bytes(fixed[1..5].try_into().ok()?);
        let plain_len = usize::from(u16::from_le_bytes([fixed[7], fixed[8]]));
        let id = String::from_utf8_lossy(take(&mut rest, usize::from(fixed[5]))).into_owned();
        let bound = String::from_utf8_lossy(take(&mut rest, usize::from(fixed[6]))).into_owned();
        let plain = take(&mut rest, plain_len);
        Some(Input {
            kind: fixed[0],
            bit,
            id,
            bound,
            plain,
            junk: rest,
        })
    }
}

fn place(kind: u8, id: &str, bound: &str) -> Place {
    Place {
        kind: KINDS[usize::from(kind) % KINDS.len()],
        id: id.to_owned(),
        bound: bound.to_owned(),
    }
}

fuzz_target!(|data: &[u8]| {
    let Some(input) = Input::parse(data) else {
        return;
    };
    let k = key();
    let p = place(input.kind, &input.id, &input.bound);

    // 1. Junk: never opens; the header is read only when it is a whole version-1 envelope.
    assert!(
        open(junk_key(), KID, &p, input.junk).is_err(),
        "junk opened"
    );
    match envelope_key_id(&p, input.junk) {
        Ok(id) => {
            assert!(input.junk.len() >= HEADER_LEN + TAG_LEN && input.junk[0] == 1);
            assert_eq!(id, input.junk[1..17]);
        }
        Err(_) => assert!(input.junk.len() < HEADER_LEN + TAG_LEN || input.junk[0] != 1),
    }

    // 2. A genuine envelope opens to what was sealed, and only there.
    let sealed = seal(k, KID, &p, input.plain).unwrap();
    assert_eq!(sealed.len(), HEADER_LEN + input.plain.len() + TAG_LEN);
    let opened = open(k, KID, &p, &sealed).unwrap();
    assert_eq!(opened, input.plain);
    assert_eq!(envelope_key_id(&p, &sealed).unwrap(), KID);
    // What opens seals again (a fresh nonce) to a value that opens to the same.
    let again = seal(k, KID, &p, &opened).unwrap();
    assert_ne!(again, sealed, "a nonce was reused");
    assert_eq!(open(k, KID, &p, &again).unwrap(), opened);

    // 3. Any one bit flipped, anywhere: never opens.
    let bit = input.bit as usize % (sealed.len() * 8);
    let mut bad = sealed.clone();
    bad[bit / 8] ^= 1 << (bit % 8);
    assert!(
        open(k, KID, &p, &bad).is_err(),
        "bit {bit} flipped and it opened"
    );
    // Cut short or grown: never opens.
    let cut = input.bit as usize % sealed.len();
    assert!(open(k, KID, &p, &sealed[..cut]).is_err());
    let mut longer = sealed.clone();
    longer.extend_from_slice(input.junk);
    if !input.junk.is_empty() {
        assert!(open(k, KID, &p, &longer).is_err());
    }

    // 4. Another row, another bound column, another kind, another key id, another key.
    let other_id = format!("{}x", input.id);
    assert!(open(k, KID, &place(input.kind, &other_id, &input.bound), &sealed).is_err());
    let other_bound = format!("{}\u{1f}", input.bound);
    assert!(open(k, KID, &place(input.kind, &input.id, &other_bound), &sealed).is_err());
    let other_kind = place(input.kind.wrapping_add(1), &input.id, &input.bound);
    assert!(open(k, KID, &other_kind, &sealed).is_err());
    assert!(open(k, [8; 16], &p, &sealed).is_err());
    let mut other_key = k.bytes();
    other_key[bit / 8 % 32] ^= 1 << (bit % 8);
    assert!(open(&Key::from_bytes(other_key), KID, &p, &sealed).is_err());
});
