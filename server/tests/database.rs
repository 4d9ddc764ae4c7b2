//! The database itself, on whichever backend the suite runs (SQLite, or PostgreSQL under
//! `scripts/pg-test`): what its operator can read in it, and what several server instances on
//! one database may not break.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use chungtay_intake::store::{
    CheckpointOutcome, InsertOutcome, NewReferral, Redeem, StoredCheckpoint, TransitionOutcome,
};
use chungtay_intake::{IntakeStore, KdfParams, admin};
use chungtay_protocol::{
    Consent, ReferralPayload, TransitionRequest, seal_referral, sign_checkpoint,
};
use common::{Env, PASS, TestDb, hex};
use reqwest::StatusCode;

/// Survivors' names, villages and what they told the club, as a phone sends them.
const PEOPLE: [(&str, &str, &str); 3] = [
    (
        "Lò Thị Xuân",
        "Bản Pù Nhi, Mường Lát",
        "Muốn học nghề may ở Thanh Hóa",
    ),
    (
        "Vàng Thị Mỷ",
        "Bản Sa Ná, Na Mèo",
        "Cần hỗ trợ tâm lý và giấy tờ tùy thân",
    ),
    (
        "Hà Thị Nguyệt",
        "Thôn Đồng Tâm, Quan Sơn",
        "Con gái 3 tuổi cần đi học mẫu giáo",
    ),
];

fn payload(id: &str, (name, village, need): (&str, &str, &str)) -> ReferralPayload {
    ReferralPayload {
        referral_id: id.into(),
        services: vec!["vocational_training".into(), "psychosocial".into()],
        urgency: "normal".into(),
        note: need.into(),
        shared: BTreeMap::from([
            ("name".to_string(), name.to_string()),
            ("commune".to_string(), village.to_string()),
            ("need".to_string(), need.to_string()),
            ("phone".to_string(), "0912 345 678".to_string()),
        ]),
        consent: Consent {
            purposes: vec!["vocational_training".into()],
            recipient: "Hội LHPN tỉnh Thanh Hóa".into(),
            fields: vec![
                "name".into(),
                "commune".into(),
                "need".into(),
                "phone".into(),
            ],
            given_on: "2025-09-01".into(),
        },
        created_at: "2025-09-01T08:10:00Z".into(),
    }
}

/// Issue 18: the database operator cannot read referrals. After intake of referrals with
/// known names and villages, staff transitions with notes, and checkpoints, every row of
/// every table read as raw text holds none of it, neither as text nor as the hex of its
/// UTF-8 bytes (how PostgreSQL prints a byte column).
#[test]
fn every_table_read_as_raw_text_holds_no_personal_data() {
    let env = Env::start();
    let phone = env.enroll();
    let token = env.staff_token();
    for (i, person) in PEOPLE.iter().enumerate() {
        let id = format!("ref-raw-{i}");
        let sub = seal_referral(
            &payload(&id, *person),
            &phone.keys,
            &phone.device_id,
            &phone.pins.hpke_public_key,
        )
        .unwrap();
        assert_eq!(env.post("/v1/referrals", &sub).status(), StatusCode::OK);
        let moved = env
            .client
            .post(env.url(&format!("/v1/staff/referrals/{id}/transition")))
            .bearer_auth(&token)
            .json(&TransitionRequest {
                state: "accepted".into(),
                note: format!("Đã gọi cho chị {} ở {}", person.0, person.1),
            })
            .send()
            .unwrap();
        assert_eq!(moved.status(), StatusCode::OK);
    }
    let cp = sign_checkpoint(
        &phone.keys,
        &phone.device_id,
        1,
        &[9; 32],
        None,
        "2025-09-04T02:00:00Z",
    )
    .unwrap();
    assert_eq!(env.post("/v1/checkpoints", &cp).status(), StatusCode::OK);
    // A control: a club label is plaintext by design, so the reading must find it.
    assert!(
        admin::open_site(env.data())
            .unwrap()
            .set_device_label(&phone.device_id, "CLB Bản Sen")
            .unwrap()
    );

    let dump = env.db.dump(env.data());
    let text = dump.join("\n");
    // The reading sees real rows: ids, the label, a public key's bytes.
    assert!(text.contains("ref-raw-0") && text.contains("ref-raw-2"));
    assert!(text.contains("CLB Bản Sen"));
    assert!(text.contains(&hex(&phone.keys.public_key())));
    // 3 referrals, 6 status updates, a checkpoint, a device, at the least.
    let at_least = 3 + 6 + 1 + 1;
    assert!(dump.len() >= at_least, "{} rows", dump.len());

    let mut needles: Vec<String> = vec!["0912 345 678".into(), "Đã gọi cho chị".into()];
    for (name, village, need) in PEOPLE {
        needles.extend([name, village, need].map(String::from));
        // Parts too: a surname, a village on its own.
        needles.extend(
            [name.split_whitespace().last(), village.split(", ").next()]
                .into_iter()
                .flatten()
                .map(String::from),
        );
    }
    for needle in &needles {
        assert!(
            !text.contains(needle.as_str()),
            "{needle} readable in the database"
        );
        assert!(
            !text.contains(&hex(needle.as_bytes())),
            "{needle} readable in hex in the database"
        );
    }
}

