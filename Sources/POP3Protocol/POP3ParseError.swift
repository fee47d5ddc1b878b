/// A command the server cannot parse; the session answers `-ERR message`.
///
/// Messages quote at most the command keyword (bounded, printable), never an argument,
/// so a mistyped password cannot reach a reply or a log.
public struct POP3ParseError: Error, Sendable, Equatable, CustomStringConvertible {
    public var message: String

    public init(message: String) {
        self.message = message
    }

    /// The reply line's text without CRLF: `-ERR message`.
    public var description: String { "-ERR \(message)" }

    /// The fixed texts the parser produces, so tests and sessions can refer to them.
    public enum Message {
        public static let emptyCommand = "Empty command"
        public static let missingArgument = "Missing argument"
        public static let tooManyArguments = "Too many arguments"
        public static let invalidMessageNumber = "Invalid message number"
        public static let noiseAfterMessageNumber = "Noise after message number"
        public static let invalidLineCount = "Invalid number of lines"
        public static let invalidCharacters = "Invalid characters in command"
        public static let invalidUTF8 = "Invalid UTF-8 in argument"
        public static let invalidMechanism = "Invalid SASL mechanism name"
        public static let invalidInitialResponse = "Invalid base64 in initial response"

        /// `Unknown command: NAME` as Dovecot words it; a name that is long or not printable ASCII is not echoed.
        public static func unknownCommand(_ name: [UInt8]) -> String {
            guard !name.isEmpty, name.count <= 32, name.allSatisfy(\.isVisibleASCII) else { return "Unknown command" }
            return "Unknown command: " + String(decoding: name.map(\.asciiUppercased), as: UTF8.self)
        }
    }
}
