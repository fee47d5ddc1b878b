import AerieAuth
public import AerieConfig
public import AerieCore
import CAerieSystem
import Foundation
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// The login process (issue 11): TLS and the pre-login protocols (IMAP, POP3) for every connection, as
/// `default_login_user` chrooted to an empty directory, without the TLS key (the key keeper signs for it), a password
/// database (it asks the auth process over a connection serve makes for it) or a mailbox (an authenticated
/// connection goes to the mail service, serve, with its state: `LoginHandoff`).
///
/// The master (`aerie serve`) starts `aerie login-worker` as a child kind (`ChildKind.login`) and starts it again
/// when it dies: that costs the pre-login connections and the TLS sessions it relays, nothing else. The master keeps
/// the listening sockets and both ends of the hand-off socket, so neither side's restart loses the other.
///
/// Descriptors: 3 hand-off (SOCK_SEQPACKET, to the mail service), 4 auth connections (the master answers a request
/// with a connected descriptor), 5 and 6 its own key worker's file and signing sockets (absent when TLS is off),
/// 7 the admin requests the master relays from the mail service (its generation's own, `LoginAdmin`), 8… the
/// listeners, then (a reload's new worker) the pipe it reports ready on.
///
/// SIGHUP (issue 11, as Dovecot's reload): the master starts a new generation of login worker with the new
/// configuration and tells the old one to retire (`LoginGenerations.swift`).
public enum LoginProcess {
    static let handoffFD: Int32 = 3
    static let authFD: Int32 = 4
    static let keeperFilesFD: Int32 = 5
    static let keeperSigningFD: Int32 = 6
    static let adminFD: Int32 = 7
    static let firstListenerFD: Int32 = 8

    /// The listeners the login process serves: IMAP and POP3 over TCP (PROXY-protocol ones too).
    public static func plans(_ listeners: [ListenerPlan]) -> [ListenerPlan] {
        listeners.filter { $0.kind != .lmtp && $0.unixSocket == nil }
    }

    /// Where the login process is chrooted when started as root: an empty, root-owned directory.
    public static func chrootDirectory(baseDir: String) -> String { baseDir + "/empty" }

    /// The account it runs as: `default_login_user` when root (it must exist; nothing is created), else the
    /// starting user.
    public static func account(_ settings: AerieSettings) throws -> ServiceAccount? {
        guard geteuid() == 0 else { return nil }
        let name = settings.defaultLoginUser.isEmpty ? "dovenull" : settings.defaultLoginUser
        guard let entry = getpwnam(name) else {
            throw ServerStartError(
                "default_login_user: system user \(name) does not exist; the login process runs as it "
                    + "(create it, e.g. useradd --system --no-create-home --shell /usr/sbin/nologin \(name))")
        }
        guard entry.pointee.pw_uid != 0 else { throw ServerStartError("default_login_user \(name) must not be root") }
        return ServiceAccount(name: name, uid: entry.pointee.pw_uid, gid: entry.pointee.pw_gid)
    }

    /// The master's side: the sockets the login worker gets at each start, and the thread that connects it to
    /// the auth process.
    public final class MasterSide: Sendable {
        /// The master's end of the hand-off socket: its router (`MailRouter`) reads the login process's hand-offs.
        public let handoffMailEnd: Int32
        /// The mail service's end of the admin socketpair (`LoginAdmin`); the master relays its requests to
        /// every live generation (`relayAdmin`).
        public let adminMailEnd: Int32
        let adminRelayEnd: Int32
        let handoffLoginEnd: Int32
        let listeners: [Int32]
        let arguments: [String]
        let authSocketPath: String
        /// The generation a crash restart starts again; a reload makes the next one (`Generation`).
        let current: Mutex<Generation>
        /// The generations whose workers may still run (the current one and those retiring), for `relayAdmin`.
        let generations: Mutex<[Generation]>

        /// `listeners`: the bound sockets of `LoginProcess.plans`, in order; `keeper`: the login's own key worker.
        public init(
            configPath: String?, settings: AerieSettings, listeners: [Int32], keeper: KeeperSockets?,
            authSocketPath: String
        ) throws {
            _ = try LoginProcess.account(settings)
            if geteuid() == 0 {
                let directory = chrootDirectory(baseDir: settings.baseDir)
                try SecureFile.makeDirectory(directory, mode: 0o755)
                try SecureFile.chown(directory, uid: 0, gid: 0)
                guard chmod(directory, 0o755) == 0 else {
                    throw ServerStartError("chmod \(directory): \(systemError())")
                }
            }
            let kind = Int32(SOCK_SEQPACKET.rawValue) | Int32(SOCK_CLOEXEC.rawValue)
            var handoff: [Int32] = [-1, -1]
            var admin: [Int32] = [-1, -1]
            guard socketpair(AF_UNIX, kind, 0, &handoff) == 0, socketpair(AF_UNIX, kind, 0, &admin) == 0 else {
                throw ServerStartError("socketpair for the login process failed: \(systemError())")
            }
            self.handoffMailEnd = handoff[0]
            self.handoffLoginEnd = handoff[1]
            self.adminMailEnd = admin[0]
            self.adminRelayEnd = admin[1]
            self.listeners = listeners
            self.arguments = ["aerie", "login-worker"] + ConfigSnapshotFile.childArguments(configPath)
            self.authSocketPath = authSocketPath
            let first = try Generation(keeper: keeper, authSocketPath: authSocketPath, number: 1)
            self.current = Mutex(first)
            self.generations = Mutex([first])
            relayAdmin()
        }

