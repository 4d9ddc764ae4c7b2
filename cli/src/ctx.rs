//! What every command needs: the global flags, the store (opened and unlocked), and secrets.
//!
//! PINs, the recovery secret and the one-time enrollment code never come from the command line.
//! Each one is read, in this order, from: the next line of standard input when `--pin-stdin` is given; its environment
//! variable; a prompt on the terminal without echo.

use std::collections::VecDeque;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use chungtay_core::{DeviceSecretError, KdfParams, SoftwareDeviceSecret, Store, UserRole};
use zeroize::Zeroizing;

use crate::GlobalArgs;
use crate::error::CliError;
use crate::lang::{Lang, tr};
use crate::output;

/// The unlock PIN of the user running the command (also the PIN being set by `init` and
/// `safety restore`).
pub const ENV_PIN: &str = "CHUNGTAY_PIN";
/// A PIN being set for someone else or for another purpose: `user add`, `user change-pin`,
/// `safety duress`.
pub const ENV_NEW_PIN: &str = "CHUNGTAY_NEW_PIN";
/// The recovery secret for `safety restore`.
pub const ENV_RECOVERY: &str = "CHUNGTAY_RECOVERY_SECRET";
/// The province's one-time enrollment code for `enroll`: whoever has it can enroll a device in
/// the club's name, so it is kept out of `ps` and shell history like a PIN.
pub const ENV_ENROLL_CODE: &str = "CHUNGTAY_ENROLL_CODE";
/// The per-user configuration folder, where device keys are kept (tests point it at a
/// temporary folder). Without it: `$XDG_CONFIG_HOME/chungtay`, `$HOME/.config/chungtay`,
/// `%APPDATA%\chungtay`.
pub const ENV_CONFIG_DIR: &str = "CHUNGTAY_CONFIG_DIR";

/// Which secret a command asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Secret {
    /// The unlock PIN.
    Pin,
    /// The store's PIN being chosen (init, restore): asked twice at a prompt.
    ChoosePin,
    /// Another PIN being chosen (new user, new own PIN, duress PIN): asked twice at a prompt.
    NewPin,
    /// The recovery secret kept by the commune union.
    Recovery,
    /// The one-time enrollment code from the province.
    EnrollCode,
}

impl Secret {
    fn env(self) -> &'static str {
        match self {
            Secret::Pin | Secret::ChoosePin => ENV_PIN,
            Secret::NewPin => ENV_NEW_PIN,
            Secret::Recovery => ENV_RECOVERY,
            Secret::EnrollCode => ENV_ENROLL_CODE,
        }
    }

    fn prompt(self, lang: Lang) -> &'static str {
        match self {
            Secret::Pin => lang.pick("Mã PIN: ", "PIN: "),
            Secret::ChoosePin => lang.pick("Chọn mã PIN: ", "Choose a PIN: "),
            Secret::NewPin => lang.pick("Mã PIN mới: ", "New PIN: "),
            Secret::Recovery => lang.pick("Mã khôi phục: ", "Recovery secret: "),
            Secret::EnrollCode => lang.pick("Mã đăng ký một lần: ", "One-time enrollment code: "),
        }
    }

    fn confirm(self) -> bool {
        matches!(self, Secret::ChoosePin | Secret::NewPin)
    }
}

pub struct Ctx {
    pub global: GlobalArgs,
    stdin_lines: Option<VecDeque<Zeroizing<String>>>,
}

impl Ctx {
    pub fn new(global: GlobalArgs) -> Ctx {
        Ctx {
            global,
            stdin_lines: None,
        }
    }

    pub fn lang(&self) -> Lang {
        self.global.lang
    }

    pub fn store_path(&self) -> &Path {
        &self.global.store
    }

    /// The device key to open the store with: `--device-key`; else the store's key in the
    /// configuration folder; else, for a store made by an older version, `<store>.device-key`
    /// beside it (with a warning saying how to move it).
    pub fn device_key_path(&self) -> Result<PathBuf, CliError> {
        if let Some(p) = &self.global.device_key {
            return Ok(p.clone());
        }
        let default = self.default_key_path();
        if let Ok(path) = &default
            && path.exists()
        {
            return Ok(path.clone());
        }
        let legacy = self.legacy_key_path();
        if legacy.exists() {
            output::print_warning(
                &key_beside_store_warning(self.lang(), &legacy, default.as_ref().ok()),
                "device_key_beside_store",
                self.lang(),
                self.global.json,
            );
            return Ok(legacy);
        }
        default
    }

    /// Where a new store's device key goes (`init`, `safety restore`): refused in the store's
    /// own folder unless `--key-beside-store`, since a copy of that folder would then carry
    /// everything needed to guess the PIN offline. The default folder is made owner-only.
    pub fn device_key_path_for_new_store(&self) -> Result<PathBuf, CliError> {
        let path = match &self.global.device_key {
            Some(p) => p.clone(),
            None => {
                let path = self.default_key_path()?;
                if let Some(dir) = path.parent() {
                    make_private_dir(dir)?;
                }
                path
            }
        };
        if !path.exists()
            && !self.global.key_beside_store
            && inside_store_folder(&path, self.store_path())
        {
            return Err(CliError::KeyBesideStore(path));
        }
        Ok(path)
    }

