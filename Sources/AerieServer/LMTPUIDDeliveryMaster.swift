import AerieAuth
public import AerieConfig
public import AerieCore
import CAerieSystem
import Dispatch
import Foundation
import LMTPProtocol
import LMTPSession
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// The master's side of LMTP delivery as another uid (issue 11, lmtp). It trusts nothing the mail service says
/// about a recipient but the name: it asks the auth process itself, applies first/last_valid_uid/gid (uid 0 never)
/// and starts `aerie lmtp-deliver` for the recipients of one uid/gid and chroot (decided as for their IMAP sessions,
/// `MailRoutePolicy.placement`), at most `workerLimit` at once (the rest wait), each killed after `workerTimeout`.
/// A worker that dies or says nothing gives 451 for its recipients.
public final class LMTPUIDDeliveryMaster: Sendable {
    /// The mail service's end (SOCK_SEQPACKET); the master keeps it open, so a restarted mail service gets it again.
    public let mailEnd: Int32
    private let masterEnd: Int32
    private let authSocketPath: String
    private let configPath: String?
    /// The ranges of the configuration read last: a reload (`update`) applies to the next recipient.
    private let policy: Mutex<UIDPolicy>
    /// Where each recipient's worker is chrooted and its home inside (only `placement` is used); reloaded likewise.
    private let chroots: Mutex<MailRoutePolicy>
    private let log: any LogSink
    private let workers: DispatchSemaphore
    private let sendLock = Mutex(())
    /// Test hook (`AERIE_TEST_LMTP_DELIVER_HOLD` in the master's environment): workers wait while this file exists.
    private let testHold: String?

    static let workerLimit = 8
    static let workerTimeout: Duration = .seconds(120)

    struct UIDPolicy: Sendable {
        var firstUID: UInt32, lastUID: UInt32, firstGID: UInt32, lastGID: UInt32

        init(_ settings: AerieSettings) {
            firstUID = settings.firstValidUID
            lastUID = settings.lastValidUID
            firstGID = settings.firstValidGID
            lastGID = settings.lastValidGID
        }

        /// Dovecot's mail_uid policy: uid 0 never; 0 as a last_valid_* means no upper bound.
        func permits(uid: UInt32, gid: UInt32) -> Bool {
            uid != 0 && uid >= firstUID && (lastUID == 0 || uid <= lastUID) && gid >= firstGID
                && (lastGID == 0 || gid <= lastGID)
        }
    }

