package org.chungtay.app

import android.os.Looper
import android.view.WindowManager
import java.time.Duration
import kotlin.test.assertEquals
import kotlin.test.assertFalse
import kotlin.test.assertTrue
import org.chungtay.app.testing.Phone
import org.chungtay.app.ui.HomeActivity
import org.chungtay.app.ui.StartActivity
import org.chungtay.app.ui.UnlockActivity
import org.junit.Test
import org.junit.runner.RunWith
import org.chungtay.app.testing.AppTestRunner
import org.robolectric.Shadows.shadowOf

/** The phone-wide rules of ChungTayApp, on a screen that shows records. */
@RunWith(AppTestRunner::class)
class LockTest {
    private val phone = Phone()
    private val session = phone.app.session

    private fun openHome(): org.robolectric.android.controller.ActivityController<HomeActivity> {
        session.create("Lò Thị Mai", PIN)
        return phone.launch(HomeActivity::class.java)
    }

    /** The store itself (not only the app's flag) is locked: the core dropped its keys. */
    private fun coreUnlocked(): Boolean = session.current()!!.isUnlocked()

    @Test
    fun the_store_locks_after_the_idle_timeout_and_the_screen_goes_to_the_pin_pad() {
        phone.app.idle.timeoutMillis = 60_000
        val home = openHome()
        assertTrue(coreUnlocked())
        shadowOf(Looper.getMainLooper()).idleFor(Duration.ofSeconds(59))
        phone.settle()
        assertTrue(session.isUnlocked(), "locked before the timeout")
        shadowOf(Looper.getMainLooper()).idleFor(Duration.ofSeconds(2))
        phone.settle()
        assertFalse(session.isUnlocked())
        assertFalse(coreUnlocked())
        val next = shadowOf(home.get()).nextStartedActivity
        assertEquals(StartActivity::class.java.name, next.component!!.className)
        assertTrue(home.get().isFinishing, "the screen with records stays open behind the PIN pad")
        // And Start sends a locked store to the PIN pad.
        val start = org.robolectric.Robolectric.buildActivity(StartActivity::class.java, next).setup().get()
        assertEquals(UnlockActivity::class.java.name, shadowOf(start).nextStartedActivity.component!!.className)
    }

    @Test
    fun a_touch_restarts_the_idle_timer() {
        phone.app.idle.timeoutMillis = 60_000
        val home = openHome()
        shadowOf(Looper.getMainLooper()).idleFor(Duration.ofSeconds(50))
        home.get().onUserInteraction()
        shadowOf(Looper.getMainLooper()).idleFor(Duration.ofSeconds(50))
        phone.settle()
        assertTrue(session.isUnlocked())
        assertTrue(coreUnlocked())
    }

    @Test
    fun leaving_the_app_locks_it_at_once_and_coming_back_asks_for_the_pin() {
        val home = openHome()
        home.pause().stop()
        phone.settle()
        assertFalse(session.isUnlocked())
        assertFalse(coreUnlocked())
        home.restart().start().resume()
        phone.settle()
        assertTrue(home.get().isFinishing)
        assertEquals(StartActivity::class.java.name, shadowOf(home.get()).nextStartedActivity.component!!.className)
    }

    @Test
    fun the_file_picker_does_not_lock_the_app_but_the_idle_timeout_still_does() {
        phone.app.idle.timeoutMillis = 60_000
        val home = openHome()
        home.get().startActivityForResult(android.content.Intent(android.content.Intent.ACTION_CREATE_DOCUMENT).setType("*/*"), 7)
        home.pause().stop()
        phone.settle()
        assertTrue(session.isUnlocked(), "locked while the user picks a file")
        shadowOf(Looper.getMainLooper()).idleFor(Duration.ofSeconds(61))
        phone.settle()
        assertFalse(session.isUnlocked())
        assertFalse(coreUnlocked())
        // Back from the picker and away again: any other exit locks at once as before.
        session.unlock(session.store().users().first().id, PIN)
        home.restart().resume() // restart() starts it too (performRestart), as the system does
        home.pause().stop()
        phone.settle()
        assertFalse(coreUnlocked())
    }

    @Test
    fun every_window_is_secure_against_screenshots_and_recents_thumbnails() {
        val home = openHome()
        val flags = home.get().window.attributes.flags
        assertEquals(WindowManager.LayoutParams.FLAG_SECURE, flags and WindowManager.LayoutParams.FLAG_SECURE)
    }

    @Test
    fun no_text_field_lets_the_keyboard_learn_what_is_typed() {
        // Names, stories and PINs must not end up in the keyboard's suggestions.
        fun fields(a: android.app.Activity): List<android.widget.EditText> {
            val out = mutableListOf<android.widget.EditText>()
            fun walk(v: android.view.View) {
                if (v is android.widget.EditText) out.add(v)
                if (v is android.view.ViewGroup) for (i in 0 until v.childCount) walk(v.getChildAt(i))
            }
            walk(a.window.decorView)
            return out
        }
        val setup = phone.launch(org.chungtay.app.ui.SetupActivity::class.java).get()
        session.create("Lò Thị Mai", PIN)
        val clubId = session.store().addClub(
            org.chungtay.core.ClubInput("CLB bản Pù Quăn", org.chungtay.core.ClubKind.ANTI_TRAFFICKING, "Thanh Hóa", "Pù Nhi", null, null),
        ).id
        val edit = org.robolectric.Robolectric.buildActivity(
            org.chungtay.app.ui.MemberEditActivity::class.java, org.chungtay.app.ui.Nav.newMember(phone.app, clubId),
        ).setup().get()
        phone.settle()
        val all = fields(setup) + fields(edit)
        assertTrue(all.size >= 8, "found ${all.size} text fields")
        val flag = android.view.inputmethod.EditorInfo.IME_FLAG_NO_PERSONALIZED_LEARNING
        assertEquals(emptyList(), all.filter { it.imeOptions and flag == 0 }.map { it.tag })
    }

    private companion object {
        const val PIN = "135792"
    }
}
