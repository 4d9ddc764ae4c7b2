package org.chungtay.app.testing

import android.app.Activity
import android.graphics.Bitmap
import android.graphics.Canvas
import android.graphics.Color
import android.os.Looper
import java.io.File
import org.robolectric.Shadows.shadowOf

/**
 * Screenshots for docs/screens: the activity's window drawn by Robolectric's native graphics
 * (annotate the test class with `@GraphicsMode(GraphicsMode.Mode.NATIVE)`). Written to the
 * folder the build names (`chungtay.screens.dir`: target/android/screens, or docs/screens when
 * `CHUNGTAY_SCREENS=1`). Returns the file.
 */
object Screens {
    fun capture(activity: Activity, name: String): File {
        shadowOf(Looper.getMainLooper()).idle()
        val root = activity.window.decorView
        val w = 720
        val h = 1440
        root.measure(
            android.view.View.MeasureSpec.makeMeasureSpec(w, android.view.View.MeasureSpec.EXACTLY),
            android.view.View.MeasureSpec.makeMeasureSpec(h, android.view.View.MeasureSpec.EXACTLY),
        )
        root.layout(0, 0, w, h)
        val bitmap = Bitmap.createBitmap(w, h, Bitmap.Config.ARGB_8888)
        val canvas = Canvas(bitmap)
        canvas.drawColor(Color.WHITE)
        // Robolectric lays the content out from the window's top, under the action bar (no
        // window insets reach it); a phone puts it below. Draw the bar, then the content under it.
        val content = root.findViewById<android.view.View>(android.R.id.content)
        val bar = activity.actionBar?.takeIf { it.isShowing }?.height ?: 0
        if (content != null && bar > 0 && content.top < bar) {
            content.visibility = android.view.View.INVISIBLE
            root.draw(canvas)
            content.visibility = android.view.View.VISIBLE
            content.measure(
                android.view.View.MeasureSpec.makeMeasureSpec(w, android.view.View.MeasureSpec.EXACTLY),
                android.view.View.MeasureSpec.makeMeasureSpec(h - bar, android.view.View.MeasureSpec.EXACTLY),
            )
            content.layout(0, 0, w, h - bar)
            canvas.save()
            canvas.translate(0f, bar.toFloat())
            canvas.clipRect(0, 0, w, h - bar)
            content.draw(canvas)
            canvas.restore()
        } else {
            root.draw(canvas)
        }
        val dir = File(System.getProperty("chungtay.screens.dir") ?: "target/screens")
        dir.mkdirs()
        val file = File(dir, "$name.png")
        file.outputStream().use { bitmap.compress(Bitmap.CompressFormat.PNG, 100, it) }
        return file
    }
}
