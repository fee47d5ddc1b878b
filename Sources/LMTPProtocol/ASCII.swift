/// Bytes of the SMTP/LMTP grammar (RFC 5321 §4.1.2, RFC 5234 Appendix B.1).
enum ASCII {
    static let nul: UInt8 = 0x00
    static let lf: UInt8 = 0x0A
    static let cr: UInt8 = 0x0D
    static let space: UInt8 = 0x20
    static let dquote: UInt8 = 0x22
    static let dot: UInt8 = 0x2E
    static let colon: UInt8 = 0x3A
    static let comma: UInt8 = 0x2C
    static let lessThan: UInt8 = 0x3C
    static let equals: UInt8 = 0x3D
    static let greaterThan: UInt8 = 0x3E
    static let at: UInt8 = 0x40
    static let openBracket: UInt8 = 0x5B
    static let backslash: UInt8 = 0x5C
    static let closeBracket: UInt8 = 0x5D
}

extension UInt8 {
    /// RFC 5234: `DIGIT`.
    var isDigit: Bool { (0x30...0x39).contains(self) }
    /// RFC 5234: `ALPHA`.
    var isAlpha: Bool { (0x41...0x5A).contains(self) || (0x61...0x7A).contains(self) }
    var asciiUppercased: UInt8 { (0x61...0x7A).contains(self) ? self - 0x20 : self }
    /// RFC 6531 §3.3: `UTF8-non-ascii` bytes (validity is checked on the whole string).
    var isNonASCII: Bool { self >= 0x80 }

    /// RFC 5322 §3.2.3 `atext`.
    var isAtext: Bool {
        if isAlpha || isDigit { return true }
        switch self {
        case 0x21, 0x23, 0x24, 0x25, 0x26, 0x27, 0x2A, 0x2B, 0x2D, 0x2F, 0x3D, 0x3F, 0x5E, 0x5F, 0x60, 0x7B, 0x7C, 0x7D, 0x7E:
            return true
        default:
            return false
        }
    }
}
