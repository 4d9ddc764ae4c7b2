package org.chungtay.app.ui

import android.os.Bundle
import android.text.InputType
import android.widget.CheckBox
import android.widget.EditText
import android.widget.LinearLayout
import android.widget.TextView
import java.time.LocalDate
import org.chungtay.app.R
import org.chungtay.app.model.FollowUpDraft
import org.chungtay.app.model.MeetingDraft
import org.chungtay.app.model.MeetingModel

/**
 * Scenario 1: a meeting recorded in the village in under two minutes. Topic, date (today),
 * place, facilitator, attendance ticked on the club's members ("all present" first, then untick
 * who is missing), guests, notes and follow-ups. The draft lives in the screen's saved state
 * (a Bundle, never a file or prefs), so a screen killed mid-way comes back as it was.
 */
class MeetingActivity : BaseActivity() {
    private lateinit var model: MeetingModel
    private lateinit var clubId: String
    private lateinit var form: LinearLayout
    private lateinit var attendance: LinearLayout
    private lateinit var present: TextView
    private lateinit var allBox: CheckBox
    private lateinit var followUps: LinearLayout
    private var restored: MeetingDraft? = null
    private var ready = false

    override fun onCreate(savedInstanceState: Bundle?) {
        super.onCreate(savedInstanceState)
        clubId = intent.getStringExtra(Nav.CLUB_ID) ?: return finish()
        val meetingId = intent.getStringExtra(Nav.MEETING_ID)
        model = MeetingModel(clubId, meetingId, app.worker)
        restored = savedInstanceState?.let { readDraft(it) }
        setTitle(if (meetingId == null) R.string.club_meeting_new else R.string.club_meeting_edit)
        form = page { heading(getString(if (meetingId == null) R.string.club_meeting_new else R.string.club_meeting_edit), "title") }
    }

    override fun onResume() {
        super.onResume()
        if (ready || !app.session.isUnlocked()) return
        val keep = restored != null
        model.load(store, keep, LocalDate.now()) { r ->
            r.onSuccess {
                restored?.let { model.draft = it }
                ready = true
                build()
            }.onFailure { failed(it) }
        }
    }

    private fun build() = with(form) {
        val d = model.draft
        field(getString(R.string.club_topic), "topic", value = d.topic)
        errorLine("topic")
        field(getString(R.string.club_date), "date", InputType.TYPE_CLASS_DATETIME or InputType.TYPE_DATETIME_VARIATION_DATE, d.date)
        errorLine("date")
        field(getString(R.string.club_place), "place", value = d.place)
        errorLine("place")
        field(getString(R.string.club_facilitator), "facilitator", value = d.facilitator)
        errorLine("facilitator")
        section(getString(R.string.club_attendance))
        present = label("", "present_count")
        allBox = check(getString(R.string.club_all_present), "all_present", model.allPresent())
        allBox.setOnCheckedChangeListener { _, on ->
            if (on != model.allPresent()) {
                model.setAllPresent(on)
                for (m in model.members) box(m.id).isChecked = on
            }
            updateCount()
        }
        attendance = column("attendance") {
            for (m in model.members) {
                check("${m.fullName} · ${m.village}", "attend_${m.id}", m.id in d.attendees).setOnCheckedChangeListener { _, on ->
                    model.setPresent(m.id, on)
                    if (allBox.isChecked != model.allPresent()) allBox.isChecked = model.allPresent()
                    updateCount()
                }
            }
        }
        errorLine("attendees")
        field(getString(R.string.club_guests), "guests", InputType.TYPE_CLASS_NUMBER, d.guests)
        errorLine("guest_count")
        field(getString(R.string.club_notes), "notes", InputType.TYPE_CLASS_TEXT or InputType.TYPE_TEXT_FLAG_MULTI_LINE or InputType.TYPE_TEXT_FLAG_CAP_SENTENCES, d.notes)
        label(getString(R.string.club_notes_private)).setTextSize(android.util.TypedValue.COMPLEX_UNIT_SP, 13f)
        errorLine("notes")
        section(getString(R.string.club_follow_ups))
        followUps = column("follow_ups")
        d.followUps.ifEmpty { listOf(FollowUpDraft()) }.forEach { addFollowUp(it) }
        errorLine("follow_ups.task")
        errorLine("follow_ups.person")
        errorLine("follow_ups.due")
        button(getString(R.string.club_add_follow_up), "follow_up_add") { addFollowUp(FollowUpDraft()) }
        errorLine("other")
        button(getString(R.string.club_save), "save") { save() }
        updateCount()
    }

