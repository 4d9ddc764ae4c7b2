package org.chungtay.app.model

import org.chungtay.core.Club
import org.chungtay.core.ClubInput
import org.chungtay.core.ClubKind
import org.chungtay.core.Permission
import org.chungtay.ffi.ClubStore

/** The home screen: the clubs on this phone and what the unlocked role may open. */
class HomeModel(private val worker: Worker) {
    var clubs: List<Club> = emptyList()
        private set
    var mayAudit = false
        private set
    var maySync = false
        private set
    var mayWrite = false
        private set

    fun load(store: ClubStore, done: (Result<Unit>) -> Unit) {
        worker.run({
            Loaded(store.clubs(), store.may(Permission.READ_AUDIT), store.may(Permission.SYNC), store.may(Permission.WRITE_RECORDS))
        }) { r ->
            r.onSuccess {
                clubs = it.clubs
                mayAudit = it.audit
                maySync = it.sync
                mayWrite = it.write
            }
            done(r.map { })
        }
    }

    private class Loaded(val clubs: List<Club>, val audit: Boolean, val sync: Boolean, val write: Boolean)

    companion object {
        /** The new club as typed; blanks of optional fields become null. */
        fun clubInput(name: String, kind: ClubKind, province: String, commune: String, village: String, formerDistrict: String) =
            ClubInput(name.trim(), kind, province.trim(), commune.trim(), village.trim().ifEmpty { null }, formerDistrict.trim().ifEmpty { null })
    }
}
