/// Content-Transfer-Encoding decoders (RFC 2045 §6.7 quoted-printable, §6.8 base64), lenient like Dovecot's.
enum TransferDecoding {
    /// Decodes a body by encoding name (nil = 7bit); nil for an unknown encoding (RFC 3516 UNKNOWN-CTE).
    static func decode(_ body: [UInt8], encoding: [UInt8]?) -> [UInt8]? {
        guard let encoding else { return body }
        let e = ASCII.string(ASCII.lowercased(encoding))
        switch e {
        case "7bit", "8bit", "binary": return body
        case "base64": return base64(body)
        case "quoted-printable": return quotedPrintable(body)
        default: return nil
        }
    }

    /// true for an encoding that leaves the octets as they are (none, 7bit, 8bit, binary), false for base64 and
    /// quoted-printable, nil for an unknown one.
    static func isIdentity(_ encoding: [UInt8]?) -> Bool? {
        guard let encoding else { return true }
        switch ASCII.string(ASCII.lowercased(encoding)) {
        case "7bit", "8bit", "binary": return true
        case "base64", "quoted-printable": return false
        default: return nil
        }
    }

    private static let b64: [Int8] = {
        var t = [Int8](repeating: -1, count: 256)
        for (i, c) in "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8.enumerated() { t[Int(c)] = Int8(i) }
        return t
    }()

    /// RFC 2045 §6.8; characters outside the alphabet are skipped, decoding stops at "=" padding.
    static func base64<C: Collection>(_ input: C) -> [UInt8] where C.Element == UInt8 {
        var out = [UInt8]()
        out.reserveCapacity(input.count * 3 / 4)
        var acc: UInt32 = 0, bits = 0
        for c in input {
            if c == UInt8(ascii: "=") { break }
            let v = b64[Int(c)]
            if v < 0 { continue }
            acc = (acc << 6) | UInt32(v)
            bits += 6
            if bits >= 8 {
                bits -= 8
                out.append(UInt8((acc >> UInt32(bits)) & 0xFF))
            }
        }
        return out
    }

    @inline(__always) static func hexValue(_ c: UInt8) -> UInt8? {
        switch c {
        case 48...57: return c - 48
        case 65...70: return c - 55
        case 97...102: return c - 87
        default: return nil
        }
    }

    /// RFC 2045 §6.7; soft line breaks removed, trailing whitespace before CRLF dropped, bad escapes kept literally.
    static func quotedPrintable<C: Collection>(_ input: C, underscoreIsSpace: Bool = false) -> [UInt8]
    where C.Element == UInt8 {
        let b = Array(input)
        var out = [UInt8]()
        out.reserveCapacity(b.count)
        var i = 0
        var pendingSpace = [UInt8]()
        while i < b.count {
            let c = b[i]
            if c == ASCII.sp || c == ASCII.tab {
                pendingSpace.append(c); i += 1; continue
            }
            if c == ASCII.cr && i + 1 < b.count && b[i + 1] == ASCII.lf {
                pendingSpace.removeAll()
                out += [ASCII.cr, ASCII.lf]; i += 2; continue
            }
            out += pendingSpace
            pendingSpace.removeAll()
            if c == UInt8(ascii: "=") {
                // soft line break: "=" [WSP] CRLF
                var j = i + 1
                while j < b.count, ASCII.isLWSP(b[j]) { j += 1 }
                if j == b.count { i = j; continue }
                if b[j] == ASCII.cr, j + 1 < b.count, b[j + 1] == ASCII.lf { i = j + 2; continue }
                if b[j] == ASCII.lf { i = j + 1; continue }
                if i + 2 < b.count, let h = hexValue(b[i + 1]), let l = hexValue(b[i + 2]) {
                    out.append(h << 4 | l); i += 3; continue
                }
                out.append(c); i += 1; continue
            }
            if underscoreIsSpace && c == UInt8(ascii: "_") { out.append(ASCII.sp) } else { out.append(c) }
            i += 1
        }
        out += pendingSpace
        return out
    }
}
