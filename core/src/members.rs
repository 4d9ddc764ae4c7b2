//! Members: the register. Each member's record is sealed under a key of her own (wrapped by the
//! store's member-key key), so that erasing that key erases her and everything of hers. The
//! member index (names folded for search, in Vietnamese order) lives in the session.

use rusqlite::{TransactionBehavior, params};
use zeroize::Zeroize;

use crate::access::Permission;
use crate::audit::AuditAction;
use crate::body;
use crate::crypto::{self, SecretKey, key_id_of};
use crate::db::{self, CLUBS, Db, MEMBERS, RawRow};
use crate::domain::{Member, MemberInput, SurvivorStatus};
use crate::error::{Error, Reason, RecordKind, Result, invalid};
use crate::import;
use crate::ledger::{self, NewEntry};
use crate::session::Session;

/// Adds members in one transaction: one fsync for the batch, each member still with her own
/// key and her own trail entry. All go in, or (on any invalid input or error) none does.
/// `progress` hears the count written so far (the commit, one fsync, follows the last).
pub(crate) fn add(
    db: Db<'_>,
    s: &mut Session,
    club_id: &str,
    inputs: &[MemberInput],
    progress: &mut dyn FnMut(usize),
) -> Result<Vec<Member>> {
    let today = db::today();
    let infos = inputs
        .iter()
        .map(|input| {
            let info = input.normalized(today)?;
            if info.survivor_status == SurvivorStatus::Withheld {
                return invalid("survivor_status", Reason::Missing);
            }
            Ok(info)
        })
        .collect::<Result<Vec<_>>>()?;
    CLUBS.require(db.conn, club_id)?;
    let now = db::now_text();
    let tx = rusqlite::Transaction::new_unchecked(db.conn, TransactionBehavior::Immediate)?;
    let mut added = Vec::with_capacity(infos.len());
    let mut trail = ledger::Batch::start(&tx, s, db.store_id)?;
    for info in infos {
        let id = db::new_id();
        let member_key = Box::new(SecretKey::generate()?);
        let wrapped = crypto::seal(
            &s.member_wrap,
            db.store_kid,
            &db::member_key_place(&id),
            member_key.as_bytes(),
        )?;
        let body = body::encode(&info, MEMBERS.floor)?;
        let raw = RawRow {
            id: id.clone(),
            owner: club_id.to_owned(),
            extra: String::new(),
            body: Vec::new(),
            stamps: [
                now.clone(),
                s.user_id.clone(),
                now.clone(),
                s.user_id.clone(),
            ],
            version: trail.next_seq(),
        };
        let sealed = crypto::seal(
            &member_key,
            key_id_of(RecordKind::Member, &id)?,
            &db::place(&MEMBERS, &raw.id, &raw.bound()),
            &body,
        )?;
        tx.prepare_cached("INSERT INTO member_keys (member_id, wrapped_key) VALUES (?1, ?2)")?
            .execute(params![id, wrapped])?;
        MEMBERS.write(&tx, &raw, &sealed)?;
        let seq = trail.append(
            &tx,
            s,
            db.store_id,
            NewEntry::new(AuditAction::Create, Some(RecordKind::Member), &id),
        )?;
        db::check_written(seq, &raw)?;
        let member = Member {
            id,
            club_id: club_id.to_owned(),
            stamp: raw.stamp(RecordKind::Member)?,
            info,
        };
        added.push((member, member_key, raw.digest(sealed.as_bytes())));
        progress(added.len());
    }
    trail.finish(&tx, s)?;
    tx.commit()?;
    // Only once it is durable does the session learn of it: a failed batch leaves no trace.
    let mut out = Vec::with_capacity(added.len());
    for (member, member_key, digest) in added {
        // Her id is `new_id`'s, so canonical: the key is always kept.
        let _kept = s.member_keys.insert(&member.id, member_key);
        s.index.upsert(&member, digest);
        out.push(member);
    }
    Ok(out.into_iter().map(|m| masked(s, m)).collect())
}

/// What importing `table` into a club would do (see `Store::plan_member_import`).
pub(crate) fn plan_import(
    db: Db<'_>,
    s: &Session,
    club_id: &str,
    table: &import::Table,
    options: &import::ImportOptions,
) -> Result<std::result::Result<import::ImportPlan, import::ImportError>> {
    CLUBS.require(db.conn, club_id)?;
    let mut existing = s.index.by_person();
    let plan = import::plan(table, options, db::today(), |key| {
        existing.get(key).cloned()
    });
    // A copy of every member's folded name and village: wiped like the index it came from.
    for ((mut name, _, mut village), _) in existing.drain() {
        name.zeroize();
        village.zeroize();
    }
    Ok(plan)
}

