package org.chungtay.app.sec

import android.app.Activity
import android.content.Intent
import android.os.Looper
import org.chungtay.app.testing.Phone
import org.chungtay.core.ClubInput
import org.chungtay.core.ClubKind
import org.chungtay.core.Gender
import org.chungtay.core.MemberInput
import org.chungtay.core.MemberRole
import org.chungtay.core.SurvivorStatus
import org.chungtay.ffi.ClubStore
import org.robolectric.Shadows.shadowOf
import java.io.File

const val LEADER_PIN = "135792"
const val DURESS_PIN = "864209"

/** A club with three members, made through the core directly; returns the club id. */
fun seedClub(store: ClubStore): String {
    val club = store.addClub(ClubInput("CLB phụ nữ phòng, chống mua bán người bản Pù Nhi", ClubKind.ANTI_TRAFFICKING, "Thanh Hóa", "Pù Nhi", "Bản Pù Nhi", "Mường Lát"))
    for ((name, year) in listOf("Hà Thị Dung" to 1988, "Vi Thị Lan" to 2006, "Thao Thị Mỷ" to 1995)) {
        store.addMember(club.id, MemberInput(name, year, Gender.FEMALE, 3, "Bản Pù Nhi", null, MemberRole.MEMBER, SurvivorStatus.NOT_A_SURVIVOR, true))
    }
    return club.id
}

/** The leader's store with a seeded club, then locked as it is after the phone slept. */
fun Phone.seededAndLocked(): String {
    val clubId = seedClub(app.session.create("Lò Thị Mai", LEADER_PIN))
    app.session.lock()
    return clubId
}

/** The Intent the screen started last (not started for real), or null. */
fun Activity.startedIntent(): Intent? = shadowOf(this).nextStartedActivity

fun Activity.startedClass(): String? = startedIntent()?.component?.className

/**
 * Hands a document picker's answer to the screen, as the system picker would after the user
 * chose [file]: a content Uri of the documents provider, its streams backed by [file] (the
 * framework's own file Uris need JVM module opens this build does not give Robolectric).
 */
fun Activity.pickerAnswers(file: File) {
    val req = shadowOf(this).nextStartedActivityForResult ?: error("no picker was opened")
    val uri = android.net.Uri.parse("content://com.android.externalstorage.documents/document/primary%3A" + file.name)
    val resolver = shadowOf(contentResolver)
    resolver.registerInputStreamSupplier(uri) { file.inputStream() }
    resolver.registerOutputStreamSupplier(uri) { file.outputStream() }
    shadowOf(this).receiveResult(req.intent, Activity.RESULT_OK, Intent().setData(uri))
    shadowOf(Looper.getMainLooper()).idle()
}

fun isMainThread(t: Thread) = t === Looper.getMainLooper().thread
