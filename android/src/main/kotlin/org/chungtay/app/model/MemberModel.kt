package org.chungtay.app.model

import org.chungtay.core.Gender
import org.chungtay.core.MemberDetail
import org.chungtay.core.MemberInput
import org.chungtay.core.MemberRole
import org.chungtay.core.Permission
import org.chungtay.core.SurvivorStatus
import org.chungtay.ffi.ClubStore

/**
 * The member screen: her record as the core shows it to the unlocked role (survivor status
 * `WITHHELD` for a deputy, no phone when she must not be contacted), with her consents,
 * support and referrals, and which actions the role has.
 */
class MemberModel(private val memberId: String, private val worker: Worker) {
    var detail: MemberDetail? = null
        private set
    var mayWrite = false
        private set
    var mayErase = false
        private set
    /** The club's commune: members live in their club's commune. */
    var commune: String = ""
        private set

    /** The call action exists only for someone safe to contact with a number on record. */
    val mayCall: Boolean get() = detail?.member?.info?.let { it.safeToContact && it.phone != null } ?: false

    fun load(store: ClubStore, done: (Result<Unit>) -> Unit) {
        worker.run({
            val d = store.memberDetail(memberId)
            val club = store.clubs().firstOrNull { it.id == d.member.clubId }
            Loaded(d, store.may(Permission.WRITE_RECORDS), store.may(Permission.SAFETY), club?.info?.commune ?: "")
        }) { r ->
            r.onSuccess {
                detail = it.detail
                mayWrite = it.write
                mayErase = it.erase
                commune = it.commune
            }
            done(r.map { })
        }
    }

    /** The number to dial: asked of the core, which refuses someone who must not be contacted. */
    fun phone(store: ClubStore, done: (Result<String>) -> Unit) = worker.run({ store.contactPhone(memberId) }, done)

    fun withdrawConsent(store: ClubStore, consentId: String, today: String, done: (Result<Unit>) -> Unit) =
        worker.run({ store.withdrawConsent(consentId, today); Unit }, done)

    fun erase(store: ClubStore, done: (Result<Unit>) -> Unit) = worker.run({ store.eraseMember(memberId) }, done)

    private class Loaded(val detail: MemberDetail, val write: Boolean, val erase: Boolean, val commune: String)
}

/**
 * A member as typed on the edit screen. The ethnic group is its official code (index + 1 in
 * `ethnicGroupNames()`). A deputy's form carries `WITHHELD` back, which keeps the stored status.
 */
data class MemberDraft(
    val fullName: String = "",
    val birthYear: String = "",
    val gender: Gender = Gender.FEMALE,
    val ethnicGroup: Int = 1,
    val village: String = "",
    val phone: String = "",
    val role: MemberRole = MemberRole.MEMBER,
    val survivorStatus: SurvivorStatus = SurvivorStatus.NOT_A_SURVIVOR,
    val doNotContact: Boolean = false,
) {
    fun validate(): List<FieldError> {
        val out = mutableListOf<FieldError>()
        if (fullName.isBlank()) out += FieldError("full_name", "EMPTY")
        if (birthYear.isNotBlank() && birthYear.trim().toIntOrNull() == null) out += FieldError("birth_year", "NOT_A_NUMBER")
        if (village.isBlank()) out += FieldError("village", "EMPTY")
        return out
    }

    fun toInput() = MemberInput(
        fullName.trim(),
        birthYear.trim().ifEmpty { null }?.toInt(),
        gender,
        ethnicGroup,
        village.trim(),
        phone.trim().ifEmpty { null },
        role,
        survivorStatus,
        !doNotContact,
    )

    companion object {
        /** The form of a member as the core showed her (a withheld status stays withheld). */
        fun of(m: MemberInput) = MemberDraft(
            m.fullName, m.birthYear?.toString() ?: "", m.gender, m.ethnicGroup, m.village, m.phone ?: "",
            m.role, m.survivorStatus, !m.safeToContact,
        )
    }
}

/** The edit screen: a new member of [clubId], or a change to [memberId]. */
class MemberEditModel(private val clubId: String?, private val memberId: String?, private val worker: Worker) {
    var draft = MemberDraft()
    var errors: List<FieldError> = emptyList()
        private set
    /** Whether the role may see the status: a deputy records it for a new member only. */
    var statusWithheld = false
        private set

    fun load(store: ClubStore, keepDraft: Boolean, done: (Result<Unit>) -> Unit) {
        if (memberId == null) {
            done(Result.success(Unit))
            return
        }
        worker.run({ store.memberDetail(memberId).member }) { r ->
            r.onSuccess {
                statusWithheld = it.info.survivorStatus == SurvivorStatus.WITHHELD
                if (!keepDraft) draft = MemberDraft.of(it.info)
            }
            done(r.map { })
        }
    }

    /** [done] gets the saved member's id, or null with [errors] set. */
    fun save(store: ClubStore, done: (Result<String?>) -> Unit) {
        errors = draft.validate()
        if (errors.isNotEmpty()) {
            done(Result.success(null))
            return
        }
        val input = draft.toInput()
        worker.run({ if (memberId == null) store.addMember(clubId!!, input).id else store.updateMember(memberId, input).id }) { r ->
            val p = r.exceptionOrNull()?.let { Problem.of(it) }
            if (p is Problem.Invalid) {
                errors = listOf(FieldError(p.field, p.reason))
                done(Result.success(null))
            } else {
                done(r.map { it })
            }
        }
    }
}
