/// A deadline that moves forward on every command without rescheduling a timer each time: one check is scheduled,
/// and when it fires before the (meanwhile later) deadline it is scheduled again for the rest. Times are monotonic
/// nanoseconds.
public struct LazyDeadline: Equatable, Sendable {
    public init() {}

    public private(set) var deadline: Int64 = 0
    /// When the scheduled check fires; nil when none is scheduled.
    public private(set) var armedFor: Int64?

    public enum Check: Equatable {
        /// The deadline passed with no renewal.
        case expired
        /// Renewed meanwhile: schedule the check again, at `armedFor`.
        case recheck
        /// A check that was replaced by an earlier one: ignore it.
        case stale
    }

    /// Sets the deadline to `now + duration`; true when a check must be (re)scheduled at `armedFor`: none is pending,
    /// or the pending one would fire after the new deadline.
    public mutating func renew(now: Int64, duration: Int64) -> Bool {
        deadline = now &+ duration
        if let armedFor, armedFor <= deadline { return false }
        armedFor = deadline
        return true
    }

    /// The check scheduled for `fired` ran at `now`.
    public mutating func fired(now: Int64, armedFor fired: Int64) -> Check {
        guard fired == armedFor else { return .stale }
        if now >= deadline {
            armedFor = nil
            return .expired
        }
        armedFor = deadline
        return .recheck
    }

    public mutating func cancel() { armedFor = nil }
}
