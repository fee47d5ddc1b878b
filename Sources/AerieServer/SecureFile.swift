#if canImport(Glibc)
    import Glibc
#endif

/// Files and directories created with their final mode from the first byte (DESIGN.md: O_EXCL, 0600/0700).
public enum SecureFile {
    public static func createExclusive(path: String, contents: String, mode: UInt32) throws {
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode)
        guard fd >= 0 else { throw ServerStartError("Cannot create \(path): \(systemError())") }
        defer { close(fd) }
        // The umask must not widen or narrow what we asked for.
        fchmod(fd, mode)
        var bytes = Array(contents.utf8)[...]
        while !bytes.isEmpty {
            let written = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
            guard written > 0 else {
                if written < 0 && errno == EINTR { continue }
                throw ServerStartError("Cannot write \(path): \(systemError())")
            }
            bytes = bytes.dropFirst(written)
        }
        guard fsync(fd) == 0 else { throw ServerStartError("Cannot fsync \(path): \(systemError())") }
    }

    /// Creates a directory (and parents) with mode 0700 unless it exists.
    public static func makeDirectory(_ path: String, mode: UInt32 = 0o700) throws {
        var info = stat()
        if stat(path, &info) == 0 {
            guard info.st_mode & S_IFMT == S_IFDIR else { throw ServerStartError("\(path) exists and is not a directory") }
            return
        }
        let parent = path.split(separator: "/", omittingEmptySubsequences: false).dropLast().joined(separator: "/")
        if !parent.isEmpty && parent != path { try makeDirectory(parent, mode: mode) }
        guard mkdir(path, mode) == 0 || errno == EEXIST else {
            throw ServerStartError("Cannot create directory \(path): \(systemError())")
        }
        chmod(path, mode)
    }

    public static func exists(_ path: String) -> Bool {
        var info = stat()
        return stat(path, &info) == 0
    }

    public static func chown(_ path: String, uid: UInt32, gid: UInt32) throws {
        guard Glibc.chown(path, uid, gid) == 0 else {
            throw ServerStartError("Cannot chown \(path): \(systemError())")
        }
    }
}

/// The text of the current `errno`, for error messages.
func systemError() -> String {
    guard let message = strerror(errno) else { return "errno \(errno)" }
    return String(validatingCString: message) ?? "errno \(errno)"
}
