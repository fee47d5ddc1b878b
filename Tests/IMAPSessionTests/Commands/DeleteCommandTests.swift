import AerieTestSupport
import Testing

/// DELETE (RFC 9051 §6.3.5).
@Suite struct DeleteCommandTests {
    @Test func delete() throws {
        let root = makeTempDirectory("cmd")
        defer { removeTree(root) }
        let a = try CommandTranscript(root: root)
        let b = try CommandTranscript(root: root)
        #expect(a.send("a DELETE") == ["a BAD Missing mailbox name"])
        #expect(a.send("b DELETE Foo x") == ["b BAD Unexpected arguments"])
        #expect(a.send("c DELETE Foo") == ["c NO [NONEXISTENT] Mailbox doesn't exist."])
        #expect(a.send("d DELETE INBOX") == ["d NO [CANNOT] INBOX can't be deleted."])
        _ = a.send("e CREATE Foo")
        _ = a.send("f SELECT Foo")
        #expect(b.send("g DELETE Foo") == ["g OK Delete completed."])
        #expect(b.send("h LIST \"\" *") == ["* LIST (\\HasNoChildren) \"/\" INBOX", "h OK List completed."])
        // The session that selected it deletes its own selection too: nothing is selected after.
        _ = a.send("i CREATE Bar")
        _ = a.send("j SELECT Bar")
        #expect(a.send("k DELETE Bar") == ["k OK Delete completed."])
        #expect(a.send("l CHECK") == ["l BAD No mailbox selected."])
    }
}
