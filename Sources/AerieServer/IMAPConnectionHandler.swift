import AerieAuth
import AerieCore
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
            return
        }
        holdsUnauthenticatedSlot = true
        scheduleTimeout(environment.loginTimeout, context: context)
        enqueue(session.greeting(), context: context)
        context.read()
    }

    func channelInactive(context: ChannelHandlerContext) {
        timeout?.cancel()
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
            _ = user

        case .mailCommand(let command):
            // Mailbox access arrives with the storage slice; until then the command is refused, not dropped.
            let name = command.redactedDescription.split(separator: " ").dropFirst().first.map(String.init) ?? "Command"
            perform(.send(.tagged(command.tag, .no, .unavailable, "\(name) is not available yet.")), context: context)

        case .close(let reason):
            closing = true
            pending.removeAll()
            if closeReason == nil { closeReason = reason }
            context.writeAndFlush(wrapOutboundOut(context.channel.allocator.buffer(capacity: 0))).assumeIsolated()
                .whenComplete { _ in context.close(promise: nil) }
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
