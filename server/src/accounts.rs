//! Console accounts: creation with a one-time setup code, Argon2id passwords, lockout after
//! failed logins, sessions with idle and absolute expiry, CSRF tokens bound to the session.
//!
//! Every account row carries a tag made with the province keys over the fields that grant
//! access, so a row written or edited in the database (a role raised, a password hash swapped,
//! a disabled account re-enabled) opens nothing.

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use chrono::{SecondsFormat, Utc};
use thiserror::Error;
use zeroize::Zeroizing;

use crate::admin::{fresh_code, hex, random, setup_code_hash};
use crate::error::{AdminError, StoreError};
use crate::keyfile::ProvinceKeys;
use crate::store::{Account, IntakeStore, StaffSession};

/// The roles of a province's console.
pub const ROLES: [&str; 3] = ["officer", "admin", "viewer"];
/// The roles of the national office's console: its admins, and national viewers, who see
/// only every province's suppressed totals.
pub const NATIONAL_ROLES: [&str; 2] = ["admin", "national"];
/// A setup code is valid this long.
pub const SETUP_TTL_SECS: i64 = 7 * 24 * 3600;
/// Failed logins in a row before the account is locked...
pub const MAX_FAILED_LOGINS: i64 = 5;
/// ...for this long.
pub const LOCKOUT_SECS: i64 = 15 * 60;
/// A session ends after this long without a request...
pub const SESSION_IDLE_SECS: i64 = 30 * 60;
/// ...and this long after login whatever happens.
pub const SESSION_MAX_SECS: i64 = 12 * 3600;
pub const MIN_PASSWORD_CHARS: usize = 10;
pub const MAX_PASSWORD_CHARS: usize = 128;

/// Why an account operation was refused. The texts name no secret and no personal value.
#[derive(Debug, Error)]
pub enum AccountError {
    #[error("wrong username or password")]
    BadLogin,
    #[error("too many failed logins: the account is locked for a while")]
    Locked { until: i64 },
    #[error("the username must be 3 to 32 characters: a-z, 0-9, dot, dash, underscore")]
    BadUsername,
    #[error("the name must be 1 to 64 characters, without control characters")]
    BadDisplayName,
    #[error("unknown role")]
    BadRole,
    #[error("this username is taken")]
    UsernameTaken,
    #[error("the password must be 10 to 128 characters")]
    WeakPassword,
    #[error("the two passwords differ")]
    PasswordsDiffer,
    #[error("wrong or expired setup code")]
    BadSetupCode,
    #[error("no such account")]
    NotFound,
    #[error("wrong authenticator code")]
    BadTotp,
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Admin(#[from] AdminError),
    #[error("password hashing failed")]
    Hash,
    #[error(transparent)]
    Seal(#[from] crate::error::KeyFileError),
}

fn now_text() -> String {
    Utc::now().to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// The fields under an account's tag: every one that grants access, and the name staff see
/// in histories. `tag` and `verify` both take them from here, so they cannot drift apart.
fn account_parts<'a>(a: &'a Account, expires: &'a [u8; 8]) -> [&'a [u8]; 9] {
    [
        a.account_id.as_bytes(),
        a.username.as_bytes(),
        a.display_name.as_bytes(),
        a.role.as_bytes(),
        a.password_hash.as_deref().unwrap_or("").as_bytes(),
        a.setup_hash.as_deref().unwrap_or(&[]),
        expires,
        a.totp.as_deref().unwrap_or(&[]),
        a.disabled_at.as_deref().unwrap_or("").as_bytes(),
    ]
}

/// The tag over [`account_parts`].
pub fn account_tag(keys: &ProvinceKeys, a: &Account) -> Vec<u8> {
    let expires = a.setup_expires.to_be_bytes();
    keys.credentials()
        .tag("console-account", &account_parts(a, &expires))
}

/// Whether the row was written by the server with the province keys.
pub fn account_ok(keys: &ProvinceKeys, a: &Account) -> bool {
    let expires = a.setup_expires.to_be_bytes();
    keys.credentials()
        .verify("console-account", &account_parts(a, &expires), &a.mac)
}

/// Lower-case ASCII so that "Lan" and "lan" are one account and no look-alike letters sneak in.
pub fn valid_username(u: &str) -> bool {
    (3..=32).contains(&u.len())
        && u.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"._-".contains(&b))
}

fn hasher() -> Result<Argon2<'static>, AccountError> {
    // OWASP's minimum for Argon2id: 19 MiB, 2 passes, 1 lane.
    let params = Params::new(19 * 1024, 2, 1, None).map_err(|_| AccountError::Hash)?;
    Ok(Argon2::new(Algorithm::Argon2id, Version::V0x13, params))
}

