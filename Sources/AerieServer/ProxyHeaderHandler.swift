import AerieCore
import NIOCore
import ProxyProtocol

/// First handler on `haproxy = yes` listeners: refuses peers outside `haproxy_trusted_networks`, reads the PROXY
/// header (before TLS on implicit-TLS listeners) within `haproxy_timeout`, then installs the protocol's handlers
/// with the client's address and gets out of the way. Nothing is answered or forwarded before the header is whole.
final class ProxyHeaderHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer

    /// Adds the TLS and session handlers after this one, for the connection as the header describes it.
    typealias Install = (_ header: ProxyHeader, _ pipeline: ChannelPipeline.SynchronousOperations) throws -> Void

    private let trustedNetworks: CIDRList
    private let timeoutDuration: Duration
    private let log: any LogSink
    /// Dovecot's log prefix: the login service's name, then `haproxy:` or `haproxy(vN):`.
    private let category: String
    private let install: Install
    private var buffered: [UInt8] = []
    private var timeout: Scheduled<Void>?
    private var done = false
    private var peer = "unknown"

    init(trustedNetworks: CIDRList, timeout: Duration, log: any LogSink, category: String, install: @escaping Install) {
        self.trustedNetworks = trustedNetworks
        self.timeoutDuration = timeout
        self.log = log
        self.category = category
        self.install = install
    }

    func channelActive(context: ChannelHandlerContext) {
        peer = context.channel.remoteAddress?.ipAddress ?? "unknown"
        // The real peer must be a trusted proxy; a header from anyone else would let them choose their address.
        guard trustedNetworks.contains(peer) else {
            log.warning(category, "haproxy: Client not trusted (rip=\(peer))")
            done = true
            context.close(promise: nil)
            return
        }
        let loopBound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        timeout = context.eventLoop.scheduleTask(in: .nanoseconds(timeoutDuration.nanoseconds)) {
            let (handler, context) = loopBound.value
            guard !handler.done else { return }
            handler.fail("haproxy: Client timed out (rip=\(handler.peer))", context: context)
        }
        context.read()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !done else { return }
        let buffer = unwrapInboundIn(data)
        buffered += buffer.readableBytesView
        let header: ProxyHeader
        let length: Int
        do {
            guard let parsed = try ProxyHeaderParser.parse(Array(buffered.prefix(ProxyHeaderParser.maximumLength)))
            else { return }
            (header, length) = parsed
        } catch {
            let version = switch buffered.first {
            case UInt8(ascii: "P"): "haproxy(v1)"
            case UInt8(ascii: "\r"): "haproxy(v2)"
            default: "haproxy"
            }
            fail("\(version): Client disconnected: \(error.description) (rip=\(peer))", context: context)
            return
        }
        done = true
        timeout?.cancel()
        let rest = Array(buffered[length...])
        buffered = []
        do {
            try install(header, context.pipeline.syncOperations)
        } catch {
            context.close(promise: nil)
            return
        }
        // The handlers just added start as on a fresh connection; then they get what followed the header.
        context.fireChannelActive()
        if !rest.isEmpty {
            context.fireChannelRead(wrapInboundOut(context.channel.allocator.buffer(bytes: rest)))
            context.fireChannelReadComplete()
        }
        context.pipeline.syncOperations.removeHandler(context: context, promise: nil)
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        if !done { context.read() }
    }

    func channelInactive(context: ChannelHandlerContext) {
        timeout?.cancel()
        if !done {
            done = true
            log.info(category, "haproxy: Client disconnected (rip=\(peer))")
        }
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if done { context.fireErrorCaught(error) } else { context.close(promise: nil) }
    }

    private func fail(_ message: String, context: ChannelHandlerContext) {
        done = true
        timeout?.cancel()
        log.error(category, message)
        context.close(promise: nil)
    }
}
