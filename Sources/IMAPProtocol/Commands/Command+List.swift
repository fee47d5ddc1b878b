/// A LIST command (RFC 9051 §6.3.9, RFC 5258 LIST-EXTENDED).
public struct ListCommand: Sendable, Hashable {
    /// RFC 5258 §3.1: selection options.
    public struct SelectionOptions: Sendable, Hashable {
        public var subscribed = false
        public var remote = false
        public var recursiveMatch = false
        /// RFC 6154 §5.3
        public var specialUse = false

        public init(subscribed: Bool = false, remote: Bool = false, recursiveMatch: Bool = false, specialUse: Bool = false) {
            self.subscribed = subscribed
            self.remote = remote
            self.recursiveMatch = recursiveMatch
            self.specialUse = specialUse
        }
    }

    /// RFC 5258 §3.2: return options.
    public struct ReturnOptions: Sendable, Hashable {
        public var subscribed = false
        public var children = false
        /// RFC 6154 §5.2
        public var specialUse = false
        /// RFC 5819 §2: `STATUS (items)`; nil when not asked.
        public var status: [StatusItem]?

        public init(subscribed: Bool = false, children: Bool = false, specialUse: Bool = false, status: [StatusItem]? = nil) {
            self.subscribed = subscribed
            self.children = children
            self.specialUse = specialUse
            self.status = status
        }
    }

    public var reference: MailboxName
    /// One or more patterns (`mbox-or-pat`), as sent (modified UTF-7 for rev1 clients: see `ModifiedUTF7`).
    public var patterns: [String]
    public var selectionOptions: SelectionOptions
    public var returnOptions: ReturnOptions
    /// True when the client used the extended syntax (selection options, a pattern list or RETURN):
    /// RFC 5258 §3 then asks for extended data items such as CHILDINFO.
    public var isExtended: Bool

    public init(
        reference: MailboxName, patterns: [String], selectionOptions: SelectionOptions = .init(),
        returnOptions: ReturnOptions = .init(), isExtended: Bool = false
    ) {
        self.reference = reference
        self.patterns = patterns
        self.selectionOptions = selectionOptions
        self.returnOptions = returnOptions
        self.isExtended = isExtended
    }

    /// Most patterns in one `patterns` list.
    public static let maximumPatterns = 100
}

extension ByteCursor {
    /// RFC 5258 §6: `list = "LIST" [SP list-select-opts] SP mailbox SP mbox-or-pat [SP list-return-opts]`,
    /// `mbox-or-pat = list-mailbox / patterns`, `patterns = "(" list-mailbox *(SP list-mailbox) ")"`.
    mutating func parseListArguments() throws(ParseFailure) -> IMAPCommandParser.Parsed {
        try parseArgumentSeparator(missing: IMAPParseError.Message.missingMailbox)
        var selection = ListCommand.SelectionOptions()
        var extended = false
        if peek == ASCII.openParen {
            selection = try parseListSelectionOptions()
            extended = true
            try parseArgumentSeparator(missing: IMAPParseError.Message.missingMailbox)
        }
        let reference = try parseMailboxName()
        try parseArgumentSeparator(missing: IMAPParseError.Message.missingListPattern)
        let patterns: [String]
        if peek == ASCII.openParen {
            extended = true
            patterns = try parseParenthesizedList(
                allowEmpty: false, limit: ListCommand.maximumPatterns, tooMany: IMAPParseError.Message.tooManyListPatterns,
                missing: IMAPParseError.Message.missingListPattern
            ) { cursor throws(ParseFailure) in try cursor.parseListMailbox() }
        } else {
            patterns = [try parseListMailbox()]
        }
        var returns = ListCommand.ReturnOptions()
        if try parseOptionalArgumentSeparator() {
            returns = try parseListReturnOptions()
            extended = true
        }
        try parseCommandEnd()
        if selection.subscribed { returns.subscribed = true }  // RFC 5258 §3.1: SUBSCRIBED implies RETURN (SUBSCRIBED)
        return IMAPCommandParser.Parsed(kind: .list(ListCommand(
            reference: reference, patterns: patterns, selectionOptions: selection, returnOptions: returns, isExtended: extended
        )))
    }

    /// RFC 5258 §6: `list-select-opts = "(" [(*(list-select-mod-opt SP) list-select-base-opt *(SP list-select-opt)) /
    /// (list-select-independent-opt *(SP list-select-independent-opt))] ")"`; a modifier (RECURSIVEMATCH) needs a
    /// base option (SUBSCRIBED, SPECIAL-USE). Unknown options are refused (§3: MUST).
    private mutating func parseListSelectionOptions() throws(ParseFailure) -> ListCommand.SelectionOptions {
        var options = ListCommand.SelectionOptions()
        _ = try parseParenthesizedList(
            allowEmpty: true, limit: 16, tooMany: IMAPParseError.Message.unknown("LIST option", ""),
            missing: IMAPParseError.Message.missingMailbox
        ) { cursor throws(ParseFailure) in
            let name = try cursor.parseKeyword(what: "LIST option")
            switch name {
            case "SUBSCRIBED": options.subscribed = true
            case "REMOTE": options.remote = true
            case "RECURSIVEMATCH": options.recursiveMatch = true
            case "SPECIAL-USE": options.specialUse = true
            default: throw .syntax(IMAPParseError.Message.unknown("LIST option", name))
            }
        }
        if options.recursiveMatch, !options.subscribed, !options.specialUse {
            throw .syntax(IMAPParseError.Message.recursiveMatchAlone)
        }
        return options
    }

    /// RFC 5258 §6: `list-return-opts = "RETURN" SP "(" [return-option *(SP return-option)] ")"`,
    /// `return-option = "SUBSCRIBED" / "CHILDREN" / status-option / option-extension`;
    /// RFC 5819 §5: `status-option = "STATUS" SP "(" status-att *(SP status-att) ")"`.
    private mutating func parseListReturnOptions() throws(ParseFailure) -> ListCommand.ReturnOptions {
        guard consumeCaseInsensitive("RETURN") else { throw .syntax(IMAPParseError.Message.unexpectedArguments) }
        try parseArgumentSeparator(missing: IMAPParseError.Message.missingReturnOptions)
        var options = ListCommand.ReturnOptions()
        _ = try parseParenthesizedList(
            allowEmpty: true, limit: 16, tooMany: IMAPParseError.Message.unknown("LIST option", ""),
            missing: IMAPParseError.Message.missingReturnOptions
        ) { cursor throws(ParseFailure) in
            let name = try cursor.parseKeyword(what: "LIST option")
            switch name {
            case "SUBSCRIBED": options.subscribed = true
            case "CHILDREN": options.children = true
            case "SPECIAL-USE": options.specialUse = true
            case "STATUS":
                try cursor.parseArgumentSeparator(missing: IMAPParseError.Message.missingStatusItems)
                options.status = try cursor.parseStatusItemList()
            default: throw .syntax(IMAPParseError.Message.unknown("LIST option", name))
            }
        }
        return options
    }
}
