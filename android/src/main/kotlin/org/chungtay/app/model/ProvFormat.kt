package org.chungtay.app.model

import java.time.Instant
import java.time.LocalDate
import java.time.ZoneId
import java.time.format.DateTimeFormatter

/** Dates and times as the prov screens show them: dd/MM/yyyy (and HH:mm), in the phone's zone. */
object ProvFormat {
    private val day = DateTimeFormatter.ofPattern("dd/MM/yyyy")
    private val dayTime = DateTimeFormatter.ofPattern("dd/MM/yyyy HH:mm")

    /** An instant from the core (epoch milliseconds). */
    fun time(millis: Long, zone: ZoneId = ZoneId.systemDefault()): String =
        dayTime.format(Instant.ofEpochMilli(millis).atZone(zone))

    /** A calendar date from the core (ISO text); shown as it came if it does not parse. */
    fun date(iso: String): String = runCatching { day.format(LocalDate.parse(iso)) }.getOrDefault(iso)

    fun date(d: LocalDate): String = day.format(d)

    /** The first characters of an id: enough to tell records apart on a screen. */
    fun shortId(id: String): String = id.take(8)
}
