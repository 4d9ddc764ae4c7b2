package org.chungtay.app.testing

import java.io.File
import java.security.SecureRandom
import javax.crypto.Mac
import javax.crypto.spec.SecretKeySpec
import org.chungtay.ffi.DeviceKey
import org.chungtay.ffi.DeviceKeyException

/**
 * The phone's keystore as Robolectric can offer it: Robolectric has no AndroidKeyStore, so the
 * tests keep the HMAC key in a file (the same PRF, HMAC-SHA256, that the Keystore computes).
 * Deleting the file is the key gone; [rotate] deletes it and makes a new one, as the Keystore
 * implementation does. Not part of the app: the app uses KeystoreDeviceKey.
 */
class SoftwareDeviceKey(private val file: File) : DeviceKey {
    /** Threads that called [prf]: the tests check that none of them is the UI thread. */
    val callers: MutableList<Thread> = java.util.Collections.synchronizedList(mutableListOf())

    fun ensure(): SoftwareDeviceKey {
        if (!file.exists()) write()
        return this
    }

    override fun prf(input: ByteArray): ByteArray {
        callers.add(Thread.currentThread())
        if (!file.exists()) throw DeviceKeyException.Missing()
        val mac = Mac.getInstance("HmacSHA256")
        mac.init(SecretKeySpec(file.readBytes(), "HmacSHA256"))
        return mac.doFinal(input)
    }

    override fun rotate() {
        file.delete()
        write()
    }

    private fun write() {
        file.parentFile?.mkdirs()
        file.writeBytes(ByteArray(32).also { SecureRandom().nextBytes(it) })
    }
}