    private fun box(memberId: String) = window.decorView.findViewWithTag<CheckBox>("attend_$memberId")

    private fun updateCount() {
        present.text = getString(R.string.club_present_count, model.presentCount, model.members.size)
    }

    /** A follow-up row: fields tagged `follow_task_<n>`, `follow_person_<n>`, `follow_due_<n>`. */
    private fun addFollowUp(f: FollowUpDraft) {
        val n = followUps.childCount
        followUps.column("follow_up_$n") {
            label(getString(R.string.club_follow_up_n, n + 1))
            field(getString(R.string.club_task), "follow_task_$n", value = f.task)
            field(getString(R.string.club_person), "follow_person_$n", value = f.person)
            field(getString(R.string.club_due), "follow_due_$n", InputType.TYPE_CLASS_DATETIME or InputType.TYPE_DATETIME_VARIATION_DATE, f.due)
            check(getString(R.string.club_done), "follow_done_$n", f.done)
        }
    }

    /** The draft as it stands on screen. */
    private fun current(): MeetingDraft {
        val fs = (0 until followUps.childCount).map { n ->
            FollowUpDraft(typed("follow_task_$n"), typed("follow_person_$n"), typed("follow_due_$n"),
                window.decorView.findViewWithTag<CheckBox>("follow_done_$n").isChecked)
        }
        return model.draft.copy(
            topic = typed("topic"), date = typed("date"), place = typed("place"), facilitator = typed("facilitator"),
            guests = typed("guests"), notes = typed("notes"), followUps = fs,
        )
    }

    private fun save() {
        model.draft = current()
        model.save(store) { r ->
            r.onSuccess { saved ->
                showFieldErrors(model.errors, FIELDS)
                if (saved != null) finish()
            }.onFailure { failed(it) }
        }
    }

    override fun onSaveInstanceState(out: Bundle) {
        super.onSaveInstanceState(out)
        val d = if (ready) current() else restored ?: return
        out.putString("topic", d.topic)
        out.putString("date", d.date)
        out.putString("place", d.place)
        out.putString("facilitator", d.facilitator)
        out.putStringArrayList("attendees", ArrayList(d.attendees))
        out.putString("guests", d.guests)
        out.putString("notes", d.notes)
        out.putStringArrayList("follow_task", ArrayList(d.followUps.map { it.task }))
        out.putStringArrayList("follow_person", ArrayList(d.followUps.map { it.person }))
        out.putStringArrayList("follow_due", ArrayList(d.followUps.map { it.due }))
        out.putBooleanArray("follow_done", d.followUps.map { it.done }.toBooleanArray())
    }

    private fun readDraft(b: Bundle): MeetingDraft? {
        val topic = b.getString("topic") ?: return null
        val tasks = b.getStringArrayList("follow_task").orEmpty()
        val persons = b.getStringArrayList("follow_person").orEmpty()
        val dues = b.getStringArrayList("follow_due").orEmpty()
        val done = b.getBooleanArray("follow_done") ?: BooleanArray(0)
        return MeetingDraft(
            topic, b.getString("date", ""), b.getString("place", ""), b.getString("facilitator", ""),
            b.getStringArrayList("attendees").orEmpty().toSet(), b.getString("guests", ""), b.getString("notes", ""),
            tasks.indices.map { FollowUpDraft(tasks[it], persons.getOrElse(it) { "" }, dues.getOrElse(it) { "" }, done.getOrElse(it) { false }) },
        )
    }

    companion object {
        val FIELDS = listOf("topic", "date", "place", "facilitator", "attendees", "guest_count", "notes", "follow_ups.task", "follow_ups.person", "follow_ups.due")
    }
}
