/// Dovecot-compatible dotlocks (`<file>.lock`), so Aerie and a Dovecot process on the same tree serialise their writers.
import Glibc

struct DotLock {
    let lockPath: String

    /// Dovecot's MAILDIR_UIDLIST_LOCK_STALE_TIMEOUT: a lock untouched this long is overridden.
    static let defaultStaleSeconds: Int64 = 120
    /// Dovecot's STALE_PID_CHECK_SECS: a younger lock is not checked for a dead owner (its pid may not be written yet).
    static let pidCheckAfterSeconds: Int64 = 2

    /// Takes `<path>.lock` with O_EXCL; the lock holds "pid:host" as Dovecot's file_dotlock_create writes it.
    static func acquire(
        for path: String, timeoutSeconds: Int, staleSeconds: Int64 = defaultStaleSeconds
    ) throws(StorageError) -> DotLock {
        let lockPath = path + ".lock"
        try waitAndCreate(lockPath, timeoutSeconds: timeoutSeconds, staleSeconds: staleSeconds) { fd throws(StorageError) in
            try FS.writeAll(fd, Array(utf8: "\(getpid()):\(FS.hostName)"), path: lockPath)
        }
        return DotLock(lockPath: lockPath)
    }

    func release() {
        unlink(lockPath)
    }

    /// Replaces `path` under `<path>.lock`: `transform` maps the current contents to the new ones (nil: no change).
    /// The lock always holds "pid:host" — never file data — so a writer killed mid-update leaves a lock that the
    /// next writer sees is dead at once, instead of waiting out the stale timeout; the new contents go through a
    /// temp file renamed over `path` (atomic for readers), then the lock is removed.
    static func update(
        _ path: String, durable: Bool, timeoutSeconds: Int, staleSeconds: Int64 = 30,
        transform: ([UInt8]?) throws(StorageError) -> [UInt8]?
    ) throws(StorageError) {
        let lock = try acquire(for: path, timeoutSeconds: timeoutSeconds, staleSeconds: staleSeconds)
        defer { lock.release() }
        guard let contents = try transform(try FS.readFile(path)) else { return }
        try FS.writeAtomically(path, contents, durable: durable)
    }

    private static func waitAndCreate(
        _ lockPath: String, timeoutSeconds: Int, staleSeconds: Int64, fill: (Int32) throws(StorageError) -> Void
    ) throws(StorageError) {
        let deadline = nowNanoseconds() + Int64(timeoutSeconds) * 1_000_000_000
        var delayMicros: UInt32 = 500
        while true {
            let fd = open(lockPath, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
            if fd >= 0 {
                do throws(StorageError) {
                    try fill(fd)
                } catch {
                    close(fd)
                    unlink(lockPath)
                    throw error
                }
                close(fd)
                return
            }
            let code = errno
            guard code == EEXIST else { throw FS.ioError(lockPath, code) }
            if isStale(lockPath, staleSeconds: staleSeconds) {
                unlink(lockPath)
                continue
            }
            if nowNanoseconds() >= deadline { throw StorageError.lockTimeout(lockPath) }
            usleep(delayMicros)
            delayMicros = min(delayMicros * 2, 50_000)
        }
    }

    /// Stale when untouched for `staleSeconds`, or when it names a dead process on this host (a crashed writer).
    static func isStale(_ lockPath: String, staleSeconds: Int64) -> Bool {
        guard let st = FS.stat(lockPath) else { return false }
        let age = nowSeconds() - st.mtimeSeconds
        if age >= staleSeconds { return true }
        guard age >= pidCheckAfterSeconds || st.size > 0 else { return false }
        guard let bytes = try? FS.readFile(lockPath, atMost: 512), bytes.count < 512 else { return false }
        // The owner writes its pid right after creating the lock: an empty lock this old belongs to a writer that died
        // in between (a SIGKILL), not to a live one.
        if bytes.isEmpty { return age >= pidCheckAfterSeconds }
        let text = String(decoding: bytes, as: UTF8.self)
        guard let colon = text.firstIndex(of: ":"), let pid = Int32(text[..<colon]) else { return false }
        guard text[text.index(after: colon)...] == FS.hostName else { return false }
        return kill(pid, 0) != 0 && errno == ESRCH
    }
}
