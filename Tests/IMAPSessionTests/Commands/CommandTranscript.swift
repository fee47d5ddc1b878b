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

    init(root: String, loggedIn: Bool = true) throws {
        session = IMAPSession(
            settings: .init(auth: LoginAuthSettings(mechanisms: [.plain])),
            context: ConnectionContext(
                remoteIP: "192.0.2.7", localIP: "192.0.2.1", sessionID: "AbCdEfGhIjKl", isTLS: true,
                startTLSAvailable: false))
        let settings = MailSessionSettings()
        let store = try MailStore(
            configuration: MailStoreConfiguration(
                root: root, layout: .maildirPlusPlus, fsync: false, separator: settings.separator))
        let user = AuthenticatedUser(user: "demo", uid: 1500, gid: 1500, home: root, extraFields: [:])
        mail = MailSession(user: user, store: store, settings: settings)
        if loggedIn {
            _ = session.receive(Array("0 LOGIN demo secret".utf8))
            _ = session.authenticationFinished(.success(user))
        }
    }

    /// The lines the client reads for `line` (a whole command unit, literals included), without CRLF.
    @discardableResult
    func send(_ line: String) -> [String] {
        output.reset()
        for action in session.receive(Array(line.utf8)) {
            switch action {
            case .send(let response): output.send(response)
            case .mailCommand(let command): mail.execute(command, output: output)
            default: break
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
