use std::fmt;

use hpke::aead::ChaCha20Poly1305;
use hpke::kdf::HkdfSha256;
use hpke::kem::X25519HkdfSha256;
use hpke::{Deserializable, OpModeR, OpModeS, Serializable};
use ring::digest::{SHA256, digest};
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use crate::keys::hpke_public_key;
use crate::{
    B64, DeviceKeys, ProtocolError, ProvinceHpkeKeys, REFERRAL_INFO, ReferralPayload, Submission,
    validate_id, verify_ed25519,
};

type Kem = X25519HkdfSha256;

// v2: the device also signs the province key it sealed to.
const REFERRAL_LABEL: &[u8] = b"chungtay.referral.v2\0";

/// Smallest padded size of the sealed envelope, in bytes. Envelopes are padded to a bucket so
/// that the ciphertext's length says nothing of which fields were consented or how long a name
/// is: up to 16 KiB, the next power of two from 2 KiB; above, the next multiple of 8 KiB.
pub(crate) const PAD_MIN: usize = 2048;
const PAD_STEP_LARGE: usize = 8192;

/// The shortest ciphertext a padded referral can have: the smallest bucket and the AEAD tag.
/// The province refuses anything shorter before any key agreement.
pub const MIN_CIPHERTEXT_LEN: usize = PAD_MIN + 16;

/// The bucket `len` bytes (padding marker included) are padded to.
pub(crate) fn padded_len(len: usize) -> usize {
    if len <= PAD_MIN {
        PAD_MIN
    } else if len <= 2 * PAD_STEP_LARGE {
        len.next_power_of_two()
    } else {
        len.div_ceil(PAD_STEP_LARGE).saturating_mul(PAD_STEP_LARGE)
    }
}

/// ISO/IEC 7816-4 padding: a 0x80 byte, then zeros up to the bucket.
fn pad(inner: &[u8]) -> Zeroizing<Vec<u8>> {
    let target = padded_len(inner.len() + 1);
    let mut out = Zeroizing::new(Vec::with_capacity(target));
    out.extend_from_slice(inner);
    out.push(0x80);
    out.resize(target, 0);
    out
}

/// Strips [`pad`]: trailing zeros, then the 0x80 marker (the envelope JSON ends in `}`).
fn unpad(plain: &[u8]) -> Result<&[u8], ProtocolError> {
    let end = plain
        .iter()
        .rposition(|b| *b != 0)
        .ok_or(ProtocolError::Malformed("padding"))?;
    if plain.get(end) != Some(&0x80) {
        return Err(ProtocolError::Malformed("padding"));
    }
    Ok(&plain[..end])
}

/// What is sealed: the exact payload JSON that was signed, and the device's signature.
#[derive(Serialize)]
struct EnvelopeRef<'a> {
    payload_json: &'a str,
    signature: B64,
}

#[derive(Deserialize)]
struct Envelope {
    payload_json: String,
    signature: B64,
}

/// The bytes the device signs: `"chungtay.referral.v2\0" || province_hpke_pk (32 bytes) ||
/// device_id || 0 || referral_id || 0 || payload_json`. The province key binds the signature to
/// the province it was sealed to: a province that opens it cannot re-seal it to another as if
/// the phone had sent it there.
pub fn referral_signed_message(
    province_hpke_pk: &[u8; 32],
    device_id: &str,
    referral_id: &str,
    payload_json: &[u8],
) -> Vec<u8> {
    let mut m = Vec::with_capacity(
        REFERRAL_LABEL.len() + 32 + device_id.len() + referral_id.len() + payload_json.len() + 2,
    );
    m.extend_from_slice(REFERRAL_LABEL);
    m.extend_from_slice(province_hpke_pk);
    m.extend_from_slice(device_id.as_bytes());
    m.push(0);
    m.extend_from_slice(referral_id.as_bytes());
    m.push(0);
    m.extend_from_slice(payload_json);
    m
}

/// The HPKE AAD: `device_id || 0 || referral_id`.
pub fn referral_aad(device_id: &str, referral_id: &str) -> Vec<u8> {
    let mut a = Vec::with_capacity(device_id.len() + referral_id.len() + 1);
    a.extend_from_slice(device_id.as_bytes());
    a.push(0);
    a.extend_from_slice(referral_id.as_bytes());
    a
}

/// SHA-256 of the payload's JSON, as [`seal_referral`] serialises it (serialisation is
/// deterministic: struct fields in order, `shared` sorted). The device compares it with the
/// receipt's `payload_hash`.
pub fn payload_hash(payload: &ReferralPayload) -> Result<[u8; 32], ProtocolError> {
    let json = payload_json(payload)?;
    Ok(sha256(json.as_bytes()))
}

