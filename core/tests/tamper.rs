//! Tampering with the file: flipped bytes, swapped ciphertexts, edited plaintext columns.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use chungtay_core::*;
use common::*;

struct Setup {
    f: Fixture,
    club: Club,
    members: Vec<Member>,
    meeting: Meeting,
}

fn setup() -> Setup {
    let mut f = Fixture::new();
    let club = f.store.add_club(&club_input()).unwrap();
    let members: Vec<Member> = ["Vi Thị Hoa", "Lò Thị Mai", "Hà Thị Ơn"]
        .iter()
        .map(|n| {
            f.store
                .add_member(&club.id, &member_input(n, "Thái", "Bản Chai"))
                .unwrap()
        })
        .collect();
    let meeting = f
        .store
        .record_meeting(&meeting_input(&club.id, vec![members[0].id.clone()]))
        .unwrap();
    drop(f.store.add_consent(&consent_input(&members[0].id)).unwrap());
    Setup {
        f,
        club,
        members,
        meeting,
    }
}

fn edit(f: &Fixture, sql: &str, params: &[&dyn rusqlite::ToSql]) {
    let conn = rusqlite::Connection::open(&f.path).unwrap();
    assert_eq!(conn.execute(sql, params).unwrap(), 1);
}

fn body(f: &Fixture, table: &str, id: &str) -> Vec<u8> {
    let conn = rusqlite::Connection::open(&f.path).unwrap();
    conn.query_row(
        &format!("SELECT body FROM {table} WHERE id = ?1"),
        [id],
        |r| r.get(0),
    )
    .unwrap()
}

#[test]
fn any_flipped_byte_of_a_member_is_caught_and_names_the_record() {
    let mut s = setup();
    let victim = s.members[1].clone();
    let original = body(&s.f, "members", &victim.id);
    // Every byte position: header, nonce, ciphertext and tag.
    for i in 0..original.len() {
        let mut bad = original.clone();
        bad[i] ^= 0x20;
        edit(
            &s.f,
            "UPDATE members SET body = ?1 WHERE id = ?2",
            &[&bad, &victim.id],
        );
        match s.f.store.member(&victim.id) {
            Err(Error::Integrity { kind, id }) => {
                assert_eq!(kind, RecordKind::Member);
                assert_eq!(id, victim.id);
            }
            other => panic!("byte {i}: expected an integrity error, got {other:?}"),
        }
        // Others still open.
        assert_eq!(s.f.store.member(&s.members[0].id).unwrap(), s.members[0]);
    }
    // Unlocking again: the damaged one is reported, the rest is listed.
    s.f.reopen();
    assert_eq!(
        s.f.store.damaged_records().unwrap(),
        vec![Damaged {
            kind: RecordKind::Member,
            id: victim.id.clone(),
            owner: s.club.id.clone(),
            reason: DamageReason::Unreadable,
        }]
    );
    assert_eq!(s.f.store.list_members(&s.club.id).unwrap().len(), 2);
    // Putting the original back heals it.
    edit(
        &s.f,
        "UPDATE members SET body = ?1 WHERE id = ?2",
        &[&original, &victim.id],
    );
    assert_eq!(s.f.store.member(&victim.id).unwrap(), victim);
}

#[test]
fn swapped_ciphertexts_fail_for_both_rows() {
    let s = setup();
    let (a, b) = (&s.members[0], &s.members[2]);
    let (body_a, body_b) = (body(&s.f, "members", &a.id), body(&s.f, "members", &b.id));
    edit(
        &s.f,
        "UPDATE members SET body = ?1 WHERE id = ?2",
        &[&body_b, &a.id],
    );
    edit(
        &s.f,
        "UPDATE members SET body = ?1 WHERE id = ?2",
        &[&body_a, &b.id],
    );
    for m in [a, b] {
        assert!(matches!(
            s.f.store.member(&m.id),
            Err(Error::Integrity { kind: RecordKind::Member, id }) if id == m.id
        ));
    }
    assert_eq!(s.f.store.member(&s.members[1].id).unwrap(), s.members[1]);
}

#[test]
fn a_ciphertext_moved_to_another_table_fails() {
    let s = setup();
    // A member's sealed body pasted over the meeting's.
    let member_body = body(&s.f, "members", &s.members[0].id);
    edit(
        &s.f,
        "UPDATE meetings SET body = ?1 WHERE id = ?2",
        &[&member_body, &s.meeting.id],
    );
    assert!(matches!(
        s.f.store.meeting(&s.meeting.id),
        Err(Error::Integrity { kind: RecordKind::Meeting, id }) if id == s.meeting.id
    ));
}

#[test]
fn edited_plaintext_columns_are_caught() {
    let s = setup();
    // Moving a member to another club, back-dating a meeting, or rewriting who changed it.
    let other = {
        let mut f = s.f;
        let c = f.store.add_club(&club_input()).unwrap();
        (f, c)
    };
    let (f, other_club) = other;
    edit(
        &f,
        "UPDATE members SET club_id = ?1 WHERE id = ?2",
        &[&other_club.id, &s.members[0].id],
    );
    assert!(matches!(
        f.store.member(&s.members[0].id),
        Err(Error::Integrity { .. })
    ));
    edit(
        &f,
        "UPDATE meetings SET meeting_date = '2020-01-01' WHERE id = ?1",
        &[&s.meeting.id],
    );
    assert!(matches!(
        f.store.meeting(&s.meeting.id),
        Err(Error::Integrity { .. })
    ));
    edit(
        &f,
        "UPDATE clubs SET updated_by = 'someone-else' WHERE id = ?1",
        &[&s.club.id],
    );
    assert!(matches!(
        f.store.club(&s.club.id),
        Err(Error::Integrity {
            kind: RecordKind::Club,
            ..
        })
    ));
}

#[test]
fn a_damaged_member_key_is_reported_and_only_that_member_is_lost() {
    let mut s = setup();
    let victim = &s.members[2];
    edit(
        &s.f,
        "UPDATE member_keys SET wrapped_key = zeroblob(60) WHERE member_id = ?1",
        &[&victim.id],
    );
    s.f.reopen();
    let damaged = s.f.store.damaged_records().unwrap();
    assert!(damaged.contains(&Damaged {
        kind: RecordKind::MemberKey,
        id: victim.id.clone(),
        owner: victim.id.clone(),
        reason: DamageReason::Unreadable,
    }));
    assert!(matches!(
        s.f.store.member(&victim.id),
        Err(Error::Integrity { .. })
    ));
    assert_eq!(s.f.store.member(&s.members[0].id).unwrap(), s.members[0]);
    assert_eq!(s.f.store.consents_for(&s.members[0].id).unwrap().len(), 1);
}

#[test]
fn a_damaged_meeting_is_left_out_of_the_list_and_reported() {
    let mut s = setup();
    let second =
        s.f.store
            .record_meeting(&meeting_input(&s.club.id, vec![]))
            .unwrap();
    let mut bad = body(&s.f, "meetings", &s.meeting.id);
    let last = bad.len() - 1;
    bad[last] ^= 1;
    edit(
        &s.f,
        "UPDATE meetings SET body = ?1 WHERE id = ?2",
        &[&bad, &s.meeting.id],
    );
    s.f.reopen();
    let listed = s.f.store.meetings(&s.club.id).unwrap();
    assert_eq!(listed, vec![second]);
    assert!(s.f.store.damaged_records().unwrap().contains(&Damaged {
        kind: RecordKind::Meeting,
        id: s.meeting.id.clone(),
        owner: s.club.id.clone(),
        reason: DamageReason::Unreadable,
    }));
}
