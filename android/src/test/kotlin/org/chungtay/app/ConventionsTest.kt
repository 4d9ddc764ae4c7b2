package org.chungtay.app

import java.io.File
import javax.xml.parsers.DocumentBuilderFactory
import kotlin.test.assertEquals
import kotlin.test.assertTrue
import org.junit.Test
import org.w3c.dom.Element

/**
 * The app's sources read as a reviewer would: both languages complete, no user-visible text in
 * code, no Android class in the presentation layer, no logging, and the manifest's protections.
 */
class ConventionsTest {
    private val main = File(System.getProperty("chungtay.source.dir") ?: "src/main")
    private val kotlin = File(main, "kotlin").walk().filter { it.extension == "kt" }.toList()

    private fun strings(dir: String): Map<String, Boolean> {
        val out = sortedMapOf<String, Boolean>()
        File(main, "res/$dir").listFiles { f -> f.name.startsWith("strings") && f.extension == "xml" }!!.forEach { f ->
            val doc = DocumentBuilderFactory.newInstance().newDocumentBuilder().parse(f)
            for (tag in listOf("string", "plurals", "string-array")) {
                val nodes = doc.getElementsByTagName(tag)
                for (i in 0 until nodes.length) {
                    val e = nodes.item(i) as Element
                    val name = e.getAttribute("name")
                    check(out.put(name, e.getAttribute("translatable") != "false") == null) { "$name defined twice in $dir" }
                }
            }
        }
        return out
    }

    @Test
    fun every_string_is_in_vietnamese_and_in_english() {
        val vi = strings("values")
        val en = strings("values-en")
        assertTrue(vi.size > 20, "found only ${vi.size} strings in values/")
        val missingInEnglish = vi.filter { it.value && it.key !in en }.keys
        val onlyInEnglish = en.keys - vi.keys
        assertEquals(emptySet(), missingInEnglish, "Vietnamese strings with no English")
        assertEquals(emptySet(), onlyInEnglish, "English strings with no Vietnamese (the default)")
    }

    @Test
    fun every_string_the_code_names_exists() {
        val vi = strings("values").keys
        val used = kotlin.flatMap { f -> Regex("""R\.string\.(\w+)""").findAll(f.readText()).map { it.groupValues[1] }.toList() }.toSet()
        assertTrue(used.isNotEmpty())
        assertEquals(emptySet(), used - vi)
        // Looking a string up by a name made at run time escapes this check: only ProvWords may,
        // for the core's enums, and its own test asks for every value's word in both languages.
        val byName = kotlin.filter { it.readText().contains("getIdentifier(") }.map { it.name }
        assertEquals(listOf("ProvWords.kt"), byName, "resources looked up by name")
    }

    @Test
    fun no_user_visible_text_is_written_in_code() {
        val call = Regex("""\b(label|heading|button|check|item|field|pinField|setText|setTitle|makeText|setMessage|setPositiveButton|setNegativeButton|setNeutralButton)\(\s*(this,\s*|context,\s*)?"([^"]*)"""")
        val assign = Regex("""\b(text|title|hint|contentDescription)\s*=\s*"([^"]*)"""")
        val found = kotlin.filter { "/ui/" in it.path }.flatMap { f ->
            f.readLines().withIndex().flatMap { (i, line) ->
                (call.findAll(line).map { it.groupValues[3] } + assign.findAll(line).map { it.groupValues[2] })
                    // Interpolated values are data (a name, a date), escapes are no words; other letters are.
                    .filter { s -> s.replace(Regex("""\$\{[^}]*\}|\$\w+|\\."""), "").any { it.isLetter() } }
                    .map { "${f.name}:${i + 1}: \"$it\"" }
            }
        }
        assertEquals(emptyList(), found, "user-visible text in code instead of res/values")
    }

    @Test
    fun the_presentation_layer_has_no_android_class() {
        val model = kotlin.filter { "/model/" in it.path }
        assertTrue(model.isNotEmpty())
        val offenders = model.filter { f -> f.readLines().any { it.startsWith("import android") } }.map { it.name }
        assertEquals(emptyList(), offenders)
    }

    @Test
    fun nothing_is_logged() {
        // Records must never reach logcat, which other apps with READ_LOGS and bug reports read.
        val offenders = kotlin.filter { f ->
            val t = f.readText()
            "android.util.Log" in t || Regex("""\bprintln\(|\bprintStackTrace\(""").containsMatchIn(t)
        }.map { it.name }
        assertEquals(emptyList(), offenders)
    }

    @Test
    fun the_manifest_keeps_data_on_the_phone_and_off_cleartext() {
        val doc = DocumentBuilderFactory.newInstance().apply { isNamespaceAware = true }.newDocumentBuilder()
            .parse(File(main, "AndroidManifest.xml"))
        val ns = "http://schemas.android.com/apk/res/android"
        val application = doc.getElementsByTagName("application").item(0) as Element
        assertEquals("false", application.getAttributeNS(ns, "allowBackup"))
        assertEquals("false", application.getAttributeNS(ns, "usesCleartextTraffic"))
        assertEquals("@xml/data_extraction_rules", application.getAttributeNS(ns, "dataExtractionRules"))
        assertEquals("@xml/network_security_config", application.getAttributeNS(ns, "networkSecurityConfig"))
        val netConfig = File(main, "res/xml/network_security_config.xml").readText()
        assertTrue("cleartextTrafficPermitted=\"false\"" in netConfig && "\"true\"" !in netConfig)
        val rules = File(main, "res/xml/data_extraction_rules.xml").readText()
        for (section in listOf("cloud-backup", "device-transfer")) {
            val body = rules.substringAfter("<$section>").substringBefore("</$section>")
            for (domain in listOf("root", "file", "database", "sharedpref", "external")) {
                assertTrue("domain=\"$domain\" path=\".\"" in body, "$section keeps $domain")
            }
        }
        // Only the launcher may be started by other apps.
        val activities = doc.getElementsByTagName("activity")
        val exported = (0 until activities.length).map { activities.item(it) as Element }
            .filter { it.getAttributeNS(ns, "exported") != "false" }
            .map { it.getAttributeNS(ns, "name") }
        assertEquals(listOf(".ui.StartActivity"), exported)
        val permissions = doc.getElementsByTagName("uses-permission")
        assertEquals(listOf("android.permission.INTERNET"), (0 until permissions.length).map { (permissions.item(it) as Element).getAttributeNS(ns, "name") })
    }
}
