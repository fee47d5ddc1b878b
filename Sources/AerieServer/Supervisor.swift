public import AerieCore
import CAerieSystem
import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// The kinds of process `aerie serve` (the master) starts and watches, as Dovecot's services (issue 11).
public enum ChildKind: String, Sendable, CaseIterable {
    /// `aerie tls-keeper-worker`: root, holds the TLS private key and signs handshakes for the mail service.
    case keeper = "tls-keeper"
    /// `aerie auth-supervisor` and its `auth-service` (default_internal_user): passdbs, userdbs, passwords.
    case auth
    /// `aerie mail-service`: the listeners' connections (IMAP, POP3, LMTP), as the mail user; also each mail
    /// process of one uid/gid/chroot (`--run-as`, `MailRouter`), in slots named `mail uid=… gid=…`.
    case mail
    /// `aerie login-worker` (`login_process = yes`): TLS and pre-login IMAP/POP3 as default_login_user, chrooted.
    case login
    /// The login process's own `aerie tls-keeper-worker` (root): signs its handshakes.
    case loginKeeper = "login-tls-keeper"

    /// Dovecot `service NAME { }` sections whose process settings (vsz_limit, process_limit) apply to this kind.
    public var dovecotServices: [String] {
        switch self {
        case .keeper: []
        case .auth: ["auth", "auth-worker"]
        case .mail: ["imap", "pop3", "lmtp"]
        case .login: []
        case .loginKeeper: []
        }
    }
}

/// One child the master keeps running: how to start it, and its limits.
public struct ChildService: Sendable {
    public var kind: ChildKind
    /// The name in the log: the kind's, or e.g. `mail uid=1501 gid=1501` for a mail process of one key.
    public var name: String
    /// Starts one process; returns its pid.
    public var launch: @Sendable () throws -> Int32
    public var limits: ChildLimits
    /// An exit with this status is the child's own choice (a per-uid mail process idle for idle_kill_interval):
    /// not a crash, its slot goes and `gone` runs; nil: every end is restarted.
    public var idleExitStatus: Int32?
    /// Runs (on the master's loop, outside its lock) once the child has ended for good: an idle exit, or the end of
    /// a child that retired (`Supervisor.retire`).
    public var gone: (@Sendable () -> Void)?

    public init(
        kind: ChildKind, name: String? = nil, limits: ChildLimits, idleExitStatus: Int32? = nil,
        gone: (@Sendable () -> Void)? = nil, launch: @escaping @Sendable () throws -> Int32
    ) {
        self.kind = kind
        self.name = name ?? kind.rawValue
        self.limits = limits
        self.idleExitStatus = idleExitStatus
        self.gone = gone
        self.launch = launch
    }
}

/// Restart delays: 1 s, doubling up to 30 s; a child that stayed up a minute starts the count again.
public struct RestartBackoff: Sendable, Equatable {
    public static let first: Duration = .seconds(1)
    public static let longest: Duration = .seconds(30)
    public static let healthy: Duration = .seconds(60)
    public private(set) var next: Duration = first

    public init() {}

    /// The delay before restarting a child that lived `lived`; later deaths wait longer.
    public mutating func delay(afterLiving lived: Duration) -> Duration {
        if lived >= Self.healthy { next = Self.first }
        defer { next = min(next * 2, Self.longest) }
        return next
    }
}

/// The master's loop: starts every child, restarts one that dies (with backoff), restarts one whose memory is over
/// its limit, forwards SIGHUP and stops everything on SIGTERM. Runs on the main thread, which never exits: children
/// set a parent-death signal, and that follows the thread that spawned them. Other threads (the mail router) may add
/// children: every slot access holds `lock`, and only the main thread spawns.
public final class Supervisor: @unchecked Sendable {
    struct Running {
        var pid: Int32
        var started: ContinuousClock.Instant
        /// Set when the master asked it to leave (memory limit): SIGKILL after this moment.
        var killAt: ContinuousClock.Instant?
    }

    struct Slot {
        var service: ChildService
        var running: Running?
        var restartAt: ContinuousClock.Instant = .now
        var backoff = RestartBackoff()
        /// The next death is the master's own doing (memory limit): restart at once.
        var restartNow = false
    }

