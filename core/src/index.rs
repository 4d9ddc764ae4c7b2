//! In-memory member index, built once per unlock from the opened records and dropped (zeroized)
//! on lock. 10,000 members is a few MB; a linear scan of folded names takes well under a
//! millisecond, so no searchable ciphertext (blind index) is kept on disk to leak name patterns.
//! Kept in Vietnamese name order as members come and go, so a list or a page of it is read in
//! order and only what is shown is copied (nothing is sorted per call).

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use zeroize::{Zeroize, Zeroizing};

use crate::domain::{EthnicGroup, Gender, Id, Member, MemberRole, MemberSummary};
use crate::text;

/// A row pinned: SHA-256 of its id, every column its seal binds, its version and its sealed
/// body (`RawRow::digest`), its first 128 bits (to forge a row to a given digest is a second
/// preimage, 2^128 work; kept short, as the index holds one per member). The index keeps each member's, and the next unlock takes the index's
/// sealed snapshot only if every member row still has it (`snapshot`).
pub(crate) type RowDigest = [u8; DIGEST_LEN];
pub(crate) const DIGEST_LEN: usize = 16;

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

impl MemberFilter {
    /// Every member of one club: what a club's list, export and report read.
    pub fn club(club_id: &str) -> MemberFilter {
        MemberFilter {
            club_id: Some(club_id.to_owned()),
            ..MemberFilter::default()
        }
    }
}

/// A member as the index keeps her: what a list row shows, and her folded name and village
/// for search. Her id and sort key are in her place, shared with the map by id; her club's id
/// is shared by the club's entries. Her texts are `Texts` of her own while staged, then a
/// `Span` of the index's `Arena` (which holds a copy of her id too, for the list to read).
struct Entry<T = Span> {
    club_id: Arc<str>,
    texts: T,
    birth_year: Option<i32>,
    gender: Gender,
    ethnic_group: EthnicGroup,
    role: MemberRole,
    safe_to_contact: bool,
    /// Her row as last opened or written in this session (see `snapshot`).
    digest: RowDigest,
}

/// A staged entry's texts in one allocation, each where the one before it ends. Zeroized on
/// drop.
struct Texts {
    all: Box<str>,
    /// Where the name, the village, the phone and the folded name end; the folded village
    /// ends with `all`.
    ends: [usize; 4],
    has_phone: bool,
}

impl Texts {
    fn new(
        full_name: &str,
        village: &str,
        phone: Option<&str>,
        folded_name: &str,
        folded_village: &str,
    ) -> Texts {
        let parts = [
            full_name,
            village,
            phone.unwrap_or(""),
            folded_name,
            folded_village,
        ];
        // Sized exactly, so the buffer never grows and leaves a copy behind.
        let mut all = String::with_capacity(parts.iter().map(|p| p.len()).sum());
        let mut ends = [0; 4];
        for (i, part) in parts.iter().enumerate() {
            all.push_str(part);
            if let Some(end) = ends.get_mut(i) {
                *end = all.len();
            }
        }
        Texts {
            all: all.into_boxed_str(),
            ends,
            has_phone: phone.is_some(),
        }
    }

    fn part(&self, i: usize) -> &str {
        let start = match i {
            0 => 0,
            _ => self.ends[i - 1],
        };
        let end = self.ends.get(i).map_or(self.all.len(), |&e| e);
        &self.all[start..end]
    }
    fn full_name(&self) -> &str {
        self.part(0)
    }
    fn village(&self) -> &str {
        self.part(1)
    }
    fn phone(&self) -> Option<&str> {
        self.has_phone.then(|| self.part(2))
    }
    fn folded_name(&self) -> &str {
        self.part(3)
    }
    fn folded_village(&self) -> &str {
        self.part(4)
    }
}

impl Drop for Texts {
    fn drop(&mut self) {
        self.all.zeroize();
    }
}

/// Where an entry's texts are in the index's arena: her id, name, village, phone, folded name
/// and folded village end to end from `start`, each ending at its `ends` (from `start`).
struct Span {
    start: usize,
    ends: [usize; 6],
    has_phone: bool,
}

impl Span {
    fn len(&self) -> usize {
        self.ends[5]
    }
}

