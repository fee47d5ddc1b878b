/// One server-side SASL exchange (RFC 4422 §3), driven by an IMAP AUTHENTICATE or POP3 AUTH command.
/// Pure state machine: the session decodes client lines with `SASLBase64`, feeds the bytes here and acts on the step.
public struct SASLServerExchange: Sendable {
    private enum State: Sendable {
        case initial
        case plainAwaitingResponse
        case externalAwaitingResponse
        case loginAwaitingUsername
        case loginAwaitingPassword(username: String)
        case finished
    }

    public let mechanism: SASLMechanism
    private let maxResponseLength: Int
    private var state: State = .initial

    /// draft-murchison-sasl-login §2: the conventional prompts clients expect.
    static let usernamePrompt = Array("Username:".utf8)
    static let passwordPrompt = Array("Password:".utf8)

    public init(mechanism: SASLMechanism, maxResponseLength: Int = 8192) {
        self.mechanism = mechanism
        self.maxResponseLength = max(0, maxResponseLength)
    }

    /// Starts the exchange. `initialResponse` is the SASL-IR argument (RFC 4959 §3, RFC 4422 §3.3):
    /// nil when the client sent none, an empty array when it sent "=".
    public mutating func start(initialResponse: [UInt8]?) -> SASLStep {
        guard case .initial = state else { return finish(.failed(.cancelled)) }
        switch mechanism {
        case .plain:
            guard let initialResponse, !initialResponse.isEmpty else {
                // RFC 4616 §2: the client speaks first; with no (or an empty) initial response, send an empty challenge.
                state = .plainAwaitingResponse
                return .challenge([])
            }
            return plainMessage(initialResponse)
        case .login:
            guard let initialResponse else {
                state = .loginAwaitingUsername
                return .challenge(Self.usernamePrompt)
            }
            // Some clients send the user name as initial response; an empty one is no user name at all.
            return loginUsername(initialResponse)
        case .external:
            guard let initialResponse else {
                // RFC 4422 §5: the client speaks first; an empty challenge asks for its (possibly empty) authzid.
                state = .externalAwaitingResponse
                return .challenge([])
            }
            return externalMessage(initialResponse)
        case .scramSHA1, .scramSHA256, .scramSHA256Plus, .oauthBearer, .xoauth2:
            // Runs in the auth process, where the stored keys and the issuer's keys are, never here.
            return finish(.failed(.malformed))
        }
    }

    /// Feeds one decoded client response. The session handles "*" itself by calling `cancel()`.
    public mutating func respond(_ response: [UInt8]) -> SASLStep {
        switch state {
        case .initial, .finished:
            return finish(.failed(.cancelled))
        case .plainAwaitingResponse:
            return plainMessage(response)
        case .externalAwaitingResponse:
            return externalMessage(response)
        case .loginAwaitingUsername:
            return loginUsername(response)
        case .loginAwaitingPassword(let username):
            guard response.count <= maxResponseLength else { return finish(.failed(.tooLong)) }
            guard let password = SASLPlainMessage.field(response) else { return finish(.failed(.malformed)) }
            return finish(.done(SASLCredentials(authorizationID: "", authenticationID: username, password: password)))
        }
    }

    /// RFC 4422 §3.5: the client aborted with "*".
    public mutating func cancel() -> SASLStep { finish(.failed(.cancelled)) }

    private mutating func plainMessage(_ message: [UInt8]) -> SASLStep {
        guard message.count <= maxResponseLength else { return finish(.failed(.tooLong)) }
        guard let credentials = SASLPlainMessage.parse(message) else { return finish(.failed(.malformed)) }
        return finish(.done(credentials))
    }

    /// RFC 4422 Appendix A.1: `[authz-id]`, UTF-8; the authentication identity is the certificate's, which the
    /// session supplies (`authenticationID` stays empty here).
    private mutating func externalMessage(_ message: [UInt8]) -> SASLStep {
        guard message.count <= maxResponseLength else { return finish(.failed(.tooLong)) }
        guard let authzid = SASLPlainMessage.field(message) else { return finish(.failed(.malformed)) }
        return finish(.done(SASLCredentials(authorizationID: authzid, authenticationID: "", password: "")))
    }

    private mutating func loginUsername(_ response: [UInt8]) -> SASLStep {
        guard response.count <= maxResponseLength else { return finish(.failed(.tooLong)) }
        guard let username = SASLPlainMessage.field(response), !username.isEmpty else { return finish(.failed(.malformed)) }
        state = .loginAwaitingPassword(username: username)
        return .challenge(Self.passwordPrompt)
    }

    /// Every terminal step goes through here so a finished exchange cannot be resumed.
    private mutating func finish(_ step: SASLStep) -> SASLStep {
        state = .finished
        return step
    }
}
