//! Small-cell protection shared by the phone's reports and the province's console: no
//! published count may point at a person. A count from 1 to 4 is shown as `<5`; a table with
//! any such cell hides its counts of 5 and more too (`x`), and a table that the total would
//! still pin down is refused ([`protect`] gives `None`: the caller then shows no number).

use std::fmt;

use serde::{Serialize, Serializer};

/// Counts below this (and above zero) are shown as `<5`.
pub const SMALL_CELL_LIMIT: u32 = 5;

/// A count as it may be shown.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Shown {
    /// Zero, or five and more.
    Count(u32),
    /// From 1 to 4: shown as `<5`.
    Small,
    /// Hidden so that the total cannot give a small cell back: shown as `x`.
    Hidden,
}

impl Shown {
    /// The primary rule alone: 1 to 4 become `<5`.
    pub fn of(count: u32) -> Shown {
        if count == 0 || count >= SMALL_CELL_LIMIT {
            Shown::Count(count)
        } else {
            Shown::Small
        }
    }

    /// The exact number, when it may be shown.
    pub fn count(self) -> Option<u32> {
        match self {
            Shown::Count(n) => Some(n),
            Shown::Small | Shown::Hidden => None,
        }
    }
}

impl fmt::Display for Shown {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Shown::Count(n) => write!(f, "{n}"),
            Shown::Small => f.write_str("<5"),
            Shown::Hidden => f.write_str("x"),
        }
    }
}

/// JSON: a number when shown, else the string `"<5"` or `"x"`.
impl Serialize for Shown {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Shown::Count(n) => s.serialize_u32(*n),
            other => s.serialize_str(&other.to_string()),
        }
    }
}

/// Small-cell protection of one table. 1 to 4 become `<5`; when a table has any, every cell of
/// 5 and more is hidden as well (`x`). What is shown then depends only on which cells are zero,
/// which are under 5, and the total, so knowing the rule tells a reader nothing more (a rule that
/// hid "just enough" cells would give values away by where it stopped). The cells' sum counts as
/// known: it is the published total of an additive table, and assuming it known is the careful
/// side when one item can fall in several rows. `None` when even so a `<5` cell could be narrowed
/// below "1 to 4" (4 women and 4 men, total 8: both must be 4). Zero stays 0.
pub fn protect(counts: &[u32]) -> Option<Vec<Shown>> {
    let limit = u64::from(SMALL_CELL_LIMIT);
    let sum: u64 = counts.iter().map(|&c| u64::from(c)).sum();
    let small = counts
        .iter()
        .filter(|&&c| Shown::of(c) == Shown::Small)
        .count() as u64;
    // No small cell, or a total that is `<5` itself (so not known): nothing more to hide.
    if small == 0 || sum < limit {
        return Some(counts.iter().map(|&c| Shown::of(c)).collect());
    }
    let big = counts.iter().filter(|&&c| u64::from(c) >= limit).count() as u64;
    let out = counts
        .iter()
        .map(|&c| {
            if u64::from(c) >= limit {
                Shown::Hidden
            } else {
                Shown::of(c)
            }
        })
        .collect();
    // One `<5` cell can be 4 only if the others can take the rest at their smallest (each other
    // `<5` at 1, each `x` at 5), and 1 only if they can take it at their largest (`x` has none).
    let can_be_four = sum >= (limit - 1) + (small - 1) + big * limit;
    let can_be_one = big > 0 || sum <= 1 + (small - 1) * (limit - 1);
    (can_be_four && can_be_one).then_some(out)
}

