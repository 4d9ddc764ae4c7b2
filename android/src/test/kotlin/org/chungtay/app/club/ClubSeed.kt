package org.chungtay.app.club

import java.time.LocalDate
import org.chungtay.core.ClubInput
import org.chungtay.core.ClubKind
import org.chungtay.core.Gender
import org.chungtay.core.MemberInput
import org.chungtay.core.MemberRole
import org.chungtay.core.MemberSummary
import org.chungtay.core.SurvivorStatus
import org.chungtay.ffi.ClubStore

/** Test data for the club screens, written through the real core. */
object ClubSeed {
    const val LEADER_PIN = "135792"

    val villages = listOf("Bản Pù Quăn", "Bản Ché Lầu", "Bản Sài Khao")

    /** 24 members of a border club in Mường Lát: Thái, Mường, Mông and Kinh names. */
    val names = listOf(
        "Nguyễn Thị Hoa", "Lò Thị Mai", "Hà Thị Lan", "Vi Thị Hương", "Lương Thị Thu", "Phạm Thị Nga",
        "Giàng Thị Dợ", "Thào Thị Mỷ", "Sùng Thị Pà", "Hờ Thị Chù", "Lầu Thị Xia", "Vàng Thị Ly",
        "Bùi Thị Hằng", "Quách Thị Nhung", "Đinh Thị Xuân", "Trương Thị Liên", "Lê Thị Hạnh", "Cầm Thị Vân",
        "Mạc Thị Dung", "Ngân Thị Tươi", "Phạm Văn Thành", "Lữ Thị Sen", "Hoàng Thị Yến", "Vừ Thị Mua",
    )

    /** Code = index + 1 in ethnicGroupNames(): Kinh 1, Thái 3, Mường 4, Mông 8. */
    fun ethnic(i: Int) = listOf(1, 3, 3, 3, 3, 1, 8, 8, 8, 8, 8, 8, 4, 4, 4, 1, 1, 3, 1, 3, 1, 3, 1, 8)[i]

    fun club(store: ClubStore, name: String = "CLB phụ nữ phòng, chống mua bán người xã Mường Lát") =
        store.addClub(ClubInput(name, ClubKind.ANTI_TRAFFICKING, "Thanh Hóa", "Mường Lát", null, "Mường Lát"))

    fun member(
        name: String,
        village: String = villages[0],
        status: SurvivorStatus = SurvivorStatus.NOT_A_SURVIVOR,
        safe: Boolean = true,
        phone: String? = "0912345678",
        ethnic: Int = 3,
        year: Int = 1990,
    ) = MemberInput(name, year, Gender.FEMALE, ethnic, village, phone, MemberRole.MEMBER, status, safe)

    /** The 24 members; member 3 (Vi Thị Hương) is a returnee who must not be contacted. */
    fun members(store: ClubStore, clubId: String): List<MemberSummary> {
        names.forEachIndexed { i, n ->
            val status = if (i == 3) SurvivorStatus.RETURNEE else SurvivorStatus.NOT_A_SURVIVOR
            store.addMember(clubId, member(n, villages[i % 3], status, safe = i != 3, ethnic = ethnic(i), year = 1970 + i, phone = "09${(10_000_000 + i * 1371).toString().padStart(8, '0')}"))
        }
        return store.memberList(clubId)
    }

    fun today(): LocalDate = LocalDate.now()
}
