public import AerieAuth
public import AerieCore
import LoginCommon
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
        /// AUTH or PASS is running in `login` (SASL exchange, auth process).
        case authenticating
        case transaction(AuthenticatedUser)
        case loggedOut
    }

    public let settings: POP3SessionSettings
    /// The pre-login flow shared with IMAP (mechanisms, SASL, failure delay, attempt limit).
    var login: LoginFlow
    public var context: ConnectionContext { login.context }
    var state: State = .authorization(user: nil)
    /// Failed authentications so far; the disconnect log line reports them for fail2ban.
    public var authFailures: Int { login.authFailures }
    private var badCommands = 0
    /// The last user name tried (never the password), for the disconnect log line.
    public var lastAttemptedUser: String? { login.lastAttemptedUser }
    public var lastMethod: String? { login.lastMethod }
    /// Set when a client tried USER/PASS or plaintext SASL before TLS; the log says so and fail2ban counts it.
    public var triedDisallowedPlaintext: String? { login.triedDisallowedPlaintext }

    public init(settings: POP3SessionSettings, context: ConnectionContext) {
        self.settings = settings
        self.login = LoginFlow(settings: settings.auth, service: "pop3", context: context)
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
        if case .authenticating = state { return login.expectsSASLResponse }
        return false
    }

    /// USER/PASS and plaintext SASL are allowed on this connection now.
    var cleartextAllowed: Bool { login.cleartextAllowed }

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
    public mutating func tlsEstablished(clientCertificateUser: String? = nil, channelBinding: [UInt8]? = nil) {
        login.tlsEstablished(clientCertificateUser: clientCertificateUser, channelBinding: channelBinding)
    }

    var offeredMechanisms: [SASLMechanism] { login.offeredMechanisms }

    // MARK: - Input

    /// One framed line: a command, or a SASL response during AUTH.
    public mutating func receive(_ line: [UInt8]) -> [POP3SessionAction] {
        switch state {
        case .authenticating:
            // The transport stops reading while the auth process is asked; anything then is dropped.
            return login.isWaiting ? [] : loginReply(login.respond(line))
        case .loggedOut:
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
        case .loggedOut:
            return []
        case .authenticating where login.isWaiting:
            return []
        case .transaction:
            return badCommand("Command line too long.")
        case .authorization, .authenticating:
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
            guard cleartextAllowed else { return loginReply(login.plaintextRefused("plaintext")) }
            state = .authorization(user: name)
            return [.send(POP3Response.ok("").bytes)]
        case .pass(let password):
            guard cleartextAllowed else { return loginReply(login.plaintextRefused("plaintext")) }
            guard case .authorization(let user?) = state else {
                return badCommand("No username given.")
            }
            return loginReply(login.passwordLogin(user: user, password: password))
        case .apop:
            // No plaintext-equivalent password store is kept, so APOP (RFC 1939 §7) cannot be offered.
            return badCommand("APOP is not supported.")
        case .auth(nil, _):
            // RFC 1939-era `AUTH` without arguments lists the mechanisms (as CAPA's SASL line does).
            let names = cleartextAllowed ? offeredMechanisms.map(\.rawValue) : []
            return [.send(POP3Response.multiline(first: "", lines: names).bytes)]
        case .auth(let name?, let initialResponse):
            return loginReply(login.authenticate(mechanismName: name, initialResponse: initialResponse))
        case .stat, .list, .retr, .dele, .rset, .top, .uidl, .utf8:
            return badCommand("Unknown command.")
        }
    }

    mutating func startTLS() -> [POP3SessionAction] {
        switch login.startTLS() {
        case .alreadyActive: return badCommand("TLS is already active.")
        case .unavailable: return badCommand("TLS support isn't enabled.")
        case .begin:
            state = .authorization(user: nil)
            return [.send(POP3Response.ok("Begin TLS negotiation now.").bytes), .startTLS]
        }
    }

    // MARK: - AUTH (RFC 5034 §4) and PASS: the flow is `LoginFlow`'s

    /// The answer to an `.authenticate` action.
    public mutating func authenticationFinished(_ result: AuthResult) -> [POP3SessionAction] {
        guard case .authenticating = state else { return [] }
        return loginReply(login.authenticationFinished(result))
    }

    /// The answer to a `.saslStep` action.
    public mutating func saslStepFinished(_ reply: SASLStepReply) -> [POP3SessionAction] {
        guard case .authenticating = state else { return [] }
        return loginReply(login.saslStepFinished(reply))
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
        guard case .authenticating = state else { return [] }
        return loginReply(login.loginRefused(reason: reason))
    }

    /// The login flow's decision as POP3 replies (RFC 1939, RFC 5034, RFC 3206 codes). Every failure looks the
    /// same to the client, so it cannot probe which users exist.
    mutating func loginReply(_ event: LoginEvent) -> [POP3SessionAction] {
        switch event {
        case .challenge(let bytes):
            state = .authenticating
            return [.send(POP3Response.continuation(SASLBase64.encode(bytes)).bytes)]
        case .authenticate(let request):
            state = .authenticating
            return [.authenticate(request)]
        case .saslStep(let request):
            state = .authenticating
            return [.saslStep(request)]
        case .loggedIn(let user):
            state = .transaction(user)
            authenticatedUser = user
            badCommands = 0
            return [.loggedIn(user), .send(POP3Response.ok("Logged in.").bytes)]
        case .failed(let delay, let disconnect):
            state = .authorization(user: nil)
            var actions: [POP3SessionAction] = delay.map { [.sleep($0)] } ?? []
            actions.append(.send(POP3Response.err(code: .auth, "Authentication failed.").bytes))
            if disconnect {
                state = .loggedOut
                actions.append(.close(reason: "Too many invalid authentication attempts"))
            }
            return actions
        case .temporaryFailure:
            state = .authorization(user: nil)
            return [.send(POP3Response.err(code: .sysTemp, "Temporary authentication failure.").bytes)]
        case .refused(let reason):
            state = .authorization(user: nil)
            return [.send(POP3Response.err(code: .sysTemp, reason).bytes)]
        case .plaintextDisallowed:
            state = .authorization(user: nil)
            let text = "Plaintext authentication disallowed on non-secure (SSL/TLS) connections."
            return [.send(POP3Response.err(code: .auth, text).bytes)]
        case .unsupportedMechanism:
            return [.send(POP3Response.err(code: nil, "Unsupported authentication mechanism.").bytes)]
        case .aborted:
            // RFC 5034 §4: a "*" line cancels the exchange, and the server answers -ERR.
            state = .authorization(user: nil)
            return [.send(POP3Response.err(code: nil, "Authentication aborted by client.").bytes)]
        case .malformed(let message):
            state = .authorization(user: nil)
            return badCommand(message)
        case .ignored:
            return []
        }
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
