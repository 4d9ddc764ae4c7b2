package org.chungtay

import java.nio.file.Files
import java.nio.file.Path
import java.security.SecureRandom
import java.sql.DriverManager
import java.time.LocalDate
import java.util.Collections
import java.util.concurrent.CountDownLatch
import java.util.concurrent.Executors
import java.util.concurrent.TimeUnit
import javax.crypto.Mac
import javax.crypto.spec.SecretKeySpec
import kotlin.test.Test
import kotlin.test.assertEquals
import kotlin.test.assertFailsWith
import kotlin.test.assertFalse
import kotlin.test.assertNull
import kotlin.test.assertTrue
import org.chungtay.core.ChungTayException
import org.chungtay.core.ClubInput
import org.chungtay.core.ClubKind
import org.chungtay.core.ConsentInput
import org.chungtay.core.ConsentMethod
import org.chungtay.core.FollowUp
import org.chungtay.core.Gender
import org.chungtay.core.MeetingInput
import org.chungtay.core.MemberFilter
import org.chungtay.core.MemberInput
import org.chungtay.core.MemberRole
import org.chungtay.core.Permission
import org.chungtay.core.AuditAction
import org.chungtay.core.ChainBreak
import org.chungtay.core.Reason
import org.chungtay.core.Recipient
import org.chungtay.core.RecordKind
import org.chungtay.core.ReferralInput
import org.chungtay.core.ReferralState
import org.chungtay.core.SharedField
import org.chungtay.core.SupportService
import org.chungtay.core.SurvivorStatus
import org.chungtay.core.Urgency
import org.chungtay.core.UserRole
import org.chungtay.ffi.ClubStore
import org.chungtay.ffi.MemberRows
import org.chungtay.ffi.DeviceKey
import org.chungtay.ffi.DeviceKeyException
import org.chungtay.ffi.defaultOverdueThresholds
import org.chungtay.ffi.ethnicGroupNames
import org.chungtay.ffi.calibrateKdf
import org.chungtay.ffi.memberRows
import org.chungtay.ffi.minimumKdf
import org.junit.jupiter.api.io.TempDir

/** A software device key in Kotlin: HMAC-SHA256 under a random key, as the Keystore one would be. */
class SoftwareDeviceKey : DeviceKey {
    private val key = ByteArray(32).also { SecureRandom().nextBytes(it) }

    override fun prf(input: ByteArray): ByteArray {
        val mac = Mac.getInstance("HmacSHA256")
        mac.init(SecretKeySpec(key, "HmacSHA256"))
        return mac.doFinal(input)
    }

    override fun rotate() {
        SecureRandom().nextBytes(key)
    }
}

const val PIN = "274915"

fun group(name: String): Int = ethnicGroupNames().indexOf(name) + 1

fun member(name: String, group: String = "Thái", village: String = "Bản Chai") = MemberInput(
    fullName = name,
    birthYear = LocalDate.now().year - 19,
    gender = Gender.FEMALE,
    ethnicGroup = group(group),
    village = village,
    phone = "0912 345 678",
    role = MemberRole.MEMBER,
    survivorStatus = SurvivorStatus.RETURNEE,
    safeToContact = true,
)

fun club() = ClubInput(
    name = "CLB phụ nữ phòng, chống mua bán người Pù Nhi",
    kind = ClubKind.ANTI_TRAFFICKING,
    province = "Thanh Hóa",
    commune = "Pù Nhi",
    village = "Bản Chai",
    formerDistrict = "Mường Lát",
)

class ClubStoreTest {
    @TempDir
    lateinit var dir: Path

    private val device = SoftwareDeviceKey()
    private val path get() = dir.resolve("club.db").toString()

    private fun newStore(): ClubStore = ClubStore.create(path, device, "Lò Thị Mai", PIN, minimumKdf())

    @Test
    fun `create, reopen with the Kotlin device key, and read back Vietnamese names`() {
        val names = listOf("Nguyễn Thị Hoa", "Vi Thị Hoa", "Đặng Thị Dung", "Vàng Thị Mỷ")
        val clubId: String
        newStore().use { store ->
            clubId = store.addClub(club()).id
            names.forEach { store.addMember(clubId, member(it)) }
        }
        ClubStore.open(path, device).use { store ->
            assertFalse(store.isUnlocked())
            val leader = store.users().single()
            assertEquals(UserRole.LEADER, leader.role)
            store.unlock(leader.id, PIN)
            val list = store.memberList(clubId)
            // Vietnamese order: by given name, đ after d.
            assertEquals(
                listOf("Đặng Thị Dung", "Nguyễn Thị Hoa", "Vi Thị Hoa", "Vàng Thị Mỷ"),
                list.map { it.fullName },
            )
            assertEquals("Thái", ethnicGroupNames()[list[0].ethnicGroup - 1])
            assertEquals("Pù Nhi", store.clubs().single().info.commune)
        }
    }