/// Every entry's texts end to end in one buffer, in list order up to `ordered` (as of the last
/// lay-out, or the unlock), then in the order they were added since: a list or a search reads
/// them front to back. Kept in the order members were added instead, a list of 50,000 took a
/// cache miss for each (docs/PERFORMANCE.md). Zeroized on drop. Never reallocated with texts in
/// it: a larger buffer is made and the old one dropped, so zeroized (a reallocation would free
/// the old block as it was).
#[derive(Default)]
struct Arena {
    text: Zeroizing<String>,
    /// Where the part in list order ends.
    ordered: usize,
    /// Bytes of that part zeroed since, their entry gone or moved to the end.
    erased_ordered: usize,
    /// Bytes of the entries in the index: what a lay-out copies.
    live: usize,
}

impl Arena {
    /// An arena for texts that will be pushed in list order, `n` bytes in all.
    fn ordered(n: usize) -> Arena {
        Arena {
            text: Zeroizing::new(String::with_capacity(n)),
            ..Arena::default()
        }
    }

    /// Bytes out of list order: those added after `ordered`, and those zeroed before it.
    fn stray(&self) -> usize {
        self.text.len() - self.ordered + self.erased_ordered
    }

    /// Appends an entry's texts (with her id first).
    fn push(&mut self, id: &str, t: &Texts) -> Span {
        let parts = [
            id,
            t.full_name(),
            t.village(),
            t.phone().unwrap_or(""),
            t.folded_name(),
            t.folded_village(),
        ];
        let add: usize = parts.iter().map(|p| p.len()).sum();
        if self.text.capacity() - self.text.len() < add {
            // By a quarter, not double: the buffer is most of the index's memory.
            let want = (self.text.len() + add).max(self.text.capacity() / 4 * 5);
            let mut grown = Zeroizing::new(String::with_capacity(want.max(4096)));
            grown.push_str(&self.text);
            self.text = grown;
        }
        let start = self.text.len();
        let mut ends = [0; 6];
        for (end, part) in ends.iter_mut().zip(parts) {
            self.text.push_str(part);
            *end = self.text.len() - start;
        }
        self.live += add;
        Span {
            start,
            ends,
            has_phone: t.phone().is_some(),
        }
    }

    fn part(&self, span: &Span, i: usize) -> &str {
        let from = match i {
            0 => 0,
            _ => span.ends[i - 1],
        };
        &self.text[span.start + from..span.start + span.ends[i]]
    }

    /// Zeroes an entry's texts where they are (zero bytes are valid UTF-8); the space stays
    /// until the next lay-out.
    fn erase(&mut self, span: &Span) {
        self.text.as_mut_str()[span.start..span.start + span.len()].zeroize();
        self.live -= span.len();
        if span.start < self.ordered {
            self.erased_ordered += span.len();
        }
    }
}

/// A member list's row as the index holds it: a `MemberSummary` that borrows instead of
/// copying, for a caller that packs many rows into something else (the FFI's columns) and
/// would otherwise copy every text twice. Same fields, same rules (no survivor status; no
/// phone when contact is unsafe). No `Debug`: it is all personal data.
#[derive(Clone, Copy)]
pub struct MemberRow<'a> {
    pub id: &'a str,
    pub club_id: &'a str,
    pub full_name: &'a str,
    pub birth_year: Option<i32>,
    pub gender: Gender,
    pub ethnic_group: EthnicGroup,
    pub village: &'a str,
    pub role: MemberRole,
    pub safe_to_contact: bool,
    pub phone: Option<&'a str>,
}

impl MemberRow<'_> {
    pub fn to_summary(&self) -> MemberSummary {
        MemberSummary {
            id: self.id.to_owned(),
            club_id: self.club_id.to_owned(),
            full_name: self.full_name.to_owned(),
            birth_year: self.birth_year,
            gender: self.gender,
            ethnic_group: self.ethnic_group,
            village: self.village.to_owned(),
            role: self.role,
            safe_to_contact: self.safe_to_contact,
            phone: self.phone.map(str::to_owned),
        }
    }
}

/// One page of a member list: the members shown, and how many match in all.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct MemberPage {
    pub members: Vec<MemberSummary>,
    pub total: u64,
}

