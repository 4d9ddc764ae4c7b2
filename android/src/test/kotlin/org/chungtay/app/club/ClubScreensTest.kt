package org.chungtay.app.club

import org.chungtay.app.model.ClubDates
import org.chungtay.app.testing.Phone.Companion.screenText
import org.chungtay.app.testing.Phone.Companion.textOf
import org.chungtay.app.testing.Phone.Companion.tick
import org.chungtay.app.ui.ClubActivity
import org.chungtay.app.ui.HomeActivity
import org.chungtay.app.ui.MeetingActivity
import org.chungtay.app.ui.MemberActivity
import org.chungtay.app.ui.MemberEditActivity
import org.chungtay.app.ui.Nav
import org.chungtay.core.SurvivorStatus
import org.chungtay.core.UserRole
import org.junit.Test
import org.junit.runner.RunWith
import org.chungtay.app.testing.AppTestRunner
import org.robolectric.annotation.Config
import org.robolectric.annotation.GraphicsMode
import kotlin.test.assertEquals
import kotlin.test.assertFalse
import kotlin.test.assertTrue

/** The club leader's screens, driven by taps and typed text on the real core. */
@RunWith(AppTestRunner::class)
@GraphicsMode(GraphicsMode.Mode.NATIVE)
@Config(qualifiers = "vi")
class ClubScreensTest {

    /** What the user reads of scenario 1, in one language. */
    class MeetingWords(val noMeetings: String, val present: (Int, Int) -> String, val line: (Int, Int) -> String)

    private val vi = MeetingWords(
        noMeetings = "Chưa có buổi sinh hoạt nào.",
        present = { n, of -> "Có mặt: $n / $of" },
        line = { n, guests -> "$n có mặt · $guests khách" },
    )

    private val en = MeetingWords(
        noMeetings = "No meeting yet.",
        present = { n, of -> "Present: $n of $of" },
        line = { n, guests -> "$n present · $guests guests" },
    )

    /** Scenario 1: the monthly meeting, 18 of 24 present, 3 guests, notes, two follow-ups. */
    @Test
    fun scenario1_a_meeting_is_recorded_from_the_attendance_checklist() = scenario1(vi, screens = true)

    @Test
    @Config(qualifiers = "en")
    fun scenario1_in_english_a_meeting_is_recorded_from_the_attendance_checklist() = scenario1(en, screens = false)

    private fun scenario1(w: MeetingWords, screens: Boolean) {
        val p = ClubPhone()
        val members = ClubSeed.members(p.store(), p.club.id)
        val club = p.open(ClubActivity::class.java, Nav.club(p.app, p.club.id)).get()
        assertTrue(club.screenText().contains(w.noMeetings))
        if (screens) shot(club, "club")
        p.tap(club, "meeting_new")
        val meeting = p.phone.next(club) as MeetingActivity
        assertEquals(ClubDates.show(ClubSeed.today()), meeting.textOf("date"))
        assertTrue(meeting.screenText().contains(w.present(0, 24)))
        p.type(meeting, "topic", "Nhận diện lừa đảo việc làm qua mạng")
        p.type(meeting, "place", "Nhà văn hoá bản Pù Quăn")
        p.type(meeting, "facilitator", "Lò Thị Mai")
        meeting.tick("all_present")
        assertTrue(meeting.screenText().contains(w.present(24, 24)))
        val absent = members.takeLast(6)
        for (m in absent) meeting.tick("attend_${m.id}", false)
        assertTrue(meeting.screenText().contains(w.present(18, 24)))
        assertFalse(meeting.window.decorView.findViewWithTag<android.widget.CheckBox>("all_present").isChecked)
        p.type(meeting, "guests", "3")
        p.type(meeting, "notes", "Chị em kể về tin tuyển dụng lương cao bên kia biên giới trên Facebook, Zalo.")
        p.type(meeting, "follow_task_0", "Dán áp phích cảnh báo ở chợ phiên")
        p.type(meeting, "follow_person_0", "Hà Thị Lan")
        p.type(meeting, "follow_due_0", "15/01/2099")
        p.tap(meeting, "follow_up_add")
        p.type(meeting, "follow_task_1", "Đến thăm gia đình chị Sùng Thị Pà")
        p.type(meeting, "follow_person_1", "Lò Thị Mai")
        p.type(meeting, "follow_due_1", "20/01/2099")
        if (screens) shot(meeting, "meeting")
        p.tap(meeting, "save")
        assertTrue(meeting.isFinishing)

        val stored = p.store().meetings(p.club.id).single().info
        assertEquals("Nhận diện lừa đảo việc làm qua mạng", stored.topic)
        assertEquals(ClubSeed.today().toString(), stored.date)
        assertEquals(members.dropLast(6).map { it.id }.toSet(), stored.attendees.toSet())
        assertEquals(3, stored.guestCount)
        assertEquals(listOf("Hà Thị Lan", "Lò Thị Mai"), stored.followUps.map { it.person })
        assertEquals(listOf("2099-01-15", "2099-01-20"), stored.followUps.map { it.due })

        val again = p.open(ClubActivity::class.java, Nav.club(p.app, p.club.id)).get()
        val text = again.screenText()
        assertTrue(text.contains("Nhận diện lừa đảo việc làm qua mạng\n${w.line(18, 3)}"), text)
    }

