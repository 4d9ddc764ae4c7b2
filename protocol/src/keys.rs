use std::fmt;

use hpke::kem::X25519HkdfSha256;
use hpke::{Deserializable, Kem as _, Serializable};
use ring::rand::{SecureRandom, SystemRandom};
use ring::signature::{ED25519, Ed25519KeyPair, KeyPair, UnparsedPublicKey};
use zeroize::Zeroizing;

use crate::{EnrollResponse, ProtocolError};

type Kem = X25519HkdfSha256;

/// An Ed25519 key pair (ring), kept with its PKCS#8 document so the owner can store it sealed.
///
/// The phone uses one as its device key ([`DeviceKeys`]); the province uses one to sign receipts
/// and status updates. No `Debug` output shows key material.
pub struct SigningKeys {
    pair: Ed25519KeyPair,
    pkcs8: Zeroizing<Vec<u8>>,
}

/// The phone's Ed25519 device key.
pub type DeviceKeys = SigningKeys;

impl SigningKeys {
    /// A new key pair from the OS random source (ring `SystemRandom`).
    pub fn generate() -> Result<Self, ProtocolError> {
        let rng = SystemRandom::new();
        let doc = Ed25519KeyPair::generate_pkcs8(&rng)
            .map_err(|_| ProtocolError::Crypto("ed25519 key generation"))?;
        Self::from_pkcs8(doc.as_ref())
    }

    /// Loads a key pair from the PKCS#8 (v2) document made by [`SigningKeys::generate`].
    pub fn from_pkcs8(pkcs8: &[u8]) -> Result<Self, ProtocolError> {
        let pair =
            Ed25519KeyPair::from_pkcs8(pkcs8).map_err(|_| ProtocolError::Malformed("pkcs8"))?;
        Ok(SigningKeys {
            pair,
            pkcs8: Zeroizing::new(pkcs8.to_vec()),
        })
    }

    /// The PKCS#8 document (secret): store it only sealed.
    pub fn pkcs8(&self) -> &[u8] {
        &self.pkcs8
    }

    /// The 32-byte Ed25519 public key.
    pub fn public_key(&self) -> [u8; 32] {
        let mut out = [0u8; 32];
        let pk = self.pair.public_key().as_ref();
        if pk.len() == 32 {
            out.copy_from_slice(pk);
        }
        out
    }

    /// An Ed25519 signature (64 bytes) over `msg`.
    pub fn sign(&self, msg: &[u8]) -> Vec<u8> {
        self.pair.sign(msg).as_ref().to_vec()
    }
}

impl fmt::Debug for SigningKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SigningKeys").finish_non_exhaustive()
    }
}

/// Verifies an Ed25519 signature; any failure (wrong key length included) is `BadSignature`.
pub fn verify_ed25519(
    public_key: &[u8],
    msg: &[u8],
    signature: &[u8],
) -> Result<(), ProtocolError> {
    if public_key.len() != 32 || signature.len() != 64 {
        return Err(ProtocolError::BadSignature);
    }
    UnparsedPublicKey::new(&ED25519, public_key)
        .verify(msg, signature)
        .map_err(|_| ProtocolError::BadSignature)
}

/// The province's HPKE (X25519) key pair. Only the intake server holds the secret half.
pub struct ProvinceHpkeKeys {
    sk: <Kem as hpke::Kem>::PrivateKey,
    pk: <Kem as hpke::Kem>::PublicKey,
}

impl ProvinceHpkeKeys {
    /// A new key pair: 32 bytes from ring's `SystemRandom`, through the KEM's `DeriveKeyPair`.
    pub fn generate() -> Result<Self, ProtocolError> {
        let mut ikm = Zeroizing::new([0u8; 32]);
        SystemRandom::new()
            .fill(ikm.as_mut())
            .map_err(|_| ProtocolError::Crypto("random"))?;
        let (sk, pk) = Kem::derive_keypair(ikm.as_ref());
        Ok(ProvinceHpkeKeys { sk, pk })
    }

    /// Loads the secret key (32 bytes, as from [`ProvinceHpkeKeys::secret_bytes`]).
    pub fn from_secret_bytes(secret: &[u8]) -> Result<Self, ProtocolError> {
        let sk = <Kem as hpke::Kem>::PrivateKey::from_bytes(secret)
            .map_err(|_| ProtocolError::Malformed("hpke secret key"))?;
        let pk = Kem::sk_to_pk(&sk);
        Ok(ProvinceHpkeKeys { sk, pk })
    }

    /// The secret key bytes (secret: keep them only encrypted).
    pub fn secret_bytes(&self) -> Zeroizing<Vec<u8>> {
        Zeroizing::new(self.sk.to_bytes().to_vec())
    }

    /// The 32-byte X25519 public key the devices pin.
    pub fn public_key_bytes(&self) -> [u8; 32] {
        let mut out = [0u8; 32];
        let bytes = self.pk.to_bytes();
        if bytes.len() == 32 {
            out.copy_from_slice(bytes.as_slice());
        }
        out
    }

