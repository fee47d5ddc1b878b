import AerieTestSupport
import Testing

/// FETCH and UID FETCH (RFC 9051 §6.4.5): a body fetch sets \Seen, which other sessions hear.
@Suite struct FetchCommandTests {
    @Test func fetch() throws {
        let root = makeTempDirectory("cmd")
        defer { removeTree(root) }
        let a = try CommandTranscript(root: root)
        let b = try CommandTranscript(root: root)
        #expect(a.send("a FETCH") == ["a BAD Missing sequence set"])
        #expect(a.send("b FETCH 1") == ["b BAD Missing FETCH attributes"])
        #expect(a.send("c FETCH 1 FLAGS") == ["c BAD No mailbox selected."])
        a.appendMessages(2)
        _ = a.send("d SELECT INBOX")
        _ = b.send("e SELECT INBOX")
        #expect(a.send("f FETCH 1 (UID FLAGS)") == ["* 1 FETCH (UID 1 FLAGS (\\Recent))", "f OK Fetch completed."])
        #expect(a.send("g UID FETCH 2 RFC822.SIZE") == ["* 2 FETCH (UID 2 RFC822.SIZE 23)", "g OK Fetch completed."])
        #expect(
            a.send("h FETCH 1 BODY[HEADER.FIELDS (SUBJECT)]") == [
                "* 1 FETCH (BODY[HEADER.FIELDS (SUBJECT)] {15}", "Subject: m1", " FLAGS (\\Seen \\Recent))",
                "h OK Fetch completed.",
            ])
        #expect(b.send("i NOOP") == ["* 1 FETCH (FLAGS (\\Seen) UID 1)", "i OK NOOP completed."])
    }
}
