//! The recovery secret and the backup file: one file with the whole store, sealed under a key
//! the recovery secret gives (Argon2id), its header bound into the seal.

use std::path::Path;

use rusqlite::TransactionBehavior;
use zeroize::Zeroizing;

use crate::audit::AuditAction;
use crate::crypto::{self, KeyId, Place, SecretKey};
use crate::db::Db;
use crate::error::{Error, Reason, RecordKind, Result};
use crate::keys::{self, KdfParams};
use crate::ledger::{self, NewEntry};
use crate::session::Session;

use super::{backup_tmp_of, meta_get, meta_place, meta_set, params_bytes, params_from};

const BACKUP_MAGIC: &[u8; 16] = b"CHUNGTAY-BACKUP1";

/// The backup file, and the secret that opens it when it was just set up.
/// Kotlin's `toString` is the redacted `Debug` below, so a stray log line does not hold it.
#[cfg_attr(feature = "uniffi", uniffi::export(Debug))]
#[derive(Clone, PartialEq, Eq)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct RecoverySetup {
    /// Shown once, written down and kept by the commune union. Never stored.
    pub recovery_secret: String,
}
// With a backup file, the secret opens the whole store: never in Debug output.
crate::domain::redacted_debug!(RecoverySetup {});

/// The recovery secret as people copy it: case, spaces and dashes do not matter.
fn normalise_secret(secret: &str) -> Zeroizing<String> {
    Zeroizing::new(
        secret
            .chars()
            .filter(|c| c.is_ascii_alphanumeric())
            .map(|c| c.to_ascii_uppercase())
            .collect(),
    )
}

pub(crate) fn recovery_key(secret: &str, salt: &[u8], params: KdfParams) -> Result<SecretKey> {
    let stretched = keys::stretch(&normalise_secret(secret), salt, params)?;
    crypto::hkdf_sha256(salt, stretched.as_ref(), b"chungtay recovery v1")
}

fn check_value(key: &SecretKey) -> Result<Vec<u8>> {
    Ok(key.derive(b"recovery-check")?.as_bytes()[..16].to_vec())
}

/// Sets up (or replaces) the recovery secret for backups and returns it, to show once.
pub(crate) fn setup_recovery(db: Db<'_>, s: &Session) -> Result<RecoverySetup> {
    let mut raw = Zeroizing::new([0u8; 20]);
    crypto::fill_random(raw.as_mut())?;
    let encoded = Zeroizing::new(data_encoding::BASE32_NOPAD.encode(raw.as_ref()));
    let secret = encoded
        .as_bytes()
        .chunks(4)
        .map(|c| String::from_utf8_lossy(c).into_owned())
        .collect::<Vec<_>>()
        .join("-");
    let mut salt = [0u8; 16];
    crypto::fill_random(&mut salt)?;
    let params = KdfParams::MIN;
    let key = recovery_key(&secret, &salt, params)?;
    let sealed = crypto::seal(
        &s.record_key,
        db.store_kid,
        &meta_place("recovery"),
        key.as_bytes(),
    )?;
    let mut value = salt.to_vec();
    value.extend_from_slice(&params_bytes(params));
    value.extend_from_slice(sealed.as_bytes());
    let tx = rusqlite::Transaction::new_unchecked(db.conn, TransactionBehavior::Immediate)?;
    meta_set(&tx, "recovery", &value)?;
    ledger::append(
        &tx,
        db.store_id,
        s,
        NewEntry::new(AuditAction::Update, Some(RecordKind::User), "recovery"),
    )?;
    tx.commit()?;
    Ok(RecoverySetup {
        recovery_secret: secret,
    })
}

