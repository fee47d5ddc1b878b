public import AerieAuth
public import AerieCore
import POP3Protocol
import SASL

/// The per-connection POP3 state machine of the AUTHORIZATION state (RFC 1939 §4, §7; RFC 2449 CAPA; RFC 2595 STLS;
/// RFC 5034 AUTH; RFC 3206 response codes): lines in, actions out. After login every command is handed on as
/// `.mailCommand` for `POP3Maildrop`, which owns the TRANSACTION and UPDATE states.
///
/// It holds no socket and no clock, so every path, the failure delay and the attempt limit included, is testable
/// by feeding lines and reading the actions.
public struct POP3Session: Sendable {
    enum State: Sendable {
        /// `user` is the name given by USER, waiting for PASS.
        case authorization(user: String?)
        case saslExchange(SASLServerExchange)
        /// A mechanism run by the auth process (SCRAM): the next line answers `exchange` (0: not started yet).
        case remoteSASL(mechanism: SASLMechanism, exchange: UInt32)
        case awaitingSASLStep(mechanism: SASLMechanism)
        /// The mechanism's final data went out as a challenge: the client's empty line ends the exchange.
        case saslFinalSent(AuthenticatedUser)
        case awaitingAuthResult
        case transaction(AuthenticatedUser)
        case loggedOut
    }

    public let settings: POP3SessionSettings
    public private(set) var context: ConnectionContext
    var state: State = .authorization(user: nil)
    /// Failed authentications so far; the disconnect log line reports them for fail2ban.
    public private(set) var authFailures = 0
    private var badCommands = 0
    /// The last user name tried (never the password), for the disconnect log line.
    public internal(set) var lastAttemptedUser: String?
    public internal(set) var lastMethod: String?
    /// Set when a client tried USER/PASS or plaintext SASL before TLS; the log says so and fail2ban counts it.
    public internal(set) var triedDisallowedPlaintext: String?

    public init(settings: POP3SessionSettings, context: ConnectionContext) {
        self.settings = settings
        self.context = context
    }

    public var isAuthenticated: Bool {
        if case .transaction = state { return true }
        return false
    }

    /// The user who logged in on this connection; stays set after QUIT, for the log lines.
    public private(set) var authenticatedUser: AuthenticatedUser?

    /// True while the next line is a SASL response (RFC 5034 §4): the transport raises the framer's line limit
    /// to `settings.auth.maxSASLResponseLength` and logs the line as `POP3Command.redactedSASLResponse`.
    public var expectsSASLResponse: Bool {
        switch state {
        case .saslExchange, .remoteSASL, .saslFinalSent: true
        default: false
        }
    }

    /// USER/PASS and plaintext SASL are allowed on this connection now.
    var cleartextAllowed: Bool { context.isSecured || settings.auth.allowCleartextWithoutTLS }

    /// RFC 2449 §5: what the AUTHORIZATION state offers at this moment.
    var capabilities: POP3Capabilities {
        POP3Capabilities(
            saslMechanisms: cleartextAllowed ? offeredMechanisms.map(\.rawValue) : [],
            user: cleartextAllowed,
            stls: context.startTLSAvailable && !context.isTLS,
            implementation: "Aerie")
    }

    /// RFC 1939 §4: `+OK greeting`.
    public func greeting() -> [POP3SessionAction] {
        [.send(POP3Response.ok(settings.greeting).bytes)]
    }

    /// The transport finished the TLS handshake (STLS or implicit), with the verified client certificate's name.
    public mutating func tlsEstablished(clientCertificateUser: String? = nil) {
        context.isTLS = true
        context.clientCertificateUser = clientCertificateUser
    }

    /// `auth_mechanisms`, less EXTERNAL on a connection without a verified client certificate.
    var offeredMechanisms: [SASLMechanism] {
        settings.auth.mechanisms.filter { $0 != .external || context.clientCertificateUser != nil }
    }

    // MARK: - Input

    /// One framed line: a command, or a SASL response during AUTH.
    public mutating func receive(_ line: [UInt8]) -> [POP3SessionAction] {
        switch state {
        case .saslExchange(var exchange):
            return continueSASL(&exchange, line: line)
        case .remoteSASL(let mechanism, let exchange):
            return continueRemoteSASL(mechanism: mechanism, exchange: exchange, line: line)
        case .saslFinalSent(let user):
            return finishRemoteSASL(user: user, line: line)
        case .awaitingAuthResult, .awaitingSASLStep, .loggedOut:
            // The transport stops reading while an authentication runs or after close; anything here is dropped.
            return []
        case .authorization, .transaction:
            break
        }
        let command: POP3Command
        do {
            command = try POP3Command.parse(line)
        } catch {
            return badCommand(error.message)
        }
        if case .transaction = state { return transaction(command) }
        return authorization(command)
    }

