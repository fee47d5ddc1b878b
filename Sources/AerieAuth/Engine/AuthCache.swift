import Synchronization

/// Dovecot's auth cache (`auth_cache_size`, `auth_cache_ttl`, `auth_cache_negative_ttl`): passdb and userdb
/// answers by database and user, bounded by bytes, oldest-used evicted first. A passdb entry keeps what lets a
/// later login be checked without the backend: the stored hash a lookup returned, or — for databases that verify
/// passwords themselves (LDAP bind) — a salted hash of the password that succeeded. Never a password.
final class AuthCache: Sendable {
    enum Value: Sendable, Equatable {
        /// A found user: its entry (with the stored hash, if the database returned one) and, for bind databases,
        /// `verifier` = a salted hash of the password that last succeeded.
        case passdb(PassDBEntry, verifier: String?)
        /// A bind database's mismatch for the password `verifier` (salted) hashes.
        case mismatch(verifier: String)
        case userdb([String: String])
        case unknown
    }

    struct Hit: Sendable {
        var value: Value
        /// Past its TTL: used only when the backend fails ("Falling back to expired data from cache").
        var expired: Bool
        /// The last check against this entry succeeded (a mismatch then re-asks the backend once: the password
        /// may have changed).
        var lastSuccess: Bool
    }

    private struct Node {
        var value: Value
        var user: String
        var storedAt: ContinuousClock.Instant
        var lastSuccess: Bool
        var bytes: Int
        var sequence: UInt64
    }

    private struct State {
        var nodes: [String: Node] = [:]
        /// Keys in use order, oldest first; stale pairs (sequence no longer the node's) are skipped.
        var order: [(key: String, sequence: UInt64)] = []
        var orderStart = 0
        var bytes = 0
        var sequence: UInt64 = 0
        var hits = 0
        var misses = 0
    }

    let maximumBytes: Int
    let ttl: Duration
    let negativeTTL: Duration
    private let now: @Sendable () -> ContinuousClock.Instant
    private let state = Mutex(State())

    init(
        maximumBytes: Int, ttl: Duration, negativeTTL: Duration,
        now: @escaping @Sendable () -> ContinuousClock.Instant = { ContinuousClock.now }
    ) {
        self.maximumBytes = maximumBytes
        self.ttl = ttl
        self.negativeTTL = negativeTTL
        self.now = now
    }

    static func key(_ kind: Character, _ index: Int, _ user: String) -> String { "\(kind)\(index)\0\(user)" }

    var bytes: Int { state.withLock { $0.bytes } }
    var count: Int { state.withLock { $0.nodes.count } }
    var statistics: (hits: Int, misses: Int) { state.withLock { ($0.hits, $0.misses) } }

    /// The entry for `key`, counting a hit or a miss; nil when absent or (negative entries) expired.
    func get(_ key: String) -> Hit? {
        let instant = now()
        return state.withLock { state -> Hit? in
            guard var node = state.nodes[key] else {
                state.misses += 1
                return nil
            }
            let negative = Self.isNegative(node.value)
            let expired = instant - node.storedAt >= (negative ? negativeTTL : ttl)
            if expired && negative {
                state.misses += 1
                return nil
            }
            if expired { state.misses += 1 } else { state.hits += 1 }
            state.sequence += 1
            node.sequence = state.sequence
            state.nodes[key] = node
            state.order.append((key, state.sequence))
            Self.compact(&state)
            return Hit(value: node.value, expired: expired, lastSuccess: node.lastSuccess)
        }
    }

    func put(_ key: String, user: String, _ value: Value, lastSuccess: Bool = true) {
        guard maximumBytes > 0 else { return }
        if Self.isNegative(value) && negativeTTL == .zero { return }
        let size = Self.size(key, value)
        guard size <= maximumBytes else { return }
        let instant = now()
        state.withLock { state in
            if let old = state.nodes.removeValue(forKey: key) { state.bytes -= old.bytes }
            state.sequence += 1
            state.nodes[key] = Node(
                value: value, user: user, storedAt: instant, lastSuccess: lastSuccess, bytes: size,
                sequence: state.sequence)
            state.order.append((key, state.sequence))
            state.bytes += size
            while state.bytes > maximumBytes, state.orderStart < state.order.count {
                let (oldest, sequence) = state.order[state.orderStart]
                state.orderStart += 1
                if let node = state.nodes[oldest], node.sequence == sequence {
                    state.nodes.removeValue(forKey: oldest)
                    state.bytes -= node.bytes
                }
            }
            Self.compact(&state)
        }
    }

    /// After a mismatch against a cached success: the next mismatch is answered from the cache.
    func markFailed(_ key: String) {
        state.withLock { state in state.nodes[key]?.lastSuccess = false }
    }

    /// Removes every entry (`users` nil) or those of the given users; returns how many were removed.
    @discardableResult
    func flush(users: [String]? = nil) -> Int {
        state.withLock { state in
            guard let users else {
                let count = state.nodes.count
                state = State()
                return count
            }
            let wanted = Set(users)
            let keys = state.nodes.filter { wanted.contains($0.value.user) }.map(\.key)
            for key in keys { state.bytes -= state.nodes.removeValue(forKey: key)?.bytes ?? 0 }
            return keys.count
        }
    }

    private static func isNegative(_ value: Value) -> Bool {
        switch value {
        case .unknown, .mismatch: true
        case .passdb, .userdb: false
        }
    }

    /// Bytes an entry costs: its text plus a fixed overhead for the node and its order slot.
    static func size(_ key: String, _ value: Value) -> Int {
        var total = 96 + key.utf8.count
        func add(_ fields: [String: String]) {
            for (name, text) in fields { total += name.utf8.count + text.utf8.count + 32 }
        }
        switch value {
        case .passdb(let entry, let verifier):
            total += (entry.password?.utf8.count ?? 0) + (verifier?.utf8.count ?? 0)
            add(entry.fields)
        case .mismatch(let verifier): total += verifier.utf8.count
        case .userdb(let fields): add(fields)
        case .unknown: break
        }
        return total
    }

    /// Drops consumed and stale order slots once they outnumber the live ones.
    private static func compact(_ state: inout State) {
        guard state.order.count > 64, state.order.count > 2 * state.nodes.count + 16 else { return }
        state.order = state.order[state.orderStart...].filter { state.nodes[$0.key]?.sequence == $0.sequence }
        state.orderStart = 0
    }
}
