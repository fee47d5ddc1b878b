import AerieCore
import AerieTestSupport
import Foundation
import SASL
import Testing

@testable import AerieAuth

/// Second factors and SCRAM in the passdb chain: the TOTP code is split off before any driver sees the password,
/// the auth cache holds the main password's verification only, and SCRAM's credentials come from a chain lookup.
@Suite struct ChainSecondFactorTests {
    typealias User = FakePassDB.User

    func withFactors(
        bind: Bool, cache: Bool = true,
        _ body: (AuthService, FakePassDB, SecondFactorStore, FakeAuth) async throws -> Void
    ) async throws {
        let dir = makeTempDirectory("chain-factors")
        defer { removeTree(dir) }
        var fake = FakeAuth()
        let db = FakePassDB(["alice": User(password: "pa"), "bob": User(password: "pb")], bind: bind)
        fake.passdbs = ["db": db]
        let service = try fake.service([FakeAuth.spec("db")]) {
            $0.secondFactorDirectory = dir + "/auth"
            $0.cacheSize = cache ? 1 << 20 : 0
        }
        try await body(service, db, SecondFactorStore(directory: dir + "/auth"), fake)
    }

    @Test(arguments: [false, true])
    func theCacheNeverLetsACodeBeReusedOrSkipped(bind: Bool) async throws {
        try await withFactors(bind: bind) { service, db, store, fake in
            let totp = try store.enrollTOTP(user: "alice", algorithm: .sha1, group: nil)
            let code = totp.code(at: fake.clock.unixTime)
            #expect(await service.authenticate(FakeAuth.login("alice", "pa:" + code)).user == "alice")
            let calls = db.calls
            // The main password's verification is cached; the spent code and a missing code are still refused.
            #expect(await service.authenticate(FakeAuth.login("alice", "pa:" + code)).failure == .passwordMismatch)
            #expect(await service.authenticate(FakeAuth.login("alice", "pa")).failure == .passwordMismatch)
            #expect(db.calls == calls)
            #expect(service.cache?.statistics.hits ?? 0 >= 1)
            let lines = fake.log.lines.map(\.message).joined(separator: "\n")
            #expect(lines.contains("TOTP code invalid or already used") && lines.contains("TOTP code missing"))
            #expect(!lines.contains(code))
        }
    }

    @Test func aBindDriverSeesTheMainPasswordOnlyAndNeverAnAppPassword() async throws {
        try await withFactors(bind: true, cache: false) { service, db, store, fake in
            let totp = try store.enrollTOTP(user: "alice", algorithm: .sha1, group: nil)
            let code = totp.code(at: fake.clock.unixTime)
            // The fake verifies "pa" exactly: "pa:CODE" reaching it would be a mismatch.
            #expect(await service.authenticate(FakeAuth.login("alice", "pa:" + code)).user == "alice")
            #expect(db.verifies == 1)
            let app = try store.addAppPassword(
                user: "bob", name: "phone", protocols: [], networks: [], expires: nil,
                now: fake.clock.unixTime, group: nil)
            #expect(await service.authenticate(FakeAuth.login("bob", app)).user == "bob")
            #expect(db.verifies == 1 && db.lookups == 1)
            #expect(fake.log.lines.contains { $0.message.hasSuffix("app password 'phone' used") })
        }
    }

    @Test func unreadableFactorsFailClosedThroughTheCache() async throws {
        try await withFactors(bind: false) { service, _, store, _ in
            #expect(await service.authenticate(FakeAuth.login("bob", "pb")).user == "bob")
            _ = try store.enrollTOTP(user: "alice", algorithm: .sha1, group: nil)
            try "garbage line\n".write(toFile: store.factorsFile, atomically: true, encoding: .utf8)
            #expect(await service.authenticate(FakeAuth.login("bob", "pb")).failure == .temporaryFailure)
        }
    }

    // MARK: - SCRAM through the chain

