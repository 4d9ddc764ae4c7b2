package org.chungtay.app.ui

import android.content.Intent
import android.net.Uri
import android.os.Bundle
import android.widget.EditText
import android.widget.LinearLayout
import android.widget.Toast
import java.time.LocalDate
import org.chungtay.app.R
import org.chungtay.app.model.Audit
import org.chungtay.app.model.AuditReport
import org.chungtay.app.model.ProvFormat
import org.chungtay.app.model.TrailRow
import org.chungtay.app.model.Who
import org.chungtay.core.Annotation
import org.chungtay.core.OverdueThresholds
import org.chungtay.core.Permission
import org.chungtay.core.RecordKind
import org.chungtay.ffi.defaultOverdueThresholds

/**
 * The field audit (the auditor's screen, also open to the leader): whether the trail verifies,
 * meetings changed late, overdue referrals, members without consent, damaged and missing
 * records; the trail itself, newest first; notes on a record; the signed export, saved to a
 * file the user picks.
 */
class AuditActivity : BaseActivity() {
    private data class Rights(val read: Boolean, val annotate: Boolean, val export: Boolean)
    private data class Target(val kind: RecordKind, val id: String, val label: String)

    private var rights = Rights(false, false, false)
    private var report: AuditReport? = null
    private var trail: List<TrailRow> = emptyList()
    private var target: Target? = null
    private var notes: List<Annotation> = emptyList()
    private var pendingExport: String? = null
    private var verifiedText: String? = null

    override fun onCreate(savedInstanceState: Bundle?) {
        super.onCreate(savedInstanceState)
        setTitle(R.string.prov_audit_title)
        page { heading(getString(R.string.prov_audit_title), "title") }
        core({ Rights(store.may(Permission.READ_AUDIT), store.may(Permission.ANNOTATE), store.may(Permission.EXPORT_AUDIT)) }) { r ->
            rights = r
            if (r.read) load() else page {
                heading(getString(R.string.prov_audit_title), "title")
                label(getString(R.string.prov_audit_forbidden), "forbidden")
            }
        }
    }

    private fun load() {
        val limits = thresholds()
        core({ Audit.load(store, limits) to Audit.trail(store.auditEntries()) }) { (rep, t) ->
            report = rep
            trail = t
            render()
        }
    }

    private fun render() {
        val rep = report ?: return
        page {
            heading(getString(R.string.prov_audit_title), "title")
            label(if (rep.verified) getString(R.string.prov_audit_verified, rep.entries.toInt()) else getString(R.string.prov_audit_broken), "verdict")
            verifiedText?.let { label(it, "verify_result") }
            button(getString(R.string.prov_audit_verify), "verify") {
                core({ store.verifyAudit() }) { n ->
                    verifiedText = getString(R.string.prov_audit_verify_ok, n.toInt())
                    render()
                }
            }

            heading(getString(R.string.prov_audit_late_edits), "late_edits")
            if (rep.lateEdits.isEmpty()) label(getString(R.string.prov_audit_none), "late_none")
            rep.lateEdits.forEachIndexed { i, e ->
                val text = getString(R.string.prov_audit_late_edit, e.meetingDate, e.editedAt, who(e.by), e.daysAfter.toInt())
                finding(text, "late_$i", Target(RecordKind.MEETING, e.meetingId, text))
            }

            heading(getString(R.string.prov_audit_overdue), "overdue")
            if (rep.overdue.isEmpty()) label(getString(R.string.prov_audit_none), "overdue_none")
            rep.overdue.forEachIndexed { i, o ->
                val text = getString(R.string.prov_audit_overdue_item, o.memberName, ProvWords.state(this@AuditActivity, o.state), o.since, o.days.toInt())
                finding(text, "overdue_$i", Target(RecordKind.REFERRAL, o.referralId, text))
            }

            heading(getString(R.string.prov_audit_no_consent), "no_consent")
            if (rep.withoutConsent.isEmpty()) label(getString(R.string.prov_audit_none), "no_consent_none")
            rep.withoutConsent.forEachIndexed { i, m ->
                finding(m.memberName, "noconsent_$i", Target(RecordKind.MEMBER, m.memberId, m.memberName))
            }

            heading(getString(R.string.prov_audit_damaged), "damaged")
            if (rep.damaged.isEmpty()) label(getString(R.string.prov_audit_none), "damaged_none")
            rep.damaged.forEachIndexed { i, d ->
                label(getString(R.string.prov_audit_damaged_item, ProvWords.kind(this@AuditActivity, d.kind), ProvFormat.shortId(d.id),
                    ProvWords.damage(this@AuditActivity, d.reason)), "damaged_$i")
            }
            label(getString(R.string.prov_audit_no_attendance, rep.meetingsWithoutAttendance), "no_attendance")
            label(getString(R.string.prov_audit_changed, rep.changedSinceCheckpoint), "changed")

            if (rights.annotate) annotationSection()

            if (rights.export) {
                button(getString(R.string.prov_audit_export_json), "export_json") { export(csv = false) }
                button(getString(R.string.prov_audit_export_csv), "export_csv") { export(csv = true) }
            }

            heading(getString(R.string.prov_audit_trail), "trail")
            trail.take(TRAIL_SHOWN).forEachIndexed { i, e ->
                val what = e.kind?.let { ProvWords.kind(this@AuditActivity, it) + " #" + ProvFormat.shortId(e.recordId) } ?: ""
                label(getString(R.string.prov_audit_trail_item, e.time, ProvFormat.shortId(e.userId), ProvWords.role(this@AuditActivity, e.role),
                    ProvWords.action(this@AuditActivity, e.action), what).trim(), "trail_$i").textSize = 13f
            }
        }
    }

