import CAerieSystem
import Foundation
import NIOSSL

#if canImport(Glibc)
    import Glibc
#endif

/// A tiny root process that re-reads the TLS certificate and key on request, so a SIGHUP reload works after the
/// server dropped privileges while the key stays root-only (DESIGN.md: the privileged supervisor's first duty).
///
/// It also holds the private key and signs TLS handshakes for the server (KeyKeeperSigning.swift), so the serving
/// process never has the key in its memory; a key it cannot sign with (an encrypted one) is handed over as before.
///
/// It is spawned (never forked: the server is multithreaded) before the listeners exist, reads only the two
/// paths it was started with, takes no input but a one-byte request and signing requests, and dies with the server.
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

    /// Starts `aerie tls-keeper CERT KEY` with one end of a socketpair as its fd 3 (files) and another as fd 4
    /// (signing).
    public static func spawn(certificatePath: String, keyPath: String) throws -> KeyKeeper {
        let (files, signing) = try spawnDescriptors(certificatePath: certificatePath, keyPath: keyPath)
        return KeyKeeper(socket: files, signingSocket: signing, certificatePath: certificatePath, keyPath: keyPath)
    }

    /// A key keeper of its own for the login process (issue 11): serve's ends of its two sockets, to pass on.
    static func spawnDescriptors(certificatePath: String, keyPath: String) throws -> (files: Int32, signing: Int32) {
        var fds: [Int32] = [0, 0]
        var signing: [Int32] = [0, 0]
        // One packet per request and reply: a keeper worker that dies mid-reply leaves no half message behind, and
        // its replacement serves the same sockets.
        let kind = Int32(SOCK_SEQPACKET.rawValue) | Int32(SOCK_CLOEXEC.rawValue)
        guard socketpair(AF_UNIX, kind, 0, &fds) == 0 else {
            throw ServerStartError("socketpair for the key keeper failed: \(systemError())")
        }
        guard socketpair(AF_UNIX, kind, 0, &signing) == 0 else {
            fds.forEach { close($0) }
            throw ServerStartError("socketpair for the key keeper failed: \(systemError())")
        }
        let arguments = ["aerie", "tls-keeper", certificatePath, keyPath]
        do { _ = try spawnSelf(arguments, passing: [fds[1]: 3, signing[1]: 4]) } catch {
            (fds + signing).forEach { close($0) }
            throw ServerStartError("Cannot start the TLS key keeper: \(error)")
        }
        close(fds[1])
        close(signing[1])
        // A reload waits for the keeper's answer at most this long (a worker killed mid-request never answers).
        var timeout = timeval(tv_sec: 10, tv_usec: 0)
        setsockopt(fds[0], SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        return (fds[0], signing[0])
    }

    /// The login process's keeper, on the sockets serve passed it; only the keeper knows the paths.
    static func adopt(files: Int32, signing: Int32, certificatePath: String, keyPath: String) -> KeyKeeper {
        KeyKeeper(socket: files, signingSocket: signing, certificatePath: certificatePath, keyPath: keyPath)
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
///
/// `aerie tls-keeper` itself only starts `aerie tls-keeper-worker` on the same two sockets and starts it again
/// (with backoff) if it dies: the worker parses the key, signs and reads files; a crash there costs the handshakes in
/// flight, not TLS for the rest of the server's life (issue 11, crash isolation). The worker ends when `serve` closes
/// its ends, and the keeper with it.
public enum KeyKeeperProcess {
    static let maximumFileSize = 1 << 20
    /// The largest reply packet (certificate chain and key description, or an encrypted key's PEM).
    static let maximumReply = 256 * 1024

    public static func run(certificatePath: String, keyPath: String) -> Never {
        _ = aerie_set_parent_death_signal(SIGKILL)
        try? Privileges.forbidNewPrivileges()
        var backoff = Duration.milliseconds(100)
        while true {
            let started = ContinuousClock.now
            let pid: pid_t
            do {
                pid = try spawnSelf(
                    ["aerie", "tls-keeper-worker", certificatePath, keyPath], passing: [3: 3, 4: 4])
            } catch {
                say("aerie tls-keeper: cannot start its worker: \(error)\n")
                exit(1)
            }
            var status: Int32 = 0
            while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
            let signalled = status & 0x7F
            if signalled == 0 && (status >> 8) & 0xFF == 0 { exit(0) }  // serve closed its ends
            let how = signalled != 0 ? "killed by signal \(signalled)" : "exited with \((status >> 8) & 0xFF)"
            say("aerie tls-keeper: worker \(how); starting it again\n")
            if ContinuousClock.now - started > .seconds(60) { backoff = .milliseconds(100) }
            usleep(UInt32(backoff.components.seconds * 1_000_000 + backoff.components.attoseconds / 1_000_000_000_000))
            backoff = min(backoff * 2, .seconds(5))
        }
    }

    private static func say(_ text: String) {
        let bytes = Array(text.utf8)
        _ = bytes.withUnsafeBytes { write(2, $0.baseAddress, $0.count) }
    }

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
