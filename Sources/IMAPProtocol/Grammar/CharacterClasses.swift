/// Byte classes of the IMAP formal syntax (RFC 9051 §9).
enum ASCII {
    static let nul: UInt8 = 0x00
    static let lf: UInt8 = 0x0A
    static let cr: UInt8 = 0x0D
    static let space: UInt8 = 0x20
    static let dquote: UInt8 = 0x22
    static let openParen: UInt8 = 0x28
    static let closeParen: UInt8 = 0x29
    static let asterisk: UInt8 = 0x2A
    static let plus: UInt8 = 0x2B
    static let minus: UInt8 = 0x2D
    static let equals: UInt8 = 0x3D
    static let backslash: UInt8 = 0x5C
    static let closeBracket: UInt8 = 0x5D
    static let openBrace: UInt8 = 0x7B
    static let closeBrace: UInt8 = 0x7D
    static let tilde: UInt8 = 0x7E
}

extension UInt8 {
    /// RFC 9051 §9: `CTL = %x00-1F / %x7F`.
    var isCTL: Bool { self < 0x20 || self == 0x7F }

    /// RFC 9051 §9: `DIGIT = %x30-39`.
    var isDigit: Bool { (0x30...0x39).contains(self) }

    /// RFC 9051 §9: `atom-specials = "(" / ")" / "{" / SP / CTL / list-wildcards / quoted-specials / resp-specials`.
    var isAtomSpecial: Bool {
        switch self {
        case ASCII.openParen, ASCII.closeParen, ASCII.openBrace, ASCII.space,
            0x25 /* % */, ASCII.asterisk, ASCII.dquote, ASCII.backslash, ASCII.closeBracket:
            true
        default:
            isCTL
        }
    }

    /// RFC 9051 §9: `ATOM-CHAR = <any CHAR except atom-specials>` (CHAR is 7-bit).
    var isAtomChar: Bool { self < 0x80 && !isAtomSpecial }

    /// RFC 9051 §9: `ASTRING-CHAR = ATOM-CHAR / resp-specials`.
    var isAStringChar: Bool { isAtomChar || self == ASCII.closeBracket }

    /// RFC 9051 §9: `tag = 1*<any ASTRING-CHAR except "+">`.
    var isTagChar: Bool { isAStringChar && self != ASCII.plus }

    /// RFC 9051 §9: `TEXT-CHAR = <any CHAR except CR and LF>` (and not NUL).
    var isTextChar: Bool { self != ASCII.nul && self < 0x80 && self != ASCII.cr && self != ASCII.lf }

    /// RFC 9051 §9: `base64-char = ALPHA / DIGIT / "+" / "/"`.
    var isBase64Char: Bool {
        (0x41...0x5A).contains(self) || (0x61...0x7A).contains(self) || isDigit || self == ASCII.plus || self == 0x2F
    }
}

extension Collection<UInt8> {
    /// Decodes strict UTF-8, or nil if the bytes are not valid UTF-8.
    var validUTF8String: String? {
        String(validating: self, as: UTF8.self)
    }
}
