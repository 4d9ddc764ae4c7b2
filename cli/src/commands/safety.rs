//! `chungtay safety duress|wipe-after|recovery|backup|restore` (leader only, except restore,
//! which makes a new store).

use std::path::PathBuf;
use std::sync::Arc;

use chungtay_core::{SoftwareDeviceSecret, Store};

use crate::commands::{read_file, write_file};
use crate::ctx::{Ctx, KdfArgs, Secret};
use crate::error::CliError;
use crate::lang::tr;
use crate::output::Output;

#[derive(clap::Subcommand)]
pub enum SafetyCmd {
    /// Đặt mã PIN khẩn cấp: nhập nó sẽ xoá sạch dữ liệu thật và mở một kho trống / set the
    /// duress PIN: typing it destroys the real data and opens an empty store.
    /// PIN khẩn cấp: CHUNGTAY_NEW_PIN, dòng thứ hai của --pin-stdin, hoặc nhập
    /// (giá của Argon2 giữ như của ô khẩn cấp hiện có / keeps the duress slot's Argon2 cost)
    Duress,
    /// Số lần nhập sai PIN liên tiếp thì kho tự xoá (3-50) / consecutive wrong PINs that wipe
    /// the store (3-50)
    WipeAfter { tries: i64 },
    /// Tạo mã khôi phục cho sao lưu (chỉ hiện một lần) / set up the recovery secret for backups
    /// (shown once)
    Recovery,
    /// Sao lưu mã hoá vào một tệp / write an encrypted backup file
    Backup {
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
    },
    /// Khôi phục bản sao lưu thành kho mới tại --store / restore a backup as a new store at
    /// --store. Mã khôi phục rồi PIN mới: CHUNGTAY_RECOVERY_SECRET và CHUNGTAY_PIN, hoặc hai
    /// dòng của --pin-stdin / recovery secret then the new PIN
    Restore {
        /// Tệp sao lưu / the backup file
        file: PathBuf,
        #[command(flatten)]
        kdf: KdfArgs,
    },
}

pub fn run(ctx: &mut Ctx, cmd: SafetyCmd) -> Result<Output, CliError> {
    let lang = ctx.lang();
    match cmd {
        SafetyCmd::Duress => {
            // The PIN that unlocked the store is the leader's current PIN the core checks.
            let (mut store, current) = ctx.open_with_pin()?;
            let pin = ctx.secret(Secret::NewPin)?;
            store.set_duress_pin(&current, &pin)?;
            let text = tr!(lang, "Đã đặt mã PIN khẩn cấp.", "Duress PIN set.");
            Output::new(serde_json::json!({ "duress_pin_set": true }), text)
        }
        SafetyCmd::WipeAfter { tries } => {
            let mut store = ctx.open()?;
            store.set_wipe_after(tries)?;
            let text = tr!(
                lang,
                "Kho sẽ tự xoá sau {tries} lần nhập sai mã PIN liên tiếp.",
                "The store will wipe itself after {tries} consecutive wrong PINs."
            );
            Output::new(serde_json::json!({ "wipe_after": tries }), text)
        }
        SafetyCmd::Recovery => {
            let mut store = ctx.open()?;
            let setup = store.setup_recovery()?;
            let secret = &setup.recovery_secret;
            let text = tr!(
                lang,
                "Mã khôi phục (chỉ hiện một lần; chép ra giấy và giao Hội LHPN xã giữ):\n{secret}\n",
                "Recovery secret (shown once; write it down for the commune union to keep):\n{secret}\n"
            );
            Output::new(
                serde_json::json!({ "recovery_secret": setup.recovery_secret }),
                text,
            )
        }
        SafetyCmd::Backup { out } => {
            let mut store = ctx.open()?;
            let bytes = store.create_backup()?;
            write_file(&out, &bytes)?;
            let path = out.display();
            let size = bytes.len();
            let text = tr!(
                lang,
                "Đã sao lưu vào {path} ({size} byte, đã mã hoá).",
                "Backup written to {path} ({size} bytes, encrypted)."
            );
            Output::new(serde_json::json!({ "file": out, "bytes": size }), text)
        }
        SafetyCmd::Restore { file, kdf } => {
            let params = kdf.params()?;
            let target = ctx.store_path().to_owned();
            if target.exists() {
                return Err(chungtay_core::ChungTayError::AlreadyExists.into());
            }
            let backup = read_file(&file)?;
            let secret = ctx.secret(Secret::Recovery)?;
            let pin = ctx.secret(Secret::ChoosePin)?;
            chungtay_core::keys::check_pin(&pin)?;
            let key_path = ctx.device_key_path_for_new_store()?;
            let new_key = !key_path.exists();
            let device = Arc::new(SoftwareDeviceSecret::load_or_create(&key_path)?);
            let store = match Store::restore(&backup, &secret, &target, device, &pin, params) {
                Ok(store) => store,
                Err(e) => {
                    if new_key {
                        let _ = std::fs::remove_file(&key_path);
                    }
                    return Err(e.into());
                }
            };
            let user = store.current_user()?;
            let path = target.display();
            let id = &user.id;
            let text = tr!(
                lang,
                "Đã khôi phục kho tại {path}; mở bằng người dùng {id} và mã PIN mới. Người dùng khác cần được thêm lại.",
                "Store restored at {path}; unlock as user {id} with the new PIN. Other users must be added again."
            );
            Output::new(
                serde_json::json!({
                    "store": target,
                    "device_key": key_path,
                    "user_id": user.id,
                }),
                text,
            )
        }
    }
}
