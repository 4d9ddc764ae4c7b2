use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde::{Deserialize, Deserializer, Serialize, Serializer, de};

use crate::ProtocolError;

/// Bytes that travel as a standard base64 string (RFC 4648, with padding).
#[derive(Clone, PartialEq, Eq, Default, Hash)]
pub struct B64(pub Vec<u8>);

impl B64 {
    /// The raw bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// The raw bytes, as an owned vector.
    pub fn into_vec(self) -> Vec<u8> {
        self.0
    }

    /// The bytes as a fixed-size array; `Malformed(what)` if the length differs.
    pub fn to_array<const N: usize>(&self, what: &'static str) -> Result<[u8; N], ProtocolError> {
        <[u8; N]>::try_from(self.0.as_slice()).map_err(|_| ProtocolError::Malformed(what))
    }

    /// Standard base64 text.
    pub fn encode(&self) -> String {
        STANDARD.encode(&self.0)
    }

    /// Parses standard base64 text.
    pub fn decode(text: &str, what: &'static str) -> Result<Self, ProtocolError> {
        STANDARD
            .decode(text.as_bytes())
            .map(B64)
            .map_err(|_| ProtocolError::Malformed(what))
    }
}

impl From<Vec<u8>> for B64 {
    fn from(v: Vec<u8>) -> Self {
        B64(v)
    }
}

impl From<&[u8]> for B64 {
    fn from(v: &[u8]) -> Self {
        B64(v.to_vec())
    }
}

impl<const N: usize> From<[u8; N]> for B64 {
    fn from(v: [u8; N]) -> Self {
        B64(v.to_vec())
    }
}

impl fmt::Debug for B64 {
    // Only ever holds keys, signatures, hashes and ciphertext; still, keep logs short.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "B64({} bytes)", self.0.len())
    }
}

impl Serialize for B64 {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.encode())
    }
}

impl<'de> Deserialize<'de> for B64 {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl de::Visitor<'_> for Visitor {
            type Value = B64;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a standard base64 string")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<B64, E> {
                STANDARD
                    .decode(v.as_bytes())
                    .map(B64)
                    .map_err(|_| E::custom("invalid base64"))
            }
        }
        d.deserialize_str(Visitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_errors() {
        let b = B64(vec![0xfb, 0xff, 0x00, 1]);
        let json = serde_json::to_string(&b).unwrap();
        assert_eq!(json, "\"+/8AAQ==\"");
        let back: B64 = serde_json::from_str(&json).unwrap();
        assert_eq!(back, b);
        assert!(serde_json::from_str::<B64>("\"not base64!\"").is_err());
        assert!(serde_json::from_str::<B64>("12").is_err());
        assert_eq!(b.to_array::<4>("x").unwrap(), [0xfb, 0xff, 0, 1]);
        assert_eq!(b.to_array::<32>("x"), Err(ProtocolError::Malformed("x")));
        assert_eq!(format!("{b:?}"), "B64(4 bytes)");
    }
}
