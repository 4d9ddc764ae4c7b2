package org.chungtay.app.sec

import java.io.File
import java.net.ServerSocket
import java.net.Socket
import java.nio.file.Files

/**
 * The province's real intake server (the build's `chungtay.intake.bin`), on loopback plain
 * HTTP, with one fresh enrollment code and its fingerprint as printed for the paper.
 */
class SecIntake : AutoCloseable {
    private val data: File = Files.createTempDirectory("sec-intake").toFile().resolve("data")
    private val bin = System.getProperty("chungtay.intake.bin") ?: error("chungtay.intake.bin not set")
    private val port = ServerSocket(0).use { it.localPort }
    val url = "http://127.0.0.1:$port"
    val code: String
    val fingerprint: String
    private val server: Process

    private fun run(vararg args: String): String {
        val p = ProcessBuilder(bin, *args).redirectErrorStream(true).also { it.environment()["CHUNGTAY_PROVINCE_PASSPHRASE"] = PASS }.start()
        val out = p.inputStream.bufferedReader().readText()
        check(p.waitFor() == 0) { "intake ${args[0]} failed: $out" }
        return out
    }

    init {
        run("init", "--data", data.path)
        val issued = run("issue-code", "--data", data.path).lines()
        code = issued.first().trim()
        fingerprint = issued.first { it.startsWith("province key fingerprint") }.substringAfter("fingerprint").trim()
        server = ProcessBuilder(bin, "serve", "--data", data.path, "--listen", "127.0.0.1:$port")
            .redirectErrorStream(true).redirectOutput(File(data.parentFile, "serve.log"))
            .also { it.environment()["CHUNGTAY_PROVINCE_PASSPHRASE"] = PASS }.start()
        val end = System.currentTimeMillis() + 30_000
        while (runCatching { Socket("127.0.0.1", port).close() }.isFailure) {
            check(server.isAlive && System.currentTimeMillis() < end) { "the intake server did not start" }
            Thread.sleep(50)
        }
    }

    override fun close() {
        server.destroy()
        server.waitFor()
    }

    private companion object {
        const val PASS = "thu nghiem Hoi LHPN tinh"
    }
}