/// Writes a plan's rows in one transaction; never a survivor status from a file, whatever the
/// plan was made of.
pub(crate) fn import(
    db: Db<'_>,
    s: &mut Session,
    club_id: &str,
    plan: &import::ImportPlan,
    allow_duplicates: bool,
) -> Result<Vec<Member>> {
    let inputs: Vec<MemberInput> = plan
        .to_add(allow_duplicates)
        .into_iter()
        .map(|r| MemberInput {
            survivor_status: SurvivorStatus::NotASurvivor,
            ..r.input.clone()
        })
        .collect();
    add(db, s, club_id, &inputs, &mut |_| {})
}

pub(crate) fn update(db: Db<'_>, s: &mut Session, id: &str, input: &MemberInput) -> Result<Member> {
    let mut info = input.normalized(db::today())?;
    let old = MEMBERS.read_one(db.conn, id)?;
    let stored = db::open_member(db.conn, s, &old)?.info;
    if info.survivor_status == SurvivorStatus::Withheld {
        // A role that cannot read the status sends it back withheld: keep what is stored.
        info.survivor_status = stored.survivor_status;
    }
    if info.phone.is_none() && !stored.safe_to_contact {
        // The form never showed the hidden number: keep it rather than erase it. (To remove
        // it, mark the member safe first, then clear the number.)
        info.phone = stored.phone;
    }
    // The index's snapshot from the last lock still holds her old name, village or number:
    // gone with the old row, not left until the next lock (a new one is sealed then).
    let (stamp, digest) =
        db.write_pinned(s, &MEMBERS, id, &old.owner, "", &info, Some(&old), |tx| {
            crate::snapshot::discard(tx)
        })?;
    let member = Member {
        id: id.to_owned(),
        club_id: old.owner,
        info,
        stamp,
    };
    s.index.upsert(&member, digest);
    Ok(masked(s, member))
}

/// A member as the unlocked user may see her; the caller notes the read.
pub(crate) fn as_shown(db: Db<'_>, s: &Session, id: &str) -> Result<Member> {
    let raw = MEMBERS.read_one(db.conn, id)?;
    let member = db::open_member(db.conn, s.require(Permission::ReadRecords)?, &raw)?;
    Ok(masked(s, member))
}

/// A member, whole, for building a referral payload (the sync is noted in the trail instead).
pub(crate) fn unlogged(db: Db<'_>, s: &Session, id: &str) -> Result<Member> {
    let raw = MEMBERS.read_one(db.conn, id)?;
    db::open_member(db.conn, s.require(Permission::ReadRecords)?, &raw)
}

/// A member as the unlocked user's role may see her. Every call that hands a member back
/// (read, create, update) goes through here, so a write never returns what a read withholds.
pub(crate) fn masked(s: &Session, mut member: Member) -> Member {
    if !s.may(Permission::ReadSurvivorStatus) {
        member.info.survivor_status = SurvivorStatus::Withheld;
    }
    // Someone who must not be contacted has no number on any screen (see contact_phone).
    if !member.info.safe_to_contact {
        member.info.phone = None;
    }
    member
}

/// The one member a batch of one added.
pub(crate) fn one(mut added: Vec<Member>) -> Result<Member> {
    added.pop().ok_or_else(|| Error::NotFound {
        kind: RecordKind::Member,
        id: String::new(),
    })
}

/// A club's members for a file: with names (and phones of those who may be contacted) when
/// `with_names`, otherwise de-identified. Noted in the trail as an export. The caller checks
/// that the role may take names off the phone.
pub(crate) fn export(
    db: Db<'_>,
    s: &Session,
    club_id: &str,
    with_names: bool,
) -> Result<import::MemberExport> {
    let members = s
        .index
        .search(&crate::index::MemberFilter::club(club_id))
        .into_iter()
        .map(|m| import::ExportedMember {
            code: m.id,
            full_name: with_names.then_some(m.full_name),
            birth_year: m.birth_year,
            gender: m.gender,
            ethnic_group: m.ethnic_group,
            village: m.village,
            phone: if with_names && m.safe_to_contact {
                m.phone
            } else {
                None
            },
            role: m.role,
            do_not_contact: !m.safe_to_contact,
        })
        .collect();
    let mut fields = vec!["members".to_owned()];
    if with_names {
        fields.push("names".to_owned());
    }
    db.note(s, AuditAction::Export, RecordKind::Club, club_id, fields)?;
    Ok(import::MemberExport {
        with_names,
        members,
    })
}
