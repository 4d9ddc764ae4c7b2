package org.chungtay.app.sec

import android.view.WindowManager
import android.widget.RadioButton
import org.chungtay.app.testing.Phone
import org.chungtay.app.testing.Phone.Companion.has
import org.chungtay.app.testing.Phone.Companion.screenText
import org.chungtay.app.testing.Phone.Companion.tap
import org.chungtay.app.testing.Phone.Companion.textOf
import org.chungtay.app.testing.Phone.Companion.type
import org.chungtay.app.testing.Phone.Companion.view
import org.chungtay.app.ui.HomeActivity
import org.chungtay.app.ui.SettingsActivity
import org.chungtay.app.ui.SetupActivity
import org.chungtay.app.ui.StartActivity
import org.chungtay.app.ui.UnlockActivity
import org.chungtay.core.UserRole
import org.junit.Test
import org.junit.runner.RunWith
import org.robolectric.Robolectric
import org.chungtay.app.testing.AppTestRunner
import org.robolectric.annotation.Config
import java.io.File
import kotlin.test.assertEquals
import kotlin.test.assertFalse
import kotlin.test.assertTrue

@RunWith(AppTestRunner::class)
@Config(qualifiers = "vi")
class UnlockScreenTest {
    private fun android.app.Activity.wrong(phone: Phone, pin: String = "975318") {
        type("sec_pin", pin)
        tap("sec_unlock")
        phone.settle()
    }

    @Test
    fun theRightPinOpensHomeOffTheUiThread() {
        val phone = Phone()
        seedClub(phone.app.session.create("Lò Thị Mai", LEADER_PIN))
        phone.app.session.store().addUser(LEADER_PIN, "Vi Thị Hoa", UserRole.DEPUTY, "246813")
        phone.app.session.lock()
        phone.key.callers.clear()
        val unlock = phone.launch(UnlockActivity::class.java).get()
        // The people who may unlock, by role: the leader is chosen first.
        assertEquals("Chủ nhiệm", unlock.textOf("sec_user_0"))
        assertEquals("Phó chủ nhiệm", unlock.textOf("sec_user_1"))
        assertTrue(unlock.view<RadioButton>("sec_user_0").isChecked)
        assertTrue((unlock.window.attributes.flags and WindowManager.LayoutParams.FLAG_SECURE) != 0)
        // The deputy unlocks with her own PIN.
        unlock.tap("sec_user_1")
        unlock.type("sec_pin", "246813")
        unlock.tap("sec_unlock")
        phone.settle()
        assertEquals(HomeActivity::class.java.name, unlock.startedClass())
        assertTrue(phone.app.session.isUnlocked())
        assertEquals(UserRole.DEPUTY, phone.app.session.store().currentUser().role)
        assertTrue(phone.key.callers.isNotEmpty())
        assertTrue(phone.key.callers.none(::isMainThread), "a keystore call ran on the UI thread")
    }

    /** What the user reads at the PIN pad in scenario 4, in one language. */
    class PinWords(
        val wrongPin: String, val triesLeft: (Int) -> String, val wait: Regex, val waitLeft: Regex,
        val wipeWarning: String, val wiped: String,
    )

    private val vi = PinWords(
        wrongPin = "Mã PIN không đúng.",
        triesLeft = { "Số lần thử còn lại: $it." },
        wait = Regex("Đã nhập sai nhiều lần\\. Vui lòng đợi (29|30) giây rồi thử lại\\."),
        waitLeft = Regex("(19|20|21) giây"),
        wipeWarning = "toàn bộ dữ liệu trên máy sẽ bị xoá vĩnh viễn",
        wiped = "Dữ liệu trên máy đã bị xoá sau quá nhiều lần nhập sai mã PIN",
    )

    private val en = PinWords(
        wrongPin = "Wrong PIN.",
        triesLeft = { "Tries left: $it." },
        wait = Regex("Too many wrong PINs\\. Please wait (29|30) seconds and try again\\."),
        waitLeft = Regex("(19|20|21) seconds"),
        wipeWarning = "all data on this phone is erased for good",
        wiped = "The data on this phone was erased after too many wrong PINs",
    )

    @Test
    fun wrongPinsShowTriesLeftThenTheWait() = triesLeftThenTheWait(vi)

    @Test
    @Config(qualifiers = "en")
    fun wrongPinsShowTriesLeftThenTheWaitInEnglish() = triesLeftThenTheWait(en)

