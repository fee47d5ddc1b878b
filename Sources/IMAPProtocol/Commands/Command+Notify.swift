/// A NOTIFY SET command (RFC 5465 §3); `NOTIFY NONE` is `.notify(nil)`.
public struct NotifyCommand: Sendable, Hashable {
    /// `SET STATUS`: send the watched mailboxes' STATUS before the tagged OK (§3.1).
    public var sendStatus: Bool
    public var groups: [NotifyEventGroup]

    public init(sendStatus: Bool, groups: [NotifyEventGroup]) {
        self.sendStatus = sendStatus
        self.groups = groups
    }

    /// Most mailbox names in one filter (Dovecot's IMAP_NOTIFY_MAX_NAMES_PER_NS).
    public static let maximumMailboxNames = 100
}

/// `event-group = "(" filter-mailboxes SP events ")"` (RFC 5465 §8).
public struct NotifyEventGroup: Sendable, Hashable {
    public enum Filter: Sendable, Hashable {
        case selected, selectedDelayed, inboxes, personal, subscribed
        case subtree([MailboxName])
        case mailboxes([MailboxName])
    }

    public var filter: Filter
    /// Empty for `NONE`.
    public var events: [NotifyEvent]
    /// `MessageNew (fetch-att …)`: what to FETCH for a new message of the selected mailbox.
    public var messageNewFetch: [FetchAttribute]

    public init(filter: Filter, events: [NotifyEvent], messageNewFetch: [FetchAttribute] = []) {
        self.filter = filter
        self.events = events
        self.messageNewFetch = messageNewFetch
    }
}

/// RFC 5465 §5 events (names as the RFC writes them, matched case-insensitively).
public enum NotifyEvent: String, Sendable, Hashable, CaseIterable {
    case messageNew = "MessageNew"
    case messageExpunge = "MessageExpunge"
    case flagChange = "FlagChange"
    case annotationChange = "AnnotationChange"
    case mailboxName = "MailboxName"
    case subscriptionChange = "SubscriptionChange"
    case mailboxMetadataChange = "MailboxMetadataChange"
    case serverMetadataChange = "ServerMetadataChange"
}

extension ByteCursor {
    /// RFC 5465 §8: `notify = "NOTIFY" SP (notify-set / notify-none)`, `notify-none = "NONE"`,
    /// `notify-set = "SET" [status-indicator] SP event-groups`, `status-indicator = SP "STATUS"`,
    /// `event-groups = event-group *(SP event-group)`.
    mutating func parseNotifyArguments() throws(ParseFailure) -> IMAPCommandParser.Parsed {
        try parseArgumentSeparator(missing: IMAPParseError.Message.invalidNotify)
        let word = try parseKeyword(what: "NOTIFY argument")
        if word == "NONE" {
            return IMAPCommandParser.Parsed(kind: .notify(nil))
        }
        guard word == "SET" else { throw .syntax(IMAPParseError.Message.invalidNotify) }
        try parseArgumentSeparator(missing: IMAPParseError.Message.invalidNotify)
        let sendStatus = consumeWord("STATUS")
        if sendStatus { try parseArgumentSeparator(missing: IMAPParseError.Message.invalidNotify) }
        var groups: [NotifyEventGroup] = []
        repeat {
            guard groups.count < 16 else { throw .syntax(IMAPParseError.Message.invalidNotify) }
            groups.append(try nested { cursor throws(ParseFailure) in try cursor.parseNotifyEventGroup() })
        } while try parseOptionalArgumentSeparator()
        return IMAPCommandParser.Parsed(kind: .notify(NotifyCommand(sendStatus: sendStatus, groups: groups)))
    }

