import AerieTestSupport
import Testing

/// ID (RFC 2971): the software's name, never its version.
@Suite struct IDCommandTests {
    @Test func id() throws {
        let root = makeTempDirectory("cmd")
        defer { removeTree(root) }
        let client = try CommandTranscript(root: root, loggedIn: false)
        #expect(client.send("a ID") == ["a BAD Missing ID parameters"])
        #expect(client.send("b ID (") == ["b BAD Missing ID field name"])
        #expect(client.send("c ID (\"name\" \"test\")") == ["* ID (\"name\" \"Aerie\")", "c OK ID completed."])
        let after = try CommandTranscript(root: root)
        #expect(after.send("d ID NIL") == ["* ID (\"name\" \"Aerie\")", "d OK ID completed."])
    }
}
