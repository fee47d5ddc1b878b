import AerieTestSupport
import Testing

/// CANCELUPDATE (RFC 5267 §4.3): ends a SEARCH RETURN (UPDATE).
@Suite struct CancelUpdateCommandTests {
    @Test func cancelUpdate() throws {
        let root = makeTempDirectory("cmd")
        defer { removeTree(root) }
        let a = try CommandTranscript(root: root)
        let b = try CommandTranscript(root: root)
        #expect(a.send("a CANCELUPDATE") == ["a BAD Missing search tag"])
        #expect(a.send("b CANCELUPDATE \"s\"") == ["b BAD No mailbox selected."])
        a.appendMessages(1)
        _ = a.send("c SELECT INBOX")
        _ = b.send("d SELECT INBOX")
        #expect(a.send("e CANCELUPDATE \"s\"") == ["e NO Unknown tag."])
        _ = a.send("s SEARCH RETURN (UPDATE) ALL")
        b.appendMessages(1)
        #expect(a.send("f NOOP").contains("* ESEARCH (TAG \"s\") ADDTO (0 2)"))
        #expect(a.send("g CANCELUPDATE \"s\"") == ["g OK Updates cancelled."])
        b.appendMessages(1)
        #expect(a.send("h NOOP") == ["* 3 EXISTS", "h OK NOOP completed."])
    }
}
