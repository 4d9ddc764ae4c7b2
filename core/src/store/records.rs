//! The records' calls: clubs, members, consent, meetings, livelihood support and referrals.
//! Each checks the role once and hands on to its feature module, which owns the rules and SQL;
//! reads of one record are noted in the trail here.

use chrono::NaiveDate;

use crate::access::Permission;
use crate::domain::*;
use crate::error::{Error, RecordKind, Result};
use crate::import;
use crate::index::{MemberFilter, MemberPage, MemberRow};
use crate::{clubs, consent, livelihood, meetings, members, referrals};

use super::Store;

impl Store {
    // ---- clubs --------------------------------------------------------------------------

    pub fn add_club(&mut self, input: &ClubInput) -> Result<Club> {
        let (db, s) = self.parts_as(Permission::WriteRecords)?;
        clubs::add(db, s, input)
    }

    pub fn update_club(&mut self, id: &str, input: &ClubInput) -> Result<Club> {
        let (db, s) = self.parts_as(Permission::WriteRecords)?;
        clubs::update(db, s, id, input)
    }

    pub fn club(&self, id: &str) -> Result<Club> {
        let (db, s) = self.parts_as(Permission::ReadRecords)?;
        clubs::get(db, s, id)
    }

    /// All clubs on this phone, in Vietnamese order of their names.
    pub fn clubs(&self) -> Result<Vec<Club>> {
        let (db, s) = self.parts_as(Permission::ReadRecords)?;
        clubs::all(db, s)
    }

    // ---- members ------------------------------------------------------------------------

    /// Adds a member with a key of their own (for crypto-shredding one member later).
    pub fn add_member(&mut self, club_id: &str, input: &MemberInput) -> Result<Member> {
        members::one(self.add_members(club_id, std::slice::from_ref(input))?)
    }

    /// Adds members in one transaction: one fsync for the batch, each member still with her own
    /// key and her own trail entry. All go in, or (on any invalid input or error) none does.
    pub fn add_members(&mut self, club_id: &str, inputs: &[MemberInput]) -> Result<Vec<Member>> {
        self.add_members_with_progress(club_id, inputs, &mut |_| {})
    }

    /// [`Store::add_members`], calling `progress` with the count written so far (the commit,
    /// one fsync, follows the last).
    pub fn add_members_with_progress(
        &mut self,
        club_id: &str,
        inputs: &[MemberInput],
        progress: &mut dyn FnMut(usize),
    ) -> Result<Vec<Member>> {
        let (db, s) = self.parts_mut_as(Permission::WriteRecords)?;
        members::add(db, s, club_id, inputs, progress)
    }

    /// What importing `table` into a club would do: rows ready, likely duplicates of members
    /// already here (same folded name, birth year and village) or of earlier rows, and rows
    /// refused with their line and reason. Writes nothing. The outer error is the store's (locked,
    /// not allowed, no such club); the inner one says why the file as a whole cannot be read.
    pub fn plan_member_import(
        &self,
        club_id: &str,
        table: &import::Table,
        options: &import::ImportOptions,
    ) -> Result<std::result::Result<import::ImportPlan, import::ImportError>> {
        let (db, s) = self.parts_as(Permission::WriteRecords)?;
        members::plan_import(db, s, club_id, table, options)
    }

    /// Writes a plan's rows (see [`import::ImportPlan::to_add`]) in one transaction.
    pub fn import_members(
        &mut self,
        club_id: &str,
        plan: &import::ImportPlan,
        allow_duplicates: bool,
    ) -> Result<Vec<Member>> {
        let (db, s) = self.parts_mut_as(Permission::WriteRecords)?;
        members::import(db, s, club_id, plan, allow_duplicates)
    }

    pub fn update_member(&mut self, id: &str, input: &MemberInput) -> Result<Member> {
        let (db, s) = self.parts_mut_as(Permission::WriteRecords)?;
        members::update(db, s, id, input)
    }

