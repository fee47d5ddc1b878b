import AerieTestSupport
import Testing

/// NOTIFY (RFC 5465): another mailbox's changes arrive as STATUS.
@Suite struct NotifyCommandTests {
    @Test func notify() throws {
        let root = makeTempDirectory("cmd")
        defer { removeTree(root) }
        let a = try CommandTranscript(root: root)
        let b = try CommandTranscript(root: root)
        #expect(a.send("a NOTIFY") == ["a BAD Invalid NOTIFY arguments"])
        #expect(a.send("b NOTIFY NONE") == ["b OK NOTIFY completed."])
        _ = a.send("c CREATE Foo")
        #expect(a.send("d NOTIFY SET (mailboxes Foo (MessageNew MessageExpunge))") == ["d OK NOTIFY completed."])
        b.appendMessages(1, to: "Foo")
        #expect(a.poll() == ["* STATUS Foo (MESSAGES 1 UIDNEXT 2 UNSEEN 1)"])
        #expect(a.send("e NOTIFY NONE") == ["e OK NOTIFY completed."])
        b.appendMessages(1, to: "Foo")
        #expect(a.poll() == [])
    }
}
