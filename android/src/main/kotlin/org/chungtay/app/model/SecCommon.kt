package org.chungtay.app.model

import org.chungtay.core.EnrollmentInfo
import org.chungtay.ffi.ClubStore

/**
 * What the security screens (setup, unlock, settings) tell the user after an action: a core
 * failure as its [Problem], a mistake caught before the core is asked, or a success. Carries no
 * PIN, no name, no record content.
 */
sealed class SecMessage {
    data class Failed(val problem: Problem) : SecMessage()
    /** The PIN and its repetition differ: nothing was sent to the core. */
    object PinsDiffer : SecMessage()
    /** A number was expected (the wipe threshold). */
    object NumberNeeded : SecMessage()
    /** The restore path needs a backup file picked first. */
    object NoBackupFile : SecMessage()
    data class Done(val what: SecDone) : SecMessage()
}

enum class SecDone { PIN_CHANGED, DURESS_SET, WIPE_SET, RECOVERY_SET, BACKUP_WRITTEN, USER_ADDED, ENROLLED }

/** PIN rules as the core applies them (core/src/keys.rs `check_pin`), for the screens to explain. */
object PinRules {
    /** `PIN_MIN_CHARS`: shorter is refused as `Invalid { pin, TOO_SHORT }`. */
    const val MIN_CHARS = 6
    /** `PIN_MAX_CHARS`. */
    const val MAX_CHARS = 128
    /** `set_wipe_after` accepts 3 to 50. */
    const val WIPE_MIN = 3L
    const val WIPE_MAX = 50L
}

/**
 * Runs [work] through the worker with every failure caught inside the work itself, so the
 * outcome always arrives at [done] as a [Result] (whatever the worker does with failures).
 */
internal fun <T> Worker.safely(work: () -> T, done: (Result<T>) -> Unit) {
    run({ runCatching(work) }) { outer -> done(outer.getOrElse { Result.failure(it) }) }
}

/**
 * Enrollment with the province, shared by setup (after creating the store) and settings: the
 * server URL and one-time code from the paper, the fingerprint printed beside them (compared by
 * the core: `Invalid { province_fingerprint, MISMATCH }` on a difference), and the server's
 * certificate when the province gives one (null for a loopback test server).
 */
class Enrollment(private val session: Session, private val worker: Worker) {
    fun enroll(
        url: String,
        code: String,
        certificatePem: String?,
        fingerprint: String,
        done: (Result<EnrollmentInfo>) -> Unit,
    ) {
        val cert = certificatePem?.trim()?.takeIf { it.isNotEmpty() }
        val expected = fingerprint.trim()
        worker.safely({
            // Without the printed fingerprint the core pins what the server sends; the screen
            // then shows it for the leader to compare with the paper.
            if (expected.isEmpty()) store().enroll(url.trim(), code.trim(), cert)
            else store().enrollExpecting(url.trim(), code.trim(), cert, expected)
        }, done)
    }

    private fun store(): ClubStore = session.store()
}