    /// An edit in one step, for a form that changes some values and keeps the rest (the CLI's
    /// `member edit`): the member as this user may see her (as `member` shows her) goes to
    /// `change`, then is written back by `update_member`. The trail gets the update alone: the
    /// read only fed the write. When `change` or the write refuses, nothing is written and the
    /// read is noted instead.
    pub fn edit_member<E: From<Error>>(
        &mut self,
        id: &str,
        change: impl FnOnce(&mut MemberInput) -> Result<(), E>,
    ) -> Result<Member, E> {
        self.edit(
            RecordKind::Member,
            id,
            |s| {
                let (db, session) = s.parts()?;
                Ok(members::as_shown(db, session, id)?.info)
            },
            change,
            |s, info| s.update_member(id, info),
        )
    }

    /// `edit_member` for a meeting (`update_meeting`).
    pub fn edit_meeting<E: From<Error>>(
        &mut self,
        id: &str,
        change: impl FnOnce(&mut MeetingInput) -> Result<(), E>,
    ) -> Result<Meeting, E> {
        self.edit(
            RecordKind::Meeting,
            id,
            |s| {
                let (db, session) = s.parts()?;
                Ok(meetings::load(db, session, id)?.info)
            },
            change,
            |s, info| s.update_meeting(id, info),
        )
    }

    /// `edit_member` for a referral (`update_referral`: drafts only).
    pub fn edit_referral<E: From<Error>>(
        &mut self,
        id: &str,
        change: impl FnOnce(&mut ReferralInput) -> Result<(), E>,
    ) -> Result<Referral, E> {
        self.edit(
            RecordKind::Referral,
            id,
            |s| {
                let (db, session) = s.parts()?;
                Ok(referrals::load(db, session, id)?.info)
            },
            change,
            |s, info| s.update_referral(id, info),
        )
    }

    /// Read, change, write, with one trail entry: the write's, or the read's if none is written.
    fn edit<I, R, E: From<Error>>(
        &mut self,
        kind: RecordKind,
        id: &str,
        read: impl FnOnce(&Self) -> Result<I>,
        change: impl FnOnce(&mut I) -> Result<(), E>,
        write: impl FnOnce(&mut Self, &I) -> Result<R>,
    ) -> Result<R, E> {
        // Refused before anything is read: an edit is no way to read without a trace.
        self.require(Permission::WriteRecords)?;
        let mut info = read(self)?;
        let outcome = change(&mut info).and_then(|()| write(self, &info).map_err(E::from));
        if outcome.is_err() {
            let (db, s) = self.parts()?;
            db.note_read(s, kind, id, Vec::new())?;
        }
        outcome
    }

    /// One member's full record. Survivor status is withheld from roles that may not read it.
    /// The read is noted in the audit trail.
    pub fn member(&self, id: &str) -> Result<Member> {
        let (db, s) = self.parts()?;
        let member = members::as_shown(db, s, id)?;
        db.note_read(s, RecordKind::Member, id, Vec::new())?;
        Ok(member)
    }

    /// A member with her consents, livelihood support and referrals: the member screen.
    pub fn member_detail(&self, id: &str) -> Result<MemberDetail> {
        let (db, s) = self.parts()?;
        let detail = MemberDetail {
            member: members::as_shown(db, s, id)?,
            consents: consent::load_for(db, s, id)?,
            livelihood: livelihood::load_for(db, s, id)?,
            referrals: referrals::load_for(db, s, id)?,
        };
        // One entry for the whole screen, naming what it showed besides her record.
        let shown = ["consents", "livelihood", "referrals"].map(String::from);
        db.note_read(s, RecordKind::Member, id, shown.to_vec())?;
        Ok(detail)
    }

    /// Search by name ignoring case and diacritics, filtered by club, village and ethnic group,
    /// in Vietnamese name order. Lists never show survivor status.
    pub fn search_members(&self, filter: &MemberFilter) -> Result<Vec<MemberSummary>> {
        Ok(self.session()?.index.search(filter))
    }

