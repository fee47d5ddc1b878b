/// Opening files someone else can write into: a Maildir's owner (or anyone sharing the mail uid) may leave symlinks,
/// FIFOs, devices and unreadable files among the messages. Mail code opens them without following a final symlink and
/// without blocking, takes regular files only, reads no more than fstat says they hold, and leaves out what it cannot
/// read (logged once per file) instead of failing the mailbox.
public import AerieCore
import Glibc
import Synchronization

/// Where storage reports a file it left out; the server installs its log at start (tests and tools discard).
public enum StorageLog {
    private static let state = Mutex<(sink: (any LogSink)?, reported: Set<String>)>((nil, []))
    /// Paths remembered as reported; past this the set starts over (a file is then reported once more at most).
    static let reportedLimit = 4096

    public static func install(_ sink: any LogSink) {
        state.withLock { $0.sink = sink }
    }

    /// Logs `reason` for `path` the first time only: a bad file in cur/ must not write a line per sync or FETCH.
    /// Returns whether this call logged it.
    @discardableResult
    static func skipped(_ path: String, _ reason: String) -> Bool {
        let sink = state.withLock { state -> (any LogSink)? in
            if state.reported.contains(path) { return nil }
            if state.reported.count >= reportedLimit { state.reported.removeAll() }
            state.reported.insert(path)
            return state.sink ?? DiscardingLogSink()
        }
        guard let sink else { return false }
        sink.error("mail", "Maildir file \(path) left out: \(reason)")
        return true
    }

    static func wasReported(_ path: String) -> Bool { state.withLock { $0.reported.contains(path) } }
}

/// Why a file in a mailbox is not used.
enum UnusableFile: Error, Equatable, CustomStringConvertible {
    case symlink
    case notRegular(mode_t)
    case unreadable(Int32)

    var description: String {
        switch self {
        case .symlink: "it is a symbolic link (never followed)"
        case .notRegular(let mode): "it is not a regular file (\(Self.kind(mode)))"
        case .unreadable(let code): "it cannot be read: \(errnoText(code))"
        }
    }

    /// The errno a caller that needs the file sees.
    var errno: Int32 {
        switch self {
        case .symlink: ELOOP
        case .notRegular(let mode): (mode & S_IFMT) == S_IFDIR ? EISDIR : EINVAL
        case .unreadable(let code): code
        }
    }

    static func kind(_ mode: mode_t) -> String {
        switch mode & S_IFMT {
        case S_IFDIR: "directory"
        case S_IFIFO: "FIFO"
        case S_IFSOCK: "socket"
        case S_IFCHR: "character device"
        case S_IFBLK: "block device"
        case S_IFLNK: "symbolic link"
        default: "mode \(String(mode, radix: 8))"
        }
    }
}

/// A regular file open for reading, with the size it had when opened: reads never go past it.
struct OpenedFile {
    var fd: Int32
    var size: Int
}

extension FS {
    /// Flags for every read of a file in a mail directory: no final symlink, no blocking open of a FIFO.
    static let confinedReadFlags = O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY

    /// Opens `name` in `directory` (an open directory, or AT_FDCWD with a path) as a regular file.
    /// `.success(nil)` when it does not exist; `.failure` when it exists but is no file to read.
    static func openRegular(_ name: String, in directory: Int32 = AT_FDCWD) -> Result<OpenedFile?, UnusableFile> {
        var fd: Int32
        repeat { fd = openat(directory, name, confinedReadFlags) } while fd < 0 && errno == EINTR
        if fd < 0 {
            let code = errno
            if code == ENOENT || code == ENOTDIR { return .success(nil) }
            if code == ELOOP { return .failure(.symlink) }
            return .failure(.unreadable(code))
        }
        var st = Glibc.stat()
        guard fstat(fd, &st) == 0 else {
            let code = errno
            close(fd)
            return .failure(.unreadable(code))
        }
        guard (st.st_mode & S_IFMT) == S_IFREG else {
            close(fd)
            return .failure(.notRegular(st.st_mode))
        }
        // Reads block as for any regular file (O_NONBLOCK only kept the open from waiting on a FIFO).
        // F_SETFL sets only the status flags (O_APPEND, O_NONBLOCK, ...), and none of the others was asked for: one
        // call, no F_GETFL first.
        _ = fcntl(fd, F_SETFL, 0)
        return .success(OpenedFile(fd: fd, size: max(0, Int(st.st_size))))
    }