    @Test
    fun `search ignores case and diacritics and filters by village`() {
        newStore().use { store ->
            val clubId = store.addClub(club()).id
            store.addMember(clubId, member("Nguyễn Thị Hoa", "Kinh"))
            store.addMember(clubId, member("Đặng Thị Dung", "Dao", "Bản Ón"))
            store.addMember(clubId, member("Hà Thị Ơn", "Mường"))
            fun search(text: String, village: String? = null) =
                store.searchMembers(MemberFilter(text, null, village, null)).map { it.fullName }
            assertEquals(listOf("Nguyễn Thị Hoa"), search("nguyen thi hoa"))
            // The search text may be a name: its toString leaves it out.
            assertFalse(MemberFilter("nguyen thi hoa", null, null, null).toString().contains("nguyen"))
            assertEquals(listOf("Nguyễn Thị Hoa"), search("NGUYEN HOA"))
            assertEquals(listOf("Đặng Thị Dung"), search("d"))
            assertEquals(listOf("Hà Thị Ơn"), search("on"))
            assertEquals(listOf("Đặng Thị Dung"), search("", "ban on"))
            assertEquals(emptyList(), search("tran"))
            // The village filter's choices: each once, in Vietnamese order.
            assertEquals(listOf("Bản Chai", "Bản Ón"), store.memberVillages(clubId))
        }
    }

    @Test
    fun `memberRows is the member list, row for row, whatever each row holds`() {
        newStore().use { store ->
            val clubId = store.addClub(club()).id
            // Every gender and role, a year and none, a phone, none, and one withheld (not safe
            // to contact), and names past the 16-bit range: Nôm characters take two UTF-16 units,
            // so a row that counted bytes or code points would cut its neighbours' names.
            store.addMember(clubId, member("Nguyễn Thị Hoa"))
            store.addMember(clubId, member("Lò Văn 𡨸", "Thái", "Bản 𠀧 Ón").copy(gender = Gender.MALE, role = MemberRole.LEADER))
            store.addMember(clubId, member("Đặng Thị Dung", "Dao").copy(birthYear = null, phone = null, role = MemberRole.DEPUTY))
            store.addMember(clubId, member("Vàng Thị Mỷ", "Mông").copy(gender = Gender.OTHER, safeToContact = false))
            store.addMember(clubId, member("𡨸𡨸 Hà Thị Ơn", "Mường", "Bản Sạng"))
            store.addMember(store.addClub(club()).id, member("Vi Thị Hoa")) // another club's
            val list = store.memberList(clubId)
            val rows = store.memberRows(clubId)
            assertEquals(5, rows.size)
            assertEquals(list, rows)
            assertEquals(list.map { it.fullName }, List(rows.size) { rows.fullName(it) })
            assertEquals(list.map { it.id }, List(rows.size) { rows.id(it) })
            assertEquals(list.map { it.village }, List(rows.size) { rows.village(it) })
            assertNull(rows.single { it.fullName == "Vàng Thị Mỷ" }.phone)
            assertFailsWith<IndexOutOfBoundsException> { rows[5] }
            assertTrue(store.memberRows(store.addClub(club()).id).isEmpty())
            // Logged by mistake, the list and its columns name nobody.
            assertFalse(rows.toString().contains("Hoa"), rows.toString())
            val columns = store.memberColumns(clubId)
            assertFalse(columns.toString().contains("Hoa"), columns.toString())
            // Columns that do not fit together are refused, not shown shifted.
            assertFailsWith<IllegalStateException> { MemberRows(columns.copy(fullNames = columns.fullNames + "x")) }
            assertFailsWith<IllegalStateException> { MemberRows(columns.copy(ids = columns.ids.drop(1))) }
            assertFailsWith<IllegalStateException> { MemberRows(columns.copy(rows = columns.rows.copyOf(columns.rows.size - 1))) }
            // Lengths that add up, but the first name ends after the second: refused.
            val secondEnd = java.nio.ByteBuffer.wrap(columns.rows).getInt(20)
            val shifted = columns.rows.copyOf().also { java.nio.ByteBuffer.wrap(it).putInt(0, secondEnd + 1) }
            assertFailsWith<IllegalStateException> { MemberRows(columns.copy(rows = shifted)) }
            val unknownGender = columns.rows.copyOf().also { it[16] = 7 }
            assertFailsWith<IllegalStateException> { MemberRows(columns.copy(rows = unknownGender)) }
            // What it keeps is its own: a change to the columns afterwards changes nothing.
            val kept = MemberRows(columns)
            columns.fullNames = columns.fullNames.reversed()
            columns.rows.fill(0)
            assertEquals(list, kept)
        }
    }

