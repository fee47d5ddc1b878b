public import AerieCore
import CAerieSystem
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// Writes Dovecot-format log lines (`TIMESTAMP CATEGORY: Level: message`) to a file, stderr or syslog.
///
/// The format matters: deployed fail2ban filters and log scanners parse Dovecot's lines, so Aerie writes the same shapes.
public final class LogWriter: LogSink {
    public enum Destination: Sendable, Equatable {
        case stderr
        case syslog(facility: String)
        case file(String)

        /// Maps a `log_path` value the way Dovecot does: `syslog`, `/dev/stderr`, or a file path.
        public init(logPath: String, syslogFacility: String) {
            switch logPath {
            case "syslog": self = .syslog(facility: syslogFacility)
            case "", "/dev/stderr": self = .stderr
            default: self = .file(logPath)
            }
        }
    }


    private let destination: Destination
    private let timestampFormat: String
    private let minimumLevel: LogLevel
    private let state: Mutex<Int32>

    /// Opens the destination now, so a bad `log_path` fails at start (while we may still be root), not at the first line.
    public init(destination: Destination, timestampFormat: String, minimumLevel: LogLevel = .info) throws(LogWriterError) {
        self.destination = destination
        self.timestampFormat = timestampFormat
        self.minimumLevel = minimumLevel
        switch destination {
        case .stderr:
            state = Mutex(2)
        case .file(let path):
            let fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0o600)
            guard fd >= 0 else { throw LogWriterError(path: path, errno: errno) }
            state = Mutex(fd)
        case .syslog(let facility):
            // openlog keeps the pointer, not the text: a literal bridged for the call may be gone afterwards.
            openlog(LogWriter.syslogIdent, LOG_PID | LOG_NDELAY, LogWriter.syslogFacility(named: facility))
            state = Mutex(-1)
        }
    }

    /// Lives as long as the process (never freed), as openlog requires.
    nonisolated(unsafe) private static let syslogIdent = strdup("aerie")

    deinit {
        state.withLock { fd in
            if fd > 2 { close(fd) }
        }
    }

    public func log(_ level: LogLevel, category: String, _ message: String) {
        guard level >= minimumLevel else { return }
        let safeMessage = LogWriter.singleLine(message)
        switch destination {
        case .syslog:
            let line = "\(category): \(safeMessage)"
            line.withCString { aerie_syslog(LogWriter.syslogPriority(level), $0) }
        case .stderr, .file:
            let line = "\(formattedTimestamp())\(category): \(level.dovecotName): \(safeMessage)\n"
            state.withLock { fd in
                line.utf8CString.withUnsafeBufferPointer { buffer in
                    var offset = 0
                    let count = buffer.count - 1  // without the NUL
                    while offset < count {
                        let written = write(fd, buffer.baseAddress! + offset, count - offset)
                        if written <= 0 {
                            if written < 0 && errno == EINTR { continue }
                            break
                        }
                        offset += written
                    }
                }
            }
        }
    }

    /// Reopens a log file after rotation (SIGHUP), as Dovecot's log process does.
    public func reopen() {
        guard case .file(let path) = destination else { return }
        state.withLock { fd in
            let newFD = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0o600)
            guard newFD >= 0 else { return }
            if fd > 2 { close(fd) }
            fd = newFD
        }
    }

    /// A duplicate of the log file's descriptor (close-on-exec), for a process that cannot open the file itself
    /// (chrooted, or no longer root): nil when the destination is not a file.
    public func duplicateFile() -> Int32? {
        guard case .file = destination else { return nil }
        let fd = state.withLock { fcntl($0, F_DUPFD_CLOEXEC, 0) }
        return fd >= 0 ? fd : nil
    }

    /// Writes to `fd` from now on, the log file the master reopened after a rotation (`duplicateFile`); takes
    /// ownership of `fd` (closed when the destination is not a file).
    public func adopt(file fd: Int32) {
        guard case .file = destination else {
            close(fd)
            return
        }
        state.withLock { current in
            if current > 2 { close(current) }
            current = fd
        }
    }

    /// A log line never spans lines: a CR or LF inside a message could forge a second line for fail2ban.
    static func singleLine(_ message: String) -> String {
        guard message.utf8.contains(where: { $0 < 0x20 || $0 == 0x7F }) else { return message }
        return String(
            String.UnicodeScalarView(
                message.unicodeScalars.map { $0.value < 0x20 || $0.value == 0x7F ? "?" : $0 }))
    }

    private func formattedTimestamp() -> String {
        guard !timestampFormat.isEmpty else { return "" }
        var now = time(nil)
        var parts = tm()
        localtime_r(&now, &parts)
        var buffer = [CChar](repeating: 0, count: 128)
        let length = strftime(&buffer, buffer.count, timestampFormat, &parts)
        return String(decoding: buffer[0..<length].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    private static func syslogPriority(_ level: LogLevel) -> Int32 {
        switch level {
        case .debug: LOG_DEBUG
        case .info: LOG_INFO
        case .warning: LOG_WARNING
        case .error: LOG_ERR
        case .fatal: LOG_CRIT
        }
    }

    static func syslogFacility(named name: String) -> Int32 {
        switch name.lowercased() {
        case "auth": LOG_AUTH
        case "authpriv": LOG_AUTHPRIV
        case "daemon": LOG_DAEMON
        case "local0": LOG_LOCAL0
        case "local1": LOG_LOCAL1
        case "local2": LOG_LOCAL2
        case "local3": LOG_LOCAL3
        case "local4": LOG_LOCAL4
        case "local5": LOG_LOCAL5
        case "local6": LOG_LOCAL6
        case "local7": LOG_LOCAL7
        case "user": LOG_USER
        default: LOG_MAIL
        }
    }
}

public struct LogWriterError: Error, CustomStringConvertible {
    public var path: String
    public var errno: Int32
    public var description: String {
        "Cannot open log file \(path): \(strerror(errno).flatMap { String(validatingCString: $0) } ?? "errno \(errno)")"
    }
}

/// Collects lines in memory; tests use it to assert on what was logged.
public final class CapturingLogSink: LogSink {
    private let lines = Mutex<[String]>([])
    public init() {}
    public func log(_ level: LogLevel, category: String, _ message: String) {
        lines.withLock { $0.append("\(category): \(level.dovecotName): \(message)") }
    }
    public var captured: [String] { lines.withLock { $0 } }
}
