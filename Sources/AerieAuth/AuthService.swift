public import AerieCore

/// Dovecot-style authentication over passwd-file passdbs and userdbs: deny passdbs first, then passdbs in order,
/// then the userdb, then the uid/gid policy. Every failure is logged at once, at Info, in Dovecot 2.3's words.
public final class AuthService: Authenticator {
    private let configuration: AuthServiceConfiguration
    let log: any LogSink
    private let pool: PasswordHashingPool
    private let files: PasswdFileCache
    /// Per-IP penalties and bans; kept as long as this service (the auth process) lives.
    public let penalty: AuthPenalty
    /// What an unknown user's password is verified against, so it costs what a wrong password costs.
    private let dummy: (stored: String, scheme: String)
    private let clock: AuthClock

    public convenience init(configuration: AuthServiceConfiguration, log: any LogSink, pool: PasswordHashingPool) throws {
        try self.init(configuration: configuration, log: log, pool: pool, files: nil)
    }

    /// `files` lets tests drive the reload clock; `clock` the failure delays.
    init(
        configuration: AuthServiceConfiguration, log: any LogSink, pool: PasswordHashingPool, files: PasswdFileCache?,
        clock: AuthClock = AuthClock()
    ) throws {
        try Self.validate(configuration)
        self.configuration = configuration
        self.log = log
        self.pool = pool
        self.clock = clock
        self.penalty = AuthPenalty(settings: configuration.penalty)
        let files =
            files
            ?? PasswdFileCache(onProblems: { path, problems in
                for problem in problems {
                    log.warning(AuthLogFormat.category, "passwd-file \(path): line \(problem.line): \(problem.reason)")
                }
            })
        self.files = files
        self.dummy = Self.dummyHash(configuration, files)
    }

    /// The first plain passdb's sample hash (same scheme and cost as its users'), else a fresh SHA512-CRYPT one
    /// (what `aerie pw` makes by default).
    static func dummyHash(_ configuration: AuthServiceConfiguration, _ files: PasswdFileCache) -> (String, String) {
        for passdb in configuration.passdbs where !passdb.deny && !passdb.path.contains("%") && passdb.ldap == nil {
            if let stored = files.samplePassword(path: passdb.path) { return (stored, passdb.defaultScheme) }
        }
        let random = String((0..<24).map { _ in "abcdefghijklmnopqrstuvwxyz0123456789".randomElement()! })
        return ((try? PasswordSchemes.hash(password: random, scheme: "SHA512-CRYPT")) ?? "", "CRYPT")
    }

    /// Verifies the password against the dummy hash and drops the answer: no user here, same cost.
    private func spendDummyVerification(_ request: AuthRequest) {
        _ = PasswordSchemes.verify(
            password: request.password, stored: dummy.stored, defaultScheme: dummy.scheme,
            allowWeakSchemes: configuration.allowWeakSchemes)
    }

    /// What the service refuses at start (drivers, templates, no passdb); `aerie conf check` runs it too.
    public static func validate(_ configuration: AuthServiceConfiguration) throws {
        guard configuration.passdbs.contains(where: { !$0.deny }) else { throw AuthServiceError.noPassdb }
        let drivers =
            configuration.passdbs.map { ($0.driver, $0.ldap != nil) }
            + configuration.userdbs.map { ($0.driver, $0.ldap != nil) }
        for (driver, hasLDAP) in drivers where !(driver == "passwd-file" || (driver == "ldap" && hasLDAP)) {
            throw AuthServiceError.unsupportedDriver(driver)
        }
        // Catch template typos at start instead of at the first login.
        let templates = [configuration.usernameFormat] + configuration.passdbs.map(\.path) + configuration.userdbs.map(\.path)
        for template in templates where template.contains("%") {
            do { _ = try UserVariables.expand(template, user: "probe@example.com") } catch {
                throw AuthServiceError.invalidTemplate(template)
            }
        }
    }

