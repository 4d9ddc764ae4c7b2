//! The store against a model: random sequences of what a club leader does (add, import, edit,
//! consent and withdraw, erase, lock and unlock, close and reopen, back up and restore) are run
//! on a real store and on a plain in-memory map, and after every step the store must show what
//! the map holds. Then the same sequences in a child process killed (SIGKILL) at a random point:
//! reopened, the store shows what the child last reported, or that plus the whole of the step it
//! was in, never part of a step. (A writer killed mid-insert, again and again, is
//! core/tests/crash.rs.)
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use chungtay_core::*;
use common::*;
use proptest::prelude::*;
use proptest::strategy::ValueTree;
use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};

const NAMES: [&str; 6] = [
    "Lò Thị Mai",
    "Giàng Thị Dợ",
    "Nguyễn Thị Ngọc Ánh",
    "Vàng Thị Súa",
    "Hà Thị Ơn",
    "Đặng Thị Sử",
];
const GROUPS: [&str; 4] = ["Thái", "Mông", "Kinh", "Dao"];
const VILLAGES: [&str; 3] = ["Bản Hua", "Bản Phố", "Thôn Đông"];

#[derive(Clone, Debug)]
enum Op {
    Add {
        name: usize,
        group: usize,
        village: usize,
        year: i32,
    },
    /// A batch; `bad` puts a year in the future in it, so none of it may go in.
    Import {
        n: usize,
        bad: bool,
    },
    Edit {
        which: usize,
        village: usize,
        contact: bool,
    },
    Consent {
        which: usize,
    },
    Withdraw {
        which: usize,
    },
    Erase {
        which: usize,
    },
    LockUnlock,
    Reopen,
    BackupRestore,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (0..6usize, 0..4usize, 0..3usize, 1950..2010i32)
            .prop_map(|(name, group, village, year)| Op::Add { name, group, village, year }),
        2 => (1..5usize, any::<bool>()).prop_map(|(n, bad)| Op::Import { n, bad }),
        3 => (any::<usize>(), 0..3usize, any::<bool>())
            .prop_map(|(which, village, contact)| Op::Edit { which, village, contact }),
        2 => any::<usize>().prop_map(|which| Op::Consent { which }),
        1 => any::<usize>().prop_map(|which| Op::Withdraw { which }),
        1 => any::<usize>().prop_map(|which| Op::Erase { which }),
        1 => Just(Op::LockUnlock),
        1 => Just(Op::Reopen),
        1 => Just(Op::BackupRestore),
    ]
}

/// What the store should hold.
#[derive(Default)]
struct Model {
    members: BTreeMap<String, MemberInput>,
    /// Consent id → (member id, withdrawn).
    consents: BTreeMap<String, (String, bool)>,
}

/// The `which`-th key (wrapping around), or none in an empty map: how a step picks a member.
fn nth_key<V>(map: &BTreeMap<String, V>, which: usize) -> Option<String> {
    let n = map.len();
    (n > 0).then(|| map.keys().nth(which % n).cloned().unwrap_or_default())
}

impl Model {
    fn pick(&self, which: usize) -> Option<String> {
        nth_key(&self.members, which)
    }
}

fn input(name: usize, group: usize, village: usize, year: i32) -> MemberInput {
    let mut m = member_input(NAMES[name], GROUPS[group], VILLAGES[village]);
    m.birth_year = Some(year);
    m
}

/// Every member the model holds, as the store shows her, and no one else.
fn check(f: &Fixture, club: &str, model: &Model) {
    let listed: Vec<String> = f
        .store
        .list_members(club)
        .unwrap()
        .into_iter()
        .map(|m| m.id)
        .collect();
    let mut listed_sorted = listed.clone();
    listed_sorted.sort();
    assert_eq!(
        listed_sorted,
        model.members.keys().cloned().collect::<Vec<_>>()
    );
    for (id, want) in &model.members {
        let got = f.store.member(id).unwrap().info;
        assert_eq!(got.full_name, want.full_name);
        assert_eq!(got.village, want.village);
        assert_eq!(got.birth_year, want.birth_year);
        assert_eq!(got.safe_to_contact, want.safe_to_contact);
        // Someone who must not be contacted has no number on any screen.
        let phone = want.phone.clone().filter(|_| want.safe_to_contact);
        assert_eq!(got.phone, phone);
        let consents: Vec<(String, bool)> = f
            .store
            .consents_for(id)
            .unwrap()
            .into_iter()
            .map(|c| (c.id, c.withdrawn_on.is_some()))
            .collect();
        let mut expected: Vec<(String, bool)> = model
            .consents
            .iter()
            .filter(|(_, (m, _))| m == id)
            .map(|(c, (_, w))| (c.clone(), *w))
            .collect();
        let mut got_sorted = consents;
        got_sorted.sort();
        expected.sort();
        assert_eq!(got_sorted, expected);
    }
    assert!(f.store.damaged_records().unwrap().is_empty());
}

