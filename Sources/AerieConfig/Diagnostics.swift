/// One problem found while reading a configuration, located at FILE:LINE.
public struct ConfigDiagnostic: Sendable, Equatable, CustomStringConvertible {
    public enum Severity: Sendable, Equatable { case error, warning }

    public var severity: Severity
    public var file: String
    public var line: Int
    public var message: String

    public init(severity: Severity, file: String, line: Int, message: String) {
        self.severity = severity
        self.file = file
        self.line = line
        self.message = message
    }

    public var description: String {
        switch severity {
        case .error: return "\(file):\(line): \(message)"
        case .warning: return "\(file):\(line): warning: \(message)"
        }
    }
}

/// Thrown when a configuration has at least one error; carries every error found (and the warnings).
public struct ConfigError: Error, CustomStringConvertible {
    public var diagnostics: [ConfigDiagnostic]

    public init(diagnostics: [ConfigDiagnostic]) { self.diagnostics = diagnostics }

    public var description: String { diagnostics.map(\.description).joined(separator: "\n") }
}

/// Where a token came from; carried through so every diagnostic can name FILE:LINE.
struct SourceLocation: Sendable, Equatable {
    var file: String
    var line: Int
}

/// Collects diagnostics during one load; errors do not stop the load so that all of them are reported.
struct DiagnosticSink {
    private(set) var items: [ConfigDiagnostic] = []
    /// Caps output so a hostile or garbage file cannot produce unbounded diagnostics.
    static let maxItems = 200

    var hasErrors: Bool { items.contains { $0.severity == .error } }
    var errors: [ConfigDiagnostic] { items.filter { $0.severity == .error } }
    var warnings: [ConfigDiagnostic] { items.filter { $0.severity == .warning } }

    mutating func error(_ at: SourceLocation, _ message: String) {
        append(ConfigDiagnostic(severity: .error, file: at.file, line: at.line, message: message))
    }

    mutating func warning(_ at: SourceLocation, _ message: String) {
        append(ConfigDiagnostic(severity: .warning, file: at.file, line: at.line, message: message))
    }

    private mutating func append(_ d: ConfigDiagnostic) {
        guard items.count < Self.maxItems, !items.contains(d) else { return }
        items.append(d)
    }
}
