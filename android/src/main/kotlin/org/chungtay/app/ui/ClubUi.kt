package org.chungtay.app.ui

import android.app.Activity
import android.graphics.Typeface
import android.view.View
import android.widget.LinearLayout
import android.widget.RadioButton
import android.widget.RadioGroup
import android.widget.TextView
import org.chungtay.app.R
import org.chungtay.app.model.FieldError
import org.chungtay.core.ClubKind
import org.chungtay.core.ConsentMethod
import org.chungtay.core.Gender
import org.chungtay.core.LivelihoodKind
import org.chungtay.core.MemberRole
import org.chungtay.core.Outcome
import org.chungtay.core.Recipient
import org.chungtay.core.ReferralState
import org.chungtay.core.SharedField
import org.chungtay.core.SupportService
import org.chungtay.core.SurvivorStatus

/** The club area's words for the core's enums, and small view helpers of its screens. */
object ClubText {
    fun kind(a: Activity, k: ClubKind) = a.getString(when (k) {
        ClubKind.ANTI_TRAFFICKING -> R.string.club_kind_anti_trafficking
        ClubKind.SAFE_MIGRATION -> R.string.club_kind_safe_migration
        ClubKind.FAMILY_FIVE_THREE -> R.string.club_kind_family
    })

    fun gender(a: Activity, g: Gender) = a.getString(when (g) {
        Gender.FEMALE -> R.string.club_gender_female
        Gender.MALE -> R.string.club_gender_male
        Gender.OTHER -> R.string.club_gender_other
    })

    fun role(a: Activity, r: MemberRole) = a.getString(when (r) {
        MemberRole.LEADER -> R.string.club_role_leader
        MemberRole.DEPUTY -> R.string.club_role_deputy
        MemberRole.MEMBER -> R.string.club_role_member
    })

    fun status(a: Activity, s: SurvivorStatus) = a.getString(when (s) {
        SurvivorStatus.NOT_A_SURVIVOR -> R.string.club_status_none
        SurvivorStatus.SURVIVOR -> R.string.club_status_survivor
        SurvivorStatus.RETURNEE -> R.string.club_status_returnee
        SurvivorStatus.WITHHELD -> R.string.club_hidden
    })

    // One word per value on every screen: the referral screens' vocabulary (ProvWords).
    fun service(a: Activity, s: SupportService) = ProvWords.service(a, s)

    fun recipient(a: Activity, r: Recipient) = ProvWords.recipient(a, r)

    fun shared(a: Activity, f: SharedField) = ProvWords.field(a, f)

    fun method(a: Activity, m: ConsentMethod) = a.getString(when (m) {
        ConsentMethod.SIGNED_PAPER -> R.string.club_method_signed
        ConsentMethod.VERBAL_WITH_WITNESS -> R.string.club_method_verbal
    })

    fun livelihood(a: Activity, k: LivelihoodKind) = a.getString(when (k) {
        LivelihoodKind.SEED_CAPITAL -> R.string.club_lh_seed_capital
        LivelihoodKind.LIVESTOCK -> R.string.club_lh_livestock
        LivelihoodKind.TOOLS -> R.string.club_lh_tools
        LivelihoodKind.VOCATIONAL_COURSE -> R.string.club_lh_vocational_course
        LivelihoodKind.JOB_PLACEMENT -> R.string.club_lh_job_placement
        LivelihoodKind.SOCIAL_POLICY_LOAN -> R.string.club_lh_loan
    })

    fun outcome(a: Activity, o: Outcome) = a.getString(when (o) {
        Outcome.EARNING_INCOME -> R.string.club_outcome_income
        Outcome.STILL_WORKING -> R.string.club_outcome_working
        Outcome.NEEDS_MORE_HELP -> R.string.club_outcome_needs_help
        Outcome.STOPPED -> R.string.club_outcome_stopped
    })

    fun state(a: Activity, s: ReferralState) = ProvWords.state(a, s)

    /** What a field error says, in the user's language (the field is named by where it shows). */
    fun reason(a: Activity, reason: String) = a.getString(when (reason) {
        "EMPTY" -> R.string.club_reason_empty
        "BAD_DATE" -> R.string.club_reason_bad_date
        "NOT_A_NUMBER" -> R.string.club_reason_not_a_number
        "IN_FUTURE" -> R.string.club_reason_in_future
        "TOO_OLD" -> R.string.club_reason_too_old
        "TOO_LONG" -> R.string.club_reason_too_long
        "NEGATIVE" -> R.string.club_reason_negative
        "MISSING" -> R.string.club_reason_missing
        "DUPLICATE" -> R.string.club_reason_duplicate
        else -> R.string.club_reason_other
    })
}

/** A line under a field, red, hidden until the field has an error; tagged `error_<field>`. */
fun LinearLayout.errorLine(field: String): TextView = label("", "error_$field").apply {
    setTextColor(0xFFB00020.toInt())
    gone(true)
}

/** Shows each error under its field; an error with no line of its own goes to `error_other`. */
fun Activity.showFieldErrors(errors: List<FieldError>, fields: Collection<String>) {
    val root = window.decorView
    for (f in fields + "other") root.findViewWithTag<TextView>("error_$f")?.gone(true)
    for (e in errors) {
        val line = root.findViewWithTag<TextView>("error_${e.field}") ?: root.findViewWithTag("error_other") ?: continue
        line.text = if (line.tag == "error_other") "${e.field}: ${ClubText.reason(this, e.reason)}" else ClubText.reason(this, e.reason)
        line.gone(false)
    }
    errors.firstOrNull()?.let { e -> (root.findViewWithTag<View>("error_${e.field}") ?: root.findViewWithTag("error_other"))?.requestFocus() }
}

/** One choice among [values], as radio buttons tagged `<prefix>_<NAME>`. */
fun <E : Enum<E>> LinearLayout.choice(values: List<E>, prefix: String, text: (E) -> String, selected: E, picked: (E) -> Unit): RadioGroup {
    val group = RadioGroup(context).apply { tag = prefix }
    addView(group)
    for (v in values) {
        val b = RadioButton(context).apply {
            this.text = text(v)
            this.tag = "${prefix}_${v.name}"
            id = View.generateViewId()
        }
        group.addView(b)
        if (v == selected) group.check(b.id)
        b.setOnClickListener { picked(v) }
    }
    return group
}

/** A small bold label before a group of lines. */
fun LinearLayout.section(text: CharSequence, tag: String? = null): TextView = label(text, tag).apply {
    setTypeface(typeface, Typeface.BOLD)
    setPadding(0, Ui.dp(context as Activity, 16), 0, Ui.dp(context as Activity, 4))
}

/** A core call of a model failed: locked goes to the PIN pad, anything else is shown. */
fun BaseActivity.failed(e: Throwable) {
    val p = org.chungtay.app.model.Problem.of(e)
    if (p == org.chungtay.app.model.Problem.Locked) toPinPad() else show(p)
}

/** The text of the field tagged [tag] on this screen. */
fun Activity.typed(tag: String): String = window.decorView.findViewWithTag<android.widget.EditText>(tag).text.toString()
