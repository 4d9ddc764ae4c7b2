//! Club meetings: date, attendance (members of that club only), notes and follow-ups. Sealed
//! under the store's record key; the date is a plaintext column, for ordering.

use rusqlite::OptionalExtension;

use crate::db::{self, CLUBS, Db, MEETINGS};
use crate::domain::{Meeting, MeetingInput};
use crate::error::{Reason, Result, invalid};
use crate::session::Session;

pub(crate) fn record(db: Db<'_>, s: &Session, input: &MeetingInput) -> Result<Meeting> {
    let info = check(db, input)?;
    let id = db::new_id();
    let stamp = db.write_record(
        s,
        &MEETINGS,
        &id,
        &info.club_id,
        &info.date.to_string(),
        &info,
        None,
    )?;
    Ok(Meeting { id, info, stamp })
}

pub(crate) fn update(db: Db<'_>, s: &Session, id: &str, input: &MeetingInput) -> Result<Meeting> {
    let old = MEETINGS.read_one(db.conn, id)?;
    if old.owner != input.club_id {
        return invalid(
            "club_id",
            Reason::NotAllowedInState {
                state: "recorded".into(),
            },
        );
    }
    let info = check(db, input)?;
    let stamp = db.write_record(
        s,
        &MEETINGS,
        id,
        &info.club_id,
        &info.date.to_string(),
        &info,
        Some(&old),
    )?;
    Ok(Meeting {
        id: id.to_owned(),
        info,
        stamp,
    })
}

/// The meeting as given, valid, in a club that exists, every attendee a member of that club.
fn check(db: Db<'_>, input: &MeetingInput) -> Result<MeetingInput> {
    let info = input.normalized(db::today())?;
    CLUBS.require(db.conn, &info.club_id)?;
    let mut stmt = db
        .conn
        .prepare_cached("SELECT club_id FROM members WHERE id = ?1")?;
    for member_id in &info.attendees {
        let club: Option<String> = stmt.query_row([member_id], |r| r.get(0)).optional()?;
        if club.as_deref() != Some(info.club_id.as_str()) {
            return invalid(
                "attendees",
                Reason::NotClubMember {
                    member_id: member_id.clone(),
                },
            );
        }
    }
    Ok(info)
}

/// One meeting, unnoted.
pub(crate) fn load(db: Db<'_>, s: &Session, id: &str) -> Result<Meeting> {
    let raw = MEETINGS.read_one(db.conn, id)?;
    let (info, stamp) = db.open_record(s, &MEETINGS, &raw)?;
    Ok(Meeting {
        id: raw.id,
        info,
        stamp,
    })
}

/// A club's meetings, newest first, unnoted: for reports and audit findings, which are noted
/// as a whole (and must work on a trail that is broken).
pub(crate) fn of_club(db: Db<'_>, s: &Session, club_id: &str) -> Result<Vec<Meeting>> {
    let rows = MEETINGS.read(
        db.conn,
        "WHERE club_id = ?1 ORDER BY meeting_date DESC, created_at DESC",
        club_id,
    )?;
    db.open_each(s, &MEETINGS, rows, |raw| {
        let (info, stamp) = db.open_record(s, &MEETINGS, raw)?;
        Ok(Meeting {
            id: raw.id.clone(),
            info,
            stamp,
        })
    })
}
