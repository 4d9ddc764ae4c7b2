package org.chungtay.app.model

import java.io.File
import org.chungtay.core.KdfParams
import org.chungtay.ffi.ClubStore
import org.chungtay.ffi.DeviceKey

/**
 * The one store on this phone and how to reach it. Every method blocks (Argon2, SQLite): call
 * them through a [Worker], never on the UI thread. Holds no PIN and no record.
 */
class Session(
    /** The store file, in the app's no-backup folder. */
    val storePath: String,
    private val deviceKey: () -> DeviceKey,
    /** The PIN cost: calibrated once on the phone, the minimum in tests. */
    private val kdf: () -> KdfParams,
) {
    @Volatile
    private var opened: ClubStore? = null

    fun exists(): Boolean = File(storePath).exists()

    /** The store, opened (locked) on first use. */
    @Synchronized
    fun store(): ClubStore = opened ?: ClubStore.open(storePath, deviceKey()).also { opened = it }

    /** The open store if there is one, without touching the disk. */
    fun current(): ClubStore? = opened

    /**
     * Whether the store was last unlocked through this session and not locked since. Kept here
     * so the UI thread can ask without waiting on the store's lock (a sync may hold it for a
     * while); a call that finds the store locked anyway gets `Locked` and goes to the PIN pad.
     */
    @Volatile
    var unlocked: Boolean = false
        private set

    fun isUnlocked(): Boolean = unlocked && opened != null

    /** Unlocks as [userId]; a duress PIN unlocks too (the decoy), exactly like a real one. */
    fun unlock(userId: String, pin: String) {
        store().unlock(userId, pin)
        unlocked = true
    }

    @Synchronized
    fun create(displayName: String, pin: String): ClubStore {
        close()
        return ClubStore.create(storePath, deviceKey(), displayName, pin, kdf()).also {
            opened = it
            unlocked = true
        }
    }

    @Synchronized
    fun restore(backup: ByteArray, recoverySecret: String, newPin: String): ClubStore {
        close()
        return ClubStore.restore(backup, recoverySecret, storePath, deviceKey(), newPin, kdf())
            .also {
                opened = it
                unlocked = true
            }
    }

    /** Screens stop showing records at once; [lock] follows on the core's thread. */
    fun markLocked() {
        unlocked = false
    }

    /** Locks the store (the core drops every key); the file stays. */
    fun lock() {
        unlocked = false
        opened?.lock()
    }

    /** Frees the store; the next [store] opens the file again (after a wipe: a new empty one). */
    @Synchronized
    fun close() {
        unlocked = false
        opened?.close()
        opened = null
    }
}
