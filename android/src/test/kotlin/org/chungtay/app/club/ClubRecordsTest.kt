package org.chungtay.app.club

import android.app.AlertDialog
import android.content.DialogInterface
import org.chungtay.app.testing.Phone.Companion.screenText
import org.chungtay.app.testing.Phone.Companion.textOf
import org.chungtay.app.testing.Phone.Companion.tick
import org.chungtay.app.ui.ClubActivity
import org.chungtay.app.ui.ConsentActivity
import org.chungtay.app.ui.LivelihoodActivity
import org.chungtay.app.ui.MeetingActivity
import org.chungtay.app.ui.MemberActivity
import org.chungtay.app.ui.Nav
import org.chungtay.core.ConsentMethod
import org.chungtay.core.FollowUp
import org.chungtay.core.LivelihoodKind
import org.chungtay.core.MeetingInput
import org.chungtay.core.Outcome
import org.chungtay.core.Recipient
import org.chungtay.core.SharedField
import org.chungtay.core.SupportService
import org.chungtay.core.SurvivorStatus
import org.junit.Test
import org.junit.runner.RunWith
import org.chungtay.app.testing.AppTestRunner
import org.robolectric.annotation.Config
import org.robolectric.shadows.ShadowDialog
import kotlin.test.assertEquals
import kotlin.test.assertFalse
import kotlin.test.assertNotNull
import kotlin.test.assertTrue

/** Consent, livelihood support, erasing a member and changing a meeting, by taps. */
@RunWith(AppTestRunner::class)
@Config(qualifiers = "vi")
class ClubRecordsTest {
    private fun confirm(p: ClubPhone) {
        val dialog = ShadowDialog.getLatestDialog() as AlertDialog
        assertTrue(dialog.isShowing)
        dialog.getButton(DialogInterface.BUTTON_POSITIVE).performClick()
        p.phone.settle()
    }

    /** Scenario 2's consent: vocational training and a loan, to the province, not her story. */
    @Test
    fun a_consent_is_recorded_with_its_witness_then_withdrawn() {
        val p = ClubPhone()
        val id = p.store().addMember(p.club.id, ClubSeed.member("Lò Thị Xuân", "Bản Ché Lầu", SurvivorStatus.RETURNEE, year = 2007)).id
        val member = p.open(MemberActivity::class.java, Nav.member(p.app, id)).get()
        assertTrue(member.screenText().contains("Chưa có sự đồng ý nào."))
        p.tap(member, "consent_add")
        val consent = p.phone.next(member) as ConsentActivity
        consent.tick("purpose_VOCATIONAL_TRAINING")
        consent.tick("purpose_LOANS")
        for (f in listOf("NAME", "BIRTH_YEAR", "COMMUNE", "NEED")) consent.tick("share_$f")
        p.tap(consent, "method_VERBAL_WITH_WITNESS")
        p.tap(consent, "save")
        assertEquals("Cần điền thông tin này.", consent.textOf("error_witness"))
        assertFalse(consent.isFinishing)
        p.type(consent, "witness", "Hà Thị Lan")
        p.tap(consent, "save")
        assertTrue(consent.isFinishing)

        val stored = p.store().memberDetail(id).consents.single()
        assertEquals(listOf(SupportService.VOCATIONAL_TRAINING, SupportService.LOANS), stored.info.purposes)
        assertEquals(Recipient.PROVINCIAL_UNION, stored.info.recipient)
        assertEquals(listOf(SharedField.NAME, SharedField.BIRTH_YEAR, SharedField.COMMUNE, SharedField.NEED), stored.info.fields)
        assertEquals(ConsentMethod.VERBAL_WITH_WITNESS, stored.info.method)
        assertEquals("Hà Thị Lan", stored.info.witness)

        val again = p.open(MemberActivity::class.java, Nav.member(p.app, id)).get()
        val line = again.textOf("consent_${stored.id}")
        assertTrue(line.contains("Để: Học nghề, Vay vốn") && line.contains("Gửi: Hội LHPN tỉnh"), line)
        assertTrue(line.contains("Được chia sẻ: Họ tên, Năm sinh, Xã, Nhu cầu hỗ trợ"), line)
        assertFalse(line.contains("Câu chuyện"))
        p.tap(again, "consent_withdraw_${stored.id}")
        confirm(p)
        assertNotNull(p.store().memberDetail(id).consents.single().withdrawnOn)
        assertTrue(again.textOf("consent_${stored.id}").contains("Đã rút lại ngày"))
        assertFalse(p.has(again, "consent_withdraw_${stored.id}"))
    }

