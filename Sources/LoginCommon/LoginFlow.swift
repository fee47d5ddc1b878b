public import AerieAuth
public import AerieCore
public import SASL

/// The pre-login authentication flow IMAP and POP3 share (Dovecot's login-common): password logins (IMAP LOGIN,
/// POP3 USER/PASS), SASL exchanges run here (PLAIN, LOGIN, EXTERNAL) or in the auth process (SCRAM, OAuth2), the failure
/// delay, the attempt limit, STARTTLS/STLS, and what a failed login leaves for the log lines. Each protocol keeps
/// only its syntax and turns every `LoginEvent` into its own reply (a tagged IMAP response, a POP3 `+OK`/`-ERR`).
///
/// Rules kept here:
/// - Mechanisms are offered only as `auth_mechanisms` says, less EXTERNAL without a verified client certificate and
///   -PLUS without channel binding data; password-carrying logins need TLS unless cleartext is allowed.
/// - Every failure looks the same to the client (unknown user, wrong password, refused authzid), so it cannot probe
///   which users exist; a failure the auth process did not already delay gets the failure delay here.
/// - After `maxAuthFailures` failures the connection is closed.
public struct LoginFlow: Sendable {
    public enum Phase: Sendable {
        case idle
        /// A mechanism run here (`SASLServerExchange`): the next line is the client's response.
        case localSASL(SASLServerExchange)
        /// A mechanism run by the auth process: the next line answers `exchange` (0: not started yet).
        case remoteSASL(mechanism: SASLMechanism, exchange: UInt32)
        case awaitingSASLStep(mechanism: SASLMechanism)
        /// The mechanism's final data went out as a challenge (RFC 4422 §5): the client's empty line ends it.
        case finalSent(AuthenticatedUser)
        case awaitingAuthResult
        case loggedIn(AuthenticatedUser)
    }

    public let settings: LoginAuthSettings
    /// The auth service name: "imap", "pop3".
    public let service: String
    public var context: ConnectionContext
    public private(set) var phase: Phase = .idle
    /// Failed authentications so far; the disconnect log line reports them for fail2ban.
    public private(set) var authFailures = 0
    /// The last user name tried and how, for the disconnect log line (never the password).
    public var lastAttemptedUser: String?
    public var lastMethod: String?
    /// Set when a client tried a password login before TLS; Dovecot's log says so and fail2ban counts it.
    public var triedDisallowedPlaintext: String?

    public init(settings: LoginAuthSettings, service: String, context: ConnectionContext) {
        self.settings = settings
        self.service = service
        self.context = context
    }

    /// True while the next unit from the client is a SASL response line rather than a command.
    public var expectsSASLResponse: Bool {
        switch phase {
        case .localSASL, .remoteSASL, .finalSent: true
        default: false
        }
    }

    /// An authentication is out with the auth process: the transport reads nothing meanwhile.
    public var isWaiting: Bool {
        switch phase {
        case .awaitingSASLStep, .awaitingAuthResult: true
        default: false
        }
    }

    /// Password logins and SASL are allowed on this connection now.
    public var cleartextAllowed: Bool { context.isSecured || settings.allowCleartextWithoutTLS }

    /// `auth_mechanisms`, less EXTERNAL on a connection without a verified client certificate and -PLUS on one
    /// without channel binding data (not TLS 1.3).
    public var offeredMechanisms: [SASLMechanism] {
        settings.mechanisms.filter {
            ($0 != .external || context.clientCertificateUser != nil)
                && (!$0.bindsChannel || context.channelBinding != nil)
        }
    }

    /// The transport finished the TLS handshake (STARTTLS or implicit), with the verified client certificate's name
    /// and the RFC 9266 channel binding data.
    public mutating func tlsEstablished(clientCertificateUser: String?, channelBinding: [UInt8]?) {
        context.isTLS = true
        context.clientCertificateUser = clientCertificateUser
        context.channelBinding = channelBinding
    }

    public enum StartTLS: Sendable, Equatable {
        case begin, alreadyActive, unavailable
    }

    /// RFC 9051 §6.2.1, RFC 2595 §4 (STLS).
    public func startTLS() -> StartTLS {
        if context.isTLS { return .alreadyActive }
        return context.startTLSAvailable ? .begin : .unavailable
    }

    // MARK: - Logins

    /// IMAP LOGIN (RFC 9051 §6.2.3), POP3 PASS after USER (RFC 1939 §7).
    public mutating func passwordLogin(user: String, password: String) -> LoginEvent {
        guard cleartextAllowed else { return plaintextRefused("plaintext") }
        return beginAuthentication(user: user, password: password, method: "PLAIN")
    }

