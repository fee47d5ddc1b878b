import AerieCore
@testable import AerieAuth
import AerieTestSupport
import Foundation
import Synchronization
import Testing

@Suite struct PasswdFileParserTests {
    @Test func fieldShapes() {
        let text = """
            # comment
              # indented comment

            full:{PLAIN}pw:1000:1001:Full Name:/home/full:/bin/sh:userdb_mail=maildir:~/Mail quota_rule=*:storage=1G nopassword
            short:{PLAIN}pw
            onlyuser
            empty::::::
            bad:{PLAIN}pw:notanumber:1
            full:{PLAIN}second
            crlf:{PLAIN}pw:2000:2000\r
            """
        let result = PasswdFileParser.parse(Array(text.utf8))
        let full = result.entries["full"]
        #expect(full?.password == "{PLAIN}pw")
        #expect(full?.uid == 1000 && full?.gid == 1001 && full?.gecos == "Full Name")
        #expect(full?.home == "/home/full" && full?.shell == "/bin/sh")
        #expect(full?.extraFields == ["userdb_mail": "maildir:~/Mail", "quota_rule": "*:storage=1G", "nopassword": ""])
        #expect(result.entries["short"] == PasswdFileEntry(user: "short", password: "{PLAIN}pw"))
        #expect(result.entries["onlyuser"] == PasswdFileEntry(user: "onlyuser"))
        #expect(result.entries["empty"] == PasswdFileEntry(user: "empty"))
        #expect(result.entries["crlf"]?.gid == 2000)
        #expect(result.entries["bad"] == nil)
        // Extra fields Aerie does not act on are reported once per load (issue 15), then the broken lines.
        #expect(result.problems.map(\.line) == [4, 4, 4, 8, 9])
        #expect(result.problems.prefix(3).map(\.reason) == ["nopassword", "quota_rule", "userdb_mail"].map {
            "extra field \($0) is ignored by Aerie"
        })
        #expect(result.entries.count == 5)
    }

    @Test func overlongLineSkipped() {
        let long = "big:" + String(repeating: "a", count: PasswdFileParser.maximumLineLength) + "\nok:x\n"
        let result = PasswdFileParser.parse(Array(long.utf8))
        #expect(result.entries["big"] == nil && result.entries["ok"] != nil)
        #expect(result.problems.first?.reason == "line too long")
    }
}

@Suite struct UserVariablesTests {
    @Test func expansion() throws {
        let user = "Bob@Example.COM"
        #expect(try UserVariables.expand("/etc/%{user|domain}/passwd", user: user) == "/etc/Example.COM/passwd")
        #expect(try UserVariables.expand("%{user|username}:%{user}:%{user|domain|lower}", user: user) == "Bob:Bob@Example.COM:example.com")
        #expect(try UserVariables.expand("%u %n %d %Lu %Ld %%", user: user) == "Bob@Example.COM Bob Example.COM bob@example.com example.com %")
        #expect(try UserVariables.expand("%{user|lower}", user: user) == "bob@example.com")
        #expect(throws: UserVariables.ExpansionError.self) { try UserVariables.expand("%x", user: user) }
        #expect(throws: UserVariables.ExpansionError.self) { try UserVariables.expand("%{home}", user: user) }
    }

    @Test(arguments: ["../etc@x", "a/b@example.com", ".hidden", "bob@../..", "bob@.", "bob@a/b", "", "bo\nb"])
    func traversalRefused(_ user: String) {
        #expect(throws: UserVariables.ExpansionError.unsafeUser) { try UserVariables.expandPath("/etc/mail/%d/%n", user: user) }
    }
}

@Suite struct PasswdFileCacheTests {
    final class Clock: Sendable {
        let instant = Mutex(ContinuousClock.now)
        func advance(_ duration: Duration) { instant.withLock { $0 += duration } }
    }

    @Test func reloadsOnChangeAtMostOncePerSecond() throws {
        let dir = URL(fileURLWithPath: makeTempDirectory("auth"))
        defer { removeTree(dir.path) }
        let path = dir.appendingPathComponent("passwd").path
        try "alice:{PLAIN}one:1000:1000\n".write(toFile: path, atomically: false, encoding: .utf8)
        let clock = Clock()
        let cache = PasswdFileCache(now: { clock.instant.withLock { $0 } })
        #expect(cache.lookup(user: "alice", path: path, missingIsUnknown: false) == .found(PasswdFileEntry(user: "alice", password: "{PLAIN}one", uid: 1000, gid: 1000)))
        try "alice:{PLAIN}two-longer:1000:1000\nbob:x\n".write(toFile: path, atomically: false, encoding: .utf8)
        // Within the second: the cached copy answers.
        #expect(cache.lookup(user: "bob", path: path, missingIsUnknown: false) == .notFound)
        clock.advance(.seconds(2))
        #expect(cache.lookup(user: "bob", path: path, missingIsUnknown: false) == .found(PasswdFileEntry(user: "bob", password: "x")))
        #expect(cache.lookup(user: "alice", path: path, missingIsUnknown: false) == .found(PasswdFileEntry(user: "alice", password: "{PLAIN}two-longer", uid: 1000, gid: 1000)))
    }

    @Test func missingFile() throws {
        let cache = PasswdFileCache()
        #expect(cache.lookup(user: "a", path: "/nonexistent/aerie/passwd", missingIsUnknown: true) == .notFound)
        guard case .failure(let message) = cache.lookup(user: "a", path: "/nonexistent/aerie/passwd", missingIsUnknown: false) else {
            Issue.record("expected failure")
            return
        }
        #expect(message.contains("/nonexistent/aerie/passwd"))
    }
}
