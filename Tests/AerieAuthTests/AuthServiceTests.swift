import AerieCore
@testable import AerieAuth
import AerieTestSupport
import Foundation
import Synchronization
import Testing

@Suite struct AuthServiceTests {
    static let password = "Corr3ct horse"

    /// Builds a passwd-file with one user per failure kind and runs `body` against a service over it.
    func withService(
        debug: Bool = false, configure: (inout AuthServiceConfiguration, URL) throws -> Void = { _, _ in },
        _ body: (AuthService, CollectingLog, String) async throws -> Void
    ) async throws {
        let dir = URL(fileURLWithPath: makeTempDirectory("auth"))
        defer { removeTree(dir.path) }
        let hash = try PasswordSchemes.hash(password: Self.password, scheme: "SHA512-CRYPT")
        let bare = String(hash.dropFirst("{SHA512-CRYPT}".count))
        let lines = [
            "alice:\(hash):1000:1000::/home/alice::userdb_quota_rule=*:storage=1G mail=maildir:~/Maildir",
            "bare:\(bare):1001:1001::/home/bare",
            "root:\(hash):0:0::/root",
            "lowuid:\(hash):100:1000::/home/low",
            "gid0:\(hash):1002:0::/home/gid0",
            "nouid:\(hash)::::/home/nouid",
            "weak:{PLAIN-MD5}\(Self.md5(Self.password)):1003:1003",
            "override:\(hash):1004:1004::/home/o::userdb_uid=1005 userdb_home=/srv/o",
            "mixedcase:\(hash):1006:1006",
        ]
        let passwd = dir.appendingPathComponent("passwd")
        let deny = dir.appendingPathComponent("deny")
        try "blocked\n".write(to: deny, atomically: false, encoding: .utf8)
        try (lines + ["blocked:\(hash):1010:1010"]).joined(separator: "\n").write(to: passwd, atomically: false, encoding: .utf8)

        var configuration = AuthServiceConfiguration(
            passdbs: [
                PassDBSpec(name: "deny", path: deny.path, deny: true),
                PassDBSpec(name: "main", path: passwd.path, defaultScheme: "SHA512-CRYPT"),
            ],
            userdbs: [UserDBSpec(name: "main", path: passwd.path)], debug: debug)
        configuration.penalty.failureDelay = .zero
        try configure(&configuration, dir)
        let log = CollectingLog()
        let pool = PasswordHashingPool(threads: 2, maxQueued: 16)
        let service = try AuthService(configuration: configuration, log: log, pool: pool)
        try await body(service, log, hash)
        await pool.shutdown()
    }

    static func md5(_ text: String) -> String {
        let stored = try! PasswordSchemes.hash(password: text, scheme: "PLAIN-MD5")
        return String(stored.dropFirst("{PLAIN-MD5}".count))
    }

    func request(_ user: String, _ password: String = password) -> AuthRequest {
        AuthRequest(user: user, password: password, mechanism: "PLAIN", service: "imap", remoteIP: "192.0.2.7", localIP: "192.0.2.1", secured: true)
    }