fn hash_password(password: &str) -> Result<String, AccountError> {
    let salt = random::<16>()?;
    let salt = SaltString::encode_b64(&salt).map_err(|_| AccountError::Hash)?;
    Ok(hasher()?
        .hash_password(password.as_bytes(), &salt)
        .map_err(|_| AccountError::Hash)?
        .to_string())
}

fn password_matches(stored: &str, password: &str) -> bool {
    let Ok(parsed) = PasswordHash::new(stored) else {
        return false;
    };
    // The parameters come from the stored string; the tag over it keeps them the server's.
    Argon2::default()
        .verify_password(password.as_bytes(), &parsed)
        .is_ok()
}

/// A hash to verify against when there is no such account, so that the answer takes as long
/// for a wrong username as for a wrong password.
fn dummy_hash() -> &'static str {
    static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DUMMY.get_or_init(|| hash_password("not a password of anyone").unwrap_or_default())
}

fn check_password_rules(password: &str, again: &str) -> Result<(), AccountError> {
    let n = password.chars().count();
    if !(MIN_PASSWORD_CHARS..=MAX_PASSWORD_CHARS).contains(&n) {
        return Err(AccountError::WeakPassword);
    }
    if password != again {
        return Err(AccountError::PasswordsDiffer);
    }
    Ok(())
}

/// A new account, with the setup code to hand to its owner (shown once).
pub struct NewAccount {
    pub account: Account,
    pub setup_code: Zeroizing<String>,
}

/// [`create`] for one of `roles` (the national office's console has its own).
pub fn create_among(
    keys: &ProvinceKeys,
    store: &dyn IntakeStore,
    username: &str,
    display_name: &str,
    role: &str,
    roles: &[&str],
) -> Result<NewAccount, AccountError> {
    if !roles.contains(&role) {
        return Err(AccountError::BadRole);
    }
    create_checked(keys, store, username, display_name, role)
}

/// Creates an account that has no password yet; its owner sets one with the setup code.
pub fn create(
    keys: &ProvinceKeys,
    store: &dyn IntakeStore,
    username: &str,
    display_name: &str,
    role: &str,
) -> Result<NewAccount, AccountError> {
    if !ROLES.contains(&role) {
        return Err(AccountError::BadRole);
    }
    create_checked(keys, store, username, display_name, role)
}

fn create_checked(
    keys: &ProvinceKeys,
    store: &dyn IntakeStore,
    username: &str,
    display_name: &str,
    role: &str,
) -> Result<NewAccount, AccountError> {
    let username = username.trim();
    if !valid_username(username) {
        return Err(AccountError::BadUsername);
    }
    let display_name = display_name.trim();
    let n = display_name.chars().count();
    if n == 0 || n > 64 || display_name.chars().any(char::is_control) {
        return Err(AccountError::BadDisplayName);
    }
    let code = Zeroizing::new(fresh_code()?);
    let id = random::<6>()?;
    let mut account = Account {
        account_id: format!("acct-{}", hex(&id)),
        username: username.to_string(),
        display_name: display_name.to_string(),
        role: role.to_string(),
        password_hash: None,
        setup_hash: setup_code_hash(&code).map(|h| h.to_vec()),
        setup_expires: Utc::now().timestamp() + SETUP_TTL_SECS,
        totp: None,
        created_at: now_text(),
        disabled_at: None,
        failed_logins: 0,
        locked_until: 0,
        mac: Vec::new(),
    };
    account.mac = account_tag(keys, &account);
    if !store.add_account(&account)? {
        return Err(AccountError::UsernameTaken);
    }
    Ok(NewAccount {
        account,
        setup_code: code,
    })
}

