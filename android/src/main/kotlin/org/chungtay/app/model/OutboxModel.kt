package org.chungtay.app.model

import org.chungtay.core.OutboxItem
import org.chungtay.core.OutboxState
import org.chungtay.core.SyncReport

/** One outbox line: which referral, its state, how many tries, when the next one is due. */
data class OutboxRow(
    val referralId: String,
    val shortId: String,
    val state: OutboxState,
    val attempts: Long,
    /** dd/MM/yyyy HH:mm of the next try; null once sent. */
    val nextTry: String?,
    /** The server's reason code or the network problem (never personal data); null if none. */
    val lastError: String?,
)

/** What a finished sync did, in the terms the screen says it. */
data class SyncSummary(
    val sent: Long,
    val failed: Long,
    val stillPending: Long,
    val answers: Long,
    val answersNotUnderstood: Long,
    val checkpointSent: Boolean,
    /** The server could not be reached: everything stays in the outbox. */
    val network: Boolean,
    val serverRefused: String?,
    /** The province keeps a later checkpoint than this file's trail: an older copy? */
    val trailMismatch: Boolean,
    /** This phone's trail does not verify: nothing was sent. */
    val trailBroken: Boolean,
)

object Outbox {
    fun rows(items: List<OutboxItem>): List<OutboxRow> = items.map {
        OutboxRow(
            referralId = it.referralId,
            shortId = ProvFormat.shortId(it.referralId),
            state = it.state,
            attempts = it.attempts,
            nextTry = if (it.state == OutboxState.PENDING) ProvFormat.time(it.nextAttemptAt) else null,
            lastError = it.lastError.ifBlank { null },
        )
    }

    fun waiting(items: List<OutboxItem>): Int = items.count { it.state == OutboxState.PENDING }

    fun summary(r: SyncReport): SyncSummary = SyncSummary(
        sent = r.sent,
        failed = r.failed,
        stillPending = r.stillPending,
        answers = r.statusesApplied,
        answersNotUnderstood = r.statusesNotUnderstood,
        checkpointSent = r.checkpointSent,
        network = r.networkError != null,
        serverRefused = r.serverRefused,
        trailMismatch = r.trailMismatch != null,
        trailBroken = r.trailBroken != null,
    )
}
