import AerieCore
import Synchronization

/// Limits on connections that have not logged in yet (issue 14, item 3): all IPs together (`client_limit` of
/// `service imap-login`), per IP at once (`login_max_unauthenticated_per_ip`) and per IP per second
/// (`login_max_connection_rate_per_ip`). When the shared slots run out, the oldest pre-login connection that is not
/// waiting for an authentication answer is dropped to make room, not the newcomer (Dovecot's
/// `client_destroy_oldest`). IPv6 addresses count per `auth_penalty_ipv6_prefix` network; `login_trusted_networks`
/// and `login_ip_limits_exempt_networks` (loopback: a local webmail) are exempt from the per-IP limits. Tables shrink
/// back once a burst is over.
final class PreLoginLimiter: Sendable {
    struct Settings: Sendable, Equatable {
        /// Pre-login connections at once, all IPs together.
        var limit: Int
        /// 0: no per-IP limit.
        var perIP: Int = 20
        /// New connections per second per IP (bursts up to twice that); 0: no rate limit.
        var ratePerSecond: Int = 10
        var ipv6Prefix: Int = 64
        var trusted = CIDRList([])
    }

    enum Admission: Equatable {
        case admitted(id: UInt64)
        /// Over the IP's connection rate; `first`: the first refusal since the IP's bucket was last full (log it).
        case tooFast(first: Bool)
        case tooManyFromIP
        /// Every slot is held by a connection waiting for its authentication answer.
        case full

        var isAdmitted: Bool {
            if case .admitted = self { return true }
            return false
        }
    }

    private struct Slot {
        var network: [UInt8]?
        var authenticating = false
        var evict: @Sendable () -> Void
    }

    private struct Bucket {
        var tokens: Double
        var updated: ContinuousClock.Instant
        var refused = false
    }

    private struct State {
        var settings: Settings
        var nextID: UInt64 = 0
        var slots: [UInt64: Slot] = [:]
        var perNetwork: [[UInt8]: Int] = [:]
        var buckets: [[UInt8]: Bucket] = [:]
        /// Most pre-login connections at once since the last `housekeeping` that gave memory back.
        var highWater = 0
    }

    /// Rate buckets remembered at most; full (quiet) ones are forgotten first.
    static let maxBuckets = 65536
    private let state: Mutex<State>

    init(settings: Settings) { state = Mutex(State(settings: settings)) }

    var settings: Settings {
        get { state.withLock { $0.settings } }
        set { state.withLock { $0.settings = newValue } }
    }

    var current: Int { state.withLock { $0.slots.count } }

    /// How many rate buckets and per-IP counters are held (tests: memory is given back after a burst).
    var tableSizes: (buckets: Int, networks: Int) { state.withLock { ($0.buckets.count, $0.perNetwork.count) } }

    /// Admits a new pre-login connection from `ip`, or says why not. `evict` is how to drop it later to make room.
    func admit(ip: String, now: ContinuousClock.Instant, evict: @escaping @Sendable () -> Void) -> Admission {
        var dropped: (@Sendable () -> Void)?
        let admission = state.withLock { state -> Admission in
            let network = Self.network(ip, state.settings)
            if let network {
                if state.settings.ratePerSecond > 0, let first = Self.refusal(network, now: now, &state) {
                    return .tooFast(first: first)
                }
                if state.settings.perIP > 0 && state.perNetwork[network, default: 0] >= state.settings.perIP {
                    return .tooManyFromIP
                }
            }
            if state.slots.count >= state.settings.limit {
                // Ids grow with time: the smallest idle one is the oldest.
                var oldest: UInt64?
                for (id, slot) in state.slots where !slot.authenticating && id < (oldest ?? .max) { oldest = id }
                guard let oldest else { return .full }
                dropped = Self.remove(oldest, &state)
            }
            state.nextID += 1
            state.slots[state.nextID] = Slot(network: network, evict: evict)
            state.highWater = max(state.highWater, state.slots.count)
            if let network { state.perNetwork[network, default: 0] += 1 }
            return .admitted(id: state.nextID)
        }
        dropped?()
        return admission
    }

