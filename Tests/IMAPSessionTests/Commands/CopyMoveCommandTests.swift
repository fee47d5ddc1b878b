import AerieTestSupport
import Testing

/// COPY, MOVE and their UID forms (RFC 9051 §6.4.7, §6.4.8, RFC 4315 COPYUID).
@Suite struct CopyMoveCommandTests {
    @Test func copyAndMove() throws {
        let root = makeTempDirectory("cmd")
        defer { removeTree(root) }
        let a = try CommandTranscript(root: root)
        let b = try CommandTranscript(root: root)
        #expect(a.send("a COPY 1") == ["a BAD Missing mailbox name"])
        #expect(a.send("b MOVE 1") == ["b BAD Missing mailbox name"])
        #expect(a.send("c UID MOVE 1 Foo") == ["c BAD No mailbox selected."])
        a.appendMessages(2)
        _ = a.send("d CREATE Foo")
        _ = a.send("e SELECT INBOX")
        _ = b.send("f SELECT INBOX")
        #expect(a.send("g COPY 1 Nope") == ["g NO [TRYCREATE] Mailbox doesn't exist."])
        let copied = a.send("h COPY 1 Foo")
        #expect(
            copied.count == 1 && copied[0].hasPrefix("h OK [COPYUID ") && copied[0].hasSuffix(" 1 1] Copy completed."))
        #expect(a.send("i UID COPY 2 Foo").last?.hasSuffix(" 2 2] Copy completed.") == true)
        let moved = a.send("j UID MOVE 1 Foo")
        #expect(moved.count == 4 && moved[0].hasPrefix("* OK [COPYUID ") && moved[0].hasSuffix(" 1 3] Moved UIDs."))
        #expect(moved[1...] == ["* 1 EXPUNGE", "* 1 RECENT", "j OK Move completed."])
        #expect(b.send("k NOOP") == ["* 1 EXPUNGE", "k OK NOOP completed."])
        #expect(b.send("l STATUS Foo (MESSAGES)") == ["* STATUS Foo (MESSAGES 3)", "l OK Status completed."])
        #expect(a.send("m MOVE 1 Foo").last == "m OK Move completed.")
    }
}
