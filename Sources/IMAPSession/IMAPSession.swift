public import AerieAuth
public import AerieCore
public import IMAPProtocol
import SASL

/// The per-connection IMAP state machine: commands in, actions out (RFC 9051 §3 states).
///
/// It holds no socket and no clock, so every path — including the failure delay and the attempt limit —
/// is testable by feeding bytes and reading the actions.
public struct IMAPSession: Sendable {
    enum State: Sendable {
        case notAuthenticated
        case saslExchange(tag: IMAPTag, exchange: SASLServerExchange)
        case awaitingAuthResult(tag: IMAPTag)
        case authenticated(AuthenticatedUser)
        case loggedOut
    }

    public let settings: IMAPSessionSettings
    public internal(set) var context: ConnectionContext
    private(set) var state: State = .notAuthenticated
    /// Failed authentications so far; the disconnect log line reports them for fail2ban.
    public private(set) var authFailures = 0
    private var badCommands = 0
    /// The last user name tried and how, for the disconnect log line (never the password).
    public private(set) var lastAttemptedUser: String?
    public internal(set) var lastMethod: String?
    /// Set when a client tried LOGIN/plaintext SASL before TLS; Dovecot's log says so and fail2ban counts it.
    public internal(set) var triedDisallowedPlaintext: String?
    /// The first ID before login has been seen: later ones change nothing (Dovecot's `id_logged`).
    private var idSeen = false
    /// RFC 4978: COMPRESS succeeded; the transport compresses both ways.
    public private(set) var compressionActive = false

    public init(settings: IMAPSessionSettings, context: ConnectionContext) {
        self.settings = settings
        self.context = context
    }

    public var isAuthenticated: Bool {
        if case .authenticated = state { return true }
        return false
    }

    /// The user who logged in on this connection; stays set after LOGOUT, for the disconnect log line.
    public private(set) var authenticatedUser: AuthenticatedUser?

    /// True while the next unit from the client is a SASL response line rather than a command.
    public var expectsSASLResponse: Bool {
        if case .saslExchange = state { return true }
        return false
    }

    var capabilities: [String] {
        Capabilities.list(
            authenticated: isAuthenticated, isTLS: context.isSecured, startTLSAvailable: context.startTLSAvailable,
            cleartextAllowed: settings.auth.allowCleartextWithoutTLS, mechanisms: settings.auth.mechanisms,
            appendLimit: settings.appendLimit, unauthenticate: settings.unauthenticate)
    }

    /// RFC 9051 §7.1.1: the greeting carries the capabilities so clients save a round trip.
    public func greeting() -> [IMAPSessionAction] {
        [.send(.greeting(.ok, .capability(capabilities), settings.greeting))]
    }

    /// The transport finished the TLS handshake after STARTTLS.
    public mutating func tlsEstablished() {
        context.isTLS = true
    }

    // MARK: - Input

