#if canImport(Glibc)
    import Glibc
#endif

/// Writes a rehashed password back into a passwd-file (issue 12 item 5): under `PATH.lock` (flock), the file is read
/// again, only the user's password field is replaced and only if it still holds the hash that was verified, and the
/// result replaces the file by temp file + rename with the old owner and mode. Every other byte stays as it was.
public enum PasswdFileRehash {
    public enum Outcome: Sendable, Equatable {
        case replaced
        /// The user's line is gone or holds another hash now (an admin edited it): nothing written.
        case changed
        /// This process may not create the lock or temp file, or keep the owner: ask the supervisor.
        case notPermitted(String)
        case failed(String)
    }

    /// A write done by someone else (the auth supervisor, which may write the configured files).
    public typealias Delegate = @Sendable (_ path: String, _ user: String, _ expected: String, _ replacement: String)
        -> Outcome

    /// Whether `text` can stand in a password field: non-empty, no ':' and no line break or NUL.
    public static func isFieldSafe(_ text: String) -> Bool {
        !text.isEmpty && !text.utf8.contains { $0 == UInt8(ascii: ":") || $0 == 10 || $0 == 13 || $0 == 0 }
    }

    /// `bytes` with the password field of `user`'s first line replaced; nil when that line is missing or its
    /// password is not `expected`. Comments, CRLF endings and the other fields are kept byte for byte.
    public static func replacing(in bytes: [UInt8], user: String, expected: String, replacement: String) -> [UInt8]? {
        guard isFieldSafe(replacement), !user.isEmpty else { return nil }
        let name = Array(user.utf8), old = Array(expected.utf8), colon = UInt8(ascii: ":")
        var start = 0
        while start <= bytes.count {
            let end = bytes[start...].firstIndex(of: 10) ?? bytes.count
            var line = bytes[start..<end]
            if line.last == 13 { line = line.dropLast() }
            let blank = line.drop { $0 == 32 || $0 == 9 }
            if !blank.isEmpty, blank.first != UInt8(ascii: "#"), line.count <= PasswdFileParser.maximumLineLength,
                let firstColon = line.firstIndex(of: colon), line[line.startIndex..<firstColon].elementsEqual(name)
            {
                // The parser keeps the first line of a user: so does the rewrite.
                let fieldStart = firstColon + 1
                let fieldEnd = line[fieldStart...].firstIndex(of: colon) ?? line.endIndex
                guard bytes[fieldStart..<fieldEnd].elementsEqual(old) else { return nil }
                return Array(bytes[..<fieldStart]) + Array(replacement.utf8) + Array(bytes[fieldEnd...])
            }
            start = end + 1
        }
        return nil
    }

    /// The locked read-replace-rename. Blocking: call it on the hashing pool (or in the supervisor).
    public static func rewrite(path: String, user: String, expected: String, replacement: String) -> Outcome {
        let lockPath = path + ".lock"
        let lock = open(lockPath, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0o600)
        guard lock >= 0 else { return failure("lock file \(lockPath)") }
        defer { close(lock) }
        while flock(lock, LOCK_EX) != 0 {
            guard errno == EINTR else { return failure("flock \(lockPath)") }
        }
        let input = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)
        guard input >= 0 else { return failure("open \(path)") }
        var info = stat()
        guard fstat(input, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG else {
            close(input)
            return .failed("\(path) is not a regular file")
        }
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let got = buffer.withUnsafeMutableBytes { read(input, $0.baseAddress, $0.count) }
            if got < 0 && errno == EINTR { continue }
            guard got >= 0 else {
                close(input)
                return failure("read \(path)")
            }
            if got == 0 { break }
            bytes += buffer[..<got]
        }
        close(input)
        guard let replaced = replacing(in: bytes, user: user, expected: expected, replacement: replacement) else {
            return .changed
        }
        let slash = path.lastIndex(of: "/")
        let directory = slash.map { String(path[..<$0]) } ?? "."
        let base = slash.map { String(path[path.index(after: $0)...]) } ?? path
        let temp = (directory.isEmpty ? "" : directory) + "/.\(base).rehash.\(getpid())"
        let output = open(temp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0o600)
        guard output >= 0 else { return failure("create \(temp)") }
        var done = false
        defer {
            if !done { unlink(temp) }
        }
        // Owner first (a chown may clear set-id bits), then the mode.
        guard fchown(output, info.st_uid, info.st_gid) == 0 else {
            let outcome = failure("keep the owner of \(path)")
            close(output)
            return outcome
        }
        guard fchmod(output, info.st_mode & 0o7777) == 0 else {
            let outcome = failure("keep the mode of \(path)")
            close(output)
            return outcome
        }
        var written = 0
        while written < replaced.count {
            let put = replaced[written...].withUnsafeBytes { write(output, $0.baseAddress, $0.count) }
            if put < 0 && errno == EINTR { continue }
            guard put > 0 else {
                let outcome = failure("write \(temp)")
                close(output)
                return outcome
            }
            written += put
        }
        guard fsync(output) == 0 else {
            let outcome = failure("fsync \(temp)")
            close(output)
            return outcome
        }
        close(output)
        guard rename(temp, path) == 0 else { return failure("rename to \(path)") }
        done = true
        let directoryFD = open(directory.isEmpty ? "/" : directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if directoryFD >= 0 {
            _ = fsync(directoryFD)
            close(directoryFD)
        }
        return .replaced
    }

    private static func failure(_ what: String) -> Outcome {
        let code = errno
        let message = "\(what): \(String(cString: strerror(code)))"
        return code == EACCES || code == EPERM || code == EROFS ? .notPermitted(message) : .failed(message)
    }
}
