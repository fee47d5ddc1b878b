import AerieTestSupport
import Testing

/// SELECT and EXAMINE (RFC 9051 §6.3.2, §6.3.3): only a read-write SELECT claims \Recent.
@Suite struct SelectCommandTests {
    @Test func selectAndExamine() throws {
        let root = makeTempDirectory("cmd")
        defer { removeTree(root) }
        let a = try CommandTranscript(root: root)
        let b = try CommandTranscript(root: root)
        #expect(a.send("a SELECT") == ["a BAD Missing mailbox name"])
        #expect(a.send("b SELECT INBOX x") == ["b BAD Missing SELECT parameters"])
        #expect(a.send("c EXAMINE") == ["c BAD Missing mailbox name"])
        #expect(a.send("d SELECT Nope") == ["d NO [NONEXISTENT] Mailbox doesn't exist."])
        b.appendMessages(2)
        let examined = a.send("e EXAMINE INBOX")
        #expect(examined.contains("* OK [PERMANENTFLAGS ()] Read-only mailbox."))
        // EXAMINE sees the messages as recent but leaves them so.
        #expect(examined.contains("* 2 EXISTS") && examined.contains("* 2 RECENT"))
        #expect(examined.last == "e OK [READ-ONLY] Examine completed.")
        let selected = a.send("f SELECT INBOX")
        #expect(selected.contains("* 2 EXISTS") && selected.contains("* 2 RECENT"))
        #expect(selected.contains("* OK [UNSEEN 1] First unseen."))
        #expect(selected.last == "f OK [READ-WRITE] Select completed.")
        // A claimed both messages: B, selecting after it, sees them as not recent.
        let other = b.send("g SELECT INBOX")
        #expect(other.contains("* 2 EXISTS") && other.contains("* 0 RECENT"))
        #expect(
            b.send("h FETCH 1:* FLAGS") == ["* 1 FETCH (FLAGS ())", "* 2 FETCH (FLAGS ())", "h OK Fetch completed."])
    }
}
