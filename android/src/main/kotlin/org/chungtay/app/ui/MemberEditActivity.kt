package org.chungtay.app.ui

import android.os.Bundle
import android.text.InputType
import android.widget.AdapterView
import android.widget.ArrayAdapter
import android.widget.CheckBox
import android.widget.LinearLayout
import android.widget.Spinner
import android.view.View
import org.chungtay.app.R
import org.chungtay.app.model.MemberDraft
import org.chungtay.app.model.MemberEditModel
import org.chungtay.core.Gender
import org.chungtay.core.MemberRole
import org.chungtay.core.SurvivorStatus
import org.chungtay.ffi.ethnicGroupNames

/**
 * Adds a member to a club or changes one: name, year of birth, gender, ethnic group, village,
 * phone, role in the club, survivor status (explained: it stays on this phone) and whether she
 * may be contacted. The core's validation errors show under their field.
 */
class MemberEditActivity : BaseActivity() {
    private lateinit var model: MemberEditModel
    private lateinit var form: LinearLayout
    private var clubId: String? = null
    private var ready = false
    private var restored: MemberDraft? = null

    override fun onCreate(savedInstanceState: Bundle?) {
        super.onCreate(savedInstanceState)
        clubId = intent.getStringExtra(Nav.CLUB_ID)
        val memberId = intent.getStringExtra(Nav.MEMBER_ID)
        if (clubId == null && memberId == null) return finish()
        model = MemberEditModel(clubId, memberId, app.worker)
        restored = savedInstanceState?.let { read(it) }
        val t = if (memberId == null) R.string.club_member_new else R.string.club_member_edit
        setTitle(t)
        form = page { heading(getString(t), "title") }
    }

    override fun onResume() {
        super.onResume()
        if (ready || !app.session.isUnlocked()) return
        model.load(store, restored != null) { r ->
            r.onSuccess {
                restored?.let { model.draft = it }
                ready = true
                build()
            }.onFailure { failed(it) }
        }
    }

    private fun build() = with(form) {
        val d = model.draft
        val a = this@MemberEditActivity
        field(getString(R.string.club_full_name), "full_name", value = d.fullName)
        errorLine("full_name")
        field(getString(R.string.club_birth_year), "birth_year", InputType.TYPE_CLASS_NUMBER, d.birthYear)
        errorLine("birth_year")
        label(getString(R.string.club_gender))
        choice(Gender.values().toList(), "gender", { ClubText.gender(a, it) }, d.gender) { model.draft = model.draft.copy(gender = it) }
        label(getString(R.string.club_ethnic_group))
        val names = ethnicGroupNames()
        val spinner = Spinner(a).apply {
            tag = "ethnic_group"
            adapter = ArrayAdapter(a, android.R.layout.simple_spinner_dropdown_item, names)
            setSelection((d.ethnicGroup - 1).coerceIn(0, names.size - 1))
            onItemSelectedListener = object : AdapterView.OnItemSelectedListener {
                override fun onItemSelected(p: AdapterView<*>?, v: View?, position: Int, id: Long) {
                    model.draft = model.draft.copy(ethnicGroup = position + 1)
                }
                override fun onNothingSelected(p: AdapterView<*>?) {}
            }
        }
        addView(spinner)
        errorLine("ethnic_group")
        field(getString(R.string.club_village), "village", value = d.village)
        errorLine("village")
        label(getString(R.string.club_commune_of_club)).setTextSize(android.util.TypedValue.COMPLEX_UNIT_SP, 13f)
        field(getString(R.string.club_phone_optional), "phone", InputType.TYPE_CLASS_PHONE, d.phone)
        errorLine("phone")
        val dnc = check(getString(R.string.club_do_not_contact_check), "do_not_contact", d.doNotContact)
        dnc.setOnCheckedChangeListener { _, on -> model.draft = model.draft.copy(doNotContact = on) }
        label(getString(R.string.club_do_not_contact_explain)).setTextSize(android.util.TypedValue.COMPLEX_UNIT_SP, 13f)
        label(getString(R.string.club_role))
        choice(MemberRole.values().toList(), "role", { ClubText.role(a, it) }, d.role) { model.draft = model.draft.copy(role = it) }
        section(getString(R.string.club_survivor_status))
        label(getString(R.string.club_status_explain), "status_explain").setTextSize(android.util.TypedValue.COMPLEX_UNIT_SP, 13f)
        val statuses = mutableListOf(SurvivorStatus.NOT_A_SURVIVOR, SurvivorStatus.SURVIVOR, SurvivorStatus.RETURNEE)
        // A deputy changing a member never sees the stored status: "keep as it is" sends WITHHELD back.
        if (d.survivorStatus == SurvivorStatus.WITHHELD) statuses.add(0, SurvivorStatus.WITHHELD)
        choice(statuses, "status", { if (it == SurvivorStatus.WITHHELD) getString(R.string.club_status_keep) else ClubText.status(a, it) }, d.survivorStatus) {
            model.draft = model.draft.copy(survivorStatus = it)
        }
        errorLine("survivor_status")
        errorLine("other")
        button(getString(R.string.club_save), "save") { save() }
    }

    private fun current() = model.draft.copy(
        fullName = typed("full_name"), birthYear = typed("birth_year"), village = typed("village"), phone = typed("phone"),
        doNotContact = window.decorView.findViewWithTag<CheckBox>("do_not_contact").isChecked,
    )

    private fun save() {
        model.draft = current()
        model.save(store) { r ->
            r.onSuccess { id ->
                showFieldErrors(model.errors, FIELDS)
                if (id != null) {
                    if (clubId != null) startActivity(Nav.member(this, id))
                    finish()
                }
            }.onFailure { failed(it) }
        }
    }

    override fun onSaveInstanceState(out: Bundle) {
        super.onSaveInstanceState(out)
        val d = if (ready) current() else restored ?: return
        out.putString("full_name", d.fullName)
        out.putString("birth_year", d.birthYear)
        out.putString("gender", d.gender.name)
        out.putInt("ethnic_group", d.ethnicGroup)
        out.putString("village", d.village)
        out.putString("phone", d.phone)
        out.putString("role", d.role.name)
        out.putString("status", d.survivorStatus.name)
        out.putBoolean("dnc", d.doNotContact)
    }

    private fun read(b: Bundle): MemberDraft? {
        val name = b.getString("full_name") ?: return null
        return MemberDraft(
            name, b.getString("birth_year", ""), Gender.valueOf(b.getString("gender", "FEMALE")), b.getInt("ethnic_group", 1),
            b.getString("village", ""), b.getString("phone", ""), MemberRole.valueOf(b.getString("role", "MEMBER")),
            SurvivorStatus.valueOf(b.getString("status", "NOT_A_SURVIVOR")), b.getBoolean("dnc"),
        )
    }

    companion object {
        val FIELDS = listOf("full_name", "birth_year", "ethnic_group", "village", "phone", "survivor_status")
    }
}
