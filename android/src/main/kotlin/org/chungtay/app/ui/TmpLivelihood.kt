package org.chungtay.app.ui
import android.os.Bundle
import org.chungtay.app.R
class LivelihoodActivity : BaseActivity() {
    override val needsUnlock = false
    override fun onCreate(savedInstanceState: Bundle?) {
        super.onCreate(savedInstanceState)
        page { heading(getString(R.string.app_name), "title"); button(getString(R.string.action_ok), "ok") { core({ org.chungtay.ffi.ethnicGroupNames().size }) { n -> label("groups $n", "n") } } }
    }
}