/// Three stores on one database stand for three server instances (each its own connections).
fn three_instances(db: &TestDb) -> (tempfile::TempDir, Vec<Arc<dyn IntakeStore>>) {
    let dir = tempfile::tempdir().unwrap();
    let site = db.site(dir.path());
    admin::init(&site, PASS, KdfParams::MINIMUM).unwrap();
    let stores = (0..3).map(|_| admin::open_site(&site).unwrap()).collect();
    (dir, stores)
}

fn enroll(store: &dyn IntakeStore, code: u8, key: u8, device_id: &str) {
    store
        .add_code(&[code; 32], "", "t", i64::MAX, b"ok")
        .unwrap();
    let r = store
        .redeem_code(
            &[code; 32],
            &[key; 32],
            device_id,
            1,
            "t",
            &|_, mac| mac == b"ok",
            &|_, _| b"tag".to_vec(),
        )
        .unwrap();
    assert!(matches!(r, Redeem::Enrolled(_)), "{r:?}");
}

fn referral(id: &str, device_id: &str, content: u8) -> NewReferral {
    NewReferral {
        referral_id: id.into(),
        device_id: device_id.into(),
        payload_hash: [content; 32],
        received_at: format!("2025-09-04T02:00:00Z/{id}"),
        receipt_signature: vec![content; 64],
        body: vec![content; 40],
    }
}

