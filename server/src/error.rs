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
    #[error("PostgreSQL: {0}")]
    Pg(PgError),
    #[error("PostgreSQL connection pool: {0}")]
    Pool(String),
    #[error("database: {0}")]
    Config(&'static str),
    #[error("store lock poisoned")]
    Poisoned,
    /// The commit shared with other referrals failed; nothing of this one was stored.
    #[error("the batch this referral was committed in failed: {0}")]
    Batch(String),
    #[error("sealing failed: {0}")]
    Seal(#[from] KeyFileError),
    #[error("signing failed: {0}")]
    Protocol(#[from] chungtay_protocol::ProtocolError),
}

/// A PostgreSQL failure as reported: its SQLSTATE and primary message only. The DETAIL a
/// server adds (e.g. `Key (referral_id)=(…) already exists`) quotes row values, so it is left
/// out.
#[derive(Debug)]
pub struct PgError {
    pub code: Option<String>,
    pub message: String,
    /// A deadlock or serialisation failure: the transaction may run again.
    pub retry: bool,
}

impl std::fmt::Display for PgError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.code {
            Some(code) => write!(f, "{code} {}", self.message),
            None => f.write_str(&self.message),
        }
    }
}

impl From<postgres::Error> for StoreError {
    fn from(e: postgres::Error) -> Self {
        let retry = crate::pg::retryable(&e);
        StoreError::Pg(match e.as_db_error() {
            Some(db) => PgError {
                code: Some(db.code().code().to_string()),
                message: db.message().to_string(),
                retry,
            },
            None => PgError {
                code: e.code().map(|c| c.code().to_string()),
                // With its causes: "error performing TLS handshake" alone does not say that
                // the certificate names another host.
                message: {
                    let mut m = e.to_string();
                    let mut cause = std::error::Error::source(&e);
                    while let Some(c) = cause {
                        let text = c.to_string();
                        if !m.contains(&text) {
                            m.push_str(": ");
                            m.push_str(&text);
                        }
                        cause = c.source();
                    }
                    m
                },
                retry,
            },
        })
    }
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
    /// The same, for a PostgreSQL database that already holds an intake schema.
    #[error(
        "this PostgreSQL database already holds an intake schema; init makes new keys that \
         cannot open its rows: restore its key file, or use an empty database"
    )]
    SchemaExists,
    /// `migrate` read the copy back and it differs from the source in this table.
    #[error("the copy of table {0} differs from the source: the target was left as copied")]
    MigrationMismatch(&'static str),
    /// `migrate` found a SQLite target that is not new or empty.
    #[error(
        "the SQLite file to migrate into already holds data (or has a -wal beside it); \
         migrate fills only a new, empty file: move it away first"
    )]
    TargetNotEmpty,
    /// `migrate` was pointed at a source without an intake schema.
    #[error("the database to migrate from holds no intake database: nothing to copy")]
    NotAProvince,
    /// `migrate` found a table with other columns on the two sides.
    #[error("table {0} has other columns in the source than in the target: nothing was copied")]
    SchemaMismatch(&'static str),
}
