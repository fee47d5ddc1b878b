import AerieAuth
import AerieCore
import IMAPProtocol
import IMAPSession
import NIOCore

#if canImport(Glibc)
    import Glibc
#endif

/// One IMAP connection: bytes → framer → session → actions; after login, mailbox commands run on the mail pool.
final class IMAPService: SessionProtocol {
    let environment: ConnectionEnvironment
    unowned var connection: SessionChannelHandler<IMAPService>!
    private var session: IMAPSession
    private var framer: IMAPCommandFramer
    private var mailSession: MailSession?
    private var idlePoll: RepeatedTask?
    private var lastEventWasSpool = false
    /// Traffic before the current user's session (an earlier user's, before UNAUTHENTICATE), left out of its totals.
    private var bytesBeforeSession = (in: 0, out: 0)
    /// In the mail service: the login process authenticated this connection and logged its login line.
    private var resumed: LoginHandoff?

    init(environment: ConnectionEnvironment, context: ConnectionContext) {
        self.environment = environment
        self.session = IMAPSession(settings: environment.imap.sessionSettings, context: context)
        self.framer = IMAPCommandFramer(limits: environment.imap.preLoginLimits)
    }

    /// A connection the login process handed over (issue 11): it starts authenticated, with what the client
    /// pipelined behind its login command.
    init(environment: ConnectionEnvironment, handoff: LoginHandoff) {
        self.environment = environment
        self.session = IMAPSession(settings: environment.imap.sessionSettings, context: handoff.context)
        self.framer = IMAPCommandFramer(limits: environment.imap.postLoginLimits)
        self.resumed = handoff
        framer.append(ByteBuffer(bytes: handoff.pipelined))
    }

    func greeting() -> [ConnectionAction] {
        if let resumed, let tag = IMAPTag(resumed.tag ?? "") {
            // The incident switch lives here: the login process authenticated, but no session starts while it is
            // off (RFC 5530 UNAVAILABLE, as for a login refused before the auth process is asked).
            if let reason = environment.loginSwitch.refusal(for: "imap") {
                return [
                    .send(IMAPResponse.tagged(tag, .no, .unavailable, reason.singleLine).bytes),
                    .send(IMAPResponse.untaggedStatus(.bye, nil, "Logins are disabled.").bytes),
                    .close(reason: "Logins disabled by the administrator"),
                ]
            }
            return translate(session.resumeAuthenticated(resumed.authenticatedUser, tag: tag))
        }
        return translate(session.greeting())
    }

    var handedOver: LoginHandoff? { resumed }

    func goodbye(_ text: String, reason: String) -> [ConnectionAction] {
        [.send(IMAPResponse.untaggedStatus(.bye, nil, text).bytes), .close(reason: reason)]
    }

    func appendInput(_ buffer: ByteBuffer) { framer.append(buffer) }
    var hasBufferedInput: Bool { framer.hasBufferedBytes }
    func discardBufferedInput() { framer.discardBuffered() }
    var isAuthenticated: Bool { session.isAuthenticated }
    var remoteIP: String { session.context.remoteIP }
    var startsWithTLS: Bool { resumed == nil && session.context.isTLS }
    var serviceName: String { "imap" }
    func tlsEstablished(clientCertificateUser: String?, channelBinding: [UInt8]?) {
        session.tlsEstablished(clientCertificateUser: clientCertificateUser, channelBinding: channelBinding)
    }

    var lastInputWasCommand: Bool { !lastEventWasSpool }

    func nextInput(context: ChannelHandlerContext) -> [ConnectionAction]? {
        guard let event = framer.next() else { return nil }
        lastEventWasSpool = false
        switch event {
        case .spoolStart(let offset, _):
            lastEventWasSpool = true
            return spoolWork { $0.beginSpool(offset: offset) }
        case .spoolData(let bytes):
            lastEventWasSpool = true
            return spoolWork { $0.writeSpool(bytes) }
        default:
            break
        }
        if let mailSession, mailSession.isIdling, case .unit(let unit) = event {
            return idleInput(unit, mailSession: mailSession)
        }
        if case .unit(let unit) = event { return translate(session.receive(unit)) }
        return translate(session.framingFailed(event))
    }

    func authenticationFinished(_ result: AuthResult) -> [ConnectionAction] {
        translate(session.authenticationFinished(result))
    }

    func saslStepFinished(_ reply: SASLStepReply) -> [ConnectionAction] {
        translate(session.saslStepFinished(reply))
    }
    func loginRefused(reason: String) -> [ConnectionAction] { translate(session.loginRefused(reason: reason)) }

