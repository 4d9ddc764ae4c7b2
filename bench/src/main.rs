//! `cargo run --release -p chungtay-bench [-- --quick]`: every figure of docs/PERFORMANCE.md,
//! each next to a baseline measured in the same run. See that file for what each one means.
// A benchmark binary: it prints its figures, and a failed setup step should just stop it.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::print_stdout,
    clippy::panic
)]

mod artifacts;
mod data;
mod intake;
mod measure;
mod peer;
mod plain;
mod rss;
mod same;
mod store;

use std::path::PathBuf;
use std::time::Instant;

use measure::{Report, dur};

pub struct Config {
    pub quick: bool,
    /// Members of the big store (items 1, 2, 3, 6).
    pub members: usize,
    /// Rows per timed batch in item 1.
    pub batch: usize,
    pub meetings: usize,
    pub meeting_clubs: usize,
    pub referrals: usize,
    pub intake_threads: usize,
    pub kotlin_members: usize,
    pub kotlin_reps: usize,
    /// Repetitions of fast measurements (search).
    pub reps: usize,
    /// Repetitions of slower ones (1,000-row batches, lists).
    pub reps_small: usize,
    pub reps_unlock: usize,
    /// Where stores that must hit the real disk go (fsync matters): items 1-4.
    pub disk_dir: PathBuf,
    /// A tmpfs for stores whose figures do not depend on the disk (items 6, 7).
    pub shm_dir: Option<PathBuf>,
    pub no_kotlin: bool,
    pub no_so: bool,
    /// Skip item 8 (the SQLCipher peer, `bench/sqlcipher`).
    pub no_sqlcipher: bool,
    /// Item 4 also on PostgreSQL (`--pg`).
    pub pg: bool,
}

const USAGE: &str = "chungtay-bench [--quick] [--dir DIR] [--no-shm] [--no-kotlin] [--no-so]

  --quick      smaller sizes (2,000 members, 5,000 meetings, 200 referrals): about 2 minutes
  --dir DIR    where the on-disk stores go (default: the system temp dir); must be the disk
               whose fsync you want to measure
  --no-shm     keep every store on DIR, also those of items 6 and 7 (default: /dev/shm)
  --no-kotlin  skip the Kotlin side of item 7 (no Maven/JVM needed)
  --no-so      do not build the release .so, measure the one in target/release
  --no-sqlcipher  skip item 8 (the same inserts, search and open on SQLCipher, bench/sqlcipher)
  --only-import  only items 1d (the member import's batch against plain SQLite) and 1d′ (the
                 rows it wrote, inserted again by plain SQLite: what the database alone costs)
  --only-unlock  only items 3b, 3d (unlocks of 10,000 and 50,000 members after a lock, against
                 the KDF) and 3b′, 3d′ (the same, cold: no index snapshot, as after a kill)
  --only-lists   only items 2b-2d (lists of 1,000 and 50,000 members against plain SQLite and a
                 clone of the same list; a page of 50)
  --only-intake  only item 4 (the intake server's throughput on loopback, where its CPU goes,
                 its cryptography alone (4e) and its store alone (4f))
  --only-peer  only item 8 (SQLCipher against its own SQLite with no key; the core's figures
               it is compared with come from the full run)
  --only-kotlin  only item 7 (the Kotlin list of 1,000 against the Rust call; release .so built
                 unless --no-so)
  --only-rss   only item 6b (peak memory with 50,000 members and 250,000 meetings, on tmpfs)
  --pg         item 4 also on PostgreSQL, one and three instances (4c, 4d): the server named by
               CHUNGTAY_TEST_PG, e.g. bash scripts/with-pg --durable cargo run --release
               -p chungtay-bench -- --only-intake --pg";

