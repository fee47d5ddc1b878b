import AerieTestSupport
import Testing

/// ENABLE (RFC 5161): each extension is enabled once.
@Suite struct EnableCommandTests {
    @Test func enable() throws {
        let root = makeTempDirectory("cmd")
        defer { removeTree(root) }
        let before = try CommandTranscript(root: root, loggedIn: false)
        #expect(before.send("a ENABLE CONDSTORE") == ["a BAD ENABLE is valid only after login."])
        let client = try CommandTranscript(root: root)
        #expect(client.send("b ENABLE") == ["b BAD Missing capability name"])
        #expect(client.send("c ENABLE CONDSTORE X-UNKNOWN") == ["* ENABLED CONDSTORE", "c OK Enabled."])
        #expect(client.send("d ENABLE CONDSTORE") == ["* ENABLED", "d OK Enabled."])
        #expect(client.send("e ENABLE QRESYNC imap4rev2") == ["* ENABLED QRESYNC IMAP4rev2", "e OK Enabled."])
    }
}
