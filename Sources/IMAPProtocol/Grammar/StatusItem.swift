/// A STATUS data item.
///
/// RFC 9051 §6.3.11 and §9: `status-att = "MESSAGES" / "UIDNEXT" / "UIDVALIDITY" / "UNSEEN" / "DELETED" / "SIZE"`;
/// RECENT is RFC 3501 §6.3.10, HIGHESTMODSEQ RFC 7162 §3.1.7, APPENDLIMIT RFC 7889 §4, MAILBOXID RFC 8474 §4.
public enum StatusItem: String, Sendable, Hashable, CaseIterable {
    case messages = "MESSAGES"
    case uidNext = "UIDNEXT"
    case uidValidity = "UIDVALIDITY"
    case unseen = "UNSEEN"
    case deleted = "DELETED"
    case size = "SIZE"
    case recent = "RECENT"
    case highestModSeq = "HIGHESTMODSEQ"
    case appendLimit = "APPENDLIMIT"
    case mailboxID = "MAILBOXID"
}

extension ByteCursor {
    /// RFC 9051 §9: `status-att`.
    mutating func parseStatusItem() throws(ParseFailure) -> StatusItem {
        let name = try parseKeyword(what: "STATUS item")
        guard let item = StatusItem(rawValue: name) else {
            throw .syntax(IMAPParseError.Message.unknown("STATUS item", name))
        }
        return item
    }

    /// RFC 9051 §9: `"(" status-att *(SP status-att) ")"`; each item at most once matters, so the
    /// list is bounded by twice the number of items.
    mutating func parseStatusItemList() throws(ParseFailure) -> [StatusItem] {
        try parseParenthesizedList(
            allowEmpty: false, limit: StatusItem.allCases.count * 2, tooMany: IMAPParseError.Message.tooManyStatusItems,
            missing: IMAPParseError.Message.missingStatusItems
        ) { cursor throws(ParseFailure) in try cursor.parseStatusItem() }
    }
}