    /// The connection logged in or closed; a no-op for one already dropped.
    func release(_ id: UInt64) {
        state.withLock { state in _ = Self.remove(id, &state) }
    }

    /// While an authentication is under way the connection is not dropped to make room (its answer is coming).
    func setAuthenticating(_ id: UInt64, _ authenticating: Bool) {
        state.withLock { $0.slots[id]?.authenticating = authenticating }
    }

    private static func remove(_ id: UInt64, _ state: inout State) -> (@Sendable () -> Void)? {
        guard let slot = state.slots.removeValue(forKey: id) else { return nil }
        if let network = slot.network {
            let left = state.perNetwork[network, default: 1] - 1
            state.perNetwork[network] = left > 0 ? left : nil
        }
        // Dictionaries keep their capacity when emptied: give a burst's memory back.
        if state.slots.isEmpty && state.slots.capacity > 64 { state.slots = [:] }
        if state.perNetwork.isEmpty && state.perNetwork.capacity > 64 { state.perNetwork = [:] }
        return slot.evict
    }

    /// Token bucket per network: `ratePerSecond` tokens a second, at most twice that saved up. Nil: a token was
    /// taken; else whether this is the network's first refusal since its bucket was full.
    private static func refusal(_ network: [UInt8], now: ContinuousClock.Instant, _ state: inout State) -> Bool? {
        let rate = Double(state.settings.ratePerSecond)
        let capacity = rate * 2
        var bucket = state.buckets[network] ?? Bucket(tokens: capacity, updated: now)
        let (seconds, attoseconds) = (now - bucket.updated).components
        let elapsed = max(0, Double(seconds) + Double(attoseconds) / 1e18)
        bucket.tokens = min(capacity, bucket.tokens + elapsed * rate)
        bucket.updated = now
        if bucket.tokens >= capacity { bucket.refused = false }
        var first: Bool?
        if bucket.tokens >= 1 {
            bucket.tokens -= 1
        } else {
            first = !bucket.refused
            bucket.refused = true
        }
        state.buckets[network] = bucket
        if state.buckets.count > maxBuckets { forgetQuietBuckets(now: now, &state) }
        return first
    }

    /// Drops buckets that have refilled (the same as no bucket), and if that is not enough, the least recently used.
    private static func forgetQuietBuckets(now: ContinuousClock.Instant, _ state: inout State) {
        let refill = Duration.seconds(2)
        var kept = state.buckets.filter { now - $0.value.updated < refill }
        if kept.count > maxBuckets * 9 / 10 {
            let newest = kept.sorted { $0.value.updated > $1.value.updated }.prefix(maxBuckets * 9 / 10)
            kept = Dictionary(uniqueKeysWithValues: newest.map { ($0.key, $0.value) })
        }
        state.buckets = kept
    }

    /// Called now and then: drops the rate buckets that have refilled (a quiet server holds none); true when a
    /// burst of connections is over (at least `burst` gone, at least half of the most held), so the caller can give
    /// the heap back.
    func housekeeping(now: ContinuousClock.Instant, burst: Int = 64) -> Bool {
        state.withLock { state in
            if !state.buckets.isEmpty {
                let refill = Duration.seconds(2)
                state.buckets = state.buckets.filter { now - $0.value.updated < refill }
            }
            let held = state.slots.count
            guard state.highWater - held >= burst, held <= state.highWater / 2 else { return false }
            state.highWater = state.slots.count
            return true
        }
    }

    /// The network an address counts for; nil for no IP (unix sockets) and trusted networks.
    static func network(_ ip: String, _ settings: Settings) -> [UInt8]? {
        guard let address = IPAddress(ip)?.unmapped, !settings.trusted.contains(address) else { return nil }
        var bytes = address.bytes
        if bytes.count == 16 {
            var remaining = max(0, min(128, settings.ipv6Prefix))
            for i in 0..<16 {
                bytes[i] &= remaining >= 8 ? 0xFF : (remaining <= 0 ? 0 : ~(0xFF >> UInt8(remaining)))
                remaining -= 8
            }
        }
        return bytes
    }
}
