import CompressNIO
import NIOCore
import NIOEmbedded
import Testing

@testable import AerieServer

/// The peer's side of RFC 4978 DEFLATE, with zlib's default 32 KiB window as real clients use.
final class DeflatePeer {
    let compressor: ZlibCompressor
    let decompressor: ZlibDecompressor

    init() throws {
        compressor = try ZlibCompressor(algorithm: .deflate)
        decompressor = try ZlibDecompressor(algorithm: .deflate, windowSize: 15)
    }

    /// One sync-flushed chunk, as a client sends a command.
    func compress(_ bytes: [UInt8]) throws -> ByteBuffer {
        var input = ByteBuffer(bytes: bytes)
        var output = ByteBuffer()
        output.reserveCapacity(compressor.maxSize(from: input) + 64)
        try compressor.deflate(from: &input, to: &output, flush: .sync)
        #expect(input.readableBytes == 0)
        return output
    }

    func inflate(_ buffer: ByteBuffer) throws -> [UInt8] {
        var input = buffer
        var result: [UInt8] = []
        while true {
            var output = ByteBuffer()
            output.reserveCapacity(64 * 1024)
            var full = false
            do {
                try decompressor.inflate(from: &input, to: &output)
            } catch {
                guard let zlibError = error as? CompressNIOError else { throw error }
                if zlibError == .bufferOverflow {
                    full = true
                } else if zlibError != .inputBufferOverflow {
                    throw error
                }
            }
            result += output.readableBytesView
            if !full && input.readableBytes == 0 { return result }
        }
    }
}

/// Counts completions; the embedded loop runs callbacks on the test's own thread.
final class Tally: @unchecked Sendable {
    var count = 0
}

/// Counts reads that get past the codec to the socket.
final class ReadCounter: ChannelOutboundHandler {
    typealias OutboundIn = ByteBuffer
    var reads = 0
    func read(context: ChannelHandlerContext) {
        reads += 1
        context.read()
    }
}

/// Behaves like the session: takes what arrives and asks for more at the end of every read round.
final class GreedyReader: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    var received = 0
    var rounds = 0
    var largestRound = 0
    private var thisRound = 0
    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        thisRound += unwrapInboundIn(data).readableBytes
    }
    func channelReadComplete(context: ChannelHandlerContext) {
        rounds += 1
        received += thisRound
        largestRound = max(largestRound, thisRound)
        thisRound = 0
        context.read()
    }
}

@Suite struct DeflateCompressionHandlerTests {
    func drainOutbound(_ channel: EmbeddedChannel) throws -> ByteBuffer {
        var all = ByteBuffer()
        while let chunk = try channel.readOutbound(as: ByteBuffer.self) {
            var chunk = chunk
            all.writeBuffer(&chunk)
        }
        return all
    }

    func drainInbound(_ channel: EmbeddedChannel) throws -> [UInt8] {
        var all: [UInt8] = []
        while let chunk = try channel.readInbound(as: ByteBuffer.self) { all += chunk.readableBytesView }
        return all
    }

    @Test func eachFlushSendsACompleteSyncFlushedChunk() throws {
        let channel = EmbeddedChannel(handler: try DeflateCompressionHandler())
        let peer = try DeflatePeer()
        let responses = ["* 3 EXISTS\r\n", "* 1 RECENT\r\n", "a OK Select completed.\r\n"]
        for response in responses {
            try channel.writeOutbound(ByteBuffer(string: response))
            let chunk = try drainOutbound(channel)
            #expect(Array(chunk.readableBytesView.suffix(4)) == [0x00, 0x00, 0xFF, 0xFF])
            // The client can read this response in full from this chunk alone, before anything else arrives.
            #expect(String(decoding: try peer.inflate(chunk), as: UTF8.self) == response)
        }
        #expect(try channel.finish().isClean)
    }

    @Test func writesWaitForTheFlushAndTheirPromisesWithThem() throws {
        let channel = EmbeddedChannel(handler: try DeflateCompressionHandler())
        let peer = try DeflatePeer()
        let first = channel.write(ByteBuffer(string: "* OK one\r\n"))
        let second = channel.write(ByteBuffer(string: "* OK two\r\n"))
        #expect(try channel.readOutbound(as: ByteBuffer.self) == nil)
        let done = Tally()
        first.whenSuccess { done.count += 1 }
        second.whenSuccess { done.count += 1 }
        channel.flush()
        #expect(done.count == 2)
        #expect(String(decoding: try peer.inflate(drainOutbound(channel)), as: UTF8.self) == "* OK one\r\n* OK two\r\n")
    }

