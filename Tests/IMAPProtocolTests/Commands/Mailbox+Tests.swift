import Testing

@testable import IMAPProtocol

@Suite("Mailbox commands")
struct MailboxCommandTests {
    static let successes: [(String, IMAPCommandKind)] = [
        ("a CREATE Drafts", .create(mailbox: MailboxName("Drafts"), specialUse: [])),
        ("a CREATE \"My Sent\" (USE (\\Sent))", .create(mailbox: MailboxName("My Sent"), specialUse: ["\\Sent"])),
        ("a create x (use (\\Junk \\Trash))", .create(mailbox: MailboxName("x"), specialUse: ["\\Junk", "\\Trash"])),
        ("a CREATE x (USE ())", .create(mailbox: MailboxName("x"), specialUse: [])),
        ("a DELETE Trash", .delete(MailboxName("Trash"))),
        ("a RENAME INBOX Old", .rename(from: .inbox, to: MailboxName("Old"))),
        ("a RENAME \"a b\" {3+}\r\nc d", .rename(from: MailboxName("a b"), to: MailboxName("c d"))),
        ("a SUBSCRIBE Entw&APw-rfe", .subscribe(MailboxName("Entw&APw-rfe"))),
        ("a UNSUBSCRIBE \"\"", .unsubscribe(MailboxName(""))),
        ("a LSUB \"\" *", .lsub(reference: MailboxName(""), pattern: "*")),
        ("a LSUB foo/ %/b]", .lsub(reference: MailboxName("foo/"), pattern: "%/b]")),
        ("a NAMESPACE", .namespace),
        ("a STATUS INBOX (MESSAGES)", .status(mailbox: .inbox, items: [.messages])),
        (
            "a STATUS blurdybloop (UIDNEXT MESSAGES uidvalidity UNSEEN DELETED SIZE RECENT HIGHESTMODSEQ APPENDLIMIT MAILBOXID)",
            .status(mailbox: MailboxName("blurdybloop"), items: [
                .uidNext, .messages, .uidValidity, .unseen, .deleted, .size, .recent, .highestModSeq, .appendLimit, .mailboxID,
            ])
        ),
        ("a GETQUOTAROOT INBOX", .getQuotaRoot(.inbox)),
    ]

    @Test(arguments: successes)
    func parses(_ input: String, _ kind: IMAPCommandKind) throws {
        #expect(try parse(input).kind == kind)
    }

    static let failures: [(String, String)] = [
        ("a CREATE", "Missing mailbox name"),
        ("a CREATE x (USE (Sent))", "Invalid special-use attribute"),
        ("a CREATE x (FOO (x))", "Unknown CREATE parameter FOO"),
        ("a CREATE x ()", "Missing CREATE parameters"),
        ("a CREATE x (USE)", "Missing CREATE parameters"),
        ("a DELETE", "Missing mailbox name"),
        ("a DELETE a b", "Unexpected arguments"),
        ("a RENAME a", "Missing mailbox name"),
        ("a RENAME a ", "Missing mailbox name"),
        ("a SUBSCRIBE", "Missing mailbox name"),
        ("a UNSUBSCRIBE x y", "Unexpected arguments"),
        ("a LSUB \"\"", "Missing mailbox pattern"),
        ("a LSUB \"\" (x)", "Invalid mailbox pattern"),
        ("a NAMESPACE x", "Unexpected arguments"),
        ("a STATUS INBOX", "Missing STATUS items"),
        ("a STATUS INBOX ()", "Missing STATUS items"),
        ("a STATUS INBOX MESSAGES", "Missing STATUS items"),
        ("a STATUS INBOX (MESSAGES FOO)", "Unknown STATUS item FOO"),
        ("a STATUS INBOX (MESSAGES", "Missing ')'"),
        ("a STATUS INBOX (MESSAGES) x", "Unexpected arguments"),
        ("a STATUS INBOX (" + Array(repeating: "MESSAGES", count: 21).joined(separator: " ") + ")", "Too many STATUS items"),
        ("a GETQUOTAROOT", "Missing mailbox name"),
    ]

    @Test(arguments: failures)
    func refuses(_ input: String, _ message: String) {
        #expect(parseError(input) == IMAPParseError(tag: tag("a"), message: message))
    }
}
