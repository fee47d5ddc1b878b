import AerieTestSupport
import IMAPSession
import Testing

/// COMPRESS (RFC 4978): after login, DEFLATE only, once.
@Suite struct CompressCommandTests {
    @Test func compress() throws {
        let root = makeTempDirectory("cmd")
        defer { removeTree(root) }
        let before = try CommandTranscript(root: root, loggedIn: false)
        #expect(before.send("a COMPRESS DEFLATE") == ["a BAD COMPRESS is not valid before login."])
        let client = try CommandTranscript(root: root)
        #expect(client.send("b COMPRESS") == ["b BAD Missing compression algorithm"])
        #expect(client.send("c COMPRESS FOO") == ["c BAD Unknown compression algorithm."])
        #expect(client.send("d COMPRESS DEFLATE") == ["d OK Begin compression."])
        #expect(client.transportActions == [.startCompression])
        #expect(
            client.send("e COMPRESS DEFLATE") == ["e NO [COMPRESSIONACTIVE] DEFLATE compression is already active."])
    }
}
