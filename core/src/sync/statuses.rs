//! What comes back from the province: signed status updates for this phone's referrals,
//! applied in order once each; and the checkpoint of this phone's trail sent at each sync, the
//! province's last one checked against the trail here (a store rolled back shows).

use chrono::Utc;
use chungtay_protocol::{self as protocol};
use rusqlite::{OptionalExtension, TransactionBehavior};

use super::enrollment::{
    Enrollment, device_keys, save_enrollment, seal_enrollment, write_enrollment,
};
use super::net::{error_code, net};
use super::parse_time;
use crate::db::Db;
use crate::domain::{ReferralState, StateChange};
use crate::error::{Error, RecordKind, Result};
use crate::referrals;
use crate::session::Session;

/// Whether `cp`, the province's latest checkpoint of this phone, was signed by this
/// device for this enrollment and names an entry of this file's trail with the same MAC.
pub(super) fn matches_own_trail(
    db: Db<'_>,
    s: &Session,
    cp: &protocol::Checkpoint,
    enrollment: &Enrollment,
) -> Result<bool> {
    let public = crate::trail::device_public_key(db, s)?;
    if cp.device_id != enrollment.device_id || protocol::verify_checkpoint(cp, &public).is_err() {
        return Ok(false);
    }
    let mac: Option<Vec<u8>> = db
        .conn
        .query_row("SELECT mac FROM audit_log WHERE seq = ?1", [cp.seq], |r| {
            r.get(0)
        })
        .optional()?;
    Ok(mac.as_deref() == Some(cp.head.as_bytes()))
}

/// Signs a checkpoint of the trail naming `prev` as the one it extends, sends it, and on
/// acknowledgement remembers it as the next one's `prev`.
pub(super) fn send_checkpoint(
    db: Db<'_>,
    s: &Session,
    http: &reqwest::blocking::Client,
    enrollment: &Enrollment,
    prev: Option<(i64, Vec<u8>)>,
) -> Result<()> {
    let local = crate::trail::create_checkpoint(db, s)?;
    let head: [u8; 32] = local
        .head
        .as_slice()
        .try_into()
        .map_err(|_| Error::Crypto)?;
    let prev_head: Option<[u8; 32]> = match &prev {
        Some((_, h)) => Some(h.as_slice().try_into().map_err(|_| Error::Crypto)?),
        None => None,
    };
    let keys = device_keys(db, s)?;
    let cp = protocol::sign_checkpoint(
        &keys,
        &enrollment.device_id,
        local.seq,
        &head,
        prev.as_ref()
            .zip(prev_head.as_ref())
            .map(|((s, _), h)| (*s, h)),
        &local.at,
    )
    .map_err(|_| Error::Crypto)?;
    let resp = http
        .post(format!("{}/v1/checkpoints", enrollment.server_url))
        .json(&cp)
        .send()
        .map_err(|e| {
            net(if e.is_timeout() {
                "timeout"
            } else {
                "unreachable"
            })
        })?;
    if resp.status().is_server_error() {
        return Err(net("server error"));
    }
    if !resp.status().is_success() {
        return Err(Error::Refused {
            status: resp.status().as_u16(),
            reason: error_code(resp),
        });
    }
    let mut acked = enrollment.clone();
    acked.last_checkpoint = Some((local.seq, local.head));
    save_enrollment(db, s, db.conn, &acked)
}

