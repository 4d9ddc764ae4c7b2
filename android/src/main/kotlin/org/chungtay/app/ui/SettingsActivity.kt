package org.chungtay.app.ui

import android.content.Intent
import android.os.Bundle
import android.text.InputType
import android.widget.EditText
import android.widget.TextView
import org.chungtay.app.Prefs
import org.chungtay.app.R
import org.chungtay.app.model.IdleLock
import org.chungtay.app.model.Problem
import org.chungtay.app.model.SecMessage
import org.chungtay.app.model.SettingsModel
import org.chungtay.core.Permission
import org.chungtay.core.UserRole

/**
 * Settings: the user's own PIN, lock timeout and language for everyone; the duress PIN, the
 * wipe threshold, backups, users and enrollment only for the roles the core allows.
 */
class SettingsActivity : BaseActivity() {
    private lateinit var model: SettingsModel
    private var built = false
    private lateinit var message: TextView
    private var wipeNow: TextView? = null
    private var duressDamaged: TextView? = null
    private var wipeField: EditText? = null
    private var secretBox: android.widget.LinearLayout? = null
    private var secretText: TextView? = null
    private var enroll: SecEnrollForm? = null
    private var enrolledText: TextView? = null

    /** The encrypted backup made before the file picker opens (the picker may lock the app). */
    private var pendingBackup: ByteArray? = null

    override fun onCreate(savedInstanceState: Bundle?) {
        super.onCreate(savedInstanceState)
        title = getString(R.string.sec_settings_title)
        model = SettingsModel(app.session, secWorker())
        model.onChange = { render(it) }
        page { heading(getString(R.string.sec_settings_title)) }
        model.load()
    }

    private fun build(s: SettingsModel.State) {
        built = true
        val prefs = Prefs(this)
        page {
            heading(getString(R.string.sec_settings_title))
            message = label("", "sec_message").apply { gone(true) }

            heading(getString(R.string.sec_change_pin_title))
            label(getString(R.string.sec_pin_rule))
            val old = pinField(getString(R.string.sec_old_pin), "sec_old_pin")
            val new = pinField(getString(R.string.sec_new_pin), "sec_new_pin")
            val again = pinField(getString(R.string.sec_new_pin_repeat), "sec_new_pin_repeat")
            button(getString(R.string.sec_change_pin), "sec_change_pin") {
                model.changePin(old.text.toString(), new.text.toString(), again.text.toString())
                clearPins(old, new, again)
            }

            if (model.may(Permission.SAFETY)) {
                heading(getString(R.string.sec_duress_title))
                label(getString(R.string.sec_duress_intro))
                duressDamaged = label(getString(R.string.sec_duress_damaged), "sec_duress_damaged")
                val current = pinField(getString(R.string.sec_your_pin), "sec_duress_current")
                val duress = pinField(getString(R.string.sec_duress_pin), "sec_duress_pin")
                val duressAgain = pinField(getString(R.string.sec_duress_repeat), "sec_duress_repeat")
                button(getString(R.string.sec_set_duress), "sec_set_duress") {
                    model.setDuressPin(current.text.toString(), duress.text.toString(), duressAgain.text.toString())
                    clearPins(current, duress, duressAgain)
                }

                heading(getString(R.string.sec_wipe_title))
                label(getString(R.string.sec_wipe_intro))
                wipeNow = label("", "sec_wipe_now")
                wipeField = field(getString(R.string.sec_wipe_field), "sec_wipe_after", InputType.TYPE_CLASS_NUMBER, s.attemptsLeft?.toString() ?: "")
                button(getString(R.string.sec_set_wipe), "sec_set_wipe") { model.setWipeAfter(wipeField!!.text.toString()) }

                heading(getString(R.string.sec_backup_title))
                label(getString(R.string.sec_backup_intro))
                button(getString(R.string.sec_setup_recovery), "sec_setup_recovery") { model.setupRecovery() }
                secretBox = column("sec_secret_box") {
                    label(getString(R.string.sec_recovery_shown))
                    secretText = heading("", "sec_secret")
                    button(getString(R.string.sec_recovery_hide), "sec_recovery_hide") { model.forgetSecret() }
                }
                button(getString(R.string.sec_create_backup), "sec_create_backup") { model.prepareBackup() }
            }

            if (model.may(Permission.MANAGE_USERS)) {
                heading(getString(R.string.sec_users_title))
                label(getString(R.string.sec_users_intro))
                val name = field(getString(R.string.sec_user_name), "sec_user_name")
                var role = UserRole.DEPUTY
                choices("sec_user_role_", listOf("deputy" to getString(R.string.sec_role_deputy), "auditor" to getString(R.string.sec_role_auditor)), "deputy") {
                    role = if (it == "auditor") UserRole.AUDITOR else UserRole.DEPUTY
                }
                val userPin = pinField(getString(R.string.sec_user_pin), "sec_user_pin")
                val userAgain = pinField(getString(R.string.sec_user_pin_repeat), "sec_user_pin_repeat")
                val mine = pinField(getString(R.string.sec_your_pin), "sec_user_current")
                button(getString(R.string.sec_add_user), "sec_add_user") {
                    model.addUser(mine.text.toString(), name.text.toString(), role, userPin.text.toString(), userAgain.text.toString())
                    clearPins(userPin, userAgain, mine)
                }
            }

            if (model.may(Permission.SYNC)) {
                enrolledText = label("", "sec_enrolled_settings")
                column("sec_enroll_box") {
                    enroll = SecEnrollForm(this) { url, code, cert, fp -> model.enroll(url, code, cert, fp) }
                }
            }

            heading(getString(R.string.sec_timeout_title))
            val current = prefs.lockTimeoutMillis / 1000
            choices("sec_timeout_", IdleLock.CHOICES_SECONDS.map { sec ->
                sec.toString() to if (sec < 60) getString(R.string.sec_timeout_seconds, sec.toInt()) else getString(R.string.sec_timeout_minutes, (sec / 60).toInt())
            }, current.toString()) { key ->
                val millis = key.toLong() * 1000
                prefs.lockTimeoutMillis = millis
                app.idle.timeoutMillis = millis
                app.touched()
            }

            heading(getString(R.string.sec_language_title))
            choices("sec_lang_", listOf("" to getString(R.string.sec_lang_system), "vi" to getString(R.string.sec_lang_vi), "en" to getString(R.string.sec_lang_en)), prefs.language) { lang ->
                if (lang != prefs.language) {
                    prefs.language = lang
                    recreate()
                }
            }

            button(getString(R.string.sec_lock_now), "sec_lock_now") { app.lockNow() }
        }
    }