    @Test
    fun a_typed_meeting_survives_the_screen_being_recreated() {
        val p = ClubPhone()
        val members = ClubSeed.members(p.store(), p.club.id)
        p.open(ClubActivity::class.java, Nav.club(p.app, p.club.id)) // stays visible: the app stays unlocked
        val c = p.open(MeetingActivity::class.java, Nav.newMeeting(p.app, p.club.id))
        val before = c.get()
        p.type(before, "topic", "Di cư an toàn")
        p.type(before, "notes", "Ghi chú đang gõ dở")
        before.tick("attend_${members[0].id}")
        before.tick("attend_${members[5].id}")
        p.tap(before, "follow_up_add")
        p.type(before, "follow_task_1", "Hỏi xã về giấy tờ")
        c.recreate()
        p.phone.settle()
        val after = c.get()
        assertTrue(after !== before)
        assertEquals("Di cư an toàn", after.textOf("topic"))
        assertEquals("Ghi chú đang gõ dở", after.textOf("notes"))
        assertEquals("Hỏi xã về giấy tờ", after.textOf("follow_task_1"))
        assertTrue(after.window.decorView.findViewWithTag<android.widget.CheckBox>("attend_${members[5].id}").isChecked)
        assertFalse(after.window.decorView.findViewWithTag<android.widget.CheckBox>("attend_${members[1].id}").isChecked)
        assertTrue(after.screenText().contains("Có mặt: 2 / 24"))
        // Nothing of the draft was written anywhere but the screen's state.
        assertTrue(p.store().meetings(p.club.id).isEmpty())
    }

    @Test
    fun search_as_you_type_ignores_diacritics_and_the_village_filter_narrows_the_list() {
        val p = ClubPhone()
        ClubSeed.members(p.store(), p.club.id)
        val club = p.open(ClubActivity::class.java, Nav.club(p.app, p.club.id)).get()
        assertTrue(club.screenText().contains("24 / 24 thành viên"))
        p.type(club, "search", "nguyen")
        var text = club.screenText()
        assertTrue(text.contains("Nguyễn Thị Hoa"), text)
        assertFalse(text.contains("Lò Thị Mai"))
        assertTrue(text.contains("1 / 24 thành viên"))
        p.type(club, "search", "")
        p.tap(club, "village_Bản Ché Lầu")
        text = club.screenText()
        assertTrue(text.contains("8 / 24 thành viên"), text)
        assertTrue(text.contains("Lò Thị Mai")) // member 1: Bản Ché Lầu
        assertFalse(text.contains("Nguyễn Thị Hoa")) // member 0: Bản Pù Quăn
        p.type(club, "search", "thao")
        text = club.screenText()
        assertTrue(text.contains("Thào Thị Mỷ") && text.contains("1 / 24 thành viên"), text)
        p.tap(club, "village_all")
        assertTrue(club.screenText().contains("1 / 24 thành viên"))
    }

    @Test
    fun a_large_club_shows_fifty_members_and_show_more_adds_the_rest() {
        val p = ClubPhone()
        ClubSeed.members(p.store(), p.club.id)
        (1..40).forEach { p.store().addMember(p.club.id, ClubSeed.member("Vi Thị Thêm $it")) }
        val club = p.open(ClubActivity::class.java, Nav.club(p.app, p.club.id)).get()
        var text = club.screenText()
        assertTrue(text.contains("64 / 64 thành viên"), text)
        assertTrue(text.contains("Xem thêm (còn 14)"), text)
        val rows = { club.window.decorView.findViewWithTag<android.widget.LinearLayout>("members").childCount }
        assertEquals(50, rows())
        p.tap(club, "members_more")
        assertEquals(64, rows())
        text = club.screenText()
        assertFalse(text.contains("Xem thêm"), text)
        val missing = p.store().memberList(p.club.id).map { it.fullName }.filterNot { text.contains(it) }
        assertEquals(emptyList(), missing)
    }

