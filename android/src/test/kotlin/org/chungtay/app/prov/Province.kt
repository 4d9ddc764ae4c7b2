package org.chungtay.app.prov

import java.io.File
import java.net.HttpURLConnection
import java.net.InetSocketAddress
import java.net.ServerSocket
import java.net.Socket
import java.net.URI
import java.nio.file.Files
import java.util.concurrent.TimeUnit

/**
 * The province's real intake server (the `chungtay-intake` binary the build names in
 * `chungtay.intake.bin`) in a temporary folder: init, one enrollment code with its key
 * fingerprint, one staff token, and `serve` on a free loopback port. [stop] kills it (the
 * phone is "offline"); [start] serves the same folder again on the same port.
 */
class Province : AutoCloseable {
    private val bin = File(System.getProperty("chungtay.intake.bin") ?: error("chungtay.intake.bin is not set"))
    val dir: File = Files.createTempDirectory("province").toFile()
    private val data = File(dir, "data")
    val port: Int = ServerSocket(0).use { it.localPort }
    val url = "http://127.0.0.1:$port"
    val code: String
    val fingerprint: String
    val token: String
    private var server: Process? = null

    init {
        run("init", "--data", data.path)
        val issued = run("issue-code", "--data", data.path)
        code = issued.lines().first().trim()
        fingerprint = Regex("fingerprint\\s+(\\S+)").find(issued)?.groupValues?.get(1) ?: error("no fingerprint in: $issued")
        token = run("staff-token", "--data", data.path, "--label", "test", "--scope", "write").lines().first().trim()
        check(token.startsWith("ctst_")) { "no staff token" }
        start()
    }

    private fun command(vararg args: String) = ProcessBuilder(listOf(bin.path) + args).apply {
        environment()["CHUNGTAY_PROVINCE_PASSPHRASE"] = PASSPHRASE
        redirectErrorStream(true)
    }

    private fun run(vararg args: String): String {
        val p = command(*args).start()
        val out = p.inputStream.bufferedReader().readText()
        check(p.waitFor(60, TimeUnit.SECONDS) && p.exitValue() == 0) { "chungtay-intake ${args.first()} failed: $out" }
        return out
    }

    fun start() {
        check(server == null) { "already serving" }
        server = command("serve", "--data", data.path, "--listen", "127.0.0.1:$port")
            .redirectOutput(File(dir, "serve.log")).start()
        val end = System.currentTimeMillis() + 30_000
        while (true) {
            val up = runCatching { Socket().use { it.connect(InetSocketAddress("127.0.0.1", port), 200) } }.isSuccess
            if (up) return
            check(server!!.isAlive) { "serve exited: " + File(dir, "serve.log").readText() }
            check(System.currentTimeMillis() < end) { "serve did not answer" }
            Thread.sleep(50)
        }
    }

    fun stop() {
        server?.let {
            it.destroy()
            if (!it.waitFor(10, TimeUnit.SECONDS)) it.destroyForcibly().waitFor()
        }
        server = null
    }

    /**
     * What staff see: the referral ids the province holds, one per stored row, in arrival order
     * (each row is `{"n": …, "referral_id": …, …, "payload": {…}}`; the payload names the id again).
     */
    fun referralIds(): List<String> {
        val (status, body) = http("GET", "/v1/staff/referrals?limit=500", null)
        check(status == 200) { "staff listing: $status $body" }
        return Regex("\\{\\s*\"n\"\\s*:\\s*\\d+\\s*,\\s*\"referral_id\"\\s*:\\s*\"([^\"]+)\"").findAll(body).map { it.groupValues[1] }.toList()
    }

    /** A staff step: `accepted`, `declined`, `in_progress`, `completed`, with its note. */
    fun transition(referralId: String, state: String, note: String) {
        val json = "{\"state\":${quote(state)},\"note\":${quote(note)}}"
        val (status, body) = http("POST", "/v1/staff/referrals/$referralId/transition", json)
        check(status == 200) { "transition: $status $body" }
    }

    private fun http(method: String, path: String, json: String?): Pair<Int, String> {
        val c = URI(url + path).toURL().openConnection() as HttpURLConnection
        c.requestMethod = method
        c.setRequestProperty("Authorization", "Bearer $token")
        if (json != null) {
            c.doOutput = true
            c.setRequestProperty("Content-Type", "application/json")
            c.outputStream.use { it.write(json.toByteArray(Charsets.UTF_8)) }
        }
        val status = c.responseCode
        val body = (if (status < 400) c.inputStream else c.errorStream)?.bufferedReader()?.readText() ?: ""
        return status to body
    }

    override fun close() {
        stop()
        dir.deleteRecursively()
    }

    companion object {
        const val PASSPHRASE = "Hoi LHPN tinh Thanh Hoa: test passphrase, long enough"

        private fun quote(s: String): String = buildString {
            append('"')
            for (ch in s) when {
                ch == '"' -> append("\\\"")
                ch == '\\' -> append("\\\\")
                ch < ' ' -> append("\\u%04x".format(ch.code))
                else -> append(ch)
            }
            append('"')
        }
    }
}
