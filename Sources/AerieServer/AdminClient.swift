import AerieAuth
import NIOCore
import NIOPosix
import NIOSSL

/// `aerie adm --host HOST:PORT --cert FILE --key FILE --ca FILE …`: one admin request over TLS to a
/// `service aerie-admin` listener, presenting the admin's certificate; the server is verified against `ca`.
public enum AdminClient {
    public struct Failure: Error, CustomStringConvertible {
        public var description: String
    }

    /// The server's answer (`+`/`-` and text); throws when it cannot be reached or the handshake fails.
    public static func ask(
        host: String, port: Int, certificate: String, key: String, ca: String, arguments: [String]
    ) throws -> (ok: Bool, text: String) {
        var configuration = TLSConfiguration.makeClientConfiguration()
        configuration.minimumTLSVersion = .tlsv12
        do {
            configuration.certificateChain = try NIOSSLCertificate.fromPEMFile(certificate).map { .certificate($0) }
            configuration.privateKey = .privateKey(try NIOSSLPrivateKey(file: key, format: .pem))
            configuration.trustRoots = .certificates(try NIOSSLCertificate.fromPEMFile(ca))
        } catch {
            throw Failure(description: "cannot read --cert, --key or --ca: \(error)")
        }
        let context: NIOSSLContext
        do { context = try NIOSSLContext(configuration: configuration) } catch {
            throw Failure(description: "TLS setup: \(error)")
        }
        let request = try AuthWire.encode(AuthWire.Request.admin(id: 1, arguments: arguments))
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        defer { try? group.syncShutdownGracefully() }
        let answer = group.next().makePromise(of: [UInt8].self)
        // A name is verified against the certificate's DNS names, an address against its IP addresses.
        let isAddress = (try? SocketAddress(ipAddress: host, port: 0)) != nil
        let bootstrap = ClientBootstrap(group: group)
            .connectTimeout(.seconds(10))
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    let sync = channel.pipeline.syncOperations
                    try sync.addHandler(NIOSSLClientHandler(context: context, serverHostname: isAddress ? nil : host))
                    try sync.addHandler(AnswerCollector(answer: answer))
                }
            }
        do {
            let channel = try bootstrap.connect(host: host, port: port).wait()
            channel.writeAndFlush(ByteBuffer(bytes: request), promise: nil)
            // No answer in 30 s: closing ends the exchange with what arrived (nothing: an error below).
            channel.eventLoop.scheduleTask(in: .seconds(30)) { channel.close(promise: nil) }
            let bytes = try answer.futureResult.wait()
            channel.close(promise: nil)
            guard let status = bytes.first else {
                throw Failure(description: "the server closed the connection without an answer (certificate refused?)")
            }
            return (status == UInt8(ascii: "+"), String(decoding: bytes.dropFirst(), as: UTF8.self))
        } catch let failure as Failure {
            throw failure
        } catch {
            throw Failure(description: "\(host):\(port): \(error)")
        }
    }
}

/// Collects everything the server sends until it closes the connection.
private final class AnswerCollector: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    private let answer: EventLoopPromise<[UInt8]>
    private var bytes: [UInt8] = []
    private var done = false

    init(answer: EventLoopPromise<[UInt8]>) { self.answer = answer }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var buffer = unwrapInboundIn(data)
        if bytes.count < 16 << 20 { bytes += buffer.readBytes(length: buffer.readableBytes) ?? [] }
    }

    func channelInactive(context: ChannelHandlerContext) {
        if !done { answer.succeed(bytes) }
        done = true
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        // The server's close right after its answer may come without close_notify: the answer is complete.
        if case NIOSSLError.uncleanShutdown = error, !bytes.isEmpty { return }
        if !done { answer.fail(error) }
        done = true
        context.close(promise: nil)
    }
}
