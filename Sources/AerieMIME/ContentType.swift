/// A MIME parameter as reported in BODYSTRUCTURE (case of names and values preserved, as Dovecot does).
struct MIMEParameter: Sendable, Equatable {
    var name: [UInt8]
    var value: [UInt8]
}

/// Parsed Content-Type (RFC 2045 §5.1) or Content-Disposition (RFC 2183) value.
struct ContentTypeValue: Sendable {
    /// "text/plain" split at the first "/"; subtype nil when there was none.
    var type: [UInt8] = []
    var subtype: [UInt8]?
    var params: [MIMEParameter] = []

    var isMessageRFC822: Bool {
        ASCII.equalsIgnoringCase(type, "message") && subtype.map { ASCII.equalsIgnoringCase($0, "rfc822") } == true
    }
    var isText: Bool { ASCII.equalsIgnoringCase(type, "text") }
    var isMultipart: Bool { ASCII.equalsIgnoringCase(type, "multipart") && subtype != nil }

    func param(_ name: String) -> [UInt8]? { params.first { ASCII.equalsIgnoringCase($0.name, name) }?.value }

    /// RFC 2045 §5.1 content := type "/" subtype *(";" parameter); broken values keep what parsed and drop the parameters.
    static func parseContentType(_ value: [UInt8]) -> ContentTypeValue {
        var lx = RFC822Lexer(value)
        var result = ContentTypeValue()
        var ok = false
        if lx.skipLWSP() > 0 {
            var main = [UInt8]()
            if lx.parseMimeToken(into: &main) > 0 && lx.current == UInt8(ascii: "/") {
                lx.pos += 1
                result.type = main
                if lx.skipLWSP() > 0 {
                    var sub = [UInt8]()
                    ok = lx.parseMimeToken(into: &sub) >= 0
                    result.subtype = sub
                }
            } else {
                result.type = main
            }
        }
        if ok { result.params = parseParameters(&lx) }
        return result
    }

    /// RFC 2183 disposition := disposition-type *(";" parameter).
    static func parseDisposition(_ value: [UInt8]) -> ContentTypeValue? {
        var lx = RFC822Lexer(value)
        lx.skipLWSP()
        var token = [UInt8]()
        if lx.parseMimeToken(into: &token) < 0 { return nil }
        var result = ContentTypeValue()
        result.type = token
        result.params = parseParameters(&lx)
        return result
    }

    /// Parameters with RFC 2231 §3/§4 continuations merged; extended values keep their encoded form under "name*".
    static func parseParameters(_ lx: inout RFC822Lexer) -> [MIMEParameter] {
        var plain = [MIMEParameter]()
        var segments = [(key: [UInt8], index: Int, extended: Bool, value: [UInt8])]()
        var guardCount = 0
        while guardCount < 10_000 {
            guardCount += 1
            var key = [UInt8](), value = [UInt8]()
            let r = parseParam(&lx, &key, &value)
            if r == 0 { break }
            if r < 0 {
                if lx.atEnd { break }
                lx.pos += 1
                continue
            }
            guard let star = key.firstIndex(of: UInt8(ascii: "*")) else {
                plain.append(MIMEParameter(name: key, value: value))
                continue
            }
            let base = Array(key[..<star])
            var rest = key[(star + 1)...]
            if rest.isEmpty {
                segments.append((base, 0, true, value))
                continue
            }
            var idx = 0, digits = 0
            while let d = rest.first, d >= 48, d <= 57, digits < 6 {
                idx = idx * 10 + Int(d - 48); digits += 1; rest = rest.dropFirst()
            }
            var extended = false
            if rest.first == UInt8(ascii: "*") { extended = true; rest = rest.dropFirst() }
            if digits == 0 || !rest.isEmpty {
                plain.append(MIMEParameter(name: key, value: value))
                continue
            }
            segments.append((base, idx, extended, value))
        }
        if segments.isEmpty { return plain }
        // Sorted by name (case-sensitive) then index; a name whose indexes are not exactly 0, 1, 2, ... is not
        // merged but reported segment by segment as "name*N" / "name*N*", as Dovecot's rfc2231-parser.c does.
        let sorted = segments.enumerated().sorted { a, b in
            if a.element.key != b.element.key { return a.element.key.lexicographicallyPrecedes(b.element.key) }
            if a.element.index != b.element.index { return a.element.index < b.element.index }
            return a.offset < b.offset
        }.map(\.element)
        var i = 0
        while i < sorted.count {
            var j = i
            var hasExtended = false
            var complete = true
            while j < sorted.count, ASCII.lowercased(sorted[j].key) == ASCII.lowercased(sorted[i].key) {
                if sorted[j].extended { hasExtended = true }
                if sorted[j].index != j - i { complete = false }
                j += 1
            }
            if !complete {
                for k in i..<j {
                    let name = sorted[k].key + Array("*\(sorted[k].index)".utf8)
                    plain.append(MIMEParameter(name: name + (sorted[k].extended ? [UInt8(ascii: "*")] : []),
                                               value: sorted[k].value))
                }
                i = j
                continue
            }
            // RFC 2231 §4.1: the extended value is passed through as written (charset'language'%XX...); a
            // plain segment joined to it gets an empty charset and language, and its "%" escaped.
            var merged = [UInt8]()
            if hasExtended && !sorted[i].extended { merged += [UInt8(ascii: "'"), UInt8(ascii: "'")] }
            for k in i..<j {
                if hasExtended && !sorted[k].extended {
                    for c in sorted[k].value {
                        if c == UInt8(ascii: "%") { merged += Array("%25".utf8) } else { merged.append(c) }
                    }
                } else {
                    merged += sorted[k].value
                }
            }
            plain.append(MIMEParameter(name: sorted[i].key + (hasExtended ? [UInt8(ascii: "*")] : []), value: merged))
            i = j
        }
        return plain
    }

    /// One ";" attribute "=" value (RFC 2045 §5.1 parameter).
    private static func parseParam(_ lx: inout RFC822Lexer, _ key: inout [UInt8], _ value: inout [UInt8]) -> Int {
        if lx.atEnd { return 0 }
        if lx.current != UInt8(ascii: ";") { return -1 }
        lx.pos += 1
        if lx.skipLWSP() <= 0 { return -1 }
        if lx.parseMimeToken(into: &key) <= 0 { return -1 }
        if lx.current != UInt8(ascii: "=") { return -1 }
        lx.pos += 1
        var r = lx.skipLWSP()
        if r <= 0 {
            r = 0
        } else if lx.current == ASCII.dquote {
            r = lx.parseQuotedString(into: &value)
        } else if lx.current == UInt8(ascii: "=") {
            while !lx.atEnd {
                let c = lx.current
                if c == UInt8(ascii: ";") || c == ASCII.sp || c == ASCII.tab || c == ASCII.cr || c == ASCII.lf { break }
                value.append(c)
                lx.pos += 1
            }
        } else {
            r = lx.parseMimeToken(into: &value)
        }
        return r < 0 ? -1 : 1
    }
}
