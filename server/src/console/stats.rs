//! Referral statistics for the province, with small cells suppressed as the phone's reports do.
//!
//! Input: one [`ReferralFacts`] per referral (made by the caller from the stored row and the
//! decrypted payload). Output: a [`Stats`], plain data with every cell already as text, which
//! the HTML page, [`to_csv`] and [`to_xlsx`] render. Nothing here keeps or logs a referral.
//!
//! What is counted, for one calendar year, months in Vietnam time (UTC+7, as the phone's
//! monthly report): referrals by month received, by service (a referral with two services
//! counts in both rows), by current state, by commune (only when the commune was a consented
//! field; the others in a "not shared" row) and the time from receipt to the first decision
//! (accepted or declined) by month received.
//!
//! Small cells: every table of counts goes through the phone's rule
//! ([`chungtay_protocol::cells::protect`]): 1 to 4 shown as `<5`, and in a table with any such
//! cell the counts of 5 and more hidden as `x`. The four tables of referrals share one total
//! (the year's number of referrals); if any of them cannot be protected with that total known,
//! none of them shows a number (every non-zero cell and the total become `x`), as the phone's
//! report does for tables sharing a total. The decision table has its own total (the number
//! decided), and shows numbers only when the state table shows every cell as it is: the
//! number decided is the number of referrals past "received", so beside a `<5` or `x` in the
//! state table it would give that cell (or a sum of small ones) back. A median resting on
//! fewer than 5 decisions is not shown, nor a 90th percentile on fewer than 10 (below that it
//! is the slowest single referral); when the decision counts are withheld, no median is shown
//! either (a median would tell that its month had 5). Rows of communes come in order of name
//! (diacritics and case aside), never of size, so the order gives no hidden count away.
//!
//! Known limits, as the phone's report: each table is protected on its own (with the total),
//! not against every combination of tables (months against services, say); and the tables are
//! rebuilt at each request, so two downloads a referral apart can be compared.

use std::collections::BTreeMap;
use std::fmt;

use chrono::{DateTime, Datelike, FixedOffset, NaiveDate};
use chungtay_protocol::cells::{Shown, protect, push_csv_line};
use unicode_normalization::UnicodeNormalization;

use super::words::{self, Lang, SERVICES, STATES, pick};

/// Vietnam's offset from UTC (no daylight saving): month boundaries are local.
const VIETNAM_OFFSET_SECS: i32 = 7 * 3600;
/// Fewest decisions a median rests on.
const MEDIAN_MIN: usize = 5;
/// Fewest decisions a 90th percentile rests on (with fewer it is the slowest one).
const P90_MIN: usize = 10;
/// Longest commune name shown, in characters (the text comes from phones).
const COMMUNE_MAX_CHARS: usize = 100;
/// A cell that is not shown because it would rest on too few referrals.
const NOT_SHOWN: &str = "–";

/// One referral, as the statistics need it.
#[derive(Clone, PartialEq, Eq)]
pub struct ReferralFacts {
    /// RFC 3339 UTC, as stored.
    pub received_at: String,
    /// Service keys (`vocational_training`...).
    pub services: Vec<String>,
    /// Current state (`received`, `accepted`...).
    pub state: String,
    /// Only when the commune was a consented field.
    pub commune: Option<String>,
    /// RFC 3339 UTC of the first accepted/declined, if any.
    pub decided_at: Option<String>,
}

/// Debug without the commune: it is a shared field.
impl fmt::Debug for ReferralFacts {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ReferralFacts")
            .field("received_at", &self.received_at)
            .field("services", &self.services)
            .field("state", &self.state)
            .field("commune_shared", &self.commune.is_some())
            .field("decided_at", &self.decided_at)
            .finish()
    }
}

/// One table, every cell as text (`"12"`, `"<5"`, `"x"`, `"0"`, `"3,5"`, `"–"`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Table {
    /// Stable id: `by_month`, `by_service`, `by_state`, `by_commune`, `time_to_decision`.
    pub id: &'static str,
    pub title: String,
    /// Short title, for a spreadsheet's sheet name (at most 31 characters).
    pub short: String,
    pub note: Option<String>,
    pub head: Vec<String>,
    /// The last row is the total.
    pub rows: Vec<Vec<String>>,
}

/// The statistics of one year, as they may be shown.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Stats {
    pub year: i32,
    pub lang: Lang,
    /// "Thống kê giới thiệu năm 2026" / "Referral statistics, 2026"
    pub title: String,
    /// What `<5`, `x` and `–` mean.
    pub legend: String,
    pub tables: Vec<Table>,
    /// The year's number of referrals, as shown.
    pub total: String,
}

impl Stats {
    /// The table with this id.
    pub fn table(&self, id: &str) -> Option<&Table> {
        self.tables.iter().find(|t| t.id == id)
    }
}

/// Why a download could not be made. No referral data in it.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum StatsError {
    #[error("the spreadsheet could not be written")]
    Xlsx,
}

// ---- counting -------------------------------------------------------------------------------

/// The date in Vietnam of an RFC 3339 time.
fn local_date(at: &DateTime<FixedOffset>) -> Option<NaiveDate> {
    let vietnam = FixedOffset::east_opt(VIETNAM_OFFSET_SECS)?;
    Some(at.with_timezone(&vietnam).date_naive())
}

/// A commune as counted: NFC, trimmed, inner spaces collapsed, control characters dropped,
/// at most [`COMMUNE_MAX_CHARS`]. `None` when nothing is left.
fn clean_commune(text: &str) -> Option<String> {
    let nfc: String = text.nfc().collect();
    let words: Vec<&str> = nfc.split_whitespace().collect();
    let joined: String = words
        .join(" ")
        .chars()
        .filter(|c| !c.is_control())
        .take(COMMUNE_MAX_CHARS)
        .collect();
    let trimmed = joined.trim();
    (!trimmed.is_empty()).then(|| trimmed.to_owned())
}

/// A name's place in alphabetical order: without diacritics or case (đ as d), so "Đông Sơn"
/// comes between "Cẩm Thủy" and "Hà Trung".
pub(crate) fn sort_key(name: &str) -> String {
    name.nfd()
        .filter(|c| !unicode_normalization::char::is_combining_mark(*c))
        .flat_map(char::to_lowercase)
        .map(|c| if c == 'đ' { 'd' } else { c })
        .collect()
}

