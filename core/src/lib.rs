//! Chung Tay core: the clubs' records in an encrypted offline store.
//!
//! Everything the app does lives here; the Android UI, the CLI and the server call into it.
//! Personal data is sealed before it reaches SQLite and opened only while the store is unlocked.

mod crypto;
pub mod domain;
pub mod error;
mod index;
pub mod keys;
pub mod schema;
pub mod store;
pub mod text;

pub use domain::*;
pub use error::{DeviceSecretError, Error, Reason, RecordKind, Result, ValidationError};
pub use index::MemberFilter;
pub use keys::{DeviceSecret, KdfParams, SoftwareDeviceSecret};
pub use store::{Damaged, NewUser, Store, UserInfo, UserRole};
