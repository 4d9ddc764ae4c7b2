package org.chungtay.app.club

import android.app.Activity
import android.content.Intent
import android.view.View
import org.chungtay.app.testing.Phone
import org.chungtay.core.Club
import org.chungtay.ffi.ClubStore
import org.robolectric.Robolectric
import org.robolectric.android.controller.ActivityController

/** A phone set up as the club leader Lò Thị Mai, with a club, for the club screens' tests. */
class ClubPhone {
    val phone = Phone()
    val app = phone.app
    val club: Club

    init {
        app.session.create("Lò Thị Mai", ClubSeed.LEADER_PIN)
        club = ClubSeed.club(store())
    }

    fun store(): ClubStore = app.session.store()

    fun <T : Activity> open(cls: Class<T>, intent: Intent): ActivityController<T> {
        val c = Robolectric.buildActivity(cls, intent).setup()
        phone.settle()
        return c
    }

    /** Taps a view and lets the screen and the core settle. */
    fun tap(a: Activity, tag: String) {
        with(Phone) { a.tap(tag) }
        phone.settle()
    }

    fun type(a: Activity, tag: String, text: String) {
        with(Phone) { a.type(tag, text) }
        phone.settle()
    }

    /** Whether a view tagged [tag] is on screen and visible. */
    fun shows(a: Activity, tag: String): Boolean = a.window.decorView.findViewWithTag<View>(tag)?.isShown == true
}

fun ClubPhone.has(a: Activity, tag: String): Boolean = a.window.decorView.findViewWithTag<View>(tag) != null

/**
 * A screenshot of the top of the screen as a finger-driven phone shows it: Robolectric is not
 * in touch mode, so focus may have scrolled the page; and check boxes are drawn in their
 * current state rather than mid-animation.
 */
fun shot(a: Activity, name: String): java.io.File {
    fun walk(v: View) {
        if (v is android.widget.ScrollView) v.scrollTo(0, 0)
        if (v is android.view.ViewGroup) for (i in 0 until v.childCount) walk(v.getChildAt(i))
    }
    walk(a.window.decorView)
    a.window.decorView.jumpDrawablesToCurrentState()
    return org.chungtay.app.testing.Screens.capture(a, name)
}
