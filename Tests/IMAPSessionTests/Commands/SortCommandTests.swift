import AerieTestSupport
import Testing

/// SORT and UID SORT (RFC 5256 §3, RFC 5267 ESORT).
@Suite struct SortCommandTests {
    @Test func sort() throws {
        let root = makeTempDirectory("cmd")
        defer { removeTree(root) }
        let a = try CommandTranscript(root: root)
        let b = try CommandTranscript(root: root)
        #expect(a.send("a SORT") == ["a BAD Missing SORT criteria"])
        #expect(a.send("b SORT (SUBJECT) UTF-8 ALL") == ["b BAD No mailbox selected."])
        a.appendMessages(3)
        _ = a.send("c SELECT INBOX")
        #expect(a.send("d SORT (SUBJECT) KOI8-R ALL") == ["d NO [BADCHARSET (UTF-8 US-ASCII)] Unsupported charset."])
        #expect(a.send("e SORT (REVERSE SUBJECT) UTF-8 ALL") == ["* SORT 3 2 1", "e OK Sort completed."])
        #expect(a.send("f UID SORT (SUBJECT) UTF-8 NOT SUBJECT m1") == ["* SORT 2 3", "f OK Sort completed."])
        _ = b.send("g SELECT INBOX")
        _ = b.send("h STORE 3 +FLAGS.SILENT (\\Deleted)")
        _ = b.send("i EXPUNGE")
        // By sequence number the expunge waits; the UID form announces it after its answer.
        let bySequence = a.send("j SORT (SUBJECT) UTF-8 ALL")
        #expect(bySequence.count == 2 && bySequence[0].split(separator: " ").count == 5)
        #expect(bySequence.last == "j OK Sort completed.")
        let byUID = a.send("k UID SORT (SUBJECT) UTF-8 ALL")
        #expect(byUID.count == 4 && byUID[0].hasPrefix("* SORT ") && byUID[1] == "* 3 EXPUNGE")
        #expect(byUID.last == "k OK Sort completed.")
    }
}
