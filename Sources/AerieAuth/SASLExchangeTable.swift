import AerieCore
import SASL
import Synchronization

/// SCRAM exchanges between the server-first and the client-final message, in the auth process. Bounded in number
/// and in time: an exchange the client abandons is forgotten after `lifetime`.
final class SASLExchangeTable: Sendable {
    struct Pending: Sendable {
        /// nil: an OAuth2 token was refused and its error challenge sent (RFC 7628 §3.2.2); the client's dummy
        /// response gets the failure.
        var exchange: SCRAMServerExchange?
        /// The request with the user name as formatted for the passdb.
        var request: AuthRequest
        var name: String
        /// Where the passdb chain stands after the credentials lookup; nil when the exchange cannot succeed.
        var chain: ChainState?
        /// Why the passdbs refuse the login even with the right proof (nologin, allow_nets, `result_*` rules;
        /// already logged), answered only once the proof is verified so that it tells nothing without the password.
        var refusal: AuthFailure?
        var driver: String
        /// Why it cannot succeed (logged when the client's proof arrives, so the timing tells nothing).
        var doomed: String?
        var started: ContinuousClock.Instant
        /// A refused OAuth2 token: how long after `started` its failure is answered.
        var failureDelay: Duration = .zero
    }

    static let lifetime: Duration = .seconds(120)
    let capacity: Int
    private let table = Mutex([UInt32: Pending]())

    init(capacity: Int = 10_000) { self.capacity = max(1, capacity) }

    var count: Int { table.withLock { $0.count } }

    /// Stores an exchange under a fresh non-zero id. When full, expired exchanges go first, then the oldest: a real
    /// client answers within seconds, so a flood of abandoned exchanges cannot lock SCRAM logins out.
    func insert(_ pending: Pending, now: ContinuousClock.Instant) -> UInt32 {
        table.withLock { table in
            if table.count >= capacity { table = table.filter { now - $0.value.started < Self.lifetime } }
            if table.count >= capacity, let oldest = table.min(by: { $0.value.started < $1.value.started }) {
                table[oldest.key] = nil
            }
            var id: UInt32 = 0
            while id == 0 || table[id] != nil { id = UInt32.random(in: 1 ... .max) }
            table[id] = pending
            return id
        }
    }

    /// Takes an exchange out (each is answered once); nil when unknown or expired.
    func take(_ id: UInt32, now: ContinuousClock.Instant) -> Pending? {
        table.withLock { table in
            guard let pending = table.removeValue(forKey: id), now - pending.started < Self.lifetime else { return nil }
            return pending
        }
    }
}
