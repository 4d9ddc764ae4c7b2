//! Items 1-3: encrypted inserts, diacritic-insensitive search, unlock; and the 1,000-member
//! store whose list the Kotlin comparison (item 7) times on the Rust side.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use chungtay_core::{
    KdfParams, MemberFilter, MemberInput, NewUser, SoftwareDeviceSecret, Store, UserRole,
};

use crate::Config;
use crate::data::{self, LEADER, PIN};
use crate::measure::{Report, Row, dur, median, median_of, medians_in_turn, rate, timed};
use crate::plain;

/// The 10,000-member store, locked and closed, for item 6.
pub struct StoreA {
    pub _dir: tempfile::TempDir,
    pub db: PathBuf,
    pub key: PathBuf,
    pub user_id: String,
    pub club_id: String,
}

fn new_store(dir: &Path, name: &str) -> (Store, PathBuf, PathBuf) {
    let key = dir.join(format!("{name}.key"));
    let db = dir.join(format!("{name}.db"));
    let device = Arc::new(SoftwareDeviceSecret::load_or_create(&key).unwrap());
    let store = Store::create(
        &db,
        device,
        NewUser::new(LEADER, UserRole::Leader, PIN),
        KdfParams::MIN,
    )
    .unwrap();
    (store, db, key)
}

/// 1d: the member import's path (`Store::add_members`: every member her own key, sealed record
/// and trail entry, all in one transaction) against plain rusqlite inserting the same JSON rows,
/// the same number in one transaction. Alternated, each batch into a store already holding the
/// earlier ones on both sides.
pub fn item_1d(cfg: &Config, report: &mut Report) {
    let dir = tempfile::Builder::new()
        .prefix("chungtay-bench-import-")
        .tempdir_in(&cfg.disk_dir)
        .unwrap();
    let (mut store, core_db, _) = new_store(dir.path(), "import");
    let club_id = store.add_club(&data::club_input(0)).unwrap().id;
    let mut plain = plain::open(&dir.path().join("plain-import.db"));
    let mut replay = plain::Replay::copy_of(&core_db, &dir.path().join("replay-import.db"));
    let n = cfg.batch;
    let rounds = cfg.reps_small.min(if cfg.quick { 9 } else { 15 });
    println!(
        "\n## 1d. Member import: `add_members`, {n} members in one transaction, vs plain rusqlite {n} rows in one transaction ({rounds} rounds)"
    );
    let (mut t_core, mut t_plain, mut t_replay) = (Vec::new(), Vec::new(), Vec::new());
    for round in 0..=rounds {
        let inputs = data::members(1_000 + round as u64, n);
        let bodies: Vec<Vec<u8>> = inputs.iter().map(data::padded_json).collect();
        let mut core = || {
            let added = store.add_members(&club_id, &inputs).unwrap();
            assert_eq!(added.len(), n);
        };
        let mut base = || plain::insert_batch_plain(&mut plain, &club_id, &bodies);
        // Round 0 warms the files up and is not counted; then the plain side alternates between
        // first and last. The replay needs the core's rows, so it always follows the core.
        let mut core_then_replay = || {
            let a = timed(&mut core).1;
            let batch = replay.read_batch(&core_db, n);
            (a, timed(|| replay.write(&batch)).1)
        };
        let (a, b, c) = if round % 2 == 0 {
            let (a, c) = core_then_replay();
            (a, timed(&mut base).1, c)
        } else {
            let b = timed(&mut base).1;
            let (a, c) = core_then_replay();
            (a, b, c)
        };
        if round > 0 {
            t_core.push(a);
            t_plain.push(b);
            t_replay.push(c);
        }
    }
    let ratios: Vec<f64> = t_core.iter().zip(&t_plain).map(|(c, p)| p / c).collect();
    let ratio = median(ratios);
    let floor = median(t_replay.iter().zip(&t_plain).map(|(r, p)| p / r).collect());
    let own = median(t_core.iter().zip(&t_replay).map(|(c, r)| r / c).collect());
    let (tc, tp, tr) = (median(t_core), median(t_plain), median(t_replay));
    println!(
        "   per {n}: core add_members {} | plain {} | the core's rows replayed {} (medians; each ratio is the median of each round's)",
        dur(tc),
        dur(tp),
        dur(tr)
    );
    println!("   core add_members vs its own rows replayed: {own:.2}× (median of each round's)");
    report.push(Row {
        id: "1d",
        what: format!(
            "member import: core `add_members`, {n} in one txn (own key, sealed record, trail entry each), vs plain {n} JSON rows in one txn"
        ),
        baseline: rate(n as f64 / tp, "rows"),
        measured: rate(n as f64 / tc, "rows"),
        ratio: format!("{ratio:.2}×"),
        target: "≥ 0.9×".into(),
        met: Some(ratio >= 0.9),
    });
    report.push(Row {
        id: "1d′",
        what: format!(
            "the rows 1d's core wrote (key, member, trail entry each, as sealed), copied and inserted by plain rusqlite into a copy of its file (same schema and indexes), {n} in one txn, vs 1d's plain rows: what the database alone costs"
        ),
        baseline: rate(n as f64 / tp, "rows"),
        measured: rate(n as f64 / tr, "rows"),
        ratio: format!("{floor:.2}×"),
        target: "–".into(),
        met: None,
    });
}

