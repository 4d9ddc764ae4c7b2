package org.chungtay.app

import android.os.Build
import android.security.keystore.KeyGenParameterSpec
import android.security.keystore.KeyProperties
import android.security.keystore.StrongBoxUnavailableException
import java.security.KeyStore
import javax.crypto.KeyGenerator
import javax.crypto.Mac
import javax.crypto.SecretKey
import org.chungtay.ffi.DeviceKey
import org.chungtay.ffi.DeviceKeyException

/**
 * The phone's half of the store key: an HMAC-SHA256 key made inside the Android Keystore that
 * never leaves it (non-exportable; in StrongBox when the phone has one, else in the TEE or, on
 * phones without one, the software keystore). The core mixes `prf(...)` outputs with the PIN, so
 * a copy of the app's files without this key opens nothing.
 */
class KeystoreDeviceKey(private val alias: String = ALIAS) : DeviceKey {

    /** Makes the key when there is none (first run, restore onto a new phone). */
    fun ensure() {
        if (keyStore().getKey(alias, null) == null) generate()
    }

    override fun prf(input: ByteArray): ByteArray {
        val key = try {
            keyStore().getKey(alias, null) as? SecretKey
        } catch (e: Exception) {
            throw DeviceKeyException.Failed(e.javaClass.simpleName)
        } ?: throw DeviceKeyException.Missing()
        return try {
            Mac.getInstance("HmacSHA256").run {
                init(key)
                doFinal(input)
            }
        } catch (e: Exception) {
            throw DeviceKeyException.Failed(e.javaClass.simpleName)
        }
    }

    override fun rotate() {
        try {
            keyStore().deleteEntry(alias)
            generate()
        } catch (e: Exception) {
            throw DeviceKeyException.Failed(e.javaClass.simpleName)
        }
    }

    private fun keyStore(): KeyStore = KeyStore.getInstance(PROVIDER).apply { load(null) }

    private fun generate() {
        if (Build.VERSION.SDK_INT >= 28) {
            try {
                generate(strongBox = true)
                return
            } catch (_: StrongBoxUnavailableException) {
                // No secure element on this phone: the TEE-backed keystore below.
            }
        }
        generate(strongBox = false)
    }

    private fun generate(strongBox: Boolean) {
        val spec = KeyGenParameterSpec.Builder(alias, KeyProperties.PURPOSE_SIGN)
            .setDigests(KeyProperties.DIGEST_SHA256)
            .apply { if (strongBox) setIsStrongBoxBacked(true) }
            .build()
        KeyGenerator.getInstance(KeyProperties.KEY_ALGORITHM_HMAC_SHA256, PROVIDER).run {
            init(spec)
            generateKey()
        }
    }

    companion object {
        const val PROVIDER = "AndroidKeyStore"
        const val ALIAS = "chungtay.store.v1"
    }
}
