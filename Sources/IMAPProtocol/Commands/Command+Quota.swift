/// One `resource limit` pair of SETQUOTA (RFC 9208 §4.1).
public struct QuotaLimit: Sendable, Hashable {
    /// Upper-cased: STORAGE, MESSAGE, MAILBOX, ANNOTATION-STORAGE, or an extension name.
    public var resource: String
    public var limit: UInt64

    public init(resource: String, limit: UInt64) {
        self.resource = resource
        self.limit = limit
    }
}

extension ByteCursor {
    /// RFC 9208 §7: `getquota = "GETQUOTA" SP quota-root-name`, `quota-root-name = astring`.
    mutating func parseGetQuotaArguments() throws(ParseFailure) -> IMAPCommandParser.Parsed {
        try parseArgumentSeparator(missing: IMAPParseError.Message.missingQuotaRoot)
        let root = try parseAString(what: "quota root").utf8String("Quota root")
        try parseCommandEnd()
        return IMAPCommandParser.Parsed(kind: .getQuota(root))
    }

    /// RFC 9208 §7: `setquota = "SETQUOTA" SP quota-root-name SP setquota-list`,
    /// `setquota-list = "(" [setquota-resource *(SP setquota-resource)] ")"`,
    /// `setquota-resource = resource-name SP resource-limit`, `resource-limit = number64`.
    mutating func parseSetQuotaArguments() throws(ParseFailure) -> IMAPCommandParser.Parsed {
        try parseArgumentSeparator(missing: IMAPParseError.Message.missingQuotaRoot)
        let root = try parseAString(what: "quota root").utf8String("Quota root")
        try parseArgumentSeparator(missing: IMAPParseError.Message.missingQuotaLimits)
        let limits = try parseParenthesizedList(
            allowEmpty: true, limit: 16, tooMany: IMAPParseError.Message.tooManyQuotaLimits,
            missing: IMAPParseError.Message.missingQuotaLimits
        ) { cursor throws(ParseFailure) in
            let resource = try cursor.parseKeyword(what: "quota resource")
            try cursor.parseArgumentSeparator(missing: IMAPParseError.Message.missingQuotaLimits)
            return QuotaLimit(resource: resource, limit: try cursor.parseNumber64(IMAPParseError.Message.invalidNumber))
        }
        try parseCommandEnd()
        return IMAPCommandParser.Parsed(kind: .setQuota(root: root, limits: limits))
    }

    /// RFC 4978 §4: `compress = "COMPRESS" SP algorithm`, `algorithm = "DEFLATE"` (an atom; upper-cased).
    mutating func parseCompressArguments() throws(ParseFailure) -> IMAPCommandParser.Parsed {
        try parseArgumentSeparator(missing: IMAPParseError.Message.missingCompressAlgorithm)
        let algorithm = try parseKeyword(what: "compression algorithm")
        try parseCommandEnd()
        return IMAPCommandParser.Parsed(kind: .compress(algorithm))
    }
}
