public import AerieCore

/// Dovecot-style authentication: the passdb chain (deny passdbs first, master passdbs for `user*master`, then
/// passdbs in order under their `result_*` and `skip` rules), then the userdb chain, then the uid/gid policy.
/// Drivers plug in through `AuthDriverRegistry`. Every failure is logged at once, at Info, in Dovecot's words.
public final class AuthService: Authenticator {
    let configuration: AuthServiceConfiguration
    let log: any LogSink
    let pool: PasswordHashingPool
    let files: PasswdFileCache
    /// Per-IP penalties and bans; kept as long as this service (the auth process) lives.
    public let penalty: AuthPenalty
    /// What an unknown user's password is verified against, so it costs what a wrong password costs.
    let dummy: (stored: String, scheme: String)
    let clock: AuthClock
    let passdbs: [ConfiguredPassDB]
    let userdbs: [ConfiguredUserDB]
    /// nil when `auth_cache_size` is 0.
    let cache: AuthCache?
    let usernames: AuthUsernames
    /// SCRAM exchanges waiting for the client's proof (AuthService+SASL.swift).
    let saslExchanges = SASLExchangeTable()
    /// TOTP enrolments and app passwords (AuthService+SecondFactor.swift).
    let secondFactorStore = SecondFactorStoreHolder()
    /// Who writes a rehashed password when this process may not (the auth supervisor); nil: nobody.
    let rehashDelegate: PasswdFileRehash.Delegate?
    let rehashLog = RehashLog()
    /// Checks OAUTHBEARER / XOAUTH2 tokens (AuthService+OAuth2.swift); nil when neither is offered.
    let oauth2: OAuth2TokenVerifier?

    public convenience init(
        configuration: AuthServiceConfiguration, log: any LogSink, pool: PasswordHashingPool,
        registry: AuthDriverRegistry = .builtIn, rehashDelegate: PasswdFileRehash.Delegate? = nil
    ) throws {
        try self.init(
            configuration: configuration, log: log, pool: pool, files: nil, registry: registry,
            rehashDelegate: rehashDelegate)
    }

    /// `files` lets tests drive the reload clock; `clock` the failure delays and the cache's TTLs.
    init(
        configuration: AuthServiceConfiguration, log: any LogSink, pool: PasswordHashingPool, files: PasswdFileCache?,
        clock: AuthClock = AuthClock(), registry: AuthDriverRegistry = .builtIn,
        rehashDelegate: PasswdFileRehash.Delegate? = nil
    ) throws {
        try Self.validate(configuration, registry: registry)
        self.rehashDelegate = rehashDelegate
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
        let context = AuthDriverContext(pool: pool, log: log, debug: configuration.debug, files: files)
        var passdbs: [ConfiguredPassDB] = []
        for (index, spec) in configuration.passdbs.enumerated() {
            guard let factory = registry.passdbs[spec.driver] else {
                throw AuthServiceError.unsupportedDriver(spec.driver)
            }
            passdbs.append(ConfiguredPassDB(index: index, spec: spec, driver: try factory(spec, context)))
        }
        var userdbs: [ConfiguredUserDB] = []
        for (index, spec) in configuration.userdbs.enumerated() {
            guard let factory = registry.userdbs[spec.driver] else {
                throw AuthServiceError.unsupportedDriver(spec.driver)
            }
            userdbs.append(ConfiguredUserDB(index: index, spec: spec, driver: try factory(spec, context)))
        }
        self.passdbs = passdbs
        self.userdbs = userdbs
        self.cache =
            configuration.cacheSize > 0
            ? AuthCache(
                maximumBytes: configuration.cacheSize, ttl: configuration.cacheTTL,
                negativeTTL: configuration.cacheNegativeTTL, now: clock.now)
            : nil
        self.usernames = AuthUsernames(configuration)
        self.oauth2 = try configuration.oauth2.map { try OAuth2TokenVerifier(settings: $0) }
    }

    /// The first plain passwd-file passdb's sample hash (same scheme and cost as its users'), else a fresh
    /// SHA512-CRYPT one (what `aerie pw` makes by default).
    static func dummyHash(_ configuration: AuthServiceConfiguration, _ files: PasswdFileCache) -> (String, String) {
        for passdb in configuration.passdbs
        where !passdb.deny && passdb.driver == "passwd-file" && !passdb.path.contains("%") {
            if let stored = files.samplePassword(path: passdb.path) { return (stored, passdb.defaultScheme) }
        }
        let random = String((0..<24).map { _ in "abcdefghijklmnopqrstuvwxyz0123456789".randomElement()! })
        return ((try? PasswordSchemes.hash(password: random, scheme: "SHA512-CRYPT")) ?? "", "CRYPT")
    }

    /// Verifies the password against the dummy hash and drops the answer: no user here, same cost.
    func spendDummyVerification(_ password: String) async {
        let dummy = self.dummy, allowWeak = configuration.allowWeakSchemes
        _ = await pool.run {
            PasswordSchemes.verify(
                password: password, stored: dummy.stored, defaultScheme: dummy.scheme, allowWeakSchemes: allowWeak)
        }
    }

    /// What the service refuses at start (drivers, templates, no passdb); `aerie conf check` runs it too.
    public static func validate(_ configuration: AuthServiceConfiguration, registry: AuthDriverRegistry = .builtIn)
        throws
    {
        guard configuration.passdbs.contains(where: { !$0.deny && !$0.master }) else {
            throw AuthServiceError.noPassdb
        }
        for driver in configuration.passdbs.map(\.driver) where registry.passdbs[driver] == nil {
            throw AuthServiceError.unsupportedDriver(driver)
        }
        for driver in configuration.userdbs.map(\.driver) where registry.userdbs[driver] == nil {
            throw AuthServiceError.unsupportedDriver(driver)
        }
        // Catch template typos at start instead of at the first login.
        let probe = AuthFields.variables(AuthLookupRequest(user: "probe@example.com", service: "imap"), passdb: [:])
        var templates =
            [configuration.usernameFormat] + configuration.passdbs.map(\.path) + configuration.userdbs.map(\.path)
        for spec in configuration.passdbs {
            templates += Array(spec.defaultFields.values) + Array(spec.overrideFields.values)
        }
        for spec in configuration.userdbs {
            templates += Array(spec.defaultFields.values) + Array(spec.overrideFields.values)
        }
        for template in templates where template.contains("%") {
            do { _ = try UserVariables.expand(template, user: "probe@example.com", variables: probe) } catch {
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
        let pending = PendingRehashes()
        let (result, nodelay) = await PendingRehashes.$current.withValue(pending) { await runChain(request) }
        switch result {
        case .success(let user):
            penalty.succeeded(ip: request.remoteIP, user: user.user, now: clock.now())
            await runRehashes(pending, request)
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
            if !nodelay { await clock.sleep(Self.remainingDelay(start: start, now: clock.now(), delay: failureDelay)) }
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
        case "penalty" where arguments.count == 2 && arguments[1] == "stats":
            return (true, penalty.stats.joined(separator: "\n"))
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
            return (false, "usage: penalty list | penalty stats | penalty lift IP|USER | ban IP [SECONDS]")
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

    /// The name a login counts as for penalties and logs before the chain runs.
    func formatUser(_ user: String) -> String { usernames.penaltyName(user) }

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
