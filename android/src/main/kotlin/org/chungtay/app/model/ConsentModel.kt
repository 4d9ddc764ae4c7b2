package org.chungtay.app.model

import org.chungtay.core.ConsentInput
import org.chungtay.core.ConsentMethod
import org.chungtay.core.Recipient
import org.chungtay.core.SharedField
import org.chungtay.core.SupportService
import org.chungtay.ffi.ClubStore

/** A consent as the leader records it: for what, to whom, which information, when and how. */
data class ConsentDraft(
    val purposes: Set<SupportService> = emptySet(),
    val recipient: Recipient = Recipient.PROVINCIAL_UNION,
    val fields: Set<SharedField> = emptySet(),
    val givenOn: String = "",
    val method: ConsentMethod = ConsentMethod.SIGNED_PAPER,
    val witness: String = "",
) {
    fun validate(): List<FieldError> {
        val out = mutableListOf<FieldError>()
        if (purposes.isEmpty()) out += FieldError("purposes", "EMPTY")
        if (fields.isEmpty()) out += FieldError("fields", "EMPTY")
        if (ClubDates.parse(givenOn) == null) out += FieldError("given_on", "BAD_DATE")
        if (method == ConsentMethod.VERBAL_WITH_WITNESS && witness.isBlank()) out += FieldError("witness", "MISSING")
        return out
    }

    fun toInput(memberId: String) = ConsentInput(
        memberId,
        SupportService.values().filter { it in purposes },
        recipient,
        SharedField.values().filter { it in fields },
        method,
        witness.trim().ifEmpty { null }.takeIf { method == ConsentMethod.VERBAL_WITH_WITNESS },
        ClubDates.parse(givenOn)!!,
    )
}

class ConsentModel(private val memberId: String, private val worker: Worker) {
    var draft = ConsentDraft()
    var errors: List<FieldError> = emptyList()
        private set

    /** [done] gets true when saved, false with [errors] set. */
    fun save(store: ClubStore, done: (Result<Boolean>) -> Unit) {
        errors = draft.validate()
        if (errors.isNotEmpty()) return done(Result.success(false))
        val input = draft.toInput(memberId)
        worker.run({ store.addConsent(input) }) { r -> done(fieldErrors(r) { errors = it }) }
    }
}

/** An Invalid from the core becomes the field's error (false); any other failure stays one. */
internal fun <T> fieldErrors(r: Result<T>, set: (List<FieldError>) -> Unit): Result<Boolean> {
    val e = r.exceptionOrNull() ?: return Result.success(true)
    val p = Problem.of(e)
    if (p is Problem.Invalid) {
        set(listOf(FieldError(p.field, p.reason)))
        return Result.success(false)
    }
    return Result.failure(e)
}