/// An entry's place in the list: its name's sort key, ties broken by id. Both are shared with
/// the map from id to place, not copied.
type Place = (Arc<[u8]>, Arc<str>);

/// One member's entry, sort key and id, made ahead of `MemberIndex::from_staged` (on the
/// unlock's worker threads, so its club is not yet the index's shared one).
pub(crate) struct Staged {
    /// Made shared here, so that the index takes them as they are, without a copy each.
    key: Arc<[u8]>,
    id: Arc<str>,
    club_id: Id,
    entry: Option<Entry<Texts>>,
}

impl Staged {
    /// `member`, whose row (as opened or written) has `digest`.
    pub(crate) fn of(member: &Member, digest: RowDigest) -> Self {
        let i = &member.info;
        let folded_name = Zeroizing::new(text::fold(&i.full_name));
        let folded_village = Zeroizing::new(text::fold(&i.village));
        let entry = Entry {
            club_id: Arc::from(""),
            texts: Texts::new(
                &i.full_name,
                &i.village,
                // Someone who must not be contacted has no number on any list.
                i.phone.as_deref().filter(|_| i.safe_to_contact),
                &folded_name,
                &folded_village,
            ),
            birth_year: i.birth_year,
            gender: i.gender,
            ethnic_group: i.ethnic_group,
            role: i.role,
            safe_to_contact: i.safe_to_contact,
            digest,
        };
        let mut key = text::name_sort_key(&i.full_name);
        let shared = Arc::from(key.as_slice());
        key.zeroize();
        Staged {
            key: shared,
            id: Arc::from(member.id.as_str()),
            club_id: member.club_id.clone(),
            entry: Some(entry),
        }
    }
}

impl Drop for Staged {
    fn drop(&mut self) {
        // Derived from her name: zeroized wherever it is left (an unlock that failed midway),
        // unless the index holds it now (and zeroizes it when it lets go).
        if let Some(key) = Arc::get_mut(&mut self.key) {
            key.zeroize();
        }
        if let Some(id) = Arc::get_mut(&mut self.id) {
            id.zeroize();
        }
    }
}

#[derive(Default)]
pub(crate) struct MemberIndex {
    /// Every member in list order, so a list or a page is read front to back.
    entries: BTreeMap<Place, Entry>,
    /// Each member's place, by id.
    places: HashMap<Arc<str>, Arc<[u8]>>,
    /// The clubs' ids, each once.
    clubs: Vec<Arc<str>>,
    /// Every entry's texts.
    arena: Arena,
}

/// Zeroizes a place's sort key and id once nothing else holds them.
fn zeroize_place((mut key, mut id): Place) {
    if let Some(bytes) = Arc::get_mut(&mut key) {
        bytes.zeroize();
    }
    if let Some(text) = Arc::get_mut(&mut id) {
        text.zeroize();
    }
}

impl Drop for MemberIndex {
    fn drop(&mut self) {
        // Sort keys are derived from names: zeroized like the entries' own copies.
        self.places.clear();
        for (place, _) in std::mem::take(&mut self.entries) {
            zeroize_place(place);
        }
    }
}

impl MemberIndex {
    /// The index's shared copy of a club id.
    fn club(&mut self, club_id: &str) -> Arc<str> {
        // Kept sorted: an auditor's phone holds hundreds of clubs, looked up once a member.
        match self.clubs.binary_search_by(|c| (**c).cmp(club_id)) {
            Ok(i) => self.clubs[i].clone(),
            Err(i) => {
                let c: Arc<str> = Arc::from(club_id);
                self.clubs.insert(i, c.clone());
                c
            }
        }
    }

    /// Takes a staged member in: her key and id shared with the index, her club the index's.
    fn take(&mut self, mut staged: Staged) -> Option<(Place, Entry<Texts>)> {
        let mut entry = staged.entry.take()?;
        entry.club_id = self.club(&staged.club_id);
        let (key, id) = (staged.key.clone(), staged.id.clone());
        self.places.insert(id.clone(), key.clone());
        Some(((key, id), entry))
    }