    /// IMAP actions in transport terms; mailbox commands become pool work.
    private func translate(_ actions: [IMAPSessionAction]) -> [ConnectionAction] {
        // Login process: the mail service answers the login command (its tagged OK) and serves the session.
        if environment.handoff != nil,
            let index = actions.firstIndex(where: { if case .loggedIn = $0 { true } else { false } }),
            case .loggedIn(let user) = actions[index]
        {
            var tag: IMAPTag?
            if index + 1 < actions.count, case .send(.tagged(let loginTag, .ok, _, _)) = actions[index + 1] {
                tag = loginTag
            }
            let handOver = ConnectionAction.perform { [unowned self] context in
                let header = LoginHandoff(
                    service: "imap", user: user, context: session.context, tag: tag?.rawValue,
                    loginLine: session.loginLogLine(processID: 0), pipelined: framer.takeUnframedBytes())
                connection.handOff(header, context: context)
            }
            return translate(Array(actions[..<index])) + [handOver]
        }
        return actions.map { action in
            switch action {
            case .send(let response): .send(response.bytes)
            case .startTLS: .startTLS
            case .startCompression: .perform { [unowned self] context in startCompression(context: context) }
            case .stopCompression: .perform { [unowned self] context in stopCompression(context: context) }
            case .loggedOut(let user): .loggedOut(user)
            case .authenticate(let request): .authenticate(request)
            case .saslStep(let request): .saslStep(request)
            case .sleep(let duration): .sleep(duration)
            case .loggedIn(let user): .loggedIn(user)
            case .close(let reason): .close(reason: reason)
            case .mailCommand(let command): .perform { [unowned self] context in runMailCommand(command, context: context) }
            }
        }
    }

    /// RFC 4978 §3: the tagged OK is already written and leaves uncompressed; everything after it is DEFLATE, so the
    /// codec goes right in front of this handler (behind TLS). Bytes the client sent behind COMPRESS are compressed.
    private func startCompression(context: ChannelHandlerContext) {
        context.flush()
        let leftover = framer.takeUnframedBytes()
        do {
            let codec = try DeflateCompressionHandler(
                initialInput: leftover.isEmpty ? nil : context.channel.allocator.buffer(bytes: leftover))
            try context.pipeline.syncOperations.addHandler(codec, position: .before(context.handler))
        } catch {
            connection.enqueue([.close(reason: "Compression unavailable")], context: context)
        }
    }

    /// RFC 8437 §4.1: the tagged OK leaves through the deflater, whose sync flush ends our stream; the client stopped
    /// compressing after its command line. Anything already inflated behind that line cannot be the client's plain
    /// text, so it is dropped, as behind STARTTLS (a client waits for the OK: on NO or BAD compression would go on).
    private func stopCompression(context: ChannelHandlerContext) {
        context.flush()
        framer.discardBuffered()
        let operations = context.pipeline.syncOperations
        guard let codec = try? operations.handler(type: DeflateCompressionHandler.self) else { return }
        operations.removeHandler(codec, promise: nil)
    }

    // MARK: - Mail (authenticated and selected states)

    /// Opening the store touches the disk, so it runs on the mail pool; the tagged OK waits for it.
    func didLogIn(_ user: AuthenticatedUser, context: ChannelHandlerContext) {
        framer.limits = environment.imap.postLoginLimits
        // A handed-over session's login line came from the login process.
        if let line = resumed.map({ $0.loginLineForThisProcess }) {
            if let line { environment.log.info("imap-login", line) }
        } else {
            environment.log.info("imap-login", session.loginLogLine(processID: getpid()))
        }
        resumed = nil
        let access = environment.mailAccess
        let sessionID = session.context.sessionID
        let log = environment.log
        let opened = MailSessionBox()
        connection.runOnMailPool(context: context) { _ in
            do {
                opened.session = try access.openSession(for: user, log: log, sessionID: sessionID)
            } catch {
                log.error("imap(\(LogSafe.userName(user.user)))<\(sessionID)>", "Mail storage unavailable: \(error)")
            }
        } then: { [unowned self] context in
            if let session = opened.session {
                mailSession = session
            } else {
                connection.resume(
                    with: [
                        .send(IMAPResponse.untaggedStatus(.bye, .unavailable, "Mail storage is unavailable.").bytes),
                        .close(reason: "Mail storage unavailable"),
                    ], context: context)
            }
        }
    }

