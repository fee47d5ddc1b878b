import AerieTestSupport
import IMAPProtocol
import IMAPSession
import Testing

/// The command table is the one source of each command's states, expunge rule and pool.
@Suite struct CommandTableTests {
    /// A command the parser learns without a table entry would otherwise fall into a default answer unnoticed.
    @Test func everyCommandTheParserKnowsHasExactlyOneEntry() {
        let parsed = IMAPCommandNames.commands
        let table = Set(IMAPCommands.all.keys)
        #expect(parsed.subtracting(table).isEmpty, "no table entry: \(parsed.subtracting(table).sorted())")
        #expect(table.subtracting(parsed).isEmpty, "not a parser command: \(table.subtracting(parsed).sorted())")
        for (name, spec) in IMAPCommands.all { #expect(spec.name == name) }
    }

    /// RFC 9051 §7.5.1: no EXPUNGE while a command by sequence number runs; its UID form (and COPY) may.
    @Test func onlySequenceNumberCommandsHoldExpungesBack() {
        let held = Set(IMAPCommands.all.values.filter { !$0.allowsExpunges }.map(\.name))
        #expect(held == ["FETCH", "STORE", "SEARCH", "SORT", "THREAD"])
    }

    @Test func writingCommandsRunOnTheDiskPool() {
        let disk = Set(IMAPCommands.all.values.filter(\.runsOnDiskPool).map(\.name))
        #expect(
            disk == [
                "APPEND", "STORE", "UID STORE", "COPY", "UID COPY", "MOVE", "UID MOVE", "EXPUNGE", "UID EXPUNGE",
                "CLOSE", "CREATE", "DELETE", "RENAME", "SUBSCRIBE", "UNSUBSCRIBE",
            ])
    }

    @Test func selectedStateCommandsNeedAMailbox() throws {
        let root = makeTempDirectory("table")
        defer { removeTree(root) }
        let client = try CommandTranscript(root: root)
        let selectedOnly = IMAPCommands.all.values.filter { $0.state == .selected }.map(\.name).sorted()
        #expect(selectedOnly.count == 20)
        let arguments: [String: String] = [
            "FETCH": "1 FLAGS", "STORE": "1 +FLAGS (\\Seen)", "COPY": "1 X", "MOVE": "1 X", "SEARCH": "ALL",
            "SORT": "(DATE) UTF-8 ALL", "THREAD": "REFERENCES UTF-8 ALL", "EXPUNGE": "1", "CANCELUPDATE": "\"a\"",
        ]
        for name in selectedOnly {
            let word = name.split(separator: " ").last.map(String.init) ?? name
            let args = name == "EXPUNGE" ? nil : arguments[word]
            let line = "t " + name + (args.map { " " + $0 } ?? "")
            #expect(client.send(line) == ["t BAD No mailbox selected."], "\(line)")
        }
    }

    /// Before login every command of the authenticated and selected states is refused with the same BAD.
    @Test func authenticatedCommandsAreInvalidBeforeLogin() throws {
        let root = makeTempDirectory("table")
        defer { removeTree(root) }
        let client = try CommandTranscript(root: root, loggedIn: false)
        #expect(client.send("a GETQUOTAROOT INBOX") == ["a BAD GETQUOTAROOT is not valid before login."])
        #expect(client.send("b UID FETCH 1 FLAGS") == ["b BAD UID FETCH is not valid before login."])
        #expect(client.send("c ENABLE CONDSTORE") == ["c BAD ENABLE is valid only after login."])
        #expect(client.send("d NOOP") == ["d OK NOOP completed."])
    }
}
