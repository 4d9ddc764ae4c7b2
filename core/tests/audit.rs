//! Roles and the tamper-evident audit trail (scenario 3: the field visit).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use chungtay_core::access::{ALL_PERMISSIONS, allowed};
use chungtay_core::*;
use common::*;

const DEPUTY_PIN: &str = "853190";
const AUDITOR_PIN: &str = "hoa sen nở";

struct Club3 {
    f: Fixture,
    club: Club,
    member: Member,
    meeting: Meeting,
    referral: Referral,
    deputy: UserInfo,
    auditor: UserInfo,
}

fn setup() -> Club3 {
    let mut f = Fixture::new();
    let club = f.store.add_club(&club_input()).unwrap();
    let member = f
        .store
        .add_member(&club.id, &member_input("Vi Thị Hoa", "Thái", "Bản Chai"))
        .unwrap();
    let meeting = f
        .store
        .record_meeting(&meeting_input(&club.id, vec![member.id.clone()]))
        .unwrap();
    let consent = f.store.add_consent(&consent_input(&member.id)).unwrap();
    let referral = f
        .store
        .create_referral(&referral_input(&member.id, Some(&consent.id)))
        .unwrap();
    let deputy = f
        .store
        .add_user(
            PIN,
            NewUser::new("Phạm Thị Lan", UserRole::Deputy, DEPUTY_PIN),
            KdfParams::MIN,
        )
        .unwrap();
    let auditor = f
        .store
        .add_user(
            PIN,
            NewUser::new("Cán bộ Hội tỉnh", UserRole::Auditor, AUDITOR_PIN),
            KdfParams::MIN,
        )
        .unwrap();
    Club3 {
        f,
        club,
        member,
        meeting,
        referral,
        deputy,
        auditor,
    }
}

impl Club3 {
    fn login(&mut self, role: UserRole) {
        let (id, pin) = match role {
            UserRole::Leader => (self.f.leader_id(), PIN),
            UserRole::Deputy => (self.deputy.id.clone(), DEPUTY_PIN),
            UserRole::Auditor => (self.auditor.id.clone(), AUDITOR_PIN),
        };
        self.f.store.lock();
        self.f.store.unlock(&id, pin).unwrap();
    }

    fn entries(&self) -> Vec<AuditEntry> {
        let mut reader = Store::open(&self.f.path, self.f.device.clone()).unwrap();
        reader.unlock(&self.f.leader_id(), PIN).unwrap();
        reader.audit_entries().unwrap()
    }
}

/// Runs the operation that needs `permission`, as the unlocked user.
fn attempt(s: &mut Club3, permission: Permission) -> Result<()> {
    let store = &mut s.f.store;
    match permission {
        Permission::ReadRecords => store.meeting(&s.meeting.id).map(drop),
        Permission::ReadSurvivorStatus => {
            let status = store.member(&s.member.id)?.info.survivor_status;
            if status == SurvivorStatus::Withheld {
                Err(Error::Forbidden(Permission::ReadSurvivorStatus))
            } else {
                Ok(())
            }
        }
        Permission::WriteRecords => store.update_club(&s.club.id, &club_input()).map(drop),
        Permission::ManageUsers => store
            .add_user(
                PIN,
                NewUser::new("Người mới", UserRole::Deputy, "592817"),
                KdfParams::MIN,
            )
            .map(drop),
        Permission::Annotate => store
            .annotate(RecordKind::Member, &s.member.id, "Đã đối chiếu sổ giấy")
            .map(drop),
        Permission::ReadAudit => store.verify_audit().map(drop),
        Permission::ExportAudit => store.export_audit().map(drop),
        Permission::Sync => store.create_checkpoint().map(drop),
        Permission::Safety => store.set_wipe_after(12),
    }
}

#[test]
fn each_role_is_allowed_or_refused_each_operation_as_the_matrix_says() {
    let mut s = setup();
    for role in [UserRole::Leader, UserRole::Deputy, UserRole::Auditor] {
        s.login(role);
        for permission in ALL_PERMISSIONS {
            let result = attempt(&mut s, permission);
            if allowed(role, permission) {
                assert!(result.is_ok(), "{role:?} {permission:?}: {result:?}");
            } else {
                assert!(
                    matches!(result, Err(Error::Forbidden(p)) if p == permission),
                    "{role:?} {permission:?} should be refused, got {result:?}"
                );
            }
            assert_eq!(s.f.store.may(permission), allowed(role, permission));
        }
    }
    // Each write is refused to the auditor before anything is stored.
    s.login(UserRole::Auditor);
    let before = s.f.store.list_members(&s.club.id).unwrap().len();
    assert!(matches!(
        s.f.store
            .add_member(&s.club.id, &member_input("Lò Thị Xuân", "Thái", "Bản Ón")),
        Err(Error::Forbidden(Permission::WriteRecords))
    ));
    assert!(matches!(
        s.f.store.mark_referral_ready(&s.referral.id),
        Err(Error::Forbidden(Permission::WriteRecords))
    ));
    assert_eq!(s.f.store.list_members(&s.club.id).unwrap().len(), before);
}

