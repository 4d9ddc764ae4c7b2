//! `chungtay support add|follow-up|list`: livelihood support and its outcomes.

use chungtay_core::{LivelihoodInput, SupportFollowUp};

use crate::args::{self, LivelihoodArg, OutcomeArg, ToCore};
use crate::ctx::Ctx;
use crate::error::CliError;
use crate::lang::tr;
use crate::output::{Output, table};
use crate::views::LivelihoodView;
use crate::views::damaged_note;

#[derive(clap::Subcommand)]
pub enum SupportCmd {
    /// Ghi một hỗ trợ sinh kế / record livelihood support
    Add {
        #[arg(long)]
        member: String,
        /// Loại hỗ trợ / kind of support
        #[arg(long, value_enum)]
        kind: LivelihoodArg,
        /// Ngày (YYYY-MM-DD), mặc định hôm nay / date, default today
        #[arg(long)]
        date: Option<String>,
        /// Số tiền (đồng) / amount in đồng
        #[arg(long)]
        amount_vnd: Option<i64>,
        /// Số lượng / quantity
        #[arg(long)]
        quantity: Option<i32>,
        /// Đơn vị ("con lợn") / unit
        #[arg(long)]
        unit: Option<String>,
        #[arg(long, default_value = "")]
        note: String,
    },
    /// Ghi kết quả theo dõi / record a follow-up outcome
    FollowUp {
        /// Mã hỗ trợ / support record id
        id: String,
        #[arg(long)]
        date: Option<String>,
        #[arg(long, value_enum)]
        outcome: OutcomeArg,
        #[arg(long, default_value = "")]
        note: String,
    },
    /// Các hỗ trợ của một thành viên / a member's support records
    List {
        #[arg(long)]
        member: String,
    },
}

pub fn run(ctx: &mut Ctx, cmd: SupportCmd) -> Result<Output, CliError> {
    let lang = ctx.lang();
    match cmd {
        SupportCmd::Add {
            member,
            kind,
            date,
            amount_vnd,
            quantity,
            unit,
            note,
        } => {
            let date = args::date_or_today("--date", date.as_deref())?;
            let mut store = ctx.open()?;
            let l = store.add_livelihood(&LivelihoodInput {
                member_id: member,
                kind: kind.core(),
                date,
                amount_vnd,
                quantity,
                unit,
                note,
            })?;
            let id = &l.id;
            let text = tr!(lang, "Đã ghi hỗ trợ {id}.", "Support {id} recorded.");
            Output::new(LivelihoodView::from(&l), text)
        }
        SupportCmd::FollowUp {
            id,
            date,
            outcome,
            note,
        } => {
            let date = args::date_or_today("--date", date.as_deref())?;
            let mut store = ctx.open()?;
            let l = store.add_livelihood_follow_up(
                &id,
                &SupportFollowUp {
                    date,
                    outcome: outcome.core(),
                    note,
                },
            )?;
            let text = tr!(
                lang,
                "Đã ghi kết quả theo dõi cho {id}.",
                "Follow-up recorded for {id}."
            );
            Output::new(LivelihoodView::from(&l), text)
        }
        SupportCmd::List { member } => {
            let store = ctx.open()?;
            let list = store.livelihood_for(&member)?;
            let rows: Vec<Vec<String>> = list
                .iter()
                .map(|l| {
                    let amount = match (l.info.amount_vnd, l.info.quantity, &l.info.unit) {
                        (Some(a), _, _) => format!("{a} đ"),
                        (None, Some(q), Some(u)) => format!("{q} {u}"),
                        _ => String::new(),
                    };
                    vec![
                        l.id.clone(),
                        l.info.date.to_string(),
                        lang.livelihood_kind(l.info.kind).to_owned(),
                        amount,
                        l.follow_ups
                            .last()
                            .map(|f| lang.outcome(f.outcome).to_owned())
                            .unwrap_or_default(),
                    ]
                })
                .collect();
            let text = table(
                &[
                    lang.pick("Mã", "Id"),
                    lang.pick("Ngày", "Date"),
                    lang.pick("Loại", "Kind"),
                    lang.pick("Số tiền / số lượng", "Amount"),
                    lang.pick("Kết quả gần nhất", "Latest outcome"),
                ],
                &rows,
            );
            let views: Vec<LivelihoodView> = list.iter().map(Into::into).collect();
            let text = text + &damaged_note(&store, lang)?;
            Output::new(views, text)
        }
    }
}
