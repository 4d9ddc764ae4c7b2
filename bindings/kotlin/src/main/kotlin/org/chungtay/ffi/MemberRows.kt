package org.chungtay.ffi

import java.nio.ByteBuffer
import org.chungtay.core.Gender
import org.chungtay.core.MemberRole
import org.chungtay.core.MemberSummary

/**
 * A club's member list, read from the columns that `ClubStore.memberColumns` sends across the FFI
 * (the layout is documented on `MemberColumns` in bindings/src/lib.rs). It is a
 * `List<MemberSummary>` equal to `memberList`, in the same order; a row becomes a `MemberSummary`
 * only when it is read, so a screen that shows twenty rows decodes twenty.
 *
 * The constructor checks that the columns fit together and throws `IllegalStateException` if
 * they do not, rather than show one member's name beside another's phone.
 */
class MemberRows(private val columns: MemberColumns) : AbstractList<MemberSummary>(), RandomAccess {
    private val table: ByteBuffer = ByteBuffer.wrap(columns.rows) // big-endian, as uniffi's wire

    override val size: Int = columns.rows.size / ROW_BYTES

    init {
        check(columns.rows.size % ROW_BYTES == 0 && columns.ids.length == size * ID_CHARS) {
            "member columns: ${columns.rows.size} table bytes and ${columns.ids.length} id characters do not fit"
        }
        if (size > 0) {
            val last = (size - 1) * ROW_BYTES
            check(
                table.getInt(last) == columns.fullNames.length &&
                    table.getInt(last + 4) == columns.villages.length &&
                    table.getInt(last + 8) == columns.phones.length,
            ) { "member columns: the text columns' lengths do not match the table" }
        }
    }

    private fun start(index: Int, field: Int): Int = if (index == 0) 0 else table.getInt((index - 1) * ROW_BYTES + field)

    private fun text(column: String, index: Int, field: Int): String =
        column.substring(start(index, field), table.getInt(index * ROW_BYTES + field))

    fun id(index: Int): String = columns.ids.substring(index * ID_CHARS, (index + 1) * ID_CHARS)

    fun fullName(index: Int): String = text(columns.fullNames, index, 0)

    fun village(index: Int): String = text(columns.villages, index, 4)

    override fun get(index: Int): MemberSummary {
        if (index < 0 || index >= size) throw IndexOutOfBoundsException("index $index, size $size")
        val at = index * ROW_BYTES
        val flags = table.get(at + 19).toInt()
        return MemberSummary(
            id = id(index),
            clubId = columns.clubId,
            fullName = fullName(index),
            birthYear = if (flags and FLAG_BIRTH_YEAR != 0) table.getInt(at + 12) else null,
            gender = GENDERS[table.get(at + 16).toInt()],
            ethnicGroup = table.get(at + 17).toInt(),
            village = village(index),
            role = ROLES[table.get(at + 18).toInt()],
            safeToContact = flags and FLAG_SAFE_TO_CONTACT != 0,
            phone = if (flags and FLAG_PHONE != 0) text(columns.phones, index, 8) else null,
        )
    }

    /** Names nobody, as `MemberSummary.toString()` does. */
    override fun toString(): String = "MemberRows(clubId=${columns.clubId}, size=$size)"

    private companion object {
        // The same numbers as MemberColumns' constants in bindings/src/lib.rs.
        const val ROW_BYTES = 20
        const val ID_CHARS = 36
        const val FLAG_SAFE_TO_CONTACT = 1
        const val FLAG_PHONE = 2
        const val FLAG_BIRTH_YEAR = 4
        val GENDERS = Gender.entries
        val ROLES = MemberRole.entries
    }
}

/** `memberList` as columns read lazily: the call for long lists (see `MemberRows`). */
fun ClubStore.memberRows(clubId: String): MemberRows = MemberRows(memberColumns(clubId))
