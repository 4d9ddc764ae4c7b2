//! Livelihood support (capital, livestock, training, a job) and its follow-ups. Sealed under the
//! member's own key.

use crate::db::{self, Db, LIVELIHOOD, LivelihoodBody, MEMBERS};
use crate::domain::{Livelihood, LivelihoodInput, Stamp, SupportFollowUp};
use crate::error::Result;
use crate::session::Session;

pub(crate) fn add(db: Db<'_>, s: &Session, input: &LivelihoodInput) -> Result<Livelihood> {
    let info = input.normalized(db::today())?;
    MEMBERS.require(db.conn, &info.member_id)?;
    let body = LivelihoodBody {
        info,
        follow_ups: Vec::new(),
    };
    let id = db::new_id();
    let owner = body.info.member_id.clone();
    let stamp = db.write_record(s, &LIVELIHOOD, &id, &owner, "", &body, None)?;
    Ok(Livelihood {
        id,
        info: body.info,
        follow_ups: body.follow_ups,
        stamp,
    })
}

/// Adds a follow-up outcome (income, still working, needs more help) to a support record.
pub(crate) fn add_follow_up(
    db: Db<'_>,
    s: &Session,
    id: &str,
    follow_up: &SupportFollowUp,
) -> Result<Livelihood> {
    let follow_up = follow_up.normalized(db::today())?;
    let raw = LIVELIHOOD.read_one(db.conn, id)?;
    let (mut body, _): (LivelihoodBody, Stamp) = db.open_record(s, &LIVELIHOOD, &raw)?;
    body.follow_ups.push(follow_up);
    body.follow_ups.sort_by_key(|f| f.date);
    let stamp = db.write_record(s, &LIVELIHOOD, id, &raw.owner, "", &body, Some(&raw))?;
    Ok(Livelihood {
        id: id.to_owned(),
        info: body.info,
        follow_ups: body.follow_ups,
        stamp,
    })
}

/// A member's livelihood support, oldest first, unnoted.
pub(crate) fn load_for(db: Db<'_>, s: &Session, member_id: &str) -> Result<Vec<Livelihood>> {
    let rows = LIVELIHOOD.read(
        db.conn,
        "WHERE member_id = ?1 ORDER BY created_at",
        member_id,
    )?;
    db.open_each(s, &LIVELIHOOD, rows, |raw| {
        let (body, stamp): (LivelihoodBody, Stamp) = db.open_record(s, &LIVELIHOOD, raw)?;
        Ok(Livelihood {
            id: raw.id.clone(),
            info: body.info,
            follow_ups: body.follow_ups,
            stamp,
        })
    })
}
