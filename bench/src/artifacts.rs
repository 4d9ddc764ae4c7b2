//! Item 5 (the release `.so`) and item 7 (the Kotlin side, through bench/kotlin-bench.sh).

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::Config;
use crate::measure::{Report, Row, dur, timed};

pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

pub fn target_dir(root: &Path) -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .map(|p| if p.is_absolute() { p } else { root.join(p) })
        .unwrap_or_else(|| root.join("target"))
}

/// Whether an ELF64 little-endian file has a section of this name (".symtab": not stripped).
fn has_section(elf: &[u8], name: &str) -> Option<bool> {
    let u16_at = |o: usize| Some(u16::from_le_bytes(elf.get(o..o + 2)?.try_into().ok()?));
    let u32_at = |o: usize| Some(u32::from_le_bytes(elf.get(o..o + 4)?.try_into().ok()?));
    let u64_at = |o: usize| Some(u64::from_le_bytes(elf.get(o..o + 8)?.try_into().ok()?));
    if elf.get(..5)? != b"\x7fELF\x02" {
        return None;
    }
    let shoff = u64_at(0x28)? as usize;
    let shentsize = u16_at(0x3a)? as usize;
    let shnum = u16_at(0x3c)? as usize;
    let shstrndx = u16_at(0x3e)? as usize;
    let strtab = shoff + shstrndx * shentsize;
    let str_off = u64_at(strtab + 0x18)? as usize;
    for i in 0..shnum {
        let sh = shoff + i * shentsize;
        let name_off = str_off + u32_at(sh)? as usize;
        let end = elf.get(name_off..)?.iter().position(|&b| b == 0)?;
        if &elf[name_off..name_off + end] == name.as_bytes() {
            return Some(true);
        }
    }
    Some(false)
}

pub fn item_5(cfg: &Config, report: &mut Report) {
    println!("\n## 5. Release .so size");
    let root = workspace_root();
    let so = target_dir(&root).join("release/libchungtay_ffi.so");
    if cfg.no_so {
        println!("   --no-so: not building; measuring the .so already there");
    } else {
        let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
        let (status, t) = timed(|| {
            Command::new(cargo)
                .args(["build", "-p", "chungtay-ffi", "--release"])
                .current_dir(&root)
                .stdout(Stdio::null())
                .status()
                .unwrap()
        });
        assert!(
            status.success(),
            "cargo build -p chungtay-ffi --release failed"
        );
        println!("   cargo build -p chungtay-ffi --release: {}", dur(t));
    }
    let Ok(bytes) = std::fs::read(&so) else {
        println!("   no {} (run without --no-so)", so.display());
        return;
    };
    let size = bytes.len() as f64;
    let stripped = match has_section(&bytes, ".symtab") {
        Some(false) => "stripped",
        Some(true) => "NOT stripped",
        None => "not an ELF64 file?",
    };
    println!("   {}: {} bytes, {stripped}", so.display(), bytes.len());
    report.push(Row {
        id: "5",
        what: format!("release `libchungtay_ffi.so`, x86_64, {stripped}"),
        baseline: "-".into(),
        measured: format!("{} bytes ({:.2} MB)", bytes.len(), size / 1e6),
        ratio: format!("{:.2}× of 4 MB", size / 4e6),
        target: "≤ 4 MB".into(),
        met: Some(size <= 4e6),
    });
}

