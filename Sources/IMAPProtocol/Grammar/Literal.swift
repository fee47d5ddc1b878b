/// The `{N}` / `{N+}` / `~{N}` / `~{N+}` announcement that ends a line before literal data.
///
/// RFC 9051 §4.3 and §9: `literal = "{" number64 ["+"] "}" CRLF *CHAR8`,
/// `literal8 = "~{" number64 ["+"] "}" CRLF *OCTET`; the `+` form is RFC 7888 §3 (LITERAL+ and
/// LITERAL- share it: LITERAL- only caps N at 4096, which `IMAPFramingLimits.maxLiteralSize` expresses).
/// `{N-}` is not a literal in any RFC and is left to the parser as bad syntax.
struct LiteralMarker: Equatable {
    /// The announced octet count; `Int.max` when the digits overflow 63 bits.
    var size: Int
    /// False for `{N+}`: the client sends the data without waiting for `+`.
    var synchronizing: Bool
    /// True for `~{N}` (RFC 3516 literal8): NUL octets are allowed in the data.
    var isLiteral8: Bool
    /// Bytes of the marker itself, from `~`/`{` to `}`.
    var length: Int

    /// RFC 9051 §9: `number64 = 1*DIGIT` (unsigned 63-bit). More digits than this are refused as too large.
    static let maximumDigits = 18

    /// The marker at the very end of `line` (which excludes the line terminator), if any.
    static func atEnd(of line: ArraySlice<UInt8>) -> LiteralMarker? {
        var index = line.endIndex
        guard index > line.startIndex, line[index - 1] == ASCII.closeBrace else { return nil }
        index -= 1
        var synchronizing = true
        if index > line.startIndex, line[index - 1] == ASCII.plus {
            synchronizing = false
            index -= 1
        }
        let digitsEnd = index
        while index > line.startIndex, line[index - 1].isDigit { index -= 1 }
        let digitsStart = index
        guard digitsStart < digitsEnd, index > line.startIndex, line[index - 1] == ASCII.openBrace else { return nil }
        index -= 1
        var isLiteral8 = false
        if index > line.startIndex, line[index - 1] == ASCII.tilde {
            isLiteral8 = true
            index -= 1
        }
        return LiteralMarker(
            size: number(line[digitsStart..<digitsEnd]),
            synchronizing: synchronizing,
            isLiteral8: isLiteral8,
            length: line.endIndex - index
        )
    }

    /// Decimal digits to an Int, saturating at `Int.max`.
    static func number(_ digits: ArraySlice<UInt8>) -> Int {
        let significant = digits.drop(while: { $0 == 0x30 })
        guard significant.count <= maximumDigits else { return .max }
        return significant.reduce(0) { $0 * 10 + Int($1 - 0x30) }
    }

    /// The marker as text, e.g. `{5}`, `{5+}`, `~{5}`: the placeholder used in redacted logs.
    var placeholder: String {
        (isLiteral8 ? "~{" : "{") + String(size) + (synchronizing ? "}" : "+}")
    }
}

extension ByteCursor {
    /// A literal at the cursor, its data returned whole (the framer has already inlined it).
    ///
    /// RFC 9051 §4.3: literal octets are CHAR8 (no NUL) unless it is a literal8 (RFC 3516), which
    /// only `allowLiteral8` contexts accept.
    mutating func parseLiteral(allowLiteral8: Bool = false) throws(ParseFailure) -> (marker: LiteralMarker, data: ArraySlice<UInt8>) {
        try composite { cursor throws(ParseFailure) in
            let start = cursor.position
            let isLiteral8 = cursor.consume(ASCII.tilde)
            if isLiteral8, !allowLiteral8 { throw .syntax("Binary literal not allowed here") }
            try cursor.expect(ASCII.openBrace, orElse: "Expected literal")
            let digits = try cursor.readWhile(limit: LiteralMarker.maximumDigits, tooLong: "Literal size too large") { $0.isDigit }
            guard !digits.isEmpty else { throw .syntax("Invalid literal size") }
            let synchronizing = !cursor.consume(ASCII.plus)
            try cursor.expect(ASCII.closeBrace, orElse: "Invalid literal size")
            let marker = LiteralMarker(
                size: LiteralMarker.number(digits),
                synchronizing: synchronizing,
                isLiteral8: isLiteral8,
                length: cursor.position - start
            )
            try cursor.expect(ASCII.cr, orElse: "Missing CRLF after literal size")
            try cursor.expect(ASCII.lf, orElse: "Missing CRLF after literal size")
            let data = try cursor.readBytes(marker.size, orElse: "Literal data truncated")
            if !isLiteral8, data.contains(ASCII.nul) { throw .syntax("NULs not allowed in literal") }
            return (marker, data)
        }
    }
}
