package org.chungtay.app.ui

import android.os.Bundle
import android.text.Editable
import android.text.TextWatcher
import android.widget.Button
import android.widget.EditText
import android.widget.LinearLayout
import android.widget.TextView
import org.chungtay.app.R
import org.chungtay.app.model.ClubDates
import org.chungtay.app.model.MemberListModel

/**
 * A club: its members, searched as the user types (the core matches without diacritics) and
 * filtered by village; its meetings; record a meeting; the monthly report. Lines show name,
 * year of birth, village and role: never survivor status.
 */
class ClubActivity : BaseActivity() {
    private lateinit var clubId: String
    private lateinit var model: MemberListModel
    private lateinit var title: TextView
    private lateinit var search: EditText
    private lateinit var villages: LinearLayout
    private lateinit var members: LinearLayout
    private lateinit var count: TextView
    private lateinit var more: Button
    private lateinit var meetings: LinearLayout
    private var loaded = false

    override fun onCreate(savedInstanceState: Bundle?) {
        super.onCreate(savedInstanceState)
        clubId = intent.getStringExtra(Nav.CLUB_ID) ?: return finish()
        setTitle(R.string.club_club_title)
        model = MemberListModel(clubId, app.worker)
        page {
            title = heading("", "title")
            button(getString(R.string.club_record_meeting), "meeting_new") { startActivity(Nav.newMeeting(this@ClubActivity, clubId)) }
            button(getString(R.string.club_monthly_report), "report") { startActivity(Nav.report(this@ClubActivity, clubId)) }
            section(getString(R.string.club_members))
            search = field(getString(R.string.club_search_hint), "search")
            villages = row("villages")
            count = label("", "member_count")
            members = column("members")
            more = button("", "members_more") { model.showMore(store) { r -> r.onSuccess { renderMembers() }.onFailure { failed(it) } } }
            button(getString(R.string.club_add_member), "member_add") { startActivity(Nav.newMember(this@ClubActivity, clubId)) }
            section(getString(R.string.club_meetings))
            meetings = column("meetings")
        }
        // Keyed in after the first load: each change asks the core again, the newest answer wins.
        search.addTextChangedListener(object : TextWatcher {
            override fun beforeTextChanged(s: CharSequence?, start: Int, count: Int, after: Int) {}
            override fun onTextChanged(s: CharSequence?, start: Int, before: Int, count: Int) {}
            override fun afterTextChanged(s: Editable?) {
                if (loaded && s.toString() != model.text) model.search(store, s.toString()) { r -> r.onSuccess { renderMembers() }.onFailure { failed(it) } }
            }
        })
    }

    override fun onResume() {
        super.onResume()
        if (app.session.isUnlocked()) {
            model.load(store) { r ->
                r.onSuccess {
                    loaded = true
                    // A text typed before the first answer: search for it now.
                    if (search.text.toString() != model.text) model.search(store, search.text.toString()) { rr -> rr.onSuccess { renderMembers() } }
                    render()
                }.onFailure { failed(it) }
            }
        }
    }

    private fun render() {
        title.text = model.clubName
        villages.removeAllViews()
        val all = listOf<String?>(null) + model.villages
        for (v in all) {
            val b = Button(this).apply {
                text = (if (v == model.village) "✓ " else "") + (v ?: getString(R.string.club_all_villages))
                tag = if (v == null) "village_all" else "village_$v"
                isAllCaps = false
                isSelected = v == model.village
                setOnClickListener { model.filterVillage(store, v) { r -> r.onSuccess { render() }.onFailure { failed(it) } } }
            }
            villages.addView(b, LinearLayout.LayoutParams(LinearLayout.LayoutParams.WRAP_CONTENT, LinearLayout.LayoutParams.WRAP_CONTENT))
        }
        renderMembers()
        meetings.removeAllViews()
        if (model.meetings.isEmpty()) meetings.label(getString(R.string.club_no_meetings), "meetings_empty")
        for (m in model.meetings) {
            val line = getString(R.string.club_meeting_line, ClubDates.show(m.info.date), m.info.topic, MemberListModel.present(m), m.info.guestCount)
            meetings.item(line, "meeting_${m.id}") { startActivity(Nav.editMeeting(this, clubId, m.id)) }
        }
        window.decorView.findViewWithTag<android.view.View>("member_add").gone(!model.mayWrite)
        window.decorView.findViewWithTag<android.view.View>("meeting_new").gone(!model.mayWrite)
    }

    private fun renderMembers() {
        for (i in 0 until villages.childCount) villages.getChildAt(i).let { it.isSelected = it.tag == (model.village?.let { v -> "village_$v" } ?: "village_all") }
        count.text = getString(R.string.club_member_count, model.matches, model.total)
        more.text = getString(R.string.club_show_more, model.matches - model.shown.size)
        more.gone(!model.moreLeft())
        members.removeAllViews()
        if (model.shown.isEmpty()) members.label(getString(R.string.club_no_members_found), "members_empty")
        for (m in model.shown) {
            val facts = listOfNotNull(m.birthYear?.toString(), m.village, ClubText.role(this, m.role)).joinToString(" · ")
            members.item("${m.fullName}\n$facts", "member_${m.id}") { startActivity(Nav.member(this, m.id)) }
        }
    }
}