    private fun triesLeftThenTheWait(w: PinWords) {
        val phone = Phone()
        phone.seededAndLocked()
        val unlock = phone.launch(UnlockActivity::class.java).get()
        assertFalse(unlock.view<android.view.View>("sec_attempts").isShown)
        unlock.wrong(phone)
        assertEquals(w.wrongPin, unlock.textOf("sec_message"))
        assertEquals(w.triesLeft(9), unlock.textOf("sec_attempts"))
        assertFalse(unlock.view<android.view.View>("sec_wipe_warning").isShown)
        unlock.wrong(phone)
        unlock.wrong(phone)
        assertEquals(w.triesLeft(7), unlock.textOf("sec_attempts"))
        // Three free tries; the fourth must wait 30 seconds (the PIN is not even tried).
        unlock.wrong(phone, LEADER_PIN)
        assertTrue(unlock.textOf("sec_wait").matches(w.wait), unlock.textOf("sec_wait"))
        assertFalse(unlock.view<android.view.View>("sec_unlock").isEnabled)
        assertFalse(phone.app.session.isUnlocked())
        // The countdown runs on the screen.
        org.robolectric.shadows.ShadowLooper.idleMainLooper(10, java.util.concurrent.TimeUnit.SECONDS)
        assertTrue(unlock.textOf("sec_wait").contains(w.waitLeft), unlock.textOf("sec_wait"))
        org.robolectric.shadows.ShadowLooper.idleMainLooper(21, java.util.concurrent.TimeUnit.SECONDS)
        assertFalse(unlock.view<android.view.View>("sec_wait").isShown)
        assertTrue(unlock.view<android.view.View>("sec_unlock").isEnabled)
    }

    @Test
    fun afterTheWipeThresholdTheDataIsGoneAndSetupIsNext() = wrongPinsUntilTheWipe(vi)

    @Test
    @Config(qualifiers = "en")
    fun afterTheWipeThresholdTheDataIsGoneAndSetupIsNextInEnglish() = wrongPinsUntilTheWipe(en)

    private fun wrongPinsUntilTheWipe(w: PinWords) {
        val phone = Phone()
        phone.app.session.create("Lò Thị Mai", LEADER_PIN).also { seedClub(it) }.setWipeAfter(3)
        phone.app.session.lock()
        val path = File(phone.app.session.storePath)
        val unlock = phone.launch(UnlockActivity::class.java).get()
        unlock.wrong(phone)
        assertEquals(w.triesLeft(2), unlock.textOf("sec_attempts"))
        assertTrue(unlock.view<android.view.View>("sec_wipe_warning").isShown)
        assertTrue(w.wipeWarning in unlock.screenText())
        unlock.wrong(phone)
        assertEquals(w.triesLeft(1), unlock.textOf("sec_attempts"))
        unlock.wrong(phone)
        assertTrue(w.wiped in unlock.textOf("sec_message"))
        assertFalse(unlock.has("sec_unlock") && unlock.view<android.view.View>("sec_unlock").isEnabled)
        assertFalse(path.exists(), "the store file is still there")
        unlock.tap("sec_wiped_continue")
        val start = phone.next(unlock)!!
        assertEquals(SetupActivity::class.java.name, start.startedClass())
        // Even the right PIN opens nothing: the store is gone (scenario 4).
        assertFalse(phone.app.session.exists())
    }

    @Test
    fun lockedWhenTheAppGoesToTheBackground() {
        val phone = Phone()
        phone.seededAndLocked()
        val unlockC = Robolectric.buildActivity(UnlockActivity::class.java).setup()
        phone.settle()
        val unlock = unlockC.get()
        unlock.type("sec_pin", LEADER_PIN)
        unlock.tap("sec_unlock")
        phone.settle()
        assertTrue(phone.app.session.isUnlocked())
        val settingsC = Robolectric.buildActivity(SettingsActivity::class.java).setup()
        phone.settle()
        unlockC.pause().stop().destroy()
        assertTrue(phone.app.session.isUnlocked())
        // Home button: the last screen of the app stops.
        settingsC.pause().stop()
        phone.settle()
        assertFalse(phone.app.session.isUnlocked())
        settingsC.restart().start().resume()
        phone.settle()
        val settings = settingsC.get()
        assertTrue(settings.isFinishing)
        val start = phone.next(settings)!!
        assertTrue(start is StartActivity)
        assertEquals(UnlockActivity::class.java.name, start.startedClass())
    }

    @Test
    @Config(qualifiers = "en")
    fun wrongPinInEnglish() {
        val phone = Phone()
        phone.seededAndLocked()
        val unlock = phone.launch(UnlockActivity::class.java).get()
        assertEquals("Club leader", unlock.textOf("sec_user_0"))
        unlock.wrong(phone)
        assertEquals("Tries left: 9.", unlock.textOf("sec_attempts"))
    }
}
