package org.chungtay.app.prov

import java.io.File
import java.nio.file.Files
import java.time.LocalDate
import java.time.YearMonth
import java.time.ZoneOffset
import kotlin.test.assertEquals
import kotlin.test.assertFalse
import kotlin.test.assertNull
import kotlin.test.assertTrue
import org.chungtay.app.model.Audit
import org.chungtay.app.model.Outbox
import org.chungtay.app.model.ReferralForm
import org.chungtay.app.model.Referrals
import org.chungtay.app.model.Reports
import org.chungtay.app.model.SyncProgress
import org.chungtay.app.model.Who
import org.chungtay.app.testing.SoftwareDeviceKey
import org.chungtay.core.ChungTayException
import org.chungtay.core.OutboxState
import org.chungtay.core.ReferralState
import org.chungtay.core.SharedField
import org.chungtay.core.SupportService
import org.chungtay.core.UserRole
import org.chungtay.ffi.ClubStore
import org.chungtay.ffi.defaultOverdueThresholds
import org.chungtay.ffi.minimumKdf
import org.junit.After
import org.junit.Test

/** The prov presentation layer on the plain JVM, with the real core. */
class ProvModelTest {
    private val dir: File = Files.createTempDirectory("prov-model").toFile()
    private val store: ClubStore = ClubStore.create(
        File(dir, "club.db").path, SoftwareDeviceKey(File(dir, "key")).ensure(), Seed.LEADER, Seed.PIN, minimumKdf(),
    )

    @After
    fun close() {
        store.close()
        dir.deleteRecursively()
    }

    @Test
    fun `a referral offers only what the consent allows and the core refuses the rest`() {
        val club = Seed.club(store)
        val xuan = Seed.returnee(store, club)
        val form = ReferralForm(store.memberDetail(xuan.id))
        assertEquals(listOf(SupportService.VOCATIONAL_TRAINING, SupportService.LOANS), form.offeredServices())
        assertEquals(listOf(SharedField.NAME, SharedField.BIRTH_YEAR, SharedField.COMMUNE, SharedField.NEED), form.offeredFields())
        assertEquals(listOf(ReferralForm.Missing.SERVICE, ReferralForm.Missing.FIELD), form.missing())

        form.services += listOf(SupportService.VOCATIONAL_TRAINING, SupportService.LOANS)
        form.fields += listOf(SharedField.NAME, SharedField.BIRTH_YEAR, SharedField.COMMUNE, SharedField.NEED)
        form.note = "Muốn học may và vay vốn nhỏ"
        assertTrue(form.missing().isEmpty())
        val r = store.createReferral(form.input())
        assertEquals(ReferralState.READY, store.markReferralReady(r.id).state)

        // Her story was not consented: a referral that carries it anyway is refused at "ready".
        val sneaky = store.createReferral(form.input().copy(sharedFields = listOf(SharedField.NAME, SharedField.STORY)))
        val e = runCatching { store.markReferralReady(sneaky.id) }.exceptionOrNull()
        assertTrue(e is ChungTayException.Invalid && e.field == "consent", "got $e")

        val found = Referrals.find(store, xuan.id, r.id)!!
        val steps = Referrals.steps(found, store.users())
        assertEquals(listOf(ReferralState.DRAFT, ReferralState.READY), steps.map { it.state })
        assertEquals(Who.User(UserRole.LEADER, store.currentUser().id.take(8)), steps.first().by)
        assertTrue(Referrals.canSend(found))
        assertNull(Referrals.latestNote(found))
    }

    @Test
    fun `a member without consent gets no form to fill`() {
        val club = Seed.club(store)
        val m = Seed.member(store, club, "Hà Thị Lan", 1990)
        val form = ReferralForm(store.memberDetail(m.id))
        assertTrue(form.consents.isEmpty())
        assertEquals(ReferralForm.Missing.CONSENT, form.missing().first())
    }