/// Median of sorted values.
fn median(sorted: &[f64]) -> Option<f64> {
    let n = sorted.len();
    if n == 0 {
        return None;
    }
    if n % 2 == 1 {
        sorted.get(n / 2).copied()
    } else {
        Some((sorted.get(n / 2 - 1)? + sorted.get(n / 2)?) / 2.0)
    }
}

/// 90th percentile of sorted values, nearest rank.
fn p90(sorted: &[f64]) -> Option<f64> {
    let n = sorted.len();
    let rank = (n * 9).div_ceil(10);
    sorted.get(rank.checked_sub(1)?).copied()
}

fn days_text(days: f64, lang: Lang) -> String {
    let text = format!("{days:.1}");
    match lang {
        Lang::Vi => text.replace('.', ","),
        Lang::En => text,
    }
}

fn month_label(lang: Lang, month: u32) -> String {
    const EN: [&str; 12] = [
        "January",
        "February",
        "March",
        "April",
        "May",
        "June",
        "July",
        "August",
        "September",
        "October",
        "November",
        "December",
    ];
    match lang {
        Lang::Vi => format!("Tháng {month}"),
        Lang::En => EN
            .get(month.saturating_sub(1) as usize)
            .map_or_else(|| month.to_string(), |m| (*m).to_owned()),
    }
}

fn count_u32(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

/// Protects tables that share one total, as the phone's report does: each table by
/// [`protect`]; if any cannot be, every non-zero cell of all of them and the total become `x`.
/// Returns the cells, the total and whether the numbers had to be withheld.
fn protect_group(counts: &[&[u32]], total: u32) -> (Vec<Vec<Shown>>, Shown, bool) {
    let shown: Option<Vec<Vec<Shown>>> = counts.iter().map(|c| protect(c)).collect();
    match shown {
        Some(shown) => (shown, Shown::of(total), false),
        None => withhold(counts, total),
    }
}

/// No number at all: every non-zero cell and the total become `x`; zero stays 0.
fn withhold(counts: &[&[u32]], total: u32) -> (Vec<Vec<Shown>>, Shown, bool) {
    let hide = |c: u32| {
        if c == 0 {
            Shown::Count(0)
        } else {
            Shown::Hidden
        }
    };
    let shown = counts
        .iter()
        .map(|c| c.iter().map(|&c| hide(c)).collect())
        .collect();
    (shown, hide(total), true)
}

fn withheld_note(lang: Lang) -> &'static str {
    pick(
        lang,
        "Quá ít người để chia nhỏ mà không lộ ai: các số được ẩn.",
        "Too few people to break down without pointing at someone: numbers hidden.",
    )
}

fn join_notes(a: &str, withheld: bool, lang: Lang) -> Option<String> {
    if withheld {
        Some(format!("{a} {}", withheld_note(lang)))
    } else {
        Some(a.to_owned())
    }
}

/// A table of labelled counts before protection.
struct Counts {
    id: &'static str,
    title: String,
    short: &'static str,
    note: &'static str,
    head: [String; 2],
    labels: Vec<String>,
    counts: Vec<u32>,
}

/// The years (Vietnam time) in which referrals were received, newest first: for the page's
/// choice of year.
pub fn years(facts: &[ReferralFacts]) -> Vec<i32> {
    let set: std::collections::BTreeSet<i32> = facts
        .iter()
        .filter_map(|f| DateTime::parse_from_rfc3339(f.received_at.trim()).ok())
        .filter_map(|at| local_date(&at))
        .map(|d| d.year())
        .collect();
    set.into_iter().rev().collect()
}

/// The statistics of `year` (see the module docs for what is counted and hidden).
/// Referrals whose time of receipt cannot be read are not counted.
pub fn compute(facts: &[ReferralFacts], year: i32, lang: Lang) -> Stats {
    compute_in(facts, year, lang, None)
}

/// The national office's statistics of `year`: every province's referrals together, by
/// month, service and state as a province's, and by province (in the order given) in place
/// of communes, under the same rule for small cells. Only these totals leave the provinces.
pub fn compute_national(provinces: &[(&str, Vec<ReferralFacts>)], year: i32, lang: Lang) -> Stats {
    let names: Vec<&str> = provinces.iter().map(|(n, _)| *n).collect();
    let facts: Vec<ReferralFacts> = provinces
        .iter()
        .flat_map(|(name, facts)| {
            facts.iter().map(move |f| ReferralFacts {
                commune: Some((*name).to_owned()),
                ..f.clone()
            })
        })
        .collect();
    let mut stats = compute_in(&facts, year, lang, Some(&names));
    stats.title = match lang {
        Lang::Vi => format!("Thống kê giới thiệu toàn quốc năm {year}"),
        Lang::En => format!("National referral statistics, {year}"),
    };
    stats
}

