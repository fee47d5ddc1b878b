import AerieCore
internal import Crypto
import SASL

/// SCRAM (RFC 5802, RFC 7677) in the auth process: the stored keys never leave it. The passdb chain is Dovecot's
/// credentials lookup (deny passdbs, then the first passdb that knows the user); penalties and the failure delay
/// apply as to a password login.
extension AuthService: SASLStepAuthenticator {
    public func saslStep(_ step: SASLStepRequest) async -> SASLStepReply {
        if step.exchange == 0, let mechanism = SASLMechanism(rawValue: step.context.mechanism),
            mechanism == .oauthBearer || mechanism == .xoauth2
        {
            return await oauth2Start(step, mechanism: mechanism)
        }
        return step.exchange == 0 ? await saslStart(step) : await saslFinish(step)
    }

    /// Per-process key for the salts shown for unknown users: the same name gets the same salt while this process
    /// lives, as a real user's would.
    private static let unknownUserSaltKey = SymmetricKey(size: .bits256)

    private func saslStart(_ step: SASLStepRequest) async -> SASLStepReply {
        let start = clock.now()
        var request = step.context
        guard let mechanism = SASLMechanism(rawValue: request.mechanism), let hash = mechanism.scramHash else {
            return .finished(.failure(.temporaryFailure), serverFinal: nil)
        }
        let clientFirst: SCRAMClientFirst
        do { clientFirst = try SCRAMClientFirst.parse(step.response) } catch {
            fail("sasl", "?", request, "\(mechanism.rawValue): invalid client-first message (\(error))")
            return await saslFailed(request, name: "", secret: "", failure: .passwordMismatch, start: start, delay: nil)
        }
        request.user = clientFirst.user
        let name = formatUser(clientFirst.user)
        let base = configuration.failureDelays[request.service] ?? configuration.penalty.failureDelay
        let failureDelay: Duration
        switch penalty.admit(ip: request.remoteIP, user: name, now: start, failureDelay: base) {
        case .banned(let delay):
            debug("penalty", name, request, "refused: IP is banned")
            await clock.sleep(Self.remainingDelay(start: start, now: clock.now(), delay: delay))
            return .finished(.failure(.denied), serverFinal: nil)
        case .proceed(let wait, let delay):
            failureDelay = delay
            if wait > .zero { await clock.sleep(wait) }
        }
        var credentials = Self.unknownUserCredentials(hash, name: name)
        var chain: ChainState?
        var refusal: AuthFailure?
        var driver = "auth"
        var doomed: String?
        switch await credentialsLookup(request, login: clientFirst.user) {
        case .temporaryFailure:
            return .finished(.failure(.temporaryFailure), serverFinal: nil)
        case .denied:
            return await saslFailed(
                request, name: name, secret: "", failure: .denied, start: start, delay: failureDelay)
        case .invalidName(let message):
            fail("auth", name, request, message)
            doomed = "unknown user"
        case .answered(let state, let failure, let lastDriver):
            driver = state.credentials?.driver ?? lastDriver
            let needs = "\(mechanism.rawValue) needs {SCRAM-\(hash.rawValue)} credentials"
            if let found = state.credentials {
                switch PasswordSchemes.scramCredentials(
                    stored: found.stored, defaultScheme: found.defaultScheme, hash: hash,
                    allowWeakSchemes: configuration.allowWeakSchemes)
                {
                case .success(_) where configuration.mainPasswordAloneRefused.contains(request.service):
                    doomed =
                        "\(mechanism.rawValue) proves the main password alone, which auth_main_password_alone = no "
                        + "refuses for \(request.service)"
                case .success(_) where [name, found.user, state.user].contains(where: requiresTOTP):
                    doomed =
                        "\(mechanism.rawValue) cannot carry a TOTP code: use PLAIN with the code, or an app password"
                case .success(let stored):
                    credentials = stored
                    chain = state
                    refusal = failure
                case .failure(let reason):
                    doomed = "\(needs): " + Self.describe(reason)
                }
            } else if state.found {
                doomed = "\(needs): the passdb gives no password"
            } else {
                doomed = "unknown user"
            }
        }
        let exchange: SCRAMServerExchange
        do {
            exchange = try SCRAMServerExchange(
                hash: hash, clientFirst: clientFirst, credentials: credentials,
                serverNonce: SCRAMServerExchange.makeNonce(), channelBinding: step.channelBinding,
                plus: mechanism.bindsChannel)
        } catch {
            fail(driver, name, request, "\(mechanism.rawValue): \(Self.describe(error))")
            return await saslFailed(
                request, name: name, secret: "", failure: .passwordMismatch, start: start, delay: failureDelay)
        }
        let pending = SASLExchangeTable.Pending(
            exchange: exchange, request: request, name: name, chain: chain, refusal: refusal, driver: driver,
            doomed: doomed, started: start)
        let id = saslExchanges.insert(pending, now: clock.now())
        return .challenge(exchange: id, user: clientFirst.user, exchange.serverFirst)
    }

