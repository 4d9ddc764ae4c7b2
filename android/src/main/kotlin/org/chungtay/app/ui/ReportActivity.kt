package org.chungtay.app.ui

import android.content.Intent
import android.net.Uri
import android.os.Bundle
import android.widget.Toast
import java.time.LocalDate
import java.time.YearMonth
import org.chungtay.app.R
import org.chungtay.app.model.Reports
import org.chungtay.ffi.ReportView

/**
 * A club's monthly report: pick the month (the previous one by default), read the tables in
 * the user's language (counts as the core protected them: "12", "<5", "x"), and save the XLSX
 * to a file the user picks (ACTION_CREATE_DOCUMENT; framework only, no FileProvider).
 */
class ReportActivity : BaseActivity() {
    private lateinit var clubId: String
    private var month: YearMonth = Reports.defaultMonth(LocalDate.now())
    private var view: ReportView? = null
    private var pendingXlsx: ByteArray? = null

    override fun onCreate(savedInstanceState: Bundle?) {
        super.onCreate(savedInstanceState)
        setTitle(R.string.prov_report_title)
        clubId = intent.getStringExtra(Nav.CLUB_ID) ?: run { finish(); return }
        render()
    }

    private fun english(): Boolean = resources.configuration.locales[0].language == "en"

    private fun render() {
        page {
            heading(getString(R.string.prov_report_title), "title")
            label(getString(R.string.prov_report_month, Reports.monthText(month)), "month")
            row {
                button(getString(R.string.prov_report_prev), "prev") { month = month.minusMonths(1); view = null; render() }
                    .layoutParams = android.widget.LinearLayout.LayoutParams(0, android.view.ViewGroup.LayoutParams.WRAP_CONTENT, 1f)
                button(getString(R.string.prov_report_next), "next") { month = month.plusMonths(1); view = null; render() }
                    .layoutParams = android.widget.LinearLayout.LayoutParams(0, android.view.ViewGroup.LayoutParams.WRAP_CONTENT, 1f)
            }
            button(getString(R.string.prov_report_show), "show") {
                val m = month
                core({ store.monthlyReport(clubId, m.year, m.monthValue) }) { v ->
                    view = v
                    render()
                }
            }
            val v = view ?: return@page
            label(getString(R.string.prov_report_club, v.clubName, v.commune, v.province), "club")
            label(getString(R.string.prov_report_meetings, v.meetingsHeld.toInt(), v.attendance, v.guests), "meetings")
            Reports.tables(v, english()).forEachIndexed { i, t ->
                heading(t.title, "table_$i")
                t.rows.forEachIndexed { j, (name, count) ->
                    row("row_${i}_$j") {
                        label(name).layoutParams = android.widget.LinearLayout.LayoutParams(0, android.view.ViewGroup.LayoutParams.WRAP_CONTENT, 3f)
                        label(count, "count_${i}_$j").apply {
                            gravity = android.view.Gravity.END
                            layoutParams = android.widget.LinearLayout.LayoutParams(0, android.view.ViewGroup.LayoutParams.WRAP_CONTENT, 1f)
                        }
                    }
                }
                label(getString(R.string.prov_report_total, t.total), "total_$i")
                t.note?.let { label(it, "note_$i").textSize = 13f }
            }
            label(getString(R.string.prov_report_small), "small").textSize = 13f
            button(getString(R.string.prov_report_share), "share") {
                pendingXlsx = v.xlsx
                val intent = Intent(Intent.ACTION_CREATE_DOCUMENT)
                    .addCategory(Intent.CATEGORY_OPENABLE)
                    .setType(XLSX)
                    .putExtra(Intent.EXTRA_TITLE, Reports.fileName(month))
                this@ReportActivity.startActivityForResult(intent, SAVE_XLSX) // not View.startActivityForResult (the page's receiver)
            }
        }
    }

    @Deprecated("framework-only app: no AndroidX result API")
    override fun onActivityResult(requestCode: Int, resultCode: Int, data: Intent?) {
        super.onActivityResult(requestCode, resultCode, data)
        val bytes = pendingXlsx
        val uri: Uri? = data?.data
        if (requestCode != SAVE_XLSX || resultCode != RESULT_OK || uri == null || bytes == null) return
        pendingXlsx = null
        core({
            val out = contentResolver.openOutputStream(uri) ?: error("no stream")
            out.use { it.write(bytes) }
        }, { Toast.makeText(this, R.string.prov_save_failed, Toast.LENGTH_LONG).show() }) {
            Toast.makeText(this, R.string.prov_report_saved, Toast.LENGTH_LONG).show()
        }
    }

    companion object {
        const val SAVE_XLSX = 42
        const val XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    }
}
