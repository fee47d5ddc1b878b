/// A FETCH section (RFC 9051 §6.4.5 section-spec).
public struct BodySection: Sendable, Equatable {
    /// Part number path: [] = the whole message, [1, 2] = "1.2".
    public var part: [Int]
    /// nil = the part's body (or the whole message when `part` is empty).
    public var text: SectionText?

    /// section-msgtext / section-text.
    public enum SectionText: Sendable, Equatable {
        case header, headerFields([String]), headerFieldsNot([String]), text, mime
    }

    public init(part: [Int] = [], text: SectionText? = nil) {
        self.part = part
        self.text = text
    }
}

extension ParsedMessage {
    /// Resolves a part path as Dovecot 2.3 does (RFC 9051 §6.4.5): a non-multipart part is its own part 1, more
    /// numbers after it are allowed only below a message/rfc822 part, which they descend into.
    func resolve(_ path: [Int]) -> Int? {
        var cur = 0
        for (i, n) in path.enumerated() {
            let more = i < path.count - 1
            let p = parts[cur]
            if p.kind == .multipart {
                guard n >= 1, n <= p.children.count else { return nil }
                cur = p.children[n - 1]
            } else if n != 1 || (more && p.kind != .rfc822) {
                return nil
            }
            if more, parts[cur].kind == .rfc822 {
                guard let child = parts[cur].children.first else { return nil }
                cur = child
            }
        }
        return cur
    }

    /// The section's bytes in CRLF form, or nil when the section does not exist (RFC 9051 §6.4.5).
    public func section(_ spec: BodySection) -> [UInt8]? {
        guard let index = resolve(spec.part) else { return nil }
        var message = index
        if !spec.part.isEmpty, let text = spec.text, text != .mime {
            // HEADER / TEXT / HEADER.FIELDS of a part address its encapsulated message.
            guard parts[index].kind == .rfc822, let child = parts[index].children.first else { return nil }
            message = child
        }
        let p = parts[message]
        let b = crlfBytes
        switch spec.text {
        case nil:
            if spec.part.isEmpty { return b }
            return Array(b[p.bodyStart..<p.bodyEnd])
        case .mime:
            guard !spec.part.isEmpty else { return nil }
            return Array(b[p.headerStart..<p.headerEnd])
        case .header:
            return Array(b[p.headerStart..<p.headerEnd])
        case .text:
            return Array(b[p.bodyStart..<p.bodyEnd])
        case .headerFields(let names):
            return headerSubset(p, names: names, include: true)
        case .headerFieldsNot(let names):
            return headerSubset(p, names: names, include: false)
        }
    }

    /// HEADER.FIELDS / HEADER.FIELDS.NOT: matching fields in message order, then the blank line.
    private func headerSubset(_ p: MIMEPart, names: [String], include: Bool) -> [UInt8] {
        let b = crlfBytes
        let wanted = names.map { Array($0.utf8).map(ASCII.lower) }
        var out = [UInt8]()
        for f in p.fields {
            let name = f.name(in: b)
            let hit = wanted.contains { w in w.count == name.count && zip(w, name).allSatisfy { $0 == ASCII.lower($1) } }
            guard hit == include else { continue }
            out += b[f.start..<f.end]
            if out.last != ASCII.lf { out += [ASCII.cr, ASCII.lf] }
        }
        // The blank line is copied only if the header had one.
        let h = b[p.headerStart..<p.headerEnd]
        if h.elementsEqual([ASCII.cr, ASCII.lf]) || h.suffix(4).elementsEqual([ASCII.cr, ASCII.lf, ASCII.cr, ASCII.lf]) {
            out += [ASCII.cr, ASCII.lf]
        }
        return out
    }

    /// RFC 3516 §4.2 BINARY[part]: the part's body with its Content-Transfer-Encoding removed; nil if the part
    /// does not exist or its encoding is unknown. BINARY[] is the whole message, header included (as BODY[] is).
    public func binarySection(_ part: [Int]) -> [UInt8]? {
        guard let index = resolve(part) else { return nil }
        let p = parts[index]
        let body = Array(crlfBytes[p.bodyStart..<p.bodyEnd])
        let data = PartData(part: p, in: crlfBytes)
        guard let decoded = TransferDecoding.decode(body, encoding: data.encoding) else { return nil }
        return part.isEmpty ? Array(crlfBytes[p.headerStart..<p.bodyStart]) + decoded : decoded
    }
}
