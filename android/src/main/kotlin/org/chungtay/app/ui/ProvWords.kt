package org.chungtay.app.ui

import android.content.Context

/**
 * The words for the core's enums on the prov screens: `prov_<group>_<enum name in lower case>`
 * in strings_prov.xml (a test checks every value has its word in both languages).
 */
object ProvWords {
    fun word(c: Context, group: String, value: Enum<*>): String {
        val id = c.resources.getIdentifier("prov_${group}_${value.name.lowercase()}", "string", c.packageName)
        check(id != 0) { "no word for $group ${value.name}" }
        return c.getString(id)
    }

    fun service(c: Context, v: Enum<*>) = word(c, "service", v)
    fun field(c: Context, v: Enum<*>) = word(c, "field", v)
    fun state(c: Context, v: Enum<*>) = word(c, "state", v)
    fun urgency(c: Context, v: Enum<*>) = word(c, "urgency", v)
    fun recipient(c: Context, v: Enum<*>) = word(c, "recipient", v)
    fun action(c: Context, v: Enum<*>) = word(c, "action", v)
    fun kind(c: Context, v: Enum<*>) = word(c, "kind", v)
    fun role(c: Context, v: Enum<*>?) = if (v == null) c.getString(org.chungtay.app.R.string.prov_role_none) else word(c, "role", v)
    fun damage(c: Context, v: Enum<*>) = word(c, "damage", v)
}
