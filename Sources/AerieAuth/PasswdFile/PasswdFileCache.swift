import Synchronization

#if canImport(Glibc)
    internal import Glibc
#elseif canImport(Darwin)
    internal import Darwin
#endif

struct PasswdFileListingError: Error {
    let message: String
}

/// Parsed passwd-files by path, re-read when size or mtime changes (checked at most once per second per file).
/// Blocking file I/O: call from `PasswordHashingPool`, never from an event loop.
final class PasswdFileCache: Sendable {
    static let maximumFileSize = 64 * 1024 * 1024
    /// Per-domain templates could otherwise grow the cache without bound.
    static let maximumCachedFiles = 10_000

    enum Lookup: Sendable, Equatable {
        case found(PasswdFileEntry)
        case notFound
        /// The file could not be read; the message names the path and errno, never contents.
        case failure(String)
    }

    private struct Loaded: Sendable {
        var entries: [String: PasswdFileEntry]
        var size: Int64
        var mtimeSeconds: Int
        var mtimeNanoseconds: Int
        var checkedAt: ContinuousClock.Instant
    }

    private let files = Mutex<[String: Loaded]>([:])
    private let now: @Sendable () -> ContinuousClock.Instant
    private let recheckInterval: Duration
    private let onProblems: @Sendable (String, [PasswdFileParser.Problem]) -> Void

    init(
        recheckInterval: Duration = .seconds(1),
        now: @escaping @Sendable () -> ContinuousClock.Instant = { ContinuousClock.now },
        onProblems: @escaping @Sendable (String, [PasswdFileParser.Problem]) -> Void = { _, _ in }
    ) {
        self.recheckInterval = recheckInterval
        self.now = now
        self.onProblems = onProblems
    }

    /// Looks `user` up in the file at `path`. `missingIsUnknown` treats a missing file as "no such user"
    /// (per-domain templates), otherwise as a failure.
    func lookup(user: String, path: String, missingIsUnknown: Bool) -> Lookup {
        let instant = now()
        if let cached = files.withLock({ $0[path] }), instant - cached.checkedAt < recheckInterval {
            return cached.entries[user].map(Lookup.found) ?? .notFound
        }
        var info = stat()
        guard stat(path, &info) == 0 else {
            let code = errno
            files.withLock { _ = $0.removeValue(forKey: path) }
            if code == ENOENT && missingIsUnknown { return .notFound }
            return .failure("passwd-file \(path): stat() failed: \(Self.describe(code))")
        }
        let size = Int64(info.st_size)
        let (seconds, nanoseconds) = Self.mtime(info)
        // Unchanged since the last read: only refresh the check time.
        let unchanged: [String: PasswdFileEntry]? = files.withLock { table in
            guard var cached = table[path], cached.size == size, cached.mtimeSeconds == seconds,
                cached.mtimeNanoseconds == nanoseconds
            else { return nil }
            cached.checkedAt = instant
            table[path] = cached
            return cached.entries
        }
        if let unchanged { return unchanged[user].map(Lookup.found) ?? .notFound }

        let bytes: [UInt8]
        switch Self.readFile(path: path) {
        case .success(let read): bytes = read
        case .failure(let message): return .failure(message)
        }
        let parsed = PasswdFileParser.parse(bytes)
        if !parsed.problems.isEmpty { onProblems(path, parsed.problems) }
        files.withLock { table in
            if table.count >= Self.maximumCachedFiles { table.removeAll() }
            table[path] = Loaded(
                entries: parsed.entries, size: size, mtimeSeconds: seconds, mtimeNanoseconds: nanoseconds,
                checkedAt: instant)
        }
        return parsed.entries[user].map(Lookup.found) ?? .notFound
    }

    /// Every user name of the file at `path`, sorted; `.failure` when it cannot be read.
    func userNames(path: String) -> Result<[String], PasswdFileListingError> {
        if case .failure(let message) = lookup(user: "", path: path, missingIsUnknown: false) {
            return .failure(PasswdFileListingError(message: message))
        }
        return .success((files.withLock { $0[path]?.entries.keys.map { $0 } } ?? []).sorted())
    }

    /// A stored password of the file (the smallest user name's with one), as a template for a dummy hash.
    func samplePassword(path: String) -> String? {
        _ = lookup(user: "", path: path, missingIsUnknown: true)
        guard let entries = files.withLock({ $0[path]?.entries }) else { return nil }
        return entries.filter { !$0.value.password.isEmpty }.min { $0.key < $1.key }?.value.password
    }

    private enum ReadResult {
        case success([UInt8])
        case failure(String)
    }

    /// Reads the whole file, refusing more than `maximumFileSize` bytes even if it grows while being read.
    private static func readFile(path: String) -> ReadResult {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return .failure("passwd-file \(path): open() failed: \(describe(errno))") }
        defer { close(fd) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 64 * 1024)
        while true {
            let count = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if count < 0 {
                if errno == EINTR { continue }
                return .failure("passwd-file \(path): read() failed: \(describe(errno))")
            }
            if count == 0 { break }
            bytes.append(contentsOf: chunk[0..<count])
            guard bytes.count <= maximumFileSize else {
                return .failure("passwd-file \(path): file larger than \(maximumFileSize) bytes")
            }
        }
        return .success(bytes)
    }

    private static func mtime(_ info: stat) -> (Int, Int) {
        #if canImport(Darwin)
            (Int(info.st_mtimespec.tv_sec), Int(info.st_mtimespec.tv_nsec))
        #else
            (Int(info.st_mtim.tv_sec), Int(info.st_mtim.tv_nsec))
        #endif
    }

    private static func describe(_ code: Int32) -> String {
        guard let message = strerror(code) else { return "errno \(code)" }
        return String(cString: message)
    }
}