fn run(ops: Vec<Op>) {
    let mut f = Fixture::new();
    let club = f.store.add_club(&club_input()).unwrap().id;
    let recovery = f.store.setup_recovery().unwrap().recovery_secret;
    let mut model = Model::default();
    let mut restores = 0;
    for op in ops {
        match op {
            Op::Add {
                name,
                group,
                village,
                year,
            } => {
                let m = f
                    .store
                    .add_member(&club, &input(name, group, village, year))
                    .unwrap();
                model
                    .members
                    .insert(m.id, input(name, group, village, year));
            }
            Op::Import { n, bad } => {
                let mut batch: Vec<MemberInput> = (0..n)
                    .map(|i| input(i % 6, i % 4, i % 3, 1980 + i as i32))
                    .collect();
                if bad {
                    batch[n / 2].birth_year = Some(3000);
                    assert!(f.store.add_members(&club, &batch).is_err());
                } else {
                    let added = f.store.add_members(&club, &batch).unwrap();
                    for (m, i) in added.into_iter().zip(batch) {
                        model.members.insert(m.id, i);
                    }
                }
            }
            Op::Edit {
                which,
                village,
                contact,
            } => {
                let Some(id) = model.pick(which) else {
                    continue;
                };
                let mut info = f.store.member(&id).unwrap().info;
                info.village = VILLAGES[village].to_owned();
                info.safe_to_contact = contact;
                f.store.update_member(&id, &info).unwrap();
                let want = model.members.get_mut(&id).unwrap();
                want.village = VILLAGES[village].to_owned();
                want.safe_to_contact = contact;
            }
            Op::Consent { which } => {
                let Some(id) = model.pick(which) else {
                    continue;
                };
                let c = f.store.add_consent(&consent_input(&id)).unwrap();
                model.consents.insert(c.id, (id, false));
            }
            Op::Withdraw { which } => {
                let open: Vec<String> = model
                    .consents
                    .iter()
                    .filter(|(_, (_, w))| !w)
                    .map(|(c, _)| c.clone())
                    .collect();
                if open.is_empty() {
                    continue;
                }
                let c = &open[which % open.len()];
                f.store.withdraw_consent(c, today()).unwrap();
                model.consents.get_mut(c).unwrap().1 = true;
            }
            Op::Erase { which } => {
                let Some(id) = model.pick(which) else {
                    continue;
                };
                f.store.erase_member(&id).unwrap();
                model.members.remove(&id);
                model.consents.retain(|_, (m, _)| *m != id);
            }
            Op::LockUnlock => {
                f.store.lock();
                assert!(f.store.list_members(&club).is_err());
                let leader = f.leader_id();
                f.store.unlock(&leader, PIN).unwrap();
            }
            Op::Reopen => f.reopen(),
            Op::BackupRestore => {
                let backup = f.store.create_backup().unwrap();
                restores += 1;
                let path = f.dir.path().join(format!("restored-{restores}.db"));
                let key = f.dir.path().join(format!("restored-{restores}.key"));
                let device = Arc::new(SoftwareDeviceSecret::load_or_create(&key).unwrap());
                let restored = Store::restore(
                    &backup,
                    &recovery,
                    &path,
                    device.clone(),
                    PIN,
                    KdfParams::MIN,
                )
                .unwrap();
                // From here on the restored store is the one in use.
                drop(std::mem::replace(&mut f.store, restored));
                f.path = path;
                f.device = device;
                let leader = f.leader_id();
                if !f.store.is_unlocked() {
                    f.store.unlock(&leader, PIN).unwrap();
                }
            }
        }
        check(&f, &club, &model);
    }
    f.store.verify_audit().unwrap();
    f.reopen();
    check(&f, &club, &model);
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 24,
        // A failing sequence is shrunk to its shortest form, and kept in
        // core/tests/model.proptest-regressions to be replayed first.
        ..ProptestConfig::default()
    })]

    #[test]
    fn the_store_shows_what_the_model_holds(ops in proptest::collection::vec(op(), 1..30)) {
        run(ops);
    }
}

