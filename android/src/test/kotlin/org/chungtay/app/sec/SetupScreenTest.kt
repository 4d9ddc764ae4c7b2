package org.chungtay.app.sec

import org.chungtay.app.testing.Phone
import org.chungtay.app.testing.Phone.Companion.screenText
import org.chungtay.app.testing.Phone.Companion.tap
import org.chungtay.app.testing.Phone.Companion.textOf
import org.chungtay.app.testing.Phone.Companion.type
import org.chungtay.app.ui.HomeActivity
import org.chungtay.app.ui.SetupActivity
import org.chungtay.app.ui.StartActivity
import org.junit.Test
import org.junit.runner.RunWith
import org.chungtay.app.testing.AppTestRunner
import org.robolectric.annotation.Config
import kotlin.test.assertEquals
import kotlin.test.assertFalse
import kotlin.test.assertTrue

@RunWith(AppTestRunner::class)
@Config(qualifiers = "vi")
class SetupScreenTest {
    @Test
    fun firstRunCreatesTheStoreAndOpensHome() {
        val phone = Phone()
        val start = phone.launch(StartActivity::class.java).get()
        val setup = phone.next(start)!!
        assertTrue(setup is SetupActivity)
        assertTrue("ít nhất 6 chữ số" in setup.textOf("sec_pin_rule"))
        setup.type("sec_name", "Lò Thị Mai")
        setup.type("sec_pin", "2468")
        setup.type("sec_pin_repeat", "2468")
        setup.tap("sec_create")
        phone.settle()
        assertEquals("Mã PIN quá ngắn: cần ít nhất 6 chữ số.", setup.textOf("sec_message"))
        assertFalse(phone.app.session.exists())

        setup.type("sec_pin", "111111")
        setup.type("sec_pin_repeat", "111111")
        setup.tap("sec_create")
        phone.settle()
        assertTrue("quá dễ đoán" in setup.textOf("sec_message"))

        setup.type("sec_pin", "135792")
        setup.type("sec_pin_repeat", "135790")
        setup.tap("sec_create")
        phone.settle()
        assertEquals("Hai lần nhập mã PIN không giống nhau.", setup.textOf("sec_message"))

        setup.type("sec_pin", "135792")
        setup.type("sec_pin_repeat", "135792")
        setup.tap("sec_create")
        phone.settle()
        assertTrue(phone.app.session.isUnlocked())
        // The optional enrollment: the leader leaves it for later.
        assertTrue("Kết nối với Hội LHPN tỉnh" in setup.screenText())
        setup.tap("sec_later")
        phone.settle()
        assertEquals(HomeActivity::class.java.name, setup.startedClass())
        assertTrue(setup.isFinishing)
        assertTrue(phone.key.callers.none(::isMainThread), "a keystore call ran on the UI thread")
    }

    @Test
    @Config(qualifiers = "en")
    fun firstRunInEnglish() {
        val phone = Phone()
        val setup = phone.launch(SetupActivity::class.java).get()
        assertTrue("Create the store" in setup.screenText())
        setup.type("sec_name", "Lo Thi Mai")
        setup.type("sec_pin", "12345")
        setup.type("sec_pin_repeat", "12345")
        setup.tap("sec_create")
        phone.settle()
        assertEquals("The PIN is too short: it needs at least 6 digits.", setup.textOf("sec_message"))
        setup.type("sec_pin", "975310")
        setup.type("sec_pin_repeat", "975310")
        setup.tap("sec_create")
        phone.settle()
        assertTrue("Connect to the provincial union" in setup.screenText())
        setup.tap("sec_later")
        phone.settle()
        assertEquals(HomeActivity::class.java.name, setup.startedClass())
    }
}