    @Test
    fun `a list screen reads pages that make up the whole list in order`() {
        newStore().use { store ->
            val clubId = store.addClub(club()).id
            listOf("Vi Thị Hoa", "Đặng Thị Dung", "Lò Thị Ân", "Hà Thị Ơn", "Lò Thị An").forEach {
                store.addMember(clubId, member(it, "Thái"))
            }
            val inClub = MemberFilter("", clubId, null, null)
            val first = store.searchMembersPage(inClub, 0UL, 2UL)
            val second = store.searchMembersPage(inClub, 2UL, 2UL)
            val third = store.searchMembersPage(inClub, 4UL, 2UL)
            assertEquals(5UL, first.total)
            assertEquals(listOf(2, 2, 1), listOf(first, second, third).map { it.members.size })
            assertEquals(
                store.memberList(clubId),
                first.members + second.members + third.members,
            )
            assertEquals(listOf("Lò Thị An", "Lò Thị Ân"), first.members.map { it.fullName })
            assertEquals(0, store.searchMembersPage(inClub, 9UL, 2UL).members.size)
            // A page logged by mistake names nobody.
            assertFalse(first.toString().contains("Lò"), first.toString())
        }
    }

    @Test
    fun `record the monthly meeting, and a referral made ready with consent`() {
        newStore().use { store ->
            val clubId = store.addClub(club()).id
            val ids = (1..24).map { store.addMember(clubId, member("Thành viên $it", "Mường")).id }
            val today = LocalDate.now()
            val meeting = store.recordMeeting(
                MeetingInput(
                    clubId = clubId,
                    date = today.toString(),
                    topic = "Nhận diện lừa đảo việc làm qua mạng",
                    place = "Nhà văn hóa bản Chai",
                    facilitator = "Lò Thị Mai",
                    attendees = ids.take(18),
                    guestCount = 3,
                    notes = "Chị em chia sẻ tin nhắn tuyển dụng lạ",
                    followUps = listOf(
                        FollowUp("Thăm gia đình chị Hoa", "Hà Thị Ơn", today.plusDays(7).toString(), false),
                        FollowUp("Báo cáo Hội xã", "Lò Thị Mai", today.plusDays(3).toString(), false),
                    ),
                ),
            )
            val listed = store.meetings(clubId).single()
            assertEquals(meeting, listed)
            assertEquals(18, listed.info.attendees.size)
            assertEquals(3, listed.info.guestCount)
            assertEquals(today.toString(), listed.info.date)

            val consent = store.addConsent(
                ConsentInput(
                    memberId = ids[0],
                    purposes = listOf(SupportService.VOCATIONAL_TRAINING, SupportService.LOANS),
                    recipient = Recipient.PROVINCIAL_UNION,
                    fields = listOf(SharedField.NAME, SharedField.BIRTH_YEAR, SharedField.NEED),
                    method = ConsentMethod.SIGNED_PAPER,
                    witness = null,
                    givenOn = today.toString(),
                ),
            )
            val draft = store.createReferral(
                ReferralInput(
                    memberId = ids[0],
                    services = listOf(SupportService.VOCATIONAL_TRAINING),
                    urgency = Urgency.ROUTINE,
                    note = "Muốn học may",
                    recipient = Recipient.PROVINCIAL_UNION,
                    sharedFields = listOf(SharedField.NAME, SharedField.NEED),
                    consentId = consent.id,
                ),
            )
            assertEquals(ReferralState.READY, store.markReferralReady(draft.id).state)
            val detail = store.memberDetail(ids[0])
            assertEquals(1, detail.consents.size)
            assertEquals(ReferralState.READY, detail.referrals.single().state)
            assertTrue(detail.member.stamp.createdAt > 0)
            // One record by its id, as the edit and referral screens open them.
            assertEquals(meeting, store.meeting(meeting.id))
            assertEquals(detail.referrals.single(), store.referral(draft.id))
            assertFailsWith<ChungTayException.NotFound> { store.referral("no-such-referral") }

            // The month's report: small counts come as "<5", never the number; the XLSX is a zip.
            val report = store.monthlyReport(clubId, today.year, today.monthValue)
            assertEquals(1L, report.meetingsHeld)
            assertEquals("18", report.attendance)
            assertEquals("<5", report.guests)
            assertEquals(4, report.tables.size)
            val services = report.tables.first { it.titleEn.contains("service", ignoreCase = true) }
            assertTrue(services.rows.none { it.count == "1" }, "a single referral shown as 1: ${services.rows}")
            assertEquals("PK", String(report.xlsx.copyOfRange(0, 2)))
            assertFailsWith<ChungTayException.Invalid> { store.monthlyReport(clubId, today.year, 13) }
            assertFailsWith<ChungTayException.Invalid> { store.monthlyReport(clubId, today.year, -1) }
        }
    }

