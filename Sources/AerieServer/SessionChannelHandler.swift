import AerieAuth
import AerieCore
import NIOCore
import NIOPosix
import NIOSSL
import NIOTLS

#if canImport(Glibc)
    import Glibc
#endif

/// What a protocol asks its connection to do, in order.
enum ConnectionAction {
    case send([UInt8])
    /// Flush, then start TLS and drop anything the client pipelined behind the command.
    case startTLS
    /// Verify credentials off the event loop, then hand the result to `authenticationFinished`.
    case authenticate(AuthRequest)
    /// Run a SASL step in the auth process, then hand the reply to `saslStepFinished`.
    case saslStep(SASLStepRequest)
    /// Wait (auth failure delay); no input is processed meanwhile.
    case sleep(Duration)
    case loggedIn(AuthenticatedUser)
    /// RFC 8437 UNAUTHENTICATE: the user's session ended and the connection is back before login.
    case loggedOut(AuthenticatedUser)
    case close(reason: String)
    /// Protocol-specific work started on the event loop (a mail command on the pool, a userdb lookup).
    case perform((ChannelHandlerContext) -> Void)
}

/// The protocol side of one connection (IMAP, POP3 or LMTP): framing, the session, its log lines and its mail work.
/// It does no connection work: `SessionChannelHandler` owns limits, timers, TLS, authentication and closing, and
/// asks it for protocol work (issue 11).
protocol SessionProtocol: AnyObject, SendableMetatype {
    /// The handler driving this protocol, set before any other call (it owns the protocol, hence unowned).
    var connection: SessionChannelHandler<Self>! { get set }
    /// "imap", "pop3" or "lmtp", for `aerie adm who` and `kick`.
    var serviceName: String { get }
    /// The peer's address as the limits see it.
    var remoteIP: String { get }
    /// A service whose peers do not log in (LMTP): idle timeout and no pipelining bound.
    var withoutLogin: Bool { get }
    /// Whether this connection counts against the unauthenticated-connection limit until it logs in.
    var countsAsUnauthenticated: Bool { get }
    /// Implicit TLS: the handshake comes before anything else (and must end within `tlsHandshakeTimeout`).
    var startsWithTLS: Bool { get }
    /// The login process's hand-over this connection continues (its traffic counts go on), if any.
    var handedOver: LoginHandoff? { get }

    func greeting() -> [ConnectionAction]
    /// The protocol's way to say goodbye before closing (`* BYE …`, `-ERR …`, `421 …`).
    func goodbye(_ text: String, reason: String) -> [ConnectionAction]
    func appendInput(_ buffer: ByteBuffer)
    /// Actions for the next complete unit of input, or nil when more bytes are needed.
    func nextInput(context: ChannelHandlerContext) -> [ConnectionAction]?
    /// False when the last `nextInput` was a piece of a command (a chunk of a streamed literal), not a command: it
    /// does not count against the pipelining limit.
    var lastInputWasCommand: Bool { get }
    var hasBufferedInput: Bool { get }
    func discardBufferedInput()
    func authenticationFinished(_ result: AuthResult) -> [ConnectionAction]
    func saslStepFinished(_ reply: SASLStepReply) -> [ConnectionAction]
    /// The answer to a login while `aerie adm logins disable` holds: a temporary failure with the admin's reason.
    func loginRefused(reason: String) -> [ConnectionAction]
    func tlsEstablished(clientCertificateUser: String?, channelBinding: [UInt8]?)
    /// After a login: open the mailbox side (on the pool) before the tagged OK goes out.
    func didLogIn(_ user: AuthenticatedUser, context: ChannelHandlerContext)
    /// After UNAUTHENTICATE: drop the user's mail side and log the logout; the connection stays open.
    func didLogOut(_ user: AuthenticatedUser, context: ChannelHandlerContext)
    func logDisconnect(reason: String, elapsedSeconds: Int64)
    /// Last chance to release protocol resources (POP3 drops its maildrop without committing deletes).
    func connectionClosed()
}

