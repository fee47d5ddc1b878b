/// A SEARCH or UID SEARCH command (RFC 9051 §6.4.4).
public struct SearchCommand: Sendable, Hashable {
    public var uid: Bool
    /// `CHARSET x`, upper-cased; nil when not given (US-ASCII / UTF-8).
    public var charset: String?
    /// RFC 4731 ESEARCH return options: empty when no RETURN was given (plain `* SEARCH` reply);
    /// `RETURN ()` comes back as `[.all]` (RFC 4731 §3.1).
    public var returnOptions: [SearchReturnOption]
    /// RFC 5267 §4.4: the range of `PARTIAL`, present exactly when `returnOptions` holds `.partial`.
    public var partial: SearchPartialRange?
    public var key: SearchKey

    public init(
        uid: Bool, charset: String? = nil, returnOptions: [SearchReturnOption] = [], partial: SearchPartialRange? = nil,
        key: SearchKey
    ) {
        self.uid = uid
        self.charset = charset
        self.returnOptions = returnOptions
        self.partial = partial
        self.key = key
    }
}

extension ByteCursor {
    /// RFC 9051 §9: `search = "SEARCH" [search-return-opts] SP search-program`,
    /// `search-program = ["CHARSET" SP charset SP] search-key *(SP search-key)`.
    mutating func parseSearchArguments(uid: Bool) throws(ParseFailure) -> IMAPCommandParser.Parsed {
        try parseArgumentSeparator(missing: IMAPParseError.Message.missingSearchKey)
        let (returnOptions, partial) = try parseSearchReturn(context: true) ?? ([], nil)
        var charset: String?
        if consumeWord("CHARSET") {
            try parseArgumentSeparator(missing: IMAPParseError.Message.missingCharset)
            charset = try parseCharset()
            try parseArgumentSeparator(missing: IMAPParseError.Message.missingSearchKey)
        }
        let key = try parseSearchKeys()
        try parseCommandEnd()
        let command = SearchCommand(
            uid: uid, charset: charset, returnOptions: returnOptions, partial: partial, key: key)
        return IMAPCommandParser.Parsed(kind: .search(command))
    }

    /// RFC 9051 §9: `search-return-opts = SP "RETURN" SP "(" [search-return-opt *(SP search-return-opt)] ")"`,
    /// `search-return-opt = "MIN" / "MAX" / "ALL" / "COUNT" / "SAVE"`; here without the leading SP, and
    /// followed by the SP before what comes next. Nil when there is no RETURN.
    mutating func parseSearchReturnOptions() throws(ParseFailure) -> [SearchReturnOption]? {
        try parseSearchReturn(context: false)?.options
    }

    /// `parseSearchReturnOptions`, and with `context` (SEARCH) also RFC 5267 §4.1's
    /// `search-return-opt =/ "UPDATE" / "CONTEXT" / "PARTIAL" SP partial-range`; PARTIAL at most once and not
    /// with ALL (as Dovecot). `RETURN ()` and `RETURN (CONTEXT)` mean ALL.
    mutating func parseSearchReturn(context: Bool) throws(ParseFailure)
        -> (options: [SearchReturnOption], partial: SearchPartialRange?)?
    {
        guard consumeWord("RETURN") else { return nil }
        try parseArgumentSeparator(missing: IMAPParseError.Message.missingReturnOptions)
        var partial: SearchPartialRange?
        let options = try parseParenthesizedList(
            allowEmpty: true, limit: 16, tooMany: IMAPParseError.Message.unknown("SEARCH return option", ""),
            missing: IMAPParseError.Message.missingReturnOptions
        ) { cursor throws(ParseFailure) in
            let name = try cursor.parseKeyword(what: "SEARCH return option")
            guard let option = SearchReturnOption(rawValue: name),
                context || !SearchReturnOption.contextOptions.contains(option)
            else {
                throw .syntax(IMAPParseError.Message.unknown("SEARCH return option", name))
            }
            if option == .partial {
                guard partial == nil else { throw .syntax(IMAPParseError.Message.invalidPartialRange) }
                try cursor.parseArgumentSeparator(missing: IMAPParseError.Message.invalidPartialRange)
                partial = try cursor.parseSearchPartialRange()
            }
            return option
        }
        var unique: [SearchReturnOption] = []
        for option in options where !unique.contains(option) { unique.append(option) }
        if unique.allSatisfy({ $0 == .context }) { unique.append(.all) }
        if partial != nil && unique.contains(.all) { throw .syntax(IMAPParseError.Message.partialWithAll) }
        try parseArgumentSeparator(missing: IMAPParseError.Message.missingSearchKey)
        return (unique, partial)
    }

    /// RFC 9051 §9: `charset = atom / quoted`, upper-cased.
    mutating func parseCharset() throws(ParseFailure) -> String {
        if peek == ASCII.dquote {
            let quoted = try parseQuoted()
            guard quoted.bytes.count <= 64, let name = quoted.bytes.validUTF8String else { throw .syntax(IMAPParseError.Message.invalidCharset) }
            return name.uppercased()
        }
        return try parseAtom(limit: 64, what: "charset").uppercased()
    }

    /// RFC 5256 §5 with RFC 5267 §3: `sort = ["UID" SP] "SORT" [search-return-opts] SP sort-criteria SP search-criteria`,
    /// `search-criteria = charset 1*(SP search-key)`.
    mutating func parseSortArguments(uid: Bool) throws(ParseFailure) -> IMAPCommandParser.Parsed {
        try parseArgumentSeparator(missing: IMAPParseError.Message.missingSortCriteria)
        let returnOptions = try parseSearchReturnOptions() ?? []
        let criteria = try parseSortCriteria()
        try parseArgumentSeparator(missing: IMAPParseError.Message.missingCharset)
        let charset = try parseCharset()
        try parseArgumentSeparator(missing: IMAPParseError.Message.missingSearchKey)
        let key = try parseSearchKeys()
        try parseCommandEnd()
        return IMAPCommandParser.Parsed(kind: .sort(uid: uid, criteria: criteria, charset: charset, key: key, returnOptions: returnOptions))
    }

    /// RFC 5256 §5: `thread = ["UID" SP] "THREAD" SP thread-alg SP search-criteria`,
    /// `thread-alg = "ORDEREDSUBJECT" / "REFERENCES" / thread-alg-ext`.
    mutating func parseThreadArguments(uid: Bool) throws(ParseFailure) -> IMAPCommandParser.Parsed {
        try parseArgumentSeparator(missing: IMAPParseError.Message.missingThreadAlgorithm)
        let algorithm = try parseKeyword(what: "THREAD algorithm")
        try parseArgumentSeparator(missing: IMAPParseError.Message.missingCharset)
        let charset = try parseCharset()
        try parseArgumentSeparator(missing: IMAPParseError.Message.missingSearchKey)
        let key = try parseSearchKeys()
        try parseCommandEnd()
        return IMAPCommandParser.Parsed(kind: .thread(uid: uid, algorithm: algorithm, charset: charset, key: key))
    }
}