    /// IMAP AUTHENTICATE (RFC 9051 §6.2.2, RFC 4959), POP3 AUTH (RFC 5034 §4).
    public mutating func authenticate(mechanismName: String, initialResponse: String?) -> LoginEvent {
        guard let mechanism = SASLMechanism(rawValue: mechanismName.uppercased()),
            offeredMechanisms.contains(mechanism)
        else { return .unsupportedMechanism }
        guard cleartextAllowed else { return plaintextRefused(mechanism.rawValue) }
        lastMethod = mechanism.rawValue
        var initial: [UInt8]?
        if let initialResponse {
            guard let decoded = SASLBase64.decode(initialResponse) else {
                return .malformed("Invalid base64 data in initial response.")
            }
            initial = decoded
        }
        if mechanism.runsInAuthProcess {
            // RFC 5802 §5, RFC 7628 §3.1: the client speaks first; without an initial response it gets an empty
            // challenge.
            guard let initial else {
                phase = .remoteSASL(mechanism: mechanism, exchange: 0)
                return .challenge([])
            }
            return saslStep(mechanism: mechanism, exchange: 0, response: initial)
        }
        var exchange = SASLServerExchange(mechanism: mechanism, maxResponseLength: settings.maxSASLResponseLength)
        return local(exchange.start(initialResponse: initial), exchange)
    }

    /// A SASL response line while `expectsSASLResponse`; "*" cancels (RFC 4422 §3.5).
    public mutating func respond(_ line: [UInt8]) -> LoginEvent {
        let phase = self.phase
        self.phase = .idle
        let cancelled = line == [UInt8(ascii: "*")]
        switch phase {
        case .finalSent(let user):
            if line.isEmpty || line == [UInt8(ascii: "=")] {
                self.phase = .awaitingAuthResult
                return authenticationFinished(.success(user))
            }
            return cancelled ? .aborted : .malformed("Unexpected data after the final SASL challenge.")
        case .localSASL(var exchange):
            if cancelled { return .aborted }
            guard let decoded = Self.decode(line) else {
                return .malformed("Invalid base64 data in continued response.")
            }
            return local(exchange.respond(decoded), exchange)
        case .remoteSASL(let mechanism, let exchange):
            if cancelled { return .aborted }
            guard let decoded = Self.decode(line), decoded.count <= settings.maxSASLResponseLength else {
                return .malformed("Invalid base64 data in continued response.")
            }
            return saslStep(mechanism: mechanism, exchange: exchange, response: decoded)
        case .idle, .awaitingSASLStep, .awaitingAuthResult, .loggedIn:
            self.phase = phase
            return .ignored
        }
    }

    /// The auth process's answer to a `.saslStep` event.
    public mutating func saslStepFinished(_ reply: SASLStepReply) -> LoginEvent {
        guard case .awaitingSASLStep(let mechanism) = phase else { return .ignored }
        switch reply {
        case .challenge(let exchange, let user, let bytes):
            lastAttemptedUser = user
            phase = .remoteSASL(mechanism: mechanism, exchange: exchange)
            return .challenge(bytes)
        case .finished(.success(let user), let serverFinal?):
            phase = .finalSent(user)
            return .challenge(serverFinal)
        case .finished(let result, _):
            phase = .awaitingAuthResult
            return authenticationFinished(result)
        }
    }

    /// The auth process's answer to an `.authenticate` event.
    public mutating func authenticationFinished(_ result: AuthResult) -> LoginEvent {
        guard case .awaitingAuthResult = phase else { return .ignored }
        switch result {
        case .success(let user):
            phase = .loggedIn(user)
            return .loggedIn(user)
        case .failure(.temporaryFailure):
            phase = .idle
            return .temporaryFailure
        case .failure:
            phase = .idle
            return failed(delayed: true)
        }
    }

    /// The server did not pass an `.authenticate` event on: logins are disabled by the administrator.
    public mutating func loginRefused(reason: String) -> LoginEvent {
        guard case .awaitingAuthResult = phase else { return .ignored }
        phase = .idle
        return .refused(reason: reason.singleLine)
    }

    /// RFC 8437 (IMAP UNAUTHENTICATE): back to the start, with TLS kept. `authFailures` stays: the connection's
    /// limit on wrong passwords must not be renewed by logging in again.
    public mutating func reset() {
        phase = .idle
        lastAttemptedUser = nil
        lastMethod = nil
        triedDisallowedPlaintext = nil
    }

