package org.chungtay.app.sec

import android.view.View
import android.view.WindowManager
import org.chungtay.app.Prefs
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
import org.chungtay.app.ui.UnlockActivity
import org.chungtay.core.ChungTayException
import org.chungtay.core.UserRole
import org.junit.Test
import org.junit.runner.RunWith
import org.chungtay.app.testing.AppTestRunner
import org.robolectric.annotation.Config
import java.io.File
import kotlin.test.assertEquals
import kotlin.test.assertFailsWith
import kotlin.test.assertFalse
import kotlin.test.assertTrue

@RunWith(AppTestRunner::class)
@Config(qualifiers = "vi")
class SettingsScreenTest {
    private fun secure(a: android.app.Activity) =
        (a.window.attributes.flags and WindowManager.LayoutParams.FLAG_SECURE) != 0

    /** Unlocks at the PIN pad with [pin]; returns what the screen showed before and after. */
    private fun unlockWith(phone: Phone, pin: String): Pair<String, String> {
        val unlock = phone.launch(UnlockActivity::class.java).get()
        val before = unlock.screenText()
        unlock.type("sec_pin", pin)
        unlock.tap("sec_unlock")
        phone.settle()
        assertEquals(HomeActivity::class.java.name, unlock.startedClass())
        assertTrue(unlock.isFinishing)
        return before to unlock.screenText()
    }

    /** What the user reads in scenarios 4 and 5, in one language. */
    class Words(
        val pinDuplicate: String, val duressSet: String, val leader: String,
        val recoveryMissing: String, val shownOnce: String, val backupSaved: String, val pickFirst: String, val wrongRecovery: String,
    )

    private val vi = Words(
        pinDuplicate = "Không dùng được mã PIN này. Hãy chọn mã khác.",
        duressSet = "Đã đặt mã PIN khẩn cấp.",
        leader = "Chủ nhiệm",
        recoveryMissing = "Hãy tạo mã khôi phục trước khi sao lưu.",
        shownOnce = "chỉ hiện một lần",
        backupSaved = "Đã lưu bản sao lưu.",
        pickFirst = "Hãy chọn tệp sao lưu trước.",
        wrongRecovery = "Mã khôi phục không đúng.",
    )

    private val en = Words(
        pinDuplicate = "This PIN cannot be used. Choose another.",
        duressSet = "Duress PIN set.",
        leader = "Club leader",
        recoveryMissing = "Create a recovery secret before making a backup.",
        shownOnce = "shown only once",
        backupSaved = "Backup saved.",
        pickFirst = "Pick the backup file first.",
        wrongRecovery = "Wrong recovery secret.",
    )

    @Test
    fun theDuressPinUnlocksLikeTheRealOneAndOpensAnEmptyClub() = duressPin(vi)

    @Test
    @Config(qualifiers = "en")
    fun theDuressPinUnlocksLikeTheRealOneAndOpensAnEmptyClubInEnglish() = duressPin(en)

    private fun duressPin(w: Words) {
        val phone = Phone()
        val clubId = seedClub(phone.app.session.create("Lò Thị Mai", LEADER_PIN))
        val settings = phone.launch(SettingsActivity::class.java).get()
        assertTrue(secure(settings))
        settings.type("sec_duress_current", LEADER_PIN)
        settings.type("sec_duress_pin", LEADER_PIN)
        settings.type("sec_duress_repeat", LEADER_PIN)
        settings.tap("sec_set_duress")
        phone.settle()
        assertEquals(w.pinDuplicate, settings.textOf("sec_message"))
        settings.type("sec_duress_current", LEADER_PIN)
        settings.type("sec_duress_pin", DURESS_PIN)
        settings.type("sec_duress_repeat", DURESS_PIN)
        settings.tap("sec_set_duress")
        phone.settle()
        assertEquals(w.duressSet, settings.textOf("sec_message"))
        settings.tap("sec_lock_now")
        phone.settle()
        assertFalse(phone.app.session.isUnlocked())

        val real = unlockWith(phone, LEADER_PIN)
        assertTrue(w.leader in real.first, real.first)
        assertEquals(3, phone.app.session.store().memberList(clubId).size)
        phone.app.session.lock()
        val duress = unlockWith(phone, DURESS_PIN)
        // Same screen, same words, same next screen.
        assertEquals(real, duress)
        assertTrue(phone.app.session.isUnlocked())
        val store = phone.app.session.store()
        assertEquals(listOf(clubId), store.clubs().map { it.id })
        assertEquals(0, store.memberList(clubId).size)
        assertEquals(UserRole.LEADER, store.currentUser().role)
        store.lock()
        assertFailsWith<ChungTayException.WrongPin> { store.unlock(store.users().first().id, LEADER_PIN) }
    }

    @Test
    fun backupThenRestoreOntoANewPhone() = backupThenRestore(vi)

    @Test
    @Config(qualifiers = "en")
    fun backupThenRestoreOntoANewPhoneInEnglish() = backupThenRestore(en)

