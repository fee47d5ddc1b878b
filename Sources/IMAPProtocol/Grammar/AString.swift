/// A string argument as parsed: its octets, and how it was sent (for redacted logging).
struct ParsedString: Equatable {
    var bytes: [UInt8]
    /// Set when the string was sent as a literal.
    var literal: LiteralMarker?
    /// Where it was in the command unit.
    var range: Range<Int>

    /// Strict UTF-8, or a syntax error naming `what`.
    func utf8String(_ what: String) throws(ParseFailure) -> String {
        guard let string = bytes.validUTF8String else { throw .syntax("\(what) is not valid UTF-8") }
        return string
    }
}

extension ByteCursor {
    /// RFC 9051 §9: `atom = 1*ATOM-CHAR`.
    mutating func parseAtom(limit: Int = .max, what: String = "atom") throws(ParseFailure) -> String {
        let atom = try readWhile(limit: limit, tooLong: "Too long \(what)") { $0.isAtomChar }
        guard !atom.isEmpty else {
            guard let next = peek else { throw endOfInput("Missing \(what)") }
            throw .syntax(next == ASCII.space ? IMAPParseError.Message.doubleSpaces : "Invalid characters in \(what)")
        }
        return String(decoding: atom, as: UTF8.self)
    }

    /// RFC 9051 §9: `quoted = DQUOTE *QUOTED-CHAR DQUOTE`, with
    /// `QUOTED-CHAR = <any TEXT-CHAR except quoted-specials> / "\" quoted-specials / UTF8-2 / UTF8-3 / UTF8-4`.
    /// (UTF-8 validity is checked by whoever turns the octets into text.)
    mutating func parseQuoted() throws(ParseFailure) -> ParsedString {
        try composite { cursor throws(ParseFailure) in
            let start = cursor.position
            try cursor.expect(ASCII.dquote, orElse: "Expected quoted string")
            var value: [UInt8] = []
            while true {
                let byte = try cursor.readByte(orElse: "Missing '\"'")
                switch byte {
                case ASCII.dquote:
                    return ParsedString(bytes: value, literal: nil, range: start..<cursor.position)
                case ASCII.backslash:
                    let escaped = try cursor.readByte(orElse: "Missing '\"'")
                    guard escaped == ASCII.dquote || escaped == ASCII.backslash else {
                        throw .syntax("Invalid escape in quoted string")
                    }
                    value.append(escaped)
                case ASCII.nul, ASCII.cr, ASCII.lf:
                    throw .syntax("Invalid characters in quoted string")
                default:
                    value.append(byte)
                }
            }
        }
    }

    /// RFC 9051 §9: `string = quoted / literal`.
    mutating func parseString(what: String = "string") throws(ParseFailure) -> ParsedString {
        switch peek {
        case ASCII.dquote:
            return try parseQuoted()
        case ASCII.openBrace, ASCII.tilde:
            let start = position
            let (marker, data) = try parseLiteral()
            return ParsedString(bytes: Array(data), literal: marker, range: start..<position)
        case nil:
            throw endOfInput("Missing \(what)")
        case ASCII.space:
            throw .syntax(IMAPParseError.Message.doubleSpaces)
        default:
            throw .syntax("Expected string for \(what)")
        }
    }

    /// RFC 9051 §9: `astring = 1*ASTRING-CHAR / string`.
    mutating func parseAString(what: String = "argument") throws(ParseFailure) -> ParsedString {
        switch peek {
        case ASCII.dquote, ASCII.openBrace, ASCII.tilde:
            if peek == ASCII.tilde, !isAtLiteral8 { break }
            return try parseString(what: what)
        case nil:
            throw endOfInput("Missing \(what)")
        case ASCII.space:
            throw .syntax(IMAPParseError.Message.doubleSpaces)
        default:
            break
        }
        let start = position
        let chars = try readWhile { $0.isAStringChar }
        // 8-bit octets are only allowed quoted or in literals (RFC 9051 §9: CHAR is 7-bit).
        guard !chars.isEmpty, (peek ?? 0) < 0x80 else { throw .syntax("Invalid characters in \(what)") }
        return ParsedString(bytes: Array(chars), literal: nil, range: start..<position)
    }

    /// RFC 9051 §9: `nstring = string / nil`; nil is returned for `NIL`.
    mutating func parseNString(what: String = "string") throws(ParseFailure) -> ParsedString? {
        if consumeNIL() { return nil }
        return try parseString(what: what)
    }

    /// RFC 9051 §9: `nil = "NIL"` (case-insensitive, and not the start of a longer atom).
    mutating func consumeNIL() -> Bool {
        let saved = position
        guard consumeCaseInsensitive("NIL") else { return false }
        if let next = peek, next.isAStringChar {
            position = saved
            return false
        }
        return true
    }
}
