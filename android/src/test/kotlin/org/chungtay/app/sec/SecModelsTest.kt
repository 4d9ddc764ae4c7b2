package org.chungtay.app.sec

import java.io.File
import java.nio.file.Files
import org.chungtay.app.model.DirectWorker
import org.chungtay.app.model.Problem
import org.chungtay.app.model.SecDone
import org.chungtay.app.model.SecMessage
import org.chungtay.app.model.Session
import org.chungtay.app.model.SettingsModel
import org.chungtay.app.model.SetupModel
import org.chungtay.app.model.UnlockModel
import org.chungtay.app.testing.SoftwareDeviceKey
import org.chungtay.core.Permission
import org.chungtay.core.UserRole
import org.chungtay.ffi.minimumKdf
import org.junit.Test
import kotlin.test.assertEquals
import kotlin.test.assertFalse
import kotlin.test.assertNotNull
import kotlin.test.assertNull
import kotlin.test.assertTrue

/** The presentation layer of the security screens on the plain JVM, with the real core. */
class SecModelsTest {
    private val dir: File = Files.createTempDirectory("sec-models").toFile()
    private val key = SoftwareDeviceKey(File(dir, "key")).ensure()
    private val session = Session(File(dir, "store.db").path, { key }, { minimumKdf() })
    private var clock = 1_000_000L

    @Test
    fun setupRefusesWhatTheCoreRefusesThenCreates() {
        val m = SetupModel(session, DirectWorker)
        m.create("Lò Thị Mai", "12345", "12345")
        assertEquals(SecMessage.Failed(Problem.Invalid("pin", "TOO_SHORT")), m.state.message)
        m.create("Lò Thị Mai", "135792", "135793")
        assertEquals(SecMessage.PinsDiffer, m.state.message)
        m.create("  ", "135792", "135792")
        assertEquals(SecMessage.Failed(Problem.Invalid("display_name", "EMPTY")), m.state.message)
        assertFalse(session.exists())
        m.create("Lò Thị Mai", "135792", "135792")
        assertEquals(SetupModel.Step.ENROLL, m.state.step)
        assertTrue(session.isUnlocked())
        // No server here: the enrollment fails as a network problem, and "later" goes on.
        m.enroll("https://127.0.0.1:9/", "ABCD-EFGH", null, "")
        assertEquals(SecMessage.Failed(Problem.Network), m.state.message)
        assertNull(m.state.enrolled)
        m.finish()
        assertEquals(SetupModel.Step.DONE, m.state.step)
    }

    @Test
    fun unlockCountsWaitsAndWipes() {
        seedClub(session.create("Lò Thị Mai", LEADER_PIN))
        session.lock()
        val m = UnlockModel(session, DirectWorker) { clock }
        m.load()
        assertEquals(listOf(UserRole.LEADER), m.state.users.map { it.role })
        assertEquals(m.state.users[0].id, m.state.selected)
        assertEquals(10L, m.state.attemptsLeft)
        repeat(3) { m.unlock("975318") }
        assertEquals(SecMessage.Failed(Problem.WrongPin), m.state.message)
        assertEquals(7L, m.state.attemptsLeft)
        assertFalse(m.fewLeft())
        m.unlock(LEADER_PIN)
        val wait = m.state.message
        assertTrue(wait is SecMessage.Failed && wait.problem is Problem.TooSoon)
        assertTrue(m.waitSeconds() in 29L..30L)
        assertFalse(m.canTry())
        clock += 15_000
        assertTrue(m.waitSeconds() in 14L..15L)
        clock += 16_000
        assertTrue(m.canTry())
        assertFalse(session.isUnlocked())
    }

    @Test
    fun theWipeClosesTheSessionAndLeavesNoFile() {
        session.create("Lò Thị Mai", LEADER_PIN).setWipeAfter(3)
        session.lock()
        val m = UnlockModel(session, DirectWorker) { clock }
        m.load()
        m.unlock("975318")
        m.unlock("975318")
        assertTrue(m.fewLeft())
        assertEquals(1L, m.state.attemptsLeft)
        m.unlock("975318")
        assertTrue(m.state.wiped)
        assertFalse(m.canTry())
        assertFalse(session.exists())
        assertNull(session.current())
    }

    @Test
    fun settingsFollowTheRoleAndSetTheDuressPin() {
        val clubId = seedClub(session.create("Lò Thị Mai", LEADER_PIN))
        val m = SettingsModel(session, DirectWorker)
        m.load()
        assertTrue(m.may(Permission.SAFETY) && m.may(Permission.MANAGE_USERS) && m.may(Permission.SYNC))
        assertNull(m.state.enrollment)
        m.setWipeAfter("x")
        assertEquals(SecMessage.NumberNeeded, m.state.message)
        m.setWipeAfter("51")
        assertEquals(SecMessage.Failed(Problem.Invalid("wipe_after", "ABOVE_MAXIMUM")), m.state.message)
        m.setDuressPin(LEADER_PIN, DURESS_PIN, DURESS_PIN)
        assertEquals(SecMessage.Done(SecDone.DURESS_SET), m.state.message)
        m.addUser(LEADER_PIN, "Vi Thị Hoa", UserRole.DEPUTY, DURESS_PIN, DURESS_PIN)
        assertEquals(SecMessage.Failed(Problem.Invalid("pin", "DUPLICATE")), m.state.message)
        m.addUser(LEADER_PIN, "Vi Thị Hoa", UserRole.DEPUTY, "246813", "246813")
        assertEquals(SecMessage.Done(SecDone.USER_ADDED), m.state.message)
        m.prepareBackup()
        assertEquals(SecMessage.Failed(Problem.Invalid("recovery", "MISSING")), m.state.message)
        m.setupRecovery()
        assertNotNull(m.state.recoverySecret)
        m.forgetSecret()
        assertNull(m.state.recoverySecret)
        m.prepareBackup()
        assertTrue((m.state.backup?.size ?: 0) > 1000)

        // The deputy: records and sync, no survivor safety, no users.
        session.lock()
        val u = UnlockModel(session, DirectWorker) { clock }
        u.load()
        u.select(u.state.users.first { it.role == UserRole.DEPUTY }.id)
        u.unlock("246813")
        assertTrue(u.state.unlocked)
        val d = SettingsModel(session, DirectWorker)
        d.load()
        assertFalse(d.may(Permission.SAFETY))
        assertFalse(d.may(Permission.MANAGE_USERS))
        assertTrue(d.may(Permission.SYNC))

        // The duress PIN at the unlock model: the same outcome as a real unlock, an empty club.
        session.lock()
        val x = UnlockModel(session, DirectWorker) { clock }
        x.load()
        x.unlock(DURESS_PIN)
        assertTrue(x.state.unlocked)
        assertNull(x.state.message)
        assertEquals(listOf(clubId), session.store().clubs().map { it.id })
        assertEquals(0, session.store().memberList(clubId).size)
    }

    @Test
    fun theModelsImportNothingFromAndroid() {
        val src = File("src/main/kotlin/org/chungtay/app/model")
        val mine = src.listFiles()!!.filter { it.name.startsWith("Setup") || it.name.startsWith("Unlock") || it.name.startsWith("Settings") || it.name.startsWith("Sec") }
        assertEquals(4, mine.size)
        for (f in mine) assertFalse(Regex("^import android\\.", RegexOption.MULTILINE).containsMatchIn(f.readText()), f.name)
    }
}
