//! `chungtay`: the Chung Tay club store from a terminal. Every command opens the store, unlocks
//! it with the user's PIN (never from the command line), does one thing, and locks it again.
//! Messages are in Vietnamese (default) or English (`--lang en`); `--json` gives machine output.
//! cli/README.md lists the commands and the exit codes.
//!
//! To add a command (`enroll`, `sync`): a variant in [`Command`] with its arguments, a module
//! in `commands/` with a `run(ctx, args) -> Result<Output, CliError>`, and one arm in
//! [`dispatch`]. Errors map to messages and exit codes in `error.rs` only.

mod args;
mod commands;
mod ctx;
mod error;
mod lang;
mod output;
mod views;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, CommandFactory, FromArgMatches, Parser, Subcommand};

use crate::commands::*;
use crate::ctx::Ctx;
use crate::error::CliError;
use crate::lang::Lang;
use crate::output::Output;

#[derive(Parser)]
#[command(
    name = "chungtay",
    version,
    about = "Chung Tay: sổ câu lạc bộ mã hoá, làm việc không cần mạng / the encrypted offline club register",
    after_help = "Mã PIN không bao giờ nhận trên dòng lệnh: nhập khi được hỏi, --pin-stdin, hoặc CHUNGTAY_PIN.\n\
                  PINs are never taken from the command line: type them when asked, --pin-stdin, or CHUNGTAY_PIN.\n\n\
                  Khoá thiết bị nằm trong thư mục cấu hình của người dùng (CHUNGTAY_CONFIG_DIR, hoặc\n\
                  $XDG_CONFIG_HOME/chungtay, hoặc ~/.config/chungtay), không nằm cạnh kho: ai chép thư mục\n\
                  của kho (USB, thư mục đồng bộ) mà có cả khoá thì dò được mã PIN trên máy khác, không giới hạn\n\
                  số lần thử. --key-beside-store chỉ dùng khi thật sự cần.\n\
                  The device key lives in the per-user configuration folder (CHUNGTAY_CONFIG_DIR, or\n\
                  $XDG_CONFIG_HOME/chungtay, or ~/.config/chungtay), not beside the store: whoever copies the\n\
                  store's folder (a USB stick, a synced folder) with its key can guess the PIN on another\n\
                  computer with no limit on tries. Use --key-beside-store only when you must."
)]
struct Cli {
    #[command(flatten)]
    global: GlobalArgs,
    #[command(subcommand)]
    command: Command,
}

#[derive(Clone, Debug, Args)]
pub struct GlobalArgs {
    /// Tệp kho dữ liệu / the store file
    #[arg(
        long,
        global = true,
        value_name = "PATH",
        default_value = "./chungtay.db"
    )]
    pub store: PathBuf,
    /// Tệp khoá thiết bị (mặc định: trong thư mục cấu hình của người dùng, không cạnh kho) /
    /// the device key file (default: in the per-user configuration folder, not beside the store)
    #[arg(long, global = true, value_name = "PATH")]
    pub device_key: Option<PathBuf>,
    /// Cho phép tạo khoá thiết bị trong cùng thư mục với kho (ai chép thư mục sẽ có cả khoá) /
    /// allow creating the device key in the store's folder (a copy of the folder then holds it)
    #[arg(long, global = true)]
    pub key_beside_store: bool,
    /// Mở kho với người dùng này (mặc định: chủ nhiệm đầu tiên) / unlock as this user
    /// (default: the first leader)
    #[arg(long, global = true, value_name = "ID")]
    pub user: Option<String>,
    /// Kết quả dạng JSON / machine-readable JSON output
    #[arg(long, global = true)]
    pub json: bool,
    /// Ngôn ngữ / language
    #[arg(long, global = true, value_enum, default_value_t = Lang::Vi)]
    pub lang: Lang,
    /// Đọc mã PIN (và các mã khác, mỗi mã một dòng) từ đầu vào chuẩn / read the PIN (and other
    /// secrets, one per line) from standard input
    #[arg(long, global = true)]
    pub pin_stdin: bool,
    /// Refused: a PIN on the command line shows in the process list and shell history.
    #[arg(
        long,
        global = true,
        hide = true,
        value_name = "PIN",
        num_args = 0..=1,
        default_missing_value = ""
    )]
    pub pin: Option<String>,
}