/// [`compute`]; with `provinces`, each fact's `commune` holds its province's name, and the
/// table by commune is the table by province.
fn compute_in(facts: &[ReferralFacts], year: i32, lang: Lang, provinces: Option<&[&str]>) -> Stats {
    let mut by_month = [0u32; 12];
    let mut by_service = [0u32; SERVICES.len()];
    let mut by_state: BTreeMap<String, u32> = STATES.iter().map(|s| (s.to_string(), 0)).collect();
    // Lower-case NFC name -> (count, the forms it was written in and how often).
    let mut by_commune: BTreeMap<String, (u32, BTreeMap<String, u32>)> = BTreeMap::new();
    let mut commune_not_shared = 0u32;
    let mut decisions: [Vec<f64>; 12] = Default::default();
    let mut total = 0u32;

    for f in facts {
        let Ok(received) = DateTime::parse_from_rfc3339(f.received_at.trim()) else {
            continue;
        };
        let Some(date) = local_date(&received) else {
            continue;
        };
        if date.year() != year {
            continue;
        }
        let month = date.month0() as usize;
        total = total.saturating_add(1);
        if let Some(slot) = by_month.get_mut(month) {
            *slot += 1;
        }
        for (i, key) in SERVICES.iter().enumerate() {
            if f.services.iter().any(|s| s == key) {
                by_service[i] += 1;
            }
        }
        *by_state.entry(f.state.clone()).or_insert(0) += 1;
        match f.commune.as_deref().and_then(clean_commune) {
            Some(name) => {
                let entry = by_commune.entry(name.to_lowercase()).or_default();
                entry.0 += 1;
                *entry.1.entry(name).or_insert(0) += 1;
            }
            None => commune_not_shared += 1,
        }
        let decided = f
            .decided_at
            .as_deref()
            .and_then(|d| DateTime::parse_from_rfc3339(d.trim()).ok());
        if let (Some(decided), Some(slot)) = (decided, decisions.get_mut(month)) {
            let secs = (decided - received).num_seconds().max(0);
            slot.push(secs as f64 / 86_400.0);
        }
    }

    let year_text = match lang {
        Lang::Vi => format!("năm {year}"),
        Lang::En => year.to_string(),
    };
    let referrals = pick(lang, "Số giới thiệu", "Referrals").to_owned();

    // The known states first, in lifecycle order, then any other, by key.
    let mut states: Vec<(String, u32)> = STATES
        .iter()
        .map(|s| (s.to_string(), by_state.get(*s).copied().unwrap_or(0)))
        .collect();
    states.extend(
        by_state
            .iter()
            .filter(|(k, _)| !STATES.contains(&k.as_str()))
            .map(|(k, n)| (k.clone(), *n)),
    );
    // Communes by name; each written the way most referrals wrote it (ties: the first by
    // code point), then the row of those not shared.
    let mut communes: Vec<(String, u32)> = by_commune
        .into_values()
        .map(|(n, forms)| {
            let best = forms
                .iter()
                .max_by(|a, b| a.1.cmp(b.1).then_with(|| b.0.cmp(a.0)))
                .map(|(form, _)| form.clone())
                .unwrap_or_default();
            (best, n)
        })
        .collect();
    communes.sort_by_cached_key(|(name, _)| (sort_key(name), name.clone()));
    communes.push((
        pick(lang, "Không rõ (không được chia sẻ)", "Not shared").to_owned(),
        commune_not_shared,
    ));
    let places = match provinces {
        None => Counts {
            id: "by_commune",
            title: format!(
                "{} {year_text}",
                pick(lang, "Giới thiệu theo xã,", "Referrals by commune,")
            ),
            short: pick(lang, "Theo xã", "By commune"),
            note: pick(
                lang,
                "Xã chỉ được tính khi người được giới thiệu đồng ý chia sẻ; các xã xếp theo tên.",
                "A commune counts only when she agreed to share it; communes in order of name.",
            ),
            head: [words::field(lang, "commune").to_owned(), referrals.clone()],
            labels: communes.iter().map(|(name, _)| name.clone()).collect(),
            counts: communes.iter().map(|(_, n)| *n).collect(),
        },
        Some(names) => Counts {
            id: "by_province",
            title: format!(
                "{} {year_text}",
                pick(lang, "Giới thiệu theo tỉnh,", "Referrals by province,")
            ),
            short: pick(lang, "Theo tỉnh", "By province"),
            note: pick(
                lang,
                "Các tỉnh xếp theo tên.",
                "Provinces in order of name.",
            ),
            head: [pick(lang, "Tỉnh", "Province").to_owned(), referrals.clone()],
            labels: names.iter().map(|n| (*n).to_owned()).collect(),
            counts: names
                .iter()
                .map(|n| {
                    communes
                        .iter()
                        .filter(|(c, _)| c == n)
                        .map(|(_, k)| *k)
                        .sum()
                })
                .collect(),
        },
    };

    let count_tables = [
        Counts {
            id: "by_month",
            title: format!(
                "{} {year_text}",
                pick(
                    lang,
                    "Giới thiệu theo tháng nhận,",
                    "Referrals by month received,"
                )
            ),
            short: pick(lang, "Theo tháng", "By month"),
            note: pick(
                lang,
                "Tháng theo giờ Việt Nam (UTC+7).",
                "Months in Vietnam time (UTC+7).",
            ),
            head: [pick(lang, "Tháng", "Month").to_owned(), referrals.clone()],
            labels: (1..=12).map(|m| month_label(lang, m)).collect(),
            counts: by_month.to_vec(),
        },
        Counts {
            id: "by_service",
            title: format!(
                "{} {year_text}",
                pick(lang, "Giới thiệu theo dịch vụ,", "Referrals by service,")
            ),
            short: pick(lang, "Theo dịch vụ", "By service"),
            note: pick(
                lang,
                "Một giới thiệu có thể xin nhiều dịch vụ và được tính ở mỗi dịch vụ đó; tổng là số giới thiệu.",
                "One referral may ask for several services and counts in each of their rows; the total is the number of referrals.",
            ),
            head: [
                pick(lang, "Dịch vụ", "Service").to_owned(),
                referrals.clone(),
            ],
            labels: SERVICES
                .iter()
                .map(|s| words::service(lang, s).to_owned())
                .collect(),
            counts: by_service.to_vec(),
        },
        Counts {
            id: "by_state",
            title: format!(
                "{} {year_text}",
                pick(
                    lang,
                    "Giới thiệu theo trạng thái hiện tại,",
                    "Referrals by current state,"
                )
            ),
            short: pick(lang, "Theo trạng thái", "By state"),
            note: pick(
                lang,
                "Trạng thái tại thời điểm lập bảng.",
                "State when these tables were made.",
            ),
            head: [
                pick(lang, "Trạng thái", "State").to_owned(),
                referrals.clone(),
            ],
            labels: states
                .iter()
                .map(|(k, _)| words::state(lang, k).to_owned())
                .collect(),
            counts: states.iter().map(|(_, n)| *n).collect(),
        },
        places,
    ];
    let group: Vec<&[u32]> = count_tables.iter().map(|t| t.counts.as_slice()).collect();
    let (mut shown, mut total_shown, mut withheld) = protect_group(&group, total);
    // Each province knows its own number. With the total shown and only it and one other
    // province hidden, it would take the other's back by subtraction: across provinces, a
    // hidden cell needs at least two others hidden beside it, or no number is shown.
    if provinces.is_some() && !withheld {
        let hidden = shown.get(3).map_or(0, |cells| {
            cells
                .iter()
                .filter(|c| !matches!(c, Shown::Count(_)))
                .count()
        });
        if hidden > 0 && hidden < 3 {
            (shown, total_shown, withheld) = withhold(&group, total);
        }
    }
    // The number decided is the number not in the state "received": with a `<5` or `x` in the
    // state table, it would give that cell (or a sum of small ones) back.
    let states_exact = !withheld
        && shown
            .get(2)
            .is_some_and(|s| s.iter().all(|c| matches!(c, Shown::Count(_))));
    let total_label = pick(lang, "Tổng", "Total").to_owned();
    let mut tables: Vec<Table> = count_tables
        .iter()
        .zip(shown)
        .map(|(t, shown)| {
            let mut rows: Vec<Vec<String>> = t
                .labels
                .iter()
                .zip(shown)
                .map(|(label, s)| vec![label.clone(), s.to_string()])
                .collect();
            rows.push(vec![total_label.clone(), total_shown.to_string()]);
            Table {
                id: t.id,
                title: t.title.clone(),
                short: t.short.to_owned(),
                note: join_notes(t.note, withheld, lang),
                head: t.head.to_vec(),
                rows,
            }
        })
        .collect();

    tables.push(time_to_decision(decisions, states_exact, &year_text, lang));

    Stats {
        year,
        lang,
        title: match lang {
            Lang::Vi => format!("Thống kê giới thiệu năm {year}"),
            Lang::En => format!("Referral statistics, {year}"),
        },
        legend: pick(
            lang,
            "“<5”: từ 1 đến 4; “x”: ẩn để không lộ ai; “–”: không hiện vì dựa trên quá ít giới thiệu.",
            "“<5”: 1 to 4; “x”: hidden so no one can be pointed at; “–”: not shown, resting on too few referrals.",
        )
        .to_owned(),
        tables,
        total: total_shown.to_string(),
    }
}

