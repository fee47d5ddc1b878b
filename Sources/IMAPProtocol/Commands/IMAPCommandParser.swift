/// Parses one framed command unit (see `IMAPCommandFramer`) into an `IMAPCommand`.
///
/// RFC 9051 §9: `command = tag SP (command-any / command-auth / command-nonauth / command-select) CRLF`.
/// Strict like Dovecot: exactly one SP between arguments, nothing after the last one.
public enum IMAPCommandParser {
    /// Longest atom accepted where an atom is a name (command, capability, mechanism).
    static let maximumAtomLength = 256

    public static func parse(_ unit: [UInt8]) throws(IMAPParseError) -> IMAPCommand {
        var cursor = ByteCursor(unit)
        let tag: IMAPTag
        do {
            tag = try cursor.parseTag()
        } catch {
            throw IMAPParseError(tag: nil, message: error.message)
        }
        do {
            let name = try cursor.parseCommandName()
            let parsed = try parseArguments(of: name, cursor: &cursor)
            let description = Redaction.describe(unit, hiding: parsed.hidden)
            return IMAPCommand(tag: tag, kind: parsed.kind, redactedDescription: description)
        } catch {
            throw IMAPParseError(tag: tag, message: error.message)
        }
    }

    /// A log-safe rendering of any unit, even one that failed to parse: literals become `{N}`, and
    /// everything after the command name of LOGIN and AUTHENTICATE becomes `<hidden>`.
    public static func redactedDescription(of unit: [UInt8]) -> String {
        var cursor = ByteCursor(unit)
        guard (try? cursor.parseTag()) != nil, let name = try? cursor.parseCommandName() else {
            return Redaction.describe(unit, hiding: [])
        }
        guard name == "LOGIN" || name == "AUTHENTICATE", !cursor.isAtEnd else {
            return Redaction.describe(unit, hiding: [])
        }
        return Redaction.describe(unit, hiding: [(cursor.position + 1)..<unit.count])
    }

    /// A command's meaning plus the unit ranges its redacted description must hide.
    struct Parsed {
        var kind: IMAPCommandKind
        var hidden: [Range<Int>] = []
    }

    private static func parseArguments(of name: String, cursor: inout ByteCursor) throws(ParseFailure) -> Parsed {
        switch name {
        case "CAPABILITY": return try cursor.parseNoArguments(.capability)
        case "NOOP": return try cursor.parseNoArguments(.noop)
        case "LOGOUT": return try cursor.parseNoArguments(.logout)
        case "STARTTLS": return try cursor.parseNoArguments(.starttls)
        case "LOGIN": return try cursor.parseLoginArguments()
        case "AUTHENTICATE": return try cursor.parseAuthenticateArguments()
        case "ID": return try cursor.parseIDArguments()
        case "ENABLE": return try cursor.parseEnableArguments()
        case "SELECT", "EXAMINE": return try cursor.parseSelectArguments(examine: name == "EXAMINE")
        case "CREATE": return try cursor.parseCreateArguments()
        case "DELETE": return try cursor.parseSingleMailboxArgument(IMAPCommandKind.delete)
        case "RENAME": return try cursor.parseRenameArguments()
        case "SUBSCRIBE": return try cursor.parseSingleMailboxArgument(IMAPCommandKind.subscribe)
        case "UNSUBSCRIBE": return try cursor.parseSingleMailboxArgument(IMAPCommandKind.unsubscribe)
        case "LIST": return try cursor.parseListArguments()
        case "LSUB": return try cursor.parseLSubArguments()
        case "NAMESPACE": return try cursor.parseNoArguments(.namespace)
        case "STATUS": return try cursor.parseStatusArguments()
        case "APPEND": return try cursor.parseAppendArguments()
        case "IDLE": return try cursor.parseNoArguments(.idle)
        case "CHECK": return try cursor.parseNoArguments(.check)
        case "CLOSE": return try cursor.parseNoArguments(.close)
        case "UNSELECT": return try cursor.parseNoArguments(.unselect)
        case "EXPUNGE": return try cursor.parseNoArguments(.expunge)
        case "SEARCH": return try cursor.parseSearchArguments(uid: false)
        case "FETCH": return try cursor.parseFetchArguments(uid: false)
        case "STORE": return try cursor.parseStoreArguments(uid: false)
        case "COPY", "MOVE": return try cursor.parseCopyArguments(uid: false, move: name == "MOVE")
        case "UID": return try cursor.parseUIDArguments()
        case "SORT": return try cursor.parseSortArguments(uid: false)
        case "THREAD": return try cursor.parseThreadArguments(uid: false)
        case "CANCELUPDATE": return try cursor.parseCancelUpdateArguments()
        case "NOTIFY": return try cursor.parseNotifyArguments()
        case "COMPRESS": return try cursor.parseCompressArguments()
        case "GETQUOTA": return try cursor.parseGetQuotaArguments()
        case "GETQUOTAROOT": return try cursor.parseSingleMailboxArgument(IMAPCommandKind.getQuotaRoot)
        case "SETQUOTA": return try cursor.parseSetQuotaArguments()
        case "UNAUTHENTICATE": return try cursor.parseNoArguments(.unauthenticate)
        default:
            guard IMAPCommandNames.known.contains(name) else {
                throw .syntax(IMAPParseError.Message.unknownCommand(name))
            }
            return Parsed(kind: .other(name: name))
        }
    }
}

