package org.chungtay.app.prov

import android.app.Activity
import kotlin.test.assertEquals
import kotlin.test.assertFalse
import kotlin.test.assertTrue
import org.chungtay.app.testing.Phone
import org.chungtay.app.testing.Phone.Companion.has
import org.chungtay.app.testing.Phone.Companion.screenText
import org.chungtay.app.testing.Phone.Companion.tap
import org.chungtay.app.testing.Phone.Companion.textOf
import org.chungtay.app.testing.Phone.Companion.tick
import org.chungtay.app.testing.Phone.Companion.type
import org.chungtay.app.testing.Screens
import org.chungtay.app.ui.Nav
import org.chungtay.app.ui.OutboxActivity
import org.chungtay.app.ui.ReferralActivity
import org.junit.After
import org.junit.Test
import org.junit.runner.RunWith
import org.chungtay.app.testing.AppTestRunner
import org.robolectric.annotation.Config
import org.robolectric.annotation.GraphicsMode

/**
 * Scenario 2, "a referral that comes back", by taps against the real intake server: the
 * referral offers only what her consent allows, waits in the outbox while the phone is
 * offline, is sent once at the commune office, and the province's answer reaches the screen.
 */
@RunWith(AppTestRunner::class)
@GraphicsMode(GraphicsMode.Mode.NATIVE)
class ReferralScenarioTest {
    private val province = Province()

    @After
    fun stop() = province.close()

    /** What the user reads, in one language. */
    class Words(
        val training: String, val loans: String, val legalAid: String, val story: String, val notSent: String,
        val draft: String, val ready: String, val queued: String, val accepted: String,
        val waiting: String, val sentState: String, val triedOnce: String, val nextTry: String, val network: String,
        val sentOne: String, val sentNone: String, val province: String, val note: String,
    )

    private val vi = Words(
        training = "Học nghề", loans = "Vay vốn", legalAid = "Trợ giúp pháp lý", story = "Câu chuyện của chị",
        notSent = "Không gửi (chưa đồng ý)", draft = "Trạng thái: Bản nháp", ready = "Trạng thái: Sẵn sàng",
        queued = "Trạng thái: Chờ gửi", accepted = "Trạng thái: Đã chấp nhận", waiting = "Đang chờ",
        sentState = "Đã gửi · đã thử", triedOnce = "đã thử 1 lần", nextTry = "Thử lại lúc",
        network = "Không kết nối được với tỉnh. Mọi thứ vẫn nằm trong hộp thư đi",
        sentOne = "Đã gửi 1,", sentNone = "Đã gửi 0,", province = "Hội LHPN tỉnh", note = "Đã nhận, lớp may bắt đầu ngày 5",
    )

    private val en = Words(
        training = "Vocational training", loans = "Loans", legalAid = "Legal aid", story = "Her story",
        notSent = "Not sent (no consent)", draft = "State: Draft", ready = "State: Ready", queued = "State: Waiting to send",
        accepted = "State: Accepted", waiting = "Waiting", sentState = "Sent · ", triedOnce = "1 tries",
        nextTry = "Next try at", network = "Could not reach the province. Everything stays in the outbox",
        sentOne = "Sent 1,", sentNone = "Sent 0,", province = "Provincial Women's Union", note = "accepted, class starts on the 5th",
    )

    @Test
    @Config(qualifiers = "vi")
    fun `referral sent once after days offline and the province's answer comes back`() = scenario(vi, screens = true)

    @Test
    @Config(qualifiers = "en")
    fun `the same in English`() = scenario(en, screens = false)

    private fun scenario(w: Words, screens: Boolean) {
        val phone = Phone()
        val store = phone.app.session.create(Seed.LEADER, Seed.PIN)
        val club = Seed.club(store)
        val xuan = Seed.returnee(store, club)
        store.enrollExpecting(province.url, province.code, null, province.fingerprint)

        // The new referral: only the services and fields her consent names are offered.
        val form = phone.open(ReferralActivity::class.java) { putExtra(Nav.MEMBER_ID, xuan.id) }
        val shown = form.screenText()
        assertTrue(shown.contains(w.training) && shown.contains(w.loans), shown)
        assertFalse(shown.contains(w.legalAid), shown)
        assertFalse(form.has("service_legal_aid"))
        assertFalse(form.has("field_story"))
        assertFalse(form.has("field_phone"))
        assertTrue(form.textOf("not_offered").startsWith(w.notSent) && form.textOf("not_offered").contains(w.story))
        form.tick("service_vocational_training")
        form.tick("service_loans")
        for (f in listOf("name", "birth_year", "commune", "need")) form.tick("field_$f")
        form.type("note", "Muốn học may và vay vốn nhỏ để mở tiệm")
        form.tap("save")
        phone.settle()
        assertEquals(w.draft, form.textOf("state"))
        form.tap("ready")
        phone.settle()
        assertEquals(w.ready, form.textOf("state"))
        form.tap("send")
        phone.settle()
        assertEquals(w.queued, form.textOf("state"))
        assertTrue(form.has("queued"))
        val referralId = store.memberDetail(xuan.id).referrals.single().id

        // Three days without signal: the province cannot be reached.
        province.stop()
        form.tap("open_outbox")
        val outbox = phone.next(form) as OutboxActivity
        assertTrue(outbox.textOf("item_text_0").contains(w.waiting))
        outbox.tap("send_now")
        phone.settle()
        assertTrue(outbox.textOf("result").contains(w.network), outbox.textOf("result"))
        assertTrue(outbox.textOf("item_text_0").contains(w.waiting) && outbox.textOf("item_text_0").contains(w.triedOnce), outbox.textOf("item_text_0"))
        assertTrue(outbox.textOf("item_next_0").startsWith(w.nextTry))
        assertTrue(outbox.has("item_error_0"))
        if (screens) Screens.capture(outbox, "outbox")

        // The commune office's Wi-Fi: sent, once.
        province.start()
        assertTrue(province.referralIds().isEmpty())
        outbox.tap("send_now")
        phone.settle()
        assertTrue(outbox.textOf("result").contains(w.sentOne), outbox.textOf("result"))
        assertTrue(outbox.textOf("item_text_0").contains(w.sentState), outbox.textOf("item_text_0"))
        assertEquals(listOf(referralId), province.referralIds())
        outbox.tap("send_now")
        phone.settle()
        assertTrue(outbox.textOf("result").contains(w.sentNone), outbox.textOf("result"))
        assertEquals(listOf(referralId), province.referralIds())

        // A week later the province answers; the next sync brings it to the phone.
        province.transition(referralId, "accepted", w.note)
        outbox.tap("send_now")
        phone.settle()
        // The leader taps the referral in the outbox and reads the answer.
        outbox.tap("item_text_0")
        val referral: Activity = phone.next(outbox) as ReferralActivity
        assertEquals(w.accepted, referral.textOf("state"))
        assertTrue(referral.textOf("answer").contains(w.note))
        val steps = referral.screenText()
        assertTrue(steps.contains(w.province), steps)
        assertTrue(steps.contains("“${w.note}”"), steps)
        if (screens) Screens.capture(referral, "referral")
    }
}