// ---- killed at a random point ----------------------------------------------------------------

const DIR_VAR: &str = "CHUNGTAY_MODEL_DIR";
const SEED_VAR: &str = "CHUNGTAY_MODEL_SEED";

/// What a reader of the store sees: each member's name, village, birth year and contact flag;
/// each consent's member and whether it is withdrawn.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
struct View {
    members: BTreeMap<String, String>,
    consents: BTreeMap<String, String>,
}

fn fields(m: &MemberInput) -> String {
    format!(
        "{}|{}|{:?}|{}",
        m.full_name, m.village, m.birth_year, m.safe_to_contact
    )
}

fn consent_fields(member: &str, withdrawn: bool) -> String {
    format!("{member}|{withdrawn}")
}

impl View {
    fn read(store: &Store, club: &str) -> View {
        let mut view = View::default();
        for m in store.list_members(club).unwrap() {
            let info = store.member(&m.id).unwrap().info;
            for c in store.consents_for(&m.id).unwrap() {
                view.consents
                    .insert(c.id, consent_fields(&m.id, c.withdrawn_on.is_some()));
            }
            view.members.insert(m.id, fields(&info));
        }
        view
    }

    fn pick(&self, which: usize) -> Option<String> {
        nth_key(&self.members, which)
    }

    fn open_consents(&self) -> Vec<String> {
        self.consents
            .iter()
            .filter(|(_, v)| v.ends_with("|false"))
            .map(|(c, _)| c.clone())
            .collect()
    }

    /// One line: sections, entries and key/value split by ASCII separators.
    fn encode(&self) -> String {
        let part = |m: &BTreeMap<String, String>| {
            m.iter()
                .map(|(k, v)| format!("{k}\u{1f}{v}"))
                .collect::<Vec<_>>()
                .join("\u{1e}")
        };
        format!("{}\u{1d}{}", part(&self.members), part(&self.consents))
    }

    fn decode(line: &str) -> View {
        let part = |s: &str| {
            s.split('\u{1e}')
                .filter(|e| !e.is_empty())
                .map(|e| {
                    let (k, v) = e.split_once('\u{1f}').unwrap();
                    (k.to_owned(), v.to_owned())
                })
                .collect()
        };
        let (members, consents) = line.split_once('\u{1d}').unwrap();
        View {
            members: part(members),
            consents: part(consents),
        }
    }
}

/// A view after one step, where the step's new records (ids made inside it) are only known by
/// their contents.
struct Expected {
    view: View,
    new_members: Vec<String>,
    new_consents: Vec<String>,
}

impl Expected {
    fn after(before: &View, op: &Op) -> Expected {
        let mut e = Expected {
            view: before.clone(),
            new_members: Vec::new(),
            new_consents: Vec::new(),
        };
        match *op {
            Op::Add {
                name,
                group,
                village,
                year,
            } => e
                .new_members
                .push(fields(&input(name, group, village, year))),
            Op::Import { n, bad: false } => e
                .new_members
                .extend((0..n).map(|i| fields(&input(i % 6, i % 4, i % 3, 1980 + i as i32)))),
            Op::Edit {
                which,
                village,
                contact,
            } => {
                if let Some(id) = before.pick(which) {
                    let old = &before.members[&id];
                    let parts: Vec<&str> = old.split('|').collect();
                    e.view.members.insert(
                        id,
                        format!("{}|{}|{}|{contact}", parts[0], VILLAGES[village], parts[2]),
                    );
                }
            }
            Op::Consent { which } => {
                if let Some(id) = before.pick(which) {
                    e.new_consents.push(consent_fields(&id, false));
                }
            }
            Op::Withdraw { which } => {
                let open = before.open_consents();
                if !open.is_empty() {
                    let c = &open[which % open.len()];
                    let member = before.consents[c].split('|').next().unwrap().to_owned();
                    e.view
                        .consents
                        .insert(c.clone(), consent_fields(&member, true));
                }
            }
            Op::Erase { which } => {
                if let Some(id) = before.pick(which) {
                    e.view.members.remove(&id);
                    e.view
                        .consents
                        .retain(|_, v| v.split('|').next() != Some(id.as_str()));
                }
            }
            Op::Import { bad: true, .. } | Op::LockUnlock | Op::Reopen | Op::BackupRestore => {}
        }
        e
    }

