import AerieTestSupport
import Testing

/// APPEND (RFC 9051 §6.3.12, RFC 4315 APPENDUID): the other sessions hear of the new message.
@Suite struct AppendCommandTests {
    @Test func append() throws {
        let root = makeTempDirectory("cmd")
        defer { removeTree(root) }
        let a = try CommandTranscript(root: root)
        let b = try CommandTranscript(root: root)
        #expect(a.send("a APPEND") == ["a BAD Missing mailbox name"])
        #expect(a.send("b APPEND INBOX") == ["b BAD Missing message literal"])
        #expect(a.send("c APPEND Nope {5+}\r\nHello") == ["c NO [TRYCREATE] Mailbox doesn't exist."])
        _ = b.send("d SELECT INBOX")
        let appended = a.send("e APPEND INBOX (\\Seen) {5+}\r\nHello")
        #expect(
            appended.count == 1 && appended[0].hasPrefix("e OK [APPENDUID ")
                && appended[0].hasSuffix(" 1] Append completed."))
        #expect(b.send("f NOOP") == ["* 1 EXISTS", "* 1 RECENT", "f OK NOOP completed."])
        #expect(
            b.send("g FETCH 1 (FLAGS RFC822.SIZE)") == [
                "* 1 FETCH (FLAGS (\\Seen \\Recent) RFC822.SIZE 5)", "g OK Fetch completed.",
            ])
    }
}
