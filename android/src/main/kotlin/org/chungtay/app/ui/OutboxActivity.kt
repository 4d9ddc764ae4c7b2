package org.chungtay.app.ui

import android.os.Bundle
import android.widget.TextView
import org.chungtay.app.R
import org.chungtay.app.model.Outbox
import org.chungtay.app.model.Problem
import org.chungtay.app.model.SyncProgress
import org.chungtay.app.model.SyncSummary
import org.chungtay.core.OutboxItem
import org.chungtay.core.OutboxState

/**
 * The outbox: each referral waiting for the province with its state, tries and next try; "send
 * now" syncs off the UI thread with its progress. If the user leaves, the sync goes on (the
 * result is dropped with the screen) and everything it did not send stays in the outbox.
 */
class OutboxActivity : BaseActivity() {
    private var progress: TextView? = null
    private var result: String? = null

    override fun onCreate(savedInstanceState: Bundle?) {
        super.onCreate(savedInstanceState)
        setTitle(R.string.prov_outbox_title)
        page { heading(getString(R.string.prov_outbox_title), "title") }
        load()
    }

    private fun load() {
        core({ store.outbox() to store.enrollmentInfo() }) { (items, enrolled) -> render(items, enrolled != null) }
    }

    private fun render(items: List<OutboxItem>, enrolled: Boolean) {
        page {
            heading(getString(R.string.prov_outbox_title), "title")
            if (!enrolled) label(getString(R.string.prov_outbox_not_enrolled), "not_enrolled")
            result?.let { label(it, "result") }
            val rows = Outbox.rows(items)
            if (rows.isEmpty()) label(getString(R.string.prov_outbox_empty), "empty")
            else label(getString(R.string.prov_outbox_waiting, Outbox.waiting(items)), "waiting")
            rows.forEachIndexed { i, r ->
                val state = getString(when (r.state) {
                    OutboxState.PENDING -> R.string.prov_outbox_pending
                    OutboxState.SENT -> R.string.prov_outbox_sent
                    OutboxState.FAILED -> R.string.prov_outbox_failed
                })
                column("item_$i") {
                    item(getString(R.string.prov_outbox_item, r.shortId, state, r.attempts.toInt()), "item_text_$i") {
                        this@OutboxActivity.startActivity(Nav.referral(this@OutboxActivity, r.referralId))
                    }
                    r.nextTry?.let { label(getString(R.string.prov_outbox_next, it), "item_next_$i").textSize = 13f }
                    r.lastError?.let { label(getString(R.string.prov_outbox_error, it), "item_error_$i").textSize = 13f }
                }
            }
            progress = label("", "progress").apply { gone(true) }
            button(getString(R.string.prov_outbox_send_now), "send_now") { sendNow() }.isEnabled = enrolled
        }
    }

    private fun sendNow() {
        progress?.apply { text = getString(R.string.prov_outbox_starting); gone(false) }
        // The listener runs on the syncing thread inside the store's call: it only posts text.
        val listener = SyncProgress({ runOnUiThread(it) }) { done, total ->
            progress?.apply { text = getString(R.string.prov_outbox_progress, done, total); gone(false) }
        }
        core({ store.sync(true, listener) }, { p ->
            result = if (p == Problem.Network) getString(R.string.prov_outbox_network) else org.chungtay.app.ui.Problems.text(this, p)
            if (p == Problem.Locked) toPinPad() else load()
        }) { report ->
            result = summary(Outbox.summary(report))
            load()
        }
    }

    private fun summary(s: SyncSummary): String = buildList {
        if (s.network) add(getString(R.string.prov_outbox_network))
        if (s.trailBroken) add(getString(R.string.prov_outbox_trail_broken))
        if (s.trailMismatch) add(getString(R.string.prov_outbox_trail_mismatch))
        s.serverRefused?.let { add(getString(R.string.prov_outbox_refused, it)) }
        if (s.answersNotUnderstood > 0) add(getString(R.string.prov_outbox_not_understood, s.answersNotUnderstood.toInt()))
        add(getString(R.string.prov_outbox_done, s.sent.toInt(), s.answers.toInt(), s.stillPending.toInt()))
    }.joinToString("\n")
}
