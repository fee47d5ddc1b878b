import AerieCore
import AerieTestSupport
import Testing

@testable import AerieAuth

/// The passdb/userdb chain against Dovecot 2.4's rules (auth-request.c): result_*, skip, deny, master users,
/// protocol scoping, fields and user names.
@Suite struct AuthChainTests {
    typealias User = FakePassDB.User

    /// Two fake passdbs A and B, in that order.
    func twoPassdbs(
        _ a: [String: User], _ b: [String: User], ruleA: (inout PassDBSpec) -> Void = { _ in },
        ruleB: (inout PassDBSpec) -> Void = { _ in }
    ) throws -> (AuthService, FakePassDB, FakePassDB, FakeAuth) {
        var fake = FakeAuth()
        let dbA = FakePassDB(a)
        let dbB = FakePassDB(b)
        fake.passdbs = ["a": dbA, "b": dbB]
        let service = try fake.service([FakeAuth.spec("a", ruleA), FakeAuth.spec("b", ruleB)])
        return (service, dbA, dbB, fake)
    }

    @Test func passdbsAreTriedInOrder() async throws {
        let (service, a, b, _) = try twoPassdbs(["alice": User(password: "pa")], ["bob": User(password: "pb")])
        #expect(await service.authenticate(FakeAuth.login("alice", "pa")).user == "alice")
        #expect(b.calls == 0)  // result_success = return-ok stops at A
        #expect(await service.authenticate(FakeAuth.login("bob", "pb")).user == "bob")
        #expect(a.calls == 2 && b.calls == 1)
        #expect(await service.authenticate(FakeAuth.login("bob", "pa")).failure == .passwordMismatch)
        #expect(await service.authenticate(FakeAuth.login("carol", "x")).failure == .unknownUser)
    }

    /// (A's user, rule on A, B's user, expected) — B's password is "pb"; the login uses "pa".
    static let ruleCases: [(String, String, String, AuthFailure?)] = [
        // A verifies; continue goes on but does not decide success: B does not know alice, so the login fails.
        ("ok", "result_success=continue", "none", .unknownUser),
        ("ok", "result_success=continue-ok", "none", nil),
        // Once verified, B only looks alice up: its different password does not matter.
        ("ok", "result_success=continue", "other-password", nil),
        ("ok", "result_success=return", "none", .passwordMismatch),
        ("ok", "result_success=return-fail", "other-password", .passwordMismatch),
        ("mismatch", "default", "same-password", nil),
        ("mismatch", "result_failure=return-fail", "same-password", .passwordMismatch),
        ("mismatch", "result_failure=return", "same-password", .passwordMismatch),
        ("internal", "default", "same-password", nil),
        ("internal", "default", "none", .temporaryFailure),
        ("internal", "result_internalfail=return-fail", "same-password", .temporaryFailure),
        ("next", "default", "same-password", nil),
        ("next", "default", "none", .unknownUser),
    ]

    @Test(arguments: ruleCases)
    func resultRules(_ a: String, _ rule: String, _ b: String, _ expected: AuthFailure?) async throws {
        var usersA: [String: User] = [:]
        switch a {
        case "ok": usersA["alice"] = User(password: "pa")
        case "mismatch": usersA["alice"] = User(password: "other")
        case "next": usersA["alice"] = User(password: "pa", fields: ["noauthenticate": ""])
        default: break
        }
        var usersB: [String: User] = [:]
        switch b {
        case "other-password": usersB["alice"] = User(password: "pb")
        case "same-password": usersB["alice"] = User(password: "pa")
        default: break
        }
        let (service, dbA, _, _) = try twoPassdbs(usersA, usersB) { spec in
            let parts = rule.split(separator: "=").map(String.init)
            guard parts.count == 2, let value = AuthDBRule(rawValue: parts[1]) else { return }
            switch parts[0] {
            case "result_success": spec.resultSuccess = value
            case "result_failure": spec.resultFailure = value
            default: spec.resultInternalFailure = value
            }
        }
        if a == "internal" { dbA.fail(true) }
        let result = await service.authenticate(FakeAuth.login("alice", "pa"))
        #expect(result.failure == expected, "\(result)")
    }

    @Test func aReturnRuleStopsTheChain() async throws {
        let (service, _, b, _) = try twoPassdbs(["alice": User(password: "x")], ["alice": User(password: "pa")]) {
            $0.resultFailure = .returnFail
        }
        #expect(await service.authenticate(FakeAuth.login("alice", "pa")).failure == .passwordMismatch)
        #expect(b.calls == 0)
    }

