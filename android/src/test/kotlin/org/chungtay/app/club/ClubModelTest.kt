package org.chungtay.app.club

import java.io.File
import java.nio.file.Files
import org.chungtay.app.model.ClubDates
import org.chungtay.app.model.DirectWorker
import org.chungtay.app.model.FieldError
import org.chungtay.app.model.FollowUpDraft
import org.chungtay.app.model.MeetingDraft
import org.chungtay.app.model.MeetingModel
import org.chungtay.app.model.MemberDraft
import org.chungtay.app.model.MemberEditModel
import org.chungtay.app.model.MemberListModel
import org.chungtay.app.model.MemberModel
import org.chungtay.app.testing.SoftwareDeviceKey
import org.chungtay.core.SurvivorStatus
import org.chungtay.core.UserRole
import org.chungtay.ffi.ClubStore
import org.chungtay.ffi.minimumKdf
import org.junit.After
import org.junit.Before
import org.junit.Test
import kotlin.test.assertEquals
import kotlin.test.assertFalse
import kotlin.test.assertNull
import kotlin.test.assertTrue

/** The club area's presentation layer on the plain JVM, against the real core. */
class ClubModelTest {
    private lateinit var dir: File
    private lateinit var store: ClubStore
    private lateinit var clubId: String

    @Before
    fun open() {
        dir = Files.createTempDirectory("club-model").toFile()
        store = ClubStore.create(File(dir, "store.db").path, SoftwareDeviceKey(File(dir, "key")).ensure(), "Lò Thị Mai", ClubSeed.LEADER_PIN, minimumKdf())
        clubId = ClubSeed.club(store).id
    }

    @After
    fun close() {
        store.close()
        dir.deleteRecursively()
    }

    @Test
    fun dates_are_shown_day_first_and_sent_as_iso() {
        assertEquals("2026-03-05", ClubDates.parse("05/03/2026"))
        assertEquals("2026-03-05", ClubDates.parse("5/3/2026"))
        assertNull(ClubDates.parse("31/02/2026"))
        assertNull(ClubDates.parse("2026-03-05x"))
        assertNull(ClubDates.parse("05/03/26"))
        assertEquals("05/03/2026", ClubDates.show("2026-03-05"))
    }

    @Test
    fun search_as_you_type_is_done_by_the_core_and_the_village_filter_narrows_it() {
        ClubSeed.members(store, clubId)
        val model = MemberListModel(clubId, DirectWorker)
        model.load(store) { it.getOrThrow() }
        assertEquals(24, model.shown.size)
        assertEquals(ClubSeed.villages.sorted(), model.villages.sorted())
        model.search(store, "nguyen") { it.getOrThrow() }
        assertEquals(listOf("Nguyễn Thị Hoa"), model.shown.map { it.fullName })
        model.search(store, "thi h") { it.getOrThrow() }
        val names = model.shown.map { it.fullName }
        assertTrue("Nguyễn Thị Hoa" in names && "Hà Thị Lan" in names && "Lò Thị Mai" !in names, names.toString())
        model.search(store, "") { it.getOrThrow() }
        model.filterVillage(store, "Bản Ché Lầu") { it.getOrThrow() }
        assertEquals(8, model.shown.size)
        assertTrue(model.shown.all { it.village == "Bản Ché Lầu" })
        model.search(store, "lo thi") { it.getOrThrow() }
        assertEquals(listOf("Lò Thị Mai"), model.shown.map { it.fullName })
    }

    @Test
    fun a_large_club_comes_a_page_at_a_time_and_show_more_adds_the_next() {
        ClubSeed.members(store, clubId)
        (1..60).forEach { store.addMember(clubId, ClubSeed.member("Lò Thị Thêm $it", "Bản Sài Khao")) }
        val model = MemberListModel(clubId, DirectWorker)
        model.load(store) { it.getOrThrow() }
        assertEquals(84, model.total)
        assertEquals(84, model.matches)
        assertEquals(MemberListModel.PAGE.toInt(), model.shown.size)
        assertTrue(model.moreLeft())
        // The village filter's choices come from the core, not from a list read whole.
        assertEquals(listOf("Bản Ché Lầu", "Bản Pù Quăn", "Bản Sài Khao"), model.villages)
        model.showMore(store) { it.getOrThrow() }
        assertFalse(model.moreLeft())
        assertEquals(store.memberList(clubId), model.shown)
        // A new search starts again from its first page.
        model.search(store, "them") { it.getOrThrow() }
        assertEquals(60, model.matches)
        assertEquals(50, model.shown.size)
        assertTrue(model.shown.all { it.fullName.startsWith("Lò Thị Thêm") })
        model.filterVillage(store, "Bản Ché Lầu") { it.getOrThrow() }
        assertEquals(0, model.matches)
        assertFalse(model.moreLeft())
    }

