/// A SEARCH criterion (RFC 9051 §6.4.4), possibly compound.
///
/// String arguments are the client's octets as text (UTF-8; with another CHARSET the session answers
/// NO [BADCHARSET] before looking at them).
public indirect enum SearchKey: Sendable, Hashable {
    case all
    case answered
    case deleted
    case draft
    case flagged
    case seen
    case unanswered
    case undeleted
    case undraft
    case unflagged
    case unseen
    /// RFC 3501: `\Recent` and not `\Seen`.
    case new
    /// RFC 3501: not `\Recent`.
    case old
    /// RFC 3501: `\Recent`.
    case recent
    case keyword(String)
    case unkeyword(String)

    case bcc(String)
    case body(String)
    case cc(String)
    case from(String)
    case subject(String)
    case text(String)
    case to(String)
    /// HEADER field-name string; an empty value matches every message with the field.
    case header(name: String, value: String)

    /// Internal date (day only).
    case before(IMAPDate)
    case on(IMAPDate)
    case since(IMAPDate)
    /// Date: header (day only).
    case sentBefore(IMAPDate)
    case sentOn(IMAPDate)
    case sentSince(IMAPDate)
    /// RFC 8514 §4: save date (day only), and whether the mailbox supports save dates.
    case savedBefore(IMAPDate)
    case savedOn(IMAPDate)
    case savedSince(IMAPDate)
    case saveDateSupported
    /// RFC 5032 §3: internal date at most / at least `seconds` ago.
    case older(seconds: UInt32)
    case younger(seconds: UInt32)

    /// RFC 822 size in octets.
    case larger(UInt64)
    case smaller(UInt64)

    /// Message sequence numbers.
    case sequenceNumbers(SequenceSet)
    case uid(SequenceSet)

    /// RFC 7162 §3.1.5: mod-sequence at least `modSeq`; the optional entry names a flag's metadata.
    case modSeq(UInt64, entry: ModSeqEntry?)
    /// RFC 8474 §6
    case emailID(String)
    case threadID(String)

    case not(SearchKey)
    case or(SearchKey, SearchKey)
    /// A parenthesized list, or the top-level list of keys (all must match).
    case and([SearchKey])

    /// Deepest nesting of parentheses, NOT and OR accepted.
    public static let maximumDepth = 100
    /// Most keys in one list (a parenthesized group or the top level).
    public static let maximumListCount = 1000
}

/// RFC 7162 §3.1.5: `search-modseq-ext = SP entry-name SP entry-type-req`.
public struct ModSeqEntry: Sendable, Hashable {
    public enum EntryType: String, Sendable, Hashable {
        case privateEntry = "PRIV"
        case shared = "SHARED"
        case all = "ALL"
    }

    /// `entry-flag-name = DQUOTE "/flags/" attr-flag DQUOTE`, e.g. `/flags/\Seen`.
    public var name: String
    public var type: EntryType

    public init(name: String, type: EntryType) {
        self.name = name
        self.type = type
    }
}

/// An ESEARCH return option (RFC 4731 §3.1, RFC 5182 §2 for SAVE, RFC 5267 §4.1 for UPDATE, CONTEXT and PARTIAL,
/// whose range is `SearchCommand.partial`).
public enum SearchReturnOption: String, Sendable, Hashable, CaseIterable {
    case min = "MIN"
    case max = "MAX"
    case all = "ALL"
    case count = "COUNT"
    case save = "SAVE"
    case update = "UPDATE"
    case context = "CONTEXT"
    case partial = "PARTIAL"

    /// The options of RFC 5267 §4 (CONTEXT=SEARCH), which SORT does not take here (CONTEXT=SORT is not offered).
    static let contextOptions: Set<SearchReturnOption> = [.update, .context, .partial]
}