pub fn items_1_to_3(cfg: &Config, report: &mut Report) -> StoreA {
    let dir = tempfile::Builder::new()
        .prefix("chungtay-bench-")
        .tempdir_in(&cfg.disk_dir)
        .unwrap();
    let (mut store, db, key) = new_store(dir.path(), "club");
    let user_id = store.current_user().unwrap().id;
    let club_id = store.add_club(&data::club_input(0)).unwrap().id;
    let inputs = data::members(1, cfg.members);
    let bodies: Vec<Vec<u8>> = inputs.iter().map(data::padded_json).collect();

    println!(
        "\n## 1. Encrypted inserts vs plain SQLite ({} members, batches of {}, on {})",
        cfg.members,
        cfg.batch,
        cfg.disk_dir.display()
    );
    let avg_json = bodies.iter().map(Vec::len).sum::<usize>() as f64 / bodies.len() as f64;
    println!(
        "   member body: {avg_json:.0} bytes of padded JSON on average (the same bytes in both)"
    );
    let mut plain1 = plain::open(&dir.path().join("plain1.db"));
    let mut plain4 = plain::open(&dir.path().join("plain4.db"));
    let warm = (cfg.members / 20).clamp(10, 100);
    let mut seq = 0i64;
    for (input, body) in inputs[..warm].iter().zip(&bodies[..warm]) {
        store.add_member(&club_id, input).unwrap();
        plain::insert_one(&mut plain1, &club_id, body);
        seq += 1;
        plain::insert_same_shape(&mut plain4, &club_id, body, seq);
    }
    let (mut core_rates, mut plain_rates, mut shape_rates) = (Vec::new(), Vec::new(), Vec::new());
    for (round, (ins, bods)) in inputs[warm..]
        .chunks(cfg.batch)
        .zip(bodies[warm..].chunks(cfg.batch))
        .enumerate()
    {
        let n = ins.len() as f64;
        // Rotate the order so that neither side always runs right after the other's checkpoint.
        for step in 0..3 {
            match (round + step) % 3 {
                0 => {
                    let (_, t) = timed(|| {
                        for input in ins {
                            store.add_member(&club_id, input).unwrap();
                        }
                    });
                    core_rates.push(n / t);
                }
                1 => {
                    let (_, t) = timed(|| {
                        for body in bods {
                            plain::insert_one(&mut plain1, &club_id, body);
                        }
                    });
                    plain_rates.push(n / t);
                }
                _ => {
                    let (_, t) = timed(|| {
                        for body in bods {
                            seq += 1;
                            plain::insert_same_shape(&mut plain4, &club_id, body, seq);
                        }
                    });
                    shape_rates.push(n / t);
                }
            }
        }
        println!(
            "   batch {:>2} ({} rows): core add_member {:>5.0}/s | plain 1 row/txn {:>5.0}/s | plain same 4 writes/txn {:>5.0}/s",
            round + 1,
            ins.len(),
            core_rates[round],
            plain_rates[round],
            shape_rates[round]
        );
    }
    // Paired: each round's ratio compares runs a few seconds apart, so a change in the disk's
    // fsync latency between rounds (it varies a lot on a shared VM disk) cancels out.
    let paired = |base: &[f64]| {
        let ratios = core_rates.iter().zip(base).map(|(c, b)| c / b).collect();
        median(ratios)
    };
    let (ratio_plain, ratio_shape) = (paired(&plain_rates), paired(&shape_rates));
    let (core_r, plain_r, shape_r) = (median(core_rates), median(plain_rates), median(shape_rates));
    println!(
        "   per row (medians): core {} | plain {} | plain same-shape {}",
        dur(1.0 / core_r),
        dur(1.0 / plain_r),
        dur(1.0 / shape_r)
    );
    report.push(Row {
        id: "1a",
        what:
            "core `add_member`, 1 txn each, vs plain 1-row txns (same JSON, WAL, synchronous=FULL)"
                .into(),
        baseline: rate(plain_r, "rows"),
        measured: rate(core_r, "rows"),
        ratio: format!(
            "{ratio_plain:.2}× (median of per-batch ratios; of medians {:.2}×)",
            core_r / plain_r
        ),
        target: "≥ 0.9×".into(),
        met: Some(ratio_plain >= 0.9),
    });
    report.push(Row {
        id: "1a'",
        what: "core `add_member` vs plain txns with its 4 writes, no crypto".into(),
        baseline: rate(shape_r, "rows"),
        measured: rate(core_r, "rows"),
        ratio: format!("{ratio_shape:.2}× (of medians {:.2}×)", core_r / shape_r),
        target: "(diagnostic)".into(),
        met: None,
    });

    // 1b: sealing alone, 1,000 rows per transaction (the wording).
    let n_bulk = cfg.batch.min(bodies.len());
    let bulk_bodies = &bodies[..n_bulk];
    let sealer = plain::Sealer::default();
    let cpu = median_of(2, cfg.reps_small, || {
        for b in bulk_bodies {
            std::hint::black_box(sealer.member(&club_id, b));
        }
    }) / n_bulk as f64;
    let mut bulk = plain::open(&dir.path().join("bulk.db"));
    plain::insert_batch_plain(&mut bulk, &club_id, bulk_bodies);
    plain::insert_batch_sealed(&mut bulk, &club_id, bulk_bodies, &sealer, true);
    let (mut t_plain, mut t_sealed, mut t_nokeys) = (Vec::new(), Vec::new(), Vec::new());
    for i in 0..cfg.reps_small {
        for step in 0..3 {
            match (i + step) % 3 {
                0 => {
                    let run = || plain::insert_batch_plain(&mut bulk, &club_id, bulk_bodies);
                    t_plain.push(timed(run).1);
                }
                1 => {
                    let run = || {
                        plain::insert_batch_sealed(&mut bulk, &club_id, bulk_bodies, &sealer, true)
                    };
                    t_sealed.push(timed(run).1);
                }
                _ => {
                    let run = || {
                        plain::insert_batch_sealed(&mut bulk, &club_id, bulk_bodies, &sealer, false)
                    };
                    t_nokeys.push(timed(run).1);
                }
            }
        }
    }
    let (tp, ts, tn) = (median(t_plain), median(t_sealed), median(t_nokeys));
    println!(
        "   sealing alone (ring, as core/src/crypto.rs `seal`): {} per member (new key, key wrapped, body sealed) = {} per {n_bulk}",
        dur(cpu),
        dur(cpu * n_bulk as f64)
    );
    println!(
        "   {n_bulk} rows in one transaction: plain {} | sealed, wrapped keys not stored {} | sealed + {n_bulk} wrapped-key rows (as the core) {}",
        dur(tp),
        dur(tn),
        dur(ts)
    );
    report.push(Row {
        id: "1b",
        what: format!(
            "{n_bulk} rows in one txn, sealed as the core seals (+ wrapped-key rows), vs plain"
        ),
        baseline: rate(n_bulk as f64 / tp, "rows"),
        measured: rate(n_bulk as f64 / ts, "rows"),
        ratio: format!("{:.2}×", tp / ts),
        target: "≥ 0.9×".into(),
        met: Some(tp / ts >= 0.9),
    });
    report.push(Row {
        id: "1b'",
        what: format!("{n_bulk} rows in one txn, sealed, wrapped keys not stored, vs plain"),
        baseline: rate(n_bulk as f64 / tp, "rows"),
        measured: rate(n_bulk as f64 / tn, "rows"),
        ratio: format!("{:.2}×", tp / tn),
        target: "≥ 0.9× (sealing alone)".into(),
        met: Some(tp / tn >= 0.9),
    });

    // 2: search.
    println!(
        "\n## 2. Search \"nguyen thi\" over {} encrypted members vs plaintext LIKE",
        cfg.members
    );
    let names = plain::open(&dir.path().join("search.db"));
    names.execute_batch(crate::same::NAMES_TABLE).unwrap();
    {
        let all = store.list_members(&club_id).unwrap();
        names.execute_batch("BEGIN").unwrap();
        for m in &all {
            names
                .execute(
                    "INSERT INTO names VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                    rusqlite::params![
                        m.id,
                        m.club_id,
                        m.full_name,
                        chungtay_core::text::fold(&m.full_name),
                        m.birth_year,
                        m.village,
                        m.phone
                    ],
                )
                .unwrap();
        }
        names.execute_batch("COMMIT").unwrap();
    }
    let like = || crate::same::like(&names);
    let filter = MemberFilter {
        text: "nguyen thi".into(),
        ..MemberFilter::default()
    };
    let search = || store.search_members(&filter).unwrap();
    let (hits_core, hits_like) = (search().len(), like().len());
    let (mut t_core, mut t_like) = (Vec::new(), Vec::new());
    for _ in 0..5 {
        std::hint::black_box(search());
        std::hint::black_box(like());
    }
    for _ in 0..cfg.reps {
        t_core.push(timed(|| std::hint::black_box(search())).1);
        t_like.push(timed(|| std::hint::black_box(like())).1);
    }
    let (tc, tl) = (median(t_core), median(t_like));
    println!(
        "   core search_members: {hits_core} hits (word-prefix match, sorted in Vietnamese order) | LIKE: {hits_like} hits (substring, unsorted)"
    );
    report.push(Row {
        id: "2",
        what: format!(
            "`search_members` \"nguyen thi\", {} members, vs plain `LIKE`",
            cfg.members
        ),
        baseline: dur(tl),
        measured: dur(tc),
        ratio: format!("{:.2}×", tc / tl),
        target: "≤ 2×".into(),
        met: Some(tc / tl <= 2.0),
    });
    drop(names);

    // 3: unlock.
    println!("\n## 3. Unlock");
    let kdf = median_of(1, cfg.reps_unlock, || {
        KdfParams::calibrate(Duration::from_nanos(1)).unwrap();
    });
    let (mut empty, _, _) = new_store(dir.path(), "empty");
    let empty_user = empty.current_user().unwrap().id;
    let unlock_times = |s: &mut Store, user: &str| -> f64 {
        let mut v = Vec::new();
        for i in 0..=cfg.reps_unlock {
            s.lock();
            let start = Instant::now();
            s.unlock(user, PIN).unwrap();
            if i > 0 {
                v.push(start.elapsed().as_secs_f64());
            }
        }
        median(v)
    };
    let t_empty = unlock_times(&mut empty, &empty_user);
    drop(empty);
    let t_full = unlock_times(&mut store, &user_id);
    let (first, t_first) = timed(|| store.list_members(&club_id).unwrap());
    let t_list = median_of(2, cfg.reps_small, || {
        std::hint::black_box(store.list_members(&club_id).unwrap());
    });
    println!(
        "   Argon2id at KdfParams::MIN (19 MiB, t=2, p=1), one run: {} | unlock, empty store (two runs, the user's slot and the duress slot): {} | unlock, {} members: {}",
        dur(kdf),
        dur(t_empty),
        cfg.members,
        dur(t_full),
    );
    report.push(Row {
        id: "3a",
        what: "Argon2id at `KdfParams::MIN` vs a whole unlock of an empty store".into(),
        baseline: dur(t_empty),
        measured: dur(kdf),
        ratio: format!("{:.2}×", kdf / t_empty),
        target: "(share of unlock)".into(),
        met: None,
    });
    // 3b and 3d (the unlock against the KDF) are item_3_unlocks, on stores of their own.
    report.push(Row {
        id: "3c",
        what: format!(
            "first `list_members` of {} after unlock vs later ones",
            first.len()
        ),
        baseline: format!("{} (median of later)", dur(t_list)),
        measured: dur(t_first),
        ratio: format!("{:.2}×", t_first / t_list),
        target: "-".into(),
        met: None,
    });
    drop(store);
    StoreA {
        _dir: dir,
        db,
        key,
        user_id,
        club_id,
    }
}

