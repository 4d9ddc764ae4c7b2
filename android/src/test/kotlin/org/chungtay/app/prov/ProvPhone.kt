package org.chungtay.app.prov

import android.app.Activity
import android.content.Intent
import org.chungtay.app.testing.Phone
import org.robolectric.Robolectric
import org.robolectric.shadows.ShadowToast

/** Starts [cls] with the extras [extras] sets, as another screen would, and lets it settle. */
fun <T : Activity> Phone.open(cls: Class<T>, extras: Intent.() -> Unit = {}): T {
    val intent = Intent(app, cls).apply(extras)
    val c = Robolectric.buildActivity(cls, intent).setup()
    settle()
    return c.get()
}

/** The text of the last Toast shown, or null. */
fun lastToast(): String? = ShadowToast.getTextOfLatestToast()?.toString()
