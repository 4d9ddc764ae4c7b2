//! Key hierarchy: PIN (Argon2id) + device secret (host keystore) -> per-user wrapping key ->
//! the store key -> HKDF sub-keys and per-member keys. See docs/SECURITY.md.

use std::path::Path;
use std::time::{Duration, Instant};

use argon2::{Algorithm, Argon2, Params, Version};
use ring::hmac;
use zeroize::Zeroizing;

use crate::crypto::{self, KEY_LEN, SecretKey};
use crate::error::{DeviceSecretError, Error, Reason, Result, invalid};
use crate::text;

/// A secret held by the host platform that never leaves it: on Android a non-exportable
/// Keystore HMAC key; on a laptop or in tests a software key.
///
/// `prf` must be a keyed pseudo-random function (HMAC-SHA256 is the reference) that gives the same
/// output for the same input on this device, and cannot be computed anywhere else. Because every
/// PIN guess goes through it, a PIN cannot be brute-forced off the device.
pub trait DeviceSecret: Send + Sync {
    fn prf(&self, input: &[u8]) -> std::result::Result<Vec<u8>, DeviceSecretError>;

    /// Destroys the current key beyond recovery and makes a fresh one. After this, nothing
    /// sealed under the old key can be opened again, whatever copies of the files survive.
    fn rotate(&self) -> std::result::Result<(), DeviceSecretError>;
}

/// A software device secret: HMAC-SHA256 under a random key kept in a file (0600) or in memory.
/// For desktops, the CLI and tests; phones use the platform keystore instead.
pub struct SoftwareDeviceSecret {
    key: std::sync::Mutex<Zeroizing<[u8; KEY_LEN]>>,
    path: Option<std::path::PathBuf>,
}

impl SoftwareDeviceSecret {
    pub fn generate() -> Result<Self> {
        let mut key = Zeroizing::new([0u8; KEY_LEN]);
        crypto::fill_random(key.as_mut())?;
        Ok(Self {
            key: std::sync::Mutex::new(key),
            path: None,
        })
    }

    /// Loads the key file, creating it (mode 0600) when it does not exist.
    pub fn load_or_create(path: &Path) -> Result<Self> {
        if path.exists() {
            return Self::load(path);
        }
        let mut secret = Self::generate()?;
        secret.path = Some(path.to_owned());
        secret.write_new(path)?;
        Ok(secret)
    }

    fn write_new(&self, path: &Path) -> Result<()> {
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create(true).truncate(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        let mut file = options.open(path)?;
        let key = self.key.lock().unwrap_or_else(|p| p.into_inner());
        std::io::Write::write_all(&mut file, key.as_ref())?;
        file.sync_all()?;
        Ok(())
    }

    /// Loads an existing key file; a missing file is a missing device secret, and one that
    /// other accounts can read (group or world permissions) is refused (`Exposed`).
    pub fn load(path: &Path) -> Result<Self> {
        use std::io::Read as _;
        // One open: the permissions checked are those of the file read.
        let mut file = match std::fs::File::open(path) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(Error::KeyUnavailable(DeviceSecretError::Missing));
            }
            Err(e) => return Err(e.into()),
        };
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            if file.metadata()?.permissions().mode() & 0o077 != 0 {
                return Err(Error::KeyUnavailable(DeviceSecretError::Exposed));
            }
        }
        let mut bytes = Zeroizing::new(Vec::new());
        file.read_to_end(&mut bytes)?;
        // A file of the wrong size will not fix itself: permanent, not "try again".
        let key: [u8; KEY_LEN] = bytes
            .as_slice()
            .try_into()
            .map_err(|_| Error::KeyUnavailable(DeviceSecretError::Damaged))?;
        Ok(Self {
            key: std::sync::Mutex::new(Zeroizing::new(key)),
            path: Some(path.to_owned()),
        })
    }
}

impl DeviceSecret for SoftwareDeviceSecret {
    fn prf(&self, input: &[u8]) -> std::result::Result<Vec<u8>, DeviceSecretError> {
        let key = self.key.lock().unwrap_or_else(|p| p.into_inner());
        let key = hmac::Key::new(hmac::HMAC_SHA256, key.as_ref());
        Ok(hmac::sign(&key, input).as_ref().to_vec())
    }