    private func saslFinish(_ step: SASLStepRequest) async -> SASLStepReply {
        let start = clock.now()
        guard let pending = saslExchanges.take(step.exchange, now: start) else {
            // Expired, or the auth process was replaced meanwhile: the client may simply try again.
            return .finished(.failure(.temporaryFailure), serverFinal: nil)
        }
        guard let exchange = pending.exchange else { return await oauth2Finish(pending) }
        let request = pending.request
        let name = pending.name
        let mechanism = request.mechanism
        let base = configuration.failureDelays[request.service] ?? configuration.penalty.failureDelay
        let secret = SASLBase64.encode(step.response)
        let serverFinal: [UInt8]
        do {
            serverFinal = try exchange.verify(clientFinal: step.response)
        } catch {
            fail(pending.driver, name, request, pending.doomed ?? "\(mechanism): \(Self.describe(error))")
            return await saslFailed(
                request, name: name, secret: secret, failure: .passwordMismatch, start: start, delay: base)
        }
        guard let chain = pending.chain, pending.doomed == nil else {
            // Unreachable in practice (the keys were random), but never let a doomed exchange through.
            fail(pending.driver, name, request, pending.doomed ?? "no credentials")
            return await saslFailed(
                request, name: name, secret: secret, failure: .passwordMismatch, start: start, delay: base)
        }
        debug(pending.driver, name, request, "\(mechanism): proof verified")
        if let refusal = pending.refusal {
            return await saslFailed(request, name: name, secret: secret, failure: refusal, start: start, delay: base)
        }
        let result = await runUserdbs(chain, request)
        switch result {
        case .success(let user):
            penalty.succeeded(ip: request.remoteIP, user: user.user, now: clock.now())
            return .finished(result, serverFinal: serverFinal)
        case .failure(.temporaryFailure):
            return .finished(result, serverFinal: nil)
        case .failure(let failure):
            return await saslFailed(request, name: name, secret: secret, failure: failure, start: start, delay: base)
        }
    }

    /// Counts the failure against the IP (as `authenticate` does) and answers after the failure delay.
    private func saslFailed(
        _ request: AuthRequest, name: String, secret: String, failure: AuthFailure, start: ContinuousClock.Instant,
        delay: Duration?
    ) async -> SASLStepReply {
        if Self.counts(failure),
            let ban = penalty.failed(ip: request.remoteIP, user: name, password: secret, now: clock.now())
        {
            log.info(
                AuthLogFormat.category,
                "\(prefix("penalty", name, request)): Invalid credentials: banning "
                    + "\(ban.network) for \(AuthPenalty.seconds(ban.duration)) secs (\(ban.reason))")
        }
        let delay = delay ?? configuration.failureDelays[request.service] ?? configuration.penalty.failureDelay
        await clock.sleep(Self.remainingDelay(start: start, now: clock.now(), delay: delay))
        return .finished(.failure(failure), serverFinal: nil)
    }

    enum CredentialsLookup: Sendable {
        /// The passdbs answered: `failure` is why they refuse the login (nil: they accept it), `driver` the last
        /// one asked (for the log).
        case answered(ChainState, failure: AuthFailure?, driver: String)
        /// A deny passdb knows the user.
        case denied
        case invalidName(String)
        case temporaryFailure
    }

    /// Dovecot's lookup_credentials through the passdb chain: the protocol's passdbs (scoped by `protocol { }`,
    /// `mechanisms`, `username_filter`), deny passdbs first, then the ordinary passdbs under their `skip` and
    /// `result_*` rules, looked up without a password; the first stored password found is the credentials. The
    /// `allow_nets` and `nologin` fields refuse (after the proof), a `user` field renames. No master users: SCRAM's
    /// authorization identity must be the user itself.
    func credentialsLookup(_ request: AuthRequest, login: String) async -> CredentialsLookup {
        let name: String
        do { name = try usernames.parse(login, allowMaster: false).user } catch {
            guard case .invalid(let message) = error else { return .invalidName("invalid user name") }
            return .invalidName(message)
        }
        let chain = passdbs(serving: request.service)
        switch await denyPassdbs(chain, [name], request) {
        case nil: break
        case .denied?: return .denied
        case _?: return .temporaryFailure
        }
        var state = ChainState(user: name)
        state.credentialsLookup = true
        let ordinary = chain.filter { !$0.spec.deny && !$0.spec.master }
        let failure = await runPassdbs(ordinary, &state, request, password: nil)
        if failure == .temporaryFailure { return .temporaryFailure }
        return .answered(state, failure: failure, driver: ordinary.last?.spec.driver ?? "auth")
    }

    /// Keys nobody knows the password for, with a salt that stays the same per name: an unknown user's exchange
    /// looks like a real one and fails only at the proof.
    static func unknownUserCredentials(_ hash: SCRAMHash, name: String) -> SCRAMCredentials {
        let salt = Array(HMAC<SHA256>.authenticationCode(for: Array(name.utf8), using: unknownUserSaltKey)).prefix(16)
        var generator = SystemRandomNumberGenerator()
        let length = hash == .sha1 ? 20 : 32
        let random = { (0..<length).map { _ in UInt8.random(in: .min ... .max, using: &generator) } }
        return SCRAMCredentials(
            iterations: SCRAMScheme.defaultIterations, salt: Array(salt), storedKey: random(), serverKey: random())
    }

    static func describe(_ failure: SCRAMFailure) -> String {
        switch failure {
        case .malformed: "invalid message"
        case .channelBindingMismatch: "channel binding mismatch"
        case .nonceMismatch: "nonce mismatch"
        case .authorizationRefused: "authorization identity differs from the user (no master users)"
        case .invalidProof: "Password mismatch"
        }
    }

    static func describe(_ reason: SCRAMCredentialsUnavailable) -> String {
        switch reason {
        case .otherScheme(let scheme): "the stored password is \(scheme)"
        case .weakScheme(let scheme): "Weak password scheme '\(scheme)' used and refused"
        case .unknownScheme(let scheme): "unknown password scheme \(AuthLogFormat.sanitize(scheme))"
        case .malformed: "invalid password field in passdb"
        }
    }
}
