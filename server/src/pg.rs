//! PostgreSQL backend, for a deployment where several server instances share one database.
//!
//! Everything that must stay exact across instances is held by PostgreSQL, never by a lock in
//! this process:
//! - intake is idempotent by the referral id (`UNIQUE`, `INSERT … ON CONFLICT DO NOTHING`);
//! - a device's status updates and checkpoints are numbered and chained under a row lock on
//!   the device (`SELECT … FOR NO KEY UPDATE`), so two instances cannot hand out the same `seq`
//!   nor both extend the same checkpoint;
//! - referrals are numbered from a counter row updated in the inserting transaction, so their
//!   numbers commit in order and a listing cursor (`n > after`) never skips a late commit (a
//!   sequence would hand out 7 before 6 commits);
//! - login failures and TOTP steps are single conditional `UPDATE`s.
//!
//! The sync `postgres` client with an `r2d2` pool, because the [`IntakeStore`] trait is sync:
//! the server calls it from `spawn_blocking`, the admin commands from plain `main`. The client
//! runs its own small runtime; it must not be called on an async worker thread.
//!
//! As in SQLite, bodies arrive sealed; the plaintext columns are ids, hashes, states and times.

use std::time::Duration;

use chungtay_protocol::transition_allowed;
use postgres::config::{Host, SslMode};
use postgres::error::SqlState;
use postgres::types::Type;
use postgres::{GenericClient, Row, Transaction};
use r2d2_postgres::PostgresConnectionManager;
use r2d2_postgres::r2d2::{Pool, PooledConnection};

use crate::error::StoreError;
use crate::store::{
    Account, AuditEntry, CheckpointOutcome, Device, InsertOutcome, IntakeStore, MakeStatus,
    NewReferral, NewStaffToken, Redeem, StaffSession, StaffToken, StoredCheckpoint, StoredReferral,
    StoredStatus, TransitionOutcome,
};

/// The schema this program writes: SQLite's version 3, and the rate buckets that SQLite keeps
/// in its one process.
const SCHEMA_VERSION: i64 = 4;

/// Any number: the key of the advisory lock that lets one instance at a time create the schema.
const SCHEMA_LOCK: i64 = 0x4368_756e_6754_6179;

const SCHEMA: &str = "
CREATE TABLE intake_schema (version BIGINT NOT NULL);
CREATE TABLE intake_counters (name TEXT PRIMARY KEY, value BIGINT NOT NULL);
INSERT INTO intake_counters VALUES ('referrals', 0);
CREATE TABLE enrollment_codes (
    code_hash  BYTEA PRIMARY KEY,
    created_at TEXT NOT NULL,
    expires_at BIGINT NOT NULL,
    device_id  TEXT,
    mac        BYTEA,
    label      TEXT NOT NULL DEFAULT ''
);
CREATE TABLE devices (
    device_id     TEXT PRIMARY KEY,
    public_key    BYTEA NOT NULL UNIQUE,
    enrolled_at   TEXT NOT NULL,
    revoked_at    TEXT,
    flagged_at    TEXT,
    mac           BYTEA,
    flag_reason   TEXT,
    label         TEXT NOT NULL DEFAULT '',
    last_seen_at  TEXT,
    revoke_reason TEXT
);
CREATE TABLE staff_tokens (
    token_hash BYTEA PRIMARY KEY,
    label      TEXT NOT NULL,
    created_at TEXT NOT NULL,
    revoked_at TEXT,
    token_id   TEXT UNIQUE,
    expires_at BIGINT,
    mac        BYTEA,
    scope      TEXT
);
CREATE TABLE referrals (
    n                 BIGINT PRIMARY KEY,
    referral_id       TEXT NOT NULL UNIQUE,
    device_id         TEXT NOT NULL REFERENCES devices(device_id),
    payload_hash      BYTEA NOT NULL,
    received_at       TEXT NOT NULL,
    receipt_signature BYTEA NOT NULL,
    state             TEXT NOT NULL,
    updated_at        TEXT NOT NULL,
    body              BYTEA NOT NULL,
    updated_by        TEXT
);
CREATE INDEX referrals_by_state ON referrals(state, updated_at);
CREATE TABLE status_updates (
    device_id   TEXT NOT NULL REFERENCES devices(device_id),
    seq         BIGINT NOT NULL CHECK (seq > 0),
    referral_id TEXT NOT NULL REFERENCES referrals(referral_id),
    state       TEXT NOT NULL,
    at          TEXT NOT NULL,
    body        BYTEA NOT NULL,
    by_staff    TEXT,
    PRIMARY KEY (device_id, seq)
);
CREATE INDEX status_updates_by_referral ON status_updates(referral_id, seq);
CREATE TABLE checkpoints (
    device_id   TEXT NOT NULL REFERENCES devices(device_id),
    seq         BIGINT NOT NULL,
    head        BYTEA NOT NULL,
    at          TEXT NOT NULL,
    signature   BYTEA NOT NULL,
    received_at TEXT NOT NULL,
    prev_seq    BIGINT,
    prev_head   BYTEA,
    PRIMARY KEY (device_id, seq)
);
CREATE TABLE staff_accounts (
    account_id     TEXT PRIMARY KEY,
    username       TEXT NOT NULL UNIQUE,
    display_name   TEXT NOT NULL,
    role           TEXT NOT NULL,
    password_hash  TEXT,
    setup_hash     BYTEA,
    setup_expires  BIGINT NOT NULL,
    totp           BYTEA,
    created_at     TEXT NOT NULL,
    disabled_at    TEXT,
    failed_logins  BIGINT NOT NULL DEFAULT 0,
    locked_until   BIGINT NOT NULL DEFAULT 0,
    totp_last      BIGINT NOT NULL DEFAULT 0,
    mac            BYTEA NOT NULL
);
CREATE TABLE staff_sessions (
    session_hash BYTEA PRIMARY KEY,
    account_id   TEXT NOT NULL REFERENCES staff_accounts(account_id),
    created_at   BIGINT NOT NULL,
    last_seen    BIGINT NOT NULL,
    mac          BYTEA NOT NULL
);
CREATE INDEX staff_sessions_by_account ON staff_sessions(account_id);
CREATE TABLE staff_audit (
    n      BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at     TEXT NOT NULL,
    actor  TEXT NOT NULL,
    action TEXT NOT NULL,
    target TEXT NOT NULL,
    detail TEXT NOT NULL
);
CREATE TABLE rate_buckets (
    key    TEXT PRIMARY KEY,
    tokens DOUBLE PRECISION NOT NULL,
    at_ms  BIGINT NOT NULL
);
CREATE FUNCTION intake_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% is append-only', TG_TABLE_NAME;
END
$$;
CREATE TRIGGER status_updates_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON status_updates
    FOR EACH STATEMENT EXECUTE FUNCTION intake_append_only();
CREATE TRIGGER checkpoints_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON checkpoints
    FOR EACH STATEMENT EXECUTE FUNCTION intake_append_only();
