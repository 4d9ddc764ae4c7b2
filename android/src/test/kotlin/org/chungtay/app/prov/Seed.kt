package org.chungtay.app.prov

import java.time.LocalDate
import org.chungtay.core.ClubInput
import org.chungtay.core.ClubKind
import org.chungtay.core.ConsentInput
import org.chungtay.core.ConsentMethod
import org.chungtay.core.Gender
import org.chungtay.core.MeetingInput
import org.chungtay.core.Member
import org.chungtay.core.MemberInput
import org.chungtay.core.MemberRole
import org.chungtay.core.Recipient
import org.chungtay.core.SharedField
import org.chungtay.core.SupportService
import org.chungtay.core.SurvivorStatus
import org.chungtay.ffi.ClubStore
import org.chungtay.ffi.ethnicGroupNames

/** Test data put in through the core, as the club's own screens would. */
object Seed {
    const val LEADER = "Lò Thị Mai"
    const val PIN = "135792"

    fun ethnic(name: String): Int = ethnicGroupNames().indexOf(name) + 1

    fun club(store: ClubStore, commune: String = "Mường Lát"): String = store.addClub(
        ClubInput(
            name = "CLB phụ nữ phòng, chống mua bán người bản Pù Toong",
            kind = ClubKind.ANTI_TRAFFICKING,
            province = "Thanh Hóa",
            commune = commune,
            village = "Pù Toong",
            formerDistrict = "Mường Lát",
        ),
    ).id

    fun member(
        store: ClubStore,
        clubId: String,
        name: String,
        born: Int,
        group: String = "Thái",
        gender: Gender = Gender.FEMALE,
        status: SurvivorStatus = SurvivorStatus.NOT_A_SURVIVOR,
        village: String = "Pù Toong",
    ): Member = store.addMember(
        clubId,
        MemberInput(
            fullName = name,
            birthYear = born,
            gender = gender,
            ethnicGroup = ethnic(group),
            village = village,
            phone = null,
            role = MemberRole.MEMBER,
            survivorStatus = status,
            safeToContact = true,
        ),
    )

    /** Scenario 2's consent: vocational training and a loan, to the province; not her story. */
    fun consentForTrainingAndLoan(store: ClubStore, memberId: String) = store.addConsent(
        ConsentInput(
            memberId = memberId,
            purposes = listOf(SupportService.VOCATIONAL_TRAINING, SupportService.LOANS),
            recipient = Recipient.PROVINCIAL_UNION,
            fields = listOf(SharedField.NAME, SharedField.BIRTH_YEAR, SharedField.COMMUNE, SharedField.NEED),
            method = ConsentMethod.SIGNED_PAPER,
            witness = null,
            givenOn = LocalDate.now().minusDays(1).toString(),
        ),
    )

    /** The 19-year-old Thái returnee of scenario 2, with her consent. */
    fun returnee(store: ClubStore, clubId: String): Member {
        val m = member(store, clubId, "Lò Thị Xuân", LocalDate.now().year - 19, status = SurvivorStatus.RETURNEE)
        consentForTrainingAndLoan(store, m.id)
        return m
    }

    fun meeting(store: ClubStore, clubId: String, date: LocalDate, attendees: List<String>, guests: Int = 0) = store.recordMeeting(
        MeetingInput(
            clubId = clubId,
            date = date.toString(),
            topic = "Nhận biết lừa đảo việc làm qua mạng",
            place = "Nhà văn hoá bản Pù Toong",
            facilitator = LEADER,
            attendees = attendees,
            guestCount = guests,
            notes = "",
            followUps = emptyList(),
        ),
    )

    val names = listOf(
        "Hà Thị Lan", "Lường Thị Hoa", "Vi Thị Thu", "Cầm Thị Nga", "Lò Thị Hương", "Phạm Thị Dung",
        "Hoàng Thị Sen", "Lương Thị Mến", "Bùi Thị Liên", "Vi Thị Hằng", "Hà Thị Quyên", "Lò Thị Thảo",
    )
}