/// One CSV record (RFC 4180) of a published table: fields quoted when they hold a comma, a
/// quote or a line break; a text a spreadsheet would read as a formula (it starts with `=`,
/// `+`, `-`, `@`, a tab or a carriage return) gets a leading apostrophe, since names and
/// communes come from phones. Shared by the phone's reports and the province's statistics.
pub fn push_csv_line(out: &mut String, fields: &[&str]) {
    for (i, field) in fields.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        let mut value = String::new();
        if field.starts_with(['=', '+', '-', '@', '\t', '\r']) {
            value.push('\'');
        }
        value.push_str(field);
        if value.contains([',', '"', '\n', '\r']) {
            out.push('"');
            out.push_str(&value.replace('"', "\"\""));
            out.push('"');
        } else {
            out.push_str(&value);
        }
    }
    out.push_str("\r\n");
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use super::*;

    use Shown::{Count, Hidden, Small};

    #[test]
    fn small_counts_show_as_under_five() {
        assert_eq!(Shown::of(0), Count(0));
        for n in 1..=4 {
            assert_eq!(Shown::of(n), Small);
            assert_eq!(Shown::of(n).to_string(), "<5");
        }
        assert_eq!(Shown::of(5), Count(5));
        assert_eq!(Shown::of(5).to_string(), "5");
        assert_eq!(Hidden.to_string(), "x");
    }

    #[test]
    fn hidden_cells_are_added_until_the_total_gives_nothing_back() {
        // 12 Thái, 1 Mông, 1 Dao (total 14): shown as 12, <5, <5 the two would add up to 2, so
        // each would be 1; with 12 hidden they could be anything from 1 to 4.
        assert_eq!(protect(&[12, 1, 1]), Some(vec![Hidden, Small, Small]));
        // 12, 5, 1 (total 18): hiding 5 alone would leave 6 = x + <5 with x >= 5.
        assert_eq!(protect(&[12, 5, 1]), Some(vec![Hidden, Hidden, Small]));
        assert_eq!(
            protect(&[30, 25, 9, 3]),
            Some(vec![Hidden, Hidden, Hidden, Small])
        );
        // Nothing small, nothing hidden.
        assert_eq!(
            protect(&[5, 6, 7]),
            Some(vec![Count(5), Count(6), Count(7)])
        );
    }

    #[test]
    fn zero_is_never_suppressed_nor_used_as_a_hidden_cell() {
        assert_eq!(
            protect(&[0, 0, 0]),
            Some(vec![Count(0), Count(0), Count(0)])
        );
        // 2 men, 6 women: with 6 hidden, 8 = x + <5 and x >= 5 leaves the men at 1 to 3, so
        // this table cannot be protected with its total shown.
        assert_eq!(protect(&[2, 0, 6]), None);
        assert_eq!(
            protect(&[2, 0, 6, 9]),
            Some(vec![Small, Count(0), Hidden, Hidden])
        );
        assert_eq!(protect(&[0, 3]), Some(vec![Count(0), Small]));
    }

    #[test]
    fn a_table_that_the_total_pins_whatever_is_hidden_is_refused() {
        // 4 women, 4 men (total 8): both <5 cells must be 4.
        assert_eq!(protect(&[4, 4, 0]), None);
        assert_eq!(protect(&[4, 4]), None);
    }

    #[test]
    fn json_is_a_number_when_shown_else_text() {
        let json = serde_json::to_string(&[Count(12), Small, Hidden, Count(0)]).unwrap();
        assert_eq!(json, r#"[12,"<5","x",0]"#);
    }

    /// Every table consistent with what is shown, under the published rule: same zeros and
    /// shown counts, each `<5` in 1..=4, each `x` at least 5, same sum, and `protect` gives the
    /// same output. Returns, for each cell, the values it can take.
    fn readings(shown: &[Shown], sum: u32) -> Vec<std::collections::BTreeSet<u32>> {
        fn go(
            shown: &[Shown],
            sum: u32,
            at: usize,
            acc: &mut Vec<u32>,
            out: &mut Vec<std::collections::BTreeSet<u32>>,
        ) {
            let so_far: u32 = acc.iter().sum();
            if at == shown.len() {
                if so_far == sum && protect(acc).as_deref() == Some(shown) {
                    for (set, v) in out.iter_mut().zip(acc.iter()) {
                        set.insert(*v);
                    }
                }
                return;
            }
            let range = match shown[at] {
                Count(n) => n..=n,
                Small => 1..=4,
                Hidden => 5..=sum.saturating_sub(so_far).max(5),
            };
            for v in range {
                if so_far + v > sum {
                    break;
                }
                acc.push(v);
                go(shown, sum, at + 1, acc, out);
                acc.pop();
            }
        }
        let mut out = vec![std::collections::BTreeSet::new(); shown.len()];
        go(shown, sum, 0, &mut Vec::new(), &mut out);
        out
    }

    #[test]
    fn no_small_cell_can_be_worked_out_from_the_total_and_the_rule() {
        // Every table of 2, 3 and 4 cells in small ranges, read the way an attacker who knows
        // the rule would: each <5 cell must still be anything from 1 to 4.
        let mut checked = 0;
        for (cells, max) in [(2usize, 16u32), (3, 13), (4, 7)] {
            let mut counts = vec![0u32; cells];
            for n in 0..(max + 1).pow(cells as u32) {
                let mut x = n;
                for c in counts.iter_mut() {
                    *c = x % (max + 1);
                    x /= max + 1;
                }
                let Some(shown) = protect(&counts) else {
                    continue;
                };
                let sum: u32 = counts.iter().sum();
                if sum < 5 {
                    // The total is <5 itself and every cell too: nothing more to hide.
                    continue;
                }
                let seen = readings(&shown, sum);
                for (i, s) in shown.iter().enumerate() {
                    if *s == Small {
                        assert_eq!(
                            seen[i].iter().copied().collect::<Vec<_>>(),
                            vec![1, 2, 3, 4],
                            "{counts:?} -> {shown:?}: cell {i}"
                        );
                    }
                    if counts[i] == 0 {
                        assert_eq!(*s, Count(0));
                    }
                    if (1..5).contains(&counts[i]) {
                        assert_eq!(*s, Small);
                    }
                }
                checked += 1;
            }
        }
        assert!(checked > 4000, "{checked}");
    }

    #[test]
    fn csv_quotes_and_defuses_formulas() {
        let mut out = String::new();
        push_csv_line(
            &mut out,
            &[
                "a,b",
                "say \"hi\"",
                "=HYPERLINK(\"x\")",
                "\tcmd",
                "Mường Lát",
            ],
        );
        assert_eq!(
            out,
            "\"a,b\",\"say \"\"hi\"\"\",\"'=HYPERLINK(\"\"x\"\")\",'\tcmd,Mường Lát\r\n"
        );
    }
}