/// Time from receipt to the first decision, by month received: number decided (protected as a
/// table of counts with its own total), median and 90th percentile in days. Only when the
/// state table shows every cell as it is (`states_exact`): else no number at all.
fn time_to_decision(
    mut decisions: [Vec<f64>; 12],
    states_exact: bool,
    year_text: &str,
    lang: Lang,
) -> Table {
    for d in decisions.iter_mut() {
        d.sort_by(f64::total_cmp);
    }
    let counts: Vec<u32> = decisions.iter().map(|d| count_u32(d.len())).collect();
    let decided: u32 = counts.iter().fold(0u32, |a, &c| a.saturating_add(c));
    let (shown, total_shown, withheld) = if states_exact {
        protect_group(&[&counts], decided)
    } else {
        withhold(&[&counts], decided)
    };
    let shown = shown.into_iter().next().unwrap_or_default();
    let stat = |values: &[f64], min: usize, f: fn(&[f64]) -> Option<f64>| -> String {
        if withheld && !values.is_empty() {
            return Shown::Hidden.to_string();
        }
        match f(values) {
            Some(days) if values.len() >= min => days_text(days, lang),
            _ => NOT_SHOWN.to_owned(),
        }
    };
    let mut rows: Vec<Vec<String>> = decisions
        .iter()
        .zip(shown)
        .enumerate()
        .map(|(i, (values, s))| {
            vec![
                month_label(lang, count_u32(i + 1)),
                s.to_string(),
                stat(values, MEDIAN_MIN, median),
                stat(values, P90_MIN, p90),
            ]
        })
        .collect();
    let mut all: Vec<f64> = decisions.concat();
    all.sort_by(f64::total_cmp);
    rows.push(vec![
        pick(lang, "Cả năm", "Whole year").to_owned(),
        total_shown.to_string(),
        stat(&all, MEDIAN_MIN, median),
        stat(&all, P90_MIN, p90),
    ]);
    Table {
        id: "time_to_decision",
        title: format!(
            "{} {year_text}",
            pick(lang, "Thời gian đến khi quyết định,", "Time to decision,")
        ),
        short: pick(lang, "Thời gian quyết định", "Time to decision").to_owned(),
        note: Some({
            let mut note = pick(
                lang,
                "Số ngày từ khi tỉnh nhận đến khi chấp nhận hoặc từ chối, theo tháng nhận. Trung vị chỉ hiện khi có từ 5 quyết định, phân vị 90 từ 10.",
                "Days from receipt by the province to acceptance or refusal, by month received. The median is shown from 5 decisions, the 90th percentile from 10.",
            )
            .to_owned();
            if !states_exact && decided > 0 {
                note.push(' ');
                note.push_str(pick(
                    lang,
                    "Các số được ẩn: bảng trạng thái có ô nhỏ, và số đã quyết định sẽ làm lộ chúng.",
                    "Numbers hidden: the state table has small cells, which the number decided would give away.",
                ));
            } else if withheld {
                note.push(' ');
                note.push_str(withheld_note(lang));
            }
            note
        }),
        head: vec![
            pick(lang, "Tháng nhận", "Month received").to_owned(),
            pick(lang, "Số đã quyết định", "Decided").to_owned(),
            pick(lang, "Trung vị (ngày)", "Median (days)").to_owned(),
            pick(lang, "Phân vị 90 (ngày)", "90th percentile (days)").to_owned(),
        ],
        rows,
    }
}

// ---- downloads ------------------------------------------------------------------------------

/// The statistics as one CSV file (UTF-8 with a byte-order mark, so Excel shows the
/// diacritics): the title and legend, then each table after a line with its title, its note
/// after it, and an empty line between tables.
pub fn to_csv(stats: &Stats) -> String {
    let mut out = String::from("\u{feff}");
    push_csv_line(&mut out, &[&stats.title]);
    push_csv_line(&mut out, &[&stats.legend]);
    for table in &stats.tables {
        out.push_str("\r\n");
        push_csv_line(&mut out, &[&table.title]);
        let head: Vec<&str> = table.head.iter().map(String::as_str).collect();
        push_csv_line(&mut out, &head);
        for row in &table.rows {
            let row: Vec<&str> = row.iter().map(String::as_str).collect();
            push_csv_line(&mut out, &row);
        }
        if let Some(note) = &table.note {
            push_csv_line(&mut out, &[note]);
        }
    }
    out
}

/// A cell's number, when it is one (`12`, `3,5`, `3.5`); `<5`, `x`, `–` stay text.
fn cell_number(text: &str) -> Option<f64> {
    let digits = text.chars().filter(char::is_ascii_digit).count();
    let seps = text.chars().filter(|c| matches!(c, '.' | ',')).count();
    if digits == 0 || digits + seps != text.chars().count() || seps > 1 {
        return None;
    }
    text.replace(',', ".").parse().ok()
}

