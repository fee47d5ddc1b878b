/// A STORE or UID STORE command (RFC 9051 §6.4.6).
public struct StoreCommand: Sendable, Hashable {
    /// `+FLAGS`, `-FLAGS` or `FLAGS`.
    public enum Mode: Sendable, Hashable {
        case add
        case remove
        case replace
    }

    public var uid: Bool
    public var sequence: SequenceSet
    /// RFC 7162 §3.1.3: `UNCHANGEDSINCE modseq` (0 allowed).
    public var unchangedSince: UInt64?
    public var mode: Mode
    /// `.SILENT`: no untagged FETCH for this command's changes.
    public var silent: Bool
    public var flags: [Flag]

    public init(uid: Bool, sequence: SequenceSet, unchangedSince: UInt64? = nil, mode: Mode, silent: Bool = false, flags: [Flag]) {
        self.uid = uid
        self.sequence = sequence
        self.unchangedSince = unchangedSince
        self.mode = mode
        self.silent = silent
        self.flags = flags
    }
}

extension ByteCursor {
    /// RFC 9051 §9: `store = "STORE" SP sequence-set [store-modifiers] SP store-att-flags`,
    /// `store-att-flags = (["+" / "-"] "FLAGS" [".SILENT"]) SP (flag-list / (flag *(SP flag)))`;
    /// RFC 7162 §7: `store-modifiers = SP "(" store-modifier *(SP store-modifier) ")"`,
    /// `store-modifier =/ "UNCHANGEDSINCE" SP mod-sequence-valzer`.
    mutating func parseStoreArguments(uid: Bool) throws(ParseFailure) -> IMAPCommandParser.Parsed {
        let sequence = try parseSequenceArgument()
        try parseArgumentSeparator(missing: IMAPParseError.Message.missingStoreItem)
        var unchangedSince: UInt64?
        if peek == ASCII.openParen {
            _ = try parseParenthesizedList(
                allowEmpty: false, limit: 4, tooMany: IMAPParseError.Message.unknown("STORE modifier", ""),
                missing: IMAPParseError.Message.missingStoreItem
            ) { cursor throws(ParseFailure) in
                let name = try cursor.parseKeyword(what: "STORE modifier")
                guard name == "UNCHANGEDSINCE" else { throw .syntax(IMAPParseError.Message.unknown("STORE modifier", name)) }
                try cursor.parseArgumentSeparator(missing: IMAPParseError.Message.invalidModSequence)
                unchangedSince = try cursor.parseModSequence(allowZero: true)
            }
            try parseArgumentSeparator(missing: IMAPParseError.Message.missingStoreItem)
        }
        let mode: StoreCommand.Mode = consume(ASCII.plus) ? .add : consume(ASCII.minus) ? .remove : .replace
        let item = try parseKeyword(what: "STORE item")
        guard item == "FLAGS" || item == "FLAGS.SILENT" else { throw .syntax(IMAPParseError.Message.unknown("STORE item", item)) }
        try parseArgumentSeparator(missing: IMAPParseError.Message.missingFlags)
        var flags: [Flag]
        if peek == ASCII.openParen {
            flags = try parseFlagList()
        } else {
            flags = [try parseFlag()]
            while try parseOptionalArgumentSeparator() {
                guard flags.count < Flag.maximumListCount else { throw .syntax(IMAPParseError.Message.tooManyFlags) }
                flags.append(try parseFlag())
            }
        }
        try parseCommandEnd()
        return IMAPCommandParser.Parsed(kind: .store(StoreCommand(
            uid: uid, sequence: sequence, unchangedSince: unchangedSince, mode: mode, silent: item == "FLAGS.SILENT", flags: flags
        )))
    }

    /// RFC 9051 §9: `copy = "COPY" SP sequence-set SP mailbox`, `move = "MOVE" SP sequence-set SP mailbox`.
    mutating func parseCopyArguments(uid: Bool, move: Bool) throws(ParseFailure) -> IMAPCommandParser.Parsed {
        let sequence = try parseSequenceArgument()
        let mailbox = try parseMailboxArgument()
        try parseCommandEnd()
        return IMAPCommandParser.Parsed(kind: move ? .move(uid: uid, sequence: sequence, mailbox: mailbox) : .copy(uid: uid, sequence: sequence, mailbox: mailbox))
    }

    /// RFC 9051 §9: `uid = "UID" SP (copy / move / fetch / search / store / uid-expunge)`,
    /// `uid-expunge = "EXPUNGE" SP sequence-set`; RFC 5256 adds UID SORT and UID THREAD.
    mutating func parseUIDArguments() throws(ParseFailure) -> IMAPCommandParser.Parsed {
        try parseArgumentSeparator(missing: IMAPParseError.Message.missingUIDCommand)
        let name = try parseKeyword(what: "UID command")
        switch name {
        case "FETCH": return try parseFetchArguments(uid: true)
        case "SEARCH": return try parseSearchArguments(uid: true)
        case "STORE": return try parseStoreArguments(uid: true)
        case "COPY": return try parseCopyArguments(uid: true, move: false)
        case "MOVE": return try parseCopyArguments(uid: true, move: true)
        case "SORT": return try parseSortArguments(uid: true)
        case "THREAD": return try parseThreadArguments(uid: true)
        case "EXPUNGE":
            let sequence = try parseSequenceArgument()
            try parseCommandEnd()
            return IMAPCommandParser.Parsed(kind: .uidExpunge(sequence))
        default:
            throw .syntax(IMAPParseError.Message.unknown("UID command", name))
        }
    }
}
