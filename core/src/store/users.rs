//! The users of one store and their PINs: adding and removing users, changing and resetting
//! PINs (each PIN check counted like one at the unlock screen, and no PIN may be the duress
//! PIN), all recorded in the trail.

use rusqlite::TransactionBehavior;

use super::Store;
use crate::access::{Permission, UserRole};
use crate::audit::AuditAction;
use crate::db::{new_id, now_text};
use crate::domain::required;
use crate::error::{Error, Reason, RecordKind, Result, invalid};
use crate::keys::{self, KdfParams};
use crate::ledger::{self, NewEntry};
use crate::safety;
use crate::slots::{self, NewUser, UserInfo};

impl Store {
    /// The users who can unlock this store (ids and roles only: it may be locked).
    pub fn users(&self) -> Result<Vec<UserInfo>> {
        slots::users(&self.conn)
    }

    /// Adds a user with their own PIN: the store key is wrapped once more, no data is re-sealed.
    /// `current_pin` is the PIN of the user adding (the leader), checked like one typed at the
    /// unlock screen: the new PIN is compared with the duress PIN, and without this whoever
    /// holds the unlocked phone could test candidate duress PINs for free.
    pub fn add_user(
        &mut self,
        current_pin: &str,
        user: NewUser,
        params: KdfParams,
    ) -> Result<UserInfo> {
        self.require(Permission::ManageUsers)?;
        params.check()?;
        keys::check_pin(&user.pin)?;
        let display_name = required("display_name", &user.display_name)?;
        let me = self.session()?.user_id.clone();
        if !self.counted_pin_check(|s| s.pin_opens_slot(&me, current_pin))? {
            return Err(Error::WrongPin);
        }
        // The duress PIN as someone's real PIN would open the real data instead of the decoy.
        self.refuse_duress_pin("pin", &user.pin)?;
        let session = self.session.as_ref().ok_or(Error::Locked)?;
        let id = new_id();
        let now = now_text();
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        slots::write_user(
            &tx,
            self.device.as_ref(),
            &self.store_id,
            &session.store_key,
            &session.record_key,
            self.store_kid,
            &id,
            user.role,
            &display_name,
            &user.pin,
            params,
            [&now, &session.user_id, &now, &session.user_id],
        )?;
        ledger::append(
            &tx,
            &self.store_id,
            session,
            NewEntry::new(AuditAction::UserAdd, Some(RecordKind::User), &id),
        )?;
        tx.commit()?;
        Ok(UserInfo {
            id,
            role: user.role,
        })
    }

    /// Whether `pin` (with this phone's device secret) opens `user_id`'s key slot.
    pub(crate) fn pin_opens_slot(&self, user_id: &str, pin: &str) -> Result<bool> {
        slots::pin_opens_slot(self.db(), self.device.as_ref(), user_id, pin)
    }

    /// The Argon2 cost of the unlocked user's key slot: what this phone was calibrated to
    /// when the store was made (or the PIN last set). The app uses it for new PINs.
    pub fn kdf_params(&self) -> Result<KdfParams> {
        let user_id = &self.session()?.user_id;
        let slot = slots::read_slot(&self.conn, user_id)?.ok_or(Error::UnknownUser)?;
        Ok(slot.kdf.params)
    }

    /// Changes the unlocked user's PIN after checking the old one. Re-wraps the store key only.
    pub fn change_pin(&mut self, old_pin: &str, new_pin: &str, params: KdfParams) -> Result<()> {
        params.check()?;
        keys::check_pin(new_pin)?;
        let user_id = self.session()?.user_id.clone();
        // The old PIN is a PIN guess like one at the unlock screen: the same wait, the same
        // count and the same wipe, so an unlocked phone is no faster oracle for it.
        if !self.counted_pin_check(|s| s.pin_opens_slot(&user_id, old_pin))? {
            return Err(Error::WrongPin);
        }
        self.refuse_duress_pin("pin", new_pin)?;
        let session = self.session.as_ref().ok_or(Error::Locked)?;
        let tx = rusqlite::Transaction::new_unchecked(&self.conn, TransactionBehavior::Immediate)?;
        slots::rewrite_slot(
            self.db(),
            self.device.as_ref(),
            session,
            &tx,
            &user_id,
            new_pin,
            params,
        )?;
        // The duress slot is re-sealed at every PIN change, so that setting the duress PIN
        // (which also re-wraps the leader's slot) rewrites exactly the same rows.
        safety::reseal_duress_slot(self.db(), session, &tx)?;
        ledger::append(
            &tx,
            &self.store_id,
            session,
            NewEntry::new(AuditAction::PinChange, Some(RecordKind::User), &user_id),
        )?;
        tx.commit()?;
        // The decoy carries each user's stamps, which just changed.
        self.refresh_decoy()
    }

