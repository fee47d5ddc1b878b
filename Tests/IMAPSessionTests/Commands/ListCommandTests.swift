import AerieTestSupport
import Testing

/// LIST (RFC 9051 §6.3.9, RFC 5258, RFC 5819).
@Suite struct ListCommandTests {
    @Test func list() throws {
        let root = makeTempDirectory("cmd")
        defer { removeTree(root) }
        let a = try CommandTranscript(root: root)
        let b = try CommandTranscript(root: root)
        #expect(a.send("a LIST") == ["a BAD Missing mailbox name"])
        #expect(a.send("b LIST \"\"") == ["b BAD Missing mailbox pattern"])
        #expect(a.send("c LIST \"\" \"\"") == ["* LIST (\\Noselect) \"/\" \"\"", "c OK List completed."])
        #expect(a.send("d LIST \"\" *") == ["* LIST (\\HasNoChildren) \"/\" INBOX", "d OK List completed."])
        _ = b.send("e CREATE Foo/Bar")
        #expect(
            a.send("f LIST \"\" *") == [
                "* LIST (\\HasNoChildren) \"/\" INBOX", "* LIST (\\HasChildren \\Noselect) \"/\" Foo",
                "* LIST (\\HasNoChildren) \"/\" Foo/Bar", "f OK List completed.",
            ])
        #expect(
            a.send("g LIST \"\" INBOX RETURN (STATUS (MESSAGES))") == [
                "* LIST (\\HasNoChildren) \"/\" INBOX", "* STATUS INBOX (MESSAGES 0)", "g OK List completed.",
            ])
    }
}
