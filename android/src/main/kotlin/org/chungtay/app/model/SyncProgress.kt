package org.chungtay.app.model

import org.chungtay.ffi.SyncListener

/**
 * The outbox's sync listener. The core calls [progress] on the syncing thread, inside the
 * store's call, so it must not touch the store: it only hands the two numbers to [post] (the
 * screen's `runOnUiThread`), which shows "sending 3 of 12".
 */
class SyncProgress(private val post: (Runnable) -> Unit, private val show: (done: Int, total: Int) -> Unit) : SyncListener {
    override fun progress(done: Long, total: Long) {
        val d = done.toInt()
        val t = total.toInt()
        post(Runnable { show(d, t) })
    }
}
