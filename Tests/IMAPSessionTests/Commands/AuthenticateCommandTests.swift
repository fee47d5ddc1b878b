import AerieTestSupport
import Testing

/// AUTHENTICATE (RFC 9051 §6.2.2) with SASL-IR (RFC 4959).
@Suite struct AuthenticateCommandTests {
    @Test func authenticate() throws {
        let root = makeTempDirectory("cmd")
        defer { removeTree(root) }
        let client = try CommandTranscript(root: root, loggedIn: false)
        #expect(client.send("a AUTHENTICATE") == ["a BAD Missing SASL mechanism"])
        #expect(client.send("b AUTHENTICATE CRAM-MD5") == ["b NO Unsupported authentication mechanism."])
        #expect(client.send("c AUTHENTICATE PLAIN !!") == ["c BAD Invalid base64 in initial response"])
        #expect(client.send("d AUTHENTICATE PLAIN") == ["+ "])
        #expect(client.send("*") == ["d BAD Authentication aborted by client."])
        #expect(client.send("e AUTHENTICATE PLAIN AGRlbW8Ac2VjcmV0") == [])
        #expect(client.finish(.success(demoUser(root))).first?.hasPrefix("e OK [CAPABILITY ") == true)
        #expect(client.send("f AUTHENTICATE PLAIN AGRlbW8Ac2VjcmV0") == ["f BAD Already logged in."])
    }
}
