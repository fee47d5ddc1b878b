/// Bytes of the POP3 grammar (RFC 1939 §3, RFC 2449 §3).
enum ASCII {
    static let nul: UInt8 = 0x00
    static let lf: UInt8 = 0x0A
    static let cr: UInt8 = 0x0D
    static let space: UInt8 = 0x20
    static let dot: UInt8 = 0x2E
    static let equals: UInt8 = 0x3D
}

extension UInt8 {
    /// RFC 5234 Appendix B.1: `DIGIT = %x30-39`.
    var isDigit: Bool { (0x30...0x39).contains(self) }

    /// RFC 2449 §3: `VCHAR = %x21-7E` (printable, no space).
    var isVisibleASCII: Bool { (0x21...0x7E).contains(self) }

    var asciiUppercased: UInt8 { (0x61...0x7A).contains(self) ? self - 0x20 : self }

    /// RFC 4648 §4 alphabet plus the "=" pad.
    var isBase64OrPad: Bool {
        (0x41...0x5A).contains(self) || (0x61...0x7A).contains(self) || isDigit
            || self == 0x2B || self == 0x2F || self == ASCII.equals
    }
}
