package org.chungtay.app.testing

import android.app.Activity
import android.os.Looper
import android.view.View
import android.view.ViewGroup
import android.widget.CheckBox
import android.widget.EditText
import android.widget.TextView
import java.io.File
import org.chungtay.app.ChungTayApp
import org.chungtay.ffi.minimumKdf
import org.robolectric.Robolectric
import org.robolectric.RuntimeEnvironment
import org.robolectric.Shadows.shadowOf
import org.robolectric.android.controller.ActivityController

/**
 * The phone under test: the real Application with the real core, a software stand-in for the
 * keystore (see [SoftwareDeviceKey]) and the minimum PIN cost. Screens are driven the way a
 * user drives them: taps and typed text on views found by their tag, then the UI thread and
 * the core's thread are let run until the screen settles.
 */
class Phone(keyDir: File = File(RuntimeEnvironment.getApplication().filesDir, "test-keystore")) {
    val app: ChungTayApp = RuntimeEnvironment.getApplication() as ChungTayApp
    val key = SoftwareDeviceKey(File(keyDir, "store.key")).ensure()

    init {
        app.deviceKey = { key }
        app.kdf = { minimumKdf() }
    }

    /** Starts [cls] as the launcher would (created, started, resumed, visible). */
    fun <T : Activity> launch(cls: Class<T>): ActivityController<T> {
        val c = Robolectric.buildActivity(cls).setup()
        settle()
        return c
    }

    /** The activity the last `startActivity` asked for, started for real; null if none. */
    fun next(from: Activity): Activity? {
        val intent = shadowOf(from).nextStartedActivity ?: return null
        @Suppress("UNCHECKED_CAST")
        val cls = Class.forName(intent.component!!.className) as Class<Activity>
        val c = Robolectric.buildActivity(cls, intent).setup()
        settle()
        return c.get()
    }

    /** Runs the UI thread and waits for the core's thread until nothing is busy. */
    fun settle(timeoutMillis: Long = 60_000) {
        val end = System.currentTimeMillis() + timeoutMillis
        val main = shadowOf(Looper.getMainLooper())
        while (true) {
            main.idle()
            if (app.pending.get() == 0) {
                main.idle()
                if (app.pending.get() == 0) return
            }
            check(System.currentTimeMillis() < end) { "the screen stayed busy for $timeoutMillis ms" }
            Thread.sleep(10)
        }
    }

    companion object {
        fun <T : View> Activity.view(tag: String): T =
            window.decorView.findViewWithTag<T>(tag) ?: error("no view tagged '$tag' on ${javaClass.simpleName}")

        fun Activity.has(tag: String): Boolean = window.decorView.findViewWithTag<View>(tag) != null

        fun Activity.tap(tag: String) {
            val v = view<View>(tag)
            check(v.isShown && v.isEnabled) { "'$tag' is not tappable" }
            check(v.performClick()) { "'$tag' did nothing on tap" }
        }

        fun Activity.type(tag: String, text: String) {
            view<EditText>(tag).setText(text)
        }

        fun Activity.tick(tag: String, on: Boolean = true) {
            view<CheckBox>(tag).isChecked = on
        }

        fun Activity.textOf(tag: String): String = view<TextView>(tag).text.toString()

        /** Every text on the screen, in order: what a person looking at it reads. */
        fun Activity.screenText(): String {
            val out = StringBuilder()
            fun walk(v: View) {
                if (!v.isShown) return
                if (v is TextView) out.append(v.text).append('\n')
                if (v is ViewGroup) for (i in 0 until v.childCount) walk(v.getChildAt(i))
            }
            walk(window.decorView)
            return out.toString()
        }
    }
}
