/// A message flag.
///
/// RFC 9051 §2.3.2 and §9: `flag = "\Answered" / "\Flagged" / "\Deleted" / "\Seen" / "\Draft" /
/// flag-keyword / flag-extension`; `\Recent` is RFC 3501's session flag; `flag-perm = flag / "\*"`.
/// System flag names are case-insensitive; keywords keep the client's spelling.
public enum Flag: Sendable, Hashable, CustomStringConvertible {
    case answered
    case flagged
    case deleted
    case seen
    case draft
    /// RFC 3501 §2.3.2: only the server sets it.
    case recent
    /// `flag-keyword = "$MDNSent" / "$Forwarded" / … / atom`.
    case keyword(String)
    /// `\*` in PERMANENTFLAGS: clients may create new keywords.
    case wildcard

    /// Longest keyword accepted (Dovecot caps keywords too).
    public static let maximumKeywordLength = 256
    /// Most flags in one flag list (STORE, APPEND).
    public static let maximumListCount = 256

    /// The wire form: `\Seen`, `$Forwarded`, `\*`.
    public var description: String {
        switch self {
        case .answered: "\\Answered"
        case .flagged: "\\Flagged"
        case .deleted: "\\Deleted"
        case .seen: "\\Seen"
        case .draft: "\\Draft"
        case .recent: "\\Recent"
        case .keyword(let name): name
        case .wildcard: "\\*"
        }
    }

    /// The system flag called `name` (without the backslash, any case), if it is one.
    public init?(systemFlagName name: String) {
        switch name.uppercased() {
        case "ANSWERED": self = .answered
        case "FLAGGED": self = .flagged
        case "DELETED": self = .deleted
        case "SEEN": self = .seen
        case "DRAFT": self = .draft
        case "RECENT": self = .recent
        default: return nil
        }
    }

    /// RFC 9051 §9: `flag-list = "(" [flag *(SP flag)] ")"`, as written in FLAGS responses.
    public static func listString(_ flags: [Flag]) -> String {
        "(" + flags.map(\.description).joined(separator: " ") + ")"
    }
}

extension ByteCursor {
    /// RFC 9051 §9: `flag = "\Answered" / "\Flagged" / "\Deleted" / "\Seen" / "\Draft" / flag-keyword / flag-extension`,
    /// `flag-extension = "\" atom`. Like Dovecot, a client may not set `\Recent` or an unknown `\X`.
    mutating func parseFlag() throws(ParseFailure) -> Flag {
        if consume(ASCII.backslash) {
            let name = try parseAtom(limit: Flag.maximumKeywordLength, what: "flag")
            guard let flag = Flag(systemFlagName: name), flag != .recent else {
                throw .syntax(IMAPParseError.Message.invalidSystemFlag)
            }
            return flag
        }
        return .keyword(try parseAtom(limit: Flag.maximumKeywordLength, what: "flag"))
    }

    /// RFC 9051 §9: `flag-list = "(" [flag *(SP flag)] ")"`, at most `Flag.maximumListCount` flags.
    mutating func parseFlagList() throws(ParseFailure) -> [Flag] {
        try parseParenthesizedList(
            allowEmpty: true, limit: Flag.maximumListCount, tooMany: IMAPParseError.Message.tooManyFlags,
            missing: IMAPParseError.Message.missingFlags
        ) { cursor throws(ParseFailure) in try cursor.parseFlag() }
    }

    /// RFC 9051 §9: `flag-keyword = atom` (KEYWORD / UNKEYWORD in SEARCH).
    mutating func parseFlagKeyword() throws(ParseFailure) -> String {
        try parseAtom(limit: Flag.maximumKeywordLength, what: "keyword")
    }
}
