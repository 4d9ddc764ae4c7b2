//! In-memory member index, built once per unlock from the opened records and dropped (zeroized)
//! on lock. 10,000 members is a few MB; a linear scan of folded names takes well under a
//! millisecond, so no searchable ciphertext (blind index) is kept on disk to leak name patterns.

use std::collections::HashMap;

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
    sort_key: Vec<u8>,
}

impl Drop for Entry {
    fn drop(&mut self) {
        self.summary.full_name.zeroize();
        self.summary.village.zeroize();
        self.summary.phone.zeroize();
        self.folded_name.zeroize();
        self.folded_village.zeroize();
        self.sort_key.zeroize();
    }
}

#[derive(Default)]
pub(crate) struct MemberIndex {
    entries: HashMap<Id, Entry>,
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
        let entry = Entry {
            summary: summary_of(member),
            folded_name: text::fold(&member.info.full_name),
            folded_village: text::fold(&member.info.village),
            sort_key: text::name_sort_key(&member.info.full_name),
        };
        self.entries.insert(member.id.clone(), entry);
    }

    pub(crate) fn remove(&mut self, id: &str) {
        self.entries.remove(id);
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

    pub(crate) fn search(&self, filter: &MemberFilter) -> Vec<MemberSummary> {
        let query = text::Query::parse(&filter.text);
        let village = filter.village.as_deref().map(text::fold);
        let mut hits: Vec<&Entry> = self
            .entries
            .values()
            .filter(|e| {
                filter
                    .club_id
                    .as_ref()
                    .is_none_or(|c| *c == e.summary.club_id)
                    && village.as_ref().is_none_or(|v| *v == e.folded_village)
                    && filter
                        .ethnic_group
                        .is_none_or(|g| g == e.summary.ethnic_group)
                    && query.matches(&e.folded_name)
            })
            .collect();
        hits.sort_by(|a, b| {
            a.sort_key
                .cmp(&b.sort_key)
                .then_with(|| a.summary.id.cmp(&b.summary.id))
        });
        hits.into_iter().map(|e| e.summary.clone()).collect()
    }
}
