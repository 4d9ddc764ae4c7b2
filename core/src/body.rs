//! How a record's body is laid out before it is sealed, so that its stored length tells nothing
//! but roughly how much free text it holds (docs/SECURITY.md §2, "Lengths").
//!
//! Format 1: the byte `0x01`, then the record as JSON in which every enum, flag, set of enum
//! values, number and optional date or id has one fixed width (the `fixed` helpers below), then
//! spaces up to the record kind's size bucket. The JSON written before format 1 (no tag; enums by
//! name, flags as `true`/`false`, sets as arrays) is still read: JSON never starts with `0x01`,
//! and every helper accepts the old form too. Only format 1 is written.
//!
//! The same types also serialise for other readers (the CLI's `--json`): there the helpers write
//! the natural form (names, booleans, numbers, `null`); only `encode` switches them to fixed
//! widths, for the one serialisation it runs on this thread.

use std::cell::Cell;

use serde::{Serialize, de::DeserializeOwned};
use zeroize::Zeroizing;

use crate::error::{Error, Result};

/// The leading byte of format 1. JSON text cannot start with a control character.
const FORMAT_1: u8 = 0x01;

/// The bucket a body of `len` bytes is padded to: at least `floor` (the record kind's usual
/// size, so that most records of a kind have one length), above it Padmé (Nikitin et al.,
/// PETS 2019): the length keeps only its top bits, at most 12 % bigger, and reveals
/// O(log log len) bits of the text's length.
pub(crate) fn bucket(len: usize, floor: usize) -> usize {
    if len <= floor {
        return floor;
    }
    // len > floor >= 0, so len >= 1.
    let e = usize::BITS - 1 - len.leading_zeros();
    if e == 0 {
        return len;
    }
    let s = u32::BITS - e.leading_zeros();
    let mask = (1usize << (e - s)) - 1;
    (len + mask) & !mask
}

thread_local! {
    /// Set while `encode` serialises a body on this thread.
    static STORING: Cell<bool> = const { Cell::new(false) };
}

/// Whether the value being serialised is a stored body (fixed widths) or for another reader.
fn storing() -> bool {
    STORING.with(Cell::get)
}

/// Marks this thread as laying out a body; dropping it (return, error or panic) restores.
struct Storing(bool);

impl Storing {
    fn enter() -> Self {
        Storing(STORING.with(|c| c.replace(true)))
    }
}

impl Drop for Storing {
    fn drop(&mut self) {
        STORING.with(|c| c.set(self.0));
    }
}

/// Where a body is serialised: first only counted, so that it can then be written once into a
/// buffer of its bucket's size (a growing buffer would leave copies of the plaintext behind, not
/// zeroized). One type for both passes, so each record type's serialisation is compiled once.
enum Sink<'a> {
    Count(usize),
    Fill(&'a mut Vec<u8>),
}

impl std::io::Write for Sink<'_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        match self {
            Sink::Count(n) => *n += buf.len(),
            Sink::Fill(out) => out.extend_from_slice(buf),
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Lays out `value` in format 1, padded to its bucket.
pub(crate) fn encode<T: Serialize>(value: &T, floor: usize) -> Result<Zeroizing<Vec<u8>>> {
    encode_with(floor, &mut |sink| {
        serde_json::to_writer(sink, value).map_err(|_| Error::Crypto)
    })
}

/// The part of `encode` that does not depend on the record's type (compiled once).
fn encode_with(
    floor: usize,
    write: &mut dyn FnMut(&mut Sink) -> Result<()>,
) -> Result<Zeroizing<Vec<u8>>> {
    let _storing = Storing::enter();
    let mut sink = Sink::Count(0);
    write(&mut sink)?;
    let len = match sink {
        Sink::Count(n) => n,
        Sink::Fill(_) => 0,
    };
    let size = bucket(1 + len, floor);
    let mut out = Zeroizing::new(Vec::with_capacity(size));
    out.push(FORMAT_1);
    write(&mut Sink::Fill(&mut out))?;
    out.resize(size, b' ');
    Ok(out)
}