    @Test
    fun livelihood_support_is_added_and_followed_up() {
        val p = ClubPhone()
        val id = p.store().addMember(p.club.id, ClubSeed.member("Hà Thị Lan", "Bản Pù Quăn")).id
        val member = p.open(MemberActivity::class.java, Nav.member(p.app, id)).get()
        p.tap(member, "livelihood_add")
        val add = p.phone.next(member) as LivelihoodActivity
        p.tap(add, "kind_LIVESTOCK")
        p.type(add, "quantity", "2")
        p.tap(add, "save")
        assertEquals("Cần điền thông tin này.", add.textOf("error_unit")) // the core: a quantity needs its unit
        p.type(add, "unit", "con lợn giống")
        p.type(add, "note", "Nuôi tại nhà, có chuồng")
        p.tap(add, "save")
        assertTrue(add.isFinishing)
        val support = p.store().memberDetail(id).livelihood.single()
        assertEquals(LivelihoodKind.LIVESTOCK, support.info.kind)
        assertEquals(2, support.info.quantity)

        val again = p.open(MemberActivity::class.java, Nav.member(p.app, id)).get()
        assertTrue(again.textOf("livelihood_${support.id}").startsWith("Con giống · "))
        assertTrue(again.textOf("livelihood_${support.id}").contains("2 con lợn giống"))
        p.tap(again, "livelihood_follow_${support.id}")
        val follow = p.phone.next(again) as LivelihoodActivity
        assertTrue(follow.textOf("support").startsWith("Con giống"))
        p.tap(follow, "outcome_EARNING_INCOME")
        p.type(follow, "note", "Đã bán một lứa")
        p.tap(follow, "save")
        assertTrue(follow.isFinishing)
        assertEquals(Outcome.EARNING_INCOME, p.store().memberDetail(id).livelihood.single().followUps.single().outcome)
        val third = p.open(MemberActivity::class.java, Nav.member(p.app, id)).get()
        assertTrue(third.textOf("livelihood_${support.id}").contains("Đã có thu nhập (Đã bán một lứa)"))
    }

    @Test
    fun the_leader_erases_a_member_after_confirming() {
        val p = ClubPhone()
        val id = p.store().addMember(p.club.id, ClubSeed.member("Vi Thị Hương", status = SurvivorStatus.SURVIVOR)).id
        val member = p.open(MemberActivity::class.java, Nav.member(p.app, id)).get()
        p.tap(member, "member_erase")
        val dialog = ShadowDialog.getLatestDialog() as AlertDialog
        dialog.getButton(DialogInterface.BUTTON_NEGATIVE).performClick()
        p.phone.settle()
        assertEquals(1, p.store().memberList(p.club.id).size)
        p.tap(member, "member_erase")
        confirm(p)
        assertTrue(member.isFinishing)
        assertTrue(p.store().memberList(p.club.id).isEmpty())
    }

