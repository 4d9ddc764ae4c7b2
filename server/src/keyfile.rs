//! The province's keys, encrypted at rest under the operator's passphrase, and the key that
//! seals stored referral bodies and status notes.
//!
//! Key file (JSON, version 1):
//!
//! ```text
//! { "format": "chungtay-province-keys", "version": 1,
//!   "kdf": { "alg": "argon2id", "m_kib": .., "t": .., "p": .., "salt": b64(16) },
//!   "hpke_public_key": b64(32), "signing_public_key": b64(32),
//!   "nonce": b64(12), "ciphertext": b64(ChaCha20-Poly1305(secrets JSON) + tag) }
//! ```
//!
//! key = Argon2id(passphrase, salt, m, t, p) -> 32 bytes; AAD = "chungtay.province-keyfile.v1\0"
//! || m || t || p (u32 big-endian) || salt || hpke_public_key || signing_public_key, so every
//! header field is authenticated. A wrong passphrase and a tampered file both fail to open.

use std::fs;
use std::io::Write as _;
use std::path::Path;

use argon2::{Algorithm, Argon2, Params, Version};
use chungtay_protocol::{B64, ProvinceHpkeKeys, ProvincePins, SigningKeys};
use ring::aead::{Aad, CHACHA20_POLY1305, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use ring::hkdf;
use ring::rand::{SecureRandom, SystemRandom};
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use crate::error::KeyFileError;

const FORMAT: &str = "chungtay-province-keys";
const VERSION: u32 = 1;
const KEYFILE_AAD_LABEL: &[u8] = b"chungtay.province-keyfile.v1\0";
const AT_REST_SALT: &[u8] = b"chungtay.intake.at-rest.v1";
const AT_REST_INFO: &[u8] = b"referral bodies and status updates";
const AT_REST_VERSION: u8 = 1;
const CREDENTIALS_SALT: &[u8] = b"chungtay.intake.credentials.v1";
const CREDENTIALS_INFO: &[u8] = b"enrollment codes and staff tokens";

/// Shortest passphrase `init` accepts, in characters.
pub const MIN_PASSPHRASE_CHARS: usize = 12;

/// Argon2id cost of the key file.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct KdfParams {
    pub m_kib: u32,
    pub t: u32,
    pub p: u32,
}

impl KdfParams {
    /// OWASP's minimum for Argon2id: 19 MiB, 2 passes, 1 lane. Files below it are refused.
    pub const MINIMUM: KdfParams = KdfParams {
        m_kib: 19 * 1024,
        t: 2,
        p: 1,
    };
}

impl Default for KdfParams {
    /// 64 MiB, 3 passes: a server can afford more than the minimum.
    fn default() -> Self {
        KdfParams {
            m_kib: 64 * 1024,
            t: 3,
            p: 1,
        }
    }
}

#[derive(Serialize, Deserialize)]
struct KdfHeader {
    alg: String,
    m_kib: u32,
    t: u32,
    p: u32,
    salt: B64,
}

#[derive(Serialize, Deserialize)]
struct KeyFile {
    format: String,
    version: u32,
    kdf: KdfHeader,
    hpke_public_key: B64,
    signing_public_key: B64,
    nonce: B64,
    ciphertext: B64,
}

#[derive(Serialize, Deserialize)]
struct Secrets {
    hpke_secret: B64,
    signing_pkcs8: B64,
}

/// Seals stored bodies: ChaCha20-Poly1305 (ring) under a key derived with HKDF-SHA256 from the
/// province HPKE secret. Envelope: `[version 1][nonce 12][ciphertext + tag]`; AAD:
/// `"chungtay.intake.v1\0" || kind || 0 || binding parts joined by 0`.
pub struct AtRest {
    key: LessSafeKey,
    rng: SystemRandom,
}

impl AtRest {
    fn derive(hpke_secret: &[u8]) -> Result<Self, KeyFileError> {
        let prk = hkdf::Salt::new(hkdf::HKDF_SHA256, AT_REST_SALT).extract(hpke_secret);
        let okm = prk
            .expand(&[AT_REST_INFO], &CHACHA20_POLY1305)
            .map_err(|_| KeyFileError::Crypto("hkdf"))?;
        Ok(AtRest {
            key: LessSafeKey::new(UnboundKey::from(okm)),
            rng: SystemRandom::new(),
        })
    }

    fn aad(kind: &str, binding: &[&[u8]]) -> Vec<u8> {
        let mut a = b"chungtay.intake.v1\0".to_vec();
        a.extend_from_slice(kind.as_bytes());
        for part in binding {
            a.push(0);
            a.extend_from_slice(part);
        }
        a
    }

