import AerieTestSupport
import Testing

/// UNSELECT (RFC 9051 §6.4.2): as CLOSE, but nothing is expunged.
@Suite struct UnselectCommandTests {
    @Test func unselect() throws {
        let root = makeTempDirectory("cmd")
        defer { removeTree(root) }
        let a = try CommandTranscript(root: root)
        let b = try CommandTranscript(root: root)
        #expect(a.send("a UNSELECT x") == ["a BAD Unexpected arguments"])
        #expect(a.send("b UNSELECT") == ["b BAD No mailbox selected."])
        a.appendMessages(1)
        _ = a.send("c SELECT INBOX")
        _ = b.send("d SELECT INBOX")
        _ = a.send("e STORE 1 +FLAGS.SILENT (\\Deleted)")
        #expect(a.send("f UNSELECT") == ["f OK Unselect completed."])
        #expect(b.send("g NOOP") == ["* 1 FETCH (FLAGS (\\Deleted) UID 1)", "g OK NOOP completed."])
    }
}
