//! Timing helpers and the result table.

use std::time::Instant;

/// Seconds taken by `f`, and its result.
pub fn timed<T>(f: impl FnOnce() -> T) -> (T, f64) {
    let start = Instant::now();
    let out = f();
    (out, start.elapsed().as_secs_f64())
}

pub use crate::same::median;

/// `warm` untimed calls, then the median of `reps` timed ones, in seconds.
pub fn median_of(warm: usize, reps: usize, mut f: impl FnMut()) -> f64 {
    for _ in 0..warm {
        f();
    }
    median(
        (0..reps)
            .map(|_| {
                let start = Instant::now();
                f();
                start.elapsed().as_secs_f64()
            })
            .collect(),
    )
}

/// A duration in the unit that reads best.
pub fn dur(secs: f64) -> String {
    if secs >= 1.0 {
        format!("{secs:.2} s")
    } else if secs >= 1e-3 {
        format!("{:.2} ms", secs * 1e3)
    } else {
        format!("{:.1} µs", secs * 1e6)
    }
}

pub fn rate(per_sec: f64, unit: &str) -> String {
    format!("{per_sec:.0} {unit}/s")
}

/// One line of the final table.
pub struct Row {
    pub id: &'static str,
    pub what: String,
    pub baseline: String,
    pub measured: String,
    pub ratio: String,
    pub target: String,
    /// None: no target, or not measured.
    pub met: Option<bool>,
}

#[derive(Default)]
pub struct Report {
    rows: Vec<Row>,
}

impl Report {
    pub fn push(&mut self, row: Row) {
        let met = match row.met {
            Some(true) => "met",
            Some(false) => "NOT met",
            None => "-",
        };
        println!(
            "  => [{}] {}: measured {} | baseline {} | ratio {} | target {} | {}",
            row.id, row.what, row.measured, row.baseline, row.ratio, row.target, met
        );
        self.rows.push(row);
    }

    /// The ratio of a row already measured in this run (its first word, e.g. "0.72×"), for a
    /// later item to show beside its own.
    pub fn ratio_of(&self, id: &str) -> Option<String> {
        let row = self.get(id)?;
        row.ratio.split_whitespace().next().map(str::to_owned)
    }

    pub fn get(&self, id: &str) -> Option<&Row> {
        self.rows.iter().find(|r| r.id == id)
    }

    /// The table, as Markdown (docs/PERFORMANCE.md takes it as is).
    pub fn print_table(&self) {
        println!();
        println!("| # | what | baseline (same run) | measured | ratio | target | met |");
        println!("|---|---|---|---|---|---|---|");
        let mut rows: Vec<&Row> = self.rows.iter().collect();
        rows.sort_by_key(|r| r.id);
        for r in rows {
            let met = match r.met {
                Some(true) => "yes",
                Some(false) => "**no**",
                None => "-",
            };
            println!(
                "| {} | {} | {} | {} | {} | {} | {} |",
                r.id, r.what, r.baseline, r.measured, r.ratio, r.target, met
            );
        }
    }
}
