import AerieTestSupport
import Testing

/// EXPUNGE and UID EXPUNGE (RFC 9051 §6.4.3, RFC 4315 §2.1).
@Suite struct ExpungeCommandTests {
    @Test func expunge() throws {
        let root = makeTempDirectory("cmd")
        defer { removeTree(root) }
        let a = try CommandTranscript(root: root)
        let b = try CommandTranscript(root: root)
        #expect(a.send("a EXPUNGE x") == ["a BAD Unexpected arguments"])
        #expect(a.send("b UID EXPUNGE") == ["b BAD Missing sequence set"])
        #expect(a.send("c EXPUNGE") == ["c BAD No mailbox selected."])
        a.appendMessages(3)
        _ = a.send("d SELECT INBOX")
        _ = b.send("e SELECT INBOX")
        _ = a.send("f STORE 1:3 +FLAGS.SILENT (\\Deleted)")
        // UID EXPUNGE takes only the named \Deleted messages.
        #expect(a.send("g UID EXPUNGE 2") == ["* 2 EXPUNGE", "* 2 RECENT", "g OK Expunge completed."])
        #expect(a.send("h EXPUNGE") == ["* 1 EXPUNGE", "* 1 EXPUNGE", "* 0 RECENT", "h OK Expunge completed."])
        #expect(b.send("i NOOP").filter { $0.hasSuffix("EXPUNGE") } == ["* 1 EXPUNGE", "* 1 EXPUNGE", "* 1 EXPUNGE"])
        _ = b.send("j EXAMINE INBOX")
        #expect(b.send("k EXPUNGE") == ["k NO [READ-ONLY] Mailbox is read-only."])
    }
}
