import AerieTestSupport
import IMAPSession
import Testing

/// UNAUTHENTICATE (RFC 8437): back to the not-authenticated state on the same connection.
@Suite struct UnauthenticateCommandTests {
    @Test func unauthenticate() throws {
        let root = makeTempDirectory("cmd")
        defer { removeTree(root) }
        let before = try CommandTranscript(root: root, loggedIn: false)
        #expect(before.send("a UNAUTHENTICATE x") == ["a BAD Unexpected arguments"])
        #expect(before.send("b UNAUTHENTICATE") == ["b BAD UNAUTHENTICATE is valid only after login."])
        let disabled = try CommandTranscript(root: root, loggedIn: false, unauthenticate: false)
        #expect(disabled.send("c UNAUTHENTICATE") == ["c BAD UNAUTHENTICATE is disabled."])
        let client = try CommandTranscript(root: root)
        #expect(client.send("d UNAUTHENTICATE") == ["d OK Unauthenticate completed."])
        #expect(client.transportActions == [.loggedOut(demoUser(root))])
        #expect(client.send("e SELECT INBOX") == ["e BAD SELECT is not valid before login."])
    }
}
