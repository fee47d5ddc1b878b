public import AerieCore
import Synchronization

/// Log lines collected in memory, for assertions on what a component logs.
public final class CollectingLog: LogSink {
    public struct Line: Sendable, Equatable {
        public var level: LogLevel
        public var category: String
        public var message: String
    }

    private let storage = Mutex<[Line]>([])

    public init() {}

    public var lines: [Line] { storage.withLock { $0 } }

    public func log(_ level: LogLevel, category: String, _ message: String) {
        storage.withLock { $0.append(Line(level: level, category: category, message: message)) }
    }
}