#[test]
fn the_deputy_records_survivor_status_but_never_reads_it() {
    let mut s = setup();
    s.login(UserRole::Deputy);
    let seen = s.f.store.member(&s.member.id).unwrap();
    assert_eq!(seen.info.survivor_status, SurvivorStatus::Withheld);
    assert_eq!(
        s.f.store
            .member_detail(&s.member.id)
            .unwrap()
            .member
            .info
            .survivor_status,
        SurvivorStatus::Withheld
    );
    // Saving the form back keeps what is stored.
    let mut edit = seen.info.clone();
    edit.village = "Bản Ón".into();
    s.f.store.update_member(&s.member.id, &edit).unwrap();
    // A new member needs a real answer, not "withheld".
    let mut new = member_input("Lò Thị Xuân", "Thái", "Bản Ón");
    new.survivor_status = SurvivorStatus::Withheld;
    assert!(matches!(
        s.f.store.add_member(&s.club.id, &new),
        Err(Error::Invalid(ValidationError {
            field: "survivor_status",
            ..
        }))
    ));
    s.login(UserRole::Leader);
    let kept = s.f.store.member(&s.member.id).unwrap();
    assert_eq!(kept.info.survivor_status, SurvivorStatus::Returnee);
    assert_eq!(kept.info.village, "Bản Ón");
}

/// What `member()` shows this role: no status without `ReadSurvivorStatus`, no phone for someone
/// who must not be contacted.
fn assert_masked(store: &Store, shown: &Member, what: &str) {
    let withheld = shown.info.survivor_status == SurvivorStatus::Withheld;
    assert_eq!(
        withheld,
        !store.may(Permission::ReadSurvivorStatus),
        "{what}: survivor status"
    );
    if !shown.info.safe_to_contact {
        assert_eq!(
            shown.info.phone, None,
            "{what}: phone of a do-not-contact member"
        );
    }
}

/// Every call that hands back a member, consent, support record or referral shows it as the
/// read call shows it to the same role: a write must not return what a read would withhold.
#[test]
fn every_call_that_returns_a_record_shows_it_as_the_read_does() {
    let mut s = setup();
    let mut hidden = member_input("Hà Thị Ơn", "Mông", "Bản Ón");
    hidden.safe_to_contact = false;
    hidden.phone = Some("0987 111 222".into());
    hidden.survivor_status = SurvivorStatus::Survivor;
    let hidden = s.f.store.add_member(&s.club.id, &hidden).unwrap();
    for role in [UserRole::Leader, UserRole::Deputy, UserRole::Auditor] {
        s.login(role);
        let club_id = s.club.id.clone();
        let st = &mut s.f.store;
        let tag = |call: &str| format!("{role:?} {call}");
        for id in [&s.member.id, &hidden.id] {
            let shown = st.member(id).unwrap();
            assert_masked(st, &shown, &tag("member"));
            let detail = st.member_detail(id).unwrap();
            assert_eq!(detail.member, shown, "{}", tag("member_detail"));
            for c in &detail.consents {
                assert_eq!(*c, st.consent(&c.id).unwrap(), "{}", tag("consents"));
            }
            for r in &detail.referrals {
                assert_eq!(*r, st.referral(&r.id).unwrap(), "{}", tag("referrals"));
            }
            assert_eq!(detail.consents, st.consents_for(id).unwrap());
            assert_eq!(detail.livelihood, st.livelihood_for(id).unwrap());
            assert_eq!(detail.referrals, st.referrals_for(id).unwrap());
        }
        for summary in st.list_members(&club_id).unwrap() {
            if !summary.safe_to_contact {
                assert_eq!(summary.phone, None, "{}", tag("list_members"));
            }
        }
        if !st.may(Permission::WriteRecords) {
            let refused = |r: Result<()>| matches!(r, Err(Error::Forbidden(_)));
            assert!(refused(
                st.add_member(&club_id, &member_input("Lò Thị Xuân", "Thái", "Bản Ón"))
                    .map(drop)
            ));
            assert!(refused(
                st.update_member(&hidden.id, &hidden.info).map(drop)
            ));
            assert!(refused(
                st.add_consent(&consent_input(&hidden.id)).map(drop)
            ));
            assert!(refused(
                st.create_referral(&referral_input(&hidden.id, None))
                    .map(drop)
            ));
            assert!(refused(st.withdraw_referral(&s.referral.id, "").map(drop)));
            continue;
        }
        // A new member who must not be contacted, with her status.
        let mut new = member_input("Lò Thị Xuân", "Thái", "Bản Ón");
        new.survivor_status = SurvivorStatus::Survivor;
        new.safe_to_contact = false;
        new.phone = Some("0977 333 444".into());
        let added = st.add_member(&club_id, &new).unwrap();
        assert_masked(st, &added, &tag("add_member"));
        assert_eq!(
            added,
            st.member(&added.id).unwrap(),
            "{}",
            tag("add_member")
        );
        // The form sent back as it was shown (status withheld or not, phone hidden).
        let mut form = st.member(&hidden.id).unwrap().info;
        form.village = format!("Bản {role:?}");
        let updated = st.update_member(&hidden.id, &form).unwrap();
        assert_masked(st, &updated, &tag("update_member"));
        assert_eq!(
            updated,
            st.member(&hidden.id).unwrap(),
            "{}",
            tag("update_member")
        );
        // Her consent, support and referral, each as its read shows it.
        let consent = st.add_consent(&consent_input(&hidden.id)).unwrap();
        assert_eq!(
            consent,
            st.consent(&consent.id).unwrap(),
            "{}",
            tag("add_consent")
        );
        let support = st
            .add_livelihood(&LivelihoodInput {
                member_id: hidden.id.clone(),
                kind: LivelihoodKind::Livestock,
                date: days_ago(2),
                amount_vnd: None,
                quantity: Some(2),
                unit: Some("con dê".into()),
                note: "Nuôi dê".into(),
            })
            .unwrap();
        let read_support = |st: &Store, id: &str| {
            st.livelihood_for(&hidden.id)
                .unwrap()
                .into_iter()
                .find(|l| l.id == id)
                .unwrap()
        };
        assert_eq!(
            support,
            read_support(st, &support.id),
            "{}",
            tag("add_livelihood")
        );
        let support = st
            .add_livelihood_follow_up(
                &support.id,
                &SupportFollowUp {
                    date: days_ago(1),
                    outcome: Outcome::StillWorking,
                    note: "Dê khỏe".into(),
                },
            )
            .unwrap();
        assert_eq!(
            support,
            read_support(st, &support.id),
            "{}",
            tag("follow_up")
        );
        let referral = st
            .create_referral(&referral_input(&hidden.id, Some(&consent.id)))
            .unwrap();
        assert_eq!(
            referral,
            st.referral(&referral.id).unwrap(),
            "{}",
            tag("create_referral")
        );
        let mut edit = referral.info.clone();
        edit.urgency = Urgency::Urgent;
        let referral = st.update_referral(&referral.id, &edit).unwrap();
        assert_eq!(
            referral,
            st.referral(&referral.id).unwrap(),
            "{}",
            tag("update_referral")
        );
        let referral = st.mark_referral_ready(&referral.id).unwrap();
        assert_eq!(
            referral,
            st.referral(&referral.id).unwrap(),
            "{}",
            tag("mark_ready")
        );
        let consent = st.withdraw_consent(&consent.id, today()).unwrap();
        assert_eq!(
            consent,
            st.consent(&consent.id).unwrap(),
            "{}",
            tag("withdraw_consent")
        );
        let other = st
            .create_referral(&referral_input(&hidden.id, None))
            .unwrap();
        let other = st.withdraw_referral(&other.id, "").unwrap();
        assert_eq!(
            other,
            st.referral(&other.id).unwrap(),
            "{}",
            tag("withdraw_referral")
        );
    }
}