    /// A failure is answered `auth_failure_delay` (doubled per recent failure from the IP) after the request
    /// arrived, however long the verification took, so the answer's timing tells nothing about the user.
    public func authenticate(_ request: AuthRequest) async -> AuthResult {
        let start = clock.now()
        let base = configuration.failureDelays[request.service] ?? configuration.penalty.failureDelay
        let failureDelay: Duration
        switch penalty.admit(ip: request.remoteIP, user: formatUser(request.user), now: start, failureDelay: base) {
        case .banned(let delay):
            debug("penalty", formatUser(request.user), request, "refused: IP is banned")
            await clock.sleep(Self.remainingDelay(start: start, now: clock.now(), delay: delay))
            return .failure(.denied)
        case .proceed(let wait, let delay):
            failureDelay = delay
            // Dovecot's order: the penalty delays the verification itself, so abandoning the wait gains nothing.
            if wait > .zero { await clock.sleep(wait) }
        }
        guard let result = await pool.run({ self.authenticateBlocking(request) }) else {
            log.warning(AuthLogFormat.category, "\(prefix("auth", request.user, request)): Password hashing queue full, temporary failure")
            return .failure(.temporaryFailure)
        }
        switch result {
        case .success(let user):
            penalty.succeeded(ip: request.remoteIP, user: user.user, now: clock.now())
        case .failure(.temporaryFailure):
            break
        case .failure(let failure):
            if Self.counts(failure),
                let ban = penalty.failed(
                    ip: request.remoteIP, user: formatUser(request.user), password: request.password, now: clock.now())
            {
                // One line per ban, at Info in the stock fail2ban `dovecot` filter's "Invalid credentials" form.
                log.info(
                    AuthLogFormat.category,
                    "\(prefix("penalty", formatUser(request.user), request)): Invalid credentials: banning "
                        + "\(ban.network) for \(AuthPenalty.seconds(ban.duration)) secs (\(ban.reason))")
            }
            await clock.sleep(Self.remainingDelay(start: start, now: clock.now(), delay: failureDelay))
        }
        return result
    }

    /// `penalty list`, `penalty lift IP|USER`, `ban IP [SECONDS]`: (succeeded, text to print). Every change is
    /// logged.
    public func admin(_ arguments: [String]) -> (Bool, String) {
        let now = clock.now()
        switch arguments.first {
        case "penalty" where arguments.count == 2 && arguments[1] == "list":
            return (true, penalty.list(now: now).joined(separator: "\n"))
        case "penalty" where arguments.count == 3 && arguments[1] == "lift":
            let target = arguments[2]
            guard penalty.lift(target) else { return (false, "no penalty for \(target)") }
            log.info(AuthLogFormat.category, "penalty: lifted for \(AuthLogFormat.sanitize(target)) by aerie adm")
            return (true, "lifted: \(target)")
        case "ban" where arguments.count == 2 || arguments.count == 3:
            let seconds =
                arguments.count == 3 ? Int64(arguments[2]) : AuthPenalty.seconds(configuration.penalty.banTime)
            guard let seconds, seconds > 0 else { return (false, "invalid duration") }
            guard let ban = penalty.ban(ip: arguments[1], duration: .seconds(seconds), now: now) else {
                return (false, "not an IP outside login_trusted_networks: \(arguments[1])")
            }
            log.info(
                AuthLogFormat.category,
                "penalty(-,\(AuthLogFormat.sanitize(arguments[1]))): Invalid credentials: banning \(ban.network) for "
                    + "\(seconds) secs (\(ban.reason))")
            return (true, "banned: \(ban.network) for \(seconds) secs")
        default:
            return (false, "usage: penalty list | penalty lift IP|USER | ban IP [SECONDS]")
        }
    }

    /// Failures a guesser causes; the others follow a correct password (configuration problems).
    static func counts(_ failure: AuthFailure) -> Bool {
        switch failure {
        case .passwordMismatch, .unknownUser, .denied: true
        case .uidNotPermitted, .gidNotPermitted, .schemeNotAllowed, .temporaryFailure: false
        }
    }

    /// How much longer to wait so the answer comes `delay` after `start`.
    static func remainingDelay(start: ContinuousClock.Instant, now: ContinuousClock.Instant, delay: Duration)
        -> Duration
    {
        max(.zero, start + delay - now)
    }

