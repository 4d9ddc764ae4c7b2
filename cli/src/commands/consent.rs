//! `chungtay consent add|withdraw|list`. No referral leaves without consent that covers it.

use chungtay_core::ConsentInput;

use crate::args::{self, FieldArg, MethodArg, RecipientArg, ServiceArg, ToCore, core_all};
use crate::ctx::Ctx;
use crate::error::CliError;
use crate::lang::tr;
use crate::output::{Output, table};
use crate::views::ConsentView;
use crate::views::damaged_note;

#[derive(clap::Subcommand)]
pub enum ConsentCmd {
    /// Ghi nhận sự đồng ý / record consent
    Add {
        #[arg(long)]
        member: String,
        /// Mục đích (lặp lại) / purpose (repeat)
        #[arg(long = "purpose", value_enum, required = true)]
        purposes: Vec<ServiceArg>,
        /// Nơi nhận / recipient
        #[arg(long, value_enum, default_value = "province")]
        recipient: RecipientArg,
        /// Thông tin được chia sẻ (lặp lại) / information that may be shared (repeat)
        #[arg(long = "field", value_enum, required = true)]
        fields: Vec<FieldArg>,
        /// Cách ghi nhận / how it was recorded
        #[arg(long, value_enum, default_value = "signed-paper")]
        method: MethodArg,
        /// Người làm chứng (bắt buộc khi đồng ý bằng lời) / witness (required when verbal)
        #[arg(long)]
        witness: Option<String>,
        /// Ngày đồng ý (YYYY-MM-DD), mặc định hôm nay / date given, default today
        #[arg(long)]
        given_on: Option<String>,
    },
    /// Rút lại sự đồng ý: mọi giới thiệu dựa vào đó dừng lại / withdraw consent: every referral
    /// relying on it stops
    Withdraw {
        id: String,
        /// Ngày rút (YYYY-MM-DD), mặc định hôm nay / date, default today
        #[arg(long)]
        on: Option<String>,
    },
    /// Các sự đồng ý của một thành viên / a member's consents
    List {
        #[arg(long)]
        member: String,
    },
}

pub fn run(ctx: &mut Ctx, cmd: ConsentCmd) -> Result<Output, CliError> {
    let lang = ctx.lang();
    match cmd {
        ConsentCmd::Add {
            member,
            purposes,
            recipient,
            fields,
            method,
            witness,
            given_on,
        } => {
            let given_on = args::date_or_today("--given-on", given_on.as_deref())?;
            let mut store = ctx.open()?;
            let c = store.add_consent(&ConsentInput {
                member_id: member,
                purposes: core_all(&purposes),
                recipient: recipient.core(),
                fields: core_all(&fields),
                method: method.core(),
                witness,
                given_on,
            })?;
            let id = &c.id;
            let text = tr!(
                lang,
                "Đã ghi nhận sự đồng ý {id}.",
                "Consent {id} recorded."
            );
            Output::new(ConsentView::from(&c), text)
        }
        ConsentCmd::Withdraw { id, on } => {
            let on = args::date_or_today("--on", on.as_deref())?;
            let mut store = ctx.open()?;
            let c = store.withdraw_consent(&id, on)?;
            let text = tr!(
                lang,
                "Đã rút sự đồng ý {id}; các giới thiệu dựa vào đó đã dừng.",
                "Consent {id} withdrawn; referrals relying on it are stopped."
            );
            Output::new(ConsentView::from(&c), text)
        }
        ConsentCmd::List { member } => {
            let store = ctx.open()?;
            let list = store.consents_for(&member)?;
            let rows: Vec<Vec<String>> = list
                .iter()
                .map(|c| {
                    let purposes: Vec<&str> =
                        c.info.purposes.iter().map(|p| lang.service(*p)).collect();
                    let fields: Vec<&str> = c
                        .info
                        .fields
                        .iter()
                        .map(|f| lang.shared_field(*f))
                        .collect();
                    vec![
                        c.id.clone(),
                        c.info.given_on.to_string(),
                        lang.recipient(c.info.recipient).to_owned(),
                        purposes.join(", "),
                        fields.join(", "),
                        c.withdrawn_on.map(|d| d.to_string()).unwrap_or_default(),
                    ]
                })
                .collect();
            let text = table(
                &[
                    lang.pick("Mã", "Id"),
                    lang.pick("Ngày", "Given on"),
                    lang.pick("Nơi nhận", "Recipient"),
                    lang.pick("Mục đích", "Purposes"),
                    lang.pick("Thông tin chia sẻ", "May share"),
                    lang.pick("Đã rút", "Withdrawn"),
                ],
                &rows,
            );
            let views: Vec<ConsentView> = list.iter().map(Into::into).collect();
            let text = text + &damaged_note(&store, lang)?;
            Output::new(views, text)
        }
    }
}