    private var slots: [Slot]
    private let lock = NSLock()
    private let log: any LogSink
    /// Children of an older generation (issue 11, reload): serving their last connections, never restarted.
    private var retiring: [Retiring] = []
    /// The signals the loop waits for; blocked in every thread (see `blockSignals`).
    static let handled = [SIGHUP, SIGTERM, SIGINT, SIGCHLD]
    /// How often the children's memory is measured.
    static let memoryCheckInterval: Duration = .seconds(1)
    /// A child told to leave (SIGTERM) that is still there after this is killed.
    static let stopGrace: Duration = .seconds(10)

    public init(services: [ChildService], log: any LogSink) {
        self.slots = services.map { Slot(service: $0) }
        self.log = log
    }

    /// Call first thing in `main`, before any thread exists: the loop takes these signals with sigtimedwait.
    ///
    /// The master stays off swift-service-lifecycle (which its mail service uses, `MailSessionsService`): a
    /// `ServiceGroup` traps signals with Dispatch sources once the process runs, while the master must have them
    /// blocked before its first thread and before every `fork`, and takes SIGCHLD in the same synchronous loop that
    /// restarts children; its shutdown is "SIGTERM the children, wait, SIGKILL", with no sessions of its own.
    public static func blockSignals() {
        var set = sigset_t()
        sigemptyset(&set)
        for signalNumber in handled { sigaddset(&set, signalNumber) }
        pthread_sigmask(SIG_BLOCK, &set, nil)
    }

    /// Adds a kind to watch (started by `start` or the loop).
    public func add(_ service: ChildService) {
        lock.withLock { slots.append(Slot(service: service)) }
        logLimits(service.name, service.limits)
    }

    /// Another thread added a child: the loop (waiting for a signal) starts it now rather than at its next turn.
    public func wake() { kill(getpid(), SIGCHLD) }

    private func logLimits(_ name: String, _ limits: ChildLimits) {
        guard let memory = limits.memory else { return }
        log.info("master", "service(\(name)): vsz_limit \(memory >> 20) MiB, as resident memory")
    }

    /// The running pid of `kind`'s (first) child, if any.
    public func pid(of kind: ChildKind) -> Int32? {
        lock.withLock { slots.first { $0.service.kind == kind }?.running?.pid }
    }

    /// The running pid of the child named `name`, if any.
    public func pid(named name: String) -> Int32? {
        lock.withLock { slots.first { $0.service.name == name }?.running?.pid }
    }

    /// Starts `kind` now and returns its pid; throws if it cannot be spawned.
    @discardableResult
    public func start(_ kind: ChildKind) throws -> Int32 {
        lock.lock()
        defer { lock.unlock() }
        guard let index = slots.firstIndex(where: { $0.service.kind == kind }) else {
            throw ServerStartError("no \(kind.rawValue) service")
        }
        let pid = try slots[index].service.launch()
        slots[index].running = Running(pid: pid, started: .now)
        return pid
    }

    /// New limits after a reload.
    public func update(limits: [ChildKind: ChildLimits]) {
        lock.lock()
        defer { lock.unlock() }
        for index in slots.indices {
            guard let new = limits[slots[index].service.kind], new != slots[index].service.limits else { continue }
            slots[index].service.limits = new
            logLimits(slots[index].service.name, new)
        }
    }

    /// A child a reload replaced (`replace`): it leaves by itself once its connections end; killed at `killAt`.
    struct Retiring {
        var kind: ChildKind
        var pid: Int32
        var killAt: ContinuousClock.Instant
        var killed = false
        /// The name in the log: the kind's, or its slot's (`retire`).
        var name: String
        var gone: (@Sendable () -> Void)? = nil

        init(kind: ChildKind, pid: Int32, killAt: ContinuousClock.Instant, name: String? = nil,
             gone: (@Sendable () -> Void)? = nil) {
            self.kind = kind
            self.pid = pid
            self.killAt = killAt
            self.name = name ?? kind.rawValue
            self.gone = gone
        }
    }

    /// How long a retiring child may serve its last connections: a relayed session can last for days (IDLE).
    public static let retireLimit: Duration = .seconds(3600)
    /// Retiring children of one kind at most: a reload past it kills the oldest.
    public static let maximumRetiring = 4

