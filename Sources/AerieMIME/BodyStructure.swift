/// Content-* data of one part as BODYSTRUCTURE reports it (RFC 9051 §7.5.2 body-fields, body-ext-1part).
struct PartData: Sendable {
    var contentType: ContentTypeValue?
    var id: [UInt8]?
    var description: [UInt8]?
    var encoding: [UInt8]?
    var md5: [UInt8]?
    var disposition: ContentTypeValue?
    var language: [[UInt8]]?
    var location: [UInt8]?

    /// First occurrence of each Content-* field wins; ignored entirely unless the part is MIME (RFC 2045 §4).
    init(part: MIMEPart, in b: [UInt8]) {
        guard part.isMIME else { return }
        for f in part.fields {
            let name = f.name(in: b)
            guard ASCII.hasPrefixIgnoringCase(name, "Content-") else { continue }
            let sub = name.dropFirst(8)
            if ASCII.equalsIgnoringCase(sub, "Type") {
                if contentType == nil { contentType = ContentTypeValue.parseContentType(f.value(in: b)) }
            } else if ASCII.equalsIgnoringCase(sub, "Transfer-Encoding") {
                if encoding == nil {
                    var lx = RFC822Lexer(f.value(in: b))
                    lx.skipLWSP()
                    var tok = [UInt8]()
                    if lx.parseMimeToken(into: &tok) >= 0 && lx.skipLWSP() == 0 && !tok.isEmpty { encoding = tok }
                }
            } else if ASCII.equalsIgnoringCase(sub, "ID") {
                if id == nil { id = f.value(in: b) }
            } else if ASCII.equalsIgnoringCase(sub, "Description") {
                if description == nil { description = f.value(in: b) }
            } else if ASCII.equalsIgnoringCase(sub, "MD5") {
                if md5 == nil { md5 = f.value(in: b) }
            } else if ASCII.equalsIgnoringCase(sub, "Location") {
                if location == nil { location = f.value(in: b) }
            } else if ASCII.equalsIgnoringCase(sub, "Disposition") {
                if disposition == nil || disposition?.params.isEmpty == true {
                    if let d = ContentTypeValue.parseDisposition(f.value(in: b)) { disposition = d }
                }
            } else if ASCII.equalsIgnoringCase(sub, "Language") {
                if language == nil { language = Self.parseLanguage(f.value(in: b)) }
            }
        }
    }

    /// RFC 3282 Content-Language: 1#Language-tag.
    static func parseLanguage(_ v: [UInt8]) -> [[UInt8]]? {
        var lx = RFC822Lexer(v)
        var langs = [[UInt8]]()
        lx.skipLWSP()
        while true {
            var atom = [UInt8]()
            if lx.parseAtom(into: &atom) < 0 { break }
            langs.append(atom)
            if lx.atEnd || lx.current != UInt8(ascii: ",") { break }
            lx.pos += 1
            lx.skipLWSP()
        }
        return langs.isEmpty ? nil : langs
    }
}

/// BODY / BODYSTRUCTURE writer (RFC 9051 §7.5.2 body), byte-compatible with Dovecot's imap-bodystructure.c.
struct BodyStructureWriter {
    let message: ParsedMessage
    let extended: Bool

    private static let emptyBody = Array("(\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 0 0)".utf8)
    private static let emptyBodyStructure = Array(
        "(\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 0 0 NIL NIL NIL NIL)".utf8)

    /// Writes the structure of `root` (parenthesized). Recursion depth is bounded by MIMELimits.maxDepth.
    func write(_ index: Int, into out: inout [UInt8]) {
        out.append(UInt8(ascii: "("))
        let part = message.parts[index]
        let data = PartData(part: part, in: message.crlfBytes)
        if part.kind == .multipart {
            if part.children.isEmpty {
                out += extended ? Self.emptyBodyStructure : Self.emptyBody
            } else {
                for c in part.children { write(c, into: &out) }
            }
            out.append(ASCII.sp)
            IMAPQuote.appendNString(&out, data.contentType?.subtype ?? [])
            if extended {
                out.append(ASCII.sp)
                writeParams(data.contentType?.params ?? [], defaultCharset: false, into: &out)
                writeCommon(data, into: &out)
            }
        } else {
            writeLeaf(index, part, data, into: &out)
        }
        out.append(UInt8(ascii: ")"))
    }

