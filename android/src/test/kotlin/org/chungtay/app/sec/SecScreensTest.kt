package org.chungtay.app.sec

import org.chungtay.app.testing.Phone
import org.chungtay.app.testing.Phone.Companion.tap
import org.chungtay.app.testing.Phone.Companion.type
import org.chungtay.app.testing.Screens
import org.chungtay.app.ui.SettingsActivity
import org.chungtay.app.ui.SetupActivity
import org.chungtay.app.ui.UnlockActivity
import org.junit.Test
import org.junit.runner.RunWith
import org.chungtay.app.testing.AppTestRunner
import org.robolectric.annotation.Config
import org.robolectric.annotation.GraphicsMode
import kotlin.test.assertTrue

/** Screenshots of the security screens (PNG files in target/android/screens), in Vietnamese. */
@RunWith(AppTestRunner::class)
@Config(qualifiers = "vi")
@GraphicsMode(GraphicsMode.Mode.NATIVE)
class SecScreensTest {
    @Test
    fun screens() {
        val phone = Phone()
        val setup = phone.launch(SetupActivity::class.java).get()
        setup.type("sec_name", "Lò Thị Mai")
        assertTrue(Screens.capture(setup, "setup").length() > 0)

        seedClub(phone.app.session.create("Lò Thị Mai", LEADER_PIN))
        val settings = phone.launch(SettingsActivity::class.java).get()
        assertTrue(Screens.capture(settings, "settings").length() > 0)

        phone.app.session.lock()
        val unlock = phone.launch(UnlockActivity::class.java).get()
        unlock.type("sec_pin", "975318")
        unlock.tap("sec_unlock")
        phone.settle()
        assertTrue(Screens.capture(unlock, "unlock").length() > 0)
    }
}
