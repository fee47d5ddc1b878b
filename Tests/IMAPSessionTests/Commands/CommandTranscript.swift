import AerieAuth
import AerieCore
import AerieStorage
import IMAPProtocol
import IMAPSession

/// A connection without a socket, as mox's test clients: each line goes through `IMAPSession` (parser, state check,
/// command table) and, for mailbox commands, `MailSession`, as the transport runs them; the lines a client reads
/// come back. Several transcripts on one `root` are several sessions of one user.
final class CommandTranscript {
    var session: IMAPSession
    let mail: MailSession
    let output = CollectingOutput()

    /// `tls: false`: a plaintext connection that offers STARTTLS.
    init(root: String, loggedIn: Bool = true, tls: Bool = true, unauthenticate: Bool = true) throws {
        session = IMAPSession(
            settings: .init(auth: LoginAuthSettings(mechanisms: [.plain]), unauthenticate: unauthenticate),
            context: ConnectionContext(
                remoteIP: "192.0.2.7", localIP: "192.0.2.1", sessionID: "AbCdEfGhIjKl", isTLS: tls,
                startTLSAvailable: !tls))
        let settings = MailSessionSettings()
        let store = try MailStore(
            configuration: MailStoreConfiguration(
                root: root, layout: .maildirPlusPlus, fsync: false, separator: settings.separator))
        let user = demoUser(root)
        mail = MailSession(user: user, store: store, settings: settings)
        if loggedIn {
            _ = session.receive(Array("0 LOGIN demo secret".utf8))
            _ = session.authenticationFinished(.success(user))
        }
    }

    /// The lines the client reads for `line` (a whole command unit, literals included), without CRLF.
    @discardableResult
    func send(_ line: String) -> [String] {
        run(session.receive(Array(line.utf8)))
    }

    /// The authenticator's answer to a LOGIN or AUTHENTICATE.
    func finish(_ result: AuthResult) -> [String] {
        run(session.authenticationFinished(result))
    }

    /// What an IDLE poll announces (the transport polls every `idlePollInterval`).
    func poll() -> [String] {
        output.reset()
        mail.idlePoll(output: output)
        return output.lines
    }

    /// The client's DONE, ending IDLE.
    func done() -> [String] {
        output.reset()
        mail.endIdle(output: output)
        return output.lines
    }

    /// Every transport action but `send` and `mailCommand`, as the last command left them.
    private(set) var transportActions: [IMAPSessionAction] = []

    private func run(_ actions: [IMAPSessionAction]) -> [String] {
        output.reset()
        transportActions = []
        for action in actions {
            switch action {
            case .send(let response): output.send(response)
            case .mailCommand(let command): mail.execute(command, output: output)
            default: transportActions.append(action)
            }
        }
        return output.lines
    }

    /// Appends `count` small messages to INBOX (subjects `m1`, `m2`, …).
    func appendMessages(_ count: Int, to mailbox: String = "INBOX") {
        for n in 1...count {
            let body = "Subject: m\(n)\r\n\r\nbody \(n)\r\n"
            send("ap\(n) APPEND \(mailbox) {\(body.utf8.count)+}\r\n\(body)")
        }
    }
}

/// The user every `CommandTranscript` on `root` logs in as.
func demoUser(_ root: String) -> AuthenticatedUser {
    AuthenticatedUser(user: "demo", uid: 1500, gid: 1500, home: root, extraFields: [:])
}