/// A new setup code for an existing account (forgotten password): the old password stops
/// working and every session ends.
pub fn reset(
    keys: &ProvinceKeys,
    store: &dyn IntakeStore,
    account_id: &str,
) -> Result<Zeroizing<String>, AccountError> {
    let mut a = genuine(keys, store.account(account_id)?).ok_or(AccountError::NotFound)?;
    let code = Zeroizing::new(fresh_code()?);
    a.password_hash = None;
    // A lost phone is a common reason to ask: the second factor goes with the password.
    a.totp = None;
    a.setup_hash = setup_code_hash(&code).map(|h| h.to_vec());
    a.setup_expires = Utc::now().timestamp() + SETUP_TTL_SECS;
    a.failed_logins = 0;
    a.locked_until = 0;
    a.mac = account_tag(keys, &a);
    store.update_account(&a)?;
    store.delete_sessions(&a.account_id)?;
    Ok(code)
}

/// Disables an account (or enables it again) and ends its sessions.
pub fn set_disabled(
    keys: &ProvinceKeys,
    store: &dyn IntakeStore,
    account_id: &str,
    disabled: bool,
) -> Result<(), AccountError> {
    let mut a = genuine(keys, store.account(account_id)?).ok_or(AccountError::NotFound)?;
    a.disabled_at = disabled.then(now_text);
    a.mac = account_tag(keys, &a);
    store.update_account(&a)?;
    store.delete_sessions(&a.account_id)?;
    Ok(())
}

fn genuine(keys: &ProvinceKeys, a: Option<Account>) -> Option<Account> {
    a.filter(|a| account_ok(keys, a))
}

/// The owner sets her password with the setup code. The code works once.
pub fn set_password_with_code(
    keys: &ProvinceKeys,
    store: &dyn IntakeStore,
    username: &str,
    code: &str,
    password: &str,
    again: &str,
) -> Result<Account, AccountError> {
    check_password_rules(password, again)?;
    let account = genuine(keys, store.account_by_username(username.trim())?);
    let given = setup_code_hash(code);
    let now = Utc::now().timestamp();
    let Some(mut a) = account.filter(|a| {
        a.disabled_at.is_none()
            && a.setup_expires >= now
            // Hashes compared: timing tells nothing about the code itself.
            && match (&a.setup_hash, &given) {
                (Some(kept), Some(given)) => kept[..] == given[..],
                _ => false,
            }
    }) else {
        return Err(AccountError::BadSetupCode);
    };
    a.password_hash = Some(hash_password(password)?);
    a.setup_hash = None;
    a.setup_expires = 0;
    a.failed_logins = 0;
    a.locked_until = 0;
    a.mac = account_tag(keys, &a);
    store.update_account(&a)?;
    store.delete_sessions(&a.account_id)?;
    Ok(a)
}

/// Changes the password of a logged-in account, which must give its current one.
pub fn change_password(
    keys: &ProvinceKeys,
    store: &dyn IntakeStore,
    account_id: &str,
    current: &str,
    password: &str,
    again: &str,
) -> Result<Account, AccountError> {
    let mut a = genuine(keys, store.account(account_id)?).ok_or(AccountError::NotFound)?;
    // A stolen session is no way around the lockout: wrong guesses here count as at login.
    check_secret(keys, store, &a, current, None)?;
    check_password_rules(password, again)?;
    a.password_hash = Some(hash_password(password)?);
    a.mac = account_tag(keys, &a);
    store.update_account(&a)?;
    Ok(a)
}

/// Checks a login. A wrong username costs as much as a wrong password and gets the same
/// answer; `MAX_FAILED_LOGINS` wrong passwords in a row lock the account for `LOCKOUT_SECS`
/// (even the right password is refused then).
///
/// An account with a second factor also needs the authenticator's current code, once: a wrong
/// or reused code counts as a failed login and gets the same answer as a wrong password.
pub fn login(
    keys: &ProvinceKeys,
    store: &dyn IntakeStore,
    username: &str,
    password: &str,
    totp_code: &str,
) -> Result<Account, AccountError> {
    let account = genuine(keys, store.account_by_username(username.trim())?)
        .filter(|a| a.disabled_at.is_none());
    let Some(a) = account else {
        let _ = password_matches(dummy_hash(), password);
        return Err(AccountError::BadLogin);
    };
    check_secret(keys, store, &a, password, Some(totp_code))?;
    Ok(a)
}