/// Issue 18: intake stays exact with several instances taking the same device's requests at
/// once. Every referral is stored once whichever instance takes it and however often it is
/// retried; the device's status updates are numbered 1, 2, 3… with no gap and no repeat, across
/// intake and staff transitions alike; and a staff listing that pages by cursor while the
/// referrals arrive misses none (numbers commit in the order they are given).
#[test]
fn three_instances_at_once_store_each_referral_once_and_number_statuses_exactly() {
    let db = TestDb::new();
    let (_dir, stores) = three_instances(&db);
    enroll(&*stores[0], 1, 1, "dev-a");
    enroll(&*stores[1], 2, 2, "dev-b");
    const PER_WORKER: usize = 25;
    const WORKERS: usize = 6;
    let reader_done = std::sync::atomic::AtomicBool::new(false);
    let (seen, outcomes) = std::thread::scope(|s| {
        let reader = s.spawn(|| {
            // Pages of 7 by cursor, as staff (or an export) follow the intake.
            let mut after = 0;
            let mut seen = Vec::new();
            loop {
                let done = reader_done.load(std::sync::atomic::Ordering::SeqCst);
                let page = stores[2].referrals(after, 7).unwrap();
                if let Some(last) = page.last() {
                    after = last.n;
                }
                let empty = page.is_empty();
                seen.extend(page.into_iter().map(|r| r.referral_id));
                if done && empty {
                    break seen;
                }
            }
        });
        let workers: Vec<_> = (0..WORKERS)
            .map(|w| {
                let stores = &stores;
                s.spawn(move || {
                    let mut outcomes = Vec::new();
                    for i in 0..PER_WORKER {
                        // Workers w and w+3 send the very same referrals (a phone retrying
                        // through another instance); groups 0 and 2 are dev-a's, 1 dev-b's.
                        let group = w % 3;
                        let device = if group == 1 { "dev-b" } else { "dev-a" };
                        let id = format!("ref-{device}-{group}-{i}");
                        let store = &stores[(w + i + w / 3) % 3];
                        let mut make =
                            |dev: &str, seq: i64| Ok(format!("{dev}/{seq}").into_bytes());
                        let out = store
                            .insert_referral(&referral(&id, device, 7), &mut make)
                            .unwrap();
                        if let InsertOutcome::Inserted { .. } = out {
                            // Staff move it on at once, on yet another instance.
                            let moved = stores[(w + i + 1) % 3]
                                .transition(&id, "accepted", "t", "st-1", &mut make)
                                .unwrap();
                            assert!(matches!(moved, TransitionOutcome::Done { .. }), "{moved:?}");
                        }
                        outcomes.push((id, out));
                    }
                    outcomes
                })
            })
            .collect();
        // Joined before anything can fail, so a failing worker stops the reader too.
        let joined: Vec<_> = workers.into_iter().map(|w| w.join()).collect();
        reader_done.store(true, std::sync::atomic::Ordering::SeqCst);
        let outcomes: Vec<_> = joined
            .into_iter()
            .flat_map(|w| w.unwrap_or_else(|e| std::panic::resume_unwind(e)))
            .collect();
        (reader.join().unwrap(), outcomes)
    });

    let ids: BTreeSet<&str> = outcomes.iter().map(|(id, _)| id.as_str()).collect();
    // Workers w and w+3 share their ids: each sent twice.
    assert_eq!(ids.len(), WORKERS * PER_WORKER / 2);
    assert_eq!(outcomes.len(), WORKERS * PER_WORKER);
    let inserted = outcomes
        .iter()
        .filter(|(_, o)| matches!(o, InsertOutcome::Inserted { .. }))
        .count();
    assert_eq!(inserted, ids.len(), "each referral inserted exactly once");
    // The other send of each got the same receipt back.
    assert!(outcomes.iter().all(|(_, o)| matches!(
        o,
        InsertOutcome::Inserted { .. } | InsertOutcome::Existing { .. }
    )));
    assert_eq!(stores[0].referral_count().unwrap(), ids.len() as i64);

    // The listing that ran alongside saw every referral once.
    let seen_set: BTreeSet<&str> = seen.iter().map(String::as_str).collect();
    assert_eq!(seen.len(), seen_set.len(), "a referral listed twice");
    assert_eq!(seen_set, ids, "the cursor skipped a referral");

    // Each device: one "received" and one "accepted" per referral, numbered without a gap.
    for device in ["dev-a", "dev-b"] {
        let statuses = stores[1].statuses_after(device, 0, usize::MAX).unwrap();
        let seqs: Vec<i64> = statuses.iter().map(|s| s.seq).collect();
        let referrals = ids.iter().filter(|id| id.contains(device)).count() as i64;
        let expected: Vec<i64> = (1..=2 * referrals).collect();
        assert_eq!(seqs, expected, "{device}");
        for s in &statuses {
            assert_eq!(s.body, format!("{device}/{}", s.seq).into_bytes());
        }
    }
}

