/// A command the server cannot parse; the session answers `TAG BAD message` (or `* BAD message`
/// when `tag` is nil: the tag itself was missing or invalid and must not be echoed).
///
/// Messages never quote the client's arguments, so a mistyped password cannot reach a reply or a log.
public struct IMAPParseError: Error, Sendable, Equatable, CustomStringConvertible {
    public var tag: IMAPTag?
    public var message: String

    public init(tag: IMAPTag?, message: String) {
        self.tag = tag
        self.message = message
    }

    public var description: String { "\(tag?.rawValue ?? "*") BAD \(message)" }

    /// The fixed texts the parser produces, so tests and sessions can refer to them.
    public enum Message {
        public static let emptyCommand = "Empty command"
        public static let missingTag = "Missing tag"
        public static let invalidTag = "Invalid characters in tag"
        public static let tagTooLong = "Tag too long"
        public static let missingCommand = "Missing command"
        public static let invalidCommandName = "Invalid characters in command name"
        public static let doubleSpaces = "Double spaces"
        public static let trailingSpace = "Trailing space"
        public static let unexpectedArguments = "Unexpected arguments"
        public static let missingUsername = "Missing username"
        public static let missingPassword = "Missing password"
        public static let missingMechanism = "Missing SASL mechanism"
        public static let invalidInitialResponse = "Invalid base64 in initial response"
        public static let tooManyIDParameters = "Too many ID parameters"
        public static let idFieldTooLong = "ID field name too long"
        public static let idValueTooLong = "ID field value too long"
        public static let missingCapability = "Missing capability name"

        /// `Unknown command NAME`; names longer than 32 octets are not echoed.
        public static func unknownCommand(_ name: String) -> String {
            name.utf8.count <= 32 ? "Unknown command \(name)" : "Unknown command"
        }
    }
}
