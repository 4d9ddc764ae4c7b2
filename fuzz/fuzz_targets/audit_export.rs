//! The audit trail's evidence (core/src/trail.rs, core/src/audit.rs):
//! - the signed export a laptop verifies offline (`verify_export`): junk never verifies; the
//!   genuine export with any bit flipped, or its signed document edited, never verifies as
//!   anything but the genuine document; another device's key is `WrongDevice`;
//! - a device-signed checkpoint with any field changed never verifies;
//! - the HMAC chain (`verify_chain`) of entries built from fuzz bytes verifies untouched, and
//!   not once an entry, a MAC or the head is changed, an entry dropped, or two swapped.
#![no_main]

use std::sync::{Arc, OnceLock};

use arbitrary::Unstructured;
use chrono::DateTime;
use chungtay_core::fuzzing::{Key, chain, verify_chain};
use chungtay_core::trail::{ExportDocument, SignedExport};
use chungtay_core::*;
use libfuzzer_sys::fuzz_target;

struct Fixture {
    signed_json: String,
    signed: SignedExport,
    doc: ExportDocument,
    device_key: Vec<u8>,
    checkpoint: Checkpoint,
    audit_key: Key,
}

fn fixture() -> &'static Fixture {
    static F: OnceLock<Fixture> = OnceLock::new();
    F.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::create(
            &dir.path().join("club.db"),
            Arc::new(SoftwareDeviceSecret::generate().unwrap()),
            NewUser::new("Lò Thị Mai", UserRole::Leader, "274915"),
            KdfParams::MIN,
        )
        .unwrap();
        store
            .add_club(&ClubInput {
                name: "CLB Pù Nhi".into(),
                kind: ClubKind::AntiTrafficking,
                province: "Thanh Hóa".into(),
                commune: "Pù Nhi".into(),
                village: None,
                former_district: None,
            })
            .unwrap();
        let export = store.export_audit().unwrap();
        let device_key = store.device_public_key().unwrap();
        let doc = verify_export(&export.signed_json, &device_key).unwrap();
        let checkpoint = store.create_checkpoint().unwrap();
        assert!(checkpoint.verify(&device_key));
        Fixture {
            signed: serde_json::from_str(&export.signed_json).unwrap(),
            signed_json: export.signed_json,
            doc,
            device_key,
            checkpoint,
            audit_key: Key::generate().unwrap(),
        }
    })
}

/// Verifies or not; never verifies as anything but the genuine document.
fn at_most_genuine(f: &Fixture, file: &str) -> bool {
    match verify_export(file, &f.device_key) {
        Ok(doc) => {
            let signed: SignedExport = serde_json::from_str(file).unwrap();
            assert_eq!(
                signed.document, f.signed.document,
                "another document verified"
            );
            assert!(doc == f.doc);
            true
        }
        Err(_) => false,
    }
}

const ACTIONS: [AuditAction; 4] = [
    AuditAction::Create,
    AuditAction::Update,
    AuditAction::Delete,
    AuditAction::Export,
];
const KINDS: [RecordKind; 3] = [
    RecordKind::Member,
    RecordKind::Consent,
    RecordKind::Referral,
];
const ROLES: [UserRole; 3] = [UserRole::Leader, UserRole::Deputy, UserRole::Auditor];

/// Ids as the store writes them: UUIDs and names without the chain's field separator.
fn name(u: &mut Unstructured) -> arbitrary::Result<String> {
    let s: String = u.arbitrary()?;
    Ok(s.replace(['\u{1f}', ','], ""))
}

fn entry(u: &mut Unstructured, seq: i64) -> arbitrary::Result<AuditEntry> {
    let mut fields = Vec::new();
    for _ in 0..u.int_in_range(0..=3)? {
        let f = name(u)?;
        if !f.is_empty() {
            fields.push(f);
        }
    }
    Ok(AuditEntry {
        seq,
        at: DateTime::from_timestamp_micros(u.int_in_range(0..=253_402_300_799_000_000)?).unwrap(),
        user_id: name(u)?,
        role: if u.arbitrary()? {
            Some(*u.choose(&ROLES)?)
        } else {
            None
        },
        device_id: name(u)?,
        action: *u.choose(&ACTIONS)?,
        kind: if u.arbitrary()? {
            Some(*u.choose(&KINDS)?)
        } else {
            None
        },
        record_id: name(u)?,
        fields,
    })
}

