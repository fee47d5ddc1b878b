import AerieTestSupport
import Foundation
import Testing
@testable import AerieConfig

@Suite struct IncludeTests {
    @Test func globIncludesRelativeToIncludingFile() throws {
        let dir = try makeTempDir([
            "dovecot.conf": "!include conf.d/*.conf\nauth_verbose = yes\n",
            "conf.d/10-a.conf": "auth_mechanisms = plain login\n!include sub/extra.conf\n",
            "conf.d/20-b.conf": "auth_mechanisms = plain\n",
            "conf.d/sub/extra.conf": "first_valid_uid = 2000\n",
            "conf.d/ignored.txt": "garbage without equals\n",
        ])
        defer { removeTree(dir) }
        let c = try ConfigLoader.load(path: dir + "/dovecot.conf")
        #expect(c.settings.authMechanisms == ["plain"])  // 20-b.conf is read after 10-a.conf
        #expect(c.settings.firstValidUID == 2000)
        #expect(c.settings.authVerbose)
    }

    @Test func includeInsideSectionKeepsContext() throws {
        let dir = try makeTempDir([
            "dovecot.conf": "protocol imap {\n  !include imap.conf\n}\n",
            "imap.conf": "login_greeting = IMAP only\n",
        ])
        defer { removeTree(dir) }
        let c = try ConfigLoader.load(path: dir + "/dovecot.conf")
        #expect(c.settings.loginGreeting == "Aerie ready.")
        #expect(c.settings.forProtocol("imap").loginGreeting == "IMAP only")
    }

    @Test func missingIncludeIsAnErrorButIncludeTryIsNot() throws {
        let dir = try makeTempDir(["dovecot.conf": "!include_try nothere.conf\n!include none/*.conf\n!include missing.conf\n"])
        defer { removeTree(dir) }
        do {
            _ = try ConfigLoader.load(path: dir + "/dovecot.conf")
            Issue.record("expected error")
        } catch {
            #expect(error.diagnostics.map(\.description) == ["\(dir)/dovecot.conf:3: !include missing.conf: No such file or directory"])
        }
    }

    @Test func includeLoopIsAnError() throws {
        let dir = try makeTempDir(["a.conf": "!include b.conf\n", "b.conf": "ssl = yes\n!include a.conf\n"])
        defer { removeTree(dir) }
        do {
            _ = try ConfigLoader.load(path: dir + "/a.conf")
            Issue.record("expected error")
        } catch {
            #expect(error.diagnostics.map(\.description)
                    == ["\(dir)/b.conf:2: !include a.conf: include loop (\(dir)/a.conf is already being read)"])
        }
    }

    @Test func includeDepthLimit() throws {
        var files: [String: String] = [:]
        for i in 0...21 { files["f\(i).conf"] = "!include f\(i + 1).conf\n" }
        files["f22.conf"] = "ssl = yes\n"
        let dir = try makeTempDir(files)
        defer { removeTree(dir) }
        do {
            _ = try ConfigLoader.load(path: dir + "/f0.conf")
            Issue.record("expected error")
        } catch {
            #expect(error.diagnostics.map(\.description)
                    == ["\(dir)/f20.conf:1: !include f21.conf: includes nested deeper than 20 levels (include loop?)"])
        }
    }

    @Test func includeCountLimit() throws {
        var files = ["dovecot.conf": "!include many/*.conf\n"]
        for i in 0..<257 { files["many/\(String(i).leftPad(3)).conf"] = "# empty\n" }
        let dir = try makeTempDir(files)
        defer { removeTree(dir) }
        do {
            _ = try ConfigLoader.load(path: dir + "/dovecot.conf")
            Issue.record("expected error")
        } catch {
            #expect(error.diagnostics.map(\.description) == ["\(dir)/dovecot.conf:1: !include many/*.conf: more than 256 included files"])
        }
    }

    @Test func oversizedIncludedFile() throws {
        let dir = try makeTempDir(["dovecot.conf": "!include big.conf\n", "big.conf": String(repeating: "#", count: 4 * 1024 * 1024 + 1)])
        defer { removeTree(dir) }
        do {
            _ = try ConfigLoader.load(path: dir + "/dovecot.conf")
            Issue.record("expected error")
        } catch {
            #expect(error.diagnostics.map(\.description) == ["\(dir)/dovecot.conf:1: !include \(dir)/big.conf: File too large (4194305 bytes, limit 4194304)"])
        }
    }

    @Test func valueFromFile() throws {
        let dir = try makeTempDir(["dovecot.conf": "login_greeting = <greeting.txt\n", "greeting.txt": "Welcome to Aerie\n"])
        defer { removeTree(dir) }
        let c = try ConfigLoader.load(path: dir + "/dovecot.conf")
        #expect(c.settings.loginGreeting == "Welcome to Aerie")
        #expect(c.warnings.isEmpty)
        do {
            _ = try ConfigLoader.load(text: "login_greeting = <nope.txt\n", path: dir + "/x.conf")
            Issue.record("expected error")
        } catch {
            #expect(error.diagnostics.map(\.description) == ["\(dir)/x.conf:1: login_greeting = <nope.txt: No such file or directory"])
        }
    }

    @Test func fileAccessCanBeDisabled() {
        do {
            _ = try ConfigLoader.load(text: "!include /etc/passwd\n", path: "/x.conf", options: ConfigLoadOptions(allowFileAccess: false))
            Issue.record("expected error")
        } catch {
            #expect(error.diagnostics.map(\.description) == ["/x.conf:1: !include /etc/passwd: file access is disabled for this load"])
        }
    }
}