fn payload_json(payload: &ReferralPayload) -> Result<Zeroizing<String>, ProtocolError> {
    serde_json::to_string(payload)
        .map(Zeroizing::new)
        .map_err(|_| ProtocolError::Malformed("payload"))
}

fn sha256(bytes: &[u8]) -> [u8; 32] {
    let d = digest(&SHA256, bytes);
    let mut out = [0u8; 32];
    out.copy_from_slice(d.as_ref());
    out
}

/// Every shared field must be listed in the consent, and the consent must name a purpose.
fn check_consent(payload: &ReferralPayload) -> Result<(), ProtocolError> {
    let c = &payload.consent;
    if c.purposes.is_empty() || c.recipient.trim().is_empty() {
        return Err(ProtocolError::NotConsented);
    }
    if payload.shared.keys().any(|k| !c.fields.contains(k)) {
        return Err(ProtocolError::NotConsented);
    }
    Ok(())
}

/// Device side: signs the payload with the device key and seals it to the province.
///
/// The result is random (a fresh HPKE ephemeral key), so the device must seal ONCE, store the
/// [`Submission`], and retry with the same bytes; the server recognises the retry by referral
/// id and payload hash.
pub fn seal_referral(
    payload: &ReferralPayload,
    device: &DeviceKeys,
    device_id: &str,
    province_hpke_pk: &[u8],
) -> Result<Submission, ProtocolError> {
    validate_id(device_id, "device_id")?;
    validate_id(&payload.referral_id, "referral_id")?;
    check_consent(payload)?;
    let json = payload_json(payload)?;
    seal_json(
        &json,
        device,
        device_id,
        &payload.referral_id,
        province_hpke_pk,
    )
}

/// Signs and seals `payload_json` under the given ids, without checking it.
fn seal_json(
    payload_json: &str,
    device: &DeviceKeys,
    device_id: &str,
    referral_id: &str,
    province_hpke_pk: &[u8],
) -> Result<Submission, ProtocolError> {
    let pk_bytes: [u8; 32] = province_hpke_pk
        .try_into()
        .map_err(|_| ProtocolError::Malformed("province_hpke_public_key"))?;
    let signature = device.sign(&referral_signed_message(
        &pk_bytes,
        device_id,
        referral_id,
        payload_json.as_bytes(),
    ));
    seal_envelope(
        payload_json,
        signature,
        device_id,
        referral_id,
        province_hpke_pk,
    )
}

/// Pads and seals `{payload_json, signature}` under the given ids.
fn seal_envelope(
    payload_json: &str,
    signature: Vec<u8>,
    device_id: &str,
    referral_id: &str,
    province_hpke_pk: &[u8],
) -> Result<Submission, ProtocolError> {
    let pk = hpke_public_key(province_hpke_pk)?;
    let inner = serde_json::to_vec(&EnvelopeRef {
        payload_json,
        signature: B64(signature),
    })
    .map(Zeroizing::new)
    .map_err(|_| ProtocolError::Malformed("envelope"))?;
    let inner = pad(&inner);
    let (enc, ciphertext) = hpke::single_shot_seal::<ChaCha20Poly1305, HkdfSha256, Kem>(
        &OpModeS::Base,
        &pk,
        REFERRAL_INFO,
        &inner,
        &referral_aad(device_id, referral_id),
    )
    .map_err(|_| ProtocolError::Crypto("hpke seal"))?;
    Ok(Submission {
        device_id: device_id.to_string(),
        referral_id: referral_id.to_string(),
        enc: B64(enc.to_bytes().to_vec()),
        ciphertext: B64(ciphertext),
    })
}

/// A referral opened and verified by the province.
pub struct OpenedReferral {
    pub payload: ReferralPayload,
    /// The exact JSON the device signed.
    pub payload_json: Zeroizing<String>,
    /// SHA-256 of `payload_json`.
    pub payload_hash: [u8; 32],
    /// The device's Ed25519 signature over [`referral_signed_message`], kept as evidence.
    pub device_signature: Vec<u8>,
}

impl fmt::Debug for OpenedReferral {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OpenedReferral")
            .field("payload", &self.payload)
            .finish_non_exhaustive()
    }
}

