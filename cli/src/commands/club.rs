//! `chungtay club add|edit|list`.

use chungtay_core::ClubInput;

use crate::args::{ClubKindArg, ToCore};
use crate::ctx::Ctx;
use crate::error::CliError;
use crate::lang::tr;
use crate::output::{Output, table};
use crate::views::ClubView;
use crate::views::damaged_note;

#[derive(clap::Subcommand)]
pub enum ClubCmd {
    /// Thêm câu lạc bộ / add a club
    Add {
        /// Tên câu lạc bộ / the club's name
        #[arg(long)]
        name: String,
        /// Loại / kind
        #[arg(long, value_enum, default_value = "anti-trafficking")]
        kind: ClubKindArg,
        /// Tỉnh / province
        #[arg(long)]
        province: String,
        /// Xã, phường / commune
        #[arg(long)]
        commune: String,
        /// Thôn, bản / village
        #[arg(long)]
        village: Option<String>,
        /// Huyện cũ (trước 1/7/2025) / former district (before 1 July 2025)
        #[arg(long)]
        former_district: Option<String>,
    },
    /// Sửa câu lạc bộ: chỉ đổi những gì được ghi trên dòng lệnh / edit a club: only the values
    /// given change
    #[command(group(clap::ArgGroup::new("change").required(true).multiple(true).args(["name", "kind", "province", "commune", "village", "no_village", "former_district", "no_former_district"])))]
    Edit {
        id: String,
        /// Tên câu lạc bộ / the club's name
        #[arg(long)]
        name: Option<String>,
        /// Loại / kind
        #[arg(long, value_enum)]
        kind: Option<ClubKindArg>,
        /// Tỉnh / province
        #[arg(long)]
        province: Option<String>,
        /// Xã, phường / commune
        #[arg(long)]
        commune: Option<String>,
        /// Thôn, bản / village
        #[arg(long, conflicts_with = "no_village")]
        village: Option<String>,
        /// Xoá thôn, bản / clear the village
        #[arg(long)]
        no_village: bool,
        /// Huyện cũ (trước 1/7/2025) / former district (before 1 July 2025)
        #[arg(long, conflicts_with = "no_former_district")]
        former_district: Option<String>,
        /// Xoá huyện cũ / clear the former district
        #[arg(long)]
        no_former_district: bool,
    },
    /// Danh sách câu lạc bộ / list the clubs
    List,
}

pub fn run(ctx: &mut Ctx, cmd: ClubCmd) -> Result<Output, CliError> {
    let lang = ctx.lang();
    let mut store = ctx.open()?;
    match cmd {
        ClubCmd::Add {
            name,
            kind,
            province,
            commune,
            village,
            former_district,
        } => {
            let club = store.add_club(&ClubInput {
                name,
                kind: kind.core(),
                province,
                commune,
                village,
                former_district,
            })?;
            let id = &club.id;
            let text = tr!(lang, "Đã thêm câu lạc bộ {id}.", "Club {id} added.");
            Output::new(ClubView::from(&club), text)
        }
        ClubCmd::Edit {
            id,
            name,
            kind,
            province,
            commune,
            village,
            no_village,
            former_district,
            no_former_district,
        } => {
            let mut info = store.club(&id)?.info;
            if let Some(name) = name {
                info.name = name;
            }
            if let Some(kind) = kind {
                info.kind = kind.core();
            }
            if let Some(province) = province {
                info.province = province;
            }
            if let Some(commune) = commune {
                info.commune = commune;
            }
            if no_village {
                info.village = None;
            } else if village.is_some() {
                info.village = village;
            }
            if no_former_district {
                info.former_district = None;
            } else if former_district.is_some() {
                info.former_district = former_district;
            }
            let club = store.update_club(&id, &info)?;
            let text = tr!(lang, "Đã sửa câu lạc bộ {id}.", "Club {id} updated.");
            Output::new(ClubView::from(&club), text)
        }
        ClubCmd::List => {
            let clubs = store.clubs()?;
            let rows: Vec<Vec<String>> = clubs
                .iter()
                .map(|c| {
                    vec![
                        c.id.clone(),
                        c.info.name.clone(),
                        c.info.commune.clone(),
                        c.info.province.clone(),
                        lang.club_kind(c.info.kind).to_owned(),
                    ]
                })
                .collect();
            let text = table(
                &[
                    lang.pick("Mã", "Id"),
                    lang.pick("Tên", "Name"),
                    lang.pick("Xã", "Commune"),
                    lang.pick("Tỉnh", "Province"),
                    lang.pick("Loại", "Kind"),
                ],
                &rows,
            );
            let views: Vec<ClubView> = clubs.iter().map(Into::into).collect();
            let text = text + &damaged_note(&store, lang)?;
            Output::new(views, text)
        }
    }
}
