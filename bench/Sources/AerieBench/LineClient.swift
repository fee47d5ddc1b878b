#if canImport(Glibc)
import Glibc
#endif
import NIOCore
import NIOPosix

/// What a line-protocol request waits for.
enum LineReplyKind: Sendable {
    /// One line (POP3 `+OK`/`-ERR`).
    case single
    /// A POP3 multi-line answer: `+OK` then data up to `.` (or a single `-ERR`).
    case multiLine
    /// `n` SMTP/LMTP replies (each possibly multi-line, `250-…` continued).
    case smtp(Int)
}

struct LineReply: Sendable {
    /// Status lines (data lines of multi-line answers are not kept).
    var lines: [String]
    /// Reply codes of SMTP replies.
    var codes: [Int]
    var bytes: Int
    var ok: Bool
}

struct LineRequest: Sendable {
    var bytes: ByteBuffer
    var kind: LineReplyKind
    var promise: EventLoopPromise<LineReply>
}

/// A pipelining-capable client for POP3 and LMTP: answers complete in the order requests were written.
final class LineClientHandler: ChannelDuplexHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundIn = LineRequest
    typealias OutboundOut = ByteBuffer

    private struct Waiter {
        var kind: LineReplyKind
        var promise: EventLoopPromise<LineReply>
        var reply = LineReply(lines: [], codes: [], bytes: 0, ok: true)
        var started = false
        var finals = 0
    }

    private var queue: CircularBuffer<Waiter> = []
    private var partial: ByteBuffer?

    init(greeting kind: LineReplyKind, promise: EventLoopPromise<LineReply>) {
        queue.append(Waiter(kind: kind, promise: promise))
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        let request = unwrapOutboundIn(data)
        queue.append(Waiter(kind: request.kind, promise: request.promise))
        context.write(wrapOutboundOut(request.bytes), promise: promise)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var input = unwrapInboundIn(data)
        while input.readableBytes > 0 {
            let lf = input.withUnsafeReadableBytes { raw -> Int? in
                guard let base = raw.baseAddress, let hit = memchr(base, 0x0A, raw.count) else { return nil }
                return base.distance(to: UnsafeRawPointer(hit))
            }
            guard let lf else {
                var rest = input.readSlice(length: input.readableBytes)!
                if partial == nil { partial = rest } else { partial!.writeBuffer(&rest) }
                if partial!.readableBytes > 1 << 20 { failAll(context: context, BenchError("line too long")) }
                return
            }
            var slice = input.readSlice(length: lf + 1)!
            if var line = partial {
                partial = nil
                line.writeBuffer(&slice)
                handle(line)
            } else {
                handle(slice)
            }
        }
    }

    private func handle(_ line: ByteBuffer) {
        guard var waiter = queue.first else { return }
        waiter.reply.bytes += line.readableBytes
        var done = false
        switch waiter.kind {
        case .single:
            let text = Self.text(line)
            waiter.reply.lines.append(text)
            waiter.reply.ok = text.hasPrefix("+")
            done = true
        case .multiLine:
            if !waiter.started {
                let text = Self.text(line)
                waiter.reply.lines.append(text)
                waiter.started = true
                if !text.hasPrefix("+OK") {
                    waiter.reply.ok = false
                    done = true
                }
            } else {
                done = line.withUnsafeReadableBytes { raw in
                    (raw.count == 3 && raw[0] == 0x2E && raw[1] == 0x0D) || (raw.count == 2 && raw[0] == 0x2E)
                }
            }
        case .smtp(let count):
            let text = Self.text(line)
            let utf8 = Array(text.utf8)
            if utf8.count >= 4, utf8[3] == UInt8(ascii: "-") { break }
            waiter.reply.lines.append(text)
            let code = Int(text.prefix(3)) ?? 0
            waiter.reply.codes.append(code)
            if code >= 400 || code == 0 { waiter.reply.ok = false }
            waiter.finals += 1
            done = waiter.finals >= count
        }
        if done {
            queue.removeFirst()
            waiter.promise.succeed(waiter.reply)
        } else {
            queue[queue.startIndex] = waiter
        }
    }

    private static func text(_ line: ByteBuffer) -> String {
        var view = line
        var length = view.readableBytes
        view.withUnsafeReadableBytes { raw in
            while length > 0, raw[length - 1] == 0x0A || raw[length - 1] == 0x0D { length -= 1 }
        }
        return view.readString(length: min(length, 2048)) ?? ""
    }

    private func failAll(context: ChannelHandlerContext, _ error: any Error) {
        while let waiter = queue.popFirst() { waiter.promise.fail(error) }
        context.close(promise: nil)
    }

    func channelInactive(context: ChannelHandlerContext) {
        while let waiter = queue.popFirst() { waiter.promise.fail(BenchError("connection closed by the server")) }
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        failAll(context: context, error)
    }
}

struct LineConnection: Sendable {
    let channel: any Channel
    let greeting: LineReply

    static func open(_ endpoint: Endpoint, group: any EventLoopGroup, greeting kind: LineReplyKind) async throws
        -> LineConnection
    {
        let loop = group.next()
        let promise = loop.makePromise(of: LineReply.self)
        let channel: any Channel
        do {
            channel = try await endpoint.connect(on: loop) { LineClientHandler(greeting: kind, promise: promise) }
        } catch {
            promise.fail(error)
            throw error
        }
        let greeting = try await promise.futureResult.get()
        guard greeting.ok else {
            channel.close(promise: nil)
            throw BenchError("greeting: \(greeting.lines.joined(separator: " / "))")
        }
        return LineConnection(channel: channel, greeting: greeting)
    }

    /// Writes without waiting; the future completes with the answer.
    func submit(_ bytes: ByteBuffer, expect kind: LineReplyKind) -> EventLoopFuture<LineReply> {
        let promise = channel.eventLoop.makePromise(of: LineReply.self)
        channel.writeAndFlush(LineRequest(bytes: bytes, kind: kind, promise: promise)).whenFailure { promise.fail($0) }
        return promise.futureResult
    }

    func send(_ line: String, expect kind: LineReplyKind) async throws -> LineReply {
        var buffer = channel.allocator.buffer(capacity: line.utf8.count + 2)
        buffer.writeString(line)
        buffer.writeStaticString("\r\n")
        return try await submit(buffer, expect: kind).get()
    }

    func close() async {
        try? await channel.close().get()
    }
}