/// The Rust side of item 7: a store of `n` members on tmpfs like the Kotlin side's, whose
/// `Store::list_members` is timed by `RustList::median`. Also writes the members (one per line,
/// tab-separated) for the Kotlin side to add the same ones.
pub struct RustList {
    store: Store,
    club_id: String,
    n: usize,
}

impl RustList {
    /// The median time of `list_members`, in seconds, after 20 untimed calls.
    pub fn median(&self, cfg: &Config) -> f64 {
        median_of(20, cfg.kotlin_reps, || {
            let list = self.store.list_members(&self.club_id).unwrap();
            assert_eq!(list.len(), self.n);
            std::hint::black_box(list);
        })
    }
}

pub fn rust_list(cfg: &Config, dir: &Path, n: usize, report: &mut Report) -> RustList {
    let (mut store, _, _) = new_store(dir, "kotlin-twin");
    let club_id = store.add_club(&data::club_input(1)).unwrap().id;
    let inputs = data::members(7, n);
    write_tsv(&dir.join("members.tsv"), &inputs);
    let (_, t_add) = timed(|| {
        for m in &inputs {
            store.add_member(&club_id, m).unwrap();
        }
    });
    let mut plain = plain::open(&dir.join("plain-shm.db"));
    let bodies: Vec<Vec<u8>> = inputs.iter().map(data::padded_json).collect();
    let (_, t_plain) = timed(|| {
        for b in &bodies {
            plain::insert_one(&mut plain, &club_id, b);
        }
    });
    // Two of the per-row costs of add_member that are public: the member index's folding and
    // Vietnamese sort key of the name (the rest: club lookup, audit chain, validation, stamps).
    let index_cost = median_of(1, cfg.reps_small, || {
        for m in &inputs {
            std::hint::black_box(chungtay_core::text::fold(&m.full_name));
            std::hint::black_box(chungtay_core::text::fold(&m.village));
            std::hint::black_box(chungtay_core::text::name_sort_key(&m.full_name));
        }
    }) / n as f64;
    let sealer = plain::Sealer::default();
    let seal_cost = median_of(1, cfg.reps_small, || {
        for b in &bodies {
            std::hint::black_box(sealer.member(&club_id, b));
        }
    }) / n as f64;
    let core_r = n as f64 / t_add;
    let plain_r = n as f64 / t_plain;
    println!(
        "   on tmpfs (no fsync): core add_member {} per row, plain 1-row txn {} per row; of the core's, sealing {} and the index's folding + sort key {}",
        dur(t_add / n as f64),
        dur(t_plain / n as f64),
        dur(seal_cost),
        dur(index_cost)
    );
    // Per row: core ≈ F + c, plain ≈ F + p, with F the commit's fsync and c, p the tmpfs costs.
    let (c, p) = (t_add / n as f64, t_plain / n as f64);
    println!(
        "   so add_member reaches 0.9× plain once a commit's fsync takes ≥ (c - 0.9 p) / 0.1 = {} (estimate; compare this disk's fdatasync above)",
        dur((c - 0.9 * p) / 0.1)
    );
    report.push(Row {
        id: "1c",
        what: format!("1a on tmpfs (no fsync cost), {n} rows"),
        baseline: rate(plain_r, "rows"),
        measured: rate(core_r, "rows"),
        ratio: format!("{:.2}×", core_r / plain_r),
        target: "(diagnostic)".into(),
        met: None,
    });
    RustList { store, club_id, n }
}

