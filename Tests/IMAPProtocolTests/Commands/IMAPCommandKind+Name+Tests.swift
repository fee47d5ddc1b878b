import IMAPProtocol
import Testing

/// `IMAPCommandKind.name` keys the session's command table: each name the parser knows maps to itself.
@Suite("IMAPCommandKind.name")
struct IMAPCommandKindNameTests {
    /// A minimal valid argument list per command that needs one, so every name parses.
    static let arguments: [String: String] = [
        "LOGIN": "u p", "AUTHENTICATE": "PLAIN", "ID": "NIL", "ENABLE": "X", "SELECT": "INBOX", "EXAMINE": "INBOX",
        "CREATE": "a", "DELETE": "a", "RENAME": "a b", "SUBSCRIBE": "a", "UNSUBSCRIBE": "a", "LIST": "\"\" *",
        "LSUB": "\"\" *", "STATUS": "INBOX (MESSAGES)", "APPEND": "INBOX {1+}\r\nx", "SEARCH": "ALL",
        "FETCH": "1 FLAGS", "STORE": "1 FLAGS ()", "COPY": "1 a", "MOVE": "1 a", "SORT": "(DATE) UTF-8 ALL",
        "THREAD": "REFERENCES UTF-8 ALL", "CANCELUPDATE": "\"t\"", "NOTIFY": "NONE", "COMPRESS": "DEFLATE",
        "GETQUOTA": "\"\"", "GETQUOTAROOT": "INBOX", "SETQUOTA": "\"\" ()", "EXPUNGE": "1",
    ]

    @Test func everyCommandNameParsesToAKindOfThatName() throws {
        for name in IMAPCommandNames.commands {
            let word = name.split(separator: " ").last.map(String.init) ?? name
            let args = name == "EXPUNGE" ? nil : Self.arguments[word]
            let line = "t " + name.lowercased() + (args.map { " " + $0 } ?? "")
            #expect(try parse(line).kind.name == name, "\(line)")
        }
    }

    @Test func uidFormsAreTheParsersOwn() {
        for name in IMAPCommandNames.uidCommands {
            #expect(parseError("t UID " + name)?.message.hasPrefix("Unknown") != true, "UID \(name)")
        }
        #expect(parseError("t UID NOOP")?.message == "Unknown UID command NOOP")
    }
}
