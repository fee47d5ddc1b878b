/// Thin Glibc wrappers: the durability steps (O_EXCL, fsync, rename, directory fsync) stay visible at call sites.
import Glibc
import Synchronization

func errnoText(_ code: Int32) -> String {
    guard let text = strerror(code) else { return "unknown error" }
    return String(cString: text)
}

/// Counters the tests read to prove an open of a mailbox did not touch message files.
/// Counted per watched directory, so tests running in parallel cannot disturb each other's counts.
enum StorageTestHooks {
    enum Event: Hashable, Sendable { case messageFileOpen, messageFileStat, directoryScan, indexRead, uidlistRead }

    private static let active = Atomic<Bool>(false)
    private static let counts = Mutex<[String: [Event: Int]]>([:])

    /// Counts events under `root` from now on; nothing is recorded for directories nobody watches.
    static func watch(_ root: String) {
        counts.withLock { $0[root] = [:] }
        active.store(true, ordering: .relaxed)
    }

    static func count(_ event: Event, under root: String) -> Int {
        counts.withLock { $0[root]?[event] ?? 0 }
    }

    static func record(_ event: Event, path: String) {
        guard active.load(ordering: .relaxed) else { return }
        counts.withLock { table in
            for root in table.keys where path.hasPrefix(root) { table[root]![event, default: 0] += 1 }
        }
    }
}

/// A pthread mutex; Mailbox state is guarded by one so two sessions in one process can share the class safely.
final class PosixMutex: @unchecked Sendable {
    private let mutex: UnsafeMutablePointer<pthread_mutex_t>

    init() {
        mutex = .allocate(capacity: 1)
        mutex.initialize(to: pthread_mutex_t())
        pthread_mutex_init(mutex, nil)
    }

    deinit {
        pthread_mutex_destroy(mutex)
        mutex.deallocate()
    }

    func run<T, E: Error>(_ body: () throws(E) -> T) throws(E) -> T {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        return try body()
    }
}

struct FileStat: Equatable {
    var inode: UInt64
    var size: Int
    /// Nanoseconds since the epoch; directories are compared at this resolution.
    var mtimeNs: Int64
    var isDirectory: Bool

    var mtimeSeconds: Int64 { mtimeNs / 1_000_000_000 }
}

func nowSeconds() -> Int64 { Int64(time(nil)) }

func monotonicNanoseconds() -> Int64 {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Int64(ts.tv_sec) * 1_000_000_000 + Int64(ts.tv_nsec)
}

func nowNanoseconds() -> Int64 {
    var ts = timespec()
    clock_gettime(CLOCK_REALTIME, &ts)
    return Int64(ts.tv_sec) * 1_000_000_000 + Int64(ts.tv_nsec)
}

private func systemStat(_ path: String, _ st: inout stat) -> Int32 { stat(path, &st) }

enum FS {
    static func ioError(_ path: String, _ code: Int32 = errno) -> StorageError { .io(path: path, errno: code) }

    static func stat(_ path: String) -> FileStat? {
        var st = Glibc.stat()
        guard systemStat(path, &st) == 0 else { return nil }
        return FileStat(
            inode: UInt64(st.st_ino), size: Int(st.st_size),
            mtimeNs: Int64(st.st_mtim.tv_sec) * 1_000_000_000 + Int64(st.st_mtim.tv_nsec),
            isDirectory: (st.st_mode & S_IFMT) == S_IFDIR)
    }

    static func exists(_ path: String) -> Bool { access(path, F_OK) == 0 }

    static func isDirectory(_ path: String) -> Bool { stat(path)?.isDirectory ?? false }

    /// mkdir with the final mode; returns false when it already existed.
    @discardableResult
    static func makeDirectory(_ path: String) throws(StorageError) -> Bool {
        if mkdir(path, 0o700) == 0 { return true }
        if errno == EEXIST { return false }
        throw ioError(path)
    }

    /// mkdir -p, every component 0700.
    static func makeDirectories(_ path: String) throws(StorageError) {
        if isDirectory(path) { return }
        let parent = parentPath(path)
        if !parent.isEmpty && parent != path { try makeDirectories(parent) }
        try makeDirectory(path)
    }