#[derive(Subcommand)]
enum Command {
    /// Tạo kho mới và người dùng đầu tiên (chủ nhiệm) / create a store and its first user
    /// (the leader)
    Init(init::InitArgs),
    /// Danh sách người dùng (không cần PIN) / the store's users (no PIN needed)
    Users,
    /// Người dùng / users
    #[command(subcommand)]
    User(users::UserCmd),
    /// Câu lạc bộ / clubs
    #[command(subcommand)]
    Club(club::ClubCmd),
    /// Thành viên / members
    #[command(subcommand)]
    Member(member::MemberCmd),
    /// Buổi sinh hoạt / meetings
    #[command(subcommand)]
    Meeting(meeting::MeetingCmd),
    /// Hỗ trợ sinh kế / livelihood support
    #[command(subcommand)]
    Support(support::SupportCmd),
    /// Sự đồng ý / consent
    #[command(subcommand)]
    Consent(consent::ConsentCmd),
    /// Giới thiệu lên Hội tỉnh / referrals to the provincial union
    #[command(subcommand)]
    Referral(referral::ReferralCmd),
    /// Nhật ký kiểm tra / the audit trail
    #[command(subcommand)]
    Audit(audit::AuditCmd),
    /// An toàn: PIN khẩn cấp, tự xoá, sao lưu / safety: duress PIN, wipe, backups
    #[command(subcommand)]
    Safety(safety::SafetyCmd),
    /// Báo cáo / reports
    #[command(subcommand)]
    Report(report::ReportCmd),
    /// Đăng ký điện thoại với Hội tỉnh / enroll with the provincial union
    Enroll(sync::EnrollArgs),
    /// Đã đăng ký với máy chủ nào, dấu vân tay khoá của Hội tỉnh / where this store is
    /// enrolled, and the province key fingerprint
    Enrollment,
    /// Gửi hộp thư đi, gửi điểm mốc nhật ký, nhận trả lời / send the outbox and an audit
    /// checkpoint, pull the answers
    Sync(sync::SyncArgs),
    /// Hộp thư đi / the outbox
    Outbox,
    /// Chạy thử toàn bộ quy trình trong thư mục tạm / the whole flow, in a temporary folder
    Demo(demo::DemoArgs),
}

fn dispatch(ctx: &mut Ctx, command: Command) -> Result<Output, CliError> {
    match command {
        Command::Init(a) => init::run(ctx, a),
        Command::Users => users::list(ctx),
        Command::User(c) => users::run(ctx, c),
        Command::Club(c) => club::run(ctx, c),
        Command::Member(c) => member::run(ctx, c),
        Command::Meeting(c) => meeting::run(ctx, c),
        Command::Support(c) => support::run(ctx, c),
        Command::Consent(c) => consent::run(ctx, c),
        Command::Referral(c) => referral::run(ctx, c),
        Command::Audit(c) => audit::run(ctx, c),
        Command::Safety(c) => safety::run(ctx, c),
        Command::Report(c) => report::run(ctx, c),
        Command::Enroll(a) => sync::enroll(ctx, a),
        Command::Enrollment => sync::enrollment(ctx),
        Command::Sync(a) => sync::sync(ctx, a),
        Command::Outbox => sync::outbox(ctx),
        Command::Demo(a) => demo::run(ctx, a),
    }
}

/// `--lang` and `--json` of a refused command line, read by clap itself from what it could
/// parse, so the refusal speaks the chosen language.
fn flags_of_refused_args() -> (Lang, bool) {
    match Cli::command().ignore_errors(true).try_get_matches() {
        Ok(m) => (
            m.try_get_one::<Lang>("lang")
                .ok()
                .flatten()
                .copied()
                .unwrap_or(Lang::Vi),
            m.try_get_one::<bool>("json")
                .ok()
                .flatten()
                .copied()
                .unwrap_or(false),
        ),
        Err(_) => (Lang::Vi, false),
    }
}

fn main() -> ExitCode {
    let matches = match Cli::command().try_get_matches() {
        Ok(m) => m,
        Err(e) => {
            use clap::error::ErrorKind;
            if matches!(e.kind(), ErrorKind::DisplayHelp | ErrorKind::DisplayVersion) {
                let _ = e.print();
                return ExitCode::SUCCESS;
            }
            let (lang, json) = flags_of_refused_args();
            let err = CliError::Usage(e);
            output::print_error(&err, lang, json);
            return err.exit();
        }
    };
    let cli = match Cli::from_arg_matches(&matches) {
        Ok(cli) => cli,
        Err(e) => {
            let err = CliError::Usage(e);
            output::print_error(&err, Lang::Vi, false);
            return err.exit();
        }
    };
    let lang = cli.global.lang;
    let json = cli.global.json;
    if cli.global.pin.is_some() {
        let err = CliError::PinOnCommandLine;
        output::print_error(&err, lang, json);
        return err.exit();
    }
    let mut ctx = Ctx::new(cli.global);
    match dispatch(&mut ctx, cli.command) {
        Ok(out) => {
            out.print(json);
            ExitCode::SUCCESS
        }
        Err(err) => {
            output::print_error(&err, lang, json);
            err.exit()
        }
    }
}