#[test]
fn changes_unlocks_and_sensitive_reads_are_in_the_trail_without_values() {
    let mut s = setup();
    s.f.store.lock();
    let leader = s.f.leader_id();
    assert!(s.f.store.unlock(&leader, "000000").is_err());
    s.f.store.unlock(&s.deputy.id, DEPUTY_PIN).unwrap();
    let mut edit = s.member.info.clone();
    edit.village = "Bản Phiêng Khoòng".into();
    edit.phone = Some("0987 000 111".into());
    s.f.store.update_member(&s.member.id, &edit).unwrap();
    s.f.store.member(&s.member.id).unwrap();
    s.f.store.meeting(&s.meeting.id).unwrap();
    s.f.store.referral(&s.referral.id).unwrap();
    // Her whole screen, and every meeting of the club with its notes, are reads too.
    s.f.store.member_detail(&s.member.id).unwrap();
    s.f.store.meetings(&s.club.id).unwrap();
    // Lists of names are not sensitive reads.
    s.f.store.list_members(&s.club.id).unwrap();

    let entries = s.entries();
    let find = |action: AuditAction, kind: Option<RecordKind>, id: &str| {
        entries
            .iter()
            .filter(|e| e.action == action && e.kind == kind && e.record_id == id)
            .collect::<Vec<_>>()
    };
    // Creates of every record made in setup, by the leader.
    for (kind, id) in [
        (RecordKind::Club, &s.club.id),
        (RecordKind::Member, &s.member.id),
        (RecordKind::Meeting, &s.meeting.id),
        (RecordKind::Referral, &s.referral.id),
    ] {
        let created = find(AuditAction::Create, Some(kind), id);
        assert_eq!(created.len(), 1, "{kind:?}");
        assert_eq!(created[0].user_id, leader);
        assert_eq!(created[0].role, Some(UserRole::Leader));
    }
    assert_eq!(
        find(AuditAction::UserAdd, Some(RecordKind::User), &s.deputy.id).len(),
        1
    );
    // The failed unlock joined the chain at the next unlock, before it.
    let failed = entries
        .iter()
        .position(|e| e.action == AuditAction::UnlockFailed && e.user_id == leader)
        .unwrap();
    let unlocked = entries
        .iter()
        .position(|e| e.action == AuditAction::Unlock && e.user_id == s.deputy.id)
        .unwrap();
    assert!(failed < unlocked);
    // The update names the fields, by the deputy.
    let update = find(AuditAction::Update, Some(RecordKind::Member), &s.member.id);
    assert_eq!(update.len(), 1);
    assert_eq!(update[0].fields, vec!["phone", "village"]);
    assert_eq!(update[0].user_id, s.deputy.id);
    assert_eq!(update[0].role, Some(UserRole::Deputy));
    // Sensitive reads.
    let member_reads = find(AuditAction::Read, Some(RecordKind::Member), &s.member.id);
    assert_eq!(member_reads.len(), 2);
    assert_eq!(
        member_reads[1].fields,
        vec!["consents", "livelihood", "referrals"]
    );
    let meeting_lists = find(AuditAction::Read, Some(RecordKind::Club), &s.club.id);
    assert_eq!(meeting_lists.len(), 1);
    assert_eq!(meeting_lists[0].fields, vec!["meetings"]);
    assert_eq!(meeting_lists[0].user_id, s.deputy.id);
    assert_eq!(
        find(AuditAction::Read, Some(RecordKind::Meeting), &s.meeting.id).len(),
        1
    );
    assert_eq!(
        find(
            AuditAction::Read,
            Some(RecordKind::Referral),
            &s.referral.id
        )
        .len(),
        1
    );
    // Every entry names the device.
    let device = s.f.store.device_id().unwrap();
    assert!(entries.iter().all(|e| e.device_id == device));

    // No value in the log: neither the audit rows nor any byte of the files.
    drop(s.f.store);
    let conn = rusqlite::Connection::open(&s.f.path).unwrap();
    let log: String = conn
        .query_row(
            "SELECT group_concat(at || user_id || role || action || kind || record_id || fields) \
             FROM audit_log",
            [],
            |r| r.get(0),
        )
        .unwrap();
    // Whole values only: a short digit run like "0987" can occur in a random id by chance.
    for value in [
        "Phiêng",
        "0987 000 111",
        "Bản Chai",
        "Vi Thị Hoa",
        "Returnee",
        "Nhận diện",
    ] {
        assert!(!log.contains(value), "{value} in the audit log");
    }
    drop(conn);
    for path in std::fs::read_dir(s.f.dir.path()).unwrap() {
        let bytes = std::fs::read(path.unwrap().path()).unwrap();
        for value in ["Phiêng Khoòng", "0987 000 111"] {
            assert!(!bytes.windows(value.len()).any(|w| w == value.as_bytes()));
        }
    }
}

