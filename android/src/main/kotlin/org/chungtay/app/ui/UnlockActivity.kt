package org.chungtay.app.ui

import android.content.Intent
import android.os.Bundle
import android.os.Handler
import android.os.Looper
import android.os.SystemClock
import android.widget.Button
import android.widget.EditText
import android.widget.LinearLayout
import android.widget.TextView
import org.chungtay.app.R
import org.chungtay.app.model.Problem
import org.chungtay.app.model.SecMessage
import org.chungtay.app.model.UnlockModel

/**
 * The PIN pad. Who unlocks (leader, deputy, auditor: the core lists them by role only), the
 * PIN, the tries left and the wipe warning, the core's wait counted down. A duress PIN takes
 * exactly this path and lands on the home screen like any other.
 */
class UnlockActivity : BaseActivity() {
    override val needsUnlock = false

    private lateinit var model: UnlockModel
    private lateinit var who: LinearLayout
    private lateinit var pin: EditText
    private lateinit var unlock: Button
    private lateinit var message: TextView
    private lateinit var attempts: TextView
    private lateinit var warning: TextView
    private lateinit var wait: TextView
    private lateinit var wipedNext: Button
    private var shownUsers: List<String>? = null
    private val ticker = Handler(Looper.getMainLooper())
    private val tick = object : Runnable {
        override fun run() {
            render(model.state)
        }
    }

    override fun onCreate(savedInstanceState: Bundle?) {
        super.onCreate(savedInstanceState)
        title = getString(R.string.sec_unlock_title)
        model = UnlockModel(app.session, secWorker(), SystemClock::elapsedRealtime)
        page {
            heading(getString(R.string.sec_unlock_title))
            label(getString(R.string.sec_unlock_who))
            who = column("sec_users")
            pin = pinField(getString(R.string.sec_pin), "sec_pin")
            unlock = button(getString(R.string.sec_unlock), "sec_unlock") {
                model.unlock(pin.text.toString())
                clearPins(pin)
            }
            message = label("", "sec_message")
            attempts = label("", "sec_attempts")
            warning = label(getString(R.string.sec_wipe_warning), "sec_wipe_warning")
            wait = label("", "sec_wait")
            wipedNext = button(getString(R.string.sec_wiped_continue), "sec_wiped_continue") {
                startActivity(Intent(this@UnlockActivity, StartActivity::class.java))
                finish()
            }
        }
        model.onChange = { render(it) }
        render(model.state)
        model.load()
    }

    override fun onDestroy() {
        ticker.removeCallbacks(tick)
        super.onDestroy()
    }

    private fun render(s: UnlockModel.State) {
        if (s.unlocked) {
            ticker.removeCallbacks(tick)
            startActivity(Nav.home(this))
            finish()
            return
        }
        val ids = s.users.map { it.id }
        if (ids != shownUsers) {
            shownUsers = ids
            who.removeAllViews()
            val labels = UnlockModel.labels(s.users).map { (u, n) -> u.id to SecTexts.role(this, u.role, n) }
            val idx = ids.withIndex().associate { (i, id) -> id to i.toString() }
            who.choices("sec_user_", labels.map { (id, text) -> idx.getValue(id) to text }, idx[s.selected]) { i ->
                model.select(ids[i.toInt()])
            }
        }
        val seconds = model.waitSeconds()
        // The wipe said so once: a wrong-PIN message is not repeated under it.
        val m = s.message
        val text = when {
            m == null -> ""
            m is SecMessage.Failed && m.problem is Problem.TooSoon -> ""
            else -> SecTexts.message(this, m)
        }
        message.text = if (s.wiped) getString(R.string.sec_wiped) else text
        message.gone(message.text.isEmpty())
        val left = s.attemptsLeft
        val showLeft = left != null && !s.wiped && m is SecMessage.Failed
        attempts.text = if (left != null) getString(R.string.sec_attempts_left, left.toInt()) else ""
        attempts.gone(!showLeft)
        warning.gone(s.wiped || !model.fewLeft())
        wait.text = getString(R.string.sec_wait, seconds.toInt())
        wait.gone(seconds == 0L || s.wiped)
        unlock.isEnabled = model.canTry()
        pin.isEnabled = !s.wiped
        who.gone(s.wiped)
        wipedNext.gone(!s.wiped)
        ticker.removeCallbacks(tick)
        if (seconds > 0) ticker.postDelayed(tick, 1000)
    }
}