    /// Userdb lookup without a password (LMTP delivery, `aerie adm user`); nil when unknown or not permitted.
    public func lookupUser(_ user: String) async -> AuthenticatedUser? {
        guard case .success(let found) = await lookup(user) else { return nil }
        return found
    }

    /// Userdb lookup without a password; `.temporaryFailure` when a file could not be read or the pool is full,
    /// so LMTP answers 451 (retry later) rather than 550 (no such user).
    public func lookup(_ user: String) async -> AuthResult {
        let request = AuthRequest(user: user, password: "", service: "lookup")
        let result = await pool.run { () -> AuthResult in
            let name = self.formatUser(user)
            return self.userdbStage(name: name, passdbEntry: nil, request: request)
        }
        return result ?? .failure(.temporaryFailure)
    }

    // MARK: - Stages (run on a pool thread)

    private enum Lookup {
        case found(PasswdFileEntry)
        case notFound
        case failure
    }

    func authenticateBlocking(_ request: AuthRequest) -> AuthResult {
        let name = formatUser(request.user)
        let allowWeak = configuration.allowWeakSchemes

        let passdbs = configuration.passdbs.filter { $0.protocols.isEmpty || $0.protocols.contains(request.service) }
        for passdb in passdbs where passdb.deny {
            switch lookup(name, path: passdb.path, driver: passdb.driver, request: request, ldap: passdb.ldap) {
            case .found:
                spendDummyVerification(request)
                fail(passdb.driver, name, request, "User found from deny passdb")
                return .failure(.denied)
            case .failure: return .failure(.temporaryFailure)  // fail closed: an unreadable deny list denies nobody's way in
            case .notFound: continue
            }
        }

        var sawMismatch = false, sawWeak = false, sawTemporary = false
        var lastDriver = "passwd-file"
        for passdb in passdbs where !passdb.deny {
            lastDriver = passdb.driver
            if let ldap = passdb.ldap, ldap.settings.bind {
                switch ldapBind(ldap, name, request) {
                case .verified(let entry):
                    if let refused = loginRefusal(entry, passdb.driver, name, request) { return .failure(refused) }
                    return userdbStage(name: name, passdbEntry: entry, request: request)
                case .mismatch: sawMismatch = true
                case .failure: sawTemporary = true
                case .notFound: break
                }
                continue
            }
            let found = lookup(name, path: passdb.path, driver: passdb.driver, request: request, ldap: passdb.ldap)
            if case .failure = found, passdb.ldap != nil { sawTemporary = true }
            guard case .found(let entry) = found else { continue }
            if entry.password.isEmpty { spendDummyVerification(request) }
            let check: PasswordCheck =
                entry.password.isEmpty
                ? .mismatch
                : PasswordSchemes.verify(
                    password: request.password, stored: entry.password, defaultScheme: passdb.defaultScheme,
                    allowWeakSchemes: allowWeak)
            switch check {
            case .match:
                debug(passdb.driver, name, request, "Password verified")
                if let refused = loginRefusal(entry, passdb.driver, name, request) { return .failure(refused) }
                return userdbStage(name: name, passdbEntry: entry, request: request)
            case .mismatch:
                sawMismatch = true
                fail(passdb.driver, name, request, "Password mismatch")
            case .weakSchemeRefused(let scheme):
                sawWeak = true
                fail(passdb.driver, name, request, "Weak password scheme '\(scheme)' used and refused", level: .error)
            case .unknownScheme(let scheme):
                sawTemporary = true
                fail(passdb.driver, name, request, "Unknown password scheme \(AuthLogFormat.sanitize(scheme))", level: .error)
            case .malformed:
                sawTemporary = true
                fail(passdb.driver, name, request, "Invalid password field in passdb", level: .error)
            }
        }
        if sawMismatch { return .failure(.passwordMismatch) }
        if sawWeak { return .failure(.schemeNotAllowed) }
        if sawTemporary { return .failure(.temporaryFailure) }
        // A failed file read was already logged as an error; the user is not known to be unknown.
        if lookupFailures(name, request) { return .failure(.temporaryFailure) }
        spendDummyVerification(request)
        fail(lastDriver, name, request, "unknown user")
        return .failure(.unknownUser)
    }

