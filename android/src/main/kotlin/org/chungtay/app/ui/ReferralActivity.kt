package org.chungtay.app.ui

import android.os.Bundle
import android.widget.CheckBox
import android.widget.EditText
import android.widget.LinearLayout
import android.widget.Toast
import org.chungtay.app.R
import org.chungtay.app.model.Problem
import org.chungtay.app.model.ReferralForm
import org.chungtay.app.model.Referrals
import org.chungtay.app.model.Who
import org.chungtay.core.MemberDetail
import org.chungtay.core.Referral
import org.chungtay.core.Urgency
import org.chungtay.core.UserInfo

/**
 * A referral to the province. New (extra `member_id`): the consent it rests on, then only the
 * services and fields that consent allows; save, ready, send. Existing (extra `referral_id`):
 * its state, the province's answer, every step with its time and who took it, and withdraw.
 */
class ReferralActivity : BaseActivity() {
    private lateinit var memberId: String
    private var memberName = ""
    private var users: List<UserInfo> = emptyList()
    private var queuedNow = false

    override fun onCreate(savedInstanceState: Bundle?) {
        super.onCreate(savedInstanceState)
        setTitle(R.string.prov_referral_title)
        val referralId = intent.getStringExtra(Nav.REFERRAL_ID)
        page { heading(getString(R.string.prov_referral_title), "title") }
        val givenMember = intent.getStringExtra(Nav.MEMBER_ID)
        if (givenMember == null && referralId == null) {
            page { label(getString(R.string.error_not_found), "not_found") }
            return
        }
        core({
            // From the member's screen or the outbox: the referral names its member.
            val member = givenMember ?: store.referral(referralId!!).info.memberId
            Triple(member, store.memberDetail(member), store.users())
        }) { (member, detail, u) ->
            memberId = member
            users = u
            memberName = detail.member.info.fullName
            if (referralId == null) {
                showForm(ReferralForm(detail))
            } else {
                val r = detail.referrals.firstOrNull { it.id == referralId }
                if (r == null) show(Problem.NotFound) else showReferral(r)
            }
        }
    }

    private fun showForm(form: ReferralForm) {
        page {
            heading(getString(R.string.prov_referral_new_title), "title")
            label(getString(R.string.prov_referral_for, memberName), "member")
            if (form.consents.isEmpty()) {
                label(getString(R.string.prov_referral_no_consent), "no_consent")
                return@page
            }
            formBody(form)
        }
    }

    private fun LinearLayout.formBody(form: ReferralForm) {
        label(getString(R.string.prov_referral_consent)).textSize = 13f
        form.consents.forEachIndexed { i, c ->
            val mark = if (c.id == form.consent?.id) "● " else "○ "
            item(mark + getString(R.string.prov_referral_consent_item, org.chungtay.app.model.ProvFormat.date(c.info.givenOn),
                ProvWords.recipient(this@ReferralActivity, c.info.recipient)), "consent_$i") {
                collect(form)
                form.choose(c.id)
                showForm(form)
            }
        }
        form.recipient()?.let { label(getString(R.string.prov_referral_recipient, ProvWords.recipient(this@ReferralActivity, it)), "recipient") }

        label(getString(R.string.prov_referral_services)).textSize = 13f
        for (s in form.offeredServices()) check(ProvWords.service(this@ReferralActivity, s), "service_${s.name.lowercase()}", s in form.services)
        label(getString(R.string.prov_referral_fields)).textSize = 13f
        for (f in form.offeredFields()) check(ProvWords.field(this@ReferralActivity, f), "field_${f.name.lowercase()}", f in form.fields)
        val withheld = org.chungtay.core.SharedField.entries.filter { it !in form.offeredFields() }
        if (withheld.isNotEmpty()) {
            label(getString(R.string.prov_referral_not_offered, withheld.joinToString(", ") { ProvWords.field(this@ReferralActivity, it) }), "not_offered")
        }

        label(getString(R.string.prov_referral_urgency)).textSize = 13f
        for (u in Urgency.entries) {
            val mark = if (u == form.urgency) "● " else "○ "
            item(mark + ProvWords.urgency(this@ReferralActivity, u), "urgency_${u.name.lowercase()}") {
                collect(form)
                form.urgency = u
                showForm(form)
            }
        }
        field(getString(R.string.prov_referral_note), "note", value = form.note)
        button(getString(R.string.prov_referral_save), "save") {
            collect(form)
            val missing = form.missing()
            if (missing.isNotEmpty()) {
                val text = when (missing.first()) {
                    ReferralForm.Missing.CONSENT -> R.string.prov_referral_missing_consent
                    ReferralForm.Missing.SERVICE -> R.string.prov_referral_missing_service
                    ReferralForm.Missing.FIELD -> R.string.prov_referral_missing_field
                }
                Toast.makeText(this@ReferralActivity, text, Toast.LENGTH_LONG).show()
                return@button
            }
            val input = form.input()
            core({ store.createReferral(input) }, ::refused) { showReferral(it) }
        }
    }