    /// A message file for reading: nil when it is gone (renamed or expunged meanwhile); an I/O error, logged once,
    /// when it is there but is a symlink, no regular file, or unreadable.
    static func openMessageFile(_ name: String, in directory: Int32, path: @autoclosure () -> String)
        throws(StorageError) -> OpenedFile?
    {
        switch openRegular(name, in: directory) {
        case .success(let opened):
            return opened
        case .failure(let unusable):
            let path = path()
            StorageLog.skipped(path, unusable.description)
            throw ioError(path, unusable.errno)
        }
    }

    /// Whether a file found in cur/ or new/ may become a message, without opening it (a scan must not read message
    /// files): a regular file, not a symlink, that this process may read. Its stat when it may.
    static func messageFileStatus(_ path: String) -> Result<FileStat, UnusableFile>? {
        var st = Glibc.stat()
        guard lstat(path, &st) == 0 else { return nil }  // vanished meanwhile
        let type = st.st_mode & S_IFMT
        if type == S_IFLNK { return .failure(.symlink) }
        guard type == S_IFREG else { return .failure(.notRegular(st.st_mode)) }
        if faccessat(AT_FDCWD, path, R_OK, AT_EACCESS) != 0 {
            if errno == ENOENT { return nil }
            return .failure(.unreadable(errno))
        }
        return .success(
            FileStat(
                inode: UInt64(st.st_ino), size: Int(st.st_size),
                mtimeNs: Int64(st.st_mtim.tv_sec) * 1_000_000_000 + Int64(st.st_mtim.tv_nsec), isDirectory: false))
    }

    /// Opens one of a mail directory's own files to write it in place (`O_APPEND`, `O_CREAT` in `flags`): never
    /// through a symlink, never a FIFO or device. -1 with errno set on failure; ELOOP for anything but a regular
    /// file, which the caller replaces by a rename.
    static func openRegularForWriting(_ path: String, flags: Int32) -> Int32 {
        let fd = open(path, flags | O_WRONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY, 0o600)
        if fd < 0 {
            // Writing to a FIFO nobody reads fails with ENXIO under O_NONBLOCK: it is no file of ours either.
            if errno == ENXIO { errno = ELOOP }
            return -1
        }
        var st = Glibc.stat()
        guard fstat(fd, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG else {
            close(fd)
            errno = ELOOP
            return -1
        }
        // Only O_APPEND of the status flags F_SETFL sets may have been asked for: no F_GETFL first.
        _ = fcntl(fd, F_SETFL, flags & O_APPEND)
        return fd
    }

    static func isSymlink(_ path: String) -> Bool {
        var st = Glibc.stat()
        return lstat(path, &st) == 0 && (st.st_mode & S_IFMT) == S_IFLNK
    }

    /// rm -rf that never follows a symlink: a link (at the top or anywhere below) is removed, not what it points to.
    static func removeTree(_ path: String) throws(StorageError) {
        let fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
        if fd < 0 {
            let code = errno
            if code == ENOENT { return }
            // A symlink or a file where a directory was expected: remove the name itself.
            if code == ELOOP || code == ENOTDIR {
                if unlink(path) != 0 && errno != ENOENT { throw ioError(path) }
                return
            }
            throw ioError(path, code)
        }
        defer { close(fd) }
        try removeContents(of: fd, path: path)
        if rmdir(path) != 0 && errno != ENOENT { throw ioError(path) }
    }

    /// Empties the directory open as `fd`; subdirectories are entered only through openat with O_NOFOLLOW, so a
    /// directory swapped for a symlink meanwhile is unlinked, never walked.
    private static func removeContents(of fd: Int32, path: String) throws(StorageError) {
        let listing = dup(fd)
        guard listing >= 0, let dir = fdopendir(listing) else {
            if listing >= 0 { close(listing) }
            throw ioError(path)
        }
        var names: [String] = []
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: &entry.pointee.d_name) { raw in
                String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
            }
            if name != "." && name != ".." { names.append(name) }
        }
        closedir(dir)
        for name in names {
            let child = "\(path)/\(name)"
            if unlinkat(fd, name, 0) == 0 || errno == ENOENT { continue }
            guard errno == EISDIR || errno == EPERM else { throw ioError(child) }
            let childFD = openat(fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
            if childFD < 0 {
                if errno == ENOENT { continue }
                throw ioError(child)
            }
            defer { close(childFD) }
            try removeContents(of: childFD, path: child)
            if unlinkat(fd, name, AT_REMOVEDIR) != 0 && errno != ENOENT { throw ioError(child) }
        }
    }
}