    @Test func skipAuthenticatedAndUnauthenticated() async throws {
        let (service, _, b, _) = try twoPassdbs(["alice": User(password: "pa")], ["alice": User(password: "pa")]) {
            $0.resultSuccess = .continueOK
        } ruleB: {
            $0.skip = .authenticated
        }
        #expect(await service.authenticate(FakeAuth.login("alice", "pa")).user == "alice")
        #expect(b.calls == 0)
        #expect(await service.authenticate(FakeAuth.login("alice", "wrong")).failure == .passwordMismatch)
        #expect(b.calls == 1)  // not authenticated yet: B runs

        let (other, _, c, _) = try twoPassdbs(["alice": User(password: "pa")], ["alice": User(password: "pa")]) {
            $0.resultFailure = .continue
        } ruleB: {
            $0.skip = .unauthenticated
        }
        #expect(await other.authenticate(FakeAuth.login("alice", "wrong")).failure == .passwordMismatch)
        #expect(c.calls == 0)
    }

    @Test func denyPassdbRefusesAListedUserWhateverThePassword() async throws {
        var fake = FakeAuth()
        let deny = FakePassDB(["mallory": User(password: nil)])
        let main = FakePassDB(["mallory": User(password: "pm"), "alice": User(password: "pa")])
        fake.passdbs = ["deny": deny, "main": main]
        // Listed after the ordinary passdb, the deny list is still consulted first.
        let service = try fake.service([FakeAuth.spec("main"), FakeAuth.spec("deny") { $0.deny = true }])
        #expect(await service.authenticate(FakeAuth.login("mallory", "pm")).failure == .denied)
        #expect(main.calls == 0)
        #expect(await service.authenticate(FakeAuth.login("alice", "pa")).user == "alice")
        #expect(fake.log.lines.contains { $0.message.hasSuffix("User found from deny passdb") })
        deny.fail(true)
        #expect(await service.authenticate(FakeAuth.login("alice", "pa")).failure == .temporaryFailure)
    }

    /// SASL EXTERNAL (Dovecot's nopassword): a certificate-verified request is looked up, not verified; deny
    /// passdbs, nologin and allow_nets still refuse; without the serve process's flag nobody logs in.
    @Test func externalLooksTheUserUpWithoutAPassword() async throws {
        var fake = FakeAuth()
        let deny = FakePassDB(["mallory": User(password: nil)])
        let main = FakePassDB([
            "alice": User(password: "pa"), "nopw": User(password: nil), "mallory": User(password: "pm"),
            "locked": User(password: "pl", fields: ["nologin": ""]),
            "netted": User(password: "pn", fields: ["allow_nets": "10.0.0.0/8"]),
        ])
        fake.passdbs = ["deny": deny, "main": main]
        let service = try fake.service([FakeAuth.spec("deny") { $0.deny = true }, FakeAuth.spec("main")])
        func external(_ user: String, verified: Bool = true) -> AuthRequest {
            var request = FakeAuth.login(user, "")
            request.mechanism = "EXTERNAL"
            request.certificateVerified = verified
            return request
        }
        #expect(await service.authenticate(external("alice")).user == "alice")
        #expect(await service.authenticate(external("nopw")).user == "nopw")
        #expect(await service.authenticate(external("alice", verified: false)).failure == .unknownUser)
        #expect(await service.authenticate(external("carol")).failure == .unknownUser)
        #expect(await service.authenticate(external("mallory")).failure == .denied)
        #expect(await service.authenticate(external("locked")).user == nil)
        #expect(await service.authenticate(external("netted")).user == nil)
    }

    func masterService(pass: Bool) throws -> (AuthService, FakePassDB, FakeAuth) {
        var fake = FakeAuth()
        let masters = FakePassDB(["admin": User(password: "adminpw")])
        let main = FakePassDB([
            "alice": User(password: "pa"), "locked": User(password: "pl", fields: ["nologin": "", "reason": "moved"]),
        ])
        fake.passdbs = ["masters": masters, "main": main]
        let service = try fake.service([
            FakeAuth.spec("masters") {
                $0.master = true
                $0.pass = pass
            },
            FakeAuth.spec("main"),
        ]) { $0.masterUserSeparator = "*" }
        return (service, main, fake)
    }

