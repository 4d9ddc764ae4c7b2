//! Every record body's layout before it is sealed (core/src/body.rs, the store's body types):
//! - junk decodes to an error (`None`), never a panic; what junk decodes to re-encodes to a
//!   fixed point (encode, decode, encode gives the same bytes), and the upgrade's reseal
//!   (`reencode`) is idempotent for each table;
//! - any value the store would write (built from fuzz bytes, through the store's validation)
//!   encodes to `0x01` + JSON padded to its size bucket and decodes back to an equal value;
//! - two values that differ only in enums, flags, sets, numbers, dates or ids encode to the
//!   same length (docs/SECURITY.md §2, "Lengths": the length tells nothing but the free text).
#![no_main]

use arbitrary::{Result, Unstructured};
use chrono::{DateTime, NaiveDate, Utc};
use chungtay_core::fuzzing::{
    bucket, decode_body, decode_consent_body, decode_livelihood_body, decode_referral_body,
    encode_body, encode_consent_body, encode_livelihood_body, encode_referral_body, normalize_club,
    normalize_consent, normalize_livelihood, normalize_meeting, normalize_member,
    normalize_referral, normalize_support_follow_up, reencode,
};
use chungtay_core::*;
use libfuzzer_sys::fuzz_target;
use serde::Serialize;
use serde::de::DeserializeOwned;

fn today() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 12, 3).unwrap()
}

fn pick<T: Copy>(u: &mut Unstructured, all: &[T]) -> Result<T> {
    u.choose(all).copied()
}

/// A set as the store keeps it: distinct values (validation sorts them).
fn set<T: Copy + PartialEq>(u: &mut Unstructured, all: &[T]) -> Result<Vec<T>> {
    let mut out = Vec::new();
    for _ in 0..u.int_in_range(0..=all.len())? {
        let v = pick(u, all)?;
        if !out.contains(&v) {
            out.push(v);
        }
    }
    Ok(out)
}

/// Dates: usually a plausible one, sometimes any with a four-digit year (what a date picker
/// can give).
fn date(u: &mut Unstructured) -> Result<NaiveDate> {
    let (start, days) = if u.ratio(1, 8)? {
        (
            NaiveDate::from_ymd_opt(1, 1, 1).unwrap(),
            u.int_in_range(0..=3_652_058)?,
        )
    } else {
        (
            NaiveDate::from_ymd_opt(1900, 1, 1).unwrap(),
            u.int_in_range(0..=73_000)?,
        )
    };
    Ok(start + chrono::Days::new(days))
}

/// An instant as the store writes one (the clock): years 1970 to 9999, any nanosecond.
fn instant(u: &mut Unstructured) -> Result<DateTime<Utc>> {
    let secs = u.int_in_range(0..=253_402_300_799i64)?;
    let nanos = u.int_in_range(0..=999_999_999u32)?;
    Ok(DateTime::from_timestamp(secs, nanos).unwrap())
}

/// A record id: the store makes UUIDs.
fn id(u: &mut Unstructured) -> Result<String> {
    let b: [u8; 16] = u.arbitrary()?;
    Ok(uuid::Uuid::from_bytes(b).hyphenated().to_string())
}

fn text(u: &mut Unstructured) -> Result<String> {
    u.arbitrary()
}

fn opt_text(u: &mut Unstructured) -> Result<Option<String>> {
    u.arbitrary()
}

const SERVICES: [SupportService; 12] = [
    SupportService::EssentialNeeds,
    SupportService::HealthCare,
    SupportService::Psychological,
    SupportService::LegalAid,
    SupportService::Schooling,
    SupportService::VocationalTraining,
    SupportService::Jobs,
    SupportService::Loans,
    SupportService::HardshipAllowance,
    SupportService::SafeAccommodation,
    SupportService::IdentityPapers,
    SupportService::Interpretation,
];
const FIELDS: [SharedField; 9] = [
    SharedField::Name,
    SharedField::BirthYear,
    SharedField::Gender,
    SharedField::EthnicGroup,
    SharedField::Commune,
    SharedField::Village,
    SharedField::Phone,
    SharedField::Need,
    SharedField::Story,
];
const RECIPIENTS: [Recipient; 2] = [Recipient::ProvincialUnion, Recipient::CommuneUnion];
const STATES: [ReferralState; 10] = [
    ReferralState::Draft,
    ReferralState::Ready,
    ReferralState::Queued,
    ReferralState::Sent,
    ReferralState::Received,
    ReferralState::Accepted,
    ReferralState::Declined,
    ReferralState::InProgress,
    ReferralState::Completed,
    ReferralState::Withdrawn,
];

// The parts of each record that are not free text, so that they can be drawn again.