    /// `event-group = "(" filter-mailboxes SP events ")"`, `filter-mailboxes = "selected" / "selected-delayed" /
    /// "inboxes" / "personal" / "subscribed" / ("subtree" SP one-or-more-mailbox) / ("mailboxes" SP
    /// one-or-more-mailbox)`.
    private mutating func parseNotifyEventGroup() throws(ParseFailure) -> NotifyEventGroup {
        let invalid = IMAPParseError.Message.invalidNotify
        try expect(ASCII.openParen, orElse: invalid)
        let filterName = try parseKeyword(what: "NOTIFY filter")
        try parseArgumentSeparator(missing: invalid)
        let filter: NotifyEventGroup.Filter
        switch filterName {
        case "SELECTED": filter = .selected
        case "SELECTED-DELAYED": filter = .selectedDelayed
        case "INBOXES": filter = .inboxes
        case "PERSONAL": filter = .personal
        case "SUBSCRIBED": filter = .subscribed
        case "SUBTREE":
            filter = .subtree(try parseOneOrMoreMailbox())
            try parseArgumentSeparator(missing: invalid)
        case "MAILBOXES":
            filter = .mailboxes(try parseOneOrMoreMailbox())
            try parseArgumentSeparator(missing: invalid)
        default:
            throw .syntax(IMAPParseError.Message.unknown("NOTIFY filter", filterName))
        }
        var group = NotifyEventGroup(filter: filter, events: [])
        if !consumeCaseInsensitive("NONE") {
            try parseNotifyEvents(into: &group)
        }
        try expect(ASCII.closeParen, orElse: IMAPParseError.Message.missingCloseParen)
        return group
    }

    /// `one-or-more-mailbox = mailbox / many-mailboxes`, `many-mailboxes = "(" mailbox *(SP mailbox) ")"`.
    private mutating func parseOneOrMoreMailbox() throws(ParseFailure) -> [MailboxName] {
        guard peek == ASCII.openParen else { return [try parseMailboxName()] }
        return try parseParenthesizedList(
            allowEmpty: false, limit: NotifyCommand.maximumMailboxNames,
            tooMany: IMAPParseError.Message.tooManyNotifyMailboxes, missing: IMAPParseError.Message.missingMailbox
        ) { cursor throws(ParseFailure) in try cursor.parseMailboxName() }
    }

    /// `events = ("(" event *(SP event) ")")`, `message-event = ("MessageNew" [SP "(" fetch-att *(SP fetch-att)
    /// ")"]) / "MessageExpunge" / "FlagChange" / "AnnotationChange"`, `mailbox-event = "MailboxName" /
    /// "SubscriptionChange" / "MailboxMetadataChange" / "ServerMetadataChange"`.
    private mutating func parseNotifyEvents(into group: inout NotifyEventGroup) throws(ParseFailure) {
        var fetch: [FetchAttribute] = []
        group.events = try parseParenthesizedList(
            allowEmpty: false, limit: NotifyEvent.allCases.count * 2, tooMany: IMAPParseError.Message.invalidNotify,
            missing: IMAPParseError.Message.invalidNotify
        ) { cursor throws(ParseFailure) in
            let name = try cursor.parseKeyword(what: "NOTIFY event")
            guard let event = NotifyEvent.allCases.first(where: { $0.rawValue.uppercased() == name }) else {
                throw .syntax(IMAPParseError.Message.unknown("NOTIFY event", name))
            }
            if event == .messageNew, cursor.peek == ASCII.space, cursor.peekAfterSpace == ASCII.openParen {
                try cursor.parseArgumentSeparator(missing: IMAPParseError.Message.invalidNotify)
                fetch = try cursor.parseParenthesizedList(
                    allowEmpty: false, limit: 64, tooMany: IMAPParseError.Message.tooManyFetchAttributes,
                    missing: IMAPParseError.Message.missingFetchAttributes
                ) { inner throws(ParseFailure) in try inner.parseFetchAttribute() }
            }
            return event
        }
        group.messageNewFetch = fetch
    }

    /// The byte after the next one (the one after a space), if any.
    fileprivate var peekAfterSpace: UInt8? {
        var copy = self
        _ = copy.consume(ASCII.space)
        return copy.peek
    }
}

extension IMAPParseError.Message {
    public static let invalidNotify = "Invalid NOTIFY arguments"
    public static let tooManyNotifyMailboxes = "Too many mailbox names"
}
