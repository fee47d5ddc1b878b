/// One SORT criterion: a key, possibly reversed.
///
/// RFC 5256 §5: `sort-criterion = ["REVERSE" SP] sort-key`,
/// `sort-key = "ARRIVAL" / "CC" / "DATE" / "FROM" / "SIZE" / "SUBJECT" / "TO"`;
/// DISPLAYFROM and DISPLAYTO are RFC 5957 §3.
public struct SortCriterion: Sendable, Hashable {
    public enum Key: String, Sendable, Hashable, CaseIterable {
        case arrival = "ARRIVAL"
        case cc = "CC"
        case date = "DATE"
        case from = "FROM"
        case size = "SIZE"
        case subject = "SUBJECT"
        case to = "TO"
        case displayFrom = "DISPLAYFROM"
        case displayTo = "DISPLAYTO"
    }

    public var key: Key
    public var reverse: Bool

    public init(_ key: Key, reverse: Bool = false) {
        self.key = key
        self.reverse = reverse
    }

    /// Most criteria in one SORT (each key once, each possibly reversed, is far below this).
    public static let maximumCount = 32
}

extension ByteCursor {
    /// RFC 5256 §5: `sort-criteria = "(" sort-criterion *(SP sort-criterion) ")"`.
    mutating func parseSortCriteria() throws(ParseFailure) -> [SortCriterion] {
        try parseParenthesizedList(
            allowEmpty: false, limit: SortCriterion.maximumCount, tooMany: IMAPParseError.Message.tooManySortCriteria,
            missing: IMAPParseError.Message.missingSortCriteria
        ) { cursor throws(ParseFailure) in
            var name = try cursor.parseKeyword(what: "SORT criterion")
            var reverse = false
            if name == "REVERSE" {
                reverse = true
                try cursor.parseArgumentSeparator(missing: IMAPParseError.Message.missingSortCriteria)
                name = try cursor.parseKeyword(what: "SORT criterion")
            }
            guard let key = SortCriterion.Key(rawValue: name) else {
                throw .syntax(IMAPParseError.Message.unknown("SORT criterion", name))
            }
            return SortCriterion(key, reverse: reverse)
        }
    }
}
