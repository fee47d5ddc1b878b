public import AerieAuth
public import AerieConfig
public import AerieCore
import CAerieSystem
import Foundation
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// Who a mail process runs as, and where it is chrooted: one process serves every user of its key (issue 11).
public struct MailProcessKey: Hashable, Sendable {
    public var uid: UInt32
    public var gid: UInt32
    /// Empty: no chroot.
    public var chroot: String

    public init(uid: UInt32, gid: UInt32, chroot: String = "") {
        self.uid = uid
        self.gid = gid
        self.chroot = chroot
    }

    /// The service name in the master's log: `mail uid=1501 gid=1501`.
    public var name: String { "mail uid=\(uid) gid=\(gid)" + (chroot.isEmpty ? "" : " chroot=\(chroot)") }

    /// The exit status of a process of one key that had no session for idle_kill_interval: not a crash.
    public static let idleExitStatus: Int32 = 75
    /// On its hand-off socket (no descriptor): no hand-off follows; serve the sessions you have, then exit.
    public static let retireMessage: [UInt8] = Array("retire".utf8)
    /// On its hand-off socket, with a descriptor: the log file the master reopened (a rotation): log there.
    public static let logFileMessage: [UInt8] = Array("log-file".utf8)

    /// The `aerie mail-service` arguments that make a process of this key.
    var arguments: [String] {
        ["--run-as", "\(uid):\(gid)"] + (chroot.isEmpty ? [] : ["--chroot", chroot])
    }
}

/// Where a handed-over login goes, decided by the master from the auth process's answer (never from the login
/// process's claim).
public enum MailRoute: Equatable, Sendable {
    /// The `mail` child (mail_uid, no chroot), or everything when the master is not root.
    case main
    /// A mail process of its own key, started on demand.
    case dedicated(MailProcessKey)
    /// Out of first_valid_uid…/first_valid_gid… (or root): the connection is closed, logged with the reason.
    case refuse(String)
}

/// The valid uid/gid ranges and chroot of the configuration, and the account of the `mail` child.
public struct MailRoutePolicy: Sendable, Equatable {
    public var firstValidUID: UInt32
    public var lastValidUID: UInt32
    public var firstValidGID: UInt32
    public var lastValidGID: UInt32
    /// `mail_chroot`; the userdb `chroot` field wins.
    public var mailChroot: String
    /// The `mail` child's account; nil when the master is not root (every user is then served by that child).
    public var mainAccount: ServiceAccount?

    public init(settings: AerieSettings, mainAccount: ServiceAccount?) {
        firstValidUID = settings.firstValidUID
        lastValidUID = settings.lastValidUID
        firstValidGID = settings.firstValidGID
        lastValidGID = settings.lastValidGID
        mailChroot = settings.value(forKey: "mail_chroot") ?? ""
        self.mainAccount = mainAccount
    }

    /// The chroot and the home inside it, as Dovecot: `/var/chroot/./home/u` is chroot `/var/chroot` and home
    /// `/home/u`; else the userdb `chroot` field or `mail_chroot`, with the home made relative to it when it lies
    /// under it.
    public func placement(of user: AuthenticatedUser) -> (chroot: String, home: String) {
        if let range = user.home.range(of: "/./") {
            let root = String(user.home[..<range.lowerBound])
            return (root.isEmpty ? "/" : root, "/" + user.home[range.upperBound...])
        }
        var chroot = user.extraFields["chroot"] ?? mailChroot
        while chroot.count > 1 && chroot.hasSuffix("/") { chroot.removeLast() }
        guard !chroot.isEmpty else { return ("", user.home) }
        if user.home == chroot { return (chroot, "/") }
        if user.home.hasPrefix(chroot + "/") { return (chroot, String(user.home.dropFirst(chroot.count))) }
        return (chroot, user.home)
    }

    /// The route of `user`, whose home lies in `chroot` (`placement`).
    public func route(_ user: AuthenticatedUser, chroot: String) -> MailRoute {
        guard let main = mainAccount else { return .main }
        if user.uid == main.uid && user.gid == main.gid && chroot.isEmpty { return .main }
        if user.uid == 0 { return .refuse("uid 0 (root) may not access mail") }
        if user.uid < firstValidUID || (lastValidUID != 0 && user.uid > lastValidUID) {
            return .refuse("uid \(user.uid) is outside first_valid_uid/last_valid_uid")
        }
        if user.gid == 0 { return .refuse("gid 0 (root) may not access mail") }
        if user.gid < firstValidGID || (lastValidGID != 0 && user.gid > lastValidGID) {
            return .refuse("gid \(user.gid) is outside first_valid_gid/last_valid_gid")
        }
        if !chroot.isEmpty && !chroot.hasPrefix("/") { return .refuse("chroot \(chroot) is not an absolute path") }
        return .dedicated(MailProcessKey(uid: user.uid, gid: user.gid, chroot: chroot))
    }
}

