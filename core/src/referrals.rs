//! Referrals to the provincial Women's Union: drafts, readiness against consent, and the state
//! machine (docs/DOMAIN: draft, ready, sent, ... withdrawn). Sealed under the member's own key;
//! the state is a plaintext column, for the outbox. Depends on `consent` (readiness reads it).

use chrono::Utc;
use rusqlite::{Connection, TransactionBehavior};

use crate::consent;
use crate::db::{self, CONSENTS, Db, MEMBERS, REFERRALS, RawRow, ReferralBody};
use crate::domain::{
    Consent, Referral, ReferralInput, ReferralState, Stamp, StateChange, check_consent_covers,
    long_text,
};
use crate::error::{Error, Reason, RecordKind, Result, invalid};
use crate::session::Session;

/// Creates a referral as a draft. It becomes ready only with consent that covers it.
pub(crate) fn create(db: Db<'_>, s: &Session, input: &ReferralInput) -> Result<Referral> {
    let info = input.normalized()?;
    MEMBERS.require(db.conn, &info.member_id)?;
    if let Some(cid) = &info.consent_id {
        CONSENTS.require(db.conn, cid)?;
    }
    let body = ReferralBody {
        info,
        history: vec![StateChange {
            state: ReferralState::Draft,
            at: Utc::now(),
            by: s.user_id.clone(),
            note: String::new(),
        }],
    };
    let id = db::new_id();
    let owner = body.info.member_id.clone();
    let stamp = db.write_record(
        s,
        &REFERRALS,
        &id,
        &owner,
        ReferralState::Draft.as_str(),
        &body,
        None,
    )?;
    Ok(Referral {
        id,
        info: body.info,
        state: ReferralState::Draft,
        history: body.history,
        stamp,
    })
}

/// Edits a draft referral.
pub(crate) fn update(db: Db<'_>, s: &Session, id: &str, input: &ReferralInput) -> Result<Referral> {
    let info = input.normalized()?;
    let raw = REFERRALS.read_one(db.conn, id)?;
    let mut referral = open(db, s, &raw)?;
    if referral.state != ReferralState::Draft {
        return invalid(
            "state",
            Reason::NotAllowedInState {
                state: referral.state.as_str().into(),
            },
        );
    }
    if info.member_id != referral.info.member_id {
        return invalid(
            "member_id",
            Reason::NotAllowedInState {
                state: referral.state.as_str().into(),
            },
        );
    }
    if let Some(cid) = &info.consent_id {
        CONSENTS.require(db.conn, cid)?;
    }
    let body = ReferralBody {
        info,
        history: referral.history.clone(),
    };
    referral.stamp =
        db.write_record(s, &REFERRALS, id, &raw.owner, &raw.extra, &body, Some(&raw))?;
    referral.info = body.info;
    Ok(referral)
}

/// Draft -> ready: checks that the referral's consent covers its services, recipient and
/// every field it will share.
pub(crate) fn mark_ready(db: Db<'_>, s: &Session, id: &str) -> Result<Referral> {
    let referral = load(db, s, id)?;
    let Some(consent_id) = referral.info.consent_id.as_deref() else {
        return invalid("consent", Reason::NoConsent);
    };
    let consent = consent::load(db, s, consent_id)?;
    check_consent_covers(&consent, &referral.info)?;
    move_to(db, s, id, ReferralState::Ready, "")
}

/// Every referral that relied on a withdrawn consent and is not finished stops (withdrawn).
pub(crate) fn stop_for_withdrawn(db: Db<'_>, s: &Session, consent: &Consent) -> Result<()> {
    for referral in load_for(db, s, &consent.info.member_id)? {
        if referral.info.consent_id.as_deref() == Some(consent.id.as_str())
            && !referral.state.is_final()
        {
            move_to(
                db,
                s,
                &referral.id,
                ReferralState::Withdrawn,
                "consent withdrawn",
            )?;
        }
    }
    Ok(())
}

