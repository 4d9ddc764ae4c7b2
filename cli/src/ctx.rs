//! What every command needs: the global flags, the store (opened and unlocked), and secrets.
//!
//! PINs, the recovery secret and the one-time enrollment code never come from the command line.
//! Each one is read, in this order, from: the next line of standard input when `--pin-stdin` is given; its environment
//! variable; a prompt on the terminal without echo.

use std::collections::VecDeque;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use chungtay_core::{KdfParams, SoftwareDeviceSecret, Store, UserRole};
use zeroize::Zeroizing;

use crate::GlobalArgs;
use crate::error::CliError;
use crate::lang::Lang;

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

    /// `--device-key`, or `<store>.device-key` beside the store.
    pub fn device_key_path(&self) -> PathBuf {
        match &self.global.device_key {
            Some(p) => p.clone(),
            None => {
                let mut s = self.global.store.as_os_str().to_owned();
                s.push(".device-key");
                PathBuf::from(s)
            }
        }
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
        Ok(Arc::new(SoftwareDeviceSecret::load(
            &self.device_key_path(),
        )?))
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