    /// A password command refused before TLS (POP3 USER); remembered for the log line.
    public mutating func plaintextRefused(_ method: String) -> LoginEvent {
        triedDisallowedPlaintext = method
        return .plaintextDisallowed
    }

    // MARK: - Internals

    private mutating func local(_ step: SASLStep, _ exchange: SASLServerExchange) -> LoginEvent {
        switch step {
        case .challenge(let bytes):
            phase = .localSASL(exchange)
            return .challenge(bytes)
        case .done(let credentials):
            phase = .idle
            if lastMethod == SASLMechanism.external.rawValue {
                // RFC 4422 Appendix A.1: an empty authzid, or the certificate's own name; no one else.
                guard let user = context.clientCertificateUser,
                    credentials.authorizationID.isEmpty || credentials.authorizationID == user
                else {
                    lastAttemptedUser = credentials.authorizationID
                    return failed(delayed: false)
                }
                return beginAuthentication(user: user, password: "", method: "EXTERNAL", certificateVerified: true)
            }
            // Acting as another user (authzid) needs master-user support, which Aerie does not offer.
            if !credentials.authorizationID.isEmpty && credentials.authorizationID != credentials.authenticationID {
                lastAttemptedUser = credentials.authenticationID
                return failed(delayed: false)
            }
            return beginAuthentication(
                user: credentials.authenticationID, password: credentials.password, method: lastMethod ?? "PLAIN")
        case .failed(.cancelled):
            phase = .idle
            return .aborted
        case .failed:
            phase = .idle
            return .malformed("Invalid SASL response.")
        }
    }

    private mutating func saslStep(mechanism: SASLMechanism, exchange: UInt32, response: [UInt8]) -> LoginEvent {
        phase = .awaitingSASLStep(mechanism: mechanism)
        let request = AuthRequest(
            user: "", password: "", mechanism: mechanism.rawValue, service: service, remoteIP: context.remoteIP,
            localIP: context.localIP, secured: context.isSecured, sessionID: context.sessionID)
        // The binding goes along whenever -PLUS is offered here, so plain SCRAM can refuse a downgrade (RFC 5802 §6).
        let binding = offeredMechanisms.contains(where: \.bindsChannel) ? context.channelBinding : nil
        return .saslStep(
            SASLStepRequest(exchange: exchange, context: request, response: response, channelBinding: binding))
    }

    private mutating func beginAuthentication(
        user: String, password: String, method: String, certificateVerified: Bool = false
    ) -> LoginEvent {
        lastAttemptedUser = user
        lastMethod = method
        phase = .awaitingAuthResult
        var request = AuthRequest(
            user: user, password: password, mechanism: method, service: service, remoteIP: context.remoteIP,
            localIP: context.localIP, secured: context.isSecured, sessionID: context.sessionID)
        request.certificateVerified = certificateVerified
        return .authenticate(request)
    }

    /// `delayed`: the authenticator already answered at its fixed time after the request (with the IP's penalty).
    private mutating func failed(delayed: Bool) -> LoginEvent {
        authFailures += 1
        return .failed(
            delay: delayed ? nil : settings.failureDelay, disconnect: authFailures >= settings.maxAuthFailures)
    }

    private static func decode(_ line: [UInt8]) -> [UInt8]? {
        String(validating: line, as: UTF8.self).flatMap(SASLBase64.decode)
    }
}

/// What the flow decided; the protocol turns it into its reply.
public enum LoginEvent: Sendable, Equatable {
    /// Send these bytes, base64-encoded, as a SASL challenge (IMAP `+ `, POP3 `+ `).
    case challenge([UInt8])
    /// Ask the auth process to verify; its answer goes to `authenticationFinished`.
    case authenticate(AuthRequest)
    /// Ask the auth process to run one step; its answer goes to `saslStepFinished`.
    case saslStep(SASLStepRequest)
    case loggedIn(AuthenticatedUser)
    /// "Authentication failed." — after `delay` when the auth process did not delay it; then close if `disconnect`.
    case failed(delay: Duration?, disconnect: Bool)
    /// The auth process could not decide (backend down): try again later.
    case temporaryFailure
    /// Logins are disabled by the administrator; the text says why.
    case refused(reason: String)
    /// A password login before TLS where cleartext is not allowed.
    case plaintextDisallowed
    case unsupportedMechanism
    /// The client cancelled the exchange with "*".
    case aborted
    /// A syntax error in the exchange: the protocol's bad-command reply, counted as one.
    case malformed(String)
    /// Nothing to answer (an event that does not belong to the current phase).
    case ignored
}
