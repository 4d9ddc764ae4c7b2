package org.chungtay.app.prov

import android.app.Activity
import android.content.Intent
import android.net.Uri
import java.io.ByteArrayOutputStream
import java.time.YearMonth
import kotlin.test.assertEquals
import kotlin.test.assertFalse
import kotlin.test.assertTrue
import org.chungtay.app.testing.Phone
import org.chungtay.app.testing.Phone.Companion.has
import org.chungtay.app.testing.Phone.Companion.screenText
import org.chungtay.app.testing.Phone.Companion.tap
import org.chungtay.app.testing.Phone.Companion.textOf
import org.chungtay.app.testing.Screens
import org.chungtay.app.ui.Nav
import org.chungtay.app.ui.ReportActivity
import org.chungtay.core.Gender
import org.chungtay.ffi.ClubStore
import org.junit.Test
import org.junit.runner.RunWith
import org.chungtay.app.testing.AppTestRunner
import org.robolectric.Shadows.shadowOf
import org.robolectric.annotation.Config
import org.robolectric.annotation.GraphicsMode

/** The monthly report: last month by default, small counts as "<5", the XLSX saved where the user picks. */
@RunWith(AppTestRunner::class)
@GraphicsMode(GraphicsMode.Mode.NATIVE)
class ReportScreenTest {
    private val last = YearMonth.now().minusMonths(1)
    private val mm = "%02d/%d".format(last.monthValue, last.year)

    /** A club of 12: nine Thái women, two Mường women, one Thái man; last month's meeting with 9 and 3 guests. */
    private fun seed(phone: Phone): Pair<ClubStore, String> {
        val store = phone.app.session.create(Seed.LEADER, Seed.PIN)
        val club = Seed.club(store, commune = "Trung Lý")
        val ids = Seed.names.take(9).mapIndexed { i, n -> Seed.member(store, club, n, 1975 + i).id } +
            listOf("Đinh Thị Nhàn", "Quách Thị Mơ").map { Seed.member(store, club, it, 1990, group = "Mường").id } +
            Seed.member(store, club, "Hà Văn Páo", 1988, gender = Gender.MALE).id
        Seed.meeting(store, club, last.atDay(12), ids.take(9), guests = 3)
        return store to club
    }

    @Test
    @Config(qualifiers = "vi")
    fun `last month's report with small cells hidden and its XLSX saved`() {
        val phone = Phone()
        val (_, club) = seed(phone)
        val report = phone.open(ReportActivity::class.java) { putExtra(Nav.CLUB_ID, club) }
        assertEquals("Tháng $mm", report.textOf("month"))
        report.tap("show")
        phone.settle()
        assertTrue(report.textOf("club").contains("xã Trung Lý"), report.textOf("club"))
        assertTrue(report.textOf("meetings").startsWith("Số buổi họp: 1"), report.textOf("meetings"))
        val counts = (0 until 10).flatMap { i -> (0 until 60).filter { report.has("count_${i}_$it") }.map { j -> report.textOf("count_${i}_$j") } }
        assertTrue("<5" in counts, counts.toString())
        assertTrue(counts.all { it == "<5" || it == "x" || it.toIntOrNull() != null }, counts.toString())
        assertTrue(report.screenText().contains("“<5”: từ 1 đến 4 người"))
        Screens.capture(report, "report")

        val bytes = save(phone, report)
        assertEquals("PK", String(bytes, 0, 2, Charsets.ISO_8859_1))
    }

    @Test
    @Config(qualifiers = "en")
    fun `the tables in English and another month picked`() {
        val phone = Phone()
        val (store, club) = seed(phone)
        val report = phone.open(ReportActivity::class.java) { putExtra(Nav.CLUB_ID, club) }
        report.tap("show")
        phone.settle()
        val v = store.monthlyReport(club, last.year, last.monthValue)
        val text = report.screenText()
        for (t in v.tables) {
            assertTrue(text.contains(t.titleEn), "${t.titleEn} in $text")
            if (t.titleEn != t.titleVi) assertFalse(text.contains(t.titleVi))
        }
        assertTrue(report.textOf("meetings").startsWith("Meetings: 1"))
        report.tap("prev")
        report.tap("show")
        phone.settle()
        val before = last.minusMonths(1)
        assertEquals("Month %02d/%d".format(before.monthValue, before.year), report.textOf("month"))
        assertTrue(report.textOf("meetings").startsWith("Meetings: 0"), report.textOf("meetings"))
    }

    private fun save(phone: Phone, report: Activity): ByteArray {
        report.tap("share")
        val asked = shadowOf(report).nextStartedActivityForResult
        assertEquals(Intent.ACTION_CREATE_DOCUMENT, asked.intent.action)
        assertEquals(ReportActivity.XLSX, asked.intent.type)
        val uri = Uri.parse("content://documents/picked/report.xlsx")
        val out = ByteArrayOutputStream()
        shadowOf(report.contentResolver).registerOutputStream(uri, out)
        shadowOf(report).receiveResult(asked.intent, Activity.RESULT_OK, Intent().setData(uri))
        phone.settle()
        check(out.size() > 0) { "nothing written; toast: " + lastToast() }
        return out.toByteArray()
    }
}
