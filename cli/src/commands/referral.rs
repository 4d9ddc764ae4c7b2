//! `chungtay referral create|edit|ready|send|withdraw|show|list`.

use chungtay_core::{Referral, ReferralInput};

use crate::args::{FieldArg, RecipientArg, ServiceArg, ToCore, UrgencyArg, core_all};
use crate::ctx::Ctx;
use crate::error::CliError;
use crate::lang::{Lang, tr};
use crate::output::{Output, fields_then_note, shown, table};
use crate::views::ReferralView;
use crate::views::damaged_note;

#[derive(clap::Subcommand)]
pub enum ReferralCmd {
    /// Tạo giới thiệu (bản nháp) / create a referral (as a draft)
    Create {
        #[arg(long)]
        member: String,
        /// Dịch vụ cần (lặp lại) / service needed (repeat)
        #[arg(long = "service", value_enum, required = true)]
        services: Vec<ServiceArg>,
        #[arg(long, value_enum, default_value = "routine")]
        urgency: UrgencyArg,
        /// Ghi chú / note
        #[arg(long, default_value = "")]
        note: String,
        #[arg(long, value_enum, default_value = "province")]
        recipient: RecipientArg,
        /// Thông tin sẽ gửi đi (lặp lại) / information the referral will carry (repeat)
        #[arg(long = "share", value_enum, required = true)]
        shared_fields: Vec<FieldArg>,
        /// Mã sự đồng ý / consent id
        #[arg(long)]
        consent: Option<String>,
    },
    /// Sửa một bản nháp: chỉ đổi những gì được ghi; danh sách mới thay danh sách cũ / edit a
    /// draft: only what is given changes; a list given replaces the old one
    #[command(group(clap::ArgGroup::new("change").required(true).multiple(true).args(["services", "urgency", "note", "recipient", "shared_fields", "consent", "no_consent"])))]
    Edit {
        id: String,
        /// Dịch vụ cần (lặp lại; thay cả danh sách) / service needed (repeat; replaces the list)
        #[arg(long = "service", value_enum)]
        services: Vec<ServiceArg>,
        #[arg(long, value_enum)]
        urgency: Option<UrgencyArg>,
        /// Ghi chú / note
        #[arg(long)]
        note: Option<String>,
        #[arg(long, value_enum)]
        recipient: Option<RecipientArg>,
        /// Thông tin sẽ gửi đi (lặp lại; thay cả danh sách) / information the referral will
        /// carry (repeat; replaces the list)
        #[arg(long = "share", value_enum)]
        shared_fields: Vec<FieldArg>,
        /// Mã sự đồng ý / consent id
        #[arg(long, conflicts_with = "no_consent")]
        consent: Option<String>,
        /// Bỏ sự đồng ý đã gắn / detach the consent
        #[arg(long)]
        no_consent: bool,
    },
    /// Nháp -> sẵn sàng gửi: kiểm tra sự đồng ý / draft -> ready: checks the consent covers it
    Ready { id: String },
    /// Sẵn sàng -> chờ gửi: niêm phong cho Hội tỉnh, vào hộp thư đi / ready -> queued: sealed
    /// for the province, into the outbox
    Send { id: String },
    /// Rút giới thiệu / withdraw a referral
    Withdraw {
        id: String,
        #[arg(long, default_value = "")]
        note: String,
    },
    /// Một giới thiệu (ghi vào nhật ký) / one referral (noted in the audit trail)
    Show { id: String },
    /// Giới thiệu của một thành viên hoặc cả câu lạc bộ / a member's or a club's referrals
    List {
        #[arg(long, conflicts_with = "club", required_unless_present = "club")]
        member: Option<String>,
        #[arg(long)]
        club: Option<String>,
    },
}

fn moved(lang: Lang, r: &Referral) -> Result<Output, CliError> {
    let id = &r.id;
    let state = lang.state(r.state);
    let text = tr!(lang, "Giới thiệu {id}: {state}.", "Referral {id}: {state}.");
    Output::new(ReferralView::from(r), text)
}