    /// One page of `search_members` for a screen: the members from the `offset`-th, at most
    /// `limit`, and how many match in all. Only the page is copied, so a club of 50,000 costs a
    /// screen what a club of 50 does (plus the scan: nothing is sorted per call).
    pub fn search_members_page(
        &self,
        filter: &MemberFilter,
        offset: usize,
        limit: usize,
    ) -> Result<MemberPage> {
        Ok(self.session()?.index.page(filter, offset, limit))
    }

    /// `search_members` without the copies: calls `f` with each matching member, in Vietnamese
    /// name order, borrowed from the index; returns how many matched. For callers that pack a
    /// long list into another shape (the Kotlin API's columns).
    pub fn visit_members(
        &self,
        filter: &MemberFilter,
        f: impl FnMut(MemberRow<'_>),
    ) -> Result<u64> {
        Ok(self.session()?.index.visit(filter, 0, usize::MAX, f))
    }

    /// The villages of a club's members, each once, in Vietnamese order (a list screen's
    /// village filter, without loading the whole list).
    pub fn member_villages(&self, club_id: &str) -> Result<Vec<String>> {
        Ok(self.session()?.index.villages(club_id))
    }

    /// A club's member list, in Vietnamese name order.
    pub fn list_members(&self, club_id: &str) -> Result<Vec<MemberSummary>> {
        self.search_members(&MemberFilter::club(club_id))
    }

    pub fn member_count(&self) -> Result<usize> {
        Ok(self.session()?.index.len())
    }

    /// A club's members for a file. With names (and phones of those who may be contacted) only
    /// for a role that may take the store's data off the phone (the leader: like a backup, the
    /// Safety permission); otherwise de-identified. Noted in the trail as an export.
    pub fn export_members(&self, club_id: &str, with_names: bool) -> Result<import::MemberExport> {
        let (db, s) = self.parts_as(Permission::ReadRecords)?;
        if with_names {
            s.require(Permission::Safety)?;
        }
        members::export(db, s, club_id, with_names)
    }

    // ---- consent ------------------------------------------------------------------------

    pub fn add_consent(&mut self, input: &ConsentInput) -> Result<Consent> {
        let (db, s) = self.parts_as(Permission::WriteRecords)?;
        consent::add(db, s, input)
    }

    /// One consent (noted in the trail as a read).
    pub fn consent(&self, id: &str) -> Result<Consent> {
        let (db, s) = self.parts()?;
        let consent = consent::load(db, s, id)?;
        db.note_read(s, RecordKind::Consent, id, Vec::new())?;
        Ok(consent)
    }

    /// A member's consents, oldest first; noted as a read of her that showed them.
    pub fn consents_for(&self, member_id: &str) -> Result<Vec<Consent>> {
        let (db, s) = self.parts()?;
        let list = consent::load_for(db, s, member_id)?;
        db.note_read(
            s,
            RecordKind::Member,
            member_id,
            vec!["consents".to_owned()],
        )?;
        Ok(list)
    }

    /// Withdraws consent. Every referral that relied on it and is not finished stops.
    pub fn withdraw_consent(&mut self, id: &str, on: NaiveDate) -> Result<Consent> {
        let (db, s) = self.parts_as(Permission::WriteRecords)?;
        let consent = consent::withdraw(db, s, id, on)?;
        referrals::stop_for_withdrawn(db, s, &consent)?;
        Ok(consent)
    }

    // ---- meetings -----------------------------------------------------------------------

    pub fn record_meeting(&mut self, input: &MeetingInput) -> Result<Meeting> {
        let (db, s) = self.parts_as(Permission::WriteRecords)?;
        meetings::record(db, s, input)
    }

    pub fn update_meeting(&mut self, id: &str, input: &MeetingInput) -> Result<Meeting> {
        let (db, s) = self.parts_as(Permission::WriteRecords)?;
        meetings::update(db, s, id, input)
    }

    /// One meeting with its notes; the read is noted in the audit trail.
    pub fn meeting(&self, id: &str) -> Result<Meeting> {
        let (db, s) = self.parts()?;
        let meeting = meetings::load(db, s, id)?;
        db.note_read(s, RecordKind::Meeting, id, Vec::new())?;
        Ok(meeting)
    }

    /// A club's meetings, newest first, with their notes and attendance; noted in the trail.
    pub fn meetings(&self, club_id: &str) -> Result<Vec<Meeting>> {
        let (db, s) = self.parts()?;
        let meetings = meetings::of_club(db, s, club_id)?;
        // Every meeting's notes and attendance in one read: noted as such, on the club.
        db.note_read(s, RecordKind::Club, club_id, vec!["meetings".into()])?;
        Ok(meetings)
    }

    // ---- livelihood support -------------------------------------------------------------

    pub fn add_livelihood(&mut self, input: &LivelihoodInput) -> Result<Livelihood> {
        let (db, s) = self.parts_as(Permission::WriteRecords)?;
        livelihood::add(db, s, input)
    }

    /// Adds a follow-up outcome (income, still working, needs more help) to a support record.
    pub fn add_livelihood_follow_up(
        &mut self,
        id: &str,
        follow_up: &SupportFollowUp,
    ) -> Result<Livelihood> {
        let (db, s) = self.parts_as(Permission::WriteRecords)?;
        livelihood::add_follow_up(db, s, id, follow_up)
    }

    /// A member's livelihood support, oldest first; noted as a read of her that showed it.
    pub fn livelihood_for(&self, member_id: &str) -> Result<Vec<Livelihood>> {
        let (db, s) = self.parts()?;
        let list = livelihood::load_for(db, s, member_id)?;
        db.note_read(
            s,
            RecordKind::Member,
            member_id,
            vec!["livelihood".to_owned()],
        )?;
        Ok(list)
    }

    // ---- referrals ----------------------------------------------------------------------

    /// Creates a referral as a draft. It becomes ready only with consent that covers it.
    pub fn create_referral(&mut self, input: &ReferralInput) -> Result<Referral> {
        let (db, s) = self.parts_as(Permission::WriteRecords)?;
        referrals::create(db, s, input)
    }

    /// Edits a draft referral.
    pub fn update_referral(&mut self, id: &str, input: &ReferralInput) -> Result<Referral> {
        let (db, s) = self.parts_as(Permission::WriteRecords)?;
        referrals::update(db, s, id, input)
    }

    /// Draft -> ready: checks that the referral's consent covers its services, recipient and
    /// every field it will share.
    pub fn mark_referral_ready(&mut self, id: &str) -> Result<Referral> {
        let (db, s) = self.parts_as(Permission::WriteRecords)?;
        referrals::mark_ready(db, s, id)
    }

    /// The sender withdraws the referral; allowed at any stage before it is finished.
    pub fn withdraw_referral(&mut self, id: &str, note: &str) -> Result<Referral> {
        let (db, s) = self.parts_as(Permission::WriteRecords)?;
        referrals::move_to(db, s, id, ReferralState::Withdrawn, note)
    }

    /// One referral; the read is noted in the audit trail.
    pub fn referral(&self, id: &str) -> Result<Referral> {
        let (db, s) = self.parts()?;
        let referral = referrals::load(db, s, id)?;
        db.note_read(s, RecordKind::Referral, id, Vec::new())?;
        Ok(referral)
    }

    /// A member's referrals, oldest first; noted as a read of her that showed them.
    pub fn referrals_for(&self, member_id: &str) -> Result<Vec<Referral>> {
        let (db, s) = self.parts()?;
        let list = referrals::load_for(db, s, member_id)?;
        db.note_read(
            s,
            RecordKind::Member,
            member_id,
            vec!["referrals".to_owned()],
        )?;
        Ok(list)
    }
}
