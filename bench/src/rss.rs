//! Item 6: peak resident memory of a process that opens the big store, unlocks it, lists the
//! members and a club's meetings. Measured in a child process (this binary again, with
//! `--rss-child`), so nothing the other items did counts towards its peak.

use std::path::Path;
use std::process::Command;
use std::sync::Arc;

use chungtay_core::{SoftwareDeviceSecret, Store};

use crate::Config;
use crate::data::{self, PIN, Rng};
use crate::measure::{Report, Row, dur, timed};
use crate::store::StoreA;

/// A field of /proc/self/status in kB (VmHWM, VmRSS).
fn status_kb(field: &str) -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    status
        .lines()
        .find_map(|l| {
            let rest = l.strip_prefix(field)?.strip_prefix(':')?;
            rest.trim().trim_end_matches("kB").trim().parse().ok()
        })
        .unwrap_or(0)
}

/// The child: prints `key=value` lines for the parent.
pub fn child(args: &[String]) {
    let [db, key, user, club] = args else {
        panic!("--rss-child DB KEY USER CLUB");
    };
    let base_hwm = status_kb("VmHWM");
    let device = Arc::new(SoftwareDeviceSecret::load(Path::new(key)).unwrap());
    let mut store = Store::open(Path::new(db), device).unwrap();
    let (_, t_unlock) = timed(|| store.unlock(user, PIN).unwrap());
    let unlock_hwm = status_kb("VmHWM");
    let unlock_rss = status_kb("VmRSS");
    // What the club screen reads first: a page of 50 members and the club's meetings.
    let in_club = chungtay_core::MemberFilter::club(club);
    let page = store.search_members_page(&in_club, 0, 50).unwrap();
    let first_meetings = store.meetings(club).unwrap();
    let screen_hwm = status_kb("VmHWM");
    drop((page, first_meetings));
    let members = store.list_members(club).unwrap();
    let meetings = store.meetings(club).unwrap();
    let hwm = status_kb("VmHWM");
    let rss = status_kb("VmRSS");
    // The peak of the listing alone: "5" resets VmHWM to the current RSS (Linux ≥ 4.0), and
    // the lists are made again. Argon2id's 19 MiB at unlock no longer counts then.
    drop((members, meetings));
    let reset = std::fs::write("/proc/self/clear_refs", "5").is_ok();
    let before_lists = status_kb("VmHWM");
    let members = store.list_members(club).unwrap();
    let meetings = store.meetings(club).unwrap();
    let lists_hwm = status_kb("VmHWM");
    if reset {
        println!("lists_base_kb={before_lists}");
        println!("lists_hwm_kb={lists_hwm}");
    }
    println!("unlock_rss_kb={unlock_rss}");
    println!("base_hwm_kb={base_hwm}");
    println!("unlock_hwm_kb={unlock_hwm}");
    println!("screen_hwm_kb={screen_hwm}");
    println!("hwm_kb={hwm}");
    println!("rss_kb={rss}");
    println!("members={}", members.len());
    println!("meetings={}", meetings.len());
    println!("unlock_s={t_unlock}");
    drop((members, meetings));
}

pub fn item_6(cfg: &Config, a: &StoreA, report: &mut Report) {
    let size = Size {
        id: "6",
        members: cfg.members,
        meetings: cfg.meetings,
        limit_mb: 100.0,
    };
    item_6_sized(cfg, a, &size, report);
}

/// 6b: the size, 50,000 members and 250,000 meetings, within 64 MB (the KDF included).
pub fn item_6b(cfg: &Config, report: &mut Report) {
    let base = cfg.shm_dir.as_deref().unwrap_or(&cfg.disk_dir);
    let (members, meetings) = if cfg.quick {
        (10_000, 50_000)
    } else {
        (50_000, 250_000)
    };
    println!(
        "\n## 6b. Building a store of {members} members in {}",
        base.display()
    );
    let (a, t) = timed(|| crate::store::store_of(base, members));
    println!(
        "   {members} members through Store::add_members, 1,000 a batch: {}",
        dur(t)
    );
    let size = Size {
        id: "6b",
        members,
        meetings,
        limit_mb: 64.0,
    };
    item_6_sized(cfg, &a, &size, report);
}

pub struct Size {
    id: &'static str,
    members: usize,
    meetings: usize,
    limit_mb: f64,
}

