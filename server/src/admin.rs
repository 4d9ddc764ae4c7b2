//! Admin operations behind the CLI subcommands, callable in-process by tests.

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use chrono::{SecondsFormat, Utc};
use ring::digest::SHA256;
use ring::rand::{SecureRandom, SystemRandom};

use crate::error::{AdminError, KeyFileError};
use crate::http::{AppState, Limits};
use crate::keyfile::{KdfParams, MIN_PASSPHRASE_CHARS, ProvinceKeys, read_public_keys};
use crate::sqlite::SqliteStore;
use crate::store::{Device, IntakeStore};
use chungtay_protocol::ProvincePins;

/// The key file's name in the data folder.
pub const KEY_FILE: &str = "province-keys.json";
/// The database's name in the data folder.
pub const DB_FILE: &str = "intake.db";
/// How long an enrollment code stays valid.
pub const CODE_TTL_SECS: i64 = 7 * 24 * 3600;

/// Crockford base32: no I, L, O or U, so codes read aloud or typed on a phone are unambiguous.
const CODE_ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";
const CODE_CHARS: usize = 12;

fn key_path(data: &Path) -> PathBuf {
    data.join(KEY_FILE)
}

fn db_path(data: &Path) -> PathBuf {
    data.join(DB_FILE)
}

fn now_text() -> String {
    Utc::now().to_rfc3339_opts(SecondsFormat::Secs, true)
}

fn sha256(parts: &[&[u8]]) -> [u8; 32] {
    let mut ctx = ring::digest::Context::new(&SHA256);
    for p in parts {
        ctx.update(p);
    }
    let mut out = [0u8; 32];
    out.copy_from_slice(ctx.finish().as_ref());
    out
}

/// The stored form of an enrollment code: SHA-256 of its normalised text (upper case, no
/// dashes or spaces, O read as 0, I and L as 1). `None` if it cannot be a code.
pub fn code_hash(code: &str) -> Option<[u8; 32]> {
    let norm: String = code
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .map(|c| match c.to_ascii_uppercase() {
            'O' => '0',
            'I' | 'L' => '1',
            other => other,
        })
        .collect();
    if norm.len() != CODE_CHARS || !norm.bytes().all(|b| CODE_ALPHABET.contains(&b)) {
        return None;
    }
    Some(sha256(&[b"chungtay.enroll-code.v1\0", norm.as_bytes()]))
}

/// The stored form of a staff token.
pub fn token_hash(token: &str) -> [u8; 32] {
    sha256(&[b"chungtay.staff-token.v1\0", token.as_bytes()])
}

fn random<const N: usize>() -> Result<[u8; N], AdminError> {
    let mut b = [0u8; N];
    SystemRandom::new()
        .fill(&mut b)
        .map_err(|_| KeyFileError::Crypto("random"))?;
    Ok(b)
}

/// Public half of a fresh province, printed by `init` so it can be checked out of band.
#[derive(Clone, Debug)]
pub struct InitSummary {
    pub hpke_public_key: [u8; 32],
    pub signing_public_key: [u8; 32],
    /// [`ProvincePins::fingerprint`] of the two keys.
    pub fingerprint: String,
}

/// `init`: makes the data folder (0700), the province keys, the encrypted key file (0600) and
/// the database. Refuses a folder that already has a key file or a database.
pub fn init(data: &Path, passphrase: &str, params: KdfParams) -> Result<InitSummary, AdminError> {
    if passphrase.chars().count() < MIN_PASSPHRASE_CHARS {
        return Err(AdminError::Usage(
            "the province passphrase must have at least 12 characters",
        ));
    }
    fs::create_dir_all(data)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        fs::set_permissions(data, fs::Permissions::from_mode(0o700))?;
    }
    if key_path(data).exists() {
        return Err(KeyFileError::Exists.into());
    }
    // A database left from lost keys would stay sealed under them; refuse before writing.
    let wal = data.join(format!("{DB_FILE}-wal"));
    if db_path(data).exists() || wal.exists() {
        return Err(AdminError::DatabaseExists);
    }
    let keys = ProvinceKeys::generate()?;
    keys.save(&key_path(data), passphrase, params)?;
    SqliteStore::open(&db_path(data))?;
    let pins = ProvincePins {
        hpke_public_key: keys.hpke.public_key_bytes(),
        signing_key: keys.signing.public_key(),
    };
    Ok(InitSummary {
        hpke_public_key: pins.hpke_public_key,
        signing_public_key: pins.signing_key,
        fingerprint: pins.fingerprint(),
    })
}

