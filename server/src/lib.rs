//! Chung Tay provincial intake server.
//!
//! Devices enroll with a one-time code, send referrals sealed to the province (HPKE, see
//! `chungtay-protocol`), get signed receipts, send audit checkpoints, and pull signed status
//! updates; provincial staff list referrals and move them through their lifecycle.
//!
//! - [`admin`]: the CLI's admin operations (init, codes, devices, staff tokens).
//! - [`keyfile`]: the passphrase-encrypted province key file and at-rest sealing.
//! - [`store`]: the storage trait; [`sqlite`]: its embedded SQLite backend (the default);
//!   [`pg`]: PostgreSQL, for several instances on one database.
//! - [`http`]: the axum API; [`serve`]: running it, plain or over TLS ([`tls`]).

pub mod accounts;
pub mod admin;
pub mod console;
pub mod deployment;
pub mod error;
pub mod http;
pub mod keyfile;
pub mod migrate;
pub mod pg;
pub mod serve;
pub mod sqlite;
pub mod store;
pub mod tls;

pub use deployment::Deployment;
pub use error::{AdminError, KeyFileError, PgError, StoreError};
pub use http::{AppState, Limits, router};
pub use keyfile::{KdfParams, ProvinceKeys};
pub use pg::PgStore;
pub use serve::{
    ConnLimits, RunningServer, check_plain_listen, run, run_tls, run_tls_with, run_with,
};
pub use sqlite::SqliteStore;
pub use store::IntakeStore;

/// Installs rustls's ring provider for this process, once. HTTP clients built in the same
/// process (tests, tools) need it when the workspace builds reqwest without a default provider.
pub fn install_crypto_provider() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        // Fails only if another provider was installed first, which is then used instead.
        let _ = tokio_rustls::rustls::crypto::ring::default_provider().install_default();
    });
}

/// Environment variable the CLI reads the province passphrase from (never from argv).
pub const PASSPHRASE_ENV: &str = "CHUNGTAY_PROVINCE_PASSPHRASE";