    /// RFC 8437 UNAUTHENTICATE: the user's session ends as at LOGOUT (mailbox left without expunge, IDLE polling
    /// stopped), and the connection reads with the pre-login limits again.
    func didLogOut(_ user: AuthenticatedUser, context: ChannelHandlerContext) {
        logSessionEnd(of: user, text: "Logged out")
        bytesBeforeSession = (connection.bytesIn, connection.bytesOut)
        mailSession = nil
        updateIdlePolling(context: context)
        framer.limits = environment.imap.preLoginLimits
    }

    /// A big APPEND literal goes to disk chunk by chunk on the mail pool; reading waits for each write (backpressure).
    private func spoolWork(_ work: @escaping @Sendable (MailSession) -> Void) -> [ConnectionAction] {
        guard let mailSession else { return [] }  // only after login, when the mail session exists
        return [
            .perform { [unowned self] context in
                connection.runOnMailPool(context: context, writes: true) { _ in work(mailSession) }
            }
        ]
    }

    private func runMailCommand(_ command: IMAPCommand, context: ChannelHandlerContext) {
        guard let mailSession else {
            let answer = IMAPResponse.tagged(command.tag, .no, .unavailable, "Mail storage is unavailable.")
            connection.enqueue([.send(answer.bytes)], context: context)
            return
        }
        connection.runOnMailPool(context: context, writes: Self.waitsOnDisk(command)) { output in
            mailSession.execute(command, output: output)
        } then: {
            [unowned self] context in updateIdlePolling(context: context)
        }
    }

    /// Commands that fsync or rewrite files go to the wide pool; reads stay on the per-core one. The command
    /// table says which.
    private static func waitsOnDisk(_ command: IMAPCommand) -> Bool {
        IMAPCommands.spec(for: command)?.runsOnDiskPool ?? false
    }

    /// During IDLE the only valid input is DONE (RFC 2177 §3).
    private func idleInput(_ unit: [UInt8], mailSession: MailSession) -> [ConnectionAction] {
        guard IMAPCommandParser.parseIdleDone(unit) else {
            return [.send(IMAPResponse.untaggedStatus(.bad, nil, "Expected DONE.").bytes)]
        }
        return [
            .perform { [unowned self] context in
                connection.runOnMailPool(context: context) { output in mailSession.endIdle(output: output) } then: {
                    [unowned self] context in updateIdlePolling(context: context)
                }
            }
        ]
    }

    /// RFC 2177: while IDLE runs, poll for changes so the client hears of new mail within the poll interval; the
    /// same while NOTIFY is set (RFC 5465 §3: notifications come between commands too).
    private func updateIdlePolling(context: ChannelHandlerContext) {
        let idling = mailSession.map { $0.isIdling || $0.wantsNotifyPolling } ?? false
        if idling && idlePoll == nil {
            let interval = environment.mailAccess.sessionSettings.idlePollInterval.nanoseconds
            let loopBound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
            idlePoll = context.eventLoop.scheduleRepeatedTask(
                initialDelay: .nanoseconds(interval), delay: .nanoseconds(interval)
            ) { _ in
                let (handler, context) = loopBound.value
                handler.pollWhileIdle(context: context)
            }
        } else if !idling, let task = idlePoll {
            task.cancel()
            idlePoll = nil
        }
    }

    private func pollWhileIdle(context: ChannelHandlerContext) {
        guard !connection.busy, !connection.closing, let mailSession,
            mailSession.isIdling || mailSession.wantsNotifyPolling
        else { return }
        connection.runOnMailPool(context: context) { output in mailSession.idlePoll(output: output) }
    }

    func connectionClosed() {
        idlePoll?.cancel()
    }

    /// Dovecot's line for the end of a user's session, with the traffic of that session.
    private func logSessionEnd(of user: AuthenticatedUser, text: String) {
        environment.log.info(
            "imap(\(LogSafe.userName(user.user)))<\(session.context.sessionID)>",
            "\(text) in=\(connection.bytesIn - bytesBeforeSession.in) "
                + "out=\(connection.bytesOut - bytesBeforeSession.out)")
    }

    func logDisconnect(reason: String, elapsedSeconds: Int64) {
        if let user = session.authenticatedUser {
            logSessionEnd(of: user, text: reason == "Logged out" ? "Logged out" : "Disconnected: \(reason)")
        } else {
            environment.log.info("imap-login", session.disconnectLogLine(reason: reason, elapsedSeconds: elapsedSeconds))
        }
    }
}

/// Carries a session opened on the pool back to the event loop.
final class MailSessionBox: @unchecked Sendable {
    var session: MailSession?
}