extension SessionProtocol {
    var withoutLogin: Bool { false }
    var countsAsUnauthenticated: Bool { !withoutLogin && handedOver == nil }
    var handedOver: LoginHandoff? { nil }
    var lastInputWasCommand: Bool { true }
    func authenticationFinished(_ result: AuthResult) -> [ConnectionAction] { [] }
    func saslStepFinished(_ reply: SASLStepReply) -> [ConnectionAction] { [] }
    func loginRefused(reason: String) -> [ConnectionAction] { [] }
    func didLogIn(_ user: AuthenticatedUser, context: ChannelHandlerContext) {}
    func didLogOut(_ user: AuthenticatedUser, context: ChannelHandlerContext) {}
    func connectionClosed() {}
}

/// The one channel handler of IMAP, POP3 and LMTP connections: the driver of `ConnectionStateMachine` (which owns
/// the timeouts, the pipelining bound, STARTTLS ordering and closing), the shared limits, the ordered action queue,
/// TLS upgrade, authentication off the loop. `P` supplies framing, the session and the log lines.
///
/// Reading is demand-driven (autoRead off): we ask for more bytes only when every buffered command has been
/// answered, so a client can never make us buffer more than one bounded command, however fast it pipelines.
final class SessionChannelHandler<P: SessionProtocol>: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    let environment: ConnectionEnvironment
    /// The protocol work of this connection.
    let service: P
    private var pending: [ConnectionAction] = []
    /// The connection's transport policies; this handler feeds it NIO's events and performs its actions.
    private var machine: ConnectionStateMachine
    /// The tasks scheduled for the machine's timers, with the instant each was armed for.
    private var timers = TimerTasks()
    /// Something asynchronous (auth, a delay, a TLS switch, pool work) is in progress; input waits.
    var busy: Bool { machine.isWaiting }
    var closing: Bool { machine.isClosing }
    var closeReason: String? { machine.closeReason }
    /// The pre-login slot this connection holds until it logs in (`PreLoginLimiter`).
    private var preLoginSlot: UInt64?
    /// From `ClientHelloRandomSniffer`, until the handshake completes (SCRAM -PLUS channel binding).
    private var clientHelloRandom: ClientHelloRandom?
    private var registryID: UInt64?
    /// What `aerie adm who` sees of this connection, traffic included.
    let info: SessionInfo
    var bytesIn: Int { info.bytesIn }
    var bytesOut: Int {
        get { info.bytesOut }
        set { info.bytesOut = newValue }
    }
    let connectedAt = ContinuousClock.now
    private var lastWrite: EventLoopFuture<Void>?
    /// The user whose user+IP connection slot this connection holds, once logged in.
    private var userIPSlot: String?
    /// Holds one of the service's sessions (`ServiceSessionLimits`).
    private var sessionSlot = false
    private var remoteIP: String { service.remoteIP }
    private var serviceName: String { service.serviceName }

    init(environment: ConnectionEnvironment, service: P) {
        self.environment = environment
        self.service = service
        let withoutLogin = service.withoutLogin
        self.machine = ConnectionStateMachine(
            configuration: .init(
                loginTimeout: environment.loginTimeout, idleTimeout: environment.idleTimeout,
                tlsHandshakeTimeout: environment.tlsHandshakeTimeout,
                maxPipelinedPreLogin: withoutLogin ? .max : environment.maxPipelinedPreLogin,
                maxPipelinedPostLogin: withoutLogin ? .max : environment.maxPipelinedPostLogin),
            authenticated: withoutLogin)
        self.info = SessionInfo(service: service.serviceName, remoteIP: service.remoteIP)
        // A handed-over connection starts its traffic counts where the login process left them.
        if let handoff = service.handedOver {
            info.bytesIn = handoff.bytesIn
            info.bytesOut = handoff.bytesOut
        }
        service.connection = self
    }

    // MARK: - Channel events

    func channelActive(context: ChannelHandlerContext) {
        let loopBound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        registryID = environment.registry.register(info) { text, reason in
            loopBound.eventLoop.execute {
                let (handler, context) = loopBound.value
                handler.forceGoodbye(text, reason: reason, context: context)
            }
        }
        apply(machine.connected(now: .now, implicitTLS: service.startsWithTLS), context: context)
        apply(machine.admission(checkAdmission(context: context), now: .now), context: context)
    }

    /// Takes the slot a new connection needs; the machine decides what the client hears.
    private func checkAdmission(context: ChannelHandlerContext) -> ConnectionStateMachine.LimitCheck {
        // A service without a login (LMTP), and a session the login process handed over, count their connections
        // against client_limit × process_limit; the latter is told as if it had logged in here.
        guard service.countsAsUnauthenticated else {
            return acquireSessionSlot() ? .admitted : .sessionsFull(limit: sessionLimit)
        }
        let admission = admitPreLogin(context: context)
        if case .tooFast(first: true) = admission {
            environment.log.info(
                "\(serviceName)-login",
                "Connection rate from \(remoteIP) over login_max_connection_rate_per_ip: refusing its "
                    + "connections until it slows down")
        }
        return Self.limitCheck(admission)
    }

    private static func limitCheck(_ admission: PreLoginLimiter.Admission) -> ConnectionStateMachine.LimitCheck {
        switch admission {
        case .admitted: .admitted
        case .tooFast: .tooFast
        case .tooManyFromIP: .tooManyFromIP
        case .full: .preLoginFull
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        // Cancelled rather than left to fire: every pending task makes the loop's other cancellations slower.
        apply(machine.peerClosed(), context: context)
        releaseUnauthenticatedSlot()
        if let userIPSlot { environment.userIPConnections.release(user: userIPSlot, ip: remoteIP) }
        releaseSessionSlot()
        if let registryID { environment.registry.unregister(registryID) }
        let elapsed = (ContinuousClock.now - connectedAt).components.seconds
        if machine.logsDisconnect {
            service.logDisconnect(reason: closeReason ?? "Connection closed", elapsedSeconds: elapsed)
        }
        service.connectionClosed()
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let buffer = unwrapInboundIn(data)
        info.bytesIn += buffer.readableBytes
        // Dropped after a close, and between a STARTTLS answer and TLS (plaintext injection).
        guard machine.acceptsBytes else { return }
        service.appendInput(buffer)
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        processInput(context: context)
    }

    /// Backpressure: no input is handled or read while the peer does not take our output (issue 11).
    func channelWritabilityChanged(context: ChannelHandlerContext) {
        apply(machine.writabilityChanged(isWritable: context.channel.isWritable), context: context)
        context.fireChannelWritabilityChanged()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if let sslError = error as? NIOSSLError, case .uncleanShutdown = sslError {
            // The client dropped TCP without a TLS close_notify: common and harmless.
            context.close(promise: nil)
            return
        }
        if closeReason == nil {
            // Short, stable reasons: raw library descriptions carry build paths and unbalanced parentheses.
            if let ioError = error as? IOError {
                machine.noteCloseReason(
                    "Connection closed: " + (String(validatingCString: strerror(ioError.errnoCode)) ?? "I/O error"))
            } else if error is NIOSSLError || error is BoringSSLError {
                machine.noteCloseReason("TLS handshaking failed")
            } else if let compressionError = error as? CompressionError {
                machine.noteCloseReason(
                    compressionError == .internalError ? "Compression failed" : "Invalid compressed input")
            } else {
                machine.noteCloseReason("Connection error")
            }
        }
        context.close(promise: nil)
    }

    /// The handshake only completes after `ClientCertificateVerifier` accepted the certificate the client presented.
    private func clientCertificateUser(context: ChannelHandlerContext) -> String? {
        guard let verifier = environment.clientCertificates, verifier.usernameAttribute != nil,
            let tls = try? context.pipeline.syncOperations.handler(type: NIOSSLServerHandler.self),
            let peer = tls.peerCertificate
        else { return nil }
        return verifier.username(peer)
    }

    /// RFC 9266: TLS 1.3 only (for TLS 1.2 it needs the extended master secret, which NIOSSL does not report).
    private func channelBinding(context: ChannelHandlerContext) -> [UInt8]? {
        guard let random = clientHelloRandom?.bytes else { return nil }
        clientHelloRandom = nil
        let binding = TLSExporter.channelBinding(clientRandom: random)
        guard let tls = try? context.pipeline.syncOperations.handler(type: NIOSSLServerHandler.self),
            tls.tlsVersion == .tlsv13
        else { return nil }
        return binding
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let random = event as? ClientHelloRandom {
            clientHelloRandom = random
            return
        }
        if let tlsEvent = event as? TLSUserEvent, case .handshakeCompleted = tlsEvent {
            apply(machine.handshakeCompleted(), context: context)
            service.tlsEstablished(
                clientCertificateUser: clientCertificateUser(context: context),
                channelBinding: channelBinding(context: context))
        }
        context.fireUserInboundEventTriggered(event)
    }

    // MARK: - Input

    func processInput(context: ChannelHandlerContext) {
        while machine.canHandleInput, let actions = service.nextInput(context: context) {
            switch machine.commandReceived(now: .now, isCommand: service.lastInputWasCommand) {
            case .refuse(let text, let reason):
                enqueue(service.goodbye(text, reason: reason), context: context)
                return
            case .handle(let rearm):
                if let rearm { arm(.inactivity, at: rearm, context: context) }
            }
            enqueue(actions, context: context)
        }
        if machine.inputExhausted(hasBufferedInput: service.hasBufferedInput) {
            context.flush()
            context.read()
        } else if !machine.isWritable {
            // Writability only comes back once what was written goes out.
            context.flush()
        }
    }

    // MARK: - Actions

    func enqueue(_ actions: [ConnectionAction], context: ChannelHandlerContext) {
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

    private func perform(_ action: ConnectionAction, context: ChannelHandlerContext) {
        switch action {
        case .send(let bytes):
            bytesOut += bytes.count
            lastWrite = context.write(wrapOutboundOut(context.channel.allocator.buffer(bytes: bytes)))

        case .startTLS:
            startTLS(context: context)

        case .authenticate(let request):
            if let reason = environment.loginSwitch.refusal(for: request.service) {
                // Refused before the auth process hears of it: no password is checked during an incident.
                pending = service.loginRefused(reason: reason) + pending
                return
            }
            machine.waitStarted()
            // Waiting for its answer: not the pre-login connection to drop when slots run out.
            if let preLoginSlot { environment.preLogin.setAuthenticating(preLoginSlot, true) }
            let loopBound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
            let authenticator = environment.authenticator
            Task(executorPreference: taskExecutor(context)) {
                let result = await authenticator.authenticate(request)
                loopBound.eventLoop.execute {
                    let (handler, context) = loopBound.value
                    if let slot = handler.preLoginSlot { handler.environment.preLogin.setAuthenticating(slot, false) }
                    guard context.channel.isActive else { return }
                    handler.pending = handler.service.authenticationFinished(result) + handler.pending
                    handler.resume(context: context)
                }
            }

        case .saslStep(let request):
            machine.waitStarted()
            let loopBound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
            let authenticator = environment.authenticator as? any SASLStepAuthenticator
            Task(executorPreference: taskExecutor(context)) {
                let reply =
                    await authenticator?.saslStep(request) ?? .finished(.failure(.temporaryFailure), serverFinal: nil)
                loopBound.eventLoop.execute {
                    let (handler, context) = loopBound.value
                    guard context.channel.isActive else { return }
                    handler.pending = handler.service.saslStepFinished(reply) + handler.pending
                    handler.resume(context: context)
                }
            }

        case .sleep(let duration):
            machine.waitStarted()
            context.flush()
            let loopBound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
            context.eventLoop.scheduleTask(in: .nanoseconds(duration.nanoseconds)) {
                let (handler, context) = loopBound.value
                handler.resume(context: context)
            }

        case .loggedIn(let user):
            releaseUnauthenticatedSlot()
            let check: ConnectionStateMachine.LimitCheck
            if !acquireSessionSlot() {
                check = .sessionsFull(limit: sessionLimit)
            } else if !environment.userIPConnections.tryAcquire(user: user.user, ip: remoteIP) {
                releaseSessionSlot()
                check = .userIPFull(limit: environment.userIPConnections.limit)
            } else {
                userIPSlot = user.user
                info.user = user.user
                check = .admitted
            }
            apply(machine.loginLimitsChecked(check, now: .now), context: context)
            if check == .admitted { service.didLogIn(user, context: context) }

        case .loggedOut(let user):
            releaseSessionSlot()
            if let userIPSlot {
                environment.userIPConnections.release(user: userIPSlot, ip: remoteIP)
                self.userIPSlot = nil
            }
            info.user = nil
            service.didLogOut(user, context: context)
            // Back before login: the login timeout, the pipelining limit (from here on) and the
            // unauthenticated-connection limit apply again.
            apply(machine.loggedOut(now: .now), context: context)
            if service.countsAsUnauthenticated {
                apply(machine.preLoginRechecked(Self.limitCheck(admitPreLogin(context: context))), context: context)
            }

        case .perform(let work):
            work(context)

        case .close(let reason):
            info.isClosing = true
            pending.removeAll()
            apply(machine.closeRequested(now: .now, reason: reason), context: context)
        }
    }

    /// Continue after asynchronous work: the rest of the queue, then buffered input.
    func resume(context: ChannelHandlerContext) {
        machine.waitEnded()
        drain(context: context)
        if !busy { processInput(context: context) }
    }

    /// Puts actions in front of the queue (answers to asynchronous work) and continues.
    func resume(with actions: [ConnectionAction], context: ChannelHandlerContext) {
        pending = actions + pending
        resume(context: context)
    }

    /// Whose share of the mail pools this connection's work counts against: its user once logged in.
    var poolUser: String { userIPSlot ?? "connection \(ObjectIdentifier(self).hashValue)" }

    /// Runs blocking mail work off the event loop; input waits until it is done and its output written.
    func runOnMailPool(
        context: ChannelHandlerContext, writes: Bool = false, _ work: @escaping @Sendable (ChannelOutput) -> Void,
        then finished: @escaping (ChannelHandlerContext) -> Void = { _ in }
    ) {
        machine.waitStarted()
        context.flush()
        let pool = writes ? environment.mailAccess.writePool : environment.mailAccess.pool
        let user = poolUser
        let output = ChannelOutput(channel: context.channel, pool: (pool, user))
        pool.run(user: user, eventLoop: context.eventLoop) {
            work(output)
            // The last chunk goes out from the loop with the completion: one hop back instead of two.
            return (output.bytesWritten, output.takePending())
        }.assumeIsolated().whenComplete { result in
            let last: ByteBuffer?
            if case .success(let (written, buffer)) = result {
                self.bytesOut += written + buffer.readableBytes
                last = buffer
            } else {
                last = nil
            }
            guard context.channel.isActive else { return }
            if let last, last.readableBytes > 0 { self.lastWrite = context.writeAndFlush(self.wrapOutboundOut(last)) }
            finished(context)
            self.resume(context: context)
        }
    }

    /// Writes a response a `.perform` step built on the event loop itself.
    func write(_ bytes: [UInt8], context: ChannelHandlerContext) { perform(.send(bytes), context: context) }

    /// In the login process, asynchronous work runs on the connection's event loop, never on the global executor:
    /// libdispatch's worker pool watches its threads through /proc/<tid>/stat and traps when it cannot open it,
    /// which it cannot in the login process's empty chroot.
    private func taskExecutor(_ context: ChannelHandlerContext) -> EventLoopTaskExecutor? {
        environment.handoff == nil ? nil : EventLoopTaskExecutor(loop: context.eventLoop)
    }

    /// Login process (issue 11): passes the connection to the mail service with `header` and relays its bytes
    /// from now on. The connection's limits, timers and log lines go with it: nothing else runs here.
    func handOff(_ header: LoginHandoff, context: ChannelHandlerContext) {
        // What the login process carried counts for `aerie adm who` in the mail service.
        var header = header
        header.bytesIn = bytesIn
        header.bytesOut = bytesOut
        apply(machine.handedOff(), context: context)
        releaseUnauthenticatedSlot()
        if let registryID { environment.registry.unregister(registryID) }
        registryID = nil
        pending.removeAll()
        context.flush()
        guard let sender = environment.handoff else { return context.close(promise: nil) }
        // Plaintext (our side of it): the socket itself goes; the mail service owns it, a login restart spares it.
        if !header.isTLS, let local = context.channel.localAddress, let remote = context.channel.remoteAddress,
            local.protocol != .unix, let fd = SocketSearch.descriptor(local: local, remote: remote)
        {
            let sent = sender.send(header, fd: fd)
            if !sent {
                environment.log.error("\(serviceName)-login", "Cannot hand the session over to the mail service")
            }
            let channel = context.channel
            context.pipeline.syncOperations.removeHandler(context: context, promise: nil)
            channel.close(promise: nil)
            return
        }
        guard let pair = LoginHandoffSender.relayPair() else {
            environment.log.error("\(serviceName)-login", "Cannot hand the session over: socketpair: \(systemError())")
            return context.close(promise: nil)
        }
        let sent = sender.send(header, fd: pair.1)
        close(pair.1)
        guard sent else {
            close(pair.0)
            environment.log.error("\(serviceName)-login", "Cannot hand the session over to the mail service")
            return context.close(promise: nil)
        }
        let (clientSide, mailSide) = RelayHandler.pair()
        do {
            try context.pipeline.syncOperations.addHandler(clientSide, position: .after(self))
        } catch {
            close(pair.0)
            return context.close(promise: nil)
        }
        let channel = context.channel
        context.pipeline.syncOperations.removeHandler(context: context, promise: nil)
        let relayFD = pair.0
        let boundMailSide = NIOLoopBound(mailSide, eventLoop: channel.eventLoop)
        ClientBootstrap(group: channel.eventLoop)
            .channelInitializer { relay in
                relay.eventLoop.makeCompletedFuture {
                    try relay.pipeline.syncOperations.addHandler(boundMailSide.value)
                }
            }
            .withConnectedSocket(relayFD)
            .whenComplete { result in
                switch result {
                case .success:
                    channel.setOption(.autoRead, value: true).whenFailure { _ in channel.close(promise: nil) }
                case .failure:
                    close(relayFD)
                    channel.close(promise: nil)
                }
            }
    }

    /// Marks the connection busy while some other asynchronous step (a lookup) runs; call `resume` after.
    func beginWaiting() { machine.waitStarted() }

    private func releaseUnauthenticatedSlot() {
        if let preLoginSlot {
            environment.preLogin.release(preLoginSlot)
            self.preLoginSlot = nil
        }
    }

    /// Takes a pre-login slot; when the shared ones run out, the oldest idle pre-login connection makes room and is
    /// told so (Dovecot's "Connection queue full").
    private func admitPreLogin(context: ChannelHandlerContext) -> PreLoginLimiter.Admission {
        let loopBound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        let admission = environment.preLogin.admit(ip: remoteIP, now: .now) {
            loopBound.eventLoop.execute {
                let (handler, context) = loopBound.value
                handler.preLoginSlot = nil
                handler.forceGoodbye("Connection queue full", reason: "Connection queue full", context: context)
            }
        }
        if case .admitted(let id) = admission { preLoginSlot = id }
        return admission
    }

    /// One of the service's client_limit × process_limit sessions.
    private func acquireSessionSlot() -> Bool {
        guard !sessionSlot else { return true }
        sessionSlot = environment.sessionLimits.tryAcquire(serviceName)
        if !sessionSlot {
            environment.log.warning("master", "service(\(serviceName)): \(sessionLimitReason): refusing a session")
        }
        return sessionSlot
    }

    private func releaseSessionSlot() {
        if sessionSlot { environment.sessionLimits.release(serviceName) }
        sessionSlot = false
    }

    private var sessionLimit: Int { environment.sessionLimits.limit(serviceName) ?? 0 }
    private var sessionLimitReason: String { ConnectionStateMachine.sessionLimitReason(limit: sessionLimit) }

    /// RFC 9051 §6.2.1, RFC 2595 §4: after our OK, TLS starts; plaintext the client sent behind the command is an
    /// injection attempt and is dropped.
    private func startTLS(context: ChannelHandlerContext) {
        guard let tlsContext = environment.tlsContext else {
            return apply(machine.tlsUnavailable(), context: context)
        }
        apply(machine.startTLSRequested(), context: context)
        context.flush()
        let written = lastWrite ?? context.eventLoop.makeSucceededVoidFuture()
        written.assumeIsolated().whenComplete { result in
            guard case .success = result else { return self.apply(self.machine.tlsUnavailable(), context: context) }
            do {
                let handlers = TLSSetup.serverHandlers(environment: self.environment, context: tlsContext)
                try context.pipeline.syncOperations.addHandlers(handlers, position: .first)
            } catch {
                return self.apply(self.machine.tlsUnavailable(), context: context)
            }
            // Anything read between our OK and the handler being in place was plaintext: dropped too.
            self.apply(self.machine.tlsInstalled(now: .now), context: context)
            self.resume(context: context)
        }
    }

    // MARK: - Timeouts and shutdown

    /// Performs what the state machine decided.
    private func apply(_ actions: [ConnectionStateMachine.Action], context: ChannelHandlerContext) {
        for action in actions {
            switch action {
            case .armTimer(let timer, let at):
                arm(timer, at: at, context: context)
            case .cancelTimer(let timer):
                timers[timer]?.task.cancel()
                timers[timer] = nil
            case .goodbye(let text, let reason):
                pending.removeAll()
                enqueue(service.goodbye(text, reason: reason), context: context)
            case .closeAfterFlush:
                context.flush()
                let written = lastWrite ?? context.eventLoop.makeSucceededVoidFuture()
                written.assumeIsolated().whenComplete { _ in context.close(promise: nil) }
            case .closeNow:
                context.close(promise: nil)
            case .discardBufferedInput:
                service.discardBufferedInput()
            case .greet:
                enqueue(service.greeting(), context: context)
            case .read:
                context.read()
            case .goodbyeAfterQueued(let text, let reason):
                // Performed from the queue itself: it goes on with these after what was queued.
                pending += service.goodbye(text, reason: reason)
            case .resumeInput:
                processInput(context: context)
            }
        }
    }

    /// Schedules `timer` for the machine, replacing the task armed before. The login and idle deadlines move on every
    /// command without coming here: the machine re-arms only when a check fires early or a deadline comes sooner
    /// (cancelling a task of NIO's timer heap costs a scan of every pending task of the loop).
    private func arm(
        _ timer: ConnectionStateMachine.Timer, at: ConnectionStateMachine.Instant, context: ChannelHandlerContext
    ) {
        timers[timer]?.task.cancel()
        let loopBound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        let task = context.eventLoop.scheduleTask(deadline: .uptimeNanoseconds(UInt64(max(0, at.nanoseconds)))) {
            let (handler, context) = loopBound.value
            // This task has run: not one to cancel any more (a replaced one is not `timers[timer]`).
            if handler.timers[timer]?.at == at { handler.timers[timer] = nil }
            handler.apply(handler.machine.timerFired(timer, at: at, now: .now), context: context)
        }
        timers[timer] = (at, task)
    }

    private func forceGoodbye(_ text: String, reason: String, context: ChannelHandlerContext) {
        apply(machine.goodbye(text, reason: reason), context: context)
    }
}

extension Duration {
    var nanoseconds: Int64 { nanosecondCount }
}

extension ConnectionStateMachine.Instant {
    /// NIO's monotonic clock, the one the event loop schedules with.
    static var now: Self { Self(nanoseconds: Int64(NIODeadline.now().uptimeNanoseconds)) }
}

/// The scheduled tasks of a connection's timers (three at most: no dictionary per connection).
struct TimerTasks {
    typealias Entry = (at: ConnectionStateMachine.Instant, task: Scheduled<Void>)
    private var inactivity: Entry?
    private var tlsHandshake: Entry?
    private var closeGuard: Entry?

    subscript(timer: ConnectionStateMachine.Timer) -> Entry? {
        get {
            switch timer {
            case .inactivity: inactivity
            case .tlsHandshake: tlsHandshake
            case .closeGuard: closeGuard
            }
        }
        set {
            switch timer {
            case .inactivity: inactivity = newValue
            case .tlsHandshake: tlsHandshake = newValue
            case .closeGuard: closeGuard = newValue
            }
        }
    }
}