    pub(crate) fn secret(&self) -> &<Kem as hpke::Kem>::PrivateKey {
        &self.sk
    }
}

impl fmt::Debug for ProvinceHpkeKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ProvinceHpkeKeys").finish_non_exhaustive()
    }
}

/// The two province keys a device pins at enrollment, checked for shape.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct ProvincePins {
    /// X25519 public key referrals are sealed to.
    pub hpke_public_key: [u8; 32],
    /// Ed25519 public key that signs receipts and status updates.
    pub signing_key: [u8; 32],
}

impl ProvincePins {
    /// Takes the keys from an enrollment answer, refusing wrong lengths or an unusable HPKE key.
    pub fn from_response(resp: &EnrollResponse) -> Result<Self, ProtocolError> {
        let hpke_public_key = resp
            .province_hpke_public_key
            .to_array::<32>("province_hpke_public_key")?;
        <Kem as hpke::Kem>::PublicKey::from_bytes(&hpke_public_key)
            .map_err(|_| ProtocolError::Malformed("province_hpke_public_key"))?;
        let signing_key = resp
            .province_signing_key
            .to_array::<32>("province_signing_key")?;
        Ok(ProvincePins {
            hpke_public_key,
            signing_key,
        })
    }

    /// A short fingerprint of both keys, for a person to compare out of band (printed by the
    /// server's `init` and `issue-code`, shown by the phone after enrollment): the first 10
    /// bytes of SHA-256("chungtay.province-fingerprint.v1\0" || hpke key || signing key), as
    /// five groups of four hex digits.
    pub fn fingerprint(&self) -> String {
        let mut ctx = ring::digest::Context::new(&ring::digest::SHA256);
        ctx.update(b"chungtay.province-fingerprint.v1\0");
        ctx.update(&self.hpke_public_key);
        ctx.update(&self.signing_key);
        let d = ctx.finish();
        d.as_ref()
            .iter()
            .take(10)
            .collect::<Vec<_>>()
            .chunks(2)
            .map(|c| c.iter().map(|b| format!("{b:02x}")).collect::<String>())
            .collect::<Vec<_>>()
            .join("-")
    }
}

pub(crate) fn hpke_public_key(
    bytes: &[u8],
) -> Result<<Kem as hpke::Kem>::PublicKey, ProtocolError> {
    <Kem as hpke::Kem>::PublicKey::from_bytes(bytes)
        .map_err(|_| ProtocolError::Malformed("province_hpke_public_key"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn device_keys_round_trip_pkcs8_and_sign() {
        let k = DeviceKeys::generate().unwrap();
        let again = DeviceKeys::from_pkcs8(k.pkcs8()).unwrap();
        assert_eq!(k.public_key(), again.public_key());
        let sig = k.sign(b"hello");
        assert_eq!(sig.len(), 64);
        verify_ed25519(&k.public_key(), b"hello", &sig).unwrap();
        assert_eq!(
            verify_ed25519(&k.public_key(), b"hellO", &sig),
            Err(ProtocolError::BadSignature)
        );
        let other = DeviceKeys::generate().unwrap();
        assert_ne!(other.public_key(), k.public_key());
        assert!(verify_ed25519(&other.public_key(), b"hello", &sig).is_err());
        assert!(DeviceKeys::from_pkcs8(b"garbage").is_err());
        assert!(!format!("{k:?}").contains(&format!("{:?}", k.pkcs8())));
    }

    #[test]
    fn hpke_keys_round_trip() {
        let k = ProvinceHpkeKeys::generate().unwrap();
        let again = ProvinceHpkeKeys::from_secret_bytes(&k.secret_bytes()).unwrap();
        assert_eq!(k.public_key_bytes(), again.public_key_bytes());
        assert_ne!(k.public_key_bytes(), [0u8; 32]);
        assert!(ProvinceHpkeKeys::from_secret_bytes(&[1u8; 31]).is_err());
    }

    #[test]
    fn pins_check_lengths() {
        let hpke = ProvinceHpkeKeys::generate().unwrap();
        let sign = SigningKeys::generate().unwrap();
        let resp = EnrollResponse {
            device_id: "d".into(),
            province_hpke_public_key: hpke.public_key_bytes().into(),
            province_signing_key: sign.public_key().into(),
        };
        let pins = ProvincePins::from_response(&resp).unwrap();
        assert_eq!(pins.signing_key, sign.public_key());
        let fp = pins.fingerprint();
        assert_eq!(fp.len(), 24);
        assert_eq!(fp.matches('-').count(), 4);
        let other = ProvincePins {
            signing_key: [0u8; 32],
            ..pins
        };
        assert_ne!(other.fingerprint(), fp);
        let mut bad = resp.clone();
        bad.province_signing_key = vec![1u8; 31].into();
        assert!(ProvincePins::from_response(&bad).is_err());
    }
}
