import AerieTestSupport
import Testing

/// IDLE (RFC 2177): changes come while idling, DONE ends it.
@Suite struct IdleCommandTests {
    @Test func idle() throws {
        let root = makeTempDirectory("cmd")
        defer { removeTree(root) }
        let a = try CommandTranscript(root: root)
        let b = try CommandTranscript(root: root)
        #expect(a.send("a IDLE x") == ["a BAD Unexpected arguments"])
        _ = a.send("b SELECT INBOX")
        #expect(a.send("c IDLE") == ["+ idling"])
        #expect(a.poll() == [])
        b.appendMessages(1)
        #expect(a.poll() == ["* 1 EXISTS", "* 1 RECENT"])
        #expect(a.done() == ["c OK Idle completed."])
        #expect(a.done() == [])
    }
}
