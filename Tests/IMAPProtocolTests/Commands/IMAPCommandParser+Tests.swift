import AerieTestSupport
import Testing

@testable import IMAPProtocol

@Suite("IMAPCommandParser")
struct IMAPCommandParserTests {
    struct Success: CustomTestStringConvertible, Sendable {
        var input: String
        var tag: String
        var kind: IMAPCommandKind
        var testDescription: String { input.debugDescription }
    }

    struct Failure: CustomTestStringConvertible, Sendable {
        var input: String
        var tag: String?
        var message: String
        var testDescription: String { input.debugDescription }
    }

    static let successes: [Success] = [
        Success(input: "a CAPABILITY", tag: "a", kind: .capability),
        Success(input: "a capability", tag: "a", kind: .capability),
        Success(input: "A1 NoOp", tag: "A1", kind: .noop),
        Success(input: "x.y LOGOUT", tag: "x.y", kind: .logout),
        Success(input: "] STARTTLS", tag: "]", kind: .starttls),  // "]" is an ASTRING-CHAR, so a tag
        Success(input: "a SELECT INBOX", tag: "a", kind: .select(mailbox: .inbox, parameters: .none)),
        Success(
            input: "a uid fetch 1:* (FLAGS)", tag: "a",
            kind: .fetch(FetchCommand(uid: true, sequence: .all, attributes: [.flags]))
        ),
        Success(input: "a IDLE", tag: "a", kind: .idle),
        Success(input: "a GETMETADATA \"\" /shared/comment", tag: "a", kind: .other(name: "GETMETADATA")),
        Success(input: "a UNAUTHENTICATE", tag: "a", kind: .unauthenticate),
        Success(input: "a COMPRESS DEFLATE", tag: "a", kind: .compress("DEFLATE")),
    ]

    static let failures: [Failure] = [
        Failure(input: "", tag: nil, message: "Empty command"),
        Failure(input: " NOOP", tag: nil, message: "Missing tag"),
        Failure(input: "a+b NOOP", tag: nil, message: "Invalid characters in tag"),
        Failure(input: "* NOOP", tag: nil, message: "Invalid characters in tag"),
        Failure(input: "a(b NOOP", tag: nil, message: "Invalid characters in tag"),
        Failure(input: "ä NOOP", tag: nil, message: "Invalid characters in tag"),
        Failure(input: "GET / HTTP/1.1", tag: "GET", message: "Unknown command /"),
        Failure(input: String(repeating: "t", count: 65) + " NOOP", tag: nil, message: "Tag too long"),
        Failure(input: "a", tag: "a", message: "Missing command"),
        Failure(input: "a ", tag: "a", message: "Missing command"),
        Failure(input: "a  NOOP", tag: "a", message: "Double spaces"),
        Failure(input: "a FOO", tag: "a", message: "Unknown command FOO"),
        Failure(input: "a foo bar", tag: "a", message: "Unknown command FOO"),
        Failure(input: "a " + String(repeating: "X", count: 40), tag: "a", message: "Unknown command"),
        Failure(input: "a NOOP(", tag: "a", message: "Invalid characters in command name"),
        Failure(input: "a \"NOOP\"", tag: "a", message: "Invalid characters in command name"),
        Failure(input: "a NOOP ", tag: "a", message: "Trailing space"),
        Failure(input: "a NOOP  ", tag: "a", message: "Trailing space"),
        Failure(input: "a NOOP x", tag: "a", message: "Unexpected arguments"),
        Failure(input: "a CAPABILITY IMAP4rev2", tag: "a", message: "Unexpected arguments"),
        Failure(input: "a LOGOUT\r", tag: "a", message: "Invalid characters in command name"),
        Failure(input: "a STARTTLS now", tag: "a", message: "Unexpected arguments"),
    ]

    @Test(arguments: successes)
    func parses(_ fixture: Success) throws {
        let command = try parse(fixture.input)
        #expect(command.tag == tag(fixture.tag))
        #expect(command.kind == fixture.kind)
    }

    @Test(arguments: failures)
    func refuses(_ fixture: Failure) {
        let error = parseError(fixture.input)
        #expect(error == IMAPParseError(tag: fixture.tag.map(tag), message: fixture.message))
    }

    @Test func tagLengthBound() throws {
        let longest = String(repeating: "t", count: 64)
        #expect(try parse(longest + " NOOP").tag.rawValue == longest)
        #expect(IMAPTag(longest) != nil)
        #expect(IMAPTag(longest + "t") == nil)
        #expect(IMAPTag("") == nil)
        #expect(IMAPTag("a+") == nil)
    }

    /// Commands whose arguments are parsed; every other known name still comes back as `.other`.
    static let parsedNames: Set<String> = [
        "CAPABILITY", "NOOP", "LOGOUT", "STARTTLS", "LOGIN", "AUTHENTICATE", "ID", "ENABLE",
        "SELECT", "EXAMINE", "CREATE", "DELETE", "RENAME", "SUBSCRIBE", "UNSUBSCRIBE", "LIST", "LSUB", "NAMESPACE",
        "STATUS", "APPEND", "IDLE", "CHECK", "CLOSE", "UNSELECT", "EXPUNGE", "SEARCH", "FETCH", "STORE", "COPY",
        "MOVE", "UID", "SORT", "THREAD", "COMPRESS", "GETQUOTA", "GETQUOTAROOT", "SETQUOTA", "UNAUTHENTICATE",
        "CANCELUPDATE", "NOTIFY",
    ]

    @Test func everyKnownNameIsAcceptedInAnyCase() throws {
        let argumentless: [String: IMAPCommandKind] = [
            "CAPABILITY": .capability, "NOOP": .noop, "LOGOUT": .logout, "STARTTLS": .starttls, "NAMESPACE": .namespace,
            "IDLE": .idle, "CHECK": .check, "CLOSE": .close, "UNSELECT": .unselect, "EXPUNGE": .expunge,
            "UNAUTHENTICATE": .unauthenticate,
        ]
        for name in IMAPCommandNames.known {
            if let kind = argumentless[name] {
                #expect(try parse("t " + name.lowercased()).kind == kind)
            } else if Self.parsedNames.contains(name) {
                #expect(parseError("t " + name.lowercased()) != nil, "\(name) needs arguments")
            } else {
                #expect(try parse("t " + name.lowercased()).kind == .other(name: name))
            }
        }
        #expect(Self.parsedNames.isSubset(of: IMAPCommandNames.known))
    }

    @Test func descriptionOfOtherCommandsReplacesLiterals() throws {
        let command = try IMAPCommandParser.parse(bytes("a APPEND INBOX {11}\r\nHello World"))
        #expect(command.kind == .append(mailbox: .inbox, messages: [AppendMessage(data: bytes("Hello World"))]))
        #expect(command.redactedDescription == "a APPEND INBOX {11}")
    }

    @Test func descriptionReplacesControlCharacters() throws {
        let command = try IMAPCommandParser.parse(bytes("a SELECT \"x\ty\""))
        #expect(command.redactedDescription == "a SELECT \"x?y\"")
    }

    @Test func descriptionIsBounded() throws {
        let command = try parse("a GETMETADATA " + String(repeating: "m", count: 5000))
        #expect(command.redactedDescription.utf8.count <= Redaction.maximumLength + 3)
        #expect(command.redactedDescription.hasSuffix("..."))
    }
}
