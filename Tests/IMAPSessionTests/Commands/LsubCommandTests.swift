import AerieTestSupport
import Testing

/// LSUB (RFC 3501 §6.3.9), still sent by IMAP4rev1 clients.
@Suite struct LsubCommandTests {
    @Test func lsub() throws {
        let root = makeTempDirectory("cmd")
        defer { removeTree(root) }
        let a = try CommandTranscript(root: root)
        let b = try CommandTranscript(root: root)
        #expect(a.send("a LSUB") == ["a BAD Missing mailbox name"])
        #expect(a.send("b LSUB \"\"") == ["b BAD Missing mailbox pattern"])
        #expect(a.send("c LSUB \"\" *") == ["c OK Lsub completed."])
        _ = b.send("d CREATE Foo")
        _ = b.send("e SUBSCRIBE Foo")
        #expect(a.send("f LSUB \"\" *") == ["* LSUB () \"/\" Foo", "f OK Lsub completed."])
    }
}
