//! The backup file (core/src/safety.rs, `Store::restore`), which arrives from a USB stick or a
//! chat app: junk, and a genuine backup with any one bit flipped, any span overwritten, cut
//! short or grown, gives a typed error (`BackupDamaged` or `WrongRecoverySecret`) and never
//! opens, so nothing is restored from it. The genuine file opens to the store key and database.
//!
//! Argon2 (the recovery secret's key) runs once, in the fixture: the key tried on every input
//! is the one that opens the genuine file, so a changed salt or cost must be caught by the seal
//! (the header is bound into it), not only by deriving another key.
#![no_main]

use std::sync::{Arc, OnceLock};

use chungtay_core::fuzzing::{Key, parse_backup};
use chungtay_core::*;
use libfuzzer_sys::fuzz_target;

const PIN: &str = "274915";

struct Fixture {
    genuine: Vec<u8>,
    key: Key,
    store_key: [u8; 32],
    db_len: usize,
}

fn fixture() -> &'static Fixture {
    static F: OnceLock<Fixture> = OnceLock::new();
    F.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let device = Arc::new(SoftwareDeviceSecret::generate().unwrap());
        let mut store = Store::create(
            &dir.path().join("club.db"),
            device.clone(),
            NewUser::new("Lò Thị Mai", UserRole::Leader, PIN),
            KdfParams::MIN,
        )
        .unwrap();
        let secret = store.setup_recovery().unwrap().recovery_secret;
        let genuine = store.create_backup().unwrap();
        let file = parse_backup(&genuine).unwrap();
        let key = file.key(&secret).unwrap();
        let (store_key, db) = file.open(&key).unwrap();
        // The fixture is real: the whole restore takes this file, and refuses it damaged.
        let restored = dir.path().join("restored.db");
        let phone = Arc::new(SoftwareDeviceSecret::generate().unwrap());
        Store::restore(
            &genuine,
            &secret,
            &restored,
            phone.clone(),
            "385720",
            KdfParams::MIN,
        )
        .unwrap();
        let mut bad = genuine.clone();
        let last = bad.len() - 1;
        bad[last] ^= 1;
        let again = dir.path().join("again.db");
        assert!(matches!(
            Store::restore(&bad, &secret, &again, phone, "385720", KdfParams::MIN),
            Err(Error::BackupDamaged)
        ));
        assert!(!again.exists(), "a refused restore left a file behind");
        Fixture {
            store_key: store_key.bytes(),
            db_len: db.len(),
            genuine,
            key,
        }
    })
}

/// `[mode][at: u32 LE][bit][bytes...]`.
struct Input<'a> {
    mode: u8,
    at: u32,
    bit: u8,
    bytes: &'a [u8],
}

impl<'a> Input<'a> {
    fn parse(data: &'a [u8]) -> Option<Self> {
        let (fixed, bytes) = data.split_at_checked(6)?;
        Some(Input {
            mode: fixed[0],
            at: u32::from_le_bytes(fixed[1..5].try_into().ok()?),
            bit: fixed[5],
            bytes,
        })
    }
}

/// The file as `restore` reads it: refused with a typed error, or opened.
fn try_open(f: &Fixture, file: &[u8]) -> Result<(Key, Vec<u8>)> {
    let parsed = parse_backup(file)?;
    parsed.open(&f.key)
}

fn refused(f: &Fixture, file: &[u8], what: &str) {
    match try_open(f, file) {
        Err(Error::BackupDamaged | Error::WrongRecoverySecret) => {}
        Err(e) => panic!("{what}: untyped error {e:?}"),
        Ok(_) => panic!("{what}: a damaged backup opened"),
    }
}

fuzz_target!(|data: &[u8]| {
    let f = fixture();
    let Some(input) = Input::parse(data) else {
        return;
    };
    let g = &f.genuine;
    let at = input.at as usize % g.len();
    match input.mode % 5 {
        // Junk as a whole file.
        0 => {
            if input.bytes != g.as_slice() {
                refused(f, input.bytes, "junk");
            }
        }
        // One bit flipped anywhere.
        1 => {
            let mut bad = g.clone();
            bad[at] ^= 1 << (input.bit % 8);
            refused(f, &bad, "flipped bit");
        }
        // A span overwritten with other bytes.
        2 => {
            let mut bad = g.clone();
            let end = (at + input.bytes.len()).min(bad.len());
            bad[at..end].copy_from_slice(&input.bytes[..end - at]);
            if bad != *g {
                refused(f, &bad, "overwritten span");
            }
        }
        // Cut short.
        3 => refused(f, &g[..at], "cut short"),
        // Grown: bytes inserted or appended.
        _ => {
            if !input.bytes.is_empty() {
                let mut bad = g[..at].to_vec();
                bad.extend_from_slice(input.bytes);
                bad.extend_from_slice(&g[at..]);
                refused(f, &bad, "grown");
            }
        }
    }
    // And the genuine file still opens to the same store key and database.
    if input.mode == 0xff {
        let (k, db) = try_open(f, g).unwrap();
        assert_eq!(k.bytes(), f.store_key);
        assert_eq!(db.len(), f.db_len);
    }
});
