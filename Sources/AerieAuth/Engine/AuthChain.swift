import AerieCore
import SASL

struct ConfiguredPassDB: Sendable {
    let index: Int
    let spec: PassDBSpec
    let driver: any PassDBDriver
}

struct ConfiguredUserDB: Sendable {
    let index: Int
    let spec: UserDBSpec
    let driver: any UserDBDriver
}

/// Where one login stands in the passdb chain (Dovecot's `passdb_success`, `skip_password_check`, …).
struct ChainState: Sendable {
    var user: String
    var passdbSuccess = false
    /// A passdb verified the password and a `continue*` rule went on: later passdbs only look the user up.
    var passwordVerified = false
    var seenInternalFailure = false
    var sawMismatch = false
    var sawWeakScheme = false
    /// Some passdb knew the user (else an unknown user's dummy verification is due).
    var found = false
    /// Extra fields of the passdbs that succeeded, later ones over earlier ones.
    var fields: [String: String] = [:]
    var succeeded: ConfiguredPassDB?
    var nodelay = false
    /// Whether allow_nets and nologin refuse: a login's checks, not a delivery's or an admin's lookup.
    var checksLoginFields = true
    /// The user whose TOTP code this login spent (a later passdb verifying the password again must not respend it).
    var totpVerified: String?
    /// A SCRAM credentials lookup: keeps the stored password found, and leaves "unknown user" to be logged when
    /// the client's proof arrives.
    var credentialsLookup = false
    var credentials: StoredCredentials?
}

/// A stored password a passdb returned for a credentials lookup (SCRAM), with what it needs to be read.
struct StoredCredentials: Sendable {
    var stored: String
    var defaultScheme: String
    var driver: String
    /// The name the passdb found it under (before any `user` field rename).
    var user: String
}

/// What one passdb step ends in, before the `result_*` rules.
enum PassDBStep: Sendable {
    case result(PassDBResult)
    /// The stored hash uses a scheme refused by `auth_allow_weak_schemes = no`: fails like a mismatch.
    case weakScheme
    /// `nologin` (or a deny passdb): the login fails whatever the rules say.
    case disabled
}

extension AuthService {
    /// `protocol NAME { passdb … }` passdbs first, then the global ones (Dovecot 2.4's order). Deliveries
    /// (`lookup`) are LMTP's.
    func passdbs(serving service: String) -> [ConfiguredPassDB] {
        let name = service == "lookup" ? "lmtp" : service
        return passdbs.filter { $0.spec.protocols.contains(name) } + passdbs.filter { $0.spec.protocols.isEmpty }
    }

    func userdbs(serving service: String) -> [ConfiguredUserDB] {
        let name = service == "lookup" ? "lmtp" : service
        return userdbs.filter { $0.spec.protocols.contains(name) } + userdbs.filter { $0.spec.protocols.isEmpty }
    }

    func lookupRequest(_ user: String, _ request: AuthRequest) -> AuthLookupRequest {
        AuthLookupRequest(
            user: user, service: request.service == "lookup" ? "lmtp" : request.service, remoteIP: request.remoteIP,
            localIP: request.localIP, sessionID: request.sessionID)
    }

    /// The whole login: names, deny passdbs, master passdbs, passdbs, userdbs. `nodelay` is true when a passdb
    /// asked for no failure delay and the client is in `login_trusted_networks`.
    func runChain(_ request: AuthRequest) async -> (result: AuthResult, nodelay: Bool) {
        let parsed: AuthUsernames.Parsed
        do { parsed = try usernames.parse(request.user) } catch {
            guard case .invalid(let message) = error else { return (.failure(.unknownUser), false) }
            fail("auth", formatUser(request.user), request, message)
            await spendDummyVerification(request.password)
            return (.failure(.unknownUser), false)
        }
        let chain = passdbs(serving: request.service)
        switch await denyPassdbs(chain, [parsed.user] + (parsed.master.map { [$0] } ?? []), request) {
        case nil: break
        case .denied?:
            await spendDummyVerification(request.password)
            return (.failure(.denied), false)
        case let failure?:
            return (.failure(failure), false)
        }
        var state = ChainState(user: parsed.master ?? parsed.user)
        let ordinary = chain.filter { !$0.spec.deny && !$0.spec.master }
        if request.mechanism == SASLMechanism.external.rawValue {
            // RFC 4422 Appendix A: the certificate is the credential; the passdbs only look the user up (allow_nets,
            // nologin, result rules still apply), as Dovecot's `nopassword`.
            guard request.certificateVerified, parsed.master == nil else {
                fail("auth", parsed.user, request, "EXTERNAL without a verified client certificate")
                return (.failure(.unknownUser), false)
            }
            if let failure = await runPassdbs(ordinary, &state, request, password: nil) {
                return (.failure(failure), false)
            }
        } else if let master = parsed.master {
            let masters = chain.filter { $0.spec.master && !$0.spec.deny }
            guard !masters.isEmpty else {
                await spendDummyVerification(request.password)
                fail("auth", master, request, "Master user login attempted without a master passdb")
                return (.failure(.unknownUser), false)
            }
            if let failure = await runPassdbs(masters, &state, request, password: request.password) {
                return (.failure(failure), false)
            }
            let pass = state.succeeded?.spec.pass ?? false
            log.info(
                AuthLogFormat.category,
                "\(prefix(state.succeeded?.spec.driver ?? "auth", master, request)): Master user "
                    + "\(AuthLogFormat.sanitize(master)) logging in as \(AuthLogFormat.sanitize(parsed.user))")
            // The target account is looked up as itself; the master's own fields do not follow it.
            state = ChainState(user: parsed.user, passwordVerified: true, found: true)
            if pass, let failure = await runPassdbs(ordinary, &state, request, password: nil) {
                return (.failure(failure), false)
            }
            state.passdbSuccess = true
        } else if let failure = await runPassdbs(ordinary, &state, request, password: request.password) {
            return (.failure(failure), state.nodelay && nodelayAllowed(request))
        }
        return (await runUserdbs(state, request), false)
    }