CREATE TRIGGER staff_audit_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON staff_audit
    FOR EACH STATEMENT EXECUTE FUNCTION intake_append_only();
";

/// Connections one server instance keeps open at most.
pub const POOL_SIZE: u32 = 16;

type Manager = PostgresConnectionManager<MakeRustlsConnect>;
use tokio_postgres_rustls::MakeRustlsConnect;

/// The PostgreSQL store.
pub struct PgStore {
    /// Always Some; taken only by Drop.
    pool: Option<Pool<Manager>>,
}

impl Drop for PgStore {
    fn drop(&mut self) {
        // A client closes its connection by blocking on its own runtime, which tokio forbids
        // on an async worker thread, where the server's state is dropped at shutdown.
        if let Some(pool) = self.pool.take() {
            if tokio::runtime::Handle::try_current().is_ok() {
                let _ = std::thread::spawn(move || drop(pool)).join();
            } else {
                drop(pool);
            }
        }
    }
}

impl PgStore {
    /// Connects to `url` (`postgres://user:password@host:port/dbname`) and brings the schema
    /// up, creating it in an empty database. Connections are not encrypted: the database must
    /// be on this machine or a private network (the bodies in it are sealed all the same).
    pub fn open(url: &str) -> Result<Self, StoreError> {
        Self::open_pooled(url, POOL_SIZE)
    }

    /// [`PgStore::open`] with at most `pool_size` connections (a deployment of many provinces
    /// shares the database server's connections among them).
    pub fn open_pooled(url: &str, pool_size: u32) -> Result<Self, StoreError> {
        let Target { config, tls } = target(url)?;
        let schema = own_schema(&config)?;
        // One connection first: a wrong address, password or certificate is told at once and
        // with its cause, not after the pool has waited out its 15 s.
        drop(config.connect(tls.clone())?);
        // A pooler in front may drop the startup option (pgbouncer's
        // ignore_startup_parameters), and every province would then write the shared tables:
        // each connection sets its province's schema itself (a pooler must keep sessions).
        let pool = Pool::builder()
            .connection_customizer(Box::new(OwnSchema(schema.clone())))
            .max_size(pool_size.max(1))
            // r2d2 opens max_size connections at once unless told otherwise.
            .min_idle(Some(1))
            .connection_timeout(Duration::from_secs(15))
            .build(PostgresConnectionManager::new(config, tls))
            .map_err(pool_error)?;
        let store = PgStore { pool: Some(pool) };
        store.migrate(schema.as_deref())?;
        Ok(store)
    }

    /// Whether the database already holds an intake schema (for `init`, which refuses to mix
    /// new keys with rows sealed under old ones).
    pub fn has_schema(url: &str) -> Result<bool, StoreError> {
        let mut client = connect(url)?;
        let row = client.query_one(
            "SELECT to_regclass('intake_schema') IS NOT NULL OR to_regclass('referrals') IS NOT NULL",
            &[],
        )?;
        Ok(row.try_get(0)?)
    }

    fn conn(&self) -> Result<PooledConnection<Manager>, StoreError> {
        self.pool
            .as_ref()
            .ok_or(StoreError::Config("store closed"))?
            .get()
            .map_err(pool_error)
    }

    fn migrate(&self, own_schema: Option<&str>) -> Result<(), StoreError> {
        let mut conn = self.conn()?;
        let mut tx = conn.transaction()?;
        // Several instances may start at once on an empty database: one creates the schema.
        tx.execute("SELECT pg_advisory_xact_lock($1)", &[&SCHEMA_LOCK])?;
        if let Some(name) = own_schema {
            // A province of a national deployment: its tables in a schema of their own.
            tx.batch_execute(&format!("CREATE SCHEMA IF NOT EXISTS {name}"))?;
        }
        let exists: bool = tx
            .query_one("SELECT to_regclass('intake_schema') IS NOT NULL", &[])?
            .try_get(0)?;
        if !exists {
            tx.batch_execute(SCHEMA)?;
            tx.execute(
                "INSERT INTO intake_schema (version) VALUES ($1)",
                &[&SCHEMA_VERSION],
            )?;
        }
        let version: i64 = tx
            .query_one("SELECT max(version) FROM intake_schema", &[])?
            .try_get::<_, Option<i64>>(0)?
            .unwrap_or(0);
        if version > SCHEMA_VERSION {
            return Err(StoreError::SchemaTooNew(version));
        }
        tx.commit()?;
        Ok(())
    }

