package org.chungtay.app.ui

import android.content.Context
import android.content.Intent

/**
 * How screens open each other: one function per screen with the ids it needs. Only record ids
 * travel in intents (never a name or any other record content).
 */
object Nav {
    const val CLUB_ID = "club_id"
    const val MEMBER_ID = "member_id"
    const val MEETING_ID = "meeting_id"
    const val LIVELIHOOD_ID = "livelihood_id"
    const val REFERRAL_ID = "referral_id"

    fun home(c: Context) = Intent(c, HomeActivity::class.java)
    fun settings(c: Context) = Intent(c, SettingsActivity::class.java)
    fun club(c: Context, clubId: String) = Intent(c, ClubActivity::class.java).putExtra(CLUB_ID, clubId)
    fun member(c: Context, memberId: String) = Intent(c, MemberActivity::class.java).putExtra(MEMBER_ID, memberId)
    fun newMember(c: Context, clubId: String) = Intent(c, MemberEditActivity::class.java).putExtra(CLUB_ID, clubId)
    fun editMember(c: Context, memberId: String) = Intent(c, MemberEditActivity::class.java).putExtra(MEMBER_ID, memberId)
    fun consent(c: Context, memberId: String) = Intent(c, ConsentActivity::class.java).putExtra(MEMBER_ID, memberId)
    fun newMeeting(c: Context, clubId: String) = Intent(c, MeetingActivity::class.java).putExtra(CLUB_ID, clubId)
    fun editMeeting(c: Context, clubId: String, meetingId: String) =
        Intent(c, MeetingActivity::class.java).putExtra(CLUB_ID, clubId).putExtra(MEETING_ID, meetingId)
    fun livelihood(c: Context, memberId: String) = Intent(c, LivelihoodActivity::class.java).putExtra(MEMBER_ID, memberId)
    fun newReferral(c: Context, memberId: String) = Intent(c, ReferralActivity::class.java).putExtra(MEMBER_ID, memberId)
    fun referral(c: Context, referralId: String) = Intent(c, ReferralActivity::class.java).putExtra(REFERRAL_ID, referralId)
    fun outbox(c: Context) = Intent(c, OutboxActivity::class.java)
    fun audit(c: Context) = Intent(c, AuditActivity::class.java)
    fun report(c: Context, clubId: String) = Intent(c, ReportActivity::class.java).putExtra(CLUB_ID, clubId)
}