    /// Deny passdbs: `.denied` when one knows any of `names`, `.temporaryFailure` when one cannot answer (fail
    /// closed: a deny list we cannot read lets nobody in); nil when none knows them.
    func denyPassdbs(_ chain: [ConfiguredPassDB], _ names: [String], _ request: AuthRequest) async -> AuthFailure? {
        for name in names {
            for db in chain where db.spec.deny {
                switch await cachedLookup(db, lookupRequest(name, request)) {
                case .ok:
                    fail(db.spec.driver, name, request, "User found from deny passdb")
                    return .denied
                case .internalFailure:
                    return .temporaryFailure
                case .userUnknown, .passwordMismatch, .next:
                    continue
                }
            }
        }
        return nil
    }

    /// `nodelay` is honoured only for clients in `login_trusted_networks`; elsewhere it would let guessing run at
    /// full speed.
    func nodelayAllowed(_ request: AuthRequest) -> Bool {
        let trusted = CIDRList(configuration.penalty.trustedNetworks)
        if trusted.contains(request.remoteIP) { return true }
        log.warning(
            AuthLogFormat.category,
            "\(prefix("auth", formatUser(request.user), request)): nodelay field ignored: "
                + "\(AuthLogFormat.sanitize(request.remoteIP)) is not in login_trusted_networks")
        return false
    }

    /// Runs `list` under the `skip` and `result_*` rules (Dovecot auth-request.c); nil when the passdbs accept the
    /// login. `password` nil: look the user up only (master `pass = yes`, deliveries).
    func runPassdbs(
        _ list: [ConfiguredPassDB], _ state: inout ChainState, _ request: AuthRequest, password: String?
    )
        async -> AuthFailure?
    {
        guard !list.isEmpty else {
            // No passdb serves this protocol: nobody is known here.
            if let password { await spendDummyVerification(password) }
            fail("auth", state.user, request, "unknown user (no passdb for \(AuthLogFormat.sanitize(request.service)))")
            return .unknownUser
        }
        var last: PassDBResult = .userUnknown
        var lastDriver = list.last?.spec.driver ?? "auth"
        var ran = false
        for db in list {
            if let why = filteredOut(db, state.user, request) {
                debug(db.spec.driver, state.user, request, "skipping passdb: \(why) filtered")
                continue
            }
            switch db.spec.skip {
            case .never: break
            case .authenticated where state.passwordVerified, .unauthenticated where !state.passwordVerified:
                debug(db.spec.driver, state.user, request, "skipping passdb: skip = \(db.spec.skip.rawValue)")
                continue
            case .authenticated, .unauthenticated: break
            }
            ran = true
            lastDriver = db.spec.driver
            let step = await passdbStep(db, &state, request, password: state.passwordVerified ? nil : password)
            let result: PassDBResult
            switch step {
            case .disabled: return .denied
            case .weakScheme:
                state.sawWeakScheme = true
                result = .passwordMismatch
            case .result(let found):
                if found == .passwordMismatch { state.sawMismatch = true }
                result = found
            }
            last = result
            let rule: AuthDBRule
            switch result {
            case .ok: rule = db.spec.resultSuccess
            case .internalFailure: rule = db.spec.resultInternalFailure
            case .next: rule = .continue
            case .passwordMismatch, .userUnknown: rule = db.spec.resultFailure
            }
            var proceed = false
            switch rule {
            case .returnAsIs: break
            case .returnOK: state.passdbSuccess = true
            case .returnFail: state.passdbSuccess = false
            case .continue:
                proceed = true
                if case .ok = result { state.passwordVerified = true }
            case .continueOK:
                proceed = true
                state.passdbSuccess = true
                state.passwordVerified = true
            case .continueFail:
                proceed = true
                state.passdbSuccess = false
            }
            if result == .internalFailure { state.seenInternalFailure = true }
            if !proceed { break }
        }
        if !ran {
            log.error(
                AuthLogFormat.category, "\(prefix("auth", state.user, request)): All password databases were skipped")
            return .temporaryFailure
        }
        if state.passdbSuccess { return nil }
        if state.sawMismatch { return .passwordMismatch }
        if state.sawWeakScheme { return .schemeNotAllowed }
        if state.seenInternalFailure { return .temporaryFailure }
        if last == .next {
            log.error(
                AuthLogFormat.category,
                "\(prefix(lastDriver, state.user, request)): Last passdb had noauthenticate field, "
                    + "cannot authenticate user")
            return .temporaryFailure
        }
        if case .ok = last { return .passwordMismatch }  // verified, but a `return`/`return-fail` rule refused it
        if !state.found && !state.credentialsLookup {
            if let password { await spendDummyVerification(password) }
            fail(lastDriver, state.user, request, "unknown user")
        }
        return .unknownUser
    }

