package org.chungtay.app.model

import org.chungtay.core.EnrollmentInfo
import org.chungtay.core.Permission
import org.chungtay.core.RecordKind
import org.chungtay.core.UserInfo
import org.chungtay.core.UserRole

/**
 * Settings behind the PIN: the user's own PIN; for the roles the core allows, the duress PIN,
 * the wipe threshold, the recovery secret and backups, other users, and enrollment with the
 * province. What is shown follows `may(permission)`; the core refuses the rest anyway.
 */
class SettingsModel(private val session: Session, private val worker: Worker) {
    data class State(
        val loaded: Boolean = false,
        val allowed: Set<Permission> = emptySet(),
        /** The tries left before a wipe as the core reports it (the threshold when no PIN failed). */
        val attemptsLeft: Long? = null,
        val enrollment: EnrollmentInfo? = null,
        /** The duress slot was deleted or replaced in the file: the duress PIN must be set again. */
        val duressDamaged: Boolean = false,
        /** Shown once after [setupRecovery]; dropped by [forgetSecret] and when the screen goes. */
        val recoverySecret: String? = null,
        val message: SecMessage? = null,
        val busy: Boolean = false,
        /** An encrypted backup made and not yet handed to the screen to save. */
        val backup: ByteArray? = null,
    )

    var state = State()
        private set

    var onChange: (State) -> Unit = {}

    private val enrollmentCall = Enrollment(session, worker)

    private fun set(s: State) {
        state = s
        onChange(s)
    }

    fun may(p: Permission) = p in state.allowed

    private class Loaded(val allowed: Set<Permission>, val left: Long, val enrollment: EnrollmentInfo?, val duressDamaged: Boolean)

    fun load() {
        set(state.copy(busy = true))
        worker.safely({
            val store = session.store()
            val allowed = Permission.values().filter { store.may(it) }.toSet()
            val enrolled = if (Permission.SYNC in allowed) store.enrollmentInfo() else null
            // docs/BINDINGS.md: `USER duress_slot` (or `decoy_key`) among the damaged records
            // means the duress PIN no longer works; the leader is asked to set it again.
            val damaged = Permission.SAFETY in allowed && store.damagedRecords().any {
                it.kind == RecordKind.USER && (it.id == "duress_slot" || it.id == "decoy_key")
            }
            Loaded(allowed, store.unlockAttemptsLeft(), enrolled, damaged)
        }) { r ->
            r.fold(
                { l -> set(state.copy(loaded = true, busy = false, allowed = l.allowed, attemptsLeft = l.left, enrollment = l.enrollment, duressDamaged = l.duressDamaged)) },
                { e -> failed(e) },
            )
        }
    }

    private fun failed(e: Throwable) = set(state.copy(busy = false, message = SecMessage.Failed(Problem.of(e))))

    private fun <T> act(work: () -> T, done: SecDone, after: (State, T) -> State = { s, _ -> s }) {
        set(state.copy(busy = true, message = null))
        worker.safely(work) { r ->
            r.fold({ v -> set(after(state.copy(busy = false, message = SecMessage.Done(done)), v)) }, { e -> failed(e) })
        }
    }

    fun changePin(old: String, new: String, repeat: String) {
        if (new != repeat) return set(state.copy(message = SecMessage.PinsDiffer))
        act({ session.store().changePin(old, new) }, SecDone.PIN_CHANGED)
    }

    /** The leader's current PIN first (a wrong one counts like one at the unlock screen). */
    fun setDuressPin(current: String, duress: String, repeat: String) {
        if (duress != repeat) return set(state.copy(message = SecMessage.PinsDiffer))
        act({ session.store().setDuressPin(current, duress) }, SecDone.DURESS_SET) { s, _ -> s.copy(duressDamaged = false) }
    }

    fun setWipeAfter(text: String) {
        val n = text.trim().toLongOrNull() ?: return set(state.copy(message = SecMessage.NumberNeeded))
        act({ session.store().setWipeAfter(n); session.store().unlockAttemptsLeft() }, SecDone.WIPE_SET) { s, left ->
            s.copy(attemptsLeft = left)
        }
    }

    /** Makes (or replaces) the recovery secret; the state holds it until [forgetSecret]. */
    fun setupRecovery() {
        act({ session.store().setupRecovery().recoverySecret }, SecDone.RECOVERY_SET) { s, secret ->
            s.copy(recoverySecret = secret)
        }
    }

    fun forgetSecret() = set(state.copy(recoverySecret = null))

    /**
     * Makes the encrypted backup now, while the store is unlocked; the screen then asks where
     * to save it (the file picker may lock the app) and calls [writeBackup].
     */
    fun prepareBackup() {
        set(state.copy(busy = true, message = null))
        worker.safely({ session.store().createBackup() }) { r ->
            r.fold({ bytes -> set(state.copy(busy = false, backup = bytes)) }, { e -> failed(e) })
        }
    }

    /** The screen took the bytes of [prepareBackup] (they are encrypted; still, keep no copy). */
    fun backupHandedOver() = set(state.copy(backup = null))

    /** Writes the backup through [write] (file I/O on the worker, no store call). */
    fun writeBackup(write: () -> Unit) {
        set(state.copy(busy = true, message = null))
        worker.safely(write) { r ->
            r.fold(
                { set(state.copy(busy = false, message = SecMessage.Done(SecDone.BACKUP_WRITTEN))) },
                { set(state.copy(busy = false, message = SecMessage.Failed(Problem.Storage))) },
            )
        }
    }

    fun addUser(currentPin: String, name: String, role: UserRole, pin: String, repeat: String) {
        if (pin != repeat) return set(state.copy(message = SecMessage.PinsDiffer))
        act<UserInfo>({ session.store().addUser(currentPin, name.trim(), role, pin) }, SecDone.USER_ADDED)
    }

    fun enroll(url: String, code: String, certificatePem: String?, fingerprint: String) {
        set(state.copy(busy = true, message = null))
        enrollmentCall.enroll(url, code, certificatePem, fingerprint) { r ->
            r.fold(
                { info -> set(state.copy(busy = false, enrollment = info, message = SecMessage.Done(SecDone.ENROLLED))) },
                { e -> failed(e) },
            )
        }
    }
}
