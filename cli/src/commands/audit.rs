//! `chungtay audit verify|trail|annotate|notes|findings|export|verify-export`.

use std::path::PathBuf;

use chungtay_core::verify_export;
use chungtay_core::{AuditEntry, OverdueThresholds};

use crate::args::{self, ActionArg, RecordKindArg, ToCore};
use crate::commands::{read_file, write_file};
use crate::ctx::Ctx;
use crate::error::CliError;
use crate::lang::{Lang, tr};
use crate::output::{Output, fields, table};
use crate::views::{AnnotationView, AuditEntryView, FindingsView};

#[derive(clap::Subcommand)]
pub enum AuditCmd {
    /// Kiểm tra toàn bộ nhật ký / verify the whole audit trail
    Verify,
    /// Xem nhật ký, mới nhất trước, từng trang / the trail on screen, newest first, page by page
    Trail {
        /// Chỉ việc của người dùng này (`--user` là người mở kho) / only this user's actions
        /// (`--user` is who unlocks)
        #[arg(long, value_name = "USER_ID")]
        by: Option<String>,
        /// Chỉ loại việc này / only this action
        #[arg(long, value_enum)]
        action: Option<ActionArg>,
        /// Chỉ những mục về đúng hồ sơ này (cả lịch sử của một thành viên: `member history`) /
        /// only entries about this very record (a member's whole history: `member history`)
        #[arg(long, value_name = "ID")]
        record: Option<String>,
        /// Trang (từ 1, trang 1 là mới nhất) / page (from 1, page 1 the newest)
        #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u64).range(1..))]
        page: u64,
        /// Số mục mỗi trang / entries per page
        #[arg(long, default_value_t = 50, value_parser = clap::value_parser!(u64).range(1..=1000))]
        per_page: u64,
    },
    /// Các điểm mốc đã ký của nhật ký (mỗi lần đồng bộ), chữ ký kiểm tra bằng khoá thiết bị /
    /// the trail's signed checkpoints (one per sync), each signature checked with the device key
    Checkpoints,
    /// Ghi chú kiểm tra về một hồ sơ (việc ghi duy nhất của cán bộ kiểm tra) / an auditor's
    /// note on a record (the auditor's only write)
    Annotate {
        /// Loại hồ sơ / the record's kind
        #[arg(long, value_enum)]
        kind: RecordKindArg,
        /// Mã hồ sơ / the record's id
        id: String,
        /// Nội dung ghi chú / the note
        #[arg(long)]
        note: String,
    },
    /// Các ghi chú kiểm tra về một hồ sơ / the auditors' notes on a record
    Notes {
        /// Loại hồ sơ / the record's kind
        #[arg(long, value_enum)]
        kind: RecordKindArg,
        /// Mã hồ sơ / the record's id
        id: String,
    },
    /// Những điều cán bộ kiểm tra xem trước tiên / what a field visit checks first
    Findings {
        /// Buổi sinh hoạt sửa sau ngần này ngày thì bị đánh dấu / flag meetings changed this many
        /// days after they took place
        #[arg(long, default_value_t = 7)]
        late_edit_days: i64,
    },
    /// Xuất nhật ký có chữ ký của thiết bị / export the trail signed by the device
    Export {
        /// Tệp JSON có chữ ký / the signed JSON file
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
        /// Tệp CSV để đọc / the same entries as CSV
        #[arg(long, value_name = "FILE")]
        csv: Option<PathBuf>,
    },
    /// Kiểm tra một bản xuất, không cần kho / verify an export offline, no store needed
    VerifyExport {
        /// Tệp JSON có chữ ký / the signed JSON file
        file: PathBuf,
        /// Khoá công khai của thiết bị (hex hoặc base64), lấy từ điện thoại hoặc hồ sơ đăng ký,
        /// không lấy từ tệp / the device's public key (hex or base64), from the phone or the
        /// enrollment records, never from the file
        #[arg(long, value_name = "KEY")]
        public_key: String,
    },
}

fn hex(bytes: &[u8]) -> String {
    data_encoding::HEXLOWER.encode(bytes)
}

