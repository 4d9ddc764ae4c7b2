package org.chungtay

import com.sun.net.httpserver.HttpServer
import java.net.InetSocketAddress
import java.nio.file.Path
import java.util.Base64
import kotlin.test.Test
import kotlin.test.assertEquals
import kotlin.test.assertIs
import kotlin.test.assertNotNull
import kotlin.test.assertNull
import kotlin.test.assertTrue
import org.chungtay.core.AuditAction
import org.chungtay.core.ChungTayException
import org.chungtay.ffi.ClubStore
import org.chungtay.ffi.DeviceKey
import org.chungtay.ffi.SyncListener
import org.chungtay.ffi.minimumKdf
import org.junit.jupiter.api.io.TempDir

/**
 * A province server that only enrolls: its keys are valid in form (so referrals could be sealed
 * to them), and every other request gets 503, so a sync runs to its end on this machine.
 */
private fun <T> withProvince(body: (url: String) -> T): T {
    val b64 = Base64.getEncoder()
    val hpke = ByteArray(32).also { it[0] = 9 } // the X25519 base point: a valid public key
    val signing = ByteArray(32) { 1 }
    val enrollAnswer = """{"device_id":"dev-callback-test",""" +
        """"province_hpke_public_key":"${b64.encodeToString(hpke)}",""" +
        """"province_signing_key":"${b64.encodeToString(signing)}"}"""
    val server = HttpServer.create(InetSocketAddress("127.0.0.1", 0), 0)
    server.createContext("/") { ex ->
        ex.requestBody.readAllBytes()
        val (status, body) = if (ex.requestURI.path == "/v1/enroll") 200 to enrollAnswer else 503 to "{}"
        val bytes = body.toByteArray()
        ex.responseHeaders.add("Content-Type", "application/json")
        ex.sendResponseHeaders(status, bytes.size.toLong())
        ex.responseBody.use { it.write(bytes) }
    }
    server.start()
    try {
        return body("http://127.0.0.1:${server.address.port}")
    } finally {
        server.stop(0)
    }
}

/** A device key that, once given the store, calls back into it from `prf` (which it must not). */
class ReenteringDeviceKey(private val inner: DeviceKey, private val swallow: Boolean) : DeviceKey {
    @Volatile var store: ClubStore? = null
    @Volatile var outcome: Any? = null

    override fun prf(input: ByteArray): ByteArray {
        store?.let { s ->
            if (swallow) {
                outcome = runCatching { s.isUnlocked() }.fold({ it }, { it })
            } else {
                s.isUnlocked()
            }
        }
        return inner.prf(input)
    }

    override fun rotate() = inner.rotate()
}

class CallbackTest {
    @TempDir
    lateinit var dir: Path

    private val path get() = dir.resolve("club.db").toString()

    private fun syncEntries(store: ClubStore) =
        store.auditEntries().filter { it.action == AuditAction.SYNC && it.fields.contains("sent=0") }

    @Test
    fun `a sync listener that calls the store gets a typed error, and the sync completes`() {
        withProvince { url ->
            ClubStore.create(path, SoftwareDeviceKey(), "Lò Thị Mai", PIN, minimumKdf()).use { store ->
                store.enroll(url, "ABCD-EFGH-JKLM", null)
                val calls = mutableListOf<Pair<Long, Long>>()
                val outcomes = mutableListOf<Any>()
                val report = store.sync(true, object : SyncListener {
                    override fun progress(done: Long, total: Long) {
                        calls.add(done to total)
                        // Refreshing the screen from here would deadlock; it is refused instead.
                        outcomes.add(runCatching { store.outbox() }.fold({ it }, { it }))
                    }
                })
                assertEquals(listOf(0L to 0L), calls)
                assertIs<ChungTayException.CalledFromCallback>(outcomes.single())
                assertNotNull(report.networkError) // the fake server answers 503
                assertEquals(1, syncEntries(store).size)
                // Outside the callback the same thread may use the store again.
                assertEquals(emptyList(), store.outbox())
                assertTrue(store.verifyAudit() > 0)
            }
        }
    }

    @Test
    fun `a sync listener that throws neither crashes nor stops the sync`() {
        withProvince { url ->
            ClubStore.create(path, SoftwareDeviceKey(), "Lò Thị Mai", PIN, minimumKdf()).use { store ->
                store.enroll(url, "ABCD-EFGH-JKLM", null)
                val throwing = object : SyncListener {
                    override fun progress(done: Long, total: Long) {
                        throw IllegalStateException("the screen is gone")
                    }
                }
                val report = store.sync(true, throwing)
                assertNotNull(report.networkError) // the fake server answers 503
                // A listener that lets the re-entry error escape is ignored the same way.
                val reentering = object : SyncListener {
                    override fun progress(done: Long, total: Long) {
                        store.outbox()
                    }
                }
                store.sync(true, reentering)
                assertEquals(2, syncEntries(store).size)
                assertTrue(store.verifyAudit() > 0)
            }
        }
    }

    @Test
    fun `a device key that calls the store during unlock gets a typed error, not a deadlock`() {
        val key = ReenteringDeviceKey(SoftwareDeviceKey(), swallow = true)
        ClubStore.create(path, key, "Lò Thị Mai", PIN, minimumKdf()).use { store ->
            val leader = store.users().single().id
            store.lock()
            key.store = store
            store.unlock(leader, PIN)
            assertIs<ChungTayException.CalledFromCallback>(key.outcome)
            key.store = null
            assertTrue(store.isUnlocked())
        }
        // Left uncaught, the same error reaches the caller as a keystore failure; the store stays usable.
        val loud = ReenteringDeviceKey(SoftwareDeviceKey(), swallow = false)
        ClubStore.create(dir.resolve("other.db").toString(), loud, "Lò Thị Mai", PIN, minimumKdf()).use { store ->
            val leader = store.users().single().id
            store.lock()
            loud.store = store
            val e = kotlin.test.assertFailsWith<ChungTayException.KeystoreFailed> { store.unlock(leader, PIN) }
            assertTrue(e.detail.contains("CalledFromCallback"), e.detail)
            loud.store = null
            store.unlock(leader, PIN)
            assertTrue(store.isUnlocked())
            assertNull(loud.outcome)
        }
    }
}