    @Test
    fun a_deputy_sees_the_survivor_status_hidden_and_no_list_shows_it() {
        val p = ClubPhone()
        val store = p.store()
        val id = store.addMember(p.club.id, ClubSeed.member("Vi Thị Hương", "Bản Sài Khao", SurvivorStatus.RETURNEE, ethnic = 3, year = 2006)).id
        store.addMember(p.club.id, ClubSeed.member("Hà Thị Lan", "Bản Pù Quăn"))
        // The leader's list: no status either.
        val asLeader = p.open(ClubActivity::class.java, Nav.club(p.app, p.club.id)).get()
        assertFalse(asLeader.screenText().contains("Người trở về"))
        store.addUser(ClubSeed.LEADER_PIN, "Hà Thị Lan", UserRole.DEPUTY, "246801")
        val deputy = store.users().first { it.role == UserRole.DEPUTY }.id
        p.app.session.lock()
        p.app.session.unlock(deputy, "246801")

        val club = p.open(ClubActivity::class.java, Nav.club(p.app, p.club.id)).get()
        val list = club.screenText()
        assertTrue(list.contains("Vi Thị Hương"))
        for (word in listOf("Người trở về", "Nạn nhân", "Tình trạng", "ẩn")) assertFalse(list.contains(word), word)
        p.tap(club, "member_$id")
        val member = p.phone.next(club) as MemberActivity
        assertEquals("Tình trạng nạn nhân: ẩn", member.textOf("survivor_status"))
        assertTrue(member.screenText().contains("Vai trò của bạn không được xem thông tin này."))
        assertFalse(member.screenText().contains("Người trở về"))
        assertEquals("Năm sinh: 2006", member.textOf("birth_year"))
        assertEquals("Dân tộc: Thái", member.textOf("ethnic_group"))
        assertEquals("Xã / phường: Mường Lát", member.textOf("commune"))
        assertFalse(p.shows(member, "member_erase")) // erasing is the leader's (Safety)
        assertTrue(p.shows(member, "refer"))
    }

    @Test
    fun a_member_not_to_be_contacted_has_no_phone_and_no_call_action() {
        val p = ClubPhone()
        val store = p.store()
        val hidden = store.addMember(p.club.id, ClubSeed.member("Vi Thị Hương", safe = false, phone = "0987654321")).id
        val open = store.addMember(p.club.id, ClubSeed.member("Hà Thị Lan", phone = "0912345678")).id

        val m = p.open(MemberActivity::class.java, Nav.member(p.app, hidden)).get()
        val text = m.screenText()
        assertTrue(text.contains("KHÔNG LIÊN LẠC"), text)
        assertFalse(text.contains("0987654321"))
        assertFalse(text.contains("Điện thoại"))
        assertFalse(p.has(m, "call"))
        assertEquals("Tình trạng nạn nhân: Không", m.textOf("survivor_status"))
        assertTrue(p.shows(m, "member_erase"))
        shot(m, "member")

        val ok = p.open(MemberActivity::class.java, Nav.member(p.app, open)).get()
        assertEquals("Điện thoại: 0912345678", ok.textOf("phone"))
        assertFalse(ok.screenText().contains("KHÔNG LIÊN LẠC"))
        p.tap(ok, "call")
        val dial = org.robolectric.Shadows.shadowOf(ok).nextStartedActivity
        assertEquals(android.content.Intent.ACTION_DIAL, dial.action)
        assertEquals("tel:0912345678", dial.data.toString())
    }

