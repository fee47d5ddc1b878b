import AerieCore
import AerieTestSupport
import Foundation
import SASL
import Testing

@testable import AerieAuth

/// Issue 13 item 4: TOTP and app passwords in the password check.
@Suite struct SecondFactorTests {
    /// The service's clock for TOTP steps and expiry: fixed, so no delay between making a code and the login
    /// (a starved test run) can move the step.
    static let now: Int64 = 1_700_000_025

    func withService(
        separator: String = ":", _ body: (AuthService, SecondFactorStore, CollectingLog) async throws -> Void
    ) async throws {
        let dir = URL(fileURLWithPath: makeTempDirectory("factors"))
        defer { removeTree(dir.path) }
        let hash = try PasswordSchemes.hash(password: "pencil", scheme: "SHA512-CRYPT")
        let scram = try PasswordSchemes.hash(password: "pencil", scheme: "SCRAM-SHA-256")
        let passwd = dir.appendingPathComponent("passwd")
        try ["alice:\(hash):1000:1000::/home/alice", "bob:\(hash):1001:1001::/home/bob", "carol:\(scram):1002:1002"]
            .joined(separator: "\n").write(to: passwd, atomically: false, encoding: .utf8)
        var configuration = AuthServiceConfiguration(passdbs: [PassDBSpec(name: "main", path: passwd.path)])
        configuration.penalty.failureDelay = .zero
        configuration.secondFactorDirectory = dir.path + "/auth"
        configuration.totpSeparator = separator
        let log = CollectingLog()
        let pool = PasswordHashingPool(threads: 2, maxQueued: 16)
        let service = try AuthService(
            configuration: configuration, log: log, pool: pool, files: nil, clock: AuthClock(unixTime: { Self.now }))
        try await body(service, SecondFactorStore(directory: dir.path + "/auth"), log)
        await pool.shutdown()
    }

    func login(
        _ service: AuthService, _ user: String, _ password: String, service name: String = "imap"
    )
        async -> Bool
    {
        let request = AuthRequest(user: user, password: password, service: name, remoteIP: "192.0.2.7", secured: true)
        if case .success = await service.authenticate(request) { return true }
        return false
    }

    @Test func totpUserNeedsTheCurrentCodeOnce() async throws {
        try await withService { service, store, log in
            let totp = try store.enrollTOTP(user: "alice", algorithm: .sha1, group: nil)
            let now = Self.now
            #expect(await !login(service, "alice", "pencil"))
            #expect(await !login(service, "alice", "pencil:000000") || totp.code(at: now) == "000000")
            #expect(await !login(service, "alice", "wrong:" + totp.code(at: now)))
            let code = totp.code(at: now)
            #expect(await login(service, "alice", "pencil:" + code))
            // The same code again (and the previous step's) is refused: spent.
            #expect(await !login(service, "alice", "pencil:" + code))
            #expect(await !login(service, "alice", "pencil:" + totp.code(at: now - 30)))
            // Other users are untouched.
            #expect(await login(service, "bob", "pencil"))
            let lines = log.lines.map(\.message).joined(separator: "\n")
            #expect(lines.contains("TOTP code missing") && lines.contains("TOTP code invalid or already used"))
            #expect(!lines.contains(code) && !lines.contains("pencil"))
            // The file holds no secret in the clear.
            let file = try String(contentsOfFile: store.factorsFile, encoding: .utf8)
            #expect(!file.contains(Base32.encode(totp.secret)) && file.hasPrefix("totp\talice\tSHA1\t6\t"))
            #expect(try store.disableTOTP(user: "alice", group: nil))
            #expect(await login(service, "alice", "pencil"))
        }
    }

    @Test func separatorIsConfigurableAndThePasswordMayContainIt() async throws {
        try await withService(separator: "#") { service, store, _ in
            let totp = try store.enrollTOTP(user: "alice", algorithm: .sha256, group: nil)
            let now = Self.now
            #expect(await !login(service, "alice", "pencil:" + totp.code(at: now)))
            #expect(await login(service, "alice", "pencil#" + totp.code(at: now)))
        }
        #expect(AuthService.splitCode("pa:ss:123456", separator: ":")! == ("pa:ss", "123456"))
        #expect(AuthService.splitCode("password", separator: ":") == nil)
    }

