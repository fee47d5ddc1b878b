public import AerieCore
import CAerieSystem
import Foundation
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// The master's part of the admin plane (issue 11): the main mail service owns `base_dir/aerie-admin` (and the TLS
/// admin listener) and asks the master over a SOCK_SEQPACKET socketpair (`LoginAdmin`'s `ID\nWORD…` format) for
/// what only the master reaches:
/// - the incident switch, held here (the master never restarts): the router refuses a hand-off of a disabled service
///   whatever process would serve the user, and each (re)started login worker and main mail service gets it on its
///   command line (`switchArguments`), so the login worker refuses before the password is checked;
/// - `who` and `kick`, relayed to every per-uid mail process over its hand-off socket (a message without a
///   descriptor), each answer awaited at most `fanOutMilliseconds`; one that does not answer is named in the reply.
public final class MasterAdmin: Sendable {
    /// How long the master waits for the per-uid processes' answers (the main service waits longer for the master).
    static let fanOutMilliseconds = 2_000

    let logins = LoginSwitch()
    private let masterEnd: Int32
    /// The main mail service's end (`aerie mail-service --master-admin-fd`); the master keeps both across restarts.
    public let mailEnd: Int32
    private let router = Mutex<MailRouter?>(nil)
    private let log: any LogSink

    public init(log: any LogSink) throws {
        var pair: [Int32] = [-1, -1]
        let kind = Int32(SOCK_SEQPACKET.rawValue) | Int32(SOCK_CLOEXEC.rawValue)
        guard socketpair(AF_UNIX, kind, 0, &pair) == 0 else {
            throw ServerStartError("socketpair for the admin relay failed: \(systemError())")
        }
        masterEnd = pair[0]
        mailEnd = pair[1]
        // A mail service that does not read its answers (stopped) must not hold up the relay for good.
        var timeout = timeval(tv_sec: 1, tv_usec: 0)
        setsockopt(masterEnd, SOL_SOCKET, SO_SNDTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        self.log = log
    }

    /// `--login-disabled SERVICE=REASON` for each service switched off now: a (re)started child starts with it.
    public func switchArguments() -> [String] {
        logins.disabledServices.flatMap { ["--login-disabled", "\($0.service)=\($0.reason)"] }
    }

    /// Starts the thread answering the main mail service; `router`: the per-uid processes to relay to.
    public func start(router: MailRouter?) {
        self.router.withLock { $0 = router }
        let thread = Thread { [self] in
            var buffer = [UInt8](repeating: 0, count: LoginAdmin.maximumMessage)
            while let (bytes, fd) = DescriptorPassing.receive(masterEnd, buffer: &buffer) {
                if fd >= 0 { close(fd) }
                guard let (id, words) = LoginAdmin.parseRequest(bytes) else { continue }
                let text = AdminCommand(words).map { answer($0, words: words) } ?? "refused"
                _ = DescriptorPassing.send(masterEnd, LoginAdmin.answer(id: id, text: text), fd: -1)
            }
            log.error("master", "The admin relay socket closed")
        }
        thread.name = "master-admin"
        thread.stackSize = 256 * 1024
        thread.start()
    }

    func answer(_ command: AdminCommand, words: [String]) -> String {
        switch command {
        case .loginsDisable(let service, let reason):
            logins.disable(service, reason: reason)
        case .loginsEnable(let service):
            logins.enable(service)
        case .loginsStatus:
            break
        case .who, .kick:
            let processes = router.withLock { $0 }?.dedicatedEnds() ?? []
            defer { processes.forEach { close($0.fd) } }
            return Self.fanOut(command, words: words, to: processes)
        }
        return logins.status.joined(separator: "\n")
    }

    private static let nextID = Atomic<UInt64>(1)

    /// Asks every process, waits for all answers until the deadline, merges them (`who`: one table; `kick`: the
    /// sum), then one line per process that did not answer. A process that ended (idle exit, retired: its socket
    /// at end of file or reset) has no sessions: it is not named.
    static func fanOut(_ command: AdminCommand, words: [String], to processes: [(name: String, fd: Int32)]) -> String {
        let id = nextID.add(1, ordering: .relaxed).newValue
        let expiry = ProcessAdmin.wallMilliseconds() + Int64(fanOutMilliseconds)
        let request = ProcessAdmin.request(id: id, expiry: expiry, words: words)
        var buffer = [UInt8](repeating: 0, count: LoginAdmin.maximumMessage)
        var waiting: [Int32: String] = [:]
        var notes: [String] = []
        for (name, fd) in processes {
            // Answers that came after their request gave up.
            var entry = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            while poll(&entry, 1, 0) > 0, entry.revents & Int16(POLLIN) != 0,
                let (_, stale) = DescriptorPassing.receive(fd, buffer: &buffer)
            {
                if stale >= 0 { close(stale) }
            }
            if DescriptorPassing.send(fd, request, fd: -1) {
                waiting[fd] = name
            } else if !Self.ended(errno) {
                notes.append("(service(\(name)) cannot be asked: its sessions are not included)")
            }
        }
        var answers: [String] = []
        let deadline = ContinuousClock.now + .milliseconds(fanOutMilliseconds)
        while !waiting.isEmpty, ContinuousClock.now < deadline {
            let left = deadline - ContinuousClock.now
            let milliseconds = Int32(
                clamping: left.components.seconds * 1000 + left.components.attoseconds / 1_000_000_000_000_000)
            var entries = waiting.keys.map { pollfd(fd: $0, events: Int16(POLLIN), revents: 0) }
            guard poll(&entries, nfds_t(entries.count), max(1, milliseconds)) > 0 else { continue }
            for entry in entries where entry.revents != 0 {
                errno = 0
                guard let (bytes, fd) = DescriptorPassing.receive(entry.fd, buffer: &buffer) else {
                    if errno == 0 || Self.ended(errno) { waiting[entry.fd] = nil }
                    continue
                }
                if fd >= 0 { close(fd) }
                guard let text = LoginAdmin.parseAnswer(bytes, id: id) else { continue }
                answers.append(text)
                waiting[entry.fd] = nil
            }
        }
        for name in waiting.values.sorted() {
            notes.append("(service(\(name)) did not answer in time: its sessions are not included)")
        }
        return ([merge(command, answers)] + notes).joined(separator: "\n")
    }

    /// The errors of a socket whose process is gone.
    static func ended(_ error: Int32) -> Bool { error == EPIPE || error == ECONNRESET || error == ENOTCONN }

    static func merge(_ command: AdminCommand, _ answers: [String]) -> String {
        if case .kick = command {
            let count = answers.reduce(0) { $0 + LoginAdmin.kickedCount($1) }
            return "kicked \(count) connection\(count == 1 ? "" : "s")"
        }
        let rows = answers.flatMap { $0.split(separator: "\n").dropFirst().map(String.init) }
        return ([AdminExecutor.whoTable([])] + rows).joined(separator: "\n")
    }
}

/// A per-uid mail process's side of `MasterAdmin`: a request is `ID\nEXPIRY\nWORD…` (EXPIRY: wall-clock
/// milliseconds after which it is ignored, so a process started again never carries out a request queued for its
/// predecessor), the answer `ID\nTEXT`. Only `who` and `kick`: the switch is the master's.
enum ProcessAdmin {
    static func wallMilliseconds() -> Int64 {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        return Int64(now.tv_sec) * 1000 + Int64(now.tv_nsec) / 1_000_000
    }

    static func request(id: UInt64, expiry: Int64, words: [String]) -> [UInt8] {
        LoginAdmin.request(id: id, words: ["\(expiry)"] + words)
    }

    /// The answer to send back, or nil when there is none (expired, malformed). `permits`: the commands carried out
    /// (the login process's: those about pre-login connections).
    static func answer(
        _ bytes: [UInt8], executor: AdminExecutor, now: Int64 = wallMilliseconds(),
        permits: (AdminCommand) -> Bool = isRelayed
    ) -> [UInt8]? {
        guard let (id, words) = LoginAdmin.parseRequest(bytes), let expiry = words.first.flatMap({ Int64($0) }),
            now <= expiry
        else { return nil }
        let text: String
        switch AdminCommand(Array(words.dropFirst())) {
        case let command? where permits(command): text = executor.run(command).text
        default: text = "refused"
        }
        return LoginAdmin.answer(id: id, text: text)
    }

    static func isRelayed(_ command: AdminCommand) -> Bool {
        switch command {
        case .who, .kick: true
        default: false
        }
    }
}
