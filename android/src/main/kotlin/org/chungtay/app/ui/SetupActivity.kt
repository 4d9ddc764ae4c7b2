package org.chungtay.app.ui

import android.content.Intent
import android.net.Uri
import android.os.Bundle
import android.text.InputType
import android.widget.EditText
import android.widget.LinearLayout
import android.widget.TextView
import org.chungtay.app.R
import org.chungtay.app.model.SecDone
import org.chungtay.app.model.SecMessage
import org.chungtay.app.model.SetupModel

/**
 * First run: the leader creates the store (name, PIN twice), then may enroll with the province
 * or leave it for later; or, on a new phone, restores a backup (file, recovery secret, new PIN).
 */
class SetupActivity : BaseActivity() {
    override val needsUnlock = false

    private lateinit var model: SetupModel
    private lateinit var message: TextView
    private lateinit var createForm: LinearLayout
    private lateinit var restoreForm: LinearLayout
    private lateinit var enrollForm: LinearLayout
    private lateinit var enroll: SecEnrollForm
    private lateinit var later: android.widget.Button
    private lateinit var picked: TextView
    private lateinit var pin: EditText
    private lateinit var repeat: EditText
    private lateinit var newPin: EditText
    private lateinit var newRepeat: EditText
    private lateinit var secret: EditText

    /** The backup file the leader picked (a document Uri; read on the core's thread). */
    private var backup: Uri? = null

    override fun onCreate(savedInstanceState: Bundle?) {
        super.onCreate(savedInstanceState)
        title = getString(R.string.sec_setup_title)
        model = SetupModel(app.session, secWorker())
        page {
            message = label("", "sec_message").apply { gone(true) }
            createForm = column("sec_create_form") {
                heading(getString(R.string.sec_setup_title))
                label(getString(R.string.sec_setup_intro))
                val name = field(getString(R.string.sec_name), "sec_name")
                label(getString(R.string.sec_pin_rule), "sec_pin_rule")
                pin = pinField(getString(R.string.sec_pin), "sec_pin")
                repeat = pinField(getString(R.string.sec_pin_repeat), "sec_pin_repeat")
                button(getString(R.string.sec_create), "sec_create") {
                    model.create(name.text.toString(), pin.text.toString(), repeat.text.toString())
                    clearPins(pin, repeat)
                }
                button(getString(R.string.sec_restore_open), "sec_restore_open") { model.showRestore() }
            }
            restoreForm = column("sec_restore_form") {
                heading(getString(R.string.sec_restore_title))
                label(getString(R.string.sec_restore_intro))
                button(getString(R.string.sec_pick_backup), "sec_pick_backup") { pickBackup() }
                picked = label(getString(R.string.sec_backup_picked), "sec_backup_picked")
                secret = field(getString(R.string.sec_recovery_secret), "sec_recovery_secret", InputType.TYPE_CLASS_TEXT or InputType.TYPE_TEXT_FLAG_NO_SUGGESTIONS or InputType.TYPE_TEXT_FLAG_CAP_CHARACTERS)
                label(getString(R.string.sec_pin_rule))
                newPin = pinField(getString(R.string.sec_new_pin), "sec_new_pin")
                newRepeat = pinField(getString(R.string.sec_new_pin_repeat), "sec_new_pin_repeat")
                button(getString(R.string.sec_restore), "sec_restore") {
                    val uri = backup
                    val read = uri?.let { u -> { contentResolver.openInputStream(u)!!.use { it.readBytes() } } }
                    model.restore(read, secret.text.toString(), newPin.text.toString(), newRepeat.text.toString())
                    clearPins(newPin, newRepeat)
                }
                button(getString(R.string.sec_back_to_create), "sec_back_to_create") { model.showCreate() }
            }
            enrollForm = column("sec_enroll_form") {
                enroll = SecEnrollForm(this) { url, code, cert, fp -> model.enroll(url, code, cert, fp) }
                later = button(getString(R.string.sec_later), "sec_later") { model.finish() }
            }
        }
        model.onChange = { render(it) }
        render(model.state)
    }

    private fun pickBackup() {
        val pick = Intent(Intent.ACTION_OPEN_DOCUMENT).addCategory(Intent.CATEGORY_OPENABLE).setType("*/*")
        startActivityForResult(pick, PICK_BACKUP)
    }

    @Deprecated("framework callback")
    override fun onActivityResult(requestCode: Int, resultCode: Int, data: Intent?) {
        super.onActivityResult(requestCode, resultCode, data)
        val uri = data?.data
        if (requestCode == PICK_BACKUP && resultCode == RESULT_OK && uri != null) {
            backup = uri
            model.backupPicked()
        }
    }

    private fun render(s: SetupModel.State) {
        if (s.step == SetupModel.Step.DONE) {
            startActivity(Nav.home(this))
            finish()
            return
        }
        createForm.gone(s.step != SetupModel.Step.CREATE)
        restoreForm.gone(s.step != SetupModel.Step.RESTORE)
        enrollForm.gone(s.step != SetupModel.Step.ENROLL)
        picked.gone(!s.backupPicked)
        val m = s.message
        // After enrolling, the fingerprint replaces the form's message; "later" becomes "continue".
        val info = s.enrolled
        enroll.result.gone(info == null)
        if (info != null) {
            enroll.result.text = getString(R.string.sec_enrolled, info.provinceFingerprint)
            later.text = getString(R.string.sec_continue)
        }
        val shown = m != null && !(m is SecMessage.Done && m.what == SecDone.ENROLLED)
        message.gone(!shown)
        message.text = if (shown) SecTexts.message(this, m!!) else ""
    }

    companion object {
        const val PICK_BACKUP = 41
    }
}