fn check_chain(f: &Fixture, u: &mut Unstructured) -> arbitrary::Result<()> {
    let store_id = "store-1";
    let n = u.int_in_range(1..=6)?;
    let entries = (1..=n)
        .map(|seq| entry(u, seq))
        .collect::<arbitrary::Result<Vec<_>>>()?;
    let (macs, head) = chain(&f.audit_key, store_id, &entries);
    let mut rows: Vec<(AuditEntry, Vec<u8>)> = entries.into_iter().zip(macs).collect();
    assert_eq!(
        verify_chain(&f.audit_key, store_id, &rows, Some(&head)),
        Ok(n)
    );
    assert!(verify_chain(&f.audit_key, "store-2", &rows, Some(&head)).is_err());
    let mut head = head;
    let genuine_head = head.clone();
    let i = u.int_in_range(0..=rows.len() - 1)?;
    let before = rows.clone();
    match u.int_in_range(0..=9u8)? {
        0 => rows[i].0.user_id.push('x'),
        1 => rows[i].0.record_id = name(u)?,
        2 => rows[i].0.fields.push("full_name".into()),
        3 => rows[i].0.at += chrono::Duration::microseconds(u.int_in_range(1..=1_000_000)?),
        4 => rows[i].0.action = *u.choose(&ACTIONS)?,
        5 => {
            let bit = u.int_in_range(0..=255)?;
            rows[i].1[bit / 8] ^= 1 << (bit % 8);
        }
        6 => {
            let bit = u.int_in_range(0..=(head.len() * 8 - 1))?;
            head[bit / 8] ^= 1 << (bit % 8);
        }
        7 => {
            rows.remove(i);
        }
        8 => {
            let j = u.int_in_range(0..=rows.len() - 1)?;
            rows.swap(i, j);
        }
        _ => {
            rows[i].0.role = if rows[i].0.role.is_some() {
                None
            } else {
                Some(UserRole::Leader)
            }
        }
    }
    if rows == before && head == genuine_head {
        return Ok(());
    }
    assert!(
        verify_chain(&f.audit_key, store_id, &rows, Some(&head)).is_err(),
        "a changed chain verified"
    );
    Ok(())
}

/// After the mode byte: `[at: u32 LE][bit][text...]` (the text as UTF-8, lossily).
struct Input {
    at: u32,
    bit: u8,
    text: String,
}

impl Input {
    fn parse(data: &[u8]) -> Option<Self> {
        let (fixed, text) = data.split_at_checked(5)?;
        Some(Input {
            at: u32::from_le_bytes(fixed[..4].try_into().ok()?),
            bit: fixed[4],
            text: String::from_utf8_lossy(text).into_owned(),
        })
    }
}

fuzz_target!(|data: &[u8]| {
    let f = fixture();
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    if mode % 4 == 3 {
        let _ = check_chain(f, &mut Unstructured::new(rest));
        return;
    }
    let Some(input) = Input::parse(rest) else {
        return;
    };
    match mode % 4 {
        // Junk as a whole file.
        0 => {
            at_most_genuine(f, &input.text);
        }
        // One bit flipped in the genuine file (when it is still text).
        1 => {
            let mut bytes = f.signed_json.clone().into_bytes();
            let at = input.at as usize % bytes.len();
            bytes[at] ^= 1 << (input.bit % 8);
            if let Ok(text) = String::from_utf8(bytes) {
                at_most_genuine(f, &text);
            }
            // Another device's key.
            let mut other = f.device_key.clone();
            other[at % 32] ^= 1 << (input.bit % 8);
            assert!(matches!(
                verify_export(&f.signed_json, &other),
                Err(trail::ExportError::WrongDevice)
            ));
        }
        // The signed document edited (a span replaced), signature kept.
        _ => {
            let doc = &f.signed.document;
            let mut at = input.at as usize % (doc.len() + 1);
            while !doc.is_char_boundary(at) {
                at -= 1;
            }
            let mut end = (at + usize::from(input.bit)).min(doc.len());
            while !doc.is_char_boundary(end) {
                end -= 1;
            }
            let edited = format!("{}{}{}", &doc[..at], input.text, &doc[end..]);
            let mut signed = f.signed.clone();
            signed.document = edited.clone();
            let file = serde_json::to_string(&signed).unwrap();
            let verified = at_most_genuine(f, &file);
            assert_eq!(verified, edited == *doc);
            // A checkpoint with one field changed.
            let mut c = f.checkpoint.clone();
            let (head_at, sig_at) = (
                input.at as usize % c.head.len(),
                input.at as usize % c.signature.len(),
            );
            match input.bit % 5 {
                0 => c.seq = c.seq.wrapping_add(i64::from(input.at).max(1)),
                1 => c.head[head_at] ^= 1 << (input.bit % 8),
                2 => c.at.push_str(input.text.get(..1).unwrap_or("0")),
                3 => c.signature[sig_at] ^= 1 << (input.bit % 8),
                _ => c.device_id.push_str(input.text.get(..1).unwrap_or("x")),
            }
            assert!(!c.verify(&f.device_key), "a changed checkpoint verified");
        }
    }
});
