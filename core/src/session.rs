//! The unlocked session: who is working, in which role, and what exists only while the store is
//! unlocked (the keys, every member's own key, the member index, the damaged records found).
//! Dropping it (locking) zeroizes the keys.

use std::cell::RefCell;
use std::collections::HashMap;

use crate::access::{self, Permission, UserRole};
use crate::crypto::{KeyId, SecretKey, uuid_of};
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
    pub(crate) member_keys: MemberKeys,
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
        let missing = || Error::Integrity {
            kind,
            id: row_id.to_owned(),
        };
        let number = uuid_of(member_id).ok_or_else(missing)?;
        let key = self.member_keys.0.get(&number).ok_or_else(missing)?;
        // The key id is the UUID's bytes (`crypto::key_id_of`), from the number just parsed.
        Ok((key, KeyId(number.to_be_bytes())))
    }
}

/// Every member's key, by the 128 bits of her id in its canonical spelling (lowercase,
/// hyphenated; no other spelling has a key). A lookup hashes one number: a map by string
/// compared strings on the heap, a cache miss each, 50,000 times in an unlock.
#[derive(Default)]
pub(crate) struct MemberKeys(HashMap<u128, Box<SecretKey>>);

impl MemberKeys {
    /// Keeps `key` as `member_id`'s; `None` (and nothing kept) if that is no canonical UUID.
    /// Boxed so the key bytes never move when the map grows (a move leaves an unzeroized copy).
    #[must_use]
    pub(crate) fn insert(&mut self, member_id: &str, key: Box<SecretKey>) -> Option<()> {
        self.0.insert(uuid_of(member_id)?, key);
        Some(())
    }

    /// Takes in keys unwrapped elsewhere (the unlock's second thread).
    pub(crate) fn extend(&mut self, other: MemberKeys) {
        self.0.extend(other.0);
    }

    pub(crate) fn remove(&mut self, member_id: &str) {
        if let Some(number) = uuid_of(member_id) {
            self.0.remove(&number);
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.0.len()
    }
}
