//! The phone and the province against a model (issue 15): random sequences of what a club
//! leader and the province's staff do (add a member, record and withdraw consent, refer, erase,
//! lock and unlock, close and reopen, sync, the province's server down for a sync, staff moving
//! a referral on) run on a real phone store and a real intake server on loopback, and on a
//! plain model. After every step the phone shows each referral in the state the model says,
//! and the province holds exactly the referrals the model says were sent, each once: none that
//! was withdrawn or erased before it left, none lost while the server was down.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

use chrono::Utc;
use chungtay_core::*;
use chungtay_e2e::{PHONE_PIN as PIN, Province, enrolled_club};
use chungtay_intake::{IntakeStore as _, Limits, admin};
use proptest::prelude::*;

const NAMES: [&str; 3] = ["Lò Thị Mai", "Giàng Thị Dợ", "Hà Thị Ơn"];

#[derive(Clone, Debug)]
enum Op {
    Add {
        name: usize,
    },
    Consent {
        which: usize,
    },
    Withdraw {
        which: usize,
    },
    Refer {
        which: usize,
    },
    Erase {
        which: usize,
    },
    Sync,
    /// The province's server is down for one sync, then comes back.
    SyncWhileDown,
    /// Staff move the `which`-th referral they hold one step on (`decline` from received).
    Staff {
        which: usize,
        decline: bool,
    },
    LockUnlock,
    Reopen,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        2 => (0..3usize).prop_map(|name| Op::Add { name }),
        3 => any::<usize>().prop_map(|which| Op::Consent { which }),
        1 => any::<usize>().prop_map(|which| Op::Withdraw { which }),
        4 => any::<usize>().prop_map(|which| Op::Refer { which }),
        1 => any::<usize>().prop_map(|which| Op::Erase { which }),
        3 => Just(Op::Sync),
        1 => Just(Op::SyncWhileDown),
        3 => (any::<usize>(), any::<bool>()).prop_map(|(which, decline)| Op::Staff { which, decline }),
        1 => Just(Op::LockUnlock),
        1 => Just(Op::Reopen),
    ]
}

/// What the phone and the province should show.
#[derive(Default)]
struct Model {
    /// Member ids, in the order added (erased ones removed).
    members: Vec<String>,
    /// Consent id → (member id, withdrawn).
    consents: BTreeMap<String, (String, bool)>,
    /// Referral id → (member id, consent id, the state the phone shows).
    phone: BTreeMap<String, (String, String, ReferralState)>,
    /// Referral id → the state the province holds it in.
    province: BTreeMap<String, &'static str>,
}

/// The state the phone shows once it has pulled the province's `state`.
fn on_phone(state: &str) -> ReferralState {
    match state {
        "received" => ReferralState::Received,
        "accepted" => ReferralState::Accepted,
        "declined" => ReferralState::Declined,
        "in_progress" => ReferralState::InProgress,
        "completed" => ReferralState::Completed,
        other => panic!("unknown state {other}"),
    }
}

/// The staff's next step from `state`, if any.
fn next(state: &str, decline: bool) -> Option<(&'static str, &'static str)> {
    match state {
        "received" if decline => Some(("declined", "Không đủ điều kiện lúc này")),
        "received" => Some(("accepted", "")),
        "accepted" => Some(("in_progress", "")),
        "in_progress" => Some(("completed", "Đã hoàn thành khóa học")),
        _ => None,
    }
}

struct Phone {
    store: Store,
    path: PathBuf,
    device: Arc<dyn DeviceSecret>,
    club: String,
    _dir: tempfile::TempDir,
}

impl Phone {
    fn new(province: &Province) -> Phone {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("club.db");
        let device: Arc<dyn DeviceSecret> = Arc::new(SoftwareDeviceSecret::generate().unwrap());
        let (store, club) = enrolled_club(&path, device.clone(), &province.url(), &province.code());
        Phone {
            store,
            path,
            device,
            club: club.id,
            _dir: dir,
        }
    }

    fn leader(&self) -> String {
        self.store
            .users()
            .unwrap()
            .into_iter()
            .find(|u| u.role == UserRole::Leader)
            .unwrap()
            .id
    }

    fn reopen(&mut self) {
        let leader = self.leader();
        let reopened = Store::open(&self.path, self.device.clone());
        drop(std::mem::replace(&mut self.store, reopened.unwrap()));
        self.store.unlock(&leader, PIN).unwrap();
    }
}

fn member(name: usize) -> MemberInput {
    MemberInput {
        full_name: NAMES[name].into(),
        birth_year: Some(2001),
        gender: Gender::Female,
        ethnic_group: EthnicGroup::from_name("Thái").unwrap(),
        village: "Bản Hua".into(),
        phone: None,
        role: MemberRole::Member,
        survivor_status: SurvivorStatus::Survivor,
        safe_to_contact: true,
    }
}

/// After every step: the phone shows each referral as the model says (and no other), and the
/// province holds exactly the model's, each once, in the model's state.
fn check(phone: &Phone, province: &Province, model: &Model) {
    let mut shown = BTreeMap::new();
    for m in &model.members {
        for r in phone.store.referrals_for(m).unwrap() {
            shown.insert(r.id, r.state);
        }
    }
    let expected: BTreeMap<String, ReferralState> = model
        .phone
        .iter()
        .map(|(id, (_, _, s))| (id.clone(), *s))
        .collect();
    assert_eq!(shown, expected, "the phone");
    let store = admin::open_store(province.data()).unwrap();
    let held: BTreeMap<String, String> = store
        .referrals(0, usize::MAX)
        .unwrap()
        .into_iter()
        .map(|r| (r.referral_id, r.state))
        .collect();
    let want: BTreeMap<String, String> = model
        .province
        .iter()
        .map(|(k, v)| (k.clone(), (*v).to_owned()))
        .collect();
    assert_eq!(held, want, "the province");
    assert_eq!(store.referral_count().unwrap(), want.len() as i64);
    assert!(phone.store.damaged_records().unwrap().is_empty());
}

