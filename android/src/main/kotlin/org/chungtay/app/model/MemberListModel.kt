package org.chungtay.app.model

import org.chungtay.core.Meeting
import org.chungtay.core.MemberFilter
import org.chungtay.core.MemberPage
import org.chungtay.core.MemberSummary
import org.chungtay.core.Permission
import org.chungtay.ffi.ClubStore

/**
 * The club screen: its members (searched as the user types, filtered by village), and its
 * meetings. The core does the matching ("nguyen" finds "Nguyễn"); answers to an older query
 * that arrive after a newer one are dropped. Members come a page at a time ([PAGE], then
 * "show more"), so a club of thousands costs a cheap phone what a club of fifty does. Survivor
 * status is never part of this state.
 */
class MemberListModel(private val clubId: String, private val worker: Worker) {
    var text: String = ""
        private set
    var village: String? = null
        private set
    /** The villages of the club's members, for the filter (from the whole list). */
    var villages: List<String> = emptyList()
        private set
    /** The pages read so far of the current search, in Vietnamese name order. */
    var shown: List<MemberSummary> = emptyList()
        private set
    /** How many members the current search finds in all (the pages not read included). */
    var matches: Int = 0
        private set
    /** How many members the club has. */
    var total: Int = 0
        private set
    var meetings: List<Meeting> = emptyList()
        private set
    var mayWrite: Boolean = false
        private set
    var clubName: String = ""
        private set

    private var asked = 0

    /** Everything the screen shows: the club, its villages, meetings, the search's first page. */
    fun load(store: ClubStore, done: (Result<Unit>) -> Unit) {
        val filter = filter()
        val n = ++asked
        worker.run({
            Loaded(
                store.clubs().firstOrNull { it.id == clubId }?.info?.name ?: "",
                store.searchMembersPage(MemberFilter("", clubId, null, null), 0UL, 0UL).total,
                store.memberVillages(clubId),
                store.searchMembersPage(filter, 0UL, PAGE),
                store.meetings(clubId).sortedByDescending { it.info.date },
                store.may(Permission.WRITE_RECORDS),
            )
        }) { r ->
            r.onSuccess {
                clubName = it.name
                total = count(it.total)
                villages = it.villages
                meetings = it.meetings
                mayWrite = it.write
                if (n == asked) show(it.found, append = false)
            }
            done(r.map { })
        }
    }

    /** Whether the search finds more than the pages read so far. */
    fun moreLeft(): Boolean = shown.size < matches

    /** The next page of the same search, added below. Dropped if the search changed meanwhile. */
    fun showMore(store: ClubStore, done: (Result<Unit>) -> Unit) {
        val filter = filter()
        val from = shown.size.toULong()
        val n = asked
        worker.run({ store.searchMembersPage(filter, from, PAGE) }) { r ->
            if (n != asked || shown.size.toULong() != from) return@run
            r.onSuccess { show(it, append = true) }
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

    private class Loaded(
        val name: String,
        val total: ULong,
        val villages: List<String>,
        val found: MemberPage,
        val meetings: List<Meeting>,
        val write: Boolean,
    )

    private fun show(page: MemberPage, append: Boolean) {
        shown = if (append) shown + page.members else page.members
        matches = count(page.total)
    }

    fun filter() = MemberFilter(text.trim(), clubId, village, null)

    private fun query(store: ClubStore, done: (Result<Unit>) -> Unit) {
        val filter = filter()
        val n = ++asked
        worker.run({ store.searchMembersPage(filter, 0UL, PAGE) }) { r ->
            if (n != asked) return@run
            r.onSuccess { show(it, append = false) }
            done(r.map { })
        }
    }

    companion object {
        /** Members read at a time: a screenful or two on a small phone. */
        const val PAGE: ULong = 50UL

        private fun count(n: ULong): Int = n.coerceAtMost(Int.MAX_VALUE.toULong()).toInt()

        /** "18 present · 3 guests": what a meeting line says about attendance. */
        fun present(m: Meeting): Int = m.info.attendees.size
    }
}