    private fun LinearLayout.finding(text: String, tag: String, t: Target) {
        if (rights.annotate) item(text, tag) { pick(t) } else label(text, tag)
    }

    private fun LinearLayout.annotationSection() {
        heading(getString(R.string.prov_audit_annotation), "annotations")
        val t = target
        if (t == null) {
            label(getString(R.string.prov_audit_annotate_pick), "annotate_pick")
            return
        }
        label(getString(R.string.prov_audit_annotate_for, t.label), "annotate_for")
        notes.forEachIndexed { i, a ->
            label(getString(R.string.prov_audit_annotation_item, ProvFormat.time(a.stamp.createdAt), who(Who.of(a.stamp.createdBy, report?.users ?: emptyList())), a.text), "annotation_$i")
        }
        field(getString(R.string.prov_audit_annotation), "annotation", android.text.InputType.TYPE_CLASS_TEXT or android.text.InputType.TYPE_TEXT_FLAG_CAP_SENTENCES)
        button(getString(R.string.prov_audit_annotate), "annotate") {
            val text = window.decorView.findViewWithTag<EditText>("annotation").text.toString()
            core({
                store.annotate(t.kind, t.id, text)
                store.annotations(t.kind, t.id)
            }) { list ->
                notes = list
                render()
            }
        }
    }

    private fun pick(t: Target) {
        core({ store.annotations(t.kind, t.id) }) { list ->
            target = t
            notes = list
            render()
        }
    }

    private fun who(w: Who): String = when (w) {
        Who.Province -> getString(R.string.prov_recipient_provincial_union)
        is Who.User -> ProvWords.role(this, w.role) + " #" + w.shortId
    }

    private fun export(csv: Boolean) {
        core({ store.exportAudit() }) { e ->
            pendingExport = if (csv) e.csv else e.signedJson
            val intent = Intent(Intent.ACTION_CREATE_DOCUMENT)
                .addCategory(Intent.CATEGORY_OPENABLE)
                .setType(if (csv) "text/csv" else "application/json")
                .putExtra(Intent.EXTRA_TITLE, Audit.exportName(LocalDate.now(), csv))
            this@AuditActivity.startActivityForResult(intent, SAVE_EXPORT)
            load() // the export is itself in the trail
        }
    }

    @Deprecated("framework-only app: no AndroidX result API")
    override fun onActivityResult(requestCode: Int, resultCode: Int, data: Intent?) {
        super.onActivityResult(requestCode, resultCode, data)
        val text = pendingExport
        val uri: Uri? = data?.data
        if (requestCode != SAVE_EXPORT || resultCode != RESULT_OK || uri == null || text == null) return
        pendingExport = null
        core({
            val out = contentResolver.openOutputStream(uri) ?: error("no stream")
            out.use { it.write(text.toByteArray(Charsets.UTF_8)) }
        }, { Toast.makeText(this, R.string.prov_save_failed, Toast.LENGTH_LONG).show() }) {
            Toast.makeText(this, R.string.prov_audit_exported, Toast.LENGTH_LONG).show()
        }
    }

    companion object {
        const val SAVE_EXPORT = 41
        const val TRAIL_SHOWN = 200

        /** The province's thresholds (days per state, late-edit days); tests set their own. */
        @Volatile
        var thresholds: () -> OverdueThresholds = { defaultOverdueThresholds() }
    }
}
