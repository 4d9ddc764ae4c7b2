package org.chungtay.app.model

import java.time.LocalDate
import org.chungtay.core.FollowUp
import org.chungtay.core.Meeting
import org.chungtay.core.MeetingInput
import org.chungtay.core.MemberSummary
import org.chungtay.ffi.ClubStore
import org.chungtay.ffi.memberRows

/** One follow-up task as typed: the due date as shown (dd/MM/yyyy). */
data class FollowUpDraft(val task: String = "", val person: String = "", val due: String = "", val done: Boolean = false) {
    fun isBlank() = task.isBlank() && person.isBlank() && due.isBlank()
}

/**
 * A meeting as the leader types it, every value as text so that nothing typed is lost and the
 * screen can keep it in its saved state. [validate] finds what the phone can tell before the
 * core (a date that is not a date, a guest count that is not a number); the core checks the rest.
 */
data class MeetingDraft(
    val topic: String = "",
    val date: String = "",
    val place: String = "",
    val facilitator: String = "",
    val attendees: Set<String> = emptySet(),
    val guests: String = "",
    val notes: String = "",
    val followUps: List<FollowUpDraft> = emptyList(),
) {
    fun validate(): List<FieldError> {
        val out = mutableListOf<FieldError>()
        if (topic.isBlank()) out += FieldError("topic", "EMPTY")
        if (ClubDates.parse(date) == null) out += FieldError("date", "BAD_DATE")
        if (place.isBlank()) out += FieldError("place", "EMPTY")
        if (facilitator.isBlank()) out += FieldError("facilitator", "EMPTY")
        val g = guests.trim()
        if (g.isNotEmpty() && g.toIntOrNull() == null) out += FieldError("guest_count", "NOT_A_NUMBER")
        else if ((g.toIntOrNull() ?: 0) < 0) out += FieldError("guest_count", "NEGATIVE")
        followUps.filterNot { it.isBlank() }.forEach {
            if (it.task.isBlank()) out += FieldError("follow_ups.task", "EMPTY")
            if (it.person.isBlank()) out += FieldError("follow_ups.person", "EMPTY")
            if (ClubDates.parse(it.due) == null) out += FieldError("follow_ups.due", "BAD_DATE")
        }
        return out.distinct()
    }

    /** The core's input; only after [validate] found nothing. Blank follow-up rows are left out. */
    fun toInput(clubId: String) = MeetingInput(
        clubId,
        ClubDates.parse(date) ?: error("validate first"),
        topic.trim(),
        place.trim(),
        facilitator.trim(),
        attendees.sorted(),
        guests.trim().ifEmpty { "0" }.toInt(),
        notes.trim(),
        followUps.filterNot { it.isBlank() }.map { FollowUp(it.task.trim(), it.person.trim(), ClubDates.parse(it.due)!!, it.done) },
    )

    companion object {
        fun new(today: LocalDate) = MeetingDraft(date = ClubDates.show(today))

        fun of(m: Meeting) = MeetingDraft(
            topic = m.info.topic,
            date = ClubDates.show(m.info.date),
            place = m.info.place,
            facilitator = m.info.facilitator,
            attendees = m.info.attendees.toSet(),
            guests = m.info.guestCount.toString(),
            notes = m.info.notes,
            followUps = m.info.followUps.map { FollowUpDraft(it.task, it.person, ClubDates.show(it.due), it.done) },
        )
    }
}

/**
 * The meeting screen: the club's members as an attendance checklist and the draft. Records a
 * new meeting or, with [meetingId], changes one.
 */
class MeetingModel(private val clubId: String, private val meetingId: String?, private val worker: Worker) {
    var members: List<MemberSummary> = emptyList()
        private set
    var draft: MeetingDraft = MeetingDraft()
    var errors: List<FieldError> = emptyList()
        private set

    val presentCount: Int get() = draft.attendees.count { id -> members.any { it.id == id } }

    fun allPresent(): Boolean = members.isNotEmpty() && members.all { it.id in draft.attendees }

    fun setPresent(memberId: String, present: Boolean) {
        draft = draft.copy(attendees = if (present) draft.attendees + memberId else draft.attendees - memberId)
    }

    fun setAllPresent(present: Boolean) {
        draft = draft.copy(attendees = if (present) members.map { it.id }.toSet() else emptySet())
    }

    /**
     * Loads the members and, when editing and [keepDraft] is false, the meeting into the draft.
     * A draft restored from the screen's saved state is kept as it is.
     */
    fun load(store: ClubStore, keepDraft: Boolean, today: LocalDate, done: (Result<Unit>) -> Unit) {
        worker.run({
            // Every row is shown, and read again at each tick of a box: decoded once, here.
            val members = store.memberRows(clubId).toList()
            val meeting = if (meetingId != null && !keepDraft) {
                // One meeting read (and noted in the trail), not the club's every meeting.
                store.meeting(meetingId)
            } else null
            members to meeting
        }) { r ->
            r.onSuccess { (m, meeting) ->
                members = m
                if (!keepDraft) draft = if (meeting != null) MeetingDraft.of(meeting) else MeetingDraft.new(today)
            }
            done(r.map { })
        }
    }

    /** Checks the draft, then records it; [done] gets the saved meeting, or null with [errors] set. */
    fun save(store: ClubStore, done: (Result<Meeting?>) -> Unit) {
        errors = draft.validate()
        if (errors.isNotEmpty()) {
            done(Result.success(null))
            return
        }
        val input = draft.toInput(clubId)
        worker.run({ if (meetingId == null) store.recordMeeting(input) else store.updateMeeting(meetingId, input) }) { r ->
            r.onFailure { e ->
                val p = Problem.of(e)
                if (p is Problem.Invalid) {
                    errors = listOf(FieldError(p.field, p.reason))
                    done(Result.success(null))
                    return@run
                }
            }
            done(r.map { it })
        }
    }
}