/// Each way of tampering with the stored log is caught by verify().
#[test]
fn edits_deletions_insertions_reorders_and_truncation_in_the_file_are_caught() {
    let cases: &[(&str, &[&str])] = &[
        (
            "edit who",
            &["UPDATE audit_log SET user_id = 'someone' WHERE seq = 3"],
        ),
        (
            "edit what: another entry's sealed field names",
            &["UPDATE audit_log SET fields_sealed = \
               (SELECT fields_sealed FROM audit_log WHERE seq = 1) WHERE action = 'update'"],
        ),
        (
            "edit what: plain field names instead of the sealed ones",
            &[
                "UPDATE audit_log SET fields_sealed = NULL, fields = 'name' \
               WHERE action = 'update'",
            ],
        ),
        (
            "edit when",
            &["UPDATE audit_log SET at = '2020-01-01T00:00:00.000000Z' WHERE seq = 2"],
        ),
        ("delete", &["DELETE FROM audit_log WHERE seq = 4"]),
        (
            "insert",
            &[
                "INSERT INTO audit_log SELECT seq + 1000, at, user_id, role, device_id, 'delete', \
               kind, record_id, fields, mac, fields_sealed FROM audit_log WHERE seq = 5",
                "UPDATE audit_log SET seq = seq - 994 WHERE seq > 1000",
            ],
        ),
        (
            "reorder",
            &[
                "UPDATE audit_log SET seq = -1 WHERE seq = 2",
                "UPDATE audit_log SET seq = 2 WHERE seq = 3",
                "UPDATE audit_log SET seq = 3 WHERE seq = -1",
            ],
        ),
        (
            "truncate tail",
            &["DELETE FROM audit_log WHERE seq > (SELECT max(seq) - 3 FROM audit_log)"],
        ),
        ("truncate all", &["DELETE FROM audit_log"]),
        (
            "delete the whole trail",
            &[
                "DELETE FROM audit_log",
                "DELETE FROM meta WHERE name = 'audit_head'",
                "DELETE FROM audit_checkpoints",
            ],
        ),
        (
            "forge head",
            &["UPDATE meta SET value = zeroblob(72) WHERE name = 'audit_head'"],
        ),
    ];
    for (name, sql) in cases {
        let mut s = setup();
        let mut edit = s.member.info.clone();
        edit.village = "Bản Ón".into();
        s.f.store.update_member(&s.member.id, &edit).unwrap();
        let intact = s.f.store.verify_audit().unwrap();
        assert!(intact >= 8, "{intact}");
        let conn = rusqlite::Connection::open(&s.f.path).unwrap();
        for stmt in *sql {
            conn.execute(stmt, []).unwrap();
        }
        drop(conn);
        assert!(
            matches!(s.f.store.verify_audit(), Err(Error::AuditBroken(_))),
            "{name} went unnoticed"
        );
        let findings =
            s.f.store
                .audit_findings(&OverdueThresholds::default())
                .unwrap();
        assert!(findings.chain_break.is_some(), "{name}");
    }
}

