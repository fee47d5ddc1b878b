/// One part of an APPEND's CATENATE list (RFC 4469 §5).
public enum CatenatePart: Sendable, Hashable {
    /// `TEXT literal`: the literal's octets (empty when the framer spooled it: `literalOffset` finds the spool).
    case text(data: [UInt8], literalOffset: Int, isBinary: Bool)
    /// `URL astring`: an IMAP URL of a message or part, as sent.
    case url(String)

    /// Most parts in one CATENATE; the framer's literal count bounds TEXT parts too.
    public static let maximumCount = 256
}

extension ByteCursor {
    /// RFC 4469 §5: `append-data =/ "CATENATE" SP "(" cat-part *(SP cat-part) ")"`,
    /// `cat-part = text-literal / url`, `text-literal = "TEXT" SP literal`, `url = "URL" SP astring`;
    /// a `literal8` is taken in TEXT as well (RFC 3516 §4.4 with BINARY). Nil when CATENATE does not follow.
    mutating func parseCatenate() throws(ParseFailure) -> [CatenatePart]? {
        guard consumeWord("CATENATE") else { return nil }
        try parseArgumentSeparator(missing: IMAPParseError.Message.missingCatenateParts)
        return try parseParenthesizedList(
            allowEmpty: false, limit: CatenatePart.maximumCount,
            tooMany: IMAPParseError.Message.tooManyCatenateParts, missing: IMAPParseError.Message.missingCatenateParts
        ) { cursor throws(ParseFailure) in
            if cursor.consumeWord("TEXT") {
                try cursor.parseArgumentSeparator(missing: IMAPParseError.Message.invalidAppendData)
                guard cursor.peek == ASCII.openBrace || cursor.peek == ASCII.tilde else {
                    throw .syntax(IMAPParseError.Message.invalidAppendData)
                }
                let (marker, data) = try cursor.parseLiteral(allowLiteral8: true)
                return .text(data: Array(data), literalOffset: data.startIndex, isBinary: marker.isLiteral8)
            }
            guard cursor.consumeWord("URL") else { throw .syntax(IMAPParseError.Message.invalidCatenatePart) }
            try cursor.parseArgumentSeparator(missing: IMAPParseError.Message.invalidCatenatePart)
            let url = try cursor.parseAString(what: "URL")
            guard url.bytes.count <= IMAPURL.maximumLength else {
                throw .syntax(IMAPParseError.Message.invalidCatenatePart)
            }
            return .url(try url.utf8String("URL"))
        }
    }
}

extension IMAPParseError.Message {
    public static let missingCatenateParts = "Missing CATENATE parts"
    public static let invalidCatenatePart = "Invalid CATENATE part"
    public static let tooManyCatenateParts = "Too many CATENATE parts"
}