    /// Removes another user from the store (leader only). Her key slot, the only copy of the
    /// store key she could open, is deleted with her row (overwritten on disk: secure_delete),
    /// so her PIN opens nothing any more. Her past entries stay in the trail under her id and
    /// role, which the chain's MACs cover: it verifies as before. A leader cannot remove herself
    /// (another leader can), and the store always keeps a leader.
    pub fn remove_user(&mut self, user_id: &str) -> Result<()> {
        let session = self.require(Permission::ManageUsers)?;
        if user_id == session.user_id {
            return invalid("user_id", Reason::OwnAccount);
        }
        let users = self.users()?;
        let target = users
            .iter()
            .find(|u| u.id == user_id)
            .ok_or(Error::UnknownUser)?;
        // Unreachable while only leaders manage users (the one removing stays), kept so that a
        // wider permission can never leave a store nobody can manage.
        if target.role == UserRole::Leader
            && !users
                .iter()
                .any(|u| u.id != user_id && u.role == UserRole::Leader)
        {
            return invalid("user_id", Reason::LastLeader);
        }
        let tx = rusqlite::Transaction::new_unchecked(&self.conn, TransactionBehavior::Immediate)?;
        tx.execute("DELETE FROM users WHERE id = ?1", [user_id])?;
        ledger::append(
            &tx,
            &self.store_id,
            session,
            NewEntry::new(AuditAction::Delete, Some(RecordKind::User), user_id),
        )?;
        tx.commit()?;
        // The duress decoy lists today's users.
        self.refresh_decoy()
    }

    /// Sets a new PIN for another user who forgot hers (leader only). The leader's session
    /// holds the store key, so it is wrapped for her under the new PIN (new salt, cost
    /// `params`); the old slot is overwritten, so the old PIN opens nothing, and it is never
    /// read nor needed. `current_pin` is the leader's own PIN, checked like one at the unlock
    /// screen, as for `add_user`: the new PIN is compared with the duress PIN, which must not
    /// become a free test from an unlocked phone. In the trail as a `PinChange` of her account,
    /// by the leader, with the field `reset`. Her own PIN a leader changes with `change_pin`.
    pub fn reset_pin(
        &mut self,
        current_pin: &str,
        user_id: &str,
        new_pin: &str,
        params: KdfParams,
    ) -> Result<()> {
        let me = self.require(Permission::ManageUsers)?.user_id.clone();
        if user_id == me {
            return invalid("user_id", Reason::OwnAccount);
        }
        params.check()?;
        keys::check_pin(new_pin)?;
        if slots::read_slot(&self.conn, user_id)?.is_none() {
            return Err(Error::UnknownUser);
        }
        if !self.counted_pin_check(|s| s.pin_opens_slot(&me, current_pin))? {
            return Err(Error::WrongPin);
        }
        self.refuse_duress_pin("pin", new_pin)?;
        let tx = rusqlite::Transaction::new_unchecked(&self.conn, TransactionBehavior::Immediate)?;
        // Her slot and profile are rewritten with new update stamps by the leader.
        let session = self.session()?;
        slots::rewrite_slot(
            self.db(),
            self.device.as_ref(),
            session,
            &tx,
            user_id,
            new_pin,
            params,
        )?;
        // As at every PIN change: the same rows change whether or not a duress PIN is set.
        safety::reseal_duress_slot(self.db(), session, &tx)?;
        let mut entry = NewEntry::new(AuditAction::PinChange, Some(RecordKind::User), user_id);
        entry.fields = vec!["reset".into()];
        ledger::append(&tx, &self.store_id, session, entry)?;
        tx.commit()?;
        // The decoy carries each user's stamps, which just changed.
        self.refresh_decoy()
    }
}