    @Test func masterUserLogsInAsTheUserAndIsLogged() async throws {
        let (service, _, fake) = try masterService(pass: true)
        #expect(await service.authenticate(FakeAuth.login("alice*admin", "adminpw")).user == "alice")
        #expect(
            fake.log.lines.contains {
                $0.level == .info && $0.message.hasSuffix("Master user admin logging in as alice")
            })
        #expect(await service.authenticate(FakeAuth.login("alice*admin", "pa")).failure == .passwordMismatch)
        // The master passdb is only for master logins: its user cannot log in as itself.
        #expect(await service.authenticate(FakeAuth.login("admin", "adminpw")).failure == .unknownUser)
        // pass = yes: the target must exist and may log in.
        #expect(await service.authenticate(FakeAuth.login("ghost*admin", "adminpw")).failure == .unknownUser)
        #expect(await service.authenticate(FakeAuth.login("locked*admin", "adminpw")).failure == .denied)
        #expect(!fake.log.lines.contains { $0.message.contains("adminpw") })
    }

    @Test func masterWithoutPassGoesStraightToTheUserdb() async throws {
        let (service, main, _) = try masterService(pass: false)
        #expect(await service.authenticate(FakeAuth.login("locked*admin", "adminpw")).user == "locked")
        #expect(main.calls == 0)
    }

    @Test func masterSeparatorUnsetMeansAnOrdinaryCharacter() async throws {
        var fake = FakeAuth()
        fake.passdbs = ["main": FakePassDB(["a*b": User(password: "p")])]
        let service = try fake.service([FakeAuth.spec("main")]) { $0.usernameChars = "" }
        #expect(await service.authenticate(FakeAuth.login("a*b", "p")).user == "a*b")
    }

    @Test func protocolPassdbsComeFirstAndServeOnlyTheirProtocol() async throws {
        var fake = FakeAuth()
        let pop = FakePassDB(["alice": User(password: "pop-only")])
        let global = FakePassDB(["alice": User(password: "pa")])
        fake.passdbs = ["pop": pop, "global": global]
        let service = try fake.service([
            FakeAuth.spec("global"), FakeAuth.spec("pop") { $0.protocols = ["pop3"] },
        ])
        #expect(await service.authenticate(FakeAuth.login("alice", "pop-only", service: "pop3")).user == "alice")
        #expect(global.calls == 0)
        #expect(
            await service.authenticate(FakeAuth.login("alice", "pop-only", service: "imap")).failure
                == .passwordMismatch)
        #expect(pop.calls == 1)
        #expect(await service.authenticate(FakeAuth.login("alice", "pa", service: "imap")).user == "alice")
    }

    @Test func fieldsTemplatesDefaultsAndOverrides() async throws {
        var fake = FakeAuth()
        fake.passdbs = [
            "main": FakePassDB([
                "alice@example.com": User(
                    password: "pa", fields: ["userdb_quota_rule": "*:storage=2G", "userdb_x": "1"])
            ])
        ]
        let service = try fake.service([
            FakeAuth.spec("main") {
                $0.defaultFields = ["userdb_quota_rule": "*:storage=1G", "userdb_mail": "maildir:~/Maildir"]
                $0.overrideFields = [
                    "userdb_home": "/srv/%{user|domain}/%{user|username}", "userdb_x:remove": "",
                    "userdb_from": "%{remote_ip}/%{service}",
                ]
            }
        ])
        guard case .success(let user) = await service.authenticate(FakeAuth.login("alice@example.com", "pa")) else {
            Issue.record("login failed")
            return
        }
        #expect(user.home == "/srv/example.com/alice")
        #expect(user.extraFields["quota_rule"] == "*:storage=2G")  // the passdb's own value beats the default
        #expect(user.extraFields["mail"] == "maildir:~/Maildir")
        #expect(user.extraFields["x"] == nil)
        #expect(user.extraFields["from"] == "192.0.2.7/imap")
    }

    @Test func userFieldRenamesTheLogin() async throws {
        var fake = FakeAuth()
        fake.passdbs = ["main": FakePassDB(["alias": User(password: "pa", fields: ["user": "canonical"])])]
        let service = try fake.service([FakeAuth.spec("main")])
        let result = await service.authenticate(FakeAuth.login("alias", "pa"))
        #expect(result.user == "canonical")
        guard case .success(let found) = result else { return }
        #expect(found.home == "/srv/mail/canonical")
    }

    @Test func usernameFormatCharsAndDefaultDomain() async throws {
        var fake = FakeAuth()
        let main = FakePassDB(["alice@example.com": User(password: "pa")])
        fake.passdbs = ["main": main]
        let service = try fake.service([FakeAuth.spec("main")]) {
            $0.usernameFormat = "%{user|lower}"
            $0.defaultDomain = "Example.com"
            $0.usernameChars = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-_@"
        }
        #expect(await service.authenticate(FakeAuth.login("ALICE", "pa")).user == "alice@example.com")
        #expect(await service.authenticate(FakeAuth.login("alice@EXAMPLE.com", "pa")).user == "alice@example.com")
        let calls = main.calls
        #expect(await service.authenticate(FakeAuth.login("al!ce", "pa")).failure == .unknownUser)
        #expect(main.calls == calls)  // refused before any database
        #expect(
            fake.log.lines.contains {
                $0.message.contains("Username character disallowed by auth_username_chars: 0x21")
            })
    }

    @Test func usernameTranslation() async throws {
        var fake = FakeAuth()
        fake.passdbs = ["main": FakePassDB(["alice@example.com": User(password: "pa")])]
        let service = try fake.service([FakeAuth.spec("main")]) { $0.usernameTranslation = "%@" }
        #expect(await service.authenticate(FakeAuth.login("alice%example.com", "pa")).user == "alice@example.com")
    }

    @Test func staticUserdbTemplatesAndExistenceCheck() async throws {
        var fake = FakeAuth()
        fake.passdbs = ["main": FakePassDB(["alice@example.com": User(password: "pa")])]
        var staticDB = UserDBSpec(name: "static", driver: "static", path: "")
        staticDB.overrideFields = ["uid": "1000", "gid": "1001", "home": "/var/vmail/%{user|domain}/%{user|username}"]
        let service = try fake.service([FakeAuth.spec("main")], userdbs: [staticDB])
        guard case .success(let user) = await service.authenticate(FakeAuth.login("alice@example.com", "pa")) else {
            Issue.record("login failed")
            return
        }
        #expect(user.uid == 1000 && user.gid == 1001 && user.home == "/var/vmail/example.com/alice")
        // A delivery lookup asks the passdbs whether the user exists (no allow_all_users).
        #expect(await service.lookup("alice@example.com").user == "alice@example.com")
        #expect(await service.lookup("ghost@example.com").failure == .unknownUser)

        staticDB.options["static_allow_all_users"] = "yes"
        let open = try fake.service([FakeAuth.spec("main")], userdbs: [staticDB])
        #expect(await open.lookup("ghost@example.com").user == "ghost@example.com")
    }

    @Test func userdbChainRules() async throws {
        var fake = FakeAuth()
        fake.passdbs = ["main": FakePassDB(["alice": User(password: "pa"), "bob": User(password: "pb")])]
        let first = FakeUserDB(["alice": ["uid": "1000", "gid": "1000", "home": "/a", "mail": "first"]])
        let second = FakeUserDB([
            "alice": ["mail": "second", "quota_rule": "*:storage=1G"],
            "bob": ["uid": "1002", "gid": "1002", "home": "/b"],
        ])
        fake.userdbs = ["first": first, "second": second]
        var u1 = UserDBSpec(name: "first", driver: "first", path: "")
        u1.resultSuccess = .continueOK
        var u2 = UserDBSpec(name: "second", driver: "second", path: "")
        u2.skip = .notfound
        let service = try fake.service([FakeAuth.spec("main")], userdbs: [u1, u2])
        guard case .success(let alice) = await service.authenticate(FakeAuth.login("alice", "pa")) else {
            Issue.record("alice failed")
            return
        }
        // continue-ok merged both userdbs, the later one over the earlier.
        #expect(alice.uid == 1000 && alice.extraFields["mail"] == "second" && alice.extraFields["quota_rule"] != nil)
        // bob: unknown in the first, so skip = notfound skips the second: no userdb found him.
        #expect(await service.authenticate(FakeAuth.login("bob", "pb")).failure == .unknownUser)
        first.fail(true)
        #expect(await service.authenticate(FakeAuth.login("bob", "pb")).failure == .temporaryFailure)
    }

    @Test func uidAndGidByName() async throws {
        var fake = FakeAuth()
        fake.passdbs = ["main": FakePassDB(["alice": User(password: "pa")])]
        var staticDB = UserDBSpec(name: "static", driver: "static", path: "")
        staticDB.overrideFields = ["uid": "nobody", "gid": "no-such-group-here", "home": "/h"]
        let service = try fake.service([FakeAuth.spec("main")], userdbs: [staticDB])
        #expect(await service.authenticate(FakeAuth.login("alice", "pa")).failure == .gidNotPermitted)
        #expect(fake.log.lines.contains { $0.message.contains("Invalid gid no-such-group-here") })
    }

    @Test func unknownDriverIsRefusedAtStart() throws {
        let fake = FakeAuth()
        #expect(throws: AuthServiceError.unsupportedDriver("ldap")) {
            try fake.service([FakeAuth.spec("ldap")])
        }
    }
}