    /// Whether any passdb file failed for this user (re-checked from the cache, no extra I/O within a second).
    private func lookupFailures(_ name: String, _ request: AuthRequest) -> Bool {
        configuration.passdbs.contains { passdb in
            guard passdb.protocols.isEmpty || passdb.protocols.contains(request.service) else { return false }
            guard passdb.ldap == nil else { return false }  // already counted in the passdb loop
            if case .failure = lookup(name, path: passdb.path, driver: passdb.driver, request: request, quiet: true) {
                return true
            }
            return false
        }
    }

    func userdbStage(name: String, passdbEntry: PasswdFileEntry?, request: AuthRequest) -> AuthResult {
        var userdbEntry: PasswdFileEntry?
        var driver = "passwd-file"
        if configuration.userdbs.isEmpty {
            userdbEntry = passdbEntry
            if userdbEntry == nil {
                // No userdb configured: passwd-file passdbs double as userdb (prefetch-like).
                for passdb in configuration.passdbs where !passdb.deny && Self.serves(passdb.protocols, request) {
                    let found = lookup(
                        name, path: passdb.path, driver: passdb.driver, request: request, ldap: passdb.ldap)
                    if case .found(let entry) = found {
                        userdbEntry = entry
                        break
                    }
                    // A directory or file that could not answer: "try later", not "no such user" (LMTP 451).
                    if case .failure = found { return .failure(.temporaryFailure) }
                }
            }
        } else {
            for userdb in configuration.userdbs where Self.serves(userdb.protocols, request) {
                driver = userdb.driver
                switch lookup(name, path: userdb.path, driver: userdb.driver, request: request, ldap: userdb.ldap) {
                case .found(let entry): userdbEntry = entry
                case .failure: return .failure(.temporaryFailure)
                case .notFound: continue
                }
                break
            }
        }
        guard let userdbEntry else {
            // For a delivery lookup an unknown recipient is routine (Dovecot logs it at Info); after a correct
            // password it means the databases disagree, which the admin must see.
            fail(driver, name, request, "user not found from userdb", level: request.service == "lookup" ? .info : .error)
            return .failure(.unknownUser)
        }

        var fields: [String: String] = [:]
        for (key, value) in userdbEntry.extraFields { fields[Self.stripUserdbPrefix(key)] = value }
        // Passdb `userdb_*` fields override the userdb (Dovecot prefetch semantics).
        for (key, value) in passdbEntry?.extraFields ?? [:] where key.hasPrefix("userdb_") {
            fields[Self.stripUserdbPrefix(key)] = value
        }
        let uidText = fields.removeValue(forKey: "uid"), gidText = fields.removeValue(forKey: "gid")
        let home = fields.removeValue(forKey: "home") ?? userdbEntry.home
        let uid = uidText.flatMap(UInt32.init) ?? userdbEntry.uid ?? configuration.defaultUID
        let gid = gidText.flatMap(UInt32.init) ?? userdbEntry.gid ?? configuration.defaultGID

        guard let uid else {
            fail(driver, name, request, "User is missing UID (see mail_uid setting)")
            return .failure(.uidNotPermitted)
        }
        if uid == 0 || uid < configuration.firstValidUID {
            fail(driver, name, request, "Mail access for users with UID \(uid) not permitted (see first_valid_uid in config file)")
            return .failure(.uidNotPermitted)
        }
        if configuration.lastValidUID != 0 && uid > configuration.lastValidUID {
            fail(driver, name, request, "Mail access for users with UID \(uid) not permitted (see last_valid_uid in config file)")
            return .failure(.uidNotPermitted)
        }
        guard let gid else {
            fail(driver, name, request, "User is missing GID (see mail_gid setting)")
            return .failure(.gidNotPermitted)
        }
        if gid < configuration.firstValidGID {
            fail(driver, name, request, "Mail access for users with GID \(gid) not permitted (see first_valid_gid in config file)")
            return .failure(.gidNotPermitted)
        }
        if configuration.lastValidGID != 0 && gid > configuration.lastValidGID {
            fail(driver, name, request, "Mail access for users with GID \(gid) not permitted (see last_valid_gid in config file)")
            return .failure(.gidNotPermitted)
        }
        if configuration.verbose || configuration.debug {
            log.debug(AuthLogFormat.category, "\(prefix(driver, name, request)): Authenticated (uid=\(uid) gid=\(gid))")
        }
        return .success(AuthenticatedUser(user: name, uid: uid, gid: gid, home: home, extraFields: fields))
    }