    static func parentPath(_ path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "" }
        if slash == path.startIndex { return "/" }
        return String(path[..<slash])
    }

    /// Creates a new file that must not exist yet (O_EXCL), mode 0600 from the start.
    static func createExclusive(_ path: String) throws(StorageError) -> Int32 {
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        if fd < 0 { throw ioError(path) }
        return fd
    }

    static func writeAll(_ fd: Int32, _ bytes: [UInt8], path: String) throws(StorageError) {
        var offset = 0
        while offset < bytes.count {
            let written = bytes.withUnsafeBytes { raw in
                Glibc.write(fd, raw.baseAddress! + offset, raw.count - offset)
            }
            if written < 0 {
                if errno == EINTR { continue }
                throw ioError(path)
            }
            offset += written
        }
    }

    static func fsync(_ fd: Int32, path: String) throws(StorageError) {
        if Glibc.fsync(fd) != 0 { throw ioError(path) }
    }

    /// Makes a rename or create inside `path` durable.
    static func fsyncDirectory(_ path: String) throws(StorageError) {
        let fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if fd < 0 { throw ioError(path) }
        defer { close(fd) }
        if Glibc.fsync(fd) != 0 { throw ioError(path) }
    }

    /// Whole file, or nil when it does not exist.
    static func readFile(_ path: String) throws(StorageError) -> [UInt8]? {
        try readFile(path, from: 0)
    }

    /// `name` inside the directory open as `directory` (no path walk from the root for every message).
    static func readFile(_ name: String, in directory: Int32, path: @autoclosure () -> String) throws(StorageError)
        -> [UInt8]?
    {
        guard let opened = try openForReading(name, in: directory, path: path()) else { return nil }
        return try read(opened, from: 0, path: path())
    }

    static func readFile(_ path: String, from offset: Int) throws(StorageError) -> [UInt8]? {
        guard let opened = try openForReading(path, path: path) else { return nil }
        return try read(opened, from: offset, path: path)
    }

    /// The first `limit` octets at most (a file that may be huge), or nil when it does not exist.
    static func readFile(_ path: String, atMost limit: Int) throws(StorageError) -> [UInt8]? {
        guard let opened = try openForReading(path, path: path) else { return nil }
        return try read(opened, from: 0, atMost: limit, path: path)
    }

    /// A file of a mail directory (index, uidlist, keywords, lock...): a symlink or something other than a regular
    /// file there counts as missing (logged once), so it is rebuilt by a rename over it, never read through.
    private static func openForReading(_ name: String, in directory: Int32 = AT_FDCWD, path: String)
        throws(StorageError) -> OpenedFile?
    {
        switch openRegular(name, in: directory) {
        case .success(let opened):
            return opened
        case .failure(.unreadable(let code)):
            throw ioError(path, code)
        case .failure(let unusable):
            StorageLog.skipped(path, unusable.description)
            return nil
        }
    }

    /// Reads an open file from `offset` to the size fstat gave when it was opened (never further: a file that grows
    /// is read to its new end next time), or to `limit` octets, and closes it.
    static func read(_ opened: OpenedFile, from offset: Int, atMost limit: Int = .max, path: String)
        throws(StorageError) -> [UInt8]
    {
        let fd = opened.fd
        defer { close(fd) }
        let wanted = min(max(0, limit), max(0, opened.size - offset))
        var failure: Int32 = 0
        // Read straight into the result (no zeroed bounce buffer).
        let result = [UInt8](unsafeUninitializedCapacity: wanted) { buffer, initialized in
            var filled = 0
            while filled < buffer.count {
                let count = pread(fd, buffer.baseAddress! + filled, buffer.count - filled, off_t(offset + filled))
                if count < 0 {
                    if errno == EINTR { continue }
                    failure = errno
                    break
                }
                if count == 0 { break }  // truncated meanwhile
                filled += count
            }
            initialized = filled
        }
        if failure != 0 { throw ioError(path, failure) }
        return result
    }

    /// Writes `bytes` to a fresh temp file beside `path`, fsyncs it and renames it over `path`.
    static func writeAtomically(_ path: String, _ bytes: [UInt8], durable: Bool) throws(StorageError) {
        let temp = "\(path).\(getpid()).\(UniqueCounter.next()).tmp"
        let fd = try createExclusive(temp)
        do throws(StorageError) {
            try writeAll(fd, bytes, path: temp)
            if durable { try fsync(fd, path: temp) }
            close(fd)
            try rename(temp, to: path)
        } catch {
            close(fd)
            unlink(temp)
            throw error
        }
        if durable { try fsyncDirectory(parentPath(path)) }
    }

    static func rename(_ from: String, to: String) throws(StorageError) {
        if Glibc.rename(from, to) != 0 { throw ioError(from) }
    }

    /// Directory entry names except "." and ".."; nil if the directory is missing.
    static func listDirectory(_ path: String) throws(StorageError) -> [(name: String, isDirectory: Bool?)]? {
        guard let dir = opendir(path) else {
            if errno == ENOENT || errno == ENOTDIR { return nil }
            throw ioError(path)
        }
        defer { closedir(dir) }
        var names: [(name: String, isDirectory: Bool?)] = []
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: &entry.pointee.d_name) { raw in
                String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
            }
            if name == "." || name == ".." { continue }
            let type = entry.pointee.d_type
            let isDir: Bool? = type == UInt8(DT_DIR) ? true : (type == UInt8(DT_UNKNOWN) || type == UInt8(DT_LNK) ? nil : false)
            names.append((name, isDir))
        }
        return names
    }

    /// The host name as it appears in Maildir file names ('/' and ':' escaped as Dovecot does).
    static let hostName: String = {
        var buffer = [CChar](repeating: 0, count: 256)
        gethostname(&buffer, buffer.count - 1)
        let raw = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        var escaped = ""
        for ch in raw {
            switch ch {
            case "/": escaped += "\\057"
            case ":": escaped += "\\072"
            default: escaped.append(ch)
            }
        }
        return escaped.isEmpty ? "localhost" : escaped
    }()
}

/// Process-wide counter for unique temp names.
enum UniqueCounter {
    private static let value = Atomic<UInt64>(0)
    static func next() -> UInt64 { value.add(1, ordering: .relaxed).newValue }
}

/// Random 128-bit GUIDs as 32 hex digits (mailbox GUIDs in dovecot-uidlist).
func randomGUIDHex() -> String {
    var generator = SystemRandomNumberGenerator()
    var text = ""
    for _ in 0..<16 {
        let byte = UInt8.random(in: 0...255, using: &generator)
        text += String(byte >> 4, radix: 16) + String(byte & 0xF, radix: 16)
    }
    return text
}

extension Array where Element == UInt8 {
    init(utf8 string: String) { self = Array(string.utf8) }
}

/// Splits bytes into lines (without the newline); a final line with no newline is reported separately.
func splitLines(_ bytes: [UInt8]) -> (lines: [Substring], partialTail: Bool) {
    let text = String(decoding: bytes, as: UTF8.self)
    var lines = text.split(separator: "\n", omittingEmptySubsequences: false)
    let partial = !(lines.last?.isEmpty ?? true)
    if !partial { lines.removeLast() }
    return (lines, partial)
}
