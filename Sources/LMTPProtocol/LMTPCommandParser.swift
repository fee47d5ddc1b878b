/// Parses one command line (see `LMTPLineFramer`) into an `LMTPCommand`.
///
/// RFC 5321 §4.1.1: `verb [SP arguments]`, verbs case-insensitive. Lenient where MTAs differ from the
/// grammar in harmless ways: spaces after `FROM:` / `TO:` and several spaces between parameters.
extension LMTPCommand {
    /// RFC 3030 §2 `chunk-size = 1*DIGIT`; 18 digits always fit in `Int`.
    static let maximumChunkSizeDigits = 18

    public static func parse(_ line: [UInt8]) throws(LMTPParseError) -> LMTPCommand {
        guard !line.contains(where: { $0 == ASCII.nul || $0 == ASCII.cr || $0 == ASCII.lf }) else {
            throw .invalidCharacters
        }
        guard !line.isEmpty else { throw .emptyCommand }
        let space = line.firstIndex(of: ASCII.space) ?? line.endIndex
        let verb = String(decoding: line[..<space].map(\.asciiUppercased), as: UTF8.self)
        let arguments = line[space...].drop(while: { $0 == ASCII.space })

        switch verb {
        case "LHLO": return try parseLHLO(arguments)
        case "MAIL":
            let (address, parameters) = try parsePathCommand(arguments, prefix: "FROM:", isSender: true)
            return .mailFrom(address: address, parameters: parameters)
        case "RCPT":
            let (address, parameters) = try parsePathCommand(arguments, prefix: "TO:", isSender: false)
            return .rcptTo(address: address, parameters: parameters)
        case "DATA": return try noArguments(arguments, .data)
        case "BDAT": return try parseBDAT(arguments)
        case "RSET": return try noArguments(arguments, .rset)
        case "NOOP": return .noop
        case "QUIT": return try noArguments(arguments, .quit)
        case "VRFY":
            guard !arguments.isEmpty else { throw .vrfySyntax }
            return .vrfy(String(decoding: arguments, as: UTF8.self))
        case "HELP": return .help
        case "STARTTLS": return try noArguments(arguments, .starttls)
        case "HELO", "EHLO": throw .useLHLO
        default: throw .unknownCommand
        }
    }

    private static func noArguments(_ arguments: ArraySlice<UInt8>, _ command: LMTPCommand) throws(LMTPParseError) -> LMTPCommand {
        guard arguments.isEmpty else { throw .unexpectedArguments }
        return command
    }

    /// RFC 2033 §4.1 / RFC 5321 §4.1.1.1: `LHLO SP (Domain / address-literal)`; the name is taken as sent.
    private static func parseLHLO(_ arguments: ArraySlice<UInt8>) throws(LMTPParseError) -> LMTPCommand {
        let name = arguments.prefix(while: { $0 != ASCII.space })
        guard !name.isEmpty, let domain = String(validating: name, as: UTF8.self) else { throw .lhloSyntax }
        return .lhlo(domain: domain)
    }

    /// RFC 3030 §2: `"BDAT" SP chunk-size [ SP end-marker ]`, `end-marker = "LAST"`.
    private static func parseBDAT(_ arguments: ArraySlice<UInt8>) throws(LMTPParseError) -> LMTPCommand {
        let words = arguments.split(separator: ASCII.space)
        guard (1...2).contains(words.count), words[0].count <= maximumChunkSizeDigits, words[0].allSatisfy(\.isDigit) else {
            throw .bdatSyntax
        }
        let size = words[0].reduce(0) { $0 * 10 + Int($1 - 0x30) }
        guard words.count == 2 else { return .bdat(size: size, last: false) }
        guard words[1].map(\.asciiUppercased) == Array("LAST".utf8) else { throw .bdatSyntax }
        return .bdat(size: size, last: true)
    }

    /// `FROM:` / `TO:` then a path and parameters (RFC 5321 §4.1.1.2, §4.1.1.3).
    private static func parsePathCommand(
        _ arguments: ArraySlice<UInt8>, prefix: StaticString, isSender: Bool
    ) throws(LMTPParseError) -> (String, [String: String?]) {
        let syntax: LMTPParseError = isSender ? .mailSyntax : .rcptSyntax
        let expected = UnsafeBufferPointer(start: prefix.utf8Start, count: prefix.utf8CodeUnitCount)
        guard arguments.count >= expected.count,
            zip(arguments, expected).allSatisfy({ $0.asciiUppercased == $1 })
        else { throw syntax }
        let afterPrefix = arguments.dropFirst(expected.count).drop(while: { $0 == ASCII.space })
        let (address, rest) = try MailPath.parse(afterPrefix, isSender: isSender, syntaxError: syntax)
        let parameters = try MailParameters.parse(rest, isSender: isSender)
        return (address, parameters)
    }
}
