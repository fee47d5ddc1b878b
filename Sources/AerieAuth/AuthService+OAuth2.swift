import AerieCore
import SASL

/// OAUTHBEARER (RFC 7628) and XOAUTH2 in the auth process. A refused token gets the RFC 7628 §3.2.2 error JSON as
/// a challenge; the client's dummy response then gets the failure, after the failure delay. The token is a
/// credential of its own (a TOTP user's second factor too) and never reaches a log.
extension AuthService {
    func oauth2Start(_ step: SASLStepRequest, mechanism: SASLMechanism) async -> SASLStepReply {
        let start = clock.now()
        var request = step.context
        let xoauth2 = mechanism == .xoauth2
        guard let verifier = oauth2, let settings = configuration.oauth2 else {
            return .finished(.failure(.temporaryFailure), serverFinal: nil)
        }
        let message: OAuth2ClientResponse
        do {
            message =
                try xoauth2
                ? OAuth2ClientResponse.parseXOAuth2(step.response)
                : OAuth2ClientResponse.parseOAuthBearer(step.response)
        } catch {
            fail("oauth2", "?", request, "\(mechanism.rawValue): invalid client response")
            return await oauth2Refused(
                request, name: "", user: "", refusal: OAuth2Refusal("invalid request", status: .invalidRequest),
                settings: settings, xoauth2: xoauth2, start: start, delay: nil)
        }
        request.user = message.user
        let base = configuration.failureDelays[request.service] ?? configuration.penalty.failureDelay
        let failureDelay: Duration
        switch penalty.admit(ip: request.remoteIP, user: formatUser(message.user), now: start, failureDelay: base) {
        case .banned(let delay):
            debug("penalty", formatUser(message.user), request, "refused: IP is banned")
            await clock.sleep(Self.remainingDelay(start: start, now: clock.now(), delay: delay))
            return .finished(.failure(.denied), serverFinal: nil)
        case .proceed(let wait, let delay):
            failureDelay = delay
            if wait > .zero { await clock.sleep(wait) }
        }
        let user: String
        switch await verifier.verify(token: message.token, login: message.user) {
        case .unavailable(let problem):
            fail("oauth2", formatUser(message.user), request, "\(mechanism.rawValue): \(problem)", level: .error)
            return .finished(.failure(.temporaryFailure), serverFinal: nil)
        case .refused(let refusal):
            let name = formatUser(message.user)
            fail("oauth2", name, request, "\(mechanism.rawValue): token refused: \(refusal.description)")
            return await oauth2Refused(
                request, name: name, user: message.user, refusal: refusal, settings: settings, xoauth2: xoauth2,
                start: start, delay: failureDelay)
        case .user(let verified):
            user = verified
        }
        request.user = user
        let name: String
        do { name = try usernames.parse(user, allowMaster: false).user } catch {
            fail("oauth2", formatUser(user), request, "\(mechanism.rawValue): invalid user name in the token")
            return await oauth2Refused(
                request, name: formatUser(user), user: user, refusal: OAuth2Refusal("invalid user name"),
                settings: settings, xoauth2: xoauth2, start: start, delay: failureDelay)
        }
        debug("oauth2", name, request, "\(mechanism.rawValue): token verified")
        switch await denyPassdbs(passdbs(serving: request.service), [name], request) {
        case nil: break
        case .denied?:
            fail("oauth2", name, request, "\(mechanism.rawValue): denied by a deny passdb")
            await clock.sleep(Self.remainingDelay(start: start, now: clock.now(), delay: failureDelay))
            return .finished(.failure(.denied), serverFinal: nil)
        case _?:
            return .finished(.failure(.temporaryFailure), serverFinal: nil)
        }
        var state = ChainState(user: name)
        state.passdbSuccess = true
        let result = await runUserdbs(state, request)
        switch result {
        case .success(let found):
            penalty.succeeded(ip: request.remoteIP, user: found.user, now: clock.now())
            return .finished(result, serverFinal: nil)
        case .failure(.temporaryFailure):
            return .finished(result, serverFinal: nil)
        case .failure:
            await clock.sleep(Self.remainingDelay(start: start, now: clock.now(), delay: failureDelay))
            return .finished(result, serverFinal: nil)
        }
    }

    /// Counts the failure now (a client that aborts instead of sending the dummy response is counted too), and
    /// sends the error JSON; the delay runs out in `oauth2Finish`.
    private func oauth2Refused(
        _ request: AuthRequest, name: String, user: String, refusal: OAuth2Refusal, settings: OAuth2Settings,
        xoauth2: Bool, start: ContinuousClock.Instant, delay: Duration?
    ) async -> SASLStepReply {
        if let ban = penalty.failed(ip: request.remoteIP, user: name, password: "", now: clock.now()) {
            log.info(
                AuthLogFormat.category,
                "\(prefix("penalty", name, request)): Invalid credentials: banning "
                    + "\(ban.network) for \(AuthPenalty.seconds(ban.duration)) secs (\(ban.reason))")
        }
        let base = configuration.failureDelays[request.service] ?? configuration.penalty.failureDelay
        let pending = SASLExchangeTable.Pending(
            exchange: nil, request: request, name: name, chain: nil, refusal: .passwordMismatch, driver: "oauth2",
            doomed: refusal.description, started: start, failureDelay: delay ?? base)
        let id = saslExchanges.insert(pending, now: clock.now())
        let challenge = refusal.status.challenge(
            xoauth2: xoauth2, scope: settings.scope.joined(separator: " "),
            openIDConfiguration: settings.openIDConfigurationURL)
        return .challenge(exchange: id, user: user, challenge)
    }

    /// The client's dummy response (RFC 7628 §3.2.3) after an error challenge: the failure, after the delay.
    func oauth2Finish(_ pending: SASLExchangeTable.Pending) async -> SASLStepReply {
        await clock.sleep(Self.remainingDelay(start: pending.started, now: clock.now(), delay: pending.failureDelay))
        return .finished(.failure(.passwordMismatch), serverFinal: nil)
    }
}
