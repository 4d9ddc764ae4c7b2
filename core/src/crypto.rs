//! Sealing of records: a versioned AEAD envelope bound to where the record lives.
//!
//! Envelope layout (version 1):
//! `[version: 1 byte][key id: 16 bytes][nonce: 12 bytes][ciphertext + 16-byte tag]`.
//! The AAD is the record's place (table, kind, id) plus the envelope header, so a ciphertext
//! copied into another row, table or under another key id fails to open.

use ring::aead::{Aad, CHACHA20_POLY1305, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use ring::hkdf;
use ring::rand::{SecureRandom, SystemRandom};
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

use crate::error::{Error, RecordKind};

pub(crate) const KEY_LEN: usize = 32;
pub(crate) const ENVELOPE_VERSION: u8 = 1;
const HEADER_LEN: usize = 1 + KeyId::LEN + NONCE_LEN;
const TAG_LEN: usize = 16;
/// How much longer a sealed value is than its plaintext.
pub(crate) const OVERHEAD: usize = HEADER_LEN + TAG_LEN;

/// A 256-bit symmetric key. Zeroized on drop; deliberately neither Debug nor Display nor Clone.
#[derive(Zeroize, ZeroizeOnDrop)]
pub(crate) struct SecretKey([u8; KEY_LEN]);

impl SecretKey {
    pub(crate) fn generate() -> Result<Self, Error> {
        let mut bytes = [0u8; KEY_LEN];
        fill_random(&mut bytes)?;
        Ok(Self(bytes))
    }

    pub(crate) fn from_slice(bytes: &[u8]) -> Result<Self, Error> {
        let arr: [u8; KEY_LEN] = bytes.try_into().map_err(|_| Error::Crypto)?;
        Ok(Self(arr))
    }

    pub(crate) fn as_bytes(&self) -> &[u8; KEY_LEN] {
        &self.0
    }

    /// HKDF-SHA256 sub-key, so that each purpose (records, member-key wrapping, audit MAC...)
    /// has its own key and a bug in one use cannot cross into another.
    pub(crate) fn derive(&self, info: &[u8]) -> Result<SecretKey, Error> {
        hkdf_sha256(b"chungtay.subkey.v1", self.as_bytes(), info)
    }

    fn aead_key(&self) -> Result<LessSafeKey, Error> {
        // Built per operation: ring's key object is not zeroized on drop, so it should not
        // outlive the call. ChaCha20 key setup is a copy, so this costs next to nothing.
        let unbound = UnboundKey::new(&CHACHA20_POLY1305, &self.0).map_err(|_| Error::Crypto)?;
        Ok(LessSafeKey::new(unbound))
    }
}

/// HKDF-SHA256 extract-and-expand to one 256-bit key.
pub(crate) fn hkdf_sha256(salt: &[u8], ikm: &[u8], info: &[u8]) -> Result<SecretKey, Error> {
    let prk = hkdf::Salt::new(hkdf::HKDF_SHA256, salt).extract(ikm);
    let info = [info];
    let okm = prk
        .expand(&info, hkdf::HKDF_SHA256)
        .map_err(|_| Error::Crypto)?;
    let mut out = [0u8; KEY_LEN];
    okm.fill(&mut out).map_err(|_| Error::Crypto)?;
    let key = SecretKey(out);
    out.zeroize();
    Ok(key)
}

pub(crate) fn fill_random(buf: &mut [u8]) -> Result<(), Error> {
    SystemRandom::new().fill(buf).map_err(|_| Error::Crypto)
}

/// Which key sealed an envelope: the store's record key, or one member's key.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) struct KeyId(pub(crate) [u8; 16]);

impl KeyId {
    pub(crate) const LEN: usize = 16;
}

/// Where a sealed value lives. Bound into the AAD.
pub(crate) struct Place<'a> {
    pub table: &'static str,
    pub kind: RecordKind,
    pub id: &'a str,
    /// The row's plaintext columns (owner, state, stamps), so editing them breaks the seal too.
    pub bound: &'a str,
}