    /// Runs `f` in a transaction, again if PostgreSQL chose it as a deadlock victim or could
    /// not serialise it (nothing of the failed try was kept).
    fn in_tx<T>(
        &self,
        mut f: impl FnMut(&mut Transaction<'_>) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let mut conn = self.conn()?;
        let mut tries = 0;
        loop {
            tries += 1;
            let mut tx = conn.transaction()?;
            let result = f(&mut tx).and_then(|v| {
                tx.commit()?;
                Ok(v)
            });
            match result {
                Err(StoreError::Pg(e)) if e.retry && tries < 5 => continue,
                other => return other,
            }
        }
    }
}

/// Sets each pooled connection's `search_path` to the province's schema (when it has one), by
/// statement rather than trusting the startup option alone.
#[derive(Debug)]
struct OwnSchema(Option<String>);

impl r2d2_postgres::r2d2::CustomizeConnection<postgres::Client, postgres::Error> for OwnSchema {
    fn on_acquire(&self, conn: &mut postgres::Client) -> Result<(), postgres::Error> {
        match &self.0 {
            Some(name) => conn.batch_execute(&format!("SET search_path TO {name}")),
            None => Ok(()),
        }
    }
}

/// The schema a URL's `options=-c search_path=NAME` gives its connections alone (a province of
/// a national deployment, see `admin::in_schema`), to be created if missing. Any other options
/// are refused rather than half understood.
fn own_schema(config: &postgres::Config) -> Result<Option<String>, StoreError> {
    let Some(options) = config.get_options() else {
        return Ok(None);
    };
    // Other options (statement_timeout…) are the operator's; search_path is ours.
    let Some(at) = options.find("search_path=") else {
        return Ok(None);
    };
    let name: String = options[at + "search_path=".len()..]
        .chars()
        .take_while(|c| !c.is_whitespace())
        .collect();
    if name.is_empty()
        || name.len() > 63
        || !name.bytes().all(|b| b.is_ascii_lowercase() || b == b'_')
    {
        return Err(StoreError::Config(
            "search_path in the URL's options: one schema name, lower case and _",
        ));
    }
    Ok(Some(name))
}

/// One plain connection to `url`, outside the pool (for `has_schema` and `migrate`).
pub(crate) fn connect(url: &str) -> Result<postgres::Client, StoreError> {
    let Target { config, tls } = target(url)?;
    let schema = own_schema(&config)?;
    let mut client = config.connect(tls)?;
    if let Some(name) = schema {
        client.batch_execute(&format!("SET search_path TO {name}"))?;
    }
    Ok(client)
}

/// A connection URL as this server reads it, and how its connections are secured.
pub(crate) struct Target {
    pub(crate) config: postgres::Config,
    pub(crate) tls: MakeRustlsConnect,
}

/// Reads a PostgreSQL URL. Besides rust-postgres's own parameters it takes libpq's
/// `sslmode=verify-full` with `sslrootcert=FILE` (PEM): TLS, the server's certificate checked
/// against that root and the host name, as libpq's verify-full. A database beyond loopback
/// (or a Unix socket) is refused without it, unless `sslmode=disable` says plain text is meant
/// (a private network): the network would otherwise read the province's metadata and the
/// database password, and could stand in for the database. `require`, `prefer`, `allow` and
/// `verify-ca` are refused: they check less than they seem to (libpq's `require` checks no
/// certificate; `prefer` falls back to plain text for whoever answers in the middle).
pub(crate) fn target(url: &str) -> Result<Target, StoreError> {
    let bad = StoreError::Config("not a PostgreSQL connection URL");
    let (base, query) = url.split_once('?').unwrap_or((url, ""));
    let mut mode = None;
    let mut root = None;
    let mut rest = Vec::new();
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        match k {
            "sslmode" => mode = Some(v.to_owned()),
            "sslrootcert" => {
                root = Some(
                    percent_decoded(v).ok_or(StoreError::Config("sslrootcert: not a file path"))?,
                )
            }
            _ => rest.push(pair),
        }
    }
    let plain_url = if rest.is_empty() {
        base.to_owned()
    } else {
        format!("{base}?{}", rest.join("&"))
    };
    let mut config: postgres::Config = plain_url.parse().map_err(|_| bad)?;
    let provider = std::sync::Arc::new(tokio_rustls::rustls::crypto::ring::default_provider());
    let builder = tokio_rustls::rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|_| StoreError::Config("TLS: no protocol version"))?;
    let tls = match (mode.as_deref(), root) {
        (Some("verify-full"), Some(root)) => {
            use tokio_rustls::rustls::pki_types::CertificateDer;
            use tokio_rustls::rustls::pki_types::pem::PemObject as _;
            let mut roots = tokio_rustls::rustls::RootCertStore::empty();
            let certs = CertificateDer::pem_file_iter(&root)
                .map_err(|_| StoreError::Config("sslrootcert: the file cannot be read as PEM"))?;
            for cert in certs {
                let cert = cert.map_err(|_| {
                    StoreError::Config("sslrootcert: the file cannot be read as PEM")
                })?;
                roots
                    .add(cert)
                    .map_err(|_| StoreError::Config("sslrootcert: not a usable certificate"))?;
            }
            if roots.is_empty() {
                return Err(StoreError::Config(
                    "sslrootcert: no certificate in the file",
                ));
            }
            config.ssl_mode(SslMode::Require);
            builder.with_root_certificates(roots).with_no_client_auth()
        }
        (Some("verify-full"), None) => {
            return Err(StoreError::Config(
                "sslmode=verify-full needs sslrootcert=FILE: the certificate (PEM) of the \
                 authority that signed the database server's",
            ));
        }
        (Some("disable"), None) => {
            config.ssl_mode(SslMode::Disable);
            builder
                .with_root_certificates(tokio_rustls::rustls::RootCertStore::empty())
                .with_no_client_auth()
        }
        (None, None) => {
            // `hostaddr`, when given, is where the connection really goes: it is checked too,
            // and a URL that names no place at all is not taken as local.
            let hosts_local = config.get_hosts().iter().all(|h| match h {
                Host::Unix(_) => true,
                Host::Tcp(name) => {
                    name.eq_ignore_ascii_case("localhost")
                        || name
                            .trim_start_matches('[')
                            .trim_end_matches(']')
                            .parse::<std::net::IpAddr>()
                            .is_ok_and(|ip| ip.is_loopback())
                }
            });
            let addrs_local = config.get_hostaddrs().iter().all(|ip| ip.is_loopback());
            let local = hosts_local
                && addrs_local
                && !(config.get_hosts().is_empty() && config.get_hostaddrs().is_empty());
            if !local {
                return Err(StoreError::Config(
                    "a database beyond this machine needs TLS: add \
                     ?sslmode=verify-full&sslrootcert=FILE to the URL (or sslmode=disable on a \
                     private network you trust)",
                ));
            }
            config.ssl_mode(SslMode::Disable);
            builder
                .with_root_certificates(tokio_rustls::rustls::RootCertStore::empty())
                .with_no_client_auth()
        }
        (_, Some(_)) if mode.as_deref() != Some("verify-full") => {
            return Err(StoreError::Config(
                "sslrootcert is used with sslmode=verify-full only",
            ));
        }
        _ => {
            return Err(StoreError::Config(
                "sslmode: verify-full (with sslrootcert) or disable; require, prefer and \
                 verify-ca do not check who answers",
            ));
        }
    };
    Ok(Target {
        config,
        tls: MakeRustlsConnect::new(tls),
    })
}

/// `%XX` escapes decoded (a file path in a URL); None if they do not make UTF-8.
fn percent_decoded(v: &str) -> Option<String> {
    let bytes = v.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = std::str::from_utf8(bytes.get(i + 1..i + 3)?).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok().filter(|p| !p.is_empty())
}

fn pool_error(e: r2d2_postgres::r2d2::Error) -> StoreError {
    StoreError::Pool(e.to_string())
}

fn device_row(r: &Row) -> Result<Device, postgres::Error> {
    Ok(Device {
        device_id: r.try_get(0)?,
        public_key: r.try_get(1)?,
        enrolled_at: r.try_get(2)?,
        revoked_at: r.try_get(3)?,
        flagged_at: r.try_get(4)?,
        flag_reason: r.try_get(5)?,
        mac: r.try_get::<_, Option<Vec<u8>>>(6)?.unwrap_or_default(),
        label: r.try_get(7)?,
        last_seen_at: r.try_get(8)?,
        revoke_reason: r.try_get(9)?,
    })
}

const DEVICE_COLS: &str = "device_id, public_key, enrolled_at, revoked_at, flagged_at, \
                           flag_reason, mac, label, last_seen_at, revoke_reason";
const ACCOUNT_COLS: &str = "account_id, username, display_name, role, password_hash, \
                            setup_hash, setup_expires, totp, created_at, disabled_at, \
                            failed_logins, locked_until, mac";

fn account_row(r: &Row) -> Result<Account, postgres::Error> {
    Ok(Account {
        account_id: r.try_get(0)?,
        username: r.try_get(1)?,
        display_name: r.try_get(2)?,
        role: r.try_get(3)?,
        password_hash: r.try_get(4)?,
        setup_hash: r.try_get(5)?,
        setup_expires: r.try_get(6)?,
        totp: r.try_get(7)?,
        created_at: r.try_get(8)?,
        disabled_at: r.try_get(9)?,
        failed_logins: r.try_get(10)?,
        locked_until: r.try_get(11)?,
        mac: r.try_get(12)?,
    })
}

