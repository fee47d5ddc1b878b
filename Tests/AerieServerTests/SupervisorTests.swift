import AerieConfig
import AerieCore
import Testing

#if canImport(Glibc)
    import Glibc
#endif

@testable import AerieServer

@Suite struct SupervisorTests {
    func settings(_ text: String) throws -> AerieSettings {
        try ConfigLoader.load(text: text, path: "/nonexistent/aerie-test.conf").settings
    }

    /// `/bin/sleep 600`, signals unblocked and at their defaults, so SIGTERM (stopAll) ends it at once.
    static func sleeper() throws -> Int32 {
        try spawnWithDefaultSignals("/bin/sleep", ["sleep", "600"])
    }

    /// 1 s, doubling to 30 s; a child that stayed up a minute starts again at 1 s.
    @Test func restartBackoffDoublesAndResets() {
        var backoff = RestartBackoff()
        let delays = (0..<7).map { _ in backoff.delay(afterLiving: .seconds(1)) }
        #expect(delays == [.seconds(1), .seconds(2), .seconds(4), .seconds(8), .seconds(16), .seconds(30), .seconds(30)])
        #expect(backoff.delay(afterLiving: .seconds(61)) == .seconds(1))
        #expect(backoff.delay(afterLiving: .seconds(5)) == .seconds(2))
    }

    @Test func deathsAreLoggedAsDovecotDoes() {
        #expect(Supervisor.describe(9) == "killed with signal 9")
        #expect(Supervisor.describe(3 << 8) == "exited with status 3")
        #expect(Supervisor.format(.seconds(4)) == "4 s")
        #expect(Supervisor.format(.milliseconds(250)) == "250 ms")
    }

    /// The mail service takes the smallest vsz_limit of imap, pop3 and lmtp; default_vsz_limit only when written.
    @Test func memoryLimitPerKind() throws {
        let none = try settings("")
        #expect(try ChildLimits.resolve(.mail, settings: none).memory == nil)
        #expect(try ChildLimits.resolve(.auth, settings: none).memory == nil)
        let limits = try settings(
            """
            default_vsz_limit = 512M
            service imap {
              vsz_limit = 300M
            }
            service lmtp {
              vsz_limit = 200M
            }
            service auth-worker {
              vsz_limit = 0
            }
            """)
        #expect(try ChildLimits.resolve(.mail, settings: limits).memory == 200 << 20)
        #expect(try ChildLimits.resolve(.auth, settings: limits).memory == nil)
        #expect(try ChildLimits.resolve(.keeper, settings: limits).memory == 512 << 20)
    }

    @Test func processLimitZeroIsRefused() throws {
        let zero = try settings("service imap {\n  process_limit = 0\n}\n")
        #expect(throws: ServerStartError.self) { try ChildLimits.resolve(.mail, settings: zero) }
        #expect(try ChildLimits.resolve(.auth, settings: zero).processLimit > 0)
    }

    /// Sessions of a service: client_limit × process_limit, with the default_* values where a service sets none.
    @Test func sessionLimitsCountPerService() throws {
        let limits = ServiceSessionLimits()
        limits.configure(try settings("service pop3 {\n  client_limit = 2\n  process_limit = 1\n}\n"))
        #expect(limits.limit("pop3") == 2)
        #expect(limits.limit("imap") == 1000 * 100)
        #expect(limits.tryAcquire("pop3") && limits.tryAcquire("pop3"))
        #expect(!limits.tryAcquire("pop3"))
        #expect(limits.tryAcquire("imap"))
        limits.release("pop3")
        #expect(limits.tryAcquire("pop3"))
        limits.configure(try settings("default_client_limit = 3\ndefault_process_limit = 2\n"))
        #expect(limits.limit("pop3") == 6 && limits.limit("lmtp") == 6)
        #expect(limits.tryAcquire("pop3"))
    }

