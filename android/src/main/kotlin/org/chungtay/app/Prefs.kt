package org.chungtay.app

import android.content.Context
import org.chungtay.app.model.IdleLock

/**
 * The app's own settings: language and lock timeout. Nothing personal lives here (plain
 * SharedPreferences, excluded from every backup by the manifest's rules).
 */
class Prefs(context: Context) {
    private val prefs = context.getSharedPreferences("chungtay", Context.MODE_PRIVATE)

    /** `vi`, `en`, or empty: follow the phone (Vietnamese unless the phone is in English). */
    var language: String
        get() = prefs.getString(LANGUAGE, "") ?: ""
        set(v) {
            prefs.edit().putString(LANGUAGE, v).commit()
        }

    var lockTimeoutMillis: Long
        get() = prefs.getLong(LOCK_TIMEOUT, IdleLock.DEFAULT_TIMEOUT_MILLIS)
        set(v) {
            prefs.edit().putLong(LOCK_TIMEOUT, v).commit()
        }

    private companion object {
        const val LANGUAGE = "language"
        const val LOCK_TIMEOUT = "lock_timeout_millis"
    }
}