/// One encrypted file with everything (records, users, audit trail), for a new phone. `path`
/// is the store's file, beside which the copy is made.
pub(crate) fn create_backup(db: Db<'_>, s: &Session, path: &Path) -> Result<Vec<u8>> {
    let value = meta_get(db.conn, "recovery")?
        .ok_or_else(|| Error::Invalid(crate::ValidationError::new("recovery", Reason::Missing)))?;
    let salt = value.get(..16).ok_or(Error::Crypto)?.to_vec();
    let params = value
        .get(16..28)
        .and_then(params_from)
        .ok_or(Error::Crypto)?;
    let key = crypto::open(
        &s.record_key,
        db.store_kid,
        &meta_place("recovery"),
        &value[28..],
    )?;
    let key = SecretKey::from_slice(&key)?;
    {
        let tx = rusqlite::Transaction::new_unchecked(db.conn, TransactionBehavior::Immediate)?;
        ledger::append(
            &tx,
            db.store_id,
            s,
            NewEntry::new(AuditAction::Export, None, "backup"),
        )?;
        tx.commit()?;
    }
    // A consistent copy of the file: its personal fields are sealed already.
    let tmp = backup_tmp_of(path);
    if tmp.exists() {
        std::fs::remove_file(&tmp)?;
    }
    db.conn
        .execute("VACUUM INTO ?1", [tmp.to_string_lossy().as_ref()])?;
    let copy = std::fs::read(&tmp);
    std::fs::remove_file(&tmp)?;
    let copy = copy?;
    let mut inner = Zeroizing::new(s.store_key.as_bytes().to_vec());
    inner.extend_from_slice(&copy);
    let mut header = BACKUP_MAGIC.to_vec();
    header.extend_from_slice(&salt);
    header.extend_from_slice(&params_bytes(params));
    header.extend_from_slice(&check_value(&key)?);
    let bound = data_encoding::HEXLOWER.encode(&header);
    let sealed = crypto::seal(&key, db.store_kid, &backup_place(&bound), &inner)?;
    let mut file = header;
    file.extend_from_slice(db.store_kid.0.as_slice());
    file.extend_from_slice(sealed.as_bytes());
    Ok(file)
}

pub(crate) struct BackupFile<'a> {
    /// Magic, salt, Argon2 cost and check value: bound into the seal.
    header: &'a [u8],
    pub(crate) salt: &'a [u8],
    pub(crate) kdf: KdfParams,
    kid: KeyId,
    sealed: &'a [u8],
}

impl<'a> BackupFile<'a> {
    const HEADER_LEN: usize = 16 + 16 + 12 + 16;

    /// Splits a file into its parts; anything but a backup is `BackupDamaged`.
    pub(crate) fn parse(backup: &'a [u8]) -> Result<Self> {
        let header_len = Self::HEADER_LEN;
        if backup.len() < header_len + KeyId::LEN || &backup[..16] != BACKUP_MAGIC {
            return Err(Error::BackupDamaged);
        }
        let header = &backup[..header_len];
        let kdf = params_from(&header[32..44]).ok_or(Error::BackupDamaged)?;
        kdf.check().map_err(|_| Error::BackupDamaged)?;
        let kid = KeyId(
            backup[header_len..header_len + KeyId::LEN]
                .try_into()
                .map_err(|_| Error::BackupDamaged)?,
        );
        Ok(Self {
            header,
            salt: &header[16..32],
            kdf,
            kid,
            sealed: &backup[header_len + KeyId::LEN..],
        })
    }

    /// Opens the file with the key derived from the recovery secret: the store key, and the
    /// whole opened content (store key, then the database file).
    pub(crate) fn open(&self, key: &SecretKey) -> Result<(SecretKey, Zeroizing<Vec<u8>>)> {
        if check_value(key)? != self.header[44..60] {
            return Err(Error::WrongRecoverySecret);
        }
        let bound = data_encoding::HEXLOWER.encode(self.header);
        let inner = crypto::open(key, self.kid, &backup_place(&bound), self.sealed)
            .map_err(|_| Error::BackupDamaged)?;
        if inner.len() < 32 {
            return Err(Error::BackupDamaged);
        }
        let store_key = SecretKey::from_slice(&inner[..32])?;
        Ok((store_key, inner))
    }
}

/// The key a recovery secret gives for a backup file's salt and cost, for `crate::fuzzing`.
#[cfg(feature = "fuzzing")]
pub(crate) fn backup_key(secret: &str, file: &BackupFile<'_>) -> Result<SecretKey> {
    recovery_key(secret, file.salt, file.kdf)
}

fn backup_place(bound: &str) -> Place<'_> {
    Place {
        table: "backup",
        kind: RecordKind::Canary,
        id: "backup",
        bound,
    }
}