const STATUS_COLS: &str = "device_id, seq, referral_id, state, at, body, by_staff";

fn status_row(r: &Row) -> Result<StoredStatus, postgres::Error> {
    Ok(StoredStatus {
        device_id: r.try_get(0)?,
        seq: r.try_get(1)?,
        referral_id: r.try_get(2)?,
        state: r.try_get(3)?,
        at: r.try_get(4)?,
        body: r.try_get(5)?,
        by_staff: r.try_get(6)?,
    })
}

const REFERRAL_COLS: &str = "n, referral_id, device_id, payload_hash, received_at, \
                             receipt_signature, state, updated_at, body, updated_by";
const TOKEN_COLS: &str = "token_id, label, created_at, expires_at, revoked_at, mac, scope";
const CHECKPOINT_COLS: &str =
    "device_id, seq, head, at, signature, received_at, prev_seq, prev_head";

/// A token row; one written without an id, expiry or tag reads as expired and untagged.
fn token_row(r: &Row) -> Result<StaffToken, postgres::Error> {
    Ok(StaffToken {
        token_id: r.try_get::<_, Option<String>>(0)?.unwrap_or_default(),
        label: r.try_get(1)?,
        created_at: r.try_get(2)?,
        expires_at: r.try_get::<_, Option<i64>>(3)?.unwrap_or(0),
        revoked_at: r.try_get(4)?,
        mac: r.try_get::<_, Option<Vec<u8>>>(5)?.unwrap_or_default(),
        scope: r.try_get(6)?,
    })
}

fn checkpoint_row(r: &Row) -> Result<StoredCheckpoint, postgres::Error> {
    let prev_seq: Option<i64> = r.try_get(6)?;
    let prev_head: Option<Vec<u8>> = r.try_get(7)?;
    Ok(StoredCheckpoint {
        device_id: r.try_get(0)?,
        seq: r.try_get(1)?,
        head: r.try_get(2)?,
        at: r.try_get(3)?,
        signature: r.try_get(4)?,
        received_at: r.try_get(5)?,
        prev: prev_seq.zip(prev_head),
    })
}

fn referral_row(r: &Row) -> Result<StoredReferral, postgres::Error> {
    Ok(StoredReferral {
        n: r.try_get(0)?,
        referral_id: r.try_get(1)?,
        device_id: r.try_get(2)?,
        payload_hash: r.try_get(3)?,
        received_at: r.try_get(4)?,
        receipt_signature: r.try_get(5)?,
        state: r.try_get(6)?,
        updated_at: r.try_get(7)?,
        body: r.try_get(8)?,
        updated_by: r.try_get(9)?,
    })
}

fn rows<T>(
    rows: Vec<Row>,
    f: fn(&Row) -> Result<T, postgres::Error>,
) -> Result<Vec<T>, StoreError> {
    rows.iter()
        .map(|r| f(r).map_err(StoreError::from))
        .collect()
}

fn opt<T>(
    row: Option<Row>,
    f: fn(&Row) -> Result<T, postgres::Error>,
) -> Result<Option<T>, StoreError> {
    row.as_ref().map(f).transpose().map_err(StoreError::from)
}

fn limit_of(limit: usize) -> i64 {
    i64::try_from(limit).unwrap_or(i64::MAX)
}

/// Locks the device's row until the transaction ends: its status numbering and checkpoint
/// chain are decided by one transaction at a time, whichever instance runs it. False if there
/// is no such device.
fn lock_device(tx: &mut Transaction<'_>, device_id: &str) -> Result<bool, StoreError> {
    Ok(tx
        .query_typed_opt(
            "SELECT 1 FROM devices WHERE device_id = $1 FOR NO KEY UPDATE",
            &[(&device_id, Type::TEXT)],
        )?
        .is_some())
}

/// The device's next status number (its row is locked).
fn next_seq(tx: &mut Transaction<'_>, device_id: &str) -> Result<i64, StoreError> {
    Ok(tx
        .query_typed_one(
            "SELECT COALESCE(MAX(seq), 0) + 1 FROM status_updates WHERE device_id = $1",
            &[(&device_id, Type::TEXT)],
        )?
        .try_get(0)?)
}

#[allow(clippy::too_many_arguments)]
fn insert_status(
    tx: &mut Transaction<'_>,
    device_id: &str,
    seq: i64,
    referral_id: &str,
    state: &str,
    at: &str,
    body: &[u8],
    by_staff: Option<&str>,
) -> Result<(), StoreError> {
    tx.execute_typed(
        "INSERT INTO status_updates (device_id, seq, referral_id, state, at, body, by_staff)
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
        &[
            (&device_id, Type::TEXT),
            (&seq, Type::INT8),
            (&referral_id, Type::TEXT),
            (&state, Type::TEXT),
            (&at, Type::TEXT),
            (&body, Type::BYTEA),
            (&by_staff, Type::TEXT),
        ],
    )?;
    Ok(())
}

/// The stored receipt of a referral id, or a conflict when it is another device's or
/// another content.
fn existing_referral(
    c: &mut impl GenericClient,
    new: &NewReferral,
) -> Result<Option<InsertOutcome>, StoreError> {
    let Some(r) = c.query_typed_opt(
        "SELECT device_id, payload_hash, received_at, receipt_signature
         FROM referrals WHERE referral_id = $1",
        &[(&new.referral_id, Type::TEXT)],
    )?
    else {
        return Ok(None);
    };
    let device_id: String = r.try_get(0)?;
    let hash: Vec<u8> = r.try_get(1)?;
    Ok(Some(
        if device_id == new.device_id && hash == new.payload_hash {
            InsertOutcome::Existing {
                received_at: r.try_get(2)?,
                receipt_signature: r.try_get(3)?,
            }
        } else {
            InsertOutcome::Conflict
        },
    ))
}

impl IntakeStore for PgStore {
    fn add_code(
        &self,
        code_hash: &[u8; 32],
        label: &str,
        created_at: &str,
        expires_at: i64,
        mac: &[u8],
    ) -> Result<(), StoreError> {
        self.conn()?.execute(
            "INSERT INTO enrollment_codes (code_hash, created_at, expires_at, mac, label) \
             VALUES ($1, $2, $3, $4, $5)",
            &[&&code_hash[..], &created_at, &expires_at, &mac, &label],
        )?;
        Ok(())
    }

