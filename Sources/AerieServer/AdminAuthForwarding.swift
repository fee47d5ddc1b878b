import AerieAuth
import NIOCore
import NIOPosix

/// `aerie adm --host` commands the auth process answers: the serving process passes them on over the auth
/// socket, as `aerie adm` on the server's machine would.
enum AdminAuthForwarding {
    static let maxListing = 6 * 1024  // under AuthWire.maxString, so the note fits
    /// The auth process answers an admin request in well under this (a listing streams its parts meanwhile).
    static let answerTimeout: TimeAmount = .seconds(10)

    /// One admin request and its answer, on a connection of its own (admin requests are rare).
    static func ask(
        path: String, words: [String], group: any EventLoopGroup, timeout: TimeAmount = answerTimeout
    ) async -> (ok: Bool, text: String) {
        guard let request = try? AuthWire.encode(AuthWire.Request.admin(id: 1, arguments: words)) else {
            return (false, "the request is too large")
        }
        let loop = group.next()
        let answer = loop.makePromise(of: AdminAnswer.self)
        let bootstrap = ClientBootstrap(group: loop)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(
                        AdminAnswerHandler(answer: answer, timeout: timeout))
                }
            }
        do {
            let channel = try await bootstrap.connect(unixDomainSocketPath: path).get()
            channel.writeAndFlush(ByteBuffer(bytes: request)).whenFailure { _ in
                answer.succeed(AdminAnswer(ok: false, text: "writing to the auth process failed"))
                channel.close(promise: nil)
            }
        } catch SocketAddressError.unixDomainSocketPathTooLong {
            answer.succeed(AdminAnswer(ok: false, text: "\(path): too long"))
        } catch {
            answer.succeed(AdminAnswer(ok: false, text: "the auth process is not reachable"))
        }
        let result = (try? await answer.futureResult.get()) ?? AdminAnswer(ok: false, text: "no answer")
        return (result.ok, result.text)
    }
}

struct AdminAnswer: Sendable {
    var ok: Bool
    var text: String
}

/// Reads the auth process's answer to one admin request: a listing (`user -A`) comes in parts before the reply;
/// the answer over TLS is one text, so it is bounded.
final class AdminAnswerHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer

    private let answer: EventLoopPromise<AdminAnswer>
    private let timeout: TimeAmount
    private var frames = AuthWire.FrameBuffer()
    private var parts: [String] = []
    private var partBytes = 0
    private var timer: Scheduled<Void>?
    /// What the caller is told if the connection ends before the reply.
    private var failure = "the auth process closed the connection without an answer"

    init(answer: EventLoopPromise<AdminAnswer>, timeout: TimeAmount) {
        self.answer = answer
        self.timeout = timeout
    }

    func channelActive(context: ChannelHandlerContext) {
        timer = context.eventLoop.assumeIsolated().scheduleTask(in: timeout) { [self] in
            failure = "the auth process did not answer in time"
            context.close(promise: nil)
        }
        context.fireChannelActive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        frames.append(unwrapInboundIn(data).readableBytesView)
        do {
            while let payload = try frames.next() {
                if let part = try AuthWire.decodeAdminPart(payload) {
                    partBytes += part.utf8.count + 1
                    if partBytes <= AdminAuthForwarding.maxListing { parts.append(part) }
                    continue
                }
                let reply = try AuthWire.decodeAdminReply(payload)
                if partBytes > AdminAuthForwarding.maxListing {
                    parts.append("… (cut: list on the server for the rest)")
                }
                let text = (parts + (reply.text.isEmpty ? [] : [reply.text])).joined(separator: "\n")
                answer.succeed(AdminAnswer(ok: reply.ok, text: text))
                context.close(promise: nil)
                return
            }
        } catch {
            failure = "the auth process sent a malformed answer"
            context.close(promise: nil)
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        timer?.cancel()
        answer.succeed(AdminAnswer(ok: false, text: failure))
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }
}
