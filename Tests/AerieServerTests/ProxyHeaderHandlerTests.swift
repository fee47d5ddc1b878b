import AerieCore
import AerieObservability
import NIOCore
import NIOEmbedded
import ProxyProtocol
import Testing

@testable import AerieServer

/// Stands in for the TLS and session handlers the proxy handler installs.
final class RecordingHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    var activations = 0
    var received: [UInt8] = []
    func channelActive(context: ChannelHandlerContext) { activations += 1 }
    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        received += unwrapInboundIn(data).readableBytesView
    }
}

@Suite struct ProxyHeaderHandlerTests {
    final class Harness {
        let channel = EmbeddedChannel()
        let log = CapturingLogSink()
        let recorder = RecordingHandler()
        var installed: [ProxyHeader] = []

        init(peer: String, trusted: String = "127.0.0.0/8 ::1") throws {
            let handler = ProxyHeaderHandler(
                trustedNetworks: CIDRList(trusted), timeout: .seconds(3), log: log, category: "imap-login"
            ) { [unowned self] header, pipeline in
                self.installed.append(header)
                try pipeline.addHandler(self.recorder)
            }
            try channel.pipeline.syncOperations.addHandler(handler)
            try channel.connect(to: SocketAddress(ipAddress: peer, port: 40000)).wait()
        }

        func send(_ text: String) throws { try channel.writeInbound(ByteBuffer(string: text)) }
    }

    @Test func untrustedPeerIsDisconnectedAndLogged() throws {
        let harness = try Harness(peer: "192.0.2.50")
        #expect(!harness.channel.isActive)
        #expect(harness.log.captured == ["imap-login: Warning: haproxy: Client not trusted (rip=192.0.2.50)"])
        #expect(harness.installed.isEmpty && harness.recorder.activations == 0)
    }

    @Test func headerSplitAcrossReadsThenDataIsForwarded() throws {
        let harness = try Harness(peer: "127.0.0.1")
        try harness.send("PROXY TCP4 203.0.113.9 127.0.0.1 50")
        #expect(harness.installed.isEmpty && harness.recorder.activations == 0)
        try harness.send("123 143\r\na LOGIN")
        #expect(harness.installed.first?.source?.address.description == "203.0.113.9")
        #expect(harness.recorder.activations == 1)
        #expect(harness.recorder.received == Array("a LOGIN".utf8))
        // The proxy handler is gone: later bytes reach the session directly.
        #expect((try? harness.channel.pipeline.syncOperations.handler(type: ProxyHeaderHandler.self)) == nil)
        try harness.send(" x y\r\n")
        #expect(harness.recorder.received == Array("a LOGIN x y\r\n".utf8))
    }

    @Test func malformedHeaderIsDisconnectedAndLogged() throws {
        let harness = try Harness(peer: "127.0.0.1")
        try harness.send("a LOGIN user pass\r\n")
        #expect(!harness.channel.isActive)
        #expect(harness.log.captured.first
            == "imap-login: Error: haproxy: Client disconnected: Failed to read valid HAproxy data (rip=127.0.0.1)")
        #expect(harness.recorder.activations == 0)
        let v2 = try Harness(peer: "127.0.0.1")
        try v2.channel.writeInbound(ByteBuffer(bytes: [0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49, 0x54,
            0x0A, 0x21, 0x12, 0x00, 0x0C] + [UInt8](repeating: 1, count: 12)))
        #expect(!v2.channel.isActive)
        #expect(v2.log.captured == [
            "imap-login: Error: haproxy(v2): Client disconnected: Not using TCP (type=2) (rip=127.0.0.1)",
        ])
    }

    @Test func silentPeerTimesOut() throws {
        let harness = try Harness(peer: "::1")
        harness.channel.embeddedEventLoop.advanceTime(by: .milliseconds(2900))
        #expect(harness.channel.isActive)
        harness.channel.embeddedEventLoop.advanceTime(by: .milliseconds(200))
        #expect(!harness.channel.isActive)
        #expect(harness.log.captured == ["imap-login: Error: haproxy: Client timed out (rip=::1)"])
    }

    @Test func proxiedContextCarriesTheClientAndItsTLS() throws {
        let base = ConnectionContext(
            remoteIP: "127.0.0.1", localIP: "127.0.0.1", sessionID: "s", isTLS: false, startTLSAvailable: true)
        let trusted = CIDRList("203.0.113.0/24")
        let header = ProxyHeader(
            version: .v2, source: .init(address: IPAddress("203.0.113.9")!, port: 50000),
            destination: .init(address: IPAddress("198.51.100.1")!, port: 143), tls: .init(clientUsedTLS: true))
        let context = AerieServer.proxied(base, header, trusted: trusted)
        #expect(context.remoteIP == "203.0.113.9" && context.remotePort == 50000 && context.localIP == "198.51.100.1")
        #expect(context.isSecured && !context.isTLS && !context.startTLSAvailable && context.trusted)
        let v1 = ProxyHeader(version: .v1, source: header.source, destination: header.destination)
        let plain = AerieServer.proxied(base, v1, trusted: trusted)
        #expect(!plain.isSecured && plain.startTLSAvailable)
        // LOCAL / UNKNOWN: the connection's own addresses stay, and so does its trust.
        let local = AerieServer.proxied(base, ProxyHeader(version: .v2), trusted: trusted)
        #expect(local.remoteIP == "127.0.0.1" && !local.trusted)
    }
}
