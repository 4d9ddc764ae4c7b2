package org.chungtay.app.ui

import android.content.Intent
import android.os.Bundle

/**
 * The launcher: sends the user to first-run setup when there is no store, to the PIN pad when
 * it is locked, and home when it is open. Shows nothing itself.
 */
class StartActivity : BaseActivity() {
    override val needsUnlock = false

    override fun onCreate(savedInstanceState: Bundle?) {
        super.onCreate(savedInstanceState)
        val session = app.session
        val next = when {
            session.isUnlocked() -> HomeActivity::class.java
            session.exists() -> UnlockActivity::class.java
            else -> SetupActivity::class.java
        }
        startActivity(Intent(this, next))
        finish()
    }
}