/// Checks the account's password (and second factor when `totp_code` is given and the account
/// has one), counting a failure atomically: the failure that reaches `MAX_FAILED_LOGINS` locks
/// the account, however many guesses run at once, and a lock set by a parallel guess while this
/// one was hashing refuses it too. A locked account costs the same hash and gets `Locked`.
fn check_secret(
    keys: &ProvinceKeys,
    store: &dyn IntakeStore,
    a: &Account,
    password: &str,
    totp_code: Option<&str>,
) -> Result<(), AccountError> {
    let now = Utc::now().timestamp();
    if a.locked_until > now {
        let _ = password_matches(dummy_hash(), password);
        return Err(AccountError::Locked {
            until: a.locked_until,
        });
    }
    let mut ok = match a.password_hash.as_deref() {
        Some(h) => password_matches(h, password),
        None => {
            let _ = password_matches(dummy_hash(), password);
            false
        }
    };
    if let (true, Some(code), Some(_)) = (ok, totp_code, &a.totp) {
        ok = match totp_of(keys, a)?.check(code.trim(), now.max(0).cast_unsigned()) {
            Some(step) => {
                store.use_totp_step(&a.account_id, i64::try_from(step).unwrap_or(i64::MAX))?
            }
            None => false,
        };
    }
    if !ok {
        let until = store.login_failed(&a.account_id, now, MAX_FAILED_LOGINS, LOCKOUT_SECS)?;
        return if until > now {
            Err(AccountError::Locked { until })
        } else {
            Err(AccountError::BadLogin)
        };
    }
    let until = store
        .account(&a.account_id)?
        .map_or(0, |fresh| fresh.locked_until);
    if until > now {
        return Err(AccountError::Locked { until });
    }
    if a.failed_logins != 0 {
        store.set_login_failures(&a.account_id, 0, 0)?;
    }
    Ok(())
}

fn totp(secret: &[u8], username: &str) -> Result<totp_rs::Totp, AccountError> {
    // RFC 6238 as every authenticator app reads it: SHA-1, 6 digits, 30 s, one step of skew.
    totp_rs::Builder::new()
        .with_secret(totp_rs::Secret::from(secret))
        .with_issuer(Some("Chung Tay"))
        .with_account_name(username)
        .build()
        .map_err(|_| AccountError::BadTotp)
}

/// The account's authenticator, opened from its sealed secret.
fn totp_of(keys: &ProvinceKeys, a: &Account) -> Result<totp_rs::Totp, AccountError> {
    let sealed = a.totp.as_deref().ok_or(AccountError::BadTotp)?;
    let secret = keys
        .at_rest()
        .open("console-totp", &[a.account_id.as_bytes()], sealed)
        .map_err(|_| AccountError::BadTotp)?;
    totp(&secret[..], &a.username)
}

/// A new authenticator secret for the account to scan: (base 32 secret, otpauth:// address).
/// Nothing is stored until [`totp_enable`] gets a code made with it.
pub fn totp_begin(a: &Account) -> Result<(Zeroizing<String>, Zeroizing<String>), AccountError> {
    let secret = random::<20>()?;
    let t = totp(&secret, &a.username)?;
    let url = t.to_url().map_err(|_| AccountError::BadTotp)?;
    Ok((Zeroizing::new(t.secret().to_base32()), Zeroizing::new(url)))
}