    private func writeLeaf(_ index: Int, _ part: MIMEPart, _ data: PartData, into out: inout [UInt8]) {
        var text = false
        if part.kind == .rfc822 {
            out += Array("\"message\" \"rfc822\"".utf8)
        } else if let ct = data.contentType {
            text = ct.isText
            IMAPQuote.appendNString(&out, ct.type)
            out.append(ASCII.sp)
            IMAPQuote.appendNString(&out, ct.subtype ?? [])
        } else {
            text = true
            out += Array("\"text\" \"plain\"".utf8)
        }
        out.append(ASCII.sp)
        writeParams(data.contentType?.params ?? [], defaultCharset: text, into: &out)
        out.append(ASCII.sp)
        IMAPQuote.appendNStringNoLF(&out, data.id)
        out.append(ASCII.sp)
        IMAPQuote.appendNStringNoLF(&out, data.description)
        out.append(ASCII.sp)
        if let enc = data.encoding { IMAPQuote.appendNString(&out, enc) } else { out += Array("\"7bit\"".utf8) }
        let b = message.crlfBytes
        out += Array(" \(part.bodyEnd - part.bodyStart)".utf8)
        if text {
            out += Array(" \(ASCII.lineCount(b, part.bodyStart..<part.bodyEnd))".utf8)
        } else if part.kind == .rfc822, let child = part.children.first {
            out += Array(" (".utf8)
            EnvelopeData(fields: message.parts[child].fields, in: b).write(into: &out)
            out += Array(") ".utf8)
            write(child, into: &out)
            out += Array(" \(ASCII.lineCount(b, part.bodyStart..<part.bodyEnd))".utf8)
        }
        guard extended else { return }
        out.append(ASCII.sp)
        IMAPQuote.appendNStringNoLF(&out, data.md5)
        writeCommon(data, into: &out)
    }

    private func writeParams(_ params: [MIMEParameter], defaultCharset: Bool, into out: inout [UInt8]) {
        if !defaultCharset && params.isEmpty { out += Array("NIL".utf8); return }
        out.append(UInt8(ascii: "("))
        var seenCharset = false
        for (i, p) in params.enumerated() {
            if i > 0 { out.append(ASCII.sp) }
            if ASCII.equalsIgnoringCase(p.name, "charset") { seenCharset = true }
            IMAPQuote.appendNString(&out, p.name)
            out.append(ASCII.sp)
            IMAPQuote.appendNString(&out, p.value)
        }
        if defaultCharset && !seenCharset {
            if !params.isEmpty { out.append(ASCII.sp) }
            out += Array("\"charset\" \"us-ascii\"".utf8)
        }
        out.append(UInt8(ascii: ")"))
    }

    /// body-fld-dsp SP body-fld-lang SP body-fld-loc.
    private func writeCommon(_ data: PartData, into out: inout [UInt8]) {
        out.append(ASCII.sp)
        if let d = data.disposition {
            out.append(UInt8(ascii: "("))
            IMAPQuote.appendNString(&out, d.type)
            out.append(ASCII.sp)
            writeParams(d.params, defaultCharset: false, into: &out)
            out.append(UInt8(ascii: ")"))
        } else {
            out += Array("NIL".utf8)
        }
        out.append(ASCII.sp)
        if let langs = data.language {
            out.append(UInt8(ascii: "("))
            for (i, l) in langs.enumerated() {
                if i > 0 { out.append(ASCII.sp) }
                IMAPQuote.appendNString(&out, l)
            }
            out.append(UInt8(ascii: ")"))
        } else {
            out += Array("NIL".utf8)
        }
        out.append(ASCII.sp)
        IMAPQuote.appendNStringNoLF(&out, data.location)
    }
}
