import AerieCore
import AerieTestSupport
import Testing

@testable import AerieAuth

/// `aerie adm auth test|lookup|cache flush` and `aerie adm user`, as the auth process answers them.
@Suite struct AuthAdminTests {
    typealias User = FakePassDB.User

    func service() throws -> (AuthService, FakePassDB, FakeAuth) {
        var fake = FakeAuth()
        let db = FakePassDB(["alice": User(password: "Pa-ss-1", fields: ["userdb_mail": "maildir:~/M", "x": "1"])])
        fake.passdbs = ["db": db]
        let service = try fake.service([FakeAuth.spec("db")]) { $0.cacheSize = 1 << 20 }
        return (service, db, fake)
    }

    @Test func authTestRunsTheChainAndNeverPrintsThePassword() async throws {
        let (service, _, fake) = try service()
        let (ok, text) = await service.administer(["-p", "pop3", "auth", "test", "alice", "Pa-ss-1"])
        #expect(ok && text.hasPrefix("passdb: alice auth succeeded") && text.contains("  mail=maildir:~/M"))
        let (bad, why) = await service.administer(["auth", "test", "alice", "nope"])
        #expect(!bad && why == "passdb: alice auth failed: password mismatch")
        #expect(!(text + why).contains("Pa-ss-1"))
        #expect(!fake.log.lines.contains { $0.message.contains("Pa-ss-1") || $0.message.contains("nope") })
        // An admin's test is no guess: no penalty recorded.
        #expect(service.penalty.list(now: ContinuousClock.now).isEmpty)
    }

    @Test func authLookupShowsFieldsButNoHash() async throws {
        let (service, _, _) = try service()
        let (ok, text) = await service.administer(["auth", "lookup", "alice"])
        #expect(ok && text.contains("x=1") && !text.contains("Pa-ss-1") && !text.contains("{PLAIN}"))
        #expect(await service.administer(["auth", "lookup", "ghost"]) == (false, "passdb: ghost: user unknown"))
    }

    @Test func userPrintsTheUserdbAnswer() async throws {
        let (service, _, _) = try service()
        let (ok, text) = await service.administer(["user", "alice"])
        #expect(ok && text == "userdb: alice\n  uid=1000\n  gid=1000\n  home=/srv/mail/alice")
    }

    @Test func cacheFlush() async throws {
        let (service, db, _) = try service()
        _ = await service.authenticate(FakeAuth.login("alice", "Pa-ss-1"))
        _ = await service.authenticate(FakeAuth.login("alice", "Pa-ss-1"))
        #expect(db.calls == 1)
        #expect(await service.administer(["auth", "cache", "flush", "ALICE"]) == (true, "0 cache entries flushed"))
        #expect(await service.administer(["auth", "cache", "flush", "alice"]) == (true, "1 cache entries flushed"))
        _ = await service.authenticate(FakeAuth.login("alice", "Pa-ss-1"))
        #expect(db.calls == 2)
        #expect(await service.administer(["auth", "cache", "flush"]) == (true, "1 cache entries flushed"))
        #expect(await service.administer(["auth", "bogus"]).0 == false)
        #expect(await service.administer(["penalty", "list"]).0 == true)
    }

    /// `aerie adm --host … totp|app-password`: the auth process changes state_dir/auth itself.
    @Test func secondFactorsAdministeredByTheAuthProcess() async throws {
        let dir = makeTempDirectory("factor-admin")
        defer { removeTree(dir) }
        var fake = FakeAuth()
        fake.passdbs = ["db": FakePassDB(["alice": User(password: "Pa-ss-1", fields: [:])])]
        let service = try fake.service([FakeAuth.spec("db")]) { $0.secondFactorDirectory = dir + "/auth" }
        let (enrolled, uri) = await service.administer(["totp", "enroll", "alice", "SHA1", "Aerie"])
        #expect(enrolled && uri.hasPrefix("otpauth://totp/Aerie:alice?") && uri.contains("secret (base32): "))
        let (added, secret) = await service.administer(["app-password", "add", "alice", "phone", "imap", "", "3600"])
        #expect(added && secret.count == 24)
        let (listed, listing) = await service.administer(["app-password", "list", "alice"])
        #expect(listed && listing.hasPrefix("TOTP: on (SHA1)\nphone\tprotocols=imap\tnets=any\texpires in 1 h"))
        #expect(!listing.contains(secret))
        #expect(await service.administer(["app-password", "revoke", "alice", "phone"]) == (true, "revoked: phone"))
        #expect(await service.administer(["totp", "disable", "alice"]) == (true, "TOTP disabled for alice"))
        // Bad words get the usage, not a half-done change.
        #expect(await service.administer(["app-password", "add", "alice", "x", "smtp", "", ""]).0 == false)
        #expect(await service.administer(["totp", "enroll", "alice", "MD5", "Aerie"]).0 == false)
        #expect(await service.administer(["app-password", "add", "alice", "x", "", "not-a-net", ""]).0 == false)
        #expect(!fake.log.lines.contains { $0.message.contains(secret) })
    }
}
