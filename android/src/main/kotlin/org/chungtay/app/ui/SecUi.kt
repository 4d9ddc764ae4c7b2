package org.chungtay.app.ui

import android.content.Context
import android.text.InputType
import android.view.ViewGroup
import android.widget.EditText
import android.widget.LinearLayout
import android.widget.RadioButton
import android.widget.RadioGroup
import android.widget.TextView
import org.chungtay.app.R
import org.chungtay.app.model.PinRules
import org.chungtay.app.model.Problem
import org.chungtay.app.model.SecDone
import org.chungtay.app.model.SecMessage
import org.chungtay.app.model.Worker
import org.chungtay.core.UserRole

/** Words and pieces shared by the security screens (setup, unlock, settings). */
object SecTexts {
    fun message(c: Context, m: SecMessage): String = when (m) {
        is SecMessage.Failed -> problem(c, m.problem)
        SecMessage.PinsDiffer -> c.getString(R.string.sec_err_pins_differ)
        SecMessage.NumberNeeded -> c.getString(R.string.sec_err_number)
        SecMessage.NoBackupFile -> c.getString(R.string.sec_err_no_file)
        is SecMessage.Done -> c.getString(
            when (m.what) {
                SecDone.PIN_CHANGED -> R.string.sec_pin_changed
                SecDone.DURESS_SET -> R.string.sec_duress_set
                SecDone.WIPE_SET -> R.string.sec_wipe_set
                SecDone.RECOVERY_SET -> R.string.sec_recovery_set
                SecDone.BACKUP_WRITTEN -> R.string.sec_backup_written
                SecDone.USER_ADDED -> R.string.sec_user_added
                SecDone.ENROLLED -> R.string.sec_enrolled_done
            },
        )
    }

    /** The core's refusals in words; the PIN rules come from core/src/keys.rs (see [PinRules]). */
    fun problem(c: Context, p: Problem): String {
        if (p is Problem.Invalid) {
            val pinField = p.field == "pin" || p.field == "duress_pin" || p.field == "new_pin"
            when {
                pinField && p.reason == "TOO_SHORT" -> return c.getString(R.string.sec_err_pin_short, PinRules.MIN_CHARS)
                pinField && p.reason == "TOO_LONG" -> return c.getString(R.string.sec_err_pin_long, PinRules.MAX_CHARS)
                pinField && p.reason == "TOO_COMMON" -> return c.getString(R.string.sec_err_pin_common)
                pinField && p.reason == "DUPLICATE" -> return c.getString(R.string.sec_err_pin_duplicate)
                p.field == "display_name" -> return c.getString(R.string.sec_err_name)
                p.field == "wipe_after" -> return c.getString(R.string.sec_err_wipe_range, PinRules.WIPE_MIN.toInt(), PinRules.WIPE_MAX.toInt())
                p.field == "recovery" -> return c.getString(R.string.sec_err_recovery_missing)
                p.field == "province_fingerprint" -> return c.getString(R.string.sec_err_fingerprint)
                p.field == "server_url" -> return c.getString(R.string.sec_err_url)
            }
        }
        return Problems.text(c, p)
    }

    fun role(c: Context, role: UserRole, number: Int = 0): String {
        val name = c.getString(
            when (role) {
                UserRole.LEADER -> R.string.sec_role_leader
                UserRole.DEPUTY -> R.string.sec_role_deputy
                UserRole.AUDITOR -> R.string.sec_role_auditor
            },
        )
        return if (number > 0) c.getString(R.string.sec_role_numbered, name, number) else name
    }
}

/**
 * The screen's [BaseActivity.core] as a [Worker] for the presentation layer: the busy overlay,
 * the core's thread, and nothing delivered to a screen that is gone. The models catch every
 * failure inside the work, so the failure branch only guards the unexpected.
 */
fun BaseActivity.secWorker(): Worker = object : Worker {
    override fun <T> run(work: () -> T, done: (Result<T>) -> Unit) {
        core(work, failed = { p -> done(Result.failure(IllegalStateException(p.javaClass.simpleName))) }) { done(Result.success(it)) }
    }
}

/** One choice among several, each button tagged `tagPrefix + key`. */
fun LinearLayout.choices(
    tagPrefix: String,
    options: List<Pair<String, String>>,
    selected: String?,
    onPick: (String) -> Unit,
): RadioGroup {
    val group = RadioGroup(context).apply { orientation = RadioGroup.VERTICAL }
    for ((key, text) in options) {
        val b = RadioButton(context).apply {
            this.text = text
            tag = tagPrefix + key
            id = android.view.View.generateViewId()
            textSize = 16f
        }
        group.addView(b)
        if (key == selected) b.isChecked = true
        b.setOnClickListener { onPick(key) }
    }
    addView(group, ViewGroup.LayoutParams(ViewGroup.LayoutParams.MATCH_PARENT, ViewGroup.LayoutParams.WRAP_CONTENT))
    return group
}

/** The enrollment fields, shared by setup and settings; [enroll] gets url, code, PEM, fingerprint. */
class SecEnrollForm(parent: LinearLayout, enroll: (String, String, String?, String) -> Unit) {
    val url: EditText
    val code: EditText
    val fingerprint: EditText
    val cert: EditText
    val result: TextView

    init {
        val c = parent.context
        parent.heading(c.getString(R.string.sec_enroll_title))
        parent.label(c.getString(R.string.sec_enroll_intro))
        url = parent.field(c.getString(R.string.sec_enroll_url), "sec_enroll_url", InputType.TYPE_CLASS_TEXT or InputType.TYPE_TEXT_VARIATION_URI)
        code = parent.field(c.getString(R.string.sec_enroll_code), "sec_enroll_code", InputType.TYPE_CLASS_TEXT or InputType.TYPE_TEXT_FLAG_NO_SUGGESTIONS)
        fingerprint = parent.field(c.getString(R.string.sec_enroll_fingerprint), "sec_enroll_fingerprint", InputType.TYPE_CLASS_TEXT or InputType.TYPE_TEXT_FLAG_NO_SUGGESTIONS)
        cert = parent.field(c.getString(R.string.sec_enroll_cert), "sec_enroll_cert", InputType.TYPE_CLASS_TEXT or InputType.TYPE_TEXT_FLAG_MULTI_LINE or InputType.TYPE_TEXT_FLAG_NO_SUGGESTIONS)
        parent.button(c.getString(R.string.sec_enroll), "sec_enroll") {
            enroll(url.text.toString(), code.text.toString(), cert.text.toString().ifBlank { null }, fingerprint.text.toString())
        }
        result = parent.label("", "sec_enrolled").apply { gone(true) }
    }
}

/** Clears PIN fields once their value went to the core (the model keeps none either). */
fun clearPins(vararg fields: EditText) = fields.forEach { it.setText("") }
