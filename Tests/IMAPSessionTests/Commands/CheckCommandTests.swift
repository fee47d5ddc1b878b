import AerieTestSupport
import Testing

/// CHECK (RFC 3501 §6.4.1): a checkpoint that, like NOOP, announces changes.
@Suite struct CheckCommandTests {
    @Test func check() throws {
        let root = makeTempDirectory("cmd")
        defer { removeTree(root) }
        let a = try CommandTranscript(root: root)
        let b = try CommandTranscript(root: root)
        #expect(a.send("a CHECK x") == ["a BAD Unexpected arguments"])
        #expect(a.send("b CHECK") == ["b BAD No mailbox selected."])
        _ = a.send("c SELECT INBOX")
        #expect(a.send("d CHECK") == ["d OK Check completed."])
        b.appendMessages(1)
        #expect(a.send("e CHECK") == ["* 1 EXISTS", "* 1 RECENT", "e OK Check completed."])
    }
}
