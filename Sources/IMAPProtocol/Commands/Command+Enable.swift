extension ByteCursor {
    /// RFC 9051 §6.3.1 and §9 (RFC 5161 §4): `enable = "ENABLE" 1*(SP capability)`.
    mutating func parseEnableArguments() throws(ParseFailure) -> IMAPCommandParser.Parsed {
        try parseArgumentSeparator(missing: IMAPParseError.Message.missingCapability)
        var names = [try parseCapabilityName()]
        while try parseOptionalArgumentSeparator() {
            names.append(try parseCapabilityName())
        }
        return IMAPCommandParser.Parsed(kind: .enable(names))
    }
}
