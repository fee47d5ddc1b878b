#if canImport(Glibc)
import Glibc
#endif
import NIOCore
import NIOPosix
import NIOSSL

/// How a tagged (or greeting) response ended.
enum IMAPStatus: String, Sendable {
    case ok = "OK", no = "NO", bad = "BAD", bye = "BYE", preauth = "PREAUTH", other = "?"
}

/// The outcome of one IMAP command: its tagged status and what came before it.
struct IMAPReply: Sendable {
    var status: IMAPStatus
    /// The tagged line without the tag (capped), for error reports and APPENDUID.
    var text: String
    /// Bytes of all responses to this command, literals included.
    var bytes: Int
    /// Untagged responses seen for this command.
    var untagged: Int
    /// The last `* N EXISTS` seen for this command.
    var exists: Int?
    var isOK: Bool { status == .ok }
}

/// A command handed to the pipeline: the handler assigns the tag.
struct IMAPRequest: Sendable {
    var command: String
    /// Sent after the server's `+` continuation; the command line must end with `{n}`.
    var literal: ByteBuffer?
    var promise: EventLoopPromise<IMAPReply>
}

struct BenchError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// Scans IMAP responses (lines plus `{n}` literals, consumed without copying) and completes one command at a time.
final class IMAPClientHandler: ChannelDuplexHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundIn = IMAPRequest
    typealias OutboundOut = ByteBuffer

    private var greeting: EventLoopPromise<IMAPReply>?
    private var pending: IMAPRequest?
    private var pendingTag: [UInt8] = []
    private var tagCounter = 0
    private var partial: ByteBuffer?
    private var literalRemaining = 0
    private var firstSegment = true
    private var bytes = 0
    private var untagged = 0
    private var exists: Int?
    private var context: ChannelHandlerContext?
    private static let maxLine = 1 << 20

    init(greeting: EventLoopPromise<IMAPReply>) {
        self.greeting = greeting
    }

    func handlerAdded(context: ChannelHandlerContext) { self.context = context }
    func handlerRemoved(context: ChannelHandlerContext) { self.context = nil }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        let request = unwrapOutboundIn(data)
        guard pending == nil else {
            request.promise.fail(BenchError("a command is already in flight"))
            promise?.fail(BenchError("a command is already in flight"))
            return
        }
        tagCounter += 1
        let tag = "a\(tagCounter)"
        pendingTag = Array(tag.utf8)
        pending = request
        var buffer = context.channel.allocator.buffer(capacity: tag.utf8.count + request.command.utf8.count + 3)
        buffer.writeString(tag)
        buffer.writeInteger(UInt8(ascii: " "))
        buffer.writeString(request.command)
        buffer.writeStaticString("\r\n")
        context.write(wrapOutboundOut(buffer), promise: promise)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var input = unwrapInboundIn(data)
        while input.readableBytes > 0 {
            if literalRemaining > 0 {
                let n = min(literalRemaining, input.readableBytes)
                input.moveReaderIndex(forwardBy: n)
                literalRemaining -= n
                bytes += n
                continue
            }
            guard let lf = Self.findLF(input) else {
                var rest = input.readSlice(length: input.readableBytes)!
                if partial == nil { partial = rest } else { partial!.writeBuffer(&rest) }
                if partial!.readableBytes > Self.maxLine {
                    fail(context: context, BenchError("response line longer than \(Self.maxLine) bytes"))
                }
                return
            }
            var slice = input.readSlice(length: lf + 1)!
            if var line = partial {
                partial = nil
                line.writeBuffer(&slice)
                handleLine(context: context, line)
            } else {
                handleLine(context: context, slice)
            }
        }
    }

    private static func findLF(_ buffer: ByteBuffer) -> Int? {
        buffer.withUnsafeReadableBytes { raw -> Int? in
            guard let base = raw.baseAddress, raw.count > 0,
                let hit = memchr(base, 0x0A, raw.count)
            else { return nil }
            return base.distance(to: UnsafeRawPointer(hit))
        }
    }

    /// `{123}\r\n` (or `~{123}`, `{123+}`) at the end of a line: the literal's length.
    private static func literalLength(_ line: ByteBuffer) -> Int? {
        line.withUnsafeReadableBytes { raw -> Int? in
            var end = raw.count - 1
            guard end >= 0, raw[end] == 0x0A else { return nil }
            end -= 1
            if end >= 0, raw[end] == 0x0D { end -= 1 }
            guard end >= 0, raw[end] == UInt8(ascii: "}") else { return nil }
            end -= 1
            if end >= 0, raw[end] == UInt8(ascii: "+") || raw[end] == UInt8(ascii: "-") { end -= 1 }
            var value = 0
            var multiplier = 1
            var digits = 0
            while end >= 0, raw[end] >= 0x30, raw[end] <= 0x39 {
                value += Int(raw[end] - 0x30) * multiplier
                multiplier *= 10
                digits += 1
                end -= 1
                if digits > 12 { return nil }
            }
            guard digits > 0, end >= 0, raw[end] == UInt8(ascii: "{") else { return nil }
            return value
        }
    }

    private func handleLine(context: ChannelHandlerContext, _ line: ByteBuffer) {
        bytes += line.readableBytes
        if let n = Self.literalLength(line) {
            firstSegment = false
            literalRemaining = n
            return
        }
        defer { firstSegment = true }
        guard firstSegment else {
            untagged += 1  // the end of an untagged response that carried literals
            return
        }
        let text = Self.lineText(line)
        if text.hasPrefix("+") {
            if let literal = pending?.literal {
                pending!.literal = nil
                var out = literal
                out.writeStaticString("\r\n")
                context.writeAndFlush(wrapOutboundOut(out), promise: nil)
            }
            return
        }
        if text.hasPrefix("* ") {
            untagged += 1
            if let promise = greeting {
                greeting = nil
                let word = text.dropFirst(2).prefix { $0 != " " }
                let reply = IMAPReply(
                    status: IMAPStatus(rawValue: String(word).uppercased()) ?? .other, text: String(text.prefix(300)),
                    bytes: bytes, untagged: 0, exists: nil)
                resetCounters()
                promise.succeed(reply)
                return
            }
            if text.hasSuffix(" EXISTS") || text.hasSuffix(" exists") {
                let parts = text.split(separator: " ")
                if parts.count == 3, let n = Int(parts[1]) { exists = n }
            }
            return
        }
        // Tagged.
        guard let request = pending else { return }
        let tagEnd = text.firstIndex(of: " ") ?? text.endIndex
        guard Array(text[..<tagEnd].utf8) == pendingTag else { return }
        let rest = text[tagEnd...].drop { $0 == " " }
        let word = rest.prefix { $0 != " " }
        let reply = IMAPReply(
            status: IMAPStatus(rawValue: String(word).uppercased()) ?? .other, text: String(rest.prefix(300)),
            bytes: bytes, untagged: untagged, exists: exists)
        pending = nil
        resetCounters()
        request.promise.succeed(reply)
    }

    private func resetCounters() {
        bytes = 0
        untagged = 0
        exists = nil
    }

    private static func lineText(_ line: ByteBuffer) -> String {
        var view = line
        var length = view.readableBytes
        view.withUnsafeReadableBytes { raw in
            while length > 0, raw[length - 1] == 0x0A || raw[length - 1] == 0x0D { length -= 1 }
        }
        return view.readString(length: min(length, 4096)) ?? ""
    }

    private func fail(context: ChannelHandlerContext, _ error: any Error) {
        greeting?.fail(error)
        greeting = nil
        pending?.promise.fail(error)
        pending = nil
        context.close(promise: nil)
    }

    func channelInactive(context: ChannelHandlerContext) {
        let error = BenchError("connection closed by the server")
        greeting?.fail(error)
        greeting = nil
        pending?.promise.fail(error)
        pending = nil
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        fail(context: context, error)
    }
}

