import AerieCore
import AerieTestSupport
import Synchronization
import Testing

@testable import AerieAuth

/// Passdb fields from any driver: allow_nets, nologin, user, nodelay, userdb_*.
@Suite struct PassDBFieldTests {
    typealias User = FakePassDB.User

    func service(
        _ users: [String: User], configure: (inout AuthServiceConfiguration) -> Void = { _ in }
    )
        throws -> (AuthService, FakeAuth)
    {
        var fake = FakeAuth()
        fake.passdbs = ["db": FakePassDB(users)]
        return (try fake.service([FakeAuth.spec("db")], configure: configure), fake)
    }

    @Test func allowNetsIPv4AndIPv6() async throws {
        let (service, fake) = try service([
            "alice": User(password: "pa", fields: ["allow_nets": "10.0.0.0/8, 2001:db8::/32 192.0.2.7"])
        ])
        #expect(await service.authenticate(FakeAuth.login("alice", "pa", ip: "10.1.2.3")).user == "alice")
        #expect(await service.authenticate(FakeAuth.login("alice", "pa", ip: "2001:db8::5")).user == "alice")
        #expect(await service.authenticate(FakeAuth.login("alice", "pa", ip: "192.0.2.7")).user == "alice")
        #expect(await service.authenticate(FakeAuth.login("alice", "pa", ip: "127.0.0.1")).failure == .passwordMismatch)
        #expect(
            await service.authenticate(FakeAuth.login("alice", "pa", ip: "2001:db9::1")).failure == .passwordMismatch)
        #expect(
            fake.log.lines.contains {
                $0.level == .info
                    && $0.message.hasSuffix("allow_nets check failed: IP 127.0.0.1 not in allowed networks")
            })
    }

    @Test func allowNetsFromFieldsTemplate() async throws {
        var fake = FakeAuth()
        fake.passdbs = ["db": FakePassDB(["alice": User(password: "pa")])]
        let service = try fake.service([FakeAuth.spec("db") { $0.overrideFields = ["allow_nets": "198.51.100.0/24"] }])
        #expect(await service.authenticate(FakeAuth.login("alice", "pa")).failure == .passwordMismatch)
        #expect(await service.authenticate(FakeAuth.login("alice", "pa", ip: "198.51.100.9")).user == "alice")
    }

    @Test func nologinWithReason() async throws {
        let (service, fake) = try service([
            "alice": User(password: "pa", fields: ["nologin": "", "reason": "moved to x"])
        ])
        #expect(await service.authenticate(FakeAuth.login("alice", "pa")).failure == .denied)
        #expect(fake.log.lines.contains { $0.message.hasSuffix("Login disabled by nologin (moved_to_x)") })
        // A wrong password is a mismatch first: nologin says nothing to a guesser.
        #expect(await service.authenticate(FakeAuth.login("alice", "guess")).failure == .passwordMismatch)
    }

    @Test func deliveriesAndAdminLookupsIgnoreLoginOnlyFields() async throws {
        var fake = FakeAuth()
        fake.passdbs = [
            "db": FakePassDB(["alice": User(password: "pa", fields: ["nologin": "", "allow_nets": "10.0.0.0/8"])])
        ]
        var staticDB = UserDBSpec(name: "static", driver: "static", path: "")
        staticDB.overrideFields = ["uid": "1000", "gid": "1000", "home": "/h/%{user}"]
        let service = try fake.service([FakeAuth.spec("db")], userdbs: [staticDB])
        #expect(await service.lookup("alice").user == "alice")  // mail still reaches a nologin user
        #expect(await service.administer(["auth", "lookup", "alice"]).0)
        #expect(await service.authenticate(FakeAuth.login("alice", "pa", ip: "10.0.0.1")).failure == .denied)
    }

    @Test func nodelayIsIgnoredOutsideTrustedNetworks() async throws {
        var fake = FakeAuth()
        fake.passdbs = [
            "db": FakePassDB(["alice": User(password: "pa", fields: ["nodelay": "", "allow_nets": "10.0.0.0/8"])])
        ]
        let slept = SleepLog()
        var configuration = AuthServiceConfiguration(
            passdbs: [FakeAuth.spec("db")], userdbs: [], allowWeakSchemes: true)
        configuration.penalty.failureDelay = .seconds(2)
        configuration.penalty.trustedNetworks = ["203.0.113.0/24"]
        let service = try AuthService(
            configuration: configuration, log: fake.log, pool: fake.pool, files: nil,
            clock: AuthClock(now: { [manual = fake.clock] in manual.state.withLock { $0 } }, sleep: { slept.add($0) }),
            registry: fake.registry())
        #expect(await service.authenticate(FakeAuth.login("alice", "pa", ip: "192.0.2.7")).failure == .passwordMismatch)
        #expect(slept.total == .seconds(2))
        #expect(fake.log.lines.contains { $0.level == .warning && $0.message.contains("nodelay field ignored") })
        slept.reset()
        #expect(
            await service.authenticate(FakeAuth.login("alice", "pa", ip: "203.0.113.4")).failure == .passwordMismatch)
        #expect(slept.total == .zero)
    }

    @Test func userdbFieldsFromThePassdbOverrideTheUserdb() async throws {
        var fake = FakeAuth()
        fake.passdbs = [
            "db": FakePassDB([
                "alice": User(password: "pa", fields: ["userdb_home": "/srv/alice", "userdb_mail": "maildir:~/M"])
            ])
        ]
        let service = try fake.service([FakeAuth.spec("db")])
        guard case .success(let user) = await service.authenticate(FakeAuth.login("alice", "pa")) else {
            Issue.record("login failed")
            return
        }
        #expect(user.home == "/srv/alice" && user.extraFields["mail"] == "maildir:~/M")
        #expect(user.extraFields["userdb_mail"] == nil)
    }

    @Test func passwordsAndHashesNeverLoggedEvenWithDebug() async throws {
        var fake = FakeAuth()
        fake.passdbs = ["db": FakePassDB(["alice": User(password: "Secr3t-pw")])]
        let service = try fake.service([FakeAuth.spec("db")]) {
            $0.debug = true
            $0.cacheSize = 1 << 20
            $0.masterUserSeparator = "*"
        }
        for login in ["alice", "alice*nobody", "bob"] {
            _ = await service.authenticate(FakeAuth.login(login, "Secr3t-pw"))
            _ = await service.authenticate(FakeAuth.login(login, "Wr0ng-pw"))
        }
        let text = fake.log.lines.map(\.message).joined(separator: "\n")
        #expect(!text.contains("Secr3t-pw") && !text.contains("Wr0ng-pw"))
        #expect(!text.isEmpty)
    }
}

final class SleepLog: Sendable {
    private let state = Mutex<Duration>(.zero)
    func add(_ duration: Duration) { state.withLock { $0 += duration } }
    func reset() { state.withLock { $0 = .zero } }
    var total: Duration { state.withLock { $0 } }
}