fn item_6_sized(cfg: &Config, a: &StoreA, size: &Size, report: &mut Report) {
    let base = cfg.shm_dir.as_deref().unwrap_or(&cfg.disk_dir);
    println!(
        "\n## {}. Peak RSS: {} members and {} meetings over {} clubs (store copied to {})",
        size.id,
        size.members,
        size.meetings,
        cfg.meeting_clubs,
        base.display()
    );
    let dir = tempfile::Builder::new()
        .prefix("chungtay-bench-rss-")
        .tempdir_in(base)
        .unwrap();
    let db = dir.path().join("club.db");
    let key = dir.path().join("club.key");
    std::fs::copy(&a.db, &db).unwrap();
    let wal = a.db.with_extension("db-wal");
    if wal.exists() {
        std::fs::copy(&wal, dir.path().join("club.db-wal")).unwrap();
    }
    std::fs::copy(&a.key, &key).unwrap();
    {
        let device = Arc::new(SoftwareDeviceSecret::load(&key).unwrap());
        let mut store = Store::open(&db, device).unwrap();
        store.unlock(&a.user_id, PIN).unwrap();
        let ids: Vec<String> = store
            .list_members(&a.club_id)
            .unwrap()
            .into_iter()
            .map(|m| m.id)
            .collect();
        let mut clubs = vec![a.club_id.clone()];
        for n in 1..cfg.meeting_clubs {
            clubs.push(store.add_club(&data::club_input(n)).unwrap().id);
        }
        let mut rng = Rng::new(11);
        let (_, t) = timed(|| {
            for i in 0..size.meetings {
                let club = &clubs[i % clubs.len()];
                // The members' own club records who came (15 of them); the other clubs' members
                // are not in this store, so their meetings list guests only.
                let attendees = if i % clubs.len() == 0 && ids.len() >= 15 {
                    let start = rng.below(ids.len() - 15);
                    ids[start..start + 15].to_vec()
                } else {
                    Vec::new()
                };
                // Weekly meetings going back in time.
                let days_ago = (i / clubs.len()) as i64 * 7;
                store
                    .record_meeting(&data::meeting_input(&mut rng, club, days_ago, attendees))
                    .unwrap();
            }
        });
        println!(
            "   {} meetings recorded through Store::record_meeting, one transaction each: {} per meeting",
            size.meetings,
            dur(t / size.meetings as f64)
        );
    }
    let bytes: u64 = std::fs::read_dir(dir.path())
        .unwrap()
        .filter_map(|e| e.ok()?.metadata().ok())
        .map(|m| m.len())
        .sum();
    let out = Command::new(std::env::current_exe().unwrap())
        .arg("--rss-child")
        .args([&db, &key])
        .args([&a.user_id, &a.club_id])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "rss child failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    let get = |k: &str| -> f64 {
        text.lines()
            .find_map(|l| l.strip_prefix(k)?.strip_prefix('=')?.parse().ok())
            .unwrap_or(f64::NAN)
    };
    let (base_hwm, unlock_hwm, hwm, rss) = (
        get("base_hwm_kb") * 1024.0,
        get("unlock_hwm_kb") * 1024.0,
        get("hwm_kb") * 1024.0,
        get("rss_kb") * 1024.0,
    );
    let mb = |b: f64| format!("{:.1} MB", b / 1e6);
    println!(
        "   VmRSS after unlock {}; listing again after resetting VmHWM (clear_refs): peak {} -> {}",
        mb(get("unlock_rss_kb") * 1024.0),
        mb(get("lists_base_kb") * 1024.0),
        mb(get("lists_hwm_kb") * 1024.0)
    );
    println!(
        "   store files {}; child: VmHWM at start {}, after unlock {}, after listing {} members and {} meetings {} (VmRSS {}); unlock took {}",
        mb(bytes as f64),
        mb(base_hwm),
        mb(unlock_hwm),
        get("members"),
        get("meetings"),
        mb(hwm),
        mb(rss),
        dur(get("unlock_s"))
    );
    let limit = size.limit_mb * 1e6;
    let screen = get("screen_hwm_kb") * 1024.0;
    println!(
        "   peak after unlock and the club screen's first read (a page of 50 members, the club's meetings): {}",
        mb(screen)
    );
    report.push(Row {
        id: size.id,
        what: format!(
            "peak RSS: {} members + {} meetings ({} clubs): unlocked, the club screen's first page of 50 and the club's meetings; then all {} members and {} meetings listed",
            size.members,
            size.meetings,
            cfg.meeting_clubs,
            get("members"),
            get("meetings")
        ),
        baseline: format!("{} (same process before opening)", mb(base_hwm)),
        measured: format!(
            "{} (with the whole list {}; VmRSS after it {})",
            mb(screen),
            mb(hwm),
            mb(rss)
        ),
        ratio: format!("{:.2}× of {} MB", screen / limit, size.limit_mb),
        target: format!("≤ {} MB", size.limit_mb),
        met: Some(screen <= limit),
    });
}