    /// `<config>/device-keys/<store file name>-<16 hex digits of SHA-256 of its full path>.device-key`.
    fn default_key_path(&self) -> Result<PathBuf, CliError> {
        let store = absolute(self.store_path());
        let digest =
            ring::digest::digest(&ring::digest::SHA256, store.as_os_str().as_encoded_bytes());
        let tag: String = digest
            .as_ref()
            .iter()
            .take(8)
            .map(|b| format!("{b:02x}"))
            .collect();
        let name: String = store
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default()
            .chars()
            .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'))
            .take(40)
            .collect();
        Ok(config_dir()?
            .join("device-keys")
            .join(format!("{name}-{tag}.device-key")))
    }

    /// Where versions before the key moved kept it.
    fn legacy_key_path(&self) -> PathBuf {
        let mut s = self.global.store.as_os_str().to_owned();
        s.push(".device-key");
        PathBuf::from(s)
    }

    /// A secret from standard input, the environment or the terminal (see the module docs).
    pub fn secret(&mut self, which: Secret) -> Result<Zeroizing<String>, CliError> {
        if self.global.pin_stdin {
            return self.next_stdin_line(which);
        }
        if let Ok(value) = std::env::var(which.env()) {
            return Ok(Zeroizing::new(value));
        }
        if !std::io::stdin().is_terminal() {
            return Err(CliError::NoSecret { env: which.env() });
        }
        let lang = self.lang();
        let first = Zeroizing::new(
            rpassword::prompt_password(which.prompt(lang))
                .map_err(|_| CliError::NoSecret { env: which.env() })?,
        );
        if which.confirm() {
            let again = Zeroizing::new(
                rpassword::prompt_password(lang.pick("Nhập lại: ", "Again: "))
                    .map_err(|_| CliError::NoSecret { env: which.env() })?,
            );
            if *again != *first {
                return Err(CliError::PinMismatch);
            }
        }
        Ok(first)
    }

    fn next_stdin_line(&mut self, which: Secret) -> Result<Zeroizing<String>, CliError> {
        if self.stdin_lines.is_none() {
            let mut all = Zeroizing::new(String::new());
            std::io::Read::read_to_string(&mut std::io::stdin(), &mut all)
                .map_err(|_| CliError::NoSecret { env: which.env() })?;
            let lines = all
                .split('\n')
                .map(|l| Zeroizing::new(l.strip_suffix('\r').unwrap_or(l).to_owned()))
                .collect();
            self.stdin_lines = Some(lines);
        }
        self.stdin_lines
            .as_mut()
            .and_then(|lines| lines.pop_front())
            .filter(|line| !line.is_empty())
            .ok_or(CliError::NoSecret { env: which.env() })
    }

    fn device(&self) -> Result<Arc<SoftwareDeviceSecret>, CliError> {
        let path = self.device_key_path()?;
        match SoftwareDeviceSecret::load(&path) {
            Ok(secret) => Ok(Arc::new(secret)),
            Err(chungtay_core::Error::KeyUnavailable(DeviceSecretError::Missing)) => {
                Err(CliError::DeviceKeyMissing(path))
            }
            Err(chungtay_core::Error::KeyUnavailable(DeviceSecretError::Exposed)) => {
                Err(CliError::DeviceKeyExposed(path))
            }
            Err(e) => Err(e.into()),
        }
    }

    /// The store, locked: for what needs no PIN (the list of users).
    pub fn open_locked(&self) -> Result<Store, CliError> {
        let path = self.store_path();
        if !path.exists() {
            return Err(CliError::NoStore(path.to_owned()));
        }
        let device = self.device()?;
        Ok(Store::open(path, device)?)
    }

    /// The store, unlocked as `--user` (default: the first leader), with the PIN that opened
    /// it.
    pub fn open_with_pin(&mut self) -> Result<(Store, Zeroizing<String>), CliError> {
        let mut store = self.open_locked()?;
        let user = match &self.global.user {
            Some(u) => u.clone(),
            None => {
                store
                    .users()?
                    .into_iter()
                    .find(|u| u.role == UserRole::Leader)
                    .ok_or(CliError::NoLeader)?
                    .id
            }
        };
        let pin = self.secret(Secret::Pin)?;
        match store.unlock(&user, &pin) {
            Ok(()) => Ok((store, pin)),
            Err(chungtay_core::Error::WrongPin) => Err(CliError::WrongPin {
                left: store.unlock_attempts_left().ok(),
            }),
            Err(e) => Err(e.into()),
        }
    }

    /// The store, unlocked (see `open_with_pin`).
    pub fn open(&mut self) -> Result<Store, CliError> {
        Ok(self.open_with_pin()?.0)
    }
}

