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

    /// Dovecot's file_dotlock_open + file_dotlock_replace: under the lock the current file is read, `transform` makes the
    /// new contents, they are written into the lock file and it is renamed over the target (lock released in the same
    /// atomic step). `transform` returning nil means "no change": the lock is simply removed.
    static func update(
        _ path: String, durable: Bool, timeoutSeconds: Int, staleSeconds: Int64 = 30,
        transform: ([UInt8]?) throws(StorageError) -> [UInt8]?
    ) throws(StorageError) {
        let lockPath = path + ".lock"
        var changed = false
        try waitAndCreate(lockPath, timeoutSeconds: timeoutSeconds, staleSeconds: staleSeconds) { fd throws(StorageError) in
            guard let contents = try transform(try FS.readFile(path)) else { return }
            changed = true
            try FS.writeAll(fd, contents, path: lockPath)
            if durable { try FS.fsync(fd, path: lockPath) }
        }
        guard changed else {
            unlink(lockPath)
            return
        }
        do throws(StorageError) {
            try FS.rename(lockPath, to: path)
        } catch {
            unlink(lockPath)
            throw error
        }
        if durable { try FS.fsyncDirectory(FS.parentPath(path)) }
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
        guard let bytes = try? FS.readFile(lockPath), bytes.count < 512 else { return false }
        let text = String(decoding: bytes, as: UTF8.self)
        guard let colon = text.firstIndex(of: ":"), let pid = Int32(text[..<colon]) else { return false }
        guard text[text.index(after: colon)...] == FS.hostName else { return false }
        return kill(pid, 0) != 0 && errno == ESRCH
    }
}