pub fn run(ctx: &mut Ctx, cmd: AuditCmd) -> Result<Output, CliError> {
    let lang = ctx.lang();
    match cmd {
        AuditCmd::VerifyExport { file, public_key } => {
            let key = args::public_key(&public_key)?;
            let bytes = read_file(&file)?;
            let text = String::from_utf8(bytes)
                .map_err(|_| CliError::Export(chungtay_core::trail::ExportError::Malformed))?;
            let doc = verify_export(&text, &key).map_err(CliError::Export)?;
            if !doc.chain_verified {
                return Err(CliError::ExportChainBroken);
            }
            let entries = doc.entries.len();
            let mut out = tr!(
                lang,
                "Bản xuất hợp lệ: chữ ký đúng, nhật ký đã được kiểm tra khi xuất.\n",
                "The export is valid: the signature holds and the trail verified when exported.\n"
            );
            out.push_str(&fields(&[
                (lang.pick("Kho", "Store"), doc.store_id.clone()),
                (lang.pick("Thiết bị", "Device"), doc.device_id.clone()),
                (
                    lang.pick("Xuất lúc", "Exported at"),
                    doc.exported_at.clone(),
                ),
                (
                    lang.pick("Người xuất", "Exported by"),
                    doc.exported_by.clone(),
                ),
                (lang.pick("Số mục", "Entries"), entries.to_string()),
            ]));
            Output::new(
                serde_json::json!({
                    "valid": true,
                    "store_id": doc.store_id,
                    "device_id": doc.device_id,
                    "exported_at": doc.exported_at,
                    "exported_by": doc.exported_by,
                    "chain_verified": doc.chain_verified,
                    "entries": entries,
                }),
                out,
            )
        }
        AuditCmd::Verify => {
            let store = ctx.open()?;
            let last = store.verify_audit()?;
            let text = tr!(
                lang,
                "Nhật ký kiểm tra nguyên vẹn: {last} mục.",
                "The audit trail verifies: {last} entries."
            );
            Output::new(serde_json::json!({ "ok": true, "entries": last }), text)
        }
        AuditCmd::Trail {
            by,
            action,
            record,
            page,
            per_page,
        } => {
            let store = ctx.open()?;
            let action = action.map(|a| a.core());
            let mut entries = store.audit_entries()?;
            entries.retain(|e| {
                by.as_ref().is_none_or(|u| &e.user_id == u)
                    && action.is_none_or(|a| e.action == a)
                    && record.as_ref().is_none_or(|r| &e.record_id == r)
            });
            entries.reverse();
            trail_page(lang, &entries, page, per_page)
        }
        AuditCmd::Checkpoints => {
            let store = ctx.open()?;
            let key = store.device_public_key()?;
            let checkpoints = store.checkpoints()?;
            let mut rows = Vec::new();
            let mut views = Vec::new();
            for cp in &checkpoints {
                let verified = cp.verify(&key);
                rows.push(vec![
                    cp.seq.to_string(),
                    cp.at.clone(),
                    hex(&cp.head),
                    if verified {
                        lang.pick("đúng", "valid")
                    } else {
                        lang.pick("SAI", "INVALID")
                    }
                    .to_owned(),
                ]);
                views.push(serde_json::json!({
                    "seq": cp.seq,
                    "at": cp.at,
                    "head_hex": hex(&cp.head),
                    "signature_valid": verified,
                }));
            }
            let text = if checkpoints.is_empty() {
                tr!(
                    lang,
                    "Chưa có điểm mốc nào (điểm mốc được ký mỗi lần đồng bộ).",
                    "No checkpoints yet (one is signed at each sync)."
                )
            } else {
                table(
                    &[
                        lang.pick("Số", "Seq"),
                        lang.pick("Lúc", "At"),
                        lang.pick("Đầu chuỗi", "Head"),
                        lang.pick("Chữ ký", "Signature"),
                    ],
                    &rows,
                )
            };
            Output::new(views, text)
        }
        AuditCmd::Annotate { kind, id, note } => {
            let mut store = ctx.open()?;
            let a = store.annotate(kind.core(), &id, &note)?;
            let note_id = &a.id;
            let text = tr!(
                lang,
                "Đã ghi chú kiểm tra {note_id}.",
                "Annotation {note_id} written."
            );
            Output::new(AnnotationView::from(&a), text)
        }
        AuditCmd::Notes { kind, id } => {
            let store = ctx.open()?;
            let notes = store.annotations(kind.core(), &id)?;
            let mut text = String::new();
            for a in &notes {
                text.push_str(&crate::output::fields_then_note(
                    &[
                        (lang.pick("Mã", "Id"), a.id.clone()),
                        (
                            lang.pick("Lúc", "At"),
                            a.stamp
                                .created_at
                                .to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                        ),
                        (lang.pick("Người ghi", "By"), a.stamp.created_by.clone()),
                    ],
                    (lang.pick("Ghi chú", "Note"), &a.text),
                ));
            }
            if notes.is_empty() {
                text = tr!(lang, "Chưa có ghi chú kiểm tra.", "No annotations.");
            }
            let views: Vec<AnnotationView> = notes.iter().map(Into::into).collect();
            Output::new(views, text)
        }
        AuditCmd::Findings { late_edit_days } => {
            let store = ctx.open()?;
            let thresholds = OverdueThresholds {
                late_edit_days,
                ..OverdueThresholds::default()
            };
            let f = store.audit_findings(&thresholds)?;
            let view = FindingsView::from(&f);
            let chain = if f.chain_break.is_none() {
                lang.pick("nguyên vẹn", "verifies").to_owned()
            } else {
                lang.pick("BỊ CAN THIỆP", "BROKEN").to_owned()
            };
            let mut text = fields(&[
                (lang.pick("Nhật ký", "Trail"), chain),
                (lang.pick("Số mục", "Entries"), f.entries.to_string()),
                (
                    lang.pick("Thành viên chưa có sự đồng ý", "Members without consent"),
                    f.members_without_consent.len().to_string(),
                ),
                (
                    lang.pick("Giới thiệu quá hạn", "Overdue referrals"),
                    f.overdue_referrals.len().to_string(),
                ),
                (
                    lang.pick(
                        "Buổi sinh hoạt không có điểm danh",
                        "Meetings without attendance",
                    ),
                    f.meetings_without_attendance.len().to_string(),
                ),
                (
                    lang.pick("Buổi sinh hoạt sửa muộn", "Meetings changed late"),
                    f.late_meeting_edits.len().to_string(),
                ),
                (
                    lang.pick(
                        "Thay đổi từ lần ký gần nhất",
                        "Changes since last checkpoint",
                    ),
                    f.changed_since_checkpoint.len().to_string(),
                ),
                (
                    lang.pick(
                        "Hồ sơ hỏng hoặc không khớp nhật ký",
                        "Records damaged or not as the trail wrote them",
                    ),
                    f.damaged_records.len().to_string(),
                ),
            ]);
            for d in &f.damaged_records {
                let kind = lang.record_kind(d.kind);
                let id = &d.id;
                let reason = lang.damage(d.reason);
                text.push_str(&format!("- {kind} {id} {reason}\n"));
            }
            for id in &f.members_without_consent {
                text.push_str(&tr!(
                    lang,
                    "- chưa có sự đồng ý: {id}\n",
                    "- no consent: {id}\n"
                ));
            }
            for o in &f.overdue_referrals {
                let id = &o.referral_id;
                let state = lang.state(o.state);
                let days = o.days;
                text.push_str(&tr!(
                    lang,
                    "- quá hạn: {id} ({state}, {days} ngày)\n",
                    "- overdue: {id} ({state}, {days} days)\n"
                ));
            }
            for l in &f.late_meeting_edits {
                let id = &l.meeting_id;
                let by = &l.edited_by;
                let days = l.days_after;
                text.push_str(&tr!(
                    lang,
                    "- sửa muộn: {id} bởi {by}, {days} ngày sau\n",
                    "- changed late: {id} by {by}, {days} days after\n"
                ));
            }
            Output::new(view, text)
        }
        AuditCmd::Export { out, csv } => {
            let mut store = ctx.open()?;
            let export = store.export_audit()?;
            let key = store.device_public_key()?;
            write_file(&out, export.signed_json.as_bytes())?;
            if let Some(csv) = &csv {
                write_file(csv, export.csv.as_bytes())?;
            }
            use base64::Engine as _;
            let key_hex = hex(&key);
            let key_b64 = base64::engine::general_purpose::STANDARD.encode(&key);
            let path = out.display();
            let mut text = tr!(
                lang,
                "Đã xuất nhật ký có chữ ký vào {path}.\n",
                "Signed audit export written to {path}.\n"
            );
            text.push_str(&fields(&[(
                lang.pick("Khoá công khai của thiết bị", "Device public key"),
                key_hex.clone(),
            )]));
            Output::new(
                serde_json::json!({
                    "file": out,
                    "csv": csv,
                    "device_public_key_hex": key_hex,
                    "device_public_key_base64": key_b64,
                }),
                text,
            )
        }
    }
}