    @Test
    fun `every public error arrives as its Kotlin exception`() {
        val leaderId: String
        val clubId: String
        val memberId: String
        newStore().use { store ->
            leaderId = store.currentUser().id
            clubId = store.addClub(club()).id
            memberId = store.addMember(clubId, member("Vi Thị Hoa")).id
            val otherClub = store.addClub(club()).id
            val outsider = store.addMember(otherClub, member("Lữ Thị Xuân")).id

            val empty = assertFailsWith<ChungTayException.Invalid> { store.addMember(clubId, member("  ")) }
            assertEquals("full_name", empty.field)
            assertEquals(Reason.Empty, empty.reason)

            val future = assertFailsWith<ChungTayException.Invalid> {
                store.addMember(clubId, member("Vi Thị Lan").copy(birthYear = LocalDate.now().year + 1))
            }
            assertEquals("birth_year" to Reason.InFuture, future.field to future.reason)

            val unknown = assertFailsWith<ChungTayException.Invalid> {
                store.addMember(clubId, member("Vi Thị Lan").copy(ethnicGroup = 99))
            }
            assertEquals(Reason.UnknownEthnicGroup, unknown.reason)

            val meeting = MeetingInput(
                clubId, LocalDate.now().toString(), "Di cư an toàn", "Nhà bà Ơn", "Lò Thị Mai",
                listOf(memberId, outsider), 0, "", emptyList(),
            )
            val notMember = assertFailsWith<ChungTayException.Invalid> { store.recordMeeting(meeting) }
            assertEquals("attendees", notMember.field)
            assertEquals(Reason.NotClubMember(outsider), notMember.reason)

            val badDate = assertFailsWith<ChungTayException.Invalid> {
                store.recordMeeting(meeting.copy(attendees = listOf(memberId), date = "2026-13-45"))
            }
            assertEquals(Reason.BadDate, badDate.reason)

            val referral = store.createReferral(
                ReferralInput(
                    memberId, listOf(SupportService.LEGAL_AID), Urgency.URGENT, "",
                    Recipient.PROVINCIAL_UNION, listOf(SharedField.NAME), null,
                ),
            )
            val noConsent = assertFailsWith<ChungTayException.Invalid> { store.markReferralReady(referral.id) }
            assertEquals("consent" to Reason.NoConsent, noConsent.field to noConsent.reason)

            val missing = assertFailsWith<ChungTayException.NotFound> {
                store.memberDetail("00000000-0000-4000-8000-000000000000")
            }
            assertEquals(RecordKind.MEMBER, missing.kind)

            store.lock()
            assertFailsWith<ChungTayException.Locked> { store.memberList(clubId) }
            assertFailsWith<ChungTayException.WrongPin> { store.unlock(leaderId, "000000") }
            assertFailsWith<ChungTayException.UnknownUser> { store.unlock("nobody", PIN) }
            store.unlock(leaderId, PIN)
            assertEquals(1, store.memberList(clubId).size)
        }

        assertFailsWith<ChungTayException.AlreadyExists> { newStore() }

        // Someone edits the file: the record names itself, the rest still opens.
        DriverManager.getConnection("jdbc:sqlite:$path").use { c ->
            c.prepareStatement("UPDATE members SET body = zeroblob(length(body)) WHERE id = ?").use {
                it.setString(1, memberId)
                assertEquals(1, it.executeUpdate())
            }
        }
        ClubStore.open(path, device).use { store ->
            store.unlock(leaderId, PIN)
            val bad = assertFailsWith<ChungTayException.Integrity> { store.memberDetail(memberId) }
            assertEquals(RecordKind.MEMBER to memberId, bad.kind to bad.id)
            assertEquals(memberId, store.damagedRecords().single().id)
            assertEquals(2, store.clubs().size)
        }

        // Another phone's key, a key the Keystore lost, a Keystore that throws.
        ClubStore.open(path, SoftwareDeviceKey()).use { store ->
            assertFailsWith<ChungTayException.KeyUnavailable> { store.unlock(leaderId, PIN) }
        }
        val lost = object : DeviceKey {
            override fun prf(input: ByteArray): ByteArray = throw DeviceKeyException.Missing()
            override fun rotate() = throw DeviceKeyException.Missing()
        }
        ClubStore.open(path, lost).use { store ->
            assertFailsWith<ChungTayException.KeyUnavailable> { store.unlock(leaderId, PIN) }
        }
        val broken = object : DeviceKey {
            override fun prf(input: ByteArray): ByteArray = throw IllegalStateException("keystore busy")
            override fun rotate() = throw IllegalStateException("keystore busy")
        }
        ClubStore.open(path, broken).use { store ->
            assertFailsWith<ChungTayException.KeystoreFailed> { store.unlock(leaderId, PIN) }
        }

        // A store from a newer app, and a file that is no store at all.
        DriverManager.getConnection("jdbc:sqlite:$path").use { c ->
            c.createStatement().use { it.execute("PRAGMA user_version = 99") }
        }
        val newer = assertFailsWith<ChungTayException.NewerVersion> { ClubStore.open(path, device) }
        assertEquals(99L, newer.found)
        val junk = dir.resolve("junk.db")
        Files.write(junk, ByteArray(8192) { 0x42 })
        assertFailsWith<ChungTayException.NotAStore> { ClubStore.open(junk.toString(), device) }
        assertFailsWith<ChungTayException.Storage> {
            ClubStore.open(dir.resolve("missing.db").toString(), device)
        }
    }

