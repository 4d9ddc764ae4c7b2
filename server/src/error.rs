use thiserror::Error;

/// Failures of the province key file and of at-rest sealing. No variant carries secret or
/// personal values.
#[derive(Debug, Error)]
pub enum KeyFileError {
    #[error("key file I/O: {0}")]
    Io(#[from] std::io::Error),
    #[error("wrong passphrase, or the key file is damaged")]
    WrongPassphrase,
    #[error("a key file already exists there")]
    Exists,
    #[error("key file malformed: {0}")]
    Malformed(&'static str),
    #[error("unsupported key file version {0}")]
    UnsupportedVersion(u32),
    #[error("key file KDF parameters below the minimum (Argon2id m >= 19 MiB, t >= 2)")]
    WeakKdf,
    #[error("stored body failed its integrity check")]
    Integrity,
    #[error("crypto failure: {0}")]
    Crypto(&'static str),
    #[error("protocol: {0}")]
    Protocol(#[from] chungtay_protocol::ProtocolError),
}

/// Storage failures. SQLite messages cannot hold personal values: every value is a bound
/// parameter, and bodies are sealed before they reach the store.
#[derive(Debug, Error)]
pub enum StoreError {
    #[error("database: {0}")]
    Db(#[from] rusqlite::Error),
    #[error("I/O: {0}")]
    Io(#[from] std::io::Error),
    #[error("database schema version {0} is newer than this program")]
    SchemaTooNew(i64),
    #[error("store lock poisoned")]
    Poisoned,
    #[error("sealing failed: {0}")]
    Seal(#[from] KeyFileError),
    #[error("signing failed: {0}")]
    Protocol(#[from] chungtay_protocol::ProtocolError),
}

/// Errors of the admin commands and of starting the server.
#[derive(Debug, Error)]
pub enum AdminError {
    #[error(transparent)]
    Key(#[from] KeyFileError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("I/O: {0}")]
    Io(#[from] std::io::Error),
    #[error("{0}")]
    Usage(&'static str),
    /// `init` found a database from an earlier province: its rows are sealed under keys that
    /// new keys could never open, so it is left alone rather than mixed with a new key file.
    #[error(
        "an intake database (intake.db or intake.db-wal) already exists in this folder; \
         init makes new keys that cannot open it: restore its key file, or move it away first"
    )]
    DatabaseExists,
}
