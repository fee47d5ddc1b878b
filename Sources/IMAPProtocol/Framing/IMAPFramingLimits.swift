/// Bounds on what one client command may occupy in memory; pre-login defaults are deliberately small.
///
/// Raise them after authentication (APPEND needs large literals); never remove them.
public struct IMAPFramingLimits: Sendable, Equatable {
    /// Longest single line, literal data excluded, terminator excluded.
    public var maxLineLength: Int
    /// Largest literal accepted (LITERAL- servers use 4096 for `{N+}`, RFC 7888 §5).
    public var maxLiteralSize: Int
    /// Largest command unit: every line part plus every literal.
    public var maxCommandSize: Int
    /// Most literals in one command.
    public var maxLiteralsPerCommand: Int
    /// Literals larger than this are not kept in memory but handed out in chunks (`spoolStart`, `spoolData`) for the
    /// caller to stream to disk (APPEND, RFC 9051 §6.3.12); nil keeps every literal in the unit. In any other command
    /// a literal larger than this is too large (`literalTooLarge`).
    public var spoolThreshold: Int?
    /// A synchronizing literal larger than this is refused before the client sends it (RFC 7889 §4: APPEND beyond the
    /// APPENDLIMIT); nil: only `maxLiteralSize`. Non-synchronizing literals cannot be refused unread, so they keep
    /// `maxLiteralSize` and the command that gets them checks their size.
    public var maxSynchronizingLiteralSize: Int?

    public init(
        maxLineLength: Int = 8192,
        maxLiteralSize: Int = 64 * 1024,
        maxCommandSize: Int = 128 * 1024,
        maxLiteralsPerCommand: Int = 64,
        spoolThreshold: Int? = nil,
        maxSynchronizingLiteralSize: Int? = nil
    ) {
        self.maxLineLength = maxLineLength
        self.maxLiteralSize = maxLiteralSize
        self.maxCommandSize = maxCommandSize
        self.maxLiteralsPerCommand = maxLiteralsPerCommand
        self.spoolThreshold = spoolThreshold
        self.maxSynchronizingLiteralSize = maxSynchronizingLiteralSize
    }

    /// The pre-login defaults.
    public static let preLogin = IMAPFramingLimits()

    /// The shortest line that holds the largest ID command RFC 2971 §3.3 allows: 30 pairs of a quoted 30-octet name
    /// and a quoted 1024-octet value come to about 31 KiB, so a client's full ID never costs it its connection.
    public static let idCommandLineLength = 33 * 1024
}

/// What the framer found in the byte stream.
public enum FramerEvent: Sendable, Equatable {
    /// One complete command unit: its line(s) with each literal inlined after its `{N}\r\n` marker
    /// (the marker's terminator is normalised to CRLF) and the final line terminator removed.
    case unit([UInt8])
    /// A synchronizing literal `{N}` was accepted: the server must now write `+ OK`.
    case needsContinuation
    /// A literal over `spoolThreshold` begins: its `size` octets follow as `spoolData` events, and the unit carries an
    /// empty literal (`{0}` / `~{0}`) in its place whose data would start at byte `offset` of the unit.
    case spoolStart(offset: Int, size: Int)
    /// The next chunk of the literal announced by `spoolStart`.
    case spoolData([UInt8])
    /// A literal over `maxLiteralSize` (or one that would overflow `maxCommandSize`).
    /// Synchronizing: answer the tag with NO/BAD; the framer already dropped the command and goes on.
    /// Non-synchronizing: the data is already on its way; the connection must close (the framer stops).
    case literalTooLarge(tag: String?, size: Int, synchronizing: Bool)
    /// A line over `maxLineLength`, a command over `maxCommandSize`, or a non-synchronizing literal beyond
    /// `maxLiteralsPerCommand`: answer BAD and close with BYE (the framer stops).
    case lineTooLong(tag: String?)
    /// A synchronizing literal beyond `maxLiteralsPerCommand`: answer the tag with BAD; the framer already dropped the
    /// command (its data was never invited) and goes on.
    case tooManyLiterals(tag: String?)
}
