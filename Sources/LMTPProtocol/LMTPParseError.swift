/// A command the server refuses before acting on it: an SMTP reply code, an enhanced status code
/// (RFC 3463, RFC 2034) and a fixed text. Texts never quote the client's arguments.
public struct LMTPParseError: Error, Sendable, Equatable, CustomStringConvertible {
    public var code: Int
    public var enhanced: String
    public var text: String

    public init(code: Int, enhanced: String, text: String) {
        self.code = code
        self.enhanced = enhanced
        self.text = text
    }

    /// The reply line without CRLF, e.g. `501 5.5.4 Syntax: MAIL FROM:<address>`.
    public var description: String { "\(code) \(enhanced) \(text)" }

    /// The reply to send.
    public var reply: LMTPReply { LMTPReply(code: code, enhanced: enhanced, text: [text]) }

    // RFC 5321 §4.2.2 codes; RFC 3463 §3.3 X.1.x address, §3.6 X.5.x protocol subjects.
    public static let emptyCommand = LMTPParseError(code: 500, enhanced: "5.5.2", text: "Empty command")
    public static let unknownCommand = LMTPParseError(code: 500, enhanced: "5.5.1", text: "Unknown command")
    /// RFC 2033 §4.1: an LMTP server must not accept HELO or EHLO.
    public static let useLHLO = LMTPParseError(code: 500, enhanced: "5.5.1", text: "Unknown command, use LHLO")
    public static let invalidCharacters = LMTPParseError(code: 500, enhanced: "5.5.2", text: "Invalid characters in command")
    public static let lineTooLong = LMTPParseError(code: 500, enhanced: "5.5.2", text: "Line too long")
    public static let lhloSyntax = LMTPParseError(code: 501, enhanced: "5.5.4", text: "Syntax: LHLO hostname")
    public static let mailSyntax = LMTPParseError(code: 501, enhanced: "5.5.4", text: "Syntax: MAIL FROM:<address>")
    public static let rcptSyntax = LMTPParseError(code: 501, enhanced: "5.5.4", text: "Syntax: RCPT TO:<address>")
    public static let bdatSyntax = LMTPParseError(code: 501, enhanced: "5.5.4", text: "Syntax: BDAT size [LAST]")
    public static let vrfySyntax = LMTPParseError(code: 501, enhanced: "5.5.4", text: "Syntax: VRFY address")
    public static let unexpectedArguments = LMTPParseError(code: 501, enhanced: "5.5.4", text: "Unexpected arguments")
    /// RFC 3463 §3.3 X.1.7: bad sender's mailbox address syntax.
    public static let invalidSender = LMTPParseError(code: 501, enhanced: "5.1.7", text: "Invalid sender address")
    /// RFC 3463 §3.3 X.1.3: bad destination mailbox address syntax.
    public static let invalidAddress = LMTPParseError(code: 501, enhanced: "5.1.3", text: "Invalid address")
    public static let invalidParameters = LMTPParseError(code: 501, enhanced: "5.5.4", text: "Invalid parameters")
    public static let duplicateParameter = LMTPParseError(code: 501, enhanced: "5.5.4", text: "Duplicate parameter")
    /// RFC 5321 §4.1.1.11: parameters not recognized or not implemented.
    public static let unsupportedParameter = LMTPParseError(code: 555, enhanced: "5.5.4", text: "Unsupported parameter")
    /// RFC 1870 §6: `SIZE=1*20DIGIT`.
    public static let invalidSize = LMTPParseError(code: 501, enhanced: "5.5.4", text: "Invalid SIZE parameter")
    /// RFC 6152 §2, RFC 3030 §3: BODY=7BIT / 8BITMIME / BINARYMIME.
    public static let invalidBody = LMTPParseError(code: 501, enhanced: "5.5.4", text: "Unsupported BODY type")
}
