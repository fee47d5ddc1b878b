import AerieTestSupport
import Testing

/// RENAME (RFC 9051 §6.3.6).
@Suite struct RenameCommandTests {
    @Test func rename() throws {
        let root = makeTempDirectory("cmd")
        defer { removeTree(root) }
        let a = try CommandTranscript(root: root)
        let b = try CommandTranscript(root: root)
        #expect(a.send("a RENAME") == ["a BAD Missing mailbox name"])
        #expect(a.send("b RENAME Foo") == ["b BAD Missing mailbox name"])
        #expect(a.send("c RENAME Foo Bar") == ["c NO [NONEXISTENT] Mailbox doesn't exist."])
        _ = a.send("d CREATE Foo")
        _ = a.send("e CREATE Bar")
        #expect(a.send("f RENAME Foo Bar") == ["f NO [ALREADYEXISTS] Mailbox already exists."])
        #expect(a.send("g RENAME Foo Baz") == ["g OK Rename completed."])
        #expect(
            b.send("h LIST \"\" B*") == [
                "* LIST (\\HasNoChildren) \"/\" Bar", "* LIST (\\HasNoChildren) \"/\" Baz", "h OK List completed.",
            ])
    }
}