    /// Seals `plaintext`, bound to `kind` and `binding` (e.g. the row's ids).
    pub fn seal(
        &self,
        kind: &str,
        binding: &[&[u8]],
        plaintext: &[u8],
    ) -> Result<Vec<u8>, KeyFileError> {
        let mut nonce = [0u8; NONCE_LEN];
        self.rng
            .fill(&mut nonce)
            .map_err(|_| KeyFileError::Crypto("random"))?;
        let mut buf = plaintext.to_vec();
        self.key
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(Self::aad(kind, binding)),
                &mut buf,
            )
            .map_err(|_| KeyFileError::Crypto("seal"))?;
        let mut out = Vec::with_capacity(1 + NONCE_LEN + buf.len());
        out.push(AT_REST_VERSION);
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&buf);
        Ok(out)
    }

    /// Opens what [`AtRest::seal`] made with the same `kind` and `binding`.
    pub fn open(
        &self,
        kind: &str,
        binding: &[&[u8]],
        sealed: &[u8],
    ) -> Result<Zeroizing<Vec<u8>>, KeyFileError> {
        if sealed.len() < 1 + NONCE_LEN || sealed.first() != Some(&AT_REST_VERSION) {
            return Err(KeyFileError::Malformed("sealed body"));
        }
        let (nonce, ct) = sealed[1..].split_at(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(nonce)
            .map_err(|_| KeyFileError::Malformed("nonce"))?;
        let mut buf = Zeroizing::new(ct.to_vec());
        let len = self
            .key
            .open_in_place(
                nonce,
                Aad::from(Self::aad(kind, binding)),
                buf.as_mut_slice(),
            )
            .map_err(|_| KeyFileError::Integrity)?
            .len();
        buf.truncate(len);
        Ok(buf)
    }
}

/// Authenticates the credentials the province mints (enrollment codes, staff tokens): an
/// HMAC-SHA256 (ring) under a key derived with HKDF-SHA256 from the province HPKE secret. Only
/// who opened the key file with the passphrase can make a tag, so a row written straight into
/// the database is no credential.
pub struct Credentials {
    key: ring::hmac::Key,
}

impl Credentials {
    fn derive(hpke_secret: &[u8]) -> Result<Self, KeyFileError> {
        let prk = hkdf::Salt::new(hkdf::HKDF_SHA256, CREDENTIALS_SALT).extract(hpke_secret);
        let okm = prk
            .expand(&[CREDENTIALS_INFO], ring::hmac::HMAC_SHA256)
            .map_err(|_| KeyFileError::Crypto("hkdf"))?;
        Ok(Credentials {
            key: ring::hmac::Key::from(okm),
        })
    }

    /// `kind` and each part, length-prefixed (u32 big-endian), so no two inputs collide.
    fn message(kind: &str, parts: &[&[u8]]) -> Vec<u8> {
        let mut m = Vec::new();
        for p in std::iter::once(kind.as_bytes()).chain(parts.iter().copied()) {
            m.extend_from_slice(&u32::try_from(p.len()).unwrap_or(u32::MAX).to_be_bytes());
            m.extend_from_slice(p);
        }
        m
    }

    /// The tag of a credential of `kind` with these fields.
    pub fn tag(&self, kind: &str, parts: &[&[u8]]) -> Vec<u8> {
        ring::hmac::sign(&self.key, &Self::message(kind, parts))
            .as_ref()
            .to_vec()
    }

    /// Whether `tag` was made by [`Credentials::tag`] for the same fields (constant time).
    pub fn verify(&self, kind: &str, parts: &[&[u8]], tag: &[u8]) -> bool {
        ring::hmac::verify(&self.key, &Self::message(kind, parts), tag).is_ok()
    }
}

/// The province's secret keys, in memory once the key file is opened.
pub struct ProvinceKeys {
    /// Opens referrals.
    pub hpke: ProvinceHpkeKeys,
    /// Signs receipts and status updates.
    pub signing: SigningKeys,
    at_rest: AtRest,
    credentials: Credentials,
}

impl std::fmt::Debug for ProvinceKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProvinceKeys").finish_non_exhaustive()
    }
}

impl ProvinceKeys {
    /// New HPKE and signing keys from the OS random source.
    pub fn generate() -> Result<Self, KeyFileError> {
        let hpke = ProvinceHpkeKeys::generate()?;
        let signing = SigningKeys::generate()?;
        let at_rest = AtRest::derive(&hpke.secret_bytes())?;
        let credentials = Credentials::derive(&hpke.secret_bytes())?;
        Ok(ProvinceKeys {
            hpke,
            signing,
            at_rest,
            credentials,
        })
    }

    /// The key that seals stored bodies.
    pub fn at_rest(&self) -> &AtRest {
        &self.at_rest
    }

    /// The key that authenticates enrollment codes and staff tokens.
    pub fn credentials(&self) -> &Credentials {
        &self.credentials
    }