#[test]
fn an_unlock_the_trail_cannot_record_leaves_the_store_locked() {
    let mut s = setup();
    let leader = s.f.leader_id();
    s.f.store.lock();
    let conn = rusqlite::Connection::open(&s.f.path).unwrap();
    conn.execute(
        "UPDATE meta SET value = zeroblob(72) WHERE name = 'audit_head'",
        [],
    )
    .unwrap();
    drop(conn);
    assert!(s.f.store.unlock(&leader, PIN).is_err());
    assert!(!s.f.store.is_unlocked());
    assert!(matches!(s.f.store.clubs(), Err(Error::Locked)));
}

#[test]
fn a_failed_unlock_planted_in_the_file_is_marked_unverified_and_cannot_be_backdated() {
    let mut s = setup();
    let leader = s.f.leader_id();
    let deputy = s.deputy.id.clone();
    s.f.store.lock();
    // Someone with the file "notes" that the deputy guessed PINs in 2001.
    let conn = rusqlite::Connection::open(&s.f.path).unwrap();
    conn.execute(
        "INSERT INTO audit_pending (at, user_id, action) \
         VALUES ('2001-01-01T02:00:00.000000Z', ?1, 'unlock_failed')",
        [&deputy],
    )
    .unwrap();
    drop(conn);
    // And a real wrong PIN from the leader.
    assert!(matches!(
        s.f.store.unlock(&leader, "000000"),
        Err(Error::WrongPin)
    ));
    s.f.store.unlock(&leader, PIN).unwrap();
    s.f.store.verify_audit().unwrap();
    let entries = s.f.store.audit_entries().unwrap();
    let failed: Vec<&AuditEntry> = entries
        .iter()
        .filter(|e| e.action == AuditAction::UnlockFailed)
        .collect();
    assert_eq!(failed.len(), 2);
    // Neither can be vouched for by the trail, and the planted one is not dated 2001.
    for e in &failed {
        assert!(
            e.fields.contains(&"unverified".to_owned()),
            "{:?}",
            e.fields
        );
    }
    let planted = failed.iter().find(|e| e.user_id == deputy).unwrap();
    assert!(planted.at.format("%Y").to_string() != "2001");
    assert!(planted.fields.contains(&"clock_set_back".to_owned()));
    // Times in the trail never go backwards.
    assert!(entries.windows(2).all(|w| w[0].at <= w[1].at));
}

#[test]
fn a_device_key_replaced_in_the_file_is_caught_not_trusted() {
    let mut s = setup();
    let genuine = s.f.store.device_public_key().unwrap();
    let forger = ring::signature::Ed25519KeyPair::from_pkcs8(
        ring::signature::Ed25519KeyPair::generate_pkcs8(&ring::rand::SystemRandom::new())
            .unwrap()
            .as_ref(),
    )
    .unwrap();
    let conn = rusqlite::Connection::open(&s.f.path).unwrap();
    conn.execute(
        "UPDATE meta SET value = ?1 WHERE name = 'device_public_key'",
        [ring::signature::KeyPair::public_key(&forger).as_ref()],
    )
    .unwrap();
    drop(conn);
    assert!(matches!(
        s.f.store.device_public_key(),
        Err(Error::Integrity {
            kind: RecordKind::DeviceKey,
            ..
        })
    ));
    assert!(s.f.store.verify_audit().is_err());
    assert_ne!(
        genuine,
        ring::signature::KeyPair::public_key(&forger).as_ref()
    );
    s.f.store.lock();
    // Locked, the key is not given out at all (only the sealed key can vouch for it).
    assert!(matches!(s.f.store.device_public_key(), Err(Error::Locked)));
}

#[test]
fn signed_checkpoints_catch_a_log_rolled_back_after_a_sync() {
    let mut s = setup();
    let head_before = |path: &std::path::Path| -> Vec<u8> {
        let conn = rusqlite::Connection::open(path).unwrap();
        conn.query_row(
            "SELECT value FROM meta WHERE name = 'audit_head'",
            [],
            |r| r.get(0),
        )
        .unwrap()
    };
    // An old copy of the head, as a backup of the file would hold it.
    let old_head = head_before(&s.f.path);
    let cp = s.f.store.create_checkpoint().unwrap();
    let public = s.f.store.device_public_key().unwrap();
    assert!(cp.verify(&public));
    assert_eq!(cp.device_id, s.f.store.device_id().unwrap());
    let mut forged = cp.clone();
    forged.seq -= 1;
    assert!(!forged.verify(&public));
    let mut forged = cp.clone();
    forged.head[0] ^= 1;
    assert!(!forged.verify(&public));
    // Moving a byte from the time into the head keeps the signed bytes: refused all the same.
    let mut forged = cp.clone();
    forged.head.push(forged.at.as_bytes()[0]);
    forged.at.remove(0);
    assert!(!forged.verify(&public));
    // Work goes on after the sync.
    let later = s.f.store.add_club(&club_input()).unwrap();
    s.f.store.verify_audit().unwrap();
    // Someone cuts the log back to before the checkpoint and puts back the old head, so that
    // the chain and its head agree again: the kept, signed checkpoint gives it away.
    let conn = rusqlite::Connection::open(&s.f.path).unwrap();
    conn.execute("DELETE FROM audit_log WHERE seq >= ?1", [cp.seq])
        .unwrap();
    conn.execute(
        "UPDATE meta SET value = ?1 WHERE name = 'audit_head'",
        [&old_head],
    )
    .unwrap();
    drop(conn);
    assert!(matches!(
        s.f.store.verify_audit(),
        Err(Error::AuditBroken(ChainBreak::Truncated { .. }))
    ));
    // Without the checkpoint row too, the club written after it still gives the cut away:
    // its row names an entry the trail no longer has.
    let conn = rusqlite::Connection::open(&s.f.path).unwrap();
    conn.execute("DELETE FROM audit_checkpoints", []).unwrap();
    drop(conn);
    match s.f.store.verify_audit() {
        Err(Error::AuditBroken(ChainBreak::Record { kind, id, reason })) => {
            assert_eq!(
                (kind, id, reason),
                (RecordKind::Club, later.id.clone(), DamageReason::Untracked)
            );
        }
        other => panic!("a row newer than the trail went unnoticed: {other:?}"),
    }
    // A whole older file (that row gone too): the phone alone cannot tell; the province's
    // copy can (it keeps every checkpoint it received; see server/).
    let conn = rusqlite::Connection::open(&s.f.path).unwrap();
    conn.execute("DELETE FROM clubs WHERE id = ?1", [&later.id])
        .unwrap();
    drop(conn);
    let last = s.f.store.verify_audit().unwrap();
    assert!(
        last < cp.seq,
        "the rolled-back log ends before the province's checkpoint"
    );
}

