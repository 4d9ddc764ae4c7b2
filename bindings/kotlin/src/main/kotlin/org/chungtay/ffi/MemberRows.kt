package org.chungtay.ffi

import org.chungtay.core.Gender
import org.chungtay.core.MemberRole
import org.chungtay.core.MemberSummary

/**
 * A club's member list, read from the columns that `ClubStore.memberColumns` sends across the FFI
 * (the layout is documented on `MemberColumns` in bindings/src/lib.rs). It is a
 * `List<MemberSummary>` equal to `memberList`, in the same order; a row becomes a `MemberSummary`
 * only when it is read, so a screen that shows twenty rows decodes twenty. Each read makes a new
 * `MemberSummary`: a screen that reads every row more than once should take `toList()` once.
 *
 * The constructor copies what it keeps (a `MemberColumns` is mutable) and checks every row: ends
 * that only grow and stay inside their columns, and codes it knows. Columns that do not fit are
 * refused with `IllegalStateException`, here, rather than show one member's name beside another's
 * phone or fail later on the screen's thread. Immutable once made: safe to read from any thread.
 */
class MemberRows(columns: MemberColumns) : AbstractList<MemberSummary>(), RandomAccess {
    private val clubId = columns.clubId
    private val ids = columns.ids
    private val names = columns.fullNames
    private val villages = columns.villages
    private val phones = columns.phones
    private val table = columns.rows.copyOf()

    override val size: Int = table.size / ROW_BYTES

    init {
        check(table.size % ROW_BYTES == 0 && ids.length == size * ID_CHARS) {
            "member columns: ${table.size} table bytes and ${ids.length} id characters do not fit"
        }
        val lengths = intArrayOf(names.length, villages.length, phones.length)
        for (i in 0 until size) {
            val at = i * ROW_BYTES
            for (f in 0..2) {
                val start = if (i == 0) 0 else int((i - 1) * ROW_BYTES + 4 * f)
                val end = int(at + 4 * f)
                check(end in start..lengths[f]) { "member columns: row $i's text ends out of order" }
            }
            check(
                byte(at + 16) < GENDERS.size && byte(at + 17) in 1..54 && byte(at + 18) < ROLES.size &&
                    byte(at + 19) and KNOWN_FLAGS.inv() == 0,
            ) { "member columns: row $i has a code this app does not know" }
        }
        for (f in 0..2) {
            check(size == 0 && lengths[f] == 0 || size > 0 && int((size - 1) * ROW_BYTES + 4 * f) == lengths[f]) {
                "member columns: the text columns' lengths do not match the table"
            }
        }
    }

    /** The big-endian `Int` at [at] (uniffi's byte order). */
    private fun int(at: Int): Int =
        (table[at].toInt() shl 24) or (byte(at + 1) shl 16) or (byte(at + 2) shl 8) or byte(at + 3)

    private fun byte(at: Int): Int = table[at].toInt() and 0xFF

    private fun text(column: String, index: Int, field: Int): String {
        val start = if (index == 0) 0 else int((index - 1) * ROW_BYTES + field)
        return column.substring(start, int(index * ROW_BYTES + field))
    }

    private fun checked(index: Int): Int {
        if (index < 0 || index >= size) throw IndexOutOfBoundsException("index $index, size $size")
        return index
    }

    /** Row [index]'s id, without decoding the rest of the row. */
    fun id(index: Int): String = checked(index).let { ids.substring(it * ID_CHARS, (it + 1) * ID_CHARS) }

    /** Row [index]'s name, without decoding the rest of the row. */
    fun fullName(index: Int): String = text(names, checked(index), 0)

    /** Row [index]'s village, without decoding the rest of the row. */
    fun village(index: Int): String = text(villages, checked(index), 4)

    override fun get(index: Int): MemberSummary {
        val at = checked(index) * ROW_BYTES
        val flags = byte(at + 19)
        return MemberSummary(
            id = id(index),
            clubId = clubId,
            fullName = text(names, index, 0),
            birthYear = if (flags and FLAG_BIRTH_YEAR != 0) int(at + 12) else null,
            gender = GENDERS[byte(at + 16)],
            ethnicGroup = byte(at + 17),
            village = text(villages, index, 4),
            role = ROLES[byte(at + 18)],
            safeToContact = flags and FLAG_SAFE_TO_CONTACT != 0,
            phone = if (flags and FLAG_PHONE != 0) text(phones, index, 8) else null,
        )
    }

    /** Names nobody, as `MemberSummary.toString()` does. */
    override fun toString(): String = "MemberRows(clubId=$clubId, size=$size)"

    private companion object {
        // The same numbers as MemberColumns' constants in bindings/src/lib.rs; the JVM test
        // `memberRows is the member list, row for row` fails if either side drifts.
        const val ROW_BYTES = 20
        const val ID_CHARS = 36
        const val FLAG_SAFE_TO_CONTACT = 1
        const val FLAG_PHONE = 2
        const val FLAG_BIRTH_YEAR = 4
        const val KNOWN_FLAGS = FLAG_SAFE_TO_CONTACT or FLAG_PHONE or FLAG_BIRTH_YEAR
        val GENDERS = Gender.entries
        val ROLES = MemberRole.entries
    }
}

/** `memberList` as columns read lazily: the call for long lists (see `MemberRows`). */
fun ClubStore.memberRows(clubId: String): MemberRows = MemberRows(memberColumns(clubId))
