//! `chungtay member add|edit|list|search|show|history|contact|erase`. Lists never show survivor status, nor the
//! phone of someone who must not be contacted.

use chungtay_core::{MemberFilter, MemberInput, MemberSummary};

use crate::args::{self, GenderArg, MemberRoleArg, SurvivorArg, ToCore};
use crate::ctx::Ctx;
use crate::error::CliError;
use crate::lang::{Lang, tr};
use crate::output::{Output, fields, table};
use crate::views::damaged_note;
use crate::views::{ConsentView, LivelihoodView, MemberSummaryView, MemberView, ReferralView};

#[derive(clap::Subcommand)]
pub enum MemberCmd {
    /// Thêm thành viên / add a member
    Add {
        /// Câu lạc bộ / club id
        #[arg(long)]
        club: String,
        /// Họ tên / full name
        #[arg(long)]
        name: String,
        /// Năm sinh / year of birth
        #[arg(long)]
        birth_year: Option<i32>,
        /// Giới tính / gender
        #[arg(long, value_enum, default_value = "female")]
        gender: GenderArg,
        /// Dân tộc: tên ("Thái", "thai") hoặc mã 1-54 / ethnic group: name or code 1-54
        #[arg(long)]
        ethnic_group: String,
        /// Thôn, bản / village
        #[arg(long)]
        village: String,
        /// Số điện thoại (có thể dùng chung) / phone (may be shared)
        #[arg(long)]
        phone: Option<String>,
        /// Vai trò trong câu lạc bộ / role in the club
        #[arg(long, value_enum, default_value = "member")]
        role: MemberRoleArg,
        /// Tình trạng (thông tin nhạy cảm nhất) / survivor status (the most sensitive fact)
        #[arg(long, value_enum, default_value = "not-a-survivor")]
        survivor_status: SurvivorArg,
        /// Không được gọi, nhắn tin / must not be called or texted
        #[arg(long)]
        do_not_contact: bool,
    },
    /// Sửa hồ sơ thành viên: chỉ đổi những gì được ghi trên dòng lệnh / edit a member: only
    /// the values given on the command line change
    #[command(group(clap::ArgGroup::new("change").required(true).multiple(true).args(["name", "birth_year", "no_birth_year", "gender", "ethnic_group", "village", "phone", "no_phone", "role", "survivor_status", "do_not_contact", "contact_ok"])))]
    Edit {
        id: String,
        /// Họ tên / full name
        #[arg(long)]
        name: Option<String>,
        /// Năm sinh / year of birth
        #[arg(long, conflicts_with = "no_birth_year")]
        birth_year: Option<i32>,
        /// Xoá năm sinh / clear the year of birth
        #[arg(long)]
        no_birth_year: bool,
        /// Giới tính / gender
        #[arg(long, value_enum)]
        gender: Option<GenderArg>,
        /// Dân tộc: tên ("Thái", "thai") hoặc mã 1-54 / ethnic group: name or code 1-54
        #[arg(long)]
        ethnic_group: Option<String>,
        /// Thôn, bản / village
        #[arg(long)]
        village: Option<String>,
        /// Số điện thoại (có thể dùng chung) / phone (may be shared)
        #[arg(long, conflicts_with = "no_phone")]
        phone: Option<String>,
        /// Xoá số điện thoại (chỉ khi được liên lạc) / clear the phone (only when contact is
        /// allowed)
        #[arg(long)]
        no_phone: bool,
        /// Vai trò trong câu lạc bộ / role in the club
        #[arg(long, value_enum)]
        role: Option<MemberRoleArg>,
        /// Tình trạng (thông tin nhạy cảm nhất) / survivor status (the most sensitive fact)
        #[arg(long, value_enum)]
        survivor_status: Option<SurvivorArg>,
        /// Từ nay không được gọi, nhắn tin / from now on must not be called or texted
        #[arg(long, conflicts_with = "contact_ok")]
        do_not_contact: bool,
        /// Lại được gọi, nhắn tin / may be called or texted again
        #[arg(long)]
        contact_ok: bool,
    },
    /// Nhập danh sách thành viên từ tệp Excel (.xlsx) hoặc CSV: xem trước bằng --dry-run; thêm
    /// tất cả trong một lần ghi, hoặc không thêm gì / import a member list from an .xlsx or
    /// .csv file: preview with --dry-run; all in one transaction, or nothing
    Import(crate::commands::member_file::ImportArgs),
    /// Ghi danh sách thành viên ra tệp .xlsx hoặc .csv (không có họ tên, trừ khi chủ nhiệm dùng
    /// --with-names) / write a club's member list to .xlsx or .csv (without names unless the
    /// leader asks --with-names)
    Export(crate::commands::member_file::ExportArgs),
    /// Danh sách thành viên của câu lạc bộ / a club's members
    List {
        #[arg(long)]
        club: String,
    },
    /// Tìm theo tên, không cần dấu / search by name, diacritics optional
    Search {
        /// Tên hoặc một phần tên / name or part of it
        text: String,
        #[arg(long)]
        club: Option<String>,
        #[arg(long)]
        village: Option<String>,
        #[arg(long)]
        ethnic_group: Option<String>,
    },
    /// Hồ sơ một thành viên (ghi vào nhật ký) / one member's record (noted in the audit trail)
    Show { id: String },
    /// Toàn bộ lịch sử của một thành viên trong nhật ký: hồ sơ của chị, sự đồng ý, hỗ trợ, giới
    /// thiệu; mới nhất trước / a member's whole history in the trail: her record, consents,
    /// support and referrals; newest first
    History {
        id: String,
        /// Trang (từ 1) / page (from 1)
        #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u64).range(1..))]
        page: u64,
        /// Số mục mỗi trang / entries per page
        #[arg(long, default_value_t = 50, value_parser = clap::value_parser!(u64).range(1..=1000))]
        per_page: u64,
    },
    /// Số điện thoại để gọi, nhắn tin: bị từ chối khi không được liên lạc (ghi vào nhật ký) /
    /// the number to call or text: refused when she must not be contacted (noted in the trail)
    Contact { id: String },
    /// Xoá vĩnh viễn một thành viên và mọi hồ sơ của chị (chỉ chủ nhiệm) / erase a member and
    /// all her records beyond recovery (leader only)
    Erase {
        id: String,
        /// Xác nhận / confirm
        #[arg(long)]
        yes: bool,
    },
}

