/// One message of an APPEND (RFC 9051 §6.3.12); MULTIAPPEND (RFC 3502) sends several.
public struct AppendMessage: Sendable, Hashable {
    public var flags: [Flag]
    /// The internal date the client gave, if any.
    public var internalDate: IMAPDateTime?
    /// The message octets (the literal's data).
    public var data: [UInt8]
    /// True when sent as `~{N}` (RFC 3516 literal8, NULs allowed) or in RFC 6855 `UTF8 (~{N})`.
    public var isBinary: Bool
    /// Where the literal's data starts in the command unit: a literal the framer spooled (`spoolStart`) is found by it.
    public var literalOffset = 0
    /// RFC 4469 CATENATE: the message is these parts joined (and `data` is empty).
    public var catenate: [CatenatePart]?

    public init(flags: [Flag] = [], internalDate: IMAPDateTime? = nil, data: [UInt8], isBinary: Bool = false) {
        self.flags = flags
        self.internalDate = internalDate
        self.data = data
        self.isBinary = isBinary
    }

    /// Most messages in one (MULTI)APPEND; the framer's literal count bounds it too.
    public static let maximumCount = 1000

    /// The message's value; where its literal sat in the command unit is not part of it.
    public static func == (a: AppendMessage, b: AppendMessage) -> Bool {
        a.flags == b.flags && a.internalDate == b.internalDate && a.data == b.data && a.isBinary == b.isBinary
            && a.catenate == b.catenate
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(flags)
        hasher.combine(internalDate)
        hasher.combine(data)
        hasher.combine(isBinary)
        hasher.combine(catenate)
    }
}

extension ByteCursor {
    /// RFC 9051 §9: `append = "APPEND" SP mailbox 1*append-message`, `append-message = append-opts SP append-data`,
    /// `append-opts = [SP flag-list] [SP date-time] *(SP append-ext)`, `append-data = literal / literal8 / append-data-ext`;
    /// RFC 6855 §4: `append-data =/ "UTF8" SP "(" literal8 ")"`; RFC 4469 CATENATE (Command+Catenate.swift).
    mutating func parseAppendArguments() throws(ParseFailure) -> IMAPCommandParser.Parsed {
        let mailbox = try parseMailboxArgument()
        var messages: [AppendMessage] = []
        repeat {
            guard messages.count < AppendMessage.maximumCount else { throw .syntax(IMAPParseError.Message.tooManyAppendMessages) }
            try parseArgumentSeparator(missing: IMAPParseError.Message.missingAppendMessage)
            messages.append(try parseAppendMessage())
        } while peek != nil
        return IMAPCommandParser.Parsed(kind: .append(mailbox: mailbox, messages: messages))
    }

    private mutating func parseAppendMessage() throws(ParseFailure) -> AppendMessage {
        var message = AppendMessage(data: [])
        if peek == ASCII.openParen {
            message.flags = try parseFlagList()
            try parseArgumentSeparator(missing: IMAPParseError.Message.missingAppendMessage)
        }
        if peek == ASCII.dquote {
            message.internalDate = try parseDateTime()
            try parseArgumentSeparator(missing: IMAPParseError.Message.missingAppendMessage)
        }
        if let parts = try parseCatenate() {
            message.catenate = parts
            return message
        }
        if consumeCaseInsensitive("UTF8 (") {
            guard peek == ASCII.tilde else { throw .syntax(IMAPParseError.Message.invalidAppendData) }
            let data = try parseLiteral(allowLiteral8: true).data
            message.data = Array(data)
            message.literalOffset = data.startIndex
            message.isBinary = true
            try expect(ASCII.closeParen, orElse: IMAPParseError.Message.missingCloseParen)
            return message
        }
        guard peek == ASCII.openBrace || peek == ASCII.tilde else {
            throw isAtEnd ? endOfInput(IMAPParseError.Message.missingAppendMessage) : .syntax(IMAPParseError.Message.invalidAppendData)
        }
        let (marker, data) = try parseLiteral(allowLiteral8: true)
        message.data = Array(data)
        message.literalOffset = data.startIndex
        message.isBinary = marker.isLiteral8
        return message
    }
}
