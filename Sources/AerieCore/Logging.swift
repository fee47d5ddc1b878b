/// Severity of a log line, spelt as Dovecot spells it so existing log tooling (fail2ban, logwatch) keeps working.
public enum LogLevel: Int, Sendable, Comparable, CaseIterable {
    case debug, info, warning, error, fatal

    public var dovecotName: String {
        switch self {
        case .debug: "Debug"
        case .info: "Info"
        case .warning: "Warning"
        case .error: "Error"
        case .fatal: "Fatal"
        }
    }

    public static func < (lhs: LogLevel, rhs: LogLevel) -> Bool { lhs.rawValue < rhs.rawValue }
}

/// Where log lines go. `category` is Dovecot's process name prefix: `auth`, `imap-login`, `imap`, `master`, `config`.
/// Implementations must never be handed a secret: callers redact before logging.
public protocol LogSink: Sendable {
    func log(_ level: LogLevel, category: String, _ message: String)
}

extension LogSink {
    public func info(_ category: String, _ message: String) { log(.info, category: category, message) }
    public func warning(_ category: String, _ message: String) { log(.warning, category: category, message) }
    public func error(_ category: String, _ message: String) { log(.error, category: category, message) }
    public func debug(_ category: String, _ message: String) { log(.debug, category: category, message) }
}

/// A sink that drops everything; for tests and tools that do not log.
public struct DiscardingLogSink: LogSink {
    public init() {}
    public func log(_ level: LogLevel, category: String, _ message: String) {}
}