/// Pulls signed status updates after the cursor; each is verified with the pinned province
/// key and applied once, in order. A bad one stops the pull without moving the cursor.
/// Returns the updates applied, of those the ones in a state this version does not know, and
/// the province's latest checkpoint of this phone (from the first page).
pub(super) fn pull_statuses(
    db: Db<'_>,
    s: &Session,
    http: &reqwest::blocking::Client,
    enrollment: &Enrollment,
) -> Result<(i64, i64, Option<protocol::Checkpoint>)> {
    let keys = device_keys(db, s)?;
    let mut applied = 0;
    let mut unknown = 0;
    let mut checkpoint = None;
    let mut enrollment = enrollment.clone();
    loop {
        let cursor = enrollment.status_cursor;
        let pull =
            protocol::sign_pull(&keys, &enrollment.device_id, cursor, Utc::now().timestamp())
                .map_err(|_| Error::Crypto)?;
        let resp = http
            .get(format!("{}/v1/status", enrollment.server_url))
            .query(&[
                ("device_id", pull.device_id.clone()),
                ("cursor", pull.cursor.to_string()),
                ("ts", pull.ts.to_string()),
                ("sig", pull.sig.encode()),
            ])
            .send()
            .map_err(|e| {
                net(if e.is_timeout() {
                    "timeout"
                } else {
                    "unreachable"
                })
            })?;
        if resp.status().is_client_error() {
            return Err(Error::Refused {
                status: resp.status().as_u16(),
                reason: error_code(resp),
            });
        }
        if !resp.status().is_success() {
            return Err(net(&format!("status pull: {}", resp.status().as_u16())));
        }
        let mut page: protocol::StatusPage = resp.json().map_err(|_| net("malformed answer"))?;
        if checkpoint.is_none() {
            checkpoint = page.checkpoint.take();
        }
        let mut expected = cursor + 1;
        let applied_before = applied;
        for update in &page.updates {
            if update.seq < expected {
                continue;
            }
            if update.seq > expected {
                // A gap: wait for the missing update rather than apply out of order.
                return Ok((applied, unknown, checkpoint));
            }
            if protocol::verify_status(
                update,
                &enrollment.device_id,
                &enrollment.province_signing_key,
            )
            .is_err()
            {
                return Err(Error::Integrity {
                    kind: RecordKind::Referral,
                    id: update.referral_id.clone(),
                });
            }
            if !apply_status(db, s, update, &mut enrollment)? {
                unknown += 1;
            }
            applied += 1;
            expected += 1;
        }
        // A page that moved nothing (a server ignoring the cursor) ends the pull rather
        // than asking for the same page forever while the store is held.
        if !page.more || applied == applied_before {
            return Ok((applied, unknown, checkpoint));
        }
    }
}

/// Applies one verified update and moves the cursor in the same transaction as the last
/// state change, so a crash in between cannot apply it twice. False when the state is one
/// this version does not know: then only the cursor moves.
pub(super) fn apply_status(
    db: Db<'_>,
    s: &Session,
    update: &protocol::StatusUpdate,
    enrollment: &mut Enrollment,
) -> Result<bool> {
    use ReferralState::*;
    let target = match update.state.as_str() {
        "received" => Some(Received),
        "accepted" => Some(Accepted),
        "declined" => Some(Declined),
        "in_progress" => Some(InProgress),
        "completed" => Some(Completed),
        // Signed by the province, so not tampering: a state from a newer server.
        _ => None,
    };
    let seq = update.seq;
    let current = referrals::load(db, s, &update.referral_id)
        .ok()
        .map(|r| r.state);
    let order = [Queued, Sent, Received, Accepted, InProgress, Completed];
    let rank = |s: ReferralState| order.iter().position(|x| *x == s);
    let mut steps: Vec<ReferralState> = Vec::new();
    if let (Some(from), Some(target)) = (current, target) {
        // The province's answer may overtake the receipt: walk forward through the states
        // the phone has not seen yet. A withdrawn or finished referral stays as it is.
        if target == Declined && matches!(from, Queued | Sent | Received) {
            steps.extend(
                [Sent, Received]
                    .into_iter()
                    .filter(|s| rank(*s) > rank(from)),
            );
            steps.push(Declined);
        } else if let (Some(a), Some(b)) = (rank(from), rank(target)) {
            steps.extend(order[a + 1..=b.max(a)].iter().copied());
        }
    }
    let at = parse_time(&update.at);
    enrollment.status_cursor = seq;
    let sealed = seal_enrollment(db, s, enrollment)?;
    let referral_id = update.referral_id.clone();
    let move_cursor = move |conn: &rusqlite::Connection| {
        write_enrollment(conn, &sealed)?;
        // The province has it, whatever became of the receipt: nothing is left to send.
        conn.execute(
            "UPDATE outbox SET state = 'sent', last_error = '' \
             WHERE referral_id = ?1 AND state = 'pending'",
            [&referral_id],
        )?;
        Ok(())
    };
    let Some((final_step, earlier)) = steps.split_last() else {
        // Nothing to change here (unknown state, unknown or erased referral): only the
        // cursor moves.
        let tx = rusqlite::Transaction::new_unchecked(db.conn, TransactionBehavior::Immediate)?;
        move_cursor(&tx)?;
        tx.commit()?;
        return Ok(target.is_some());
    };
    for step in earlier {
        let change = StateChange {
            state: *step,
            at,
            by: "province".into(),
            note: String::new(),
        };
        referrals::record_remote_state(db, s, &update.referral_id, change, |_| Ok(()))?;
    }
    let change = StateChange {
        state: *final_step,
        at,
        by: "province".into(),
        note: update.note.clone(),
    };
    referrals::record_remote_state(db, s, &update.referral_id, change, move_cursor)?;
    Ok(true)
}
