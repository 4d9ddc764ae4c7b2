package org.chungtay

import java.nio.file.Path
import java.security.KeyFactory
import java.security.Signature
import java.security.spec.X509EncodedKeySpec
import java.sql.DriverManager
import java.time.LocalDate
import kotlin.test.Test
import kotlin.test.assertContentEquals
import kotlin.test.assertEquals
import kotlin.test.assertFailsWith
import kotlin.test.assertFalse
import kotlin.test.assertNull
import kotlin.test.assertTrue
import org.chungtay.core.AuditAction
import org.chungtay.core.Checkpoint
import org.chungtay.core.ChungTayException
import org.chungtay.core.ConsentInput
import org.chungtay.core.ConsentMethod
import org.chungtay.core.LivelihoodInput
import org.chungtay.core.LivelihoodKind
import org.chungtay.core.Outcome
import org.chungtay.core.Permission
import org.chungtay.core.Reason
import org.chungtay.core.Recipient
import org.chungtay.core.RecordKind
import org.chungtay.core.ReferralInput
import org.chungtay.core.SharedField
import org.chungtay.core.SupportFollowUp
import org.chungtay.core.SupportService
import org.chungtay.core.SurvivorStatus
import org.chungtay.core.Urgency
import org.chungtay.core.UserRole
import org.chungtay.ffi.ClubStore
import org.chungtay.ffi.minimumKdf
import org.junit.jupiter.api.io.TempDir

private const val DEPUTY_PIN = "853190"
private const val AUDITOR_PIN = "hoa sen nở"
private const val NEW_PIN = "640218"

/** The Kotlin calls for managing users, single records, a member's lists and the checkpoints. */
class UsersAndReadsTest {
    @TempDir
    lateinit var dir: Path

    private val device = SoftwareDeviceKey()
    private val path get() = dir.resolve("club.db").toString()

    private fun newStore(): ClubStore = ClubStore.create(path, device, "Lò Thị Mai", PIN, minimumKdf())

    private fun ClubStore.loginAs(id: String, pin: String) {
        lock()
        unlock(id, pin)
    }

    private fun slotInFile(userId: String): Boolean =
        DriverManager.getConnection("jdbc:sqlite:$path").use { c ->
            c.prepareStatement("SELECT count(*) FROM users WHERE id = ?").use { st ->
                st.setString(1, userId)
                st.executeQuery().use { it.next(); it.getInt(1) == 1 }
            }
        }

    @Test
    fun `the leader sets a new PIN for a user who forgot hers, and removes a user, and no one else may`() {
        newStore().use { store ->
            val leaderId = store.currentUser().id
            val deputy = store.addUser(PIN, "Phạm Thị Lan", UserRole.DEPUTY, DEPUTY_PIN)
            val auditor = store.addUser(PIN, "Cán bộ Hội tỉnh", UserRole.AUDITOR, AUDITOR_PIN)

            // A deputy or an auditor may neither reset a PIN nor remove anyone: nothing changes.
            for ((id, pin) in listOf(deputy.id to DEPUTY_PIN, auditor.id to AUDITOR_PIN)) {
                store.loginAs(id, pin)
                val reset = assertFailsWith<ChungTayException.Forbidden> { store.resetPin(pin, leaderId, NEW_PIN) }
                assertEquals(Permission.MANAGE_USERS, reset.permission)
                val removed = assertFailsWith<ChungTayException.Forbidden> { store.removeUser(leaderId) }
                assertEquals(Permission.MANAGE_USERS, removed.permission)
            }
            assertEquals(3, store.users().size)
            store.lock()
            assertFailsWith<ChungTayException.WrongPin> { store.unlock(leaderId, NEW_PIN) }

            // The leader resets the deputy's PIN with her own; the old PIN stops opening.
            store.unlock(leaderId, PIN)
            assertFailsWith<ChungTayException.WrongPin> { store.resetPin("385027", deputy.id, NEW_PIN) }
            val own = assertFailsWith<ChungTayException.Invalid> { store.resetPin(PIN, leaderId, NEW_PIN) }
            assertEquals("user_id" to Reason.OwnAccount, own.field to own.reason)
            store.resetPin(PIN, deputy.id, NEW_PIN)
            val reset = store.auditEntries().last()
            assertEquals(AuditAction.PIN_CHANGE, reset.action)
            assertEquals(deputy.id to leaderId, reset.recordId to reset.userId)
            assertEquals(listOf("reset"), reset.fields)
            store.lock()
            assertFailsWith<ChungTayException.WrongPin> { store.unlock(deputy.id, DEPUTY_PIN) }
            store.unlock(deputy.id, NEW_PIN)
            assertEquals(UserRole.DEPUTY, store.currentUser().role)

            // Removed: her row and key slot leave the file, her PIN opens nothing.
            store.loginAs(leaderId, PIN)
            val self = assertFailsWith<ChungTayException.Invalid> { store.removeUser(leaderId) }
            assertEquals(Reason.OwnAccount, self.reason)
            assertFailsWith<ChungTayException.UnknownUser> { store.removeUser("no-such-user") }
            store.removeUser(deputy.id)
            assertEquals(listOf(leaderId, auditor.id), store.users().map { it.id })
            assertFalse(slotInFile(deputy.id))
            assertTrue(slotInFile(auditor.id))
            assertTrue(
                store.auditEntries().any {
                    it.action == AuditAction.DELETE && it.kind == RecordKind.USER &&
                        it.recordId == deputy.id && it.userId == leaderId
                },
            )
            // Her past entries (her unlocks) are still in the trail, which verifies.
            assertTrue(store.auditEntries().any { it.action == AuditAction.UNLOCK && it.userId == deputy.id })
            assertTrue(store.verifyAudit() > 0)
            store.lock()
            assertFailsWith<ChungTayException.UnknownUser> { store.unlock(deputy.id, NEW_PIN) }
            store.unlock(auditor.id, AUDITOR_PIN)
        }
    }

