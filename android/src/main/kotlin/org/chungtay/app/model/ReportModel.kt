package org.chungtay.app.model

import java.time.LocalDate
import java.time.YearMonth
import org.chungtay.ffi.ReportView

/** A report table in one language, its counts as the core gave them ("12", "<5", "x"). */
data class ReportTable(val title: String, val rows: List<Pair<String, String>>, val total: String, val note: String?)

object Reports {
    /** The month a leader usually reports on: the one before [today]. */
    fun defaultMonth(today: LocalDate): YearMonth = YearMonth.from(today).minusMonths(1)

    /** The month's name on screen: 11/2026. */
    fun monthText(m: YearMonth): String = "%02d/%d".format(m.monthValue, m.year)

    /** The tables in English when [english], else in Vietnamese. */
    fun tables(v: ReportView, english: Boolean): List<ReportTable> = v.tables.map { t ->
        ReportTable(
            title = if (english) t.titleEn else t.titleVi,
            rows = t.rows.map { (if (english) it.labelEn else it.labelVi) to it.count },
            total = t.total,
            note = if (english) t.noteEn else t.noteVi,
        )
    }

    /** The XLSX file's name: club-free, only the month. */
    fun fileName(m: YearMonth): String = "chungtay-report-%d-%02d.xlsx".format(m.year, m.monthValue)

    /** An XLSX is a ZIP: it starts with "PK". */
    fun looksLikeXlsx(bytes: ByteArray): Boolean = bytes.size > 4 && bytes[0] == 'P'.code.toByte() && bytes[1] == 'K'.code.toByte()
}