fn club_codes(u: &mut Unstructured, v: &mut ClubInput) -> Result<()> {
    v.kind = pick(
        u,
        &[
            ClubKind::AntiTrafficking,
            ClubKind::SafeMigration,
            ClubKind::FamilyFiveThree,
        ],
    )?;
    Ok(())
}

fn member_codes(u: &mut Unstructured, v: &mut MemberInput) -> Result<()> {
    v.birth_year = if u.arbitrary()? {
        Some(u.int_in_range(1906..=2026)?)
    } else {
        None
    };
    v.gender = pick(u, &[Gender::Female, Gender::Male, Gender::Other])?;
    v.ethnic_group = EthnicGroup::from_code(u.int_in_range(1..=54)?).unwrap();
    v.role = pick(
        u,
        &[MemberRole::Leader, MemberRole::Deputy, MemberRole::Member],
    )?;
    v.survivor_status = pick(
        u,
        &[
            SurvivorStatus::NotASurvivor,
            SurvivorStatus::Survivor,
            SurvivorStatus::Returnee,
            SurvivorStatus::Withheld,
        ],
    )?;
    v.safe_to_contact = u.arbitrary()?;
    Ok(())
}

fn consent_codes(u: &mut Unstructured, v: &mut ConsentInput) -> Result<()> {
    v.member_id = id(u)?;
    v.purposes = set(u, &SERVICES)?;
    v.recipient = pick(u, &RECIPIENTS)?;
    v.fields = set(u, &FIELDS)?;
    // The method decides whether a witness is needed (free text): kept when redrawn.
    v.given_on = date(u)?;
    Ok(())
}

fn livelihood_codes(u: &mut Unstructured, v: &mut LivelihoodInput) -> Result<()> {
    v.member_id = id(u)?;
    v.kind = pick(
        u,
        &[
            LivelihoodKind::SeedCapital,
            LivelihoodKind::Livestock,
            LivelihoodKind::Tools,
            LivelihoodKind::VocationalCourse,
            LivelihoodKind::JobPlacement,
            LivelihoodKind::SocialPolicyLoan,
        ],
    )?;
    v.date = date(u)?;
    v.amount_vnd = if u.arbitrary()? {
        Some(u.int_in_range(0..=i64::MAX)?)
    } else {
        None
    };
    // A quantity needs a unit (free text): only its value is redrawn.
    if v.quantity.is_some() {
        v.quantity = Some(u.int_in_range(0..=i32::MAX)?);
    }
    Ok(())
}

fn follow_up_codes(u: &mut Unstructured, v: &mut SupportFollowUp) -> Result<()> {
    v.date = date(u)?;
    v.outcome = pick(
        u,
        &[
            Outcome::EarningIncome,
            Outcome::StillWorking,
            Outcome::NeedsMoreHelp,
            Outcome::Stopped,
        ],
    )?;
    Ok(())
}

fn referral_codes(u: &mut Unstructured, v: &mut ReferralInput) -> Result<()> {
    v.member_id = id(u)?;
    v.services = set(u, &SERVICES)?;
    v.urgency = pick(u, &[Urgency::Routine, Urgency::Urgent, Urgency::Emergency])?;
    v.recipient = pick(u, &RECIPIENTS)?;
    v.shared_fields = set(u, &FIELDS)?;
    v.consent_id = if u.arbitrary()? { Some(id(u)?) } else { None };
    Ok(())
}

fn state_codes(u: &mut Unstructured, v: &mut StateChange) -> Result<()> {
    v.state = pick(u, &STATES)?;
    v.at = instant(u)?;
    v.by = id(u)?;
    Ok(())
}

/// Checks a value the store would write: its layout, its round trip, and that redrawing every
/// non-text part (`redraw`, then `normalize` as the store would) keeps its length.
fn check<T: Serialize + DeserializeOwned + PartialEq + Clone>(
    u: &mut Unstructured,
    value: T,
    decode: impl Fn(&[u8]) -> Option<T>,
    encode: impl Fn(&T, usize) -> Vec<u8>,
    redraw: impl Fn(&mut Unstructured, &mut T) -> Result<()>,
    normalize: impl Fn(&T) -> Option<T>,
) -> Result<()> {
    let floor = usize::from(u.arbitrary::<u16>()? % 4097);
    let plain = encode(&value, floor);
    assert_eq!(plain[0], 0x01, "format 1");
    let json_len = plain.iter().rposition(|&b| b != b' ').unwrap();
    assert_eq!(
        plain.len(),
        bucket(json_len + 1, floor),
        "padded to its bucket"
    );
    assert!(
        decode(&plain) == Some(value.clone()),
        "decode(encode(x)) == x"
    );
    assert_eq!(encode(&value, floor), plain, "one encoding per value");
    let mut other = value.clone();
    redraw(u, &mut other)?;
    // Through the store's validation again (it sorts sets, for one).
    if let Some(other) = normalize(&other) {
        assert!(decode(&encode(&other, 1)) == Some(other.clone()));
        assert_eq!(
            encode(&value, 1).len(),
            encode(&other, 1).len(),
            "a code, flag, number, date or id changed the length"
        );
    }
    Ok(())
}