fn summary_rows(lang: Lang, members: &[MemberSummary]) -> String {
    let rows: Vec<Vec<String>> = members
        .iter()
        .map(|m| {
            vec![
                m.id.clone(),
                m.full_name.clone(),
                m.birth_year.map(|y| y.to_string()).unwrap_or_default(),
                lang.gender(m.gender).to_owned(),
                m.ethnic_group.name().to_owned(),
                m.village.clone(),
                lang.member_role(m.role).to_owned(),
                match (&m.phone, m.safe_to_contact) {
                    (_, false) => lang
                        .pick("(không được liên lạc)", "(do not contact)")
                        .to_owned(),
                    (Some(p), true) => p.clone(),
                    (None, true) => String::new(),
                },
            ]
        })
        .collect();
    table(
        &[
            lang.pick("Mã", "Id"),
            lang.pick("Họ tên", "Name"),
            lang.pick("Năm sinh", "Born"),
            lang.pick("Giới tính", "Gender"),
            lang.pick("Dân tộc", "Ethnic group"),
            lang.pick("Thôn, bản", "Village"),
            lang.pick("Vai trò", "Role"),
            lang.pick("Điện thoại", "Phone"),
        ],
        &rows,
    )
}

pub fn run(ctx: &mut Ctx, cmd: MemberCmd) -> Result<Output, CliError> {
    let lang = ctx.lang();
    if let MemberCmd::Erase { yes: false, .. } = cmd {
        return Err(CliError::NeedsConfirmation {
            what: lang.pick("xoá thành viên", "Erasing a member"),
        });
    }
    let cmd = match cmd {
        MemberCmd::Import(a) => return crate::commands::member_file::import(ctx, a),
        MemberCmd::Export(a) => return crate::commands::member_file::export(ctx, a),
        other => other,
    };
    let mut store = ctx.open()?;
    match cmd {
        MemberCmd::Import(_) | MemberCmd::Export(_) => unreachable!(),
        MemberCmd::Add {
            club,
            name,
            birth_year,
            gender,
            ethnic_group,
            village,
            phone,
            role,
            survivor_status,
            do_not_contact,
        } => {
            let member = store.add_member(
                &club,
                &MemberInput {
                    full_name: name,
                    birth_year,
                    gender: gender.core(),
                    ethnic_group: args::ethnic_group("--ethnic-group", &ethnic_group)?,
                    village,
                    phone,
                    role: role.core(),
                    survivor_status: survivor_status.core(),
                    safe_to_contact: !do_not_contact,
                },
            )?;
            let id = &member.id;
            let text = tr!(lang, "Đã thêm thành viên {id}.", "Member {id} added.");
            Output::new(
                serde_json::json!({ "id": member.id, "club_id": member.club_id }),
                text,
            )
        }
        MemberCmd::Edit {
            id,
            name,
            birth_year,
            no_birth_year,
            gender,
            ethnic_group,
            village,
            phone,
            no_phone,
            role,
            survivor_status,
            do_not_contact,
            contact_ok,
        } => {
            // Values checked here fail before anything is read or written.
            let ethnic_group = ethnic_group
                .map(|g| args::ethnic_group("--ethnic-group", &g))
                .transpose()?;
            // The record as this user sees it: a hidden phone comes back empty and a withheld
            // survivor status as withheld; `update_member` keeps the stored ones for both. Read
            // and written in one step: the trail gets the update, not a read besides.
            let member = store.edit_member(&id, |info| {
                if let Some(name) = name {
                    info.full_name = name;
                }
                if let Some(year) = birth_year {
                    info.birth_year = Some(year);
                }
                if no_birth_year {
                    info.birth_year = None;
                }
                if let Some(gender) = gender {
                    info.gender = gender.core();
                }
                if let Some(group) = ethnic_group {
                    info.ethnic_group = group;
                }
                if let Some(village) = village {
                    info.village = village;
                }
                if let Some(phone) = phone {
                    info.phone = Some(phone);
                }
                if no_phone {
                    info.phone = None;
                }
                if let Some(role) = role {
                    info.role = role.core();
                }
                if let Some(status) = survivor_status {
                    info.survivor_status = status.core();
                }
                if do_not_contact {
                    info.safe_to_contact = false;
                }
                if contact_ok {
                    info.safe_to_contact = true;
                }
                Ok::<_, CliError>(())
            })?;
            let text = tr!(lang, "Đã sửa thành viên {id}.", "Member {id} updated.");
            Output::new(MemberView::from(&member), text)
        }
        MemberCmd::List { club } => {
            store.club(&club)?;
            let members = store.list_members(&club)?;
            let views: Vec<MemberSummaryView> = members.iter().map(Into::into).collect();
            let text = summary_rows(lang, &members) + &damaged_note(&store, lang)?;
            Output::new(views, text)
        }
        MemberCmd::Search {
            text,
            club,
            village,
            ethnic_group,
        } => {
            let ethnic_group = ethnic_group
                .map(|g| args::ethnic_group("--ethnic-group", &g))
                .transpose()?;
            let members = store.search_members(&MemberFilter {
                text,
                club_id: club,
                village,
                ethnic_group,
            })?;
            let views: Vec<MemberSummaryView> = members.iter().map(Into::into).collect();
            let out = if members.is_empty() {
                tr!(lang, "Không tìm thấy ai.", "Nobody found.")
            } else {
                summary_rows(lang, &members)
            };
            let out = out + &damaged_note(&store, lang)?;
            Output::new(views, out)
        }
        MemberCmd::Show { id } => {
            let detail = store.member_detail(&id)?;
            let m = &detail.member;
            let mut text = fields(&[
                (lang.pick("Mã", "Id"), m.id.clone()),
                (lang.pick("Câu lạc bộ", "Club"), m.club_id.clone()),
                (lang.pick("Họ tên", "Name"), m.info.full_name.clone()),
                (
                    lang.pick("Năm sinh", "Year of birth"),
                    m.info.birth_year.map(|y| y.to_string()).unwrap_or_default(),
                ),
                (
                    lang.pick("Giới tính", "Gender"),
                    lang.gender(m.info.gender).to_owned(),
                ),
                (
                    lang.pick("Dân tộc", "Ethnic group"),
                    m.info.ethnic_group.name().to_owned(),
                ),
                (lang.pick("Thôn, bản", "Village"), m.info.village.clone()),
                (
                    lang.pick("Điện thoại", "Phone"),
                    if m.info.safe_to_contact {
                        m.info.phone.clone().unwrap_or_default()
                    } else {
                        lang.pick("(không được liên lạc)", "(do not contact)")
                            .to_owned()
                    },
                ),
                (
                    lang.pick("Vai trò", "Role"),
                    lang.member_role(m.info.role).to_owned(),
                ),
                (
                    lang.pick("Tình trạng", "Survivor status"),
                    lang.survivor_status(m.info.survivor_status).to_owned(),
                ),
            ]);
            for c in &detail.consents {
                let purposes: Vec<&str> =
                    c.info.purposes.iter().map(|p| lang.service(*p)).collect();
                let withdrawn = c
                    .withdrawn_on
                    .map(|d| tr!(lang, " (đã rút {d})", " (withdrawn {d})"))
                    .unwrap_or_default();
                text.push_str(&format!(
                    "{} {} {}: {}{}\n",
                    lang.pick("Đồng ý", "Consent"),
                    c.id,
                    c.info.given_on,
                    purposes.join(", "),
                    withdrawn
                ));
            }
            for l in &detail.livelihood {
                text.push_str(&format!(
                    "{} {} {}: {}\n",
                    lang.pick("Hỗ trợ", "Support"),
                    l.id,
                    l.info.date,
                    lang.livelihood_kind(l.info.kind)
                ));
            }
            for r in &detail.referrals {
                text.push_str(&format!(
                    "{} {}: {}\n",
                    lang.pick("Giới thiệu", "Referral"),
                    r.id,
                    lang.state(r.state)
                ));
            }
            let consents: Vec<ConsentView> = detail.consents.iter().map(Into::into).collect();
            let livelihood: Vec<LivelihoodView> =
                detail.livelihood.iter().map(Into::into).collect();
            let referrals: Vec<ReferralView> = detail.referrals.iter().map(Into::into).collect();
            Output::new(
                serde_json::json!({
                    "member": MemberView::from(m),
                    "consents": consents,
                    "livelihood": livelihood,
                    "referrals": referrals,
                }),
                text,
            )
        }
        MemberCmd::History { id, page, per_page } => {
            // The trail first: a role that may not read it is refused before her screen is
            // opened (and noted as read).
            let mut entries = store.audit_entries()?;
            let detail = store.member_detail(&id)?;
            let mut ids = vec![detail.member.id.clone()];
            ids.extend(detail.consents.iter().map(|c| c.id.clone()));
            ids.extend(detail.livelihood.iter().map(|l| l.id.clone()));
            ids.extend(detail.referrals.iter().map(|r| r.id.clone()));
            entries.retain(|e| ids.contains(&e.record_id));
            entries.reverse();
            crate::commands::audit::trail_page(lang, &entries, page, per_page)
        }
        MemberCmd::Contact { id } => {
            let phone = store.contact_phone(&id)?;
            let text = fields(&[(lang.pick("Điện thoại", "Phone"), phone.clone())]);
            Output::new(serde_json::json!({ "id": id, "phone": phone }), text)
        }
        MemberCmd::Erase { id, .. } => {
            store.erase_member(&id)?;
            let text = tr!(
                lang,
                "Đã xoá vĩnh viễn thành viên {id} và mọi hồ sơ của chị.",
                "Member {id} and all her records are erased beyond recovery."
            );
            Output::new(serde_json::json!({ "erased": id }), text)
        }
    }
}