    /// Whether `got` is this view: the known records equal, and the rest exactly the new ones.
    fn matches(&self, got: &View) -> bool {
        fn rest(
            got: &BTreeMap<String, String>,
            known: &BTreeMap<String, String>,
            new: &[String],
        ) -> bool {
            if known.iter().any(|(k, v)| got.get(k) != Some(v)) {
                return false;
            }
            let mut extra: Vec<&String> = got
                .iter()
                .filter(|(k, _)| !known.contains_key(*k))
                .map(|(_, v)| v)
                .collect();
            let mut want: Vec<&String> = new.iter().collect();
            extra.sort();
            want.sort();
            extra == want
        }
        rest(&got.members, &self.view.members, &self.new_members)
            && rest(&got.consents, &self.view.consents, &self.new_consents)
    }
}

/// The steps of one child, from its seed (the same on both sides of the pipe).
fn kill_ops(seed: u64) -> Vec<Op> {
    let mut bytes = [0u8; 32];
    bytes[..8].copy_from_slice(&seed.to_le_bytes());
    let mut runner = TestRunner::new_with_rng(
        Config::default(),
        TestRng::from_seed(RngAlgorithm::ChaCha, &bytes),
    );
    // A restore moves the store to another file: the plain model test covers it.
    let step = op().prop_filter("no restore", |o| !matches!(o, Op::BackupRestore));
    proptest::collection::vec(step, 15..40)
        .new_tree(&mut runner)
        .unwrap()
        .current()
}

/// The child of `killed_mid_sequence_the_store_holds_whole_steps`: runs its seed's steps on the
/// store, saying `start I` before step I and `done I VIEW` once it returned.
#[test]
#[ignore = "child process of the kill test"]
fn model_child() {
    let (Ok(dir), Ok(seed)) = (std::env::var(DIR_VAR), std::env::var(SEED_VAR)) else {
        return;
    };
    let dir = Path::new(&dir);
    let mut store = open_unlocked(dir);
    let club = store.clubs().unwrap()[0].id.clone();
    let mut view = View::read(&store, &club);
    let out = std::io::stdout();
    let mut out = out.lock();
    for (i, op) in kill_ops(seed.parse().unwrap()).into_iter().enumerate() {
        writeln!(out, "start {i}").unwrap();
        out.flush().unwrap();
        match op {
            Op::Add {
                name,
                group,
                village,
                year,
            } => {
                store
                    .add_member(&club, &input(name, group, village, year))
                    .unwrap();
            }
            Op::Import { n, bad } => {
                let mut batch: Vec<MemberInput> = (0..n)
                    .map(|i| input(i % 6, i % 4, i % 3, 1980 + i as i32))
                    .collect();
                if bad {
                    batch[n / 2].birth_year = Some(3000);
                }
                assert_eq!(store.add_members(&club, &batch).is_err(), bad);
            }
            Op::Edit {
                which,
                village,
                contact,
            } => {
                if let Some(id) = view.pick(which) {
                    let mut info = store.member(&id).unwrap().info;
                    info.village = VILLAGES[village].to_owned();
                    info.safe_to_contact = contact;
                    store.update_member(&id, &info).unwrap();
                }
            }
            Op::Consent { which } => {
                if let Some(id) = view.pick(which) {
                    store.add_consent(&consent_input(&id)).unwrap();
                }
            }
            Op::Withdraw { which } => {
                let open = view.open_consents();
                if !open.is_empty() {
                    store
                        .withdraw_consent(&open[which % open.len()], today())
                        .unwrap();
                }
            }
            Op::Erase { which } => {
                if let Some(id) = view.pick(which) {
                    store.erase_member(&id).unwrap();
                }
            }
            Op::LockUnlock => {
                store.lock();
                let leader = store.users().unwrap()[0].id.clone();
                store.unlock(&leader, PIN).unwrap();
            }
            Op::Reopen => {
                drop(store);
                store = open_unlocked(dir);
            }
            Op::BackupRestore => unreachable!("filtered out"),
        }
        view = View::read(&store, &club);
        writeln!(out, "done {i} {}", view.encode()).unwrap();
        out.flush().unwrap();
    }
}

