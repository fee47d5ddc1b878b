import AerieTestSupport
import Testing

@testable import IMAPProtocol

@Suite("NOTIFY")
struct NotifyTests {
    static let successes: [(String, IMAPCommandKind)] = [
        ("a NOTIFY NONE", .notify(nil)),
        (
            "a NOTIFY SET (SELECTED (MessageNew MessageExpunge)) (PERSONAL (MailboxName SubscriptionChange))",
            .notify(
                NotifyCommand(
                    sendStatus: false,
                    groups: [
                        NotifyEventGroup(filter: .selected, events: [.messageNew, .messageExpunge]),
                        NotifyEventGroup(filter: .personal, events: [.mailboxName, .subscriptionChange]),
                    ]))
        ),
        (
            "a notify set status (mailboxes Box (messageexpunge))",
            .notify(
                NotifyCommand(
                    sendStatus: true,
                    groups: [NotifyEventGroup(filter: .mailboxes([MailboxName("Box")]), events: [.messageExpunge])]))
        ),
        (
            "a NOTIFY SET (SUBTREE (INBOX \"a b\") NONE) (SELECTED-DELAYED (MessageNew (UID FLAGS) MessageExpunge))",
            .notify(
                NotifyCommand(
                    sendStatus: false,
                    groups: [
                        NotifyEventGroup(filter: .subtree([.inbox, MailboxName("a b")]), events: []),
                        NotifyEventGroup(
                            filter: .selectedDelayed, events: [.messageNew, .messageExpunge],
                            messageNewFetch: [.uid, .flags]),
                    ]))
        ),
        (
            "a NOTIFY SET (INBOXES (AnnotationChange))",
            .notify(
                NotifyCommand(
                    sendStatus: false, groups: [NotifyEventGroup(filter: .inboxes, events: [.annotationChange])]))
        ),
    ]

    @Test(arguments: successes)
    func parses(_ input: String, _ kind: IMAPCommandKind) throws {
        #expect(try parse(input).kind == kind)
    }

    static let failures: [(String, String)] = [
        ("a NOTIFY", "Invalid NOTIFY arguments"),
        ("a NOTIFY FOO", "Invalid NOTIFY arguments"),
        ("a NOTIFY SET", "Invalid NOTIFY arguments"),
        ("a NOTIFY SET STATUS", "Invalid NOTIFY arguments"),
        ("a NOTIFY SET (FOO (MessageNew))", "Unknown NOTIFY filter FOO"),
        ("a NOTIFY SET (PERSONAL (Foo))", "Unknown NOTIFY event FOO"),
        ("a NOTIFY SET (PERSONAL ())", "Invalid NOTIFY arguments"),
        ("a NOTIFY SET (PERSONAL)", "Invalid NOTIFY arguments"),
        ("a NOTIFY SET (MAILBOXES (MessageNew))", "Invalid NOTIFY arguments"),
        ("a NOTIFY SET (MAILBOXES () (MessageNew))", "Missing mailbox name"),
        ("a NOTIFY SET (PERSONAL NONE) ", "Trailing space"),
        ("a NOTIFY SET (SELECTED (MessageNew ()))", "Missing FETCH attributes"),
    ]

    @Test(arguments: failures)
    func refuses(_ input: String, _ message: String) {
        #expect(parseError(input)?.message == message)
    }

    @Test func mailboxListsAreBounded() {
        let names = (0...NotifyCommand.maximumMailboxNames).map { "m\($0)" }.joined(separator: " ")
        #expect(parseError("a NOTIFY SET (MAILBOXES (\(names)) (MessageNew))")?.message == "Too many mailbox names")
    }
}