    /** Reads the ticks and the note back into [form] (before a redraw or a save). */
    private fun collect(form: ReferralForm) {
        val root = window.decorView
        for (s in form.offeredServices()) {
            val c = root.findViewWithTag<CheckBox>("service_${s.name.lowercase()}") ?: continue
            if (c.isChecked) form.services.add(s) else form.services.remove(s)
        }
        for (f in form.offeredFields()) {
            val c = root.findViewWithTag<CheckBox>("field_${f.name.lowercase()}") ?: continue
            if (c.isChecked) form.fields.add(f) else form.fields.remove(f)
        }
        root.findViewWithTag<EditText>("note")?.let { form.note = it.text.toString() }
    }

    private fun showReferral(r: Referral) {
        page {
            heading(getString(R.string.prov_referral_title), "title")
            label(getString(R.string.prov_referral_for, memberName), "member")
            label(getString(R.string.prov_referral_state, ProvWords.state(this@ReferralActivity, r.state)), "state")
            Referrals.latestNote(r)?.let { label(getString(R.string.prov_referral_answer, it), "answer") }
            label(getString(R.string.prov_referral_services_line, r.info.services.joinToString(", ") { ProvWords.service(this@ReferralActivity, it) }), "services")
            label(getString(R.string.prov_referral_fields_line, r.info.sharedFields.joinToString(", ") { ProvWords.field(this@ReferralActivity, it) }), "fields")
            label(getString(R.string.prov_referral_recipient, ProvWords.recipient(this@ReferralActivity, r.info.recipient)), "recipient")

            if (Referrals.canReady(r)) button(getString(R.string.prov_referral_ready), "ready") {
                core({ store.markReferralReady(r.id) }, ::refused) { showReferral(it) }
            }
            if (Referrals.canSend(r)) button(getString(R.string.prov_referral_send), "send") {
                core({
                    store.queueReferral(r.id)
                    Referrals.find(store, memberId, r.id)
                }, ::refused) { q ->
                    queuedNow = true
                    if (q != null) showReferral(q)
                }
            }
            if (queuedNow) {
                label(getString(R.string.prov_referral_queued), "queued")
                button(getString(R.string.prov_referral_open_outbox), "open_outbox") { startActivity(Nav.outbox(this@ReferralActivity)) }
            }

            heading(getString(R.string.prov_referral_history), "history")
            Referrals.steps(r, users).forEachIndexed { i, s ->
                val who = when (val w = s.by) {
                    Who.Province -> getString(R.string.prov_recipient_provincial_union)
                    is Who.User -> ProvWords.role(this@ReferralActivity, w.role) + " #" + w.shortId
                }
                label(getString(R.string.prov_referral_step, ProvWords.state(this@ReferralActivity, s.state), s.time, who), "step_$i")
                if (s.note.isNotBlank()) label("“" + s.note + "”", "step_note_$i")
            }

            if (Referrals.canWithdraw(r)) {
                field(getString(R.string.prov_referral_withdraw_note), "withdraw_note", android.text.InputType.TYPE_CLASS_TEXT or android.text.InputType.TYPE_TEXT_FLAG_CAP_SENTENCES)
                button(getString(R.string.prov_referral_withdraw), "withdraw") {
                    val note = window.decorView.findViewWithTag<EditText>("withdraw_note").text.toString()
                    core({ store.withdrawReferral(r.id, note) }, ::refused) { showReferral(it) }
                }
            }
        }
    }

    /** The core's refusal: a consent that does not cover the referral in its own words. */
    private fun refused(p: Problem) {
        when {
            p is Problem.Invalid && p.field == "consent" ->
                Toast.makeText(this, getString(R.string.prov_referral_not_covered, p.reason), Toast.LENGTH_LONG).show()
            p == Problem.Locked -> toPinPad()
            else -> show(p)
        }
    }

    companion object {
        /** An existing referral, when the caller knows its member (saves one read). */
        fun open(c: android.content.Context, memberId: String, referralId: String): android.content.Intent =
            Nav.referral(c, referralId).putExtra(Nav.MEMBER_ID, memberId)
    }
}
