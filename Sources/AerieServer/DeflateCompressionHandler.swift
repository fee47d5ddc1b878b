import CompressNIO
import NIOCore

/// RFC 4978 §3 (COMPRESS=DEFLATE): raw DEFLATE (RFC 1951) both ways, inserted right behind TLS once the tagged OK
/// has gone out.
///
/// Outbound, writes are deflated as they come and every `flush()` ends with a sync flush (RFC 4978 §4), so each
/// response — an IDLE notification too — reaches the client at once as a complete chunk ending `00 00 ff ff`.
///
/// Inbound, bytes are inflated on demand: one read round yields at most `maxInflatedPerRead` bytes; compressed input
/// beyond that waits here until the session asks for more (autoRead is off). A decompression bomb therefore costs
/// no more memory than a fast plaintext client, and the IMAP framer's line and literal limits apply to what it
/// inflates to.
final class DeflateCompressionHandler: ChannelDuplexHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    /// A 4 KiB history window (`.window16k` names the 16 KiB its buffers take) and memLevel 5 keep the deflate state
    /// near 32 KiB (zlib's default is ~256 KiB) at a small cost in ratio: IMAP responses repeat within a few KiB.
    static let compressorConfiguration = ZlibConfiguration(
        windowSize: .window16k, compressionLevel: .compressionLevel6, memoryLevel: .memory16K)
    /// The client picks its window (up to 32 KiB, RFC 1951 §2), so the inflater must accept the largest.
    static let decompressorWindowBits: Int32 = 15

    private let compressor: ZlibCompressor
    private let decompressor: ZlibDecompressor
    private let maxInflatedPerRead: Int
    private let inflateChunkSize: Int

    /// Compressed input not yet inflated (only when the last round hit its budget).
    private var pendingInput: ByteBuffer?
    /// zlib may still hold inflated output from input it has consumed (the last output buffer came back full).
    private var inflaterHasOutput = false
    private var inflatedThisRound = 0
    /// A read requested while we were handing data on: served when that finishes, not by recursing.
    private var delivering = false
    private var readDeferred = false

    /// Deflated output waiting for the next flush, and the promises of the writes it holds.
    private var pendingOutput: ByteBuffer?
    private var pendingPromises: [EventLoopPromise<Void>] = []
    private var unflushedWrites = false

    /// - Parameter initialInput: compressed bytes the client sent right behind COMPRESS, already read from the socket.
    init(
        initialInput: ByteBuffer? = nil, maxInflatedPerRead: Int = 256 * 1024, inflateChunkSize: Int = 16 * 1024
    )
        throws
    {
        compressor = try ZlibCompressor(algorithm: .deflate, configuration: Self.compressorConfiguration)
        decompressor = try ZlibDecompressor(algorithm: .deflate, windowSize: Self.decompressorWindowBits)
        self.maxInflatedPerRead = maxInflatedPerRead
        self.inflateChunkSize = inflateChunkSize
        if let initialInput, initialInput.readableBytes > 0 { pendingInput = initialInput }
    }

    // MARK: - Inbound

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var input = unwrapInboundIn(data)
        if pendingInput == nil {
            pendingInput = input
        } else {
            pendingInput!.writeBuffer(&input)
        }
        inflateWithinBudget(context: context)
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        finishRound(context: context)
    }

    func read(context: ChannelHandlerContext) {
        if delivering {
            readDeferred = true
            return
        }
        guard hasInboundWork else {
            context.read()
            return
        }
        inflateWithinBudget(context: context)
        finishRound(context: context)
    }

    private var hasInboundWork: Bool { pendingInput != nil || inflaterHasOutput }

    /// Ends a read round downstream, then serves a read the session asked for meanwhile.
    private func finishRound(context: ChannelHandlerContext) {
        inflatedThisRound = 0
        delivering = true
        context.fireChannelReadComplete()
        delivering = false
        while readDeferred {
            readDeferred = false
            guard hasInboundWork else {
                context.read()
                return
            }
            inflateWithinBudget(context: context)
            inflatedThisRound = 0
            delivering = true
            context.fireChannelReadComplete()
            delivering = false
        }
    }

    private func inflateWithinBudget(context: ChannelHandlerContext) {
        delivering = true
        defer { delivering = false }
        do {
            while inflatedThisRound < maxInflatedPerRead, hasInboundWork {
                // Taken out, so zlib works on a uniquely referenced buffer instead of a copy.
                var input = pendingInput ?? context.channel.allocator.buffer(capacity: 16)
                pendingInput = nil
                let consumedBefore = input.readableBytes
                var output = context.channel.allocator.buffer(
                    capacity: min(inflateChunkSize, maxInflatedPerRead - inflatedThisRound))
                var outputFull = false
                do {
                    try decompressor.inflate(from: &input, to: &output)
                } catch {
                    // Full output is "call again"; no progress without input is "need more bytes".
                    guard let zlibError = error as? CompressNIOError else { throw error }
                    if zlibError == .bufferOverflow {
                        outputFull = true
                    } else if zlibError != .inputBufferOverflow {
                        throw CompressionError.invalidInput
                    }
                }
                let progressed = outputFull || output.readableBytes > 0 || input.readableBytes != consumedBefore
                inflaterHasOutput = outputFull
                pendingInput = input.readableBytes > 0 ? input : nil
                if output.readableBytes > 0 {
                    inflatedThisRound += output.readableBytes
                    context.fireChannelRead(wrapInboundOut(output))
                }
                if !progressed {
                    // zlib takes nothing more once the client ended its stream (a final block): the rest is junk.
                    if pendingInput != nil { throw CompressionError.inputAfterEnd }
                    break
                }
            }
        } catch {
            pendingInput = nil
            inflaterHasOutput = false
            context.fireErrorCaught(error)
        }
    }

    // MARK: - Outbound

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        var input = unwrapOutboundIn(data)
        if let promise { pendingPromises.append(promise) }
        guard input.readableBytes > 0 else { return }
        unflushedWrites = true
        do {
            try deflate(&input, flush: .no, context: context)
        } catch {
            failPending(error)
            context.fireErrorCaught(error)
        }
    }

    func flush(context: ChannelHandlerContext) {
        if unflushedWrites {
            unflushedWrites = false
            var empty = context.channel.allocator.buffer(capacity: 16)
            do {
                try deflate(&empty, flush: .sync, context: context)
            } catch {
                failPending(error)
                context.fireErrorCaught(error)
                return
            }
        }
        let promises = pendingPromises
        pendingPromises = []
        if let output = pendingOutput {
            pendingOutput = nil
            let promise = promises.isEmpty ? nil : context.eventLoop.makePromise(of: Void.self)
            if let promise {
                for waiting in promises { promise.futureResult.cascade(to: waiting) }
            }
            context.write(wrapOutboundOut(output), promise: promise)
        } else {
            // Nothing to send (empty writes only): they are done as far as this connection is concerned.
            for waiting in promises { waiting.succeed() }
        }
        context.flush()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        failPending(ChannelError.ioOnClosedChannel)
    }

    /// Deflates `input` into `pendingOutput`, growing it until zlib has nothing more to give.
    private func deflate(_ input: inout ByteBuffer, flush: CompressNIOFlush, context: ChannelHandlerContext) throws {
        var output = pendingOutput ?? context.channel.allocator.buffer(capacity: 512)
        defer { pendingOutput = output.readableBytes > 0 ? output : nil }
        repeat {
            output.reserveCapacity(minimumWritableBytes: max(512, compressor.maxSize(from: input)))
            do {
                try compressor.deflate(from: &input, to: &output, flush: flush)
            } catch {
                // zlib's "no progress possible": everything is out already.
                guard let zlibError = error as? CompressNIOError, zlibError == .bufferOverflow else {
                    throw CompressionError.internalError
                }
                if output.writableBytes > 0 { return }
            }
        } while input.readableBytes > 0 || output.writableBytes == 0
    }

    private func failPending(_ error: any Error) {
        let promises = pendingPromises
        pendingPromises = []
        pendingOutput = nil
        for promise in promises { promise.fail(error) }
    }
}

/// RFC 8437 §4.1: UNAUTHENTICATE takes the codec out again.
extension DeflateCompressionHandler: RemovableChannelHandler {}

/// Why a compressed connection had to close.
enum CompressionError: Error, Equatable {
    /// The client's DEFLATE stream is corrupt.
    case invalidInput
    /// The client ended its DEFLATE stream and sent more.
    case inputAfterEnd
    /// zlib failed while compressing (out of memory).
    case internalError
}
