import AerieTestSupport
import Testing

/// CAPABILITY (RFC 9051 §6.1.1), in every state.
@Suite struct CapabilityCommandTests {
    @Test func capability() throws {
        let root = makeTempDirectory("cmd")
        defer { removeTree(root) }
        let client = try CommandTranscript(root: root, loggedIn: false)
        #expect(client.send("a CAPABILITY x") == ["a BAD Unexpected arguments"])
        let before = client.send("b CAPABILITY")
        #expect(before.count == 2 && before[0].hasPrefix("* CAPABILITY IMAP4rev2 ") && before[0].contains("AUTH=PLAIN"))
        #expect(before.last == "b OK Capability completed.")
        _ = client.send("c LOGIN demo secret")
        _ = client.finish(.success(demoUser(root)))
        // After login the list names what the mail session implements, and no longer the mechanisms.
        let after = client.send("d CAPABILITY")
        #expect(after.count == 2 && after[0].contains(" IDLE ") && !after[0].contains("AUTH="))
        #expect(after.last == "d OK Capability completed.")
    }
}
