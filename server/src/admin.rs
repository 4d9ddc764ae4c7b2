//! Admin operations behind the CLI subcommands, callable in-process by tests.

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use chrono::{SecondsFormat, Utc};
use ring::digest::SHA256;
use ring::rand::{SecureRandom, SystemRandom};

use crate::error::{AdminError, KeyFileError, StoreError};
use crate::http::{AppState, Limits};
use crate::keyfile::{KdfParams, MIN_PASSPHRASE_CHARS, ProvinceKeys};
use crate::pg::PgStore;
use crate::sqlite::SqliteStore;
use crate::store::{Device, IntakeStore, NewStaffToken, StaffToken};
use chungtay_protocol::ProvincePins;

/// The key file's name in the data folder.
pub const KEY_FILE: &str = "province-keys.json";
/// The database's name in the data folder.
pub const DB_FILE: &str = "intake.db";
/// How long an enrollment code stays valid.
pub const CODE_TTL_SECS: i64 = 7 * 24 * 3600;
/// How long a staff token stays valid unless asked otherwise.
pub const DEFAULT_TOKEN_DAYS: u32 = 30;
/// The longest a staff token may be valid.
pub const MAX_TOKEN_DAYS: u32 = 366;

/// Crockford base32: no I, L, O or U, so codes read aloud or typed on a phone are unambiguous.
const CODE_ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";
const CODE_CHARS: usize = 12;

/// Where a province's database is (`--database`).
#[derive(Clone, PartialEq, Eq)]
pub enum Database {
    /// The embedded default: a SQLite file (`intake.db` in the data folder unless named).
    Sqlite(PathBuf),
    /// A PostgreSQL server, by connection URL: several server instances may share it.
    Postgres(String),
}

impl std::fmt::Debug for Database {
    // The URL may hold the database password.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Database::Sqlite(p) => f.debug_tuple("Sqlite").field(p).finish(),
            Database::Postgres(_) => f.write_str("Postgres(..)"),
        }
    }
}

impl Database {
    /// Reads `sqlite:PATH` or `postgres://…` (also `postgresql://…`).
    pub fn parse(spec: &str) -> Result<Database, AdminError> {
        if let Some(path) = spec.strip_prefix("sqlite:") {
            if path.is_empty() {
                return Err(AdminError::Usage("--database sqlite: needs a file path"));
            }
            return Ok(Database::Sqlite(PathBuf::from(path)));
        }
        if spec.starts_with("postgres://") || spec.starts_with("postgresql://") {
            match crate::pg::target(spec) {
                Ok(_) => {}
                // What TLS needs is said as it is; a URL that does not parse, as before.
                Err(StoreError::Config(why)) if why.contains("ssl") || why.contains("TLS") => {
                    return Err(AdminError::Usage(why));
                }
                Err(_) => {
                    return Err(AdminError::Usage(
                        "--database: not a PostgreSQL connection URL",
                    ));
                }
            }
            return Ok(Database::Postgres(spec.to_string()));
        }
        Err(AdminError::Usage(
            "--database must be sqlite:PATH or postgres://USER@HOST:PORT/DBNAME",
        ))
    }
}

/// The PostgreSQL URL `url` with its connections' `search_path` set to `schema` alone (a
/// province's schema in a national deployment), so every table the store reads or makes is
/// that province's.
pub fn in_schema(url: &str, schema: &str) -> Result<String, AdminError> {
    let config = crate::pg::target(url)
        .map_err(|_| AdminError::Usage("--database: not a PostgreSQL connection URL"))?
        .config;
    if config.get_options().is_some() {
        return Err(AdminError::Usage(
            "--database: a deployment's URL sets no options; each province's schema is set for it",
        ));
    }
    if !url.starts_with("postgres://") && !url.starts_with("postgresql://") {
        return Err(AdminError::Usage(
            "--database: a deployment's PostgreSQL is named by a postgres:// URL",
        ));
    }
    let sep = if url.contains('?') { '&' } else { '?' };
    Ok(format!("{url}{sep}options=-c%20search_path%3D{schema}"))
}

/// Where a province's data lives: the folder with its key file (and TLS files), and its
/// database. A bare folder means the embedded default, SQLite in `intake.db` there.
#[derive(Clone, Debug)]
pub struct Site {
    pub dir: PathBuf,
    pub database: Database,
}

