package org.chungtay.app

import android.app.Activity
import android.content.Intent
import android.widget.Spinner
import kotlin.test.assertEquals
import kotlin.test.assertFalse
import kotlin.test.assertTrue
import org.chungtay.app.prov.Province
import org.chungtay.app.testing.AppTestRunner
import org.chungtay.app.testing.Phone
import org.chungtay.app.testing.Phone.Companion.has
import org.chungtay.app.testing.Phone.Companion.screenText
import org.chungtay.app.testing.Phone.Companion.tap
import org.chungtay.app.testing.Phone.Companion.textOf
import org.chungtay.app.testing.Phone.Companion.tick
import org.chungtay.app.testing.Phone.Companion.type
import org.chungtay.app.testing.Phone.Companion.view
import org.chungtay.app.ui.ClubActivity
import org.chungtay.app.ui.ConsentActivity
import org.chungtay.app.ui.HomeActivity
import org.chungtay.app.ui.MeetingActivity
import org.chungtay.app.ui.MemberActivity
import org.chungtay.app.ui.MemberEditActivity
import org.chungtay.app.ui.OutboxActivity
import org.chungtay.app.ui.ReferralActivity
import org.chungtay.app.ui.SetupActivity
import org.chungtay.app.ui.StartActivity
import org.chungtay.app.ui.UnlockActivity
import org.junit.After
import org.junit.Test
import org.junit.runner.RunWith
import org.robolectric.Robolectric
import org.robolectric.Shadows.shadowOf
import org.robolectric.android.controller.ActivityController
import org.robolectric.annotation.Config

/**
 * A club leader's first day, end to end, by taps and typed text only, across the screens of
 * setup and the PIN (sec), the club records (club) and the province link (prov): a phone with
 * no store is set up and enrolled with the province's real intake server, a club and two
 * members are added, a meeting recorded, a consented referral sent once and answered, and the
 * app locked and opened again with the PIN.
 *
 * The screens live in a back stack with the lifecycle the system gives them (the screen
 * behind pauses and stops, Back resumes it), so a screen that does not refresh when it comes
 * back, or a lock that fires while moving between screens, shows here.
 */
@RunWith(AppTestRunner::class)
@Config(qualifiers = "vi")
class JourneyTest {
    private val province = Province()

    @After
    fun stop() = province.close()

    /** The app's back stack, driven with the system's lifecycle order. */
    private class Stack(val phone: Phone) {
        private val screens = ArrayList<ActivityController<out Activity>>()

        val top: Activity get() = screens.last().get()

        fun <T : Activity> launch(cls: Class<T>): T {
            val c = Robolectric.buildActivity(cls).setup()
            screens += c
            phone.settle()
            return c.get()
        }

        /**
         * The screen on top started another: it comes to the front; the one behind pauses, then
         * stops (or is destroyed when it finished itself). A "clear task" start empties the stack.
         */
        fun follow(): Activity {
            val from = screens.last()
            val intent = shadowOf(from.get()).nextStartedActivity ?: error("${from.get().javaClass.simpleName} started no screen")
            from.pause()
            @Suppress("UNCHECKED_CAST")
            val cls = Class.forName(intent.component!!.className) as Class<Activity>
            val c = Robolectric.buildActivity(cls, intent).setup()
            phone.settle()
            if (intent.flags and Intent.FLAG_ACTIVITY_CLEAR_TASK != 0) {
                for (s in screens.reversed()) s.stop().destroy()
                screens.clear()
            } else if (from.get().isFinishing) {
                from.stop().destroy()
                screens.remove(from)
            } else {
                from.stop()
            }
            phone.settle()
            screens += c
            return c.get()
        }

        /** Back (or the top screen finished itself): the screen behind comes back. */
        fun back(): Activity {
            val top = screens.removeAt(screens.size - 1)
            if (!top.get().isFinishing) top.get().finish()
            top.pause()
            val below = screens.last()
            below.restart().resume()
            phone.settle()
            top.stop().destroy()
            phone.settle()
            return below.get()
        }
    }

