import AerieAuth
import AerieCore
import NIOCore
import NIOEmbedded
import Testing

@testable import AerieServer

#if canImport(Glibc)
    import Glibc
#endif

@Suite struct LoginHandoffTests {
    func header() -> LoginHandoff {
        var context = ConnectionContext(
            remoteIP: "192.0.2.7", localIP: "192.0.2.1", sessionID: "AbCdEfGhIjKl", isTLS: true,
            startTLSAvailable: true, remotePort: 40000, localPort: 993, proxiedTLS: false, trusted: true)
        context.clientCertificateUser = "alice"
        let user = AuthenticatedUser(
            user: "alice", uid: 1500, gid: 1501, home: "/home/alice", extraFields: ["mail": "maildir:~/M"])
        return LoginHandoff(
            service: "imap", user: user, context: context, tag: "a1",
            loginLine: "Login: user=<alice>, method=PLAIN, rip=192.0.2.7, lip=192.0.2.1, mpid=0, TLS, session=<x>",
            pipelined: Array("b SELECT INBOX\r\n".utf8))
    }

    @Test func headerCarriesTheLoginStateAcrossTheSocket() throws {
        var pair: [Int32] = [0, 0]
        #expect(socketpair(AF_UNIX, Int32(SOCK_SEQPACKET.rawValue), 0, &pair) == 0)
        defer { pair.forEach { close($0) } }
        var carried: [Int32] = [0, 0]
        #expect(socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0, &carried) == 0)
        defer { carried.forEach { close($0) } }
        #expect(LoginHandoffSender(socket: pair[0]).send(header(), fd: carried[1]))
        var buffer = [UInt8](repeating: 0, count: LoginHandoff.maximumSize)
        let received = try #require(DescriptorPassing.receive(pair[1], buffer: &buffer))
        #expect(received.fd >= 0)
        defer { close(received.fd) }
        let decoded = try LoginHandoff.decode(received.bytes)
        #expect(decoded == header())
        #expect(decoded.authenticatedUser.extraFields == ["mail": "maildir:~/M"])
        // The mail service's view: past login, so no STARTTLS; everything else as the login process saw it.
        #expect(decoded.context.startTLSAvailable == false)
        #expect(decoded.context.isTLS && decoded.context.trusted && decoded.context.remotePort == 40000)
        #expect(decoded.context.clientCertificateUser == "alice")
        #expect(decoded.loginLineForThisProcess?.contains("mpid=\(getpid()), TLS") == true)
        // The descriptor that came along is the other end of `carried`.
        var byte: UInt8 = 0x2A
        #expect(write(carried[0], &byte, 1) == 1)
        var got: UInt8 = 0
        #expect(read(received.fd, &got, 1) == 1 && got == 0x2A)
    }

    /// Every `mpid=0,` becomes this process's pid; the rest of the line stays byte for byte (UTF-8 included).
    @Test func loginLineNamesThisProcess() {
        var handoff = header()
        handoff.loginLine = "Login: user=<zoë>, mpid=0, TLS, mpid=0,mpid=0"
        #expect(handoff.loginLineForThisProcess == "Login: user=<zoë>, mpid=\(getpid()), TLS, mpid=\(getpid()),mpid=0")
        handoff.loginLine = nil
        #expect(handoff.loginLineForThisProcess == nil)
    }

    /// The accepted TCP socket is found by its two addresses, not the client's end of the same connection (its
    /// addresses are the other way round) nor any other descriptor.
    @Test func socketSearchFindsTheAcceptedSocket() throws {
        let listener = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(listener) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(listener, $0, length) == 0 && listen(listener, 4) == 0 && getsockname(listener, $0, &length) == 0
            }
        }
        #expect(bound)
        let client = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(client) }
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(client, $0, length) }
        }
        #expect(connected == 0)
        let accepted = accept(listener, nil, nil)
        #expect(accepted >= 0)
        defer { close(accepted) }
        var unrelated: [Int32] = [0, 0]
        #expect(socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0, &unrelated) == 0)
        defer { unrelated.forEach { close($0) } }
        let local = try SocketAddress(ipAddress: "127.0.0.1", port: Int(UInt16(bigEndian: address.sin_port)))
        var peer = sockaddr_in()
        var peerLength = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &peer) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(client, $0, &peerLength) }
        }
        let remote = try SocketAddress(ipAddress: "127.0.0.1", port: Int(UInt16(bigEndian: peer.sin_port)))
        #expect(SocketSearch.descriptor(local: local, remote: remote) == accepted)
        #expect(SocketSearch.descriptor(local: local, remote: remote) == accepted)  // as found last
        #expect(SocketSearch.descriptor(local: remote, remote: local) == client)  // not the one found last
        #expect(SocketSearch.descriptor(local: local, remote: remote) == accepted)
        let elsewhere = try SocketAddress(ipAddress: "127.0.0.2", port: Int(UInt16(bigEndian: peer.sin_port)))
        #expect(SocketSearch.descriptor(local: local, remote: elsewhere) == nil)
    }

    /// Absent optionals stay absent, counts and the token come across; a header of another layout, cut short or
    /// with bytes behind it is refused, never misread.
    @Test func binaryHeaderRoundTripsAndRefusesWhatItDidNotWrite() throws {
        var plain = header()
        plain.clientCertificateUser = nil
        plain.tag = nil
        plain.loginLine = nil
        plain.remotePort = nil
        plain.isTLS = false
        plain.pipelined = []
        plain.bytesIn = 123
        plain.bytesOut = 4_567_890_123
        plain.token = "t0ken"
        plain.enabled = ["CONDSTORE"]
        let bytes = try plain.encoded()
        #expect(try LoginHandoff.decode(bytes) == plain)
        #expect(try LoginHandoff.decode(try header().encoded()) == header())
        var otherVersion = bytes
        otherVersion[0] = LoginHandoff.formatVersion + 1
        #expect(throws: AuthWireError.self) { try LoginHandoff.decode(otherVersion) }
        for cut in [1, bytes.count / 2, bytes.count - 1] {
            #expect(throws: AuthWireError.self) { try LoginHandoff.decode(Array(bytes[..<cut])) }
        }
        #expect(throws: AuthWireError.self) { try LoginHandoff.decode(bytes + [0]) }
        var tooMuch = plain
        tooMuch.pipelined = [UInt8](repeating: 0x41, count: LoginHandoff.maximumSize + 1)
        #expect(throws: AuthWireError.self) { try tooMuch.encoded() }
    }

    @Test func relayCopiesBothWays() throws {
        let loop = EmbeddedEventLoop()
        let client = EmbeddedChannel(loop: loop)
        let mail = EmbeddedChannel(loop: loop)
        let (clientSide, mailSide) = RelayHandler.pair()
        try client.pipeline.syncOperations.addHandler(clientSide)
        try mail.pipeline.syncOperations.addHandler(mailSide)
        try client.writeInbound(ByteBuffer(string: "b NOOP\r\n"))
        #expect(try mail.readOutbound(as: ByteBuffer.self) == ByteBuffer(string: "b NOOP\r\n"))
        try mail.writeInbound(ByteBuffer(string: "b OK NOOP completed.\r\n"))
        #expect(try client.readOutbound(as: ByteBuffer.self) == ByteBuffer(string: "b OK NOOP completed.\r\n"))
        // One side closing closes the other.
        _ = try mail.finish()
        #expect(!client.isActive)
    }
}