pub fn run(ctx: &mut Ctx, cmd: ReferralCmd) -> Result<Output, CliError> {
    if let ReferralCmd::Send { id } = cmd {
        return crate::commands::sync::send(ctx, id);
    }
    let lang = ctx.lang();
    let mut store = ctx.open()?;
    match cmd {
        ReferralCmd::Create {
            member,
            services,
            urgency,
            note,
            recipient,
            shared_fields,
            consent,
        } => {
            let r = store.create_referral(&ReferralInput {
                member_id: member,
                services: core_all(&services),
                urgency: urgency.core(),
                note,
                recipient: recipient.core(),
                shared_fields: core_all(&shared_fields),
                consent_id: consent,
            })?;
            moved(lang, &r)
        }
        ReferralCmd::Edit {
            id,
            services,
            urgency,
            note,
            recipient,
            shared_fields,
            consent,
            no_consent,
        } => {
            // Read and written in one step: the trail gets the update, not a read besides.
            let r = store.edit_referral(&id, |info| {
                if !services.is_empty() {
                    info.services = core_all(&services);
                }
                if let Some(urgency) = urgency {
                    info.urgency = urgency.core();
                }
                if let Some(note) = note {
                    info.note = note;
                }
                if let Some(recipient) = recipient {
                    info.recipient = recipient.core();
                }
                if !shared_fields.is_empty() {
                    info.shared_fields = core_all(&shared_fields);
                }
                if no_consent {
                    info.consent_id = None;
                } else if consent.is_some() {
                    info.consent_id = consent;
                }
                Ok::<_, CliError>(())
            })?;
            moved(lang, &r)
        }
        // Handled above, before the store is opened twice.
        ReferralCmd::Send { id } => super::sync::send(ctx, id),
        ReferralCmd::Ready { id } => moved(lang, &store.mark_referral_ready(&id)?),
        ReferralCmd::Withdraw { id, note } => moved(lang, &store.withdraw_referral(&id, &note)?),
        ReferralCmd::Show { id } => {
            let r = store.referral(&id)?;
            let services: Vec<&str> = r.info.services.iter().map(|s| lang.service(*s)).collect();
            let shared: Vec<&str> = r
                .info
                .shared_fields
                .iter()
                .map(|f| lang.shared_field(*f))
                .collect();
            let mut text = fields_then_note(
                &[
                    (lang.pick("Mã", "Id"), r.id.clone()),
                    (lang.pick("Thành viên", "Member"), r.info.member_id.clone()),
                    (
                        lang.pick("Trạng thái", "State"),
                        lang.state(r.state).to_owned(),
                    ),
                    (lang.pick("Dịch vụ", "Services"), services.join(", ")),
                    (
                        lang.pick("Mức độ", "Urgency"),
                        lang.urgency(r.info.urgency).to_owned(),
                    ),
                    (
                        lang.pick("Nơi nhận", "Recipient"),
                        lang.recipient(r.info.recipient).to_owned(),
                    ),
                    (lang.pick("Thông tin gửi đi", "Shares"), shared.join(", ")),
                    (
                        lang.pick("Sự đồng ý", "Consent"),
                        r.info.consent_id.clone().unwrap_or_default(),
                    ),
                ],
                (lang.pick("Ghi chú", "Note"), &r.info.note),
            );
            for h in &r.history {
                // The province's answer is in its note; it comes from a server, so escaped.
                let note = if h.note.is_empty() {
                    String::new()
                } else {
                    format!(": {}", shown(&h.note))
                };
                text.push_str(&format!(
                    "- {} {} ({}){note}\n",
                    h.at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                    lang.state(h.state),
                    shown(&h.by)
                ));
            }
            Output::new(ReferralView::from(&r), text)
        }
        ReferralCmd::List { member, club } => {
            let mut list = Vec::new();
            if let Some(member) = member {
                list = store.referrals_for(&member)?;
            } else if let Some(club) = club {
                store.club(&club)?;
                for m in store.list_members(&club)? {
                    list.extend(store.referrals_for(&m.id)?);
                }
            }
            let rows: Vec<Vec<String>> = list
                .iter()
                .map(|r| {
                    let services: Vec<&str> =
                        r.info.services.iter().map(|s| lang.service(*s)).collect();
                    vec![
                        r.id.clone(),
                        r.info.member_id.clone(),
                        lang.state(r.state).to_owned(),
                        services.join(", "),
                        r.stamp.updated_at.date_naive().to_string(),
                    ]
                })
                .collect();
            let text = table(
                &[
                    lang.pick("Mã", "Id"),
                    lang.pick("Thành viên", "Member"),
                    lang.pick("Trạng thái", "State"),
                    lang.pick("Dịch vụ", "Services"),
                    lang.pick("Cập nhật", "Updated"),
                ],
                &rows,
            );
            let views: Vec<ReferralView> = list.iter().map(Into::into).collect();
            let text = text + &damaged_note(&store, lang)?;
            Output::new(views, text)
        }
    }
}