    /// The framer dropped a line over its limit. Before login that ends the connection (pre-auth input is the
    /// attack surface); after it, the line is answered and counted as a bad command.
    public mutating func lineTooLong() -> [POP3SessionAction] {
        switch state {
        case .loggedOut, .awaitingAuthResult, .awaitingSASLStep:
            return []
        case .transaction:
            return badCommand("Command line too long.")
        case .authorization, .saslExchange, .remoteSASL, .saslFinalSent:
            state = .loggedOut
            return [.send(POP3Response.err(code: nil, "Command line too long.").bytes), .close(reason: "Command line too long")]
        }
    }

    // MARK: - AUTHORIZATION (RFC 1939 §4, §7)

    mutating func authorization(_ command: POP3Command) -> [POP3SessionAction] {
        switch command {
        case .capa:
            return [.send(capabilities.response.bytes)]
        case .noop:
            // Not in RFC 1939's AUTHORIZATION state, but harmless and Dovecot answers it.
            return [.send(POP3Response.ok("").bytes)]
        case .quit:
            state = .loggedOut
            return [.send(POP3Response.ok("Logging out.").bytes), .close(reason: "Aborted login by logging out")]
        case .stls:
            return startTLS()
        case .user(let name):
            guard cleartextAllowed else { return plaintextRefused("plaintext") }
            state = .authorization(user: name)
            return [.send(POP3Response.ok("").bytes)]
        case .pass(let password):
            guard cleartextAllowed else { return plaintextRefused("plaintext") }
            guard case .authorization(let user?) = state else {
                return badCommand("No username given.")
            }
            return beginAuthentication(user: user, password: password, method: "PLAIN")
        case .apop:
            // No plaintext-equivalent password store is kept, so APOP (RFC 1939 §7) cannot be offered.
            return badCommand("APOP is not supported.")
        case .auth(nil, _):
            // RFC 1939-era `AUTH` without arguments lists the mechanisms (as CAPA's SASL line does).
            let names = cleartextAllowed ? offeredMechanisms.map(\.rawValue) : []
            return [.send(POP3Response.multiline(first: "", lines: names).bytes)]
        case .auth(let name?, let initialResponse):
            return authenticate(mechanismName: name, initialResponse: initialResponse)
        case .stat, .list, .retr, .dele, .rset, .top, .uidl, .utf8:
            return badCommand("Unknown command.")
        }
    }

    mutating func startTLS() -> [POP3SessionAction] {
        if context.isTLS { return badCommand("TLS is already active.") }
        guard context.startTLSAvailable else { return badCommand("TLS support isn't enabled.") }
        state = .authorization(user: nil)
        return [.send(POP3Response.ok("Begin TLS negotiation now.").bytes), .startTLS]
    }

    mutating func plaintextRefused(_ method: String) -> [POP3SessionAction] {
        triedDisallowedPlaintext = method
        state = .authorization(user: nil)
        return [
            .send(
                POP3Response.err(code: .auth, "Plaintext authentication disallowed on non-secure (SSL/TLS) connections.")
                    .bytes)
        ]
    }

    // MARK: - AUTH (RFC 5034 §4)

    mutating func authenticate(mechanismName: String, initialResponse: String?) -> [POP3SessionAction] {
        guard let mechanism = SASLMechanism(rawValue: mechanismName.uppercased()),
            offeredMechanisms.contains(mechanism)
        else {
            return [.send(POP3Response.err(code: nil, "Unsupported authentication mechanism.").bytes)]
        }
        guard cleartextAllowed else { return plaintextRefused(mechanism.rawValue) }
        lastMethod = mechanism.rawValue
        var exchange = SASLServerExchange(mechanism: mechanism, maxResponseLength: settings.auth.maxSASLResponseLength)
        var initial: [UInt8]?
        if let initialResponse {
            guard let decoded = SASLBase64.decode(initialResponse) else {
                state = .authorization(user: nil)
                return badCommand("Invalid base64 data in initial response.")
            }
            initial = decoded
        }
        if mechanism.scramHash != nil { return startRemoteSASL(mechanism: mechanism, initial: initial) }
        return sasl(step: exchange.start(initialResponse: initial), exchange: exchange)
    }

    mutating func continueSASL(_ exchange: inout SASLServerExchange, line: [UInt8]) -> [POP3SessionAction] {
        // RFC 5034 §4: a "*" line cancels the exchange, and the server answers -ERR.
        if line == [UInt8(ascii: "*")] {
            state = .authorization(user: nil)
            return [.send(POP3Response.err(code: nil, "Authentication aborted by client.").bytes)]
        }
        guard let text = String(validating: line, as: UTF8.self), let decoded = SASLBase64.decode(text) else {
            state = .authorization(user: nil)
            return badCommand("Invalid base64 data in continued response.")
        }
        return sasl(step: exchange.respond(decoded), exchange: exchange)
    }

