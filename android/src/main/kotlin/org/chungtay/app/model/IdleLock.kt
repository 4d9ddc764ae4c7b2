package org.chungtay.app.model

/**
 * When the app locks itself: after [timeoutMillis] without a touch, and at once when no screen
 * of the app is visible (home button, another app, the screen off). Plain Kotlin with an
 * injected clock so the rule is tested on the JVM; the Application feeds it events.
 */
class IdleLock(var timeoutMillis: Long, private val now: () -> Long) {
    private var lastTouch = now()
    private var visible = 0

    fun touched() {
        lastTouch = now()
    }

    fun screenShown() {
        visible++
        touched()
    }

    /** Returns true when this was the last visible screen: lock now. */
    fun screenHidden(): Boolean {
        visible = (visible - 1).coerceAtLeast(0)
        return visible == 0
    }

    fun idleExpired(): Boolean = now() - lastTouch >= timeoutMillis

    fun millisLeft(): Long = (timeoutMillis - (now() - lastTouch)).coerceAtLeast(0)

    companion object {
        const val DEFAULT_TIMEOUT_MILLIS = 2 * 60 * 1000L
        /** The choices offered in settings, in seconds. */
        val CHOICES_SECONDS = listOf(30L, 60L, 120L, 300L, 600L)
    }
}
