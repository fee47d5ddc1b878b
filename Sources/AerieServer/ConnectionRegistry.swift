import NIOCore
import Synchronization

/// Live connections, so a shutdown can tell each one goodbye.
final class ConnectionRegistry: Sendable {
    private let entries = Mutex<[UInt64: @Sendable () -> Void]>([:])
    private let nextID = Atomic<UInt64>(0)

    func register(_ onShutdown: @escaping @Sendable () -> Void) -> UInt64 {
        let id = nextID.add(1, ordering: .relaxed).newValue
        entries.withLock { $0[id] = onShutdown }
        return id
    }

    func unregister(_ id: UInt64) {
        _ = entries.withLock { $0.removeValue(forKey: id) }
    }

    var count: Int { entries.withLock { $0.count } }

    /// Runs every connection's shutdown hook (each hops to its own event loop).
    func shutdownAll() {
        let hooks = entries.withLock { Array($0.values) }
        for hook in hooks { hook() }
    }
}
