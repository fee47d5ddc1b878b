extension ByteCursor {
    /// RFC 5267 §4.3: `cancelupdate = "CANCELUPDATE" 1*(SP quoted)`; a literal is taken as well (a `string`),
    /// each tag as sent, at most 100 of them.
    mutating func parseCancelUpdateArguments() throws(ParseFailure) -> IMAPCommandParser.Parsed {
        let missing = IMAPParseError.Message.missingSearchTag
        try parseArgumentSeparator(missing: missing)
        var tags: [String] = []
        repeat {
            guard tags.count < 100 else { throw .syntax(IMAPParseError.Message.tooManySearchTags) }
            let tag = try parseString(what: "tag")
            guard tag.bytes.count <= IMAPCommandParser.maximumAtomLength, let text = tag.bytes.validUTF8String else {
                throw .syntax(IMAPParseError.Message.invalidSearchTag)
            }
            tags.append(text)
        } while try parseOptionalArgumentSeparator()
        return IMAPCommandParser.Parsed(kind: .cancelUpdate(tags))
    }
}

extension IMAPParseError.Message {
    public static let missingSearchTag = "Missing search tag"
    public static let invalidSearchTag = "Invalid search tag"
    public static let tooManySearchTags = "Too many search tags"
}
