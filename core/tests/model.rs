//! The store against a model: random sequences of what a club leader does (add, import, edit,
//! consent and withdraw, erase, lock and unlock, close and reopen, back up and restore) are run
//! on a real store and on a plain in-memory map, and after every step the store must show what
//! the map holds. A kill at a random point is core/tests/crash.rs.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::collections::BTreeMap;
use std::sync::Arc;

use chungtay_core::*;
use common::*;
use proptest::prelude::*;

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

impl Model {
    fn pick(&self, which: usize) -> Option<String> {
        let n = self.members.len();
        (n > 0).then(|| {
            self.members
                .keys()
                .nth(which % n)
                .cloned()
                .unwrap_or_default()
        })
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