    // MARK: - Helpers

    /// Whether a passdb/userdb of `protocol NAME { }` serves this request; delivery lookups are LMTP's.
    private static func serves(_ protocols: [String], _ request: AuthRequest) -> Bool {
        protocols.isEmpty || protocols.contains(request.service == "lookup" ? "lmtp" : request.service)
    }

    /// passwd-file extra fields that refuse a correct password: `allow_nets` (fails like a wrong password, as in
    /// Dovecot) and `nologin` (with `reason` for the log).
    func loginRefusal(_ entry: PasswdFileEntry, _ driver: String, _ name: String, _ request: AuthRequest)
        -> AuthFailure?
    {
        if let nets = entry.extraFields["allow_nets"] {
            let allowed = CIDRList(nets)
            if !allowed.invalid.isEmpty {
                log.error(AuthLogFormat.category, "\(prefix(driver, name, request)): allow_nets: invalid network "
                    + allowed.invalid.map(AuthLogFormat.sanitize).joined(separator: ", "))
            }
            if !allowed.contains(request.remoteIP) {
                fail(driver, name, request, "allow_nets check failed: IP \(AuthLogFormat.sanitize(request.remoteIP)) "
                    + "not in allowed networks")
                return .passwordMismatch
            }
        }
        if entry.extraFields["nologin"] != nil {
            let reason = entry.extraFields["reason"].map { " (\(AuthLogFormat.sanitize($0)))" } ?? ""
            fail(driver, name, request, "Login disabled by nologin\(reason)")
            return .denied
        }
        return nil
    }

    private static func stripUserdbPrefix(_ key: String) -> String {
        key.hasPrefix("userdb_") ? String(key.dropFirst("userdb_".count)) : key
    }

    /// Applies `usernameFormat`; an unexpandable name is kept as given (the template was validated at start).
    func formatUser(_ user: String) -> String {
        guard !configuration.usernameFormat.isEmpty else { return user }
        return (try? UserVariables.expand(configuration.usernameFormat, user: user)) ?? user
    }

    private func lookup(
        _ name: String, path template: String, driver: String, request: AuthRequest, quiet: Bool = false,
        ldap: LDAPDatabase? = nil
    ) -> Lookup {
        if let ldap {
            guard let entry = ldapLookup(ldap, name, request, quiet: quiet) else { return .failure }
            return entry.map(Lookup.found) ?? .notFound
        }
        let path: String
        do { path = try UserVariables.expandPath(template, user: name) } catch {
            // A name that would escape the directory is simply unknown: it never reaches the filesystem.
            if !quiet { debug(driver, name, request, "user name not usable in passwd-file path") }
            return .notFound
        }
        switch files.lookup(user: name, path: path, missingIsUnknown: template.contains("%")) {
        case .found(let entry):
            if !quiet { debug(driver, name, request, "lookup: found in \(path)") }
            return .found(entry)
        case .notFound:
            if !quiet { debug(driver, name, request, "lookup: not found in \(path)") }
            return .notFound
        case .failure(let message):
            if !quiet { log.error(AuthLogFormat.category, "\(prefix(driver, name, request)): \(message)") }
            return .failure
        }
    }

    func prefix(_ driver: String, _ name: String, _ request: AuthRequest) -> String {
        AuthLogFormat.prefix(driver: driver, user: name, remoteIP: request.remoteIP, sessionID: request.sessionID)
    }

    /// Failures are always logged (secure default, fail2ban needs them), whatever `verbose` says.
    func fail(_ driver: String, _ name: String, _ request: AuthRequest, _ message: String, level: LogLevel = .info) {
        log.log(level, category: AuthLogFormat.category, "\(prefix(driver, name, request)): \(message)")
    }

    func debug(_ driver: String, _ name: String, _ request: AuthRequest, _ message: String) {
        guard configuration.debug else { return }
        log.debug(AuthLogFormat.category, "\(prefix(driver, name, request)): \(message)")
    }
}
