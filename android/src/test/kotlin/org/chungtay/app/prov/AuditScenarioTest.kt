package org.chungtay.app.prov

import android.app.Activity
import android.content.Intent
import android.net.Uri
import java.io.ByteArrayOutputStream
import java.security.KeyFactory
import java.security.Signature
import java.security.spec.X509EncodedKeySpec
import java.time.LocalDate
import java.util.Base64
import kotlin.test.assertEquals
import kotlin.test.assertFalse
import kotlin.test.assertTrue
import org.chungtay.app.model.ReferralForm
import org.chungtay.app.testing.Phone
import org.chungtay.app.testing.Phone.Companion.has
import org.chungtay.app.testing.Phone.Companion.screenText
import org.chungtay.app.testing.Phone.Companion.tap
import org.chungtay.app.testing.Phone.Companion.textOf
import org.chungtay.app.testing.Phone.Companion.type
import org.chungtay.app.testing.Screens
import org.chungtay.app.ui.AuditActivity
import org.chungtay.core.SharedField
import org.chungtay.core.SupportService
import org.chungtay.core.UserRole
import org.chungtay.ffi.ClubStore
import org.chungtay.ffi.defaultOverdueThresholds
import org.json.JSONObject
import org.junit.After
import org.junit.Test
import org.junit.runner.RunWith
import org.chungtay.app.testing.AppTestRunner
import org.robolectric.Shadows.shadowOf
import org.robolectric.annotation.Config
import org.robolectric.annotation.GraphicsMode

/**
 * Scenario 3, the field visit: the auditor unlocks her own role on the leader's phone and the
 * audit screen shows the meeting changed ten days after it was held, two overdue referrals and
 * the member with no consent; the trail, a note on a finding, and a signed export that verifies
 * with the phone's public key.
 *
 * Overdue: the core judges a referral by the days since its last step (`days > limit`), by the
 * real clock, and a test cannot wait two weeks. The screen takes the province's thresholds
 * (`AuditActivity.thresholds`); here the province counts every draft and every ready referral
 * as overdue (limit -1 days). Nothing else is faked: the late edit is real (a meeting dated ten
 * days ago, changed today).
 */
@RunWith(AppTestRunner::class)
@GraphicsMode(GraphicsMode.Mode.NATIVE)
class AuditScenarioTest {
    @After
    fun reset() {
        AuditActivity.thresholds = { defaultOverdueThresholds() }
    }

    private class Seeded(val store: ClubStore, val meetingDate: LocalDate, val auditorId: String)

    private fun seed(phone: Phone): Seeded {
        val store = phone.app.session.create(Seed.LEADER, Seed.PIN)
        val club = Seed.club(store)
        val members = Seed.names.take(6).mapIndexed { i, n -> Seed.member(store, club, n, 1985 + i) }
        members.forEach { Seed.consentForTrainingAndLoan(store, it.id) }
        val thu = Seed.member(store, club, "Vi Thị Hồng", 2001) // no consent recorded
        // The meeting held ten days ago, changed today.
        val held = LocalDate.now().minusDays(10)
        val m = Seed.meeting(store, club, held, members.map { it.id })
        store.updateMeeting(m.id, m.info.copy(attendees = members.drop(1).map { it.id }, guestCount = 2))
        // Two referrals left waiting: one draft, one ready.
        for ((i, who) in members.take(2).withIndex()) {
            val form = ReferralForm(store.memberDetail(who.id))
            form.services += SupportService.VOCATIONAL_TRAINING
            form.fields += SharedField.NAME
            val r = store.createReferral(form.input())
            if (i == 1) store.markReferralReady(r.id)
        }
        val auditor = store.addUser(Seed.PIN, "Cầm Thị Hạnh", UserRole.AUDITOR, "246813")
        phone.app.session.lock()
        phone.app.session.unlock(auditor.id, "246813")
        check(thu.id.isNotEmpty())
        return Seeded(store, held, auditor.id)
    }

    private fun everyWaitingReferralOverdue() {
        AuditActivity.thresholds = { defaultOverdueThresholds().copy(draftDays = -1, readyDays = -1) }
    }