    fn redeem_code(
        &self,
        code_hash: &[u8; 32],
        public_key: &[u8],
        new_device_id: &str,
        now_unix: i64,
        now: &str,
        genuine: &dyn Fn(i64, &[u8]) -> bool,
        device_tag: &dyn Fn(&str, &[u8]) -> Vec<u8>,
    ) -> Result<Redeem, StoreError> {
        self.in_tx(|tx| {
            // The code's row stays locked: two instances redeeming it at once take turns.
            let code = tx.query_opt(
                "SELECT expires_at, device_id, mac, label FROM enrollment_codes \
                 WHERE code_hash = $1 FOR UPDATE",
                &[&&code_hash[..]],
            )?;
            let Some(code) = code else {
                return Ok(Redeem::Invalid);
            };
            let expires_at: i64 = code.try_get(0)?;
            let used_by: Option<String> = code.try_get(1)?;
            let mac: Option<Vec<u8>> = code.try_get(2)?;
            let label: String = code.try_get(3)?;
            // A row not minted with the province keys is no code at all.
            if !genuine(expires_at, mac.as_deref().unwrap_or(&[])) {
                return Ok(Redeem::Invalid);
            }
            if let Some(used_by) = used_by {
                let dev = tx.query_opt(
                    &format!("SELECT {DEVICE_COLS} FROM devices WHERE device_id = $1"),
                    &[&used_by],
                )?;
                return Ok(match opt(dev, device_row)? {
                    Some(d) if d.public_key == public_key => Redeem::Again(d),
                    _ => Redeem::UsedByAnotherKey,
                });
            }
            if expires_at < now_unix {
                return Ok(Redeem::Invalid);
            }
            let mac = device_tag(new_device_id, public_key);
            // The key's uniqueness is the database's: the same key enrolling with two codes on
            // two instances at once gets one device.
            let inserted = tx.execute(
                "INSERT INTO devices (device_id, public_key, enrolled_at, mac, label) \
                 VALUES ($1, $2, $3, $4, $5) ON CONFLICT (public_key) DO NOTHING",
                &[&new_device_id, &public_key, &now, &mac, &label],
            )?;
            if inserted == 0 {
                return Ok(Redeem::KeyAlreadyEnrolled);
            }
            tx.execute(
                "UPDATE enrollment_codes SET device_id = $1 WHERE code_hash = $2",
                &[&new_device_id, &&code_hash[..]],
            )?;
            Ok(Redeem::Enrolled(Device {
                device_id: new_device_id.to_string(),
                public_key: public_key.to_vec(),
                enrolled_at: now.to_string(),
                revoked_at: None,
                flagged_at: None,
                flag_reason: None,
                mac,
                label,
                last_seen_at: None,
                revoke_reason: None,
            }))
        })
    }

    fn device(&self, device_id: &str) -> Result<Option<Device>, StoreError> {
        let row = self.conn()?.query_opt(
            &format!("SELECT {DEVICE_COLS} FROM devices WHERE device_id = $1"),
            &[&device_id],
        )?;
        opt(row, device_row)
    }

    fn devices(&self) -> Result<Vec<Device>, StoreError> {
        let r = self.conn()?.query(
            &format!(
                "SELECT {DEVICE_COLS} FROM devices \
                 ORDER BY enrolled_at COLLATE \"C\", device_id COLLATE \"C\""
            ),
            &[],
        )?;
        rows(r, device_row)
    }

    fn revoke_device_because(
        &self,
        device_id: &str,
        at: &str,
        reason: &str,
    ) -> Result<bool, StoreError> {
        let mut conn = self.conn()?;
        conn.execute(
            "UPDATE devices SET revoked_at = $2, mac = NULL, revoke_reason = $3 \
             WHERE device_id = $1 AND revoked_at IS NULL",
            &[&device_id, &at, &reason],
        )?;
        Ok(conn
            .query_opt("SELECT 1 FROM devices WHERE device_id = $1", &[&device_id])?
            .is_some())
    }

    fn touch_device(&self, device_id: &str, at: &str) -> Result<(), StoreError> {
        // Times are to the second: the rest of a burst writes nothing (the rate bucket does).
        self.conn()?.execute(
            "UPDATE devices SET last_seen_at = $2 \
             WHERE device_id = $1 AND last_seen_at IS DISTINCT FROM $2",
            &[&device_id, &at],
        )?;
        Ok(())
    }

    fn set_device_label(&self, device_id: &str, label: &str) -> Result<bool, StoreError> {
        Ok(self.conn()?.execute(
            "UPDATE devices SET label = $2 WHERE device_id = $1",
            &[&device_id, &label],
        )? > 0)
    }

    fn add_account(&self, a: &Account) -> Result<bool, StoreError> {
        let n = self.conn()?.execute(
            &format!(
                "INSERT INTO staff_accounts ({ACCOUNT_COLS}) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) \
                 ON CONFLICT DO NOTHING"
            ),
            &[
                &a.account_id,
                &a.username,
                &a.display_name,
                &a.role,
                &a.password_hash,
                &a.setup_hash,
                &a.setup_expires,
                &a.totp,
                &a.created_at,
                &a.disabled_at,
                &a.failed_logins,
                &a.locked_until,
                &a.mac,
            ],
        )?;
        Ok(n > 0)
    }

    fn account(&self, account_id: &str) -> Result<Option<Account>, StoreError> {
        let row = self.conn()?.query_opt(
            &format!("SELECT {ACCOUNT_COLS} FROM staff_accounts WHERE account_id = $1"),
            &[&account_id],
        )?;
        opt(row, account_row)
    }

    fn account_by_username(&self, username: &str) -> Result<Option<Account>, StoreError> {
        let row = self.conn()?.query_opt(
            &format!("SELECT {ACCOUNT_COLS} FROM staff_accounts WHERE username = $1"),
            &[&username],
        )?;
        opt(row, account_row)
    }

    fn accounts(&self) -> Result<Vec<Account>, StoreError> {
        // Byte order, as SQLite sorts: the database's collation must not change the listing.
        let r = self.conn()?.query(
            &format!("SELECT {ACCOUNT_COLS} FROM staff_accounts ORDER BY username COLLATE \"C\""),
            &[],
        )?;
        rows(r, account_row)
    }

    fn update_account(&self, a: &Account) -> Result<(), StoreError> {
        self.conn()?.execute(
            "UPDATE staff_accounts SET username = $2, display_name = $3, role = $4, \
             password_hash = $5, setup_hash = $6, setup_expires = $7, totp = $8, \
             disabled_at = $9, failed_logins = $10, locked_until = $11, mac = $12 \
             WHERE account_id = $1",
            &[
                &a.account_id,
                &a.username,
                &a.display_name,
                &a.role,
                &a.password_hash,
                &a.setup_hash,
                &a.setup_expires,
                &a.totp,
                &a.disabled_at,
                &a.failed_logins,
                &a.locked_until,
                &a.mac,
            ],
        )?;
        Ok(())
    }

    fn set_login_failures(
        &self,
        account_id: &str,
        failed: i64,
        locked_until: i64,
    ) -> Result<(), StoreError> {
        self.conn()?.execute(
            "UPDATE staff_accounts SET failed_logins = $2, locked_until = $3 \
             WHERE account_id = $1",
            &[&account_id, &failed, &locked_until],
        )?;
        Ok(())
    }

