public import AerieAuth
public import AerieCore
public import IMAPProtocol
import LoginCommon
import SASL

/// The per-connection IMAP state machine: commands in, actions out (RFC 9051 §3 states).
///
/// It holds no socket and no clock, so every path — including the failure delay and the attempt limit —
/// is testable by feeding bytes and reading the actions.
public struct IMAPSession: Sendable {
    enum State: Sendable {
        case notAuthenticated
        /// LOGIN or AUTHENTICATE with this tag is running in `login` (SASL exchange, auth process).
        case authenticating(tag: IMAPTag)
        case authenticated(AuthenticatedUser)
        case loggedOut
    }

    public let settings: IMAPSessionSettings
    /// The pre-login flow shared with POP3 (mechanisms, SASL, failure delay, attempt limit).
    var login: LoginFlow
    public internal(set) var context: ConnectionContext {
        get { login.context }
        set { login.context = newValue }
    }
    var state: State = .notAuthenticated
    /// Failed authentications so far; the disconnect log line reports them for fail2ban.
    public var authFailures: Int { login.authFailures }
    var badCommands = 0
    /// The last user name tried and how, for the disconnect log line (never the password).
    public var lastAttemptedUser: String? { login.lastAttemptedUser }
    public var lastMethod: String? { login.lastMethod }
    /// Set when a client tried LOGIN/plaintext SASL before TLS; Dovecot's log says so and fail2ban counts it.
    public var triedDisallowedPlaintext: String? { login.triedDisallowedPlaintext }
    /// The first ID before login has been seen: later ones change nothing (Dovecot's `id_logged`).
    var idSeen = false
    /// RFC 4978: COMPRESS succeeded; the transport compresses both ways.
    public internal(set) var compressionActive = false

    public init(settings: IMAPSessionSettings, context: ConnectionContext) {
        self.settings = settings
        self.login = LoginFlow(settings: settings.auth, service: "imap", context: context)
    }

    public var isAuthenticated: Bool {
        if case .authenticated = state { return true }
        return false
    }

    /// The user who logged in on this connection; stays set after LOGOUT, for the disconnect log line.
    public internal(set) var authenticatedUser: AuthenticatedUser?

    /// True while the next unit from the client is a SASL response line rather than a command.
    public var expectsSASLResponse: Bool {
        if case .authenticating = state { return login.expectsSASLResponse }
        return false
    }

    var capabilities: [String] {
        Capabilities.list(
            authenticated: isAuthenticated, isTLS: context.isSecured, startTLSAvailable: context.startTLSAvailable,
            cleartextAllowed: settings.auth.allowCleartextWithoutTLS, mechanisms: offeredMechanisms,
            appendLimit: settings.appendLimit, unauthenticate: settings.unauthenticate)
    }

    /// RFC 9051 §7.1.1: the greeting carries the capabilities so clients save a round trip.
    public func greeting() -> [IMAPSessionAction] {
        [.send(.greeting(.ok, .capability(capabilities), settings.greeting))]
    }

    /// The transport finished the TLS handshake (STARTTLS or implicit), with the verified client certificate's name.
    public mutating func tlsEstablished(clientCertificateUser: String? = nil, channelBinding: [UInt8]? = nil) {
        login.tlsEstablished(clientCertificateUser: clientCertificateUser, channelBinding: channelBinding)
    }

    var offeredMechanisms: [SASLMechanism] { login.offeredMechanisms }

    // MARK: - Input

    /// One complete unit from the framer: a command, or a SASL response line during AUTHENTICATE.
    public mutating func receive(_ unit: [UInt8]) -> [IMAPSessionAction] {
        switch state {
        case .authenticating(let tag):
            // The transport stops reading while the auth process is asked; anything then is a transport bug.
            return login.isWaiting ? [] : loginReply(login.respond(unit), tag: tag)
        case .loggedOut:
            return []
        case .notAuthenticated, .authenticated:
            break
        }
        let command: IMAPCommand
        do {
            command = try IMAPCommandParser.parse(unit)
        } catch {
            return badCommand(tag: error.tag, message: error.message)
        }
        return handle(command)
    }

    /// The framer refused input that broke a bound.
    public mutating func framingFailed(_ event: FramerEvent) -> [IMAPSessionAction] {
        switch event {
        case .unit(let unit):
            return receive(unit)
        case .needsContinuation:
            return [.send(.continuation("Ready for literal data"))]
        case .spoolStart, .spoolData:
            return []  // the connection streams these to the mail session; nothing to answer
        case .lineTooLong:
            return bye(.tooBig, "Command line too long.", reason: "Command line too long")
        case .tooManyLiterals(let tag):
            return badCommand(tag: tag.flatMap(IMAPTag.init), message: "Too many literals.", code: .tooBig)
        case .literalTooLarge(let tag, let size, let synchronizing):
            guard synchronizing, let tag = tag.flatMap(IMAPTag.init) else {
                return bye(.tooBig, "Literal too large.", reason: "Literal too large")
            }
            // RFC 7889 §4: after login the bound is the APPENDLIMIT; as Dovecot, the APPEND is refused with NO before
            // the message is sent.
            if isAuthenticated, let limit = settings.appendLimit, size > limit {
                return [.send(.tagged(tag, .no, .tooBig, "Message is larger than APPENDLIMIT \(limit)."))]
            }
            return badCommand(tag: tag, message: "Literal too large.", code: .tooBig)
        }
    }

    // MARK: - Commands

