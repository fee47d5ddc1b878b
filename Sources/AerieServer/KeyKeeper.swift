import CAerieSystem
import Foundation
import NIOSSL

#if canImport(Glibc)
    import Glibc
#endif

/// The mail service's handle on the key worker, a tiny root process that re-reads the TLS certificate and key on
/// request, so a SIGHUP reload works after the mail service dropped privileges while the key stays root-only.
///
/// The worker also holds the private key and signs TLS handshakes (KeyKeeperSigning.swift), so the serving process
/// never has the key in its memory; a key it cannot sign with (an encrypted one) is handed over as before.
///
/// The master spawns it (never forks) before the listeners exist (`KeeperSockets`); it reads only the two paths it
/// was started with, takes no input but a one-byte request and signing requests, and dies with the master.
public final class KeyKeeper: Sendable {
    private let socket: Int32
    private let signer: KeeperSigner
    public let certificatePath: String
    public let keyPath: String

    /// What a fetch brings: the certificate chain, and the key itself or a handle the keeper signs with.
    enum Material: Sendable {
        case files(certificate: [UInt8], key: [UInt8])
        case signedByKeeper(certificate: [UInt8], key: NIOSSLPrivateKey)
    }

    private init(socket: Int32, signingSocket: Int32, certificatePath: String, keyPath: String) {
        self.socket = socket
        self.signer = KeeperSigner(fd: signingSocket)
        self.certificatePath = certificatePath
        self.keyPath = keyPath
    }

    /// A keeper whose sockets this process received (the mail service: fd 3 files, fd 4 signing). A signing socket
    /// of -1 gives a keeper that only fetches (the master's start-up checks: it signs nothing).
    public static func adopt(
        fileSocket: Int32, signingSocket: Int32, certificatePath: String, keyPath: String
    ) -> KeyKeeper {
        var timeout = timeval(tv_sec: 10, tv_usec: 0)
        setsockopt(fileSocket, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        return KeyKeeper(
            socket: fileSocket, signingSocket: signingSocket, certificatePath: certificatePath, keyPath: keyPath)
    }

    /// `action` runs (on a background thread) if the keeper dies.
    public func whenGone(_ action: @escaping @Sendable () -> Void) { signer.onGone.withLock { $0 = action } }

    /// Asks the keeper to read the certificate chain and the key afresh.
    func fetch() throws -> Material {
        var request: UInt8 = 0x52  // "R"
        guard write(socket, &request, 1) == 1 else { throw ServerStartError("TLS key keeper is gone: \(systemError())") }
        guard let packet = KeeperSigningWire.readPacket(socket), !packet.isEmpty else {
            throw ServerStartError("TLS key keeper does not answer: \(systemError())")
        }
        var rest = packet.dropFirst()
        func chunk() throws -> [UInt8] {
            guard rest.count >= 4 else { throw ServerStartError("TLS key keeper sent a short reply") }
            let length = Int(KeeperSigningWire.uint32(rest.prefix(4)))
            guard rest.count >= 4 + length else { throw ServerStartError("TLS key keeper sent a short reply") }
            defer { rest = rest.dropFirst(4 + length) }
            return Array(rest.dropFirst(4).prefix(length))
        }
        let first = try chunk()
        switch packet[0] {
        case 0: return .files(certificate: first, key: try chunk())
        case 2:
            let description = try chunk()
            let kind = String(decoding: description.prefix { $0 != 0 }, as: UTF8.self)
            let publicKey = Array(description.drop { $0 != 0 }.dropFirst())
            let key = KeeperSignedKey(kind: kind, publicKeyDER: publicKey, signer: signer)
            return .signedByKeeper(certificate: first, key: NIOSSLPrivateKey(customPrivateKey: key))
        default: throw ServerStartError(String(decoding: first, as: UTF8.self))
        }
    }
}

/// The master's side of the key keeper (issue 11): two SOCK_SEQPACKET socketpairs that outlive both ends' processes.
/// The worker (`aerie tls-keeper-worker`, root) gets one end of each as fds 3 and 4, the mail service the others;
/// either can be restarted without the other, and the master, holding every end, signs nothing itself.
public final class KeeperSockets: Sendable {
    /// The worker's ends: files (fd 3), signing (fd 4).
    let worker: (files: Int32, signing: Int32)
    /// The mail service's ends.
    public let service: (files: Int32, signing: Int32)
    public let certificatePath: String
    public let keyPath: String

    /// Whose handshakes its worker signs ("mail" or "login"): shown in the worker's command line (`--serves`).
    let serves: String

    public init(certificatePath: String, keyPath: String, serves: String = "mail") throws {
        self.serves = serves
        var files: [Int32] = [-1, -1]
        var signing: [Int32] = [-1, -1]
        let kind = Int32(SOCK_SEQPACKET.rawValue) | Int32(SOCK_CLOEXEC.rawValue)
        guard socketpair(AF_UNIX, kind, 0, &files) == 0, socketpair(AF_UNIX, kind, 0, &signing) == 0 else {
            (files + signing).filter { $0 >= 0 }.forEach { close($0) }
            throw ServerStartError("socketpair for the key keeper failed: \(systemError())")
        }
        self.worker = (files[1], signing[1])
        self.service = (files[0], signing[0])
        self.certificatePath = certificatePath
        self.keyPath = keyPath
    }

