//! The users' key slots and profiles: each user's copy of the store key, wrapped under a KEK
//! made from her PIN and this phone's device secret (keys), and her name sealed under the
//! records key with her role and stamps bound in. Read while locked only as ids and roles.

use rusqlite::{Connection, OptionalExtension, params};
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use crate::access::UserRole;
use crate::crypto::{self, KeyId, Place, SecretKey, key_id_of};
use crate::db::{Db, now_text, to_json};
use crate::domain::Id;
use crate::error::{Error, RecordKind, Result};
use crate::keys::{self, DeviceSecret, KdfParams};
use crate::session::Session;

/// A user as the unlock screen lists them: no name, since the store is still locked.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct UserInfo {
    pub id: Id,
    pub role: UserRole,
}

/// A new user of the store. The PIN is zeroized when this is dropped.
pub struct NewUser {
    pub display_name: String,
    pub role: UserRole,
    pub pin: Zeroizing<String>,
}

impl NewUser {
    pub fn new(display_name: &str, role: UserRole, pin: &str) -> Self {
        Self {
            display_name: display_name.to_owned(),
            role,
            pin: Zeroizing::new(pin.to_owned()),
        }
    }
}

/// The users who can unlock this store (ids and roles only: it may be locked).
pub(crate) fn users(conn: &Connection) -> Result<Vec<UserInfo>> {
    let mut stmt = conn.prepare("SELECT id, role FROM users ORDER BY created_at, id")?;
    let rows = stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))?;
    let mut out = Vec::new();
    for row in rows {
        let (id, role) = row?;
        let role = UserRole::parse(&role).ok_or_else(|| Error::Integrity {
            kind: RecordKind::User,
            id: id.clone(),
        })?;
        out.push(UserInfo { id, role });
    }
    Ok(out)
}

/// Whether `pin` (with this phone's device secret) opens `user_id`'s key slot.
pub(crate) fn pin_opens_slot(
    db: Db<'_>,
    device: &dyn DeviceSecret,
    user_id: &str,
    pin: &str,
) -> Result<bool> {
    let slot = read_slot(db.conn, user_id)?.ok_or(Error::UnknownUser)?;
    let kek = keys::user_kek(device, db.store_id, user_id, pin, &slot.kdf)?;
    let kid = key_id_of(RecordKind::User, user_id)?;
    Ok(crypto::open(&kek, kid, &slot_place(user_id), &slot.wrapped).is_ok())
}

/// Wraps the store key for `user_id` under `pin` (new salt, cost `params`) and re-seals her
/// profile with new update stamps by the unlocked user (its seal binds them): her own PIN
/// change, or the leader's reset of it. Written through `conn`, the caller's transaction.
pub(crate) fn rewrite_slot(
    db: Db<'_>,
    device: &dyn DeviceSecret,
    session: &Session,
    conn: &Connection,
    user_id: &str,
    pin: &str,
    params: KdfParams,
) -> Result<()> {
    let keys = (&session.store_key, &session.record_key);
    rewrap(
        db,
        device,
        keys,
        conn,
        user_id,
        pin,
        params,
        &session.user_id,
    )
}

/// `rewrite_slot` with the store and record keys given and the update stamped as `by`: also
/// what a restore does for the leader, before any session exists.
#[allow(clippy::too_many_arguments)]
pub(crate) fn rewrap(
    db: Db<'_>,
    device: &dyn DeviceSecret,
    (store_key, record_key): (&SecretKey, &SecretKey),
    conn: &Connection,
    user_id: &str,
    pin: &str,
    params: KdfParams,
    by: &str,
) -> Result<()> {
    let (salt, wrapped) = wrap_for_user(device, db.store_id, store_key, user_id, pin, params)?;
    let old = open_profile(db.conn, record_key, db.store_kid, user_id)?;
    let now = now_text();
    let stamps = [old.stamps[0].as_str(), &old.stamps[1], &now, by];
    let profile = crypto::seal(
        record_key,
        db.store_kid,
        &profile_place(user_id, &profile_bound(&old.role, stamps)),
        &to_json(&old.profile)?,
    )?;
    conn.execute(
        "UPDATE users SET kdf_salt = ?1, kdf_m_kib = ?2, kdf_t = ?3, kdf_p = ?4, \
         wrapped_key = ?5, profile = ?6, updated_at = ?7, updated_by = ?8 WHERE id = ?9",
        params![
            salt,
            params.m_kib,
            params.t,
            params.p,
            wrapped,
            profile,
            now,
            by,
            user_id
        ],
    )?;
    Ok(())
}

pub(crate) fn slot_place(user_id: &str) -> Place<'_> {
    Place {
        table: "users",
        kind: RecordKind::User,
        id: user_id,
        bound: "wrapped_key",
    }
}

/// A user's role and stamps, bound into the seal of their profile.
pub(crate) fn profile_bound(role: &str, stamps: [&str; 4]) -> String {
    format!("{role}\u{1f}{}", stamps.join("\u{1f}"))
}

