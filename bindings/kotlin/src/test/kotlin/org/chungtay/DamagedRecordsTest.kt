package org.chungtay

import java.nio.file.Path
import java.sql.DriverManager
import java.time.LocalDate
import kotlin.test.Test
import kotlin.test.assertEquals
import kotlin.test.assertFailsWith
import kotlin.test.assertTrue
import org.chungtay.core.ChainBreak
import org.chungtay.core.ChungTayException
import org.chungtay.core.ConsentInput
import org.chungtay.core.ConsentMethod
import org.chungtay.core.DamageReason
import org.chungtay.core.Recipient
import org.chungtay.core.RecordKind
import org.chungtay.core.SharedField
import org.chungtay.core.SupportService
import org.chungtay.ffi.ClubStore
import org.chungtay.ffi.defaultOverdueThresholds
import org.chungtay.ffi.minimumKdf
import org.junit.jupiter.api.io.TempDir

/** What the app shows when rows of the file were put back from an older copy or deleted. */
class DamagedRecordsTest {
    @TempDir
    lateinit var dir: Path

    private val device = SoftwareDeviceKey()
    private val path get() = dir.resolve("club.db").toString()

    @Test
    fun `a withdrawn consent put back from an older copy and a deleted member are named, not dropped`() {
        val hoa: String
        val xuan: String
        val consentId: String
        val oldConsent: ByteArray
        val oldVersion: Long
        ClubStore.create(path, device, "Lò Thị Mai", PIN, minimumKdf()).use { store ->
            val clubId = store.addClub(club()).id
            hoa = store.addMember(clubId, member("Vi Thị Hoa")).id
            xuan = store.addMember(clubId, member("Lò Thị Xuân")).id
            consentId = store.addConsent(
                ConsentInput(
                    memberId = hoa,
                    purposes = listOf(SupportService.LEGAL_AID),
                    recipient = Recipient.PROVINCIAL_UNION,
                    fields = listOf(SharedField.NAME),
                    method = ConsentMethod.SIGNED_PAPER,
                    witness = null,
                    givenOn = LocalDate.now().toString(),
                ),
            ).id
            DriverManager.getConnection("jdbc:sqlite:$path").use { c ->
                c.prepareStatement("SELECT body, version FROM consents WHERE id = ?").use { q ->
                    q.setString(1, consentId)
                    q.executeQuery().use { r ->
                        assertTrue(r.next())
                        oldConsent = r.getBytes(1)
                        oldVersion = r.getLong(2)
                    }
                }
            }
            store.withdrawConsent(consentId, LocalDate.now().toString())
        }
        // Someone with the file puts the consent back as it was, and deletes Xuân's record.
        DriverManager.getConnection("jdbc:sqlite:$path").use { c ->
            c.createStatement().use { it.execute("PRAGMA foreign_keys = OFF") }
            c.prepareStatement("UPDATE consents SET body = ?, version = ? WHERE id = ?").use { u ->
                u.setBytes(1, oldConsent)
                u.setLong(2, oldVersion)
                u.setString(3, consentId)
                assertEquals(1, u.executeUpdate())
            }
            c.prepareStatement("DELETE FROM members WHERE id = ?").use { d ->
                d.setString(1, xuan)
                assertEquals(1, d.executeUpdate())
            }
        }
        ClubStore.open(path, device).use { store ->
            store.unlock(store.users().first().id, PIN)
            // Her screen shows no consent, and the app can say one could not be shown.
            assertTrue(store.memberDetail(hoa).consents.isEmpty())
            val broken = assertFailsWith<ChungTayException.AuditBroken> { store.verifyAudit() }
            assertTrue(broken.problem is ChainBreak.Record)
            val findings = store.auditFindings(defaultOverdueThresholds())
            val found = findings.damagedRecords.map { Triple(it.kind, it.id, it.reason) }.toSet()
            assertEquals(
                setOf(
                    Triple(RecordKind.CONSENT, consentId, DamageReason.STALE),
                    Triple(RecordKind.MEMBER, xuan, DamageReason.MISSING),
                ),
                found,
            )
            val onHerScreen = store.damagedRecords().filter { it.owner == hoa }
            assertEquals(listOf(DamageReason.STALE), onHerScreen.map { it.reason })
        }
    }
}
