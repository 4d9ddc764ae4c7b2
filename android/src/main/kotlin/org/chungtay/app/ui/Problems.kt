package org.chungtay.app.ui

import android.content.Context
import org.chungtay.app.R
import org.chungtay.app.model.Problem

/** The words for each [Problem], in the user's language. */
object Problems {
    fun text(c: Context, p: Problem): String = when (p) {
        Problem.WrongPin -> c.getString(R.string.error_wrong_pin)
        is Problem.TooSoon -> c.getString(R.string.error_too_soon, p.seconds.toInt())
        Problem.Wiped -> c.getString(R.string.error_wiped)
        Problem.WipeIncomplete -> c.getString(R.string.error_wipe_incomplete)
        Problem.Locked -> c.getString(R.string.error_locked)
        Problem.Forbidden -> c.getString(R.string.error_forbidden)
        is Problem.Invalid -> c.getString(R.string.error_invalid, "${p.field} (${p.reason})")
        Problem.NotFound -> c.getString(R.string.error_not_found)
        Problem.Network -> c.getString(R.string.error_network)
        is Problem.Refused -> c.getString(R.string.error_refused, p.reason)
        Problem.KeyUnavailable -> c.getString(R.string.error_key_unavailable)
        Problem.Keystore -> c.getString(R.string.error_keystore)
        Problem.Integrity -> c.getString(R.string.error_integrity)
        Problem.DoNotContact -> c.getString(R.string.error_do_not_contact)
        Problem.WrongRecoverySecret -> c.getString(R.string.error_wrong_recovery)
        Problem.BackupDamaged -> c.getString(R.string.error_backup_damaged)
        Problem.Storage -> c.getString(R.string.error_storage)
        Problem.Other -> c.getString(R.string.error_other)
    }
}
