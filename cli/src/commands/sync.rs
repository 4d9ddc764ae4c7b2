//! `chungtay enroll`, `chungtay enrollment`, `chungtay referral send`, `chungtay sync`, `chungtay outbox`: the referral
//! path to the provincial union (scenario 2).

use std::path::PathBuf;

use serde::Serialize;

use crate::commands::read_file;
use crate::ctx::{Ctx, Secret};
use crate::error::CliError;
use crate::output::{Output, shown, table};

#[derive(clap::Args)]
pub struct EnrollArgs {
    /// Địa chỉ máy chủ Hội tỉnh (https://..., hoặc http://127.0.0.1 khi thử) / the province's
    /// server (https://..., or http://127.0.0.1 for trials)
    #[arg(long)]
    pub server: String,
    /// Refused: the one-time code is read like a PIN (prompt, --pin-stdin line 2, or
    /// CHUNGTAY_ENROLL_CODE), never from the command line.
    #[arg(
        long,
        hide = true,
        value_name = "CODE",
        num_args = 0..=1,
        default_missing_value = ""
    )]
    pub code: Option<String>,
    /// Chứng chỉ tự ký của máy chủ (PEM) để ghim / the server's self-signed certificate (PEM)
    /// to pin
    #[arg(long, value_name = "FILE")]
    pub certificate: Option<PathBuf>,
    /// Dấu vân tay khoá của Hội tỉnh in kèm mã: từ chối nếu không khớp / the province key
    /// fingerprint printed beside the code: refused if it does not match
    #[arg(long)]
    pub fingerprint: Option<String>,
}

#[derive(clap::Args)]
pub struct SyncArgs {
    /// Gửi ngay mọi thứ đang chờ (trừ khi máy chủ bảo chờ) / send everything waiting now
    /// (except what the server asked to hold back)
    #[arg(long)]
    pub now: bool,
}

#[derive(Serialize)]
struct EnrollView {
    server_url: String,
    device_id: String,
    province_fingerprint: String,
}

pub fn enroll(ctx: &mut Ctx, args: EnrollArgs) -> Result<Output, CliError> {
    let lang = ctx.lang();
    // On argv the code shows in `ps` and shell history; refuse it before any use.
    if args.code.is_some() {
        return Err(CliError::CodeOnCommandLine);
    }
    let certificate = match &args.certificate {
        Some(path) => Some(String::from_utf8(read_file(path)?).map_err(|_| {
            CliError::Core(chungtay_core::ChungTayError::Invalid {
                field: "certificate".into(),
                reason: chungtay_core::Reason::Missing,
            })
        })?),
        None => None,
    };
    let mut store = ctx.open()?;
    // After the PIN: on --pin-stdin the code is line 2.
    let code = ctx.secret(Secret::EnrollCode)?;
    let info = store.enroll_expecting(
        &args.server,
        &code,
        certificate.as_deref(),
        args.fingerprint.as_deref(),
    )?;
    let text = format!(
        "{} {}\n{} {}\n",
        lang.pick("Đã đăng ký, mã thiết bị:", "Enrolled, device id:"),
        info.device_id,
        lang.pick(
            "Dấu vân tay khoá của Hội tỉnh (so với tờ giấy kèm mã):",
            "Province key fingerprint (compare with the paper beside the code):"
        ),
        info.province_fingerprint
    );
    Output::new(
        EnrollView {
            server_url: info.server_url,
            device_id: info.device_id,
            province_fingerprint: info.province_fingerprint,
        },
        text,
    )
}

/// `chungtay enrollment`: where this store is enrolled, to compare the fingerprint again.
pub fn enrollment(ctx: &mut Ctx) -> Result<Output, CliError> {
    let lang = ctx.lang();
    let store = ctx.open()?;
    match store.enrollment_info()? {
        None => Output::new(
            serde_json::json!({ "enrolled": false }),
            lang.pick_owned(
                "Chưa đăng ký với Hội tỉnh (`chungtay enroll`).",
                "Not enrolled with the province (`chungtay enroll`).",
            ),
        ),
        Some(info) => {
            let text = crate::output::fields(&[
                (lang.pick("Máy chủ", "Server"), info.server_url.clone()),
                (
                    lang.pick("Mã thiết bị", "Device id"),
                    info.device_id.clone(),
                ),
                (
                    lang.pick("Dấu vân tay khoá của Hội tỉnh", "Province key fingerprint"),
                    info.province_fingerprint.clone(),
                ),
            ]);
            Output::new(
                serde_json::json!({
                    "enrolled": true,
                    "server_url": info.server_url,
                    "device_id": info.device_id,
                    "province_fingerprint": info.province_fingerprint,
                }),
                text,
            )
        }
    }
}

pub fn send(ctx: &mut Ctx, id: String) -> Result<Output, CliError> {
    let lang = ctx.lang();
    let mut store = ctx.open()?;
    store.queue_referral(&id)?;
    Output::new(
        serde_json::json!({ "referral_id": id, "state": "queued" }),
        format!(
            "{} {id}\n",
            lang.pick(
                "Đã niêm phong và xếp vào hộp thư đi:",
                "Sealed for the province and queued:"
            )
        ),
    )
}

