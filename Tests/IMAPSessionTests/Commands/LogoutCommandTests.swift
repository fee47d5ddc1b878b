import AerieTestSupport
import IMAPSession
import Testing

/// LOGOUT (RFC 9051 §6.1.3), before and after login.
@Suite struct LogoutCommandTests {
    @Test func logout() throws {
        let root = makeTempDirectory("cmd")
        defer { removeTree(root) }
        let before = try CommandTranscript(root: root, loggedIn: false)
        #expect(before.send("a LOGOUT x") == ["a BAD Unexpected arguments"])
        #expect(before.send("b LOGOUT") == ["* BYE Logging out", "b OK Logout completed."])
        #expect(before.transportActions == [.close(reason: "Aborted login by logging out")])
        let after = try CommandTranscript(root: root)
        #expect(after.send("c LOGOUT") == ["* BYE Logging out", "c OK Logout completed."])
        #expect(after.transportActions == [.close(reason: "Logged out")])
        // Nothing more is read once the session is over.
        #expect(after.send("d NOOP") == [])
    }
}