/// Turns the second factor on, once the person proves her app has the secret.
pub fn totp_enable(
    keys: &ProvinceKeys,
    store: &dyn IntakeStore,
    account_id: &str,
    secret_base32: &str,
    code: &str,
) -> Result<(), AccountError> {
    let mut a = genuine(keys, store.account(account_id)?).ok_or(AccountError::NotFound)?;
    // Replacing a second factor goes through turning it off, which needs the password.
    if a.totp.is_some() {
        return Err(AccountError::BadTotp);
    }
    let secret = totp_rs::Secret::try_from_base32(secret_base32.trim())
        .map_err(|_| AccountError::BadTotp)?;
    let t = totp(secret.as_ref(), &a.username)?;
    let step = t
        .check(code.trim(), Utc::now().timestamp().max(0).cast_unsigned())
        .ok_or(AccountError::BadTotp)?;
    a.totp = Some(keys.at_rest().seal(
        "console-totp",
        &[a.account_id.as_bytes()],
        secret.as_ref(),
    )?);
    a.mac = account_tag(keys, &a);
    store.update_account(&a)?;
    store.use_totp_step(&a.account_id, i64::try_from(step).unwrap_or(i64::MAX))?;
    Ok(())
}

/// Turns the second factor off; needs the current password.
pub fn totp_disable(
    keys: &ProvinceKeys,
    store: &dyn IntakeStore,
    account_id: &str,
    password: &str,
) -> Result<(), AccountError> {
    let mut a = genuine(keys, store.account(account_id)?).ok_or(AccountError::NotFound)?;
    check_secret(keys, store, &a, password, None)?;
    a.totp = None;
    a.mac = account_tag(keys, &a);
    store.update_account(&a)?;
    Ok(())
}

/// The key a session is kept under: an HMAC of the cookie value with the province's credential
/// key (the value is never stored, and nobody without the keys can make a row a cookie opens).
pub fn session_hash(keys: &ProvinceKeys, token: &str) -> [u8; 32] {
    let mut out = [0u8; 32];
    let tag = keys
        .credentials()
        .tag("console-session-id", &[token.as_bytes()]);
    out.copy_from_slice(&tag[..32]);
    out
}

fn session_parts<'a>(
    hash: &'a [u8; 32],
    account_id: &'a str,
    created: &'a [u8; 8],
) -> [&'a [u8]; 3] {
    [hash, account_id.as_bytes(), created]
}

/// Starts a session: the cookie value (256 random bits, hex), shown to the browser only.
pub fn start_session(
    keys: &ProvinceKeys,
    store: &dyn IntakeStore,
    account_id: &str,
) -> Result<Zeroizing<String>, AccountError> {
    let token = Zeroizing::new(hex(&random::<32>()?));
    let now = Utc::now().timestamp();
    let hash = session_hash(keys, &token);
    let created = now.to_be_bytes();
    let mac = keys.credentials().tag(
        "console-session",
        &session_parts(&hash, account_id, &created),
    );
    store.add_session(
        &hash,
        &StaffSession {
            account_id: account_id.to_string(),
            created_at: now,
            last_seen: now,
            mac,
        },
    )?;
    Ok(token)
}

/// The live session for a cookie value and its (genuine, enabled) account; an expired one is
/// deleted. Touches the session.
pub fn check_session(
    keys: &ProvinceKeys,
    store: &dyn IntakeStore,
    token: &str,
    now: i64,
) -> Result<Option<Account>, AccountError> {
    let hash = session_hash(keys, token);
    let Some(s) = store.session(&hash)? else {
        return Ok(None);
    };
    let created = s.created_at.to_be_bytes();
    if !keys.credentials().verify(
        "console-session",
        &session_parts(&hash, &s.account_id, &created),
        &s.mac,
    ) {
        store.delete_session(&hash)?;
        return Ok(None);
    }
    if now - s.last_seen > SESSION_IDLE_SECS || now - s.created_at > SESSION_MAX_SECS {
        store.delete_session(&hash)?;
        return Ok(None);
    }
    let account = genuine(keys, store.account(&s.account_id)?).filter(|a| a.disabled_at.is_none());
    if account.is_none() {
        store.delete_session(&hash)?;
        return Ok(None);
    }
    store.touch_session(&hash, now)?;
    Ok(account)
}

/// The CSRF token of a session: an HMAC of the session's hash under the province's credential
/// key, so it needs no storage and is worthless without the session cookie.
pub fn csrf_token(keys: &ProvinceKeys, session_token: &str) -> String {
    hex(&keys
        .credentials()
        .tag("console-csrf", &[&session_hash(keys, session_token)]))
}

