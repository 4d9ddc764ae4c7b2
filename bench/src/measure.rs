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
    let [t] = medians_in_turn(warm, reps, [&mut f]);
    t
}

/// `warm` rounds, then `reps` timed ones, each calling every one of `fs` in turn (so that a slow
/// moment of the machine falls on all of them); the median of each, in seconds, in their order.
pub fn medians_in_turn<const N: usize>(
    warm: usize,
    reps: usize,
    mut fs: [&mut dyn FnMut(); N],
) -> [f64; N] {
    let mut times: [Vec<f64>; N] = std::array::from_fn(|_| Vec::with_capacity(reps));
    for round in 0..warm + reps {
        for (f, t) in fs.iter_mut().zip(&mut times) {
            let start = Instant::now();
            f();
            if round >= warm {
                t.push(start.elapsed().as_secs_f64());
            }
        }
    }
    times.map(median)
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

/// CPU time each thread of this process has run, in seconds, by thread id, with the thread's
/// name: the scheduler's own count in `/proc/self/task/*/sched` (nanoseconds, where the
/// `stat` file counts 10 ms ticks). None where the kernel does not give that file.
pub fn threads_cpu() -> Option<std::collections::HashMap<u32, (String, f64)>> {
    let mut out = std::collections::HashMap::new();
    for task in std::fs::read_dir("/proc/self/task").ok()? {
        let task = task.ok()?;
        let Ok(tid) = task.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        // A thread that ended since the listing is skipped.
        let Ok(text) = std::fs::read_to_string(task.path().join("sched")) else {
            continue;
        };
        // The first line is "name (tid, #threads: n)"; a name may hold " (" itself.
        let name = text.lines().next()?.rsplit_once(" (")?.0.to_owned();
        out.insert(tid, (name, sched_secs(&text)?));
    }
    Some(out)
}

/// `f`'s result, and the CPU seconds the calling thread ran in it (as `threads_cpu`).
pub fn cpu_of<T>(f: impl FnOnce() -> T) -> (T, Option<f64>) {
    let start = own_cpu();
    let out = f();
    (out, own_cpu().zip(start).map(|(end, start)| end - start))
}

/// CPU seconds the calling thread has run (as `threads_cpu`).
fn own_cpu() -> Option<f64> {
    sched_secs(&std::fs::read_to_string("/proc/thread-self/sched").ok()?)
}

/// `se.sum_exec_runtime` of a `sched` file (milliseconds there), in seconds.
fn sched_secs(text: &str) -> Option<f64> {
    let ms: f64 = text
        .lines()
        .find(|l| l.starts_with("se.sum_exec_runtime"))?
        .split(':')
        .nth(1)?
        .trim()
        .parse()
        .ok()?;
    Some(ms / 1e3)
}

/// CPU seconds run between two `threads_cpu` snapshots by the threads whose name `pick`
/// accepts (a thread started in between counts from zero).
pub fn cpu_between(
    before: &std::collections::HashMap<u32, (String, f64)>,
    after: &std::collections::HashMap<u32, (String, f64)>,
    pick: impl Fn(&str) -> bool,
) -> f64 {
    after
        .iter()
        .filter(|(_, (name, _))| pick(name))
        .map(|(tid, (_, secs))| secs - before.get(tid).map_or(0.0, |b| b.1))
        .sum()
}