impl Site {
    pub fn new(dir: impl Into<PathBuf>, database: Database) -> Site {
        Site {
            dir: dir.into(),
            database,
        }
    }
}

impl From<&Path> for Site {
    fn from(dir: &Path) -> Site {
        Site::new(dir, Database::Sqlite(db_path(dir)))
    }
}

impl From<&PathBuf> for Site {
    fn from(dir: &PathBuf) -> Site {
        Site::from(dir.as_path())
    }
}

impl From<&Site> for Site {
    fn from(site: &Site) -> Site {
        site.clone()
    }
}

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
    let norm = normalised_code(code)?;
    Some(sha256(&[b"chungtay.enroll-code.v1\0", norm.as_bytes()]))
}

/// The stored form of a console account's one-time setup code (same alphabet as enrollment
/// codes, another hash domain so one can never stand for the other).
pub fn setup_code_hash(code: &str) -> Option<[u8; 32]> {
    let norm = normalised_code(code)?;
    Some(sha256(&[b"chungtay.setup-code.v1\0", norm.as_bytes()]))
}

fn normalised_code(code: &str) -> Option<String> {
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
    Some(norm)
}

/// A fresh one-time code: 12 characters of Crockford's base 32 (60 bits), in groups of 4.
pub(crate) fn fresh_code() -> Result<String, AdminError> {
    let bytes = random::<CODE_CHARS>()?;
    let chars: Vec<char> = bytes
        .iter()
        .map(|b| char::from(CODE_ALPHABET[usize::from(b & 31)]))
        .collect();
    Ok(chars
        .chunks(4)
        .map(|c| c.iter().collect::<String>())
        .collect::<Vec<_>>()
        .join("-"))
}

/// The stored form of a staff token.
pub fn token_hash(token: &str) -> [u8; 32] {
    sha256(&[b"chungtay.staff-token.v1\0", token.as_bytes()])
}

/// The tag an enrollment code row carries: made with the province keys, so a row written into
/// the database by hand is no code.
pub fn code_tag(keys: &ProvinceKeys, code_hash: &[u8; 32], expires_at: i64) -> Vec<u8> {
    keys.credentials()
        .tag("enroll-code", &[code_hash, &expires_at.to_be_bytes()])
}

/// Whether a code row's tag is genuine.
pub fn code_tag_ok(keys: &ProvinceKeys, code_hash: &[u8; 32], expires_at: i64, mac: &[u8]) -> bool {
    keys.credentials()
        .verify("enroll-code", &[code_hash, &expires_at.to_be_bytes()], mac)
}

/// The tag of a device row, made by the server when it enrolls the device.
pub fn device_tag(keys: &ProvinceKeys, device_id: &str, public_key: &[u8]) -> Vec<u8> {
    keys.credentials()
        .tag("device", &[device_id.as_bytes(), public_key])
}

/// Whether a device row was enrolled by this province's server (and not revoked since).
pub fn device_tag_ok(keys: &ProvinceKeys, d: &Device) -> bool {
    keys.credentials()
        .verify("device", &[d.device_id.as_bytes(), &d.public_key], &d.mac)
}

/// The fields a token's tag covers. A token minted before scopes has none in its tag; one with
/// a scope has it last, so a scope removed or changed in the database breaks the tag.
fn token_parts<'a>(
    token_hash: &'a [u8; 32],
    token_id: &'a str,
    label: &'a str,
    expires: &'a [u8; 8],
    scope: Option<&'a str>,
) -> Vec<&'a [u8]> {
    let mut parts: Vec<&[u8]> = vec![token_hash, token_id.as_bytes(), label.as_bytes(), expires];
    if let Some(s) = scope {
        parts.push(s.as_bytes());
    }
    parts
}

/// The scopes of staff API tokens.
pub const TOKEN_SCOPES: [&str; 2] = ["read", "write"];

/// Whether a staff token row was minted with the province keys (its hash, id, label, expiry
/// and scope are those it was minted with).
pub fn token_tag_ok(keys: &ProvinceKeys, token_hash: &[u8; 32], t: &StaffToken) -> bool {
    let expires = t.expires_at.to_be_bytes();
    keys.credentials().verify(
        "staff-token",
        &token_parts(
            token_hash,
            &t.token_id,
            &t.label,
            &expires,
            t.scope.as_deref(),
        ),
        &t.mac,
    )
}

