//! Item 8: the peer column. The same inserts, search and open as items 1a, 1d, 2 and 3b, on
//! SQLCipher 4 (what CommCare and DHIS2 Capture use on phones), measured by
//! `bench/sqlcipher` (a binary of its own: SQLCipher and the core's SQLite cannot share a
//! process) against the same library with no key, on the same rows and the same disk.

use std::process::{Command, Stdio};

use crate::Config;
use crate::artifacts::{target_dir, workspace_root};
use crate::data;
use crate::measure::{Report, Row, dur, rate};

/// One `PEER id key=value ...` line's value for `key`.
fn field(line: &str, key: &str) -> Option<f64> {
    line.split_whitespace()
        .find_map(|kv| kv.strip_prefix(key)?.strip_prefix('=')?.parse().ok())
}

pub fn item_8(cfg: &Config, report: &mut Report) {
    println!(
        "\n## 8. The peer: SQLCipher, the same {} members (inserts, search, open), vs plain SQLite",
        cfg.members
    );
    let skipped = |why: &str, report: &mut Report| {
        for id in ["8a", "8b", "8c", "8d"] {
            report.push(Row {
                id,
                what: "SQLCipher peer".into(),
                baseline: "-".into(),
                measured: format!("skipped ({why})"),
                ratio: "-".into(),
                target: "-".into(),
                met: None,
            });
        }
    };
    if cfg.no_sqlcipher {
        return skipped("--no-sqlcipher", report);
    }
    let root = workspace_root();
    let target = target_dir(&root).join("sqlcipher");
    let built = Command::new(env!("CARGO"))
        .args(["build", "--release", "--locked", "--manifest-path"])
        .arg(root.join("bench/sqlcipher/Cargo.toml"))
        .arg("--target-dir")
        .arg(&target)
        .status()
        .unwrap();
    if !built.success() {
        return skipped("bench/sqlcipher did not build", report);
    }
    let dir = tempfile::Builder::new()
        .prefix("chungtay-bench-peer-")
        .tempdir_in(&cfg.disk_dir)
        .unwrap();
    // Item 1's members (same seed), as item 1 and item 2 measured them.
    let mut tsv = String::new();
    for m in data::members(1, cfg.members) {
        let body = String::from_utf8(data::padded_json(&m)).unwrap();
        let folded = chungtay_core::text::fold(&m.full_name);
        tsv += &format!("{}\t{folded}\t{}\t{body}\n", m.full_name, m.village);
    }
    let rows = dir.path().join("rows.tsv");
    std::fs::write(&rows, tsv).unwrap();
    let out = Command::new(target.join("release/chungtay-bench-sqlcipher"))
        .env("PEER_DIR", dir.path())
        .env("PEER_ROWS", &rows)
        .env("PEER_BATCH", cfg.batch.to_string())
        .env("PEER_REPS", cfg.reps.to_string())
        .env("PEER_REPS_SMALL", cfg.reps_small.to_string())
        .env("PEER_REPS_OPEN", cfg.reps_unlock.to_string())
        .stderr(Stdio::inherit())
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    let line = |id: &str| {
        let prefix = format!("PEER {id} ");
        text.lines()
            .find_map(|l| l.strip_prefix(prefix.as_str()))
            .map(str::to_owned)
    };
    let (Some(version), Some(a), Some(b), Some(c), Some(d)) = (
        line("version"),
        line("8a"),
        line("8b"),
        line("8c"),
        line("8d"),
    ) else {
        print!("{text}");
        return skipped("bench/sqlcipher failed", report);
    };
    println!("   {version}");
    let f = |l: &str, k: &str| field(l, k).unwrap_or(f64::NAN);
    let [core_1a, core_1d, core_2] =
        ["1a", "1d", "2"].map(|id| report.ratio_of(id).unwrap_or_else(|| "not run".into()));
    // The core's unlock after a lock: the rest after its KDF, and the whole.
    let core_3b = report.get("3b").map_or("not run".into(), |r| {
        format!("{}, KDF {}", r.measured, r.baseline)
    });

    let (plain, cipher) = (f(&a, "plain_rows_per_s"), f(&a, "cipher_rows_per_s"));
    println!(
        "   1 row a txn: plain {} | SQLCipher {}",
        rate(plain, "rows"),
        rate(cipher, "rows")
    );
    report.push(Row {
        id: "8a",
        what: "SQLCipher, 1 row a txn, vs its own SQLite with no key (1a's rows, pragmas, disk)"
            .into(),
        baseline: rate(plain, "rows"),
        measured: rate(cipher, "rows"),
        ratio: format!("{:.2}× (median of per-batch ratios)", f(&a, "ratio")),
        target: format!("peer of 1a: core {}", core_1a),
        met: None,
    });

    let n = f(&b, "rows");
    let (plain, cipher) = (f(&b, "plain_s"), f(&b, "cipher_s"));
    println!(
        "   {n} rows in one txn: plain {} | SQLCipher {}",
        dur(plain),
        dur(cipher)
    );
    report.push(Row {
        id: "8b",
        what: format!("SQLCipher, {n} rows in one txn, vs its own SQLite with no key"),
        baseline: rate(n / plain, "rows"),
        measured: rate(n / cipher, "rows"),
        ratio: format!("{:.2}×", f(&b, "ratio")),
        target: format!(
            "peer of 1d: core {} (own key and trail entry each)",
            core_1d
        ),
        met: None,
    });

    let (plain, cipher) = (f(&c, "plain_s"), f(&c, "cipher_s"));
    println!(
        "   LIKE '%nguyen thi%' over the folded names ({} hits): plain {} | SQLCipher {}",
        f(&c, "hits"),
        dur(plain),
        dur(cipher)
    );
    report.push(Row {
        id: "8c",
        what: format!(
            "SQLCipher, item 2's `LIKE` over {} folded names (default page cache), vs no key",
            cfg.members
        ),
        baseline: dur(plain),
        measured: dur(cipher),
        ratio: format!("{:.2}×", f(&c, "ratio")),
        target: format!("peer of 2: core {} (vs the plain `LIKE`)", core_2),
        met: None,
    });

    let (p_open, p_read) = (f(&d, "plain_open_s"), f(&d, "plain_read_s"));
    let (c_open, c_read) = (f(&d, "cipher_open_s"), f(&d, "cipher_read_s"));
    println!(
        "   open (with its KDF, PBKDF2-SHA512 × 256,000) then read every member's list columns: SQLCipher {} + {} | no key {} + {}",
        dur(c_open),
        dur(c_read),
        dur(p_open),
        dur(p_read)
    );
    report.push(Row {
        id: "8d",
        what: format!(
            "SQLCipher: a new connection's read of all {} members' list columns, after its open and KDF, vs the open and KDF",
            cfg.members
        ),
        baseline: format!("{} (open, KDF)", dur(c_open)),
        measured: format!("{} (no key: {})", dur(c_read), dur(p_read)),
        ratio: format!("{:.2}× the KDF", f(&d, "ratio")),
        target: format!("peer of 3b: core's rest {core_3b}"),
        met: None,
    });
}