    private fun render(s: SettingsModel.State) {
        val m = s.message
        if (m is SecMessage.Failed) {
            when (m.problem) {
                Problem.Locked -> return toPinPad()
                Problem.Wiped, Problem.WipeIncomplete -> {
                    // Too many wrong PINs typed here: the core erased everything. Start over.
                    app.worker.run({ app.session.close() }) {}
                    startActivity(Intent(this, StartActivity::class.java).addFlags(Intent.FLAG_ACTIVITY_CLEAR_TASK or Intent.FLAG_ACTIVITY_NEW_TASK))
                    finish()
                    return
                }
                else -> {}
            }
        }
        if (!s.loaded) {
            if (m != null) page { heading(getString(R.string.sec_settings_title)); label(SecTexts.message(this@SettingsActivity, m), "sec_message") }
            return
        }
        if (!built) build(s)
        message.text = if (m != null) SecTexts.message(this, m) else ""
        message.gone(m == null)
        if (m != null) (message.parent?.parent as? android.widget.ScrollView)?.scrollTo(0, 0)
        wipeNow?.text = s.attemptsLeft?.let { getString(R.string.sec_wipe_now, it.toInt()) } ?: ""
        duressDamaged?.gone(!s.duressDamaged)
        secretBox?.gone(s.recoverySecret == null)
        secretText?.text = s.recoverySecret ?: ""
        val info = s.enrollment
        enrolledText?.gone(info == null)
        enrolledText?.text = info?.let { getString(R.string.sec_enrolled_settings, it.provinceFingerprint) } ?: ""
        (enroll?.result?.parent as? android.view.View)?.gone(info != null)
        val ready = s.backup
        if (ready != null) {
            pendingBackup = ready
            model.backupHandedOver()
            val create = Intent(Intent.ACTION_CREATE_DOCUMENT)
                .addCategory(Intent.CATEGORY_OPENABLE)
                .setType("application/octet-stream")
                .putExtra(Intent.EXTRA_TITLE, getString(R.string.sec_backup_filename))
            startActivityForResult(create, SAVE_BACKUP)
        }
    }

    @Deprecated("framework callback")
    override fun onActivityResult(requestCode: Int, resultCode: Int, data: Intent?) {
        super.onActivityResult(requestCode, resultCode, data)
        if (requestCode != SAVE_BACKUP) return
        val bytes = pendingBackup
        pendingBackup = null
        val uri = data?.data
        if (resultCode != RESULT_OK || uri == null || bytes == null) return
        // File I/O only (no store call): the encrypted bytes go to the file the leader chose.
        model.writeBackup { contentResolver.openOutputStream(uri, "wt")!!.use { it.write(bytes) } }
    }

    companion object {
        const val SAVE_BACKUP = 42
    }
}