    /// Starts `aerie tls-keeper-worker CERT KEY --serves WHO` on the worker's ends.
    public func spawnWorker() throws -> Int32 {
        try spawnSelf(
            ["aerie", "tls-keeper-worker", certificatePath, keyPath, "--serves", serves],
            passing: [worker.files: 3, worker.signing: 4])
    }

    /// Drops replies a killed mail service left unread, so its successor never takes one for its own.
    public func discardStaleReplies() {
        var buffer = [UInt8](repeating: 0, count: KeyKeeperProcess.maximumReply + 1)
        for fd in [service.files, service.signing] {
            while buffer.withUnsafeMutableBytes({ recv(fd, $0.baseAddress, $0.count, Int32(MSG_DONTWAIT)) }) > 0 {}
        }
    }
}

/// Starts this binary again (`/proc/self/exe`) with `arguments`, a minimal environment and only the descriptors
/// in `passing` (source fd: target fd), via posix_spawn: never a bare fork of a multithreaded Swift process.
public func spawnSelf(_ arguments: [String], passing: [Int32: Int32]) throws -> Int32 {
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
    // TZ too, so a helper's log lines carry the same local time as serve's.
    let timeZone = getenv("TZ").flatMap { String(validatingCString: $0) }.map { ["TZ=" + $0] } ?? []
    return try spawnWithDefaultSignals(
        "/proc/self/exe", arguments, environment: ["PATH=/usr/sbin:/usr/bin:/sbin:/bin"] + timeZone, actions: &actions)
}

/// posix_spawn of `path` with no signal blocked and every signal at its default action: the calling thread may be a
/// pool thread that blocks most signals, or SIGTERM would never reach the child. `environment` nil: this one's.
func spawnWithDefaultSignals(
    _ path: String, _ arguments: [String], environment: [String]? = nil,
    actions: UnsafePointer<posix_spawn_file_actions_t>? = nil
) throws -> pid_t {
    var argv: [UnsafeMutablePointer<CChar>?] = arguments.map { strdup($0) } + [nil]
    defer { argv.forEach { free($0) } }
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
    let status: Int32
    if let environment {
        var envp: [UnsafeMutablePointer<CChar>?] = environment.map { strdup($0) } + [nil]
        defer { envp.forEach { free($0) } }
        status = posix_spawn(&pid, path, actions, &attributes, &argv, &envp)
    } else {
        status = posix_spawn(&pid, path, actions, &attributes, &argv, environ)
    }
    guard status == 0 else { throw ServerStartError(String(validatingCString: strerror(status)) ?? "\(status)") }
    return pid
}

/// The worker's side: `aerie tls-keeper-worker CERT KEY`, with the request socket on fd 3 and signing on fd 4.
///
/// The master starts it again (with backoff) if it dies: a crash there costs the handshakes in flight, not TLS for
/// the rest of the server's life (issue 11, crash isolation).
public enum KeyKeeperProcess {
    static let maximumFileSize = 1 << 20
    /// The largest reply packet (certificate chain and key description, or an encrypted key's PEM).
    static let maximumReply = 256 * 1024

    /// `aerie tls-keeper-worker`: answers file requests on fd 3 and signing requests on fd 4.
    public static func runWorker(certificatePath: String, keyPath: String) -> Never {
        _ = aerie_set_parent_death_signal(SIGKILL)
        try? Privileges.forbidNewPrivileges()
        // A restarted worker signs at once with the key as the files now hold it (a reload re-reads them).
        _ = load(certificatePath: certificatePath, keyPath: keyPath)
        let signing = Thread { KeeperSigningService.serve(fd: 4) }
        signing.name = "sign"
        signing.start()
        let socket: Int32 = 3
        while true {
            guard let request = KeeperSigningWire.readPacket(socket), request == [0x52] else { exit(0) }
            guard KeeperSigningWire.writeAll(socket, load(certificatePath: certificatePath, keyPath: keyPath)) else {
                exit(0)
            }
        }
    }

    /// Reads certificate and key; the reply to an "R" request.
    static func load(certificatePath: String, keyPath: String) -> [UInt8] {
        var reply: [UInt8]
        do {
            try TLSSetup.checkKeyFilePermissions(keyPath)
            let certificate = try readFile(certificatePath)
            let key = try readFile(keyPath)
            if let signingKey = KeeperPrivateKey(pem: key) {
                KeeperSigningService.key.withLock { $0 = signingKey }
                reply = [2] + frame(certificate) + frame(signingKey.publicDescription)
            } else {
                reply = [0] + frame(certificate) + frame(key)
            }
        } catch {
            reply = [1] + frame(Array("\(error)".utf8))
        }
        guard reply.count <= maximumReply else {
            return [1] + frame(Array("\(certificatePath) and \(keyPath) are larger than 256 KiB together".utf8))
        }
        return reply
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