#[test]
fn the_field_visit_finds_late_edits_overdue_referrals_and_missing_consent() {
    let mut s = setup();
    let no_consent =
        s.f.store
            .add_member(&s.club.id, &member_input("Lò Thị Xuân", "Thái", "Bản Ón"))
            .unwrap();
    // A meeting from ten days ago, changed today by the deputy; and one with no attendance.
    let mut old = meeting_input(&s.club.id, vec![s.member.id.clone()]);
    old.date = days_ago(10);
    let old = s.f.store.record_meeting(&old).unwrap();
    let empty =
        s.f.store
            .record_meeting(&meeting_input(&s.club.id, vec![]))
            .unwrap();
    s.f.store.create_checkpoint().unwrap();
    s.login(UserRole::Deputy);
    let mut changed = old.info.clone();
    changed.guest_count = 9;
    s.f.store.update_meeting(&old.id, &changed).unwrap();

    s.login(UserRole::Auditor);
    let f =
        s.f.store
            .audit_findings(&OverdueThresholds::default())
            .unwrap();
    assert_eq!(f.chain_break, None);
    assert_eq!(f.members_without_consent, vec![no_consent.id.clone()]);
    assert_eq!(f.late_meeting_edits.len(), 1);
    let late = &f.late_meeting_edits[0];
    assert_eq!(late.meeting_id, old.id);
    assert_eq!(late.edited_by, s.deputy.id);
    assert!(late.days_after >= 9);
    assert!(
        f.meetings_without_attendance
            .iter()
            .any(|m| m.meeting_id == empty.id)
    );
    // Fresh referrals are not overdue with the default thresholds...
    assert!(f.overdue_referrals.is_empty());
    // ...and are with a province that expects drafts to move the same day.
    let strict = OverdueThresholds {
        draft_days: -1,
        ..OverdueThresholds::default()
    };
    let f2 = s.f.store.audit_findings(&strict).unwrap();
    assert_eq!(f2.overdue_referrals.len(), 1);
    assert_eq!(f2.overdue_referrals[0].referral_id, s.referral.id);
    assert_eq!(f2.overdue_referrals[0].state, ReferralState::Draft);
    // Changed since the checkpoint: the deputy's meeting edit.
    assert!(
        f.changed_since_checkpoint
            .iter()
            .any(|e| e.record_id == old.id
                && e.action == AuditAction::Update
                && e.user_id == s.deputy.id
                && e.fields == vec!["guest_count"])
    );
    assert!(
        !f.changed_since_checkpoint
            .iter()
            .any(|e| e.record_id == s.club.id)
    );
}

#[test]
fn auditor_annotations_are_sealed_and_noted() {
    let mut s = setup();
    s.login(UserRole::Auditor);
    let note =
        s.f.store
            .annotate(
                RecordKind::Meeting,
                &s.meeting.id,
                "Đã đối chiếu với sổ ghi chép giấy của bà Mai",
            )
            .unwrap();
    assert_eq!(note.stamp.created_by, s.auditor.id);
    s.login(UserRole::Leader);
    let notes =
        s.f.store
            .annotations(RecordKind::Meeting, &s.meeting.id)
            .unwrap();
    assert_eq!(notes, vec![note.clone()]);
    assert!(matches!(
        s.f.store.annotate(RecordKind::Meeting, &s.meeting.id, "x"),
        Err(Error::Forbidden(Permission::Annotate))
    ));
    let entries = s.entries();
    assert!(entries.iter().any(|e| e.action == AuditAction::Annotate
        && e.record_id == s.meeting.id
        && e.user_id == s.auditor.id
        && e.fields == vec![format!("annotation={}", note.id)]));
    s.f.store.verify_audit().unwrap();
    // Someone with the file deletes the inconvenient note: the trail notices.
    let conn = rusqlite::Connection::open(&s.f.path).unwrap();
    conn.execute("DELETE FROM annotations", []).unwrap();
    drop(conn);
    assert!(matches!(
        s.f.store.verify_audit(),
        Err(Error::AuditBroken(ChainBreak::AnnotationGone { .. }))
    ));
    drop(s.f.store);
    for path in std::fs::read_dir(s.f.dir.path()).unwrap() {
        let bytes = std::fs::read(path.unwrap().path()).unwrap();
        let needle = "sổ ghi chép giấy".as_bytes();
        assert!(!bytes.windows(needle.len()).any(|w| w == needle));
    }
}

