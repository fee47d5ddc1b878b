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

    public init(
        maxLineLength: Int = 8192,
        maxLiteralSize: Int = 64 * 1024,
        maxCommandSize: Int = 128 * 1024,
        maxLiteralsPerCommand: Int = 64
    ) {
        self.maxLineLength = maxLineLength
        self.maxLiteralSize = maxLiteralSize
        self.maxCommandSize = maxCommandSize
        self.maxLiteralsPerCommand = maxLiteralsPerCommand
    }

    /// The pre-login defaults.
    public static let preLogin = IMAPFramingLimits()
}

/// What the framer found in the byte stream.
public enum FramerEvent: Sendable, Equatable {
    /// One complete command unit: its line(s) with each literal inlined after its `{N}\r\n` marker
    /// (the marker's terminator is normalised to CRLF) and the final line terminator removed.
    case unit([UInt8])
    /// A synchronizing literal `{N}` was accepted: the server must now write `+ OK`.
    case needsContinuation
    /// A literal over `maxLiteralSize` (or one that would overflow `maxCommandSize`).
    /// Synchronizing: answer the tag with NO/BAD; the framer already dropped the command and goes on.
    /// Non-synchronizing: the data is already on its way; the connection must close (the framer stops).
    case literalTooLarge(tag: String?, size: Int, synchronizing: Bool)
    /// A line over `maxLineLength`, a command over `maxCommandSize`, or more than
    /// `maxLiteralsPerCommand` literals: answer BAD and close with BYE (the framer stops).
    case lineTooLong(tag: String?)
}