    fn rotate(&self) -> std::result::Result<(), DeviceSecretError> {
        let failed = |e: &dyn std::fmt::Display| DeviceSecretError::Failed {
            detail: e.to_string(),
        };
        {
            let mut key = self.key.lock().unwrap_or_else(|p| p.into_inner());
            crypto::fill_random(key.as_mut()).map_err(|e| failed(&e))?;
        }
        // The file is overwritten in place (same size) and synced, so the old key is gone.
        if let Some(path) = &self.path {
            self.write_new(path).map_err(|e| failed(&e))?;
        }
        Ok(())
    }
}

/// Argon2id cost. Stored with each user's key slot so it can be raised later per user.
/// On a phone, choose it with `KdfParams::calibrate` (the Kotlin `calibrateKdf`) when the store
/// is made; later PINs on the store reuse the unlocked user's cost (`Store::kdf_params`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct KdfParams {
    pub m_kib: u32,
    pub t: u32,
    pub p: u32,
}

impl KdfParams {
    /// OWASP's minimum for Argon2id: 19 MiB, 2 passes, 1 lane. A 2 GB phone can afford it.
    pub const MIN: KdfParams = KdfParams {
        m_kib: 19 * 1024,
        t: 2,
        p: 1,
    };

    pub fn check(&self) -> Result<()> {
        if self.m_kib < Self::MIN.m_kib || self.t < Self::MIN.t || self.p < 1 {
            return Err(Error::WeakKdf {
                min_m_kib: Self::MIN.m_kib,
                min_t: Self::MIN.t,
            });
        }
        Ok(())
    }

    /// Raises the pass count from the minimum until one derivation takes about `target` on this
    /// machine (capped at 10 passes), so faster phones get more protection for the same wait.
    pub fn calibrate(target: Duration) -> Result<KdfParams> {
        let mut params = Self::MIN;
        loop {
            let start = Instant::now();
            stretch("calibration-pin", &[0u8; 16], params)?;
            let took = start.elapsed();
            if took >= target || params.t >= 10 {
                return Ok(params);
            }
            // Time grows linearly with t; aim straight at the target.
            let ratio = target.as_secs_f64() / took.as_secs_f64().max(1e-6);
            let next = ((params.t as f64) * ratio).ceil() as u32;
            params.t = next.clamp(params.t + 1, 10);
        }
    }
}

thread_local! {
    /// Argon2 runs made on this thread: lets a test count the work an unlock does.
    static ARGON2_RUNS: std::cell::Cell<u64> = const { std::cell::Cell::new(0) };
}

/// How many Argon2 derivations this thread has run so far. Tests compare the work of two
/// unlocks with it (wall-clock time is too noisy to show that two paths cost the same).
#[doc(hidden)]
pub fn argon2_runs_on_this_thread() -> u64 {
    ARGON2_RUNS.with(|c| c.get())
}

/// Argon2id over the NFC-normalised PIN.
pub(crate) fn stretch(
    pin: &str,
    salt: &[u8],
    params: KdfParams,
) -> Result<Zeroizing<[u8; KEY_LEN]>> {
    params.check()?;
    let argon_params =
        Params::new(params.m_kib, params.t, params.p, Some(KEY_LEN)).map_err(|_| Error::Crypto)?;
    let argon = Argon2::new(Algorithm::Argon2id, Version::V0x13, argon_params);
    let pin = Zeroizing::new(text::nfc(pin));
    let mut out = Zeroizing::new([0u8; KEY_LEN]);
    ARGON2_RUNS.with(|c| c.set(c.get() + 1));
    argon
        .hash_password_into(pin.as_bytes(), salt, out.as_mut())
        .map_err(|_| Error::Crypto)?;
    Ok(out)
}

/// Shortest PIN, and longest (a passphrase; long enough for any leader who wants one).
pub const PIN_MIN_CHARS: usize = 6;
pub const PIN_MAX_CHARS: usize = 128;

