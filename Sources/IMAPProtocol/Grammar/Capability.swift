extension ByteCursor {
    /// RFC 9051 §9: `capability = ("AUTH=" auth-type) / atom`, with `auth-type = atom`.
    ///
    /// Capability names are case-insensitive (RFC 9051 §7.2.2), so they come back upper-cased.
    mutating func parseCapabilityName() throws(ParseFailure) -> String {
        try parseAtom(limit: IMAPCommandParser.maximumAtomLength, what: "capability name").uppercased()
    }

    /// RFC 9051 §9: `auth-type = atom` — a SASL mechanism name (RFC 4422 §3.1), upper-cased.
    mutating func parseAuthType() throws(ParseFailure) -> String {
        try parseAtom(limit: IMAPCommandParser.maximumAtomLength, what: "SASL mechanism").uppercased()
    }
}
