package org.chungtay.bench

import java.nio.ByteBuffer
import java.nio.ByteOrder
import java.nio.file.Files
import java.nio.file.Path
import java.security.SecureRandom
import javax.crypto.Mac
import javax.crypto.spec.SecretKeySpec
import org.chungtay.core.ClubInput
import org.chungtay.core.ClubKind
import org.chungtay.core.Gender
import org.chungtay.core.MemberInput
import org.chungtay.core.MemberRole
import org.chungtay.core.SurvivorStatus
import org.chungtay.ffi.ClubStore
import org.chungtay.ffi.DeviceKey
import org.chungtay.ffi.FfiConverterSequenceTypeMemberSummary
import org.chungtay.ffi.memberRows
import org.chungtay.ffi.minimumKdf

/**
 * Item 7 of docs/PERFORMANCE.md: times ClubStore.memberList (uniffi over JNA) on a store of the
 * members in $BENCH_DIR/members.tsv (written by chungtay-bench, which times the same list in
 * Rust). Run by bench/kotlin-bench.sh; not part of the JUnit suite.
 *
 * Prints one line: KOTLIN_BENCH members=N reps=R median_ns=... min_ns=... call_ns=... lift_ns=...
 * wire_bytes=... setup_ms=... (call_ns: one isUnlocked() call, the fixed cost of crossing uniffi +
 * JNA; lift_ns: reading the list from uniffi's wire format in Kotlin, no call).
 */

/** HMAC-SHA256 under a random key, as the Android Keystore key would be (and as the tests do). */
class SoftwareDeviceKey : DeviceKey {
    private val key = ByteArray(32).also { SecureRandom().nextBytes(it) }

    override fun prf(input: ByteArray): ByteArray {
        val mac = Mac.getInstance("HmacSHA256")
        mac.init(SecretKeySpec(key, "HmacSHA256"))
        return mac.doFinal(input)
    }

    override fun rotate() {
        SecureRandom().nextBytes(key)
    }
}

fun memberFrom(line: String): MemberInput {
    val f = line.split('\t')
    return MemberInput(
        fullName = f[0],
        birthYear = f[1].toInt().takeIf { it != 0 },
        gender = Gender.valueOf(f[2].uppercase()),
        ethnicGroup = f[3].toInt(),
        village = f[4],
        phone = f[5].ifEmpty { null },
        role = MemberRole.MEMBER,
        survivorStatus = when (f[6]) {
            "Survivor" -> SurvivorStatus.SURVIVOR
            "Returnee" -> SurvivorStatus.RETURNEE
            else -> SurvivorStatus.NOT_A_SURVIVOR
        },
        safeToContact = f[7].toBoolean(),
    )
}

/** How long each list call is warmed up before it is timed (BENCH_WARM_UP_MS, default 3 s). */
val WARM_UP_NS = (System.getenv("BENCH_WARM_UP_MS")?.toLong() ?: 3_000L) * 1_000_000

fun median(values: LongArray): Long {
    val v = values.sorted()
    return if (v.size % 2 == 1) v[v.size / 2] else (v[v.size / 2 - 1] + v[v.size / 2]) / 2
}

fun main() {
    val dir = Path.of(System.getenv("BENCH_DIR") ?: error("BENCH_DIR not set"))
    val wanted = System.getenv("BENCH_MEMBERS")?.toInt() ?: 1000
    val reps = System.getenv("BENCH_REPS")?.toInt() ?: 50
    val members = Files.readAllLines(dir.resolve("members.tsv")).filter { it.isNotBlank() }.take(wanted).map(::memberFrom)
    check(members.size == wanted) { "members.tsv has ${members.size} members, wanted $wanted" }

    val path = dir.resolve("kotlin.db").toString()
    Files.deleteIfExists(Path.of(path))
    ClubStore.create(path, SoftwareDeviceKey(), "Lò Thị Mai", "274915", minimumKdf()).use { store ->
        val club = store.addClub(
            ClubInput(
                name = "CLB phòng, chống mua bán người số 1",
                kind = ClubKind.ANTI_TRAFFICKING,
                province = "Thanh Hóa",
                commune = "Na Mèo",
                village = null,
                formerDistrict = "Quan Sơn",
            ),
        )
        val setupStart = System.nanoTime()
        for (m in members) store.addMember(club.id, m)
        val setupMs = (System.nanoTime() - setupStart) / 1_000_000

        // Three ways to get the same list, each warmed up (the JIT compiles the lifting code),
        // then timed in turn within each repetition so that a slow spell of the machine falls on
        // all three alike:
        // - memberList: one uniffi record per member;
        // - memberRows: the list in columns (MemberColumns), each row decoded when it is read;
        // - memberRows, then every row read, as a screen showing all of them would.
        val expected = store.memberList(club.id)
        check(store.memberRows(club.id) == expected) { "memberRows differs from memberList" }
        // Warm-up by time, not by count: HotSpot's C2 compiles the lifting loops only after
        // thousands of calls, and 100 rounds left the median at about twice the steady state.
        val warmUntil = System.nanoTime() + WARM_UP_NS
        var rounds = 0
        while (rounds < 100 || System.nanoTime() < warmUntil) {
            rounds++
            check(store.memberList(club.id).size == wanted)
            check(store.memberRows(club.id).size == wanted)
            check(store.memberRows(club.id).count { it.fullName.isNotEmpty() } == wanted)
        }
        val times = LongArray(reps)
        val rowTimes = LongArray(reps)
        val everyRowTimes = LongArray(reps)
        for (i in 0 until reps) {
            var start = System.nanoTime()
            val list = store.memberList(club.id)
            times[i] = System.nanoTime() - start
            check(list.size == wanted)
            start = System.nanoTime()
            val rows = store.memberRows(club.id)
            rowTimes[i] = System.nanoTime() - start
            check(rows.size == wanted)
            start = System.nanoTime()
            val all = store.memberRows(club.id)
            var read = 0
            for (m in all) if (m.fullName.isNotEmpty()) read++
            everyRowTimes[i] = System.nanoTime() - start
            check(read == wanted)
        }
        // The fixed cost of one call through uniffi and JNA, with almost nothing to lift.
        repeat(2000) { store.isUnlocked() }
        val calls = LongArray(reps) {
            val start = System.nanoTime()
            repeat(100) { store.isUnlocked() }
            (System.nanoTime() - start) / 100
        }
        // The Kotlin half of the crossing alone: reading (lifting) the same list from a direct
        // buffer in uniffi's wire format, with the generated converter, no Rust involved.
        val conv = FfiConverterSequenceTypeMemberSummary
        val list = store.memberList(club.id)
        val wire = ByteBuffer.allocateDirect(conv.allocationSize(list).toInt()).order(ByteOrder.BIG_ENDIAN)
        conv.write(list, wire)
        val wireBytes = wire.position()
        val liftUntil = System.nanoTime() + WARM_UP_NS
        while (System.nanoTime() < liftUntil) { wire.rewind(); conv.read(wire) }
        val lifts = LongArray(reps) {
            wire.rewind()
            val start = System.nanoTime()
            val lifted = conv.read(wire)
            val took = System.nanoTime() - start
            check(lifted == list)
            took
        }
        println(
            "KOTLIN_BENCH members=$wanted reps=$reps median_ns=${median(times)} min_ns=${times.min()} " +
                "rows_ns=${median(rowTimes)} every_row_ns=${median(everyRowTimes)} " +
                "call_ns=${median(calls)} lift_ns=${median(lifts)} wire_bytes=$wireBytes setup_ms=$setupMs",
        )
    }
}