pub(crate) fn profile_place<'a>(user_id: &'a str, bound: &'a str) -> Place<'a> {
    Place {
        table: "users",
        kind: RecordKind::User,
        id: user_id,
        bound,
    }
}

#[derive(Serialize, Deserialize)]
pub(crate) struct UserProfile {
    pub(crate) display_name: String,
}

pub(crate) struct OpenedProfile {
    pub(crate) role: String,
    pub(crate) stamps: [String; 4],
    pub(crate) profile: UserProfile,
}

pub(crate) fn open_profile(
    conn: &Connection,
    record_key: &SecretKey,
    store_kid: KeyId,
    user_id: &str,
) -> Result<OpenedProfile> {
    let (role, profile, stamps): (String, Vec<u8>, [String; 4]) = conn.query_row(
        "SELECT role, profile, created_at, created_by, updated_at, updated_by \
         FROM users WHERE id = ?1",
        [user_id],
        |r| {
            Ok((
                r.get(0)?,
                r.get(1)?,
                [r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?],
            ))
        },
    )?;
    let bound = profile_bound(&role, [&stamps[0], &stamps[1], &stamps[2], &stamps[3]]);
    let plain = crypto::open(
        record_key,
        store_kid,
        &profile_place(user_id, &bound),
        &profile,
    )?;
    let profile = serde_json::from_slice(&plain).map_err(|_| Error::Integrity {
        kind: RecordKind::User,
        id: user_id.to_owned(),
    })?;
    Ok(OpenedProfile {
        role,
        stamps,
        profile,
    })
}

/// A user's key slot as stored: role, how its KEK is made, the wrapped store key.
pub(crate) struct UserSlot {
    pub(crate) role: String,
    pub(crate) kdf: keys::SlotKdf,
    pub(crate) wrapped: Vec<u8>,
}

pub(crate) fn read_slot(conn: &Connection, user_id: &str) -> Result<Option<UserSlot>> {
    let row = conn
        .query_row(
            "SELECT role, kdf_salt, kdf_m_kib, kdf_t, kdf_p, wrapped_key FROM users WHERE id = ?1",
            [user_id],
            |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, Vec<u8>>(1)?,
                    KdfParams {
                        m_kib: r.get(2)?,
                        t: r.get(3)?,
                        p: r.get(4)?,
                    },
                    r.get::<_, Vec<u8>>(5)?,
                ))
            },
        )
        .optional()?;
    let Some((role, salt, params, wrapped)) = row else {
        return Ok(None);
    };
    let kdf = keys::SlotKdf::decode(&salt, params).ok_or_else(|| Error::Integrity {
        kind: RecordKind::User,
        id: user_id.to_owned(),
    })?;
    Ok(Some(UserSlot { role, kdf, wrapped }))
}

/// Wraps the store key for one user under a new (chained) slot; returns the salt column's value
/// and the wrapped key.
pub(crate) fn wrap_for_user(
    device: &dyn DeviceSecret,
    store_id: &str,
    store_key: &SecretKey,
    user_id: &str,
    pin: &str,
    params: KdfParams,
) -> Result<(Vec<u8>, crypto::Sealed)> {
    let kdf = keys::SlotKdf::new(params)?;
    let kek = keys::user_kek(device, store_id, user_id, pin, &kdf)?;
    let wrapped = crypto::seal(
        &kek,
        key_id_of(RecordKind::User, user_id)?,
        &slot_place(user_id),
        store_key.as_bytes(),
    )?;
    Ok((kdf.encode_salt(), wrapped))
}

#[allow(clippy::too_many_arguments)]
pub(crate) fn write_user(
    conn: &Connection,
    device: &dyn DeviceSecret,
    store_id: &str,
    store_key: &SecretKey,
    record_key: &SecretKey,
    store_kid: KeyId,
    user_id: &str,
    role: UserRole,
    display_name: &str,
    pin: &str,
    params: KdfParams,
    stamps: [&str; 4],
) -> Result<()> {
    let (salt, wrapped) = wrap_for_user(device, store_id, store_key, user_id, pin, params)?;
    let profile = crypto::seal(
        record_key,
        store_kid,
        &profile_place(user_id, &profile_bound(role.as_str(), stamps)),
        &to_json(&UserProfile {
            display_name: display_name.to_owned(),
        })?,
    )?;
    conn.execute(
        "INSERT INTO users (id, role, kdf_salt, kdf_m_kib, kdf_t, kdf_p, wrapped_key, profile, \
         created_at, created_by, updated_at, updated_by) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
        params![
            user_id,
            role.as_str(),
            salt,
            params.m_kib,
            params.t,
            params.p,
            wrapped,
            profile,
            stamps[0],
            stamps[1],
            stamps[2],
            stamps[3]
        ],
    )?;
    Ok(())
}