/// The master's router (issue 11): receives each hand-off from the login process, redeems its token with the auth
/// process for the user and userdb fields, and passes the connection to the mail process of that user's
/// uid/gid/chroot, starting one (`aerie mail-service --run-as`) on the first hand-off of a key.
public final class MailRouter: Sendable {
    /// Most mail processes of their own key; a hand-off past it is refused (logged).
    static let maximumDedicated = 512

    private let loginEnd: Int32
    private let mainEnd: Int32
    private let authSocketPath: String
    /// The policy and the limits of a new per-uid process, as of the configuration read last (`update`).
    private let current: Mutex<(policy: MailRoutePolicy, limits: ChildLimits)>
    private let supervisor: Supervisor
    /// `aerie mail-service -c …` (without the key's arguments).
    private let baseArguments: [String]
    private let log: any LogSink
    /// Both ends of a key's hand-off socket: the master keeps the child's too, so hand-offs wait while it restarts.
    struct Ends: Sendable {
        var end: Int32
        var childEnd: Int32
    }

    /// The master's end of each key's hand-off socket.
    private let dedicated = Mutex<[MailProcessKey: Ends]>([:])
    /// Processes retiring after a reload, by the master's end of their socket: `who`/`kick` still reach them.
    private let retired = Mutex<[Int32: String]>([:])
    /// Held from picking a key's socket to passing the hand-off on it, and by `retireAll`/`ended`: no hand-off goes
    /// to a socket after its process was told to retire.
    private let routing = NSLock()
    /// The incident switch the master holds; nil: none.
    private let admin: MasterAdmin?

    /// `loginEnd`: the master's end of the login process's hand-off socket; `mainEnd`: the master's end of the
    /// `mail` child's.
    public init(
        loginEnd: Int32, mainEnd: Int32, authSocketPath: String, policy: MailRoutePolicy, supervisor: Supervisor,
        limits: ChildLimits, configPath: String?, log: any LogSink, admin: MasterAdmin? = nil
    ) {
        self.admin = admin
        self.loginEnd = loginEnd
        self.mainEnd = mainEnd
        self.authSocketPath = authSocketPath
        self.current = Mutex((policy, limits))
        self.supervisor = supervisor
        self.baseArguments = ["aerie", "mail-service"] + ConfigSnapshotFile.childArguments(configPath)
        self.log = log
        // A mail process that is not reading (starting, or gone) must not stall the router: full means refused.
        _ = fcntl(mainEnd, F_SETFL, fcntl(mainEnd, F_GETFL) | O_NONBLOCK)
    }

    /// SIGHUP of the master: the uid/gid ranges, mail_chroot and the process limits of the new configuration apply
    /// from the next hand-off on; the `mail` child's account stays (mail_uid/mail_gid need a restart).
    public func update(policy: MailRoutePolicy, limits: ChildLimits) {
        current.withLock { current in
            var policy = policy
            policy.mainAccount = current.policy.mainAccount
            current = (policy, limits)
        }
    }

    /// Starts the router thread; it runs as long as the master.
    public func start() {
        let thread = Thread { [self] in
            var buffer = [UInt8](repeating: 0, count: LoginHandoff.maximumSize)
            var authConnection: Int32 = -1
            while let (bytes, fd) = DescriptorPassing.receive(loginEnd, buffer: &buffer) {
                guard fd >= 0 else { continue }
                route(bytes, fd: fd, authConnection: &authConnection)
            }
            log.error("master", "The login process's hand-off socket closed: no more logins")
        }
        thread.name = "mail-router"
        thread.start()
    }

