import AerieTestSupport
import Testing

/// THREAD and UID THREAD (RFC 5256 §4).
@Suite struct ThreadCommandTests {
    @Test func thread() throws {
        let root = makeTempDirectory("cmd")
        defer { removeTree(root) }
        let a = try CommandTranscript(root: root)
        let b = try CommandTranscript(root: root)
        #expect(a.send("a THREAD") == ["a BAD Missing THREAD algorithm"])
        #expect(a.send("b THREAD REFERENCES UTF-8 ALL") == ["b BAD No mailbox selected."])
        a.appendMessages(2)
        _ = a.send("c SELECT INBOX")
        #expect(a.send("d THREAD FOO UTF-8 ALL") == ["d BAD Unknown thread algorithm."])
        #expect(a.send("e THREAD ORDEREDSUBJECT UTF-8 ALL") == ["* THREAD (1)(2)", "e OK Thread completed."])
        _ = b.send("f SELECT INBOX")
        _ = b.send("g STORE 1 +FLAGS.SILENT (\\Deleted)")
        _ = b.send("h EXPUNGE")
        #expect(a.send("i THREAD REFERENCES UTF-8 ALL") == ["* THREAD (1)(2)", "i OK Thread completed."])
        #expect(
            a.send("j UID THREAD REFERENCES UTF-8 ALL") == [
                "* THREAD (1)(2)", "* 1 EXPUNGE", "* 1 RECENT", "j OK Thread completed.",
            ])
    }
}
