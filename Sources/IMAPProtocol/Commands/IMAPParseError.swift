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
        public static let missingMailbox = "Missing mailbox name"
        public static let mailboxNameTooLong = "Mailbox name too long"
        public static let missingListPattern = "Missing mailbox pattern"
        public static let invalidListPattern = "Invalid mailbox pattern"
        public static let tooManyListPatterns = "Too many mailbox patterns"
        public static let recursiveMatchAlone = "RECURSIVEMATCH needs another selection option"
        public static let missingReturnOptions = "Missing RETURN options"
        public static let missingCloseParen = "Missing ')'"
        public static let missingSequenceSet = "Missing sequence set"
        public static let invalidSequenceSet = "Invalid sequence set"
        public static let sequenceSetTooLong = "Sequence set too long"
        public static let invalidNumber = "Invalid number"
        public static let invalidModSequence = "Invalid mod-sequence"
        public static let invalidDate = "Invalid date"
        public static let invalidDateTime = "Invalid date-time"
        public static let invalidSystemFlag = "Invalid system flag"
        public static let missingFlags = "Missing flags"
        public static let tooManyFlags = "Too many flags"
        public static let missingSelectParameters = "Missing SELECT parameters"
        public static let invalidQResync = "Invalid QRESYNC parameters"
        public static let missingCreateParameters = "Missing CREATE parameters"
        public static let invalidSpecialUse = "Invalid special-use attribute"
        public static let tooManySpecialUses = "Too many special-use attributes"
        public static let missingStatusItems = "Missing STATUS items"
        public static let tooManyStatusItems = "Too many STATUS items"
        public static let missingAppendMessage = "Missing message literal"
        public static let invalidAppendData = "Expected message literal"
        public static let tooManyAppendMessages = "Too many messages in APPEND"
        public static let missingFetchAttributes = "Missing FETCH attributes"
        public static let invalidFetchAttribute = "Invalid FETCH attribute"
        public static let tooManyFetchAttributes = "Too many FETCH attributes"
        public static let invalidSection = "Invalid body section"
        public static let tooManyHeaderFields = "Too many header fields"
        public static let invalidPartial = "Invalid partial range"
        public static let missingFetchModifiers = "Missing FETCH modifiers"
        public static let vanishedNeedsChangedSince = "VANISHED needs UID FETCH with CHANGEDSINCE"
        public static let missingStoreItem = "Missing STORE item"
        public static let missingUIDCommand = "Missing UID command"
        public static let missingSearchKey = "Missing SEARCH key"
        public static let missingSearchArgument = "Missing SEARCH argument"
        public static let tooManySearchKeys = "Too many SEARCH keys"
        public static let searchTooDeep = "SEARCH nested too deep"
        public static let invalidHeaderName = "Invalid header field name"
        public static let invalidModSeqEntry = "Invalid MODSEQ entry"
        public static let invalidObjectID = "Invalid object ID"
        public static let missingCharset = "Missing charset"
        public static let invalidCharset = "Invalid charset"
        public static let missingSortCriteria = "Missing SORT criteria"
        public static let tooManySortCriteria = "Too many SORT criteria"
        public static let missingThreadAlgorithm = "Missing THREAD algorithm"
        public static let missingCompressAlgorithm = "Missing compression algorithm"
        public static let missingQuotaRoot = "Missing quota root"
        public static let missingQuotaLimits = "Missing quota limits"
        public static let tooManyQuotaLimits = "Too many quota limits"

        /// `Unknown WHAT NAME` (e.g. `Unknown FETCH attribute X`); empty names and names longer
        /// than 32 octets are not echoed.
        public static func unknown(_ what: String, _ name: String) -> String {
            name.isEmpty || name.utf8.count > 32 ? "Unknown \(what)" : "Unknown \(what) \(name)"
        }

        /// `Unknown command NAME`; names longer than 32 octets are not echoed.
        public static func unknownCommand(_ name: String) -> String {
            name.utf8.count <= 32 ? "Unknown command \(name)" : "Unknown command"
        }
    }
}
