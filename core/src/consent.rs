//! Consent: what a member agreed to share, with whom, for which services; and its withdrawal.
//! Sealed under the member's own key. Referrals rely on it (`referrals` reads it, never the
//! other way round: the facade stops the referrals of a withdrawn consent).

use chrono::NaiveDate;

use crate::db::{self, CONSENTS, ConsentBody, Db, MEMBERS, RawRow};
use crate::domain::{Consent, ConsentInput, Stamp};
use crate::error::{Reason, Result, invalid};
use crate::session::Session;

pub(crate) fn add(db: Db<'_>, s: &Session, input: &ConsentInput) -> Result<Consent> {
    let info = input.normalized(db::today())?;
    MEMBERS.require(db.conn, &info.member_id)?;
    let body = ConsentBody {
        info,
        withdrawn_on: None,
    };
    let id = db::new_id();
    let owner = body.info.member_id.clone();
    let stamp = db.write_record(s, &CONSENTS, &id, &owner, "", &body, None)?;
    Ok(Consent {
        id,
        info: body.info,
        withdrawn_on: None,
        stamp,
    })
}

/// One consent, unnoted (the caller notes the read, or it feeds a check).
pub(crate) fn load(db: Db<'_>, s: &Session, id: &str) -> Result<Consent> {
    let raw = CONSENTS.read_one(db.conn, id)?;
    open(db, s, &raw)
}

/// A member's consents, oldest first, unnoted.
pub(crate) fn load_for(db: Db<'_>, s: &Session, member_id: &str) -> Result<Vec<Consent>> {
    let rows = CONSENTS.read(
        db.conn,
        "WHERE member_id = ?1 ORDER BY created_at",
        member_id,
    )?;
    db.open_each(s, &CONSENTS, rows, |raw| open(db, s, raw))
}

fn open(db: Db<'_>, s: &Session, raw: &RawRow) -> Result<Consent> {
    let (body, stamp): (ConsentBody, Stamp) = db.open_record(s, &CONSENTS, raw)?;
    Ok(Consent {
        id: raw.id.clone(),
        info: body.info,
        withdrawn_on: body.withdrawn_on,
        stamp,
    })
}

/// Marks a consent withdrawn on `on`. The referrals that relied on it are the caller's to stop.
pub(crate) fn withdraw(db: Db<'_>, s: &Session, id: &str, on: NaiveDate) -> Result<Consent> {
    let raw = CONSENTS.read_one(db.conn, id)?;
    let mut consent = open(db, s, &raw)?;
    if consent.withdrawn_on.is_some() {
        return invalid("withdrawn_on", Reason::ConsentWithdrawn);
    }
    if on > db::today() {
        return invalid("withdrawn_on", Reason::InFuture);
    }
    consent.withdrawn_on = Some(on);
    let body = ConsentBody {
        info: consent.info.clone(),
        withdrawn_on: consent.withdrawn_on,
    };
    consent.stamp = db.write_record(s, &CONSENTS, id, &raw.owner, "", &body, Some(&raw))?;
    Ok(consent)
}
