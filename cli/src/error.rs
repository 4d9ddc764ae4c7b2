//! Every failure as one line in the chosen language and an exit code per class
//! (cli/README.md has the table). No message carries personal data: ids, field names, paths
//! and counts only.

use std::path::PathBuf;
use std::process::ExitCode;

use chungtay_core::trail::ExportError;
use chungtay_core::{ChainBreak, ChungTayError, Reason};

use crate::lang::{Lang, tr};

/// Exit codes, one per class of failure.
pub mod code {
    pub const INTERNAL: u8 = 1;
    pub const USAGE: u8 = 2;
    pub const AUTH: u8 = 3;
    pub const TOO_SOON: u8 = 4;
    pub const WIPED: u8 = 5;
    pub const DEVICE_KEY: u8 = 6;
    pub const NOT_FOUND: u8 = 7;
    pub const INVALID: u8 = 8;
    pub const FORBIDDEN: u8 = 9;
    pub const INTEGRITY: u8 = 10;
    pub const DO_NOT_CONTACT: u8 = 11;
    pub const STORE: u8 = 12;
    pub const BACKUP: u8 = 13;
    pub const FILE: u8 = 14;
    pub const NETWORK: u8 = 15;
}

#[derive(Debug)]
pub enum CliError {
    /// Anything the core refused, in its public form.
    Core(ChungTayError),
    /// A wrong PIN, with the tries left before the store wipes itself.
    WrongPin { left: Option<i64> },
    /// No store file at the path.
    NoStore(PathBuf),
    /// The store has no leader to unlock as by default.
    NoLeader,
    /// No PIN source: no `--pin-stdin`, no environment variable, no terminal to ask on.
    NoSecret { env: &'static str },
    /// The PIN typed twice did not match.
    PinMismatch,
    /// `--pin` on the command line.
    PinOnCommandLine,
    /// `enroll --code` on the command line.
    CodeOnCommandLine,
    /// A command-line value of the wrong shape.
    BadFormat {
        field: &'static str,
        /// What was expected, in Vietnamese and English.
        expected: [&'static str; 2],
    },
    /// A value the CLI refuses before the core sees it.
    Invalid { field: String, reason: Reason },
    /// A destructive command without `--yes`.
    NeedsConfirmation { what: &'static str },
    /// An audit export that does not verify.
    Export(ExportError),
    /// An export whose signature holds but whose trail did not verify on the phone.
    ExportChainBroken,
    /// A file to write is a symbolic link: not followed.
    SymlinkRefused(PathBuf),
    /// Reading or writing a file the user named.
    File {
        path: PathBuf,
        error: std::io::Error,
    },
    /// clap refused the command line.
    Usage(clap::Error),
    /// No device key file where the store's key should be.
    DeviceKeyMissing(PathBuf),
    /// The device key file can be read by other accounts.
    DeviceKeyExposed(PathBuf),
    /// A new device key in the store's own folder, without `--key-beside-store`.
    KeyBesideStore(PathBuf),
    /// No per-user configuration folder to keep the device key in.
    NoConfigDir,
    /// A member list that cannot be imported as a whole (rows are reported, not errors).
    Import(chungtay_core::import::ImportError),
}

impl From<chungtay_core::Error> for CliError {
    fn from(e: chungtay_core::Error) -> Self {
        CliError::Core(e.into())
    }
}

impl From<ChungTayError> for CliError {
    fn from(e: ChungTayError) -> Self {
        CliError::Core(e)
    }
}

impl CliError {
    pub fn file(path: &std::path::Path, error: std::io::Error) -> CliError {
        CliError::File {
            path: path.to_owned(),
            error,
        }
    }

    pub fn exit_code(&self) -> u8 {
        use ChungTayError as E;
        match self {
            CliError::Core(e) => match e {
                E::WrongPin | E::Locked | E::UnknownUser => code::AUTH,
                E::TooSoon { .. } => code::TOO_SOON,
                E::Wiped | E::WipeIncomplete { .. } => code::WIPED,
                E::KeyUnavailable | E::KeystoreFailed { .. } => code::DEVICE_KEY,
                E::NotFound { .. } => code::NOT_FOUND,
                E::Invalid { .. } => code::INVALID,
                E::Forbidden { .. } => code::FORBIDDEN,
                E::Integrity { .. } | E::AuditBroken { .. } => code::INTEGRITY,
                E::DoNotContact => code::DO_NOT_CONTACT,
                E::NewerVersion { .. } | E::NotAStore | E::AlreadyExists => code::STORE,
                E::WrongRecoverySecret | E::BackupDamaged => code::BACKUP,
                E::Network { .. } | E::Refused { .. } => code::NETWORK,
                E::Storage { .. } => code::FILE,
                E::Internal { .. } | E::CalledFromCallback => code::INTERNAL,
            },
            CliError::WrongPin { .. } | CliError::NoLeader | CliError::NoSecret { .. } => {
                code::AUTH
            }
            CliError::NoStore(_) => code::STORE,
            CliError::PinMismatch
            | CliError::BadFormat { .. }
            | CliError::Invalid { .. }
            | CliError::NeedsConfirmation { .. } => code::INVALID,
            CliError::PinOnCommandLine | CliError::CodeOnCommandLine | CliError::Usage(_) => {
                code::USAGE
            }
            CliError::Export(_) | CliError::ExportChainBroken => code::INTEGRITY,
            CliError::File { .. } | CliError::SymlinkRefused(_) => code::FILE,
            CliError::DeviceKeyMissing(_) | CliError::DeviceKeyExposed(_) => code::DEVICE_KEY,
            CliError::KeyBesideStore(_) | CliError::NoConfigDir => code::USAGE,
            CliError::Import(_) => code::INVALID,
        }
    }

    /// A short stable name of the failure, for `--json`.
    pub fn kind(&self) -> &'static str {
        use ChungTayError as E;
        match self {
            CliError::Core(e) => match e {
                E::WrongPin => "wrong_pin",
                E::Locked => "locked",
                E::UnknownUser => "unknown_user",
                E::KeyUnavailable => "key_unavailable",
                E::KeystoreFailed { .. } => "keystore_failed",
                E::NotFound { .. } => "not_found",
                E::Invalid { .. } => "invalid",
                E::Integrity { .. } => "integrity",
                E::NewerVersion { .. } => "newer_version",
                E::NotAStore => "not_a_store",
                E::AlreadyExists => "already_exists",
                E::TooSoon { .. } => "too_soon",
                E::Wiped => "wiped",
                E::WipeIncomplete { .. } => "wipe_incomplete",
                E::DoNotContact => "do_not_contact",
                E::WrongRecoverySecret => "wrong_recovery_secret",
                E::BackupDamaged => "backup_damaged",
                E::Forbidden { .. } => "forbidden",
                E::AuditBroken { .. } => "audit_broken",
                E::Network { .. } => "network",
                E::Refused { .. } => "refused",
                E::Storage { .. } => "storage",
                E::Internal { .. } => "internal",
                E::CalledFromCallback => "called_from_callback",
            },
            CliError::WrongPin { .. } => "wrong_pin",
            CliError::NoStore(_) => "no_store",
            CliError::NoLeader => "no_leader",
            CliError::NoSecret { .. } => "no_pin",
            CliError::PinMismatch => "pin_mismatch",
            CliError::PinOnCommandLine => "pin_on_command_line",
            CliError::CodeOnCommandLine => "code_on_command_line",
            CliError::BadFormat { .. } | CliError::Invalid { .. } => "invalid",
            CliError::NeedsConfirmation { .. } => "needs_confirmation",
            CliError::Export(_) | CliError::ExportChainBroken => "export_invalid",
            CliError::File { .. } | CliError::SymlinkRefused(_) => "file",
            CliError::Usage(_) => "usage",
            CliError::DeviceKeyMissing(_) => "key_unavailable",
            CliError::DeviceKeyExposed(_) => "device_key_exposed",
            CliError::KeyBesideStore(_) => "key_beside_store",
            CliError::NoConfigDir => "no_config_dir",
            CliError::Import(_) => "import",
        }
    }

    /// The message, one line, in `lang`.
    pub fn message(&self, lang: Lang) -> String {
        match self {
            CliError::Core(e) => core_message(e, lang),
            CliError::WrongPin { left: Some(left) } => tr!(
                lang,
                "Sai mã PIN (còn {left} lần thử trước khi dữ liệu bị xoá).",
                "Wrong PIN ({left} tries left before the store wipes itself)."
            ),
            CliError::WrongPin { left: None } => tr!(lang, "Sai mã PIN.", "Wrong PIN."),
            CliError::NoStore(path) => {
                let path = path.display();
                tr!(
                    lang,
                    "Không có kho dữ liệu tại {path}: tạo bằng `chungtay init` hoặc chọn bằng --store.",
                    "No store at {path}: create one with `chungtay init` or choose one with --store."
                )
            }
            CliError::NoLeader => tr!(
                lang,
                "Kho không có chủ nhiệm để mở mặc định: chọn người dùng bằng --user.",
                "The store has no leader to unlock as by default: choose a user with --user."
            ),
            CliError::NoSecret { env } if *env == crate::ctx::ENV_ENROLL_CODE => tr!(
                lang,
                "Chưa có mã đăng ký một lần: nhập khi được hỏi (cần màn hình), hoặc dùng --pin-stdin (dòng 2, sau mã PIN), hoặc biến môi trường {env}.",
                "No one-time enrollment code given: type it when asked (needs a terminal), or use --pin-stdin (line 2, after the PIN), or the environment variable {env}."
            ),
            CliError::NoSecret { env } => tr!(
                lang,
                "Chưa có mã PIN: nhập khi được hỏi (cần màn hình), hoặc dùng --pin-stdin, hoặc biến môi trường {env}.",
                "No PIN given: type it when asked (needs a terminal), or use --pin-stdin, or the environment variable {env}."
            ),
            CliError::PinMismatch => tr!(
                lang,
                "Hai lần nhập mã PIN không khớp nhau.",
                "The two PINs typed do not match."
            ),
            CliError::PinOnCommandLine => tr!(
                lang,
                "Không nhận mã PIN trên dòng lệnh (lộ trong danh sách tiến trình và lịch sử lệnh): dùng --pin-stdin, biến môi trường CHUNGTAY_PIN, hoặc nhập khi được hỏi.",
                "PINs are never taken from the command line (they show in the process list and shell history): use --pin-stdin, the CHUNGTAY_PIN environment variable, or type it when asked."
            ),
            CliError::CodeOnCommandLine => tr!(
                lang,
                "Không nhận mã đăng ký trên dòng lệnh (lộ trong danh sách tiến trình và lịch sử lệnh): dùng biến môi trường CHUNGTAY_ENROLL_CODE, --pin-stdin (dòng 2), hoặc nhập khi được hỏi.",
                "The enrollment code is never taken from the command line (it shows in the process list and shell history): use the CHUNGTAY_ENROLL_CODE environment variable, --pin-stdin (line 2), or type it when asked."
            ),
            CliError::BadFormat { field, expected } => {
                let field = lang.field(field);
                let expected = lang.pick(expected[0], expected[1]);
                tr!(
                    lang,
                    "{field} sai định dạng: cần {expected}.",
                    "{field} has the wrong format: expected {expected}."
                )
            }
            CliError::Invalid { field, reason } => {
                let field = lang.field(field);
                let why = lang.reason(reason);
                tr!(
                    lang,
                    "Không hợp lệ: {field} {why}.",
                    "Invalid: {field} {why}."
                )
            }
            CliError::NeedsConfirmation { what } => tr!(
                lang,
                "Thao tác {what} không thể hoàn tác: thêm --yes để xác nhận.",
                "{what} cannot be undone: add --yes to confirm."
            ),
            CliError::Export(e) => match e {
                ExportError::Malformed => tr!(
                    lang,
                    "Tệp không phải bản xuất nhật ký kiểm tra.",
                    "The file is not an audit export."
                ),
                ExportError::WrongDevice => tr!(
                    lang,
                    "Bản xuất được ký bởi thiết bị khác, không phải khoá công khai đã cho.",
                    "The export was signed by another device than the public key given."
                ),
                ExportError::BadSignature => tr!(
                    lang,
                    "Bản xuất đã bị sửa sau khi ký: chữ ký không khớp.",
                    "The export was altered after it was signed: the signature does not match."
                ),
            },
            CliError::ExportChainBroken => tr!(
                lang,
                "Chữ ký đúng, nhưng nhật ký đã không kiểm tra được trên điện thoại lúc xuất.",
                "The signature holds, but the trail did not verify on the phone when it was exported."
            ),
            CliError::File { path, error } => {
                let path = path.display();
                let why = io_reason(error, lang);
                tr!(
                    lang,
                    "Lỗi tệp {path}: {why}.",
                    "File error on {path}: {why}."
                )
            }
            CliError::SymlinkRefused(path) => {
                let path = path.display();
                tr!(
                    lang,
                    "Không ghi vào {path}: đó là liên kết tượng trưng (symlink), có thể trỏ đến nơi khác. Hãy chọn một tệp thường.",
                    "Not writing to {path}: it is a symbolic link, which could point elsewhere. Choose a regular file."
                )
            }
            CliError::Usage(e) => usage_message(e, lang),
            CliError::DeviceKeyMissing(path) => {
                let path = path.display();
                tr!(
                    lang,
                    "Không có khoá thiết bị của kho tại {path}. Nếu kho đã được chuyển chỗ hoặc khoá được để nơi khác, chỉ ra tệp khoá bằng --device-key; nếu khoá đã mất, hãy khôi phục từ bản sao lưu.",
                    "No device key for this store at {path}. If the store was moved or the key is kept elsewhere, name the key file with --device-key; if the key is lost, restore from a backup."
                )
            }
            CliError::DeviceKeyExposed(path) => {
                let path = path.display();
                tr!(
                    lang,
                    "Tệp khoá thiết bị {path} để tài khoản khác trên máy đọc được: ai đã đọc nó có thể dò mã PIN của một bản chép của kho. Chỉ để chủ đọc: chmod 600 \"{path}\" (và nếu có thể, đổi mã PIN).",
                    "The device key file {path} can be read by other accounts on this computer: whoever read it can guess the PIN of a copy of the store. Make it owner-only: chmod 600 \"{path}\" (and change the PIN if you can)."
                )
            }
            CliError::KeyBesideStore(path) => {
                let path = path.display();
                tr!(
                    lang,
                    "Không tạo khoá thiết bị {path} trong cùng thư mục với kho: ai chép thư mục đó sẽ có cả khoá và dò được mã PIN trên máy khác. Bỏ --device-key để khoá nằm trong thư mục cấu hình của người dùng, hoặc thêm --key-beside-store nếu thật sự cần.",
                    "Not creating the device key {path} in the store's folder: whoever copies that folder would get the key too and could guess the PIN on another computer. Leave out --device-key to keep it in the per-user configuration folder, or add --key-beside-store if you must."
                )
            }
            CliError::NoConfigDir => tr!(
                lang,
                "Không xác định được thư mục cấu hình của người dùng để giữ khoá thiết bị (không có HOME hay XDG_CONFIG_HOME): đặt biến môi trường CHUNGTAY_CONFIG_DIR hoặc dùng --device-key.",
                "No per-user configuration folder to keep the device key in (no HOME or XDG_CONFIG_HOME): set CHUNGTAY_CONFIG_DIR or use --device-key."
            ),
            CliError::Import(e) => import_message(e, lang),
        }
    }
}

/// Why a list cannot be imported, naming the column or the limit and never a cell's content.
fn import_message(e: &chungtay_core::import::ImportError, lang: Lang) -> String {
    use chungtay_core::import::ImportError as I;
    let max_rows = chungtay_core::import::MAX_ROWS;
    match e {
        I::NoHeader => tr!(
            lang,
            "Không tìm thấy dòng tiêu đề có cột họ tên trong 20 dòng đầu: chỉ rõ bằng --map name=\"tiêu đề\".",
            "No header row with a full-name column in the first 20 rows: name it with --map name=\"header\"."
        ),
        I::Undecodable => tr!(
            lang,
            "Không tìm thấy dòng tiêu đề, và các dòng đầu có ký tự bảng mã không đọc được: chỉ rõ bảng mã bằng --encoding (utf-8, windows-1258, windows-1252).",
            "No header row found, and the top rows hold bytes the encoding cannot read: name the encoding with --encoding (utf-8, windows-1258, windows-1252)."
        ),
        I::MissingColumn(c) => {
            let (vi, en) = (c.header_vi(), c.header_en());
            let key = c.key();
            let or_default = if key == "ethnic_group" {
                lang.pick(
                    ", hoặc cho một dân tộc chung bằng --ethnic-group",
                    ", or give one for all with --ethnic-group",
                )
            } else {
                ""
            };
            tr!(
                lang,
                "Tệp không có cột {vi}: chỉ rõ bằng --map {key}=\"tiêu đề\"{or_default}.",
                "The file has no {en} column: name it with --map {key}=\"header\"{or_default}."
            )
        }
        I::MappedHeaderNotFound { column, header } => {
            let key = column.key();
            let header = crate::output::shown(header);
            tr!(
                lang,
                "--map {key}: không có cột nào có tiêu đề \"{header}\".",
                "--map {key}: no column is headed \"{header}\"."
            )
        }
        I::DuplicateColumn(c) => {
            let (vi, en) = (c.header_vi(), c.header_en());
            tr!(
                lang,
                "Hai cột cùng được đọc là {vi}: chọn một bằng --map.",
                "Two columns read as {en}: choose one with --map."
            )
        }
        I::TooManyRows => tr!(
            lang,
            "Tệp có hơn {max_rows} dòng: không phải danh sách của một câu lạc bộ.",
            "The file has more than {max_rows} rows: not one club's list."
        ),
        I::Unreadable { expected, detail } => {
            let detail = crate::output::shown(detail);
            tr!(
                lang,
                "Không đọc được tệp (cần {expected}): {detail}.",
                "Cannot read the file (expected {expected}): {detail}."
            )
        }
        I::TooLarge { max_mb } => tr!(
            lang,
            "Tệp lớn hơn {max_mb} MB (hoặc giải nén ra quá lớn).",
            "The file is larger than {max_mb} MB (or unpacks to too much)."
        ),
        I::UnknownEncoding(name) => {
            let name = crate::output::shown(name);
            tr!(
                lang,
                "Không biết bảng mã \"{name}\": dùng utf-8, windows-1258 hoặc windows-1252.",
                "Unknown encoding \"{name}\": use utf-8, windows-1258 or windows-1252."
            )
        }
    }
}

fn io_reason(e: &std::io::Error, lang: Lang) -> String {
    use std::io::ErrorKind as K;
    match e.kind() {
        K::NotFound => lang.pick("không tồn tại", "not found").to_owned(),
        K::PermissionDenied => lang.pick("không có quyền", "permission denied").to_owned(),
        K::AlreadyExists => lang.pick("đã tồn tại", "already exists").to_owned(),
        _ => e.to_string(),
    }
}

pub(crate) fn chain_break(b: &ChainBreak, lang: Lang) -> String {
    match b {
        ChainBreak::Sequence { expected, found } => tr!(
            lang,
            "mục {expected} bị thiếu hoặc sai thứ tự (gặp {found})",
            "entry {expected} is missing or out of order (found {found})"
        ),
        ChainBreak::BadMac { seq } => tr!(
            lang,
            "mục {seq} không khớp mã xác thực (bị sửa, chèn hoặc dời)",
            "entry {seq} does not match its MAC (altered, inserted or moved)"
        ),
        ChainBreak::Truncated { last, head } => tr!(
            lang,
            "nhật ký dừng ở mục {last} nhưng phần đầu ghi {head} (bị cắt)",
            "the log ends at {last} but its head says {head} (cut)"
        ),
        ChainBreak::BadHead => tr!(
            lang,
            "phần đầu của nhật ký không khớp các mục",
            "the log head does not match the entries"
        ),
        ChainBreak::AnnotationGone { seq } => tr!(
            lang,
            "ghi chú của cán bộ kiểm tra ghi ở mục {seq} đã bị xoá",
            "the auditor's note recorded at entry {seq} was deleted"
        ),
        ChainBreak::Record { kind, id, reason } => {
            let kind = lang.record_kind(*kind);
            let reason = lang.damage(*reason);
            tr!(lang, "{kind} {id} {reason}", "{kind} {id} {reason}")
        }
    }
}

fn core_message(e: &ChungTayError, lang: Lang) -> String {
    use ChungTayError as E;
    match e {
        E::WrongPin => tr!(lang, "Sai mã PIN.", "Wrong PIN."),
        E::Locked => tr!(
            lang,
            "Kho đang khoá: cần mở bằng mã PIN.",
            "The store is locked: unlock it with a PIN."
        ),
        E::UnknownUser => tr!(
            lang,
            "Không có người dùng này trong kho (xem `chungtay users`).",
            "No such user in this store (see `chungtay users`)."
        ),
        E::KeyUnavailable => tr!(
            lang,
            "Không dùng được khoá thiết bị của kho (tệp khoá bị mất, bị hỏng hoặc của máy khác): hãy khôi phục từ bản sao lưu.",
            "This device's key for the store is unavailable (key file missing, damaged or from another device): restore from a backup."
        ),
        E::KeystoreFailed { .. } => tr!(
            lang,
            "Khoá thiết bị tạm thời lỗi: hãy thử lại.",
            "The device key failed this time: try again."
        ),
        E::NotFound { kind, id } => {
            let kind_vi = Lang::Vi.record_kind(*kind);
            let kind_en = Lang::En.record_kind(*kind);
            // The id is what the user typed, and may be a name (`member show "Vi Thị Hoa"`):
            // repeat it only when it has the shape of a record id.
            let id = if uuid::Uuid::try_parse(id).is_ok() {
                format!(" {id}")
            } else {
                String::new()
            };
            tr!(
                lang,
                "Không tìm thấy {kind_vi}{id}.",
                "{kind_en}{id} not found."
            )
        }
        E::Invalid { field, reason } => {
            let field = lang.field(field);
            let why = lang.reason(reason);
            tr!(
                lang,
                "Không hợp lệ: {field} {why}.",
                "Invalid: {field} {why}."
            )
        }
        E::Integrity { kind, id } => {
            let kind = lang.record_kind(*kind);
            tr!(
                lang,
                "{kind} {id} không qua được kiểm tra toàn vẹn (bị sửa, dời hoặc hỏng).",
                "{kind} {id} failed its integrity check (altered, moved or damaged)."
            )
        }
        E::NewerVersion { found, supported } => tr!(
            lang,
            "Kho được ghi bởi phiên bản mới hơn (lược đồ {found}, bản này biết {supported}): hãy cập nhật.",
            "The store was written by a newer version (schema {found}, this one knows {supported}): update."
        ),
        E::NotAStore => tr!(
            lang,
            "Tệp này không phải kho Chung Tay, hoặc kho bị hỏng.",
            "Not a Chung Tay store, or the store is damaged."
        ),
        E::AlreadyExists => tr!(
            lang,
            "Đã có kho dữ liệu tại đường dẫn này.",
            "A store already exists at this path."
        ),
        E::TooSoon { retry_after_secs } => tr!(
            lang,
            "Nhập sai mã PIN quá nhiều lần: hãy thử lại sau {retry_after_secs} giây.",
            "Too many wrong PINs: try again in {retry_after_secs} s."
        ),
        E::Wiped => tr!(
            lang,
            "Kho dữ liệu đã tự xoá sau quá nhiều lần nhập sai mã PIN.",
            "The store wiped itself after too many wrong PINs."
        ),
        E::WipeIncomplete { .. } => tr!(
            lang,
            "Kho dữ liệu đã bị xoá, nhưng không xoá được khoá thiết bị: bản sao các tệp lấy từ trước vẫn có thể mở bằng mã PIN trên máy này. Hãy xoá tệp khoá thiết bị.",
            "The store was wiped, but the device key could not be destroyed: copies of the files taken earlier could still open with a PIN on this device. Delete the device key file."
        ),
        E::DoNotContact => tr!(
            lang,
            "Không được liên lạc với thành viên này.",
            "This member must not be contacted."
        ),
        E::WrongRecoverySecret => tr!(lang, "Sai mã khôi phục.", "Wrong recovery secret."),
        E::BackupDamaged => tr!(
            lang,
            "Tệp sao lưu bị hỏng hoặc không phải bản sao lưu.",
            "The backup file is damaged or not a backup."
        ),
        E::Forbidden { permission } => {
            let what = lang.permission(*permission);
            tr!(
                lang,
                "Vai trò của bạn không được phép: {what}.",
                "Not allowed for your role: {what}."
            )
        }
        E::AuditBroken { problem } => {
            let why = chain_break(problem, lang);
            tr!(
                lang,
                "Nhật ký kiểm tra đã bị can thiệp: {why}.",
                "The audit trail is broken: {why}."
            )
        }
        E::Network { detail } => tr!(
            lang,
            "Lỗi mạng (dữ liệu vẫn chờ gửi): {detail}.",
            "Network problem (everything stays queued): {detail}."
        ),
        E::Refused { status, reason } => tr!(
            lang,
            "Máy chủ từ chối ({status}): {reason}.",
            "The server refused ({status}): {reason}."
        ),
        E::Storage { detail } => tr!(lang, "Lỗi lưu trữ: {detail}.", "Storage error: {detail}."),
        E::Internal { detail } => tr!(lang, "Lỗi nội bộ: {detail}.", "Internal error: {detail}."),
        // The CLI has no callbacks into the store; kept for completeness of the mapping.
        E::CalledFromCallback => tr!(
            lang,
            "Lỗi nội bộ: gọi kho từ bên trong một hàm gọi lại (callback).",
            "Internal error: a store call from inside a callback."
        ),
    }
}

/// clap's refusals, in one line, naming the flag but never echoing the value typed (it may be
/// a name).
fn usage_message(e: &clap::Error, lang: Lang) -> String {
    use clap::error::{ContextKind, ContextValue, ErrorKind};
    let context = |kind: ContextKind| match e.get(kind) {
        Some(ContextValue::String(s)) => s.clone(),
        Some(ContextValue::Strings(v)) => v.join(", "),
        _ => String::new(),
    };
    let arg = context(ContextKind::InvalidArg);
    let see = lang.pick("Xem `chungtay --help`.", "See `chungtay --help`.");
    let what = match e.kind() {
        ErrorKind::InvalidValue => {
            let valid = context(ContextKind::ValidValue);
            if valid.is_empty() {
                tr!(
                    lang,
                    "giá trị không hợp lệ cho {arg}",
                    "invalid value for {arg}"
                )
            } else {
                tr!(
                    lang,
                    "giá trị không hợp lệ cho {arg} (chọn một trong: {valid})",
                    "invalid value for {arg} (one of: {valid})"
                )
            }
        }
        ErrorKind::UnknownArgument => tr!(
            lang,
            "có tham số không nhận ra (tên có dấu cách cần đặt trong ngoặc kép)",
            "an argument was not recognised (names with spaces need quotes)"
        ),
        ErrorKind::InvalidSubcommand => {
            tr!(lang, "không có lệnh này", "no such command")
        }
        ErrorKind::MissingRequiredArgument => tr!(
            lang,
            "thiếu tham số bắt buộc: {arg}",
            "a required argument is missing: {arg}"
        ),
        ErrorKind::MissingSubcommand | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => {
            tr!(lang, "thiếu lệnh con", "a subcommand is missing")
        }
        ErrorKind::ArgumentConflict => tr!(
            lang,
            "hai tham số không dùng cùng nhau được: {arg}",
            "two arguments cannot be used together: {arg}"
        ),
        ErrorKind::ValueValidation => tr!(
            lang,
            "giá trị không hợp lệ cho {arg}",
            "invalid value for {arg}"
        ),
        ErrorKind::TooManyValues | ErrorKind::WrongNumberOfValues | ErrorKind::TooFewValues => {
            tr!(
                lang,
                "số giá trị không đúng cho {arg}",
                "wrong number of values for {arg}"
            )
        }
        _ => tr!(
            lang,
            "dòng lệnh không hợp lệ",
            "the command line is not valid"
        ),
    };
    tr!(
        lang,
        "Dòng lệnh không hợp lệ: {what}. {see}",
        "Invalid command line: {what}. {see}"
    )
}

impl CliError {
    pub fn exit(&self) -> ExitCode {
        ExitCode::from(self.exit_code())
    }
}