    private fun Activity.tapAndSettle(phone: Phone, tag: String) {
        tap(tag)
        phone.settle()
    }

    @Test
    fun a_club_leaders_first_day() {
        val phone = Phone()
        val s = Stack(phone)
        val settle = { phone.settle() }

        // 1. A phone with no store: Start sends her to setup.
        val start = s.launch(StartActivity::class.java)
        assertTrue(start.isFinishing)
        val setup = s.follow() as SetupActivity
        assertTrue("ít nhất 6 chữ số" in setup.textOf("sec_pin_rule"))
        setup.type("sec_name", "Lò Thị Mai")
        setup.type("sec_pin", "135792")
        setup.type("sec_pin_repeat", "135792")
        setup.tapAndSettle(phone, "sec_create")
        assertTrue("Kết nối với Hội LHPN tỉnh" in setup.screenText(), setup.screenText())
        // Enrollment with the province, from the paper the provincial staff handed over.
        setup.type("sec_enroll_url", province.url)
        setup.type("sec_enroll_code", province.code)
        setup.type("sec_enroll_fingerprint", province.fingerprint)
        setup.tapAndSettle(phone, "sec_enroll")
        assertTrue(province.fingerprint in setup.textOf("sec_enrolled"), setup.textOf("sec_enrolled"))
        assertEquals("Tiếp tục", setup.textOf("sec_later"))
        setup.tapAndSettle(phone, "sec_later")

        // 2. Home: no club yet; she adds hers and opens it.
        val home = s.follow() as HomeActivity
        assertTrue(home.view<android.view.View>("clubs_empty").isShown, home.screenText())
        assertTrue(home.view<android.view.View>("outbox").isShown, "an enrolled leader has the outbox")
        home.tapAndSettle(phone, "club_add")
        val clubName = "Câu lạc bộ phụ nữ phòng, chống mua bán người bản Pù Quăn"
        home.type("club_name", clubName)
        home.tapAndSettle(phone, "kind_ANTI_TRAFFICKING")
        assertEquals("Thanh Hóa", home.textOf("club_province"))
        home.type("club_commune", "Pù Nhi")
        home.type("club_village", "Bản Pù Quăn")
        home.type("club_former_district", "Mường Lát")
        home.tapAndSettle(phone, "club_save")
        assertFalse(home.view<android.view.View>("club_form").isShown)
        assertTrue(home.screenText().contains("$clubName\n"), home.screenText())
        assertTrue(home.screenText().contains("Pù Nhi, Thanh Hóa"), home.screenText())
        val clubId = phone.app.session.store().clubs().single().id // only to name the row's tag
        home.tapAndSettle(phone, "club_$clubId")
        var club = s.follow() as ClubActivity
        assertEquals(clubName, club.textOf("title"))
        assertTrue(club.screenText().contains("Chưa có buổi sinh hoạt nào."), club.screenText())

        // 3. Two members, through the member edit screen.
        club.tapAndSettle(phone, "member_add")
        var edit = s.follow() as MemberEditActivity
        edit.type("full_name", "Hà Thị Xuân")
        edit.type("birth_year", "2007")
        edit.view<Spinner>("ethnic_group").setSelection(2) // Thái
        settle()
        edit.type("village", "Bản Pù Quăn")
        edit.tapAndSettle(phone, "status_RETURNEE")
        edit.tapAndSettle(phone, "save")
        assertTrue(edit.isFinishing, edit.screenText())
        var member = s.follow() as MemberActivity
        assertEquals("Hà Thị Xuân", member.textOf("name"))
        assertEquals("Năm sinh: 2007", member.textOf("birth_year"))
        assertEquals("Dân tộc: Thái", member.textOf("ethnic_group"))
        assertEquals("Xã / phường: Pù Nhi", member.textOf("commune"))
        assertEquals("Tình trạng nạn nhân: Người trở về", member.textOf("survivor_status"))
        club = s.back() as ClubActivity
        assertTrue(club.screenText().contains("Hà Thị Xuân"), club.screenText())

        club.tapAndSettle(phone, "member_add")
        edit = s.follow() as MemberEditActivity
        edit.type("full_name", "Nguyễn Thị Hoa")
        edit.type("birth_year", "1990")
        edit.type("village", "Bản Pù Quăn")
        edit.type("phone", "0912345678")
        edit.tapAndSettle(phone, "save")
        assertTrue(edit.isFinishing, edit.screenText())
        member = s.follow() as MemberActivity
        assertEquals("Nguyễn Thị Hoa", member.textOf("name"))
        club = s.back() as ClubActivity
        var list = club.screenText()
        assertTrue(list.contains("Hà Thị Xuân") && list.contains("Nguyễn Thị Hoa"), list)
        assertTrue(list.contains("2 / 2 thành viên"), list)
        for (word in listOf("Người trở về", "Nạn nhân", "nạn nhân")) assertFalse(list.contains(word), "the list shows '$word'")
        club.type("search", "nguyen")
        settle()
        list = club.screenText()
        assertTrue(list.contains("Nguyễn Thị Hoa") && list.contains("1 / 2 thành viên"), list)
        assertFalse(list.contains("Hà Thị Xuân"), list)
        club.type("search", "")
        settle()
        assertTrue(club.screenText().contains("2 / 2 thành viên"))

        // 4. The monthly meeting: both present, three guests, notes, one follow-up.
        val members = phone.app.session.store().memberList(clubId) // only to name the check boxes' tags
        val xuan = members.first { it.fullName == "Hà Thị Xuân" }
        club.tapAndSettle(phone, "meeting_new")
        val meeting = s.follow() as MeetingActivity
        assertTrue(meeting.screenText().contains("Có mặt: 0 / 2"), meeting.screenText())
        meeting.type("topic", "Nhận diện lừa đảo việc làm qua mạng")
        meeting.type("place", "Nhà văn hoá bản Pù Quăn")
        meeting.type("facilitator", "Lò Thị Mai")
        for (m in members) meeting.tick("attend_${m.id}")
        settle()
        assertTrue(meeting.screenText().contains("Có mặt: 2 / 2"), meeting.screenText())
        meeting.type("guests", "3")
        meeting.type("notes", "Chị em kể về tin tuyển dụng lương cao bên kia biên giới trên Zalo.")
        meeting.type("follow_task_0", "Dán áp phích cảnh báo ở chợ phiên")
        meeting.type("follow_person_0", "Nguyễn Thị Hoa")
        meeting.type("follow_due_0", "15/01/2099")
        meeting.tapAndSettle(phone, "save")
        assertTrue(meeting.isFinishing, meeting.screenText())
        club = s.back() as ClubActivity
        assertTrue(club.screenText().contains("Nhận diện lừa đảo việc làm qua mạng\n2 có mặt · 3 khách"), club.screenText())

        // 5. Xuân's consent, then a referral that only offers what she agreed to share.
        club.tapAndSettle(phone, "member_${xuan.id}")
        member = s.follow() as MemberActivity
        assertTrue(member.screenText().contains("Chưa có sự đồng ý nào."), member.screenText())
        member.tapAndSettle(phone, "consent_add")
        val consent = s.follow() as ConsentActivity
        consent.tick("purpose_VOCATIONAL_TRAINING")
        consent.tick("purpose_LOANS")
        consent.tapAndSettle(phone, "recipient_PROVINCIAL_UNION")
        for (f in listOf("NAME", "BIRTH_YEAR", "COMMUNE", "NEED")) consent.tick("share_$f")
        settle()
        consent.tapAndSettle(phone, "save")
        assertTrue(consent.isFinishing, consent.screenText())
        member = s.back() as MemberActivity
        val consentLine = member.screenText()
        assertTrue(consentLine.contains("Để: Học nghề, Vay vốn") && consentLine.contains("Gửi: Hội LHPN tỉnh"), consentLine)
        assertTrue(consentLine.contains("Được chia sẻ: Họ tên, Năm sinh, Xã, Nhu cầu hỗ trợ"), consentLine)

        member.tapAndSettle(phone, "refer")
        val form = s.follow() as ReferralActivity
        val offered = form.screenText()
        assertTrue(offered.contains("Học nghề") && offered.contains("Vay vốn"), offered)
        assertFalse(offered.contains("Trợ giúp pháp lý"), offered)
        assertFalse(form.has("service_legal_aid"))
        assertFalse(form.has("field_story"))
        assertFalse(form.has("field_phone"))
        assertFalse(form.has("field_ethnic_group"))
        assertTrue(form.textOf("not_offered").startsWith("Không gửi (chưa đồng ý)"), form.textOf("not_offered"))
        form.tick("service_vocational_training")
        form.tick("service_loans")
        for (f in listOf("name", "birth_year", "commune", "need")) form.tick("field_$f")
        form.type("note", "Muốn học may và vay vốn nhỏ để mở tiệm")
        form.tapAndSettle(phone, "save")
        assertEquals("Trạng thái: Bản nháp", form.textOf("state"))
        form.tapAndSettle(phone, "ready")
        assertEquals("Trạng thái: Sẵn sàng", form.textOf("state"))
        form.tapAndSettle(phone, "send")
        assertEquals("Trạng thái: Chờ gửi", form.textOf("state"))
        assertTrue(form.has("queued"))
        form.tapAndSettle(phone, "open_outbox")
        val outbox = s.follow() as OutboxActivity
        assertTrue(outbox.textOf("item_text_0").contains("Đang chờ"), outbox.textOf("item_text_0"))
        assertTrue(province.referralIds().isEmpty())
        outbox.tapAndSettle(phone, "send_now")
        assertTrue(outbox.textOf("result").contains("Đã gửi 1,"), outbox.textOf("result"))
        assertTrue(outbox.textOf("item_text_0").contains("Đã gửi · đã thử"), outbox.textOf("item_text_0"))
        val sent = province.referralIds()
        assertEquals(1, sent.size, sent.toString())
        // The provincial staff accept it; the next sync brings their answer to the phone.
        val note = "Đã nhận, lớp may bắt đầu ngày 5"
        province.transition(sent.single(), "accepted", note)
        outbox.tapAndSettle(phone, "send_now")
        assertEquals(sent, province.referralIds(), "sent more than once")
        outbox.tapAndSettle(phone, "item_text_0")
        val referral = s.follow() as ReferralActivity
        assertEquals("Trạng thái: Đã chấp nhận", referral.textOf("state"))
        assertTrue(referral.textOf("answer").contains(note), referral.textOf("answer"))
        assertTrue(referral.textOf("member").contains("Hà Thị Xuân"), referral.textOf("member"))

        // Back to Xuân's page: the referral is listed with its new state.
        assertTrue(s.back() is OutboxActivity)
        assertTrue(s.back() is ReferralActivity)
        member = s.back() as MemberActivity
        // The member screen names the state with the referral screen's word.
        assertTrue(member.screenText().contains("Học nghề, Vay vốn · Đã chấp nhận"), member.screenText())
        assertTrue(s.back() is ClubActivity)
        val homeAgain = s.back() as HomeActivity
        assertTrue(phone.app.session.isUnlocked(), "moving between screens locked the app")

        // 6. She locks the phone's app: the PIN pad is next; a wrong PIN is refused, hers opens Home.
        homeAgain.tapAndSettle(phone, "lock")
        assertFalse(phone.app.session.isUnlocked())
        val start2 = s.follow()
        assertTrue(start2 is StartActivity, start2.javaClass.name)
        val unlock = s.follow() as UnlockActivity
        assertFalse(unlock.screenText().contains("Hà Thị Xuân"))
        unlock.type("sec_pin", "975318")
        unlock.tapAndSettle(phone, "sec_unlock")
        assertEquals("Mã PIN không đúng.", unlock.textOf("sec_message"))
        assertFalse(phone.app.session.isUnlocked())
        unlock.type("sec_pin", "135792")
        unlock.tapAndSettle(phone, "sec_unlock")
        assertTrue(phone.app.session.isUnlocked())
        val home2 = s.follow() as HomeActivity
        assertTrue(home2.screenText().contains(clubName), home2.screenText())
        assertTrue(phone.app.session.isUnlocked())
    }
}
