package org.chungtay.app.prov

import java.util.concurrent.TimeUnit
import kotlin.test.assertEquals
import kotlin.test.assertTrue
import org.chungtay.app.testing.Phone
import org.chungtay.app.testing.Phone.Companion.textOf
import org.chungtay.app.ui.AuditActivity
import org.junit.Assume.assumeTrue
import org.junit.Test
import org.junit.runner.RunWith
import org.chungtay.app.testing.AppTestRunner
import org.robolectric.annotation.Config

/**
 * A consent row deleted from the file behind the app's back (sqlite3 on the closed store):
 * the audit screen says the trail does not hold, names the missing record, and the member now
 * shows as without consent.
 */
@RunWith(AppTestRunner::class)
@Config(qualifiers = "vi")
class AuditDamageTest {
    @Test
    fun `a consent deleted from the file shows as missing`() {
        val sqlite = java.io.File("/usr/bin/sqlite3")
        assumeTrue("needs the sqlite3 command", sqlite.canExecute())
        val phone = Phone()
        val store = phone.app.session.create(Seed.LEADER, Seed.PIN)
        val leader = store.currentUser().id
        val xuan = Seed.member(store, Seed.club(store), "Lò Thị Xuân", 2007)
        val consent = Seed.consentForTrainingAndLoan(store, xuan.id)
        phone.app.session.close()

        val p = ProcessBuilder(sqlite.path, phone.app.session.storePath, "DELETE FROM consents WHERE id = '${consent.id}';")
            .redirectErrorStream(true).start()
        val out = p.inputStream.bufferedReader().readText()
        assertTrue(p.waitFor(30, TimeUnit.SECONDS) && p.exitValue() == 0, out)

        phone.app.session.unlock(leader, Seed.PIN)
        val audit = phone.open(AuditActivity::class.java)
        assertEquals("Nhật ký kiểm tra bị sửa hoặc thiếu!", audit.textOf("verdict"))
        assertEquals("sự đồng ý #${consent.id.take(8)}: bị mất", audit.textOf("damaged_0"))
        assertEquals("Lò Thị Xuân", audit.textOf("noconsent_0"))
    }
}
