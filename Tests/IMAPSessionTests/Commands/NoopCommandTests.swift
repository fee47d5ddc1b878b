import AerieTestSupport
import Testing

/// NOOP (RFC 9051 §6.1.2): the poll that announces other sessions' changes.
@Suite struct NoopCommandTests {
    @Test func noop() throws {
        let root = makeTempDirectory("cmd")
        defer { removeTree(root) }
        let before = try CommandTranscript(root: root, loggedIn: false)
        #expect(before.send("a NOOP x") == ["a BAD Unexpected arguments"])
        #expect(before.send("b NOOP") == ["b OK NOOP completed."])
        let a = try CommandTranscript(root: root)
        let b = try CommandTranscript(root: root)
        #expect(a.send("c NOOP") == ["c OK NOOP completed."])
        a.appendMessages(1)
        _ = a.send("d SELECT INBOX")
        _ = b.send("e SELECT INBOX")
        b.appendMessages(1)
        _ = b.send("f STORE 1 +FLAGS.SILENT (\\Flagged)")
        #expect(
            a.send("g NOOP") == ["* 1 FETCH (FLAGS (\\Flagged \\Recent) UID 1)", "* 2 EXISTS", "g OK NOOP completed."])
    }
}