    /// "mechanism" or "username" when the passdb's `mechanisms` / `username_filter` leave this login out.
    func filteredOut(_ db: ConfiguredPassDB, _ user: String, _ request: AuthRequest) -> String? {
        if !db.spec.mechanisms.isEmpty {
            let login = !["lookup", "adm"].contains(request.service) || !request.password.isEmpty
            let mechanism = login ? (request.mechanism.isEmpty ? "PLAIN" : request.mechanism) : "none"
            if !db.spec.mechanisms.contains(where: { $0.uppercased() == mechanism }) { return "mechanism" }
        }
        if !db.spec.usernameFilter.isEmpty {
            var included = false, haveIncludes = false
            for filter in db.spec.usernameFilter {
                if filter.hasPrefix("!") {
                    if WildcardMask(filter.dropFirst()).matches(user) { return "username" }
                } else {
                    haveIncludes = true
                    if WildcardMask(filter).matches(user) { included = true }
                }
            }
            if haveIncludes && !included { return "username" }
        }
        return nil
    }

    /// One passdb: verify (or look up), then apply its fields and the checks they ask for.
    func passdbStep(
        _ db: ConfiguredPassDB, _ state: inout ChainState, _ request: AuthRequest, password: String?
    ) async
        -> PassDBStep
    {
        let lookup = lookupRequest(state.user, request)
        let found: PassDBResult
        if let password {
            switch await verifyWithSecondFactors(db, &state, lookup, request, password: password) {
            case .weakScheme: return .weakScheme
            case .disabled: return .disabled
            case .result(let result): found = result
            }
        } else {
            found = await cachedLookup(db, lookup)
            // The credentials are those of the passdb whose answer stands for the verification (a later one
            // after a refusal; not one that only adds fields after a `continue*` rule).
            if state.credentialsLookup, !state.passwordVerified, case .ok(let entry) = found,
                let stored = entry.password, !stored.isEmpty
            {
                state.credentials = StoredCredentials(
                    stored: stored, defaultScheme: db.spec.defaultScheme, driver: db.spec.driver, user: lookup.user)
            }
        }
        guard case .ok(let entry) = found else { return .result(found) }
        state.found = true
        let driver = db.spec.driver
        var fields = AuthFields.apply(
            defaults: db.spec.defaultFields, overrides: db.spec.overrideFields, to: entry.fields, request: lookup,
            variables: AuthFields.variables(lookup, passdb: entry.fields))
        if fields["noauthenticate"] != nil {
            debug(driver, state.user, request, "Not performing authentication (noauthenticate set)")
            state.fields.merge(fields) { $1 }
            return .result(.next)
        }
        if fields["nodelay"] != nil { state.nodelay = true }
        if state.checksLoginFields, let nets = fields["allow_nets"] {
            let allowed = CIDRList(nets)
            if !allowed.invalid.isEmpty {
                log.error(
                    AuthLogFormat.category,
                    "\(prefix(driver, state.user, request)): allow_nets: invalid network "
                        + allowed.invalid.map(AuthLogFormat.sanitize).joined(separator: ", "))
            }
            if !allowed.contains(request.remoteIP) {
                fail(
                    driver, state.user, request,
                    "allow_nets check failed: IP \(AuthLogFormat.sanitize(request.remoteIP)) not in allowed networks")
                return .result(.passwordMismatch)
            }
        }
        if state.checksLoginFields, fields["nologin"] != nil {
            let reason = fields["reason"].map { " (\(AuthLogFormat.sanitize($0)))" } ?? ""
            fail(driver, state.user, request, "Login disabled by nologin\(reason)")
            return .disabled
        }
        if let renamed = fields.removeValue(forKey: "user"), !renamed.isEmpty, renamed != state.user {
            debug(driver, state.user, request, "username changed \(state.user) -> \(AuthLogFormat.sanitize(renamed))")
            state.user = renamed
        }
        state.fields.merge(fields) { $1 }
        state.succeeded = db
        return .result(.ok(PassDBEntry(password: nil, fields: fields)))
    }
}
