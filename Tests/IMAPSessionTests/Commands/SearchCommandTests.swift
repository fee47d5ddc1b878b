import AerieTestSupport
import Testing

/// SEARCH and UID SEARCH (RFC 9051 §6.4.4): by sequence number no EXPUNGE is announced (RFC 9051 §7.5.1).
@Suite struct SearchCommandTests {
    @Test func search() throws {
        let root = makeTempDirectory("cmd")
        defer { removeTree(root) }
        let a = try CommandTranscript(root: root)
        let b = try CommandTranscript(root: root)
        #expect(a.send("a SEARCH") == ["a BAD Missing SEARCH key"])
        #expect(a.send("b SEARCH ALL") == ["b BAD No mailbox selected."])
        a.appendMessages(3)
        _ = a.send("c SELECT INBOX")
        #expect(a.send("d SEARCH CHARSET KOI8-R ALL") == ["d NO [BADCHARSET (UTF-8 US-ASCII)] Unsupported charset."])
        #expect(a.send("e SEARCH SUBJECT m2") == ["* SEARCH 2", "e OK Search completed."])
        #expect(a.send("f UID SEARCH NOT SUBJECT m2") == ["* SEARCH 1 3", "f OK Search completed."])
        _ = b.send("g SELECT INBOX")
        _ = b.send("h STORE 1 +FLAGS.SILENT (\\Deleted)")
        _ = b.send("i EXPUNGE")
        #expect(a.send("j SEARCH ALL") == ["* SEARCH 1 2 3", "j OK Search completed."])
        // The UID form answers over the messages the client knows, then announces the expunge.
        #expect(
            a.send("k UID SEARCH ALL") == ["* SEARCH 1 2 3", "* 1 EXPUNGE", "* 2 RECENT", "k OK Search completed."])
    }
}