    /// Reload (issue 11): `pid` becomes `kind`'s running child. The one it replaces is sent `retireSignal` (nil:
    /// none, it ends by itself) and retires: never restarted, reaped, killed after `retireLimit`.
    public func replace(_ kind: ChildKind, pid: Int32, retireSignal: Int32?) {
        lock.lock()
        defer { lock.unlock() }
        guard let index = slots.firstIndex(where: { $0.service.kind == kind }) else { return }
        if let old = slots[index].running {
            if let retireSignal { kill(old.pid, retireSignal) }
            killOldestRetiring(over: kind.rawValue) { $0.kind == kind }
            retiring.append(Retiring(kind: kind, pid: old.pid, killAt: .now + Self.retireLimit))
            log.info("master", "service(\(kind.rawValue)): child \(old.pid) retires (no new connections)")
        }
        slots[index].running = Running(pid: pid, started: .now)
        slots[index].restartNow = false
        slots[index].backoff = RestartBackoff()
    }

    /// With `maximumRetiring` of `service`'s children (`matches`) retiring already, the oldest is killed. The
    /// caller holds `lock`.
    private func killOldestRetiring(over service: String, matches: (Retiring) -> Bool) {
        let alive = retiring.indices.filter { matches(retiring[$0]) && !retiring[$0].killed }
        guard alive.count >= Self.maximumRetiring, let oldest = alive.first else { return }
        kill(retiring[oldest].pid, SIGKILL)
        retiring[oldest].killed = true
        log.warning(
            "master",
            "service(\(service)): more than \(Self.maximumRetiring) generations retiring: killing the oldest, child "
                + "\(retiring[oldest].pid)")
    }

    /// Reload of a child started on demand (issue 11, a per-uid mail process): the slot `name` goes; its running
    /// child, told by the caller to stop taking work, retires (never restarted, killed after `retireLimit`) and the
    /// slot's `gone` runs when it ends. Returns its pid; nil when none runs (the slot went, `gone` does not run).
    public func retire(named name: String) -> Int32? {
        lock.lock()
        defer { lock.unlock() }
        guard let index = slots.firstIndex(where: { $0.service.name == name }) else { return nil }
        let slot = slots.remove(at: index)
        guard let old = slot.running else { return nil }
        killOldestRetiring(over: name) { $0.name == name }
        retiring.append(
            Retiring(kind: slot.service.kind, pid: old.pid, killAt: .now + Self.retireLimit, name: name,
                     gone: slot.service.gone))
        log.info("master", "service(\(name)): child \(old.pid) retires (no new sessions; it ends with its last one)")
        return old.pid
    }

    /// The pids of `kind`'s retiring children, oldest first.
    public func retiringPIDs(of kind: ChildKind) -> [Int32] {
        lock.withLock { retiring.filter { $0.kind == kind }.map(\.pid) }
    }

    /// Sends `signalNumber` to every running child of `kind`.
    public func signal(_ kind: ChildKind, _ signalNumber: Int32) {
        let pids = lock.withLock { slots.filter { $0.service.kind == kind }.compactMap { $0.running?.pid } }
        for pid in pids { kill(pid, signalNumber) }
    }

    /// Runs until SIGTERM/SIGINT; `reload` is called on SIGHUP. Then stops every child and returns.
    public func run(reload: () -> Void) {
        var nextMemoryCheck = ContinuousClock.now
        while true {
            startDue()
            let signalNumber = waitForSignal(milliseconds: 250)
            reap()
            if signalNumber == SIGHUP { reload() }
            if signalNumber == SIGTERM || signalNumber == SIGINT { break }
            let now = ContinuousClock.now
            if now >= nextMemoryCheck {
                nextMemoryCheck = now + Self.memoryCheckInterval
                checkMemory()
            }
            killOverdue(now: now)
        }
        stopAll()
    }