    /// Writes the key file (mode 0600), refusing to overwrite one. `params` below
    /// [`KdfParams::MINIMUM`] are refused.
    pub fn save(
        &self,
        path: &Path,
        passphrase: &str,
        params: KdfParams,
    ) -> Result<(), KeyFileError> {
        check_params(params)?;
        let rng = SystemRandom::new();
        let mut salt = [0u8; 16];
        rng.fill(&mut salt)
            .map_err(|_| KeyFileError::Crypto("random"))?;
        let mut nonce = [0u8; NONCE_LEN];
        rng.fill(&mut nonce)
            .map_err(|_| KeyFileError::Crypto("random"))?;
        let hpke_pk = self.hpke.public_key_bytes();
        let sign_pk = self.signing.public_key();
        let key = derive_key(passphrase, &salt, params)?;
        let mut plain = Zeroizing::new(
            serde_json::to_vec(&Secrets {
                hpke_secret: B64(self.hpke.secret_bytes().to_vec()),
                signing_pkcs8: B64(self.signing.pkcs8().to_vec()),
            })
            .map_err(|_| KeyFileError::Malformed("secrets"))?,
        );
        let mut buf = std::mem::take(&mut *plain);
        key.seal_in_place_append_tag(
            Nonce::assume_unique_for_key(nonce),
            Aad::from(file_aad(params, &salt, &hpke_pk, &sign_pk)),
            &mut buf,
        )
        .map_err(|_| KeyFileError::Crypto("seal"))?;
        let file = KeyFile {
            format: FORMAT.into(),
            version: VERSION,
            kdf: KdfHeader {
                alg: "argon2id".into(),
                m_kib: params.m_kib,
                t: params.t,
                p: params.p,
                salt: B64(salt.to_vec()),
            },
            hpke_public_key: B64(hpke_pk.to_vec()),
            signing_public_key: B64(sign_pk.to_vec()),
            nonce: B64(nonce.to_vec()),
            ciphertext: B64(buf),
        };
        let text =
            serde_json::to_vec_pretty(&file).map_err(|_| KeyFileError::Malformed("key file"))?;
        write_new_private(path, &text)
    }

    /// Opens the key file. A wrong passphrase or any edited byte gives `WrongPassphrase`.
    pub fn load(path: &Path, passphrase: &str) -> Result<Self, KeyFileError> {
        let text = fs::read(path)?;
        let file: KeyFile =
            serde_json::from_slice(&text).map_err(|_| KeyFileError::Malformed("key file"))?;
        if file.format != FORMAT {
            return Err(KeyFileError::Malformed("format"));
        }
        if file.version != VERSION {
            return Err(KeyFileError::UnsupportedVersion(file.version));
        }
        if file.kdf.alg != "argon2id" {
            return Err(KeyFileError::Malformed("kdf"));
        }
        let params = KdfParams {
            m_kib: file.kdf.m_kib,
            t: file.kdf.t,
            p: file.kdf.p,
        };
        check_params(params)?;
        let salt = file.kdf.salt.to_array::<16>("salt")?;
        let nonce = file.nonce.to_array::<NONCE_LEN>("nonce")?;
        let hpke_pk = file.hpke_public_key.to_array::<32>("hpke_public_key")?;
        let sign_pk = file
            .signing_public_key
            .to_array::<32>("signing_public_key")?;
        let key = derive_key(passphrase, &salt, params)?;
        let mut buf = Zeroizing::new(file.ciphertext.into_vec());
        let plain = key
            .open_in_place(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(file_aad(params, &salt, &hpke_pk, &sign_pk)),
                buf.as_mut_slice(),
            )
            .map_err(|_| KeyFileError::WrongPassphrase)?;
        let secrets: Secrets =
            serde_json::from_slice(plain).map_err(|_| KeyFileError::Malformed("secrets"))?;
        let hpke_secret = Zeroizing::new(secrets.hpke_secret.into_vec());
        let pkcs8 = Zeroizing::new(secrets.signing_pkcs8.into_vec());
        let hpke = ProvinceHpkeKeys::from_secret_bytes(&hpke_secret)?;
        let signing = SigningKeys::from_pkcs8(&pkcs8)?;
        if hpke.public_key_bytes() != hpke_pk || signing.public_key() != sign_pk {
            return Err(KeyFileError::Malformed("public keys do not match"));
        }
        let at_rest = AtRest::derive(&hpke_secret)?;
        let credentials = Credentials::derive(&hpke_secret)?;
        Ok(ProvinceKeys {
            hpke,
            signing,
            at_rest,
            credentials,
        })
    }
}

