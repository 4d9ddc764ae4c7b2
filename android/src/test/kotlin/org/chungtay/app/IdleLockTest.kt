package org.chungtay.app

import kotlin.test.assertEquals
import kotlin.test.assertFalse
import kotlin.test.assertTrue
import org.chungtay.app.model.IdleLock
import org.junit.Test

class IdleLockTest {
    private var now = 1_000L
    private val lock = IdleLock(60_000) { now }

    @Test
    fun it_expires_after_the_timeout_without_a_touch_and_a_touch_starts_it_again() {
        now += 59_999
        assertFalse(lock.idleExpired())
        assertEquals(1, lock.millisLeft())
        lock.touched()
        now += 59_999
        assertFalse(lock.idleExpired())
        now += 1
        assertTrue(lock.idleExpired())
        assertEquals(0, lock.millisLeft())
    }

    @Test
    fun the_app_locks_when_its_last_screen_is_hidden_not_before() {
        lock.screenShown()
        lock.screenShown() // a second screen opened over the first
        assertFalse(lock.screenHidden())
        assertTrue(lock.screenHidden())
        // A stray stop never drives the count below zero (and so never skips a later lock).
        assertTrue(lock.screenHidden())
        lock.screenShown()
        assertTrue(lock.screenHidden())
    }
}