    private fun backupThenRestore(w: Words) {
        val phone = Phone()
        val clubId = seedClub(phone.app.session.create("Lò Thị Mai", LEADER_PIN))
        val settings = phone.launch(SettingsActivity::class.java).get()
        settings.tap("sec_create_backup")
        phone.settle()
        assertEquals(w.recoveryMissing, settings.textOf("sec_message"))
        settings.tap("sec_setup_recovery")
        phone.settle()
        val secret = settings.textOf("sec_secret")
        assertTrue(secret.matches(Regex("[A-Z2-7]{4}(-[A-Z2-7]{4}){7}")), "secret shape")
        assertTrue(w.shownOnce in settings.screenText())
        settings.tap("sec_recovery_hide")
        assertFalse(secret in settings.screenText())
        settings.tap("sec_create_backup")
        phone.settle()
        val file = File(phone.app.filesDir, "picked/chungtay-saoluu.ctbak").apply { parentFile!!.mkdirs() }
        settings.pickerAnswers(file)
        phone.settle()
        assertEquals(w.backupSaved, settings.textOf("sec_message"))
        assertTrue(file.length() > 1000)

        // The phone breaks: a new phone has neither the store nor the old keystore key.
        phone.app.session.close()
        File(phone.app.session.storePath).parentFile!!.listFiles()!!.filter { it.name.startsWith("chungtay.db") }.forEach { it.delete() }
        val newPhone = Phone(File(phone.app.filesDir, "new-phone-keystore"))
        val setup = newPhone.launch(SetupActivity::class.java).get()
        assertTrue(secure(setup))
        setup.tap("sec_restore_open")
        setup.type("sec_recovery_secret", secret)
        setup.type("sec_new_pin", "802461")
        setup.type("sec_new_pin_repeat", "802461")
        setup.tap("sec_restore")
        assertEquals(w.pickFirst, setup.textOf("sec_message"))
        setup.tap("sec_pick_backup")
        setup.pickerAnswers(file)
        assertTrue(setup.view<View>("sec_backup_picked").isShown)
        setup.type("sec_recovery_secret", "AAAA-BBBB-CCCC-DDDD-EEEE-FFFF-GGGG-HHHH")
        setup.type("sec_new_pin", "802461")
        setup.type("sec_new_pin_repeat", "802461")
        setup.tap("sec_restore")
        newPhone.settle()
        assertEquals(w.wrongRecovery, setup.textOf("sec_message"))
        setup.type("sec_recovery_secret", secret.lowercase())
        setup.type("sec_new_pin", "802461")
        setup.type("sec_new_pin_repeat", "802461")
        setup.tap("sec_restore")
        newPhone.settle()
        assertEquals(HomeActivity::class.java.name, setup.startedClass())
        val names = newPhone.app.session.store().memberList(clubId).map { it.fullName }.sorted()
        assertEquals(listOf("Hà Thị Dung", "Thao Thị Mỷ", "Vi Thị Lan"), names)
        assertTrue(newPhone.key.callers.none(::isMainThread), "a keystore call ran on the UI thread")
    }

    @Test
    fun usersWipeThresholdAndWhatEachRoleSees() {
        val phone = Phone()
        seedClub(phone.app.session.create("Lò Thị Mai", LEADER_PIN))
        val settings = phone.launch(SettingsActivity::class.java).get()
        assertEquals("10", settings.textOf("sec_wipe_after"))
        settings.type("sec_wipe_after", "2")
        settings.tap("sec_set_wipe")
        phone.settle()
        assertEquals("Số lần thử phải từ 3 đến 50.", settings.textOf("sec_message"))
        settings.type("sec_wipe_after", "5")
        settings.tap("sec_set_wipe")
        phone.settle()
        assertEquals("Đã lưu số lần thử.", settings.textOf("sec_message"))
        assertEquals("Hiện còn 5 lần thử trước khi xoá.", settings.textOf("sec_wipe_now"))

        settings.type("sec_user_name", "Vi Thị Hoa")
        settings.tap("sec_user_role_auditor")
        settings.type("sec_user_pin", "246813")
        settings.type("sec_user_pin_repeat", "246813")
        settings.type("sec_user_current", LEADER_PIN)
        settings.tap("sec_add_user")
        phone.settle()
        assertEquals("Đã thêm người dùng.", settings.textOf("sec_message"))
        assertEquals(listOf(UserRole.LEADER, UserRole.AUDITOR), phone.app.session.store().users().map { it.role })

        // The auditor sees her own PIN, lock and language, nothing of survivor safety or users.
        phone.app.session.lock()
        val unlock = phone.launch(UnlockActivity::class.java).get()
        assertEquals("Cán bộ kiểm tra", unlock.textOf("sec_user_1"))
        unlock.tap("sec_user_1")
        unlock.type("sec_pin", "246813")
        unlock.tap("sec_unlock")
        phone.settle()
        assertTrue(phone.app.session.isUnlocked())
        val mine = phone.launch(SettingsActivity::class.java).get()
        assertTrue(mine.has("sec_change_pin"))
        assertTrue(mine.has("sec_lock_now"))
        assertFalse(mine.has("sec_set_duress"))
        assertFalse(mine.has("sec_create_backup"))
        assertFalse(mine.has("sec_add_user"))
        assertFalse(mine.has("sec_enroll"))
        mine.type("sec_old_pin", "246813")
        mine.type("sec_new_pin", "975313")
        mine.type("sec_new_pin_repeat", "975313")
        mine.tap("sec_change_pin")
        phone.settle()
        assertEquals("Đã đổi mã PIN.", mine.textOf("sec_message"))
    }

    @Test
    fun lockTimeoutAndLanguage() {
        val phone = Phone()
        phone.app.session.create("Lò Thị Mai", LEADER_PIN)
        val c = org.robolectric.Robolectric.buildActivity(SettingsActivity::class.java).setup()
        phone.settle()
        val settings = c.get()
        settings.tap("sec_timeout_300")
        assertEquals(300_000L, Prefs(settings).lockTimeoutMillis)
        assertEquals(300_000L, phone.app.idle.timeoutMillis)
        settings.tap("sec_lang_en")
        assertEquals("en", Prefs(settings).language)
        c.recreate()
        phone.settle()
        assertTrue("Lock when not in use" in c.get().screenText())
        Prefs(settings).language = ""
    }
}
