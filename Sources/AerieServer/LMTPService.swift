import AerieAuth
import AerieCore
import LMTPProtocol
import LMTPSession
import NIOCore

/// One LMTP connection from the MTA (RFC 2033): recipients resolved through the userdb, each copy durable before
/// its 250.
final class LMTPService: SessionProtocol {
    let environment: ConnectionEnvironment
    unowned var connection: SessionChannelHandler<LMTPService>!
    private var session: LMTPSession
    private var received: [UInt8] = []

    init(environment: ConnectionEnvironment, context: ConnectionContext) {
        self.environment = environment
        self.session = LMTPSession(
            settings: environment.lmtp, context: context, concurrency: environment.lmtpConcurrency)
    }

    func greeting() -> [ConnectionAction] { translate(session.greeting()) }

    func goodbye(_ text: String, reason: String) -> [ConnectionAction] {
        [.send(LMTPReply(code: 421, enhanced: "4.3.2", text).bytes), .close(reason: reason)]
    }

    /// The MTA is a trusted peer on a local socket, not a login: it does not take an unauthenticated slot.
    var withoutLogin: Bool { true }
    var remoteIP: String { session.context.remoteIP }
    var startsWithTLS: Bool { session.context.isTLS }
    var serviceName: String { "lmtp" }
    var hasBufferedInput: Bool { !received.isEmpty }
    func discardBufferedInput() { received.removeAll() }
    func tlsEstablished(clientCertificateUser: String?, channelBinding: [UInt8]?) {
        session.tlsEstablished()
    }

    func appendInput(_ buffer: ByteBuffer) {
        received += buffer.readableBytesView
    }

    /// The session owns its framers (commands, DATA, BDAT), so it gets every byte and pipelining stays exact.
    func nextInput(context: ChannelHandlerContext) -> [ConnectionAction]? {
        guard !received.isEmpty, !session.isBusy else { return nil }
        let bytes = received
        received.removeAll(keepingCapacity: true)
        return translate(session.receive(bytes))
    }

    private func translate(_ actions: [LMTPSessionAction]) -> [ConnectionAction] {
        actions.map { action in
            switch action {
            case .send(let bytes): .send(bytes)
            case .startTLS: .startTLS
            case .close(let reason): .close(reason: reason)
            case .lookupRecipient(let user): .perform { [unowned self] context in lookUp(user, context: context) }
            case .deliver(let delivery): .perform { [unowned self] context in deliver(delivery, context: context) }
            }
        }
    }

    private func lookUp(_ user: String, context: ChannelHandlerContext) {
        connection.beginWaiting()
        let lookup = environment.userLookup
        let loopBound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        Task {
            let found = await lookup(user)
            loopBound.eventLoop.execute {
                let (handler, context) = loopBound.value
                guard context.channel.isActive else { return }
                let actions: [LMTPSessionAction]
                switch found {
                case .success(let user): actions = handler.session.recipientLookedUp(user)
                // The auth process is restarting, or a file could not be read: 451, the MTA retries.
                case .failure(.temporaryFailure): actions = handler.session.recipientLookupFailed()
                case .failure: actions = handler.session.recipientLookedUp(nil)
                }
                handler.connection.resume(with: handler.translate(actions), context: context)
            }
        }
    }

    /// Writing and fsyncing the copies is blocking work: the mail pool, never the event loop. Recipients of
    /// another uid/gid (as root) are written by the master's `lmtp-deliver` workers, one per uid/gid (issue 11).
    private func deliver(_ delivery: LMTPDelivery, context: ChannelHandlerContext) {
        guard let uidDelivery = environment.uidDelivery,
            delivery.recipients.contains(where: { LMTPUIDDeliveryClient.needsWorker($0.user) })
        else { return deliverHere(delivery, context: context) }
        connection.beginWaiting()
        let (ownIndices, groups) = LMTPUIDDeliveryClient.split(delivery.recipients.map(\.user))
        let own = LMTPDelivery(
            sender: delivery.sender, recipients: ownIndices.map { delivery.recipients[$0] }, message: delivery.message,
            trace: delivery.trace)
        let sessionID = session.context.sessionID
        let loopBound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        Task {
            var replies = [LMTPReply?](repeating: nil, count: delivery.recipients.count)
            await withTaskGroup(of: ([Int], [LMTPReply]).self) { tasks in
                for group in groups {
                    let part = LMTPDelivery(
                        sender: delivery.sender, recipients: group.map { delivery.recipients[$0] },
                        message: delivery.message, trace: delivery.trace)
                    tasks.addTask { (group, await uidDelivery.deliver(part, sessionID: sessionID)) }
                }
                for await (group, answers) in tasks {
                    for (index, answer) in zip(group, answers) { replies[index] = answer }
                }
            }
            let foreign = replies
            loopBound.eventLoop.execute {
                let (handler, context) = loopBound.value
                guard context.channel.isActive else { return }
                handler.deliverHere(own, context: context) { ownReplies in
                    var merged = foreign
                    var next = ownReplies.makeIterator()
                    for index in merged.indices where merged[index] == nil { merged[index] = next.next() }
                    return merged.enumerated().map {
                        $1 ?? LMTPUIDDeliveryWire.temporaryFailure(delivery.recipients[$0].address)
                    }
                }
            }
        }
    }

    /// Writes the copies in this process, then answers with `merge` of the replies.
    private func deliverHere(
        _ delivery: LMTPDelivery, context: ChannelHandlerContext,
        merge: @escaping ([LMTPReply]) -> [LMTPReply] = { $0 }
    ) {
        guard !delivery.recipients.isEmpty else {
            return connection.resume(with: translate(session.deliveryFinished(merge([]))), context: context)
        }
        let access = environment.mailAccess
        let log = environment.log
        let sessionID = session.context.sessionID
        let replies = Box<[LMTPReply]>()
        // Taken out on the pool, so the recipients' concurrency slots go when the copies are written, before the
        // replies are sent, not whenever the pool lets go of its closure.
        let pending = Box<LMTPDelivery>()
        pending.value = delivery
        connection.runOnMailPool(context: context, writes: true) { _ in
            guard let delivery = pending.value else { return }
            pending.value = nil
            replies.value = LMTPDeliverer.deliver(
                delivery, store: { try access.store(for: $0) }, log: log, sessionID: sessionID,
                separator: access.sessionSettings.separator)
        } then: { [unowned self] context in
            connection.resume(with: translate(session.deliveryFinished(merge(replies.value ?? []))), context: context)
        }
    }

    /// A dropped connection ends its transaction at once, which gives back the recipients' concurrency slots.
    func connectionClosed() { session.connectionClosed() }

    func logDisconnect(reason: String, elapsedSeconds: Int64) {
        environment.log.debug("lmtp", "Disconnect from \(session.context.remoteIP): \(reason)")
    }
}
