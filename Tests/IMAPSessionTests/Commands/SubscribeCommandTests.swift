import AerieTestSupport
import Testing

/// SUBSCRIBE and UNSUBSCRIBE (RFC 9051 §6.3.7, §6.3.8).
@Suite struct SubscribeCommandTests {
    @Test func subscribeAndUnsubscribe() throws {
        let root = makeTempDirectory("cmd")
        defer { removeTree(root) }
        let a = try CommandTranscript(root: root)
        let b = try CommandTranscript(root: root)
        #expect(a.send("a SUBSCRIBE") == ["a BAD Missing mailbox name"])
        #expect(a.send("b UNSUBSCRIBE") == ["b BAD Missing mailbox name"])
        #expect(a.send("c SUBSCRIBE Foo x") == ["c BAD Unexpected arguments"])
        _ = a.send("d CREATE Foo")
        #expect(a.send("e SUBSCRIBE Foo") == ["e OK Subscribe completed."])
        #expect(b.send("f LSUB \"\" *") == ["* LSUB () \"/\" Foo", "f OK Lsub completed."])
        #expect(b.send("g UNSUBSCRIBE Foo") == ["g OK Unsubscribe completed."])
        #expect(a.send("h LSUB \"\" *") == ["h OK Lsub completed."])
    }
}