/// Reads a body in format 1 or in the older plain JSON. `None` when it is neither.
// One copy per record type, shared by every caller, rather than one inlined into each (size).
#[inline(never)]
pub(crate) fn decode<T: DeserializeOwned>(plain: &[u8]) -> Option<T> {
    let json = match plain.split_first() {
        Some((&FORMAT_1, rest)) => rest,
        _ => plain,
    };
    serde_json::from_slice(json).ok()
}

/// Serde helpers that give a value one width whatever it is. Each reads the old form as well.
///
/// Every helper reads through one visitor (`Raw`) and converts without generics, so serde_json's
/// parser is compiled once for all of them, not once per enum (the phone library's size).
pub(crate) mod fixed {
    use std::fmt;

    use chrono::{NaiveDate, SecondsFormat};
    use serde::de::{self, Deserializer, SeqAccess, Visitor};
    use serde::{Serialize, Serializer};

    use super::storing;
    use chrono::{DateTime, Utc};

    /// An enum stored by its position in `ALL`: two digits, whichever the variant.
    /// `ALL` lists every variant in declaration order, `NAMES` their serde names (the old form)
    /// in the same order, separated by spaces (one string rather than a slice: the phone
    /// library's size);
    /// a new variant goes at the end.
    pub(crate) trait Coded: Copy + PartialEq + Serialize + 'static {
        const ALL: &'static [Self];
        const NAMES: &'static str;
    }

    /// A stored value as JSON gave it, in the old form or the new.
    enum Raw {
        Null,
        Bool(bool),
        Int(i64),
        Text(String),
        List(Vec<String>),
    }

    struct RawVisitor;

    impl<'de> Visitor<'de> for RawVisitor {
        type Value = Raw;

        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("a stored value")
        }

        fn visit_unit<E: de::Error>(self) -> Result<Raw, E> {
            Ok(Raw::Null)
        }

        fn visit_bool<E: de::Error>(self, v: bool) -> Result<Raw, E> {
            Ok(Raw::Bool(v))
        }

        fn visit_i64<E: de::Error>(self, v: i64) -> Result<Raw, E> {
            Ok(Raw::Int(v))
        }

        fn visit_u64<E: de::Error>(self, v: u64) -> Result<Raw, E> {
            i64::try_from(v)
                .map(Raw::Int)
                .map_err(|_| E::custom("number too big"))
        }

        fn visit_str<E: de::Error>(self, v: &str) -> Result<Raw, E> {
            Ok(Raw::Text(v.to_owned()))
        }

        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Raw, A::Error> {
            let mut out = Vec::new();
            while let Some(s) = seq.next_element::<String>()? {
                out.push(s);
            }
            Ok(Raw::List(out))
        }
    }

    fn raw<'de, D: Deserializer<'de>>(d: D) -> Result<Raw, D::Error> {
        d.deserialize_any(RawVisitor)
    }

    fn bad<E: de::Error>(what: &'static str) -> E {
        E::custom(what)
    }

    /// A variant's position from its two-digit code, or from its name (the old form).
    fn position_of(text: &str, names: &str) -> Option<usize> {
        if text.len() == 2 && text.bytes().all(|b| b.is_ascii_digit()) {
            text.parse().ok().filter(|i| *i < names.split(' ').count())
        } else {
            names.split(' ').position(|n| n == text)
        }
    }

    /// Shared rather than inlined into each enum's serialiser (the phone library's size).
    #[inline(never)]
    fn two_digits(i: usize) -> String {
        format!("{i:02}")
    }

    fn position<T: Coded>(v: &T) -> Option<usize> {
        T::ALL.iter().position(|x| x == v)
    }

    pub(crate) mod code {
        use super::*;

        pub(crate) fn serialize<S: Serializer, T: Coded>(v: &T, s: S) -> Result<S::Ok, S::Error> {
            if !storing() {
                return v.serialize(s);
            }
            let i = position(v).ok_or_else(|| serde::ser::Error::custom("variant not in ALL"))?;
            s.serialize_str(&two_digits(i))
        }

        pub(crate) fn deserialize<'de, D: Deserializer<'de>, T: Coded>(
            d: D,
        ) -> Result<T, D::Error> {
            let i = code_at(d, T::NAMES)?;
            T::ALL.get(i).copied().ok_or_else(|| bad("unknown code"))
        }

        /// The type-independent part, compiled once.
        fn code_at<'de, D: Deserializer<'de>>(d: D, names: &str) -> Result<usize, D::Error> {
            match raw(d)? {
                Raw::Text(t) => position_of(&t, names).ok_or_else(|| bad("unknown code")),
                _ => Err(bad("expected a code")),
            }
        }
    }

    /// Positions set in a stored set: one '0'/'1' per variant, or an array of names (old form).
    fn positions_of(raw: Raw, names: &str) -> Option<Vec<usize>> {
        match raw {
            Raw::Text(bits) if bits.len() == names.split(' ').count() => bits
                .bytes()
                .enumerate()
                .filter(|(_, b)| *b != b'0')
                .map(|(i, b)| (b == b'1').then_some(i))
                .collect(),
            Raw::List(items) => items.iter().map(|t| position_of(t, names)).collect(),
            _ => None,
        }
    }

    /// A set of enum values as one '0'/'1' per variant of `ALL`, in that (sorted) order.
    pub(crate) mod set {
        use super::*;

        #[allow(clippy::ptr_arg)]
        pub(crate) fn serialize<S: Serializer, T: Coded>(
            v: &Vec<T>,
            s: S,
        ) -> Result<S::Ok, S::Error> {
            if !storing() {
                return v.serialize(s);
            }
            let bits: String = T::ALL
                .iter()
                .map(|x| if v.contains(x) { '1' } else { '0' })
                .collect();
            s.serialize_str(&bits)
        }

        pub(crate) fn deserialize<'de, D: Deserializer<'de>, T: Coded>(
            d: D,
        ) -> Result<Vec<T>, D::Error> {
            set_at(d, T::NAMES)?
                .into_iter()
                .map(|i| T::ALL.get(i).copied())
                .collect::<Option<_>>()
                .ok_or_else(|| bad("bad set"))
        }

        /// The type-independent part, compiled once.
        fn set_at<'de, D: Deserializer<'de>>(d: D, names: &str) -> Result<Vec<usize>, D::Error> {
            positions_of(raw(d)?, names).ok_or_else(|| bad("bad set"))
        }
    }

    /// A flag as `0` or `1` (`true` and `false` differ by a byte).
    pub(crate) mod flag {
        use super::*;

        pub(crate) fn serialize<S: Serializer>(v: &bool, s: S) -> Result<S::Ok, S::Error> {
            if !storing() {
                return s.serialize_bool(*v);
            }
            s.serialize_u8(u8::from(*v))
        }

        pub(crate) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
            match raw(d)? {
                Raw::Bool(b) => Ok(b),
                Raw::Int(0) => Ok(false),
                Raw::Int(1) => Ok(true),
                _ => Err(bad("bad flag")),
            }
        }
    }

    /// What stands for an absent value of a fixed width: as many spaces as the width (36 for an
    /// id, the widest).
    const BLANK: &str = "                                    ";

    /// Width of a number: a sign and 19 digits hold any i64.
    const NUM_WIDTH: usize = 20;

    fn num_text(n: Option<i64>) -> String {
        match n {
            Some(n) => format!("{n:+020}"),
            None => BLANK[..NUM_WIDTH].to_owned(),
        }
    }

    /// A number, or none: text (new form), or a JSON number or `null` (old form).
    fn number(raw: Raw) -> Option<Option<i64>> {
        match raw {
            Raw::Null => Some(None),
            Raw::Int(n) => Some(Some(n)),
            Raw::Text(t) if t.trim().is_empty() => Some(None),
            Raw::Text(t) => t.trim().parse().ok().map(Some),
            _ => None,
        }
    }

    pub(crate) mod num {
        use super::*;

        pub(crate) fn serialize<S: Serializer, T: Copy + Into<i64> + Serialize>(
            v: &T,
            s: S,
        ) -> Result<S::Ok, S::Error> {
            if !storing() {
                return v.serialize(s);
            }
            s.serialize_str(&num_text(Some((*v).into())))
        }

        pub(crate) fn deserialize<'de, D: Deserializer<'de>, T: TryFrom<i64>>(
            d: D,
        ) -> Result<T, D::Error> {
            number(raw(d)?)
                .flatten()
                .and_then(|n| T::try_from(n).ok())
                .ok_or_else(|| bad("bad number"))
        }
    }

    pub(crate) mod opt_num {
        use super::*;

        pub(crate) fn serialize<S: Serializer, T: Copy + Into<i64> + Serialize>(
            v: &Option<T>,
            s: S,
        ) -> Result<S::Ok, S::Error> {
            if !storing() {
                return v.serialize(s);
            }
            s.serialize_str(&num_text(v.map(Into::into)))
        }

        pub(crate) fn deserialize<'de, D: Deserializer<'de>, T: TryFrom<i64>>(
            d: D,
        ) -> Result<Option<T>, D::Error> {
            match number(raw(d)?) {
                Some(None) => Ok(None),
                Some(Some(n)) => T::try_from(n).map(Some).map_err(|_| bad("bad number")),
                None => Err(bad("bad number")),
            }
        }
    }

    /// A value stored as a number code (an ethnic group): what `num_code` needs of its type.
    pub(crate) trait NumCode: Serialize + Sized {
        fn num_code(&self) -> u8;
        fn from_num_code(code: u8) -> Option<Self>;
    }

    /// A number code as two digits (an ethnic group's code was a JSON number of one or two).
    pub(crate) mod num_code {
        use super::*;

        pub(crate) fn serialize<T: NumCode, S: Serializer>(v: &T, s: S) -> Result<S::Ok, S::Error> {
            if !storing() {
                return v.serialize(s);
            }
            s.serialize_str(&two_digits(usize::from(v.num_code())))
        }

        pub(crate) fn deserialize<'de, T: NumCode, D: Deserializer<'de>>(
            d: D,
        ) -> Result<T, D::Error> {
            let code: u8 = super::num::deserialize(d)?;
            T::from_num_code(code).ok_or_else(|| bad("unknown code"))
        }
    }

    /// Text that is either absent or of a known width (a date, an id): absence is spaces (new
    /// form) or `null` (old form).
    fn opt_text(raw: Raw) -> Option<Option<String>> {
        match raw {
            Raw::Null => Some(None),
            Raw::Text(t) => {
                let t = t.trim();
                Some((!t.is_empty()).then(|| t.to_owned()))
            }
            _ => None,
        }
    }

    /// An optional date: `YYYY-MM-DD`, or ten spaces.
    pub(crate) mod opt_date {
        use super::*;

        pub(crate) fn serialize<S: Serializer>(
            v: &Option<NaiveDate>,
            s: S,
        ) -> Result<S::Ok, S::Error> {
            if !storing() {
                return v.serialize(s);
            }
            match v {
                // Display is YYYY-MM-DD for any year a record can hold (validated not in the
                // future nor 120 years back).
                Some(d) => s.serialize_str(&d.to_string()),
                None => s.serialize_str(&BLANK[..10]),
            }
        }

        pub(crate) fn deserialize<'de, D: Deserializer<'de>>(
            d: D,
        ) -> Result<Option<NaiveDate>, D::Error> {
            match opt_text(raw(d)?) {
                Some(None) => Ok(None),
                Some(Some(t)) => t.parse().map(Some).map_err(|_| bad("bad date")),
                None => Err(bad("bad date")),
            }
        }
    }

    /// An optional record id (a UUID, 36 characters), or 36 spaces.
    pub(crate) mod opt_id {
        use super::*;

        pub(crate) fn serialize<S: Serializer>(
            v: &Option<String>,
            s: S,
        ) -> Result<S::Ok, S::Error> {
            if !storing() {
                return v.serialize(s);
            }
            match v {
                Some(id) => s.serialize_str(id),
                None => s.serialize_str(BLANK),
            }
        }

        pub(crate) fn deserialize<'de, D: Deserializer<'de>>(
            d: D,
        ) -> Result<Option<String>, D::Error> {
            opt_text(raw(d)?).ok_or_else(|| bad("bad id"))
        }
    }

    /// A moment with all nine fractional digits (chrono's default drops trailing zeros).
    pub(crate) fn time<S: Serializer>(v: &DateTime<Utc>, s: S) -> Result<S::Ok, S::Error> {
        if !storing() {
            return v.serialize(s);
        }
        s.serialize_str(&v.to_rfc3339_opts(SecondsFormat::Nanos, true))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::*;

    /// Bodies as the release before format 1 wrote them (padded with spaces to 64 bytes).
    fn old<T: DeserializeOwned>(json: &str) -> T {
        let mut bytes = json.as_bytes().to_vec();
        bytes.resize(bytes.len().div_ceil(64) * 64, b' ');
        decode(&bytes).unwrap()
    }

    fn round_trip<T: Serialize + DeserializeOwned + PartialEq + std::fmt::Debug>(v: &T) {
        let plain = encode(v, 64).unwrap();
        assert_eq!(plain[0], FORMAT_1);
        assert_eq!(decode::<T>(&plain).as_ref(), Some(v));
    }

    #[test]
    fn old_json_bodies_are_read_and_rewritten_in_format_1() {
        let m: MemberInput = old(
            r#"{"full_name":"Vi Thị Hoa","birth_year":2006,"gender":"Female","ethnic_group":3,"village":"Bản Chai","phone":null,"role":"Member","survivor_status":"Returnee","safe_to_contact":false}"#,
        );
        assert_eq!(m.survivor_status, SurvivorStatus::Returnee);
        assert_eq!(m.ethnic_group.name(), "Thái");
        assert_eq!((m.birth_year, m.safe_to_contact), (Some(2006), false));
        round_trip(&m);
        let plain = encode(&m, 64).unwrap();
        let text = String::from_utf8_lossy(&plain);
        for name in ["Returnee", "Female", "Member", "false"] {
            assert!(!text.contains(name), "{name} in {text}");
        }
        let c: ConsentInput = old(
            r#"{"member_id":"m","purposes":["VocationalTraining","Loans"],"recipient":"ProvincialUnion","fields":["Name","Need"],"method":"VerbalWithWitness","witness":"Lường Văn Khánh","given_on":"2026-01-02"}"#,
        );
        assert_eq!(
            c.purposes,
            [SupportService::VocationalTraining, SupportService::Loans]
        );
        assert_eq!(c.fields, [SharedField::Name, SharedField::Need]);
        round_trip(&c);
        let r: ReferralInput = old(
            r#"{"member_id":"m","services":["Psychological"],"urgency":"Emergency","note":"","recipient":"CommuneUnion","shared_fields":["Story"],"consent_id":null}"#,
        );
        assert_eq!(
            (r.urgency, r.consent_id.as_deref()),
            (Urgency::Emergency, None)
        );
        round_trip(&r);
        let l: LivelihoodInput = old(
            r#"{"member_id":"m","kind":"Livestock","date":"2026-01-02","amount_vnd":null,"quantity":2,"unit":"con dê","note":""}"#,
        );
        assert_eq!((l.amount_vnd, l.quantity), (None, Some(2)));
        round_trip(&l);
        let f: SupportFollowUp =
            old(r#"{"date":"2026-01-02","outcome":"NeedsMoreHelp","note":"x"}"#);
        assert_eq!(f.outcome, Outcome::NeedsMoreHelp);
        round_trip(&f);
        let g: MeetingInput = old(
            r#"{"club_id":"c","date":"2026-01-02","topic":"t","place":"p","facilitator":"f","attendees":["a"],"guest_count":3,"notes":"","follow_ups":[{"task":"t","person":"p","due":"2026-01-09","done":true}]}"#,
        );
        assert_eq!((g.guest_count, g.follow_ups[0].done), (3, true));
        round_trip(&g);
        let s: StateChange =
            old(r#"{"state":"InProgress","at":"2026-01-02T03:04:05.5Z","by":"u","note":""}"#);
        assert_eq!(s.state, ReferralState::InProgress);
        round_trip(&s);
        let k: ClubInput = old(
            r#"{"name":"n","kind":"SafeMigration","province":"p","commune":"c","village":null,"former_district":null}"#,
        );
        assert_eq!(k.kind, ClubKind::SafeMigration);
        round_trip(&k);
    }

    #[test]
    fn other_readers_still_get_names_booleans_and_numbers() {
        let f = FollowUp {
            task: "t".into(),
            person: "p".into(),
            due: chrono::NaiveDate::from_ymd_opt(2026, 1, 9).unwrap(),
            done: true,
        };
        let s = SupportFollowUp {
            date: f.due,
            outcome: Outcome::EarningIncome,
            note: String::new(),
        };
        let json = serde_json::to_string(&(&f, &s)).unwrap();
        assert!(json.contains(r#""done":true"#), "{json}");
        assert!(json.contains(r#""outcome":"EarningIncome""#), "{json}");
        let stored = String::from_utf8(encode(&(&f, &s), 1).unwrap().to_vec()).unwrap();
        assert!(stored.contains(r#""done":1"#), "{stored}");
        assert!(stored.contains(r#""outcome":"00""#), "{stored}");
    }

    /// `NAMES` must be what serde writes for each variant (the old bodies' form).
    fn names_match_serde<T: fixed::Coded>() {
        for (v, name) in T::ALL.iter().zip(T::NAMES.split(' ')) {
            assert_eq!(serde_json::to_string(v).unwrap(), format!("\"{name}\""));
        }
        assert_eq!(T::ALL.len(), T::NAMES.split(' ').count());
    }

    #[test]
    fn stored_names_are_serdes_names() {
        names_match_serde::<ClubKind>();
        names_match_serde::<Gender>();
        names_match_serde::<MemberRole>();
        names_match_serde::<SurvivorStatus>();
        names_match_serde::<SupportService>();
        names_match_serde::<Recipient>();
        names_match_serde::<SharedField>();
        names_match_serde::<ConsentMethod>();
        names_match_serde::<LivelihoodKind>();
        names_match_serde::<Outcome>();
        names_match_serde::<Urgency>();
        names_match_serde::<ReferralState>();
    }

    #[test]
    fn a_damaged_code_or_set_is_refused_not_guessed() {
        let bad = |json: &str| decode::<ConsentInput>(json.as_bytes()).is_none();
        let ok = r#"{"member_id":"m","purposes":"000000011000","recipient":"00","fields":"100000010","method":"00","witness":null,"given_on":"2026-01-02"}"#;
        assert!(!bad(ok));
        assert!(bad(
            &ok.replace(r#""recipient":"00""#, r#""recipient":"07""#)
        ));
        assert!(bad(&ok.replace("000000011000", "00000001100")));
        assert!(bad(&ok.replace("000000011000", "000000021000")));
    }

    #[test]
    fn buckets_grow_in_few_steps_and_never_shrink() {
        assert_eq!(bucket(1, 512), 512);
        assert_eq!(bucket(512, 512), 512);
        assert_eq!(bucket(513, 512), 544);
        assert_eq!(bucket(1000, 512), 1024);
        assert_eq!(bucket(5000, 512), 5120);
        let mut last = 0;
        for len in 1..100_000 {
            let b = bucket(len, 256);
            assert!(b >= len && b >= last && b - len <= len / 8 + 256);
            last = b;
        }
    }
}
