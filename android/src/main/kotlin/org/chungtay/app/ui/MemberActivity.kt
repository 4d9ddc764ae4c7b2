package org.chungtay.app.ui

import android.app.AlertDialog
import android.content.Intent
import android.net.Uri
import android.os.Bundle
import android.widget.LinearLayout
import java.time.LocalDate
import org.chungtay.app.R
import org.chungtay.app.model.ClubDates
import org.chungtay.app.model.MemberModel
import org.chungtay.core.SurvivorStatus
import org.chungtay.ffi.ethnicGroupNames

/**
 * One member as the core shows her to the unlocked role: a withheld field reads "hidden", a
 * member who must not be contacted is marked so and has no call action. Her consents (add,
 * withdraw), livelihood support (add, follow up), referrals (open, refer), edit and erase.
 */
class MemberActivity : BaseActivity() {
    private lateinit var memberId: String
    private lateinit var model: MemberModel
    private lateinit var body: LinearLayout

    override fun onCreate(savedInstanceState: Bundle?) {
        super.onCreate(savedInstanceState)
        memberId = intent.getStringExtra(Nav.MEMBER_ID) ?: return finish()
        setTitle(R.string.club_member_title)
        model = MemberModel(memberId, app.worker)
        body = page { }
    }

    override fun onResume() {
        super.onResume()
        if (app.session.isUnlocked()) reload()
    }

    private fun reload() = model.load(store) { r -> r.onSuccess { render() }.onFailure { failed(it) } }

    private fun render() = with(body) {
        removeAllViews()
        val d = model.detail ?: return@with
        val m = d.member.info
        val a = this@MemberActivity
        heading(m.fullName, "name")
        if (!m.safeToContact) {
            label(getString(R.string.club_do_not_contact), "do_not_contact").apply {
                setTextColor(0xFFB00020.toInt())
                setTypeface(typeface, android.graphics.Typeface.BOLD)
            }
        }
        fact(R.string.club_birth_year, m.birthYear?.toString() ?: getString(R.string.club_unknown), "birth_year")
        fact(R.string.club_gender, ClubText.gender(a, m.gender), "gender")
        fact(R.string.club_ethnic_group, ethnicGroupNames().getOrElse(m.ethnicGroup - 1) { "?" }, "ethnic_group")
        fact(R.string.club_village, m.village, "village")
        fact(R.string.club_commune, model.commune, "commune")
        fact(R.string.club_role, ClubText.role(a, m.role), "role")
        fact(R.string.club_survivor_status, ClubText.status(a, m.survivorStatus), "survivor_status")
        if (m.survivorStatus == SurvivorStatus.WITHHELD) label(getString(R.string.club_hidden_explain), "hidden_explain")
        if (model.mayCall) {
            fact(R.string.club_phone, m.phone!!, "phone")
            button(getString(R.string.club_call), "call") { call() }
        } else if (m.safeToContact) {
            fact(R.string.club_phone, getString(R.string.club_no_phone), "phone")
        }
        if (model.mayWrite) button(getString(R.string.club_edit_member), "member_edit") { startActivity(Nav.editMember(a, memberId)) }

        section(getString(R.string.club_consents))
        if (d.consents.isEmpty()) label(getString(R.string.club_no_consents), "consents_empty")
        for (c in d.consents) {
            val i = c.info
            val text = getString(
                R.string.club_consent_line,
                i.purposes.joinToString(", ") { ClubText.service(a, it) },
                ClubText.recipient(a, i.recipient),
                i.fields.joinToString(", ") { ClubText.shared(a, it) },
                ClubDates.show(i.givenOn),
                ClubText.method(a, i.method),
            ) + (c.withdrawnOn?.let { "\n" + getString(R.string.club_withdrawn_on, ClubDates.show(it)) } ?: "")
            label(text, "consent_${c.id}")
            if (c.withdrawnOn == null && model.mayWrite) button(getString(R.string.club_withdraw_consent), "consent_withdraw_${c.id}") { withdraw(c.id) }
        }
        if (model.mayWrite) button(getString(R.string.club_add_consent), "consent_add") { startActivity(Nav.consent(a, memberId)) }

        section(getString(R.string.club_livelihood))
        if (d.livelihood.isEmpty()) label(getString(R.string.club_no_livelihood), "livelihood_empty")
        for (l in d.livelihood) {
            val i = l.info
            val amount = listOfNotNull(
                i.amountVnd?.let { getString(R.string.club_amount_vnd, "%,d".format(it).replace(',', '.')) },
                i.quantity?.let { "$it ${i.unit ?: ""}".trim() },
            ).joinToString(" · ")
            val follow = l.followUps.joinToString("") { "\n  " + ClubDates.show(it.date) + ": " + ClubText.outcome(a, it.outcome) + (if (it.note.isBlank()) "" else " (${it.note})") }
            label("${ClubText.livelihood(a, i.kind)} · ${ClubDates.show(i.date)} · $amount$follow", "livelihood_${l.id}")
            if (model.mayWrite) button(getString(R.string.club_add_follow_up_outcome), "livelihood_follow_${l.id}") {
                startActivity(Nav.livelihood(a, memberId).putExtra(Nav.LIVELIHOOD_ID, l.id))
            }
        }
        if (model.mayWrite) button(getString(R.string.club_add_livelihood), "livelihood_add") { startActivity(Nav.livelihood(a, memberId)) }

        section(getString(R.string.club_referrals))
        if (d.referrals.isEmpty()) label(getString(R.string.club_no_referrals), "referrals_empty")
        for (ref in d.referrals) {
            val line = ref.info.services.joinToString(", ") { ClubText.service(a, it) } + " · " + ClubText.state(a, ref.state)
            item(line, "referral_${ref.id}") { startActivity(Nav.referral(a, ref.id)) }
        }
        if (model.mayWrite) button(getString(R.string.club_refer), "refer") { startActivity(Nav.newReferral(a, memberId)) }

        if (model.mayErase) {
            section(getString(R.string.club_danger))
            button(getString(R.string.club_erase_member), "member_erase") { confirmErase() }
        }
    }

    private fun LinearLayout.fact(label: Int, value: String, tag: String) =
        label(getString(R.string.club_fact, getString(label), value), tag)

    private fun call() {
        model.phone(store) { r ->
            r.onSuccess { startActivity(Intent(Intent.ACTION_DIAL, Uri.fromParts("tel", it, null))) }.onFailure { failed(it) }
        }
    }

    private fun withdraw(consentId: String) {
        AlertDialog.Builder(this)
            .setMessage(R.string.club_withdraw_confirm)
            .setPositiveButton(R.string.club_withdraw_consent) { _, _ ->
                model.withdrawConsent(store, consentId, LocalDate.now().toString()) { r -> r.onSuccess { reload() }.onFailure { failed(it) } }
            }
            .setNegativeButton(R.string.club_cancel, null)
            .show()
    }

    private fun confirmErase() {
        AlertDialog.Builder(this)
            .setTitle(R.string.club_erase_member)
            .setMessage(R.string.club_erase_confirm)
            .setPositiveButton(R.string.club_erase) { _, _ ->
                model.erase(store) { r -> r.onSuccess { finish() }.onFailure { failed(it) } }
            }
            .setNegativeButton(R.string.club_cancel, null)
            .show()
    }
}
