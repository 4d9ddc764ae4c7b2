package org.chungtay.app.ui

import android.os.Bundle
import android.text.InputType
import android.widget.LinearLayout
import java.time.LocalDate
import org.chungtay.app.R
import org.chungtay.app.model.ClubDates
import org.chungtay.app.model.LivelihoodModel
import org.chungtay.core.LivelihoodKind
import org.chungtay.core.Outcome

/**
 * Livelihood support for a member: kind, date, amount in đồng and/or a quantity. Opened with a
 * support record's id, it adds a follow-up with its outcome instead.
 */
class LivelihoodActivity : BaseActivity() {
    private lateinit var model: LivelihoodModel
    private lateinit var form: LinearLayout
    private var built = false

    override fun onCreate(savedInstanceState: Bundle?) {
        super.onCreate(savedInstanceState)
        val memberId = intent.getStringExtra(Nav.MEMBER_ID) ?: return finish()
        model = LivelihoodModel(memberId, intent.getStringExtra(Nav.LIVELIHOOD_ID), app.worker)
        val t = if (model.livelihoodId == null) R.string.club_livelihood_new else R.string.club_follow_up_title
        setTitle(t)
        form = page { heading(getString(t), "title") }
    }

    override fun onResume() {
        super.onResume()
        if (built || !app.session.isUnlocked()) return
        model.load(store) { r -> r.onSuccess { built = true; build() }.onFailure { failed(it) } }
    }

    private fun build() = with(form) {
        val a = this@LivelihoodActivity
        val today = ClubDates.show(LocalDate.now())
        val date = InputType.TYPE_CLASS_DATETIME or InputType.TYPE_DATETIME_VARIATION_DATE
        if (model.livelihoodId == null) {
            label(getString(R.string.club_livelihood_kind))
            choice(LivelihoodKind.values().toList(), "kind", { ClubText.livelihood(a, it) }, model.draft.kind) { model.draft = model.draft.copy(kind = it) }
            field(getString(R.string.club_date), "date", date, today)
            errorLine("date")
            field(getString(R.string.club_amount), "amount", InputType.TYPE_CLASS_NUMBER)
            errorLine("amount_vnd")
            field(getString(R.string.club_quantity), "quantity", InputType.TYPE_CLASS_NUMBER)
            errorLine("quantity")
            field(getString(R.string.club_unit), "unit")
            errorLine("unit")
            field(getString(R.string.club_note), "note", InputType.TYPE_CLASS_TEXT or InputType.TYPE_TEXT_FLAG_MULTI_LINE)
            errorLine("note")
        } else {
            model.support?.let { s -> label("${ClubText.livelihood(a, s.info.kind)} · ${ClubDates.show(s.info.date)}", "support") }
            field(getString(R.string.club_date), "date", date, today)
            errorLine("date")
            label(getString(R.string.club_outcome))
            choice(Outcome.values().toList(), "outcome", { ClubText.outcome(a, it) }, model.followUp.outcome) { model.followUp = model.followUp.copy(outcome = it) }
            field(getString(R.string.club_note), "note", InputType.TYPE_CLASS_TEXT or InputType.TYPE_TEXT_FLAG_MULTI_LINE)
            errorLine("note")
        }
        errorLine("other")
        button(getString(R.string.club_save), "save") { save() }
    }

    private fun save() {
        if (model.livelihoodId == null) {
            model.draft = model.draft.copy(date = typed("date"), amount = typed("amount"), quantity = typed("quantity"), unit = typed("unit"), note = typed("note"))
        } else {
            model.followUp = model.followUp.copy(date = typed("date"), note = typed("note"))
        }
        model.save(store) { r ->
            r.onSuccess { ok ->
                showFieldErrors(model.errors, listOf("date", "amount_vnd", "quantity", "unit", "note"))
                if (ok) finish()
            }.onFailure { failed(it) }
        }
    }
}
