import AerieCore
import AerieTestSupport
import Foundation
import Synchronization
import Testing

@testable import AerieAuth

/// `aerie adm user -A` / `aerie adm user MASK`: listing userdbs, masks matched in Aerie, names streamed in parts.
@Suite struct AuthUserListingTests {
    final class ListingUserDB: UserDBDriver, UserIterating {
        let names: [String]
        let emitted = Mutex(0)
        init(names: [String]) { self.names = names }
        var canListUsers: Bool { true }
        func lookup(_ request: AuthLookupRequest) async -> UserDBResult { .userUnknown }
        func listUsers(_ emit: @escaping @Sendable (String) async -> Bool) async -> Bool {
            for name in names {
                emitted.withLock { $0 += 1 }
                guard await emit(name) else { break }
            }
            return true
        }
    }

    final class Parts: Sendable {
        let parts = Mutex<[String]>([])
        let stopAfter: Int
        init(stopAfter: Int = .max) { self.stopAfter = stopAfter }
        func add(_ text: String) -> Bool {
            parts.withLock {
                $0.append(text)
                return $0.count < stopAfter
            }
        }
        var names: [String] { parts.withLock { $0.flatMap { $0.split(separator: "\n").map(String.init) } } }
    }

    func service(_ names: [String]) throws -> (AuthService, ListingUserDB) {
        var fake = FakeAuth()
        fake.passdbs = ["db": FakePassDB([:])]
        let db = ListingUserDB(names: names)
        var registry = fake.registry()
        registry.userdbs["list"] = { _, _ in db }
        let configuration = AuthServiceConfiguration(
            passdbs: [FakeAuth.spec("db")], userdbs: [UserDBSpec(name: "list", driver: "list", path: "")],
            allowWeakSchemes: true)
        let service = try AuthService(
            configuration: configuration, log: fake.log, pool: fake.pool, files: nil, clock: fake.clock.clock,
            registry: registry)
        return (service, db)
    }

    static let many = (0..<200).map { "user\($0)@example.com" } + ["Alice@Other.org"]

    @Test func allUsersStreamInBoundedParts() async throws {
        let (service, _) = try service(Self.many)
        let parts = Parts()
        let (ok, text) = await service.administer(["user", "-A"], part: { parts.add($0) })
        #expect(ok && text.isEmpty)
        #expect(parts.names == Self.many)
        #expect(parts.parts.withLock { $0.count } == 4)  // 64 names a part
    }

    @Test func aReaderThatGoesAwayStopsTheListing() async throws {
        let (service, db) = try service(Self.many)
        let parts = Parts(stopAfter: 1)
        _ = await service.administer(["user", "*"], part: { parts.add($0) })
        #expect(parts.names.count == AuthService.namesPerPart)
        #expect(db.emitted.withLock { $0 } == AuthService.namesPerPart)  // not one name more
    }

    @Test func masksMatchWithoutCaseAndNeverAsSQLOrFilters() async throws {
        let (service, _) = try service(Self.many)
        #expect(await service.administer(["user", "*@OTHER.org"]) == (true, "Alice@Other.org\n"))
        #expect(await service.administer(["user", "user1?@example.com"]).1.split(separator: "\n").count == 10)
        for mask in ["x' OR '1'='1*", "*)(uid=*", "*' --", "%{user}*"] {
            #expect(await service.administer(["user", mask]) == (true, ""), "\(mask)")
        }
        let long = String(repeating: "*", count: AuthService.maximumUserMask + 1)
        #expect(await service.administer(["user", long]) == (false, "user mask too long"))
    }

    @Test func withoutAListingUserdbTheAdminIsTold() async throws {
        var fake = FakeAuth()
        fake.passdbs = ["db": FakePassDB([:])]
        let service = try fake.service([FakeAuth.spec("db")])
        let (ok, text) = await service.administer(["user", "-A"])
        #expect(!ok && text.hasPrefix("no userdb can list its users"))
    }

    @Test func passwdFileListsEveryLineAndRefusesPerUserPaths() async throws {
        let dir = makeTempDirectory("listing")
        defer { removeTree(dir) }
        let path = dir + "/users"
        try "# comment\nbob:{PLAIN}x::::\nalice:{PLAIN}y::::\n\ncarol::::::\n".write(
            toFile: path, atomically: true, encoding: .utf8)
        let fake = FakeAuth()
        let context = AuthDriverContext(pool: fake.pool, log: fake.log, debug: false, files: PasswdFileCache())
        let file = PasswdFileDB(path: path, driverName: "passwd-file", context: context)
        let names = Mutex<[String]>([])
        #expect(await file.listUsers { name in names.withLock { $0.append(name) }; return true })
        #expect(names.withLock { $0 } == ["alice", "bob", "carol"])
        let perDomain = PasswdFileDB(path: dir + "/%{user | domain}", driverName: "passwd-file", context: context)
        #expect(!perDomain.canListUsers)
        let missing = PasswdFileDB(path: dir + "/none", driverName: "passwd-file", context: context)
        #expect(await missing.listUsers { _ in true } == false)
    }
}
