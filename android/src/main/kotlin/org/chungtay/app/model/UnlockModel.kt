package org.chungtay.app.model

import org.chungtay.core.ChungTayException
import org.chungtay.core.UserInfo
import org.chungtay.core.UserRole

/**
 * The PIN pad: who is unlocking (leader, deputy, auditor), how many tries are left before the
 * store wipes itself, and the wait the core imposes after repeated wrong PINs. A duress PIN
 * goes through exactly the same path as a real one: [unlock] cannot tell them apart, and
 * neither can the screen.
 */
class UnlockModel(
    private val session: Session,
    private val worker: Worker,
    /** A monotonic clock in milliseconds (the countdown). */
    private val now: () -> Long,
) {
    data class State(
        val users: List<UserInfo> = emptyList(),
        val selected: String? = null,
        /** Tries left before the wipe; null until known. */
        val attemptsLeft: Long? = null,
        /** When the core's wait ends, on the [now] clock; 0 when there is none. */
        val waitUntil: Long = 0,
        val message: SecMessage? = null,
        val busy: Boolean = false,
        val unlocked: Boolean = false,
        /** The store wiped itself (too many wrong PINs): the file is gone, setup is next. */
        val wiped: Boolean = false,
        /** The wipe happened but the keystore key could not be deleted. */
        val wipeIncomplete: Boolean = false,
    )

    var state = State()
        private set

    var onChange: (State) -> Unit = {}

    private fun set(s: State) {
        state = s
        onChange(s)
    }

    /** Seconds left of the core's wait (rounded up), 0 when the PIN may be tried. */
    fun waitSeconds(): Long {
        val left = state.waitUntil - now()
        return if (left <= 0) 0 else (left + 999) / 1000
    }

    fun canTry(): Boolean = state.selected != null && !state.busy && !state.wiped && !state.unlocked && waitSeconds() == 0L

    /** Whether to warn that the next wrong PINs wipe the phone. */
    fun fewLeft(): Boolean = (state.attemptsLeft ?: Long.MAX_VALUE) <= FEW_LEFT

    private class Loaded(val users: List<UserInfo>, val left: Long)

    /** Reads the users and the tries left (both readable while locked). */
    fun load() {
        set(state.copy(busy = true))
        worker.safely({
            val store = session.store()
            Loaded(store.users(), store.unlockAttemptsLeft())
        }) { r ->
            r.fold({ l ->
                val keep = state.selected?.takeIf { id -> l.users.any { it.id == id } }
                val selected = keep ?: (l.users.firstOrNull { it.role == UserRole.LEADER } ?: l.users.firstOrNull())?.id
                set(state.copy(busy = false, users = l.users, selected = selected, attemptsLeft = l.left))
            }, { e -> fail(e) })
        }
    }

    fun select(userId: String) {
        set(state.copy(selected = userId, message = null))
    }

    private sealed class Outcome {
        object Unlocked : Outcome()
        class Wrong(val left: Long?) : Outcome()
    }

    /** Tries [pin] for the selected user. The PIN is not kept anywhere in this model. */
    fun unlock(pin: String) {
        val user = state.selected ?: return
        if (!canTry()) return
        set(state.copy(busy = true, message = null))
        worker.safely({
            try {
                session.unlock(user, pin)
                Outcome.Unlocked
            } catch (e: ChungTayException.WrongPin) {
                Outcome.Wrong(runCatching { session.store().unlockAttemptsLeft() }.getOrNull())
            } catch (e: ChungTayException) {
                if (e is ChungTayException.Wiped || e is ChungTayException.WipeIncomplete) {
                    // The core deleted the files: forget the handle so the next open finds none.
                    runCatching { session.close() }
                }
                throw e
            }
        }) { r ->
            r.fold({ o ->
                when (o) {
                    Outcome.Unlocked -> set(state.copy(busy = false, unlocked = true, message = null))
                    is Outcome.Wrong -> set(
                        state.copy(busy = false, attemptsLeft = o.left ?: state.attemptsLeft, message = SecMessage.Failed(Problem.WrongPin)),
                    )
                }
            }, { e -> fail(e) })
        }
    }

    private fun fail(e: Throwable) {
        when (val p = Problem.of(e)) {
            is Problem.TooSoon -> set(state.copy(busy = false, waitUntil = now() + p.seconds * 1000, message = SecMessage.Failed(p)))
            Problem.Wiped -> set(state.copy(busy = false, wiped = true, attemptsLeft = 0, message = SecMessage.Failed(p)))
            Problem.WipeIncomplete -> set(state.copy(busy = false, wiped = true, wipeIncomplete = true, attemptsLeft = 0, message = SecMessage.Failed(p)))
            else -> set(state.copy(busy = false, message = SecMessage.Failed(p)))
        }
    }

    companion object {
        /** From this many tries left, the screen warns that the data will be wiped. */
        const val FEW_LEFT = 3L

        /** Users in the order the core lists them, numbered within their role when several share it. */
        fun labels(users: List<UserInfo>): List<Pair<UserInfo, Int>> {
            val seen = HashMap<UserRole, Int>()
            val counts = users.groupingBy { it.role }.eachCount()
            return users.map { u ->
                val n = (seen[u.role] ?: 0) + 1
                seen[u.role] = n
                u to if ((counts[u.role] ?: 0) > 1) n else 0
            }
        }
    }
}