    /// Reload (issue 11): a replaced child retires, not killed; past `maximumRetiring` of a kind the oldest is.
    @Test func retiringGenerationsAreBounded() throws {
        let supervisor = Supervisor(services: [], log: DiscardingLogSink())
        supervisor.add(ChildService(kind: .login, limits: ChildLimits()) { try Self.sleeper() })
        var generations = [try supervisor.start(.login)]
        for _ in 0..<Supervisor.maximumRetiring {
            generations.append(try Self.sleeper())
            supervisor.replace(.login, pid: generations.last!, retireSignal: nil)
        }
        #expect(supervisor.retiringPIDs(of: .login) == Array(generations.prefix(Supervisor.maximumRetiring)))
        #expect(supervisor.pid(of: .login) == generations.last)
        for pid in generations { #expect(kill(pid, 0) == 0) }
        generations.append(try Self.sleeper())
        supervisor.replace(.login, pid: generations.last!, retireSignal: nil)
        var status: Int32 = 0
        #expect(waitpid(generations[0], &status, 0) == generations[0])
        #expect(Supervisor.describe(status) == "killed with signal 9")
        for pid in generations.dropFirst() { #expect(kill(pid, 0) == 0) }
        supervisor.stopAll()
        #expect(supervisor.retiringPIDs(of: .login).isEmpty)
        for pid in generations.dropFirst() { #expect(kill(pid, 0) != 0) }
    }

    /// Issue 11, reload of a per-uid mail process: its slot goes (never restarted), its child retires.
    @Test func retireTakesTheSlotAndKeepsTheChildAsRetiring() throws {
        let supervisor = Supervisor(services: [], log: DiscardingLogSink())
        supervisor.add(ChildService(kind: .mail, limits: ChildLimits()) { try Self.sleeper() })
        supervisor.add(ChildService(kind: .mail, name: "mail uid=1501 gid=1501", limits: ChildLimits(),
                                    idleExitStatus: 75, gone: {}) { try Self.sleeper() })
        let main = try supervisor.start(.mail)
        #expect(supervisor.retire(named: "mail uid=1501 gid=1501") == nil)
        #expect(supervisor.pid(named: "mail uid=1501 gid=1501") == nil)
        #expect(supervisor.retiringPIDs(of: .mail).isEmpty)
        #expect(supervisor.retire(named: "mail") == main)
        #expect(supervisor.pid(of: .mail) == nil && supervisor.retiringPIDs(of: .mail) == [main])
        #expect(kill(main, 0) == 0)
        supervisor.stopAll()
        #expect(kill(main, 0) != 0 && supervisor.retiringPIDs(of: .mail).isEmpty)
    }

    /// `service imap|pop3 { idle_kill_interval }` (the shorter, 2.3's `idle_kill` too), else
    /// `default_idle_kill_interval`, else Dovecot's 1 min.
    @Test func idleKillIntervalOfThePerUIDMailProcesses() throws {
        #expect(ChildLimits.idleKillInterval(settings: try settings("")) == .seconds(60))
        let five = try settings("default_idle_kill_interval = 5 mins")
        #expect(ChildLimits.idleKillInterval(settings: five) == .seconds(300))
        let both = try settings(
            "default_idle_kill_interval = 5 mins\nservice imap {\n idle_kill_interval = 2 secs\n}\n"
                + "service pop3 {\n idle_kill = 10 secs\n}\nservice lmtp {\n idle_kill_interval = 1 secs\n}")
        #expect(both.service(named: "pop3")?.idleKillInterval == .seconds(10))
        #expect(ChildLimits.idleKillInterval(settings: both) == .seconds(2))
        let loaded = try ConfigLoader.load(
            text: "default_idle_kill_interval = 0\n", path: "/nonexistent/aerie-test.conf")
        #expect(ChildLimits.idleKillInterval(settings: loaded.settings) == .zero)
        #expect(!loaded.warnings.contains { $0.description.contains("idle_kill") })
    }

    @Test func residentMemoryOfThisProcess() {
        #expect(ProcessMemory.residentBytes(ofTreeAt: getpid()) > 1 << 20)
    }
}
