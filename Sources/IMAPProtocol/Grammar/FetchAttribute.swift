/// A FETCH data item the client asks for (RFC 9051 §6.4.5).
public enum FetchAttribute: Sendable, Hashable {
    case envelope
    case flags
    case internalDate
    /// RFC 3501: same as `BODY[]`, sets \Seen.
    case rfc822
    /// RFC 3501: same as `BODY.PEEK[HEADER]`.
    case rfc822Header
    case rfc822Size
    /// RFC 3501: same as `BODY[TEXT]`, sets \Seen.
    case rfc822Text
    /// `BODY`: the non-extensible BODYSTRUCTURE.
    case body
    case bodyStructure
    case uid
    /// `BODY[section]<partial>` (`peek` false: sets \Seen) or `BODY.PEEK[section]<partial>`.
    case bodySection(peek: Bool, section: FetchSection, partial: FetchPartial?)
    /// RFC 3516 §4.2: `BINARY[part]<partial>` / `BINARY.PEEK[part]<partial>`; `part` empty for the whole message.
    case binary(peek: Bool, part: [UInt32], partial: FetchPartial?)
    /// RFC 3516 §4.2: `BINARY.SIZE[part]`.
    case binarySize(part: [UInt32])
    /// RFC 7162 §3.1.4.1
    case modSeq
    /// RFC 8474 §5.1
    case emailID
    /// RFC 8474 §5.2
    case threadID
    /// RFC 8514 §4
    case saveDate

    /// Most attributes in one FETCH list.
    public static let maximumListCount = 100

    /// RFC 9051 §6.4.5: `ALL` = `(FLAGS INTERNALDATE RFC822.SIZE ENVELOPE)`.
    public static let allMacro: [FetchAttribute] = [.flags, .internalDate, .rfc822Size, .envelope]
    /// `FAST` = `(FLAGS INTERNALDATE RFC822.SIZE)`.
    public static let fastMacro: [FetchAttribute] = [.flags, .internalDate, .rfc822Size]
    /// `FULL` = `(FLAGS INTERNALDATE RFC822.SIZE ENVELOPE BODY)`.
    public static let fullMacro: [FetchAttribute] = [.flags, .internalDate, .rfc822Size, .envelope, .body]
}

/// The part of a message a `BODY[…]` item names.
///
/// RFC 9051 §9: `section-spec = section-msgtext / (section-part ["." section-text])`,
/// `section-part = nz-number *("." nz-number)`, `section-text = section-msgtext / "MIME"`.
public struct FetchSection: Sendable, Hashable, CustomStringConvertible {
    public enum Text: Sendable, Hashable {
        /// Nothing after the part numbers: the whole message (`BODY[]`) or part.
        case complete
        case header
        case headerFields([String])
        case headerFieldsNot([String])
        case text
        /// Only after part numbers.
        case mime
    }

    /// Part numbers, e.g. `[4, 2]` for `4.2`; empty for the top-level message.
    public var part: [UInt32]
    public var text: Text

    public init(part: [UInt32] = [], text: Text = .complete) {
        self.part = part
        self.text = text
    }

    /// The whole message: `BODY[]`.
    public static let complete = FetchSection()

    /// Most part numbers (nesting depth of MIME parts) accepted.
    public static let maximumPartDepth = 100
    /// Most names in a HEADER.FIELDS list.
    public static let maximumHeaderFields = 1000

    /// The section as written between the brackets, e.g. `1.2.HEADER.FIELDS (SUBJECT FROM)`.
    public var description: String {
        var pieces = part.map(String.init)
        switch text {
        case .complete: break
        case .header: pieces.append("HEADER")
        case .headerFields(let names): pieces.append("HEADER.FIELDS (" + names.joined(separator: " ") + ")")
        case .headerFieldsNot(let names): pieces.append("HEADER.FIELDS.NOT (" + names.joined(separator: " ") + ")")
        case .text: pieces.append("TEXT")
        case .mime: pieces.append("MIME")
        }
        return pieces.joined(separator: ".")
    }
}

/// `<offset.length>`: RFC 9051 §9 `partial = "<" number64 "." nz-number64 ">"`.
public struct FetchPartial: Sendable, Hashable {
    public var offset: UInt64
    public var length: UInt64

    public init(offset: UInt64, length: UInt64) {
        self.offset = offset
        self.length = length
    }
}

