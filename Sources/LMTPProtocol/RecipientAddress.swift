/// Splitting a recipient for the userdb lookup: `user+detail@domain` (Dovecot `recipient_delimiter`).
public enum RecipientAddress {
    /// Splits `address` (as `LMTPCommand.rcptTo` gives it) into the user, the detail and the domain.
    ///
    /// - The domain is what follows the last `@` outside a quoted local part; nil when there is none.
    /// - A quoted local part (RFC 5321 §4.1.2) is unquoted: `"a b"@x` gives user `a b`.
    /// - The detail starts after the first character of `delimiters` found in the local part, as Dovecot's
    ///   `recipient_delimiter` with several characters ("+-") does. A delimiter as first character does not
    ///   split (the user would be empty); an empty detail (`user+@x`) is nil.
    public static func split(_ address: String, delimiters: String) -> (user: String, detail: String?, domain: String?) {
        let bytes = Array(address.utf8)
        let at = lastAtOutsideQuotes(bytes)
        let localBytes = at.map { bytes[..<$0] } ?? bytes[...]
        let domain = at.map { String(decoding: bytes[($0 + 1)...], as: UTF8.self) }
        let local = unquoted(localBytes)
        let delimiterSet = Set(delimiters.unicodeScalars)
        guard !delimiterSet.isEmpty,
            let index = local.unicodeScalars.firstIndex(where: { delimiterSet.contains($0) }),
            index != local.unicodeScalars.startIndex
        else { return (local, nil, domain) }
        let user = String(local.unicodeScalars[..<index])
        let detail = String(local.unicodeScalars[local.unicodeScalars.index(after: index)...])
        return (user, detail.isEmpty ? nil : detail, domain)
    }

    private static func lastAtOutsideQuotes(_ bytes: [UInt8]) -> Int? {
        bytes.indicesOutsideQuotes().last { bytes[$0] == ASCII.at }
    }

    /// RFC 5321 §4.1.2 Quoted-string to its content: quotes removed, quoted-pairs resolved.
    private static func unquoted(_ bytes: ArraySlice<UInt8>) -> String {
        guard bytes.count >= 2, bytes.first == ASCII.dquote, bytes.last == ASCII.dquote else {
            return String(decoding: bytes, as: UTF8.self)
        }
        var out: [UInt8] = []
        var escaped = false
        for byte in bytes.dropFirst().dropLast() {
            if escaped {
                out.append(byte)
                escaped = false
            } else if byte == ASCII.backslash {
                escaped = true
            } else {
                out.append(byte)
            }
        }
        return String(decoding: out, as: UTF8.self)
    }
}