/// Opens the database of an initialised data folder (no passphrase needed: it holds no
/// readable personal data).
pub fn open_store(data: &Path) -> Result<SqliteStore, AdminError> {
    if !key_path(data).exists() || !db_path(data).exists() {
        return Err(AdminError::Usage(
            "no intake data in this folder: run `chungtay-intake init` first",
        ));
    }
    Ok(SqliteStore::open(&db_path(data))?)
}

/// Opens the province keys with the passphrase.
pub fn load_keys(data: &Path, passphrase: &str) -> Result<ProvinceKeys, AdminError> {
    Ok(ProvinceKeys::load(&key_path(data), passphrase)?)
}

/// Everything `serve` needs: keys, store and limits.
pub fn load_state(data: &Path, passphrase: &str, limits: Limits) -> Result<AppState, AdminError> {
    let store = open_store(data)?;
    let keys = load_keys(data, passphrase)?;
    Ok(AppState::new(Arc::new(store), keys, limits))
}

/// A freshly issued enrollment code.
#[derive(Clone, Debug)]
pub struct IssuedCode {
    /// Shown once, e.g. `7K3M-Q9TX-2H8D`; only its hash is stored.
    pub code: String,
    pub expires_at: String,
    /// The province key fingerprint to hand over with the code, so the leader can check
    /// the keys her phone pinned.
    pub fingerprint: String,
}

/// `issue-code`: a random one-time code (60 bits), stored hashed, valid for 7 days.
pub fn issue_code(data: &Path) -> Result<IssuedCode, AdminError> {
    let store = open_store(data)?;
    let bytes = random::<CODE_CHARS>()?;
    let chars: Vec<char> = bytes
        .iter()
        .map(|b| char::from(CODE_ALPHABET[usize::from(b & 31)]))
        .collect();
    let code = chars
        .chunks(4)
        .map(|c| c.iter().collect::<String>())
        .collect::<Vec<_>>()
        .join("-");
    let hash = code_hash(&code).ok_or(AdminError::Usage("generated code does not parse"))?;
    let now = Utc::now();
    let expires = now + chrono::Duration::seconds(CODE_TTL_SECS);
    store.add_code(
        &hash,
        &now.to_rfc3339_opts(SecondsFormat::Secs, true),
        expires.timestamp(),
    )?;
    Ok(IssuedCode {
        code,
        expires_at: expires.to_rfc3339_opts(SecondsFormat::Secs, true),
        fingerprint: read_public_keys(&key_path(data))?.fingerprint(),
    })
}

/// `devices`.
pub fn devices(data: &Path) -> Result<Vec<Device>, AdminError> {
    Ok(open_store(data)?.devices()?)
}

/// `revoke`: false if there is no such device.
pub fn revoke(data: &Path, device_id: &str) -> Result<bool, AdminError> {
    Ok(open_store(data)?.revoke_device(device_id, &now_text())?)
}

/// `staff-token`: a random 256-bit token, shown once, stored hashed.
pub fn staff_token(data: &Path, label: &str) -> Result<String, AdminError> {
    let store = open_store(data)?;
    let bytes = random::<32>()?;
    let token = format!(
        "ctst_{}",
        bytes.iter().map(|b| format!("{b:02x}")).collect::<String>()
    );
    store.add_staff_token(&token_hash(&token), label, &now_text())?;
    Ok(token)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_normalise() {
        let h = code_hash("7K3M-Q9TX-2H8D").unwrap();
        assert_eq!(code_hash("7k3m q9tx 2h8d"), Some(h));
        assert_eq!(code_hash("1111-0000-AAAA"), code_hash("IlI1-oOo0-aaaa"));
        assert_eq!(code_hash("7K3M-Q9TX-2H8"), None);
        assert_eq!(code_hash("7K3M-Q9TX-2H8U"), None);
        assert_eq!(code_hash(""), None);
    }
}
