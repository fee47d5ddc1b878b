import AerieAuth
import AerieCore
import AerieStorage
import NIOCore
import POP3Protocol
import POP3Session

#if canImport(Glibc)
    import Glibc
#endif

/// One POP3 connection (RFC 1939): the login phase in `POP3Session`, the maildrop on the mail pool.
final class POP3Service: SessionProtocol {
    let environment: ConnectionEnvironment
    unowned var connection: SessionChannelHandler<POP3Service>!
    private var session: POP3Session
    private var framer = POP3LineFramer(maxLineLength: LineFramer.pop3CommandLineLength)
    private var maildrop: POP3Maildrop?
    /// In the mail service: the login process authenticated this connection and logged its login line.
    private var resumed: LoginHandoff?

    init(environment: ConnectionEnvironment, context: ConnectionContext) {
        self.environment = environment
        self.session = POP3Session(settings: environment.pop3, context: context)
    }

    /// A connection the login process handed over (issue 11): TRANSACTION state, with what the client pipelined.
    init(environment: ConnectionEnvironment, handoff: LoginHandoff) {
        self.environment = environment
        self.session = POP3Session(settings: environment.pop3, context: handoff.context)
        self.resumed = handoff
        framer.append(handoff.pipelined)
    }

    func greeting() -> [ConnectionAction] {
        if let resumed {
            // The incident switch lives here (see IMAPService.greeting): RFC 3206 SYS/TEMP.
            if let reason = environment.loginSwitch.refusal(for: "pop3") {
                return [
                    .send(POP3Response.err(code: .sysTemp, reason.singleLine).bytes),
                    .close(reason: "Logins disabled by the administrator"),
                ]
            }
            return translate(session.resumeAuthenticated(resumed.authenticatedUser))
        }
        return translate(session.greeting())
    }

    var handedOver: LoginHandoff? { resumed }

    func goodbye(_ text: String, reason: String) -> [ConnectionAction] {
        [.send(POP3Response.err(code: nil, text).bytes), .close(reason: reason)]
    }

    func appendInput(_ buffer: ByteBuffer) { framer.append(buffer.readableBytesView) }
    var hasBufferedInput: Bool { framer.hasBufferedBytes }
    func discardBufferedInput() { framer.discardBuffered() }
    var isAuthenticated: Bool { session.isAuthenticated }
    var remoteIP: String { session.context.remoteIP }
    var startsWithTLS: Bool { resumed == nil && session.context.isTLS }
    var serviceName: String { "pop3" }
    func tlsEstablished(clientCertificateUser: String?, channelBinding: [UInt8]?) {
        session.tlsEstablished(clientCertificateUser: clientCertificateUser, channelBinding: channelBinding)
    }

    func nextInput(context: ChannelHandlerContext) -> [ConnectionAction]? {
        // A SASL response may be longer than a command line (RFC 5034 §4).
        framer.maxLineLength = session.expectsSASLResponse ? 8192 : LineFramer.pop3CommandLineLength
        switch framer.next() {
        case nil: return nil
        case .line(let line): return translate(session.receive(line))
        case .lineTooLong: return translate(session.lineTooLong())
        }
    }

    func authenticationFinished(_ result: AuthResult) -> [ConnectionAction] {
        translate(session.authenticationFinished(result))
    }

    func saslStepFinished(_ reply: SASLStepReply) -> [ConnectionAction] {
        translate(session.saslStepFinished(reply))
    }
    func loginRefused(reason: String) -> [ConnectionAction] { translate(session.loginRefused(reason: reason)) }

    private func translate(_ actions: [POP3SessionAction]) -> [ConnectionAction] {
        // Login process: the mail service sends +OK and serves the TRANSACTION state.
        if environment.handoff != nil,
            let index = actions.firstIndex(where: { if case .loggedIn = $0 { true } else { false } }),
            case .loggedIn(let user) = actions[index]
        {
            let handOver = ConnectionAction.perform { [unowned self] context in
                let header = LoginHandoff(
                    service: "pop3", user: user, context: session.context, tag: nil,
                    loginLine: session.loginLogLine(processID: 0), pipelined: framer.takeBufferedBytes())
                connection.handOff(header, context: context)
            }
            return translate(Array(actions[..<index])) + [handOver]
        }
        return actions.map { action in
            switch action {
            case .send(let bytes): .send(bytes)
            case .startTLS: .startTLS
            case .authenticate(let request): .authenticate(request)
            case .saslStep(let request): .saslStep(request)
            case .sleep(let duration): .sleep(duration)
            case .loggedIn(let user): .loggedIn(user)
            case .close(let reason): .close(reason: reason)
            case .mailCommand(let command): .perform { [unowned self] context in runMailCommand(command, context: context) }
            }
        }
    }

