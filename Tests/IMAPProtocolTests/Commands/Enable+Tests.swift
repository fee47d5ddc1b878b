import Testing

@testable import IMAPProtocol

@Suite("ENABLE")
struct EnableTests {
    @Test func parses() throws {
        #expect(try parse("a ENABLE IMAP4rev2").kind == .enable(["IMAP4REV2"]))
        #expect(try parse("a enable condstore utf8=accept").kind == .enable(["CONDSTORE", "UTF8=ACCEPT"]))
    }

    static let failures: [(String, String)] = [
        ("a ENABLE", "Missing capability name"),
        ("a ENABLE ", "Missing capability name"),
        ("a ENABLE  X", "Double spaces"),
        ("a ENABLE X ", "Trailing space"),
        ("a ENABLE X  Y", "Double spaces"),
        ("a ENABLE \"X\"", "Invalid characters in capability name"),
        ("a ENABLE X(", "Expected space"),
    ]

    @Test(arguments: failures)
    func refuses(_ input: String, _ message: String) {
        #expect(parseError(input) == IMAPParseError(tag: tag("a"), message: message))
    }
}