    /// The table's entry (Commands/) says where the command is valid and who answers it.
    mutating func handle(_ command: IMAPCommand) -> [IMAPSessionAction] {
        guard let spec = IMAPCommands.spec(for: command) else { return misrouted(command) }
        let name = Self.commandName(command)
        switch spec.state {
        case .any:
            break
        case .notAuthenticated:
            if isAuthenticated {
                return badCommand(tag: command.tag, message: spec.wrongStateText ?? "\(name) is not valid after login.")
            }
        case .authenticated, .selected:
            if !isAuthenticated {
                let text = spec.wrongStateText ?? "\(name) is not valid before login."
                return badCommand(tag: command.tag, message: text)
            }
        }
        // After login the mail session answers what it can: it also announces the mailbox's changes.
        if isAuthenticated, spec.mail != nil { return [.mailCommand(command)] }
        if let handler = spec.session { return handler(&self, command) }
        return misrouted(command)
    }

    /// The answer to an `.authenticate` action.
    public mutating func authenticationFinished(_ result: AuthResult) -> [IMAPSessionAction] {
        guard case .authenticating(let tag) = state else { return [] }
        return loginReply(login.authenticationFinished(result), tag: tag)
    }

    /// The answer to a `.saslStep` action.
    public mutating func saslStepFinished(_ reply: SASLStepReply) -> [IMAPSessionAction] {
        guard case .authenticating(let tag) = state else { return [] }
        return loginReply(login.saslStepFinished(reply), tag: tag)
    }

    /// The mail service's side of a login the login process did (issue 11): the login command's tagged OK
    /// (RFC 9051 §6.2.3) goes out from here, with the capabilities of the authenticated state.
    public mutating func resumeAuthenticated(_ user: AuthenticatedUser, tag: IMAPTag) -> [IMAPSessionAction] {
        state = .authenticated(user)
        authenticatedUser = user
        return [.loggedIn(user), .send(.tagged(tag, .ok, .capability(capabilities), "Logged in"))]
    }

    /// The answer to an `.authenticate` action the server did not pass on: logins are disabled by the administrator
    /// (`aerie adm logins disable`). RFC 5530 §3 UNAVAILABLE: a temporary failure, the reason as the human text.
    public mutating func loginRefused(reason: String) -> [IMAPSessionAction] {
        guard case .authenticating(let tag) = state else { return [] }
        return loginReply(login.loginRefused(reason: reason), tag: tag)
    }

    /// The login flow's decision as IMAP replies (RFC 9051 §6.2, RFC 5530 codes). Every failure looks the same to
    /// the client, so it cannot probe which users exist.
    mutating func loginReply(_ event: LoginEvent, tag: IMAPTag) -> [IMAPSessionAction] {
        switch event {
        case .challenge(let bytes):
            state = .authenticating(tag: tag)
            return [.send(.continuation(SASLBase64.encode(bytes)))]
        case .authenticate(let request):
            state = .authenticating(tag: tag)
            return [.authenticate(request)]
        case .saslStep(let request):
            state = .authenticating(tag: tag)
            return [.saslStep(request)]
        case .loggedIn(let user):
            state = .authenticated(user)
            authenticatedUser = user
            return [.loggedIn(user), .send(.tagged(tag, .ok, .capability(capabilities), "Logged in"))]
        case .failed(let delay, let disconnect):
            state = .notAuthenticated
            var actions: [IMAPSessionAction] = delay.map { [.sleep($0)] } ?? []
            actions.append(.send(.tagged(tag, .no, .authenticationFailed, "Authentication failed.")))
            if disconnect {
                let text = "Too many invalid authentication attempts"
                actions += bye(nil, text + ".", reason: text)
            }
            return actions
        case .temporaryFailure:
            state = .notAuthenticated
            return [.send(.tagged(tag, .no, .unavailable, "Temporary authentication failure. Try again later."))]
        case .refused(let reason):
            state = .notAuthenticated
            return [.send(.tagged(tag, .no, .unavailable, reason))]
        case .plaintextDisallowed:
            state = .notAuthenticated
            let text = "Plaintext authentication disallowed on non-secure (SSL/TLS) connections."
            return [.send(.tagged(tag, .no, .privacyRequired, text))]
        case .unsupportedMechanism:
            state = .notAuthenticated
            return [.send(.tagged(tag, .no, nil, "Unsupported authentication mechanism."))]
        case .aborted:
            // RFC 9051 §6.2.2: a "*" line cancels, and the server answers BAD.
            state = .notAuthenticated
            return [.send(.tagged(tag, .bad, nil, "Authentication aborted by client."))]
        case .malformed(let message):
            state = .notAuthenticated
            return badCommand(tag: tag, message: message)
        case .ignored:
            return []
        }
    }

    mutating func badCommand(tag: IMAPTag?, message: String, code: IMAPResponseCode? = nil) -> [IMAPSessionAction] {
        badCommands += 1
        let response: IMAPResponse =
            if let tag { .tagged(tag, .bad, code, message) } else { .untaggedStatus(.bad, code, message) }
        if !isAuthenticated && badCommands >= settings.maxBadCommands {
            return [.send(response)] + bye(nil, "Too many invalid IMAP commands.", reason: "Too many invalid commands")
        }
        return [.send(response)]
    }

    mutating func bye(_ code: IMAPResponseCode?, _ text: String, reason: String) -> [IMAPSessionAction] {
        state = .loggedOut
        return [.send(.untaggedStatus(.bye, code, text)), .close(reason: reason)]
    }
}

extension IMAPSession {
    /// The command word as the client sent it (upper-cased), for messages; taken from the log-safe rendering.
    static func commandName(_ command: IMAPCommand) -> String {
        if case .other(let name) = command.kind { return name }
        let words = command.redactedDescription.split(separator: " ", maxSplits: 3)
        guard words.count >= 2 else { return "Command" }
        let first = words[1].uppercased()
        if first == "UID", words.count >= 3 { return "UID " + words[2].uppercased() }
        return first
    }
}
