import Testing

@testable import IMAPProtocol

@Suite("SELECT / EXAMINE")
struct SelectTests {
    static let successes: [(String, IMAPCommandKind)] = [
        ("a SELECT INBOX", .select(mailbox: .inbox, parameters: .none)),
        ("a select inbox", .select(mailbox: .inbox, parameters: .none)),
        ("a EXAMINE \"Sent Items\"", .examine(mailbox: MailboxName("Sent Items"), parameters: .none)),
        ("a SELECT {5}\r\nTrash", .select(mailbox: MailboxName("Trash"), parameters: .none)),
        ("a SELECT INBOX (CONDSTORE)", .select(mailbox: .inbox, parameters: SelectParameters(condstore: true))),
        ("a SELECT INBOX ()", .select(mailbox: .inbox, parameters: .none)),
        (
            "a SELECT INBOX (QRESYNC (67890007 20050715194045000))",
            .select(mailbox: .inbox, parameters: SelectParameters(condstore: true, qresync: QResyncParameters(uidValidity: 67_890_007, modSeq: 20_050_715_194_045_000)))
        ),
        (
            "a SELECT INBOX (QRESYNC (67890007 20050715194045000 41,43:211,214:541))",
            .select(mailbox: .inbox, parameters: SelectParameters(condstore: true, qresync: QResyncParameters(
                uidValidity: 67_890_007, modSeq: 20_050_715_194_045_000, knownUIDs: SequenceSet(numbers: [41] + Array(43...211) + Array(214...541))
            )))
        ),
        (
            "a EXAMINE INBOX (QRESYNC (67890007 90060115194045000 41:211,214:541 (1:15,19 41:55,61)) CONDSTORE)",
            .examine(mailbox: .inbox, parameters: SelectParameters(condstore: true, qresync: QResyncParameters(
                uidValidity: 67_890_007, modSeq: 90_060_115_194_045_000,
                knownUIDs: SequenceSet(numbers: Array(41...211) + Array(214...541)),
                sequenceMatch: QResyncSequenceMatch(sequenceNumbers: SequenceSet(numbers: Array(1...15) + [19]), uids: SequenceSet(numbers: Array(41...55) + [61]))
            )))
        ),
        (
            "a SELECT INBOX (QRESYNC (1 2 (1 5)))",
            .select(mailbox: .inbox, parameters: SelectParameters(condstore: true, qresync: QResyncParameters(
                uidValidity: 1, modSeq: 2, sequenceMatch: QResyncSequenceMatch(sequenceNumbers: SequenceSet(numbers: [1]), uids: SequenceSet(numbers: [5]))
            )))
        ),
    ]

    @Test(arguments: successes)
    func parses(_ input: String, _ kind: IMAPCommandKind) throws {
        #expect(try parse(input).kind == kind)
    }

    static let failures: [(String, String)] = [
        ("a SELECT", "Missing mailbox name"),
        ("a SELECT ", "Missing mailbox name"),
        ("a SELECT  INBOX", "Double spaces"),
        ("a SELECT INBOX ", "Trailing space"),
        ("a SELECT INBOX extra", "Missing SELECT parameters"),
        ("a SELECT INBOX (FOO)", "Unknown SELECT parameter FOO"),
        ("a SELECT INBOX (CONDSTORE", "Missing ')'"),
        ("a SELECT INBOX (QRESYNC)", "Invalid QRESYNC parameters"),
        ("a SELECT INBOX (QRESYNC (0 1))", "Invalid QRESYNC parameters"),
        ("a SELECT INBOX (QRESYNC (1 0))", "Invalid mod-sequence"),
        ("a SELECT INBOX (QRESYNC (1 9223372036854775808))", "Invalid mod-sequence"),
        ("a SELECT INBOX (QRESYNC (1 2 3:x))", "Invalid sequence set"),
        ("a SELECT INBOX (QRESYNC (1 2 (1:2)))", "Invalid QRESYNC parameters"),
        ("a SELECT INBOX (QRESYNC (1 2) QRESYNC (1 2))", "Invalid QRESYNC parameters"),
        ("a SELECT (INBOX)", "Invalid characters in mailbox name"),
        ("a SELECT {4}\r\nTrash", "Expected space"),
        ("a SELECT " + String(repeating: "m", count: 1025), "Mailbox name too long"),
    ]

    @Test(arguments: failures)
    func refuses(_ input: String, _ message: String) {
        #expect(parseError(input) == IMAPParseError(tag: tag("a"), message: message))
    }
}