        /// The mail service's admin requests (`ID\nWORD…`), on a thread of the master's: those about pre-login
        /// connections go to every live generation (`MasterAdmin.fanOut`: `who` merged, `kick` summed, a generation
        /// that does not answer named), so a retiring worker's connections are listed and kicked too.
        private func relayAdmin() {
            let thread = Thread { [self] in
                var buffer = [UInt8](repeating: 0, count: LoginAdmin.maximumMessage)
                while let (bytes, fd) = DescriptorPassing.receive(adminRelayEnd, buffer: &buffer) {
                    if fd >= 0 { close(fd) }
                    guard let (id, words) = LoginAdmin.parseRequest(bytes) else { continue }
                    let text: String
                    if let command = AdminCommand(words), LoginAdmin.concernsPreLogin(command) {
                        text = MasterAdmin.fanOut(command, words: words, to: liveGenerations())
                    } else {
                        text = "refused"
                    }
                    _ = DescriptorPassing.send(adminRelayEnd, LoginAdmin.answer(id: id, text: text), fd: -1)
                }
            }
            thread.name = "login-admin-relay"
            thread.stackSize = 256 * 1024
            thread.start()
        }

        /// The admin ends of the generations that may still have a worker; a retired one whose socket hung up
        /// (its last worker exited) is dropped and its end closed.
        func liveGenerations() -> [(name: String, fd: Int32)] {
            let current = current.withLock { $0 }
            return generations.withLock { list in
                list.removeAll { generation in
                    guard generation !== current else { return false }
                    var entry = pollfd(fd: generation.adminMasterEnd, events: Int16(POLLIN), revents: 0)
                    guard poll(&entry, 1, 0) > 0, entry.revents & Int16(POLLHUP | POLLERR) != 0 else { return false }
                    close(generation.adminMasterEnd)
                    return true
                }
                return list.map { ("login#\($0.number)", $0.adminMasterEnd) }
            }
        }

        /// Starts one login worker of `generation` (default: the current one); returns its pid. `readyFD`: a
        /// pipe's write end it writes one byte to once it serves, confined. `extraArguments`: the incident switch
        /// (`MasterAdmin`).
        public func spawn(
            _ generation: Generation? = nil, readyFD: Int32? = nil, extraArguments: [String] = []
        ) throws -> Int32 {
            let generation = generation ?? current.withLock { $0 }
            // Each generation has its own admin socket: the relay asks every one of them.
            var passing: [Int32: Int32] = [
                handoffLoginEnd: handoffFD, generation.authLoginEnd: authFD, generation.adminWorkerEnd: adminFD,
            ]
            if let keeper = generation.keeper {
                keeper.discardStaleReplies()
                passing[keeper.service.files] = keeperFilesFD
                passing[keeper.service.signing] = keeperSigningFD
            }
            for (index, fd) in listeners.enumerated() { passing[fd] = firstListenerFD + Int32(index) }
            var arguments = self.arguments
            if let readyFD {
                let target = firstListenerFD + Int32(listeners.count)
                passing[readyFD] = target
                arguments += ["--ready-fd", "\(target)"]
            }
            // An answer meant for a killed predecessor must not reach its successor.
            var buffer = [UInt8](repeating: 0, count: 64)
            var ready = pollfd(fd: generation.authLoginEnd, events: Int16(POLLIN), revents: 0)
            while poll(&ready, 1, 0) > 0,
                let (_, stale) = DescriptorPassing.receive(generation.authLoginEnd, buffer: &buffer)
            {
                if stale >= 0 { close(stale) }
            }
            return try spawnSelf(arguments + extraArguments, passing: passing)
        }

        /// Starts the current generation's key worker (`ChildKind.loginKeeper`).
        public func spawnKeeper() throws -> Int32 {
            guard let keeper = current.withLock({ $0.keeper }) else {
                throw ServerStartError("the login process has no key worker")
            }
            return try keeper.spawnWorker()
        }
    }