    @Test
    fun the_attendance_checklist_counts_and_all_present_toggles_everyone() {
        val members = ClubSeed.members(store, clubId)
        val model = MeetingModel(clubId, null, DirectWorker)
        model.load(store, false, ClubSeed.today()) { it.getOrThrow() }
        assertEquals(ClubDates.show(ClubSeed.today()), model.draft.date)
        model.setAllPresent(true)
        assertEquals(24, model.presentCount)
        assertTrue(model.allPresent())
        members.take(6).forEach { model.setPresent(it.id, false) }
        assertEquals(18, model.presentCount)
        assertFalse(model.allPresent())
    }

    @Test
    fun a_meeting_draft_is_checked_before_the_core_then_recorded() {
        val members = ClubSeed.members(store, clubId)
        val model = MeetingModel(clubId, null, DirectWorker)
        model.load(store, false, ClubSeed.today()) { it.getOrThrow() }
        model.draft = model.draft.copy(date = "32/01/2026", guests = "ba", followUps = listOf(FollowUpDraft("Gọi điện", "", "01/01/2027")))
        model.save(store) { assertNull(it.getOrThrow()) }
        assertEquals(
            setOf("topic", "date", "place", "facilitator", "guest_count", "follow_ups.person"),
            model.errors.map(FieldError::field).toSet(),
        )
        assertTrue(store.meetings(clubId).isEmpty())

        members.take(18).forEach { model.setPresent(it.id, true) }
        model.draft = model.draft.copy(
            topic = "Nhận diện lừa đảo việc làm qua mạng", date = ClubDates.show(ClubSeed.today()), place = "Nhà văn hoá bản Pù Quăn",
            facilitator = "Lò Thị Mai", guests = "3", notes = "Chị em chia sẻ các tin tuyển dụng trên Facebook.",
            followUps = listOf(FollowUpDraft("Dán áp phích ở chợ", "Hà Thị Lan", "15/01/2099"), FollowUpDraft(), FollowUpDraft("Thăm nhà chị Pà", "Lò Thị Mai", "20/01/2099")),
        )
        var saved: org.chungtay.core.Meeting? = null
        model.save(store) { saved = it.getOrThrow() }
        assertTrue(model.errors.isEmpty())
        val stored = store.meetings(clubId).single()
        assertEquals(saved!!.id, stored.id)
        assertEquals(18, stored.info.attendees.size)
        assertEquals(3, stored.info.guestCount)
        assertEquals(listOf("Dán áp phích ở chợ", "Thăm nhà chị Pà"), stored.info.followUps.map { it.task })
        assertEquals("2099-01-15", stored.info.followUps[0].due)
        assertEquals(MeetingDraft.of(stored).attendees, members.take(18).map { it.id }.toSet())
    }

