public import AerieCore

/// What a passdb or userdb driver sees of a login: the name being looked up and where the login comes from.
/// It never holds the password: drivers that verify one get it as a separate argument.
public struct AuthLookupRequest: Sendable, Equatable {
    /// The user name after `auth_username_format` (and any `user` field rewrite by an earlier passdb).
    public var user: String
    /// "imap", "pop3", "lmtp" (deliveries), "adm" (`aerie adm`).
    public var service: String
    public var remoteIP: String
    public var localIP: String
    public var sessionID: String

    public init(user: String, service: String, remoteIP: String = "", localIP: String = "", sessionID: String = "") {
        self.user = user
        self.service = service
        self.remoteIP = remoteIP
        self.localIP = localIP
        self.sessionID = sessionID
    }
}

/// A user found in a passdb: the stored password (lookup authentication) and the extra fields.
public struct PassDBEntry: Sendable, Equatable {
    /// `{SCHEME}hash` or a bare hash in the passdb's default scheme; nil when the driver verifies passwords itself
    /// (bind authentication) or the entry has none.
    public var password: String?
    /// Extra fields: `allow_nets`, `nologin`, `reason`, `user`, `nodelay`, `noauthenticate`, `userdb_*`, …
    public var fields: [String: String]

    public init(password: String? = nil, fields: [String: String] = [:]) {
        self.password = password
        self.fields = fields
    }
}

/// The one result every passdb step ends in (Dovecot's `enum passdb_result`, less the states Aerie folds into
/// these: a disabled user is decided by the engine from the fields).
public enum PassDBResult: Sendable, Equatable {
    /// Password verified (or, for a lookup, the user found) with the entry's fields.
    case ok(PassDBEntry)
    case passwordMismatch
    case userUnknown
    /// The backend could not answer (unreachable, unreadable, malformed); the user may exist.
    case internalFailure
    /// The passdb found the user but does not authenticate (`noauthenticate`): a later passdb must.
    case next
}

/// A password database. Drivers that return the stored hash (`verifiesPasswords == false`) only implement
/// `lookup`; the engine verifies the hash on its hashing pool and can cache it. Drivers that check a password by
/// themselves (LDAP bind) set `verifiesPasswords` and implement `verifyPlain`.
public protocol PassDBDriver: Sendable {
    /// Whether `verifyPlain` checks the password (bind authentication) instead of `lookup` returning a hash.
    var verifiesPasswords: Bool { get }
    /// The user's entry without checking a password: `.ok`, `.userUnknown` or `.internalFailure`.
    /// Blocking work belongs off the caller's thread (the engine calls from a Swift task, never an event loop).
    func lookup(_ request: AuthLookupRequest) async -> PassDBResult
    /// Checks `password` for the user; only called when `verifiesPasswords`.
    func verifyPlain(_ request: AuthLookupRequest, password: String) async -> PassDBResult
}

extension PassDBDriver {
    public var verifiesPasswords: Bool { false }
    public func verifyPlain(_ request: AuthLookupRequest, password: String) async -> PassDBResult { .internalFailure }
}

/// Dovecot's `enum userdb_result`.
public enum UserDBResult: Sendable, Equatable {
    /// The user's fields: `uid`, `gid`, `home`, `mail`, `quota_rule`, …
    case ok([String: String])
    case userUnknown
    case internalFailure
}

/// A user database: where a found user's mail lives and as whom it is accessed.
public protocol UserDBDriver: Sendable {
    func lookup(_ request: AuthLookupRequest) async -> UserDBResult
}

/// `result_success` / `result_failure` / `result_internalfail` values (Dovecot `enum auth_db_rule`).
public enum AuthDBRule: String, Sendable, Equatable, CaseIterable {
    case returnAsIs = "return"
    case returnOK = "return-ok"
    case returnFail = "return-fail"
    case `continue` = "continue"
    case continueOK = "continue-ok"
    case continueFail = "continue-fail"
}

/// A passdb's `skip`: never, or once the password is (or is not yet) verified by an earlier passdb.
public enum PassDBSkip: String, Sendable, Equatable {
    case never, authenticated, unauthenticated
}

/// A userdb's `skip`: never, or once an earlier userdb found (or did not find) the user.
public enum UserDBSkip: String, Sendable, Equatable {
    case never, found, notfound
}

/// Makes drivers from their specs. The built-in drivers are passwd-file (passdb and userdb), static and prefetch
/// (userdbs);
/// other modules (LDAP, SQL) add theirs under their driver name before the service starts.
public struct AuthDriverRegistry: Sendable {
    public typealias PassDBFactory = @Sendable (PassDBSpec, AuthDriverContext) throws -> any PassDBDriver
    public typealias UserDBFactory = @Sendable (UserDBSpec, AuthDriverContext) throws -> any UserDBDriver

    public var passdbs: [String: PassDBFactory] = [:]
    public var userdbs: [String: UserDBFactory] = [:]

    public init() {}

    public static var builtIn: AuthDriverRegistry {
        var registry = AuthDriverRegistry()
        registry.passdbs["passwd-file"] = { spec, context in
            PasswdFileDB(path: spec.path, driverName: spec.driver, context: context)
        }
        registry.userdbs["passwd-file"] = { spec, context in
            PasswdFileDB(path: spec.path, driverName: spec.driver, context: context)
        }
        registry.userdbs["static"] = { spec, context in
            try StaticUserDB(spec: spec, context: context)
        }
        registry.userdbs["prefetch"] = { _, _ in PrefetchUserDB() }
        return registry
    }
}

/// What the engine lends its drivers: the hashing pool for blocking work and the log.
public struct AuthDriverContext: Sendable {
    public let pool: PasswordHashingPool
    public let log: any LogSink
    /// `auth_debug`: drivers may log lookups at Debug (never a password, hash or bind credential).
    public let debug: Bool
    let files: PasswdFileCache

    /// For drivers' own tests; the engine makes the context its drivers get.
    public init(pool: PasswordHashingPool, log: any LogSink, debug: Bool = false) {
        self.init(pool: pool, log: log, debug: debug, files: PasswdFileCache())
    }

    init(pool: PasswordHashingPool, log: any LogSink, debug: Bool, files: PasswdFileCache) {
        self.pool = pool
        self.log = log
        self.debug = debug
        self.files = files
    }
}

extension AuthDriverContext {
    /// Logs a driver's error in Dovecot's `driver(user,ip,<session>): message` form (never a password or hash).
    public func error(_ driver: String, _ request: AuthLookupRequest, _ message: String) {
        log.error(AuthLogFormat.category, "\(Self.prefix(driver, request)): \(message)")
    }

    /// Logs at Debug when `auth_debug` is set.
    public func debug(_ driver: String, _ request: AuthLookupRequest, _ message: String) {
        guard debug else { return }
        log.debug(AuthLogFormat.category, "\(Self.prefix(driver, request)): \(message)")
    }

    static func prefix(_ driver: String, _ request: AuthLookupRequest) -> String {
        AuthLogFormat.prefix(
            driver: driver, user: request.user, remoteIP: request.remoteIP, sessionID: request.sessionID)
    }
}