    /// Waits for the first start of `kind`'s child to report ready on `readyFD` (one byte). Returns false, with
    /// the child's end logged, if it exits first.
    public func awaitReady(_ kind: ChildKind, readyFD: Int32) -> Bool {
        while true {
            var poller = pollfd(fd: readyFD, events: Int16(POLLIN), revents: 0)
            if poll(&poller, 1, 100) > 0 {
                var byte: UInt8 = 0
                if read(readyFD, &byte, 1) == 1 { return true }
            }
            guard let pid = pid(of: kind) else { return false }
            var status: Int32 = 0
            if waitpid(pid, &status, WNOHANG) == pid {
                lock.withLock {
                    if let index = slots.firstIndex(where: { $0.service.kind == kind }) { slots[index].running = nil }
                }
                log.error("master", "service(\(kind.rawValue)): child \(pid) \(Self.describe(status)) while starting")
                return false
            }
        }
    }

    private func startDue() {
        lock.lock()
        defer { lock.unlock() }
        let now = ContinuousClock.now
        for index in slots.indices where slots[index].running == nil && now >= slots[index].restartAt {
            let kind = slots[index].service.name
            do {
                let pid = try slots[index].service.launch()
                slots[index].running = Running(pid: pid, started: now)
                log.info("master", "service(\(kind)): started child \(pid)")
            } catch {
                let delay = slots[index].backoff.delay(afterLiving: .zero)
                slots[index].restartAt = now + delay
                log.error("master", "service(\(kind)): cannot start a child: \(error) (trying again in "
                    + "\(Self.format(delay)))")
            }
        }
    }

    private func waitForSignal(milliseconds: Int) -> Int32 {
        var set = sigset_t()
        sigemptyset(&set)
        for signalNumber in Self.handled { sigaddset(&set, signalNumber) }
        var timeout = timespec(tv_sec: milliseconds / 1000, tv_nsec: (milliseconds % 1000) * 1_000_000)
        return sigtimedwait(&set, nil, &timeout)
    }

    /// Collects every child that ended and schedules its restart; then runs the `gone` of those that ended for good.
    private func reap() {
        lock.lock()
        var gone: [@Sendable () -> Void] = []
        defer {
            lock.unlock()
            for action in gone { action() }
        }
        while true {
            var status: Int32 = 0
            let pid = waitpid(-1, &status, WNOHANG)
            guard pid > 0 else { return }
            if let index = retiring.firstIndex(where: { $0.pid == pid }) {
                let retired = retiring.remove(at: index)
                log.info("master", "service(\(retired.name)): retired child \(pid) \(Self.describe(status))")
                if let action = retired.gone { gone.append(action) }
                continue
            }
            guard let index = slots.firstIndex(where: { $0.running?.pid == pid }), let running = slots[index].running
            else { continue }
            let kind = slots[index].service.name
            if let idle = slots[index].service.idleExitStatus, status == idle << 8, running.killAt == nil {
                let slot = slots.remove(at: index)
                log.info(
                    "master",
                    "service(\(kind)): child \(pid) exited after idle_kill_interval without sessions (not restarted: "
                        + "the next login starts one)")
                if let action = slot.service.gone { gone.append(action) }
                continue
            }
            let now = ContinuousClock.now
            let delay: Duration
            if slots[index].restartNow {
                delay = .zero
                slots[index].restartNow = false
            } else {
                delay = slots[index].backoff.delay(afterLiving: now - running.started)
            }
            slots[index].running = nil
            slots[index].restartAt = now + delay
            log.error(
                "master",
                "service(\(kind)): child \(pid) \(Self.describe(status)) (restarting in \(Self.format(delay)))")
        }
    }

    /// A child over its memory limit is asked to leave (SIGTERM: sessions get BYE, deliveries in progress end), then
    /// killed if it has not gone within `stopGrace`; it is started again at once.
    private func checkMemory() {
        lock.lock()
        defer { lock.unlock() }
        for index in slots.indices {
            guard let limit = slots[index].service.limits.memory, var running = slots[index].running,
                running.killAt == nil
            else { continue }
            let used = ProcessMemory.residentBytes(ofTreeAt: running.pid)
            guard used > limit else { continue }
            let kind = slots[index].service.name
            log.warning(
                "master",
                "service(\(kind)): child \(running.pid) uses \(used >> 20) MiB of memory, over its vsz_limit "
                    + "of \(limit >> 20) MiB: restarting it")
            kill(running.pid, SIGTERM)
            running.killAt = .now + Self.stopGrace
            slots[index].running = running
            slots[index].restartNow = true
        }
    }

