import AerieTestSupport
import Foundation
import Testing
@testable import AerieConfig

@Suite struct ConfigSnapshotTests {
    /// A snapshot loads the configuration as it was read: files broken or removed since change nothing.
    @Test func aSnapshotLoadsWhatWasReadWhateverTheFilesHoldNow() throws {
        let dir = try makeTempDir([
            "aerie.conf": "!include conf.d/*.conf\nlogin_greeting = <greeting.txt\n",
            "conf.d/10-a.conf": "auth_mechanisms = plain login\n",
            "conf.d/20-b.conf": "first_valid_uid = 2000\n",
            "greeting.txt": "Snapshot mail\n",
        ])
        defer { removeTree(dir) }
        let loaded = try ConfigLoader.load(path: dir + "/aerie.conf")
        let snapshot = try #require(loaded.snapshot)
        #expect(snapshot.files.count == 4)
        try "login_greeting_typo = nope\n".write(toFile: dir + "/aerie.conf", atomically: true, encoding: .utf8)
        try FileManager.default.removeItem(atPath: dir + "/conf.d/20-b.conf")
        try "nonsense\n".write(toFile: dir + "/conf.d/30-c.conf", atomically: true, encoding: .utf8)
        try FileManager.default.removeItem(atPath: dir + "/greeting.txt")
        #expect(throws: ConfigError.self) { try ConfigLoader.load(path: dir + "/aerie.conf") }

        let again = try ConfigLoader.load(snapshot: ConfigSnapshot.decode(snapshot.encoded()))
        #expect(again.settings.authMechanisms == ["plain", "login"])
        #expect(again.settings.firstValidUID == 2000)
        #expect(again.settings.loginGreeting == "Snapshot mail")
        #expect(again.snapshot == snapshot)
    }

    @Test func aSnapshotWithoutItsMainFileIsAnError() {
        #expect(throws: ConfigError.self) { try ConfigLoader.load(snapshot: ConfigSnapshot(path: "/nonexistent")) }
    }
}