/// Whether `given` is the session's CSRF token (constant time, by ring's HMAC verify).
pub fn csrf_ok(keys: &ProvinceKeys, session_token: &str, given: &str) -> bool {
    let Some(tag) = unhex(given) else {
        return false;
    };
    keys.credentials()
        .verify("console-csrf", &[&session_hash(keys, session_token)], &tag)
}

fn unhex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) || !s.is_ascii() {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use super::*;
    use crate::sqlite::SqliteStore;
    use ring::digest::{SHA256, digest};

    fn env() -> (tempfile::TempDir, ProvinceKeys, SqliteStore) {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(&dir.path().join("intake.db")).unwrap();
        (dir, ProvinceKeys::generate().unwrap(), store)
    }

    fn ready(keys: &ProvinceKeys, store: &SqliteStore, user: &str, role: &str) -> Account {
        let made = create(keys, store, user, "Chị Lan", role).unwrap();
        set_password_with_code(
            keys,
            store,
            user,
            &made.setup_code,
            "mật khẩu dài đủ",
            "mật khẩu dài đủ",
        )
        .unwrap()
    }

    #[test]
    fn setup_code_sets_the_password_once() {
        let (_d, keys, store) = env();
        let made = create(&keys, &store, "lan", "Chị Lan", "officer").unwrap();
        assert!(matches!(
            login(&keys, &store, "lan", "anything at all", ""),
            Err(AccountError::BadLogin)
        ));
        let code = made.setup_code.to_lowercase();
        set_password_with_code(
            &keys,
            &store,
            "lan",
            &code,
            "mật khẩu dài đủ",
            "mật khẩu dài đủ",
        )
        .unwrap();
        login(&keys, &store, "lan", "mật khẩu dài đủ", "").unwrap();
        // The code is spent.
        assert!(matches!(
            set_password_with_code(
                &keys,
                &store,
                "lan",
                &code,
                "another long one",
                "another long one"
            ),
            Err(AccountError::BadSetupCode)
        ));
        assert!(matches!(
            create(&keys, &store, "lan", "Other", "viewer"),
            Err(AccountError::UsernameTaken)
        ));
        assert!(matches!(
            create(&keys, &store, "Lan Anh", "x", "viewer"),
            Err(AccountError::BadUsername)
        ));
        assert!(matches!(
            create(&keys, &store, "root", "x", "superuser"),
            Err(AccountError::BadRole)
        ));
    }

    #[test]
    fn five_wrong_passwords_lock_even_the_right_one_out() {
        let (_d, keys, store) = env();
        ready(&keys, &store, "lan", "officer");
        for _ in 0..4 {
            assert!(matches!(
                login(&keys, &store, "lan", "guess guess guess", ""),
                Err(AccountError::BadLogin)
            ));
        }
        assert!(matches!(
            login(&keys, &store, "lan", "guess guess guess", ""),
            Err(AccountError::Locked { .. })
        ));
        assert!(matches!(
            login(&keys, &store, "lan", "mật khẩu dài đủ", ""),
            Err(AccountError::Locked { .. })
        ));
    }

    /// Guesses sent all at once must not each read the count before any of them writes it.
    #[test]
    fn parallel_guesses_still_lock_the_account() {
        let (_d, keys, store) = env();
        ready(&keys, &store, "lan", "officer");
        std::thread::scope(|s| {
            for _ in 0..12 {
                s.spawn(|| {
                    let _ = login(&keys, &store, "lan", "guess guess guess", "");
                });
            }
        });
        assert!(matches!(
            login(&keys, &store, "lan", "mật khẩu dài đủ", ""),
            Err(AccountError::Locked { .. })
        ));
    }

    /// The attacker has write access to the database but not the province passphrase.
    #[test]
    fn an_account_edited_in_the_database_opens_nothing() {
        let (dir, keys, store) = env();
        let viewer = ready(&keys, &store, "xem", "viewer");
        login(&keys, &store, "xem", "mật khẩu dài đủ", "").unwrap();
        let conn = rusqlite::Connection::open(dir.path().join("intake.db")).unwrap();
        conn.execute(
            "UPDATE staff_accounts SET role = 'admin' WHERE account_id = ?1",
            [&viewer.account_id],
        )
        .unwrap();
        assert!(matches!(
            login(&keys, &store, "xem", "mật khẩu dài đủ", ""),
            Err(AccountError::BadLogin)
        ));
        // A whole row written by hand, with a password hash the attacker knows.
        let mut forged = viewer.clone();
        forged.account_id = "acct-forged".into();
        forged.username = "mallory".into();
        forged.role = "admin".into();
        forged.password_hash = Some(hash_password("attacker's password").unwrap());
        store.add_account(&forged).unwrap();
        assert!(matches!(
            login(&keys, &store, "mallory", "attacker's password", ""),
            Err(AccountError::BadLogin)
        ));
    }

    #[test]
    fn sessions_expire_when_idle_or_old_and_end_with_logout_everywhere() {
        let (_d, keys, store) = env();
        let a = ready(&keys, &store, "lan", "officer");
        let t1 = start_session(&keys, &store, &a.account_id).unwrap();
        let t2 = start_session(&keys, &store, &a.account_id).unwrap();
        let now = Utc::now().timestamp();
        assert!(check_session(&keys, &store, &t1, now).unwrap().is_some());
        // Idle for longer than the limit.
        assert!(
            check_session(&keys, &store, &t1, now + SESSION_IDLE_SECS + 1)
                .unwrap()
                .is_none()
        );
        // Kept busy, but past the absolute limit.
        let mut t = now;
        while t < now + SESSION_MAX_SECS {
            t += SESSION_IDLE_SECS - 60;
            if t > now + SESSION_MAX_SECS {
                break;
            }
            assert!(check_session(&keys, &store, &t2, t).unwrap().is_some());
        }
        assert!(
            check_session(&keys, &store, &t2, now + SESSION_MAX_SECS + 1)
                .unwrap()
                .is_none()
        );
        let t3 = start_session(&keys, &store, &a.account_id).unwrap();
        assert_eq!(store.delete_sessions(&a.account_id).unwrap(), 1);
        assert!(check_session(&keys, &store, &t3, now).unwrap().is_none());
    }

    #[test]
    fn with_a_second_factor_the_password_alone_opens_nothing_and_a_code_works_once() {
        let (_d, keys, store) = env();
        let a = ready(&keys, &store, "lan", "officer");
        let (secret, url) = totp_begin(&a).unwrap();
        assert!(url.starts_with("otpauth://totp/"));
        let app = totp_rs::Secret::try_from_base32(secret.as_str()).unwrap();
        let app = totp(app.as_ref(), "lan").unwrap();
        assert!(matches!(
            totp_enable(&keys, &store, &a.account_id, &secret, "000000x"),
            Err(AccountError::BadTotp)
        ));
        let now = Utc::now().timestamp().cast_unsigned();
        // Enabling spends the code it was shown; the next step's code logs in.
        totp_enable(
            &keys,
            &store,
            &a.account_id,
            &secret,
            &app.generate(now).to_string(),
        )
        .unwrap();
        assert!(matches!(
            login(&keys, &store, "lan", "mật khẩu dài đủ", ""),
            Err(AccountError::BadLogin)
        ));
        let next = app.generate(now + 30).to_string();
        let wrong = if next == "123456" { "654321" } else { "123456" };
        assert!(matches!(
            login(&keys, &store, "lan", "mật khẩu dài đủ", wrong),
            Err(AccountError::BadLogin)
        ));
        login(&keys, &store, "lan", "mật khẩu dài đủ", &next).unwrap();
        // The same code again: replayed, refused.
        assert!(matches!(
            login(&keys, &store, "lan", "mật khẩu dài đủ", &next),
            Err(AccountError::BadLogin)
        ));
        // The secret is sealed at rest.
        let row = store.account(&a.account_id).unwrap().unwrap();
        let raw = totp_rs::Secret::try_from_base32(secret.as_str()).unwrap();
        let raw: &[u8] = raw.as_ref();
        assert!(!row.totp.unwrap().windows(raw.len()).any(|w| w == raw));
        totp_disable(&keys, &store, &a.account_id, "mật khẩu dài đủ").unwrap();
        login(&keys, &store, "lan", "mật khẩu dài đủ", "").unwrap();
        // A lost phone: an admin's new setup code takes the second factor away with the
        // password, so the new password alone logs in.
        let now = Utc::now().timestamp().cast_unsigned();
        let (secret, _) = totp_begin(&a).unwrap();
        let app = totp_rs::Secret::try_from_base32(secret.as_str()).unwrap();
        let app = totp(app.as_ref(), "lan").unwrap();
        totp_enable(
            &keys,
            &store,
            &a.account_id,
            &secret,
            &app.generate(now).to_string(),
        )
        .unwrap();
        assert!(
            store
                .account(&a.account_id)
                .unwrap()
                .unwrap()
                .totp
                .is_some()
        );
        let code = reset(&keys, &store, &a.account_id).unwrap();
        set_password_with_code(
            &keys,
            &store,
            "lan",
            &code,
            "mật khẩu mới dài",
            "mật khẩu mới dài",
        )
        .unwrap();
        login(&keys, &store, "lan", "mật khẩu mới dài", "").unwrap();
    }

    /// The attacker can write the database (not the passphrase): she makes a session row for a
    /// cookie of her own, or points her own viewer session at the admin.
    #[test]
    fn a_session_row_written_or_repointed_in_the_database_is_nobody() {
        let (dir, keys, store) = env();
        let admin = ready(&keys, &store, "quantri", "admin");
        let viewer = ready(&keys, &store, "xem", "viewer");
        let now = Utc::now().timestamp();
        let cookie = "a".repeat(64);
        for hash in [
            {
                let mut h = [0u8; 32];
                h.copy_from_slice(digest(&SHA256, cookie.as_bytes()).as_ref());
                h
            },
            session_hash(&keys, &cookie),
        ] {
            store
                .add_session(
                    &hash,
                    &StaffSession {
                        account_id: admin.account_id.clone(),
                        created_at: now,
                        last_seen: now,
                        mac: vec![0; 32],
                    },
                )
                .unwrap();
        }
        assert!(
            check_session(&keys, &store, &cookie, now)
                .unwrap()
                .is_none()
        );
        let mine = start_session(&keys, &store, &viewer.account_id).unwrap();
        assert_eq!(
            check_session(&keys, &store, &mine, now)
                .unwrap()
                .unwrap()
                .role,
            "viewer"
        );
        let conn = rusqlite::Connection::open(dir.path().join("intake.db")).unwrap();
        conn.execute(
            "UPDATE staff_sessions SET account_id = ?1 WHERE account_id = ?2",
            [&admin.account_id, &viewer.account_id],
        )
        .unwrap();
        assert!(check_session(&keys, &store, &mine, now).unwrap().is_none());
    }

    #[test]
    fn csrf_token_belongs_to_its_session() {
        let (_d, keys, store) = env();
        let a = ready(&keys, &store, "lan", "officer");
        let t1 = start_session(&keys, &store, &a.account_id).unwrap();
        let t2 = start_session(&keys, &store, &a.account_id).unwrap();
        let c1 = csrf_token(&keys, &t1);
        assert!(csrf_ok(&keys, &t1, &c1));
        assert!(!csrf_ok(&keys, &t2, &c1));
        assert!(!csrf_ok(&keys, &t1, ""));
    }

    #[test]
    fn disabling_ends_sessions_and_logins() {
        let (_d, keys, store) = env();
        let a = ready(&keys, &store, "lan", "officer");
        let t = start_session(&keys, &store, &a.account_id).unwrap();
        set_disabled(&keys, &store, &a.account_id, true).unwrap();
        let now = Utc::now().timestamp();
        assert!(check_session(&keys, &store, &t, now).unwrap().is_none());
        assert!(login(&keys, &store, "lan", "mật khẩu dài đủ", "").is_err());
        set_disabled(&keys, &store, &a.account_id, false).unwrap();
        login(&keys, &store, "lan", "mật khẩu dài đủ", "").unwrap();
    }
}
