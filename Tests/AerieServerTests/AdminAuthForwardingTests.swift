import AerieAuth
import AerieTestSupport
import NIOCore
import NIOPosix
import Testing

@testable import AerieServer

/// `aerie adm --host` commands passed on to the auth process: an async exchange on the event loop, against a
/// scripted peer on a real unix socket.
@Suite struct AdminAuthForwardingTests {
    /// Answers the first request with `answer` (nothing when nil) and keeps the connection open.
    final class ScriptedPeer: ChannelInboundHandler, Sendable {
        typealias InboundIn = ByteBuffer
        let answer: [UInt8]?
        init(answer: [UInt8]?) { self.answer = answer }
        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            if let answer { context.writeAndFlush(NIOAny(ByteBuffer(bytes: answer)), promise: nil) }
        }
    }

    func ask(answer: [UInt8]?, timeout: TimeAmount = .seconds(30)) async throws -> (ok: Bool, text: String) {
        let dir = makeTempDirectory("admforward")
        defer { removeTree(dir) }
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let listener = try await ServerBootstrap(group: group)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(ScriptedPeer(answer: answer))
                }
            }
            .bind(unixDomainSocketPath: dir + "/auth").get()
        let result = await AdminAuthForwarding.ask(
            path: dir + "/auth", words: ["user", "-A"], group: group, timeout: timeout)
        try await listener.close()
        try await group.shutdownGracefully()
        return result
    }

    @Test func aListingInPartsIsPassedOnAsOneText() async throws {
        let answer =
            try AuthWire.encodeAdminPart(id: 1, text: "alice\nbob") + AuthWire.encodeAdminPart(id: 1, text: "carol")
            + AuthWire.encodeAdminReply(id: 1, ok: true, text: "3 users")
        #expect(try await ask(answer: answer) == (true, "alice\nbob\ncarol\n3 users"))
    }

    @Test func aLongListingIsCut() async throws {
        let line = String(repeating: "u", count: 1000)
        var answer: [UInt8] = []
        for _ in 0..<10 { answer += try AuthWire.encodeAdminPart(id: 1, text: line) }
        answer += try AuthWire.encodeAdminReply(id: 1, ok: true, text: "")
        let (ok, text) = try await ask(answer: answer)
        #expect(ok && text.hasSuffix("… (cut: list on the server for the rest)"))
        #expect(text.utf8.count < AdminAuthForwarding.maxListing + 100)
    }

    @Test func aSilentAuthProcessIsGivenUpOnWithoutBlockingAThread() async throws {
        let answer = try await ask(answer: nil, timeout: .milliseconds(50))
        #expect(answer == (false, "the auth process did not answer in time"))
    }

    @Test func aMalformedAnswerOrNoProcessIsSaid() async throws {
        #expect(try await ask(answer: [0, 0, 0, 2, 0x99, 0x99]) == (false, "the auth process sent a malformed answer"))
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let missing = await AdminAuthForwarding.ask(path: "/nonexistent/aerie-auth", words: ["who"], group: group)
        #expect(missing == (false, "the auth process is not reachable"))
        try await group.shutdownGracefully()
    }
}
