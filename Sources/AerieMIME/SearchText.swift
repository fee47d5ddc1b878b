extension ParsedMessage {
    /// Text for SEARCH TEXT / BODY / HEADER (RFC 9051 §6.4.4): header fields with encoded words decoded, and the
    /// text/* parts (and encapsulated messages' headers) content-transfer-decoded and converted to UTF-8.
    /// Case folding is the caller's job.
    public func searchableText(headers: Bool, body: Bool) -> String {
        var out = ""
        if headers { appendHeaders(0, into: &out) }
        guard body else { return out }
        var stack = [0]
        while let i = stack.popLast() {
            let p = parts[i]
            switch p.kind {
            case .multipart:
                stack += p.children.reversed()
            case .rfc822:
                if let c = p.children.first {
                    appendHeaders(c, into: &out)
                    stack.append(c)
                }
            case .leaf:
                let data = PartData(part: p, in: crlfBytes)
                if let ct = data.contentType, !ct.isText { continue }
                let raw = Array(crlfBytes[p.bodyStart..<p.bodyEnd])
                let decoded = TransferDecoding.decode(raw, encoding: data.encoding) ?? raw
                let charset = data.contentType?.param("charset").map { ASCII.string($0) } ?? "us-ascii"
                out += Charsets.decode(decoded, charset: charset) ?? Charsets.text(decoded)
                out += "\n"
            }
        }
        return out
    }

    private func appendHeaders(_ index: Int, into out: inout String) {
        for f in parts[index].fields {
            out += ASCII.string(f.name(in: crlfBytes))
            out += ": "
            out += EncodedWords.decode(f.value(in: crlfBytes))
            out += "\n"
        }
    }
}

extension ParsedMessage {
    /// The Date: header's date and time as written, its zone ignored, as seconds since 1970 read as if UTC: RFC 3501
    /// §6.4.4 SENTBEFORE/SENTON/SENTSINCE compare this date "disregarding time and timezone" (Dovecot adds the zone).
    /// A missing or unparsable Date counts as 1970-01-01, as in Dovecot: SENTBEFORE finds such messages.
    public var sentLocalDate: Int64 {
        guard let v = parts[0].fields.first(where: { ASCII.equalsIgnoringCase($0.name(in: crlfBytes), "Date") }) else {
            return 0
        }
        return DateParser.parseWithZone(v.value(in: crlfBytes)).map { $0.utc + Int64($0.offsetMinutes) * 60 } ?? 0
    }

    /// RFC 3501 §6.4.4 FROM/TO/CC/BCC: each field with this name as a normalised address list
    /// (`Name <mailbox@domain>`, `group: …;`, comments dropped, a trailing comment as the name), encoded words
    /// decoded, so a search finds the address form and the display name however the header wrote them (as Dovecot).
    public func searchableAddresses(_ name: String) -> [String] {
        parts[0].fields.filter { ASCII.equalsIgnoringCase($0.name(in: crlfBytes), name) }.map { field in
            let value = field.value(in: crlfBytes)
            // A field with no address at all (only a comment) has no text to find, only its presence.
            guard let list = AddressParser.parse(value) else { return "" }
            return EncodedWords.decode(Self.addressText(list))
        }
    }

    /// Dovecot's message_address_write: the text a substring search looks at.
    static func addressText(_ list: [MailAddress]) -> [UInt8] {
        var out: [UInt8] = []
        var inGroup = false
        var first = true
        for address in list {
            if address.domain == nil {
                if !inGroup {
                    if !first { out += Array(", ".utf8) }
                    appendPhrase(address.mailbox ?? [], to: &out)
                    out += Array(": ".utf8)
                    first = true
                } else {
                    if out.last == UInt8(ascii: " ") { out.removeLast() }
                    out.append(UInt8(ascii: ";"))
                    first = false
                }
                inGroup.toggle()
                continue
            }
            if !first { out += Array(", ".utf8) }
            first = false
            let mailbox = address.mailbox ?? []
            let domain = address.domain ?? []
            if let name = address.name { appendPhrase(name, to: &out, emptyQuoted: false) }
            guard address.route != nil || !mailbox.isEmpty || !domain.isEmpty else { continue }
            if let name = address.name, !name.isEmpty { out.append(UInt8(ascii: " ")) }
            out.append(UInt8(ascii: "<"))
            if let route = address.route { out += route + [UInt8(ascii: ":")] }
            if mailbox.isEmpty { out += Array("\"\"".utf8) } else { appendMaybeQuoted(mailbox, to: &out, dot: false) }
            if !domain.isEmpty { out += [UInt8(ascii: "@")] + domain }
            out.append(UInt8(ascii: ">"))
        }
        return out
    }

    /// A display or group name: encoded words as they are (they are decoded afterwards), else quoted when needed.
    private static func appendPhrase(_ phrase: [UInt8], to out: inout [UInt8], emptyQuoted: Bool = true) {
        if phrase.isEmpty {
            if emptyQuoted { out += Array("\"\"".utf8) }
        } else if zip(phrase, phrase.dropFirst()).contains(where: { $0 == 61 && $1 == 63 }) {  // "=?"
            out += phrase
        } else {
            appendMaybeQuoted(phrase, to: &out, dot: true)
        }
    }

    /// As an atom when every byte is atext (and "." when `dot` is false), else quoted with \\, " and ' escaped.
    private static func appendMaybeQuoted(_ text: [UInt8], to out: inout [UInt8], dot: Bool) {
        if text.allSatisfy({ RFC822Lexer.isAtext($0) || (!dot && $0 == UInt8(ascii: ".")) }) {
            out += text
            return
        }
        out.append(UInt8(ascii: "\""))
        for byte in text {
            if byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") || byte == UInt8(ascii: "'") {
                out.append(UInt8(ascii: "\\"))
            }
            out.append(byte)
        }
        out.append(UInt8(ascii: "\""))
    }
}