    /// The mail service's side: resumes every session the login process hands over on `fd`.
    /// `answersAdmin`: a per-uid process, which answers the master's `who`/`kick` (`ProcessAdmin`), the messages
    /// without a descriptor on the same socket. `logFile`: takes the log file the master reopened after a rotation
    /// (`MailProcessKey.logFileMessage`; nil: closed).
    public static func receiveHandoffs(
        fd: Int32, server: AerieServer, log: any LogSink, answersAdmin: Bool = false,
        logFile: (@Sendable (Int32) -> Void)? = nil
    ) {
        let executor = AdminExecutor(registry: server.registry, logins: server.loginSwitch)
        let receiver = Thread {
            var buffer = [UInt8](repeating: 0, count: LoginHandoff.maximumSize)
            while let (bytes, connection) = DescriptorPassing.receive(fd, buffer: &buffer) {
                guard connection >= 0 else {
                    if answersAdmin, let answer = ProcessAdmin.answer(bytes, executor: executor) {
                        _ = DescriptorPassing.send(fd, answer, fd: -1)
                    }
                    continue
                }
                if bytes == MailProcessKey.logFileMessage {
                    if let logFile { logFile(connection) } else { close(connection) }
                    continue
                }
                server.resume(handoffBytes: bytes, fd: connection)
            }
            log.error("master", "The hand-off socket closed: no more logins from the login process")
        }
        receiver.name = "login-handoff"
        receiver.start()
    }

    /// Sends `markLogin` on a fresh auth connection (blocking: it is the first and smallest frame).
    static func markLogin(_ fd: Int32) -> Bool {
        guard let frame = try? AuthWire.encode(.markLogin(id: 0)) else { return false }
        return frame.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) } == frame.count
    }

    static func connectUnix(_ path: String) -> Int32 {
        (try? UnixSocket.connect(path)) ?? -1
    }

    /// Nothing but the end of file ever arrives from serve on the hand-off socket.
    static func serveIsGone(timeout: Int32) -> Bool {
        var entry = pollfd(fd: handoffFD, events: Int16(POLLIN), revents: 0)
        return poll(&entry, 1, timeout) > 0 && entry.revents & Int16(POLLIN | POLLHUP | POLLERR) != 0
    }

    /// The worker ends with the master: the hand-off socket's other ends close (the parent death signal, set by the
    /// main thread after the drop, is the first line).
    public static func watchServe() {
        let thread = Thread {
            while !serveIsGone(timeout: -1) {}
            exit(0)
        }
        thread.name = "login-serve-watch"
        thread.stackSize = 64 * 1024
        thread.start()
    }

    /// The worker's confinement, after it adopted its descriptors and before it serves anyone: as root, chroot to
    /// the empty directory and become `default_login_user` (no capabilities: setuid from root clears them);
    /// no_new_privs and the seccomp filter (`LoginSandbox`) either way.
    public static func confine(settings: AerieSettings) throws {
        guard let account = try account(settings) else {
            try Privileges.forbidNewPrivileges()
            try LoginSandbox.apply()
            return
        }
        let directory = chrootDirectory(baseDir: settings.baseDir)
        guard chdir(directory) == 0, chroot(".") == 0, chdir("/") == 0 else {
            throw ServerStartError("Cannot chroot the login process to \(directory): \(systemError())")
        }
        try Privileges.drop(to: account)
        // Last: the filter allows neither chroot nor setuid.
        try LoginSandbox.apply()
    }

    /// The worker's way to the auth process: asks serve for a connected descriptor.
    public static func authConnector() -> @Sendable () -> Int32 {
        let lock = NSLock()
        return {
            lock.lock()
            defer { lock.unlock() }
            guard DescriptorPassing.send(authFD, [0x41], fd: -1) else { return -1 }
            var buffer = [UInt8](repeating: 0, count: 16)
            guard let (_, fd) = DescriptorPassing.receive(authFD, buffer: &buffer) else { return -1 }
            return fd
        }
    }

    /// The listening sockets the worker inherited, matched to the plans in serve's order.
    public static func inheritedListeners(_ listeners: [ListenerPlan]) -> [(ListenerPlan, Int32)] {
        plans(listeners).enumerated().compactMap { index, plan in
            let fd = firstListenerFD + Int32(index)
            return fcntl(fd, F_GETFD) >= 0 ? (plan, fd) : nil
        }
    }

    public static func keeper(_ settings: AerieSettings) -> KeyKeeper? {
        guard fcntl(keeperFilesFD, F_GETFD) >= 0, fcntl(keeperSigningFD, F_GETFD) >= 0 else { return nil }
        return KeyKeeper.adopt(
            fileSocket: keeperFilesFD, signingSocket: keeperSigningFD, certificatePath: settings.sslServerCertFile,
            keyPath: settings.sslServerKeyFile)
    }

    public static var handoffSender: LoginHandoffSender { LoginHandoffSender(socket: handoffFD) }

    /// The worker answers the mail service's admin requests on its inherited socket.
    public static func serveAdmin(_ server: AerieServer) {
        guard fcntl(adminFD, F_GETFD) >= 0 else { return }
        server.serveLoginAdmin(fd: adminFD)
    }
}
