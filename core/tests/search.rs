//! Member search and ordering as a Vietnamese reader expects.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use chungtay_core::*;
use common::*;

fn names(list: &[MemberSummary]) -> Vec<&str> {
    list.iter().map(|m| m.full_name.as_str()).collect()
}

#[test]
fn search_ignores_case_and_diacritics_and_filters() {
    let mut f = Fixture::new();
    let club = f.store.add_club(&club_input()).unwrap();
    let other = f.store.add_club(&club_input()).unwrap();
    for (name, ethnic, village, club_id) in [
        ("Nguyễn Thị Hoa", "Kinh", "Bản Chai", &club.id),
        ("Đặng Thị Dung", "Dao", "Bản Ón", &club.id),
        ("Vi Thị Hoa", "Thái", "Bản Chai", &club.id),
        ("Vàng Thị Mỷ", "Mông", "Bản Ón", &club.id),
        ("Nguyễn Thị Hòa", "Kinh", "Bản Chai", &other.id),
    ] {
        f.store
            .add_member(club_id, &member_input(name, ethnic, village))
            .unwrap();
    }
    let search = |text: &str| {
        f.store
            .search_members(&MemberFilter {
                text: text.into(),
                ..Default::default()
            })
            .unwrap()
    };
    assert_eq!(
        names(&search("nguyen thi hoa")),
        ["Nguyễn Thị Hoa", "Nguyễn Thị Hòa"]
    );
    assert_eq!(
        names(&search("NGUYỄN HOA")),
        ["Nguyễn Thị Hoa", "Nguyễn Thị Hòa"]
    );
    assert_eq!(names(&search("d")), ["Đặng Thị Dung"]);
    assert_eq!(names(&search("dang")), ["Đặng Thị Dung"]);
    assert_eq!(names(&search("my")), ["Vàng Thị Mỷ"]);
    assert!(search("tran").is_empty());

    let in_club = f
        .store
        .search_members(&MemberFilter {
            text: "hoa".into(),
            club_id: Some(club.id.clone()),
            ..Default::default()
        })
        .unwrap();
    assert_eq!(names(&in_club), ["Nguyễn Thị Hoa", "Vi Thị Hoa"]);

    let by_village = f
        .store
        .search_members(&MemberFilter {
            village: Some("ban on".into()),
            ..Default::default()
        })
        .unwrap();
    assert_eq!(names(&by_village), ["Đặng Thị Dung", "Vàng Thị Mỷ"]);

    let by_group = f
        .store
        .search_members(&MemberFilter {
            ethnic_group: Some(EthnicGroup::from_name("Thái").unwrap()),
            ..Default::default()
        })
        .unwrap();
    assert_eq!(names(&by_group), ["Vi Thị Hoa"]);

    // The index is rebuilt on unlock from the encrypted rows.
    f.reopen();
    assert_eq!(names(&f.store.list_members(&club.id).unwrap()).len(), 4);
}

#[test]
fn lists_sort_by_given_name_with_vietnamese_letter_order() {
    let mut f = Fixture::new();
    let club = f.store.add_club(&club_input()).unwrap();
    for name in [
        "Phạm Đức",
        "Trần Văn Bình",
        "Hà Văn Dũng",
        "Nguyễn Văn Ân",
        "Lê Thị Anh",
        "Nguyễn Thị An",
    ] {
        f.store
            .add_member(&club.id, &member_input(name, "Kinh", "Xóm 1"))
            .unwrap();
    }
    assert_eq!(
        names(&f.store.list_members(&club.id).unwrap()),
        [
            "Nguyễn Thị An",
            "Lê Thị Anh",
            "Nguyễn Văn Ân",
            "Trần Văn Bình",
            "Hà Văn Dũng",
            "Phạm Đức",
        ]
    );
}

