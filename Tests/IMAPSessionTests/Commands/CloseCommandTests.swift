import AerieTestSupport
import Testing

/// CLOSE (RFC 9051 §6.4.1): the \Deleted messages go silently; other sessions hear the EXPUNGE.
@Suite struct CloseCommandTests {
    @Test func close() throws {
        let root = makeTempDirectory("cmd")
        defer { removeTree(root) }
        let a = try CommandTranscript(root: root)
        let b = try CommandTranscript(root: root)
        #expect(a.send("a CLOSE x") == ["a BAD Unexpected arguments"])
        #expect(a.send("b CLOSE") == ["b BAD No mailbox selected."])
        a.appendMessages(2)
        _ = a.send("c SELECT INBOX")
        _ = b.send("d SELECT INBOX")
        _ = a.send("e STORE 1 +FLAGS.SILENT (\\Deleted)")
        #expect(a.send("f CLOSE") == ["f OK Close completed."])
        #expect(a.send("g FETCH 1 UID") == ["g BAD No mailbox selected."])
        #expect(b.send("h NOOP") == ["* 1 EXPUNGE", "h OK NOOP completed."])
        // EXAMINE then CLOSE expunges nothing.
        _ = b.send("i STORE 1 +FLAGS.SILENT (\\Deleted)")
        _ = a.send("j EXAMINE INBOX")
        #expect(a.send("k CLOSE") == ["k OK Close completed."])
        #expect(b.send("l NOOP") == ["l OK NOOP completed."])
    }
}
