import AerieTestSupport
import Testing

/// NAMESPACE (RFC 9051 §6.3.10): one personal namespace.
@Suite struct NamespaceCommandTests {
    @Test func namespace() throws {
        let root = makeTempDirectory("cmd")
        defer { removeTree(root) }
        let before = try CommandTranscript(root: root, loggedIn: false)
        #expect(before.send("a NAMESPACE") == ["a BAD NAMESPACE is not valid before login."])
        let client = try CommandTranscript(root: root)
        #expect(client.send("b NAMESPACE x") == ["b BAD Unexpected arguments"])
        #expect(client.send("c NAMESPACE") == ["* NAMESPACE ((\"\" \"/\")) NIL NIL", "c OK Namespace completed."])
    }
}