impl Place<'_> {
    fn aad(&self, header: &[u8]) -> Vec<u8> {
        let mut aad = Vec::with_capacity(64 + self.id.len());
        self.aad_into(header, &mut aad);
        aad
    }

    fn aad_into(&self, header: &[u8], aad: &mut Vec<u8>) {
        aad.extend_from_slice(b"chungtay.record.v1\0");
        aad.extend_from_slice(self.table.as_bytes());
        aad.push(0);
        aad.extend_from_slice(self.kind.as_str().as_bytes());
        aad.push(0);
        aad.extend_from_slice(self.id.as_bytes());
        aad.push(0);
        aad.extend_from_slice(self.bound.as_bytes());
        aad.push(0);
        aad.extend_from_slice(header);
    }

    fn integrity_error(&self) -> Error {
        Error::Integrity {
            kind: self.kind,
            id: self.id.to_owned(),
        }
    }
}

/// Ciphertext that may go to SQL. Only `seal` makes one, so plaintext cannot reach a column
/// typed as sealed by mistake.
pub(crate) struct Sealed(Vec<u8>);

impl Sealed {
    pub(crate) fn as_bytes(&self) -> &[u8] {
        &self.0
    }
}

impl rusqlite::ToSql for Sealed {
    fn to_sql(&self) -> rusqlite::Result<rusqlite::types::ToSqlOutput<'_>> {
        self.0.to_sql()
    }
}

pub(crate) fn seal(
    key: &SecretKey,
    key_id: KeyId,
    place: &Place<'_>,
    plaintext: &[u8],
) -> Result<Sealed, Error> {
    let mut nonce = [0u8; NONCE_LEN];
    // Random 96-bit nonces: this store seals far fewer than 2^32 values per key.
    fill_random(&mut nonce)?;
    let mut out = Vec::with_capacity(HEADER_LEN + plaintext.len() + TAG_LEN);
    out.push(ENVELOPE_VERSION);
    out.extend_from_slice(&key_id.0);
    out.extend_from_slice(&nonce);
    let aad = place.aad(&out);
    let mut body = Zeroizing::new(plaintext.to_vec());
    let tag = key
        .aead_key()?
        .seal_in_place_separate_tag(
            Nonce::assume_unique_for_key(nonce),
            Aad::from(&aad),
            &mut body,
        )
        .map_err(|_| Error::Crypto)?;
    out.extend_from_slice(&body);
    out.extend_from_slice(tag.as_ref());
    Ok(Sealed(out))
}

/// The key id an envelope claims, without opening it.
pub(crate) fn envelope_key_id(place: &Place<'_>, envelope: &[u8]) -> Result<KeyId, Error> {
    if envelope.len() < HEADER_LEN + TAG_LEN || envelope[0] != ENVELOPE_VERSION {
        return Err(place.integrity_error());
    }
    let mut id = [0u8; KeyId::LEN];
    id.copy_from_slice(&envelope[1..1 + KeyId::LEN]);
    Ok(KeyId(id))
}

pub(crate) fn open(
    key: &SecretKey,
    expected: KeyId,
    place: &Place<'_>,
    envelope: &[u8],
) -> Result<Zeroizing<Vec<u8>>, Error> {
    if envelope_key_id(place, envelope)? != expected {
        return Err(place.integrity_error());
    }
    let (header, body) = envelope.split_at(HEADER_LEN);
    let mut nonce = [0u8; NONCE_LEN];
    nonce.copy_from_slice(&header[1 + KeyId::LEN..]);
    let aad = place.aad(header);
    let mut buf = Zeroizing::new(body.to_vec());
    let len = key
        .aead_key()?
        .open_in_place(
            Nonce::assume_unique_for_key(nonce),
            Aad::from(&aad),
            &mut buf,
        )
        .map_err(|_| place.integrity_error())?
        .len();
    buf.truncate(len);
    Ok(buf)
}

