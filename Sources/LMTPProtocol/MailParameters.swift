/// RFC 5321 §4.1.2 `Mail-parameters` / `Rcpt-parameters`, checked against what Aerie's LMTP understands.
///
/// ```
/// esmtp-param   = esmtp-keyword ["=" esmtp-value]
/// esmtp-keyword = (ALPHA / DIGIT) *(ALPHA / DIGIT / "-")
/// esmtp-value   = 1*(%d33-60 / %d62-126)          ; plus UTF8-non-ascii, RFC 6531 §3.3
/// ```
enum MailParameters {
    /// MAIL: RFC 1870 SIZE, RFC 6152 / RFC 3030 BODY, RFC 6531 SMTPUTF8, RFC 3461 RET / ENVID, RFC 4954 AUTH.
    static let senderKeywords: Set<String> = ["SIZE", "BODY", "SMTPUTF8", "RET", "ENVID", "AUTH"]
    /// RCPT: RFC 3461 NOTIFY / ORCPT.
    static let recipientKeywords: Set<String> = ["NOTIFY", "ORCPT"]
    /// RFC 1870 §6: `size-value = 1*20DIGIT`.
    static let maximumSizeDigits = 20

    /// `bytes` is empty or starts with SP (what follows the path's `>`).
    static func parse(_ bytes: ArraySlice<UInt8>, isSender: Bool) throws(LMTPParseError) -> [String: String?] {
        var parameters: [String: String?] = [:]
        for word in bytes.split(separator: ASCII.space) {
            let equals = word.firstIndex(of: ASCII.equals)
            let keywordBytes = word[..<(equals ?? word.endIndex)]
            guard let first = keywordBytes.first, first.isAlpha || first.isDigit,
                keywordBytes.allSatisfy({ $0.isAlpha || $0.isDigit || $0 == 0x2D })
            else { throw .invalidParameters }
            let keyword = String(decoding: keywordBytes.map(\.asciiUppercased), as: UTF8.self)
            var value: String?
            if let equals {
                let valueBytes = word[(equals + 1)...]
                guard !valueBytes.isEmpty,
                    valueBytes.allSatisfy({ (0x21...0x7E).contains($0) && $0 != ASCII.equals || $0.isNonASCII }),
                    let text = String(validating: valueBytes, as: UTF8.self)
                else { throw .invalidParameters }
                value = text
            }
            guard parameters[keyword] == nil else { throw .duplicateParameter }
            guard (isSender ? senderKeywords : recipientKeywords).contains(keyword) else { throw .unsupportedParameter }
            parameters[keyword] = try checked(keyword, value)
        }
        return parameters
    }

    /// Validates the values the session acts on; BODY is upper-cased.
    private static func checked(_ keyword: String, _ value: String?) throws(LMTPParseError) -> String? {
        switch keyword {
        case "SIZE":
            guard let value, value.utf8.count <= maximumSizeDigits, value.utf8.allSatisfy(\.isDigit) else { throw .invalidSize }
            return value
        case "BODY":
            guard let value, let body = LMTPBodyType(rawValue: value.uppercased()) else { throw .invalidBody }
            return body.rawValue
        case "SMTPUTF8":
            // RFC 6531 §3.4: the parameter has no value.
            guard value == nil else { throw .invalidParameters }
            return nil
        default:
            guard value != nil else { throw .invalidParameters }
            return value
        }
    }
}
