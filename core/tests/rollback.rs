//! Rows put back from an older copy of the file, and rows edited, swapped, deleted or inserted:
//! each record must be the version the audit trail last wrote, or it is refused and reported.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::path::Path;

use chungtay_core::*;
use common::*;

const TABLES: [&str; 6] = [
    "clubs",
    "members",
    "consents",
    "meetings",
    "referrals",
    "livelihood",
];

/// Every column of a row, as SQLite holds it, to put back later.
fn snapshot(path: &Path, table: &str, id: &str) -> Vec<rusqlite::types::Value> {
    let conn = rusqlite::Connection::open(path).unwrap();
    let n: i64 = conn
        .query_row(
            &format!("SELECT count(*) FROM pragma_table_info('{table}')"),
            [],
            |r| r.get(0),
        )
        .unwrap();
    conn.query_row(&format!("SELECT * FROM {table} WHERE id = ?1"), [id], |r| {
        (0..n as usize).map(|i| r.get(i)).collect()
    })
    .unwrap()
}

fn put_back(path: &Path, table: &str, row: &[rusqlite::types::Value]) {
    let conn = rusqlite::Connection::open(path).unwrap();
    let marks: Vec<String> = (1..=row.len()).map(|i| format!("?{i}")).collect();
    conn.execute(
        &format!(
            "INSERT OR REPLACE INTO {table} VALUES ({})",
            marks.join(", ")
        ),
        rusqlite::params_from_iter(row.iter()),
    )
    .unwrap();
}

fn damaged(f: &Fixture, kind: RecordKind, id: &str) -> Vec<DamageReason> {
    f.store
        .damaged_records()
        .unwrap()
        .into_iter()
        .filter(|d| d.kind == kind && d.id == id)
        .map(|d| d.reason)
        .collect()
}

fn verify_names(f: &Fixture, kind: RecordKind, id: &str, reason: DamageReason) {
    match f.store.verify_audit() {
        Err(Error::AuditBroken(ChainBreak::Record {
            kind: k,
            id: i,
            reason: r,
        })) => assert_eq!((k, i.as_str(), r), (kind, id, reason)),
        other => panic!("verify did not report the {kind:?}: {other:?}"),
    }
    let findings = f
        .store
        .audit_findings(&OverdueThresholds::default())
        .unwrap();
    assert!(
        findings
            .damaged_records
            .iter()
            .any(|d| d.kind == kind && d.id == id && d.reason == reason),
        "{:?}",
        findings.damaged_records
    );
}

#[test]
fn a_withdrawn_consent_put_back_from_an_older_copy_is_refused_and_reported() {
    let mut f = Fixture::new();
    let club = f.store.add_club(&club_input()).unwrap();
    let hoa = f
        .store
        .add_member(&club.id, &member_input("Vi Thị Hoa", "Thái", "Bản Chai"))
        .unwrap();
    let consent = f.store.add_consent(&consent_input(&hoa.id)).unwrap();
    let referral = f
        .store
        .create_referral(&referral_input(&hoa.id, Some(&consent.id)))
        .unwrap();
    let given = snapshot(&f.path, "consents", &consent.id);
    let draft = snapshot(&f.path, "referrals", &referral.id);
    // She withdraws her consent; the referral can no longer be made ready.
    f.store.withdraw_consent(&consent.id, today()).unwrap();
    // Someone with the file puts the consent as it was before back.
    put_back(&f.path, "consents", &given);
    f.reopen();
    assert!(matches!(
        f.store.consent(&consent.id),
        Err(Error::Integrity { .. })
    ));
    assert!(f.store.consents_for(&hoa.id).unwrap().is_empty());
    assert_eq!(
        damaged(&f, RecordKind::Consent, &consent.id),
        vec![DamageReason::Stale]
    );
    // Nothing can be sent on the strength of it.
    assert!(f.store.mark_referral_ready(&referral.id).is_err());
    verify_names(&f, RecordKind::Consent, &consent.id, DamageReason::Stale);

    // The same for a referral moved on and then put back as the draft it was.
    let mut f2 = Fixture::new();
    let club = f2.store.add_club(&club_input()).unwrap();
    let ky = f2
        .store
        .add_member(&club.id, &member_input("Hà Thị Ky", "Thái", "Bản Chai"))
        .unwrap();
    let consent = f2.store.add_consent(&consent_input(&ky.id)).unwrap();
    let referral = f2
        .store
        .create_referral(&referral_input(&ky.id, Some(&consent.id)))
        .unwrap();
    let draft2 = snapshot(&f2.path, "referrals", &referral.id);
    f2.store
        .withdraw_referral(&referral.id, "Chị không muốn nữa")
        .unwrap();
    put_back(&f2.path, "referrals", &draft2);
    f2.reopen();
    assert!(matches!(
        f2.store.referral(&referral.id),
        Err(Error::Integrity { .. })
    ));
    assert!(f2.store.referrals_for(&ky.id).unwrap().is_empty());
    verify_names(&f2, RecordKind::Referral, &referral.id, DamageReason::Stale);
    drop(draft);
}

