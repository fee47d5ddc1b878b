import AerieTestSupport
import Testing

@testable import IMAPProtocol

@Suite("Flags")
struct FlagTests {
    static func flags(_ text: String) throws(ParseFailure) -> [Flag] {
        var cursor = ByteCursor(bytes(text))
        return try cursor.parseFlagList()
    }

    @Test func parsesLists() throws {
        #expect(try Self.flags("()") == [])
        #expect(try Self.flags("(\\Seen \\answered \\FLAGGED \\Deleted \\Draft)") == [.seen, .answered, .flagged, .deleted, .draft])
        #expect(try Self.flags("($Forwarded Junk)") == [.keyword("$Forwarded"), .keyword("Junk")])
    }

    static let failures: [(String, String)] = [
        ("(\\Recent)", "Invalid system flag"),
        ("(\\Foo)", "Invalid system flag"),
        ("(\\*)", "Invalid characters in flag"),
        ("(\\Seen", "Missing ')'"),
        ("(\\Seen )", "Invalid characters in flag"),
        ("(\\Seen  x)", "Double spaces"),
        ("\\Seen", "Missing flags"),
        ("(" + String(repeating: "k", count: 257) + ")", "Too long flag"),
        ("(" + (0..<257).map { "k\($0)" }.joined(separator: " ") + ")", "Too many flags"),
    ]

    @Test(arguments: failures)
    func refuses(_ input: String, _ message: String) {
        #expect(throws: ParseFailure.syntax(message)) { try Self.flags(input) }
    }

    @Test func encodes() {
        #expect(Flag.listString([.seen, .keyword("$Junk"), .recent, .wildcard]) == "(\\Seen $Junk \\Recent \\*)")
        #expect(Flag.listString([]) == "()")
        #expect(IMAPEncoding.flagList([.answered, .flagged, .deleted, .draft]) == "(\\Answered \\Flagged \\Deleted \\Draft)")
    }

    @Test func roundTrip() throws {
        let flags: [Flag] = [.answered, .flagged, .deleted, .seen, .draft, .keyword("$MDNSent"), .keyword("todo")]
        #expect(try Self.flags(Flag.listString(flags)) == flags)
    }
}