/// Minimum PIN length and the few PINs everyone tries first.
pub fn check_pin(pin: &str) -> Result<()> {
    let n = pin.chars().count();
    if n < PIN_MIN_CHARS {
        return invalid(
            "pin",
            Reason::TooShort {
                min: PIN_MIN_CHARS as u32,
            },
        );
    }
    if n > PIN_MAX_CHARS {
        return invalid(
            "pin",
            Reason::TooLong {
                max: PIN_MAX_CHARS as u32,
            },
        );
    }
    let first = pin.chars().next();
    let all_same = pin.chars().all(|c| Some(c) == first);
    let digits: Vec<u32> = pin.chars().filter_map(|c| c.to_digit(10)).collect();
    let sequential = digits.len() == n
        && (digits.windows(2).all(|w| w[1] == (w[0] + 1) % 10)
            || digits.windows(2).all(|w| w[0] == (w[1] + 1) % 10));
    if all_same || sequential {
        return invalid("pin", Reason::TooCommon);
    }
    Ok(())
}

/// Chained device-key calls in every new key slot: one PIN guess needs this many keystore
/// calls, one after the other, each fed the previous one's output (docs/SECURITY.md 11).
pub const PRF_ROUNDS: u32 = 16;

/// How one key slot turns a PIN into its key-encryption key. Kept in the slot's salt column
/// (`users.kdf_salt`, or the head of `meta.duress_slot`), so no schema step is needed:
/// 16 bytes is a version-1 slot (one device call), `[2, rounds (u16 BE), salt (16)]` version 2.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct SlotKdf {
    pub(crate) salt: [u8; 16],
    pub(crate) params: KdfParams,
    /// 0 for a version-1 slot.
    pub(crate) rounds: u32,
}

pub(crate) const SLOT_SALT_LEN: usize = 19;

impl SlotKdf {
    /// A new version-2 slot with a fresh salt.
    pub(crate) fn new(params: KdfParams) -> Result<Self> {
        let mut salt = [0u8; 16];
        crypto::fill_random(&mut salt)?;
        Ok(Self {
            salt,
            params,
            rounds: PRF_ROUNDS,
        })
    }

    pub(crate) fn is_current(&self) -> bool {
        self.rounds >= PRF_ROUNDS
    }

    /// The same salt and Argon2 cost as a version-2 slot (so the stretched PIN can be reused).
    pub(crate) fn upgraded(&self) -> Self {
        Self {
            rounds: PRF_ROUNDS,
            ..self.clone()
        }
    }

    pub(crate) fn encode_salt(&self) -> Vec<u8> {
        if self.rounds == 0 {
            return self.salt.to_vec();
        }
        let mut out = Vec::with_capacity(SLOT_SALT_LEN);
        out.push(2);
        out.extend_from_slice(&(self.rounds.min(u16::MAX as u32) as u16).to_be_bytes());
        out.extend_from_slice(&self.salt);
        out
    }

    pub(crate) fn decode(salt: &[u8], params: KdfParams) -> Option<Self> {
        match salt.len() {
            16 => Some(Self {
                salt: salt.try_into().ok()?,
                params,
                rounds: 0,
            }),
            SLOT_SALT_LEN if salt[0] == 2 => {
                let rounds = u16::from_be_bytes([salt[1], salt[2]]) as u32;
                if rounds == 0 {
                    return None;
                }
                Some(Self {
                    salt: salt[3..].try_into().ok()?,
                    params,
                    rounds,
                })
            }
            _ => None,
        }
    }
}

/// The device-key chain of a version-2 slot: `rounds` keystore calls, each one's input holding
/// the previous one's output, so they can only run one after the other, on this device, and
/// none can be computed before the Argon2 output of the guess is known.
pub(crate) fn device_chain(
    device: &dyn DeviceSecret,
    store_id: &str,
    stretched: &[u8; KEY_LEN],
    rounds: u32,
) -> Result<Zeroizing<Vec<u8>>> {
    let mut input = Zeroizing::new(Vec::with_capacity(128));
    input.extend_from_slice(b"chungtay.kek.v2\0");
    input.extend_from_slice(store_id.as_bytes());
    input.push(0);
    input.extend_from_slice(stretched);
    let mut out = Zeroizing::new(device.prf(&input).map_err(Error::KeyUnavailable)?);
    for round in 1..rounds {
        input.clear();
        input.extend_from_slice(b"chungtay.kek.v2.round\0");
        input.extend_from_slice(&round.to_be_bytes());
        input.extend_from_slice(&out);
        out = Zeroizing::new(device.prf(&input).map_err(Error::KeyUnavailable)?);
    }
    Ok(out)
}

