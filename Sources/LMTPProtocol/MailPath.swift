/// RFC 5321 §4.1.2 paths, with RFC 6531 §3.3 UTF-8 and the leniency real MTAs need.
///
/// ```
/// Path          = "<" [ A-d-l ":" ] Mailbox ">"      ; source route tolerated and dropped (§4.1.2, App. C)
/// Reverse-path  = Path / "<>"
/// Mailbox       = Local-part "@" ( Domain / address-literal )
/// Local-part    = Dot-string / Quoted-string
/// ```
/// Lenient: a Dot-string may have empty atoms (`a..b`, `a.`) as Postfix relays them, a missing
/// `@domain` is accepted (`<Postmaster>`, local submissions), and a sender's local part may exceed
/// 64 octets (SRS and VERP rewrites); the 256-octet path bound (§4.5.3.1.3) always applies.
enum MailPath {
    /// RFC 5321 §4.5.3.1.1.
    static let maximumLocalPartLength = 64
    /// RFC 5321 §4.5.3.1.2.
    static let maximumDomainLength = 255
    /// RFC 5321 §4.5.3.1.3, brackets included.
    static let maximumPathLength = 256

    /// Parses `<…>` at the start of `bytes`; returns the address ("" for `<>`) and what follows the `>`,
    /// which is empty or starts with SP.
    static func parse(
        _ bytes: ArraySlice<UInt8>, isSender: Bool, syntaxError: LMTPParseError
    ) throws(LMTPParseError) -> (String, ArraySlice<UInt8>) {
        guard bytes.first == ASCII.lessThan, let close = closingBracket(in: bytes) else { throw syntaxError }
        let rest = bytes[(close + 1)...]
        guard rest.isEmpty || rest.first == ASCII.space else { throw syntaxError }
        let invalid: LMTPParseError = isSender ? .invalidSender : .invalidAddress
        var content = bytes[(bytes.startIndex + 1)..<close]
        if content.isEmpty {
            // RFC 5321 §4.1.1.2: the null reverse-path, for MAIL only.
            guard isSender else { throw invalid }
            return ("", rest)
        }
        if content.first == ASCII.at {
            // RFC 5321 §4.1.2 A-d-l: `@one,@two:` — accepted and ignored (Appendix C).
            guard let colon = content.firstIndex(of: ASCII.colon),
                content[..<colon].allSatisfy({ $0.isDomainByte || $0 == ASCII.at || $0 == ASCII.comma })
            else { throw invalid }
            content = content[(colon + 1)...]
        }
        guard content.count + 2 <= maximumPathLength, let address = mailbox(content, isSender: isSender) else {
            throw invalid
        }
        return (address, rest)
    }

    /// The `>` closing the path: the first one outside a quoted local part.
    private static func closingBracket(in bytes: ArraySlice<UInt8>) -> Int? {
        bytes.dropFirst().indicesOutsideQuotes().first { bytes[$0] == ASCII.greaterThan }
    }

    /// `Local-part ["@" (Domain / address-literal)]`, as sent; nil if invalid.
    private static func mailbox(_ bytes: ArraySlice<UInt8>, isSender: Bool) -> String? {
        guard let localEnd = localPartEnd(bytes) else { return nil }
        let local = bytes[..<localEnd]
        guard !local.isEmpty, isSender || local.count <= maximumLocalPartLength else { return nil }
        if localEnd < bytes.endIndex {
            guard bytes[localEnd] == ASCII.at, isDomain(bytes[(localEnd + 1)...]) else { return nil }
        }
        return String(validating: bytes, as: UTF8.self)
    }

    /// Where the local part ends (at `@` or the end); nil if it is neither a (lenient) Dot-string nor a Quoted-string.
    private static func localPartEnd(_ bytes: ArraySlice<UInt8>) -> Int? {
        guard bytes.first == ASCII.dquote else {
            // Dot-string = Atom *("." Atom), empty atoms tolerated; UTF8-non-ascii per RFC 6531 §3.3.
            let end = bytes.firstIndex(where: { !($0.isAtext || $0 == ASCII.dot || $0.isNonASCII) }) ?? bytes.endIndex
            return end == bytes.endIndex || bytes[end] == ASCII.at ? end : nil
        }
        // Quoted-string = DQUOTE *(qtextSMTP / quoted-pairSMTP) DQUOTE.
        var index = bytes.startIndex + 1
        while index < bytes.endIndex {
            let byte = bytes[index]
            if byte == ASCII.dquote { return index + 1 }
            if byte == ASCII.backslash {
                // quoted-pairSMTP = %d92 %d32-126
                guard index + 1 < bytes.endIndex, (0x20...0x7E).contains(bytes[index + 1]) else { return nil }
                index += 2
                continue
            }
            // qtextSMTP = %d32-33 / %d35-91 / %d93-126 / UTF8-non-ascii
            guard (0x20...0x7E).contains(byte) || byte.isNonASCII else { return nil }
            index += 1
        }
        return nil
    }

    /// `Domain / address-literal`, leniently: names of letters, digits, `-`, `_`, `.` and UTF-8 (RFC 6531 U-labels).
    private static func isDomain(_ bytes: ArraySlice<UInt8>) -> Bool {
        guard !bytes.isEmpty, bytes.count <= maximumDomainLength else { return false }
        if bytes.first == ASCII.openBracket {
            // address-literal = "[" ... "]", dcontent = %d33-90 / %d94-126 (RFC 5321 §4.1.3).
            let inner = bytes.dropFirst().dropLast()
            return bytes.last == ASCII.closeBracket && !inner.isEmpty
                && inner.allSatisfy { (0x21...0x5A).contains($0) || (0x5E...0x7E).contains($0) }
        }
        return bytes.allSatisfy(\.isDomainByte) && bytes.first != ASCII.dot
    }
}

extension UInt8 {
    /// `Let-dig / "-"` and `.`, plus `_` (seen in real host names) and UTF-8.
    var isDomainByte: Bool { isAlpha || isDigit || self == 0x2D || self == ASCII.dot || self == 0x5F || isNonASCII }
}