    @Test
    fun `outbox rows show tries and the next try, and a sync without enrollment is refused`() {
        // Without enrollment the referral cannot be sealed: the core says so, nothing is queued.
        val club = Seed.club(store)
        val xuan = Seed.returnee(store, club)
        val form = ReferralForm(store.memberDetail(xuan.id))
        form.services += SupportService.LOANS
        form.fields += SharedField.NAME
        val r = store.markReferralReady(store.createReferral(form.input()).id)
        assertTrue(runCatching { store.queueReferral(r.id) }.exceptionOrNull() is ChungTayException.Invalid)
        assertTrue(Outbox.rows(store.outbox()).isEmpty())

        Province().use { p ->
            store.enrollExpecting(p.url, p.code, null, p.fingerprint)
            store.queueReferral(r.id)
            val rows = Outbox.rows(store.outbox())
            assertEquals(1, rows.size)
            assertEquals(OutboxState.PENDING, rows[0].state)
            assertEquals(0, rows[0].attempts)
            assertTrue(rows[0].nextTry!!.matches(Regex("\\d\\d/\\d\\d/\\d{4} \\d\\d:\\d\\d")))
            // The listener only posts: here to a list the test reads once the sync is back.
            val posted = mutableListOf<Runnable>()
            val shown = mutableListOf<Pair<Int, Int>>()
            val s = Outbox.summary(store.sync(true, SyncProgress({ synchronized(posted) { posted += it } }) { d, t -> shown += d to t }))
            posted.forEach { it.run() }
            assertEquals(listOf(0 to 1, 1 to 1), shown)
            assertEquals(1, s.sent)
            assertFalse(s.network)
            assertEquals(listOf(r.id), p.referralIds())
            assertEquals(OutboxState.SENT, Outbox.rows(store.outbox()).single().state)
            assertNull(Outbox.rows(store.outbox()).single().nextTry)
        }
    }

    @Test
    fun `audit rows count late edits by the calendar and list the trail newest first`() {
        assertEquals(10, Audit.calendarDaysAfter("2026-11-23", LocalDate.of(2026, 12, 3).atTime(9, 0).toInstant(ZoneOffset.UTC).toEpochMilli(), ZoneOffset.UTC))
        val club = Seed.club(store)
        val lan = Seed.member(store, club, "Hà Thị Lan", 1990)
        val held = LocalDate.now().minusDays(10)
        val m = Seed.meeting(store, club, held, listOf(lan.id))
        store.updateMeeting(m.id, m.info.copy(guestCount = 3))
        val rep = Audit.load(store, defaultOverdueThresholds())
        assertTrue(rep.verified)
        assertEquals(1, rep.lateEdits.size)
        assertEquals(10, rep.lateEdits[0].daysAfter)
        assertEquals(listOf("Hà Thị Lan"), rep.withoutConsent.map { it.memberName })
        val trail = Audit.trail(store.auditEntries())
        assertTrue(trail.zipWithNext().all { (a, b) -> a.seq > b.seq })
        assertEquals("chungtay-audit-2026-12-03.json", Audit.exportName(LocalDate.of(2026, 12, 3), csv = false))
    }

    @Test
    fun `report tables follow the language and the default month is the previous one`() {
        assertEquals(YearMonth.of(2026, 11), Reports.defaultMonth(LocalDate.of(2026, 12, 3)))
        assertEquals(YearMonth.of(2025, 12), Reports.defaultMonth(LocalDate.of(2026, 1, 15)))
        assertEquals("11/2026", Reports.monthText(YearMonth.of(2026, 11)))
        val club = Seed.club(store)
        val ids = Seed.names.take(3).mapIndexed { i, n -> Seed.member(store, club, n, 1980 + i).id }
        val month = YearMonth.now()
        Seed.meeting(store, club, month.atDay(1), ids)
        val v = store.monthlyReport(club, month.year, month.monthValue)
        val vi = Reports.tables(v, english = false)
        val en = Reports.tables(v, english = true)
        assertEquals(v.tables.map { it.titleVi }, vi.map { it.title })
        assertEquals(v.tables.map { it.titleEn }, en.map { it.title })
        assertTrue(vi.flatMap { it.rows }.any { it.second == "<5" })
        assertTrue(Reports.looksLikeXlsx(v.xlsx))
    }
}
