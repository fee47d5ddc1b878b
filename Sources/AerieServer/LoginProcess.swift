public import AerieConfig
public import AerieCore
import CAerieSystem
import Foundation
import NIOCore

#if canImport(Glibc)
    import Glibc
#endif

/// The login process (issue 11): TLS and the pre-login protocols (IMAP, POP3) for every connection, as
/// `default_login_user` chrooted to an empty directory, without the TLS key (the key keeper signs for it), a password
/// database (it asks the auth process over a connection serve makes for it) or a mailbox (an authenticated
/// connection goes to the mail service, serve, with its state: `LoginHandoff`).
///
/// `aerie login` (as the starting user, root or not) holds the listening sockets and the sockets to serve, and
/// starts `aerie login-worker` on them again (with backoff) when it dies: killing the worker costs the pre-login
/// connections and the TLS sessions it relays, nothing else.
///
/// Descriptors: 3 hand-off (SOCK_SEQPACKET, to serve), 4 auth connections (serve answers a request with a connected
/// descriptor), 5 and 6 the key keeper's file and signing sockets (-1 when TLS is off), 7… the listeners.
public enum LoginProcess {
    static let handoffFD: Int32 = 3
    static let authFD: Int32 = 4
    static let keeperFilesFD: Int32 = 5
    static let keeperSigningFD: Int32 = 6
    static let firstListenerFD: Int32 = 7

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

    /// serve's side: binds the login listeners, spawns `aerie login` (before serve drops root), and serves its
    /// hand-offs and auth-connection requests on two threads.
    public static func start(
        configPath: String?, settings: AerieSettings, listeners: [ListenerPlan], server: AerieServer,
        authSocketPath: String, log: any LogSink
    ) throws {
        _ = try account(settings)
        if geteuid() == 0 {
            let directory = chrootDirectory(baseDir: settings.baseDir)
            try SecureFile.makeDirectory(directory, mode: 0o755)
            try SecureFile.chown(directory, uid: 0, gid: 0)
            guard chmod(directory, 0o755) == 0 else { throw ServerStartError("chmod \(directory): \(systemError())") }
        }
        var sockets: [Int32] = []
        for plan in plans(listeners) { sockets.append(try listen(plan)) }
        defer { sockets.forEach { close($0) } }
        let kind = Int32(SOCK_SEQPACKET.rawValue) | Int32(SOCK_CLOEXEC.rawValue)
        var handoff: [Int32] = [0, 0]
        var auth: [Int32] = [0, 0]
        guard socketpair(AF_UNIX, kind, 0, &handoff) == 0, socketpair(AF_UNIX, kind, 0, &auth) == 0 else {
            throw ServerStartError("socketpair for the login process failed: \(systemError())")
        }
        defer {
            close(handoff[1])
            close(auth[1])
        }
        var passing: [Int32: Int32] = [handoff[1]: handoffFD, auth[1]: authFD]
        if settings.ssl != .no && !settings.sslServerKeyFile.isEmpty {
            let keeper = try KeyKeeper.spawnDescriptors(
                certificatePath: settings.sslServerCertFile, keyPath: settings.sslServerKeyFile)
            passing[keeper.files] = keeperFilesFD
            passing[keeper.signing] = keeperSigningFD
            defer {
                close(keeper.files)
                close(keeper.signing)
            }
            for (index, socket) in sockets.enumerated() { passing[socket] = firstListenerFD + Int32(index) }
            _ = try spawnSelf(["aerie", "login"] + (configPath.map { ["-c", $0] } ?? []), passing: passing)
        } else {
            for (index, socket) in sockets.enumerated() { passing[socket] = firstListenerFD + Int32(index) }
            _ = try spawnSelf(["aerie", "login"] + (configPath.map { ["-c", $0] } ?? []), passing: passing)
        }
        let handoffSocket = handoff[0]
        let receiver = Thread {
            var buffer = [UInt8](repeating: 0, count: LoginHandoff.maximumSize)
            while let (bytes, fd) = DescriptorPassing.receive(handoffSocket, buffer: &buffer) {
                guard fd >= 0 else { continue }
                server.resume(handoffBytes: bytes, fd: fd)
            }
            log.error("master", "The login process is gone: no new IMAP or POP3 logins")
        }
        receiver.name = "login-handoff"
        receiver.start()
        let authSocket = auth[0]
        let connector = Thread {
            var buffer = [UInt8](repeating: 0, count: 64)
            while DescriptorPassing.receive(authSocket, buffer: &buffer) != nil {
                let fd = connectUnix(authSocketPath)
                _ = DescriptorPassing.send(authSocket, [fd >= 0 ? 1 : 0], fd: fd)
                if fd >= 0 { close(fd) }
            }
        }
        connector.name = "login-auth"
        connector.start()
    }

