import AerieCore
import AerieTestSupport
import Testing

@testable import AerieAuth

/// `auth_cache_*`: hits never reach the backend, a cached success never lets another password in, TTLs by an
/// injected clock, negative entries, a byte bound and flushes.
@Suite struct AuthCacheTests {
    typealias User = FakePassDB.User

    func cached(
        bind: Bool = false, size: Int = 1 << 20, users: [String: User] = ["alice": User(password: "pa")]
    )
        throws -> (AuthService, FakePassDB, FakeAuth)
    {
        var fake = FakeAuth()
        let db = FakePassDB(users, bind: bind)
        fake.passdbs = ["db": db]
        let service = try fake.service([FakeAuth.spec("db")]) {
            $0.cacheSize = size
            $0.cacheTTL = .seconds(3600)
            $0.cacheNegativeTTL = .seconds(600)
        }
        return (service, db, fake)
    }

    @Test(arguments: [false, true])
    func aHitNeverCallsTheBackend(bind: Bool) async throws {
        let (service, db, _) = try cached(bind: bind)
        #expect(await service.authenticate(FakeAuth.login("alice", "pa")).user == "alice")
        #expect(db.calls == 1)
        for _ in 0..<3 { #expect(await service.authenticate(FakeAuth.login("alice", "pa")).user == "alice") }
        #expect(db.calls == 1)
        #expect(service.cache?.statistics.hits == 3)
    }

    @Test(arguments: [false, true])
    func aCachedSuccessNeverLetsAnotherPasswordIn(bind: Bool) async throws {
        let (service, db, _) = try cached(bind: bind)
        #expect(await service.authenticate(FakeAuth.login("alice", "pa")).user == "alice")
        // The first mismatch after a success asks the backend (the password may have changed) …
        #expect(await service.authenticate(FakeAuth.login("alice", "guess")).failure == .passwordMismatch)
        #expect(db.calls == 2)
        // … the next is answered from the cache.
        #expect(await service.authenticate(FakeAuth.login("alice", "guess")).failure == .passwordMismatch)
        #expect(db.calls == 2)
        #expect(await service.authenticate(FakeAuth.login("alice", "pa")).user == "alice")
        #expect(db.calls == 2)
    }

    @Test func aChangedPasswordIsSeenAtTheNextMismatch() async throws {
        let (service, db, _) = try cached()
        #expect(await service.authenticate(FakeAuth.login("alice", "pa")).user == "alice")
        db.set("alice", User(password: "new"))
        #expect(await service.authenticate(FakeAuth.login("alice", "new")).user == "alice")
        #expect(await service.authenticate(FakeAuth.login("alice", "pa")).failure == .passwordMismatch)
    }

    @Test func bindEntriesKeepASaltedHashNeverThePassword() async throws {
        let secret = "Bind-Secret-Pw-42"
        let (service, _, _) = try cached(bind: true, users: ["alice": User(password: secret)])
        _ = await service.authenticate(FakeAuth.login("alice", secret))
        let hit = try #require(service.cache?.get(AuthCache.key("p", 0, "alice")))
        guard case .passdb(let entry, let verifier?) = hit.value else {
            Issue.record("no verifier: \(hit.value)")
            return
        }
        #expect(entry.password == nil)
        #expect(verifier.hasPrefix("{SSHA512}") && !verifier.contains(secret))
        #expect(PasswordSchemes.verify(password: secret, stored: verifier, allowWeakSchemes: false) == .match)
        // A second salted hash of the same password differs: the salt is fresh.
        #expect(AuthService.verifier(secret) != verifier)
    }

    @Test func positiveTTL() async throws {
        let (service, db, fake) = try cached()
        _ = await service.authenticate(FakeAuth.login("alice", "pa"))
        fake.clock.advance(.seconds(3599))
        _ = await service.authenticate(FakeAuth.login("alice", "pa"))
        #expect(db.calls == 1)
        fake.clock.advance(.seconds(2))
        _ = await service.authenticate(FakeAuth.login("alice", "pa"))
        #expect(db.calls == 2)
    }

    @Test func expiredEntryServesWhenTheBackendFails() async throws {
        let (service, db, fake) = try cached()
        _ = await service.authenticate(FakeAuth.login("alice", "pa"))
        fake.clock.advance(.seconds(4000))
        db.fail(true)
        #expect(await service.authenticate(FakeAuth.login("alice", "pa")).user == "alice")
        #expect(await service.authenticate(FakeAuth.login("alice", "guess")).failure == .passwordMismatch)
        #expect(fake.log.lines.contains { $0.message.hasSuffix("Falling back to expired data from cache") })
    }

    @Test func negativeEntriesForUnknownUsersAndBindMismatches() async throws {
        let (service, db, fake) = try cached(bind: true)
        #expect(await service.authenticate(FakeAuth.login("ghost", "x")).failure == .unknownUser)
        #expect(await service.authenticate(FakeAuth.login("ghost", "y")).failure == .unknownUser)
        #expect(db.calls == 1)
        fake.clock.advance(.seconds(601))
        #expect(await service.authenticate(FakeAuth.login("ghost", "x")).failure == .unknownUser)
        #expect(db.calls == 2)
        // The user appears: known after the negative TTL.
        db.set("ghost", User(password: "boo"))
        fake.clock.advance(.seconds(601))
        #expect(await service.authenticate(FakeAuth.login("ghost", "boo")).user == "ghost")

        // A bind mismatch is remembered for that password only.
        #expect(await service.authenticate(FakeAuth.login("alice", "guess")).failure == .passwordMismatch)
        let calls = db.calls
        #expect(await service.authenticate(FakeAuth.login("alice", "guess")).failure == .passwordMismatch)
        #expect(db.calls == calls)
        #expect(await service.authenticate(FakeAuth.login("alice", "pa")).user == "alice")
        #expect(db.calls == calls + 1)
    }

    @Test func zeroNegativeTTLCachesNoFailures() async throws {
        var fake = FakeAuth()
        let db = FakePassDB([:])
        fake.passdbs = ["db": db]
        let service = try fake.service([FakeAuth.spec("db")]) {
            $0.cacheSize = 1 << 20
            $0.cacheNegativeTTL = .zero
        }
        _ = await service.authenticate(FakeAuth.login("ghost", "x"))
        _ = await service.authenticate(FakeAuth.login("ghost", "x"))
        #expect(db.calls == 2)
    }

    @Test func sizeIsBoundedByBytes() async throws {
        var users: [String: User] = [:]
        for n in 0..<200 { users["user\(n)"] = User(password: "p\(n)", fields: ["userdb_mail": "maildir:~/Maildir"]) }
        let (service, db, _) = try cached(size: 4096, users: users)
        for n in 0..<200 { _ = await service.authenticate(FakeAuth.login("user\(n)", "p\(n)")) }
        let cache = try #require(service.cache)
        #expect(cache.bytes <= 4096 && cache.count > 0)
        // The oldest were evicted, the newest kept.
        let calls = db.calls
        _ = await service.authenticate(FakeAuth.login("user199", "p199"))
        #expect(db.calls == calls)
        _ = await service.authenticate(FakeAuth.login("user0", "p0"))
        #expect(db.calls == calls + 1)
    }

    @Test func flushWholeOrPerUser() async throws {
        let (service, db, _) = try cached(users: ["alice": User(password: "pa"), "bob": User(password: "pb")])
        _ = await service.authenticate(FakeAuth.login("alice", "pa"))
        _ = await service.authenticate(FakeAuth.login("bob", "pb"))
        #expect(db.calls == 2)
        #expect(service.cache?.flush(users: ["alice"]) == 1)
        _ = await service.authenticate(FakeAuth.login("alice", "pa"))
        _ = await service.authenticate(FakeAuth.login("bob", "pb"))
        #expect(db.calls == 3)
        #expect(service.cache?.flush() == 2)
        #expect(service.cache?.bytes == 0)
        _ = await service.authenticate(FakeAuth.login("bob", "pb"))
        #expect(db.calls == 4)
    }

    @Test func userdbAnswersAreCachedToo() async throws {
        var fake = FakeAuth()
        fake.passdbs = ["db": FakePassDB(["alice": User(password: "pa")])]
        let userdb = FakeUserDB(["alice": ["uid": "1000", "gid": "1000", "home": "/a"]])
        fake.userdbs = ["u": userdb]
        let service = try fake.service([FakeAuth.spec("db")], userdbs: [UserDBSpec(name: "u", driver: "u", path: "")]) {
            $0.cacheSize = 1 << 20
        }
        _ = await service.authenticate(FakeAuth.login("alice", "pa"))
        #expect(await service.lookup("alice").user == "alice")
        #expect(userdb.lookups == 1)
    }

    @Test func noCacheWhenSizeIsZero() async throws {
        let (service, db, _) = try cached(size: 0)
        _ = await service.authenticate(FakeAuth.login("alice", "pa"))
        _ = await service.authenticate(FakeAuth.login("alice", "pa"))
        #expect(db.calls == 2 && service.cache == nil)
    }
}
