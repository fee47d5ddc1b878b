public import AerieAuth
public import AerieConfig
import AerieCore
import Synchronization

// SOCK_* come from <sys/socket.h>, which CAerieSystem includes too: import both so they are found whichever
// module the clang importer gave the header to (a clean build failed with "cannot find SOCK_STREAM" otherwise).
import CAerieSystem

#if canImport(Glibc)
    import Glibc
#endif

/// Rehash writes the auth worker may not do itself (issue 12 item 5): a passwd-file in a root-owned directory, or
/// one whose owner the worker cannot keep. The worker asks over a SOCK_SEQPACKET pair (its fd 5); the supervisor
/// writes only the configured passwd-file paths, only a hash of the configured strength, and only in place of the
/// user's current one (`PasswdFileRehash.rewrite` re-reads the file under its lock).
public enum AuthRehashWriter {
    static let workerFD: Int32 = 5
    static let maximumMessage = 4 * PasswdFileParser.maximumLineLength

    /// What the supervisor may write, from the configuration: nil when rehashing is off.
    public struct Policy: Sendable {
        public let target: RehashTarget
        public let paths: Set<String>

        public init?(_ configuration: AuthServiceConfiguration) {
            guard let target = configuration.rehashTarget else { return nil }
            self.target = target
            paths = Set(
                configuration.passdbs.filter { $0.driver == "passwd-file" && !$0.deny && !$0.path.contains("%") }
                    .map(\.path))
        }

        /// The refusal for a request, nil when it may be done.
        func refusal(path: String, user: String, expected: String, replacement: String) -> String? {
            guard paths.contains(path) else { return "not a configured passwd-file" }
            guard !user.isEmpty, PasswdFileRehash.isFieldSafe(user) else { return "invalid user name" }
            guard PasswdFileRehash.isFieldSafe(expected), PasswdFileRehash.isFieldSafe(replacement) else {
                return "invalid password field"
            }
            guard replacement.hasPrefix("{\(target.scheme)}"), !target.isWeaker(replacement) else {
                return "replacement is not a \(target.scheme) hash of the configured cost"
            }
            return nil
        }
    }

    /// The policy for the configuration `aerie auth-supervisor` was started with (read again on a reload).
    public static func policy(_ loaded: LoadedConfig) -> Policy? {
        (try? AerieServer.authConfiguration(loaded.settings)).flatMap(Policy.init)
    }

    static func encode(_ fields: [String]) -> [UInt8] {
        Array(fields.joined(separator: "\0").utf8)
    }

    /// Supervisor side: answers one request read from `fd` (nonblocking poll said it is readable). false: the
    /// worker's end is closed.
    static func serve(_ fd: Int32, policy: Policy?, log: any LogSink) -> Bool {
        var buffer = [UInt8](repeating: 0, count: maximumMessage)
        let got = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, Int32(MSG_DONTWAIT)) }
        if got < 0 { return errno == EINTR || errno == EAGAIN }
        if got == 0 { return false }
        let fields = buffer[..<got].split(separator: 0, omittingEmptySubsequences: false)
            .map { String(decoding: $0, as: UTF8.self) }
        let reply: String
        if fields.count != 4 {
            reply = "Fmalformed request"
        } else if let policy = policy {
            if let refusal = policy.refusal(
                path: fields[0], user: fields[1], expected: fields[2], replacement: fields[3])
            {
                log.error("master", "auth process asked to rewrite \(fields[0]): refused: \(refusal)")
                reply = "F" + refusal
            } else {
                switch PasswdFileRehash.rewrite(
                    path: fields[0], user: fields[1], expected: fields[2], replacement: fields[3])
                {
                case .replaced: reply = "R"
                case .changed: reply = "C"
                case .notPermitted(let why): reply = "P" + why
                case .failed(let why): reply = "F" + why
                }
            }
        } else {
            reply = "Frehashing is off"
        }
        let bytes = Array(reply.utf8)
        _ = bytes.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
        return true
    }

    /// Worker side: the delegate the auth service calls (on the hashing pool; requests are serialised), nil when
    /// fd 5 is not open (the worker was not started by a supervisor).
    public static func workerDelegate() -> PasswdFileRehash.Delegate? {
        guard fcntl(workerFD, F_GETFD) >= 0 else { return nil }
        _ = fcntl(workerFD, F_SETFD, FD_CLOEXEC)
        let lock = Mutex(())
        return { path, user, expected, replacement in
            lock.withLock { _ in ask(path: path, user: user, expected: expected, replacement: replacement) }
        }
    }

    static func ask(path: String, user: String, expected: String, replacement: String) -> PasswdFileRehash.Outcome {
        let request = encode([path, user, expected, replacement])
        guard request.count <= maximumMessage else { return .failed("request too large") }
        // A late answer to an earlier request that timed out must not be taken for this one's.
        var stale = [UInt8](repeating: 0, count: 4096)
        while (stale.withUnsafeMutableBytes { recv(workerFD, $0.baseAddress, $0.count, Int32(MSG_DONTWAIT)) }) > 0 {}
        let sent = request.withUnsafeBytes { send(workerFD, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
        guard sent == request.count else { return .failed("supervisor unreachable") }
        var poller = pollfd(fd: workerFD, events: Int16(POLLIN), revents: 0)
        // The supervisor answers between its other duties; a file write takes milliseconds.
        guard poll(&poller, 1, 10_000) == 1 else { return .failed("supervisor did not answer") }
        var buffer = [UInt8](repeating: 0, count: 4096)
        let got = buffer.withUnsafeMutableBytes { recv(workerFD, $0.baseAddress, $0.count, 0) }
        guard got > 0 else { return .failed("supervisor unreachable") }
        let text = String(decoding: buffer[1..<got], as: UTF8.self)
        switch buffer[0] {
        case UInt8(ascii: "R"): return .replaced
        case UInt8(ascii: "C"): return .changed
        case UInt8(ascii: "P"): return .notPermitted("supervisor: " + text)
        default: return .failed("supervisor: " + text)
        }
    }
}