    fn login_failed(
        &self,
        account_id: &str,
        now: i64,
        max: i64,
        lock_secs: i64,
    ) -> Result<i64, StoreError> {
        // One statement: PostgreSQL locks the row and the SET reads it as it was, so failures
        // on several instances at once are each counted.
        let row = self.conn()?.query_opt(
            "UPDATE staff_accounts SET \
             failed_logins = CASE WHEN failed_logins + 1 >= $3 THEN 0 \
                                  ELSE failed_logins + 1 END, \
             locked_until = CASE WHEN failed_logins + 1 >= $3 THEN $2::BIGINT + $4::BIGINT \
                                 ELSE locked_until END \
             WHERE account_id = $1 RETURNING locked_until",
            &[&account_id, &now, &max, &lock_secs],
        )?;
        Ok(match row {
            Some(r) => r.try_get(0)?,
            None => 0,
        })
    }

    fn use_totp_step(&self, account_id: &str, step: i64) -> Result<bool, StoreError> {
        Ok(self.conn()?.execute(
            "UPDATE staff_accounts SET totp_last = $2 WHERE account_id = $1 AND totp_last < $2",
            &[&account_id, &step],
        )? > 0)
    }

    fn add_session(&self, hash: &[u8; 32], s: &StaffSession) -> Result<(), StoreError> {
        self.conn()?.execute(
            "INSERT INTO staff_sessions (session_hash, account_id, created_at, last_seen, mac) \
             VALUES ($1, $2, $3, $4, $5)",
            &[
                &&hash[..],
                &s.account_id,
                &s.created_at,
                &s.last_seen,
                &s.mac,
            ],
        )?;
        Ok(())
    }

    fn session(&self, hash: &[u8; 32]) -> Result<Option<StaffSession>, StoreError> {
        let row = self.conn()?.query_opt(
            "SELECT account_id, created_at, last_seen, mac FROM staff_sessions \
             WHERE session_hash = $1",
            &[&&hash[..]],
        )?;
        opt(row, |r| {
            Ok(StaffSession {
                account_id: r.try_get(0)?,
                created_at: r.try_get(1)?,
                last_seen: r.try_get(2)?,
                mac: r.try_get(3)?,
            })
        })
    }

    fn touch_session(&self, hash: &[u8; 32], now: i64) -> Result<(), StoreError> {
        self.conn()?.execute(
            "UPDATE staff_sessions SET last_seen = $2 WHERE session_hash = $1",
            &[&&hash[..], &now],
        )?;
        Ok(())
    }

    fn delete_session(&self, hash: &[u8; 32]) -> Result<(), StoreError> {
        self.conn()?.execute(
            "DELETE FROM staff_sessions WHERE session_hash = $1",
            &[&&hash[..]],
        )?;
        Ok(())
    }

    fn delete_sessions(&self, account_id: &str) -> Result<usize, StoreError> {
        let n = self.conn()?.execute(
            "DELETE FROM staff_sessions WHERE account_id = $1",
            &[&account_id],
        )?;
        Ok(usize::try_from(n).unwrap_or(usize::MAX))
    }

    fn add_audit(
        &self,
        at: &str,
        actor: &str,
        action: &str,
        target: &str,
        detail: &str,
    ) -> Result<(), StoreError> {
        self.conn()?.execute(
            "INSERT INTO staff_audit (at, actor, action, target, detail) \
             VALUES ($1, $2, $3, $4, $5)",
            &[&at, &actor, &action, &target, &detail],
        )?;
        Ok(())
    }

    fn audit(&self, before: i64, limit: usize) -> Result<Vec<AuditEntry>, StoreError> {
        let r = self.conn()?.query(
            "SELECT n, at, actor, action, target, detail FROM staff_audit \
             WHERE n < $1 ORDER BY n DESC LIMIT $2",
            &[&before, &limit_of(limit)],
        )?;
        rows(r, |r| {
            Ok(AuditEntry {
                n: r.try_get(0)?,
                at: r.try_get(1)?,
                actor: r.try_get(2)?,
                action: r.try_get(3)?,
                target: r.try_get(4)?,
                detail: r.try_get(5)?,
            })
        })
    }

    fn referral_history(&self, referral_id: &str) -> Result<Vec<StoredStatus>, StoreError> {
        let r = self.conn()?.query(
            &format!(
                "SELECT {STATUS_COLS} FROM status_updates WHERE referral_id = $1 ORDER BY seq"
            ),
            &[&referral_id],
        )?;
        rows(r, status_row)
    }

    fn add_staff_token(&self, t: &NewStaffToken) -> Result<(), StoreError> {
        self.conn()?.execute(
            "INSERT INTO staff_tokens \
             (token_hash, token_id, label, created_at, expires_at, mac, scope) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
            &[
                &&t.token_hash[..],
                &t.token_id,
                &t.label,
                &t.created_at,
                &t.expires_at,
                &t.mac,
                &t.scope,
            ],
        )?;
        Ok(())
    }

    fn staff_token(&self, token_hash: &[u8; 32]) -> Result<Option<StaffToken>, StoreError> {
        let row = self.conn()?.query_opt(
            &format!("SELECT {TOKEN_COLS} FROM staff_tokens WHERE token_hash = $1"),
            &[&&token_hash[..]],
        )?;
        opt(row, token_row)
    }

    fn staff_tokens(&self) -> Result<Vec<StaffToken>, StoreError> {
        let r = self.conn()?.query(
            &format!(
                "SELECT {TOKEN_COLS} FROM staff_tokens \
                 ORDER BY created_at COLLATE \"C\", token_id COLLATE \"C\""
            ),
            &[],
        )?;
        rows(r, token_row)
    }

    fn revoke_staff_token(&self, token_id: &str, at: &str) -> Result<bool, StoreError> {
        let mut conn = self.conn()?;
        // The tag goes too, as for a device: clearing `revoked_at` by hand brings nothing back.
        conn.execute(
            "UPDATE staff_tokens SET revoked_at = $2, mac = NULL \
             WHERE token_id = $1 AND revoked_at IS NULL",
            &[&token_id, &at],
        )?;
        Ok(conn
            .query_opt(
                "SELECT 1 FROM staff_tokens WHERE token_id = $1",
                &[&token_id],
            )?
            .is_some())
    }