/// The Argon2id cost for a PIN being set: the minimum (19 MiB, 2 passes), or raised until one
/// run takes `--kdf-ms` milliseconds on this machine.
#[derive(Clone, Debug, Default, clap::Args)]
pub struct KdfArgs {
    /// Argon2id: tăng số vòng đến khi một lần mất ngần này mili giây / raise Argon2id passes
    /// until one run takes this many milliseconds
    #[arg(long, value_name = "MS")]
    pub kdf_ms: Option<u64>,
}

impl KdfArgs {
    pub fn params(&self) -> Result<KdfParams, CliError> {
        match self.kdf_ms {
            None => Ok(KdfParams::MIN),
            Some(ms) => Ok(KdfParams::calibrate(std::time::Duration::from_millis(ms))?),
        }
    }
}

/// The per-user configuration folder (see [`ENV_CONFIG_DIR`]).
fn config_dir() -> Result<PathBuf, CliError> {
    let var = |name: &str| {
        std::env::var_os(name)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
            .filter(|p| p.is_absolute())
    };
    if let Some(dir) = std::env::var_os(ENV_CONFIG_DIR).filter(|v| !v.is_empty()) {
        return Ok(absolute(Path::new(&dir)));
    }
    if let Some(dir) = var("XDG_CONFIG_HOME") {
        return Ok(dir.join("chungtay"));
    }
    if cfg!(windows)
        && let Some(dir) = var("APPDATA")
    {
        return Ok(dir.join("chungtay"));
    }
    if let Some(home) = var("HOME") {
        return Ok(home.join(".config").join("chungtay"));
    }
    Err(CliError::NoConfigDir)
}

/// Creates `dir` (and the folders above it) and makes it owner-only.
fn make_private_dir(dir: &Path) -> Result<(), CliError> {
    std::fs::create_dir_all(dir).map_err(|e| CliError::file(dir, e))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
            .map_err(|e| CliError::file(dir, e))?;
    }
    Ok(())
}

/// The full path, with the folder's symbolic links resolved when it exists (the same answer
/// before and after the file itself is created).
fn absolute(path: &Path) -> PathBuf {
    let full = std::path::absolute(path).unwrap_or_else(|_| path.to_owned());
    match (full.parent(), full.file_name()) {
        (Some(parent), Some(name)) => std::fs::canonicalize(parent)
            .map(|p| p.join(name))
            .unwrap_or(full),
        _ => full,
    }
}

/// Whether `key` is in the store's folder or anywhere below it (a configuration folder inside
/// it, or the store kept inside the configuration folder): a copy of the store's folder would
/// then carry the key.
fn inside_store_folder(key: &Path, store: &Path) -> bool {
    match (canonical(key).parent(), canonical(store).parent()) {
        (Some(key_dir), Some(store_dir)) => key_dir.starts_with(store_dir),
        _ => false,
    }
}

/// `absolute`, with the longest existing part of the path resolved (symbolic links, `..`), so
/// that folders not made yet compare as they will be.
fn canonical(path: &Path) -> PathBuf {
    let full = std::path::absolute(path).unwrap_or_else(|_| path.to_owned());
    let mut rest = Vec::new();
    let mut head = full.as_path();
    loop {
        if let Ok(real) = std::fs::canonicalize(head) {
            return rest.iter().rev().fold(real, |p, part| p.join(part));
        }
        match (head.parent(), head.file_name()) {
            (Some(parent), Some(name)) => {
                rest.push(name.to_owned());
                head = parent;
            }
            _ => return full,
        }
    }
}

fn key_beside_store_warning(lang: Lang, legacy: &Path, target: Option<&PathBuf>) -> String {
    let legacy = legacy.display();
    match target {
        Some(target) => {
            let dir = target
                .parent()
                .map(|d| d.display().to_string())
                .unwrap_or_default();
            let target = target.display();
            tr!(
                lang,
                "khoá thiết bị \"{legacy}\" nằm cạnh kho: ai chép thư mục của kho sẽ có cả khoá và dò được mã PIN trên máy khác. Hãy chuyển khoá đi: mkdir -m 700 -p \"{dir}\" && mv \"{legacy}\" \"{target}\"",
                "the device key \"{legacy}\" is beside the store: whoever copies the store's folder gets the key too and can guess the PIN on another computer. Move it: mkdir -m 700 -p \"{dir}\" && mv \"{legacy}\" \"{target}\""
            )
        }
        None => tr!(
            lang,
            "khoá thiết bị \"{legacy}\" nằm cạnh kho: ai chép thư mục của kho sẽ có cả khoá. Hãy chuyển khoá ra thư mục khác (đặt {ENV_CONFIG_DIR}, hoặc dùng --device-key).",
            "the device key \"{legacy}\" is beside the store: whoever copies the store's folder gets the key too. Move it elsewhere (set {ENV_CONFIG_DIR}, or use --device-key)."
        ),
    }
}
