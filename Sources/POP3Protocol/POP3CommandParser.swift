/// Parses one framed line (see `POP3LineFramer`) into a `POP3Command`.
///
/// RFC 1939 §3: `keyword [SP argument]*`, keywords case-insensitive. Lenient where Dovecot is:
/// several SPs before an argument are accepted, and arguments to argument-less commands are ignored.
extension POP3Command {
    /// RFC 1939 §3: message numbers are decimal; ten digits bound every real mailbox and fit in `Int`.
    static let maximumNumberDigits = 10
    /// RFC 4422 §3.1: `sasl-mech = 1*20mech-char`.
    static let maximumMechanismLength = 20

    public static func parse(_ line: [UInt8]) throws(POP3ParseError) -> POP3Command {
        guard !line.contains(where: { $0 == ASCII.nul || $0 == ASCII.cr || $0 == ASCII.lf }) else {
            throw POP3ParseError(message: POP3ParseError.Message.invalidCharacters)
        }
        guard !line.isEmpty else { throw POP3ParseError(message: POP3ParseError.Message.emptyCommand) }
        let space = line.firstIndex(of: ASCII.space)
        let name = Array(line[..<(space ?? line.endIndex)])
        // RFC 1939 §7 PASS: the argument is everything after the single SP that ends the keyword.
        let rawArguments = space.map { line[($0 + 1)...] } ?? []
        let arguments = rawArguments.drop(while: { $0 == ASCII.space })

        switch String(decoding: name.map(\.asciiUppercased), as: UTF8.self) {
        case "USER": return .user(try text(arguments))
        case "PASS": return .pass(try text(rawArguments))
        case "APOP": return try parseAPOP(arguments)
        case "AUTH": return try parseAUTH(arguments)
        case "STAT": return .stat
        case "LIST": return .list(arguments.isEmpty ? nil : try messageNumber(arguments))
        case "RETR": return .retr(try messageNumber(arguments))
        case "DELE": return .dele(try messageNumber(arguments))
        case "NOOP": return .noop
        case "RSET": return .rset
        case "QUIT": return .quit
        case "TOP": return try parseTOP(arguments)
        case "UIDL": return .uidl(arguments.isEmpty ? nil : try messageNumber(arguments))
        case "CAPA": return .capa
        case "STLS": return .stls
        case "UTF8": return .utf8
        default: throw POP3ParseError(message: POP3ParseError.Message.unknownCommand(name))
        }
    }

    /// A whole-argument string: non-empty, valid UTF-8 (RFC 6856 §3 allows UTF-8 user names and passwords).
    private static func text(_ bytes: ArraySlice<UInt8>) throws(POP3ParseError) -> String {
        guard !bytes.isEmpty else { throw POP3ParseError(message: POP3ParseError.Message.missingArgument) }
        guard let string = String(validating: bytes, as: UTF8.self) else {
            throw POP3ParseError(message: POP3ParseError.Message.invalidUTF8)
        }
        return string
    }

    /// RFC 1939 §3 / §5: `msg` is a positive decimal, nothing after it.
    private static func messageNumber(_ bytes: ArraySlice<UInt8>) throws(POP3ParseError) -> Int {
        var rest = bytes
        let number = try leadingMessageNumber(&rest)
        guard rest.isEmpty else { throw POP3ParseError(message: POP3ParseError.Message.noiseAfterMessageNumber) }
        return number
    }

    /// A positive decimal of at most ten digits at the start of `bytes`, which is advanced past it.
    private static func leadingMessageNumber(_ bytes: inout ArraySlice<UInt8>) throws(POP3ParseError) -> Int {
        guard !bytes.isEmpty else { throw POP3ParseError(message: POP3ParseError.Message.missingArgument) }
        guard let number = leadingDecimal(&bytes), number > 0 else {
            throw POP3ParseError(message: POP3ParseError.Message.invalidMessageNumber)
        }
        return number
    }

    /// `1*10DIGIT` at the start of `bytes`; nil (nothing consumed) if there is none or it is longer.
    private static func leadingDecimal(_ bytes: inout ArraySlice<UInt8>) -> Int? {
        let digits = bytes.prefix(while: \.isDigit)
        guard !digits.isEmpty, digits.count <= maximumNumberDigits else { return nil }
        bytes = bytes.dropFirst(digits.count)
        return digits.reduce(0) { $0 * 10 + Int($1 - 0x30) }
    }

    /// RFC 1939 §7: `TOP msg n`, n a non-negative number of body lines.
    private static func parseTOP(_ arguments: ArraySlice<UInt8>) throws(POP3ParseError) -> POP3Command {
        var rest = arguments
        let msg = try leadingMessageNumber(&rest)
        guard rest.first == ASCII.space else {
            throw POP3ParseError(message: rest.isEmpty ? POP3ParseError.Message.missingArgument : POP3ParseError.Message.noiseAfterMessageNumber)
        }
        rest = rest.drop(while: { $0 == ASCII.space })
        guard !rest.isEmpty else { throw POP3ParseError(message: POP3ParseError.Message.missingArgument) }
        guard let lines = leadingDecimal(&rest), rest.isEmpty else {
            throw POP3ParseError(message: POP3ParseError.Message.invalidLineCount)
        }
        return .top(msg: msg, lines: lines)
    }

    /// RFC 1939 §7: `APOP name digest`.
    private static func parseAPOP(_ arguments: ArraySlice<UInt8>) throws(POP3ParseError) -> POP3Command {
        let words = arguments.split(separator: ASCII.space)
        guard words.count >= 2 else { throw POP3ParseError(message: POP3ParseError.Message.missingArgument) }
        guard words.count == 2 else { throw POP3ParseError(message: POP3ParseError.Message.tooManyArguments) }
        return .apop(user: try text(words[0]), digest: try text(words[1]))
    }

    /// RFC 5034 §4: `AUTH mechanism [SP initial-response]`; `initial-response = base64 / "="`.
    private static func parseAUTH(_ arguments: ArraySlice<UInt8>) throws(POP3ParseError) -> POP3Command {
        guard !arguments.isEmpty else { return .auth(mechanism: nil, initialResponse: nil) }
        let words = arguments.split(separator: ASCII.space)
        guard words.count <= 2 else { throw POP3ParseError(message: POP3ParseError.Message.tooManyArguments) }
        let mechanism = words[0]
        // RFC 4422 §3.1: `mech-char = UPPER-ALPHA / DIGIT / HYPHEN / UNDERSCORE`; lower case accepted and folded.
        guard mechanism.count <= maximumMechanismLength,
            mechanism.allSatisfy({ $0.asciiUppercased.isMechanismChar })
        else { throw POP3ParseError(message: POP3ParseError.Message.invalidMechanism) }
        let name = String(decoding: mechanism.map(\.asciiUppercased), as: UTF8.self)
        guard words.count == 2 else { return .auth(mechanism: name, initialResponse: nil) }
        guard words[1].allSatisfy(\.isBase64OrPad) else {
            throw POP3ParseError(message: POP3ParseError.Message.invalidInitialResponse)
        }
        return .auth(mechanism: name, initialResponse: String(decoding: words[1], as: UTF8.self))
    }
}

extension UInt8 {
    /// RFC 4422 §3.1 `mech-char`.
    fileprivate var isMechanismChar: Bool {
        (0x41...0x5A).contains(self) || isDigit || self == 0x2D || self == 0x5F
    }
}
