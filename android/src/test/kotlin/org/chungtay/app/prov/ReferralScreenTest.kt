package org.chungtay.app.prov

import kotlin.test.assertEquals
import kotlin.test.assertFalse
import kotlin.test.assertTrue
import org.chungtay.app.model.ReferralForm
import org.chungtay.app.testing.Phone
import org.chungtay.app.testing.Phone.Companion.has
import org.chungtay.app.testing.Phone.Companion.screenText
import org.chungtay.app.testing.Phone.Companion.tap
import org.chungtay.app.testing.Phone.Companion.textOf
import org.chungtay.app.testing.Phone.Companion.type
import org.chungtay.app.ui.Nav
import org.chungtay.app.ui.ReferralActivity
import org.chungtay.core.SharedField
import org.chungtay.core.SupportService
import org.junit.Test
import org.junit.runner.RunWith
import org.chungtay.app.testing.AppTestRunner
import org.robolectric.annotation.Config

/** The referral screen's refusals and the withdrawal, by taps. */
@RunWith(AppTestRunner::class)
@Config(qualifiers = "vi")
class ReferralScreenTest {
    @Test
    fun `no consent, no referral form`() {
        val phone = Phone()
        val store = phone.app.session.create(Seed.LEADER, Seed.PIN)
        val m = Seed.member(store, Seed.club(store), "Vi Thị Hồng", 2001)
        val screen = phone.open(ReferralActivity::class.java) { putExtra(Nav.MEMBER_ID, m.id) }
        assertTrue(screen.textOf("no_consent").startsWith("Thành viên chưa có sự đồng ý còn hiệu lực"))
        assertFalse(screen.has("save"))
    }

    @Test
    fun `nothing ticked is not saved`() {
        val phone = Phone()
        val store = phone.app.session.create(Seed.LEADER, Seed.PIN)
        val xuan = Seed.returnee(store, Seed.club(store))
        val screen = phone.open(ReferralActivity::class.java) { putExtra(Nav.MEMBER_ID, xuan.id) }
        screen.tap("save")
        phone.settle()
        assertEquals("Hãy chọn ít nhất một loại hỗ trợ.", lastToast())
        assertTrue(store.memberDetail(xuan.id).referrals.isEmpty())
    }

    @Test
    fun `the core refuses a referral that shares what she did not agree to, and the screen says so`() {
        val phone = Phone()
        val store = phone.app.session.create(Seed.LEADER, Seed.PIN)
        val xuan = Seed.returnee(store, Seed.club(store))
        // A draft carrying her story (made before the consent was narrowed, say): the screen
        // cannot make one, the core refuses to make it ready.
        val form = ReferralForm(store.memberDetail(xuan.id))
        form.services += SupportService.LOANS
        form.fields += SharedField.NAME
        val r = store.createReferral(form.input().copy(sharedFields = listOf(SharedField.NAME, SharedField.STORY)))
        val screen = phone.open(ReferralActivity::class.java) {
            putExtra(Nav.MEMBER_ID, xuan.id)
            putExtra(Nav.REFERRAL_ID, r.id)
        }
        assertTrue(screen.textOf("fields").contains("Câu chuyện của chị"))
        screen.tap("ready")
        phone.settle()
        assertEquals("Sự đồng ý không cho phép việc này (NOT_COVERED).", lastToast())
        assertEquals("Trạng thái: Bản nháp", screen.textOf("state"))

        // The leader withdraws it, with the reason.
        screen.type("withdraw_note", "Chị Xuân chỉ đồng ý gửi họ tên, năm sinh, xã và nhu cầu")
        screen.tap("withdraw")
        phone.settle()
        assertEquals("Trạng thái: Đã rút lại", screen.textOf("state"))
        assertTrue(screen.screenText().contains("“Chị Xuân chỉ đồng ý gửi họ tên, năm sinh, xã và nhu cầu”"))
        assertFalse(screen.has("withdraw"))
        assertFalse(screen.has("ready"))
    }

    @Test
    fun `opened from the member screen with both ids, or saying not found without her id`() {
        val phone = Phone()
        val store = phone.app.session.create(Seed.LEADER, Seed.PIN)
        val xuan = Seed.returnee(store, Seed.club(store))
        val form = ReferralForm(store.memberDetail(xuan.id))
        form.services += SupportService.LOANS
        form.fields += SharedField.NAME
        val r = store.createReferral(form.input())
        val app = phone.app
        val shown = org.robolectric.Robolectric.buildActivity(ReferralActivity::class.java, ReferralActivity.open(app, xuan.id, r.id)).setup().get()
        phone.settle()
        assertEquals("Trạng thái: Bản nháp", shown.textOf("state"))
        // The referral's id alone, as the member screen and the outbox open it.
        val alone = org.robolectric.Robolectric.buildActivity(ReferralActivity::class.java, Nav.referral(app, r.id)).setup().get()
        phone.settle()
        assertEquals("Trạng thái: Bản nháp", alone.textOf("state"))
    }
}