    @Test func successCarriesUserdbFields() async throws {
        try await withService { service, log, _ in
            let result = await service.authenticate(request("alice"))
            #expect(result == .success(AuthenticatedUser(user: "alice", uid: 1000, gid: 1000, home: "/home/alice", extraFields: ["quota_rule": "*:storage=1G", "mail": "maildir:~/Maildir"])))
            #expect(await service.authenticate(request("bare")) == .success(AuthenticatedUser(user: "bare", uid: 1001, gid: 1001, home: "/home/bare")))
            #expect(await service.authenticate(request("override")) == .success(AuthenticatedUser(user: "override", uid: 1005, gid: 1004, home: "/srv/o")))
            // alice's userdb_quota_rule and mail are not acted on: said once for the file load, at Warning.
            #expect(log.lines.map(\.message).map { $0.replacingOccurrences(of: #"^passwd-file \S+: "#, with: "", options: .regularExpression) } == [
                "line 1: extra field mail is ignored by Aerie", "line 1: extra field userdb_quota_rule is ignored by Aerie",
            ])
            #expect(await service.lookupUser("alice")?.home == "/home/alice")
            #expect(await service.lookupUser("ghost") == nil)
        }
    }

    /// A userdb that cannot be read is a temporary failure for a delivery lookup (LMTP 451), not an unknown user.
    @Test func lookupOfUnreadableUserdbIsTemporary() async throws {
        try await withService(configure: { configuration, dir in
            configuration.userdbs = [UserDBSpec(name: "gone", path: dir.appendingPathComponent("missing").path)]
        }) { service, _, _ in
            #expect(await service.lookup("alice") == .failure(.temporaryFailure))
            #expect(await service.lookupUser("alice") == nil)
        }
        try await withService { service, _, _ in
            #expect(await service.lookup("ghost") == .failure(.unknownUser))
        }
    }

    @Test func failuresAndTheirLogLines() async throws {
        try await withService { service, log, _ in
            let cases: [(String, String, AuthFailure, String)] = [
                ("alice", "wrong", .passwordMismatch, "passwd-file(alice,192.0.2.7): Password mismatch"),
                ("ghost", Self.password, .unknownUser, "passwd-file(ghost,192.0.2.7): unknown user"),
                ("root", Self.password, .uidNotPermitted, "passwd-file(root,192.0.2.7): Mail access for users with UID 0 not permitted (see first_valid_uid in config file)"),
                ("lowuid", Self.password, .uidNotPermitted, "passwd-file(lowuid,192.0.2.7): Mail access for users with UID 100 not permitted (see first_valid_uid in config file)"),
                ("gid0", Self.password, .gidNotPermitted, "passwd-file(gid0,192.0.2.7): Mail access for users with GID 0 not permitted (see first_valid_gid in config file)"),
                ("nouid", Self.password, .uidNotPermitted, "passwd-file(nouid,192.0.2.7): User is missing UID (see mail_uid setting)"),
                ("weak", Self.password, .schemeNotAllowed, "passwd-file(weak,192.0.2.7): Weak password scheme 'PLAIN-MD5' used and refused"),
                ("blocked", Self.password, .denied, "passwd-file(blocked,192.0.2.7): User found from deny passdb"),
                ("../etc/x", Self.password, .unknownUser, "passwd-file(../etc/x,192.0.2.7): unknown user"),
            ]
            for (user, password, failure, line) in cases {
                let before = log.lines.count
                #expect(await service.authenticate(request(user, password)) == .failure(failure), "\(user)")
                let new = log.lines.dropFirst(before).filter { !$0.message.hasSuffix("is ignored by Aerie") }
                #expect(new.map(\.message) == [line], "\(user)")
                #expect(new.allSatisfy { $0.category == "auth" })
            }
            #expect(log.lines.filter { $0.level == .info }.count == 8)  // the weak-scheme line is an Error
        }
    }

    @Test func uidRangeAndDefaults() async throws {
        try await withService(configure: { config, _ in
            config.lastValidUID = 1000
            config.defaultUID = 800
            config.defaultGID = 800
        }) { service, log, _ in
            #expect(await service.authenticate(request("alice")) != .failure(.uidNotPermitted))
            #expect(await service.authenticate(request("bare")) == .failure(.uidNotPermitted))
            #expect(log.lines.last?.message == "passwd-file(bare,192.0.2.7): Mail access for users with UID 1001 not permitted (see last_valid_uid in config file)")
            #expect(await service.authenticate(request("nouid")) == .success(AuthenticatedUser(user: "nouid", uid: 800, gid: 800, home: "/home/nouid")))
        }
    }

    @Test func usernameFormatLowercases() async throws {
        for format in ["%{user|lower}", "%Lu"] {
            try await withService(configure: { config, _ in config.usernameFormat = format }) { service, _, _ in
                guard case .success(let user) = await service.authenticate(request("MixedCase")) else {
                    Issue.record("\(format) did not lowercase")
                    return
                }
                #expect(user.user == "mixedcase")
            }
        }
    }

    @Test func perDomainFilesAndWeakAllowed() async throws {
        try await withService(configure: { config, dir in
            let domain = dir.appendingPathComponent("example.org")
            try FileManager.default.createDirectory(at: domain, withIntermediateDirectories: true)
            try "carol@example.org:{PLAIN}pw:2000:2000::/home/carol\n".write(to: domain.appendingPathComponent("passwd"), atomically: false, encoding: .utf8)
            config.passdbs = [PassDBSpec(path: dir.path + "/%{user|domain}/passwd")]
            config.userdbs = [UserDBSpec(path: dir.path + "/%d/passwd")]
            config.allowWeakSchemes = true
        }) { service, _, _ in
            #expect(await service.authenticate(request("carol@example.org", "pw")) == .success(AuthenticatedUser(user: "carol@example.org", uid: 2000, gid: 2000, home: "/home/carol")))
            // No file for the domain: unknown user, not a temporary failure.
            #expect(await service.authenticate(request("carol@nowhere.test", "pw")) == .failure(.unknownUser))
            #expect(await service.authenticate(request("x@../..", "pw")) == .failure(.unknownUser))
        }
    }

    @Test func sessionIDAndHostileNamesInLogPrefix() {
        #expect(AuthLogFormat.prefix(driver: "passwd-file", user: "bob", remoteIP: "::1", sessionID: "abc") == "passwd-file(bob,::1,<abc>)")
        #expect(AuthLogFormat.sanitize("a,b (c)\nauth: Info: x<y>") == "a_b__c_auth:_Info:_x_y_")
        #expect(AuthLogFormat.sanitize(String(repeating: "z", count: 500)).count == 100)
        #expect(AuthLogFormat.sanitize("e\u{2028}v\u{202E}il\u{7}") == "evil")
    }

    @Test func noSecretsInLogsEvenWithDebug() async throws {
        try await withService(debug: true, configure: { config, _ in config.verbose = true }) { service, log, hash in
            let requests = ["alice", "ghost", "root", "weak", "blocked", "nouid", "alice"].enumerated().map { index, user in
                request(user, index == 0 ? "WrongSecretValue" : Self.password)
            }
            for request in requests { _ = await service.authenticate(request) }
            let all = log.lines.map(\.message).joined(separator: "\n")
            #expect(all.contains("Password mismatch") && all.contains("Authenticated"))
            for secret in [Self.password, "WrongSecretValue", hash, String(hash.dropFirst(14)), Self.md5(Self.password), "$6$"] {
                #expect(!all.contains(secret), "log leaked a secret")
            }
        }
    }

    @Test func configurationErrors() async {
        let pool = PasswordHashingPool(threads: 1)
        #expect(throws: AuthServiceError.noPassdb) { try AuthService(configuration: AuthServiceConfiguration(), log: DiscardingLogSink(), pool: pool) }
        #expect(throws: AuthServiceError.unsupportedDriver("ldap")) { try AuthService(configuration: AuthServiceConfiguration(passdbs: [PassDBSpec(driver: "ldap", path: "/x")]), log: DiscardingLogSink(), pool: pool) }
        #expect(throws: AuthServiceError.invalidTemplate("/x/%q")) { try AuthService(configuration: AuthServiceConfiguration(passdbs: [PassDBSpec(path: "/x/%q")]), log: DiscardingLogSink(), pool: pool) }
        await pool.shutdown()
    }
}