/// The statistics as an Excel workbook built in memory: one sheet per table (title, head,
/// rows, total, note), counts and days as numbers, `<5`, `x` and `–` as text. Labels are
/// always written as text, never as formulas.
pub fn to_xlsx(stats: &Stats) -> Result<Vec<u8>, StatsError> {
    use rust_xlsxwriter::{DocProperties, Format, FormatAlign, Workbook};
    let x = |_: rust_xlsxwriter::XlsxError| StatsError::Xlsx;
    let mut book = Workbook::new();
    book.set_properties(&DocProperties::new().set_title(&stats.title));
    let heading = Format::new().set_bold().set_font_size(14);
    let bold = Format::new().set_bold();
    let bold_right = Format::new().set_bold().set_align(FormatAlign::Right);
    let right = Format::new().set_align(FormatAlign::Right);
    let italic = Format::new().set_italic();
    let days = Format::new()
        .set_align(FormatAlign::Right)
        .set_num_format("0.0");
    for (i, table) in stats.tables.iter().enumerate() {
        let sheet = book.add_worksheet();
        // Sheet names must be unique, at most 31 characters, without []:*?/\.
        let name: String = table
            .short
            .chars()
            .filter(|c| !"[]:*?/\\".contains(*c))
            .take(28)
            .collect();
        let name = if name.trim().is_empty() {
            format!("{}", i + 1)
        } else {
            name
        };
        sheet.set_name(&name).map_err(x)?;
        sheet.set_column_width(0, 40).map_err(x)?;
        for c in 1..table.head.len().max(2) {
            let c = u16::try_from(c).map_err(|_| StatsError::Xlsx)?;
            sheet.set_column_width(c, 22).map_err(x)?;
        }
        sheet
            .write_string_with_format(0, 0, &table.title, &heading)
            .map_err(x)?;
        sheet.write_string(1, 0, &stats.legend).map_err(x)?;
        let mut row: u32 = 3;
        for (c, head) in table.head.iter().enumerate() {
            let c = u16::try_from(c).map_err(|_| StatsError::Xlsx)?;
            let format = if c == 0 { &bold } else { &bold_right };
            sheet
                .write_string_with_format(row, c, head, format)
                .map_err(x)?;
        }
        let last = table.rows.len().saturating_sub(1);
        for (r, cells) in table.rows.iter().enumerate() {
            row += 1;
            let is_total = r == last;
            for (c, text) in cells.iter().enumerate() {
                let col = u16::try_from(c).map_err(|_| StatsError::Xlsx)?;
                let number = if c == 0 { None } else { cell_number(text) };
                match number {
                    Some(n) if c >= 2 => sheet.write_number_with_format(row, col, n, &days),
                    Some(n) if is_total => sheet.write_number_with_format(row, col, n, &bold_right),
                    Some(n) => sheet.write_number_with_format(row, col, n, &right),
                    None if c == 0 && is_total => {
                        sheet.write_string_with_format(row, col, text, &bold)
                    }
                    None if c == 0 => sheet.write_string(row, col, text),
                    None => sheet.write_string_with_format(row, col, text, &right),
                }
                .map_err(x)?;
            }
        }
        if let Some(note) = &table.note {
            sheet
                .write_string_with_format(row + 2, 0, note, &italic)
                .map_err(x)?;
        }
    }
    book.save_to_buffer().map_err(x)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use super::*;
    use std::io::Read;

    /// A referral received at `at` (UTC), for `services`, in `state`.
    fn fact(at: &str, services: &[&str], state: &str) -> ReferralFacts {
        ReferralFacts {
            received_at: at.to_owned(),
            services: services.iter().map(|s| s.to_string()).collect(),
            state: state.to_owned(),
            commune: None,
            decided_at: None,
        }
    }

    fn many(n: usize, at: &str) -> Vec<ReferralFacts> {
        (0..n).map(|_| fact(at, &["jobs"], "received")).collect()
    }

    /// The shown cell of the row labelled `label` in table `id`, column `col`.
    fn cell(stats: &Stats, id: &str, label: &str, col: usize) -> String {
        let table = stats.table(id).unwrap_or_else(|| panic!("no table {id}"));
        let row = table
            .rows
            .iter()
            .find(|r| r[0] == label)
            .unwrap_or_else(|| panic!("no row {label} in {id}: {:?}", table.rows));
        row[col].clone()
    }

    fn total_of(stats: &Stats, id: &str) -> Vec<String> {
        stats.table(id).unwrap().rows.last().unwrap().clone()
    }

    #[test]
    fn the_national_totals_count_by_province_and_hide_a_small_one_and_what_gives_it_back() {
        let th = many(7, "2026-03-10T03:00:00Z");
        let lc = many(2, "2026-04-10T03:00:00Z");
        let none: Vec<ReferralFacts> = Vec::new();
        let s = compute_national(
            &[("Lào Cai", lc), ("Thanh Hóa", th), ("Hà Nội", none)],
            2026,
            Lang::Vi,
        );
        assert!(s.table("by_commune").is_none());
        // Lào Cai's 2 and Thanh Hóa's 7 would both be hidden; but Thanh Hóa knows its 7, and
        // with the total of 9 it would take Lào Cai's 2 back: no number at all.
        assert_eq!(cell(&s, "by_province", "Lào Cai", 1), "x");
        assert_eq!(cell(&s, "by_province", "Thanh Hóa", 1), "x");
        assert_eq!(cell(&s, "by_province", "Hà Nội", 1), "0");
        assert_eq!(cell(&s, "by_province", "Tổng", 1), "x");
        assert_eq!(cell(&s, "by_month", "Tổng", 1), "x");
        // A third province with referrals: each hidden cell has two others beside it.
        let s = compute_national(
            &[
                ("Lào Cai", many(2, "2026-04-10T03:00:00Z")),
                ("Thanh Hóa", many(7, "2026-03-10T03:00:00Z")),
                ("Điện Biên", many(6, "2026-05-10T03:00:00Z")),
            ],
            2026,
            Lang::Vi,
        );
        assert_eq!(cell(&s, "by_province", "Lào Cai", 1), "<5");
        assert_eq!(cell(&s, "by_province", "Thanh Hóa", 1), "x");
        assert_eq!(cell(&s, "by_province", "Điện Biên", 1), "x");
        assert_eq!(cell(&s, "by_province", "Tổng", 1), "15");
        let s = compute_national(
            &[
                ("Lào Cai", many(2, "2026-04-10T03:00:00Z")),
                ("Thanh Hóa", many(7, "2026-03-10T03:00:00Z")),
                ("Hà Nội", Vec::new()),
            ],
            2026,
            Lang::Vi,
        );
        // In the order given (the caller's order of names), the total last.
        let names: Vec<&str> = s
            .table("by_province")
            .unwrap()
            .rows
            .iter()
            .map(|r| r[0].as_str())
            .collect();
        assert_eq!(names, ["Lào Cai", "Thanh Hóa", "Hà Nội", "Tổng"]);
        assert!(s.title.contains("toàn quốc"));
        // Five or more everywhere: every number shows.
        let s = compute_national(
            &[
                ("Lào Cai", many(5, "2026-04-10T03:00:00Z")),
                ("Thanh Hóa", many(7, "2026-03-10T03:00:00Z")),
            ],
            2026,
            Lang::En,
        );
        assert_eq!(cell(&s, "by_province", "Lào Cai", 1), "5");
        assert_eq!(cell(&s, "by_province", "Thanh Hóa", 1), "7");
        assert_eq!(cell(&s, "by_province", "Total", 1), "12");
    }

    #[test]
    fn three_in_march_and_seven_in_april_follow_the_phones_rule() {
        let mut facts = many(3, "2026-03-10T03:00:00Z");
        facts.extend(many(7, "2026-04-10T03:00:00Z"));
        let s = compute(&facts, 2026, Lang::En);
        assert_eq!(cell(&s, "by_month", "March", 1), "<5");
        // With a <5 cell in the table and the total shown, 7 would give the 3 back: hidden.
        assert_eq!(cell(&s, "by_month", "April", 1), "x");
        assert_eq!(cell(&s, "by_month", "May", 1), "0");
        assert_eq!(total_of(&s, "by_month"), vec!["Total", "10"]);
        assert_eq!(s.total, "10");
        // The same cells as protect gives, month by month.
        let mut counts = [0u32; 12];
        counts[2] = 3;
        counts[3] = 7;
        let expected: Vec<String> = protect(&counts)
            .unwrap()
            .iter()
            .map(|c| c.to_string())
            .collect();
        let table = s.table("by_month").unwrap();
        let shown: Vec<String> = table.rows[..12].iter().map(|r| r[1].clone()).collect();
        assert_eq!(shown, expected);

        // Without a small cell, 7 is shown as 7.
        let mut facts = many(5, "2026-03-10T03:00:00Z");
        facts.extend(many(7, "2026-04-10T03:00:00Z"));
        let s = compute(&facts, 2026, Lang::En);
        assert_eq!(cell(&s, "by_month", "March", 1), "5");
        assert_eq!(cell(&s, "by_month", "April", 1), "7");
        assert_eq!(s.total, "12");
    }

    #[test]
    fn a_table_the_total_would_pin_shows_no_number_anywhere() {
        // 4 in March and 4 in April (total 8): both <5 cells must be 4. Every table sharing
        // that total then shows no number, as the phone's report does.
        let mut facts = many(4, "2026-03-10T03:00:00Z");
        facts.extend(many(4, "2026-04-10T03:00:00Z"));
        let s = compute(&facts, 2026, Lang::Vi);
        assert_eq!(cell(&s, "by_month", "Tháng 3", 1), "x");
        assert_eq!(cell(&s, "by_month", "Tháng 4", 1), "x");
        assert_eq!(cell(&s, "by_month", "Tháng 5", 1), "0");
        assert_eq!(s.total, "x");
        assert_eq!(cell(&s, "by_service", "Việc làm", 1), "x");
        assert_eq!(cell(&s, "by_state", "Tỉnh đã nhận", 1), "x");
        for t in &s.tables[..4] {
            assert!(
                t.note.as_deref().unwrap().contains("các số được ẩn"),
                "{}",
                t.id
            );
            assert!(t.rows.iter().flatten().all(|c| c != "8" && c != "4"));
        }
    }

    #[test]
    fn a_referral_with_two_services_counts_in_both() {
        let mut facts = many(5, "2026-05-01T03:00:00Z");
        facts.extend((0..5).map(|_| {
            fact(
                "2026-05-01T03:00:00Z",
                &["vocational_training", "loans"],
                "received",
            )
        }));
        let s = compute(&facts, 2026, Lang::En);
        assert_eq!(cell(&s, "by_service", "Vocational training", 1), "5");
        assert_eq!(cell(&s, "by_service", "Loans", 1), "5");
        assert_eq!(cell(&s, "by_service", "Jobs", 1), "5");
        // The total is the number of referrals, not the sum of the rows.
        assert_eq!(total_of(&s, "by_service")[1], "10");
        let note = s.table("by_service").unwrap().note.clone().unwrap();
        assert!(note.contains("counts in each"), "{note}");
        // A service named twice in one referral counts once.
        let twice = vec![fact("2026-05-01T03:00:00Z", &["jobs", "jobs"], "received"); 5];
        let s = compute(&twice, 2026, Lang::En);
        assert_eq!(cell(&s, "by_service", "Jobs", 1), "5");
    }

    #[test]
    fn months_are_vietnam_time() {
        // 18:00 UTC on 31 March is 01:00 on 1 April in Vietnam.
        let facts = many(5, "2026-03-31T18:00:00Z");
        let s = compute(&facts, 2026, Lang::En);
        assert_eq!(cell(&s, "by_month", "April", 1), "5");
        assert_eq!(cell(&s, "by_month", "March", 1), "0");
        // 16:59 UTC on 31 March is still March.
        let s = compute(&many(5, "2026-03-31T16:59:59Z"), 2026, Lang::En);
        assert_eq!(cell(&s, "by_month", "March", 1), "5");
        // New Year's Eve 17:00 UTC is already next year in Vietnam.
        let s = compute(&many(5, "2025-12-31T17:00:00Z"), 2026, Lang::En);
        assert_eq!(cell(&s, "by_month", "January", 1), "5");
        assert_eq!(
            compute(&many(5, "2025-12-31T17:00:00Z"), 2025, Lang::En).total,
            "0"
        );
    }

    #[test]
    fn the_years_with_referrals_newest_first() {
        let mut facts = many(1, "2025-12-31T17:00:00Z"); // 2026 in Vietnam
        facts.extend(many(2, "2024-06-01T00:00:00Z"));
        facts.push(fact("garbage", &[], "received"));
        assert_eq!(years(&facts), vec![2026, 2024]);
        assert!(years(&[]).is_empty());
    }

    #[test]
    fn other_years_are_left_out() {
        let mut facts = many(6, "2026-06-10T03:00:00Z");
        facts.extend(many(9, "2025-06-10T03:00:00Z"));
        facts.extend(many(9, "2027-06-10T03:00:00Z"));
        facts.push(fact("not a time", &["jobs"], "received"));
        let s = compute(&facts, 2026, Lang::En);
        assert_eq!(s.total, "6");
        assert_eq!(cell(&s, "by_month", "June", 1), "6");
        assert_eq!(cell(&s, "by_service", "Jobs", 1), "6");
        assert_eq!(s.year, 2026);
        assert!(s.title.contains("2026"));
    }

    #[test]
    fn a_commune_typed_in_nfd_counts_with_the_nfc_one() {
        let nfc = "M\u{1b0}\u{1edd}ng L\u{e1}t"; // Mường Lát, precomposed
        let nfd: String = nfc.nfd().collect();
        assert_ne!(nfd, nfc);
        let mut facts = Vec::new();
        for (i, name) in [&nfd, &nfd, &nfd, nfc, nfc, " Mường  Lát ", nfc]
            .iter()
            .enumerate()
        {
            let mut f = fact("2026-02-02T03:00:00Z", &["jobs"], "received");
            f.commune = Some(name.to_string());
            if i == 0 {
                f.commune = Some("mường lát".to_owned());
            }
            facts.push(f);
        }
        facts.extend(many(5, "2026-02-02T03:00:00Z"));
        let s = compute(&facts, 2026, Lang::Vi);
        let table = s.table("by_commune").unwrap();
        let labels: Vec<&str> = table.rows.iter().map(|r| r[0].as_str()).collect();
        assert_eq!(labels, vec![nfc, "Không rõ (không được chia sẻ)", "Tổng"]);
        assert_eq!(cell(&s, "by_commune", nfc, 1), "7");
        assert_eq!(
            cell(&s, "by_commune", "Không rõ (không được chia sẻ)", 1),
            "5"
        );
        assert_eq!(total_of(&s, "by_commune")[1], "12");
    }

    #[test]
    fn communes_come_in_order_of_name_not_of_size() {
        let mut facts = Vec::new();
        for (name, n) in [
            ("Trung Lý", 9),
            ("Pù Nhi", 5),
            ("Na Mèo", 7),
            ("Đông Sơn", 6),
            ("Ấm Hạ", 5),
            ("Hà Trung", 8),
        ] {
            for _ in 0..n {
                let mut f = fact("2026-02-02T03:00:00Z", &["jobs"], "received");
                f.commune = Some(name.to_owned());
                facts.push(f);
            }
        }
        let s = compute(&facts, 2026, Lang::En);
        let labels: Vec<&str> = s.table("by_commune").unwrap().rows[..6]
            .iter()
            .map(|r| r[0].as_str())
            .collect();
        assert_eq!(
            labels,
            vec![
                "Ấm Hạ",
                "Đông Sơn",
                "Hà Trung",
                "Na Mèo",
                "Pù Nhi",
                "Trung Lý"
            ]
        );
    }

    /// Referrals received in `month` of 2026, decided after `days` each.
    fn decided(month: u32, days: &[f64]) -> Vec<ReferralFacts> {
        let received = format!("2026-{month:02}-05T03:00:00Z");
        let at = DateTime::parse_from_rfc3339(&received).unwrap();
        days.iter()
            .map(|d| {
                let secs = (d * 86_400.0) as i64;
                let mut f = fact(&received, &["jobs"], "accepted");
                f.decided_at = Some((at + chrono::TimeDelta::seconds(secs)).to_rfc3339());
                f
            })
            .collect()
    }

    #[test]
    fn median_days_to_decision_rest_on_five_or_more() {
        let mut facts = decided(3, &[1.0, 2.0, 3.0, 4.0, 10.0]);
        facts.extend(decided(4, &[1.0, 2.0, 3.0, 20.0, 30.0, 2.5]));
        facts.extend(decided(5, &[1.0, 2.0, 3.0, 4.0]));
        // Not decided: counted as a referral, not in the decision table.
        facts.extend(many(5, "2026-03-05T03:00:00Z"));
        let s = compute(&facts, 2026, Lang::En);
        // May's 4 is <5, so March's 5 is hidden as x; its median still shows (x is 5 or more).
        assert_eq!(cell(&s, "time_to_decision", "March", 1), "x");
        assert_eq!(cell(&s, "time_to_decision", "March", 2), "3.0");
        // Even count: the mean of the two middle values (2.5 and 3).
        assert_eq!(cell(&s, "time_to_decision", "April", 2), "2.8");
        // Four decisions: the count is <5 and no median is shown.
        assert_eq!(cell(&s, "time_to_decision", "May", 1), "<5");
        assert_eq!(cell(&s, "time_to_decision", "May", 2), "–");
        // Fewer than 10: no 90th percentile.
        assert_eq!(cell(&s, "time_to_decision", "March", 3), "–");
        // The whole year: 15 decisions, median 3, 90th percentile the 14th value (20).
        let year = total_of(&s, "time_to_decision");
        assert_eq!(year[0], "Whole year");
        assert_eq!(year[2], "3.0");
        assert_eq!(year[3], "20.0");
        // In Vietnamese, a decimal comma.
        let s = compute(&facts, 2026, Lang::Vi);
        assert_eq!(cell(&s, "time_to_decision", "Tháng 3", 2), "3,0");
    }

    #[test]
    fn a_withheld_decision_table_shows_no_median_either() {
        // 5 decided in March and 1 in April (total 6): the 1 would be pinned (6 = x + <5
        // with x >= 5), so no number; a median in March would tell it had 5.
        let mut facts = decided(3, &[1.0, 2.0, 3.0, 4.0, 5.0]);
        facts.extend(decided(4, &[1.0]));
        facts.extend(many(10, "2026-03-05T03:00:00Z"));
        let s = compute(&facts, 2026, Lang::En);
        assert_eq!(cell(&s, "time_to_decision", "March", 1), "x");
        assert_eq!(cell(&s, "time_to_decision", "March", 2), "x");
        assert_eq!(cell(&s, "time_to_decision", "April", 1), "x");
        assert_eq!(total_of(&s, "time_to_decision")[1], "x");
        assert_eq!(total_of(&s, "time_to_decision")[2], "x");
    }

    #[test]
    fn decisions_are_not_counted_when_the_state_table_has_small_cells() {
        // 2 still "received", 10 accepted (5 in March, 5 in April): the state table shows
        // <5 and x, total 12. A decided total of 10 would give the 2 back (12 - 10).
        let mut facts = decided(3, &[1.0, 2.0, 3.0, 4.0, 5.0]);
        facts.extend(decided(4, &[1.0, 2.0, 3.0, 4.0, 5.0]));
        facts.extend(many(2, "2026-03-05T03:00:00Z"));
        let s = compute(&facts, 2026, Lang::En);
        assert_eq!(cell(&s, "by_state", "Received by the province", 1), "<5");
        assert_eq!(s.total, "12");
        for month in ["March", "April"] {
            assert_eq!(cell(&s, "time_to_decision", month, 1), "x");
            assert_eq!(cell(&s, "time_to_decision", month, 2), "x");
        }
        assert_eq!(cell(&s, "time_to_decision", "May", 1), "0");
        assert_eq!(total_of(&s, "time_to_decision")[1], "x");
        let table = s.table("time_to_decision").unwrap();
        assert!(table.note.as_deref().unwrap().contains("state table"));
        assert!(table.rows.iter().flatten().all(|c| c != "10" && c != "5"));
        // With 5 still "received", the same decisions are shown.
        let mut facts = decided(3, &[1.0, 2.0, 3.0, 4.0, 5.0]);
        facts.extend(decided(4, &[1.0, 2.0, 3.0, 4.0, 5.0]));
        facts.extend(many(5, "2026-03-05T03:00:00Z"));
        let s = compute(&facts, 2026, Lang::En);
        assert_eq!(cell(&s, "time_to_decision", "March", 1), "5");
        assert_eq!(cell(&s, "time_to_decision", "March", 2), "3.0");
        assert_eq!(total_of(&s, "time_to_decision")[1], "10");
    }

    fn sample() -> Stats {
        let mut facts = many(6, "2026-03-10T03:00:00Z");
        for f in facts.iter_mut().take(5) {
            f.commune = Some("=HYPERLINK(\"http://evil\",\"x\")".to_owned());
        }
        facts.extend(decided(4, &[1.0, 2.0, 3.0, 4.0, 5.0]));
        facts.push(fact(
            "2026-03-10T03:00:00Z",
            &["identity_papers"],
            "received",
        ));
        compute(&facts, 2026, Lang::Vi)
    }

    #[test]
    fn csv_has_a_bom_quotes_commas_and_defuses_formulas() {
        let csv_text = to_csv(&sample());
        let body = csv_text
            .strip_prefix('\u{feff}')
            .expect("a byte-order mark");
        assert!(body.starts_with("Thống kê giới thiệu năm 2026\r\n"));
        // A label with a comma is quoted.
        assert!(
            body.contains("\r\n\"Giấy tờ tuỳ thân, hộ tịch\",<5\r\n"),
            "{body}"
        );
        // A commune that a spreadsheet would run as a formula starts with an apostrophe.
        assert!(
            body.contains("\r\n\"'=HYPERLINK(\"\"http://evil\"\",\"\"x\"\")\","),
            "{body}"
        );
        assert!(!body.contains("\n=") && !body.contains(",="));
        // Every line parses as CSV, and the tables come back whole.
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .from_reader(body.as_bytes());
        let records: Vec<csv::StringRecord> = reader.records().map(|r| r.unwrap()).collect();
        let titles = records
            .iter()
            .filter(|r| r.len() == 1 && r[0].contains("năm 2026"))
            .count();
        assert_eq!(titles, 1 + sample().tables.len());
        assert!(
            records
                .iter()
                .any(|r| r.len() == 2 && r[0] == *"Giấy tờ tuỳ thân, hộ tịch")
        );
    }

    #[test]
    fn xlsx_has_one_sheet_per_table_and_numbers_as_numbers() {
        let stats = sample();
        let bytes = to_xlsx(&stats).unwrap();
        assert_eq!(&bytes[..2], b"PK");
        let mut zip = zip::ZipArchive::new(std::io::Cursor::new(bytes)).unwrap();
        let sheets = (0..zip.len())
            .filter(|i| {
                let name = zip.by_index(*i).unwrap().name().unwrap().into_owned();
                name.starts_with("xl/worksheets/sheet") && name.ends_with(".xml")
            })
            .count();
        assert_eq!(sheets, stats.tables.len());
        let mut workbook = String::new();
        zip.by_name("xl/workbook.xml")
            .unwrap()
            .read_to_string(&mut workbook)
            .unwrap();
        for t in &stats.tables {
            assert!(
                workbook.contains(&format!("name=\"{}\"", t.short)),
                "{}",
                t.short
            );
        }
        // By month: row 5 of the sheet is January, row 7 March (7 referrals, no small cell
        // in the table): a number, not text (a text cell has t="s").
        let mut sheet = String::new();
        zip.by_name("xl/worksheets/sheet1.xml")
            .unwrap()
            .read_to_string(&mut sheet)
            .unwrap();
        let b7 = &sheet[sheet.find("<c r=\"B7\"").unwrap()..];
        let b7 = &b7[..b7.find("</c>").unwrap()];
        assert!(b7.contains("<v>7</v>") && !b7.contains("t=\"s\""), "{b7}");
        // The formula-like commune is a string, never a formula.
        let mut commune = String::new();
        zip.by_name("xl/worksheets/sheet4.xml")
            .unwrap()
            .read_to_string(&mut commune)
            .unwrap();
        assert!(!commune.contains("<f>"), "{commune}");
    }

    #[test]
    fn every_text_is_nfc_and_in_the_language_asked() {
        use unicode_normalization::is_nfc;
        let vi = sample();
        for t in &vi.tables {
            assert!(is_nfc(&t.title) && t.note.as_deref().is_none_or(is_nfc));
            assert!(t.rows.iter().flatten().all(|c| is_nfc(c)));
            assert!(t.head.iter().all(|c| is_nfc(c)));
        }
        assert!(is_nfc(&to_csv(&vi)));
        let en = compute(&many(5, "2026-01-01T03:00:00Z"), 2026, Lang::En);
        assert_eq!(en.table("by_service").unwrap().head[0], "Service");
        assert_eq!(vi.table("by_service").unwrap().head[0], "Dịch vụ");
        assert_eq!(en.tables.len(), 5);
    }

    #[test]
    fn debug_of_a_referral_does_not_show_its_commune() {
        let mut f = fact("2026-01-01T03:00:00Z", &["jobs"], "received");
        f.commune = Some("Mường Lát".to_owned());
        let text = format!("{f:?}");
        assert!(!text.contains("Mường") && text.contains("commune_shared: true"));
    }
}
