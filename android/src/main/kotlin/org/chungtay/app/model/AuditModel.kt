package org.chungtay.app.model

import java.time.Instant
import java.time.LocalDate
import java.time.ZoneId
import java.time.temporal.ChronoUnit
import org.chungtay.core.AuditAction
import org.chungtay.core.AuditEntry
import org.chungtay.core.AuditFindings
import org.chungtay.core.Damaged
import org.chungtay.core.DamageReason
import org.chungtay.core.OverdueThresholds
import org.chungtay.core.RecordKind
import org.chungtay.core.ReferralState
import org.chungtay.core.UserInfo
import org.chungtay.core.UserRole
import org.chungtay.ffi.ClubStore
import org.chungtay.ffi.memberRows

/** A meeting changed long after it took place: when, by whom, how many days after. */
data class LateEditRow(val meetingId: String, val meetingDate: String, val editedAt: String, val by: Who, val daysAfter: Long)

/** A referral stuck at its stage for longer than the province allows. */
data class OverdueRow(val referralId: String, val memberId: String, val memberName: String, val state: ReferralState, val since: String, val days: Long)

data class NoConsentRow(val memberId: String, val memberName: String)

data class DamagedRow(val kind: RecordKind, val id: String, val reason: DamageReason)

/** One trail entry: who did what when. The entries carry no personal data (ids and field names). */
data class TrailRow(
    val seq: Long,
    val time: String,
    val userId: String,
    val role: UserRole?,
    val action: AuditAction,
    val kind: RecordKind?,
    val recordId: String,
    val fields: List<String>,
)

/** The field-audit screen, from the core's findings and the session's damaged records. */
class AuditReport(
    val verified: Boolean,
    val entries: Long,
    val lateEdits: List<LateEditRow>,
    val overdue: List<OverdueRow>,
    val withoutConsent: List<NoConsentRow>,
    val damaged: List<DamagedRow>,
    val meetingsWithoutAttendance: Int,
    val changedSinceCheckpoint: Int,
    /** This phone's users (ids and roles), to say who did something. */
    val users: List<UserInfo>,
)

object Audit {
    /**
     * Reads the findings with [thresholds] (the province's; `defaultOverdueThresholds()` unless
     * it set its own), the member names for the ids they name (from the lists, which the trail
     * does not count as reads), and the session's damaged records.
     */
    fun load(store: ClubStore, thresholds: OverdueThresholds, zone: ZoneId = ZoneId.systemDefault()): AuditReport {
        val f = store.auditFindings(thresholds)
        // Only ids and names, read from the columns: no row is decoded whole.
        val names = HashMap<String, String>()
        for (club in store.clubs()) {
            val rows = store.memberRows(club.id)
            for (i in 0 until rows.size) names[rows.id(i)] = rows.fullName(i)
        }
        val damaged = (f.damagedRecords + store.damagedRecords()).distinctBy { Triple(it.kind, it.id, it.reason) }
        return build(f, names, damaged, store.users(), zone)
    }

    fun build(f: AuditFindings, names: Map<String, String>, damaged: List<Damaged>, users: List<UserInfo>, zone: ZoneId = ZoneId.systemDefault()) = AuditReport(
        verified = f.chainBreak == null,
        entries = f.entries,
        lateEdits = f.lateMeetingEdits.map {
            LateEditRow(it.meetingId, ProvFormat.date(it.meetingDate), ProvFormat.time(it.editedAt, zone), Who.of(it.editedBy, users),
                calendarDaysAfter(it.meetingDate, it.editedAt, zone))
        },
        overdue = f.overdueReferrals.map {
            OverdueRow(it.referralId, it.memberId, names[it.memberId] ?: ProvFormat.shortId(it.memberId), it.state,
                ProvFormat.time(it.since, zone), it.days)
        },
        withoutConsent = f.membersWithoutConsent.map { NoConsentRow(it, names[it] ?: ProvFormat.shortId(it)) }
            .sortedBy { it.memberName },
        damaged = damaged.map { DamagedRow(it.kind, it.id, it.reason) },
        meetingsWithoutAttendance = f.meetingsWithoutAttendance.size,
        changedSinceCheckpoint = f.changedSinceCheckpoint.size,
        users = users,
    )

    /**
     * Days from the meeting to the edit by the calendar ("changed ten days after"); the core's
     * `daysAfter` counts whole days from the meeting day's end, one fewer.
     */
    fun calendarDaysAfter(meetingDate: String, editedAt: Long, zone: ZoneId = ZoneId.systemDefault()): Long {
        val held = LocalDate.parse(meetingDate)
        val edited = Instant.ofEpochMilli(editedAt).atZone(zone).toLocalDate()
        return ChronoUnit.DAYS.between(held, edited)
    }

    /** The trail, newest first. */
    fun trail(entries: List<AuditEntry>, zone: ZoneId = ZoneId.systemDefault()): List<TrailRow> =
        entries.sortedByDescending { it.seq }.map {
            TrailRow(it.seq, ProvFormat.time(it.at, zone), it.userId, it.role, it.action, it.kind, it.recordId, it.fields)
        }

    /** The export's file name: the day it was taken, nothing about the club. */
    fun exportName(today: LocalDate, csv: Boolean): String =
        "chungtay-audit-$today." + if (csv) "csv" else "json"
}
