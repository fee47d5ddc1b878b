extension ByteCursor {
    /// RFC 9051 §9: `search-key *(SP search-key)` (the keys of a search-program after any CHARSET).
    /// One key comes back as itself, several as `.and`. Nesting is capped at `SearchKey.maximumDepth`.
    mutating func parseSearchKeys() throws(ParseFailure) -> SearchKey {
        let saved = nesting
        nesting = NestingTracker(maximumDepth: SearchKey.maximumDepth)
        defer { nesting = saved }
        do throws(ParseFailure) {
            var keys = [try parseSearchKey()]
            while try parseOptionalArgumentSeparator() {
                guard keys.count < SearchKey.maximumListCount else { throw .syntax(IMAPParseError.Message.tooManySearchKeys) }
                keys.append(try parseSearchKey())
            }
            return keys.count == 1 ? keys[0] : .and(keys)
        } catch {
            if case .syntax(NestingTracker.tooDeepMessage) = error { throw .syntax(IMAPParseError.Message.searchTooDeep) }
            throw error
        }
    }

    /// RFC 9051 §9: `search-key = "ALL" / "ANSWERED" / "BCC" SP astring / "BEFORE" SP date / "BODY" SP astring /
    /// "CC" SP astring / "DELETED" / "FLAGGED" / "FROM" SP astring / "KEYWORD" SP flag-keyword / "ON" SP date /
    /// "SEEN" / "SINCE" SP date / "SUBJECT" SP astring / "TEXT" SP astring / "TO" SP astring / "UNANSWERED" /
    /// "UNDELETED" / "UNFLAGGED" / "UNKEYWORD" SP flag-keyword / "UNSEEN" / "DRAFT" /
    /// "HEADER" SP header-fld-name SP astring / "LARGER" SP number64 / "NOT" SP search-key /
    /// "OR" SP search-key SP search-key / "SENTBEFORE" SP date / "SENTON" SP date / "SENTSINCE" SP date /
    /// "SMALLER" SP number64 / "UID" SP sequence-set / "UNDRAFT" / sequence-set / "(" search-key *(SP search-key) ")"`;
    /// plus RFC 3501 NEW / OLD / RECENT, RFC 7162 MODSEQ, RFC 8514 SAVED*, RFC 5032 OLDER / YOUNGER,
    /// RFC 8474 EMAILID / THREADID.
    mutating func parseSearchKey() throws(ParseFailure) -> SearchKey {
        guard let next = peek else { throw endOfInput(IMAPParseError.Message.missingSearchKey) }
        if next == ASCII.openParen {
            position += 1
            return try nested { cursor throws(ParseFailure) in
                var keys = [try cursor.parseSearchKey()]
                while !cursor.consume(ASCII.closeParen) {
                    try cursor.parseArgumentSeparator(missing: IMAPParseError.Message.missingCloseParen)
                    guard keys.count < SearchKey.maximumListCount else { throw .syntax(IMAPParseError.Message.tooManySearchKeys) }
                    keys.append(try cursor.parseSearchKey())
                }
                return keys.count == 1 ? keys[0] : .and(keys)
            }
        }
        if atSequenceSet { return .sequenceNumbers(try parseSequenceSet()) }
        let name = try parseKeyword(what: "SEARCH key")
        switch name {
        case "ALL": return .all
        case "ANSWERED": return .answered
        case "DELETED": return .deleted
        case "DRAFT": return .draft
        case "FLAGGED": return .flagged
        case "SEEN": return .seen
        case "UNANSWERED": return .unanswered
        case "UNDELETED": return .undeleted
        case "UNDRAFT": return .undraft
        case "UNFLAGGED": return .unflagged
        case "UNSEEN": return .unseen
        case "NEW": return .new
        case "OLD": return .old
        case "RECENT": return .recent
        case "SAVEDATESUPPORTED": return .saveDateSupported
        case "KEYWORD": return .keyword(try searchArgument { cursor throws(ParseFailure) in try cursor.parseFlagKeyword() })
        case "UNKEYWORD": return .unkeyword(try searchArgument { cursor throws(ParseFailure) in try cursor.parseFlagKeyword() })
        case "BCC": return .bcc(try searchString())
        case "BODY": return .body(try searchString())
        case "CC": return .cc(try searchString())
        case "FROM": return .from(try searchString())
        case "SUBJECT": return .subject(try searchString())
        case "TEXT": return .text(try searchString())
        case "TO": return .to(try searchString())
        case "HEADER":
            let field = try searchString()
            guard !field.isEmpty, field.utf8.count <= IMAPCommandParser.maximumAtomLength else {
                throw .syntax(IMAPParseError.Message.invalidHeaderName)
            }
            return .header(name: field, value: try searchString())
        case "BEFORE": return .before(try searchDate())
        case "ON": return .on(try searchDate())
        case "SINCE": return .since(try searchDate())
        case "SENTBEFORE": return .sentBefore(try searchDate())
        case "SENTON": return .sentOn(try searchDate())
        case "SENTSINCE": return .sentSince(try searchDate())
        case "SAVEDBEFORE": return .savedBefore(try searchDate())
        case "SAVEDON": return .savedOn(try searchDate())
        case "SAVEDSINCE": return .savedSince(try searchDate())
        case "OLDER", "YOUNGER":
            let seconds = try searchArgument { cursor throws(ParseFailure) in
                try cursor.parseNZNumber(IMAPParseError.Message.invalidNumber)
            }
            return name == "OLDER" ? .older(seconds: seconds) : .younger(seconds: seconds)
        case "LARGER", "SMALLER":
            let size = try searchArgument { cursor throws(ParseFailure) in try cursor.parseNumber64(IMAPParseError.Message.invalidNumber) }
            return name == "LARGER" ? .larger(size) : .smaller(size)
        case "UID": return .uid(try searchArgument { cursor throws(ParseFailure) in try cursor.parseSequenceSet() })
        case "MODSEQ": return try parseModSeqSearchKey()
        case "EMAILID": return .emailID(try searchArgument { cursor throws(ParseFailure) in try cursor.parseObjectID() })
        case "THREADID": return .threadID(try searchArgument { cursor throws(ParseFailure) in try cursor.parseObjectID() })
        case "NOT":
            return try nested { cursor throws(ParseFailure) in
                .not(try cursor.searchArgument { cursor throws(ParseFailure) in try cursor.parseSearchKey() })
            }
        case "OR":
            return try nested { cursor throws(ParseFailure) in
                let first = try cursor.searchArgument { cursor throws(ParseFailure) in try cursor.parseSearchKey() }
                let second = try cursor.searchArgument { cursor throws(ParseFailure) in try cursor.parseSearchKey() }
                return .or(first, second)
            }
        default:
            throw .syntax(IMAPParseError.Message.unknown("SEARCH key", name))
        }
    }

    /// The SP and the argument a key requires.
    private mutating func searchArgument<T>(_ body: (inout ByteCursor) throws(ParseFailure) -> T) throws(ParseFailure) -> T {
        try parseArgumentSeparator(missing: IMAPParseError.Message.missingSearchArgument)
        return try body(&self)
    }

    /// `SP astring`, as text (invalid UTF-8 is replaced: only UTF-8 and US-ASCII charsets are searched).
    private mutating func searchString() throws(ParseFailure) -> String {
        let value = try searchArgument { cursor throws(ParseFailure) in try cursor.parseAString(what: "SEARCH string") }
        return String(decoding: value.bytes, as: UTF8.self)
    }

    private mutating func searchDate() throws(ParseFailure) -> IMAPDate {
        try searchArgument { cursor throws(ParseFailure) in try cursor.parseDate() }
    }

    /// RFC 7162 §7: `search-modsequence = "MODSEQ" [search-modseq-ext] SP mod-sequence-valzer`,
    /// `search-modseq-ext = SP entry-name SP entry-type-req`, `entry-type-req = "priv" / "shared" / "all"`.
    private mutating func parseModSeqSearchKey() throws(ParseFailure) -> SearchKey {
        try parseArgumentSeparator(missing: IMAPParseError.Message.missingSearchArgument)
        var entry: ModSeqEntry?
        if peek == ASCII.dquote {
            let name = try parseQuoted().utf8String("MODSEQ entry name")
            try parseArgumentSeparator(missing: IMAPParseError.Message.missingSearchArgument)
            let typeName = try parseKeyword(what: "MODSEQ entry type")
            guard name.lowercased().hasPrefix("/flags/"), let type = ModSeqEntry.EntryType(rawValue: typeName) else {
                throw .syntax(IMAPParseError.Message.invalidModSeqEntry)
            }
            entry = ModSeqEntry(name: name, type: type)
            try parseArgumentSeparator(missing: IMAPParseError.Message.missingSearchArgument)
        }
        return .modSeq(try parseModSequence(allowZero: true), entry: entry)
    }

    /// RFC 8474 §7: `objectid = 1*255(ALPHA / DIGIT / "_" / "-")`.
    mutating func parseObjectID() throws(ParseFailure) -> String {
        let id = try readWhile(limit: 255, tooLong: IMAPParseError.Message.invalidObjectID) {
            (0x41...0x5A).contains($0) || (0x61...0x7A).contains($0) || $0.isDigit || $0 == 0x5F || $0 == ASCII.minus
        }
        guard !id.isEmpty else { throw isAtEnd ? endOfInput(IMAPParseError.Message.invalidObjectID) : .syntax(IMAPParseError.Message.invalidObjectID) }
        return String(decoding: id, as: UTF8.self)
    }
}
