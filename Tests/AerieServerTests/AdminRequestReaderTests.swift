import AerieAuth
import NIOCore
import NIOEmbedded
import Testing

@testable import AerieServer

/// One admin request per connection, on the unix socket and the TLS listener alike.
@Suite struct AdminRequestReaderTests {
    @Test func oneRequestIsTakenAcrossReadsAndNothingAfterIt() throws {
        let channel = EmbeddedChannel()
        var reader = AdminRequestReader()
        let frame = try AuthWire.encode(AuthWire.Request.admin(id: 1, arguments: ["who", "all"]))
        #expect(reader.next(ByteBuffer(bytes: frame.prefix(3)), channel: channel) == nil)
        #expect(!reader.answered)
        #expect(reader.next(ByteBuffer(bytes: frame.dropFirst(3) + frame), channel: channel) == ["who", "all"])
        #expect(reader.answered)
        #expect(reader.next(ByteBuffer(bytes: frame), channel: channel) == nil)
        #expect(try channel.readOutbound(as: ByteBuffer.self) == nil)
    }

    @Test func aMalformedRequestIsAnsweredOnceAndTheConnectionCloses() throws {
        let channel = EmbeddedChannel()
        var reader = AdminRequestReader()
        let lookup = try AuthWire.encode(AuthWire.Request.lookup(id: 1, user: "alice"))
        #expect(reader.next(ByteBuffer(bytes: lookup), channel: channel) == nil)
        #expect(reader.answered)
        let out = try #require(try channel.readOutbound(as: ByteBuffer.self))
        #expect(String(buffer: out) == "-malformed request")
        #expect(!channel.isActive)
        let frame = try AuthWire.encode(AuthWire.Request.admin(id: 1, arguments: ["who"]))
        #expect(reader.next(ByteBuffer(bytes: frame), channel: channel) == nil)
    }
}