/// Issue 18: one enrollment code redeemed by three phones through three instances at once
/// enrolls one of them; one checkpoint chain extended by rival checkpoints at once keeps one.
#[test]
fn rival_redemptions_and_checkpoints_on_three_instances_keep_one() {
    let db = TestDb::new();
    let (_dir, stores) = three_instances(&db);
    stores[0]
        .add_code(&[5; 32], "", "t", i64::MAX, b"ok")
        .unwrap();
    let redeemed: Vec<Redeem> = std::thread::scope(|s| {
        let hs: Vec<_> = (0..6u8)
            .map(|k| {
                let store = &stores[usize::from(k) % 3];
                s.spawn(move || {
                    store
                        .redeem_code(
                            &[5; 32],
                            &[10 + k; 32],
                            &format!("dev-{k}"),
                            1,
                            "t",
                            &|_, mac| mac == b"ok",
                            &|_, _| b"tag".to_vec(),
                        )
                        .unwrap()
                })
            })
            .collect();
        hs.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let enrolled: Vec<_> = redeemed
        .iter()
        .filter_map(|r| match r {
            Redeem::Enrolled(d) => Some(d.device_id.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(enrolled.len(), 1, "{redeemed:?}");
    assert!(
        redeemed
            .iter()
            .all(|r| matches!(r, Redeem::Enrolled(_) | Redeem::UsedByAnotherKey))
    );
    assert_eq!(stores[2].devices().unwrap().len(), 1);

    let device = &enrolled[0];
    let cp = |seq: i64, head: u8, prev: Option<(i64, u8)>| StoredCheckpoint {
        device_id: device.clone(),
        seq,
        head: vec![head; 32],
        prev: prev.map(|(s, h)| (s, vec![h; 32])),
        at: "t".into(),
        signature: vec![head; 64],
        received_at: "t".into(),
    };
    assert_eq!(
        stores[0].add_checkpoint(&cp(1, 1, None)).unwrap(),
        CheckpointOutcome::Stored
    );
    // Six rivals all extending 1 with another head: at most one may be kept.
    let outcomes: Vec<CheckpointOutcome> = std::thread::scope(|s| {
        let hs: Vec<_> = (0..6u8)
            .map(|k| {
                let store = &stores[usize::from(k) % 3];
                let c = cp(2, 20 + k, Some((1, 1)));
                s.spawn(move || store.add_checkpoint(&c).unwrap())
            })
            .collect();
        hs.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let stored = outcomes
        .iter()
        .filter(|o| **o == CheckpointOutcome::Stored)
        .count();
    assert_eq!(stored, 1, "{outcomes:?}");
    let kept = stores[1].checkpoints(device).unwrap();
    assert_eq!(kept.len(), 2);
    assert_eq!(kept[1].prev, Some((1, vec![1; 32])));
    // The losers flagged the device.
    assert!(
        stores[2]
            .device(device)
            .unwrap()
            .unwrap()
            .flagged_at
            .is_some()
    );
}

/// Status updates, checkpoints and the staff audit are append-only in the database itself:
/// its operator cannot rewrite or delete them, on either backend.
#[test]
fn the_append_only_tables_refuse_updates_and_deletes() {
    let env = Env::start();
    let phone = env.enroll();
    let sub = seal_referral(
        &payload("ref-a", PEOPLE[0]),
        &phone.keys,
        &phone.device_id,
        &phone.pins.hpke_public_key,
    )
    .unwrap();
    assert_eq!(env.post("/v1/referrals", &sub).status(), StatusCode::OK);
    let cp = sign_checkpoint(&phone.keys, &phone.device_id, 1, &[9; 32], None, "t").unwrap();
    assert_eq!(env.post("/v1/checkpoints", &cp).status(), StatusCode::OK);
    env.store()
        .add_audit("t", "-", "login_failed", "x", "")
        .unwrap();
    for (table, set) in [
        ("status_updates", "state = 'closed'"),
        ("checkpoints", "seq = 7"),
        ("staff_audit", "action = 'nothing'"),
    ] {
        for sql in [
            format!("UPDATE {table} SET {set}"),
            format!("DELETE FROM {table}"),
        ] {
            let refused = env.try_sql(&sql, &[]);
            assert!(
                refused.as_ref().is_err_and(|e| e.contains("append-only")),
                "{sql}: {refused:?}"
            );
        }
    }
    assert_eq!(env.store().referral_history("ref-a").unwrap().len(), 1);
}

/// Issue 18: a device's rate limit is one bucket in the database, so three instances behind one
/// address together let through what one would: 10 a minute, whichever instance answers.
/// PostgreSQL's alone: a SQLite file has one server, which keeps its buckets in the process.
#[test]
#[ignore = "several instances are PostgreSQL's deployment: scripts/pg-test runs it"]
fn three_instances_draw_one_device_bucket() {
    let db = TestDb::new();
    assert!(
        db.is_pg(),
        "needs CHUNGTAY_TEST_PG: run it with scripts/pg-test"
    );
    let (_dir, stores) = three_instances(&db);
    let start = std::time::Instant::now();
    let answers: Vec<Option<std::time::Duration>> = std::thread::scope(|s| {
        let hs: Vec<_> = (0..24)
            .map(|k| {
                let store = &stores[k % 3];
                s.spawn(move || store.take_token("device:dev-a", 10).unwrap())
            })
            .collect();
        hs.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let refilled = (start.elapsed().as_millis() * 10 / 60_000) as usize;
    let allowed = answers.iter().filter(|a| a.is_none()).count();
    assert!(
        (10..=10 + refilled).contains(&allowed),
        "{allowed} let through"
    );
    for wait in answers.iter().flatten() {
        assert!(*wait > std::time::Duration::ZERO && *wait <= std::time::Duration::from_secs(6));
    }
    // Another device has its own bucket.
    assert_eq!(stores[1].take_token("device:dev-b", 10).unwrap(), None);
}
