/// A FETCH or UID FETCH command (RFC 9051 §6.4.5).
public struct FetchCommand: Sendable, Hashable {
    public var uid: Bool
    public var sequence: SequenceSet
    /// The items asked for, macros expanded, in the client's order.
    public var attributes: [FetchAttribute]
    /// RFC 7162 §3.1.4.1: `CHANGEDSINCE modseq`.
    public var changedSince: UInt64?
    /// RFC 7162 §3.2.6: `VANISHED` (only with UID FETCH and CHANGEDSINCE).
    public var vanished: Bool

    public init(uid: Bool, sequence: SequenceSet, attributes: [FetchAttribute], changedSince: UInt64? = nil, vanished: Bool = false) {
        self.uid = uid
        self.sequence = sequence
        self.attributes = attributes
        self.changedSince = changedSince
        self.vanished = vanished
    }
}

extension ByteCursor {
    /// RFC 9051 §9: `fetch = "FETCH" SP sequence-set SP ("ALL" / "FULL" / "FAST" / fetch-att /
    /// "(" fetch-att *(SP fetch-att) ")") [fetch-modifiers]`; RFC 7162 §7: `fetch-modifiers = SP "(" fetch-modifier
    /// *(SP fetch-modifier) ")"`, `fetch-modifier =/ chgsince-fetch-mod / rexpunges-fetch-mod`,
    /// `chgsince-fetch-mod = "CHANGEDSINCE" SP mod-sequence-value`, `rexpunges-fetch-mod = "VANISHED"`.
    mutating func parseFetchArguments(uid: Bool) throws(ParseFailure) -> IMAPCommandParser.Parsed {
        let sequence = try parseSequenceArgument()
        try parseArgumentSeparator(missing: IMAPParseError.Message.missingFetchAttributes)
        var attributes: [FetchAttribute]
        if peek == ASCII.openParen {
            attributes = try parseParenthesizedList(
                allowEmpty: false, limit: FetchAttribute.maximumListCount, tooMany: IMAPParseError.Message.tooManyFetchAttributes,
                missing: IMAPParseError.Message.missingFetchAttributes
            ) { cursor throws(ParseFailure) in try cursor.parseFetchAttribute() }
        } else if let macro = try optional({ cursor throws(ParseFailure) -> [FetchAttribute] in
            let name = try cursor.parseKeyword(what: "FETCH attribute")
            guard cursor.peek == nil || cursor.peek == ASCII.space else { throw .syntax("") }
            switch name {
            case "ALL": return FetchAttribute.allMacro
            case "FAST": return FetchAttribute.fastMacro
            case "FULL": return FetchAttribute.fullMacro
            default: throw .syntax("")
            }
        }) {
            attributes = macro
        } else {
            attributes = [try parseFetchAttribute()]
        }
        var command = FetchCommand(uid: uid, sequence: sequence, attributes: attributes)
        if try parseOptionalArgumentSeparator() {
            _ = try parseParenthesizedList(
                allowEmpty: false, limit: 8, tooMany: IMAPParseError.Message.unknown("FETCH modifier", ""),
                missing: IMAPParseError.Message.missingFetchModifiers
            ) { cursor throws(ParseFailure) in
                let name = try cursor.parseKeyword(what: "FETCH modifier")
                switch name {
                case "CHANGEDSINCE":
                    try cursor.parseArgumentSeparator(missing: IMAPParseError.Message.invalidModSequence)
                    command.changedSince = try cursor.parseModSequence(allowZero: false)
                case "VANISHED":
                    command.vanished = true
                default:
                    throw .syntax(IMAPParseError.Message.unknown("FETCH modifier", name))
                }
            }
        }
        try parseCommandEnd()
        // RFC 7162 §3.2.6: VANISHED without CHANGEDSINCE, or in a non-UID FETCH, is a BAD.
        if command.vanished, !uid || command.changedSince == nil {
            throw .syntax(IMAPParseError.Message.vanishedNeedsChangedSince)
        }
        return IMAPCommandParser.Parsed(kind: .fetch(command))
    }

    /// The SP and the sequence set a command requires.
    mutating func parseSequenceArgument() throws(ParseFailure) -> SequenceSet {
        try parseArgumentSeparator(missing: IMAPParseError.Message.missingSequenceSet)
        return try parseSequenceSet()
    }
}
