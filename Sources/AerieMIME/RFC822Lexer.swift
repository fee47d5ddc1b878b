/// RFC 5322 §3.2 lexical tokens (CFWS, atom, dot-atom, quoted-string, phrase) and RFC 2045 §5.1 tokens,
/// with Dovecot's rfc822-parser.c return convention: 1 = more input follows, 0 = end of input, -1 = syntax error.
struct RFC822Lexer {
    let data: [UInt8]
    var pos: Int
    let end: Int
    /// Text of the last comment skipped (addr-spec display names come from it).
    var lastComment: [UInt8] = []

    init(_ data: [UInt8]) {
        self.data = data
        pos = 0
        end = data.count
    }

    var atEnd: Bool { pos >= end }
    var current: UInt8 { pos < end ? data[pos] : 0 }

    /// RFC 5322 §3.2.2 atext; 8-bit bytes are accepted as Dovecot does.
    static func isAtext(_ b: UInt8) -> Bool {
        switch b {
        case 0x30...0x39, 0x41...0x5A, 0x61...0x7A, 0x80...0xFF: return true
        case UInt8(ascii: "!"), UInt8(ascii: "#"), UInt8(ascii: "$"), UInt8(ascii: "%"), UInt8(ascii: "&"),
            UInt8(ascii: "'"), UInt8(ascii: "*"), UInt8(ascii: "+"), UInt8(ascii: "-"), UInt8(ascii: "/"),
            UInt8(ascii: "="), UInt8(ascii: "?"), UInt8(ascii: "^"), UInt8(ascii: "_"), UInt8(ascii: "`"),
            UInt8(ascii: "{"), UInt8(ascii: "|"), UInt8(ascii: "}"), UInt8(ascii: "~"):
            return true
        default: return false
        }
    }

    /// RFC 2045 §5.1 token character (atext without the tspecials "/", "?", "=", plus ".").
    static func isTokenChar(_ b: UInt8) -> Bool {
        if b == UInt8(ascii: ".") { return true }
        if b == UInt8(ascii: "/") || b == UInt8(ascii: "?") || b == UInt8(ascii: "=") { return false }
        return isAtext(b)
    }

    /// Skips whitespace and nested comments (RFC 5322 §3.2.2 CFWS).
    @discardableResult
    mutating func skipLWSP() -> Int {
        while pos < end {
            let b = data[pos]
            if b == ASCII.sp || b == ASCII.tab || b == ASCII.cr || b == ASCII.lf { pos += 1; continue }
            if b != UInt8(ascii: "(") { break }
            if skipComment() < 0 { return -1 }
        }
        return pos < end ? 1 : 0
    }

    mutating func skipComment() -> Int {
        lastComment.removeAll(keepingCapacity: true)
        var level = 1
        pos += 1
        while pos < end {
            let b = data[pos]
            switch b {
            case UInt8(ascii: "("): level += 1; lastComment.append(b)
            case UInt8(ascii: ")"):
                level -= 1
                if level == 0 { pos += 1; return 1 }
                lastComment.append(b)
            case ASCII.backslash:
                pos += 1
                if pos >= end { return -1 }
                lastComment.append(data[pos])
            case ASCII.cr, ASCII.lf: break
            default: lastComment.append(b)
            }
            pos += 1
        }
        return -1
    }

    mutating func parseAtom(into str: inout [UInt8]) -> Int {
        guard pos < end, Self.isAtext(data[pos]) else { return -1 }
        while pos < end, Self.isAtext(data[pos]) { str.append(data[pos]); pos += 1 }
        return skipLWSP()
    }

    mutating func parseAtomOrDot(into str: inout [UInt8]) -> Int {
        guard pos < end, Self.isAtext(data[pos]) || data[pos] == UInt8(ascii: ".") else { return -1 }
        while pos < end, Self.isAtext(data[pos]) || data[pos] == UInt8(ascii: ".") { str.append(data[pos]); pos += 1 }
        return skipLWSP()
    }

    /// dot-atom with the obsolete CFWS around dots (RFC 5322 §3.4.1 obs-local-part).
    mutating func parseDotAtom(into str: inout [UInt8]) -> Int {
        guard pos < end, Self.isAtext(data[pos]) else { return -1 }
        while true {
            while pos < end, Self.isAtext(data[pos]) { str.append(data[pos]); pos += 1 }
            let r = skipLWSP()
            if r <= 0 { return r }
            if data[pos] != UInt8(ascii: ".") { return 1 }
            pos += 1
            str.append(UInt8(ascii: "."))
            let r2 = skipLWSP()
            if r2 <= 0 { return r2 }
        }
    }

    mutating func parseMimeToken(into str: inout [UInt8]) -> Int {
        while pos < end, Self.isTokenChar(data[pos]) { str.append(data[pos]); pos += 1 }
        return skipLWSP()
    }

    /// RFC 5322 §3.2.4 quoted-string, unescaped, folding removed.
    mutating func parseQuotedString(into str: inout [UInt8]) -> Int {
        pos += 1
        while pos < end {
            let b = data[pos]
            switch b {
            case ASCII.dquote:
                pos += 1
                return skipLWSP()
            case ASCII.lf:
                if str.last == ASCII.cr { str.removeLast() }
            case ASCII.backslash:
                pos += 1
                if pos >= end { return -1 }
                str.append(data[pos])
            default:
                str.append(b)
            }
            pos += 1
        }
        return -1
    }

    /// RFC 5322 §3.2.5 phrase (obs-phrase allows "."); words joined by one space.
    mutating func parsePhrase(into str: inout [UInt8]) -> Int {
        if pos >= end { return 0 }
        if data[pos] == UInt8(ascii: "<") { return 1 }
        if data[pos] == UInt8(ascii: ".") { return -1 }
        while true {
            let r = data[pos] == ASCII.dquote ? parseQuotedString(into: &str) : parseAtomOrDot(into: &str)
            if r <= 0 { return r }
            let c = data[pos]
            if !Self.isAtext(c) && c != ASCII.dquote && c != UInt8(ascii: ".") { break }
            str.append(ASCII.sp)
        }
        return skipLWSP()
    }

    /// RFC 5322 §3.4.1 domain: dot-atom or domain-literal; positioned at "@".
    mutating func parseDomain(into str: inout [UInt8]) -> Int {
        pos += 1
        if skipLWSP() <= 0 { return -1 }
        if data[pos] == UInt8(ascii: "[") {
            let start = pos
            while pos < end {
                if data[pos] == ASCII.backslash {
                    pos += 1
                    if pos >= end { break }
                } else if data[pos] == UInt8(ascii: "]") {
                    pos += 1
                    str += data[start..<pos]
                    return skipLWSP()
                }
                pos += 1
            }
            return -1
        }
        return parseDotAtom(into: &str)
    }
}
