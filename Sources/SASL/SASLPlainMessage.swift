/// RFC 4616 §2 message grammar: `[authzid] UTF8NUL authcid UTF8NUL passwd`.
enum SASLPlainMessage {
    /// Splits and validates a PLAIN message; nil when it is not exactly three UTF-8 fields with a non-empty authcid.
    static func parse(_ message: [UInt8]) -> SASLCredentials? {
        // Exactly two NULs: a NUL inside any field makes more than three parts.
        let parts = message.split(separator: 0, maxSplits: 3, omittingEmptySubsequences: false)
        guard parts.count == 3 else { return nil }
        guard let authzid = field(parts[0]), let authcid = field(parts[1]), let password = field(parts[2]) else { return nil }
        // RFC 4616 §2: authcid and passwd are 1*SAFE; an empty password is left to the passdb to refuse.
        guard !authcid.isEmpty else { return nil }
        return SASLCredentials(authorizationID: authzid, authenticationID: authcid, password: password)
    }

    /// One field as a string: valid UTF-8 (RFC 4616 §2, RFC 3629) with no NUL.
    static func field(_ bytes: some Collection<UInt8>) -> String? {
        guard !bytes.contains(0) else { return nil }
        return String(validating: bytes, as: UTF8.self)
    }
}
