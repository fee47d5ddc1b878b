import AerieTestSupport
import Testing

/// LOGIN (RFC 9051 §6.2.3): only over TLS, only once.
@Suite struct LoginCommandTests {
    @Test func login() throws {
        let root = makeTempDirectory("cmd")
        defer { removeTree(root) }
        let client = try CommandTranscript(root: root, loggedIn: false)
        #expect(client.send("a LOGIN") == ["a BAD Missing username"])
        #expect(client.send("b LOGIN demo") == ["b BAD Missing password"])
        #expect(client.send("c LOGIN demo wrong") == [])
        #expect(client.finish(.failure(.passwordMismatch)) == ["c NO [AUTHENTICATIONFAILED] Authentication failed."])
        #expect(client.send("d LOGIN demo secret") == [])
        let ok = client.finish(.success(demoUser(root)))
        #expect(ok.count == 1 && ok[0].hasPrefix("d OK [CAPABILITY IMAP4rev2 ") && ok[0].hasSuffix("] Logged in"))
        #expect(client.send("e LOGIN demo secret") == ["e BAD Already logged in."])
        let plain = try CommandTranscript(root: root, loggedIn: false, tls: false)
        #expect(
            plain.send("f LOGIN demo secret") == [
                "f NO [PRIVACYREQUIRED] Plaintext authentication disallowed on non-secure (SSL/TLS) connections."
            ])
    }
}
