package org.chungtay.app.model

/**
 * Runs core calls away from the UI thread and hands the outcome back on it. The presentation
 * layer only sees this interface: the app gives a background thread plus the main looper, the
 * JVM tests a direct one.
 */
interface Worker {
    fun <T> run(work: () -> T, done: (Result<T>) -> Unit)
}

/** Runs the work at once on the calling thread: for the presentation layer's JVM tests. */
object DirectWorker : Worker {
    override fun <T> run(work: () -> T, done: (Result<T>) -> Unit) {
        done(runCatching(work))
    }
}
