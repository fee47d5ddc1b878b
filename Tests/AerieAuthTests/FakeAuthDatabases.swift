import AerieCore
import AerieTestSupport
import Synchronization

@testable import AerieAuth

/// A passdb in memory that counts its calls: `lookup` returns `{PLAIN}password` (or verifies itself when `bind`).
final class FakePassDB: PassDBDriver, Sendable {
    struct User: Sendable {
        var password: String?
        var fields: [String: String] = [:]
    }

    let bind: Bool
    private let state: Mutex<(users: [String: User], failing: Bool, lookups: Int, verifies: Int)>

    init(_ users: [String: User] = [:], bind: Bool = false) {
        self.bind = bind
        state = Mutex((users, false, 0, 0))
    }

    var verifiesPasswords: Bool { bind }
    var lookups: Int { state.withLock { $0.lookups } }
    var verifies: Int { state.withLock { $0.verifies } }
    var calls: Int { state.withLock { $0.lookups + $0.verifies } }
    func set(_ user: String, _ value: User?) { state.withLock { $0.users[user] = value } }
    func fail(_ failing: Bool) { state.withLock { $0.failing = failing } }

    func lookup(_ request: AuthLookupRequest) async -> PassDBResult {
        let (user, failing) = state.withLock { state in
            state.lookups += 1
            return (state.users[request.user], state.failing)
        }
        if failing { return .internalFailure }
        guard let user else { return .userUnknown }
        return .ok(PassDBEntry(password: bind ? nil : user.password.map { "{PLAIN}" + $0 }, fields: user.fields))
    }

    func verifyPlain(_ request: AuthLookupRequest, password: String) async -> PassDBResult {
        let (user, failing) = state.withLock { state in
            state.verifies += 1
            return (state.users[request.user], state.failing)
        }
        if failing { return .internalFailure }
        guard let user else { return .userUnknown }
        return user.password == password ? .ok(PassDBEntry(fields: user.fields)) : .passwordMismatch
    }
}

/// A userdb in memory that counts its lookups.
final class FakeUserDB: UserDBDriver, Sendable {
    private let state: Mutex<(users: [String: [String: String]], failing: Bool, lookups: Int)>

    init(_ users: [String: [String: String]]) { state = Mutex((users, false, 0)) }

    var lookups: Int { state.withLock { $0.lookups } }
    func fail(_ failing: Bool) { state.withLock { $0.failing = failing } }

    func lookup(_ request: AuthLookupRequest) async -> UserDBResult {
        let (fields, failing) = state.withLock { state in
            state.lookups += 1
            return (state.users[request.user], state.failing)
        }
        if failing { return .internalFailure }
        return fields.map(UserDBResult.ok) ?? .userUnknown
    }
}

/// A clock the tests move by hand (cache TTLs, failure delays that do not wait, TOTP steps).
final class ManualClock: Sendable {
    let state = Mutex(ContinuousClock.now)
    let unix = Mutex<Int64>(1_700_000_025)
    var clock: AuthClock {
        AuthClock(now: { self.state.withLock { $0 } }, sleep: { _ in }, unixTime: { self.unix.withLock { $0 } })
    }
    var unixTime: Int64 { unix.withLock { $0 } }
    func advance(_ duration: Duration) {
        state.withLock { $0 += duration }
        unix.withLock { $0 += duration.components.seconds }
    }
}

/// Builds services over fake databases registered under their spec names.
struct FakeAuth {
    var passdbs: [String: FakePassDB] = [:]
    var userdbs: [String: FakeUserDB] = [:]
    let log = CollectingLog()
    let clock = ManualClock()
    let pool = PasswordHashingPool(threads: 2, maxQueued: 64)

    func registry() -> AuthDriverRegistry {
        var registry = AuthDriverRegistry.builtIn
        for (name, db) in passdbs { registry.passdbs[name] = { _, _ in db } }
        for (name, db) in userdbs { registry.userdbs[name] = { _, _ in db } }
        return registry
    }

    /// Static userdb (uid/gid 1000, home from the user) unless `userdbs` are given; weak schemes allowed ({PLAIN}).
    func service(
        _ passdbs: [PassDBSpec], userdbs: [UserDBSpec]? = nil,
        configure: (inout AuthServiceConfiguration) -> Void = { _ in }
    ) throws -> AuthService {
        var staticDB = UserDBSpec(name: "static", driver: "static", path: "")
        staticDB.overrideFields = ["uid": "1000", "gid": "1000", "home": "/srv/mail/%{user}"]
        staticDB.options = ["static_allow_all_users": "yes"]
        var configuration = AuthServiceConfiguration(
            passdbs: passdbs, userdbs: userdbs ?? [staticDB], allowWeakSchemes: true)
        configuration.penalty.failureDelay = .zero
        configure(&configuration)
        return try AuthService(
            configuration: configuration, log: log, pool: pool, files: nil, clock: clock.clock, registry: registry())
    }

    static func spec(_ driver: String, _ configure: (inout PassDBSpec) -> Void = { _ in }) -> PassDBSpec {
        var spec = PassDBSpec(name: driver, driver: driver, path: "")
        configure(&spec)
        return spec
    }

    static func login(
        _ user: String, _ password: String, service: String = "imap", ip: String = "192.0.2.7"
    )
        -> AuthRequest
    {
        AuthRequest(user: user, password: password, mechanism: "PLAIN", service: service, remoteIP: ip, secured: true)
    }
}

extension AuthResult {
    var user: String? {
        if case .success(let found) = self { return found.user }
        return nil
    }

    var failure: AuthFailure? {
        if case .failure(let failure) = self { return failure }
        return nil
    }
}