    /// One complete unit from the framer: a command, or a SASL response line during AUTHENTICATE.
    public mutating func receive(_ unit: [UInt8]) -> [IMAPSessionAction] {
        switch state {
        case .saslExchange(let tag, var exchange):
            return continueSASL(tag: tag, exchange: &exchange, line: unit)
        case .awaitingAuthResult, .loggedOut:
            // The transport stops reading while an authentication runs; anything here is a transport bug.
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

    mutating func handle(_ command: IMAPCommand) -> [IMAPSessionAction] {
        let tag = command.tag
        switch command.kind {
        case .capability:
            return [
                .send(.untagged("CAPABILITY " + capabilities.joined(separator: " "))),
                .send(.tagged(tag, .ok, nil, "Capability completed.")),
            ]
        case .noop:
            // After login NOOP is how clients poll for new mail (RFC 9051 §6.1.2): the mail session answers it.
            if isAuthenticated { return [.mailCommand(command)] }
            return [.send(.tagged(tag, .ok, nil, "NOOP completed."))]
        case .logout:
            let reason = isAuthenticated ? "Logged out" : "Aborted login by logging out"
            state = .loggedOut
            return [
                .send(.untaggedStatus(.bye, nil, "Logging out")),
                .send(.tagged(tag, .ok, nil, "Logout completed.")),
                .close(reason: reason),
            ]
        case .id(let parameters):
            if !isAuthenticated && !idSeen {
                idSeen = true
                guard applyProxyFields(parameters) else {
                    return badCommand(tag: tag, message: "Invalid ID parameters")
                }
            }
            // RFC 2971 §3.1: we name the software but never its version, which would help an attacker.
            return [
                .send(.untagged("ID (\"name\" \"Aerie\")")),
                .send(.tagged(tag, .ok, nil, "ID completed.")),
            ]
        case .enable:
            guard isAuthenticated else {
                return badCommand(tag: tag, message: "ENABLE is valid only after login.")
            }
            // RFC 5161 §3.1: the mail session knows which extensions it can turn on.
            return [.mailCommand(command)]
        case .starttls:
            return startTLS(tag: tag)
        case .compress(let algorithm):
            return compress(tag: tag, algorithm: algorithm)
        case .login(let user, let password):
            return login(tag: tag, user: user, password: password)
        case .authenticate(let mechanism, let initialResponse):
            return authenticate(tag: tag, mechanismName: mechanism, initialResponse: initialResponse)
        case .unauthenticate:
            return unauthenticate(tag: tag)
        default:
            let name = Self.commandName(command)
            guard isAuthenticated else {
                return badCommand(tag: tag, message: "\(name) is not valid before login.")
            }
            return [.mailCommand(command)]
        }
    }

    mutating func startTLS(tag: IMAPTag) -> [IMAPSessionAction] {
        if isAuthenticated { return badCommand(tag: tag, message: "STARTTLS is not valid after login.") }
        if context.isTLS { return badCommand(tag: tag, message: "TLS is already active.") }
        guard context.startTLSAvailable else { return badCommand(tag: tag, message: "TLS support isn't enabled.") }
        return [.send(.tagged(tag, .ok, nil, "Begin TLS negotiation now.")), .startTLS]
    }

    /// RFC 4978 §3 and §5 (`command-auth`): after login only, once per connection, DEFLATE the only algorithm.
    mutating func compress(tag: IMAPTag, algorithm: String) -> [IMAPSessionAction] {
        guard isAuthenticated else { return badCommand(tag: tag, message: "COMPRESS is not valid before login.") }
        if compressionActive {
            return [.send(.tagged(tag, .no, .other("COMPRESSIONACTIVE"), "DEFLATE compression is already active."))]
        }
        guard algorithm == "DEFLATE" else { return badCommand(tag: tag, message: "Unknown compression algorithm.") }
        compressionActive = true
        return [.send(.tagged(tag, .ok, nil, "Begin compression.")), .startCompression]
    }

    /// RFC 8437 §3: back to the not-authenticated state with everything but TLS reset. The mail session goes (a
    /// selected mailbox is left without expunge, ENABLE and SEARCHRES state with it), and §4.1: COMPRESS ends once
    /// the tagged OK is out. A new LOGIN or AUTHENTICATE then meets the same TLS rules as the first one.
    mutating func unauthenticate(tag: IMAPTag) -> [IMAPSessionAction] {
        guard settings.unauthenticate else { return badCommand(tag: tag, message: "UNAUTHENTICATE is disabled.") }
        guard case .authenticated(let user) = state else {
            return badCommand(tag: tag, message: "UNAUTHENTICATE is valid only after login.")
        }
        state = .notAuthenticated
        authenticatedUser = nil
        lastAttemptedUser = nil
        lastMethod = nil
        triedDisallowedPlaintext = nil
        badCommands = 0
        // `authFailures` stays: the connection's limit on wrong passwords must not be renewed by logging in again.
        var actions: [IMAPSessionAction] = [
            .loggedOut(user), .send(.tagged(tag, .ok, nil, "Unauthenticate completed.")),
        ]
        if compressionActive {
            compressionActive = false
            actions.append(.stopCompression)
        }
        return actions
    }

    mutating func login(tag: IMAPTag, user: String, password: String) -> [IMAPSessionAction] {
        if isAuthenticated { return badCommand(tag: tag, message: "Already logged in.") }
        guard context.isSecured || settings.auth.allowCleartextWithoutTLS else {
            triedDisallowedPlaintext = "plaintext"
            return [
                .send(
                    .tagged(
                        tag, .no, .privacyRequired,
                        "Plaintext authentication disallowed on non-secure (SSL/TLS) connections."))
            ]
        }
        return beginAuthentication(tag: tag, user: user, password: password, method: "PLAIN")
    }

    mutating func authenticate(tag: IMAPTag, mechanismName: String, initialResponse: String?) -> [IMAPSessionAction] {
        if isAuthenticated { return badCommand(tag: tag, message: "Already logged in.") }
        guard let mechanism = SASLMechanism(rawValue: mechanismName.uppercased()),
            settings.auth.mechanisms.contains(mechanism)
        else {
            return [.send(.tagged(tag, .no, nil, "Unsupported authentication mechanism."))]
        }
        guard context.isSecured || settings.auth.allowCleartextWithoutTLS else {
            triedDisallowedPlaintext = mechanism.rawValue
            return [
                .send(
                    .tagged(
                        tag, .no, .privacyRequired,
                        "Plaintext authentication disallowed on non-secure (SSL/TLS) connections."))
            ]
        }
        lastMethod = mechanism.rawValue
        var exchange = SASLServerExchange(mechanism: mechanism, maxResponseLength: settings.auth.maxSASLResponseLength)
        var initial: [UInt8]?
        if let initialResponse {
            guard let decoded = SASLBase64.decode(initialResponse) else {
                return badCommand(tag: tag, message: "Invalid base64 data in initial response.")
            }
            initial = decoded
        }
        return sasl(step: exchange.start(initialResponse: initial), tag: tag, exchange: exchange)
    }

    mutating func continueSASL(tag: IMAPTag, exchange: inout SASLServerExchange, line: [UInt8]) -> [IMAPSessionAction] {
        switch SASLResponseLine.parse(line) {
        case .cancel:
            // RFC 9051 §6.2.2: a "*" line cancels, and the server answers BAD.
            state = .notAuthenticated
            return [.send(.tagged(tag, .bad, nil, "Authentication aborted by client."))]
        case .data(let text):
            guard let decoded = SASLBase64.decode(text) else {
                state = .notAuthenticated
                return badCommand(tag: tag, message: "Invalid base64 data in continued response.")
            }
            return sasl(step: exchange.respond(decoded), tag: tag, exchange: exchange)
        }
    }

    mutating func sasl(step: SASLStep, tag: IMAPTag, exchange: SASLServerExchange) -> [IMAPSessionAction] {
        switch step {
        case .challenge(let bytes):
            state = .saslExchange(tag: tag, exchange: exchange)
            return [.send(.continuation(SASLBase64.encode(bytes)))]
        case .done(let credentials):
            state = .notAuthenticated
            // Acting as another user (authzid) needs master-user support, which Aerie does not offer.
            if !credentials.authorizationID.isEmpty && credentials.authorizationID != credentials.authenticationID {
                lastAttemptedUser = credentials.authenticationID
                return failedAuthentication(tag: tag)
            }
            return beginAuthentication(
                tag: tag, user: credentials.authenticationID, password: credentials.password,
                method: lastMethod ?? "PLAIN")
        case .failed(.cancelled):
            state = .notAuthenticated
            return [.send(.tagged(tag, .bad, nil, "Authentication aborted by client."))]
        case .failed:
            state = .notAuthenticated
            return badCommand(tag: tag, message: "Invalid SASL response.")
        }
    }

    mutating func beginAuthentication(tag: IMAPTag, user: String, password: String, method: String)
        -> [IMAPSessionAction]
    {
        lastAttemptedUser = user
        lastMethod = method
        state = .awaitingAuthResult(tag: tag)
        let request = AuthRequest(
            user: user, password: password, mechanism: method, service: "imap", remoteIP: context.remoteIP,
            localIP: context.localIP, secured: context.isSecured, sessionID: context.sessionID)
        return [.authenticate(request)]
    }

    /// The answer to an `.authenticate` action.
    public mutating func authenticationFinished(_ result: AuthResult) -> [IMAPSessionAction] {
        guard case .awaitingAuthResult(let tag) = state else { return [] }
        switch result {
        case .success(let user):
            state = .authenticated(user)
            authenticatedUser = user
            return [
                .loggedIn(user),
                .send(.tagged(tag, .ok, .capability(capabilities), "Logged in")),
            ]
        case .failure(.temporaryFailure):
            state = .notAuthenticated
            return [.send(.tagged(tag, .no, .unavailable, "Temporary authentication failure. Try again later."))]
        case .failure:
            state = .notAuthenticated
            return failedAuthentication(tag: tag, delayed: true)
        }
    }

    /// The answer to an `.authenticate` action the server did not pass on: logins are disabled by the administrator
    /// (`aerie adm logins disable`). RFC 5530 §3 UNAVAILABLE: a temporary failure, the reason as the human text.
    public mutating func loginRefused(reason: String) -> [IMAPSessionAction] {
        guard case .awaitingAuthResult(let tag) = state else { return [] }
        state = .notAuthenticated
        return [.send(.tagged(tag, .no, .unavailable, reason.singleLine))]
    }

    /// Every kind of failure looks the same to the client, so it cannot probe which users exist. `delayed`: the
    /// authenticator already answered at its fixed time after the request (with the IP's penalty).
    mutating func failedAuthentication(tag: IMAPTag, delayed: Bool = false) -> [IMAPSessionAction] {
        authFailures += 1
        var actions: [IMAPSessionAction] = delayed ? [] : [.sleep(settings.auth.failureDelay)]
        actions.append(.send(.tagged(tag, .no, .authenticationFailed, "Authentication failed.")))
        if authFailures >= settings.auth.maxAuthFailures {
            state = .loggedOut
            actions += bye(nil, "Too many invalid authentication attempts.", reason: "Too many invalid authentication attempts")
        }
        return actions
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