#[derive(Serialize)]
struct SyncView {
    sent: i64,
    failed: i64,
    still_pending: i64,
    statuses_applied: i64,
    statuses_not_understood: i64,
    checkpoint_sent: bool,
    network_error: Option<String>,
    server_refused: Option<String>,
    trail_mismatch: Option<i64>,
    trail_broken: Option<String>,
}

pub fn sync(ctx: &mut Ctx, args: SyncArgs) -> Result<Output, CliError> {
    let lang = ctx.lang();
    let mut store = ctx.open()?;
    let r = store.sync(args.now, &mut |_| {})?;
    let mut text = format!(
        "{} {}, {} {}, {} {}, {} {}\n",
        lang.pick("Đã gửi", "Sent"),
        r.sent,
        lang.pick("bị từ chối", "refused"),
        r.failed,
        lang.pick("còn chờ", "waiting"),
        r.still_pending,
        lang.pick("trả lời mới", "new answers"),
        r.statuses_applied
    );
    if r.statuses_not_understood > 0 {
        text.push_str(&format!(
            "{} {}\n",
            r.statuses_not_understood,
            lang.pick(
                "trả lời ở trạng thái mà phiên bản này chưa biết: hãy cập nhật ứng dụng",
                "answers in a state this version does not know: update the app"
            )
        ));
    }
    if let Some(e) = &r.network_error {
        let e = shown(e);
        text.push_str(&format!(
            "{} ({e})\n",
            lang.pick(
                "Không kết nối được; mọi thứ vẫn nằm trong hộp thư đi",
                "Could not reach the server; everything stays in the outbox"
            )
        ));
    }
    if let Some(e) = &r.server_refused {
        let e = shown(e);
        text.push_str(&format!(
            "{} ({e})\n",
            lang.pick("Máy chủ từ chối", "The server refused")
        ));
    }
    if let Some(seq) = r.trail_mismatch {
        text.push_str(&format!(
            "{} ({seq})\n",
            lang.pick(
                "Nhật ký của máy này không khớp với bản Hội tỉnh giữ: có phải dữ liệu cũ được khôi phục?",
                "This phone's trail does not match the province's copy: was older data restored?"
            )
        ));
    }
    if let Some(b) = &r.trail_broken {
        let problem = crate::error::chain_break(b, lang);
        text.push_str(&crate::lang::tr!(
            lang,
            "Không gửi giới thiệu nào: nhật ký kiểm tra của máy này bị can thiệp ({problem}). Các giới thiệu vẫn chờ trong hộp thư đi; xem `chungtay audit findings`.\n",
            "No referral was sent: this phone's audit trail was tampered with ({problem}). They wait in the outbox; see `chungtay audit findings`.\n"
        ));
    }
    Output::new(
        SyncView {
            sent: r.sent,
            failed: r.failed,
            still_pending: r.still_pending,
            statuses_applied: r.statuses_applied,
            statuses_not_understood: r.statuses_not_understood,
            checkpoint_sent: r.checkpoint_sent,
            network_error: r.network_error,
            server_refused: r.server_refused,
            trail_mismatch: r.trail_mismatch,
            trail_broken: r.trail_broken.as_ref().map(|b| b.to_string()),
        },
        text,
    )
}

#[derive(Serialize)]
struct OutboxView {
    referral_id: String,
    state: String,
    attempts: i64,
    next_attempt_at: String,
    last_error: String,
}

pub fn outbox(ctx: &mut Ctx) -> Result<Output, CliError> {
    let lang = ctx.lang();
    let store = ctx.open()?;
    let items: Vec<OutboxView> = store
        .outbox()?
        .into_iter()
        .map(|i| OutboxView {
            referral_id: i.referral_id,
            state: format!("{:?}", i.state).to_lowercase(),
            attempts: i.attempts,
            next_attempt_at: i.next_attempt_at.to_rfc3339(),
            last_error: i.last_error,
        })
        .collect();
    let rows: Vec<Vec<String>> = items
        .iter()
        .map(|i| {
            vec![
                i.referral_id.clone(),
                match i.state.as_str() {
                    "pending" => lang.pick("đang chờ", "pending"),
                    "sent" => lang.pick("đã gửi", "sent"),
                    "failed" => lang.pick("bị từ chối", "refused"),
                    other => other,
                }
                .to_owned(),
                i.attempts.to_string(),
                i.last_error.clone(),
            ]
        })
        .collect();
    let text = table(
        &[
            lang.pick("Giới thiệu", "Referral"),
            lang.pick("Trạng thái", "State"),
            lang.pick("Số lần", "Tries"),
            lang.pick("Lỗi gần nhất", "Last error"),
        ],
        &rows,
    );
    Output::new(items, text)
}
