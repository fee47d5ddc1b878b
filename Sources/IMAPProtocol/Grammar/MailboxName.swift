/// A mailbox name exactly as the client sent it (after string unquoting).
///
/// RFC 9051 §5.1 and §9: `mailbox = "INBOX" / astring`; INBOX is case-insensitive and stored as `INBOX`.
/// IMAP4rev1 clients send names in modified UTF-7 (RFC 3501 §5.1.3); after `ENABLE UTF8=ACCEPT`
/// (RFC 6855 §3) or IMAP4rev2 (RFC 9051 §5.1) they send UTF-8. Which one applies is session state,
/// hence `decoded(utf8Enabled:)`.
public struct MailboxName: Sendable, Hashable, CustomStringConvertible {
    /// The octets as sent; `INBOX` in any case is normalised to upper case.
    public private(set) var bytes: [UInt8]

    public static let inbox = MailboxName(bytes: Array("INBOX".utf8))

    /// Longest name accepted as sent (Dovecot's limit for a full name is 1024 too).
    public static let maximumLength = 1024

    public init(bytes: [UInt8]) {
        self.bytes = Self.isInboxSpelling(bytes) ? Array("INBOX".utf8) : bytes
    }

    /// A name from UTF-8 text, as a rev2 / UTF8=ACCEPT client would send it.
    public init(_ name: String) {
        self.init(bytes: Array(name.utf8))
    }

    /// True for `INBOX` (in any case).
    public var isInbox: Bool { bytes == Array("INBOX".utf8) }

    /// The name as text: UTF-8 when `utf8Enabled`, else modified UTF-7 decoded. Nil when the
    /// octets are not valid in that form (the session answers NO / BAD).
    public func decoded(utf8Enabled: Bool) -> String? {
        utf8Enabled ? bytes.validUTF8String : ModifiedUTF7.decode(bytes)
    }

    /// The octets as text for logs (invalid UTF-8 replaced).
    public var description: String { String(decoding: bytes, as: UTF8.self) }

    static func isInboxSpelling(_ bytes: [UInt8]) -> Bool {
        bytes.count == 5 && zip(bytes, "INBOX".utf8).allSatisfy { $0.asciiUppercased == $1 }
    }
}

/// RFC 3501 §5.1.3 modified UTF-7: printable ASCII stands for itself (`&` as `&-`); other
/// characters are UTF-16BE in base64 with `,` for `/`, between `&` and `-`.
public enum ModifiedUTF7 {
    private static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+,".utf8)

    /// Decodes strictly, like Dovecot: nil for 8-bit octets, control characters, an unterminated or
    /// non-canonical shift sequence (encoded printable ASCII, stray bits), or an unpaired surrogate.
    public static func decode(_ bytes: some Collection<UInt8>) -> String? {
        var scalars = String.UnicodeScalarView()
        var iterator = bytes.makeIterator()
        while let byte = iterator.next() {
            guard byte >= 0x20, byte < 0x7F else { return nil }
            guard byte == 0x26 /* & */ else {
                scalars.append(Unicode.Scalar(byte))
                continue
            }
            var units: [UInt16] = []
            var bits: UInt32 = 0
            var bitCount = 0
            var sawData = false
            while true {
                guard let next = iterator.next() else { return nil }
                if next == ASCII.minus { break }
                guard let value = alphabet.firstIndex(of: next) else { return nil }
                sawData = true
                bits = (bits << 6) | UInt32(value)
                bitCount += 6
                if bitCount >= 16 {
                    bitCount -= 16
                    units.append(UInt16(truncatingIfNeeded: bits >> UInt32(bitCount)))
                    bits &= (1 << UInt32(bitCount)) - 1
                }
            }
            if !sawData {
                scalars.append("&")
                continue
            }
            guard bitCount < 6, bits == 0, !units.isEmpty else { return nil }
            var decoder = UTF16()
            var unitIterator = units.makeIterator()
            loop: while true {
                switch decoder.decode(&unitIterator) {
                case .scalarValue(let scalar):
                    guard scalar.value < 0x20 || scalar.value >= 0x7F else { return nil }
                    scalars.append(scalar)
                case .emptyInput: break loop
                case .error: return nil
                }
            }
        }
        return String(scalars)
    }

    /// Encodes text for a rev1 client.
    public static func encode(_ text: String) -> String {
        var out: [UInt8] = []
        var pending: [UInt16] = []
        func flush() {
            guard !pending.isEmpty else { return }
            out.append(0x26)
            var bits: UInt32 = 0
            var bitCount = 0
            for unit in pending {
                bits = (bits << 16) | UInt32(unit)
                bitCount += 16
                while bitCount >= 6 {
                    bitCount -= 6
                    out.append(alphabet[Int((bits >> UInt32(bitCount)) & 0x3F)])
                }
                bits &= (1 << UInt32(bitCount)) - 1
            }
            if bitCount > 0 { out.append(alphabet[Int((bits << UInt32(6 - bitCount)) & 0x3F)]) }
            out.append(ASCII.minus)
            pending = []
        }
        for scalar in text.unicodeScalars {
            if scalar.value >= 0x20, scalar.value < 0x7F {
                flush()
                out.append(UInt8(scalar.value))
                if scalar == "&" { out.append(ASCII.minus) }
            } else {
                pending.append(contentsOf: Character(scalar).utf16)
            }
        }
        flush()
        return String(decoding: out, as: UTF8.self)
    }
}

extension ByteCursor {
    /// RFC 9051 §9: `mailbox = "INBOX" / astring`; INBOX in any case means the inbox.
    mutating func parseMailboxName() throws(ParseFailure) -> MailboxName {
        let name = try parseAString(what: "mailbox name")
        guard name.bytes.count <= MailboxName.maximumLength else { throw .syntax(IMAPParseError.Message.mailboxNameTooLong) }
        return MailboxName(bytes: name.bytes)
    }

    /// The SP and a mailbox name that must follow.
    mutating func parseMailboxArgument() throws(ParseFailure) -> MailboxName {
        try parseArgumentSeparator(missing: IMAPParseError.Message.missingMailbox)
        return try parseMailboxName()
    }
}