    fn insert_referral(
        &self,
        new: &NewReferral,
        make_status: &mut MakeStatus<'_>,
    ) -> Result<InsertOutcome, StoreError> {
        // A retry of a stored referral (the common case after a lost receipt) takes no lock.
        if let Some(known) = existing_referral(&mut *self.conn()?, new)? {
            return Ok(known);
        }
        self.in_tx(|tx| {
            if !lock_device(tx, &new.device_id)? {
                // The foreign key would refuse it anyway; say so without a half-done insert.
                return Err(StoreError::Config("referral from an unknown device"));
            }
            // Held until commit: referral numbers commit in the order they are handed out.
            // Statements of this hot path go unprepared with their types named: one round trip
            // each instead of two (prepare, then run) while the counter's lock is held.
            let n: i64 = tx
                .query_typed_one(
                    "UPDATE intake_counters SET value = value + 1 \
                     WHERE name = 'referrals' RETURNING value",
                    &[],
                )?
                .try_get(0)?;
            let inserted = tx.execute_typed(
                "INSERT INTO referrals (n, referral_id, device_id, payload_hash, received_at,
                                        receipt_signature, state, updated_at, body)
                 VALUES ($1, $2, $3, $4, $5, $6, 'received', $5, $7)
                 ON CONFLICT (referral_id) DO NOTHING",
                &[
                    (&n, Type::INT8),
                    (&new.referral_id, Type::TEXT),
                    (&new.device_id, Type::TEXT),
                    (&&new.payload_hash[..], Type::BYTEA),
                    (&new.received_at, Type::TEXT),
                    (&new.receipt_signature, Type::BYTEA),
                    (&new.body, Type::BYTEA),
                ],
            )?;
            if inserted == 0 {
                // Another instance stored this id since the first look (committed: ON CONFLICT
                // waited for it). Its answer stands; this transaction's counter step is undone.
                return existing_referral(tx, new)?
                    .ok_or(StoreError::Config("referral id taken but not readable"));
            }
            let seq = next_seq(tx, &new.device_id)?;
            let body = make_status(&new.device_id, seq)?;
            insert_status(
                tx,
                &new.device_id,
                seq,
                &new.referral_id,
                "received",
                &new.received_at,
                &body,
                None,
            )?;
            // Seen now, under the device's row lock already held, in the same commit.
            tx.execute_typed(
                "UPDATE devices SET last_seen_at = $2 \
                 WHERE device_id = $1 AND last_seen_at IS DISTINCT FROM $2",
                &[(&new.device_id, Type::TEXT), (&new.received_at, Type::TEXT)],
            )?;
            Ok(InsertOutcome::Inserted { status_seq: seq })
        })
    }

    fn referrals(&self, after: i64, limit: usize) -> Result<Vec<StoredReferral>, StoreError> {
        let r = self.conn()?.query(
            &format!("SELECT {REFERRAL_COLS} FROM referrals WHERE n > $1 ORDER BY n LIMIT $2"),
            &[&after, &limit_of(limit)],
        )?;
        rows(r, referral_row)
    }

    fn referral(&self, referral_id: &str) -> Result<Option<StoredReferral>, StoreError> {
        let row = self.conn()?.query_opt(
            &format!("SELECT {REFERRAL_COLS} FROM referrals WHERE referral_id = $1"),
            &[&referral_id],
        )?;
        opt(row, referral_row)
    }

    fn referral_count(&self) -> Result<i64, StoreError> {
        Ok(self
            .conn()?
            .query_one("SELECT COUNT(*) FROM referrals", &[])?
            .try_get(0)?)
    }

    fn transition(
        &self,
        referral_id: &str,
        to: &str,
        at: &str,
        by: &str,
        make_status: &mut MakeStatus<'_>,
    ) -> Result<TransitionOutcome, StoreError> {
        self.in_tx(|tx| {
            // A referral's device never changes; its row lock orders this transition with the
            // device's other status updates, on every instance.
            let Some(row) = tx.query_opt(
                "SELECT device_id FROM referrals WHERE referral_id = $1",
                &[&referral_id],
            )?
            else {
                return Ok(TransitionOutcome::NotFound);
            };
            let device_id: String = row.try_get(0)?;
            lock_device(tx, &device_id)?;
            let from: String = tx
                .query_one(
                    "SELECT state FROM referrals WHERE referral_id = $1",
                    &[&referral_id],
                )?
                .try_get(0)?;
            if !transition_allowed(&from, to) {
                return Ok(TransitionOutcome::NotAllowed { from });
            }
            let seq = next_seq(tx, &device_id)?;
            let body = make_status(&device_id, seq)?;
            insert_status(tx, &device_id, seq, referral_id, to, at, &body, Some(by))?;
            tx.execute(
                "UPDATE referrals SET state = $2, updated_at = $3, updated_by = $4 \
                 WHERE referral_id = $1",
                &[&referral_id, &to, &at, &by],
            )?;
            Ok(TransitionOutcome::Done {
                device_id: device_id.clone(),
                seq,
            })
        })
    }

    fn statuses_after(
        &self,
        device_id: &str,
        cursor: i64,
        limit: usize,
    ) -> Result<Vec<StoredStatus>, StoreError> {
        let r = self.conn()?.query(
            &format!(
                "SELECT {STATUS_COLS} FROM status_updates \
                 WHERE device_id = $1 AND seq > $2 ORDER BY seq LIMIT $3"
            ),
            &[&device_id, &cursor, &limit_of(limit)],
        )?;
        rows(r, status_row)
    }

    fn add_checkpoint(&self, cp: &StoredCheckpoint) -> Result<CheckpointOutcome, StoreError> {
        self.in_tx(|tx| {
            // One instance at a time decides whether a checkpoint extends the device's chain.
            lock_device(tx, &cp.device_id)?;
            let same = tx.query_opt(
                "SELECT head, at, signature FROM checkpoints WHERE device_id = $1 AND seq = $2",
                &[&cp.device_id, &cp.seq],
            )?;
            if let Some(same) = same {
                let head: Vec<u8> = same.try_get(0)?;
                let at: String = same.try_get(1)?;
                let signature: Vec<u8> = same.try_get(2)?;
                if head == cp.head && at == cp.at && signature == cp.signature {
                    return Ok(CheckpointOutcome::Duplicate);
                }
            }
            let latest = tx.query_opt(
                "SELECT seq, head FROM checkpoints WHERE device_id = $1 \
                 ORDER BY seq DESC LIMIT 1",
                &[&cp.device_id],
            )?;
            let latest: Option<(i64, Vec<u8>)> = match latest {
                Some(r) => Some((r.try_get(0)?, r.try_get(1)?)),
                None => None,
            };
            // Only a checkpoint naming the latest kept one extends the chain the province
            // knows; the first one of a device may name none (or one never kept).
            if let Some((latest_seq, latest_head)) = latest
                && cp.prev.as_ref() != Some(&(latest_seq, latest_head))
            {
                let (outcome, what) = if cp.seq <= latest_seq {
                    (
                        CheckpointOutcome::Rollback { latest: latest_seq },
                        "rollback",
                    )
                } else {
                    (CheckpointOutcome::Fork { latest: latest_seq }, "fork")
                };
                tx.execute(
                    "UPDATE devices SET flagged_at = COALESCE(flagged_at, $2), flag_reason = $3 \
                     WHERE device_id = $1",
                    &[
                        &cp.device_id,
                        &cp.received_at,
                        &format!("{what} at seq {} (kept {latest_seq})", cp.seq),
                    ],
                )?;
                return Ok(outcome);
            }
            let (prev_seq, prev_head) = cp.prev.clone().unzip();
            tx.execute(
                "INSERT INTO checkpoints (device_id, seq, head, at, signature, received_at,
                                          prev_seq, prev_head)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                &[
                    &cp.device_id,
                    &cp.seq,
                    &cp.head,
                    &cp.at,
                    &cp.signature,
                    &cp.received_at,
                    &prev_seq,
                    &prev_head,
                ],
            )?;
            Ok(CheckpointOutcome::Stored)
        })
    }

    fn checkpoints(&self, device_id: &str) -> Result<Vec<StoredCheckpoint>, StoreError> {
        let r = self.conn()?.query(
            &format!("SELECT {CHECKPOINT_COLS} FROM checkpoints WHERE device_id = $1 ORDER BY seq"),
            &[&device_id],
        )?;
        rows(r, checkpoint_row)
    }

    fn latest_checkpoint(&self, device_id: &str) -> Result<Option<StoredCheckpoint>, StoreError> {
        let row = self.conn()?.query_opt(
            &format!(
                "SELECT {CHECKPOINT_COLS} FROM checkpoints WHERE device_id = $1 \
                 ORDER BY seq DESC LIMIT 1"
            ),
            &[&device_id],
        )?;
        opt(row, checkpoint_row)
    }

    fn take_token(&self, key: &str, per_minute: u32) -> Result<Option<Duration>, StoreError> {
        self.take(key, per_minute)
    }
}