/// Median time of overwriting one 4 KiB page of a preallocated file and `fdatasync`ing it: what
/// a WAL commit pays once the WAL has reached its size.
fn fsync_probe(dir: &std::path::Path) -> f64 {
    use std::io::{Seek, SeekFrom, Write as _};
    let path = dir.join(format!("chungtay-bench-fsync-{}", std::process::id()));
    let mut f = std::fs::File::create(&path).unwrap();
    let page = [7u8; 4096];
    for _ in 0..64 {
        f.write_all(&page).unwrap();
    }
    f.sync_all().unwrap();
    let mut times = Vec::new();
    for i in 0..200u64 {
        f.seek(SeekFrom::Start((i % 64) * 4096)).unwrap();
        let start = Instant::now();
        f.write_all(&page).unwrap();
        f.sync_data().unwrap();
        times.push(start.elapsed().as_secs_f64());
    }
    drop(f);
    let _ = std::fs::remove_file(&path);
    measure::median(times)
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("--rss-child") {
        rss::child(&args[1..]);
        return;
    }
    let has = |flag: &str| args.iter().any(|a| a == flag);
    if has("--help") || has("-h") {
        println!("{USAGE}");
        return;
    }
    let known = [
        "--quick",
        "--no-shm",
        "--no-kotlin",
        "--no-so",
        "--no-sqlcipher",
        "--only-peer",
        "--dir",
        "--only-import",
        "--only-unlock",
        "--only-lists",
        "--only-intake",
        "--pg",
        "--only-rss",
        "--only-kotlin",
    ];
    let mut iter = args.iter();
    let mut disk_dir = std::env::temp_dir();
    while let Some(a) = iter.next() {
        if a == "--dir" {
            disk_dir = PathBuf::from(iter.next().expect("--dir DIR"));
        } else if !known.contains(&a.as_str()) {
            eprintln!("unknown argument {a}\n\n{USAGE}");
            std::process::exit(2);
        }
    }
    let quick = has("--quick");
    let shm = PathBuf::from("/dev/shm");
    let cfg = Config {
        quick,
        members: if quick { 2_000 } else { 10_000 },
        batch: if quick { 500 } else { 1_000 },
        meetings: if quick { 5_000 } else { 50_000 },
        meeting_clubs: 200,
        referrals: if quick { 200 } else { 1_000 },
        intake_threads: 4,
        kotlin_members: 1_000,
        kotlin_reps: 300,
        reps: if quick { 21 } else { 51 },
        reps_small: if quick { 9 } else { 31 },
        reps_unlock: if quick { 3 } else { 5 },
        disk_dir,
        shm_dir: (!has("--no-shm") && shm.is_dir()).then_some(shm),
        no_kotlin: has("--no-kotlin"),
        no_so: has("--no-so"),
        no_sqlcipher: has("--no-sqlcipher"),
        pg: has("--pg"),
    };
    let start = Instant::now();
    println!(
        "# chungtay-bench{}: {} CPUs seen, stores in {} (tmpfs for items 6-7: {})",
        if cfg.quick { " --quick" } else { "" },
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        cfg.disk_dir.display(),
        cfg.shm_dir
            .as_deref()
            .map_or("none".into(), |p| p.display().to_string())
    );
    println!(
        "   fdatasync of a 4 KiB page overwrite on that disk: {} (median of 200)",
        dur(fsync_probe(&cfg.disk_dir))
    );
    let mut report = Report::default();
    if has("--only-rss") {
        rss::item_6b(&cfg, &mut report);
        report.print_table();
        return;
    }
    if has("--only-kotlin") {
        artifacts::item_7(&cfg, &mut report);
        report.print_table();
        return;
    }
    if has("--only-peer") {
        peer::item_8(&cfg, &mut report);
        report.print_table();
        return;
    }
    if has("--only-intake") {
        intake::item_4(&cfg, &mut report);
        report.print_table();
        return;
    }
    if has("--only-lists") {
        store::item_2_lists(&cfg, &mut report);
        report.print_table();
        return;
    }
    if has("--only-unlock") {
        store::item_3_unlocks(&cfg, &mut report);
        report.print_table();
        return;
    }
    store::item_1d(&cfg, &mut report);
    if has("--only-import") {
        report.print_table();
        return;
    }
    let big = store::items_1_to_3(&cfg, &mut report);
    store::item_3_unlocks(&cfg, &mut report);
    store::item_2_lists(&cfg, &mut report);
    peer::item_8(&cfg, &mut report);
    intake::item_4(&cfg, &mut report);
    rss::item_6(&cfg, &big, &mut report);
    drop(big);
    rss::item_6b(&cfg, &mut report);
    artifacts::item_5(&cfg, &mut report);
    artifacts::item_7(&cfg, &mut report);
    report.print_table();
    println!("\ntotal: {}", dur(start.elapsed().as_secs_f64()));
}