@Suite struct PasswordHashingPoolTests {
    @Test func returnsNilWhenFull() async throws {
        let pool = PasswordHashingPool(threads: 1, maxQueued: 1)
        let release = Mutex(false)
        let blocker: @Sendable () -> Int = {
            while !release.withLock({ $0 }) { usleep(1000) }
            return 1
        }
        async let first = pool.run(blocker)
        async let second = pool.run(blocker)
        // Both admitted (a sleep here was too short on a loaded machine): the thread busy, one queued; the third
        // is refused at once.
        while pool.outstandingJobs < 2 { try await Task.sleep(for: .milliseconds(1)) }
        #expect(await pool.verify(password: "p", stored: "{PLAIN}p", defaultScheme: "CRYPT", allowWeakSchemes: true) == nil)
        release.withLock { $0 = true }
        #expect(await first == 1)
        #expect(await second == 1)
        #expect(await pool.verify(password: "p", stored: "{PLAIN}p", defaultScheme: "CRYPT", allowWeakSchemes: true) == .match)
        await pool.shutdown()
        #expect(await pool.run { 1 } == nil)
    }
}

/// The userdb's uid and gid checks, one rule for both (Dovecot's messages).
@Suite struct PermittedIDTests {
    static func refusal(_ result: Result<UInt32, AuthService.IDRefusal>) -> String? {
        if case .failure(let refusal) = result { return refusal.message }
        return nil
    }

    static func range(_ id: String, _ setting: String) -> String {
        "Mail access for users with \(id) not permitted (see \(setting) in config file)"
    }

    @Test func uidAndGidFollowTheSameRules() {
        #expect(try! AuthService.permittedID("UID", 1000, "1000", noSuch: "user", first: 500, last: 0).get() == 1000)
        #expect(try! AuthService.permittedID("GID", 0, nil, noSuch: "group", first: 0, last: 0).get() == 0)
        let cases: [(String, UInt32?, String?, UInt32, UInt32, String)] = [
            ("UID", 0, "0", 0, 0, Self.range("UID 0", "first_valid_uid")),
            ("UID", nil, nil, 500, 0, "User is missing UID (see mail_uid setting)"),
            ("UID", nil, "nobody\u{7}", 500, 0, "Invalid uid nobody (no such user)"),
            ("GID", nil, nil, 1, 0, "User is missing GID (see mail_gid setting)"),
            ("GID", nil, "staff", 1, 0, "Invalid gid staff (no such group)"),
            ("GID", 5, "5", 10, 0, Self.range("GID 5", "first_valid_gid")),
            ("GID", 50, "50", 10, 40, Self.range("GID 50", "last_valid_gid")),
            ("UID", 2000, "2000", 500, 1999, Self.range("UID 2000", "last_valid_uid")),
        ]
        for (kind, id, text, first, last, message) in cases {
            let noSuch = kind == "UID" ? "user" : "group"
            #expect(Self.refusal(AuthService.permittedID(kind, id, text, noSuch: noSuch, first: first, last: last))
                == message)
        }
    }
}