    mutating func sasl(step: SASLStep, exchange: SASLServerExchange) -> [POP3SessionAction] {
        switch step {
        case .challenge(let bytes):
            state = .saslExchange(exchange)
            return [.send(POP3Response.continuation(SASLBase64.encode(bytes)).bytes)]
        case .done(let credentials):
            state = .authorization(user: nil)
            if lastMethod == SASLMechanism.external.rawValue {
                // RFC 4422 Appendix A.1: an empty authzid, or the certificate's own name; no one else.
                guard let user = context.clientCertificateUser,
                    credentials.authorizationID.isEmpty || credentials.authorizationID == user
                else {
                    lastAttemptedUser = credentials.authorizationID
                    return failedAuthentication()
                }
                return beginAuthentication(user: user, password: "", method: "EXTERNAL", certificateVerified: true)
            }
            // Acting as another user (authzid) needs master-user support, which Aerie does not offer.
            if !credentials.authorizationID.isEmpty && credentials.authorizationID != credentials.authenticationID {
                lastAttemptedUser = credentials.authenticationID
                return failedAuthentication()
            }
            return beginAuthentication(
                user: credentials.authenticationID, password: credentials.password, method: lastMethod ?? "PLAIN")
        case .failed(.cancelled):
            state = .authorization(user: nil)
            return [.send(POP3Response.err(code: nil, "Authentication aborted by client.").bytes)]
        case .failed:
            state = .authorization(user: nil)
            return badCommand("Invalid SASL response.")
        }
    }

    mutating func beginAuthentication(
        user: String, password: String, method: String, certificateVerified: Bool = false
    ) -> [POP3SessionAction] {
        lastAttemptedUser = user
        lastMethod = method
        state = .awaitingAuthResult
        var request = AuthRequest(
            user: user, password: password, mechanism: method, service: "pop3", remoteIP: context.remoteIP,
            localIP: context.localIP, secured: context.isSecured, sessionID: context.sessionID)
        request.certificateVerified = certificateVerified
        return [.authenticate(request)]
    }

    /// The answer to an `.authenticate` action.
    public mutating func authenticationFinished(_ result: AuthResult) -> [POP3SessionAction] {
        guard case .awaitingAuthResult = state else { return [] }
        switch result {
        case .success(let user):
            state = .transaction(user)
            authenticatedUser = user
            badCommands = 0
            return [.loggedIn(user), .send(POP3Response.ok("Logged in.").bytes)]
        case .failure(.temporaryFailure):
            state = .authorization(user: nil)
            return [.send(POP3Response.err(code: .sysTemp, "Temporary authentication failure.").bytes)]
        case .failure:
            state = .authorization(user: nil)
            return failedAuthentication(delayed: true)
        }
    }

    /// The mail service's side of a login the login process did (issue 11): RFC 1939 §7 +OK, then TRANSACTION.
    public mutating func resumeAuthenticated(_ user: AuthenticatedUser) -> [POP3SessionAction] {
        state = .transaction(user)
        authenticatedUser = user
        return [.loggedIn(user), .send(POP3Response.ok("Logged in.").bytes)]
    }

    /// The answer to an `.authenticate` action the server did not pass on: logins are disabled by the administrator
    /// (`aerie adm logins disable`). RFC 3206 §4 SYS/TEMP: a temporary failure, the reason as the human text.
    public mutating func loginRefused(reason: String) -> [POP3SessionAction] {
        guard case .awaitingAuthResult = state else { return [] }
        state = .authorization(user: nil)
        return [.send(POP3Response.err(code: .sysTemp, reason.singleLine).bytes)]
    }

    /// Every kind of failure looks the same to the client, so it cannot probe which users exist. `delayed`: the
    /// authenticator already answered at its fixed time after the request (with the IP's penalty).
    mutating func failedAuthentication(delayed: Bool = false) -> [POP3SessionAction] {
        authFailures += 1
        var actions: [POP3SessionAction] = delayed ? [] : [.sleep(settings.auth.failureDelay)]
        actions.append(.send(POP3Response.err(code: .auth, "Authentication failed.").bytes))
        if authFailures >= settings.auth.maxAuthFailures {
            state = .loggedOut
            actions.append(.close(reason: "Too many invalid authentication attempts"))
        }
        return actions
    }

    // MARK: - TRANSACTION (RFC 1939 §5)

    mutating func transaction(_ command: POP3Command) -> [POP3SessionAction] {
        switch command {
        case .stat, .list, .retr, .dele, .noop, .rset, .quit, .top, .uidl, .capa:
            if command == .quit { state = .loggedOut }
            return [.mailCommand(command)]
        case .user, .pass, .apop, .auth:
            return badCommand("Already logged in.")
        case .stls:
            return badCommand("STLS is not valid after login.")
        case .utf8:
            return badCommand("Unknown command.")
        }
    }

    // MARK: - Errors

    mutating func badCommand(_ message: String) -> [POP3SessionAction] {
        badCommands += 1
        let reply = POP3SessionAction.send(POP3Response.err(code: nil, message).bytes)
        if badCommands >= settings.maxBadCommands {
            state = .loggedOut
            return [reply, .close(reason: "Too many invalid commands")]
        }
        return [reply]
    }
}
