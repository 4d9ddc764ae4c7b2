package org.chungtay.app

import android.app.Activity
import android.app.Application
import android.os.Bundle
import android.os.Handler
import android.os.Looper
import android.os.SystemClock
import android.view.WindowManager
import java.io.File
import java.util.concurrent.ExecutorService
import java.util.concurrent.Executors
import org.chungtay.app.model.IdleLock
import org.chungtay.app.model.Session
import org.chungtay.app.model.Worker
import org.chungtay.core.KdfParams
import org.chungtay.ffi.DeviceKey
import org.chungtay.ffi.calibrateKdf

/**
 * Holds the one [Session] and the background thread every core call runs on, and enforces the
 * phone-wide rules: no screenshot or recents thumbnail of any window (FLAG_SECURE), lock when
 * the app leaves the screen, lock after the idle timeout.
 */
class ChungTayApp : Application(), Application.ActivityLifecycleCallbacks {

    /** One thread: the store serialises calls anyway, and order is what the user typed. */
    private val background: ExecutorService = Executors.newSingleThreadExecutor { r ->
        Thread(r, "chungtay-core").apply { isDaemon = true }
    }
    private val main = Handler(Looper.getMainLooper())

    /** The keystore key; tests put a software key here (Robolectric has no AndroidKeyStore). */
    var deviceKey: () -> DeviceKey = { KeystoreDeviceKey().also { it.ensure() } }

    /** The PIN's Argon2 cost, measured on this phone once per store; tests use the minimum. */
    var kdf: () -> KdfParams = { calibrateKdf(KDF_TARGET_MILLIS.toUInt()) }

    lateinit var session: Session
        private set

    lateinit var idle: IdleLock
        private set

    /** Core calls started and not yet answered on the UI thread (tests wait for zero). */
    val pending = java.util.concurrent.atomic.AtomicInteger()

    val worker: Worker = object : Worker {
        override fun <T> run(work: () -> T, done: (Result<T>) -> Unit) {
            pending.incrementAndGet()
            background.execute {
                val outcome = runCatching(work)
                main.post {
                    try {
                        done(outcome)
                    } finally {
                        pending.decrementAndGet()
                    }
                }
            }
        }
    }

    private val idleCheck = object : Runnable {
        override fun run() {
            if (idle.idleExpired()) lockNow() else main.postDelayed(this, idle.millisLeft() + 50)
        }
    }

    override fun onCreate() {
        super.onCreate()
        session = Session(File(noBackupFilesDir, STORE_FILE).path, { deviceKey() }, { kdf() })
        idle = IdleLock(Prefs(this).lockTimeoutMillis, SystemClock::elapsedRealtime)
        registerActivityLifecycleCallbacks(this)
    }

    /** Locks the store now (off the UI thread); screens find it locked and go to the PIN pad. */
    fun lockNow() {
        main.removeCallbacks(idleCheck)
        session.markLocked()
        worker.run({ session.lock() }) {}
        (resumed as? org.chungtay.app.ui.BaseActivity)?.let { if (it.needsUnlockNow()) it.toPinPad() }
    }

    /** The screen in front, if any: the idle lock sends it to the PIN pad. */
    private var resumed: Activity? = null

    fun touched() {
        idle.touched()
        main.removeCallbacks(idleCheck)
        main.postDelayed(idleCheck, idle.millisLeft() + 50)
    }

    override fun onActivityCreated(activity: Activity, state: Bundle?) {
        // Before any content: no screenshot, no screen recording, no recents thumbnail.
        activity.window.setFlags(WindowManager.LayoutParams.FLAG_SECURE, WindowManager.LayoutParams.FLAG_SECURE)
    }

    /** Set while the system's file picker covers the app (see BaseActivity). */
    private var pickerOpen = false

    fun pickerOpening() {
        pickerOpen = true
    }

    override fun onActivityStarted(activity: Activity) {
        pickerOpen = false
        idle.screenShown()
        touched()
    }

    override fun onActivityStopped(activity: Activity) {
        // The last visible screen went away (home, another app, screen off): lock now, unless
        // the file picker the user opened covers it (then the idle timeout still applies).
        if (idle.screenHidden() && !activity.isChangingConfigurations && !pickerOpen) lockNow()
    }

    override fun onActivityResumed(activity: Activity) {
        resumed = activity
    }

    override fun onActivityPaused(activity: Activity) {
        if (resumed === activity) resumed = null
    }
    override fun onActivitySaveInstanceState(activity: Activity, outState: Bundle) {}
    override fun onActivityDestroyed(activity: Activity) {}

    companion object {
        const val STORE_FILE = "chungtay.db"
        /** An unlock runs two derivations: about half a second in all on the phone. */
        const val KDF_TARGET_MILLIS = 250
    }
}