    @Test
    fun a_meeting_is_opened_from_the_club_and_changed() {
        val p = ClubPhone()
        val members = ClubSeed.members(p.store(), p.club.id)
        val day = ClubSeed.today().minusDays(3).toString()
        p.store().recordMeeting(MeetingInput(p.club.id, day, "Di cư an toàn", "Nhà văn hoá bản Ché Lầu", "Lò Thị Mai",
            members.take(10).map { it.id }, 1, "", listOf(FollowUp("Mời cán bộ biên phòng", "Lò Thị Mai", "2099-02-01", false))))
        val meetingId = p.store().meetings(p.club.id).single().id
        val club = p.open(ClubActivity::class.java, Nav.club(p.app, p.club.id)).get()
        assertTrue(club.textOf("meeting_$meetingId").contains("10 có mặt · 1 khách"))
        p.tap(club, "meeting_$meetingId")
        val before = p.store().auditEntries().maxOf { it.seq }
        val edit = p.phone.next(club) as MeetingActivity
        assertEquals("Di cư an toàn", edit.textOf("topic"))
        // Opening one meeting to edit reads that meeting, as the trail shows, not the club's all.
        val reads = p.store().auditEntries().filter { it.seq > before && it.action == org.chungtay.core.AuditAction.READ }
        assertTrue(reads.any { it.kind == org.chungtay.core.RecordKind.MEETING && it.recordId == meetingId }, reads.toString())
        assertTrue(reads.none { it.fields.contains("meetings") }, reads.toString())
        assertEquals("Mời cán bộ biên phòng", edit.textOf("follow_task_0"))
        assertEquals("01/02/2099", edit.textOf("follow_due_0"))
        assertTrue(edit.screenText().contains("Có mặt: 10 / 24"))
        p.type(edit, "guests", "5")
        edit.tick("attend_${members[12].id}")
        edit.tick("follow_done_0")
        p.tap(edit, "save")
        assertTrue(edit.isFinishing)
        val stored = p.store().meetings(p.club.id).single().info
        assertEquals(5, stored.guestCount)
        assertEquals(11, stored.attendees.size)
        assertEquals(day, stored.date)
        assertTrue(stored.followUps.single().done)
    }

    @Test
    fun a_deputy_edits_a_member_without_seeing_or_losing_her_status_and_the_form_survives_recreate() {
        val p = ClubPhone()
        val store = p.store()
        val id = store.addMember(p.club.id, ClubSeed.member("Vi Thị Hương", "Bản Sài Khao", SurvivorStatus.SURVIVOR)).id
        store.addUser(ClubSeed.LEADER_PIN, "Hà Thị Lan", org.chungtay.core.UserRole.DEPUTY, "246801")
        val deputy = store.users().first { it.role == org.chungtay.core.UserRole.DEPUTY }.id
        p.app.session.lock()
        p.app.session.unlock(deputy, "246801")
        p.open(MemberActivity::class.java, Nav.member(p.app, id)) // stays visible: the app stays unlocked
        val c = p.open(org.chungtay.app.ui.MemberEditActivity::class.java, Nav.editMember(p.app, id))
        val edit = c.get()
        assertEquals("Vi Thị Hương", edit.textOf("full_name"))
        val text = edit.screenText()
        assertTrue(text.contains("Giữ nguyên (ẩn)"), text)
        assertFalse(edit.window.decorView.findViewWithTag<android.widget.RadioButton>("status_SURVIVOR").isChecked)
        assertTrue(edit.window.decorView.findViewWithTag<android.widget.RadioButton>("status_WITHHELD").isChecked)
        p.type(edit, "village", "Bản Pù Quăn")
        c.recreate()
        p.phone.settle()
        val after = c.get()
        assertEquals("Bản Pù Quăn", after.textOf("village"))
        p.tap(after, "save")
        assertTrue(after.isFinishing)
        p.app.session.lock()
        p.app.session.unlock(store.users().first { it.role == org.chungtay.core.UserRole.LEADER }.id, ClubSeed.LEADER_PIN)
        val m = store.memberDetail(id).member.info
        assertEquals("Bản Pù Quăn", m.village)
        assertEquals(SurvivorStatus.SURVIVOR, m.survivorStatus)
    }
}