    @Test
    fun `one club, one member, one consent, and a member's consents, support and referrals`() {
        newStore().use { store ->
            val leaderId = store.currentUser().id
            val added = store.addClub(club())
            val hoa = store.addMember(added.id, member("Vi Thị Hoa"))
            val lan = store.addMember(added.id, member("Lò Thị Lan").copy(safeToContact = false))
            val today = LocalDate.now().toString()
            val consent = store.addConsent(
                ConsentInput(
                    memberId = hoa.id,
                    purposes = listOf(SupportService.LOANS),
                    recipient = Recipient.PROVINCIAL_UNION,
                    fields = listOf(SharedField.NAME, SharedField.NEED),
                    method = ConsentMethod.SIGNED_PAPER,
                    witness = null,
                    givenOn = today,
                ),
            )
            val support = store.addLivelihood(
                LivelihoodInput(
                    memberId = hoa.id,
                    kind = LivelihoodKind.LIVESTOCK,
                    date = today,
                    amountVnd = null,
                    quantity = 2,
                    unit = "con lợn",
                    note = "Nuôi lợn giống",
                ),
            )
            store.addLivelihoodFollowUp(support.id, SupportFollowUp(today, Outcome.EARNING_INCOME, "Đã bán lứa đầu"))
            val referral = store.createReferral(
                ReferralInput(
                    memberId = hoa.id,
                    services = listOf(SupportService.LOANS),
                    urgency = Urgency.ROUTINE,
                    note = "Vay vốn nhỏ",
                    recipient = Recipient.PROVINCIAL_UNION,
                    sharedFields = listOf(SharedField.NAME),
                    consentId = consent.id,
                ),
            )

            assertEquals(added, store.club(added.id))
            assertEquals(2L, store.memberCount())
            val shown = store.member(hoa.id)
            assertEquals("Vi Thị Hoa", shown.info.fullName)
            assertEquals(SurvivorStatus.RETURNEE, shown.info.survivorStatus)
            assertEquals(added.id, shown.clubId)
            // Someone not to be contacted: no number on any screen.
            assertNull(store.member(lan.id).info.phone)
            assertEquals(consent, store.consent(consent.id))
            assertEquals(listOf(consent), store.consentsFor(hoa.id))
            val listed = store.livelihoodFor(hoa.id).single()
            assertEquals(support.id, listed.id)
            assertEquals(listOf(Outcome.EARNING_INCOME), listed.followUps.map { it.outcome })
            assertEquals(listOf(referral.id), store.referralsFor(hoa.id).map { it.id })
            // Another member's lists hold none of hers.
            assertEquals(emptyList(), store.consentsFor(lan.id))
            assertEquals(emptyList(), store.livelihoodFor(lan.id))
            assertEquals(emptyList(), store.referralsFor(lan.id))
            // A member's record read alone is noted in the trail.
            assertTrue(
                store.auditEntries().any {
                    it.action == AuditAction.READ && it.kind == RecordKind.MEMBER && it.recordId == hoa.id &&
                        it.userId == leaderId && it.fields.isEmpty()
                },
            )
            assertEquals(RecordKind.MEMBER, assertFailsWith<ChungTayException.NotFound> { store.member("no-such") }.kind)
            assertEquals(RecordKind.CLUB, assertFailsWith<ChungTayException.NotFound> { store.club("no-such") }.kind)
            assertEquals(RecordKind.CONSENT, assertFailsWith<ChungTayException.NotFound> { store.consent("no-such") }.kind)

            // The deputy reads her record without the survivor status.
            val deputy = store.addUser(PIN, "Phạm Thị Lan", UserRole.DEPUTY, DEPUTY_PIN)
            store.loginAs(deputy.id, DEPUTY_PIN)
            assertEquals(SurvivorStatus.WITHHELD, store.member(hoa.id).info.survivorStatus)
            assertEquals(listOf(consent.id), store.consentsFor(hoa.id).map { it.id })
        }
    }

