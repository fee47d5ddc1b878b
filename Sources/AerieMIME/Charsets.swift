#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Charset → UTF-8 conversion for MIME text (RFC 2046 §4.1.2 charset parameter, RFC 2047 §2 encoded-word charset).
/// UTF-8, US-ASCII, ISO-8859-1, Windows-1252 and UTF-16 are decoded by hand; other charsets go through iconv(3).
enum Charsets {
    /// Converts bytes in `charset` to a String; nil when the charset is unknown to both us and iconv.
    static func decode(_ bytes: [UInt8], charset: String) -> String? {
        var name = charset.lowercased()
        if let star = name.firstIndex(of: "*") { name = String(name[..<star]) }  // RFC 2231 §5 language suffix
        switch name {
        case "utf-8", "utf8", "us-ascii", "ascii", "":
            return String(decoding: bytes, as: UTF8.self)
        case "iso-8859-1", "iso8859-1", "latin1", "latin-1", "l1", "iso_8859-1":
            return latin1(bytes)
        case "windows-1252", "cp1252", "x-cp1252":
            return windows1252(bytes)
        case "utf-16", "utf-16be", "utf-16le":
            return utf16(bytes, littleEndian: name == "utf-16le")
        default:
            return iconvDecode(bytes, from: name)
        }
    }

    /// Raw header text: UTF-8 when valid, else Latin-1 (what mailers most often mean).
    static func text(_ bytes: [UInt8]) -> String {
        if let s = String(validating: bytes, as: UTF8.self) { return s }
        return latin1(bytes)
    }

    static func latin1(_ bytes: [UInt8]) -> String {
        var s = String.UnicodeScalarView()
        for b in bytes { s.append(Unicode.Scalar(b)) }
        return String(s)
    }

    private static let cp1252High: [UInt32] = [
        0x20AC, 0xFFFD, 0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021, 0x02C6, 0x2030, 0x0160, 0x2039, 0x0152, 0xFFFD,
        0x017D, 0xFFFD, 0xFFFD, 0x2018, 0x2019, 0x201C, 0x201D, 0x2022, 0x2013, 0x2014, 0x02DC, 0x2122, 0x0161, 0x203A,
        0x0153, 0xFFFD, 0x017E, 0x0178,
    ]

    static func windows1252(_ bytes: [UInt8]) -> String {
        var s = String.UnicodeScalarView()
        for b in bytes {
            if b >= 0x80 && b < 0xA0 {
                s.append(Unicode.Scalar(cp1252High[Int(b - 0x80)]) ?? "\u{FFFD}")
            } else {
                s.append(Unicode.Scalar(b))
            }
        }
        return String(s)
    }

    /// RFC 2781 UTF-16 with BOM detection (big-endian by default).
    static func utf16(_ bytes: [UInt8], littleEndian: Bool) -> String {
        var le = littleEndian
        var start = 0
        if bytes.count >= 2 {
            if bytes[0] == 0xFF && bytes[1] == 0xFE { le = true; start = 2 }
            else if bytes[0] == 0xFE && bytes[1] == 0xFF { le = false; start = 2 }
        }
        var units = [UInt16]()
        units.reserveCapacity(bytes.count / 2)
        var i = start
        while i + 1 < bytes.count {
            let a = UInt16(bytes[i]), b = UInt16(bytes[i + 1])
            units.append(le ? (b << 8 | a) : (a << 8 | b))
            i += 2
        }
        return String(decoding: units, as: UTF16.self)
    }

    /// iconv(3) conversion to UTF-8; invalid sequences become U+FFFD.
    static func iconvDecode(_ bytes: [UInt8], from charset: String) -> String? {
        guard charset.utf8.count < 64, charset.utf8.allSatisfy({ $0 > 32 && $0 < 127 }) else { return nil }
        let cd = iconv_open("UTF-8", charset)
        if cd == iconv_t(bitPattern: -1) { return nil }
        defer { iconv_close(cd) }
        var input = bytes.map { CChar(bitPattern: $0) }
        var output = [CChar](repeating: 0, count: max(16, bytes.count * 4 + 16))
        var result = [UInt8]()
        input.withUnsafeMutableBufferPointer { inBuf in
            output.withUnsafeMutableBufferPointer { outBuf in
                var inPtr: UnsafeMutablePointer<CChar>? = inBuf.baseAddress
                var inLeft = inBuf.count
                while true {
                    var outPtr: UnsafeMutablePointer<CChar>? = outBuf.baseAddress
                    var outLeft = outBuf.count
                    let r = iconv(cd, &inPtr, &inLeft, &outPtr, &outLeft)
                    let produced = outBuf.count - outLeft
                    result += UnsafeRawBufferPointer(start: outBuf.baseAddress, count: produced)
                    if r != -1 || inLeft == 0 { break }
                    let err = errno
                    if err == E2BIG { continue }
                    // EILSEQ / EINVAL: emit U+FFFD and skip one byte.
                    result += [0xEF, 0xBF, 0xBD]
                    inPtr = inPtr.map { $0 + 1 }
                    inLeft -= 1
                    if inLeft <= 0 { break }
                }
            }
        }
        return String(decoding: result, as: UTF8.self)
    }
}
