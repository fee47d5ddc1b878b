import AerieCore
import AerieTestSupport
import Foundation
import Synchronization
import Testing

@testable import AerieAuth

#if canImport(Glibc)
    import Glibc
#endif

/// Rehash on login (issue 12 item 5): what counts as weaker, the byte-for-byte line replacement, the locked rewrite,
/// and the service doing it after a successful login only.
@Suite struct PasswdFileRehashTests {
    /// The service's clock for TOTP steps: fixed, so a starved test run cannot move the step under a code.
    static let unixTime: Int64 = 1_700_000_025

    @Test func targetsParseAStrongSchemeAndOptionalRounds() {
        #expect(RehashTarget(parsing: "argon2id") == RehashTarget(parsing: "ARGON2ID"))
        #expect(RehashTarget(parsing: "SHA512-CRYPT rounds=10000")?.rounds == 10000)
        #expect(RehashTarget(parsing: "PLAIN-MD5") == nil)
        #expect(RehashTarget(parsing: "SSHA512") == nil)
        #expect(RehashTarget(parsing: "ARGON2ID rounds=x") == nil)
        #expect(RehashTarget(parsing: "ARGON2ID rounds=3 extra") == nil)
    }

    @Test func weakerIsAnotherSchemeOrALowerCost() throws {
        let argon = try #require(RehashTarget(parsing: "ARGON2ID"))
        let sha = try PasswordSchemes.hash(password: "pw", scheme: "SHA512-CRYPT")
        #expect(argon.isWeaker(sha))
        #expect(argon.isWeaker(String(sha.dropFirst("{SHA512-CRYPT}".count)), defaultScheme: "SHA512-CRYPT"))
        #expect(!argon.isWeaker(try argon.hash("pw")))
        #expect(argon.isWeaker(try PasswordSchemes.hash(password: "pw", scheme: "ARGON2ID", rounds: 2)))
        #expect(argon.isWeaker("{ARGON2ID}$argon2id$v=19$m=32768,t=3,p=1$c2FsdHNhbHQ$aGFzaA"))
        #expect(!argon.isWeaker("{ARGON2ID}$argon2id$v=19$m=131072,t=4,p=1$c2FsdHNhbHQ$aGFzaA"))
        #expect(argon.isWeaker("{ARGON2ID}$argon2id$garbage"))
        #expect(argon.isWeaker(try PasswordSchemes.hash(password: "pw", scheme: "ARGON2I")))
        let rounds = try #require(RehashTarget(parsing: "SHA512-CRYPT rounds=10000"))
        #expect(rounds.isWeaker(sha))
        #expect(!rounds.isWeaker(try rounds.hash("pw")))
        #expect(!(try #require(RehashTarget(parsing: "SHA512-CRYPT"))).isWeaker(sha))
        #expect(rounds.isWeaker("{PLAIN}pw"))
    }