    /// A listening TCP socket for `plan`, bound while serve is still root.
    static func listen(_ plan: ListenerPlan) throws -> Int32 {
        let address: SocketAddress
        do { address = try SocketAddress.makeAddressResolvingHost(plan.host, port: plan.port) } catch {
            throw ServerStartError("Cannot listen on \(plan.description): \(error)")
        }
        let family = address.protocol == .inet6 ? AF_INET6 : AF_INET
        let fd = socket(family, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw ServerStartError("Cannot listen on \(plan.description): \(systemError())") }
        var one: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        let bound = address.withSockAddr { bind(fd, $0, socklen_t($1)) }
        guard bound == 0, Glibc.listen(fd, 256) == 0 else {
            let error = systemError()
            close(fd)
            throw ServerStartError("Cannot listen on \(plan.description): \(error)")
        }
        return fd
    }

    static func connectUnix(_ path: String) -> Int32 {
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { return -1 }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        guard bytes.count < MemoryLayout.size(ofValue: address.sun_path) else {
            close(fd)
            return -1
        }
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            for (i, byte) in bytes.enumerated() { raw[i] = byte }
        }
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        guard connected == 0 else {
            close(fd)
            return -1
        }
        return fd
    }

    /// `aerie login`: restarts its worker when it dies, with backoff; ends with serve (parent death signal).
    public static func runSupervisor(configPath: String?) -> Never {
        _ = aerie_set_parent_death_signal(SIGKILL)
        var backoff = Duration.milliseconds(100)
        var inherited: [Int32: Int32] = [:]
        var fd = handoffFD
        while fcntl(fd, F_GETFD) >= 0 {
            inherited[fd] = fd
            fd += 1
        }
        if fcntl(keeperFilesFD, F_GETFD) < 0 {  // no TLS: the listeners start at 7 all the same
            fd = firstListenerFD
            while fcntl(fd, F_GETFD) >= 0 {
                inherited[fd] = fd
                fd += 1
            }
        }
        while true {
            let started = ContinuousClock.now
            let pid: pid_t
            do {
                pid = try spawnSelf(
                    ["aerie", "login-worker", "--mail-pid", "\(getppid())"] + (configPath.map { ["-c", $0] } ?? []),
                    passing: inherited)
            } catch {
                say("aerie login: cannot start its worker: \(error)\n")
                exit(1)
            }
            var status: Int32 = 0
            // serve gone (its end of the hand-off socket closed): stop the worker and end. The parent death signal
            // alone is not enough: it follows the thread that spawned us, not serve's last one.
            while waitpid(pid, &status, WNOHANG) == 0 {
                if serveIsGone(timeout: 200) {
                    kill(pid, SIGKILL)
                    while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
                    exit(0)
                }
            }
            let signalled = status & 0x7F
            let code = (status >> 8) & 0xFF
            if signalled == 0 && code == 0 { exit(0) }
            if signalled == 0 && code == 78 { exit(78) }  // EX_CONFIG: it said why; starting again cannot help
            let how = signalled != 0 ? "killed by signal \(signalled)" : "exited with \(code)"
            say("aerie login: worker \(how); starting it again\n")
            if ContinuousClock.now - started > .seconds(60) { backoff = .milliseconds(100) }
            usleep(UInt32(backoff.components.seconds * 1_000_000 + backoff.components.attoseconds / 1_000_000_000_000))
            backoff = min(backoff * 2, .seconds(5))
        }
    }

    /// Nothing but the end of file ever arrives from serve on the hand-off socket.
    static func serveIsGone(timeout: Int32) -> Bool {
        var entry = pollfd(fd: handoffFD, events: Int16(POLLIN), revents: 0)
        return poll(&entry, 1, timeout) > 0 && entry.revents & Int16(POLLIN | POLLHUP | POLLERR) != 0
    }

    /// The worker ends with serve (and with its supervisor, by the parent death signal).
    public static func watchServe() {
        _ = aerie_set_parent_death_signal(SIGKILL)
        let thread = Thread {
            while !serveIsGone(timeout: -1) {}
            exit(0)
        }
        thread.name = "login-serve-watch"
        thread.stackSize = 64 * 1024
        thread.start()
    }

    static func say(_ text: String) {
        let bytes = Array(text.utf8)
        _ = bytes.withUnsafeBytes { write(2, $0.baseAddress, $0.count) }
    }

    /// The worker's confinement, after it adopted its descriptors and before it serves anyone: as root, chroot to
    /// the empty directory and become `default_login_user` (no capabilities: setuid from root clears them);
    /// no_new_privs either way.
    public static func confine(settings: AerieSettings) throws {
        guard let account = try account(settings) else {
            try Privileges.forbidNewPrivileges()
            return
        }
        let directory = chrootDirectory(baseDir: settings.baseDir)
        guard chdir(directory) == 0, chroot(".") == 0, chdir("/") == 0 else {
            throw ServerStartError("Cannot chroot the login process to \(directory): \(systemError())")
        }
        try Privileges.drop(to: account)
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
            files: keeperFilesFD, signing: keeperSigningFD, certificatePath: settings.sslServerCertFile,
            keyPath: settings.sslServerKeyFile)
    }

    public static var handoffSender: LoginHandoffSender { LoginHandoffSender(socket: handoffFD) }
}