fn write_tsv(path: &Path, inputs: &[MemberInput]) {
    use std::fmt::Write as _;
    let mut out = String::new();
    for m in inputs {
        let survivor = format!("{:?}", m.survivor_status);
        writeln!(
            out,
            "{}\t{}\t{:?}\t{}\t{}\t{}\t{}\t{}",
            m.full_name,
            m.birth_year.unwrap_or(0),
            m.gender,
            m.ethnic_group.code(),
            m.village,
            m.phone.as_deref().unwrap_or(""),
            survivor,
            m.safe_to_contact
        )
        .unwrap();
    }
    std::fs::write(path, out).unwrap();
}

/// Item 2 of the lists (issue 17): `list_members` per member at 1,000 and at `big` members (flat
/// within 1.3×), the list of `big` against a plain SQLite `SELECT` of the same columns in the
/// same order (an index on the sort key, so neither side sorts per call), and one page of 50 for
/// a screen. Members go in through `add_members`, 1,000 per transaction.
pub fn item_2_lists(cfg: &Config, report: &mut Report) {
    let big = if cfg.quick { 10_000 } else { 50_000 };
    let dir = tempfile::Builder::new()
        .prefix("chungtay-bench-lists-")
        .tempdir_in(&cfg.disk_dir)
        .unwrap();
    println!("\n## 2b-2d. Member lists: 1,000 and {big} members, a page of 50");
    // Per member at each size: the core's list, plain SQLite's `SELECT` of the same rows, and a
    // clone of the list the core returned (allocation and copying alone, no lookup at all).
    let (mut core, mut select, mut clone) = (Vec::new(), Vec::new(), Vec::new());
    let mut reopened = Vec::new();
    let mut kept = None;
    for (name, n) in [("small", 1_000usize), ("big", big)] {
        let (mut store, _, _) = new_store(dir.path(), name);
        let club_id = store.add_club(&data::club_input(3)).unwrap().id;
        let inputs = data::members(11, n);
        for chunk in inputs.chunks(1_000) {
            store.add_members(&club_id, chunk).unwrap();
        }
        let list = store.list_members(&club_id).unwrap();
        let plain = plain_list(&dir.path().join(format!("plain-list-{name}.db")), &list);
        assert_eq!(select_list(&plain, &club_id).len(), n);
        let list_all = |store: &Store| {
            let list = store.list_members(&club_id).unwrap();
            assert_eq!(list.len(), n);
            std::hint::black_box(list);
        };
        let [t, ts, tc] = medians_in_turn(
            2,
            cfg.reps_small,
            [
                &mut || list_all(&store),
                &mut || {
                    std::hint::black_box(select_list(&plain, &club_id));
                },
                &mut || {
                    std::hint::black_box(list.clone());
                },
            ],
        );
        println!(
            "   {n} members, per member: list_members {:.0} ns | plain SELECT {:.0} ns | a clone of the list {:.0} ns",
            t / n as f64 * 1e9,
            ts / n as f64 * 1e9,
            tc / n as f64 * 1e9
        );
        core.push(t / n as f64);
        select.push(ts / n as f64);
        clone.push(tc / n as f64);
        // Then as the app finds the list each time it opens: after a lock and an unlock, the
        // index taken from its sealed snapshot, its texts laid out in list order.
        let user = store.current_user().unwrap().id;
        store.lock();
        store.unlock(&user, PIN).unwrap();
        let [tr, trc] = medians_in_turn(
            2,
            cfg.reps_small,
            [&mut || list_all(&store), &mut || {
                std::hint::black_box(list.clone());
            }],
        );
        println!(
            "   {n} members, after a lock and an unlock, per member: list_members {:.0} ns | a clone of the list {:.0} ns",
            tr / n as f64 * 1e9,
            trc / n as f64 * 1e9
        );
        reopened.push((tr / n as f64, trc / n as f64));
        kept = Some((store, club_id, t, ts));
    }
    // Each row: the cost per member (or row) at 1,000 and at `big`, and how much it grew; only
    // the core's own lists carry the target.
    let growth_row = |id, what, v: &[f64], unit: &str, target: bool| {
        let per = |secs: f64| format!("{:.0} ns per {unit}", secs * 1e9);
        let growth = v[1] / v[0];
        Row {
            id,
            what,
            baseline: per(v[0]),
            measured: per(v[1]),
            ratio: format!("{growth:.2}×"),
            target: if target { "≤ 1.3×" } else { "–" }.into(),
            met: target.then_some(growth <= 1.3),
        }
    };
    let (reopened, reclone): (Vec<f64>, Vec<f64>) = reopened.into_iter().unzip();
    let rows = [
        (
            "2b",
            format!("`list_members` per member, {big} members vs 1,000"),
            &core,
            "member",
            true,
        ),
        (
            "2e",
            format!(
                "2b after a lock and an unlock (the index from its snapshot, as the app opens), {big} vs 1,000"
            ),
            &reopened,
            "member",
            true,
        ),
        (
            "2e″",
            format!("2b″ after the same lock and unlock, {big} vs 1,000: copying alone"),
            &reclone,
            "member",
            false,
        ),
        (
            "2b′",
            format!(
                "plain SQLite `SELECT` of the same rows (2c's), per row, {big} vs 1,000: the same growth for SQLite"
            ),
            &select,
            "row",
            false,
        ),
        (
            "2b″",
            format!(
                "a clone of the list `list_members` returned (`Vec<MemberSummary>::clone`), per member, {big} vs 1,000: copying alone"
            ),
            &clone,
            "member",
            false,
        ),
    ];
    for (id, what, v, unit, target) in rows {
        report.push(growth_row(id, what, v, unit, target));
    }

    let (store, club_id, t_list, t_select) = kept.unwrap();
    report.push(Row {
        id: "2c",
        what: format!(
            "`list_members` of {big} vs plain SQLite `SELECT` of the same columns in the same order (indexed)"
        ),
        baseline: dur(t_select),
        measured: dur(t_list),
        ratio: format!("{:.2}×", t_list / t_select),
        target: "≤ 1×".into(),
        met: Some(t_list <= t_select),
    });

    let filter = MemberFilter::club(&club_id);
    let t_page = median_of(2, cfg.reps_small, || {
        let page = store.search_members_page(&filter, big / 2, 50).unwrap();
        assert_eq!(page.members.len(), 50);
        std::hint::black_box(page);
    });
    report.push(Row {
        id: "2d",
        what: format!(
            "one page of 50 from the middle of {big} (`search_members_page`) vs the whole list"
        ),
        baseline: dur(t_list),
        measured: dur(t_page),
        ratio: format!("{:.3}×", t_page / t_list),
        target: "(a screen)".into(),
        met: None,
    });
}