    @Test
    fun `a closed store is freed and using it afterwards is an error, not a crash`() {
        val store = newStore()
        val clubId = store.addClub(club()).id
        store.close()
        assertFailsWith<IllegalStateException> { store.memberList(clubId) }
        store.close() // twice is fine
        // Closing dropped the keys and the connection: the file opens again, locked.
        ClubStore.open(path, device).use { again ->
            assertFalse(again.isUnlocked())
            again.unlock(again.users().single().id, PIN)
            assertEquals(clubId, again.clubs().single().id)
        }
    }

    @Test
    fun `calls from several Kotlin threads at once are safe`() {
        newStore().use { store ->
            val clubId = store.addClub(club()).id
            val threads = 8
            val perThread = 25
            val pool = Executors.newFixedThreadPool(threads)
            val start = CountDownLatch(1)
            val errors = Collections.synchronizedList(mutableListOf<Throwable>())
            repeat(threads) { t ->
                pool.submit {
                    try {
                        start.await()
                        repeat(perThread) { i ->
                            store.addMember(clubId, member("Nguyễn Thị Luồng $t-$i"))
                            store.searchMembers(MemberFilter("nguyen", clubId, null, null))
                        }
                    } catch (e: Throwable) {
                        errors.add(e)
                    }
                }
            }
            start.countDown()
            pool.shutdown()
            assertTrue(pool.awaitTermination(120, TimeUnit.SECONDS))
            assertEquals(emptyList(), errors)
            assertEquals(threads * perThread, store.memberList(clubId).size)
            assertNull(store.damagedRecords().firstOrNull())
        }
    }

