package org.chungtay.app.ui

import android.app.Activity
import android.graphics.Typeface
import android.text.InputType
import android.util.TypedValue
import android.view.View
import android.view.ViewGroup
import android.widget.Button
import android.widget.CheckBox
import android.widget.EditText
import android.widget.LinearLayout
import android.widget.ScrollView
import android.widget.TextView

/**
 * Screens are built in code from these few pieces (no layout XML to keep in step with the
 * code). Every view a test or the user acts on gets a `tag`, which tests find it by.
 */
object Ui {
    fun dp(a: Activity, v: Int): Int =
        TypedValue.applyDimension(TypedValue.COMPLEX_UNIT_DIP, v.toFloat(), a.resources.displayMetrics).toInt()
}

/** A vertical page that scrolls, set as the activity's content. */
fun Activity.page(build: LinearLayout.() -> Unit): LinearLayout {
    val column = LinearLayout(this).apply {
        orientation = LinearLayout.VERTICAL
        val pad = Ui.dp(this@page, 16)
        setPadding(pad, pad, pad, pad)
    }
    column.build()
    setContentView(ScrollView(this).apply { addView(column) })
    return column
}

fun LinearLayout.column(tag: String? = null, build: LinearLayout.() -> Unit = {}): LinearLayout {
    val c = LinearLayout(context).apply {
        orientation = LinearLayout.VERTICAL
        this.tag = tag
    }
    c.build()
    addView(c, ViewGroup.LayoutParams(ViewGroup.LayoutParams.MATCH_PARENT, ViewGroup.LayoutParams.WRAP_CONTENT))
    return c
}

fun LinearLayout.row(tag: String? = null, build: LinearLayout.() -> Unit = {}): LinearLayout {
    val r = LinearLayout(context).apply {
        orientation = LinearLayout.HORIZONTAL
        this.tag = tag
    }
    r.build()
    addView(r, ViewGroup.LayoutParams(ViewGroup.LayoutParams.MATCH_PARENT, ViewGroup.LayoutParams.WRAP_CONTENT))
    return r
}

fun LinearLayout.heading(text: CharSequence, tag: String? = null): TextView = label(text, tag).apply {
    setTextSize(TypedValue.COMPLEX_UNIT_SP, 20f)
    setTypeface(typeface, Typeface.BOLD)
    setPadding(0, Ui.dp(context as Activity, 8), 0, Ui.dp(context as Activity, 8))
}

fun LinearLayout.label(text: CharSequence, tag: String? = null): TextView {
    val t = TextView(context).apply {
        this.text = text
        this.tag = tag
        setTextSize(TypedValue.COMPLEX_UNIT_SP, 16f)
        setPadding(0, Ui.dp(context as Activity, 4), 0, Ui.dp(context as Activity, 4))
    }
    addView(t)
    return t
}

/** A text field with its label above it. [type] is an `InputType` combination. */
fun LinearLayout.field(
    hint: CharSequence,
    tag: String,
    type: Int = InputType.TYPE_CLASS_TEXT or InputType.TYPE_TEXT_FLAG_CAP_WORDS,
    value: String = "",
): EditText {
    label(hint).setTextSize(TypedValue.COMPLEX_UNIT_SP, 13f)
    val e = EditText(context).apply {
        this.tag = tag
        inputType = type
        setText(value)
        // No keyboard learning of names, stories or PINs.
        imeOptions = imeOptions or android.view.inputmethod.EditorInfo.IME_FLAG_NO_PERSONALIZED_LEARNING
    }
    addView(e, ViewGroup.LayoutParams(ViewGroup.LayoutParams.MATCH_PARENT, ViewGroup.LayoutParams.WRAP_CONTENT))
    return e
}

/** A PIN field: digits only, hidden, never learned by the keyboard. */
fun LinearLayout.pinField(hint: CharSequence, tag: String): EditText =
    field(hint, tag, InputType.TYPE_CLASS_NUMBER or InputType.TYPE_NUMBER_VARIATION_PASSWORD)

fun LinearLayout.button(text: CharSequence, tag: String, onClick: () -> Unit): Button {
    val b = Button(context).apply {
        this.text = text
        this.tag = tag
        isAllCaps = false
        setOnClickListener { onClick() }
    }
    addView(b, ViewGroup.LayoutParams(ViewGroup.LayoutParams.MATCH_PARENT, ViewGroup.LayoutParams.WRAP_CONTENT))
    return b
}

fun LinearLayout.check(text: CharSequence, tag: String, checked: Boolean = false): CheckBox {
    val c = CheckBox(context).apply {
        this.text = text
        this.tag = tag
        isChecked = checked
    }
    addView(c)
    return c
}

/** A tappable line in a list (a member, a meeting...). */
fun LinearLayout.item(text: CharSequence, tag: String, onClick: () -> Unit): TextView = label(text, tag).apply {
    val pad = Ui.dp(context as Activity, 12)
    setPadding(0, pad, 0, pad)
    isClickable = true
    setOnClickListener { onClick() }
}

fun View.gone(hidden: Boolean) {
    visibility = if (hidden) View.GONE else View.VISIBLE
}