    /// A taken entry with her texts moved to the end of the arena (her own copy zeroized).
    fn placed(&mut self, id: &str, e: Entry<Texts>) -> Entry {
        let Entry {
            club_id,
            texts,
            birth_year,
            gender,
            ethnic_group,
            role,
            safe_to_contact,
            digest,
        } = e;
        Entry {
            club_id,
            texts: self.arena.push(id, &texts),
            birth_year,
            gender,
            ethnic_group,
            role,
            safe_to_contact,
            digest,
        }
    }

    pub(crate) fn upsert(&mut self, member: &Member, digest: RowDigest) {
        self.remove(&member.id);
        if let Some((place, entry)) = self.take(Staged::of(member, digest)) {
            let entry = self.placed(&place.1, entry);
            // `remove` took her place out of the tree, so nothing should be replaced here; were
            // anything, its texts are zeroed, not left in the arena.
            if let Some(old) = self.entries.insert(place, entry) {
                self.arena.erase(&old.texts);
            }
            self.lay_out_if_stray();
        }
    }

    /// The index of every member at once (the unlock): one sort, the texts laid out in that
    /// order, and a bulk build of the tree, not one insertion per member.
    pub(crate) fn from_staged(staged: Vec<Staged>) -> Self {
        let mut index = Self::default();
        index.places.reserve(staged.len());
        let mut taken: Vec<(Place, Entry<Texts>)> =
            staged.into_iter().filter_map(|s| index.take(s)).collect();
        // Stable, as the tree's own build is (a snapshot's members come in order already).
        taken.sort_by(|a, b| a.0.cmp(&b.0));
        // Of one place twice (ids are the rows' primary keys, so never in a sound file), the
        // last is kept, as the tree would keep it; the other's texts are zeroized here instead
        // of left in the arena.
        taken.dedup_by(|later, kept| {
            let same = later.0 == kept.0;
            if same {
                std::mem::swap(later, kept);
            }
            same
        });
        let size = taken
            .iter()
            .map(|((_, id), e)| id.len() + e.texts.all.len())
            .sum();
        index.arena = Arena::ordered(size);
        let placed: Vec<(Place, Entry)> = taken
            .into_iter()
            .map(|(place, e)| {
                let e = index.placed(&place.1, e);
                (place, e)
            })
            .collect();
        index.entries = placed.into_iter().collect();
        index.arena.ordered = index.arena.text.len();
        index
    }

    /// Copies every entry's texts into a new arena in list order once an eighth of it (and at
    /// least 64 KiB) is out of order; the old one is zeroized as it is dropped.
    fn lay_out_if_stray(&mut self) {
        let stray = self.arena.stray();
        if stray < 64 * 1024 || stray * 8 < self.arena.text.len() {
            return;
        }
        // Sized to the live texts exactly, so it never reallocates while they are copied in.
        let mut laid = Arena::ordered(self.arena.live);
        for e in self.entries.values_mut() {
            let start = laid.text.len();
            laid.text
                .push_str(&self.arena.text[e.texts.start..e.texts.start + e.texts.len()]);
            e.texts.start = start;
        }
        debug_assert_eq!(laid.text.len(), self.arena.live);
        laid.live = laid.text.len();
        laid.ordered = laid.text.len();
        self.arena = laid;
    }

    pub(crate) fn remove(&mut self, id: &str) {
        if let Some((id, key)) = self.places.remove_entry(id) {
            let place = (key, id);
            if let Some((_, e)) = self.entries.remove_entry(&place) {
                self.arena.erase(&e.texts);
            }
            zeroize_place(place);
            self.lay_out_if_stray();
        }
    }

    /// A row of the list, borrowed from the entry and the arena.
    fn row<'a>(&'a self, e: &'a Entry) -> MemberRow<'a> {
        let (a, t) = (&self.arena, &e.texts);
        MemberRow {
            id: a.part(t, 0),
            club_id: &e.club_id,
            full_name: a.part(t, 1),
            birth_year: e.birth_year,
            gender: e.gender,
            ethnic_group: e.ethnic_group,
            village: a.part(t, 2),
            role: e.role,
            safe_to_contact: e.safe_to_contact,
            phone: t.has_phone.then(|| a.part(t, 3)),
        }
    }

