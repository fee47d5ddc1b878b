import Synchronization

/// The clocks the Maildir sync reads against directory mtimes (is an mtime old enough to trust, has a provisional
/// one's window passed). Production reads the system clocks; a test moves its own clock forward instead of sleeping,
/// so "seconds pass between commands" holds however slow the machine is.
public final class StorageClock: Sendable, Equatable {
    public static let system = StorageClock()
    private let offsetNs = Atomic<Int64>(0)

    public init() {}

    /// As if `duration` had passed (both clocks); only for a clock of the test's own, never `system`.
    public func advance(by duration: Duration) {
        precondition(self !== Self.system, "the system clock is not moved")
        let (seconds, attoseconds) = duration.components
        offsetNs.add(seconds * 1_000_000_000 + attoseconds / 1_000_000_000, ordering: .relaxed)
    }

    /// CLOCK_REALTIME in nanoseconds (what file mtimes are measured against).
    func now() -> Int64 { nowNanoseconds() + offsetNs.load(ordering: .relaxed) }

    /// CLOCK_MONOTONIC in nanoseconds.
    func monotonic() -> Int64 { monotonicNanoseconds() + offsetNs.load(ordering: .relaxed) }

    public static func == (lhs: StorageClock, rhs: StorageClock) -> Bool { lhs === rhs }
}
