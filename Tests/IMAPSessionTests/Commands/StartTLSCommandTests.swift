import AerieTestSupport
import IMAPSession
import Testing

/// STARTTLS (RFC 9051 §6.2.1): before login, once.
@Suite struct StartTLSCommandTests {
    @Test func startTLS() throws {
        let root = makeTempDirectory("cmd")
        defer { removeTree(root) }
        let plain = try CommandTranscript(root: root, loggedIn: false, tls: false)
        #expect(plain.send("a STARTTLS x") == ["a BAD Unexpected arguments"])
        #expect(plain.send("b STARTTLS") == ["b OK Begin TLS negotiation now."])
        #expect(plain.transportActions == [.startTLS])
        let secured = try CommandTranscript(root: root, loggedIn: false)
        #expect(secured.send("c STARTTLS") == ["c BAD TLS is already active."])
        let after = try CommandTranscript(root: root)
        #expect(after.send("d STARTTLS") == ["d BAD STARTTLS is not valid after login."])
    }
}
