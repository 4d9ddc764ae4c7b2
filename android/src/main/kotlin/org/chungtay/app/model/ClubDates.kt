package org.chungtay.app.model

import java.time.LocalDate
import java.time.format.DateTimeFormatter
import java.time.format.DateTimeParseException
import java.time.format.ResolverStyle

/** Dates as the club screens show them (dd/MM/yyyy) and as the core takes them (ISO). */
object ClubDates {
    private val shown = DateTimeFormatter.ofPattern("dd/MM/uuuu").withResolverStyle(ResolverStyle.STRICT)

    /** ISO (from the core) to dd/MM/yyyy; an unreadable value is shown as it came. */
    fun show(iso: String): String = try {
        LocalDate.parse(iso).format(shown)
    } catch (e: DateTimeParseException) {
        iso
    }

    fun show(date: LocalDate): String = date.format(shown)

    /** dd/MM/yyyy (also d/M/yyyy) as typed to ISO; null when it is not a date. */
    fun parse(typed: String): String? {
        val parts = typed.trim().split('/', '.', '-')
        if (parts.size != 3 || parts.any { p -> p.isEmpty() || p.any { !it.isDigit() } }) return null
        return try {
            LocalDate.of(parts[2].toInt(), parts[1].toInt(), parts[0].toInt()).takeIf { parts[2].length == 4 }?.toString()
        } catch (e: Exception) {
            null
        }
    }
}

/**
 * A field the user must correct: [field] is the core's field name (`full_name`, `date`...),
 * [reason] the reason code (`EMPTY`, `BAD_DATE`, `NOT_A_NUMBER`...). Screens show it beside the
 * field with that name.
 */
data class FieldError(val field: String, val reason: String)
