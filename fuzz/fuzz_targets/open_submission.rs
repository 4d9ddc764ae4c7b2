//! The province opening what a phone (or anyone) sent: junk never opens and never panics, and a
//! genuine sealed referral with any one bit flipped, in its key or its ciphertext, never opens.
#![no_main]

use std::collections::BTreeMap;
use std::sync::OnceLock;

use chungtay_protocol::{
    B64, Consent, DeviceKeys, ProvinceHpkeKeys, ReferralPayload, Submission, open_submission,
    seal_referral,
};
use libfuzzer_sys::fuzz_target;

struct Fixture {
    province: ProvinceHpkeKeys,
    device_pk: [u8; 32],
    genuine: Submission,
}

fn fixture() -> &'static Fixture {
    static F: OnceLock<Fixture> = OnceLock::new();
    F.get_or_init(|| {
        let province = ProvinceHpkeKeys::generate().unwrap();
        let device = DeviceKeys::generate().unwrap();
        let payload = ReferralPayload {
            referral_id: "r-1".into(),
            services: vec!["vocational_training".into()],
            urgency: "routine".into(),
            note: "Muốn học may".into(),
            shared: BTreeMap::from([("name".to_string(), "Lò Thị Xuân".to_string())]),
            consent: Consent {
                purposes: vec!["vocational_training".into()],
                recipient: "province".into(),
                fields: vec!["name".into()],
                given_on: "2026-01-02".into(),
            },
            created_at: "2026-01-02T03:04:05Z".into(),
        };
        let genuine =
            seal_referral(&payload, &device, "dev-1", &province.public_key_bytes()).unwrap();
        // The fixture itself opens, or every "never opens" below would be empty.
        assert!(open_submission(&genuine, &province, &device.public_key()).is_ok());
        Fixture {
            province,
            device_pk: device.public_key(),
            genuine,
        }
    })
}

fuzz_target!(|data: &[u8]| {
    let f = fixture();
    // 1. Junk as the whole submission (JSON), and as the raw key and ciphertext.
    if let Ok(sub) = serde_json::from_slice::<Submission>(data) {
        let _ = open_submission(&sub, &f.province, &f.device_pk);
    }
    let (enc, ct) = data.split_at(data.len().min(32));
    let junk = Submission {
        device_id: "dev-1".into(),
        referral_id: "r-1".into(),
        enc: B64(enc.to_vec()),
        ciphertext: B64(ct.to_vec()),
    };
    assert!(open_submission(&junk, &f.province, &f.device_pk).is_err());
    // 2. One flipped bit anywhere in the genuine one.
    if data.len() >= 4 {
        let at = u32::from_le_bytes([data[0], data[1], data[2], data[3]]) as usize;
        let mut sub = f.genuine.clone();
        let enc_bits = sub.enc.as_bytes().len() * 8;
        let total = enc_bits + sub.ciphertext.as_bytes().len() * 8;
        let bit = at % total;
        let mut bytes = if bit < enc_bits {
            sub.enc.as_bytes().to_vec()
        } else {
            sub.ciphertext.as_bytes().to_vec()
        };
        let b = if bit < enc_bits { bit } else { bit - enc_bits };
        bytes[b / 8] ^= 1 << (b % 8);
        if bit < enc_bits {
            sub.enc = B64(bytes);
        } else {
            sub.ciphertext = B64(bytes);
        }
        assert!(open_submission(&sub, &f.province, &f.device_pk).is_err());
    }
});