@Suite struct PassDBFilterTests {
    typealias User = FakePassDB.User

    @Test func usernameFilterIncludesAndExcludes() async throws {
        var fake = FakeAuth()
        let staff = FakePassDB(["ann@staff.test": User(password: "s"), "bad@staff.test": User(password: "s")])
        let rest = FakePassDB(["ann@staff.test": User(password: "r"), "bad@staff.test": User(password: "r")])
        fake.passdbs = ["staff": staff, "rest": rest]
        let service = try fake.service([
            FakeAuth.spec("staff") { $0.usernameFilter = ["*@staff.test", "!bad@*"] }, FakeAuth.spec("rest"),
        ])
        #expect(await service.authenticate(FakeAuth.login("ann@staff.test", "s")).user == "ann@staff.test")
        #expect(await service.authenticate(FakeAuth.login("bad@staff.test", "s")).failure == .passwordMismatch)
        #expect(await service.authenticate(FakeAuth.login("bad@staff.test", "r")).user == "bad@staff.test")
        #expect(staff.calls == 1)
    }

    @Test func usernameFilterMatchesOneCharacterWithAQuestionMark() async throws {
        var fake = FakeAuth()
        let staff = FakePassDB(["ann@staff.test": User(password: "s"), "anne@staff.test": User(password: "s")])
        let rest = FakePassDB(["ann@staff.test": User(password: "r"), "anne@staff.test": User(password: "r")])
        fake.passdbs = ["staff": staff, "rest": rest]
        let service = try fake.service([
            FakeAuth.spec("staff") { $0.usernameFilter = ["a?n@*"] }, FakeAuth.spec("rest"),
        ])
        #expect(await service.authenticate(FakeAuth.login("ann@staff.test", "s")).user == "ann@staff.test")
        #expect(await service.authenticate(FakeAuth.login("anne@staff.test", "r")).user == "anne@staff.test")
        #expect(staff.calls == 1)
    }

