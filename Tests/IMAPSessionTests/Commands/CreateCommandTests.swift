import AerieTestSupport
import Testing

/// CREATE (RFC 9051 §6.3.4, RFC 6154 USE, RFC 8474 MAILBOXID).
@Suite struct CreateCommandTests {
    @Test func create() throws {
        let root = makeTempDirectory("cmd")
        defer { removeTree(root) }
        let a = try CommandTranscript(root: root)
        let b = try CommandTranscript(root: root)
        #expect(a.send("a CREATE") == ["a BAD Missing mailbox name"])
        #expect(a.send("b CREATE Foo x") == ["b BAD Missing CREATE parameters"])
        let created = a.send("c CREATE Foo")
        #expect(
            created.count == 1 && created[0].hasPrefix("c OK [MAILBOXID (")
                && created[0].hasSuffix(")] Create completed."))
        #expect(a.send("d CREATE Foo") == ["d NO [ALREADYEXISTS] Mailbox already exists."])
        #expect(a.send("e CREATE Sent (USE (\\Sent))").last?.hasSuffix("Create completed.") == true)
        #expect(
            b.send("f LIST \"\" *") == [
                "* LIST (\\HasNoChildren) \"/\" INBOX", "* LIST (\\HasNoChildren) \"/\" Foo",
                "* LIST (\\HasNoChildren \\Sent) \"/\" Sent", "f OK List completed.",
            ])
    }
}