/// Where to connect and how.
struct Endpoint: Sendable {
    var host: String
    var port: Int
    var unixPath: String?
    var tls: NIOSSLContext?

    static func makeTLSContext() throws -> NIOSSLContext {
        var configuration = TLSConfiguration.makeClientConfiguration()
        configuration.certificateVerification = .none  // loopback benchmark against self-signed certificates
        return try NIOSSLContext(configuration: configuration)
    }

    func connect(on loop: any EventLoop, handler: @escaping @Sendable () -> any ChannelHandler) async throws -> any Channel {
        let tls = self.tls
        let bootstrap = ClientBootstrap(group: loop)
            .connectTimeout(.seconds(30))
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    if let tls {
                        try channel.pipeline.syncOperations.addHandler(NIOSSLClientHandler(context: tls, serverHostname: nil))
                    }
                    try channel.pipeline.syncOperations.addHandler(handler())
                }
            }
        if let unixPath {
            return try await bootstrap.connect(unixDomainSocketPath: unixPath).get()
        }
        return try await bootstrap.channelOption(.socketOption(.tcp_nodelay), value: 1).connect(host: host, port: port).get()
    }
}

/// One IMAP connection, usable from any task; commands run one at a time.
struct IMAPConnection: Sendable {
    let channel: any Channel
    let greeting: IMAPReply

    static func open(_ endpoint: Endpoint, group: any EventLoopGroup) async throws -> IMAPConnection {
        let loop = group.next()
        let greetingPromise = loop.makePromise(of: IMAPReply.self)
        let channel: any Channel
        do {
            channel = try await endpoint.connect(on: loop) { IMAPClientHandler(greeting: greetingPromise) }
        } catch {
            greetingPromise.fail(error)
            throw error
        }
        let greeting = try await greetingPromise.futureResult.get()
        guard greeting.status == .ok || greeting.status == .preauth else {
            channel.close(promise: nil)
            throw BenchError("greeting: \(greeting.text)")
        }
        return IMAPConnection(channel: channel, greeting: greeting)
    }

    func send(_ command: String, literal: ByteBuffer? = nil) async throws -> IMAPReply {
        let promise = channel.eventLoop.makePromise(of: IMAPReply.self)
        channel.writeAndFlush(IMAPRequest(command: command, literal: literal, promise: promise)).whenFailure { error in
            promise.fail(error)
        }
        return try await promise.futureResult.get()
    }

    func close() async {
        try? await channel.close().get()
    }
}

/// IMAP quoted string.
func imapQuote(_ s: String) -> String {
    "\"" + s.replacingOccurrences("\\", "\\\\").replacingOccurrences("\"", "\\\"") + "\""
}

extension String {
    func replacingOccurrences(_ target: String, _ replacement: String) -> String {
        guard !target.isEmpty, contains(target) else { return self }
        var result = ""
        var rest = self[...]
        while let range = rest.firstRange(of: target) {
            result += rest[..<range.lowerBound]
            result += replacement
            rest = rest[range.upperBound...]
        }
        result += rest
        return result
    }
}