    private func route(_ bytes: [UInt8], fd: Int32, authConnection: inout Int32) {
        guard var header = try? LoginHandoff.decode(bytes), header.service == "imap" || header.service == "pop3"
        else {
            log.error("master", "Malformed hand-off from the login process: connection dropped")
            close(fd)
            return
        }
        let claimed = header.user
        if let reason = admin?.logins.refusal(for: header.service) {
            // Whatever process would serve the user: the switch holds for every login (before the token is
            // redeemed; the login process refuses before the password is checked when it knows).
            log.info(
                "master",
                "user=<\(LogSafe.userName(claimed))>: login refused: logins are disabled by the administrator; "
                    + "session=<\(header.sessionID)>")
            refuseDisabled(fd, header: header, reason: reason)
            return
        }
        let user: AuthenticatedUser
        switch Self.redeem(header.token, authSocketPath: authSocketPath, connection: &authConnection) {
        case .success(let redeemed): user = redeemed
        case .failure(let failure):
            log.error(
                "master",
                "hand-off refused: the login token for <\(LogSafe.userName(claimed))> was not redeemed (\(failure)); "
                    + "session=<\(header.sessionID)>")
            refuse(fd, header: header, reason: "Internal error")
            return
        }
        if user.user != claimed {
            log.warning(
                "master",
                "hand-off: the login process named <\(LogSafe.userName(claimed))>, the token is for "
                    + "<\(LogSafe.userName(user.user))>")
        }
        let policy = current.withLock { $0.policy }
        let (chroot, home) = policy.placement(of: user)
        header.user = user.user
        header.uid = user.uid
        header.gid = user.gid
        header.home = home
        header.extraFields = user.extraFields
        header.token = ""
        switch policy.route(user, chroot: chroot) {
        case .main: forward(header, fd: fd, to: mainEnd, name: "mail")
        case .dedicated(let key):
            routing.withLock {
                guard let end = socket(for: key) else {
                    refuse(fd, header: header, reason: "Internal error")
                    return
                }
                forward(header, fd: fd, to: end, name: key.name)
            }
        case .refuse(let reason):
            log.error(
                "master",
                "user=<\(LogSafe.userName(user.user))>: mail access refused: \(reason); session=<\(header.sessionID)>")
            refuse(fd, header: header, reason: "Mail access not permitted")
        }
    }

    private func forward(_ header: LoginHandoff, fd: Int32, to end: Int32, name: String) {
        defer { close(fd) }
        guard let bytes = try? header.encoded(), bytes.count < LoginHandoff.maximumSize, Self.pass(bytes, fd, to: end)
        else {
            log.error(
                "master",
                "service(\(name)): cannot pass a session to it (\(String(cString: strerror(errno)))): "
                    + "connection closed; session=<\(header.sessionID)>")
            refuse(-1, header: header, reason: "")
            return
        }
        log.debug("master", "service(\(name)): session passed to it; session=<\(header.sessionID)>")
    }

    /// Non-blocking, but a burst may wait up to `sendWait` for the mail process to read (a stopped one does not
    /// hold up the router longer).
    private static func pass(_ bytes: [UInt8], _ fd: Int32, to end: Int32) -> Bool {
        if DescriptorPassing.send(end, bytes, fd: fd) { return true }
        guard errno == EAGAIN || errno == EWOULDBLOCK else { return false }
        var writable = pollfd(fd: end, events: Int16(POLLOUT), revents: 0)
        guard poll(&writable, 1, sendWait) > 0 else {
            errno = EAGAIN
            return false
        }
        return DescriptorPassing.send(end, bytes, fd: fd)
    }

    static let sendWait: Int32 = 2000

    /// IMAP `* BYE`, POP3 `-ERR`, then close (`fd` -1: nothing).
    private func refuse(_ fd: Int32, header: LoginHandoff, reason: String) {
        guard fd >= 0 else { return }
        let line = header.service == "imap" ? "* BYE [UNAVAILABLE] \(reason)\r\n" : "-ERR [SYS/TEMP] \(reason)\r\n"
        _ = line.utf8CString.withUnsafeBytes { send(fd, $0.baseAddress, $0.count - 1, Int32(MSG_DONTWAIT)) }
        close(fd)
    }

