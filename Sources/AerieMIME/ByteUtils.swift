/// Small byte helpers shared by the MIME parsers (ASCII only, no Foundation).
enum ASCII {
    static let cr: UInt8 = 13, lf: UInt8 = 10, sp: UInt8 = 32, tab: UInt8 = 9
    static let colon: UInt8 = 58, dquote: UInt8 = 34, backslash: UInt8 = 92

    @inline(__always) static func lower(_ b: UInt8) -> UInt8 { (b >= 65 && b <= 90) ? b + 32 : b }
    @inline(__always) static func upper(_ b: UInt8) -> UInt8 { (b >= 97 && b <= 122) ? b - 32 : b }
    @inline(__always) static func isLWSP(_ b: UInt8) -> Bool { b == sp || b == tab }

    /// Case-insensitive ASCII comparison of a byte slice with a string.
    static func equalsIgnoringCase<C: Collection>(_ a: C, _ b: String) -> Bool where C.Element == UInt8 {
        let bb = b.utf8
        guard a.count == bb.count else { return false }
        return zip(a, bb).allSatisfy { lower($0) == lower($1) }
    }

    static func lowercased<C: Collection>(_ a: C) -> [UInt8] where C.Element == UInt8 { a.map(lower) }

    static func hasPrefixIgnoringCase<C: Collection>(_ a: C, _ prefix: String) -> Bool where C.Element == UInt8 {
        let p = prefix.utf8
        guard a.count >= p.count else { return false }
        return zip(a, p).allSatisfy { lower($0) == lower($1) }
    }

    /// Bytes as a Swift string; invalid UTF-8 is replaced (U+FFFD).
    static func string<C: Collection>(_ a: C) -> String where C.Element == UInt8 { String(decoding: a, as: UTF8.self) }

    /// Inserts CR before every LF that lacks one (RFC 5322 §2.3: lines end in CRLF).
    static func crlfNormalized(_ input: [UInt8]) -> [UInt8] {
        var missing = 0
        var prev: UInt8 = 0
        for b in input {
            if b == lf && prev != cr { missing += 1 }
            prev = b
        }
        if missing == 0 { return input }
        var out = [UInt8]()
        out.reserveCapacity(input.count + missing)
        prev = 0
        for b in input {
            if b == lf && prev != cr { out.append(cr) }
            out.append(b)
            prev = b
        }
        return out
    }

    /// Number of LF bytes in a range.
    static func lineCount(_ bytes: [UInt8], _ range: Range<Int>) -> Int {
        var n = 0
        for i in range where bytes[i] == lf { n += 1 }
        return n
    }
}
