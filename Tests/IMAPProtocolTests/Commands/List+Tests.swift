import AerieTestSupport
import Testing

@testable import IMAPProtocol

@Suite("LIST")
struct ListTests {
    static func list(
        _ reference: String, _ patterns: [String], select: ListCommand.SelectionOptions = .init(),
        returns: ListCommand.ReturnOptions = .init(), extended: Bool = false
    ) -> IMAPCommandKind {
        .list(ListCommand(reference: MailboxName(reference), patterns: patterns, selectionOptions: select, returnOptions: returns, isExtended: extended))
    }

    static let successes: [(String, IMAPCommandKind)] = [
        ("a LIST \"\" \"\"", list("", [""])),
        ("a LIST \"\" *", list("", ["*"])),
        ("a list ~/Mail/ %", list("~/Mail/", ["%"])),
        ("a LIST \"\" \"Sent Items\"", list("", ["Sent Items"])),
        ("a LIST \"\" INBOX.*]", list("", ["INBOX.*]"])),
        ("a LIST \"\" {3}\r\na*b", list("", ["a*b"])),
        // `~` is a list-char; only `~{` would start a literal8 (imaptest's atoms group).
        ("a LIST \"\" ~foo", list("", ["~foo"])),
        ("a LIST \"\" !#$&'+,-.0123456789:;<=>?@^_`|[}%*", list("", ["!#$&'+,-.0123456789:;<=>?@^_`|[}%*"])),
        ("a LSUB ~ ~%", .lsub(reference: MailboxName("~"), pattern: "~%")),
        ("a LIST () \"\" %", list("", ["%"], extended: true)),
        ("a LIST \"\" (INBOX Drafts%)", list("", ["INBOX", "Drafts%"], extended: true)),
        (
            "a LIST (SUBSCRIBED) \"\" *",
            list("", ["*"], select: .init(subscribed: true), returns: .init(subscribed: true), extended: true)
        ),
        (
            "a LIST (SUBSCRIBED RECURSIVEMATCH REMOTE) \"\" %",
            list("", ["%"], select: .init(subscribed: true, remote: true, recursiveMatch: true), returns: .init(subscribed: true), extended: true)
        ),
        (
            "a LIST (SPECIAL-USE) \"\" *",
            list("", ["*"], select: .init(specialUse: true), extended: true)
        ),
        (
            "a LIST \"\" % RETURN (CHILDREN SPECIAL-USE subscribed)",
            list("", ["%"], returns: .init(subscribed: true, children: true, specialUse: true), extended: true)
        ),
        (
            "a LIST \"\" % RETURN (STATUS (MESSAGES UNSEEN))",
            list("", ["%"], returns: .init(status: [.messages, .unseen]), extended: true)
        ),
        ("a LIST \"\" % RETURN ()", list("", ["%"], extended: true)),
    ]

    @Test(arguments: successes)
    func parses(_ input: String, _ kind: IMAPCommandKind) throws {
        #expect(try parse(input).kind == kind)
    }

    static let failures: [(String, String)] = [
        ("a LIST", "Missing mailbox name"),
        ("a LIST \"\"", "Missing mailbox pattern"),
        ("a LIST \"\" ", "Missing mailbox pattern"),
        ("a LIST \"\" % ", "Trailing space"),
        ("a LIST \"\" % x", "Unexpected arguments"),
        ("a LIST \"\" % RETURN", "Missing RETURN options"),
        ("a LIST \"\" % RETURN (FOO)", "Unknown LIST option FOO"),
        ("a LIST \"\" % RETURN (STATUS)", "Missing STATUS items"),
        ("a LIST \"\" % RETURN (STATUS ())", "Missing STATUS items"),
        ("a LIST (FOO) \"\" %", "Unknown LIST option FOO"),
        ("a LIST (RECURSIVEMATCH) \"\" %", "RECURSIVEMATCH needs another selection option"),
        ("a LIST () \"\"", "Missing mailbox pattern"),
        ("a LIST \"\" ()", "Missing mailbox pattern"),
        ("a LIST \"\" (a", "Missing ')'"),
        ("a LIST \"\" ~{1}\r\n\0", "Binary literal not allowed here"),
        ("a LIST \"\" (" + manyPatterns + ")", "Too many mailbox patterns"),
    ]

    static let manyPatterns: String = (0...100).map { "p\($0)" }.joined(separator: " ")

    @Test(arguments: failures)
    func refuses(_ input: String, _ message: String) {
        #expect(parseError(input) == IMAPParseError(tag: tag("a"), message: message))
    }

    @Test func invalidUTF8PatternIsRefused() {
        let unit = bytes("a LIST \"\" \"") + [0xFF] + bytes("\"")
        #expect(throws: IMAPParseError(tag: tag("a"), message: "Invalid mailbox pattern")) { try IMAPCommandParser.parse(unit) }
    }
}