pub(crate) fn random<const N: usize>() -> Result<[u8; N], AdminError> {
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
pub fn init(
    data: impl Into<Site>,
    passphrase: &str,
    params: KdfParams,
) -> Result<InitSummary, AdminError> {
    let site: Site = data.into();
    let data = site.dir.as_path();
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
    match &site.database {
        Database::Sqlite(db) => {
            let mut wal = db.clone().into_os_string();
            wal.push("-wal");
            if db.exists() || Path::new(&wal).exists() {
                return Err(AdminError::DatabaseExists);
            }
        }
        Database::Postgres(url) => {
            if PgStore::has_schema(url)? {
                return Err(AdminError::SchemaExists);
            }
        }
    }
    let keys = ProvinceKeys::generate()?;
    keys.save(&key_path(data), passphrase, params)?;
    match &site.database {
        Database::Sqlite(db) => drop(SqliteStore::open(db)?),
        Database::Postgres(url) => drop(PgStore::open(url)?),
    }
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

/// Opens the SQLite database of an initialised data folder (no passphrase needed: it holds no
/// readable personal data). [`open_site`] opens either backend.
pub fn open_store(data: &Path) -> Result<SqliteStore, AdminError> {
    if !key_path(data).exists() || !db_path(data).exists() {
        return Err(AdminError::Usage(
            "no intake data in this folder: run `chungtay-intake init` first",
        ));
    }
    Ok(SqliteStore::open(&db_path(data))?)
}

/// Opens the database of an initialised site, SQLite or PostgreSQL (no passphrase needed: it
/// holds no readable personal data).
pub fn open_site(data: impl Into<Site>) -> Result<Arc<dyn IntakeStore>, AdminError> {
    open_site_pooled(data, crate::pg::POOL_SIZE)
}

/// [`open_site`], keeping at most `pool_size` connections to PostgreSQL (a deployment of many
/// provinces shares the database server's connections among them).
pub fn open_site_pooled(
    data: impl Into<Site>,
    pool_size: u32,
) -> Result<Arc<dyn IntakeStore>, AdminError> {
    let site: Site = data.into();
    let uninitialised = AdminError::Usage(
        "no intake data there: run `chungtay-intake init` (with the same --database) first",
    );
    if !key_path(&site.dir).exists() {
        return Err(uninitialised);
    }
    Ok(match &site.database {
        Database::Sqlite(db) => {
            if !db.exists() {
                return Err(uninitialised);
            }
            Arc::new(SqliteStore::open(db)?)
        }
        Database::Postgres(url) => {
            if !PgStore::has_schema(url)? {
                return Err(uninitialised);
            }
            Arc::new(PgStore::open_pooled(url, pool_size)?)
        }
    })
}

/// Opens the province keys with the passphrase.
pub fn load_keys(data: impl Into<Site>, passphrase: &str) -> Result<ProvinceKeys, AdminError> {
    Ok(ProvinceKeys::load(&key_path(&data.into().dir), passphrase)?)
}

/// Everything `serve` needs: keys, store and limits.
pub fn load_state(
    data: impl Into<Site>,
    passphrase: &str,
    limits: Limits,
) -> Result<AppState, AdminError> {
    let site: Site = data.into();
    let store = open_site(&site)?;
    let keys = load_keys(&site, passphrase)?;
    Ok(AppState::new(store, keys, limits))
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

/// `issue-code`: a random one-time code (60 bits), stored hashed, valid for 7 days, tagged
/// with the province keys (hence the passphrase: write access to the folder mints nothing).
pub fn issue_code(data: impl Into<Site>, passphrase: &str) -> Result<IssuedCode, AdminError> {
    issue_code_for(data, passphrase, "")
}

/// `issue-code --label`: as [`issue_code`], for the club or leader named by `label`.
pub fn issue_code_for(
    data: impl Into<Site>,
    passphrase: &str,
    label: &str,
) -> Result<IssuedCode, AdminError> {
    let site: Site = data.into();
    let keys = load_keys(&site, passphrase)?;
    let store = open_site(&site)?;
    mint_code(&keys, &*store, label)
}

/// Makes and keeps a one-time enrollment code for the club or leader named by `label` (the
/// device enrolled with it carries the label). Used by `issue-code` and by the console.
pub fn mint_code(
    keys: &ProvinceKeys,
    store: &dyn IntakeStore,
    label: &str,
) -> Result<IssuedCode, AdminError> {
    let label = checked_label(label)?;
    let code = fresh_code()?;
    let hash = code_hash(&code).ok_or(AdminError::Usage("generated code does not parse"))?;
    let now = Utc::now();
    let expires = now + chrono::Duration::seconds(CODE_TTL_SECS);
    store.add_code(
        &hash,
        &label,
        &now.to_rfc3339_opts(SecondsFormat::Secs, true),
        expires.timestamp(),
        &code_tag(keys, &hash, expires.timestamp()),
    )?;
    Ok(IssuedCode {
        code,
        expires_at: expires.to_rfc3339_opts(SecondsFormat::Secs, true),
        fingerprint: province_fingerprint(keys),
    })
}

/// The fingerprint of the province's public keys, as the phone shows it after enrolling.
pub fn province_fingerprint(keys: &ProvinceKeys) -> String {
    ProvincePins {
        hpke_public_key: keys.hpke.public_key_bytes(),
        signing_key: keys.signing.public_key(),
    }
    .fingerprint()
}

/// A label (club, leader, device): trimmed, NFC as typed, at most 80 characters, no control
/// characters. Empty is allowed.
pub fn checked_label(label: &str) -> Result<String, AdminError> {
    let label = label.trim();
    if label.chars().count() > 80 || label.chars().any(char::is_control) {
        return Err(AdminError::Usage(
            "a label has at most 80 characters and no control characters",
        ));
    }
    Ok(label.to_string())
}

/// A console account just made, with its one-time setup code.
pub struct IssuedSetup {
    pub account_id: String,
    pub setup_code: zeroize::Zeroizing<String>,
}

/// `add-account`: a console account without a password, and its setup code.
pub fn add_account(
    data: impl Into<Site>,
    passphrase: &str,
    username: &str,
    display_name: &str,
    role: &str,
) -> Result<IssuedSetup, AdminError> {
    add_account_among(
        data,
        passphrase,
        username,
        display_name,
        role,
        &crate::accounts::ROLES,
    )
}

/// [`add_account`] with one of `roles` (the national office's are
/// [`crate::accounts::NATIONAL_ROLES`]).
pub fn add_account_among(
    data: impl Into<Site>,
    passphrase: &str,
    username: &str,
    display_name: &str,
    role: &str,
    roles: &[&str],
) -> Result<IssuedSetup, AdminError> {
    let site: Site = data.into();
    let keys = load_keys(&site, passphrase)?;
    let store = open_site(&site)?;
    let made = crate::accounts::create_among(&keys, &*store, username, display_name, role, roles)
        .map_err(account_usage)?;
    Ok(IssuedSetup {
        account_id: made.account.account_id,
        setup_code: made.setup_code,
    })
}

/// Sets an account's password with its setup code, as its owner does at /console/setup (for
/// scripts, tests and the demo).
pub fn set_password_with_code(
    data: impl Into<Site>,
    passphrase: &str,
    username: &str,
    code: &str,
    password: &str,
) -> Result<(), AdminError> {
    let site: Site = data.into();
    let keys = load_keys(&site, passphrase)?;
    let store = open_site(&site)?;
    crate::accounts::set_password_with_code(&keys, &*store, username, code, password, password)
        .map(|_| ())
        .map_err(account_usage)
}

fn account_usage(e: crate::accounts::AccountError) -> AdminError {
    use crate::accounts::AccountError as E;
    match e {
        E::Store(s) => AdminError::Store(s),
        E::Admin(a) => a,
        E::BadUsername => AdminError::Usage(
            "the username must be 3 to 32 characters: a-z, 0-9, dot, dash, underscore",
        ),
        E::BadDisplayName => AdminError::Usage("the name must be 1 to 64 characters"),
        E::BadRole => AdminError::Usage("the role must be officer, admin or viewer"),
        E::UsernameTaken => AdminError::Usage("this username is taken"),
        E::WeakPassword => AdminError::Usage("the password must be 10 to 128 characters"),
        E::BadSetupCode => AdminError::Usage("wrong or expired setup code"),
        _ => AdminError::Usage("the account operation failed"),
    }
}

/// `devices`.
pub fn devices(data: impl Into<Site>) -> Result<Vec<Device>, AdminError> {
    Ok(open_site(data)?.devices()?)
}

/// `revoke`: false if there is no such device.
pub fn revoke(data: impl Into<Site>, device_id: &str) -> Result<bool, AdminError> {
    Ok(open_site(data)?.revoke_device(device_id, &now_text())?)
}

/// A freshly minted staff token.
#[derive(Clone)]
pub struct IssuedToken {
    /// Shown once; only its hash is stored.
    pub token: String,
    /// Its public id: what `staff-tokens` lists, `revoke-token` takes, and every transition
    /// it makes is recorded with.
    pub token_id: String,
    pub expires_at: String,
}

impl std::fmt::Debug for IssuedToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IssuedToken")
            .field("token_id", &self.token_id)
            .field("expires_at", &self.expires_at)
            .finish_non_exhaustive()
    }
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// `staff-token`: a random 256-bit token valid for `days` days, shown once, stored hashed and
/// tagged with the province keys (hence the passphrase).
pub fn staff_token(
    data: impl Into<Site>,
    passphrase: &str,
    label: &str,
    days: u32,
) -> Result<IssuedToken, AdminError> {
    staff_token_scoped(data, passphrase, label, days, "write")
}

/// `staff-token --scope`: `read` lists referrals, `write` also moves them.
pub fn staff_token_scoped(
    data: impl Into<Site>,
    passphrase: &str,
    label: &str,
    days: u32,
    scope: &str,
) -> Result<IssuedToken, AdminError> {
    let site: Site = data.into();
    let keys = load_keys(&site, passphrase)?;
    let store = open_site(&site)?;
    mint_token(&keys, &*store, label, days, scope)
}

/// Makes and keeps a staff API token: used by `staff-token` and by the console.
pub fn mint_token(
    keys: &ProvinceKeys,
    store: &dyn IntakeStore,
    label: &str,
    days: u32,
    scope: &str,
) -> Result<IssuedToken, AdminError> {
    if !TOKEN_SCOPES.contains(&scope) {
        return Err(AdminError::Usage("the token scope must be read or write"));
    }
    if days == 0 || days > MAX_TOKEN_DAYS {
        return Err(AdminError::Usage(
            "a staff token is valid for 1 to 366 days",
        ));
    }
    let label = label.trim();
    if label.is_empty() || label.chars().count() > 64 || label.chars().any(char::is_control) {
        return Err(AdminError::Usage(
            "the token label must have 1 to 64 characters and no control characters",
        ));
    }
    let token_id = format!("st-{}", hex(&random::<6>()?));
    let token = format!("ctst_{}", hex(&random::<32>()?));
    let hash = token_hash(&token);
    let now = Utc::now();
    let expires = now + chrono::Duration::days(i64::from(days));
    let expires_at = expires.timestamp();
    let mac = keys.credentials().tag(
        "staff-token",
        &token_parts(
            &hash,
            &token_id,
            label,
            &expires_at.to_be_bytes(),
            Some(scope),
        ),
    );
    store.add_staff_token(&NewStaffToken {
        token_hash: hash,
        token_id: token_id.clone(),
        label: label.to_string(),
        created_at: now.to_rfc3339_opts(SecondsFormat::Secs, true),
        expires_at,
        mac,
        scope: scope.to_string(),
    })?;
    Ok(IssuedToken {
        token,
        token_id,
        expires_at: expires.to_rfc3339_opts(SecondsFormat::Secs, true),
    })
}

/// `staff-tokens`: every token minted, with its id, label, expiry and revocation.
pub fn staff_tokens(data: impl Into<Site>) -> Result<Vec<StaffToken>, AdminError> {
    Ok(open_site(data)?.staff_tokens()?)
}

/// `revoke-token`: false if there is no such token id. Needs no passphrase: it only takes
/// access away.
pub fn revoke_token(data: impl Into<Site>, token_id: &str) -> Result<bool, AdminError> {
    Ok(open_site(data)?.revoke_staff_token(token_id, &now_text())?)
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