    @Test func appPasswordsBypassTOTPWithinTheirScope() async throws {
        try await withService { service, store, log in
            _ = try store.enrollTOTP(user: "alice", algorithm: .sha1, group: nil)
            let now = Self.now
            let phone = try store.addAppPassword(
                user: "alice", name: "phone", protocols: ["imap"], networks: ["192.0.2.0/24"], expires: nil, now: now,
                group: nil)
            let old = try store.addAppPassword(
                user: "alice", name: "old", protocols: [], networks: [], expires: now - 1, now: now - 100, group: nil)
            let far = try store.addAppPassword(
                user: "alice", name: "far", protocols: [], networks: ["198.51.100.0/24"], expires: nil, now: now,
                group: nil)
            #expect(phone.count == 24 && phone != old)
            #expect(throws: SecondFactorAdminError.exists("phone")) {
                try store.addAppPassword(
                    user: "alice", name: "phone", protocols: [], networks: [], expires: nil, now: now, group: nil)
            }
            #expect(await login(service, "alice", phone))
            #expect(await !login(service, "alice", phone, service: "pop3"))
            #expect(await !login(service, "alice", old))
            #expect(await !login(service, "alice", far))
            let lines = log.lines.map(\.message).joined(separator: "\n")
            #expect(lines.contains("app password 'phone' used"))
            #expect(lines.contains("app password 'phone' refused: not valid for pop3"))
            #expect(lines.contains("app password 'old' refused: expired"))
            #expect(!lines.contains(phone))
            let stored = try store.allFactors()["alice"]!.appPasswords
            #expect(
                stored.map(\.name) == ["phone", "old", "far"]
                    && stored.allSatisfy { $0.hash.hasPrefix("{SHA512-CRYPT}") })
            #expect(try store.revokeAppPassword(user: "alice", name: "phone", group: nil))
            #expect(try !store.revokeAppPassword(user: "alice", name: "phone", group: nil))
            #expect(await !login(service, "alice", phone))
        }
    }

    @Test func scramIsRefusedForTOTPUsers() async throws {
        try await withService { service, store, log in
            _ = try store.enrollTOTP(user: "carol", algorithm: .sha1, group: nil)
            let context = AuthRequest(user: "", password: "", mechanism: "SCRAM-SHA-256", service: "imap")
            let client = SCRAMTestClient(user: "carol")
            let first = await service.saslStep(SASLStepRequest(exchange: 0, context: context, response: client.first))
            guard case .challenge(let id, _, let serverFirst) = first else {
                Issue.record("no challenge")
                return
            }
            let final = try client.final(serverFirst: serverFirst)
            let reply = await service.saslStep(SASLStepRequest(exchange: id, context: context, response: final.message))
            #expect(reply == .finished(.failure(.passwordMismatch), serverFinal: nil))
            #expect(log.lines.contains { $0.message.contains("cannot carry a TOTP code") })
        }
    }

    @Test func unreadableFactorsFailClosed() async throws {
        try await withService { service, store, _ in
            _ = try store.enrollTOTP(user: "alice", algorithm: .sha1, group: nil)
            try "garbage line\n".write(toFile: store.factorsFile, atomically: true, encoding: .utf8)
            #expect(await !login(service, "bob", "pencil"))
        }
    }

    /// A spent code stays spent for a new store (what an auth-process restart makes); older steps are pruned.
    @Test func spentStepsSurviveARestart() async throws {
        try await withService { service, store, _ in
            let totp = try store.enrollTOTP(user: "alice", algorithm: .sha1, group: nil)
            let now = Self.now
            let code = totp.code(at: now)
            #expect(await login(service, "alice", "pencil:" + code))
            let file = try String(contentsOfFile: store.usedStepsFile, encoding: .utf8)
            #expect(file == "alice\t\(totp.step(at: now))\n")
            let enrolment = try #require(try store.factors(for: "alice").totp)
            let restarted = SecondFactorStore(directory: store.directory)
            #expect(try !restarted.acceptTOTP(user: "alice", enrolment: enrolment, code: code, now: now))
            let next = totp.code(at: now + 30)
            #expect(try restarted.acceptTOTP(user: "alice", enrolment: enrolment, code: next, now: now))
            #expect(SecondFactorStore.parseUsedSteps(Array("a\t5\nbad\nb\tx\na\t3\n".utf8)) == ["a": 5])
        }
    }

    @Test func aStepThatCannotBeRecordedIsRefused() async throws {
        try await withService { service, store, _ in
            let totp = try store.enrollTOTP(user: "alice", algorithm: .sha1, group: nil)
            // A directory in the file's place: the rename fails (even for root).
            try FileManager.default.createDirectory(
                atPath: store.usedStepsFile + "/x", withIntermediateDirectories: true)
            let code = totp.code(at: Self.now)
            #expect(await !login(service, "alice", "pencil:" + code))
        }
    }
}