    /// The incident switch's answer: IMAP `TAG NO [UNAVAILABLE] REASON` and `* BYE` (RFC 5530 §3), POP3
    /// `-ERR [SYS/TEMP] REASON` (RFC 3206 §4), as the mail service answers a resumed login.
    private func refuseDisabled(_ fd: Int32, header: LoginHandoff, reason: String) {
        let tag = header.tag ?? ""
        let printable = tag.unicodeScalars.allSatisfy { $0.value > 0x20 && $0.value < 0x7F }
        let tagged = !tag.isEmpty && tag.utf8.count <= 128 && printable
        let line =
            header.service != "imap" ? "-ERR [SYS/TEMP] \(reason)\r\n"
            : tagged ? "\(tag) NO [UNAVAILABLE] \(reason)\r\n* BYE Logins are disabled.\r\n"
            : "* BYE [UNAVAILABLE] \(reason)\r\n"
        _ = line.utf8CString.withUnsafeBytes { send(fd, $0.baseAddress, $0.count - 1, Int32(MSG_DONTWAIT)) }
        close(fd)
    }

    /// The per-uid mail processes and a duplicate of the master's end of each one's hand-off socket (`MasterAdmin`
    /// asks them, then closes the duplicates). Retiring ones included: their sessions go on until they end. Taken
    /// under the tables' locks, before `ended` may close the router's ends: once a process ended and the router
    /// closed the ends, the duplicate reads end of file instead of waiting, or reading a socket of another process.
    func dedicatedEnds() -> [(name: String, fd: Int32)] {
        let live = dedicated.withLock { table in table.map { ($0.key.name, fcntl($0.value.end, F_DUPFD_CLOEXEC, 0)) } }
        let retiring = retired.withLock { table in table.map { ($0.value, fcntl($0.key, F_DUPFD_CLOEXEC, 0)) } }
        return (live + retiring).filter { $0.1 >= 0 }.sorted { $0.name < $1.name }
    }

    /// SIGHUP of the master (issue 11, as Dovecot's reload): every per-uid process retires. One without a session
    /// exits at once; one with sessions takes no more hand-offs and exits after its last session (at most
    /// `Supervisor.retireLimit`). The next login of its key starts a new process, which reads the new configuration.
    public func retireAll() {
        routing.withLock {
            let entries = dedicated.withLock { table in
                defer { table.removeAll() }
                return table
            }
            for (key, ends) in entries.sorted(by: { $0.key.name < $1.key.name }) {
                if !Self.pass(MailProcessKey.retireMessage, -1, to: ends.end) {
                    log.error("master", "service(\(key.name)): cannot tell it to retire: \(systemError())")
                }
                if let pid = supervisor.retire(named: key.name) {
                    retired.withLock { $0[ends.end] = "\(key.name) retiring, child \(pid)" }
                } else {
                    reroute(from: ends, key: key)
                }
            }
        }
    }

    /// SIGHUP of the master after a log rotation: the `mail` child and every per-uid process, retiring ones
    /// included, get `logFile` (a descriptor of the log file the master reopened) and log there from now on; they
    /// may not open the file themselves (their uid, a chroot). The caller keeps `logFile`.
    public func passLogFile(_ logFile: Int32) {
        routing.withLock {
            let ends =
                [("mail", mainEnd)] + dedicated.withLock { table in table.map { ($0.key.name, $0.value.end) } }
                + retired.withLock { table in table.map { ($0.value, $0.key) } }
            for (name, end) in ends where !Self.pass(MailProcessKey.logFileMessage, logFile, to: end) {
                log.error("master", "service(\(name)): cannot pass it the reopened log file: \(systemError())")
            }
        }
    }

    /// A key's process ended for good (idle exit, or retired): its socket goes. A hand-off passed to it after its
    /// last look goes to a new process of the key.
    private func ended(_ key: MailProcessKey, ends: Ends) {
        routing.withLock {
            dedicated.withLock { table in
                if table[key]?.end == ends.end { table[key] = nil }
            }
            _ = retired.withLock { $0.removeValue(forKey: ends.end) }
            reroute(from: ends, key: key)
        }
    }

    /// Passes the hand-offs still queued on `ends` to (a new process of) `key`, drops the rest (admin requests,
    /// the retire message), closes both ends. Holds `routing`.
    private func reroute(from ends: Ends, key: MailProcessKey) {
        var buffer = [UInt8](repeating: 0, count: LoginHandoff.maximumSize)
        var waiting = pollfd(fd: ends.childEnd, events: Int16(POLLIN), revents: 0)
        var moved = 0
        while poll(&waiting, 1, 0) > 0, waiting.revents & Int16(POLLIN) != 0,
            let (bytes, fd) = DescriptorPassing.receive(ends.childEnd, buffer: &buffer)
        {
            guard fd >= 0 else { continue }
            guard let header = try? LoginHandoff.decode(bytes) else {
                close(fd)
                continue
            }
            moved += 1
            guard let end = socket(for: key) else {
                refuse(fd, header: header, reason: "Internal error")
                continue
            }
            forward(header, fd: fd, to: end, name: key.name)
        }
        close(ends.end)
        close(ends.childEnd)
        if moved > 0 {
            log.info("master", "service(\(key.name)): \(moved) session(s) left for a process that ended: passed on")
        }
    }