/// `open`, into `buf` (cleared first, zeroized by its owner), without allocating: for many small
/// values opened in a row (the index snapshot's entries). `aad` is scratch space for the AAD.
pub(crate) fn open_into(
    key: &SecretKey,
    expected: KeyId,
    place: &Place<'_>,
    envelope: &[u8],
    buf: &mut Zeroizing<Vec<u8>>,
    aad: &mut Vec<u8>,
) -> Result<(), Error> {
    if envelope_key_id(place, envelope)? != expected {
        return Err(place.integrity_error());
    }
    let (header, body) = envelope.split_at(HEADER_LEN);
    let mut nonce = [0u8; NONCE_LEN];
    nonce.copy_from_slice(&header[1 + KeyId::LEN..]);
    aad.clear();
    place.aad_into(header, aad);
    buf.clear();
    if buf.capacity() < body.len() {
        // Grown only into a fresh buffer, the old one zeroized first (a grown Vec would leave
        // its old allocation behind as it was).
        zeroize::Zeroize::zeroize(&mut **buf);
        **buf = Vec::with_capacity(body.len().max(256));
    }
    buf.extend_from_slice(body);
    let len = key
        .aead_key()?
        .open_in_place(
            Nonce::assume_unique_for_key(nonce),
            Aad::from(&aad[..]),
            &mut buf[..],
        )
        .map_err(|_| place.integrity_error())?
        .len();
    buf.truncate(len);
    Ok(())
}

/// A record id as a number, only in the form `new_id` writes (lower-case, hyphenated), so that
/// two spellings of one UUID are never one key.
pub(crate) fn uuid_of(id: &str) -> Option<u128> {
    // 36 bytes is the hyphenated form alone (simple is 32, braced 38, URN 45), so with no
    // capital it is `new_id`'s. Checked on the bytes: writing the UUID out again to compare cost
    // more than parsing it, three times a member at unlock.
    let bytes = id.as_bytes();
    if bytes.len() != uuid::fmt::Hyphenated::LENGTH || bytes.iter().any(u8::is_ascii_uppercase) {
        return None;
    }
    uuid::Uuid::try_parse_ascii(bytes).ok().map(|u| u.as_u128())
}

/// The key id of a record or user: its UUID's bytes, bound into every seal made for it.
pub(crate) fn key_id_of(kind: RecordKind, id: &str) -> Result<KeyId, Error> {
    uuid::Uuid::parse_str(id)
        .map(|u| KeyId(*u.as_bytes()))
        .map_err(|_| Error::Integrity {
            kind,
            id: id.to_owned(),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn place(id: &str) -> Place<'_> {
        Place {
            table: "members",
            kind: RecordKind::Member,
            id,
            bound: "club-1",
        }
    }

    #[test]
    fn round_trip_and_binding() {
        let key = SecretKey::generate().unwrap();
        let kid = KeyId([7; 16]);
        let sealed = seal(&key, kid, &place("a"), b"Nguy\xe1\xbb\x85n").unwrap();
        assert_eq!(
            open(&key, kid, &place("a"), sealed.as_bytes())
                .unwrap()
                .as_slice(),
            b"Nguy\xe1\xbb\x85n"
        );
        // Another row, another table, another key id or another key: all refused.
        assert!(matches!(
            open(&key, kid, &place("b"), sealed.as_bytes()),
            Err(Error::Integrity { .. })
        ));
        let other_table = Place {
            table: "meetings",
            kind: RecordKind::Member,
            id: "a",
            bound: "club-1",
        };
        let other_bound = Place {
            table: "members",
            kind: RecordKind::Member,
            id: "a",
            bound: "club-2",
        };
        assert!(open(&key, kid, &other_bound, sealed.as_bytes()).is_err());
        assert!(open(&key, kid, &other_table, sealed.as_bytes()).is_err());
        assert!(open(&key, KeyId([8; 16]), &place("a"), sealed.as_bytes()).is_err());
        let other = SecretKey::generate().unwrap();
        assert!(open(&other, kid, &place("a"), sealed.as_bytes()).is_err());
    }

    #[test]
    fn every_flipped_byte_is_caught() {
        let key = SecretKey::generate().unwrap();
        let kid = KeyId([1; 16]);
        let sealed = seal(&key, kid, &place("x"), b"story").unwrap();
        for i in 0..sealed.as_bytes().len() {
            let mut bad = sealed.as_bytes().to_vec();
            bad[i] ^= 0x01;
            assert!(open(&key, kid, &place("x"), &bad).is_err(), "byte {i}");
        }
        assert!(open(&key, kid, &place("x"), &sealed.as_bytes()[..10]).is_err());
    }

    #[test]
    fn nonces_differ() {
        let key = SecretKey::generate().unwrap();
        let a = seal(&key, KeyId([0; 16]), &place("x"), b"same").unwrap();
        let b = seal(&key, KeyId([0; 16]), &place("x"), b"same").unwrap();
        assert_ne!(a.as_bytes(), b.as_bytes());
    }
}