    @Test func onlyTheUsersPasswordFieldChangesByteForByte() throws {
        let text =
            "# alice:old:comment\r\n\n  #alice:old\nalic:old:1\r\nalice:old:1000:1000::/home/a::userdb_x=a:b\r\n"
            + "bob:old\nalice:old:second\nnoeol:x"
        let out = try #require(
            PasswdFileRehash.replacing(in: Array(text.utf8), user: "alice", expected: "old", replacement: "{N}new"))
        let expected =
            "# alice:old:comment\r\n\n  #alice:old\nalic:old:1\r\nalice:{N}new:1000:1000::/home/a::userdb_x=a:b\r\n"
            + "bob:old\nalice:old:second\nnoeol:x"
        #expect(String(decoding: out, as: UTF8.self) == expected)
        func replace(_ text: String, _ user: String, _ old: String, _ new: String) -> String? {
            PasswdFileRehash.replacing(in: Array(text.utf8), user: user, expected: old, replacement: new)
                .map { String(decoding: $0, as: UTF8.self) }
        }
        // A line with nothing after the password, CRLF kept; a last line without a line end.
        #expect(replace("bob:old\r\n", "bob", "old", "N") == "bob:N\r\n")
        #expect(replace("noeol:x", "noeol", "x", "N") == "noeol:N")
        // Another hash now, a missing user, or a replacement that would break the line: nothing.
        #expect(replace(text, "alice", "other", "N") == nil)
        #expect(replace(text, "carol", "old", "N") == nil)
        #expect(replace(text, "bob", "old", "a:b") == nil)
        #expect(replace(text, "bob", "old", "a\nb") == nil)
    }

    @Test func theRewriteKeepsTheModeAndReReadsUnderTheLock() throws {
        let dir = makeTempDirectory("rehash")
        defer { removeTree(dir) }
        let path = dir + "/users"
        try "# users\nalice:old:1\nbob:old:2\n".write(toFile: path, atomically: false, encoding: .utf8)
        chmod(path, 0o640)
        #expect(PasswdFileRehash.rewrite(path: path, user: "alice", expected: "old", replacement: "new") == .replaced)
        #expect(try String(contentsOfFile: path, encoding: .utf8) == "# users\nalice:new:1\nbob:old:2\n")
        var info = stat()
        stat(path, &info)
        #expect(info.st_mode & 0o7777 == 0o640)
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir).sorted() == ["users", "users.lock"])

        // An admin holds the lock and edits the file meanwhile: the rewrite sees the edit, not what it read before.
        let lock = open(path + ".lock", O_RDWR)
        #expect(flock(lock, LOCK_EX) == 0)
        let results = Mutex<[PasswdFileRehash.Outcome]>([])
        let done = DispatchSemaphore(value: 0)
        for (user, expected) in [("bob", "old"), ("alice", "new")] {
            Thread.detachNewThread {
                let outcome = PasswdFileRehash.rewrite(path: path, user: user, expected: expected, replacement: "R")
                results.withLock { $0.append(outcome) }
                done.signal()
            }
        }
        try "# users\nalice:admin:1\nbob:old:2\ncarol:c:3\n".write(toFile: path, atomically: false, encoding: .utf8)
        flock(lock, LOCK_UN)
        close(lock)
        done.wait()
        done.wait()
        #expect(results.withLock { $0.filter { $0 == .replaced }.count } == 1)
        #expect(results.withLock { $0.contains(.changed) })
        #expect(try String(contentsOfFile: path, encoding: .utf8) == "# users\nalice:admin:1\nbob:R:2\ncarol:c:3\n")
    }

    @Test func aDirectoryItMayNotWriteIsNotPermitted() throws {
        guard geteuid() != 0 else { return }  // root may write anywhere
        let dir = makeTempDirectory("rehash-ro")
        defer {
            chmod(dir, 0o755)
            removeTree(dir)
        }
        try "alice:old\n".write(toFile: dir + "/users", atomically: false, encoding: .utf8)
        chmod(dir, 0o555)
        guard case .notPermitted = PasswdFileRehash.rewrite(path: dir + "/users", user: "alice", expected: "old",
            replacement: "new")
        else {
            Issue.record("expected notPermitted")
            return
        }
    }

    // MARK: - In the service

    func withService(
        rehash: String?, factors: Bool = false, delegate: PasswdFileRehash.Delegate? = nil,
        _ body: (AuthService, CollectingLog, String, String) async throws -> Void
    ) async throws {
        let dir = makeTempDirectory("rehash-service")
        defer { removeTree(dir) }
        let hash = try PasswordSchemes.hash(password: "pw", scheme: "SHA512-CRYPT")
        let path = dir + "/users"
        try "# comment\r\nalice:\(hash):1000:1000::/home/a::userdb_x=1\nbob:\(hash):1001:1001\n"
            .write(toFile: path, atomically: false, encoding: .utf8)
        var configuration = AuthServiceConfiguration(
            passdbs: [PassDBSpec(name: "main", path: path, defaultScheme: "SHA512-CRYPT")],
            userdbs: [UserDBSpec(name: "main", path: path)])
        configuration.penalty.failureDelay = .zero
        configuration.cacheSize = 1 << 20
        configuration.rehashTarget = rehash.flatMap(RehashTarget.init(parsing:))
        if factors { configuration.secondFactorDirectory = dir + "/auth" }
        let log = CollectingLog()
        let pool = PasswordHashingPool(threads: 2, maxQueued: 16)
        let service = try AuthService(
            configuration: configuration, log: log, pool: pool, files: nil,
            clock: AuthClock(unixTime: { Self.unixTime }), rehashDelegate: delegate)
        try await body(service, log, path, dir)
        await pool.shutdown()
    }

    func login(_ user: String, _ password: String) -> AuthRequest {
        AuthRequest(
            user: user, password: password, mechanism: "PLAIN", service: "imap", remoteIP: "192.0.2.7",
            localIP: "192.0.2.1", secured: true)
    }

    static func hash(of user: String, in path: String) throws -> String {
        let text = try String(contentsOfFile: path, encoding: .utf8)
        // By bytes: "\r\n" is one Character, so a String split on "\n" would not see the line after it.
        let lines = text.utf8.split(separator: 10).map { String(decoding: $0, as: UTF8.self) }
        let line = try #require(lines.first { $0.hasPrefix(user + ":") })
        return String(line.split(separator: ":", omittingEmptySubsequences: false)[1])
    }

    @Test func aSuccessfulLoginRehashesOnceAndTheNextLoginWorks() async throws {
        try await withService(rehash: "ARGON2ID") { service, log, path, _ in
            let before = try String(contentsOfFile: path, encoding: .utf8)
            let old = try Self.hash(of: "alice", in: path)
            #expect(await service.authenticate(login("alice", "pw")).user == "alice")
            let new = try Self.hash(of: "alice", in: path)
            #expect(new.hasPrefix("{ARGON2ID}$argon2id$"))
            #expect(PasswordSchemes.verify(password: "pw", stored: new, allowWeakSchemes: false) == .match)
            let after = try String(contentsOfFile: path, encoding: .utf8)
            #expect(after == before.replacingOccurrences(of: "alice:" + old, with: "alice:" + new))
            #expect(await service.authenticate(login("alice", "pw")).user == "alice")
            #expect(await service.authenticate(login("alice", "wrong")).failure == .passwordMismatch)
            #expect(try Self.hash(of: "alice", in: path) == new)
            let lines = log.lines.map(\.message).filter { $0.contains("rehashed") }
            #expect(lines.count == 1 && lines[0].contains("from SHA512-CRYPT to ARGON2ID"))
            #expect(!log.lines.contains { $0.message.contains("pw") && $0.message.contains("$") })
        }
    }

    @Test func offByDefaultAndNeverAfterAFailedLogin() async throws {
        try await withService(rehash: nil) { service, _, path, _ in
            let before = try String(contentsOfFile: path, encoding: .utf8)
            #expect(await service.authenticate(login("alice", "pw")).user == "alice")
            #expect(try String(contentsOfFile: path, encoding: .utf8) == before)
        }
        try await withService(rehash: "ARGON2ID", factors: true) { service, _, path, dir in
            let store = SecondFactorStore(directory: dir + "/auth")
            let totp = try store.enrollTOTP(user: "alice", algorithm: .sha1, group: nil)
            let before = try String(contentsOfFile: path, encoding: .utf8)
            // The right password with a wrong code: the login fails, and nothing is rewritten.
            #expect(await service.authenticate(login("alice", "pw:000000x")).failure == .passwordMismatch)
            #expect(try String(contentsOfFile: path, encoding: .utf8) == before)
            // An app password stands for the password: no rehash from it.
            let app = try store.addAppPassword(
                user: "bob", name: "phone", protocols: [], networks: [], expires: nil,
                now: Self.unixTime, group: nil)
            #expect(await service.authenticate(login("bob", app)).user == "bob")
            #expect(try String(contentsOfFile: path, encoding: .utf8) == before)
            // Password and code: the main password alone is hashed.
            let code = totp.code(at: Self.unixTime)
            #expect(await service.authenticate(login("alice", "pw:" + code)).user == "alice")
            let new = try Self.hash(of: "alice", in: path)
            #expect(PasswordSchemes.verify(password: "pw", stored: new, allowWeakSchemes: false) == .match)
        }
    }
}