/// A sync that reaches the province: every queued referral is stored and answered, and every
/// step the staff took comes back.
fn synced(model: &mut Model) {
    for (id, (_, _, state)) in model.phone.iter_mut() {
        if *state == ReferralState::Queued {
            model.province.insert(id.clone(), "received");
        }
        if *state != ReferralState::Withdrawn
            && let Some(at) = model.province.get(id)
        {
            *state = on_phone(at);
        }
    }
}

fn run(ops: Vec<Op>) {
    let mut province = Province::start(Limits {
        device_per_minute: std::num::NonZeroU32::new(1_000_000).unwrap(),
        ..Limits::default()
    });
    let mut phone = Phone::new(&province);
    phone
        .store
        .set_request_timeout(std::time::Duration::from_secs(2));
    let mut model = Model::default();
    for op in ops {
        match op {
            Op::Add { name } => {
                let m = phone.store.add_member(&phone.club, &member(name)).unwrap();
                model.members.push(m.id);
            }
            Op::Consent { which } => {
                if model.members.is_empty() {
                    continue;
                }
                let m = model.members[which % model.members.len()].clone();
                let c = phone
                    .store
                    .add_consent(&ConsentInput {
                        member_id: m.clone(),
                        purposes: vec![SupportService::VocationalTraining, SupportService::Loans],
                        recipient: Recipient::ProvincialUnion,
                        fields: vec![SharedField::Name, SharedField::Need],
                        method: ConsentMethod::SignedPaper,
                        witness: None,
                        given_on: Utc::now().date_naive(),
                    })
                    .unwrap();
                model.consents.insert(c.id, (m, false));
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
                let c = open[which % open.len()].clone();
                phone
                    .store
                    .withdraw_consent(&c, Utc::now().date_naive())
                    .unwrap();
                model.consents.get_mut(&c).unwrap().1 = true;
                // Whatever rested on it and is not finished stops; what is still queued never
                // leaves the phone.
                for (_, consent, state) in model.phone.values_mut() {
                    let finished = matches!(
                        state,
                        ReferralState::Declined
                            | ReferralState::Completed
                            | ReferralState::Withdrawn
                    );
                    if *consent == c && !finished {
                        *state = ReferralState::Withdrawn;
                    }
                }
            }
            Op::Refer { which } => {
                let open: Vec<(String, String)> = model
                    .consents
                    .iter()
                    .filter(|(_, (_, w))| !w)
                    .map(|(c, (m, _))| (c.clone(), m.clone()))
                    .collect();
                if open.is_empty() {
                    continue;
                }
                let (c, m) = open[which % open.len()].clone();
                let r = phone
                    .store
                    .create_referral(&ReferralInput {
                        member_id: m.clone(),
                        services: vec![SupportService::VocationalTraining],
                        urgency: Urgency::Routine,
                        note: "Muốn học may".into(),
                        recipient: Recipient::ProvincialUnion,
                        shared_fields: vec![SharedField::Name, SharedField::Need],
                        consent_id: Some(c.clone()),
                    })
                    .unwrap();
                phone.store.mark_referral_ready(&r.id).unwrap();
                phone.store.queue_referral(&r.id).unwrap();
                model.phone.insert(r.id, (m, c, ReferralState::Queued));
            }
            Op::Erase { which } => {
                if model.members.is_empty() {
                    continue;
                }
                let m = model.members.remove(which % model.members.len());
                phone.store.erase_member(&m).unwrap();
                model.consents.retain(|_, (owner, _)| *owner != m);
                // Her referrals go from the phone; what the province already holds stays.
                model.phone.retain(|_, (owner, _, _)| *owner != m);
            }
            Op::Sync => {
                let report = phone.store.sync(true, &mut |_| {}).unwrap();
                assert_eq!(report.failed, 0);
                assert_eq!(report.still_pending, 0);
                synced(&mut model);
            }
            Op::SyncWhileDown => {
                province.stop();
                // Down: nothing is lost, nothing counts as sent; a typed error or a report
                // with everything still pending.
                match phone.store.sync(true, &mut |_| {}) {
                    Ok(report) => assert_eq!(report.failed, 0),
                    Err(e) => assert!(matches!(e, Error::Network { .. }), "{e:?}"),
                }
                province.restart();
            }
            Op::Staff { which, decline } => {
                let held: Vec<String> = model.province.keys().cloned().collect();
                if held.is_empty() {
                    continue;
                }
                let id = &held[which % held.len()];
                if let Some((to, note)) = next(model.province[id], decline) {
                    province.transition(id, to, note);
                    model.province.insert(id.clone(), to);
                }
            }
            Op::LockUnlock => {
                let leader = phone.leader();
                phone.store.lock();
                phone.store.unlock(&leader, PIN).unwrap();
            }
            Op::Reopen => phone.reopen(),
        }
        check(&phone, &province, &model);
    }
    // Once more after a last sync: everything queued is at the province, every answer home.
    phone.store.sync(true, &mut |_| {}).unwrap();
    synced(&mut model);
    check(&phone, &province, &model);
    phone.store.verify_audit().unwrap();
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 12,
        ..ProptestConfig::default()
    })]

    #[test]
    fn the_phone_and_the_province_show_what_the_model_holds(
        ops in proptest::collection::vec(op(), 1..30)
    ) {
        run(ops);
    }
}
