package org.chungtay.app.ui

import android.os.Bundle
import android.widget.EditText
import android.widget.LinearLayout
import org.chungtay.app.R
import org.chungtay.app.model.HomeModel
import org.chungtay.core.ClubKind

/**
 * Home: the clubs on this phone (tap one to open it), a new club, and the doors to the outbox,
 * the audit trail and the settings as the unlocked role may use them. The lock button locks now.
 */
class HomeActivity : BaseActivity() {
    private lateinit var model: HomeModel
    private lateinit var list: LinearLayout
    private lateinit var form: LinearLayout
    private var kind = ClubKind.ANTI_TRAFFICKING

    override fun onCreate(savedInstanceState: Bundle?) {
        super.onCreate(savedInstanceState)
        setTitle(R.string.club_home_title)
        model = HomeModel(app.worker)
        page {
            heading(getString(R.string.club_home_title), "title")
            list = column("clubs")
            button(getString(R.string.club_add_club), "club_add") { form.gone(false) }
            form = column("club_form") {
                section(getString(R.string.club_new_club))
                field(getString(R.string.club_club_name), "club_name")
                errorLine("name")
                label(getString(R.string.club_club_kind))
                choice(ClubKind.values().toList(), "kind", { ClubText.kind(this@HomeActivity, it) }, kind) { kind = it }
                field(getString(R.string.club_province), "club_province", value = getString(R.string.club_default_province))
                errorLine("province")
                field(getString(R.string.club_commune), "club_commune")
                errorLine("commune")
                field(getString(R.string.club_village_optional), "club_village")
                field(getString(R.string.club_former_district), "club_former_district")
                errorLine("other")
                button(getString(R.string.club_save), "club_save") { saveClub() }
            }
            form.gone(true)
            section(getString(R.string.club_more))
            button(getString(R.string.club_outbox), "outbox") { startActivity(Nav.outbox(this@HomeActivity)) }.gone(true)
            button(getString(R.string.club_audit), "audit") { startActivity(Nav.audit(this@HomeActivity)) }.gone(true)
            button(getString(R.string.club_settings), "settings") { startActivity(Nav.settings(this@HomeActivity)) }
            button(getString(R.string.club_lock_now), "lock") { app.lockNow() }
        }
    }

    override fun onResume() {
        super.onResume()
        if (app.session.isUnlocked()) refresh()
    }

    private fun refresh() {
        model.load(store) { r -> r.onSuccess { render() }.onFailure { failed(it) } }
    }

    private fun render() {
        list.removeAllViews()
        if (model.clubs.isEmpty()) list.label(getString(R.string.club_no_clubs), "clubs_empty")
        for (c in model.clubs) {
            val where = listOfNotNull(c.info.village, c.info.commune, c.info.province).joinToString(", ")
            list.item("${c.info.name}\n${ClubText.kind(this, c.info.kind)} · $where", "club_${c.id}") {
                startActivity(Nav.club(this, c.id))
            }
        }
        find("outbox").gone(!model.maySync)
        find("audit").gone(!model.mayAudit)
        find("club_add").gone(!model.mayWrite)
    }

    private fun find(tag: String) = window.decorView.findViewWithTag<android.view.View>(tag)

    private fun text(tag: String) = window.decorView.findViewWithTag<EditText>(tag).text.toString()

    private fun saveClub() {
        val input = HomeModel.clubInput(text("club_name"), kind, text("club_province"), text("club_commune"), text("club_village"), text("club_former_district"))
        core({ store.addClub(input) }, failed = { p ->
            if (p is org.chungtay.app.model.Problem.Invalid) showFieldErrors(listOf(org.chungtay.app.model.FieldError(p.field, p.reason)), listOf("name", "province", "commune"))
            else show(p)
        }) {
            showFieldErrors(emptyList(), listOf("name", "province", "commune"))
            for (t in listOf("club_name", "club_commune", "club_village", "club_former_district")) window.decorView.findViewWithTag<EditText>(t).setText("")
            form.gone(true)
            refresh()
        }
    }
}