    /// Everything the snapshot keeps of an entry.
    fn fields<'a>(&'a self, e: &'a Entry) -> Fields<'a> {
        Fields {
            row: self.row(e),
            folded_name: self.arena.part(&e.texts, 4),
            folded_village: self.arena.part(&e.texts, 5),
            digest: &e.digest,
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }
    /// Every member by the key two records of one person share (see `import::person_key`):
    /// her id and club.
    pub(crate) fn by_person(&self) -> HashMap<PersonKey, (Id, Id)> {
        self.entries
            .iter()
            .map(|((_, id), e)| {
                (
                    (
                        self.arena.part(&e.texts, 4).to_owned(),
                        e.birth_year,
                        self.arena.part(&e.texts, 5).to_owned(),
                    ),
                    (id.to_string(), e.club_id.to_string()),
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
            let folded_village = self.arena.part(&e.texts, 5);
            if &*e.club_id == club_id && !folded_village.is_empty() {
                seen.entry(folded_village)
                    .or_insert(self.arena.part(&e.texts, 2));
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
        let mut members = Vec::new();
        let total = self.visit(filter, offset, limit, |m| members.push(m.to_summary()));
        MemberPage { members, total }
    }

    /// Calls `f` with the members matching `filter` from the `offset`-th, at most `limit`, in
    /// Vietnamese name order, and returns how many match in all.
    pub(crate) fn visit(
        &self,
        filter: &MemberFilter,
        offset: usize,
        limit: usize,
        mut f: impl FnMut(MemberRow<'_>),
    ) -> u64 {
        let query = text::Query::parse(&filter.text);
        let village = filter.village.as_deref().map(text::fold);
        let mut shown = 0usize;
        let mut total = 0u64;
        for e in self.entries.values() {
            let hit = filter.club_id.as_ref().is_none_or(|c| **c == *e.club_id)
                && village
                    .as_ref()
                    .is_none_or(|v| *v == self.arena.part(&e.texts, 5))
                && filter.ethnic_group.is_none_or(|g| g == e.ethnic_group)
                && query.matches(self.arena.part(&e.texts, 4));
            if hit {
                if total >= offset as u64 && shown < limit {
                    f(self.row(e));
                    shown += 1;
                }
                total += 1;
            }
        }
        total
    }
}

// ---- the sealed snapshot's contents (see `snapshot`) -------------------------------------

impl Staged {
    pub(crate) fn id(&self) -> &str {
        &self.id
    }

    pub(crate) fn digest(&self) -> Option<&RowDigest> {
        self.entry.as_ref().map(|e| &e.digest)
    }
}

fn put_bytes(out: &mut Vec<u8>, bytes: &[u8]) {
    out.extend_from_slice(&(bytes.len() as u32).to_le_bytes());
    out.extend_from_slice(bytes);
}

/// Reads what `MemberIndex::snapshot_chunks` wrote; `None` at the first thing out of place.
struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let (head, rest) = self.0.split_at_checked(n)?;
        self.0 = rest;
        Some(head)
    }
    fn byte(&mut self) -> Option<u8> {
        Some(self.take(1)?[0])
    }
    fn u32(&mut self) -> Option<u32> {
        Some(u32::from_le_bytes(self.take(4)?.try_into().ok()?))
    }
    fn bytes(&mut self) -> Option<&'a [u8]> {
        let n = self.u32()? as usize;
        self.take(n)
    }
    fn text(&mut self) -> Option<&'a str> {
        std::str::from_utf8(self.bytes()?).ok()
    }
}

impl MemberIndex {
    /// Every member in list order, `per` to a chunk, each chunk encoded on its own, padded with
    /// zeros to a multiple of `pad`, handed to `each` with its number and zeroized after: what
    /// `snapshot::save` seals, one chunk in memory at a time. Within a chunk, each member's
    /// entry but her id is sealed by `seal` (under her own key, which `overhead` bytes longer),
    /// so that erasing her key erases her from every copy.
    pub(crate) fn snapshot_chunks<E>(
        &self,
        per: usize,
        pad: usize,
        overhead: usize,
        mut seal: impl FnMut(&str, &[u8]) -> Result<Vec<u8>, E>,
        mut each: impl FnMut(usize, &[u8]) -> Result<(), E>,
    ) -> Result<(), E> {
        let all: Vec<_> = self.entries.iter().collect();
        for (i, part) in all.chunks(per.max(1)).enumerate() {
            // Sized exactly beforehand: a buffer that grew would leave unzeroized copies behind.
            let size: usize = 4 + part
                .iter()
                .map(|((key, id), e)| {
                    4 + id.len() + 4 + entry_size(key, &self.fields(e)) + overhead
                })
                .sum::<usize>();
            let padded = size.div_ceil(pad.max(1)) * pad.max(1);
            let mut out = Zeroizing::new(Vec::with_capacity(padded));
            out.extend_from_slice(&(part.len() as u32).to_le_bytes());
            for ((key, id), e) in part {
                let fields = self.fields(e);
                let mut plain = Zeroizing::new(Vec::with_capacity(entry_size(key, &fields)));
                put_entry(&mut plain, key, &fields);
                debug_assert_eq!(plain.len(), entry_size(key, &fields));
                put_bytes(&mut out, id.as_bytes());
                put_bytes(&mut out, &seal(id, &plain)?);
            }
            debug_assert_eq!(out.len(), size);
            out.resize(padded, 0);
            each(i, &out)?;
        }
        Ok(())
    }

    /// How many chunks of `per` `snapshot_chunks` makes.
    pub(crate) fn snapshot_chunk_count(&self, per: usize) -> usize {
        self.entries.len().div_ceil(per.max(1))
    }
}

/// An entry as the snapshot seals it (but her id and sort key).
struct Fields<'a> {
    row: MemberRow<'a>,
    folded_name: &'a str,
    folded_village: &'a str,
    digest: &'a RowDigest,
}

/// The length `put_entry` writes.
fn entry_size(key: &[u8], f: &Fields<'_>) -> usize {
    let r = &f.row;
    let texts = [
        r.club_id.len(),
        key.len(),
        r.full_name.len(),
        r.village.len(),
    ];
    let folded = [f.folded_name.len(), f.folded_village.len()];
    let phone = r.phone.map_or(0, |p| 4 + p.len());
    texts.iter().chain(&folded).map(|n| 4 + n).sum::<usize>() + 5 + 5 + phone + DIGEST_LEN
}

/// An entry but its id, as the snapshot seals it.
fn put_entry(out: &mut Vec<u8>, key: &[u8], f: &Fields<'_>) {
    let r = &f.row;
    put_bytes(out, r.club_id.as_bytes());
    put_bytes(out, key);
    put_bytes(out, r.full_name.as_bytes());
    match r.birth_year {
        Some(y) => {
            out.push(1);
            out.extend_from_slice(&y.to_le_bytes());
        }
        None => out.extend_from_slice(&[0; 5]),
    }
    out.push(r.gender.code());
    out.push(r.ethnic_group.code());
    put_bytes(out, r.village.as_bytes());
    out.push(r.role.code());
    out.push(u8::from(r.safe_to_contact));
    match r.phone {
        Some(p) => {
            out.push(1);
            put_bytes(out, p.as_bytes());
        }
        None => out.push(0),
    }
    put_bytes(out, f.folded_name.as_bytes());
    put_bytes(out, f.folded_village.as_bytes());
    out.extend_from_slice(f.digest);
}

/// The members of one chunk `snapshot_chunks` wrote, in its order, each entry opened by `open`
/// (with her id, into the buffer given); `None` if anything in it is out of place or does not
/// open (then the unlock opens every member instead).
pub(crate) fn staged_from_chunk(
    bytes: &[u8],
    mut open: impl FnMut(&str, &[u8], &mut Zeroizing<Vec<u8>>) -> Option<()>,
) -> Option<Vec<Staged>> {
    let mut r = Reader(bytes);
    let n = r.u32()? as usize;
    // Each entry takes at least 8 bytes of lengths and a seal's 45: a count beyond that is not
    // ours.
    if n > bytes.len() / 53 {
        return None;
    }
    let mut out = Vec::with_capacity(n);
    // One buffer for every entry of the chunk, zeroized when dropped.
    let mut plain = Zeroizing::new(Vec::new());
    for _ in 0..n {
        let id = std::str::from_utf8(r.bytes()?).ok()?;
        open(id, r.bytes()?, &mut plain)?;
        out.push(entry_from(id, &plain)?);
    }
    // What follows the entries is the chunk's padding, zeros only.
    r.0.iter().all(|&b| b == 0).then_some(out)
}

/// One member's entry from what `put_entry` wrote.
fn entry_from(id: &str, plain: &[u8]) -> Option<Staged> {
    let mut r = Reader(plain);
    let club_id = r.text()?.to_owned();
    let key = Arc::from(r.bytes()?);
    let full_name = r.text()?;
    let year = r.take(5)?;
    let birth_year = match year[0] {
        0 => None,
        1 => Some(i32::from_le_bytes(year[1..].try_into().ok()?)),
        _ => return None,
    };
    let gender = Gender::from_code(r.byte()?)?;
    let ethnic_group = EthnicGroup::from_code(r.byte()?).ok()?;
    let village = r.text()?;
    let role = MemberRole::from_code(r.byte()?)?;
    let safe_to_contact = match r.byte()? {
        0 => false,
        1 => true,
        _ => return None,
    };
    let phone = match r.byte()? {
        0 => None,
        1 => Some(r.text()?),
        _ => return None,
    };
    let folded_name = r.text()?;
    let folded_village = r.text()?;
    let digest: RowDigest = r.take(DIGEST_LEN)?.try_into().ok()?;
    if !r.0.is_empty() {
        return None;
    }
    Some(Staged {
        key,
        id: Arc::from(id),
        club_id,
        entry: Some(Entry {
            club_id: Arc::from(""),
            texts: Texts::new(full_name, village, phone, folded_name, folded_village),
            birth_year,
            gender,
            ethnic_group,
            role,
            safe_to_contact,
            digest,
        }),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::domain::{Stamp, SurvivorStatus};

    fn member(i: usize, name: &str) -> Member {
        let now = chrono::Utc::now();
        Member {
            id: format!("00000000-0000-4000-8000-{i:012x}"),
            club_id: format!("club-{}", i % 3),
            info: crate::domain::MemberInput {
                full_name: name.to_owned(),
                birth_year: (!i.is_multiple_of(7)).then_some(1950 + (i % 60) as i32),
                gender: Gender::Female,
                ethnic_group: EthnicGroup::from_name("Thái").unwrap(),
                village: format!("Bản Nà {}", i % 40),
                phone: (!i.is_multiple_of(3)).then(|| format!("09{i:08}")),
                role: MemberRole::Member,
                survivor_status: SurvivorStatus::NotASurvivor,
                safe_to_contact: !i.is_multiple_of(5),
            },
            stamp: Stamp {
                created_at: now,
                created_by: "u".into(),
                updated_at: now,
                updated_by: "u".into(),
            },
        }
    }

    /// What the index must list, worked out the slow way.
    fn expected(members: &BTreeMap<usize, Member>, club: &str) -> Vec<MemberSummary> {
        let mut rows: Vec<(Vec<u8>, MemberSummary)> = members
            .values()
            .filter(|m| m.club_id == club)
            .map(|m| {
                let i = &m.info;
                let row = MemberSummary {
                    id: m.id.clone(),
                    club_id: m.club_id.clone(),
                    full_name: i.full_name.clone(),
                    birth_year: i.birth_year,
                    gender: i.gender,
                    ethnic_group: i.ethnic_group,
                    village: i.village.clone(),
                    role: i.role,
                    safe_to_contact: i.safe_to_contact,
                    phone: i.phone.clone().filter(|_| i.safe_to_contact),
                };
                (text::name_sort_key(&i.full_name), row)
            })
            .collect();
        rows.sort_by(|a, b| (&a.0, &a.1.id).cmp(&(&b.0, &b.1.id)));
        rows.into_iter().map(|(_, r)| r).collect()
    }

    /// The arena's books against its entries; right after a lay-out, its buffer was never
    /// reallocated (a reallocation frees the old block unzeroized).
    fn check(index: &MemberIndex) -> bool {
        let a = &index.arena;
        let live: usize = index.entries.values().map(|e| e.texts.len()).sum();
        assert_eq!(a.live, live);
        assert!(a.ordered <= a.text.len() && a.erased_ordered <= a.ordered);
        let laid_out = a.stray() == 0 && !a.text.is_empty();
        if laid_out {
            assert_eq!(a.text.capacity(), a.text.len(), "grown while laid out");
        }
        laid_out
    }

    #[test]
    fn each_member_edited_or_erased_right_after_she_is_added_keeps_the_books() {
        let mut index = MemberIndex::default();
        for i in 0..2000 {
            index.upsert(&member(i, &format!("Lò Thị Én {i}")), [0; DIGEST_LEN]);
            check(&index);
            index.upsert(&member(i, &format!("Lò Thị Én sửa {i}")), [0; DIGEST_LEN]);
            check(&index);
        }
        for i in 0..2000 {
            index.remove(&member(i, "").id);
            check(&index);
        }
        index.upsert(&member(9_999, "Giàng Thị Mai"), [0; DIGEST_LEN]);
        check(&index);
        assert_eq!(index.search(&MemberFilter::default()).len(), 1);
    }

    #[test]
    fn the_list_holds_through_additions_edits_and_removals_as_the_texts_are_laid_out_again() {
        let mut index = MemberIndex::default();
        let mut model = BTreeMap::new();
        let names = ["Lò Thị Én", "Giàng Thị Mai", "Nguyễn Thị Lan", "Đèo Văn Ất"];
        let mut laid_out = 0;
        for round in 0..6 {
            // 700 new members a round, then a third of everyone edited and a tenth removed.
            for i in round * 700..(round + 1) * 700 {
                let m = member(i, &format!("{} {i}", names[i % 4]));
                index.upsert(&m, [0; DIGEST_LEN]);
                model.insert(i, m);
                if check(&index) {
                    laid_out += 1;
                }
            }
            for i in (0..(round + 1) * 700).step_by(3) {
                if let Some(kept) = model.get_mut(&i) {
                    let m = member(i, &format!("{} sửa {round}", names[(i + round) % 4]));
                    index.upsert(&m, [1; DIGEST_LEN]);
                    *kept = m;
                    check(&index);
                }
            }
            for i in (round..(round + 1) * 700).step_by(10) {
                if let Some(m) = model.remove(&i) {
                    index.remove(&m.id);
                    check(&index);
                }
            }
            for club in ["club-0", "club-1", "club-2"] {
                let want = expected(&model, club);
                assert_eq!(
                    index.search(&MemberFilter::club(club)),
                    want,
                    "round {round}"
                );
            }
            assert_eq!(index.len(), model.len());
        }
        assert!(laid_out >= 3, "laid out {laid_out} times");
        // A removed member's name is not left in the arena, wherever it was.
        let gone = member(10_000, "Vàng Thị Dợ");
        index.upsert(&gone, [0; DIGEST_LEN]);
        index.remove(&gone.id);
        assert!(!index.arena.text.contains("Vàng Thị Dợ"));
        assert!(!index.arena.text.contains(&gone.id));
    }

    #[test]
    fn an_entry_s_texts_come_back_each_as_it_went_in() {
        let cases: [[&str; 4]; 4] = [
            ["Nguyễn Thị Lan", "Bản Phố", "nguyen thi lan", "ban pho"],
            ["", "", "", ""],
            ["𠀧 Giàng Thị Mai", "", "giang thi mai", ""],
            ["Lò Văn A", "Nà Hẩu", "lo van a", "na hau"],
        ];
        for (i, [name, village, folded_name, folded_village]) in cases.into_iter().enumerate() {
            for phone in [None, Some(""), Some("0912 345 678")] {
                let t = Texts::new(name, village, phone, folded_name, folded_village);
                assert_eq!(t.full_name(), name, "case {i}");
                assert_eq!(t.village(), village, "case {i}");
                assert_eq!(t.phone(), phone, "case {i}");
                assert_eq!(t.folded_name(), folded_name, "case {i}");
                assert_eq!(t.folded_village(), folded_village, "case {i}");
            }
        }
    }
}
