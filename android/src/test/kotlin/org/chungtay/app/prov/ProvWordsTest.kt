package org.chungtay.app.prov

import android.content.Context
import org.robolectric.RuntimeEnvironment
import kotlin.test.assertEquals
import kotlin.test.assertTrue
import org.chungtay.app.ui.ProvWords
import org.chungtay.core.AuditAction
import org.chungtay.core.DamageReason
import org.chungtay.core.RecordKind
import org.chungtay.core.Recipient
import org.chungtay.core.ReferralState
import org.chungtay.core.SharedField
import org.chungtay.core.SupportService
import org.chungtay.core.Urgency
import org.chungtay.core.UserRole
import org.junit.Test
import org.junit.runner.RunWith
import org.chungtay.app.testing.AppTestRunner
import org.robolectric.annotation.Config

/** Every value of the core's enums the prov screens show has its word, in both languages, and they differ. */
@RunWith(AppTestRunner::class)
class ProvWordsTest {
    private fun words(): List<String> {
        val c: Context = RuntimeEnvironment.getApplication()
        return SupportService.entries.map { ProvWords.service(c, it) } + SharedField.entries.map { ProvWords.field(c, it) } +
            ReferralState.entries.map { ProvWords.state(c, it) } + Urgency.entries.map { ProvWords.urgency(c, it) } +
            Recipient.entries.map { ProvWords.recipient(c, it) } + AuditAction.entries.map { ProvWords.action(c, it) } +
            RecordKind.entries.map { ProvWords.kind(c, it) } + UserRole.entries.map { ProvWords.role(c, it) } +
            DamageReason.entries.map { ProvWords.damage(c, it) }
    }

    @Test
    @Config(qualifiers = "vi")
    fun vietnamese() {
        val w = words()
        assertTrue(w.all { it.isNotBlank() })
        assertEquals("Học nghề", w[SupportService.VOCATIONAL_TRAINING.ordinal])
        assertTrue(w.all { java.text.Normalizer.isNormalized(it, java.text.Normalizer.Form.NFC) })
    }

    @Test
    @Config(qualifiers = "en")
    fun english() {
        val w = words()
        assertEquals("Vocational training", w[SupportService.VOCATIONAL_TRAINING.ordinal])
    }
}
