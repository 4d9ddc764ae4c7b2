//! In-memory member index, built once per unlock from the opened records and dropped (zeroized)
//! on lock. 10,000 members is a few MB; a linear scan of folded names takes well under a
//! millisecond, so no searchable ciphertext (blind index) is kept on disk to leak name patterns.
//! Kept in Vietnamese name order as members come and go, so a list or a page of it is read in
//! order and only what is shown is copied (nothing is sorted per call).

use std::collections::{BTreeMap, HashMap};

use zeroize::Zeroize;

use crate::domain::{EthnicGroup, Id, Member, MemberSummary};
use crate::text;

/// The key two records of one person share: folded name, birth year, folded village.
pub(crate) type PersonKey = (String, Option<i32>, String);

/// What a member list is filtered by. Empty text matches everyone.
#[cfg_attr(feature = "uniffi", uniffi::export(Debug))]
#[derive(Clone, Default, PartialEq, Eq)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct MemberFilter {
    pub text: String,
    pub club_id: Option<Id>,
    pub village: Option<String>,
    pub ethnic_group: Option<EthnicGroup>,
}

// The query text may be a name: keep it out of Debug.
crate::domain::redacted_debug!(MemberFilter { club_id });

struct Entry {
    summary: MemberSummary,
    folded_name: String,
    folded_village: String,
}

impl Drop for Entry {
    fn drop(&mut self) {
        self.summary.full_name.zeroize();
        self.summary.village.zeroize();
        self.summary.phone.zeroize();
        self.folded_name.zeroize();
        self.folded_village.zeroize();
    }
}

/// One page of a member list: the members shown, and how many match in all.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct MemberPage {
    pub members: Vec<MemberSummary>,
    pub total: u64,
}

/// An entry's place in the list: its name's sort key, ties broken by id.
type Place = (Vec<u8>, Id);

/// One member's entry and place, made ahead of `MemberIndex::from_staged`.
pub(crate) struct Staged {
    place: Place,
    entry: Option<Entry>,
}

impl Staged {
    pub(crate) fn of(member: &Member) -> Self {
        let entry = Entry {
            summary: summary_of(member),
            folded_name: text::fold(&member.info.full_name),
            folded_village: text::fold(&member.info.village),
        };
        let key = text::name_sort_key(&member.info.full_name);
        Staged {
            place: (key, member.id.clone()),
            entry: Some(entry),
        }
    }

    fn into_parts(mut self) -> Option<(Place, Entry)> {
        let entry = self.entry.take()?;
        Some((std::mem::take(&mut self.place), entry))
    }
}

impl Drop for Staged {
    fn drop(&mut self) {
        // Not taken into an index (an unlock that failed midway): the sort key goes too.
        self.place.0.zeroize();
        self.place.1.zeroize();
    }
}

#[derive(Default)]
pub(crate) struct MemberIndex {
    /// Every member in list order, so a list or a page is read front to back.
    entries: BTreeMap<Place, Entry>,
    /// Each member's sort key, to find her place.
    keys: HashMap<Id, Vec<u8>>,
}

fn zeroize_place((mut key, mut id): Place) {
    key.zeroize();
    id.zeroize();
}

impl Drop for MemberIndex {
    fn drop(&mut self) {
        // Sort keys are derived from names: zeroized like the entries' own copies.
        for (place, _) in std::mem::take(&mut self.entries) {
            zeroize_place(place);
        }
        for place in std::mem::take(&mut self.keys) {
            zeroize_place((place.1, place.0));
        }
    }
}

pub(crate) fn summary_of(m: &Member) -> MemberSummary {
    MemberSummary {
        id: m.id.clone(),
        club_id: m.club_id.clone(),
        full_name: m.info.full_name.clone(),
        birth_year: m.info.birth_year,
        gender: m.info.gender,
        ethnic_group: m.info.ethnic_group,
        village: m.info.village.clone(),
        role: m.info.role,
        safe_to_contact: m.info.safe_to_contact,
        phone: if m.info.safe_to_contact {
            m.info.phone.clone()
        } else {
            None
        },
    }
}

impl MemberIndex {
    pub(crate) fn upsert(&mut self, member: &Member) {
        self.remove(&member.id);
        if let Some(((key, id), entry)) = Staged::of(member).into_parts() {
            self.keys.insert(id.clone(), key.clone());
            self.entries.insert((key, id), entry);
        }
    }

    /// The index of every member at once (the unlock): one sort and a bulk build of the tree,
    /// not one insertion per member.
    pub(crate) fn from_staged(staged: Vec<Staged>) -> Self {
        let keys = staged
            .iter()
            .map(|s| (s.place.1.clone(), s.place.0.clone()))
            .collect();
        let entries = staged.into_iter().filter_map(Staged::into_parts).collect();
        Self { entries, keys }
    }

    pub(crate) fn remove(&mut self, id: &str) {
        if let Some((id, key)) = self.keys.remove_entry(id) {
            let place = (key, id);
            if let Some((stored, _entry)) = self.entries.remove_entry(&place) {
                zeroize_place(stored);
            }
            zeroize_place(place);
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }
    /// Every member by the key two records of one person share (see `import::person_key`):
    /// her id and club.
    pub(crate) fn by_person(&self) -> HashMap<PersonKey, (Id, Id)> {
        self.entries
            .values()
            .map(|e| {
                (
                    (
                        e.folded_name.clone(),
                        e.summary.birth_year,
                        e.folded_village.clone(),
                    ),
                    (e.summary.id.clone(), e.summary.club_id.clone()),
                )
            })
            .collect()
    }

    /// The villages of a club's members, each once, in Vietnamese order: what a screen's
    /// village filter offers without copying the whole list across. Spellings that fold alike
    /// are one village, as the filter matches them; the first in name order is shown.
    pub(crate) fn villages(&self, club_id: &str) -> Vec<String> {
        let mut seen: HashMap<&str, &str> = HashMap::new();
        for e in self.entries.values() {
            if e.summary.club_id == club_id && !e.folded_village.is_empty() {
                seen.entry(&e.folded_village).or_insert(&e.summary.village);
            }
        }
        let mut keyed: Vec<(Vec<u8>, String)> = seen
            .into_values()
            .map(|v| (text::text_sort_key(v), v.to_owned()))
            .collect();
        keyed.sort();
        keyed
            .into_iter()
            .map(|(mut key, village)| {
                key.zeroize();
                village
            })
            .collect()
    }

    /// Every member matching `filter`, in Vietnamese name order.
    pub(crate) fn search(&self, filter: &MemberFilter) -> Vec<MemberSummary> {
        self.page(filter, 0, usize::MAX).members
    }

    /// The members matching `filter` from the `offset`-th, at most `limit`, in Vietnamese name
    /// order, with how many match in all. Only the page's members are copied.
    pub(crate) fn page(&self, filter: &MemberFilter, offset: usize, limit: usize) -> MemberPage {
        let query = text::Query::parse(&filter.text);
        let village = filter.village.as_deref().map(text::fold);
        let mut members = Vec::new();
        let mut total = 0u64;
        for e in self.entries.values() {
            let hit = filter
                .club_id
                .as_ref()
                .is_none_or(|c| *c == e.summary.club_id)
                && village.as_ref().is_none_or(|v| *v == e.folded_village)
                && filter
                    .ethnic_group
                    .is_none_or(|g| g == e.summary.ethnic_group)
                && query.matches(&e.folded_name);
            if hit {
                if total >= offset as u64 && members.len() < limit {
                    members.push(e.summary.clone());
                }
                total += 1;
            }
        }
        MemberPage { members, total }
    }
}