    @Test
    fun a_member_added_on_the_edit_screen_shows_the_invalid_field_first() {
        val p = ClubPhone()
        val edit = p.open(MemberEditActivity::class.java, Nav.newMember(p.app, p.club.id)).get()
        p.type(edit, "full_name", "Giàng Thị Dợ")
        p.type(edit, "birth_year", "2999")
        p.type(edit, "village", "Bản Ché Lầu")
        p.type(edit, "phone", "0977111222")
        edit.window.decorView.findViewWithTag<android.widget.Spinner>("ethnic_group").setSelection(7) // Mông
        p.tap(edit, "status_RETURNEE")
        edit.tick("do_not_contact")
        p.tap(edit, "save")
        assertTrue(p.shows(edit, "error_birth_year"))
        assertEquals("Không được ở tương lai.", edit.textOf("error_birth_year"))
        assertFalse(p.shows(edit, "error_full_name"))
        assertTrue(p.store().memberList(p.club.id).isEmpty())
        assertTrue(edit.screenText().contains("chỉ lưu trên máy này"))

        p.type(edit, "birth_year", "2004")
        p.tap(edit, "save")
        assertFalse(p.shows(edit, "error_birth_year"))
        assertTrue(edit.isFinishing)
        val member = p.phone.next(edit) as MemberActivity
        assertEquals("Giàng Thị Dợ", member.textOf("name"))
        assertEquals("Dân tộc: Mông", member.textOf("ethnic_group"))
        assertEquals("Tình trạng nạn nhân: Người trở về", member.textOf("survivor_status"))
        assertTrue(member.screenText().contains("KHÔNG LIÊN LẠC"))
        assertFalse(p.has(member, "call"))
        val stored = p.store().memberList(p.club.id).single()
        assertEquals(2004, stored.birthYear)
        assertFalse(stored.safeToContact)
    }

    @Test
    fun home_lists_the_clubs_adds_one_and_opens_it() {
        val p = ClubPhone()
        val home = p.open(HomeActivity::class.java, Nav.home(p.app)).get()
        assertTrue(home.screenText().contains("CLB phụ nữ phòng, chống mua bán người xã Mường Lát"))
        assertTrue(p.shows(home, "outbox") && p.shows(home, "audit") && p.shows(home, "settings") && p.shows(home, "lock"))
        assertFalse(p.shows(home, "club_form"))
        p.tap(home, "club_add")
        p.type(home, "club_name", "Nhóm phụ nữ di cư an toàn xã Pù Nhi")
        p.tap(home, "kind_SAFE_MIGRATION")
        p.tap(home, "club_save")
        assertTrue(p.shows(home, "error_commune"))
        assertEquals("Không được để trống.", home.textOf("error_commune"))
        p.type(home, "club_commune", "Pù Nhi")
        p.tap(home, "club_save")
        assertFalse(p.shows(home, "club_form"))
        assertTrue(home.screenText().contains("Nhóm phụ nữ di cư an toàn xã Pù Nhi\nNhóm phụ nữ di cư an toàn · Pù Nhi, Thanh Hóa"), home.screenText())
        shot(home, "home")
        p.tap(home, "club_${p.club.id}")
        val club = p.phone.next(home) as ClubActivity
        assertEquals("CLB phụ nữ phòng, chống mua bán người xã Mường Lát", club.textOf("title"))
        p.tap(home, "lock")
        assertFalse(p.app.session.isUnlocked())
    }

    @Test
    @Config(qualifiers = "en")
    fun in_english_a_deputy_reads_hidden_and_do_not_contact() {
        val p = ClubPhone()
        val store = p.store()
        val id = store.addMember(p.club.id, ClubSeed.member("Vi Thị Hương", status = SurvivorStatus.SURVIVOR, safe = false, phone = "0987654321")).id
        store.addUser(ClubSeed.LEADER_PIN, "Hà Thị Lan", UserRole.DEPUTY, "246801")
        p.app.session.lock()
        p.app.session.unlock(store.users().first { it.role == UserRole.DEPUTY }.id, "246801")
        val club = p.open(ClubActivity::class.java, Nav.club(p.app, p.club.id)).get()
        assertTrue(club.screenText().contains("1 of 1 members"))
        assertTrue(club.screenText().contains("Record a meeting"))
        p.tap(club, "member_$id")
        val m = p.phone.next(club) as MemberActivity
        assertEquals("Survivor status: hidden", m.textOf("survivor_status"))
        val text = m.screenText()
        assertTrue(text.contains("DO NOT CONTACT: do not call or text this person."), text)
        assertFalse(text.contains("0987654321") || text.contains("Trafficking survivor"))
        assertFalse(p.has(m, "call"))
        assertTrue(text.contains("No consent recorded."))
    }
}