/// A version-2 KEK from the chain's output and the stretched PIN; the user id goes in here, so
/// users who share a salt (the decoy's) share one chain and still get their own keys.
pub(crate) fn kek_from_chain(
    slot: &SlotKdf,
    user_id: &str,
    chain: &[u8],
    stretched: &[u8; KEY_LEN],
) -> Result<SecretKey> {
    let mut ikm = Zeroizing::new(Vec::with_capacity(chain.len() + KEY_LEN));
    ikm.extend_from_slice(chain);
    ikm.extend_from_slice(stretched);
    let mut info = b"chungtay user kek v2\0".to_vec();
    info.extend_from_slice(user_id.as_bytes());
    crypto::hkdf_sha256(&slot.salt, &ikm, &info)
}

/// One slot's KEK from an already stretched PIN (version 1: one device call; version 2: the
/// chain).
pub(crate) fn kek_from_stretched(
    device: &dyn DeviceSecret,
    store_id: &str,
    user_id: &str,
    stretched: &[u8; KEY_LEN],
    slot: &SlotKdf,
) -> Result<SecretKey> {
    if slot.rounds == 0 {
        return kek_v1(device, store_id, user_id, stretched, &slot.salt);
    }
    let chain = device_chain(device, store_id, stretched, slot.rounds)?;
    kek_from_chain(slot, user_id, &chain, stretched)
}

/// Derives one user's key-encryption key from PIN and device. Order matters: the device PRF is
/// applied to the Argon2 output, so every single guess needs the phone's keystore.
pub(crate) fn user_kek(
    device: &dyn DeviceSecret,
    store_id: &str,
    user_id: &str,
    pin: &str,
    slot: &SlotKdf,
) -> Result<SecretKey> {
    let stretched = stretch(pin, &slot.salt, slot.params)?;
    kek_from_stretched(device, store_id, user_id, &stretched, slot)
}

/// The version-1 KEK (one device call), still opened so that older slots work; they are
/// re-wrapped as version 2 at their next unlock.
fn kek_v1(
    device: &dyn DeviceSecret,
    store_id: &str,
    user_id: &str,
    stretched: &[u8; KEY_LEN],
    salt: &[u8],
) -> Result<SecretKey> {
    let mut input = Zeroizing::new(Vec::with_capacity(128));
    input.extend_from_slice(b"chungtay.kek.v1\0");
    input.extend_from_slice(store_id.as_bytes());
    input.push(0);
    input.extend_from_slice(user_id.as_bytes());
    input.push(0);
    input.extend_from_slice(stretched);
    let from_device = Zeroizing::new(device.prf(&input).map_err(Error::KeyUnavailable)?);
    let mut ikm = Zeroizing::new(Vec::with_capacity(2 * KEY_LEN));
    ikm.extend_from_slice(&from_device);
    ikm.extend_from_slice(stretched);
    crypto::hkdf_sha256(salt, &ikm, b"chungtay user kek v1")
}

