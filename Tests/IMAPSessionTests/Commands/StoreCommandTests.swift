import AerieTestSupport
import Testing

/// STORE and UID STORE (RFC 9051 §6.4.6, RFC 7162 UNCHANGEDSINCE).
@Suite struct StoreCommandTests {
    @Test func store() throws {
        let root = makeTempDirectory("cmd")
        defer { removeTree(root) }
        let a = try CommandTranscript(root: root)
        let b = try CommandTranscript(root: root)
        #expect(a.send("a STORE 1") == ["a BAD Missing STORE item"])
        #expect(a.send("b STORE 1 +FLAGS (\\Seen)") == ["b BAD No mailbox selected."])
        a.appendMessages(2)
        _ = a.send("c SELECT INBOX")
        _ = b.send("d SELECT INBOX")
        #expect(
            a.send("e STORE 1 +FLAGS (\\Flagged)") == [
                "* 1 FETCH (FLAGS (\\Flagged \\Recent))", "e OK Store completed.",
            ])
        #expect(a.send("f UID STORE 2 +FLAGS.SILENT (\\Seen)") == ["f OK Store completed."])
        #expect(
            b.send("g NOOP") == [
                "* 1 FETCH (FLAGS (\\Flagged) UID 1)", "* 2 FETCH (FLAGS (\\Seen) UID 2)", "g OK NOOP completed.",
            ])
        _ = b.send("h EXAMINE INBOX")
        #expect(b.send("i STORE 1 -FLAGS (\\Flagged)") == ["i NO [READ-ONLY] Mailbox is read-only."])
    }
}
