package org.chungtay.app.model

import org.chungtay.core.ChungTayException
import org.chungtay.core.Reason

/**
 * What a screen tells the user when a call fails: the core's typed error reduced to what the
 * user can act on. Never carries a record's content (the core's errors carry none either).
 */
sealed class Problem {
    object WrongPin : Problem()
    data class TooSoon(val seconds: Long) : Problem()
    object Wiped : Problem()
    object WipeIncomplete : Problem()
    object Locked : Problem()
    object Forbidden : Problem()
    /** [field] is the core's field name (`pin`, `name`...), [reason] its reason code. */
    data class Invalid(val field: String, val reason: String) : Problem()
    object NotFound : Problem()
    object Network : Problem()
    data class Refused(val reason: String) : Problem()
    object KeyUnavailable : Problem()
    object Keystore : Problem()
    object Integrity : Problem()
    object DoNotContact : Problem()
    object WrongRecoverySecret : Problem()
    object BackupDamaged : Problem()
    object Storage : Problem()
    object Other : Problem()

    companion object {
        fun of(e: Throwable): Problem = when (e) {
            is ChungTayException.WrongPin -> WrongPin
            is ChungTayException.TooSoon -> TooSoon(e.retryAfterSecs.toLong())
            is ChungTayException.Wiped -> Wiped
            is ChungTayException.WipeIncomplete -> WipeIncomplete
            is ChungTayException.Locked -> Locked
            is ChungTayException.Forbidden -> Forbidden
            is ChungTayException.Invalid -> Invalid(e.field, reasonCode(e.reason))
            is ChungTayException.NotFound -> NotFound
            is ChungTayException.Network -> Network
            is ChungTayException.Refused -> Refused(e.reason)
            is ChungTayException.KeyUnavailable -> KeyUnavailable
            is ChungTayException.KeystoreFailed -> Keystore
            is ChungTayException.Integrity, is ChungTayException.AuditBroken -> Integrity
            is ChungTayException.DoNotContact -> DoNotContact
            is ChungTayException.WrongRecoverySecret -> WrongRecoverySecret
            is ChungTayException.BackupDamaged, is ChungTayException.NotAStore -> BackupDamaged
            is ChungTayException.Storage -> Storage
            else -> Other
        }

        /** `TOO_SHORT`, `BAD_DATE`...: the reason's class name, for the message. */
        fun reasonCode(r: Reason): String =
            (r::class.simpleName ?: "Invalid").replace(Regex("([a-z])([A-Z])"), "$1_$2").uppercase()
    }
}
