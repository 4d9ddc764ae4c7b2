package org.chungtay.app.testing

import org.junit.runners.model.FrameworkMethod
import org.robolectric.RobolectricTestRunner
import org.robolectric.internal.bytecode.InstrumentationConfiguration

/**
 * Robolectric with the core's Kotlin API and JNA loaded once, by the JVM's own class loader,
 * for every test. Robolectric otherwise loads them again in each sandbox (one per SDK and
 * graphics mode), while the native library is loaded once per process: the core's callbacks
 * (the keystore's PRF) then reach whichever copy registered last, and a test fails with
 * "UniffiHandleMap.get: Invalid handle". Nothing in these packages touches Android.
 */
class AppTestRunner(testClass: Class<*>) : RobolectricTestRunner(testClass) {
    override fun createClassLoaderConfig(method: FrameworkMethod): InstrumentationConfiguration =
        InstrumentationConfiguration.Builder(super.createClassLoaderConfig(method))
            .doNotAcquirePackage("org.chungtay.core")
            .doNotAcquirePackage("org.chungtay.ffi")
            .doNotAcquirePackage("com.sun.jna")
            .build()
}
