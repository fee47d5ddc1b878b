/// One header field inside the CRLF message buffer (RFC 5322 §2.2): name, value and folded continuation lines.
struct HeaderField: Sendable {
    /// Offset of the field's first byte.
    var start: Int
    /// End of the name (trailing whitespace before ":" excluded).
    var nameEnd: Int
    /// Offset just after ":", or nil for a line without a colon.
    var colon: Int?
    /// Offset just after the last line's CRLF (or the end of input).
    var end: Int

    func name(in b: [UInt8]) -> ArraySlice<UInt8> { b[start..<nameEnd] }

    /// The unfolded value: leading LWSP after ":" skipped, CRLFs of folds removed, the continuation lines' leading
    /// whitespace kept.
    func value(in b: [UInt8]) -> [UInt8] { value(in: b, keepingFolds: false) }

    /// The value as Dovecot's full_value, which ENVELOPE is made of: like value(in:), but a fold's CRLF is kept
    /// (RFC 5322 §2.2.3 unfolding is left to the writer, which turns it into a space for display text).
    func foldedValue(in b: [UInt8]) -> [UInt8] { value(in: b, keepingFolds: true) }

    private func value(in b: [UInt8], keepingFolds: Bool) -> [UInt8] {
        guard let colon else { return [] }
        var out = [UInt8]()
        out.reserveCapacity(end - colon)
        var i = colon
        // First line: skip LWSP, unless the line holds only LWSP (then skip just one).
        var lineEnd = i
        while lineEnd < end, b[lineEnd] != ASCII.lf { lineEnd += 1 }
        var contentEnd = lineEnd
        if contentEnd > i, contentEnd <= end, contentEnd < b.count, b[contentEnd] == ASCII.lf, b[contentEnd - 1] == ASCII.cr {
            contentEnd -= 1
        }
        var j = i
        while j < contentEnd, ASCII.isLWSP(b[j]) { j += 1 }
        if j == contentEnd { j = (contentEnd > i && ASCII.isLWSP(b[i])) ? i + 1 : i }
        i = j
        // The field's own line end is never part of the value.
        var valueEnd = end
        if valueEnd > i, b[valueEnd - 1] == ASCII.lf {
            valueEnd -= 1
            if valueEnd > i, b[valueEnd - 1] == ASCII.cr { valueEnd -= 1 }
        }
        while i < end {
            let c = b[i]
            if c == ASCII.cr, i + 1 < end, b[i + 1] == ASCII.lf {
                // A fold right after an empty first line adds nothing, as in Dovecot.
                if keepingFolds && i < valueEnd && !out.isEmpty { out += [ASCII.cr, ASCII.lf] }
                i += 2
                continue
            }
            if c == ASCII.lf {
                if keepingFolds && i < valueEnd && !out.isEmpty { out.append(ASCII.lf) }
                i += 1
                continue
            }
            if c != 0 { out.append(c) }
            i += 1
        }
        return out
    }
}

/// The header block of one part (RFC 5322 §2.2, RFC 2045 §3).
struct HeaderBlock: Sendable {
    var fields: [HeaderField] = []
    /// End of the header including the blank line (== start of the body).
    var end: Int = 0
    /// True when the header ended at an empty line (not at EOF, a boundary or a limit).
    var sawBlankLine = false
    /// Set when a boundary line cut the header short: its offset.
    var boundaryAt: Int?
}

enum HeaderParser {
    /// Parses header fields from `start`; `isBoundary(offset)` says whether a line is a MIME boundary.
    static func parse(
        _ b: [UInt8], from start: Int, limits: MIMELimits, isBoundary: (Int) -> Bool
    ) -> HeaderBlock {
        var block = HeaderBlock()
        let end = b.count
        var p = start
        while true {
            if p >= end { block.end = end; return block }
            if isBoundary(p) {
                block.boundaryAt = p
                block.end = p > start ? p - 2 : p
                if var last = block.fields.popLast() {
                    last.end = min(last.end, block.end)
                    block.fields.append(last)
                }
                return block
            }
            var lineEnd = p
            while lineEnd < end, b[lineEnd] != ASCII.lf { lineEnd += 1 }
            let next = lineEnd < end ? lineEnd + 1 : end
            if b[p] == ASCII.cr && p + 1 < end && b[p + 1] == ASCII.lf {
                block.end = p + 2
                block.sawBlankLine = true
                return block
            }
            if b[p] == ASCII.lf {
                block.end = p + 1
                block.sawBlankLine = true
                return block
            }
            if next - start > limits.maxHeaderBytes || block.fields.count >= limits.maxHeaderFields {
                // Over a bound: the rest is treated as body.
                block.end = p
                return block
            }
            if ASCII.isLWSP(b[p]), !block.fields.isEmpty {
                block.fields[block.fields.count - 1].end = next
                p = next
                continue
            }
            var colon: Int?
            var k = p
            while k < lineEnd {
                if b[k] == ASCII.colon { colon = k; break }
                k += 1
            }
            var nameEnd = colon ?? lineEnd
            if colon == nil, nameEnd > p, b[nameEnd - 1] == ASCII.cr { nameEnd -= 1 }
            while nameEnd > p, ASCII.isLWSP(b[nameEnd - 1]) { nameEnd -= 1 }
            block.fields.append(HeaderField(start: p, nameEnd: nameEnd, colon: colon.map { $0 + 1 }, end: next))
            p = next
        }
    }
}