#[test]
fn an_erasure_undone_from_an_older_copy_is_refused_and_reported() {
    let mut f = Fixture::new();
    let club = f.store.add_club(&club_input()).unwrap();
    let hoa = f
        .store
        .add_member(&club.id, &member_input("Vi Thị Hoa", "Thái", "Bản Chai"))
        .unwrap();
    let mai = f
        .store
        .add_member(&club.id, &member_input("Lò Thị Mai", "Thái", "Bản Chai"))
        .unwrap();
    let consent = f.store.add_consent(&consent_input(&hoa.id)).unwrap();
    let member_row = snapshot(&f.path, "members", &hoa.id);
    let consent_row = snapshot(&f.path, "consents", &consent.id);
    let key_row: (String, Vec<u8>) = rusqlite::Connection::open(&f.path)
        .unwrap()
        .query_row(
            "SELECT member_id, wrapped_key FROM member_keys WHERE member_id = ?1",
            [&hoa.id],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    f.store.erase_member(&hoa.id).unwrap();
    // Her key, her record and her consent are put back from a copy taken before.
    rusqlite::Connection::open(&f.path)
        .unwrap()
        .execute(
            "INSERT INTO member_keys (member_id, wrapped_key) VALUES (?1, ?2)",
            rusqlite::params![key_row.0, key_row.1],
        )
        .unwrap();
    put_back(&f.path, "members", &member_row);
    put_back(&f.path, "consents", &consent_row);
    f.reopen();
    let listed: Vec<String> = f
        .store
        .list_members(&club.id)
        .unwrap()
        .into_iter()
        .map(|m| m.id)
        .collect();
    assert_eq!(listed, vec![mai.id.clone()]);
    assert!(matches!(
        f.store.member(&hoa.id),
        Err(Error::Integrity { .. })
    ));
    assert_eq!(
        damaged(&f, RecordKind::Member, &hoa.id),
        vec![DamageReason::Deleted]
    );
    assert!(f.store.consents_for(&hoa.id).unwrap().is_empty());
    let findings = f
        .store
        .audit_findings(&OverdueThresholds::default())
        .unwrap();
    let mut found: Vec<(RecordKind, DamageReason)> = findings
        .damaged_records
        .iter()
        .map(|d| (d.kind, d.reason))
        .collect();
    found.sort_by_key(|(k, _)| k.as_str());
    assert_eq!(
        found,
        vec![
            (RecordKind::Consent, DamageReason::Deleted),
            (RecordKind::Member, DamageReason::Deleted),
            (RecordKind::MemberKey, DamageReason::Deleted),
        ]
    );
    assert!(matches!(
        f.store.verify_audit(),
        Err(Error::AuditBroken(ChainBreak::Record { .. }))
    ));
}

struct Pristine {
    f: Fixture,
    /// (table, id, an older version of the row where the record was changed since)
    rows: Vec<(&'static str, String, Option<Vec<rusqlite::types::Value>>)>,
    copy: tempfile::TempDir,
}

/// A club's records with two of each kind, some changed since they were made; the file is kept
/// so that every trial starts from the same bytes.
fn pristine() -> Pristine {
    let mut f = Fixture::new();
    let mut rows = Vec::new();
    let club = f.store.add_club(&club_input()).unwrap();
    let mut other = club_input();
    other.name = "CLB gia đình 5 có 3 sạch bản Ón".into();
    let club2 = f.store.add_club(&other).unwrap();
    let old_club = snapshot(&f.path, "clubs", &club2.id);
    other.village = Some("Bản Ón".into());
    f.store.update_club(&club2.id, &other).unwrap();
    rows.push(("clubs", club.id.clone(), None));
    rows.push(("clubs", club2.id.clone(), Some(old_club)));

    let hoa = f
        .store
        .add_member(&club.id, &member_input("Vi Thị Hoa", "Thái", "Bản Chai"))
        .unwrap();
    let ky = f
        .store
        .add_member(&club.id, &member_input("Hà Thị Ky", "Mường", "Bản Ón"))
        .unwrap();
    let old_ky = snapshot(&f.path, "members", &ky.id);
    let mut edit = member_input("Hà Thị Ky", "Mường", "Bản Ón");
    edit.safe_to_contact = false;
    f.store.update_member(&ky.id, &edit).unwrap();
    rows.push(("members", hoa.id.clone(), None));
    rows.push(("members", ky.id.clone(), Some(old_ky)));

    let c1 = f.store.add_consent(&consent_input(&hoa.id)).unwrap();
    let c2 = f.store.add_consent(&consent_input(&ky.id)).unwrap();
    let old_c2 = snapshot(&f.path, "consents", &c2.id);
    f.store.withdraw_consent(&c2.id, today()).unwrap();
    rows.push(("consents", c1.id.clone(), None));
    rows.push(("consents", c2.id.clone(), Some(old_c2)));

    let m1 = f
        .store
        .record_meeting(&meeting_input(&club.id, vec![hoa.id.clone()]))
        .unwrap();
    let mut later = meeting_input(&club.id, vec![]);
    later.date = days_ago(3);
    let m2 = f.store.record_meeting(&later).unwrap();
    let old_m2 = snapshot(&f.path, "meetings", &m2.id);
    later.attendees = vec![hoa.id.clone(), ky.id.clone()];
    f.store.update_meeting(&m2.id, &later).unwrap();
    rows.push(("meetings", m1.id.clone(), None));
    rows.push(("meetings", m2.id.clone(), Some(old_m2)));

    let r1 = f
        .store
        .create_referral(&referral_input(&hoa.id, Some(&c1.id)))
        .unwrap();
    let r2 = f
        .store
        .create_referral(&referral_input(&hoa.id, Some(&c1.id)))
        .unwrap();
    let old_r2 = snapshot(&f.path, "referrals", &r2.id);
    f.store.mark_referral_ready(&r2.id).unwrap();
    rows.push(("referrals", r1.id.clone(), None));
    rows.push(("referrals", r2.id.clone(), Some(old_r2)));

    let support = |member: &str| LivelihoodInput {
        member_id: member.into(),
        kind: LivelihoodKind::Livestock,
        date: days_ago(30),
        amount_vnd: Some(3_000_000),
        quantity: Some(2),
        unit: Some("con lợn".into()),
        note: "Lợn giống".into(),
    };
    let l1 = f.store.add_livelihood(&support(&hoa.id)).unwrap();
    let l2 = f.store.add_livelihood(&support(&ky.id)).unwrap();
    let old_l2 = snapshot(&f.path, "livelihood", &l2.id);
    f.store
        .add_livelihood_follow_up(
            &l2.id,
            &SupportFollowUp {
                date: today(),
                outcome: Outcome::EarningIncome,
                note: "Lợn khỏe".into(),
            },
        )
        .unwrap();
    rows.push(("livelihood", l1.id.clone(), None));
    rows.push(("livelihood", l2.id.clone(), Some(old_l2)));

    f.store.verify_audit().unwrap();
    f.store.lock();
    let copy = tempfile::tempdir().unwrap();
    std::fs::copy(&f.path, copy.path().join("club.db")).unwrap();
    Pristine { f, rows, copy }
}

impl Pristine {
    fn restore(&self) {
        for p in self.f.files() {
            std::fs::remove_file(p).unwrap();
        }
        std::fs::copy(self.copy.path().join("club.db"), &self.f.path).unwrap();
    }
}

type Trial = (String, Box<dyn Fn(&rusqlite::Connection)>);

fn exec(stmts: Vec<String>) -> Box<dyn Fn(&rusqlite::Connection)> {
    Box::new(move |c: &rusqlite::Connection| {
        for stmt in &stmts {
            c.execute_batch(stmt).unwrap();
        }
    })
}

#[test]
fn every_edit_swap_deletion_insertion_and_rollback_of_a_record_row_is_reported() {
    let mut p = pristine();
    let path = p.f.path.clone();
    let mut trials: Vec<Trial> = Vec::new();
    for table in TABLES {
        let ids: Vec<&(&str, String, Option<Vec<rusqlite::types::Value>>)> =
            p.rows.iter().filter(|r| r.0 == table).collect();
        let (a, b) = (ids[0].1.clone(), ids[1].1.clone());
        for at in [0usize, 5, 20, 40, 1000] {
            let (a, table) = (a.clone(), table.to_owned());
            trials.push((
                format!("{table}: byte {at} flipped"),
                Box::new(move |c: &rusqlite::Connection| {
                    let mut body: Vec<u8> = c
                        .query_row(
                            &format!("SELECT body FROM {table} WHERE id = ?1"),
                            [&a],
                            |r| r.get(0),
                        )
                        .unwrap();
                    let i = at.min(body.len() - 1);
                    body[i] ^= 0x01;
                    c.execute(
                        &format!("UPDATE {table} SET body = ?1 WHERE id = ?2"),
                        rusqlite::params![body, a],
                    )
                    .unwrap();
                }),
            ));
        }
        trials.push((
            format!("{table}: two bodies swapped"),
            exec(vec![
                format!("CREATE TEMP TABLE s AS SELECT id, body FROM {table} WHERE id IN ('{a}', '{b}')"),
                format!("UPDATE {table} SET body = (SELECT body FROM s WHERE id = '{b}') WHERE id = '{a}'"),
                format!("UPDATE {table} SET body = (SELECT body FROM s WHERE id = '{a}') WHERE id = '{b}'"),
            ]),
        ));
        let mut columns = vec!["created_at", "created_by", "updated_at", "updated_by"];
        match table {
            "members" | "meetings" => columns.push("club_id"),
            "consents" | "referrals" | "livelihood" => columns.push("member_id"),
            _ => {}
        }
        match table {
            "meetings" => columns.push("meeting_date"),
            "referrals" => columns.push("state"),
            _ => {}
        }
        for col in columns {
            trials.push((
                format!("{table}: {col} edited"),
                exec(vec![format!(
                    "UPDATE {table} SET {col} = CASE WHEN {col} = (SELECT {col} FROM {table} \
                     WHERE id = '{b}') THEN {col} || '0' ELSE (SELECT {col} FROM {table} \
                     WHERE id = '{b}') END WHERE id = '{a}'"
                )]),
            ));
        }
        trials.push((
            format!("{table}: version moved on"),
            exec(vec![format!(
                "UPDATE {table} SET version = version + 1 WHERE id = '{a}'"
            )]),
        ));
        trials.push((
            format!("{table}: version cleared"),
            exec(vec![format!(
                "UPDATE {table} SET version = 0 WHERE id = '{a}'"
            )]),
        ));
        trials.push((
            format!("{table}: row deleted"),
            exec(vec![format!("DELETE FROM {table} WHERE id = '{a}'")]),
        ));
        trials.push((
            format!("{table}: row copied under a new id"),
            exec(vec![
                format!("CREATE TEMP TABLE t AS SELECT * FROM {table} WHERE id = '{a}'"),
                "UPDATE t SET id = '00000000-0000-4000-8000-000000000001'".into(),
                format!("INSERT INTO {table} SELECT * FROM t"),
            ]),
        ));
        for (t, id, old) in &ids {
            if let Some(old) = old.clone() {
                let t = *t;
                trials.push((
                    format!("{t}: {id} put back as it was before its last change"),
                    Box::new(move |c: &rusqlite::Connection| {
                        let marks: Vec<String> = (1..=old.len()).map(|i| format!("?{i}")).collect();
                        c.execute(
                            &format!("INSERT OR REPLACE INTO {t} VALUES ({})", marks.join(", ")),
                            rusqlite::params_from_iter(old.iter()),
                        )
                        .unwrap();
                    }),
                ));
            }
        }
    }
    assert!(trials.len() > 90, "{}", trials.len());
    let mut silent = Vec::new();
    for (name, tamper) in &trials {
        p.restore();
        let conn = rusqlite::Connection::open(&path).unwrap();
        // The attacker's own SQLite does not enforce the store's foreign keys.
        conn.execute_batch("PRAGMA foreign_keys = OFF").unwrap();
        tamper(&conn);
        drop(conn);
        p.f.reopen();
        let verified = p.f.store.verify_audit();
        let findings =
            p.f.store
                .audit_findings(&OverdueThresholds::default())
                .unwrap();
        if verified.is_ok() || findings.damaged_records.is_empty() {
            silent.push(name.clone());
        }
    }
    assert!(
        silent.is_empty(),
        "{} of {} went unnoticed: {silent:#?}",
        silent.len(),
        trials.len()
    );
    // The untouched file verifies: the trials above do not fail for some other reason.
    p.restore();
    p.f.reopen();
    p.f.store.verify_audit().unwrap();
}

/// The one-time reseal after the upgrade notes records whose rows were already gone as deleted.
/// Someone who deletes rows and plants the flag that asks for it must not get their deletion
/// noted as legitimate: a store made by this version already says its rows carry versions.
#[test]
fn a_planted_reseal_flag_does_not_make_deleted_rows_look_legitimate() {
    let mut f = Fixture::new();
    let club = f.store.add_club(&club_input()).unwrap();
    let hoa = f
        .store
        .add_member(&club.id, &member_input("Vi Thị Hoa", "Thái", "Bản Chai"))
        .unwrap();
    let consent = f.store.add_consent(&consent_input(&hoa.id)).unwrap();
    f.store.lock();
    let conn = rusqlite::Connection::open(&f.path).unwrap();
    conn.execute_batch("PRAGMA foreign_keys = OFF").unwrap();
    conn.execute("DELETE FROM consents WHERE id = ?1", [&consent.id])
        .unwrap();
    conn.execute(
        "INSERT INTO meta (name, value) VALUES ('reseal_pending', x'01')",
        [],
    )
    .unwrap();
    drop(conn);
    f.reopen();
    verify_names(&f, RecordKind::Consent, &consent.id, DamageReason::Missing);
    assert!(
        !f.store
            .audit_entries()
            .unwrap()
            .iter()
            .any(|e| e.fields.iter().any(|x| x == "absent_at_upgrade"))
    );
}