    public init(configPath: String?, settings: AerieSettings, authSocketPath: String, log: any LogSink) throws {
        var pair: [Int32] = [0, 0]
        guard socketpair(AF_UNIX, Int32(SOCK_SEQPACKET.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0, &pair) == 0 else {
            throw ServerStartError("socketpair: \(String(cString: strerror(errno)))")
        }
        masterEnd = pair[0]
        mailEnd = pair[1]
        self.configPath = configPath
        self.authSocketPath = authSocketPath
        self.log = log
        policy = Mutex(UIDPolicy(settings))
        chroots = Mutex(MailRoutePolicy(settings: settings, mainAccount: nil))
        workers = DispatchSemaphore(value: Self.workerLimit)
        testHold = getenv("AERIE_TEST_LMTP_DELIVER_HOLD").flatMap { String(validatingCString: $0) }
    }

    /// SIGHUP of the master: first/last_valid_uid/gid and mail_chroot of the new configuration, from the next
    /// recipient on.
    public func update(settings: AerieSettings) {
        policy.withLock { $0 = UIDPolicy(settings) }
        chroots.withLock { $0 = MailRoutePolicy(settings: settings, mainAccount: nil) }
    }

    /// Serves the mail service's requests on a thread of the master's (signals stay blocked there).
    public func start() {
        let thread = Thread { [self] in serve() }
        thread.name = "lmtp-uid-master"
        thread.start()
    }

    private func serve() {
        var buffer = [UInt8](repeating: 0, count: LMTPUIDDeliveryWire.maximumSize)
        while let (bytes, fd) = DescriptorPassing.receive(masterEnd, buffer: &buffer) {
            guard fd >= 0, let request = LMTPUIDDeliveryWire.decode(LMTPUIDDeliveryWire.Request.self, bytes) else {
                if fd >= 0 { close(fd) }
                log.error("lmtp", "uid delivery: malformed request from the mail service")
                continue
            }
            // The receive loop waits for a free worker slot: the mail service's requests queue in the socket.
            workers.wait()
            let thread = Thread { [self] in
                defer { workers.signal() }
                defer { close(fd) }
                let replies = handle(request, message: fd)
                let result = LMTPUIDDeliveryWire.Result(id: request.id, replies: replies)
                guard let encoded = LMTPUIDDeliveryWire.encode(result) else { return }
                _ = sendLock.withLock { _ in DescriptorPassing.send(masterEnd, encoded, fd: -1) }
            }
            thread.start()
        }
        log.error("lmtp", "uid delivery: the mail service's socket closed")
    }

    /// One reply per recipient, in order.
    func handle(_ request: LMTPUIDDeliveryWire.Request, message: Int32) -> [LMTPReply] {
        var replies: [LMTPReply?] = Array(repeating: nil, count: request.recipients.count)
        var accepted: [(index: Int, recipient: LMTPUIDDeliveryWire.Recipient, user: AuthenticatedUser)] = []
        var chrootOf: [String] = []
        for (index, recipient) in request.recipients.enumerated() {
            let address = recipient.address
            switch Self.lookUp(recipient.user, socketPath: authSocketPath) {
            case .success(let user) where user.uid != request.uid || user.gid != request.gid:
                // The userdb changed between RCPT and now: the MTA tries again with the new answer.
                replies[index] = LMTPReply(code: 451, enhanced: "4.3.0", "<\(address)> User changed, try again")
            case .success(let user) where !policy.withLock({ $0 }).permits(uid: user.uid, gid: user.gid):
                log.error(
                    "lmtp(\(LogSafe.userName(user.user)))",
                    "Mail access for uid \(user.uid) gid \(user.gid) not permitted (see first_valid_uid in config file)"
                )
                replies[index] = LMTPReply(code: 550, enhanced: "5.3.0", "<\(address)> Mailbox unavailable")
            case .success(var user):
                let (chroot, home) = chroots.withLock { $0 }.placement(of: user)
                guard chroot.isEmpty || chroot.hasPrefix("/") else {
                    log.error("lmtp(\(LogSafe.userName(user.user)))", "chroot \(chroot) is not an absolute path")
                    replies[index] = LMTPReply(code: 550, enhanced: "5.3.0", "<\(address)> Mailbox unavailable")
                    continue
                }
                // The worker sees the home as the user's IMAP session does: inside the chroot.
                user.home = home
                accepted.append((index, recipient, user))
                chrootOf.append(chroot)
            case .failure(.temporaryFailure):
                replies[index] = LMTPReply(code: 451, enhanced: "4.3.0", "<\(address)> Temporary user lookup failure")
            case .failure:
                replies[index] = LMTPReply(code: 550, enhanced: "5.1.1", "<\(address)> User doesn't exist")
            }
        }
        // One worker per chroot, in the order of their first recipient.
        let distinct = chrootOf.reduce(into: [String]()) { if !$0.contains($1) { $0.append($1) } }
        for chroot in distinct {
            let group = accepted.indices.filter { chrootOf[$0] == chroot }.map { accepted[$0] }
            let job = LMTPUIDDeliveryWire.Job(
                sender: request.sender, recipients: group.map(\.recipient),
                users: group.map(\.user), trace: request.trace, sessionID: request.sessionID)
            let done = runWorker(uid: request.uid, gid: request.gid, chroot: chroot, job: job, message: message)
            for (position, entry) in group.enumerated() {
                replies[entry.index] =
                    done.flatMap { $0.count == group.count ? $0[position] : nil }
                    ?? LMTPUIDDeliveryWire.temporaryFailure(entry.recipient.address)
            }
        }
        return replies.enumerated().map { $1 ?? LMTPUIDDeliveryWire.temporaryFailure(request.recipients[$0].address) }
    }

    /// Starts `aerie lmtp-deliver` as uid/gid (chrooted unless `chroot` is empty), hands it the job, and waits for
    /// its replies; nil if it failed to start, died, or ran out of time (then it is killed).
    private func runWorker(
        uid: UInt32, gid: UInt32, chroot: String, job: LMTPUIDDeliveryWire.Job, message: Int32
    ) -> [LMTPReply]? {
        guard let bytes = LMTPUIDDeliveryWire.encode(job) else { return nil }
        var pair: [Int32] = [0, 0]
        guard socketpair(AF_UNIX, Int32(SOCK_SEQPACKET.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0, &pair) == 0 else {
            return nil
        }
        defer { close(pair[0]) }
        let arguments =
            ["aerie", "lmtp-deliver"] + ConfigSnapshotFile.childArguments(configPath)
            + ["--uid", "\(uid)", "--gid", "\(gid)"]
            + (chroot.isEmpty ? [] : ["--chroot", chroot]) + (testHold.map { ["--test-hold", $0] } ?? [])
        let pid: Int32
        do {
            pid = try spawnSelf(arguments, passing: [pair[1]: LMTPDeliveryWorker.jobSocket])
        } catch {
            close(pair[1])
            log.error("lmtp", "uid delivery: cannot start lmtp-deliver: \(error)")
            return nil
        }
        close(pair[1])
        guard DescriptorPassing.send(pair[0], bytes, fd: message) else {
            kill(pid, SIGKILL)
            return nil
        }
        // The master's Supervisor.reap collects the worker's exit (waitpid(-1)): the socket is the only answer.
        let deadline = ContinuousClock.now + Self.workerTimeout
        var poller = pollfd(fd: pair[0], events: Int16(POLLIN), revents: 0)
        while true {
            let left = deadline - ContinuousClock.now
            guard left > .zero else {
                log.error("lmtp", "uid delivery: lmtp-deliver \(pid) (uid \(uid)) timed out: killed")
                kill(pid, SIGKILL)
                return nil
            }
            let ready = poll(&poller, 1, Int32(clamping: left.components.seconds * 1000 + 1))
            if ready < 0 && errno == EINTR { continue }
            if ready > 0 { break }
        }
        var buffer = [UInt8](repeating: 0, count: LMTPUIDDeliveryWire.maximumSize)
        guard let (reply, fd) = DescriptorPassing.receive(pair[0], buffer: &buffer),
            let result = LMTPUIDDeliveryWire.decode(LMTPUIDDeliveryWire.Result.self, reply)
        else {
            log.error("lmtp", "uid delivery: lmtp-deliver \(pid) (uid \(uid)) ended without an answer")
            kill(pid, SIGKILL)
            return nil
        }
        if fd >= 0 { close(fd) }
        return result.replies
    }

    /// A userdb lookup over the auth socket, blocking (the master has no event loop); retried when the auth process
    /// is being replaced.
    static func lookUp(_ user: String, socketPath: String) -> AuthResult {
        for _ in 0..<3 {
            guard let fd = try? UnixSocket.connect(socketPath, receiveTimeout: 60) else { break }
            defer { close(fd) }
            guard let request = try? AuthWire.encode(.lookup(id: 1, user: user)) else { break }
            let written = request.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            guard written == request.count else { break }
            var frames = AuthWire.FrameBuffer()
            var chunk = [UInt8](repeating: 0, count: 16 * 1024)
            var reply: AuthWire.Reply?
            reading: while reply == nil {
                do {
                    if let payload = try frames.next() {
                        reply = try AuthWire.decodeReply(payload)
                        continue
                    }
                } catch {
                    break reading
                }
                let got = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
                if got < 0 && errno == EINTR { continue }
                guard got > 0 else { break }
                frames.append(chunk[..<got])
            }
            guard let reply else { break }
            if reply.retry { continue }
            return reply.result
        }
        return .failure(.temporaryFailure)
    }
}

/// `aerie lmtp-deliver` (internal): started by the master as root, it chroots when the recipients' IMAP sessions
/// are (`--chroot`, the same decision and call as `mail-service --run-as`), becomes their uid/gid at once (one
/// group, no_new_privs), then reads one job from `jobSocket`, writes each copy with `LMTPDeliverer` (the mail
/// service's code: dovecot-compatible names, fsync before success) and answers one reply per recipient.
public enum LMTPDeliveryWorker {
    public static let jobSocket: Int32 = 3

    /// Returns the exit status.
    public static func run(
        settings: AerieSettings, log: any LogSink, uid: UInt32, gid: UInt32, chroot: String? = nil, testHold: String?
    ) -> Int32 {
        let policy = LMTPUIDDeliveryMaster.UIDPolicy(settings)
        guard policy.permits(uid: uid, gid: gid) else {
            log.error("lmtp", "lmtp-deliver: uid \(uid) gid \(gid) not permitted")
            return 1
        }
        let mailSettings = settings.forProtocol("imap")
        let mailAccess = MailAccess(
            settings: mailSettings, pool: FairMailPool(permits: 1), writePool: FairMailPool(permits: 1))
        // The test hook's directory, opened before the chroot hides it; closed before the job is read.
        let holdDirectory = testHold.map {
            open(($0 as NSString).deletingLastPathComponent, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        }
        do {
            if let chroot, !chroot.isEmpty {
                try Privileges.chroot(to: chroot)
                log.info("lmtp", "lmtp-deliver: chrooted to \(chroot) (uid \(uid) gid \(gid))")
            }
            try Privileges.drop(to: ServiceAccount(name: "uid \(uid)", uid: uid, gid: gid))
        } catch {
            log.error("lmtp", "lmtp-deliver: \(error)")
            return 1
        }
        // Set after the drop (a credential change clears it): a worker never outlives the master.
        _ = aerie_set_parent_death_signal(SIGKILL)
        if getppid() == 1 { return 1 }
        umask(0o077)
        var buffer = [UInt8](repeating: 0, count: LMTPUIDDeliveryWire.maximumSize)
        guard let (bytes, fd) = DescriptorPassing.receive(jobSocket, buffer: &buffer), fd >= 0,
            let job = LMTPUIDDeliveryWire.decode(LMTPUIDDeliveryWire.Job.self, bytes),
            job.recipients.count == job.users.count,
            job.users.allSatisfy({ $0.uid == uid && $0.gid == gid })
        else {
            log.error("lmtp", "lmtp-deliver: malformed job")
            return 1
        }
        if let testHold, let holdDirectory {
            let name = (testHold as NSString).lastPathComponent
            while faccessat(holdDirectory, name, F_OK, 0) == 0 { usleep(20_000) }
            close(holdDirectory)
        }
        let lmtpSize = settings.forProtocol("lmtp").size(forKey: "quota_mail_size") ?? 0
        let limit = lmtpSize == 0 || lmtpSize == UInt64.max ? 1 << 30 : Int(clamping: lmtpSize) * 2 + 64 * 1024
        guard let message = LMTPUIDDeliveryWire.readMessage(fd, limit: limit) else {
            log.error("lmtp", "lmtp-deliver: cannot read the message")
            return 1
        }
        close(fd)
        let recipients = zip(job.recipients, job.users).map {
            LMTPRecipient(address: $0.address, user: $1, detail: $0.detail)
        }
        let delivery = LMTPDelivery(
            sender: job.sender, recipients: recipients, message: message, trace: job.trace)
        let replies = LMTPDeliverer.deliver(
            delivery, store: { try mailAccess.store(for: $0) }, log: log, sessionID: job.sessionID,
            separator: mailAccess.sessionSettings.separator)
        let result = LMTPUIDDeliveryWire.Result(id: 0, replies: replies)
        guard let encoded = LMTPUIDDeliveryWire.encode(result), DescriptorPassing.send(jobSocket, encoded, fd: -1)
        else { return 1 }
        return 0
    }
}
