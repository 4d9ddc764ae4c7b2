package org.chungtay.app.model

import org.chungtay.core.Consent
import org.chungtay.core.MemberDetail
import org.chungtay.core.Recipient
import org.chungtay.core.Referral
import org.chungtay.core.ReferralInput
import org.chungtay.core.ReferralState
import org.chungtay.core.SharedField
import org.chungtay.core.SupportService
import org.chungtay.core.Urgency
import org.chungtay.core.UserInfo
import org.chungtay.core.UserRole
import org.chungtay.ffi.ClubStore

/**
 * The referral screen's state. A new referral rests on one of the member's consents that is
 * still in force: only the services that consent names as purposes and only the fields it
 * allows are offered. The core checks the same again at "ready" and refuses anything else.
 */
class ReferralForm(detail: MemberDetail) {
    val memberId: String = detail.member.id

    /** Consents that have not been withdrawn, newest first. */
    val consents: List<Consent> = detail.consents
        .filter { it.withdrawnOn == null }
        .sortedByDescending { it.info.givenOn }

    var consent: Consent? = consents.firstOrNull()
        private set

    val services: MutableSet<SupportService> = linkedSetOf()
    val fields: MutableSet<SharedField> = linkedSetOf()
    var urgency: Urgency = Urgency.ROUTINE
    var note: String = ""

    fun choose(consentId: String) {
        consent = consents.first { it.id == consentId }
        services.retainAll(offeredServices().toSet())
        fields.retainAll(offeredFields().toSet())
    }

    /** The services this consent covers (its purposes), in the official order. */
    fun offeredServices(): List<SupportService> =
        consent?.info?.purposes?.let { p -> SupportService.entries.filter { it in p } } ?: emptyList()

    /** The fields this consent lets the referral carry, in the official order. */
    fun offeredFields(): List<SharedField> =
        consent?.info?.fields?.let { f -> SharedField.entries.filter { it in f } } ?: emptyList()

    /** The recipient is the consent's: the referral may go nowhere else. */
    fun recipient(): Recipient? = consent?.info?.recipient

    /** What is missing before the referral can be saved; empty when it can. */
    fun missing(): List<Missing> = buildList {
        if (consent == null) add(Missing.CONSENT)
        if (services.isEmpty()) add(Missing.SERVICE)
        if (fields.isEmpty()) add(Missing.FIELD)
    }

    fun input(): ReferralInput {
        val c = checkNotNull(consent) { "no consent" }
        return ReferralInput(
            memberId = memberId,
            services = SupportService.entries.filter { it in services },
            urgency = urgency,
            note = note.trim(),
            recipient = c.info.recipient,
            sharedFields = SharedField.entries.filter { it in fields },
            consentId = c.id,
        )
    }

    enum class Missing { CONSENT, SERVICE, FIELD }
}

/** One step of a referral's history as the screen lists it. */
data class StepRow(val state: ReferralState, val time: String, val by: Who, val note: String)

/** Who took a step: the province, or a user of this phone (ids only: names stay sealed). */
sealed class Who {
    object Province : Who()
    data class User(val role: UserRole?, val shortId: String) : Who()

    companion object {
        fun of(by: String, users: List<UserInfo>): Who =
            if (by == "province") Province else User(users.firstOrNull { it.id == by }?.role, ProvFormat.shortId(by))
    }
}

object Referrals {
    /** The referral [referralId] of member [memberId] (the API reads referrals through their member). */
    fun find(store: ClubStore, memberId: String, referralId: String): Referral? =
        store.memberDetail(memberId).referrals.firstOrNull { it.id == referralId }

    /** The history, oldest first, as the province and the club wrote it. */
    fun steps(r: Referral, users: List<UserInfo>): List<StepRow> =
        r.history.map { StepRow(it.state, ProvFormat.time(it.at), Who.of(it.by, users), it.note) }

    /** The province's latest answer with words in it ("accepted, class starts on the 5th"). */
    fun latestNote(r: Referral): String? = r.history.lastOrNull { it.note.isNotBlank() }?.note

    fun canReady(r: Referral) = r.state == ReferralState.DRAFT
    fun canSend(r: Referral) = r.state == ReferralState.READY
    fun canWithdraw(r: Referral) = r.state !in setOf(
        ReferralState.DECLINED, ReferralState.COMPLETED, ReferralState.WITHDRAWN,
    )
}
