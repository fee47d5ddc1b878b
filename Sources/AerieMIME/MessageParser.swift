/// One node of the MIME tree; all offsets index the CRLF-normalized message.
struct MIMEPart: Sendable {
    enum Kind: Sendable { case leaf, multipart, rfc822 }
    var headerStart = 0
    var headerEnd = 0
    var bodyStart = 0
    var bodyEnd = 0
    var fields: [HeaderField] = []
    var kind = Kind.leaf
    /// A Content-Type of multipart/* even if the multipart could not be started (no boundary, limits).
    var declaredMultipart = false
    /// MIME-Version or Content-Type seen, or a child of a multipart (RFC 2045 §4).
    var isMIME = false
    var parent: Int?
    var children: [Int] = []
    var depth = 0
}

/// Splits a message into its MIME tree the way Dovecot's message-parser.c does (RFC 2046 §5.1.1 boundaries:
/// the CRLF before "--boundary" belongs to the boundary, the longest matching open boundary wins, a missing
/// boundary makes the rest of the input the body). Iterative; bounded by MIMELimits.
struct MessageParser {
    private let b: [UInt8]
    private let limits: MIMELimits
    private(set) var parts: [MIMEPart] = [MIMEPart()]
    private var boundaries: [(bytes: [UInt8], part: Int)] = []

    init(_ bytes: [UInt8], limits: MIMELimits) {
        b = bytes
        self.limits = limits
    }

    private enum State { case header(Int, Int), body(Int, Int) }

    mutating func run() {
        var state = State.header(0, 0)
        var steps = 0
        while true {
            steps += 1
            if steps > 4 * limits.maxParts + 16 { closeAll(from: 0, at: b.count); return }
            switch state {
            case .header(let part, let at):
                guard let next = parseHeader(part, at) else { return }
                state = next
            case .body(let part, let at):
                guard let next = scanBody(part, from: at) else { return }
                state = next
            }
        }
    }

    /// Returns the open boundary a line starts with ("--" + boundary, longest match), if any.
    private func boundary(at p: Int) -> Int? {
        guard !boundaries.isEmpty, p + 1 < b.count, b[p] == UInt8(ascii: "-"), b[p + 1] == UInt8(ascii: "-") else {
            return nil
        }
        var best: Int?
        let rest = p + 2
        for (i, bd) in boundaries.enumerated().reversed() {
            let len = bd.bytes.count
            if rest + len > b.count { continue }
            if let cur = best, boundaries[cur].bytes.count >= len { continue }
            var match = true
            var k = 0
            while k < len {
                if b[rest + k] != bd.bytes[k] { match = false; break }
                k += 1
            }
            if match { best = i }
        }
        return best
    }

    private mutating func parseHeader(_ index: Int, _ at: Int) -> State? {
        let block = HeaderParser.parse(b, from: at, limits: limits) { self.boundary(at: $0) != nil }
        var part = parts[index]
        part.headerStart = at
        part.headerEnd = block.end
        part.bodyStart = block.end
        part.fields = block.fields
        var contentType: ContentTypeValue?
        for f in block.fields {
            let name = f.name(in: b)
            if ASCII.equalsIgnoringCase(name, "MIME-Version") {
                part.isMIME = true
            } else if ASCII.equalsIgnoringCase(name, "Content-Type") {
                part.isMIME = true
                if contentType == nil { contentType = ContentTypeValue.parseContentType(f.value(in: b)) }
            }
        }
        let parentIsDigest = part.parent.map { parentDigest($0) } ?? false
        var boundaryBytes: [UInt8]?
        if part.isMIME, let ct = contentType {
            if ct.isMessageRFC822 {
                part.kind = .rfc822
            } else if ASCII.equalsIgnoringCase(ct.type, "multipart") && ct.subtype != nil {
                part.declaredMultipart = true
                boundaryBytes = ct.param("boundary")
            }
        } else if contentType == nil && parentIsDigest {
            part.kind = .rfc822
        }
        let nestingOK = part.depth < limits.maxDepth && parts.count < limits.maxParts
        if part.kind == .rfc822 && !nestingOK { part.kind = .leaf }
        if part.declaredMultipart && nestingOK { part.kind = .multipart }
        parts[index] = part

        if let cut = block.boundaryAt {
            parts[index].bodyEnd = block.end
            // The enclosing message/rfc822 parts keep the CRLF before the boundary, as in Dovecot's message-parser.c.
            return finishAtBoundary(index, lineStart: cut, contentEnd: block.end, enclosingEnd: cut)
        }
        if block.sawBlankLine, part.kind != .rfc822, let bi = boundary(at: block.end),
            !(part.kind == .multipart
                && boundaryBytes.map { starts(block.end, with: $0, atLeast: boundaries[bi].bytes) } == true)
        {
            // An enclosing boundary right after the blank line ends the part with an empty body, and the blank line's
            // CRLF is the one before the boundary (RFC 2046 §5.1.1), as in Dovecot's message-parser.c.
            let blank = block.end - 2
            parts[index].headerEnd = blank
            parts[index].bodyStart = blank
            return finishAtBoundary(index, lineStart: block.end, contentEnd: blank)
        }
        if part.kind == .multipart, let bd = boundaryBytes, block.sawBlankLine {
            boundaries.append((bd, index))
            return .body(index, block.end)
        }
        if parts[index].kind == .rfc822 {
            let child = addChild(of: index, at: block.end, isMIME: false)
            return .header(child, block.end)
        }
        return .body(index, block.end)
    }