#[test]
fn lists_never_show_survivor_status_or_an_unsafe_phone() {
    let mut f = Fixture::new();
    let club = f.store.add_club(&club_input()).unwrap();
    let mut hidden = member_input("Vi Thị Hoa", "Thái", "Bản Chai");
    hidden.safe_to_contact = false;
    f.store.add_member(&club.id, &hidden).unwrap();
    f.store
        .add_member(&club.id, &member_input("Lò Thị Mai", "Thái", "Bản Chai"))
        .unwrap();
    let list = f.store.list_members(&club.id).unwrap();
    let hoa = list.iter().find(|m| m.full_name == "Vi Thị Hoa").unwrap();
    let mai = list.iter().find(|m| m.full_name == "Lò Thị Mai").unwrap();
    assert_eq!(hoa.phone, None);
    assert_eq!(mai.phone.as_deref(), Some("0912 345 678"));
    // MemberSummary has no survivor-status field at all; its Debug output shows none either.
    assert!(!format!("{list:?}").contains("Returnee"));
}

/// A list screen reads pages: together they are the whole list in order, each counted once, and
/// the order follows renames and erasures at once (the index is kept sorted, not sorted per
/// call, so a stale place would show a member twice or out of order).
#[test]
fn pages_make_up_the_list_in_order_through_renames_and_erasures() {
    let mut f = Fixture::new();
    let club = f.store.add_club(&club_input()).unwrap();
    let mut ids = Vec::new();
    for (i, given) in [
        "Ân", "An", "Bình", "Dũng", "Đức", "Hoa", "Hòa", "Mai", "Ơn", "Ư",
    ]
    .iter()
    .enumerate()
    {
        let m = f
            .store
            .add_member(
                &club.id,
                &member_input(&format!("Lò Thị {given}"), "Thái", &format!("Bản {i}")),
            )
            .unwrap();
        ids.push(m.id);
    }
    let in_club = MemberFilter {
        club_id: Some(club.id.clone()),
        ..Default::default()
    };
    let pages = |f: &Fixture, size: usize| {
        let mut all = Vec::new();
        let mut offset = 0;
        loop {
            let page = f.store.search_members_page(&in_club, offset, size).unwrap();
            assert_eq!(
                page.total,
                f.store.list_members(&club.id).unwrap().len() as u64
            );
            if page.members.is_empty() {
                break;
            }
            assert!(page.members.len() <= size);
            offset += page.members.len();
            all.extend(page.members);
        }
        all
    };
    let whole = f.store.list_members(&club.id).unwrap();
    assert_eq!(pages(&f, 3), whole);
    assert_eq!(pages(&f, 100), whole);
    assert_eq!(
        names(&whole)[..4],
        ["Lò Thị An", "Lò Thị Ân", "Lò Thị Bình", "Lò Thị Dũng"]
    );

    // "Lò Thị An" becomes "Lò Thị Yến": she moves to the end, once.
    let mut info = f.store.member(&ids[1]).unwrap().info;
    info.full_name = "Lò Thị Yến".into();
    f.store.update_member(&ids[1], &info).unwrap();
    let after = pages(&f, 4);
    assert_eq!(after.len(), 10);
    assert_eq!(after.first().unwrap().full_name, "Lò Thị Ân");
    assert_eq!(after.last().unwrap().full_name, "Lò Thị Yến");
    assert_eq!(after, f.store.list_members(&club.id).unwrap());

    // An edit that keeps her name keeps her place (and does not drop her from the list).
    let mut info = f.store.member(&ids[5]).unwrap().info;
    info.village = "Bản Mới".into();
    f.store.update_member(&ids[5], &info).unwrap();
    assert_eq!(pages(&f, 4).len(), 10);

    f.store.erase_member(&ids[0]).unwrap();
    let after = pages(&f, 4);
    assert_eq!(after.len(), 9);
    assert!(after.iter().all(|m| m.id != ids[0]));

    // Past the end: an empty page, the same total. A search's pages count only its hits.
    let far = f.store.search_members_page(&in_club, 50, 10).unwrap();
    assert!(far.members.is_empty());
    assert_eq!(far.total, 9);
    let hoa = f
        .store
        .search_members_page(
            &MemberFilter {
                text: "hoa".into(),
                ..in_club.clone()
            },
            1,
            5,
        )
        .unwrap();
    assert_eq!(hoa.total, 2);
    assert_eq!(names(&hoa.members), ["Lò Thị Hòa"]);
    // A page in a log line names nobody.
    assert!(!format!("{hoa:?}").contains("Hòa"));

    // Rebuilt at unlock in the same order.
    let before = pages(&f, 4);
    f.reopen();
    assert_eq!(pages(&f, 4), before);
}

