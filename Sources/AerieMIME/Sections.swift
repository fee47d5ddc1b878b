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
            return headerSubset(p, names: names, include: true, endLastLine: spec.part.isEmpty)
        case .headerFieldsNot(let names):
            return headerSubset(p, names: names, include: false, endLastLine: false)
        }
    }

    /// HEADER.FIELDS / HEADER.FIELDS.NOT: matching fields in message order, each as written (a last line cut off
    /// by the end of the message gets a CRLF only in a top-level HEADER.FIELDS, as in Dovecot), then the blank line
    /// if the header has one: RFC 9051 §6.4.5 "the blank line is included in all header fetches, except in the case
    /// of a message that has no body and no blank line" (Dovecot adds one to a top-level HEADER.FIELDS even then).
    private func headerSubset(_ p: MIMEPart, names: [String], include: Bool, endLastLine: Bool) -> [UInt8] {
        let b = crlfBytes
        let wanted = names.map { Array($0.utf8).map(ASCII.lower) }
        var out = [UInt8]()
        for f in p.fields {
            let name = f.name(in: b)
            let hit = wanted.contains { w in w.count == name.count && zip(w, name).allSatisfy { $0 == ASCII.lower($1) } }
            guard hit == include else { continue }
            out += b[f.start..<f.end]
            if endLastLine && out.last != ASCII.lf { out += [ASCII.cr, ASCII.lf] }
        }
        // The blank line is copied only if the header had one.
        let h = b[p.headerStart..<p.headerEnd]
        if h.elementsEqual([ASCII.cr, ASCII.lf]) || h.suffix(4).elementsEqual([ASCII.cr, ASCII.lf, ASCII.cr, ASCII.lf]) {
            out += [ASCII.cr, ASCII.lf]
        }
        return out
    }

    /// RFC 3516 §4.2 BINARY[part]: the part's body with its Content-Transfer-Encoding removed; nil if an encoding in
    /// it is unknown (RFC 3516 UNKNOWN-CTE). A part that does not exist is empty, as its BODY[part] is.
    public func binarySection(_ part: [Int]) -> [UInt8]? { binaryContent(part)?.bytes }

    /// BINARY[part] and whether anything in it was decoded (or holds NUL), which Dovecot answers as a literal8
    /// (RFC 3516 §4.2 allows one for any BINARY answer). A multipart or message/rfc822 part is copied as it is except
    /// for each quoted-printable or base64 part in it: its body decoded and its Content-Transfer-Encoding field
    /// replaced by "Content-Transfer-Encoding: binary" (RFC 3516 §4.2, as Dovecot's index-mail-binary.c does).
    public func binaryContent(_ part: [Int]) -> (bytes: [UInt8], decoded: Bool)? {
        guard let index = resolve(part) else { return ([], false) }
        var out = [UInt8]()
        var decoded = false
        // BINARY[] is the whole message, header included, as BODY[] is.
        guard appendBinary(index, includeHeader: part.isEmpty, into: &out, decoded: &decoded) else { return nil }
        return (out, decoded || out.contains(0))
    }

    private func appendBinary(_ index: Int, includeHeader: Bool, into out: inout [UInt8], decoded: inout Bool) -> Bool {
        let p = parts[index]
        let b = crlfBytes
        let encoding = PartData(part: p, in: b).encoding
        guard let identity = TransferDecoding.isIdentity(encoding) else { return false }
        if includeHeader {
            if identity {
                out += b[p.headerStart..<p.headerEnd]
            } else {
                appendHeaderMarkedBinary(p, into: &out)
                decoded = true
            }
        }
        if !p.children.isEmpty {
            var copied = p.bodyStart
            for c in p.children {
                out += b[copied..<max(copied, parts[c].headerStart)]
                guard appendBinary(c, includeHeader: true, into: &out, decoded: &decoded) else { return false }
                copied = max(copied, parts[c].bodyEnd)
            }
            out += b[copied..<max(copied, p.bodyEnd)]
            return true
        }
        guard p.bodyEnd > p.bodyStart else { return true }
        let body = b[p.bodyStart..<p.bodyEnd]
        if identity {
            out += body
        } else {
            out += TransferDecoding.decode(Array(body), encoding: encoding) ?? []
            decoded = true
        }
        return true
    }

    /// The part's header without its Content-Transfer-Encoding fields, "Content-Transfer-Encoding: binary" added
    /// before the blank line (a header without one gets none).
    private func appendHeaderMarkedBinary(_ p: MIMEPart, into out: inout [UInt8]) {
        let b = crlfBytes
        var fieldsEnd = p.headerStart
        for f in p.fields {
            fieldsEnd = f.end
            if ASCII.equalsIgnoringCase(f.name(in: b), "Content-Transfer-Encoding") { continue }
            out += b[f.start..<f.end]
        }
        if p.headerEnd > fieldsEnd {
            out += Array("Content-Transfer-Encoding: binary\r\n".utf8)
            out += b[fieldsEnd..<p.headerEnd]
        }
    }
}
