//! `chungtay users` and `chungtay user add|change-pin|remove|reset-pin`.

use chungtay_core::NewUser;

use crate::args::{ToCore, UserRoleArg};
use crate::ctx::{Ctx, KdfArgs, Secret};
use crate::error::CliError;
use crate::lang::tr;
use crate::output::{Output, table};
use crate::views::UserView;

#[derive(clap::Subcommand)]
pub enum UserCmd {
    /// Thêm người dùng với mã PIN riêng (chỉ chủ nhiệm) / add a user with their own PIN
    /// (leader only). PIN mới: CHUNGTAY_NEW_PIN, dòng thứ hai của --pin-stdin, hoặc nhập
    Add {
        /// Tên / name
        #[arg(long)]
        name: String,
        /// Vai trò / role
        #[arg(long, value_enum)]
        role: UserRoleArg,
        #[command(flatten)]
        kdf: KdfArgs,
    },
    /// Đổi mã PIN của chính mình / change your own PIN
    ChangePin {
        #[command(flatten)]
        kdf: KdfArgs,
    },
    /// Xoá một người dùng (chỉ chủ nhiệm): mã PIN của người đó không mở được kho nữa, các mục
    /// của người đó vẫn ở trong nhật ký / remove a user (leader only): her PIN opens nothing any
    /// more; her entries stay in the trail
    Remove {
        /// Mã người dùng (`chungtay users`) / user id
        id: String,
        /// Xác nhận / confirm
        #[arg(long)]
        yes: bool,
    },
    /// Đặt mã PIN mới cho người dùng quên mã (chỉ chủ nhiệm) / set a new PIN for a user who
    /// forgot hers (leader only). PIN mới: CHUNGTAY_NEW_PIN, dòng thứ hai của --pin-stdin, hoặc
    /// nhập
    ResetPin {
        /// Mã người dùng (`chungtay users`) / user id
        id: String,
        #[command(flatten)]
        kdf: KdfArgs,
    },
}

pub fn list(ctx: &mut Ctx) -> Result<Output, CliError> {
    let store = ctx.open_locked()?;
    let users = store.users()?;
    let left = store.unlock_attempts_left()?;
    let lang = ctx.lang();
    let rows: Vec<Vec<String>> = users
        .iter()
        .map(|u| vec![u.id.clone(), lang.user_role(u.role).to_owned()])
        .collect();
    let mut text = table(
        &[lang.pick("Mã", "Id"), lang.pick("Vai trò", "Role")],
        &rows,
    );
    text.push_str(&tr!(
        lang,
        "Còn {left} lần thử mã PIN trước khi kho tự xoá.\n",
        "{left} PIN tries left before the store wipes itself.\n"
    ));
    let views: Vec<UserView> = users.iter().map(Into::into).collect();
    Output::new(
        serde_json::json!({ "users": views, "unlock_attempts_left": left }),
        text,
    )
}

pub fn run(ctx: &mut Ctx, cmd: UserCmd) -> Result<Output, CliError> {
    let lang = ctx.lang();
    match cmd {
        UserCmd::Add { name, role, kdf } => {
            let params = kdf.params()?;
            // The PIN that unlocked the store is the leader's current PIN the core checks.
            let (mut store, current) = ctx.open_with_pin()?;
            let pin = ctx.secret(Secret::NewPin)?;
            let user = store.add_user(&current, NewUser::new(&name, role.core(), &pin), params)?;
            let role_name = lang.user_role(user.role);
            let id = &user.id;
            let text = tr!(
                lang,
                "Đã thêm người dùng {id} ({role_name}).",
                "User {id} added ({role_name})."
            );
            Output::new(UserView::from(&user), text)
        }
        UserCmd::ChangePin { kdf } => {
            let params = kdf.params()?;
            let (mut store, old) = ctx.open_with_pin()?;
            let new = ctx.secret(Secret::NewPin)?;
            store.change_pin(&old, &new, params)?;
            let text = tr!(lang, "Đã đổi mã PIN.", "PIN changed.");
            Output::new(serde_json::json!({ "changed": true }), text)
        }
        UserCmd::Remove { yes: false, .. } => Err(CliError::NeedsConfirmation {
            what: lang.pick("xoá người dùng", "Removing a user"),
        }),
        UserCmd::Remove { id, yes: true } => {
            let mut store = ctx.open()?;
            store.remove_user(&id)?;
            let text = tr!(
                lang,
                "Đã xoá người dùng {id}: mã PIN của người đó không mở được kho nữa.",
                "User {id} removed: her PIN no longer opens the store."
            );
            Output::new(serde_json::json!({ "removed": id }), text)
        }
        UserCmd::ResetPin { id, kdf } => {
            let params = kdf.params()?;
            // The PIN that unlocked the store is the leader's current PIN the core checks.
            let (mut store, current) = ctx.open_with_pin()?;
            let pin = ctx.secret(Secret::NewPin)?;
            store.reset_pin(&current, &id, &pin, params)?;
            let text = tr!(
                lang,
                "Đã đặt mã PIN mới cho người dùng {id}.",
                "New PIN set for user {id}."
            );
            Output::new(serde_json::json!({ "pin_reset": id }), text)
        }
    }
}