/// A plain SQLite table of a list's rows with an index in list order, so that neither side
/// sorts per call.
fn plain_list(path: &Path, list: &[chungtay_core::MemberSummary]) -> rusqlite::Connection {
    let plain = plain::open(path);
    plain
        .execute_batch(
            "CREATE TABLE list_rows (id TEXT PRIMARY KEY, club_id TEXT NOT NULL,
                full_name TEXT NOT NULL, birth_year INTEGER, gender TEXT NOT NULL,
                ethnic_group TEXT NOT NULL, village TEXT NOT NULL, role TEXT NOT NULL,
                safe_to_contact INTEGER NOT NULL, phone TEXT, sort_key BLOB NOT NULL) STRICT;
             CREATE INDEX list_rows_order ON list_rows (club_id, sort_key, id);",
        )
        .unwrap();
    plain.execute_batch("BEGIN").unwrap();
    for m in list {
        plain
            .execute(
                "INSERT INTO list_rows VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
                rusqlite::params![
                    m.id,
                    m.club_id,
                    m.full_name,
                    m.birth_year,
                    format!("{:?}", m.gender),
                    format!("{:?}", m.ethnic_group),
                    m.village,
                    format!("{:?}", m.role),
                    m.safe_to_contact,
                    m.phone,
                    chungtay_core::text::name_sort_key(&m.full_name)
                ],
            )
            .unwrap();
    }
    plain.execute_batch("COMMIT").unwrap();
    plain
}