extension ByteCursor {
    /// The SP after the tag, then the command name (an atom, RFC 9051 §9), upper-cased.
    mutating func parseCommandName() throws(ParseFailure) -> String {
        guard consume(ASCII.space), let first = peek else { throw .syntax(IMAPParseError.Message.missingCommand) }
        guard first != ASCII.space else { throw .syntax(IMAPParseError.Message.doubleSpaces) }
        let name = try readWhile { $0.isAtomChar }
        guard !name.isEmpty, isAtEnd || peek == ASCII.space else {
            throw .syntax(IMAPParseError.Message.invalidCommandName)
        }
        return String(decoding: name, as: UTF8.self).uppercased()
    }

    /// The single SP before a required argument, which must follow.
    mutating func parseArgumentSeparator(missing: String) throws(ParseFailure) {
        guard let next = peek else { throw endOfInput(missing) }
        // A list closing early ("(QRESYNC)") lacks the argument rather than a space.
        guard next == ASCII.space else { throw .syntax(next == ASCII.closeParen ? missing : "Expected space") }
        position += 1
        guard let following = peek else { throw endOfInput(missing) }
        if following == ASCII.space { throw .syntax(IMAPParseError.Message.doubleSpaces) }
    }

    /// The SP before an optional argument: false (nothing consumed) at the end of the command.
    mutating func parseOptionalArgumentSeparator() throws(ParseFailure) -> Bool {
        guard let next = peek else { return false }
        guard next == ASCII.space else { throw .syntax("Expected space") }
        position += 1
        guard let following = peek else { throw .syntax(IMAPParseError.Message.trailingSpace) }
        if following == ASCII.space { throw .syntax(IMAPParseError.Message.doubleSpaces) }
        return true
    }

    /// Nothing may follow the last argument.
    func parseCommandEnd() throws(ParseFailure) {
        guard let next = peek else { return }
        if next == ASCII.space, bytes[(position + 1)...].allSatisfy({ $0 == ASCII.space }) {
            throw .syntax(IMAPParseError.Message.trailingSpace)
        }
        throw .syntax(IMAPParseError.Message.unexpectedArguments)
    }

    /// RFC 9051 §9: `command-any = "CAPABILITY" / "LOGOUT" / "NOOP" / …`, `command-nonauth = … / "STARTTLS"`.
    mutating func parseNoArguments(_ kind: IMAPCommandKind) throws(ParseFailure) -> IMAPCommandParser.Parsed {
        try parseCommandEnd()
        return IMAPCommandParser.Parsed(kind: kind)
    }
}

extension ParseFailure {
    /// The client-facing text (a complete unit never yields `incomplete`, but be safe).
    var message: String {
        switch self {
        case .syntax(let message): message
        case .incomplete: "Unexpected end of command"
        }
    }
}