    @Test
    fun `roles are enforced by the core and the audit trail shows who did what`() {
        newStore().use { store ->
            val leaderId = store.currentUser().id
            val clubId = store.addClub(club()).id
            val hoa = store.addMember(clubId, member("Vi Thị Hoa")).id
            val deputy = store.addUser(PIN, "Phạm Thị Lan", UserRole.DEPUTY, "853190")
            val auditor = store.addUser(PIN, "Cán bộ Hội tỉnh", UserRole.AUDITOR, "hoa sen nở")

            store.lock()
            store.unlock(deputy.id, "853190")
            assertEquals(SurvivorStatus.WITHHELD, store.memberDetail(hoa).member.info.survivorStatus)
            assertFalse(store.may(Permission.READ_SURVIVOR_STATUS))
            val refused = assertFailsWith<ChungTayException.Forbidden> {
                store.addUser(PIN, "Người mới", UserRole.DEPUTY, "592817")
            }
            assertEquals(Permission.MANAGE_USERS, refused.permission)

            store.lock()
            store.unlock(auditor.id, "hoa sen nở")
            assertEquals(SurvivorStatus.RETURNEE, store.memberDetail(hoa).member.info.survivorStatus)
            val noWrite = assertFailsWith<ChungTayException.Forbidden> {
                store.addMember(clubId, member("Lò Thị Xuân"))
            }
            assertEquals(Permission.WRITE_RECORDS, noWrite.permission)
            val note = store.annotate(org.chungtay.core.RecordKind.MEMBER, hoa, "Đã đối chiếu sổ giấy")
            assertFalse(note.toString().contains("sổ giấy"), note.toString())

            val findings = store.auditFindings(defaultOverdueThresholds())
            assertNull(findings.chainBreak)
            assertEquals(listOf(hoa), findings.membersWithoutConsent)
            val entries = store.auditEntries()
            assertTrue(entries.any { it.action == AuditAction.CREATE && it.recordId == hoa && it.userId == leaderId })
            assertTrue(entries.any { it.action == AuditAction.READ && it.userId == deputy.id })
            val export = store.exportAudit()
            assertTrue(export.signedJson.contains("chungtay.audit-export.v1"))
            assertTrue(export.csv.startsWith("seq,at,user_id"))
            assertEquals(32, store.devicePublicKey().size)
            assertTrue(store.verifyAudit() > 5)
        }
        // Someone deletes an entry from the file: the trail no longer verifies.
        DriverManager.getConnection("jdbc:sqlite:$path").use { c ->
            c.createStatement().use { assertEquals(1, it.executeUpdate("DELETE FROM audit_log WHERE seq = 2")) }
        }
        ClubStore.open(path, device).use { store ->
            store.unlock(store.users().first().id, PIN)
            val broken = assertFailsWith<ChungTayException.AuditBroken> { store.verifyAudit() }
            assertTrue(broken.problem is ChainBreak.Sequence)
        }
    }

    @Test
    fun `the PIN cost is calibrated on the phone, never below the minimum, and later PINs keep it`() {
        val min = minimumKdf()
        val fast = calibrateKdf(1u)
        assertEquals(min, fast)
        val slower = calibrateKdf(200u)
        assertTrue(slower.t >= min.t && slower.mKib >= min.mKib)
        val strong = min.copy(t = min.t + 1u)
        ClubStore.create(path, device, "Lò Thị Mai", PIN, strong).use { store ->
            store.addUser(PIN, "Phạm Thị Lan", UserRole.DEPUTY, "853190")
            store.changePin(PIN, "640213")
        }
        DriverManager.getConnection("jdbc:sqlite:$path").use { c ->
            c.createStatement().use { st ->
                st.executeQuery("SELECT kdf_t FROM users").use { rs ->
                    while (rs.next()) assertEquals(strong.t.toInt(), rs.getInt(1))
                }
            }
        }
    }

