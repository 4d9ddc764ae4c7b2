package org.chungtay.app.model

import org.chungtay.core.Livelihood
import org.chungtay.core.LivelihoodInput
import org.chungtay.core.LivelihoodKind
import org.chungtay.core.Outcome
import org.chungtay.core.SupportFollowUp
import org.chungtay.ffi.ClubStore

/** Support given to a member: kind, date, an amount in đồng and/or a quantity with its unit. */
data class LivelihoodDraft(
    val kind: LivelihoodKind = LivelihoodKind.SEED_CAPITAL,
    val date: String = "",
    val amount: String = "",
    val quantity: String = "",
    val unit: String = "",
    val note: String = "",
) {
    fun validate(): List<FieldError> {
        val out = mutableListOf<FieldError>()
        if (ClubDates.parse(date) == null) out += FieldError("date", "BAD_DATE")
        if (amount.isNotBlank() && amountVnd() == null) out += FieldError("amount_vnd", "NOT_A_NUMBER")
        if (quantity.isNotBlank() && quantity.trim().toIntOrNull() == null) out += FieldError("quantity", "NOT_A_NUMBER")
        return out
    }

    /** "5.000.000" or "5 000 000" as typed: the digits. */
    private fun amountVnd(): Long? = amount.filterNot { it == '.' || it == ' ' || it == ',' }.toLongOrNull()

    fun toInput(memberId: String) = LivelihoodInput(
        memberId, kind, ClubDates.parse(date)!!,
        amount.trim().ifEmpty { null }?.let { amountVnd() },
        quantity.trim().ifEmpty { null }?.toInt(),
        unit.trim().ifEmpty { null },
        note.trim(),
    )
}

data class SupportFollowUpDraft(val date: String = "", val outcome: Outcome = Outcome.STILL_WORKING, val note: String = "") {
    fun validate(): List<FieldError> =
        if (ClubDates.parse(date) == null) listOf(FieldError("date", "BAD_DATE")) else emptyList()

    fun toInput() = SupportFollowUp(ClubDates.parse(date)!!, outcome, note.trim())
}

/** New support for [memberId], or (with [livelihoodId]) a follow-up on support given. */
class LivelihoodModel(private val memberId: String, val livelihoodId: String?, private val worker: Worker) {
    var draft = LivelihoodDraft()
    var followUp = SupportFollowUpDraft()
    /** The support followed up, as the member screen shows it. */
    var support: Livelihood? = null
        private set
    var errors: List<FieldError> = emptyList()
        private set

    fun load(store: ClubStore, done: (Result<Unit>) -> Unit) {
        if (livelihoodId == null) return done(Result.success(Unit))
        worker.run({ store.memberDetail(memberId).livelihood.firstOrNull { it.id == livelihoodId } }) { r ->
            r.onSuccess { support = it }
            done(r.map { })
        }
    }

    fun save(store: ClubStore, done: (Result<Boolean>) -> Unit) {
        if (livelihoodId == null) {
            errors = draft.validate()
            if (errors.isNotEmpty()) return done(Result.success(false))
            val input = draft.toInput(memberId)
            worker.run({ store.addLivelihood(input) }) { r -> done(fieldErrors(r) { errors = it }) }
        } else {
            errors = followUp.validate()
            if (errors.isNotEmpty()) return done(Result.success(false))
            val input = followUp.toInput()
            worker.run({ store.addLivelihoodFollowUp(livelihoodId, input) }) { r -> done(fieldErrors(r) { errors = it }) }
        }
    }
}
