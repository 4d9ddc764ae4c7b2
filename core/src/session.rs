//! The unlocked session: who is working, in which role, and what exists only while the store is
//! unlocked (the keys, every member's own key, the member index, the damaged records found).
//! Dropping it (locking) zeroizes the keys.

use std::cell::RefCell;
use std::collections::HashMap;

use crate::access::{self, Permission, UserRole};
use crate::crypto::{KeyId, SecretKey};
use crate::domain::Id;
use crate::error::{Damaged, Error, RecordKind, Result};
use crate::index::MemberIndex;

pub(crate) struct Session {
    pub(crate) user_id: Id,
    pub(crate) role: UserRole,
    pub(crate) store_key: SecretKey,
    pub(crate) record_key: SecretKey,
    pub(crate) member_wrap: SecretKey,
    /// HMAC key of the audit chain.
    pub(crate) audit_key: SecretKey,
    pub(crate) device_id: String,
    /// Boxed so the key bytes never move when the map grows (a move leaves an unzeroized copy).
    pub(crate) member_keys: HashMap<Id, Box<SecretKey>>,
    pub(crate) index: MemberIndex,
    /// Filled at unlock and by lists that meet a record failing its integrity check.
    pub(crate) damaged: RefCell<Vec<Damaged>>,
    /// Whether the unlock took the index from its sealed snapshot (`snapshot`), not from
    /// opening every member.
    pub(crate) from_snapshot: bool,
}

impl Session {
    /// The session, if its user's role has `permission` (docs/ROLES.md).
    pub(crate) fn require(&self, permission: Permission) -> Result<&Self> {
        if access::allowed(self.role, permission) {
            Ok(self)
        } else {
            Err(Error::Forbidden(permission))
        }
    }

    pub(crate) fn may(&self, permission: Permission) -> bool {
        access::allowed(self.role, permission)
    }

    /// Adds records found damaged to what `damaged_records` reports in this session.
    pub(crate) fn note_damaged(&self, found: &[Damaged]) {
        let mut damaged = self.damaged.borrow_mut();
        for d in found {
            if !damaged.contains(d) {
                damaged.push(d.clone());
            }
        }
    }

    /// The key of the member a row belongs to; a row of a member whose key is gone cannot open.
    pub(crate) fn member_key(
        &self,
        kind: RecordKind,
        row_id: &str,
        member_id: &str,
    ) -> Result<(&SecretKey, KeyId)> {
        let key: &SecretKey = self
            .member_keys
            .get(member_id)
            .ok_or_else(|| Error::Integrity {
                kind,
                id: row_id.to_owned(),
            })?;
        Ok((key, crate::crypto::key_id_of(kind, member_id)?))
    }
}