    @Test
    fun `wrong PINs wait, the duress PIN opens an empty club, and a backup restores everything`() {
        val backup: ByteArray
        val secret: String
        val leaderId: String
        val hoa: String
        newStore().use { store ->
            leaderId = store.currentUser().id
            val clubId = store.addClub(club()).id
            hoa = store.addMember(clubId, member("Vi Thị Hoa").copy(safeToContact = false)).id
            store.addMember(clubId, member("Lò Thị Mai"))
            assertFailsWith<ChungTayException.DoNotContact> { store.contactPhone(hoa) }
            assertNull(store.memberDetail(hoa).member.info.phone)
            val setup = store.setupRecovery()
            secret = setup.recoverySecret
            // A stray log line of the record does not hold the secret that opens every backup.
            assertFalse(setup.toString().contains(secret), setup.toString())
            backup = store.createBackup()
            // Setting it needs the leader's own PIN: a wrong one is a counted try.
            assertFailsWith<ChungTayException.WrongPin> { store.setDuressPin("000000", "918273") }
            store.setDuressPin(PIN, "918273")

            store.lock()
            repeat(3) { assertFailsWith<ChungTayException.WrongPin> { store.unlock(leaderId, "000000") } }
            val wait = assertFailsWith<ChungTayException.TooSoon> { store.unlock(leaderId, PIN) }
            assertTrue(wait.retryAfterSecs in 1uL..30uL)
            assertEquals(7L, store.unlockAttemptsLeft())
        }
        // Scenario 5 on "a new phone": the backup and the union's secret.
        val newPhone = SoftwareDeviceKey()
        val restoredPath = dir.resolve("new-phone.db").toString()
        assertFailsWith<ChungTayException.WrongRecoverySecret> {
            ClubStore.restore(backup, "AAAA-BBBB-CCCC-DDDD-EEEE-FFFF-GGGG-HHHH", restoredPath, newPhone, "640213", minimumKdf())
        }
        assertFalse(Files.exists(dir.resolve("new-phone.db")))
        ClubStore.restore(backup, secret, restoredPath, newPhone, "640213", minimumKdf()).use { restored ->
            assertEquals(2, restored.memberList(restored.clubs().single().id).size)
            assertTrue(restored.verifyAudit() > 0)
        }
        // Scenario 4: once the wait is over, the duress PIN opens an empty club that looks real.
        DriverManager.getConnection("jdbc:sqlite:$path").use { c ->
            c.createStatement().use { it.execute("DELETE FROM meta WHERE name = 'last_failed_at'") }
        }
        ClubStore.open(path, device).use { store ->
            store.unlock(leaderId, "918273")
            val club = store.clubs().single()
            assertEquals("Pù Nhi", club.info.commune)
            assertEquals(emptyList(), store.memberList(club.id))
            assertFailsWith<ChungTayException.NotFound> { store.memberDetail(hoa) }
            store.lock()
            assertFailsWith<ChungTayException.WrongPin> { store.unlock(leaderId, PIN) }
        }
    }

    @Test
    fun `sync errors arrive typed and the outbox keeps what could not be sent`() {
        newStore().use { store ->
            val notEnrolled = assertFailsWith<ChungTayException.Invalid> { store.sync(true, null) }
            assertEquals("enrollment", notEnrolled.field)
            assertNull(store.enrollmentInfo())
            // Nobody listens on this port: a network error, not a crash.
            val free = java.net.ServerSocket(0).use { it.localPort }
            assertFailsWith<ChungTayException.Network> {
                store.enroll("http://127.0.0.1:$free", "ABCD-EFGH-JKLM", null)
            }
            val insecure = assertFailsWith<ChungTayException.Invalid> {
                store.enroll("http://intake.example.vn", "ABCD-EFGH-JKLM", null)
            }
            assertEquals("server_url", insecure.field)
            assertEquals(emptyList(), store.outbox())
        }
    }

    @Test
    fun `toString of a member and her screen holds no name, village, phone or status`() {
        newStore().use { store ->
            val clubId = store.addClub(club()).id
            val input = member("Quàng Thị Huyền", village = "Bản Phiêng Khoòng")
                .copy(phone = "0987 654 321", survivorStatus = SurvivorStatus.SURVIVOR)
            val member = store.addMember(clubId, input)
            val meeting = MeetingInput(
                clubId, LocalDate.now().toString(), "Di cư an toàn", "Nhà bà Ơn", "Lò Thị Mai",
                listOf(member.id), 0, "Chị Quàng Thị Huyền kể chuyện",
                listOf(FollowUp("Thăm chị Huyền", "Hà Thị Ơn", LocalDate.now().toString(), false)),
            )
            val shown = listOf(
                member.toString(),
                input.toString(),
                store.memberDetail(member.id).toString(),
                store.memberList(clubId).toString(),
                meeting.toString(),
            )
            val secrets = listOf(
                "Quàng", "Huyền", "Phiêng", "0987", "654 321", "SURVIVOR", "Survivor",
                "Hà Thị Ơn", "kể chuyện",
            )
            for (text in shown) {
                for (secret in secrets) {
                    assertFalse(text.contains(secret, ignoreCase = true), "$secret in $text")
                }
            }
            // Still useful in a log: the ids are there.
            assertTrue(member.toString().contains(member.id), member.toString())
        }
    }
}