    private func killOverdue(now: ContinuousClock.Instant) {
        lock.lock()
        defer { lock.unlock() }
        for slot in slots {
            if let running = slot.running, let killAt = running.killAt, now >= killAt { kill(running.pid, SIGKILL) }
        }
        for index in retiring.indices where !retiring[index].killed && now >= retiring[index].killAt {
            log.warning(
                "master",
                "service(\(retiring[index].name)): retired child \(retiring[index].pid) still serves after "
                    + "\(Self.format(Self.retireLimit)): killing it")
            kill(retiring[index].pid, SIGKILL)
            retiring[index].killed = true
        }
    }

    /// SIGTERM: the mail service first (it says BYE and finishes deliveries), then the others; whatever is left
    /// after the grace time is killed.
    public func stopAll() {
        let order: [[ChildKind]] = [[.mail], ChildKind.allCases.filter { $0 != .mail }]
        for kinds in order {
            let pids = lock.withLock {
                slots.filter { kinds.contains($0.service.kind) }.compactMap { $0.running?.pid }
                    + retiring.filter { kinds.contains($0.kind) }.map(\.pid)
            }
            for pid in pids { kill(pid, SIGTERM) }
            let deadline = ContinuousClock.now + Self.stopGrace
            var left = Set(pids)
            while !left.isEmpty {
                left = left.filter { pid in
                    var status: Int32 = 0
                    return waitpid(pid, &status, WNOHANG) == 0
                }
                if left.isEmpty { break }
                if ContinuousClock.now >= deadline {
                    for pid in left {
                        kill(pid, SIGKILL)
                        var status: Int32 = 0
                        waitpid(pid, &status, 0)
                    }
                    break
                }
                usleep(20_000)
            }
            lock.withLock {
                for index in slots.indices where kinds.contains(slots[index].service.kind) {
                    slots[index].running = nil
                }
                retiring.removeAll { kinds.contains($0.kind) }
            }
        }
    }

    static func describe(_ status: Int32) -> String {
        let signalNumber = status & 0x7F
        if signalNumber == 0 { return "exited with status \((status >> 8) & 0xFF)" }
        return "killed with signal \(signalNumber)"
    }

    static func format(_ duration: Duration) -> String {
        let (seconds, attoseconds) = duration.components
        let milliseconds = seconds * 1000 + attoseconds / 1_000_000_000_000_000
        return milliseconds % 1000 == 0 ? "\(milliseconds / 1000) s" : "\(milliseconds) ms"
    }
}

/// Memory use as the master measures it for vsz_limit: resident memory (VmRSS) from /proc, of a child and its own
/// children (the auth supervisor runs the auth process). Virtual size is no measure for Swift processes: NIO and the
/// thread pools reserve gigabytes of address space they never touch, so RLIMIT_AS (Dovecot's way) makes them fail at
/// start, and RLIMIT_DATA counts the same reservations (malloc arenas).
public enum ProcessMemory {
    public static func residentBytes(ofTreeAt pid: Int32) -> UInt64 {
        var total: UInt64 = 0
        var seen: Set<Int32> = []
        var queue = [pid]
        while let next = queue.popLast(), seen.insert(next).inserted, seen.count < 64 {
            total += residentBytes(of: next)
            queue += children(of: next)
        }
        return total
    }

    static func residentBytes(of pid: Int32) -> UInt64 {
        guard let status = readSmallFile("/proc/\(pid)/status") else { return 0 }
        for line in status.split(separator: "\n") where line.hasPrefix("VmRSS:") {
            let number = line.dropFirst(6).split(whereSeparator: { $0 == " " || $0 == "\t" }).first.flatMap { UInt64($0) } ?? 0
            return number * 1024
        }
        return 0
    }

    static func children(of pid: Int32) -> [Int32] {
        guard let text = readSmallFile("/proc/\(pid)/task/\(pid)/children") else { return [] }
        return text.split(whereSeparator: { $0 == " " || $0 == "\n" }).compactMap { Int32($0) }
    }

    static func readSmallFile(_ path: String) -> String? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var buffer = [UInt8](repeating: 0, count: 8192)
        let got = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
        guard got > 0 else { return nil }
        return String(decoding: buffer[..<got], as: UTF8.self)
    }
}