/// Moves a referral to `next`; withdrawing also takes it out of the outbox.
pub(crate) fn move_to(
    db: Db<'_>,
    s: &Session,
    id: &str,
    next: ReferralState,
    note: &str,
) -> Result<Referral> {
    let referral_id = id.to_owned();
    move_with(db, s, id, next, note, move |conn| {
        if next == ReferralState::Withdrawn {
            // Withdrawing (or withdrawing the consent) stops it at any stage: a referral
            // still waiting in the outbox never leaves the phone.
            conn.prepare_cached("DELETE FROM outbox WHERE referral_id = ?1 AND state = 'pending'")?
                .execute([&referral_id])?;
        }
        Ok(())
    })
}

/// Moves a referral and runs `also` in the same transaction (the outbox row, say).
pub(crate) fn move_with(
    db: Db<'_>,
    s: &Session,
    id: &str,
    next: ReferralState,
    note: &str,
    also: impl FnOnce(&Connection) -> Result<()>,
) -> Result<Referral> {
    let note = long_text("note", note)?;
    let raw = REFERRALS.read_one(db.conn, id)?;
    let mut referral = open(db, s, &raw)?;
    if !referral.state.can_move_to(next) {
        return invalid(
            "state",
            Reason::NotAllowedInState {
                state: referral.state.as_str().into(),
            },
        );
    }
    referral.history.push(StateChange {
        state: next,
        at: Utc::now(),
        by: s.user_id.clone(),
        note,
    });
    let body = ReferralBody {
        info: referral.info.clone(),
        history: referral.history.clone(),
    };
    referral.stamp = db.write_record_with(
        s,
        &REFERRALS,
        id,
        &raw.owner,
        next.as_str(),
        &body,
        Some(&raw),
        also,
    )?;
    referral.state = next;
    Ok(referral)
}

/// A state the province reported (already verified), in its own words and time.
/// A referral the phone withdrew, or one already finished, keeps its state.
/// `also` runs in the same transaction (the status cursor), even when the state is kept.
pub(crate) fn record_remote_state(
    db: Db<'_>,
    s: &Session,
    id: &str,
    change: StateChange,
    also: impl FnOnce(&Connection) -> Result<()>,
) -> Result<()> {
    let raw = REFERRALS.read_one(db.conn, id)?;
    let mut referral = open(db, s, &raw)?;
    if referral.state.is_final() {
        let tx = rusqlite::Transaction::new_unchecked(db.conn, TransactionBehavior::Immediate)?;
        also(&tx)?;
        tx.commit()?;
        return Ok(());
    }
    let next = change.state;
    referral.history.push(change);
    let body = ReferralBody {
        info: referral.info,
        history: referral.history,
    };
    db.write_record_with(
        s,
        &REFERRALS,
        id,
        &raw.owner,
        next.as_str(),
        &body,
        Some(&raw),
        also,
    )?;
    Ok(())
}

/// One referral, unnoted.
pub(crate) fn load(db: Db<'_>, s: &Session, id: &str) -> Result<Referral> {
    let raw = REFERRALS.read_one(db.conn, id)?;
    open(db, s, &raw)
}

/// A member's referrals, oldest first, unnoted.
pub(crate) fn load_for(db: Db<'_>, s: &Session, member_id: &str) -> Result<Vec<Referral>> {
    let rows = REFERRALS.read(
        db.conn,
        "WHERE member_id = ?1 ORDER BY created_at",
        member_id,
    )?;
    db.open_each(s, &REFERRALS, rows, |raw| open(db, s, raw))
}

fn open(db: Db<'_>, s: &Session, raw: &RawRow) -> Result<Referral> {
    let (body, stamp): (ReferralBody, Stamp) = db.open_record(s, &REFERRALS, raw)?;
    let state = ReferralState::parse(&raw.extra).ok_or_else(|| Error::Integrity {
        kind: RecordKind::Referral,
        id: raw.id.clone(),
    })?;
    Ok(Referral {
        id: raw.id.clone(),
        info: body.info,
        state,
        history: body.history,
        stamp,
    })
}