    @Test
    fun a_deputy_sees_the_status_withheld_and_no_phone_of_a_member_not_to_contact() {
        val id = store.addMember(clubId, ClubSeed.member("Vi Thị Hương", status = SurvivorStatus.RETURNEE, safe = false)).id
        store.addUser(ClubSeed.LEADER_PIN, "Hà Thị Lan", UserRole.DEPUTY, "246801")
        val deputy = store.users().first { it.role == UserRole.DEPUTY }.id
        store.lock()
        store.unlock(deputy, "246801")
        val model = MemberModel(id, DirectWorker)
        model.load(store) { it.getOrThrow() }
        assertEquals(SurvivorStatus.WITHHELD, model.detail!!.member.info.survivorStatus)
        assertNull(model.detail!!.member.info.phone)
        assertFalse(model.mayCall)
        assertFalse(model.mayErase)
        assertTrue(model.mayWrite)
        model.phone(store) { assertTrue(it.isFailure) }
        // Her form sent back by the deputy keeps the stored status.
        val edit = MemberEditModel(null, id, DirectWorker)
        edit.load(store, false) { it.getOrThrow() }
        edit.draft = edit.draft.copy(village = "Bản Sài Khao")
        edit.save(store) { assertEquals(id, it.getOrThrow()) }
        store.lock()
        store.unlock(store.users().first { it.role == UserRole.LEADER }.id, ClubSeed.LEADER_PIN)
        assertEquals(SurvivorStatus.RETURNEE, store.memberDetail(id).member.info.survivorStatus)
    }

    @Test
    fun member_errors_name_the_field_from_the_phone_or_from_the_core() {
        val edit = MemberEditModel(clubId, null, DirectWorker)
        edit.draft = MemberDraft(fullName = "", birthYear = "19x0", village = "")
        edit.save(store) { assertNull(it.getOrThrow()) }
        assertEquals(setOf("full_name", "birth_year", "village"), edit.errors.map { it.field }.toSet())
        edit.draft = MemberDraft(fullName = "Giàng Thị Dợ", birthYear = "2999", village = "Bản Ché Lầu")
        edit.save(store) { assertNull(it.getOrThrow()) }
        assertEquals(listOf(FieldError("birth_year", "IN_FUTURE")), edit.errors)
        edit.draft = edit.draft.copy(birthYear = "2004")
        edit.save(store) { assertTrue(it.getOrThrow() != null) }
        assertEquals(listOf("Giàng Thị Dợ"), store.memberList(clubId).map { it.fullName })
    }

    @Test
    fun consent_and_support_drafts_are_checked_then_recorded_by_the_core() {
        val id = store.addMember(clubId, ClubSeed.member("Lò Thị Xuân", status = SurvivorStatus.RETURNEE, year = 2007)).id
        val consent = org.chungtay.app.model.ConsentModel(id, DirectWorker)
        consent.draft = org.chungtay.app.model.ConsentDraft(givenOn = ClubDates.show(ClubSeed.today()), method = org.chungtay.core.ConsentMethod.VERBAL_WITH_WITNESS)
        consent.save(store) { assertFalse(it.getOrThrow()) }
        assertEquals(setOf("purposes", "fields", "witness"), consent.errors.map { it.field }.toSet())
        consent.draft = consent.draft.copy(
            purposes = setOf(org.chungtay.core.SupportService.LOANS, org.chungtay.core.SupportService.VOCATIONAL_TRAINING),
            fields = setOf(org.chungtay.core.SharedField.NEED, org.chungtay.core.SharedField.NAME), witness = "Hà Thị Lan",
        )
        consent.save(store) { assertTrue(it.getOrThrow()) }
        assertEquals(1, store.memberDetail(id).consents.size)

        val support = org.chungtay.app.model.LivelihoodModel(id, null, DirectWorker)
        support.draft = org.chungtay.app.model.LivelihoodDraft(date = "01/13/2026", amount = "năm triệu")
        support.save(store) { assertFalse(it.getOrThrow()) }
        assertEquals(setOf("date", "amount_vnd"), support.errors.map { it.field }.toSet())
        support.draft = support.draft.copy(date = ClubDates.show(ClubSeed.today()), amount = "5.000.000")
        support.save(store) { assertTrue(it.getOrThrow()) }
        val given = store.memberDetail(id).livelihood.single()
        assertEquals(5_000_000L, given.info.amountVnd)
        // A follow-up dated tomorrow: the core refuses it, named by its field.
        val follow = org.chungtay.app.model.LivelihoodModel(id, given.id, DirectWorker)
        follow.followUp = org.chungtay.app.model.SupportFollowUpDraft(ClubDates.show(ClubSeed.today().plusDays(1)), org.chungtay.core.Outcome.EARNING_INCOME)
        follow.save(store) { assertFalse(it.getOrThrow()) }
        assertEquals(listOf(FieldError("date", "IN_FUTURE")), follow.errors)
    }
}