pub fn item_7(cfg: &Config, report: &mut Report) {
    println!(
        "\n## 7. memberList of {} members: Kotlin (uniffi + JNA) vs Rust",
        cfg.kotlin_members
    );
    let base = cfg.shm_dir.as_deref().unwrap_or(&cfg.disk_dir);
    let dir = tempfile::Builder::new()
        .prefix("chungtay-bench-kotlin-")
        .tempdir_in(base)
        .unwrap();
    let twin = crate::store::rust_list(cfg, dir.path(), cfg.kotlin_members, report);
    let before = twin.median(cfg);
    println!(
        "   Rust Store::list_members: median {} of {}",
        dur(before),
        cfg.kotlin_reps
    );
    let rows = [
        (
            "7",
            "`memberRows` (the list in columns, `MemberColumns`; rows decoded when read)",
        ),
        (
            "7b",
            "`memberRows`, then every row read (each field of each)",
        ),
        ("7c", "`memberList` (one uniffi record a member, as before)"),
    ];
    let row = |i: usize, rust: f64, kotlin: String, ratio: String, met: Option<bool>| Row {
        id: rows[i].0,
        what: format!(
            "Kotlin {} of {} (JNA, release .so, median of {}) vs Rust `list_members`",
            rows[i].1, cfg.kotlin_members, cfg.kotlin_reps
        ),
        baseline: dur(rust),
        measured: kotlin,
        ratio,
        target: if i == 2 { "-" } else { "≤ 2×" }.into(),
        met,
    };
    if cfg.no_kotlin {
        for i in 0..rows.len() {
            report.push(row(
                i,
                before,
                "skipped (--no-kotlin)".into(),
                "-".into(),
                None,
            ));
        }
        return;
    }
    let script = workspace_root().join("bench/kotlin-bench.sh");
    let (out, t) = timed(|| {
        Command::new("bash")
            .arg(&script)
            .env("BENCH_DIR", dir.path())
            .env("BENCH_MEMBERS", cfg.kotlin_members.to_string())
            .env("BENCH_REPS", cfg.kotlin_reps.to_string())
            .stderr(Stdio::inherit())
            .output()
            .unwrap()
    });
    let text = String::from_utf8_lossy(&out.stdout);
    let line = text.lines().find(|l| l.starts_with("KOTLIN_BENCH "));
    let field = |k: &str| -> Option<f64> {
        line?
            .split_whitespace()
            .find_map(|kv| kv.strip_prefix(k)?.strip_prefix('=')?.parse().ok())
    };
    let figures = ["rows_ns", "every_row_ns", "median_ns"].map(|k| field(k).map(|ns| ns / 1e9));
    // The Rust side timed again after the Kotlin run; the baseline is the faster of the two, so
    // that a slow spell of the machine during one of them cannot flatter the ratio (one run had
    // the Rust list at twice its usual time).
    let after = twin.median(cfg);
    let rust = before.min(after);
    println!(
        "   Rust Store::list_members again after the Kotlin run: median {}; the baseline is the faster, {}",
        dur(after),
        dur(rust)
    );
    match (out.status.success(), figures) {
        (true, [Some(rows_t), Some(every_t), Some(list_t)]) => {
            println!(
                "   Kotlin memberRows {}, then every row read {}; memberList median {} (min {}); one trivial call (isUnlocked) {}; lifting memberList's records alone in Kotlin ({} bytes of uniffi wire format) {}, memberColumns' columns ({} bytes) {}; adding {} members from Kotlin took {}; script {}",
                dur(rows_t),
                dur(every_t),
                dur(list_t),
                dur(field("min_ns").unwrap_or(f64::NAN) / 1e9),
                dur(field("call_ns").unwrap_or(f64::NAN) / 1e9),
                field("wire_bytes").unwrap_or(f64::NAN),
                dur(field("lift_ns").unwrap_or(f64::NAN) / 1e9),
                field("columns_wire_bytes").unwrap_or(f64::NAN),
                dur(field("columns_lift_ns").unwrap_or(f64::NAN) / 1e9),
                cfg.kotlin_members,
                dur(field("setup_ms").unwrap_or(f64::NAN) / 1e3),
                dur(t)
            );
            for (i, kotlin) in [rows_t, every_t, list_t].into_iter().enumerate() {
                let met = (i < 2).then_some(kotlin / rust <= 2.0);
                report.push(row(
                    i,
                    rust,
                    dur(kotlin),
                    format!("{:.2}×", kotlin / rust),
                    met,
                ));
            }
        }
        _ => {
            println!("   kotlin-bench.sh failed ({}):\n{text}", out.status);
            for i in 0..rows.len() {
                report.push(row(i, rust, "failed (see output)".into(), "-".into(), None));
            }
        }
    }
}