#[test]
fn the_signed_export_verifies_offline_and_any_change_breaks_it() {
    let mut s = setup();
    s.login(UserRole::Auditor);
    let export = s.f.store.export_audit().unwrap();
    let public = s.f.store.device_public_key().unwrap();
    let doc = verify_export(&export.signed_json, &public).unwrap();
    assert!(doc.chain_verified);
    assert_eq!(doc.exported_by, s.auditor.id);
    assert_eq!(doc.entries.last().unwrap().action, "export");
    assert_eq!(doc.entries.len() + 1, export.csv.lines().count());
    assert!(
        export
            .csv
            .starts_with("seq,at,user_id,role,device_id,action,kind,record_id,fields")
    );

    // Another device's key, or one changed character, and it fails.
    let other = Fixture::new();
    let other_key = other.store.device_public_key().unwrap();
    assert_eq!(
        verify_export(&export.signed_json, &other_key),
        Err(trail::ExportError::WrongDevice)
    );
    let tampered = export
        .signed_json
        .replacen("\\\"update\\\"", "\\\"read\\\"", 1);
    let tampered = if tampered == export.signed_json {
        export
            .signed_json
            .replacen("\\\"create\\\"", "\\\"read\\\"", 1)
    } else {
        tampered
    };
    assert_ne!(tampered, export.signed_json);
    assert_eq!(
        verify_export(&tampered, &public),
        Err(trail::ExportError::BadSignature)
    );
    assert_eq!(
        verify_export("not json", &public),
        Err(trail::ExportError::Malformed)
    );
}

#[test]
fn an_annotation_on_a_record_that_does_not_exist_is_refused_and_writes_nothing() {
    let mut s = setup();
    s.login(UserRole::Auditor);
    let before = s.entries().len();
    let nobody = "0b6f4a8e-0000-4000-8000-000000000000";
    for kind in [
        RecordKind::Club,
        RecordKind::Member,
        RecordKind::Consent,
        RecordKind::Meeting,
        RecordKind::Livelihood,
        RecordKind::Referral,
        RecordKind::User,
        // Not records anyone annotates.
        RecordKind::MemberKey,
        RecordKind::Canary,
        RecordKind::Audit,
        RecordKind::DeviceKey,
        RecordKind::Annotation,
    ] {
        let refused = s.f.store.annotate(kind, nobody, "Không thấy hồ sơ giấy");
        assert!(
            matches!(&refused, Err(Error::NotFound { kind: k, id }) if *k == kind && id == nobody),
            "{kind:?}: {refused:?}"
        );
    }
    // An existing id under another kind is not that record either.
    assert!(matches!(
        s.f.store
            .annotate(RecordKind::Club, &s.member.id, "Không thấy hồ sơ giấy"),
        Err(Error::NotFound {
            kind: RecordKind::Club,
            ..
        })
    ));
    // Nothing was written: one more entry, the reader's own unlock.
    assert_eq!(s.entries().len(), before + 1);
    assert!(
        s.f.store
            .annotations(RecordKind::Member, nobody)
            .unwrap()
            .is_empty()
    );
    // Records that exist, users included, are annotated as before.
    for (kind, id) in [
        (RecordKind::Club, s.club.id.clone()),
        (RecordKind::Member, s.member.id.clone()),
        (RecordKind::Meeting, s.meeting.id.clone()),
        (RecordKind::Referral, s.referral.id.clone()),
        (RecordKind::User, s.deputy.id.clone()),
    ] {
        s.f.store.annotate(kind, &id, "Đã đối chiếu").unwrap();
        assert_eq!(s.f.store.annotations(kind, &id).unwrap().len(), 1);
    }
    s.f.store.verify_audit().unwrap();
}

#[test]
fn checkpoints_are_read_only_by_those_who_read_the_trail() {
    let mut s = setup();
    // The deputy syncs, so she signs checkpoints; she does not read the trail.
    s.login(UserRole::Deputy);
    let cp = s.f.store.create_checkpoint().unwrap();
    assert!(matches!(
        s.f.store.checkpoints(),
        Err(Error::Forbidden(Permission::ReadAudit))
    ));
    for role in [UserRole::Leader, UserRole::Auditor] {
        s.login(role);
        assert_eq!(s.f.store.checkpoints().unwrap(), vec![cp.clone()]);
        // Verification still checks every checkpoint (it reads them without asking).
        s.f.store.verify_audit().unwrap();
    }
}

