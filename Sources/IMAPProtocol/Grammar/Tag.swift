/// The client's label for a command, echoed in the tagged response.
///
/// RFC 9051 §2.2.1 and §9: `tag = 1*<any ASTRING-CHAR except "+">`; Aerie caps it at 64 octets.
public struct IMAPTag: Hashable, Sendable, CustomStringConvertible {
    /// Longest tag accepted; real clients use a few characters.
    public static let maximumLength = 64

    public var rawValue: String

    /// A tag; nil unless `rawValue` is 1…64 tag characters.
    public init?(_ rawValue: String) {
        let bytes = Array(rawValue.utf8)
        guard !bytes.isEmpty, bytes.count <= Self.maximumLength, bytes.allSatisfy(\.isTagChar) else { return nil }
        self.rawValue = rawValue
    }

    init(validated rawValue: String) {
        self.rawValue = rawValue
    }

    public var description: String { rawValue }
}

extension ByteCursor {
    /// RFC 9051 §9: `tag = 1*<any ASTRING-CHAR except "+">`, then the SP before the command name.
    ///
    /// An invalid tag is never echoed back (it may be another protocol talking to us, e.g. HTTP).
    mutating func parseTag() throws(ParseFailure) -> IMAPTag {
        guard !isAtEnd else { throw .syntax(IMAPParseError.Message.emptyCommand) }
        let tagBytes = try readWhile(limit: IMAPTag.maximumLength, tooLong: IMAPParseError.Message.tagTooLong) { $0 != ASCII.space }
        guard !tagBytes.isEmpty else { throw .syntax(IMAPParseError.Message.missingTag) }
        guard tagBytes.allSatisfy(\.isTagChar) else { throw .syntax(IMAPParseError.Message.invalidTag) }
        return IMAPTag(validated: String(decoding: tagBytes, as: UTF8.self))
    }
}