/// A value that proves this is the device secret the store was made with, without revealing it:
/// SHA-256 of the PRF over a fixed label. Lets unlock tell a lost or foreign device secret apart
/// from a wrong PIN.
pub(crate) fn device_check(device: &dyn DeviceSecret, store_id: &str) -> Result<Vec<u8>> {
    let mut input = b"chungtay.device-check.v1\0".to_vec();
    input.extend_from_slice(store_id.as_bytes());
    let out = Zeroizing::new(device.prf(&input).map_err(Error::KeyUnavailable)?);
    Ok(ring::digest::digest(&ring::digest::SHA256, &out)
        .as_ref()
        .to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kek_depends_on_pin_device_and_user() {
        let d1 = SoftwareDeviceSecret::generate().unwrap();
        let d2 = SoftwareDeviceSecret::generate().unwrap();
        let slot = SlotKdf {
            salt: [3u8; 16],
            params: KdfParams::MIN,
            rounds: PRF_ROUNDS,
        };
        let k = |d: &dyn DeviceSecret, u: &str, pin: &str| {
            user_kek(d, "s", u, pin, &slot).unwrap().as_bytes().to_vec()
        };
        let base = k(&d1, "u", "246810");
        assert_eq!(base, k(&d1, "u", "246810"));
        assert_ne!(base, k(&d2, "u", "246810"));
        assert_ne!(base, k(&d1, "v", "246810"));
        assert_ne!(base, k(&d1, "u", "246811"));
    }

    /// The cost of one PIN guess on this machine (docs/SECURITY.md 11 quotes it). Run with
    /// `cargo test -p chungtay-core --lib -- --ignored --nocapture cost_per_guess`.
    #[test]
    #[ignore = "a measurement, not a check"]
    fn cost_per_guess() {
        let device = SoftwareDeviceSecret::generate().unwrap();
        let n = 20u32;
        let start = Instant::now();
        for i in 0..n {
            stretch(&format!("2749{i:02}"), &[7u8; 16], KdfParams::MIN).unwrap();
        }
        let argon = start.elapsed() / n;
        let stretched = [9u8; KEY_LEN];
        let m = 2000u32;
        let start = Instant::now();
        for _ in 0..m {
            device_chain(&device, "store", &stretched, PRF_ROUNDS).unwrap();
        }
        let chain = start.elapsed() / m;
        eprintln!(
            "Argon2id at KdfParams::MIN: {argon:?}; chain of {PRF_ROUNDS} software PRF calls: \
             {chain:?} ({:?} per call); one guess with Argon2 on the device: {:?}",
            chain / PRF_ROUNDS,
            argon + chain
        );
    }

    #[test]
    fn weak_params_refused() {
        let weak = KdfParams {
            m_kib: 1024,
            t: 1,
            p: 1,
        };
        assert!(matches!(
            stretch("246810", &[0; 16], weak),
            Err(Error::WeakKdf { .. })
        ));
    }

    #[test]
    fn calibration_never_goes_below_minimum() {
        let p = KdfParams::calibrate(Duration::from_millis(1)).unwrap();
        assert_eq!(p, KdfParams::MIN);
        let q = KdfParams::calibrate(Duration::from_millis(300)).unwrap();
        assert!(q.t >= KdfParams::MIN.t && q.m_kib >= KdfParams::MIN.m_kib);
    }

    #[test]
    fn pin_rules() {
        assert!(check_pin("12345").is_err());
        assert!(check_pin("123456").is_err());
        assert!(check_pin("987654").is_err());
        assert!(check_pin("000000").is_err());
        assert!(check_pin("274915").is_ok());
        assert!(check_pin("hoa sen nở").is_ok());
        // A leader's long passphrase is welcome; only absurd lengths are refused.
        assert!(check_pin(&"sen trắng nở giữa đầm ".repeat(5)).is_ok());
        assert!(check_pin(&"x1".repeat(65)).is_err());
    }

    #[test]
    fn software_secret_file_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("device.key");
        let a = SoftwareDeviceSecret::load_or_create(&path).unwrap();
        let b = SoftwareDeviceSecret::load(&path).unwrap();
        assert_eq!(a.prf(b"x").unwrap(), b.prf(b"x").unwrap());
        // Rotation: the old key is gone from memory and from the file.
        let before = a.prf(b"x").unwrap();
        a.rotate().unwrap();
        assert_ne!(a.prf(b"x").unwrap(), before);
        assert_eq!(
            SoftwareDeviceSecret::load(&path)
                .unwrap()
                .prf(b"x")
                .unwrap(),
            a.prf(b"x").unwrap()
        );
        std::fs::remove_file(&path).unwrap();
        assert!(matches!(
            SoftwareDeviceSecret::load(&path),
            Err(Error::KeyUnavailable(DeviceSecretError::Missing))
        ));
    }
}