#[test]
fn an_edit_writes_one_update_entry_and_no_read() {
    let mut s = setup();
    s.login(UserRole::Deputy);
    let before = s.entries().len();
    let member =
        s.f.store
            .edit_member(&s.member.id, |info| {
                // The deputy sees the status withheld; the edit keeps the stored one.
                assert_eq!(info.survivor_status, SurvivorStatus::Withheld);
                info.village = "Bản Ón".into();
                Ok::<_, Error>(())
            })
            .unwrap();
    assert_eq!(member.info.village, "Bản Ón");
    let meeting =
        s.f.store
            .edit_meeting(&s.meeting.id, |info| {
                info.guest_count += 2;
                Ok::<_, Error>(())
            })
            .unwrap();
    assert_eq!(meeting.info.guest_count, s.meeting.info.guest_count + 2);
    s.f.store
        .edit_referral(&s.referral.id, |info| {
            info.urgency = Urgency::Urgent;
            Ok::<_, Error>(())
        })
        .unwrap();
    let entries = s.entries();
    let written: Vec<(AuditAction, Option<RecordKind>, &str, &[String])> = entries[before..]
        .iter()
        .filter(|e| e.action != AuditAction::Unlock)
        .map(|e| (e.action, e.kind, e.record_id.as_str(), e.fields.as_slice()))
        .collect();
    assert_eq!(
        written,
        vec![
            (
                AuditAction::Update,
                Some(RecordKind::Member),
                s.member.id.as_str(),
                &["village".to_owned()][..]
            ),
            (
                AuditAction::Update,
                Some(RecordKind::Meeting),
                s.meeting.id.as_str(),
                &["guest_count".to_owned()][..]
            ),
            (
                AuditAction::Update,
                Some(RecordKind::Referral),
                s.referral.id.as_str(),
                &["info.urgency".to_owned()][..]
            ),
        ]
    );
    // The survivor status the deputy could not read is kept as stored.
    s.login(UserRole::Leader);
    assert_eq!(
        s.f.store.member(&s.member.id).unwrap().info.survivor_status,
        s.member.info.survivor_status
    );

    // An edit its caller gives up (a bad value) writes nothing, and is noted as the read it was.
    s.login(UserRole::Deputy);
    let before = s.entries().len();
    let refused = s.f.store.edit_member(&s.member.id, |info| {
        info.village = "Bản Phiêng".into();
        Err(Error::DoNotContact)
    });
    assert!(matches!(refused, Err(Error::DoNotContact)));
    let entries = s.entries();
    let written: Vec<(AuditAction, &str)> = entries[before..]
        .iter()
        .filter(|e| e.action != AuditAction::Unlock)
        .map(|e| (e.action, e.record_id.as_str()))
        .collect();
    assert_eq!(written, vec![(AuditAction::Read, s.member.id.as_str())]);
    assert_eq!(
        s.f.store.member(&s.member.id).unwrap().info.village,
        "Bản Ón"
    );
}

/// A member's consents, support and referrals read on their own are reads of her, each noted
/// with what it showed, as her whole screen is; a consent read by id is noted as itself.
#[test]
fn reading_a_members_consents_support_or_referrals_is_noted() {
    let mut s = setup();
    s.login(UserRole::Deputy);
    let member = s.member.id.clone();
    let consent = s.f.store.consents_for(&member).unwrap()[0].id.clone();
    s.f.store.livelihood_for(&member).unwrap();
    s.f.store.referrals_for(&member).unwrap();
    s.f.store.consent(&consent).unwrap();
    let reads: Vec<(Option<RecordKind>, String, Vec<String>)> = s
        .entries()
        .into_iter()
        .filter(|e| e.user_id == s.deputy.id && e.action == AuditAction::Read)
        .map(|e| (e.kind, e.record_id, e.fields))
        .collect();
    assert_eq!(
        reads,
        vec![
            (
                Some(RecordKind::Member),
                member.clone(),
                vec!["consents".to_owned()]
            ),
            (
                Some(RecordKind::Member),
                member.clone(),
                vec!["livelihood".to_owned()]
            ),
            (
                Some(RecordKind::Member),
                member.clone(),
                vec!["referrals".to_owned()]
            ),
            (Some(RecordKind::Consent), consent, vec![]),
        ]
    );
    // Her whole screen is still one entry.
    let reads = |s: &Club3| {
        s.entries()
            .iter()
            .filter(|e| e.action == AuditAction::Read)
            .count()
    };
    let before = reads(&s);
    s.f.store.member_detail(&member).unwrap();
    assert_eq!(reads(&s), before + 1);
}

/// An id typed at the unlock screen (or planted in the file) never brings the chain's field
/// separator into the trail, where it would let one field's text pass for the next's.
#[test]
fn a_failed_unlock_with_control_characters_in_its_id_enters_the_chain_without_them() {
    let mut s = setup();
    s.f.store.lock();
    let typed = format!("{}\u{1f}leader\u{1b}[2J", s.deputy.id);
    assert!(s.f.store.unlock(&typed, DEPUTY_PIN).is_err());
    let leader = s.f.leader_id();
    s.f.store.unlock(&leader, PIN).unwrap();
    let failed: Vec<AuditEntry> = s
        .entries()
        .into_iter()
        .filter(|e| e.action == AuditAction::UnlockFailed)
        .collect();
    assert_eq!(failed.len(), 1);
    assert!(
        !failed[0].user_id.chars().any(char::is_control),
        "{:?}",
        failed[0].user_id
    );
    assert!(failed[0].user_id.starts_with(&s.deputy.id));
    s.f.store.verify_audit().unwrap();
}