impl PgStore {
    /// [`IntakeStore::take_token`]: one statement on the bucket's row, which PostgreSQL locks,
    /// timed by the database's clock so that instances whose clocks differ agree.
    fn take(&self, key: &str, per_minute: u32) -> Result<Option<Duration>, StoreError> {
        let rate = f64::from(per_minute.max(1));
        let mut conn = self.conn()?;
        let taken = conn.query_opt(
            "INSERT INTO rate_buckets AS b (key, tokens, at_ms) \
             VALUES ($1, $2::FLOAT8 - 1, (extract(epoch FROM clock_timestamp()) * 1000)::BIGINT) \
             ON CONFLICT (key) DO UPDATE SET \
               tokens = LEAST($2::FLOAT8, b.tokens \
                        + GREATEST(0, EXCLUDED.at_ms - b.at_ms) * $2::FLOAT8 / 60000.0) - 1, \
               at_ms = GREATEST(b.at_ms, EXCLUDED.at_ms) \
             WHERE LEAST($2::FLOAT8, b.tokens \
                   + GREATEST(0, EXCLUDED.at_ms - b.at_ms) * $2::FLOAT8 / 60000.0) >= 1 \
             RETURNING tokens",
            &[&key, &rate],
        )?;
        if taken.is_some() {
            return Ok(None);
        }
        let tokens: f64 = conn
            .query_one(
                "SELECT LEAST($2::FLOAT8, tokens + GREATEST(0, \
                   (extract(epoch FROM clock_timestamp()) * 1000)::BIGINT - at_ms) * $2::FLOAT8 / 60000.0) \
                 FROM rate_buckets WHERE key = $1",
                &[&key, &rate],
            )?
            .try_get(0)?;
        Ok(Some(crate::store::wait_for_token(tokens, per_minute)))
    }
}

/// Whether a PostgreSQL error is one a transaction may simply be run again after.
pub(crate) fn retryable(e: &postgres::Error) -> bool {
    matches!(
        e.code(),
        Some(c) if *c == SqlState::T_R_DEADLOCK_DETECTED || *c == SqlState::T_R_SERIALIZATION_FAILURE
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused(url: &str) -> bool {
        matches!(target(url), Err(StoreError::Config(_)))
    }

    #[test]
    fn a_database_beyond_this_machine_needs_tls_that_checks_who_answers() {
        let far = "postgres://chungtay:secret@db.example.vn:5432/intake";
        assert!(refused(far));
        // Said plainly, plain text is allowed (a private network the operator trusts).
        let plain = target(&format!("{far}?sslmode=disable")).unwrap();
        assert_eq!(plain.config.get_ssl_mode(), SslMode::Disable);
        // What checks less than it seems to is refused.
        for mode in ["require", "prefer", "allow", "verify-ca", "nonsense"] {
            assert!(refused(&format!("{far}?sslmode={mode}")), "{mode}");
        }
        assert!(refused(&format!("{far}?sslmode=verify-full")));
        assert!(refused(&format!(
            "{far}?sslmode=verify-full&sslrootcert=/nonexistent/ca.pem"
        )));
        assert!(refused(&format!(
            "{far}?sslmode=disable&sslrootcert=/nonexistent/ca.pem"
        )));
        // A file that holds no certificate.
        let dir = tempfile::tempdir().unwrap();
        let junk = dir.path().join("junk.pem");
        std::fs::write(&junk, "not a certificate").unwrap();
        assert!(refused(&format!(
            "{far}?sslmode=verify-full&sslrootcert={}",
            junk.display()
        )));
        // A real authority's certificate, with a path written %-escaped: TLS is required.
        let made = crate::tls::generate_self_signed(dir.path(), &["db.example.vn".into()]).unwrap();
        drop(made);
        let pem = dir.path().join(crate::tls::CERT_FILE);
        let escaped = pem.display().to_string().replace('/', "%2F");
        let tls = target(&format!(
            "{far}?sslmode=verify-full&sslrootcert={escaped}&connect_timeout=5"
        ))
        .unwrap();
        assert_eq!(tls.config.get_ssl_mode(), SslMode::Require);
        assert_eq!(
            tls.config.get_connect_timeout(),
            Some(&Duration::from_secs(5))
        );
        // This machine and a Unix socket need nothing more.
        for local in [
            "postgres://u:p@127.0.0.1:5432/x",
            "postgres://u:p@localhost/x",
            "postgres://u:p@[::1]:5432/x",
            "postgres://u@%2Frun%2Fpostgresql/x",
        ] {
            assert_eq!(
                target(local).unwrap().config.get_ssl_mode(),
                SslMode::Disable,
                "{local}"
            );
        }
        // Several hosts: all must be local for plain text.
        assert!(refused("postgres://u:p@127.0.0.1,db.example.vn/x"));
        // Where the connection really goes counts, not the name it shows.
        assert!(refused("postgres://u:p@localhost/x?hostaddr=203.0.113.5"));
        assert!(refused("postgres://u:p@/x?hostaddr=203.0.113.5"));
        assert!(refused(
            "postgres://u:p@%2Frun%2Fpostgresql/x?hostaddr=203.0.113.5"
        ));
        assert!(refused("postgres://u:p@localhost/x?host=db.example.vn"));
        assert!(refused("postgres://u:p@/x"));
        assert_eq!(
            target("postgres://u:p@localhost/x?hostaddr=127.0.0.1")
                .unwrap()
                .config
                .get_ssl_mode(),
            SslMode::Disable
        );
        // Look-alikes of this machine are other machines.
        for far in [
            "postgres://u:p@localhost.example.vn/x",
            "postgres://u:p@127.0.0.1.nip.io/x",
        ] {
            assert!(refused(far), "{far}");
        }
    }
}
