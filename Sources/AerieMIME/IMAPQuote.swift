/// IMAP string encoders for FETCH responses (RFC 9051 §4.3 string, §9 quoted/literal), matching Dovecot's imap-quote.c.
enum IMAPQuote {
    /// nstring: NIL, a quoted string, or a literal when the value has CR/LF, 8-bit bytes or more than 4 quoted-specials.
    static func appendNString(_ out: inout [UInt8], _ src: [UInt8]?) {
        guard var src else { out += Array("NIL".utf8); return }
        if let nul = src.firstIndex(of: 0) { src = Array(src[..<nul]) }
        var escapes = 0
        for b in src {
            switch b {
            case ASCII.dquote, ASCII.backslash:
                escapes += 1
                if escapes > 4 { appendLiteral(&out, src); return }
            case ASCII.cr, ASCII.lf:
                appendLiteral(&out, src); return
            default:
                if b >= 0x80 { appendLiteral(&out, src); return }
            }
        }
        out.append(ASCII.dquote)
        for b in src {
            if b == ASCII.dquote || b == ASCII.backslash { out.append(ASCII.backslash) }
            out.append(b)
        }
        out.append(ASCII.dquote)
    }

    /// Like appendNString, but CR and LF are removed first (Dovecot's imap_append_nstring_nolf).
    static func appendNStringNoLF(_ out: inout [UInt8], _ src: [UInt8]?) {
        appendNString(&out, src.map { $0.filter { $0 != ASCII.cr && $0 != ASCII.lf } })
    }

    static func appendString(_ out: inout [UInt8], _ s: String) { appendNString(&out, Array(s.utf8)) }

    static func appendLiteral(_ out: inout [UInt8], _ src: [UInt8]) {
        out += Array("{\(src.count)}\r\n".utf8)
        out += src
    }

    /// Display text (subject, address names): whitespace runs collapsed, CR/LF dropped, trimmed;
    /// written as a literal whenever anything had to change or it needs escaping (Dovecot's imap_append_string_for_humans).
    static func appendForHumans(_ out: inout [UInt8], _ src: [UInt8]) {
        var modify = false, lastLWSP = true, wsPrefix = true, remove = 0
        for b in src {
            switch b {
            case 0: lastLWSP = false; modify = true
            case ASCII.tab, ASCII.sp:
                if b == ASCII.tab { modify = true }
                if lastLWSP { modify = true; remove += 1 }
                lastLWSP = true
            case ASCII.cr, ASCII.lf: remove += 1; modify = true
            case ASCII.dquote, ASCII.backslash: modify = true; lastLWSP = false
            default:
                if b & 0x80 != 0 { modify = true }
                lastLWSP = false
            }
            if !lastLWSP { wsPrefix = false }
        }
        if lastLWSP && !src.isEmpty && !wsPrefix { modify = true; remove += 1 }
        if !modify {
            out.append(ASCII.dquote); out += src; out.append(ASCII.dquote); return
        }
        if src.count == remove { out += Array("\"\"".utf8); return }
        var text = [UInt8]()
        text.reserveCapacity(src.count - remove)
        lastLWSP = true; wsPrefix = true
        for b in src {
            switch b {
            case 0: text.append(0x80); lastLWSP = false
            case ASCII.tab, ASCII.sp:
                if !lastLWSP { text.append(ASCII.sp) }
                lastLWSP = true
            case ASCII.cr, ASCII.lf: break
            default: lastLWSP = false; text.append(b)
            }
            if !lastLWSP { wsPrefix = false }
        }
        if lastLWSP && !src.isEmpty && !wsPrefix, !text.isEmpty { text.removeLast() }
        appendLiteral(&out, text)
    }
}
