//! `chungtay init`: a new store, its device key, and its first user (the leader).

use std::sync::Arc;

use chungtay_core::{NewUser, SoftwareDeviceSecret, Store, UserRole};
use serde::Serialize;

use crate::ctx::{Ctx, KdfArgs, Secret};
use crate::error::CliError;
use crate::lang::tr;
use crate::output::{Output, fields};

#[derive(clap::Args)]
pub struct InitArgs {
    /// Tên người dùng đầu tiên (chủ nhiệm) / the first user's name (the leader)
    #[arg(long)]
    pub name: String,
    #[command(flatten)]
    pub kdf: KdfArgs,
}

#[derive(Serialize)]
struct Created {
    store: String,
    device_key: String,
    user_id: String,
    role: &'static str,
}

pub fn run(ctx: &mut Ctx, args: InitArgs) -> Result<Output, CliError> {
    let path = ctx.store_path().to_owned();
    if path.exists() {
        return Err(chungtay_core::ChungTayError::AlreadyExists.into());
    }
    let params = args.kdf.params()?;
    // Refuse a key beside the store before asking for anything.
    let key_path = ctx.device_key_path_for_new_store()?;
    let pin = ctx.secret(Secret::ChoosePin)?;
    // Refuse a weak PIN before anything is written.
    chungtay_core::keys::check_pin(&pin)?;
    let new_key = !key_path.exists();
    let device = Arc::new(SoftwareDeviceSecret::load_or_create(&key_path)?);
    let store = match Store::create(
        &path,
        device,
        NewUser::new(&args.name, UserRole::Leader, &pin),
        params,
    ) {
        Ok(store) => store,
        Err(e) => {
            if new_key {
                let _ = std::fs::remove_file(&key_path);
            }
            return Err(e.into());
        }
    };
    let user = store.current_user()?;
    let lang = ctx.lang();
    let created = Created {
        store: path.display().to_string(),
        device_key: key_path.display().to_string(),
        user_id: user.id.clone(),
        role: "leader",
    };
    let mut text = tr!(lang, "Đã tạo kho dữ liệu.\n", "Store created.\n");
    text.push_str(&fields(&[
        (lang.pick("Kho", "Store"), created.store.clone()),
        (
            lang.pick("Khoá thiết bị", "Device key"),
            created.device_key.clone(),
        ),
        (lang.pick("Người dùng", "User"), created.user_id.clone()),
        (
            lang.pick("Vai trò", "Role"),
            lang.user_role(user.role).to_owned(),
        ),
    ]));
    text.push_str(&tr!(
        lang,
        "Khoá thiết bị được giữ riêng, ngoài thư mục của kho, để bản chép của thư mục kho không dò được mã PIN. Mất khoá thì không mở được kho: hãy sao lưu bằng `chungtay safety backup`.\n",
        "The device key is kept apart from the store's folder, so that a copy of that folder cannot be used to guess the PIN. Without the key the store cannot be opened: make backups with `chungtay safety backup`.\n"
    ));
    Output::new(created, text)
}
