import CAerieSystem

#if canImport(Glibc)
    import Glibc
#endif

/// A tiny root process that re-reads the TLS certificate and key on request, so a SIGHUP reload works after the
/// server dropped privileges while the key stays root-only (DESIGN.md: the privileged supervisor's first duty).
///
/// It is spawned (never forked: the server is multithreaded) before the listeners exist, reads only the two
/// paths it was started with, takes no input but a one-byte request, and dies with the server.
public final class KeyKeeper: Sendable {
    private let socket: Int32
    public let certificatePath: String
    public let keyPath: String

    private init(socket: Int32, certificatePath: String, keyPath: String) {
        self.socket = socket
        self.certificatePath = certificatePath
        self.keyPath = keyPath
    }

    /// Starts `aerie tls-keeper CERT KEY` with one end of a socketpair as its fd 3.
    public static func spawn(certificatePath: String, keyPath: String) throws -> KeyKeeper {
        var fds: [Int32] = [0, 0]
        guard socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0, &fds) == 0 else {
            throw ServerStartError("socketpair for the key keeper failed: \(systemError())")
        }
        let arguments = ["aerie", "tls-keeper", certificatePath, keyPath]
        do { _ = try spawnSelf(arguments, passing: [fds[1]: 3]) } catch {
            close(fds[1])
            close(fds[0])
            throw ServerStartError("Cannot start the TLS key keeper: \(error)")
        }
        close(fds[1])
        return KeyKeeper(socket: fds[0], certificatePath: certificatePath, keyPath: keyPath)
    }

    /// Asks the keeper for fresh PEM bytes of the certificate chain and the key.
    public func fetch() throws -> (certificate: [UInt8], key: [UInt8]) {
        var request: UInt8 = 0x52  // "R"
        guard write(socket, &request, 1) == 1 else { throw ServerStartError("TLS key keeper is gone: \(systemError())") }
        let ok = try readExactly(1)[0]
        let first = try readChunk()
        guard ok == 0 else { throw ServerStartError(String(decoding: first, as: UTF8.self)) }
        return (first, try readChunk())
    }

    private func readChunk() throws -> [UInt8] {
        let header = try readExactly(4)
        let length = Int(header[0]) << 24 | Int(header[1]) << 16 | Int(header[2]) << 8 | Int(header[3])
        guard length <= KeyKeeperProcess.maximumFileSize else { throw ServerStartError("TLS key keeper sent too much") }
        return try readExactly(length)
    }

    private func readExactly(_ count: Int) throws -> [UInt8] {
        var buffer = [UInt8](repeating: 0, count: count)
        var offset = 0
        while offset < count {
            let got = buffer.withUnsafeMutableBytes { read(socket, $0.baseAddress! + offset, count - offset) }
            if got < 0 && errno == EINTR { continue }
            guard got > 0 else { throw ServerStartError("TLS key keeper closed the connection") }
            offset += got
        }
        return buffer
    }
}

/// Starts this binary again (`/proc/self/exe`) with `arguments`, a minimal environment and only the descriptors
/// in `passing` (source fd: target fd), via posix_spawn: never a bare fork of a multithreaded Swift process.
func spawnSelf(_ arguments: [String], passing: [Int32: Int32]) throws -> pid_t {
    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    defer { posix_spawn_file_actions_destroy(&actions) }
    // dup2 clears CLOEXEC on the copy, so only the targets cross into the child.
    // Move the sources out of the way first, so one target never overwrites another's source.
    let moved = passing.map { (fcntl($0.key, F_DUPFD_CLOEXEC, 100), $0.value) }
    defer { moved.forEach { close($0.0) } }
    for (source, target) in moved {
        guard source >= 0 else { throw ServerStartError("fcntl(F_DUPFD_CLOEXEC): \(systemError())") }
        posix_spawn_file_actions_adddup2(&actions, source, target)
    }
    var argv: [UnsafeMutablePointer<CChar>?] = arguments.map { strdup($0) } + [nil]
    defer { argv.forEach { free($0) } }
    // TZ too, so a helper's log lines carry the same local time as serve's.
    let timeZone = getenv("TZ").flatMap { String(validatingCString: $0) }.map { ["TZ=" + $0] } ?? []
    var environment: [UnsafeMutablePointer<CChar>?] =
        (["PATH=/usr/sbin:/usr/bin:/sbin:/bin"] + timeZone).map { strdup($0) } + [nil]
    defer { environment.forEach { free($0) } }
    // The calling thread may be a pool thread that blocks most signals; the child starts with none blocked and
    // every signal at its default action, or SIGTERM would never reach it.
    var attributes = posix_spawnattr_t()
    posix_spawnattr_init(&attributes)
    defer { posix_spawnattr_destroy(&attributes) }
    var none = sigset_t(), all = sigset_t()
    sigemptyset(&none)
    sigfillset(&all)
    posix_spawnattr_setsigmask(&attributes, &none)
    posix_spawnattr_setsigdefault(&attributes, &all)
    posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))
    var pid: pid_t = 0
    let status = posix_spawn(&pid, "/proc/self/exe", &actions, &attributes, &argv, &environment)
    guard status == 0 else { throw ServerStartError(String(validatingCString: strerror(status)) ?? "\(status)") }
    return pid
}

/// The keeper's side: `aerie tls-keeper CERT KEY`, with the request socket on fd 3.
public enum KeyKeeperProcess {
    static let maximumFileSize = 1 << 20

    public static func run(certificatePath: String, keyPath: String) -> Never {
        _ = aerie_set_parent_death_signal(SIGKILL)
        try? Privileges.forbidNewPrivileges()
        let socket: Int32 = 3
        var request: UInt8 = 0
        while true {
            let got = read(socket, &request, 1)
            if got < 0 && errno == EINTR { continue }
            guard got == 1 else { exit(0) }
            var reply: [UInt8]
            do {
                try TLSSetup.checkKeyFilePermissions(keyPath)
                let certificate = try readFile(certificatePath)
                let key = try readFile(keyPath)
                reply = [0] + frame(certificate) + frame(key)
            } catch {
                reply = [1] + frame(Array("\(error)".utf8))
            }
            var offset = 0
            while offset < reply.count {
                let sent = reply.withUnsafeBytes { write(socket, $0.baseAddress! + offset, reply.count - offset) }
                if sent < 0 && errno == EINTR { continue }
                guard sent > 0 else { exit(0) }
                offset += sent
            }
        }
    }

    static func frame(_ bytes: [UInt8]) -> [UInt8] {
        let n = bytes.count
        return [UInt8(n >> 24 & 0xFF), UInt8(n >> 16 & 0xFF), UInt8(n >> 8 & 0xFF), UInt8(n & 0xFF)] + bytes
    }

    static func readFile(_ path: String) throws -> [UInt8] {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw ServerStartError("Cannot read \(path): \(systemError())") }
        defer { close(fd) }
        var data: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let got = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if got < 0 && errno == EINTR { continue }
            guard got >= 0 else { throw ServerStartError("Cannot read \(path): \(systemError())") }
            if got == 0 { break }
            data += chunk[0..<got]
            guard data.count <= maximumFileSize else { throw ServerStartError("\(path) is larger than 1 MiB") }
        }
        return data
    }
}