fn enc<T: Serialize>(v: &T, floor: usize) -> Vec<u8> {
    encode_body(v, floor).unwrap()
}

/// Junk as a body of type T: `None`, or a value whose encoding is a fixed point.
fn junk<T: Serialize + DeserializeOwned>(data: &[u8]) {
    if let Some(v) = decode_body::<T>(data) {
        let once = enc(&v, 1);
        let back: T = decode_body(&once).expect("an encoded body decodes");
        assert_eq!(enc(&back, 1), once, "re-encoding is a fixed point");
    }
}

fn run(mode: u8, u: &mut Unstructured) -> Result<()> {
    let today = today();
    match mode % 10 {
        0 => {
            let mut v = ClubInput {
                name: text(u)?,
                kind: ClubKind::AntiTrafficking,
                province: text(u)?,
                commune: text(u)?,
                village: opt_text(u)?,
                former_district: opt_text(u)?,
            };
            club_codes(u, &mut v)?;
            if let Ok(v) = normalize_club(&v) {
                check(u, v, decode_body, enc, club_codes, |x| {
                    normalize_club(x).ok()
                })?;
            }
        }
        1 => {
            let mut v = MemberInput {
                full_name: text(u)?,
                birth_year: None,
                gender: Gender::Female,
                ethnic_group: EthnicGroup::from_code(1).unwrap(),
                village: text(u)?,
                phone: opt_text(u)?,
                role: MemberRole::Member,
                survivor_status: SurvivorStatus::Survivor,
                safe_to_contact: false,
            };
            member_codes(u, &mut v)?;
            if let Ok(v) = normalize_member(&v, today) {
                check(u, v, decode_body, enc, member_codes, |x| {
                    normalize_member(x, today).ok()
                })?;
            }
        }
        2 => {
            let mut v = ConsentInput {
                member_id: String::new(),
                purposes: Vec::new(),
                recipient: Recipient::CommuneUnion,
                fields: Vec::new(),
                method: pick(
                    u,
                    &[ConsentMethod::SignedPaper, ConsentMethod::VerbalWithWitness],
                )?,
                witness: opt_text(u)?,
                given_on: today,
            };
            consent_codes(u, &mut v)?;
            let withdrawn = if u.arbitrary()? { Some(date(u)?) } else { None };
            if let Ok(v) = normalize_consent(&v, today) {
                check(u, v.clone(), decode_body, enc, consent_codes, |x| {
                    normalize_consent(x, today).ok()
                })?;
                // As the consents table stores it, with the date it was withdrawn.
                let body = (v, withdrawn);
                check(
                    u,
                    body,
                    decode_consent_body,
                    |(v, w), floor| encode_consent_body(v, *w, floor).unwrap(),
                    |u, (v, w)| {
                        consent_codes(u, v)?;
                        *w = if u.arbitrary()? { Some(date(u)?) } else { None };
                        Ok(())
                    },
                    |(x, w)| Some((normalize_consent(x, today).ok()?, *w)),
                )?;
            }
        }
        3 => {
            let mut follow_ups = Vec::new();
            for _ in 0..u.int_in_range(0..=3)? {
                follow_ups.push(FollowUp {
                    task: text(u)?,
                    person: text(u)?,
                    due: date(u)?,
                    done: u.arbitrary()?,
                });
            }
            let mut attendees = Vec::new();
            for _ in 0..u.int_in_range(0..=4)? {
                attendees.push(id(u)?);
            }
            let v = MeetingInput {
                club_id: id(u)?,
                date: date(u)?,
                topic: text(u)?,
                place: text(u)?,
                facilitator: text(u)?,
                attendees,
                guest_count: u.int_in_range(0..=i32::MAX)?,
                notes: text(u)?,
                follow_ups,
            };
            let redraw = |u: &mut Unstructured, v: &mut MeetingInput| -> Result<()> {
                v.club_id = id(u)?;
                v.date = date(u)?;
                v.guest_count = u.int_in_range(0..=i32::MAX)?;
                for a in &mut v.attendees {
                    *a = id(u)?;
                }
                for f in &mut v.follow_ups {
                    f.due = date(u)?;
                    f.done = u.arbitrary()?;
                }
                Ok(())
            };
            if let Ok(v) = normalize_meeting(&v, today) {
                check(u, v, decode_body, enc, redraw, |x| {
                    normalize_meeting(x, today).ok()
                })?;
            }
        }
        4 => {
            let mut v = LivelihoodInput {
                member_id: String::new(),
                kind: LivelihoodKind::Tools,
                date: today,
                amount_vnd: None,
                quantity: if u.arbitrary()? { Some(0) } else { None },
                unit: opt_text(u)?,
                note: text(u)?,
            };
            livelihood_codes(u, &mut v)?;
            let mut follow_ups = Vec::new();
            for _ in 0..u.int_in_range(0..=3)? {
                let mut f = SupportFollowUp {
                    date: today,
                    outcome: Outcome::Stopped,
                    note: text(u)?,
                };
                follow_up_codes(u, &mut f)?;
                if let Ok(f) = normalize_support_follow_up(&f, today) {
                    follow_ups.push(f);
                }
            }
            if let Ok(v) = normalize_livelihood(&v, today) {
                check(u, v.clone(), decode_body, enc, livelihood_codes, |x| {
                    normalize_livelihood(x, today).ok()
                })?;
                for f in &follow_ups {
                    check(u, f.clone(), decode_body, enc, follow_up_codes, |x| {
                        normalize_support_follow_up(x, today).ok()
                    })?;
                }
                check(
                    u,
                    (v, follow_ups),
                    decode_livelihood_body,
                    |(v, f), floor| encode_livelihood_body(v, f, floor).unwrap(),
                    |u, (v, f)| {
                        livelihood_codes(u, v)?;
                        for x in f.iter_mut() {
                            follow_up_codes(u, x)?;
                        }
                        Ok(())
                    },
                    |(x, f)| {
                        let f = f.iter().map(|f| normalize_support_follow_up(f, today).ok());
                        Some((
                            normalize_livelihood(x, today).ok()?,
                            f.collect::<Option<Vec<_>>>()?,
                        ))
                    },
                )?;
            }
        }
        5 => {
            let mut v = ReferralInput {
                member_id: String::new(),
                services: Vec::new(),
                urgency: Urgency::Routine,
                note: text(u)?,
                recipient: Recipient::CommuneUnion,
                shared_fields: Vec::new(),
                consent_id: None,
            };
            referral_codes(u, &mut v)?;
            let mut history = Vec::new();
            for _ in 0..u.int_in_range(0..=4)? {
                let mut s = StateChange {
                    state: ReferralState::Draft,
                    at: DateTime::UNIX_EPOCH,
                    by: String::new(),
                    note: text(u)?,
                };
                state_codes(u, &mut s)?;
                history.push(s);
            }
            if let Ok(v) = normalize_referral(&v) {
                check(u, v.clone(), decode_body, enc, referral_codes, |x| {
                    normalize_referral(x).ok()
                })?;
                for s in &history {
                    check(u, s.clone(), decode_body, enc, state_codes, |x| {
                        Some(x.clone())
                    })?;
                }
                check(
                    u,
                    (v, history),
                    decode_referral_body,
                    |(v, h), floor| encode_referral_body(v, h, floor).unwrap(),
                    |u, (v, h)| {
                        referral_codes(u, v)?;
                        for s in h.iter_mut() {
                            state_codes(u, s)?;
                        }
                        Ok(())
                    },
                    |(x, h)| Some((normalize_referral(x).ok()?, h.clone())),
                )?;
            }
        }
        _ => {
            // Junk, as every body type and as every table's upgrade reseal.
            let data = u.bytes(u.len())?;
            junk::<ClubInput>(data);
            junk::<MemberInput>(data);
            junk::<ConsentInput>(data);
            junk::<MeetingInput>(data);
            junk::<LivelihoodInput>(data);
            junk::<SupportFollowUp>(data);
            junk::<ReferralInput>(data);
            junk::<StateChange>(data);
            junk::<FollowUp>(data);
            for kind in [
                RecordKind::Club,
                RecordKind::Member,
                RecordKind::Consent,
                RecordKind::Meeting,
                RecordKind::Referral,
                RecordKind::Livelihood,
            ] {
                if let Ok(once) = reencode(kind, data) {
                    assert_eq!(once[0], 0x01);
                    assert_eq!(
                        reencode(kind, &once).unwrap(),
                        once,
                        "{kind:?}: reseal is idempotent"
                    );
                }
            }
            assert!(reencode(RecordKind::User, data).is_err());
        }
    }
    Ok(())
}

// `[mode][bytes...]`: modes 0 to 5 build a value of one record type from the bytes, the rest
// read the bytes as a stored body of every type.
fuzz_target!(|data: &[u8]| {
    if let Some((&mode, rest)) = data.split_first() {
        let _ = run(mode, &mut Unstructured::new(rest));
    }
});