    /** Ed25519 with the JDK: the raw 32-byte key in its X.509 wrapping. */
    private fun signedByDevice(cp: Checkpoint, publicKey: ByteArray): Boolean {
        val x509 = byteArrayOf(0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00) + publicKey
        val key = KeyFactory.getInstance("Ed25519").generatePublic(X509EncodedKeySpec(x509))
        val msg = "chungtay.checkpoint.v1\u0000".toByteArray() + cp.deviceId.toByteArray() + byteArrayOf(0) +
            java.nio.ByteBuffer.allocate(8).putLong(cp.seq).array() + cp.head + cp.at.toByteArray()
        return Signature.getInstance("Ed25519").run {
            initVerify(key)
            update(msg)
            verify(cp.signature)
        }
    }

    @Test
    fun `checkpoints are signed by this phone's key and read only by those who read the trail`() {
        newStore().use { store ->
            val leaderId = store.currentUser().id
            assertEquals(emptyList(), store.checkpoints())
            val made = store.createCheckpoint()
            val kept = store.checkpoints().single()
            assertEquals(made.seq to made.at, kept.seq to kept.at)
            assertContentEquals(made.head, kept.head)
            // It signs the head after its own entry: the last one of the trail.
            assertEquals(kept.seq, store.verifyAudit())
            val public = store.devicePublicKey()
            assertTrue(signedByDevice(kept, public))
            // Any other sequence number is not what the phone signed.
            assertFalse(signedByDevice(kept.copy(seq = kept.seq - 1), public))

            // The deputy syncs (and so signs checkpoints) but does not read the trail.
            val deputy = store.addUser(PIN, "Phạm Thị Lan", UserRole.DEPUTY, DEPUTY_PIN)
            val auditor = store.addUser(PIN, "Cán bộ Hội tỉnh", UserRole.AUDITOR, AUDITOR_PIN)
            store.loginAs(deputy.id, DEPUTY_PIN)
            store.createCheckpoint()
            val refused = assertFailsWith<ChungTayException.Forbidden> { store.checkpoints() }
            assertEquals(Permission.READ_AUDIT, refused.permission)
            store.loginAs(auditor.id, AUDITOR_PIN)
            assertEquals(2, store.checkpoints().size)
            assertTrue(store.checkpoints().all { signedByDevice(it, public) })
            store.loginAs(leaderId, PIN)
        }
    }

    @Test
    fun `an auditor's note on a record that does not exist is refused and nothing is written`() {
        newStore().use { store ->
            val leaderId = store.currentUser().id
            val clubId = store.addClub(club()).id
            val auditor = store.addUser(PIN, "Cán bộ Hội tỉnh", UserRole.AUDITOR, AUDITOR_PIN)
            store.loginAs(auditor.id, AUDITOR_PIN)
            val before = store.auditEntries().size
            val missing = assertFailsWith<ChungTayException.NotFound> {
                store.annotate(RecordKind.MEMBER, "no-such-member", "Không thấy hồ sơ giấy")
            }
            assertEquals(RecordKind.MEMBER to "no-such-member", missing.kind to missing.id)
            // A club's id is no member.
            assertFailsWith<ChungTayException.NotFound> { store.annotate(RecordKind.MEMBER, clubId, "x") }
            assertEquals(before, store.auditEntries().size)
            assertEquals(emptyList(), store.annotations(RecordKind.MEMBER, "no-such-member"))
            store.annotate(RecordKind.CLUB, clubId, "Đã đối chiếu")
            store.annotate(RecordKind.USER, leaderId, "Đã gặp chủ nhiệm")
            assertEquals(1, store.annotations(RecordKind.USER, leaderId).size)
        }
    }
}