    @Test func largeResponseRoundTrips() throws {
        let channel = EmbeddedChannel(handler: try DeflateCompressionHandler())
        let peer = try DeflatePeer()
        var body: [UInt8] = []
        var seed: UInt32 = 7
        for index in 0..<300_000 {
            seed = seed &* 1_103_515_245 &+ 12345
            body.append(index % 80 == 79 ? 0x0A : UInt8(0x20 + (seed >> 16) % 90))
        }
        try channel.writeOutbound(ByteBuffer(bytes: body))
        #expect(try peer.inflate(drainOutbound(channel)) == body)
    }

    @Test func commandsInflate() throws {
        let channel = EmbeddedChannel(handler: try DeflateCompressionHandler())
        let peer = try DeflatePeer()
        for command in ["a SELECT INBOX\r\n", "b FETCH 1 BODY[]\r\n", "c IDLE\r\n"] {
            try channel.writeInbound(try peer.compress(Array(command.utf8)))
            #expect(String(decoding: try drainInbound(channel), as: UTF8.self) == command)
        }
        // A command split anywhere across reads still arrives whole.
        let chunk = try peer.compress(Array("d NOOP\r\n".utf8))
        for byte in chunk.readableBytesView { try channel.writeInbound(ByteBuffer(bytes: [byte])) }
        #expect(String(decoding: try drainInbound(channel), as: UTF8.self) == "d NOOP\r\n")
    }

    @Test func bytesReadBehindCompressAreInflatedFirst() throws {
        let peer = try DeflatePeer()
        let counter = ReadCounter()
        let channel = EmbeddedChannel()
        try channel.pipeline.syncOperations.addHandler(counter)
        try channel.pipeline.syncOperations.addHandler(
            DeflateCompressionHandler(initialInput: try peer.compress(Array("a NOOP\r\n".utf8))))
        channel.read()
        #expect(counter.reads == 0)
        #expect(String(decoding: try drainInbound(channel), as: UTF8.self) == "a NOOP\r\n")
        channel.read()
        #expect(counter.reads == 1)
    }

    @Test func aDecompressionBombIsInflatedOnlyAsTheReaderAsks() throws {
        let peer = try DeflatePeer()
        let counter = ReadCounter()
        let channel = EmbeddedChannel()
        let budget = 256 * 1024
        try channel.pipeline.syncOperations.addHandler(counter)
        try channel.pipeline.syncOperations.addHandler(DeflateCompressionHandler(maxInflatedPerRead: budget))
        let bomb = try peer.compress([UInt8](repeating: 0x61, count: 20 * 1024 * 1024))
        #expect(bomb.readableBytes < 64 * 1024)

        try channel.writeInbound(bomb)
        #expect(try drainInbound(channel).count <= budget + 16 * 1024)
        // More comes only when asked for, and the socket is not read while inflated input is still pending.
        channel.read()
        let second = try drainInbound(channel).count
        #expect(second > 0 && second <= budget + 16 * 1024)
        #expect(counter.reads == 0)
    }

    @Test func aReaderThatAlwaysAsksForMoreGetsEverythingInBoundedRounds() throws {
        let peer = try DeflatePeer()
        let counter = ReadCounter()
        let reader = GreedyReader()
        let channel = EmbeddedChannel()
        let budget = 256 * 1024
        try channel.pipeline.syncOperations.addHandler(counter)
        try channel.pipeline.syncOperations.addHandler(DeflateCompressionHandler(maxInflatedPerRead: budget))
        try channel.pipeline.syncOperations.addHandler(reader)
        let size = 20 * 1024 * 1024
        try channel.writeInbound(try peer.compress([UInt8](repeating: 0x61, count: size)))
        #expect(reader.received == size)
        #expect(reader.largestRound <= budget + 16 * 1024)
        #expect(reader.rounds >= size / (budget + 16 * 1024))
        // Only once everything is inflated does a read reach the socket.
        #expect(counter.reads == 1)
    }

    @Test func corruptInputIsAnError() throws {
        let channel = EmbeddedChannel(handler: try DeflateCompressionHandler())
        // BFINAL=1, BTYPE=11: a reserved block type.
        #expect(throws: CompressionError.invalidInput) {
            try channel.writeInbound(ByteBuffer(bytes: [0xFF, 0xFF, 0xFF, 0xFF]))
        }
    }
}
