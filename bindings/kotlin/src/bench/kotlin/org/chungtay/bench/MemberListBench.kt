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
import org.chungtay.ffi.FfiConverterRustBuffer
import org.chungtay.ffi.FfiConverterSequenceTypeMemberSummary
import org.chungtay.ffi.FfiConverterTypeMemberColumns
import org.chungtay.ffi.memberRows
import org.chungtay.ffi.minimumKdf

/**
 * Item 7 of docs/PERFORMANCE.md: times ClubStore.memberList (uniffi over JNA) on a store of the
 * members in $BENCH_DIR/members.tsv (written by chungtay-bench, which times the same list in
 * Rust). Run by bench/kotlin-bench.sh; not part of the JUnit suite.
 *
 * Prints one line: KOTLIN_BENCH members=N reps=R median_ns=... min_ns=... rows_ns=... every_row_ns=...
 * call_ns=... lift_ns=... wire_bytes=... columns_lift_ns=... columns_wire_bytes=... setup_ms=...
 * (median_ns: memberList; rows_ns: memberRows; every_row_ns: memberRows and every row read;
 * call_ns: one isUnlocked() call, the fixed cost of crossing uniffi + JNA; lift_ns and
 * columns_lift_ns: reading memberList's records, or memberColumns' columns, from uniffi's wire
 * format in Kotlin, no call).
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

/**
 * Runs [measure] for WARM_UP_NS and at least 100 times untimed, then [reps] times, and returns
 * the timed results. Each measurement is a function of its own, not a loop in `main`: HotSpot
 * compiles a long loop in `main` on the stack (OSR) from the profile it has so far, and code
 * after it that the profile never saw then runs interpreted (a lift took 5 ms instead of 0.1).
 */
fun warmedUp(reps: Int, measure: () -> LongArray): Array<LongArray> {
    val warmUntil = System.nanoTime() + WARM_UP_NS
    var rounds = 0
    while (rounds < 100 || System.nanoTime() < warmUntil) {
        rounds++
        measure()
    }
    return Array(reps) { measure() }
}

/** Where the rows' hashes go, so that computing them is not dead code. */
@Volatile
var sink = 0

/**
 * One round: memberList (one uniffi record per member); memberRows (the list in columns,
 * MemberColumns, each row decoded when it is read); memberRows, then every row read, as a
 * screen showing all of them would. Their times in nanoseconds, in that order.
 */
fun round(store: ClubStore, clubId: String, wanted: Int): LongArray {
    var start = System.nanoTime()
    val list = store.memberList(clubId)
    val listNs = System.nanoTime() - start
    check(list.size == wanted)
    start = System.nanoTime()
    val rows = store.memberRows(clubId)
    val rowsNs = System.nanoTime() - start
    check(rows.size == wanted)
    start = System.nanoTime()
    val all = store.memberRows(clubId)
    // Every field of every row used, so that the JIT cannot leave any of the decoding out.
    var read = 0
    var hash = 0
    for (m in all) {
        // Cheap on purpose (a String's hashCode would walk its characters): what is timed is
        // making the rows, not using them.
        hash += m.id.length + m.clubId.length + m.fullName.length + m.village.length + (m.phone?.length ?: 0) +
            (m.birthYear ?: 0) + m.gender.ordinal + m.role.ordinal + m.ethnicGroup + (if (m.safeToContact) 1 else 0)
        read++
    }
    val everyRowNs = System.nanoTime() - start
    check(read == wanted)
    sink = sink xor hash
    return longArrayOf(listNs, rowsNs, everyRowNs)
}

/** Times [conv] reading [value] back from uniffi's wire format; also returns its size in bytes. */
fun <T> liftTimes(conv: FfiConverterRustBuffer<T>, value: T, reps: Int): Pair<LongArray, Int> {
    val wire = ByteBuffer.allocate(conv.allocationSize(value).toInt()).order(ByteOrder.BIG_ENDIAN)
    conv.write(value, wire)
    val bytes = wire.position()
    val times = warmedUp(reps) {
        wire.rewind()
        val start = System.nanoTime()
        val lifted = conv.read(wire)
        val took = System.nanoTime() - start
        check(lifted != null)
        longArrayOf(took)
    }
    return LongArray(reps) { times[it][0] } to bytes
}

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

        // Three ways to get the same list, timed in turn within each round so that a slow
        // spell of the machine falls on all three alike (see `round`).
        val expected = store.memberList(club.id)
        check(store.memberRows(club.id) == expected) { "memberRows differs from memberList" }
        val timed = warmedUp(reps) { round(store, club.id, wanted) }
        // The Kotlin half of the crossing alone: reading (lifting) the same list from a buffer
        // in uniffi's wire format, with the generated converter, no Rust involved; for
        // memberList's records and for memberColumns' columns.
        val (lifts, wireBytes) = liftTimes(FfiConverterSequenceTypeMemberSummary, expected, reps)
        val (colLifts, colWireBytes) = liftTimes(FfiConverterTypeMemberColumns, store.memberColumns(club.id), reps)
        // The fixed cost of one call through uniffi and JNA, with almost nothing to lift. Last,
        // and warmed up by count: each call leaves JNA native memory for its cleaner, and three
        // seconds of them slowed everything measured after (the lifts took ten times longer).
        repeat(2000) { store.isUnlocked() }
        val calls = LongArray(reps) {
            val start = System.nanoTime()
            repeat(100) { store.isUnlocked() }
            (System.nanoTime() - start) / 100
        }
        val (times, rowTimes, everyRowTimes) = List(3) { k -> LongArray(reps) { timed[it][k] } }
        println(
            "KOTLIN_BENCH members=$wanted reps=$reps median_ns=${median(times)} min_ns=${times.min()} " +
                "rows_ns=${median(rowTimes)} every_row_ns=${median(everyRowTimes)} " +
                "call_ns=${median(calls)} lift_ns=${median(lifts)} wire_bytes=$wireBytes " +
                "columns_lift_ns=${median(colLifts)} columns_wire_bytes=$colWireBytes setup_ms=$setupMs",
        )
    }
}
