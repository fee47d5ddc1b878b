public import AerieAuth
public import POP3Protocol

/// What the transport must do for the POP3 session, in order. The session never touches a socket or a clock.
public enum POP3SessionAction: Sendable, Equatable {
    /// Bytes in wire form, CRLF included.
    case send([UInt8])
    /// Flush what was sent, then start TLS and drop any bytes the client pipelined behind STLS (RFC 2595 §4).
    case startTLS
    /// Run the authentication off the event loop, then call `POP3Session.authenticationFinished`.
    case authenticate(AuthRequest)
    /// Run a step of a SASL exchange in the auth process, then call `POP3Session.saslStepFinished`.
    case saslStep(SASLStepRequest)
    /// Wait before going on (auth failure delay); no command is read meanwhile.
    case sleep(Duration)
    /// A user logged in: open the maildrop (`POP3Maildrop`) on the mail pool and log the login, then go on with
    /// the actions that follow (the `+OK Logged in.`). If opening fails, send `POP3Maildrop.openFailureReply`
    /// instead of the rest and close.
    case loggedIn(AuthenticatedUser)
    /// A TRANSACTION-state command (RFC 1939 §5): run `POP3Maildrop.execute` on the mail pool; close when it returns true.
    case mailCommand(POP3Command)
    /// Close the connection after flushing; `reason` is for the disconnect log line.
    case close(reason: String)
}

extension POP3SessionAction {
    /// Requests compare by who and how; the password takes no part, so it never appears in a test failure message.
    public static func == (lhs: POP3SessionAction, rhs: POP3SessionAction) -> Bool {
        switch (lhs, rhs) {
        case (.send(let a), .send(let b)): a == b
        case (.startTLS, .startTLS): true
        case (.authenticate(let a), .authenticate(let b)): a.user == b.user && a.mechanism == b.mechanism
        case (.saslStep(let a), .saslStep(let b)): a == b
        case (.sleep(let a), .sleep(let b)): a == b
        case (.loggedIn(let a), .loggedIn(let b)): a == b
        case (.mailCommand(let a), .mailCommand(let b)): a == b
        case (.close(let a), .close(let b)): a == b
        default: false
        }
    }
}
