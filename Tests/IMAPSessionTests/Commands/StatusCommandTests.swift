import AerieTestSupport
import Testing

/// STATUS (RFC 9051 §6.3.11): what another session's APPEND changed.
@Suite struct StatusCommandTests {
    @Test func status() throws {
        let root = makeTempDirectory("cmd")
        defer { removeTree(root) }
        let a = try CommandTranscript(root: root)
        let b = try CommandTranscript(root: root)
        #expect(a.send("a STATUS") == ["a BAD Missing mailbox name"])
        #expect(a.send("b STATUS INBOX") == ["b BAD Missing STATUS items"])
        #expect(a.send("c STATUS Nope (MESSAGES)") == ["c NO [NONEXISTENT] Mailbox doesn't exist."])
        #expect(
            a.send("d STATUS INBOX (MESSAGES UIDNEXT)") == [
                "* STATUS INBOX (MESSAGES 0 UIDNEXT 1)", "d OK Status completed.",
            ])
        b.appendMessages(2)
        _ = b.send("e SELECT INBOX")
        _ = b.send("e2 STORE 1 +FLAGS (\\Seen)")
        #expect(
            a.send("f STATUS INBOX (MESSAGES UIDNEXT UNSEEN)") == [
                "* STATUS INBOX (MESSAGES 2 UIDNEXT 3 UNSEEN 1)", "f OK Status completed.",
            ])
    }
}
