package org.chungtay.app.ui

import android.os.Bundle
import android.text.InputType
import java.time.LocalDate
import org.chungtay.app.R
import org.chungtay.app.model.ClubDates
import org.chungtay.app.model.ConsentModel
import org.chungtay.core.ConsentMethod
import org.chungtay.core.Recipient
import org.chungtay.core.SharedField
import org.chungtay.core.SupportService

/**
 * Records a member's consent: for which support, to which recipient, which information may be
 * shared, when it was given and how (signed paper, or verbal with a witness). Withdrawal is on
 * the member screen.
 */
class ConsentActivity : BaseActivity() {
    private lateinit var model: ConsentModel

    override fun onCreate(savedInstanceState: Bundle?) {
        super.onCreate(savedInstanceState)
        val memberId = intent.getStringExtra(Nav.MEMBER_ID) ?: return finish()
        model = ConsentModel(memberId, app.worker)
        setTitle(R.string.club_consent_title)
        val a = this
        page {
            heading(getString(R.string.club_consent_title), "title")
            section(getString(R.string.club_consent_purposes))
            for (s in SupportService.values()) check(ClubText.service(a, s), "purpose_${s.name}").setOnCheckedChangeListener { _, on ->
                model.draft = model.draft.copy(purposes = if (on) model.draft.purposes + s else model.draft.purposes - s)
            }
            errorLine("purposes")
            section(getString(R.string.club_consent_recipient))
            choice(Recipient.values().toList(), "recipient", { ClubText.recipient(a, it) }, model.draft.recipient) { model.draft = model.draft.copy(recipient = it) }
            section(getString(R.string.club_consent_fields))
            label(getString(R.string.club_consent_fields_explain)).setTextSize(android.util.TypedValue.COMPLEX_UNIT_SP, 13f)
            for (f in SharedField.values()) check(ClubText.shared(a, f), "share_${f.name}").setOnCheckedChangeListener { _, on ->
                model.draft = model.draft.copy(fields = if (on) model.draft.fields + f else model.draft.fields - f)
            }
            errorLine("fields")
            field(getString(R.string.club_given_on), "given_on", InputType.TYPE_CLASS_DATETIME or InputType.TYPE_DATETIME_VARIATION_DATE, ClubDates.show(LocalDate.now()))
            errorLine("given_on")
            section(getString(R.string.club_consent_method))
            choice(ConsentMethod.values().toList(), "method", { ClubText.method(a, it) }, model.draft.method) { model.draft = model.draft.copy(method = it) }
            field(getString(R.string.club_witness), "witness")
            errorLine("witness")
            errorLine("other")
            button(getString(R.string.club_save), "save") { save() }
        }
    }

    private fun save() {
        model.draft = model.draft.copy(givenOn = typed("given_on"), witness = typed("witness"))
        model.save(store) { r ->
            r.onSuccess { ok ->
                showFieldErrors(model.errors, listOf("purposes", "fields", "given_on", "witness"))
                if (ok) finish()
            }.onFailure { failed(it) }
        }
    }
}
