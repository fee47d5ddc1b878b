public import AerieAuth
public import IMAPProtocol

/// What the transport must do for the session, in order. The session itself never touches a socket or a clock.
public enum IMAPSessionAction: Sendable, Equatable {
    case send(IMAPResponse)
    /// Flush what was sent, then start TLS and drop any bytes the client pipelined behind STARTTLS.
    case startTLS
    /// RFC 4978 §3: flush what was sent (the tagged OK), then compress both directions from the next byte on.
    case startCompression
    /// RFC 8437 §4.1: flush what was sent (the tagged OK, still compressed), then stop compressing both ways.
    case stopCompression
    /// Run the authentication off the event loop, then call `IMAPSession.authenticationFinished`.
    case authenticate(AuthRequest)
    /// Run a step of a SASL exchange in the auth process, then call `IMAPSession.saslStepFinished`.
    case saslStep(SASLStepRequest)
    /// Wait before going on (auth failure delay); no command is read meanwhile.
    case sleep(Duration)
    /// A user logged in: the transport raises its limits and logs the login.
    case loggedIn(AuthenticatedUser)
    /// RFC 8437 UNAUTHENTICATE: the user's session ends but the connection stays; the transport drops the mail
    /// session, frees the user's connection slot, logs the logout and applies the pre-login limits again.
    case loggedOut(AuthenticatedUser)
    /// A command of the authenticated or selected state: the transport runs it on the mail thread pool.
    case mailCommand(IMAPCommand)
    /// Close the connection after flushing; `reason` is for the disconnect log line.
    case close(reason: String)
}

extension IMAPSessionAction {
    /// Requests compare by who and how; the password takes no part, so it never appears in a test failure message.
    public static func == (lhs: IMAPSessionAction, rhs: IMAPSessionAction) -> Bool {
        switch (lhs, rhs) {
        case (.send(let a), .send(let b)): a == b
        case (.startTLS, .startTLS): true
        case (.startCompression, .startCompression): true
        case (.stopCompression, .stopCompression): true
        case (.loggedOut(let a), .loggedOut(let b)): a == b
        case (.authenticate(let a), .authenticate(let b)):
            a.user == b.user && a.mechanism == b.mechanism && a.remoteIP == b.remoteIP && a.sessionID == b.sessionID
        case (.saslStep(let a), .saslStep(let b)): a == b
        case (.sleep(let a), .sleep(let b)): a == b
        case (.loggedIn(let a), .loggedIn(let b)): a == b
        case (.close(let a), .close(let b)): a == b
        case (.mailCommand(let a), .mailCommand(let b)): a == b
        default: false
        }
    }
}
