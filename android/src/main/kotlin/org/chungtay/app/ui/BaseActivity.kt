package org.chungtay.app.ui

import android.app.Activity
import android.content.Context
import android.content.Intent
import android.content.res.Configuration
import android.os.Bundle
import android.view.View
import android.widget.FrameLayout
import android.widget.ProgressBar
import android.widget.Toast
import java.util.Locale
import org.chungtay.app.ChungTayApp
import org.chungtay.app.Prefs
import org.chungtay.app.model.Problem
import org.chungtay.ffi.ClubStore

/**
 * What every screen shares: the language the user chose, core calls off the UI thread with a
 * busy overlay, the idle timer, and (for screens behind the PIN) a check that the store is
 * still unlocked each time the screen comes back.
 */
abstract class BaseActivity : Activity() {
    /** Screens that show records say so: they close when the store is locked. */
    protected open val needsUnlock: Boolean = true

    val app: ChungTayApp get() = application as ChungTayApp

    private var busy: View? = null
    private var destroyed = false

    override fun attachBaseContext(base: Context) {
        super.attachBaseContext(withLanguage(base))
    }

    override fun onCreate(savedInstanceState: Bundle?) {
        super.onCreate(savedInstanceState)
        // Titles are set per screen; the action bar shows no record's name.
    }

    override fun onResume() {
        super.onResume()
        if (needsUnlock && !app.session.isUnlocked()) toPinPad()
    }

    fun needsUnlockNow(): Boolean = needsUnlock

    /** Locked by the timer or the background rule: back to the PIN pad, this screen gone. */
    fun toPinPad() {
        startActivity(Intent(this, StartActivity::class.java).addFlags(Intent.FLAG_ACTIVITY_CLEAR_TASK or Intent.FLAG_ACTIVITY_NEW_TASK))
        finish()
    }

    /**
     * The system's file picker (backup, restore, export, report) covers the app: the app must
     * not lock for that, or the file the user picked would come back to the PIN pad. The idle
     * timeout still runs meanwhile and locks as usual.
     */
    override fun startActivityForResult(intent: Intent, requestCode: Int, options: Bundle?) {
        if (intent.action == Intent.ACTION_CREATE_DOCUMENT || intent.action == Intent.ACTION_OPEN_DOCUMENT) {
            app.pickerOpening()
        }
        super.startActivityForResult(intent, requestCode, options)
    }

    override fun onUserInteraction() {
        super.onUserInteraction()
        app.touched()
    }

    override fun onDestroy() {
        destroyed = true
        super.onDestroy()
    }

    /** The open store; only valid once the session has one (screens after Start). */
    val store: ClubStore get() = app.session.store()

    /**
     * Runs [work] on the core's thread with the busy overlay shown, then [done] on the UI
     * thread if this screen still exists (the user may leave; the work still finishes). A
     * failure is shown as its [Problem] unless [failed] handles it.
     */
    fun <T> core(work: () -> T, failed: ((Problem) -> Unit)? = null, done: (T) -> Unit) {
        showBusy(true)
        app.worker.run(work) { outcome ->
            if (destroyed) return@run
            showBusy(false)
            outcome.fold(done) { e ->
                val p = Problem.of(e)
                when {
                    failed != null -> failed(p)
                    p == Problem.Locked && needsUnlock -> toPinPad()
                    else -> show(p)
                }
            }
        }
    }

    fun show(p: Problem) {
        Toast.makeText(this, Problems.text(this, p), Toast.LENGTH_LONG).show()
    }

    private fun showBusy(on: Boolean) {
        val root = window.decorView as? FrameLayout ?: return
        if (on && busy == null) {
            busy = FrameLayout(this).apply {
                isClickable = true // swallows taps while the core works
                setBackgroundColor(0x33000000)
                addView(ProgressBar(context), FrameLayout.LayoutParams(FrameLayout.LayoutParams.WRAP_CONTENT, FrameLayout.LayoutParams.WRAP_CONTENT, android.view.Gravity.CENTER))
                tag = BUSY_TAG
            }
            root.addView(busy, FrameLayout.LayoutParams(FrameLayout.LayoutParams.MATCH_PARENT, FrameLayout.LayoutParams.MATCH_PARENT))
        } else if (!on && busy != null) {
            root.removeView(busy)
            busy = null
        }
    }

    companion object {
        const val BUSY_TAG = "busy"

        fun withLanguage(base: Context): Context {
            val lang = Prefs(base).language
            if (lang.isEmpty()) return base
            val config = Configuration(base.resources.configuration)
            config.setLocale(Locale.forLanguageTag(lang))
            return base.createConfigurationContext(config)
        }
    }
}
