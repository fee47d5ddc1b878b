import Testing

@testable import IMAPProtocol

@Suite("STORE / COPY / MOVE / UID EXPUNGE")
struct StoreTests {
    static func store(_ set: [UInt32], _ mode: StoreCommand.Mode, _ flags: [Flag], uid: Bool = false, silent: Bool = false, unchangedSince: UInt64? = nil) -> IMAPCommandKind {
        .store(StoreCommand(uid: uid, sequence: SequenceSet(numbers: set), unchangedSince: unchangedSince, mode: mode, silent: silent, flags: flags))
    }

    static let successes: [(String, IMAPCommandKind)] = [
        ("a STORE 2:4 +FLAGS (\\Deleted)", store([2, 3, 4], .add, [.deleted])),
        ("a store 1 -flags.silent (\\Seen $Junk)", store([1], .remove, [.seen, .keyword("$Junk")], silent: true)),
        ("a STORE 1 FLAGS ()", store([1], .replace, [])),
        ("a STORE 1 FLAGS \\Seen \\Flagged", store([1], .replace, [.seen, .flagged])),
        ("a UID STORE 5 +FLAGS.SILENT \\Answered", store([5], .add, [.answered], uid: true, silent: true)),
        ("a STORE 1 (UNCHANGEDSINCE 12345) +FLAGS (\\Seen)", store([1], .add, [.seen], unchangedSince: 12345)),
        ("a STORE 1 (UNCHANGEDSINCE 0) FLAGS (\\Seen)", store([1], .replace, [.seen], unchangedSince: 0)),
        ("a COPY 2:4 MEETING", .copy(uid: false, sequence: SequenceSet(numbers: [2, 3, 4]), mailbox: MailboxName("MEETING"))),
        ("a UID COPY 1:* \"Sent Items\"", .copy(uid: true, sequence: .all, mailbox: MailboxName("Sent Items"))),
        ("a MOVE 1 Trash", .move(uid: false, sequence: SequenceSet(numbers: [1]), mailbox: MailboxName("Trash"))),
        ("a uid move $ inbox", .move(uid: true, sequence: .searchResult, mailbox: .inbox)),
        ("a UID EXPUNGE 3000:3002", .uidExpunge(SequenceSet(numbers: [3000, 3001, 3002]))),
    ]

    @Test(arguments: successes)
    func parses(_ input: String, _ kind: IMAPCommandKind) throws {
        #expect(try parse(input).kind == kind)
    }

    static let failures: [(String, String)] = [
        ("a STORE", "Missing sequence set"),
        ("a STORE 1", "Missing STORE item"),
        ("a STORE 1 FLAGS", "Missing flags"),
        ("a STORE 1 FOO (\\Seen)", "Unknown STORE item FOO"),
        ("a STORE 1 +FLAGS.LOUD (\\Seen)", "Unknown STORE item FLAGS.LOUD"),
        ("a STORE 1 +FLAGS (\\Recent)", "Invalid system flag"),
        ("a STORE 1 +FLAGS (\\Seen", "Missing ')'"),
        ("a STORE 1 +FLAGS \\Seen ", "Trailing space"),
        ("a STORE 1 (UNCHANGEDSINCE x) +FLAGS (\\Seen)", "Invalid mod-sequence"),
        ("a STORE 1 (FOO 1) +FLAGS (\\Seen)", "Unknown STORE modifier FOO"),
        ("a STORE 1 (UNCHANGEDSINCE 1)", "Missing STORE item"),
        ("a COPY 1", "Missing mailbox name"),
        ("a COPY x INBOX", "Invalid sequence set"),
        ("a MOVE", "Missing sequence set"),
        ("a MOVE 1 INBOX x", "Unexpected arguments"),
        ("a UID EXPUNGE", "Missing sequence set"),
        ("a UID EXPUNGE 1 2", "Unexpected arguments"),
    ]

    @Test(arguments: failures)
    func refuses(_ input: String, _ message: String) {
        #expect(parseError(input) == IMAPParseError(tag: tag("a"), message: message))
    }
}