    /// The maildrop is opened (and the INBOX snapshot taken) on the pool before `+OK Logged in.` goes out.
    func didLogIn(_ user: AuthenticatedUser, context: ChannelHandlerContext) {
        if let line = resumed.map({ $0.loginLineForThisProcess }) {
            if let line { environment.log.info("pop3-login", line) }
        } else {
            environment.log.info("pop3-login", session.loginLogLine(processID: getpid()))
        }
        resumed = nil
        let access = environment.mailAccess
        let uidlFormat = environment.pop3.uidlFormat
        let log = environment.log
        let sessionID = session.context.sessionID
        let opened = Box<Result<POP3Maildrop, StorageError>>()
        connection.runOnMailPool(context: context) { _ in
            do {
                let store = try access.store(for: user)
                opened.value = .success(
                    try POP3Maildrop(user: user, store: store, uidlFormat: uidlFormat, log: log, sessionID: sessionID))
            } catch let error as StorageError {
                opened.value = .failure(error)
            } catch {
                log.error("pop3(\(LogSafe.userName(user.user)))<\(sessionID)>", "Mail storage unavailable: \(error)")
                opened.value = .failure(.io(path: "", errno: 0))
            }
        } then: { [unowned self] context in
            switch opened.value {
            case .success(let maildrop): self.maildrop = maildrop
            case .failure(let error):
                connection.resume(
                    with: [.send(POP3Maildrop.openFailureReply(error)), .close(reason: "Mail storage unavailable")],
                    context: context)
            case nil: break
            }
        }
    }

    private func runMailCommand(_ command: POP3Command, context: ChannelHandlerContext) {
        guard let maildrop else { return }
        let answered = CollectedPOP3Output()
        if maildrop.answerFromReadAhead(command, output: answered) {
            // Answered from memory: out it goes, and the next message is read while the client takes this one.
            connection.write(answered.bytes, context: context)
            connection.runOnMailPool(context: context) { _ in maildrop.readAhead(after: command) }
            return
        }
        let finished = Box<Bool>()
        connection.runOnMailPool(context: context, writes: command == .quit) { output in
            finished.value = maildrop.execute(command, output: POP3ChannelOutput(output: output))
            output.flush()
            maildrop.readAhead(after: command)
        } then: { [unowned self] context in
            if finished.value == true { connection.resume(with: [.close(reason: "Logged out")], context: context) }
        }
    }

    /// Without QUIT nothing is deleted (RFC 1939 §6); the maildrop only saves the \Seen marks.
    func connectionClosed() {
        guard let maildrop else { return }
        environment.mailAccess.pool.submit(user: connection.poolUser) { maildrop.connectionClosed() }
    }

    func logDisconnect(reason: String, elapsedSeconds: Int64) {
        if let user = session.authenticatedUser {
            let stats = maildrop?.logoutStatistics ?? ""
            let text = reason == "Logged out" ? "Disconnected: Logged out" : "Disconnected: \(reason)"
            environment.log.info(
                "pop3(\(LogSafe.userName(user.user)))<\(session.context.sessionID)>", "\(text) \(stats)")
        } else {
            environment.log.info("pop3-login", session.disconnectLogLine(reason: reason, elapsedSeconds: elapsedSeconds))
        }
    }
}

/// A response built on the event loop (from a message read ahead), written in one piece.
final class CollectedPOP3Output: POP3Output, @unchecked Sendable {
    private(set) var bytes: [UInt8] = []
    func send(_ bytes: [UInt8]) { self.bytes += bytes }
}

/// Adapts the pool's channel writer to the maildrop's output protocol.
struct POP3ChannelOutput: POP3Output {
    let output: ChannelOutput
    func send(_ bytes: [UInt8]) { output.sendRaw(bytes) }
}

/// Carries a value from a pool thread back to the event loop; the future's completion orders the accesses.
final class Box<Value>: @unchecked Sendable {
    var value: Value?
}