    /// Whether the line at `p` starts with "--" + `own` and `own` is at least as long as `other` (the longest match
    /// wins, the innermost on a tie).
    private func starts(_ p: Int, with own: [UInt8], atLeast other: [UInt8]) -> Bool {
        guard own.count >= other.count, p + 2 + own.count <= b.count else { return false }
        return b[(p + 2)..<(p + 2 + own.count)].elementsEqual(own)
    }

    private func parentDigest(_ parent: Int) -> Bool {
        let p = parts[parent]
        guard p.kind == .multipart else { return false }
        for f in p.fields where ASCII.equalsIgnoringCase(f.name(in: b), "Content-Type") {
            let ct = ContentTypeValue.parseContentType(f.value(in: b))
            return ct.subtype.map { ASCII.equalsIgnoringCase($0, "digest") } ?? false
        }
        return false
    }

    private mutating func addChild(of parent: Int, at: Int, isMIME: Bool) -> Int {
        var child = MIMEPart()
        child.parent = parent
        child.headerStart = at
        child.isMIME = isMIME
        child.depth = parts[parent].depth + 1
        parts.append(child)
        parts[parent].children.append(parts.count - 1)
        return parts.count - 1
    }

    private mutating func scanBody(_ index: Int, from start: Int) -> State? {
        var p = start
        let end = b.count
        if boundaries.isEmpty {
            closeAll(from: index, at: end)
            return nil
        }
        while p < end {
            if boundary(at: p) != nil {
                let contentEnd = p == parts[index].bodyStart ? p : p - 2
                return finishAtBoundary(index, lineStart: p, contentEnd: max(contentEnd, start))
            }
            while p < end, b[p] != ASCII.lf { p += 1 }
            p += 1
        }
        closeAll(from: index, at: end)
        return nil
    }

    /// A boundary line at `lineStart` closes every part up to the boundary's multipart: `index` ends at `contentEnd`,
    /// the parts enclosing it at `enclosingEnd` (default: the same).
    private mutating func finishAtBoundary(
        _ index: Int, lineStart: Int, contentEnd: Int, enclosingEnd: Int? = nil
    ) -> State? {
        guard let bi = boundary(at: lineStart) else { return nil }
        let owner = boundaries[bi].part
        var x = index
        while x != owner {
            parts[x].bodyEnd = x == index ? contentEnd : (enclosingEnd ?? contentEnd)
            guard let up = parts[x].parent else { break }
            x = up
        }
        let len = boundaries[bi].bytes.count
        let after = lineStart + 2 + len
        let closing = after + 1 < b.count && b[after] == UInt8(ascii: "-") && b[after + 1] == UInt8(ascii: "-")
        if closing {
            boundaries.removeSubrange(bi...)
        } else {
            boundaries.removeSubrange((bi + 1)...)
        }
        var p = lineStart
        while p < b.count, b[p] != ASCII.lf { p += 1 }
        p = min(p + 1, b.count)
        if !closing {
            if parts.count >= limits.maxParts {
                boundaries.removeAll()
                return .body(owner, p)
            }
            let child = addChild(of: owner, at: p, isMIME: true)
            return .header(child, p)
        }
        return .body(owner, p)
    }

    private mutating func closeAll(from index: Int, at end: Int) {
        var x: Int? = index
        while let i = x {
            parts[i].bodyEnd = end
            x = parts[i].parent
        }
    }
}
