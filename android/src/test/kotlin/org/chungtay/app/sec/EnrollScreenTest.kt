package org.chungtay.app.sec

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
import org.junit.Test
import org.junit.runner.RunWith
import org.chungtay.app.testing.AppTestRunner
import org.robolectric.annotation.Config
import kotlin.test.assertEquals
import kotlin.test.assertFalse
import kotlin.test.assertNotNull
import kotlin.test.assertNull
import kotlin.test.assertTrue

/** Enrollment with the province's real intake server, from setup, then as settings shows it. */
@RunWith(AppTestRunner::class)
@Config(qualifiers = "vi")
class EnrollScreenTest {
    @Test
    fun setupEnrollsAndShowsTheProvinceFingerprint() = SecIntake().use { intake ->
        val phone = Phone()
        val setup = phone.launch(SetupActivity::class.java).get()
        setup.type("sec_name", "Lò Thị Mai")
        setup.type("sec_pin", LEADER_PIN)
        setup.type("sec_pin_repeat", LEADER_PIN)
        setup.tap("sec_create")
        phone.settle()
        setup.type("sec_enroll_url", intake.url)
        setup.type("sec_enroll_code", intake.code)
        setup.type("sec_enroll_fingerprint", "0000-0000-0000-0000-0000")
        setup.tap("sec_enroll")
        phone.settle()
        assertEquals("Dấu vân tay của tỉnh không khớp với giấy. Chưa kết nối. Hãy báo cán bộ Hội tỉnh.", setup.textOf("sec_message"))
        assertNull(phone.app.session.store().enrollmentInfo())

        setup.type("sec_enroll_fingerprint", intake.fingerprint)
        setup.tap("sec_enroll")
        phone.settle()
        assertFalse(setup.view<android.view.View>("sec_message").isShown)
        assertTrue(intake.fingerprint in setup.textOf("sec_enrolled"), setup.textOf("sec_enrolled"))
        assertEquals("Tiếp tục", setup.textOf("sec_later"))
        assertNotNull(phone.app.session.store().enrollmentInfo())
        setup.tap("sec_later")
        phone.settle()
        assertEquals(HomeActivity::class.java.name, setup.startedClass())

        // Settings then shows the pinned fingerprint instead of the form.
        val settings = phone.launch(SettingsActivity::class.java).get()
        assertTrue(intake.fingerprint in settings.textOf("sec_enrolled_settings"))
        assertFalse(settings.view<android.view.View>("sec_enroll").isShown)
    }

    @Test
    fun settingsEnrollsWhenSetupLeftItForLater() = SecIntake().use { intake ->
        val phone = Phone()
        phone.app.session.create("Lò Thị Mai", LEADER_PIN)
        val settings = phone.launch(SettingsActivity::class.java).get()
        assertTrue(settings.has("sec_enroll"))
        assertFalse(settings.view<android.view.View>("sec_enrolled_settings").isShown)
        settings.type("sec_enroll_url", intake.url)
        settings.type("sec_enroll_code", intake.code)
        settings.type("sec_enroll_fingerprint", intake.fingerprint)
        settings.tap("sec_enroll")
        phone.settle()
        assertTrue(intake.fingerprint in settings.textOf("sec_enrolled_settings"))
        assertFalse(settings.view<android.view.View>("sec_enroll").isShown)
        assertEquals("Đã kết nối với tỉnh. Hãy so dấu vân tay bên dưới với giấy.", settings.textOf("sec_message"))
    }
}
