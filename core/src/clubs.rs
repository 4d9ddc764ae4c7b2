//! Clubs: a name and a place, listed in Vietnamese order. Sealed under the store's record key.

use crate::db::{self, CLUBS, Db, RawRow};
use crate::domain::{Club, ClubInput};
use crate::error::Result;
use crate::session::Session;

pub(crate) fn add(db: Db<'_>, s: &Session, input: &ClubInput) -> Result<Club> {
    let info = input.normalized()?;
    let id = db::new_id();
    let stamp = db.write_record(s, &CLUBS, &id, "", "", &info, None)?;
    Ok(Club { id, info, stamp })
}

pub(crate) fn update(db: Db<'_>, s: &Session, id: &str, input: &ClubInput) -> Result<Club> {
    let info = input.normalized()?;
    let old = CLUBS.read_one(db.conn, id)?;
    let stamp = db.write_record(s, &CLUBS, id, "", "", &info, Some(&old))?;
    Ok(Club {
        id: id.to_owned(),
        info,
        stamp,
    })
}

pub(crate) fn get(db: Db<'_>, s: &Session, id: &str) -> Result<Club> {
    let raw = CLUBS.read_one(db.conn, id)?;
    let (info, stamp) = db.open_record(s, &CLUBS, &raw)?;
    Ok(Club {
        id: raw.id,
        info,
        stamp,
    })
}

/// All clubs on this phone, in Vietnamese order of their names.
pub(crate) fn all(db: Db<'_>, s: &Session) -> Result<Vec<Club>> {
    let rows = CLUBS.read(db.conn, "WHERE ?1 = ''", "")?;
    let mut out = db.open_each(s, &CLUBS, rows, |raw| {
        let (info, stamp) = db.open_record::<ClubInput>(s, &CLUBS, raw)?;
        Ok(Club {
            id: raw.id.clone(),
            info,
            stamp,
        })
    })?;
    out.sort_by_cached_key(|c| crate::text::text_sort_key(&c.info.name));
    Ok(out)
}

/// Writes a club row as it was, id and stamps kept, with no trail entry: only for the duress
/// decoy, which copies the trail's entries itself (`version` is the copied entry that last wrote
/// the club).
pub(crate) fn put_as(
    db: Db<'_>,
    s: &Session,
    id: &str,
    info: &ClubInput,
    stamps: [String; 4],
    version: i64,
) -> Result<()> {
    let raw = RawRow {
        id: id.to_owned(),
        owner: String::new(),
        extra: String::new(),
        body: Vec::new(),
        stamps,
        version,
    };
    let (key, kid) = db.key_for(s, &CLUBS, id, "")?;
    // Today's encoding and bucket, as every real club row: a decoy row must not stand out.
    let plain = crate::body::encode(info, CLUBS.floor)?;
    let sealed = crate::crypto::seal(key, kid, &db::place(&CLUBS, id, &raw.bound()), &plain)?;
    CLUBS.write(db.conn, &raw, &sealed)
}
