import AerieTestSupport
import Testing

@testable import IMAPProtocol

@Suite("APPEND")
struct AppendTests {
    static let date = IMAPDateTime(text: " 7-Feb-1994 21:52:25 -0800", secondsSince1970: 760_686_745, zoneOffsetMinutes: -480)

    static let successes: [(String, IMAPCommandKind)] = [
        ("a APPEND INBOX {5}\r\nHello", .append(mailbox: .inbox, messages: [AppendMessage(data: bytes("Hello"))])),
        ("a APPEND INBOX {0}\r\n", .append(mailbox: .inbox, messages: [AppendMessage(data: [])])),
        ("a append saved (\\Seen) {3+}\r\na\r\n", .append(mailbox: MailboxName("saved"), messages: [AppendMessage(flags: [.seen], data: bytes("a\r\n"))])),
        (
            "a APPEND INBOX (\\Seen $Work) \" 7-Feb-1994 21:52:25 -0800\" {2}\r\nhi",
            .append(mailbox: .inbox, messages: [AppendMessage(flags: [.seen, .keyword("$Work")], internalDate: date, data: bytes("hi"))])
        ),
        ("a APPEND INBOX \" 7-Feb-1994 21:52:25 -0800\" {2}\r\nhi", .append(mailbox: .inbox, messages: [AppendMessage(internalDate: date, data: bytes("hi"))])),
        ("a APPEND INBOX () {1}\r\nx", .append(mailbox: .inbox, messages: [AppendMessage(data: bytes("x"))])),
        ("a APPEND INBOX ~{3}\r\na\0b", .append(mailbox: .inbox, messages: [AppendMessage(data: [0x61, 0, 0x62], isBinary: true)])),
        ("a APPEND INBOX UTF8 (~{2}\r\nhi)", .append(mailbox: .inbox, messages: [AppendMessage(data: bytes("hi"), isBinary: true)])),
        (
            "a APPEND INBOX (\\Draft) {1}\r\nx {1}\r\ny (\\Seen) \" 7-Feb-1994 21:52:25 -0800\" {1+}\r\nz",
            .append(mailbox: .inbox, messages: [
                AppendMessage(flags: [.draft], data: bytes("x")), AppendMessage(data: bytes("y")),
                AppendMessage(flags: [.seen], internalDate: date, data: bytes("z")),
            ])
        ),
    ]

    @Test(arguments: successes)
    func parses(_ input: String, _ kind: IMAPCommandKind) throws {
        #expect(try parse(input).kind == kind)
    }

    static let failures: [(String, String)] = [
        ("a APPEND", "Missing mailbox name"),
        ("a APPEND INBOX", "Missing message literal"),
        ("a APPEND INBOX ", "Missing message literal"),
        ("a APPEND INBOX hello", "Expected message literal"),
        ("a APPEND INBOX (\\Seen)", "Missing message literal"),
        ("a APPEND INBOX (\\Recent) {1}\r\nx", "Invalid system flag"),
        ("a APPEND INBOX (\\Seen) \"7-Feb-1994\" {1}\r\nx", "Invalid date-time"),
        ("a APPEND INBOX \"32-Feb-1994 21:52:25 -0800\" {1}\r\nx", "Invalid date-time"),
        ("a APPEND INBOX {1}\r\nx ", "Missing message literal"),
        ("a APPEND INBOX {1}\r\nxy", "Expected space"),
        ("a APPEND INBOX {2}\r\nx\0", "NULs not allowed in literal"),
        ("a APPEND INBOX UTF8 ({1}\r\nx)", "Expected message literal"),
        ("a APPEND INBOX UTF8 (~{1}\r\nx", "Missing ')'"),
        ("a APPEND INBOX \"x\" {1}\r\nx", "Invalid date-time"),
    ]

    @Test(arguments: failures)
    func refuses(_ input: String, _ message: String) {
        #expect(parseError(input) == IMAPParseError(tag: tag("a"), message: message))
    }

    @Test func descriptionHidesMessageData() throws {
        let command = try parse("a APPEND INBOX (\\Seen) {6}\r\nsecret {4+}\r\nmore")
        #expect(command.redactedDescription == "a APPEND INBOX (\\Seen) {6} {4+}")
    }

    /// A MULTIAPPEND fed one byte at a time through the framer parses to the same command.
    @Test func framedByteByByte() throws {
        let wire = bytes("a APPEND INBOX (\\Seen) {5}\r\nHello {3+}\r\nabc\r\n")
        let limits = IMAPFramingLimits(maxLiteralSize: 1000, maxCommandSize: 2000)
        let events = frame(wire, limits: limits, chunkSizes: [1])
        #expect(events.first == .needsContinuation)
        guard case .unit(let unit) = events.last else {
            Issue.record("no unit")
            return
        }
        #expect(try IMAPCommandParser.parse(unit).kind == .append(mailbox: .inbox, messages: [
            AppendMessage(flags: [.seen], data: bytes("Hello")), AppendMessage(data: bytes("abc")),
        ]))
    }
}
