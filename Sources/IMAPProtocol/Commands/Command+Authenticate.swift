extension ByteCursor {
    /// RFC 9051 §6.2.2 and §9 (with RFC 4959 §7 SASL-IR):
    /// `authenticate = "AUTHENTICATE" SP auth-type [SP initial-resp] *(CRLF base64)`,
    /// `initial-resp = (base64 / "=")`. The continuation lines are `SASLResponseLine`s.
    mutating func parseAuthenticateArguments() throws(ParseFailure) -> IMAPCommandParser.Parsed {
        try parseArgumentSeparator(missing: IMAPParseError.Message.missingMechanism)
        let mechanism = try parseAuthType()
        guard try parseOptionalArgumentSeparator() else {
            return IMAPCommandParser.Parsed(kind: .authenticate(mechanism: mechanism, initialResponse: nil))
        }
        let start = position
        let response = try readWhile { $0.isBase64Char || $0 == ASCII.equals }
        guard !response.isEmpty, Base64Syntax.isInitialResponse(response) else {
            throw .syntax(IMAPParseError.Message.invalidInitialResponse)
        }
        try parseCommandEnd()
        return IMAPCommandParser.Parsed(
            kind: .authenticate(mechanism: mechanism, initialResponse: String(decoding: response, as: UTF8.self)),
            hidden: [start..<position]
        )
    }
}

/// RFC 9051 §9: `base64 = *(4base64-char) [base64-terminal]`,
/// `base64-terminal = (2base64-char "==") / (3base64-char "=")`.
enum Base64Syntax {
    /// RFC 4959 §7: `initial-resp = (base64 / "=")`; `=` alone means an empty response.
    static func isInitialResponse(_ bytes: ArraySlice<UInt8>) -> Bool {
        bytes.elementsEqual([ASCII.equals]) || isBase64(bytes)
    }

    static func isBase64(_ bytes: ArraySlice<UInt8>) -> Bool {
        guard bytes.count % 4 == 0 else { return false }
        let padding = bytes.reversed().prefix(while: { $0 == ASCII.equals }).count
        guard padding <= 2 else { return false }
        return bytes.dropLast(padding).allSatisfy(\.isBase64Char)
    }
}

/// A client line during an AUTHENTICATE exchange (RFC 9051 §6.2.2).
public enum SASLContinuation: Sendable, Equatable {
    /// `*`: the client aborts the exchange; answer BAD.
    case cancel
    /// The base64 response as sent (possibly empty); the SASL layer decodes it.
    case data(String)
}

/// Reads AUTHENTICATE continuation lines (RFC 9051 §6.2.2: `base64 CRLF`, or `"*" CRLF` to cancel).
public enum SASLResponseLine {
    /// `unit` is one framed line; bytes outside base64 are kept and fail decoding later.
    public static func parse(_ unit: [UInt8]) -> SASLContinuation {
        if unit == [ASCII.asterisk] { return .cancel }
        return .data(String(decoding: unit, as: UTF8.self))
    }
}
