import AerieTestSupport
import Testing

/// GETQUOTA, GETQUOTAROOT, SETQUOTA (RFC 9208) and the other commands Aerie names but does not implement: QUOTA is
/// not advertised, so each is refused on purpose, by its own table entry.
@Suite struct QuotaCommandTests {
    @Test func quotaCommandsAreRefused() throws {
        let root = makeTempDirectory("cmd")
        defer { removeTree(root) }
        let before = try CommandTranscript(root: root, loggedIn: false)
        #expect(before.send("a GETQUOTA \"\"") == ["a BAD GETQUOTA is not valid before login."])
        let client = try CommandTranscript(root: root)
        #expect(!client.send("b CAPABILITY")[0].contains("QUOTA"))
        #expect(client.send("c GETQUOTA") == ["c BAD Missing quota root"])
        #expect(client.send("d SETQUOTA \"\" (STORAGE x)") == ["d BAD Invalid number"])
        #expect(client.send("e GETQUOTA \"\"") == ["e BAD GETQUOTA is not supported."])
        #expect(client.send("f GETQUOTAROOT INBOX") == ["f BAD GETQUOTAROOT is not supported."])
        #expect(client.send("g SETQUOTA \"\" (STORAGE 10)") == ["g BAD SETQUOTA is not supported."])
        #expect(client.send("h GETMETADATA \"\" /shared/comment") == ["h BAD GETMETADATA is not supported."])
        #expect(client.send("i MYRIGHTS INBOX") == ["i BAD MYRIGHTS is not supported."])
    }
}