    @Test func mechanismsFilter() async throws {
        var fake = FakeAuth()
        let plainOnly = FakePassDB(["alice": User(password: "p")])
        fake.passdbs = ["plain": plainOnly]
        let service = try fake.service([FakeAuth.spec("plain") { $0.mechanisms = ["plain"] }])
        var login = FakeAuth.login("alice", "p")
        login.mechanism = ""  // IMAP LOGIN counts as PLAIN
        #expect(await service.authenticate(login).user == "alice")
        login.mechanism = "LOGIN"
        // Every passdb skipped: Dovecot's internal failure ("All password databases were skipped").
        #expect(await service.authenticate(login).failure == .temporaryFailure)
        #expect(plainOnly.calls == 1)
    }
}

@Suite struct PrefetchUserDBTests {
    @Test func prefetchUsesThePassdbFieldsThenTheNextUserdbAnswersLookups() async throws {
        var fake = FakeAuth()
        fake.passdbs = [
            "db": FakePassDB([
                "alice": FakePassDB.User(
                    password: "pa", fields: ["userdb_uid": "1200", "userdb_gid": "1200", "userdb_home": "/p/alice"]),
                "bob": FakePassDB.User(password: "pb"),
            ])
        ]
        var staticDB = UserDBSpec(name: "static", driver: "static", path: "")
        staticDB.overrideFields = ["uid": "1000", "gid": "1000", "home": "/s/%{user}"]
        staticDB.options["static_allow_all_users"] = "yes"
        let service = try fake.service(
            [FakeAuth.spec("db")], userdbs: [UserDBSpec(name: "prefetch", driver: "prefetch", path: ""), staticDB])
        guard case .success(let alice) = await service.authenticate(FakeAuth.login("alice", "pa")) else {
            Issue.record("alice failed")
            return
        }
        #expect(alice.uid == 1200 && alice.home == "/p/alice")
        // bob's passdb entry has no userdb fields: prefetch does not know him, the static userdb does.
        guard case .success(let bob) = await service.authenticate(FakeAuth.login("bob", "pb")) else {
            Issue.record("bob failed")
            return
        }
        #expect(bob.uid == 1000 && bob.home == "/s/bob")
        // A delivery has no passdb fields to prefetch.
        guard case .success(let delivered) = await service.lookup("alice") else {
            Issue.record("lookup failed")
            return
        }
        #expect(delivered.home == "/s/alice")
    }
}
