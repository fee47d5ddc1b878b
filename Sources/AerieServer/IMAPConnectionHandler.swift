import AerieAuth
import AerieCore
import NIOPosix
import IMAPProtocol
import IMAPSession
import NIOCore
import NIOSSL
import NIOTLS

#if canImport(Glibc)
    import Glibc
#endif

/// Drives one IMAP connection: bytes → framer → session → actions → bytes.
///
/// Reading is demand-driven (autoRead off): we ask for more bytes only when every buffered command has been
/// answered, so a client can never make us buffer more than one bounded command, however fast it pipelines.
final class IMAPConnectionHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private let environment: ConnectionEnvironment
    private var session: IMAPSession
    private var framer: IMAPCommandFramer
    private var pending: [IMAPSessionAction] = []
    /// Something asynchronous (auth, a delay, a TLS switch) is in progress; no input is processed meanwhile.
    private var busy = false
    private var closing = false
    private var closeReason: String?
    private var holdsUnauthenticatedSlot = false
    private var registryID: UInt64?
    private var timeout: Scheduled<Void>?
    private var unitsInBurst = 0
    private var bytesIn = 0
    private var bytesOut = 0
    private let connectedAt = ContinuousClock.now
    private var lastWrite: EventLoopFuture<Void>?
    private var mailSession: MailSession?
    private var idlePoll: RepeatedTask?

    init(environment: ConnectionEnvironment, context: ConnectionContext) {
        self.environment = environment
        self.session = IMAPSession(settings: environment.sessionSettings, context: context)
        self.framer = IMAPCommandFramer(limits: environment.preLoginLimits)
    }

    // MARK: - Channel events

    func channelActive(context: ChannelHandlerContext) {
        let loopBound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        registryID = environment.registry.register {
            loopBound.eventLoop.execute {
                let (handler, context) = loopBound.value
                handler.serverShuttingDown(context: context)
            }
        }
        guard environment.unauthenticatedSlots.tryAcquire() else {
            closeReason = "Too many unauthenticated connections"
            enqueue(
                [
                    .send(.untaggedStatus(.bye, .unavailable, "Server is busy, try again later.")),
                    .close(reason: "Too many unauthenticated connections"),
                ], context: context)
            // Over implicit TLS the BYE can only go out after the handshake, which needs reads.
            context.read()
            return
        }
        holdsUnauthenticatedSlot = true
        scheduleTimeout(environment.loginTimeout, context: context)
        enqueue(session.greeting(), context: context)
        context.read()
    }

    func channelInactive(context: ChannelHandlerContext) {
        timeout?.cancel()
        idlePoll?.cancel()
        if holdsUnauthenticatedSlot {
            environment.unauthenticatedSlots.release()
            holdsUnauthenticatedSlot = false
        }
        if let registryID { environment.registry.unregister(registryID) }
        logDisconnect()
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let buffer = unwrapInboundIn(data)
        bytesIn += buffer.readableBytes
        guard !closing else { return }
        framer.append(buffer)
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        processInput(context: context)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if let sslError = error as? NIOSSLError, case .uncleanShutdown = sslError {
            // The client dropped TCP without a TLS close_notify: common and harmless.
            context.close(promise: nil)
            return
        }
        if closeReason == nil {
            if error is NIOSSLError || error is BoringSSLError {
                closeReason = "TLS handshaking failed: \(error)"
            } else {
                closeReason = "Connection error: \(error)"
            }
        }
        context.close(promise: nil)
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let tlsEvent = event as? TLSUserEvent, case .handshakeCompleted = tlsEvent {
            session.tlsEstablished()
        }
        context.fireUserInboundEventTriggered(event)
    }

    // MARK: - Input

    private func processInput(context: ChannelHandlerContext) {
        while !busy && !closing, let event = framer.next() {
            unitsInBurst += 1
            let limit = session.isAuthenticated ? environment.maxPipelinedPostLogin : environment.maxPipelinedPreLogin
            if unitsInBurst > limit {
                enqueue(
                    [
                        .send(.untaggedStatus(.bye, .limit, "Too many pipelined commands.")),
                        .close(reason: "Too many pipelined commands"),
                    ], context: context)
                return
            }
            if session.isAuthenticated {
                scheduleTimeout(environment.idleTimeout, context: context)
            }
            if let mailSession, mailSession.isIdling, case .unit(let unit) = event {
                idleInput(unit, context: context)
                continue
            }
            let actions: [IMAPSessionAction]
            if case .unit(let unit) = event {
                actions = session.receive(unit)
            } else {
                actions = session.framingFailed(event)
            }
            enqueue(actions, context: context)
        }
        if !busy && !closing {
            if !framer.hasBufferedBytes { unitsInBurst = 0 }
            context.flush()
            context.read()
        }
    }

    // MARK: - Actions

    private func enqueue(_ actions: [IMAPSessionAction], context: ChannelHandlerContext) {
        pending += actions
        drain(context: context)
    }

    /// Performs queued actions until one has to wait, then flushes what they wrote.
    private func drain(context: ChannelHandlerContext) {
        while !busy, !pending.isEmpty {
            let action = pending.removeFirst()
            perform(action, context: context)
        }
        context.flush()
    }

    private func perform(_ action: IMAPSessionAction, context: ChannelHandlerContext) {
        switch action {
        case .send(let response):
            var buffer = context.channel.allocator.buffer(capacity: 128)
            response.encode(into: &buffer)
            bytesOut += buffer.readableBytes
            lastWrite = context.write(wrapOutboundOut(buffer))

        case .startTLS:
            startTLS(context: context)

        case .authenticate(let request):
            busy = true
            let loopBound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
            let authenticator = environment.authenticator
            Task {
                let result = await authenticator.authenticate(request)
                loopBound.eventLoop.execute {
                    let (handler, context) = loopBound.value
                    handler.authenticationFinished(result, context: context)
                }
            }

        case .sleep(let duration):
            busy = true
            context.flush()
            let loopBound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
            context.eventLoop.scheduleTask(in: .nanoseconds(duration.nanoseconds)) {
                let (handler, context) = loopBound.value
                handler.resume(context: context)
            }

        case .loggedIn(let user):
            if holdsUnauthenticatedSlot {
                environment.unauthenticatedSlots.release()
                holdsUnauthenticatedSlot = false
            }
            framer.limits = environment.postLoginLimits
            scheduleTimeout(environment.idleTimeout, context: context)
            environment.log.info("imap-login", session.loginLogLine(processID: getpid()))
            openMailSession(for: user, context: context)

        case .mailCommand(let command):
            runMailCommand(command, context: context)

        case .close(let reason):
            closing = true
            pending.removeAll()
            if closeReason == nil { closeReason = reason }
            context.flush()
            let written = lastWrite ?? context.eventLoop.makeSucceededVoidFuture()
            written.assumeIsolated().whenComplete { _ in context.close(promise: nil) }
            // A peer that never reads (or never finishes a TLS handshake) must not keep the socket open.
            let loopBound = NIOLoopBound(context, eventLoop: context.eventLoop)
            context.eventLoop.scheduleTask(in: .seconds(5)) { loopBound.value.close(promise: nil) }
        }
    }

    // MARK: - Mail (authenticated and selected states)

    /// Opening the store touches the disk, so it runs on the mail pool; the tagged OK waits for it.
    private func openMailSession(for user: AuthenticatedUser, context: ChannelHandlerContext) {
        busy = true
        let access = environment.mailAccess
        access.pool.runIfActive(eventLoop: context.eventLoop) { try access.openSession(for: user) }
            .assumeIsolated().whenComplete { result in
                switch result {
                case .success(let mailSession):
                    self.mailSession = mailSession
                    self.resume(context: context)
                case .failure(let error):
                    self.environment.log.error("imap(\(user.user))<\(self.session.context.sessionID)>", "Mail storage unavailable: \(error)")
                    self.busy = false
                    self.pending = [
                        .send(.untaggedStatus(.bye, .unavailable, "Mail storage is unavailable; refer to the server log.")),
                        .close(reason: "Mail storage unavailable"),
                    ]
                    self.drain(context: context)
                }
            }
    }

    private func runMailCommand(_ command: IMAPCommand, context: ChannelHandlerContext) {
        guard let mailSession else {
            perform(.send(.tagged(command.tag, .no, .unavailable, "Mail storage is unavailable.")), context: context)
            return
        }
        runOnMailPool(context: context) { output in mailSession.execute(command, output: output) }
    }

    /// Runs blocking mail work off the event loop; input waits until it is done and its output written.
    private func runOnMailPool(
        context: ChannelHandlerContext, _ work: @escaping @Sendable (ChannelOutput) -> Void
    ) {
        busy = true
        context.flush()
        let output = ChannelOutput(channel: context.channel)
        environment.mailAccess.pool.runIfActive(eventLoop: context.eventLoop) {
            work(output)
            output.flush()
            return output.bytesWritten
        }.assumeIsolated().whenComplete { result in
            if case .success(let written) = result { self.bytesOut += written }
            guard context.channel.isActive else { return }
            self.updateIdlePolling(context: context)
            self.resume(context: context)
        }
    }

    /// RFC 2177: while IDLE runs, poll for changes so the client hears of new mail within the poll interval.
    private func updateIdlePolling(context: ChannelHandlerContext) {
        let idling = mailSession?.isIdling ?? false
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
        guard !busy, !closing, let mailSession, mailSession.isIdling else { return }
        runOnMailPool(context: context) { output in mailSession.idlePoll(output: output) }
    }

    /// During IDLE the only valid input is DONE (RFC 2177 §3).
    private func idleInput(_ unit: [UInt8], context: ChannelHandlerContext) {
        guard let mailSession else { return }
        if IMAPCommandParser.parseIdleDone(unit) {
            runOnMailPool(context: context) { output in mailSession.endIdle(output: output) }
        } else {
            perform(.send(.untaggedStatus(.bad, nil, "Expected DONE.")), context: context)
        }
    }

    private func authenticationFinished(_ result: AuthResult, context: ChannelHandlerContext) {
        guard context.channel.isActive else { return }
        busy = false
        pending = session.authenticationFinished(result) + pending
        resume(context: context)
    }

    private func resume(context: ChannelHandlerContext) {
        busy = false
        drain(context: context)
        if !busy { processInput(context: context) }
    }

    /// RFC 9051 §6.2.1: after our OK, TLS starts; plaintext the client sent behind STARTTLS is an injection attempt.
    private func startTLS(context: ChannelHandlerContext) {
        guard let tlsContext = environment.tlsContext else {
            closing = true
            context.close(promise: nil)
            return
        }
        busy = true
        framer.discardBuffered()
        context.flush()
        let written = lastWrite ?? context.eventLoop.makeSucceededVoidFuture()
        written.assumeIsolated().whenComplete { result in
            guard case .success = result else {
                context.close(promise: nil)
                return
            }
            do {
                try context.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: tlsContext), position: .first)
            } catch {
                context.close(promise: nil)
                return
            }
            // Anything read between our OK and the handler being in place was plaintext: drop it too.
            self.framer.discardBuffered()
            self.resume(context: context)
        }
    }

    // MARK: - Timeouts and shutdown

    private func scheduleTimeout(_ duration: Duration, context: ChannelHandlerContext) {
        timeout?.cancel()
        let loopBound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        timeout = context.eventLoop.scheduleTask(in: .nanoseconds(duration.nanoseconds)) {
            let (handler, context) = loopBound.value
            handler.timedOut(context: context)
        }
    }

    private func timedOut(context: ChannelHandlerContext) {
        guard !closing else { return }
        pending.removeAll()
        busy = false
        enqueue(
            [
                .send(.untaggedStatus(.bye, nil, "Disconnected for inactivity.")),
                .close(reason: "Inactivity"),
            ], context: context)
    }

    private func serverShuttingDown(context: ChannelHandlerContext) {
        guard !closing else { return }
        pending.removeAll()
        busy = false
        enqueue(
            [
                .send(.untaggedStatus(.bye, nil, "Server shutting down.")),
                .close(reason: "Server shutting down"),
            ], context: context)
    }

    private func logDisconnect() {
        let elapsed = (ContinuousClock.now - connectedAt).components.seconds
        let reason = closeReason ?? "Connection closed"
        if let user = session.authenticatedUser {
            let text = reason == "Logged out" ? "Logged out" : "Disconnected: \(reason)"
            environment.log.info(
                "imap(\(user.user))<\(session.context.sessionID)>", "\(text) in=\(bytesIn) out=\(bytesOut)")
        } else {
            environment.log.info("imap-login", session.disconnectLogLine(reason: reason, elapsedSeconds: elapsed))
        }
    }
}

extension Duration {
    var nanoseconds: Int64 {
        let (seconds, attoseconds) = components
        return seconds * 1_000_000_000 + attoseconds / 1_000_000_000
    }
}
