extension ByteCursor {
    /// Most decimal digits read for any number; more is refused before any arithmetic.
    static let maximumNumberDigits = 20

    /// Decimal digits as an unsigned value no larger than `maximum`, else a syntax error `message`.
    mutating func parseDigits(maximum: UInt64, allowZero: Bool, message: String) throws(ParseFailure) -> UInt64 {
        let digits = try readWhile(limit: Self.maximumNumberDigits, tooLong: message) { $0.isDigit }
        guard !digits.isEmpty else {
            throw isAtEnd ? endOfInput(message) : .syntax(message)
        }
        var value: UInt64 = 0
        for digit in digits {
            let (times10, overflow1) = value.multipliedReportingOverflow(by: 10)
            let (sum, overflow2) = times10.addingReportingOverflow(UInt64(digit - 0x30))
            guard !overflow1, !overflow2, sum <= maximum else { throw .syntax(message) }
            value = sum
        }
        guard allowZero || value != 0 else { throw .syntax(message) }
        return value
    }

    /// RFC 9051 §9: `number = 1*DIGIT` (unsigned 32-bit).
    mutating func parseNumber(_ message: String) throws(ParseFailure) -> UInt32 {
        UInt32(try parseDigits(maximum: UInt64(UInt32.max), allowZero: true, message: message))
    }

    /// RFC 9051 §9: `nz-number = digit-nz *DIGIT` (non-zero unsigned 32-bit).
    mutating func parseNZNumber(_ message: String) throws(ParseFailure) -> UInt32 {
        UInt32(try parseDigits(maximum: UInt64(UInt32.max), allowZero: false, message: message))
    }

    /// RFC 9051 §9: `number64 = 1*DIGIT` (unsigned 63-bit).
    mutating func parseNumber64(_ message: String) throws(ParseFailure) -> UInt64 {
        try parseDigits(maximum: UInt64(Int64.max), allowZero: true, message: message)
    }

    /// RFC 7162 §7: `mod-sequence-value = 1*DIGIT` (1 … 2^63-1);
    /// `mod-sequence-valzer = "0" / mod-sequence-value` when `allowZero`.
    mutating func parseModSequence(allowZero: Bool) throws(ParseFailure) -> UInt64 {
        try parseDigits(maximum: UInt64(Int64.max), allowZero: allowZero, message: IMAPParseError.Message.invalidModSequence)
    }

    /// Consumes `word` (case-insensitive) if it is next and followed by SP (which is not consumed).
    mutating func consumeWord(_ word: StaticString) -> Bool {
        let saved = position
        guard consumeCaseInsensitive(word), peek == ASCII.space else {
            position = saved
            return false
        }
        return true
    }

    /// A keyword of the grammar (e.g. `FLAGS`, `CHANGEDSINCE`): an atom, upper-cased, bounded.
    mutating func parseKeyword(what: String) throws(ParseFailure) -> String {
        try parseAtom(limit: IMAPCommandParser.maximumAtomLength, what: what).uppercased()
    }

    /// A parenthesized, space-separated list of one or more items (`"(" item *(SP item) ")"`),
    /// or zero items when `allowEmpty`; at most `limit` items, else `tooMany`.
    mutating func parseParenthesizedList<T>(
        allowEmpty: Bool, limit: Int, tooMany: String, missing: String,
        _ item: (inout ByteCursor) throws(ParseFailure) -> T
    ) throws(ParseFailure) -> [T] {
        try expect(ASCII.openParen, orElse: missing)
        var items: [T] = []
        if consume(ASCII.closeParen) {
            guard allowEmpty else { throw .syntax(missing) }
            return items
        }
        while true {
            guard items.count < limit else { throw .syntax(tooMany) }
            items.append(try item(&self))
            if consume(ASCII.closeParen) { return items }
            try parseArgumentSeparator(missing: IMAPParseError.Message.missingCloseParen)
        }
    }
}