    @Test
    @Config(qualifiers = "vi")
    fun `the auditor sees the late edit, two overdue referrals and the member without consent`() {
        val phone = Phone()
        val s = seed(phone)
        everyWaitingReferralOverdue()
        val audit = phone.open(AuditActivity::class.java)

        assertTrue(audit.textOf("verdict").startsWith("Nhật ký kiểm tra nguyên vẹn"), audit.textOf("verdict"))
        val late = audit.textOf("late_0")
        assertTrue(late.startsWith("Buổi họp " + s.meetingDate.format(java.time.format.DateTimeFormatter.ofPattern("dd/MM/yyyy"))), late)
        assertTrue(late.endsWith("10 ngày sau"), late)
        assertFalse(audit.has("late_1"))
        assertTrue(audit.textOf("overdue_0").contains("Bản nháp") || audit.textOf("overdue_1").contains("Bản nháp"))
        assertTrue(audit.textOf("overdue_0").contains("Sẵn sàng") || audit.textOf("overdue_1").contains("Sẵn sàng"))
        assertFalse(audit.has("overdue_2"))
        assertEquals("Vi Thị Hồng", audit.textOf("noconsent_0"))
        assertFalse(audit.has("noconsent_1"))
        assertTrue(audit.has("damaged_none"))

        // The trail, newest first: the auditor's own steps on top, the leader's below.
        assertTrue(audit.textOf("trail_0").contains("cán bộ Hội"), audit.textOf("trail_0"))
        val trail = audit.screenText().substringAfter("Nhật ký (mới nhất trước)")
        assertTrue(trail.contains("chủ nhiệm") && trail.contains("sửa buổi họp"), trail)
        assertFalse(trail.contains("Vi Thị Hồng") || trail.contains(Seed.names[0]), "no names in the trail")

        // The auditor writes her note on the late edit.
        audit.tap("late_0")
        phone.settle()
        assertTrue(audit.textOf("annotate_for").contains("10 ngày sau"))
        audit.type("annotation", "Đã đối chiếu với sổ họp giấy: sửa số người dự")
        audit.tap("annotate")
        phone.settle()
        assertTrue(audit.textOf("annotation_0").endsWith("Đã đối chiếu với sổ họp giấy: sửa số người dự"))

        audit.tap("verify")
        phone.settle()
        assertTrue(audit.textOf("verify_result").startsWith("Nhật ký kiểm tra đúng:"))
        Screens.capture(audit, "audit")

        // The signed export, saved where she picks; it verifies with the phone's own key.
        val saved = export(phone, audit, "export_json")
        val signed = JSONObject(saved)
        val key = KeyFactory.getInstance("Ed25519").generatePublic(
            X509EncodedKeySpec(hex("302a300506032b6570032100") + s.store.devicePublicKey()),
        )
        val verifier = Signature.getInstance("Ed25519").apply {
            initVerify(key)
            update(signed.getString("document").toByteArray(Charsets.UTF_8))
        }
        assertTrue(verifier.verify(Base64.getDecoder().decode(signed.getString("signature"))), "the export's signature verifies")
        val doc = JSONObject(signed.getString("document"))
        assertTrue(doc.getBoolean("chain_verified"))
        assertEquals(s.auditorId, doc.getString("exported_by"))
        val actions = (0 until doc.getJSONArray("entries").length()).map { doc.getJSONArray("entries").getJSONObject(it).getString("action") }
        assertTrue("export" in actions.map { it.lowercase() }, actions.toString())

        val csv = export(phone, audit, "export_csv")
        assertTrue(csv.startsWith("seq,at,user_id,role,device_id,action,kind,record_id,fields"))
    }

    @Test
    @Config(qualifiers = "en")
    fun `in English`() {
        val phone = Phone()
        seed(phone)
        everyWaitingReferralOverdue()
        val audit = phone.open(AuditActivity::class.java)
        assertTrue(audit.textOf("verdict").startsWith("The audit trail is intact"))
        assertTrue(audit.textOf("late_0").endsWith("10 days after"), audit.textOf("late_0"))
        assertTrue(audit.has("overdue_1"))
        assertEquals("Vi Thị Hồng", audit.textOf("noconsent_0"))
        assertTrue(audit.textOf("trail_0").contains("field staff"), audit.textOf("trail_0"))
    }

    @Test
    @Config(qualifiers = "vi")
    fun `with the province's default thresholds nothing made today is overdue`() {
        val phone = Phone()
        seed(phone)
        val audit = phone.open(AuditActivity::class.java)
        assertTrue(audit.has("overdue_none"))
        assertTrue(audit.has("late_0"))
    }

    @Test
    @Config(qualifiers = "vi")
    fun `a deputy cannot open the trail`() {
        val phone = Phone()
        val store = phone.app.session.create(Seed.LEADER, Seed.PIN)
        val deputy = store.addUser(Seed.PIN, "Hà Thị Lan", UserRole.DEPUTY, "975310")
        phone.app.session.lock()
        phone.app.session.unlock(deputy.id, "975310")
        val audit = phone.open(AuditActivity::class.java)
        assertTrue(audit.has("forbidden"))
        assertFalse(audit.has("trail"))
    }

    /** Taps [button], picks a file in the system's save dialog, returns what was written. */
    private fun export(phone: Phone, audit: Activity, button: String): String {
        audit.tap(button)
        phone.settle()
        val asked = shadowOf(audit).nextStartedActivityForResult
        assertEquals(Intent.ACTION_CREATE_DOCUMENT, asked.intent.action)
        val uri = Uri.parse("content://documents/picked/$button")
        val out = ByteArrayOutputStream()
        shadowOf(audit.contentResolver).registerOutputStream(uri, out)
        shadowOf(audit).receiveResult(asked.intent, Activity.RESULT_OK, Intent().setData(uri))
        phone.settle()
        assertTrue(out.size() > 0)
        return out.toString(Charsets.UTF_8)
    }

    private fun hex(s: String) = ByteArray(s.length / 2) { s.substring(it * 2, it * 2 + 2).toInt(16).toByte() }
}