    func withSCRAM(
        _ lines: [String], deny: [String] = [], configure: (inout PassDBSpec) -> Void = { _ in },
        _ body: (AuthService, CollectingLog) async throws -> Void
    ) async throws {
        let dir = makeTempDirectory("chain-scram")
        defer { removeTree(dir) }
        let passwd = dir + "/passwd", denied = dir + "/deny"
        try lines.joined(separator: "\n").write(toFile: passwd, atomically: false, encoding: .utf8)
        try deny.joined(separator: "\n").write(toFile: denied, atomically: false, encoding: .utf8)
        var main = PassDBSpec(name: "main", path: passwd)
        configure(&main)
        var configuration = AuthServiceConfiguration(
            passdbs: [PassDBSpec(name: "deny", path: denied, deny: true), main])
        configuration.penalty.failureDelay = .zero
        let log = CollectingLog()
        let pool = PasswordHashingPool(threads: 2, maxQueued: 16)
        try await body(try AuthService(configuration: configuration, log: log, pool: pool), log)
        await pool.shutdown()
    }

    static let scram = (try? PasswordSchemes.hash(password: "pencil", scheme: "SCRAM-SHA-256")) ?? ""

    func scramLogin(_ service: AuthService, _ user: String, service name: String = "imap") async -> SASLStepReply {
        let context = AuthRequest(
            user: "", password: "", mechanism: "SCRAM-SHA-256", service: name, remoteIP: "192.0.2.7", secured: true)
        let client = SCRAMTestClient(user: user)
        let first = await service.saslStep(SASLStepRequest(exchange: 0, context: context, response: client.first))
        guard case .challenge(let id, _, let serverFirst) = first else { return first }
        guard let final = try? client.final(serverFirst: serverFirst) else {
            Issue.record("bad server-first")
            return first
        }
        return await service.saslStep(SASLStepRequest(exchange: id, context: context, response: final.message))
    }

    @Test func scramHonoursDenyPassdbsAndLoginFields() async throws {
        try await withSCRAM(
            [
                "user:\(Self.scram):1000:1000::/home/user", "denied:\(Self.scram):1001:1001::/home/d",
                "netted:\(Self.scram):1002:1002::/home/n::allow_nets=10.0.0.0/8",
                "off:\(Self.scram):1003:1003::/home/o::nologin",
                "alias:\(Self.scram):1004:1004::/home/a::user=user",
            ], deny: ["denied"]
        ) { service, log in
            #expect(await scramLogin(service, "denied") == .finished(.failure(.denied), serverFinal: nil))
            #expect(
                await scramLogin(service, "netted") == .finished(.failure(.passwordMismatch), serverFinal: nil))
            #expect(await scramLogin(service, "off") == .finished(.failure(.denied), serverFinal: nil))
            guard case .finished(.success(let renamed), _) = await scramLogin(service, "alias") else {
                Issue.record("alias did not log in")
                return
            }
            #expect(renamed.user == "user" && renamed.uid == 1000)
            #expect(
                await scramLogin(service, "ghost") == .finished(.failure(.passwordMismatch), serverFinal: nil))
            let lines = log.lines.map(\.message)
            #expect(lines.contains { $0.hasSuffix("User found from deny passdb") })
            #expect(lines.contains { $0.hasSuffix("allow_nets check failed: IP 192.0.2.7 not in allowed networks") })
            #expect(lines.contains { $0.hasSuffix("Login disabled by nologin") })
            // One "unknown user" line per attempt (fail2ban counts them), logged when the proof arrives.
            #expect(lines.filter { $0.contains("(ghost,") && $0.hasSuffix("unknown user") }.count == 1)
        }
    }

    @Test func scramUsesOnlyThePassdbsOfItsProtocolAndMechanism() async throws {
        try await withSCRAM(["user:\(Self.scram):1000:1000::/home/user"], configure: { $0.protocols = ["pop3"] }) {
            service, _ in
            #expect(await scramLogin(service, "user") == .finished(.failure(.passwordMismatch), serverFinal: nil))
            guard case .finished(.success, _) = await scramLogin(service, "user", service: "pop3") else {
                Issue.record("no pop3 login")
                return
            }
        }
        try await withSCRAM(["user:\(Self.scram):1000:1000::/home/user"], configure: { $0.mechanisms = ["plain"] }) {
            service, log in
            // The only passdb is for PLAIN: skipped, as Dovecot does, which is an internal failure.
            #expect(await scramLogin(service, "user") == .finished(.failure(.temporaryFailure), serverFinal: nil))
            #expect(log.lines.contains { $0.message.hasSuffix("All password databases were skipped") })
        }
    }
}