extension ByteCursor {
    /// RFC 9051 §9: `fetch-att = "ENVELOPE" / "FLAGS" / "INTERNALDATE" / "RFC822.SIZE" / "BODY" ["STRUCTURE"] /
    /// "UID" / "BODY" section [partial] / "BODY.PEEK" section [partial] / "BINARY" [".PEEK"] section-binary [partial] /
    /// "BINARY.SIZE" section-binary`; RFC 3501 adds `"RFC822" [".HEADER" / ".TEXT"]`, RFC 7162 `"MODSEQ"`,
    /// RFC 8474 `"EMAILID" / "THREADID"`, RFC 8514 `"SAVEDATE"`.
    mutating func parseFetchAttribute() throws(ParseFailure) -> FetchAttribute {
        let nameBytes = try readWhile(limit: IMAPCommandParser.maximumAtomLength, tooLong: IMAPParseError.Message.unknown("FETCH attribute", "")) {
            $0.isAtomChar && $0 != 0x5B /* [ */
        }
        guard !nameBytes.isEmpty else {
            guard !isAtEnd else { throw endOfInput(IMAPParseError.Message.missingFetchAttributes) }
            throw .syntax(peek == ASCII.space ? IMAPParseError.Message.doubleSpaces : IMAPParseError.Message.invalidFetchAttribute)
        }
        let name = String(decoding: nameBytes, as: UTF8.self).uppercased()
        let bracket = peek == 0x5B
        switch name {
        case "ENVELOPE" where !bracket: return .envelope
        case "FLAGS" where !bracket: return .flags
        case "INTERNALDATE" where !bracket: return .internalDate
        case "RFC822" where !bracket: return .rfc822
        case "RFC822.HEADER" where !bracket: return .rfc822Header
        case "RFC822.SIZE" where !bracket: return .rfc822Size
        case "RFC822.TEXT" where !bracket: return .rfc822Text
        case "BODY" where !bracket: return .body
        case "BODYSTRUCTURE" where !bracket: return .bodyStructure
        case "UID" where !bracket: return .uid
        case "MODSEQ" where !bracket: return .modSeq
        case "EMAILID" where !bracket: return .emailID
        case "THREADID" where !bracket: return .threadID
        case "SAVEDATE" where !bracket: return .saveDate
        case "BODY", "BODY.PEEK":
            let section = try parseSection()
            return .bodySection(peek: name == "BODY.PEEK", section: section, partial: try parsePartial())
        case "BINARY", "BINARY.PEEK":
            let part = try parseBinarySection()
            return .binary(peek: name == "BINARY.PEEK", part: part, partial: try parsePartial())
        case "BINARY.SIZE":
            return .binarySize(part: try parseBinarySection())
        default:
            throw .syntax(IMAPParseError.Message.unknown("FETCH attribute", name))
        }
    }

    /// RFC 9051 §9: `section = "[" [section-spec] "]"`.
    mutating func parseSection() throws(ParseFailure) -> FetchSection {
        try expect(0x5B, orElse: IMAPParseError.Message.invalidSection)
        if consume(ASCII.closeBracket) { return .complete }
        var part: [UInt32] = []
        var text = FetchSection.Text.complete
        while let next = peek, next.isDigit {
            guard part.count < FetchSection.maximumPartDepth else { throw .syntax(IMAPParseError.Message.invalidSection) }
            part.append(try parseNZNumber(IMAPParseError.Message.invalidSection))
            if !consume(0x2E /* . */) { break }
            if let next = peek, !next.isDigit {
                text = try parseSectionText(afterPart: true)
                break
            }
        }
        if part.isEmpty { text = try parseSectionText(afterPart: false) }
        try expect(ASCII.closeBracket, orElse: IMAPParseError.Message.invalidSection)
        return FetchSection(part: part, text: text)
    }

    /// RFC 9051 §9: `section-msgtext = "HEADER" / "HEADER.FIELDS" [".NOT"] SP header-list / "TEXT"`,
    /// `section-text = section-msgtext / "MIME"` (MIME only after part numbers).
    private mutating func parseSectionText(afterPart: Bool) throws(ParseFailure) -> FetchSection.Text {
        let name = String(decoding: try readWhile(limit: 32, tooLong: IMAPParseError.Message.invalidSection) {
            $0.isAtomChar && $0 != 0x5B
        }, as: UTF8.self).uppercased()
        switch name {
        case "HEADER": return .header
        case "TEXT": return .text
        case "MIME" where afterPart: return .mime
        case "HEADER.FIELDS", "HEADER.FIELDS.NOT":
            guard peek == ASCII.space else { throw .syntax(IMAPParseError.Message.invalidSection) }
            try parseArgumentSeparator(missing: IMAPParseError.Message.invalidSection)
            let names = try parseHeaderList()
            return name == "HEADER.FIELDS" ? .headerFields(names) : .headerFieldsNot(names)
        default:
            throw .syntax(IMAPParseError.Message.invalidSection)
        }
    }

    /// RFC 9051 §9: `header-list = "(" header-fld-name *(SP header-fld-name) ")"`, `header-fld-name = astring`.
    private mutating func parseHeaderList() throws(ParseFailure) -> [String] {
        try parseParenthesizedList(
            allowEmpty: false, limit: FetchSection.maximumHeaderFields, tooMany: IMAPParseError.Message.tooManyHeaderFields,
            missing: IMAPParseError.Message.invalidSection
        ) { cursor throws(ParseFailure) in
            let name = try cursor.parseAString(what: "header field name")
            guard name.bytes.count <= IMAPCommandParser.maximumAtomLength else { throw .syntax(IMAPParseError.Message.invalidSection) }
            return try name.utf8String("Header field name")
        }
    }

    /// RFC 3516 §4.2: `section-binary = "[" [section-part] "]"`.
    private mutating func parseBinarySection() throws(ParseFailure) -> [UInt32] {
        try expect(0x5B, orElse: IMAPParseError.Message.invalidSection)
        var part: [UInt32] = []
        if consume(ASCII.closeBracket) { return part }
        repeat {
            guard part.count < FetchSection.maximumPartDepth else { throw .syntax(IMAPParseError.Message.invalidSection) }
            part.append(try parseNZNumber(IMAPParseError.Message.invalidSection))
        } while consume(0x2E)
        try expect(ASCII.closeBracket, orElse: IMAPParseError.Message.invalidSection)
        return part
    }

    /// RFC 9051 §9: `partial = "<" number64 "." nz-number64 ">"`.
    private mutating func parsePartial() throws(ParseFailure) -> FetchPartial? {
        guard consume(0x3C /* < */) else { return nil }
        let offset = try parseNumber64(IMAPParseError.Message.invalidPartial)
        try expect(0x2E, orElse: IMAPParseError.Message.invalidPartial)
        let length = try parseDigits(maximum: UInt64(Int64.max), allowZero: false, message: IMAPParseError.Message.invalidPartial)
        try expect(0x3E /* > */, orElse: IMAPParseError.Message.invalidPartial)
        return FetchPartial(offset: offset, length: length)
    }
}