/// The public keys recorded in a key file, read without the passphrase (for display only:
/// they are authenticated when the file is opened with the passphrase).
pub fn read_public_keys(path: &Path) -> Result<ProvincePins, KeyFileError> {
    let text = fs::read(path)?;
    let file: KeyFile =
        serde_json::from_slice(&text).map_err(|_| KeyFileError::Malformed("key file"))?;
    Ok(ProvincePins {
        hpke_public_key: file.hpke_public_key.to_array::<32>("hpke_public_key")?,
        signing_key: file
            .signing_public_key
            .to_array::<32>("signing_public_key")?,
    })
}

fn check_params(p: KdfParams) -> Result<(), KeyFileError> {
    let min = KdfParams::MINIMUM;
    if p.m_kib < min.m_kib || p.t < min.t || p.p < min.p || p.m_kib > 4 * 1024 * 1024 || p.t > 64 {
        return Err(KeyFileError::WeakKdf);
    }
    Ok(())
}

fn file_aad(p: KdfParams, salt: &[u8; 16], hpke_pk: &[u8; 32], sign_pk: &[u8; 32]) -> Vec<u8> {
    let mut a = KEYFILE_AAD_LABEL.to_vec();
    a.extend_from_slice(&p.m_kib.to_be_bytes());
    a.extend_from_slice(&p.t.to_be_bytes());
    a.extend_from_slice(&p.p.to_be_bytes());
    a.extend_from_slice(salt);
    a.extend_from_slice(hpke_pk);
    a.extend_from_slice(sign_pk);
    a
}

fn derive_key(
    passphrase: &str,
    salt: &[u8; 16],
    p: KdfParams,
) -> Result<LessSafeKey, KeyFileError> {
    let params = Params::new(p.m_kib, p.t, p.p, Some(32)).map_err(|_| KeyFileError::WeakKdf)?;
    let mut out = Zeroizing::new([0u8; 32]);
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
        .hash_password_into(passphrase.as_bytes(), salt, out.as_mut())
        .map_err(|_| KeyFileError::Crypto("argon2"))?;
    let unbound = UnboundKey::new(&CHACHA20_POLY1305, out.as_ref())
        .map_err(|_| KeyFileError::Crypto("key"))?;
    Ok(LessSafeKey::new(unbound))
}

/// Creates `path` with mode 0600 (refusing an existing file), writes and fsyncs it.
pub(crate) fn write_new_private(path: &Path, bytes: &[u8]) -> Result<(), KeyFileError> {
    let mut opts = fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        opts.mode(0o600);
    }
    let mut f = opts.open(path).map_err(|e| {
        if e.kind() == std::io::ErrorKind::AlreadyExists {
            KeyFileError::Exists
        } else {
            KeyFileError::Io(e)
        }
    })?;
    f.write_all(bytes)?;
    f.sync_all()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn at_rest_round_trip_and_binding() {
        let keys = ProvinceKeys::generate().unwrap();
        let ar = keys.at_rest();
        let s = ar
            .seal("referral", &[b"r1", b"d1"], b"secret body")
            .unwrap();
        assert_eq!(
            &ar.open("referral", &[b"r1", b"d1"], &s).unwrap()[..],
            b"secret body"
        );
        assert!(ar.open("referral", &[b"r2", b"d1"], &s).is_err());
        assert!(ar.open("status", &[b"r1", b"d1"], &s).is_err());
        for i in 0..s.len() {
            let mut t = s.clone();
            t[i] ^= 1;
            assert!(
                ar.open("referral", &[b"r1", b"d1"], &t).is_err(),
                "byte {i}"
            );
        }
        let other = ProvinceKeys::generate().unwrap();
        assert!(
            other
                .at_rest()
                .open("referral", &[b"r1", b"d1"], &s)
                .is_err()
        );
    }

    #[test]
    fn credential_tags_bind_every_field_and_the_keys() {
        let keys = ProvinceKeys::generate().unwrap();
        let c = keys.credentials();
        let tag = c.tag("staff-token", &[b"hash", b"id", b"label"]);
        assert!(c.verify("staff-token", &[b"hash", b"id", b"label"], &tag));
        assert!(!c.verify("code", &[b"hash", b"id", b"label"], &tag));
        assert!(!c.verify("staff-token", &[b"hash", b"id", b"labe1"], &tag));
        assert!(!c.verify("staff-token", &[b"hashid", b"", b"label"], &tag));
        let other = ProvinceKeys::generate().unwrap();
        assert!(
            !other
                .credentials()
                .verify("staff-token", &[b"hash", b"id", b"label"], &tag)
        );
    }

    #[test]
    fn weak_params_refused() {
        assert!(check_params(KdfParams::MINIMUM).is_ok());
        assert!(
            check_params(KdfParams {
                m_kib: 1024,
                t: 2,
                p: 1
            })
            .is_err()
        );
        assert!(
            check_params(KdfParams {
                t: 1,
                ..KdfParams::MINIMUM
            })
            .is_err()
        );
    }
}
