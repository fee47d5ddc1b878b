/// One LMTP client command (RFC 2033 §4, RFC 5321 §4.1.1, RFC 3030 §2, RFC 3207 §4).
public enum LMTPCommand: Sendable, Equatable {
    /// RFC 2033 §4.1 `LHLO domain`.
    case lhlo(domain: String)
    /// RFC 5321 §4.1.1.2 `MAIL FROM:<reverse-path> [parameters]`; "" for the null sender `<>`.
    /// Parameter keywords are upper-cased; a keyword without `=value` maps to nil.
    case mailFrom(address: String, parameters: [String: String?])
    /// RFC 5321 §4.1.1.3 `RCPT TO:<forward-path> [parameters]`; `<Postmaster>` gives "Postmaster".
    case rcptTo(address: String, parameters: [String: String?])
    /// RFC 5321 §4.1.1.4.
    case data
    /// RFC 3030 §2 `BDAT chunk-size [LAST]`.
    case bdat(size: Int, last: Bool)
    /// RFC 5321 §4.1.1.5.
    case rset
    /// RFC 5321 §4.1.1.9 (an argument is allowed and ignored).
    case noop
    /// RFC 5321 §4.1.1.10.
    case quit
    /// RFC 5321 §4.1.1.6 (the session refuses it: `252 2.5.2`).
    case vrfy(String)
    /// RFC 5321 §4.1.1.8 (an argument is allowed and ignored).
    case help
    /// RFC 3207 §4.
    case starttls
}

/// RFC 6152 §2 / RFC 3030 §3: the `BODY` parameter of MAIL FROM.
public enum LMTPBodyType: String, Sendable, Equatable {
    case sevenBit = "7BIT"
    case eightBitMIME = "8BITMIME"
    case binaryMIME = "BINARYMIME"
}

/// The MAIL FROM parameters the session acts on, read from the parsed dictionary.
public struct LMTPMailParameters: Sendable, Equatable {
    /// RFC 1870 §6: the declared message size.
    public var size: Int?
    public var body: LMTPBodyType?
    /// RFC 6531 §3.4.
    public var smtpUTF8: Bool

    public init(_ parameters: [String: String?]) {
        // RFC 1870 §6 allows 20 digits; a value past `Int` is too large for any limit.
        size = parameters["SIZE"].flatMap { $0 }.flatMap { value in value.utf8.allSatisfy(\.isDigit) && !value.isEmpty ? Int(value) ?? .max : nil }
        body = parameters["BODY"].flatMap { $0 }.flatMap { LMTPBodyType(rawValue: $0.uppercased()) }
        smtpUTF8 = parameters.keys.contains("SMTPUTF8")
    }
}