type PlainRow = (
    String,
    String,
    String,
    Option<i32>,
    String,
    String,
    String,
    String,
    bool,
    Option<String>,
);

/// 2c's baseline: the list's columns in list order, through the index.
fn select_list(plain: &rusqlite::Connection, club_id: &str) -> Vec<PlainRow> {
    let mut stmt = plain
        .prepare_cached(
            "SELECT id, club_id, full_name, birth_year, gender, ethnic_group, village, role, \
             safe_to_contact, phone FROM list_rows WHERE club_id = ?1 ORDER BY sort_key, id",
        )
        .unwrap();
    stmt.query_map([club_id], |r| {
        Ok((
            r.get(0)?,
            r.get(1)?,
            r.get(2)?,
            r.get(3)?,
            r.get(4)?,
            r.get(5)?,
            r.get(6)?,
            r.get(7)?,
            r.get(8)?,
            r.get(9)?,
        ))
    })
    .unwrap()
    .collect::<Result<_, _>>()
    .unwrap()
}

/// 3b/3d: unlocks of stores of 10,000 and 50,000 members (the quick sizes: 2,000 and 10,000),
/// everything but the KDF against the KDF itself. An unlock runs Argon2 twice, the user's slot
/// and the duress slot, always (docs/SECURITY.md 11), so "the KDF" is two runs at the store's
/// cost, timed in the same run.
pub fn item_3_unlocks(cfg: &Config, report: &mut Report) {
    let dir = tempfile::Builder::new()
        .prefix("chungtay-bench-unlock-")
        .tempdir_in(&cfg.disk_dir)
        .unwrap();
    let sizes = if cfg.quick {
        [2_000, 10_000]
    } else {
        [10_000, 50_000]
    };
    println!(
        "\n## 3b/3d. Unlock of {} and {} members, minus the KDF (two Argon2id runs at `KdfParams::MIN`)",
        sizes[0], sizes[1]
    );
    for (id, n) in ["3b", "3d"].into_iter().zip(sizes) {
        let (mut store, _, _) = new_store(dir.path(), &format!("unlock-{n}"));
        let user = store.current_user().unwrap().id;
        let club_id = store.add_club(&data::club_input(0)).unwrap().id;
        for (i, chunk) in data::members(7, n).chunks(1_000).enumerate() {
            let added = store.add_members(&club_id, chunk).unwrap();
            assert_eq!(added.len(), chunk.len(), "batch {i}");
        }
        // After a lock (the index's sealed snapshot is there), then cold: as after the app was
        // killed, with no snapshot, every member opened.
        for cold in [false, true] {
            let (mut t_kdf, mut t_unlock) = (Vec::new(), Vec::new());
            for round in 0..=cfg.reps_unlock {
                store.lock();
                if cold {
                    rusqlite::Connection::open(store.path())
                        .unwrap()
                        .execute("DELETE FROM meta WHERE name LIKE 'index_snapshot.%'", [])
                        .unwrap();
                }
                let kdf = || {
                    for _ in 0..2 {
                        KdfParams::calibrate(Duration::from_nanos(1)).unwrap();
                    }
                };
                let unlock = || store.unlock(&user, PIN).unwrap();
                let (k, u) = if round % 2 == 0 {
                    (timed(kdf).1, timed(unlock).1)
                } else {
                    let u = timed(unlock).1;
                    (timed(kdf).1, u)
                };
                if round > 0 {
                    t_kdf.push(k);
                    t_unlock.push(u);
                }
            }
            assert_eq!(store.list_members(&club_id).unwrap().len(), n);
            let ratios: Vec<f64> = t_unlock
                .iter()
                .zip(&t_kdf)
                .map(|(u, k)| (u - k) / k)
                .collect();
            let ratio = median(ratios);
            let (tk, tu) = (median(t_kdf), median(t_unlock));
            let how = if cold {
                "cold (no snapshot, as after a kill)"
            } else {
                "after a lock (sealed snapshot)"
            };
            println!(
                "   {n} members, {how}: whole unlock {} | the KDF (2 runs) {} | the rest {} ({:.1} µs a member)",
                dur(tu),
                dur(tk),
                dur(tu - tk),
                (tu - tk) / n as f64 * 1e6
            );
            let limit = if id == "3d" { 3.0 } else { 1.0 };
            report.push(Row {
                id: if cold {
                    if id == "3d" { "3d′" } else { "3b′" }
                } else {
                    id
                },
                what: format!(
                    "unlock of {n} members {how}, minus the KDF, vs the KDF (2 Argon2id runs at MIN)"
                ),
                baseline: format!("{} (KDF)", dur(tk)),
                measured: format!("{} (whole unlock {})", dur(tu - tk), dur(tu)),
                ratio: format!("{ratio:.2}× the KDF"),
                target: if cold {
                    "–".into()
                } else {
                    format!("≤ {limit}×")
                },
                met: (!cold).then_some(ratio <= limit),
            });
        }
    }
}

/// A store of `n` members in one club, built with `add_members` (1,000 a batch), locked and
/// closed: item 6b's.
pub fn store_of(base: &Path, n: usize) -> StoreA {
    let dir = tempfile::Builder::new()
        .prefix("chungtay-bench-big-")
        .tempdir_in(base)
        .unwrap();
    let (mut store, db, key) = new_store(dir.path(), "big");
    let user_id = store.current_user().unwrap().id;
    let club_id = store.add_club(&data::club_input(0)).unwrap().id;
    for chunk in data::members(5, n).chunks(1_000) {
        store.add_members(&club_id, chunk).unwrap();
    }
    drop(store);
    StoreA {
        _dir: dir,
        db,
        key,
        user_id,
        club_id,
    }
}