/// The village filter's choices come from the core, each village once however it was typed
/// (the filter folds them alike), in Vietnamese order, only this club's, and follow edits.
#[test]
fn a_clubs_villages_each_once_in_vietnamese_order() {
    let mut f = Fixture::new();
    let club = f.store.add_club(&club_input()).unwrap();
    let other = f.store.add_club(&club_input()).unwrap();
    let mut ids = Vec::new();
    for (name, village) in [
        ("Lò Thị Mai", "Bản Ón"),
        ("Hà Thị Ơn", "bản ón"),
        ("Vi Thị Hoa", "Bản Chai"),
        ("Đặng Thị Dung", "Đông Sơn"),
        ("Lò Văn Tư", "Bản Ẳng"),
        ("Sầm Thị Ba", "Tổ 10"),
        ("Sầm Thị Bốn", "Tổ 2"),
    ] {
        let m = f
            .store
            .add_member(&club.id, &member_input(name, "Thái", village))
            .unwrap();
        ids.push(m.id);
    }
    f.store
        .add_member(
            &other.id,
            &member_input("Giàng Thị Súa", "Mông", "Bản Khác"),
        )
        .unwrap();
    let villages = f.store.member_villages(&club.id).unwrap();
    // "Bản Ón" once (Hà Thị Ơn's "bản ón" folds alike); the alphabet puts ă right after a, so
    // Ẳng before Chai; Đ after B; Tổ 2 before Tổ 10; nothing from the other club.
    assert_eq!(
        villages,
        ["Bản Ẳng", "Bản Chai", "Bản Ón", "Đông Sơn", "Tổ 2", "Tổ 10"]
    );
    let shown = f
        .store
        .search_members_page(
            &MemberFilter {
                club_id: Some(club.id.clone()),
                village: Some(villages[2].clone()),
                ..Default::default()
            },
            0,
            10,
        )
        .unwrap();
    assert_eq!(shown.total, 2, "both spellings of Bản Ón are in its filter");

    // She moves away: a village with no one left goes from the choices.
    let mut info = f.store.member(&ids[3]).unwrap().info;
    info.village = "Tổ 2".into();
    f.store.update_member(&ids[3], &info).unwrap();
    f.reopen();
    assert_eq!(
        f.store.member_villages(&club.id).unwrap(),
        ["Bản Ẳng", "Bản Chai", "Bản Ón", "Tổ 2", "Tổ 10"]
    );
    f.store.lock();
    assert!(matches!(
        f.store.member_villages(&club.id),
        Err(Error::Locked)
    ));
}

/// The rows the index lends, which the Kotlin API packs into columns, are the list's rows: same members,
/// same order, same fields, the phone of someone not to be contacted withheld; and none while
/// the store is locked.
#[test]
fn visiting_members_gives_the_list_s_rows() {
    let mut f = Fixture::new();
    let club = f.store.add_club(&club_input()).unwrap();
    let other = f.store.add_club(&club_input()).unwrap();
    for (name, club_id, safe) in [
        ("Vi Thị Hoa", &club.id, true),
        ("Đặng Thị Dung", &club.id, false),
        ("Lò Thị Ân", &club.id, true),
        ("Hà Thị Ơn", &other.id, true),
    ] {
        let mut m = member_input(name, "Thái", "Bản Chai");
        m.safe_to_contact = safe;
        f.store.add_member(club_id, &m).unwrap();
    }
    let in_club = MemberFilter {
        club_id: Some(club.id.clone()),
        ..Default::default()
    };
    let mut rows = Vec::new();
    let total = f
        .store
        .visit_members(&in_club, |m| rows.push(m.to_summary()))
        .unwrap();
    assert_eq!(total, 3);
    assert_eq!(rows, f.store.list_members(&club.id).unwrap());
    assert_eq!(names(&rows), ["Lò Thị Ân", "Đặng Thị Dung", "Vi Thị Hoa"]);
    assert_eq!(rows[1].phone, None);
    assert_eq!(rows[0].phone.as_deref(), Some("0912 345 678"));

    f.store.lock();
    let mut called = false;
    assert!(matches!(
        f.store.visit_members(&in_club, |_| called = true),
        Err(Error::Locked)
    ));
    assert!(!called);
}
