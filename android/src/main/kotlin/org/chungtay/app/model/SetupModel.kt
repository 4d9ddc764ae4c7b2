package org.chungtay.app.model

import org.chungtay.core.EnrollmentInfo

/**
 * First run: create the store (the leader's name and PIN), then optionally enroll with the
 * province; or, on a new phone, restore an encrypted backup with the recovery secret kept by
 * the commune union and a new PIN. PINs pass straight to the core and are kept nowhere here.
 */
class SetupModel(private val session: Session, private val worker: Worker) {
    enum class Step { CREATE, RESTORE, ENROLL, DONE }

    data class State(
        val step: Step = Step.CREATE,
        val message: SecMessage? = null,
        val busy: Boolean = false,
        /** Whether a backup file was picked on the restore path. */
        val backupPicked: Boolean = false,
        /** After enrolling: the province's fingerprint, to compare with the paper. */
        val enrolled: EnrollmentInfo? = null,
    )

    var state = State()
        private set

    var onChange: (State) -> Unit = {}

    private val enrollment = Enrollment(session, worker)

    private fun set(s: State) {
        state = s
        onChange(s)
    }

    fun showRestore() = set(state.copy(step = Step.RESTORE, message = null))

    fun showCreate() = set(state.copy(step = Step.CREATE, message = null))

    fun backupPicked() = set(state.copy(backupPicked = true, message = null))

    /** Creates the store; the core checks the PIN (length, too common) and the name. */
    fun create(displayName: String, pin: String, repeat: String) {
        if (pin != repeat) return set(state.copy(message = SecMessage.PinsDiffer))
        set(state.copy(busy = true, message = null))
        worker.safely({ session.create(displayName.trim(), pin); Unit }) { r ->
            r.fold(
                { set(state.copy(busy = false, step = Step.ENROLL)) },
                { e -> set(state.copy(busy = false, message = SecMessage.Failed(Problem.of(e)))) },
            )
        }
    }

    /**
     * Restores the backup [read] returns (read on the worker: a file may be slow) with the
     * recovery secret and the leader's new PIN on this phone.
     */
    fun restore(read: (() -> ByteArray)?, recoverySecret: String, pin: String, repeat: String) {
        if (read == null || !state.backupPicked) return set(state.copy(message = SecMessage.NoBackupFile))
        if (pin != repeat) return set(state.copy(message = SecMessage.PinsDiffer))
        set(state.copy(busy = true, message = null))
        worker.safely({ session.restore(read(), recoverySecret.trim(), pin); Unit }) { r ->
            r.fold(
                { set(state.copy(busy = false, step = Step.DONE)) },
                { e -> set(state.copy(busy = false, message = SecMessage.Failed(Problem.of(e)))) },
            )
        }
    }

    fun enroll(url: String, code: String, certificatePem: String?, fingerprint: String) {
        set(state.copy(busy = true, message = null))
        enrollment.enroll(url, code, certificatePem, fingerprint) { r ->
            r.fold(
                { info -> set(state.copy(busy = false, enrolled = info, message = SecMessage.Done(SecDone.ENROLLED))) },
                { e -> set(state.copy(busy = false, message = SecMessage.Failed(Problem.of(e)))) },
            )
        }
    }

    /** "Later" after creating, or "continue" after enrolling: on to the home screen. */
    fun finish() = set(state.copy(step = Step.DONE, message = null))
}
