package org.chungtay.app.model

import org.chungtay.core.Meeting
import org.chungtay.core.MemberFilter
import org.chungtay.core.MemberSummary
import org.chungtay.core.Permission
import org.chungtay.ffi.ClubStore

/**
 * The club screen: its members (searched as the user types, filtered by village), and its
 * meetings. The core does the matching ("nguyen" finds "Nguyễn"); answers to an older query
 * that arrive after a newer one are dropped. Survivor status is never part of this state.
 */
class MemberListModel(private val clubId: String, private val worker: Worker) {
    var text: String = ""
        private set
    var village: String? = null
        private set
    /** The villages of the club's members, for the filter (from the whole list). */
    var villages: List<String> = emptyList()
        private set
    var shown: List<MemberSummary> = emptyList()
        private set
    var total: Int = 0
        private set
    var meetings: List<Meeting> = emptyList()
        private set
    var mayWrite: Boolean = false
        private set
    var clubName: String = ""
        private set

    private var asked = 0

    /** Everything the screen shows: the club, all members (for villages), meetings, the search. */
    fun load(store: ClubStore, done: (Result<Unit>) -> Unit) {
        val filter = filter()
        val n = ++asked
        worker.run({
            val all = store.memberList(clubId)
            Loaded(
                store.clubs().firstOrNull { it.id == clubId }?.info?.name ?: "",
                all,
                store.searchMembers(filter),
                store.meetings(clubId).sortedByDescending { it.info.date },
                store.may(Permission.WRITE_RECORDS),
            )
        }) { r ->
            r.onSuccess {
                clubName = it.name
                total = it.all.size
                villages = it.all.map { m -> m.village }.distinct().sortedWith(String.CASE_INSENSITIVE_ORDER)
                meetings = it.meetings
                mayWrite = it.write
                if (n == asked) shown = it.found
            }
            done(r.map { })
        }
    }

    /** The user typed: search again. [done] runs only for the newest query. */
    fun search(store: ClubStore, text: String, done: (Result<Unit>) -> Unit) {
        this.text = text
        query(store, done)
    }

    /** A village chosen (null: all villages). */
    fun filterVillage(store: ClubStore, village: String?, done: (Result<Unit>) -> Unit) {
        this.village = village
        query(store, done)
    }

    private class Loaded(val name: String, val all: List<MemberSummary>, val found: List<MemberSummary>, val meetings: List<Meeting>, val write: Boolean)

    fun filter() = MemberFilter(text.trim(), clubId, village, null)

    private fun query(store: ClubStore, done: (Result<Unit>) -> Unit) {
        val filter = filter()
        val n = ++asked
        worker.run({ store.searchMembers(filter) }) { r ->
            if (n != asked) return@run
            r.onSuccess { shown = it }
            done(r.map { })
        }
    }

    companion object {
        /** "18 present · 3 guests": what a meeting line says about attendance. */
        fun present(m: Meeting): Int = m.info.attendees.size
    }
}
