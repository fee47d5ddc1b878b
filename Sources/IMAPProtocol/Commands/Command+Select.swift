/// SELECT / EXAMINE parameters (RFC 4466 §2.1 `select-params`).
public struct SelectParameters: Sendable, Hashable {
    /// RFC 7162 §3.1.8: `CONDSTORE`; also implied by `qresync`.
    public var condstore: Bool
    /// RFC 7162 §3.2.5: `QRESYNC (…)`.
    public var qresync: QResyncParameters?

    public init(condstore: Bool = false, qresync: QResyncParameters? = nil) {
        self.condstore = condstore
        self.qresync = qresync
    }

    public static let none = SelectParameters()
}

/// RFC 7162 §3.2.5: what the client knew about the mailbox.
public struct QResyncParameters: Sendable, Hashable {
    public var uidValidity: UInt32
    public var modSeq: UInt64
    /// `known-uids`: nil means every UID the client has seen.
    public var knownUIDs: SequenceSet?
    /// `seq-match-data`: message sequence numbers and the UIDs they had.
    public var sequenceMatch: QResyncSequenceMatch?

    public init(uidValidity: UInt32, modSeq: UInt64, knownUIDs: SequenceSet? = nil, sequenceMatch: QResyncSequenceMatch? = nil) {
        self.uidValidity = uidValidity
        self.modSeq = modSeq
        self.knownUIDs = knownUIDs
        self.sequenceMatch = sequenceMatch
    }
}

/// RFC 7162 §3.2.5: `seq-match-data = "(" known-sequence-set SP known-uid-set ")"`.
public struct QResyncSequenceMatch: Sendable, Hashable {
    public var sequenceNumbers: SequenceSet
    public var uids: SequenceSet

    public init(sequenceNumbers: SequenceSet, uids: SequenceSet) {
        self.sequenceNumbers = sequenceNumbers
        self.uids = uids
    }
}

extension ByteCursor {
    /// RFC 9051 §9: `select = "SELECT" SP mailbox [select-params]`, `examine = "EXAMINE" SP mailbox [select-params]`,
    /// `select-params = SP "(" select-param *(SP select-param) ")"`; RFC 7162 §7: `select-param =/ condstore-param /
    /// "QRESYNC" SP "(" uidvalidity SP mod-sequence-value [SP known-uids] [SP seq-match-data] ")"`.
    mutating func parseSelectArguments(examine: Bool) throws(ParseFailure) -> IMAPCommandParser.Parsed {
        let mailbox = try parseMailboxArgument()
        var parameters = SelectParameters()
        if try parseOptionalArgumentSeparator() {
            let names = try parseParenthesizedList(
                allowEmpty: true, limit: 8, tooMany: IMAPParseError.Message.unknown("SELECT parameter", ""),
                missing: IMAPParseError.Message.missingSelectParameters
            ) { cursor throws(ParseFailure) -> String in
                let name = try cursor.parseKeyword(what: "SELECT parameter")
                switch name {
                case "CONDSTORE":
                    break
                case "QRESYNC":
                    guard parameters.qresync == nil else { throw .syntax(IMAPParseError.Message.invalidQResync) }
                    try cursor.parseArgumentSeparator(missing: IMAPParseError.Message.invalidQResync)
                    parameters.qresync = try cursor.parseQResyncParameters()
                default:
                    throw .syntax(IMAPParseError.Message.unknown("SELECT parameter", name))
                }
                return name
            }
            parameters.condstore = names.contains("CONDSTORE") || parameters.qresync != nil
        }
        try parseCommandEnd()
        return IMAPCommandParser.Parsed(kind: examine ? .examine(mailbox: mailbox, parameters: parameters) : .select(mailbox: mailbox, parameters: parameters))
    }

    /// RFC 7162 §7: `"(" uidvalidity SP mod-sequence-value [SP known-uids] [SP seq-match-data] ")"`.
    private mutating func parseQResyncParameters() throws(ParseFailure) -> QResyncParameters {
        let invalid = IMAPParseError.Message.invalidQResync
        try expect(ASCII.openParen, orElse: invalid)
        let uidValidity = try parseNZNumber(invalid)
        try parseArgumentSeparator(missing: invalid)
        var result = QResyncParameters(uidValidity: uidValidity, modSeq: try parseModSequence(allowZero: false))
        if consume(ASCII.closeParen) { return result }
        try parseArgumentSeparator(missing: invalid)
        if atSequenceSet {
            result.knownUIDs = try parseSequenceSet()
            if consume(ASCII.closeParen) { return result }
            try parseArgumentSeparator(missing: invalid)
        }
        try expect(ASCII.openParen, orElse: invalid)
        let sequenceNumbers = try parseSequenceSet()
        try parseArgumentSeparator(missing: invalid)
        let uids = try parseSequenceSet()
        try expect(ASCII.closeParen, orElse: invalid)
        result.sequenceMatch = QResyncSequenceMatch(sequenceNumbers: sequenceNumbers, uids: uids)
        try expect(ASCII.closeParen, orElse: invalid)
        return result
    }
}
