extension ByteCursor {
    /// RFC 9051 §9: `create = "CREATE" SP mailbox [create-params]`, `create-params = SP "(" create-param *(SP create-param) ")"`;
    /// RFC 6154 §6: `create-param =/ "USE" SP "(" [use-attr *(SP use-attr)] ")"`, `use-attr = "\All" / "\Archive" / …`.
    mutating func parseCreateArguments() throws(ParseFailure) -> IMAPCommandParser.Parsed {
        let mailbox = try parseMailboxArgument()
        var specialUse: [String] = []
        if try parseOptionalArgumentSeparator() {
            _ = try parseParenthesizedList(
                allowEmpty: false, limit: 4, tooMany: IMAPParseError.Message.unknown("CREATE parameter", ""),
                missing: IMAPParseError.Message.missingCreateParameters
            ) { cursor throws(ParseFailure) in
                let name = try cursor.parseKeyword(what: "CREATE parameter")
                guard name == "USE" else { throw .syntax(IMAPParseError.Message.unknown("CREATE parameter", name)) }
                try cursor.parseArgumentSeparator(missing: IMAPParseError.Message.missingCreateParameters)
                specialUse += try cursor.parseParenthesizedList(
                    allowEmpty: true, limit: 16, tooMany: IMAPParseError.Message.tooManySpecialUses,
                    missing: IMAPParseError.Message.missingCreateParameters
                ) { cursor throws(ParseFailure) in
                    try cursor.expect(ASCII.backslash, orElse: IMAPParseError.Message.invalidSpecialUse)
                    return "\\" + (try cursor.parseAtom(limit: 64, what: "special-use attribute"))
                }
            }
        }
        try parseCommandEnd()
        return IMAPCommandParser.Parsed(kind: .create(mailbox: mailbox, specialUse: specialUse))
    }

    /// RFC 9051 §9: `delete = "DELETE" SP mailbox`, `subscribe = "SUBSCRIBE" SP mailbox`,
    /// `unsubscribe = "UNSUBSCRIBE" SP mailbox`; RFC 9208 §7: `getquotaroot = "GETQUOTAROOT" SP mailbox`.
    mutating func parseSingleMailboxArgument(_ kind: (MailboxName) -> IMAPCommandKind) throws(ParseFailure) -> IMAPCommandParser.Parsed {
        let mailbox = try parseMailboxArgument()
        try parseCommandEnd()
        return IMAPCommandParser.Parsed(kind: kind(mailbox))
    }

    /// RFC 9051 §9: `rename = "RENAME" SP mailbox SP mailbox`.
    mutating func parseRenameArguments() throws(ParseFailure) -> IMAPCommandParser.Parsed {
        let from = try parseMailboxArgument()
        let to = try parseMailboxArgument()
        try parseCommandEnd()
        return IMAPCommandParser.Parsed(kind: .rename(from: from, to: to))
    }

    /// RFC 9051 §9: `status = "STATUS" SP mailbox SP "(" status-att *(SP status-att) ")"`.
    mutating func parseStatusArguments() throws(ParseFailure) -> IMAPCommandParser.Parsed {
        let mailbox = try parseMailboxArgument()
        try parseArgumentSeparator(missing: IMAPParseError.Message.missingStatusItems)
        let items = try parseStatusItemList()
        try parseCommandEnd()
        return IMAPCommandParser.Parsed(kind: .status(mailbox: mailbox, items: items))
    }

    /// RFC 3501 §9: `lsub = "LSUB" SP mailbox SP list-mailbox`.
    mutating func parseLSubArguments() throws(ParseFailure) -> IMAPCommandParser.Parsed {
        let reference = try parseMailboxArgument()
        try parseArgumentSeparator(missing: IMAPParseError.Message.missingListPattern)
        let pattern = try parseListMailbox()
        try parseCommandEnd()
        return IMAPCommandParser.Parsed(kind: .lsub(reference: reference, pattern: pattern))
    }

    /// RFC 9051 §9: `list-mailbox = 1*list-char / string`, `list-char = ATOM-CHAR / list-wildcards / resp-specials`.
    mutating func parseListMailbox() throws(ParseFailure) -> String {
        let bytes: [UInt8]
        switch peek {
        case ASCII.dquote, ASCII.openBrace:
            bytes = try parseString(what: "mailbox pattern").bytes
        case ASCII.tilde where isAtLiteral8:  // a `~` alone is a list-char
            bytes = try parseString(what: "mailbox pattern").bytes
        case nil:
            throw endOfInput(IMAPParseError.Message.missingListPattern)
        default:
            let chars = try readWhile(limit: MailboxName.maximumLength, tooLong: IMAPParseError.Message.mailboxNameTooLong) {
                $0.isAStringChar || $0 == 0x25 || $0 == ASCII.asterisk
            }
            guard !chars.isEmpty, (peek ?? 0) < 0x80 else { throw .syntax(IMAPParseError.Message.invalidListPattern) }
            bytes = Array(chars)
        }
        guard bytes.count <= MailboxName.maximumLength else { throw .syntax(IMAPParseError.Message.mailboxNameTooLong) }
        guard let pattern = bytes.validUTF8String else { throw .syntax(IMAPParseError.Message.invalidListPattern) }
        return pattern
    }
}
