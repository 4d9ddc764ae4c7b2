package org.chungtay.app

import org.chungtay.app.testing.Phone
import org.chungtay.app.testing.Phone.Companion.tap
import org.chungtay.app.testing.Phone.Companion.textOf
import org.chungtay.app.ui.StartActivity
import org.junit.Test
import org.junit.runner.RunWith
import org.robolectric.RobolectricTestRunner
import kotlin.test.assertEquals

@RunWith(RobolectricTestRunner::class)
@org.robolectric.annotation.GraphicsMode(org.robolectric.annotation.GraphicsMode.Mode.NATIVE)
class PipelineTest {
    @Test
    fun start() {
        val phone = Phone()
        val start = phone.launch(StartActivity::class.java).get()
        val setup = phone.next(start)!!
        setup.tap("ok")
        phone.settle()
        assertEquals("groups 54", setup.textOf("n"))
        org.chungtay.app.testing.Screens.capture(setup, "pipeline")
    }
}