    /// The master's end of `key`'s hand-off socket; the first time, a socketpair and a supervised process.
    private func socket(for key: MailProcessKey) -> Int32? {
        dedicated.withLock { table -> Int32? in
            if let ends = table[key] { return ends.end }
            guard table.count < Self.maximumDedicated else {
                log.error("master", "service(\(key.name)): more than \(Self.maximumDedicated) mail processes: refused")
                return nil
            }
            var pair: [Int32] = [-1, -1]
            let kind = Int32(SOCK_SEQPACKET.rawValue) | Int32(SOCK_CLOEXEC.rawValue)
            guard socketpair(AF_UNIX, kind, 0, &pair) == 0 else {
                log.error("master", "service(\(key.name)): socketpair failed: \(systemError())")
                return nil
            }
            _ = fcntl(pair[0], F_SETFL, fcntl(pair[0], F_GETFL) | O_NONBLOCK)
            let childEnd = pair[1]
            let arguments = baseArguments + key.arguments
            // The master keeps both ends: hand-offs wait in the socket while the process (re)starts. The main
            // thread starts it (the Supervisor's loop): the parent-death signal follows the spawning thread.
            let ends = Ends(end: pair[0], childEnd: childEnd)
            supervisor.add(
                ChildService(
                    kind: .mail, name: key.name, limits: current.withLock { $0.limits },
                    idleExitStatus: MailProcessKey.idleExitStatus,
                    gone: { [self] in ended(key, ends: ends) }
                ) {
                    try spawnSelf(arguments, passing: [childEnd: MailServiceFDs.firstListener])
                })
            table[key] = ends
            supervisor.wake()
            return pair[0]
        }
    }

    /// The auth process's answer for `token` (a `redeem` on a connection of the master's own, which the login
    /// process never has); a temporary failure when it cannot be asked. `connection` is kept between calls (a
    /// connection per login cost the master and the auth process more than the redeem itself); an answer other than
    /// success on a kept connection is asked again on a new one, which reaches the auth process that listens now
    /// (after a reload the old one may still hold the kept connection, and only the new one knows its tokens).
    static func redeem(_ token: String, authSocketPath: String, connection: inout Int32) -> AuthResult {
        for _ in 0..<3 {
            let kept = connection >= 0
            if !kept {
                connection = (try? UnixSocket.connect(authSocketPath)) ?? -1
                guard connection >= 0 else { return .failure(.temporaryFailure) }
                // A silent auth process holds a login up at most this long each way.
                var timeout = timeval(tv_sec: 10, tv_usec: 0)
                setsockopt(connection, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
                setsockopt(connection, SOL_SOCKET, SO_SNDTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
            }
            let reply = redeem(token, on: connection)
            if let reply, !reply.retry {
                if case .success = reply.result { return reply.result }
                if !kept { return reply.result }
            }
            // Not answered, "retry" (a reload), or refused on a kept connection: ask on a new one.
            close(connection)
            connection = -1
        }
        return .failure(.temporaryFailure)
    }

    /// One `redeem` on a connected auth socket, blocking; nil when it went wrong.
    static func redeem(_ token: String, on fd: Int32) -> AuthWire.Reply? {
        guard !token.isEmpty, let frame = try? AuthWire.encode(.redeem(id: 1, token: token)) else {
            return AuthWire.Reply(id: 1, result: .failure(.unknownUser))
        }
        guard frame.withUnsafeBytes({ send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }) == frame.count
        else { return nil }
        var frames = AuthWire.FrameBuffer()
        var chunk = [UInt8](repeating: 0, count: 8192)
        while true {
            let got = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if got < 0 && errno == EINTR { continue }
            guard got > 0 else { return nil }
            frames.append(chunk[..<got])
            let next: [UInt8]?
            do { next = try frames.next() } catch { return nil }
            guard let payload = next else { continue }
            return try? AuthWire.decodeReply(payload)
        }
    }
}