/// One page of trail entries (newest first already), as a table and as JSON.
pub fn trail_page(
    lang: Lang,
    entries: &[AuditEntry],
    page: u64,
    per_page: u64,
) -> Result<Output, CliError> {
    let total = entries.len();
    let per = usize::try_from(per_page).unwrap_or(usize::MAX);
    let skip = usize::try_from(page.saturating_sub(1))
        .unwrap_or(usize::MAX)
        .saturating_mul(per);
    let shown_entries: Vec<_> = entries.iter().skip(skip).take(per).collect();
    let pages = total.div_ceil(per).max(1);
    let rows: Vec<Vec<String>> = shown_entries
        .iter()
        .map(|e| {
            vec![
                e.seq.to_string(),
                e.at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                e.user_id.clone(),
                e.role.map(|r| lang.user_role(r)).unwrap_or("").to_owned(),
                lang.action(e.action).to_owned(),
                e.kind.map(|k| lang.record_kind(k)).unwrap_or("").to_owned(),
                e.record_id.clone(),
                e.fields.join(", "),
            ]
        })
        .collect();
    let mut text = table(
        &[
            lang.pick("Số", "Seq"),
            lang.pick("Lúc", "At"),
            lang.pick("Người dùng", "User"),
            lang.pick("Vai trò", "Role"),
            lang.pick("Việc", "Action"),
            lang.pick("Loại hồ sơ", "Kind"),
            lang.pick("Mã hồ sơ", "Record"),
            lang.pick("Trường đã sửa", "Fields changed"),
        ],
        &rows,
    );
    text.push_str(&tr!(
        lang,
        "Trang {page}/{pages}, {total} mục.\n",
        "Page {page} of {pages}, {total} entries.\n"
    ));
    let views: Vec<AuditEntryView> = shown_entries.iter().map(|e| (*e).into()).collect();
    Output::new(
        serde_json::json!({
            "page": page,
            "per_page": per_page,
            "pages": pages,
            "total": total,
            "entries": views,
        }),
        text,
    )
}