/// Province side: opens the HPKE envelope, verifies the device signature over the same bytes,
/// and checks that the payload's referral id is the submission's. Returns the payload and the
/// SHA-256 of its JSON.
pub fn open_submission(
    sub: &Submission,
    province: &ProvinceHpkeKeys,
    device_public_key: &[u8],
) -> Result<(ReferralPayload, [u8; 32]), ProtocolError> {
    let opened = open_submission_full(sub, province, device_public_key)?;
    Ok((opened.payload, opened.payload_hash))
}

/// [`open_submission`], also returning the signed JSON and the device signature.
pub fn open_submission_full(
    sub: &Submission,
    province: &ProvinceHpkeKeys,
    device_public_key: &[u8],
) -> Result<OpenedReferral, ProtocolError> {
    validate_id(&sub.device_id, "device_id")?;
    validate_id(&sub.referral_id, "referral_id")?;
    let enc = <Kem as hpke::Kem>::EncappedKey::from_bytes(sub.enc.as_bytes())
        .map_err(|_| ProtocolError::Malformed("enc"))?;
    let plain = hpke::single_shot_open::<ChaCha20Poly1305, HkdfSha256, Kem>(
        &OpModeR::Base,
        province.secret(),
        &enc,
        REFERRAL_INFO,
        sub.ciphertext.as_bytes(),
        &referral_aad(&sub.device_id, &sub.referral_id),
    )
    .map(Zeroizing::new)
    .map_err(|_| ProtocolError::Decrypt)?;
    let envelope: Envelope =
        serde_json::from_slice(unpad(&plain)?).map_err(|_| ProtocolError::Malformed("envelope"))?;
    let payload_json = Zeroizing::new(envelope.payload_json);
    verify_ed25519(
        device_public_key,
        &referral_signed_message(
            &province.public_key_bytes(),
            &sub.device_id,
            &sub.referral_id,
            payload_json.as_bytes(),
        ),
        envelope.signature.as_bytes(),
    )?;
    let payload: ReferralPayload =
        serde_json::from_str(&payload_json).map_err(|_| ProtocolError::Malformed("payload"))?;
    if payload.referral_id != sub.referral_id {
        return Err(ProtocolError::Mismatch("referral_id"));
    }
    check_consent(&payload)?;
    let payload_hash = sha256(payload_json.as_bytes());
    Ok(OpenedReferral {
        payload,
        payload_json,
        payload_hash,
        device_signature: envelope.signature.into_vec(),
    })
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::Consent;

    fn payload(id: &str) -> ReferralPayload {
        ReferralPayload {
            referral_id: id.into(),
            services: vec!["vocational_training".into(), "loans".into()],
            urgency: "normal".into(),
            note: "Muốn học may; cần vay vốn nhỏ".into(),
            shared: BTreeMap::from([
                ("name".to_string(), "Lò Thị Xuân".to_string()),
                ("birth_year".to_string(), "2006".to_string()),
                ("commune".to_string(), "Mường Lát".to_string()),
                ("need".to_string(), "học may, vay vốn".to_string()),
            ]),
            consent: Consent {
                purposes: vec!["vocational_training".into(), "loans".into()],
                recipient: "Hội LHPN tỉnh Thanh Hóa".into(),
                fields: vec![
                    "name".into(),
                    "birth_year".into(),
                    "commune".into(),
                    "need".into(),
                ],
                given_on: "2025-09-01".into(),
            },
            created_at: "2025-09-01T08:00:00Z".into(),
        }
    }

    struct Fixture {
        province: ProvinceHpkeKeys,
        device: DeviceKeys,
        sub: Submission,
        payload: ReferralPayload,
    }

    fn fixture() -> Fixture {
        let province = ProvinceHpkeKeys::generate().unwrap();
        let device = DeviceKeys::generate().unwrap();
        let payload = payload("ref-0001");
        let sub = seal_referral(&payload, &device, "dev-1", &province.public_key_bytes()).unwrap();
        Fixture {
            province,
            device,
            sub,
            payload,
        }
    }

    #[test]
    fn round_trip() {
        let f = fixture();
        let (got, hash) = open_submission(&f.sub, &f.province, &f.device.public_key()).unwrap();
        assert_eq!(got, f.payload);
        assert_eq!(hash, payload_hash(&f.payload).unwrap());
        let full = open_submission_full(&f.sub, &f.province, &f.device.public_key()).unwrap();
        assert_eq!(sha256(full.payload_json.as_bytes()), hash);
        verify_ed25519(
            &f.device.public_key(),
            &referral_signed_message(
                &f.province.public_key_bytes(),
                "dev-1",
                "ref-0001",
                full.payload_json.as_bytes(),
            ),
            &full.device_signature,
        )
        .unwrap();
        // Nothing personal is visible on the wire.
        let wire = serde_json::to_string(&f.sub).unwrap();
        assert!(!wire.contains("Xuân") && !wire.contains("Mường"));
        assert!(!format!("{full:?}").contains("Xuân"));
    }

    #[test]
    fn retries_are_byte_identical_and_reopen() {
        let f = fixture();
        let first = serde_json::to_vec(&f.sub).unwrap();
        let parsed: Submission = serde_json::from_slice(&first).unwrap();
        assert_eq!(serde_json::to_vec(&parsed).unwrap(), first);
        open_submission(&parsed, &f.province, &f.device.public_key()).unwrap();
        // Sealing again gives other bytes (fresh ephemeral key): hence "seal once".
        let again = seal_referral(
            &f.payload,
            &f.device,
            "dev-1",
            &f.province.public_key_bytes(),
        )
        .unwrap();
        assert_ne!(again.enc, f.sub.enc);
        let (_, h2) = open_submission(&again, &f.province, &f.device.public_key()).unwrap();
        assert_eq!(h2, payload_hash(&f.payload).unwrap());
    }

    #[test]
    fn any_flipped_byte_in_enc_or_ciphertext_fails() {
        let f = fixture();
        let pk = f.device.public_key();
        for i in 0..f.sub.enc.0.len() {
            let mut s = f.sub.clone();
            s.enc.0[i] ^= 0x01;
            let r = open_submission(&s, &f.province, &pk);
            assert!(
                matches!(r, Err(ProtocolError::Decrypt)),
                "enc byte {i}: {r:?}"
            );
        }
        for i in 0..f.sub.ciphertext.0.len() {
            let mut s = f.sub.clone();
            s.ciphertext.0[i] ^= 0x80;
            let r = open_submission(&s, &f.province, &pk);
            assert!(
                matches!(r, Err(ProtocolError::Decrypt)),
                "ciphertext byte {i}: {r:?}"
            );
        }
        let mut short = f.sub.clone();
        short.enc.0.pop();
        assert_eq!(
            open_submission(&short, &f.province, &pk).unwrap_err(),
            ProtocolError::Malformed("enc")
        );
        let mut truncated = f.sub.clone();
        truncated.ciphertext.0.truncate(10);
        assert!(open_submission(&truncated, &f.province, &pk).is_err());
    }

    #[test]
    fn signature_of_another_device_fails() {
        let f = fixture();
        let other = DeviceKeys::generate().unwrap();
        assert_eq!(
            open_submission(&f.sub, &f.province, &other.public_key()).unwrap_err(),
            ProtocolError::BadSignature
        );
        // A forger who knows the province key seals a payload in dev-1's name with its own key.
        let forged =
            seal_referral(&f.payload, &other, "dev-1", &f.province.public_key_bytes()).unwrap();
        assert_eq!(
            open_submission(&forged, &f.province, &f.device.public_key()).unwrap_err(),
            ProtocolError::BadSignature
        );
    }

    #[test]
    fn swapped_ids_in_the_aad_fail() {
        let f = fixture();
        let pk = f.device.public_key();
        let mut s = f.sub.clone();
        s.referral_id = "ref-0002".into();
        assert_eq!(
            open_submission(&s, &f.province, &pk).unwrap_err(),
            ProtocolError::Decrypt
        );
        let mut s = f.sub.clone();
        s.device_id = "dev-2".into();
        assert_eq!(
            open_submission(&s, &f.province, &pk).unwrap_err(),
            ProtocolError::Decrypt
        );
        let mut s = f.sub.clone();
        s.referral_id = "ref\u{0}0001".into();
        assert_eq!(
            open_submission(&s, &f.province, &pk).unwrap_err(),
            ProtocolError::Malformed("referral_id")
        );
    }

    #[test]
    fn inner_referral_id_must_match_outer() {
        let f = fixture();
        let json = serde_json::to_string(&payload("ref-9999")).unwrap();
        let sub = seal_json(
            &json,
            &f.device,
            "dev-1",
            "ref-0001",
            &f.province.public_key_bytes(),
        )
        .unwrap();
        assert_eq!(
            open_submission(&sub, &f.province, &f.device.public_key()).unwrap_err(),
            ProtocolError::Mismatch("referral_id")
        );
    }

    /// Attack (issue 11, point 13): province A opens a phone's referral and re-seals the very
    /// payload and signature to province B, as if the phone had sent it there. The signature
    /// names A's key, so B refuses it.
    #[test]
    fn a_referral_re_sealed_to_another_province_fails() {
        let f = fixture();
        let full = open_submission_full(&f.sub, &f.province, &f.device.public_key()).unwrap();
        let other = ProvinceHpkeKeys::generate().unwrap();
        let resealed = seal_envelope(
            &full.payload_json,
            full.device_signature.clone(),
            "dev-1",
            "ref-0001",
            &other.public_key_bytes(),
        )
        .unwrap();
        assert_eq!(
            open_submission(&resealed, &other, &f.device.public_key()).unwrap_err(),
            ProtocolError::BadSignature
        );
    }

    /// Point 2: the sealed length depends only on the size bucket, not on which consented
    /// fields travel or how long the name is.
    #[test]
    fn sealed_length_depends_only_on_the_bucket() {
        let province = ProvinceHpkeKeys::generate().unwrap();
        let device = DeviceKeys::generate().unwrap();
        let all = ["name", "birth_year", "commune", "need", "village", "phone"];
        let mut lengths = std::collections::BTreeSet::new();
        for mask in 0u32..(1 << all.len()) {
            for name_len in [1usize, 7, 19, 40, 80] {
                let mut p = payload("ref-0001");
                p.shared.clear();
                p.consent.fields = all.iter().map(|s| s.to_string()).collect();
                for (i, field) in all.iter().enumerate() {
                    if mask & (1 << i) != 0 {
                        let v = if *field == "name" {
                            "Ư".repeat(name_len)
                        } else {
                            "x".repeat(name_len)
                        };
                        p.shared.insert(field.to_string(), v);
                    }
                }
                let sub =
                    seal_referral(&p, &device, "dev-1", &province.public_key_bytes()).unwrap();
                lengths.insert(sub.ciphertext.0.len());
                let (back, _) = open_submission(&sub, &province, &device.public_key()).unwrap();
                assert_eq!(back, p);
            }
        }
        assert_eq!(lengths.into_iter().collect::<Vec<_>>(), vec![PAD_MIN + 16]);
        // Larger payloads go to the next bucket, still a fixed size.
        assert_eq!(padded_len(PAD_MIN + 1), 2 * PAD_MIN);
        assert_eq!(padded_len(16384), 16384);
        assert_eq!(padded_len(16385), 24576);
        // Padding that is not ours is refused.
        assert!(unpad(&[b'}', 0, 0]).is_err());
        assert!(unpad(&[0, 0]).is_err());
        assert_eq!(unpad(&[b'}', 0x80, 0]).unwrap(), b"}");
    }

    #[test]
    fn wrong_province_key_fails() {
        let f = fixture();
        let other = ProvinceHpkeKeys::generate().unwrap();
        assert_eq!(
            open_submission(&f.sub, &other, &f.device.public_key()).unwrap_err(),
            ProtocolError::Decrypt
        );
    }

    #[test]
    fn shared_fields_must_be_consented() {
        let f = fixture();
        let mut p = payload("ref-0003");
        p.shared.insert("story".into(), "never shared".into());
        assert_eq!(
            seal_referral(&p, &f.device, "dev-1", &f.province.public_key_bytes()).unwrap_err(),
            ProtocolError::NotConsented
        );
        // Also refused on the province side if a device skips the check.
        let json = serde_json::to_string(&p).unwrap();
        let sub = seal_json(
            &json,
            &f.device,
            "dev-1",
            "ref-0003",
            &f.province.public_key_bytes(),
        )
        .unwrap();
        let err = open_submission(&sub, &f.province, &f.device.public_key()).unwrap_err();
        assert_eq!(err, ProtocolError::NotConsented);
        assert!(!err.to_string().contains("never shared"));
        let mut p = payload("ref-0004");
        p.consent.purposes.clear();
        assert!(seal_referral(&p, &f.device, "dev-1", &f.province.public_key_bytes()).is_err());
    }

    #[test]
    fn bad_province_key_or_ids_refused_when_sealing() {
        let device = DeviceKeys::generate().unwrap();
        let p = payload("ref-0005");
        assert!(seal_referral(&p, &device, "dev-1", &[0u8; 31]).is_err());
        let province = ProvinceHpkeKeys::generate().unwrap();
        assert_eq!(
            seal_referral(&p, &device, "", &province.public_key_bytes()).unwrap_err(),
            ProtocolError::Malformed("device_id")
        );
        let long = "x".repeat(crate::MAX_ID_LEN + 1);
        assert!(seal_referral(&p, &device, &long, &province.public_key_bytes()).is_err());
    }
}