/// Random steps in a child process killed at a random point, again and again on one store:
/// every step the child reported is there, the step it was in is there whole or not at all, the
/// file is sound, nothing is damaged and the trail verifies.
#[test]
fn killed_mid_sequence_the_store_holds_whole_steps() {
    let dir = tempfile::tempdir().unwrap();
    let device =
        Arc::new(SoftwareDeviceSecret::load_or_create(&dir.path().join("device.key")).unwrap());
    let mut store = Store::create(
        &dir.path().join("club.db"),
        device,
        NewUser::new("Lò Thị Mai", UserRole::Leader, PIN),
        KdfParams::MIN,
    )
    .unwrap();
    store.add_club(&club_input()).unwrap();
    drop(store);

    let exe = std::env::current_exe().unwrap();
    let mut before = View::default();
    let mut inside_a_step = 0;
    for round in 0..10u64 {
        let seed = 0x5eed_0000 + round;
        let ops = kill_ops(seed);
        // Which step to kill in, and how long after it started (0 to 3 ms): from the seed, so a
        // failure names both.
        let kill_at = (seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) >> 33) as usize % ops.len();
        let delay = Duration::from_micros((seed.wrapping_mul(0x2545_f491) >> 7) % 3000);
        let mut child = Command::new(&exe)
            .args([
                "model_child",
                "--exact",
                "--ignored",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(DIR_VAR, dir.path())
            .env(SEED_VAR, seed.to_string())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut in_flight = None;
        let mut killed = false;
        for line in BufReader::new(child.stdout.take().unwrap()).lines() {
            let line = line.unwrap();
            if let Some(i) = line.strip_prefix("start ") {
                let i: usize = i.parse().unwrap();
                in_flight = Some(i);
                if i == kill_at && !killed {
                    std::thread::sleep(delay);
                    child.kill().unwrap(); // SIGKILL
                    killed = true;
                }
            } else if let Some(rest) = line.strip_prefix("done ") {
                let (_, view) = rest.split_once(' ').unwrap();
                before = View::decode(view);
                in_flight = None;
            }
        }
        let status = child.wait().unwrap();
        assert!(
            killed || status.success(),
            "round {round}: the child failed: {status}"
        );

        let conn = rusqlite::Connection::open(dir.path().join("club.db")).unwrap();
        let check: String = conn
            .query_row("PRAGMA integrity_check", [], |r| r.get(0))
            .unwrap();
        assert_eq!(check, "ok", "round {round}");
        drop(conn);
        let store = open_unlocked(dir.path());
        let club = store.clubs().unwrap()[0].id.clone();
        let got = View::read(&store, &club);
        let whole_before = got == before;
        let whole_after = in_flight
            .map(|i| Expected::after(&before, &ops[i]).matches(&got))
            .unwrap_or(false);
        assert!(
            whole_before || whole_after,
            "round {round} (seed {seed}, killed in step {kill_at} after {delay:?}, step {in_flight:?} \
             in flight: {:?}): the store holds part of a step\nreported: {before:?}\nfound: {got:?}",
            in_flight.map(|i| &ops[i]),
        );
        if whole_after && !whole_before {
            inside_a_step += 1;
        }
        assert!(store.damaged_records().unwrap().is_empty(), "round {round}");
        store.verify_audit().unwrap();
        before = got;
    }
    // Not asserted (timing decides), but said: how often the kill landed after a step's commit
    // and before its report.
    println!("killed after a commit it had not reported: {inside_a_step} of 10 rounds");
}
