import AerieCore
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// Per-IP penalties and bans, kept by the auth process so they outlast login sessions.
///
/// Dovecot's rules (`src/auth/auth-penalty.c`, anvil's `penalty.c`): each failure from an IP doubles its delay from
/// `auth_failure_delay` up to `auth_penalty_max_delay`; a success resets it; the same user+password tried again does
/// not count again (a misconfigured client, not a guesser); a quiet IP is forgiven. Aerie adds bans: more than
/// `auth_ban_failures` counted failures, or failures for more than `auth_ban_distinct_users` users, within
/// `auth_ban_window` ban the IP for `auth_ban_time`. IPv6 addresses count per `auth_penalty_ipv6_prefix` network.
/// A user name failing from many IPs (distributed guessing) gets the same doubling delay, except from networks where
/// that user logged in successfully before, so the real user is not locked out.
public struct AuthPenaltySettings: Sendable, Equatable {
    public var failureDelay: Duration
    public var maxDelay: Duration
    /// 0 disables bans by failure count.
    public var banFailures: Int
    /// 0 disables bans by distinct users.
    public var banDistinctUsers: Int
    public var banWindow: Duration
    /// 0 disables bans.
    public var banTime: Duration
    public var ipv6Prefix: Int
    /// `login_trusted_networks`: never delayed beyond `failureDelay`, never banned.
    public var trustedNetworks: [String]
    /// IPs (networks) remembered at most; the least recently seen are forgotten first.
    public var maxEntries: Int

    public init(
        failureDelay: Duration = .seconds(2), maxDelay: Duration = .seconds(15), banFailures: Int = 20,
        banDistinctUsers: Int = 10, banWindow: Duration = .seconds(600), banTime: Duration = .seconds(3600),
        ipv6Prefix: Int = 64, trustedNetworks: [String] = [], maxEntries: Int = 65536
    ) {
        self.failureDelay = failureDelay
        self.maxDelay = maxDelay
        self.banFailures = banFailures
        self.banDistinctUsers = banDistinctUsers
        self.banWindow = banWindow
        self.banTime = banTime
        self.ipv6Prefix = ipv6Prefix
        self.trustedNetworks = trustedNetworks
        self.maxEntries = maxEntries
    }
}

public final class AuthPenalty: Sendable {
    /// What to do with a request from an IP before verifying anything.
    public enum Admission: Sendable, Equatable {
        /// Verify; a failure is answered `failureDelay` after the request started (the penalty wait comes first).
        case proceed(penaltyWait: Duration, failureDelay: Duration)
        /// Refused without hashing; answer after `delay`.
        case banned(delay: Duration)
    }

    /// A failure that started a ban: the caller logs it once.
    public struct Ban: Sendable, Equatable {
        public var network: String
        public var duration: Duration
        public var reason: String
    }

    struct Record {
        /// Counted failures, 0 … `maxPenalty`.
        var penalty = 0
        var lastPenalty: ContinuousClock.Instant
        var lastSeen: ContinuousClock.Instant
        /// Digests of recent user+password pairs (newest first), so a retry of the same pair does not count again.
        var recentPairs: [Int] = []
        /// Counted failure times within the ban window, oldest first.
        var failures: [ContinuousClock.Instant] = []
        /// User name -> last failure time, within the ban window.
        var users: [String: ContinuousClock.Instant] = [:]
        var bannedUntil: ContinuousClock.Instant?
    }

    /// Failures of one user name, from any IP, and the networks the user logged in from.
    struct UserRecord {
        var penalty = 0
        var lastPenalty: ContinuousClock.Instant
        var lastSeen: ContinuousClock.Instant
        var recentPairs: [Int] = []
        /// Networks of recent successful logins, newest first.
        var homes: [NetworkKey] = []
    }

    static let homeCount = 8

    /// Dovecot stops doubling after 4 (2, 4, 8, 15 s).
    static let maxPenalty = 4
    static let recentPairCount = 10

    public let settings: AuthPenaltySettings
    private let trusted: CIDRList
    private let table = Mutex([NetworkKey: Record]())
    private let userTable = Mutex([String: UserRecord]())
    /// Bans started since the auth process started, automatic and by hand (issue 14: a metric counter per ban).
    private let bans = Atomic<Int>(0)
    /// Per-process salt for the user+password digest (Hasher is seeded randomly per process too).
    private let salt = Int.random(in: .min ... .max)

    public init(settings: AuthPenaltySettings) {
        var settings = settings
        // Per-IP memory stays bounded whatever the configuration says.
        settings.banFailures = min(max(0, settings.banFailures), 10_000)
        settings.banDistinctUsers = min(max(0, settings.banDistinctUsers), 1_000)
        self.settings = settings
        self.trusted = CIDRList(settings.trustedNetworks)
    }

    /// The delay for `penalty` counted failures: `base` (default `failureDelay`) doubled that many times, at most
    /// `maxDelay`.
    public func delay(forPenalty penalty: Int, base: Duration? = nil) -> Duration {
        let base = base ?? settings.failureDelay
        var delay = base
        for _ in 0..<max(0, min(penalty, 30)) where delay < settings.maxDelay { delay = delay * 2 }
        return min(delay, max(settings.maxDelay, base))
    }

    /// A penalty is forgotten after this long without a counted failure (Dovecot: 2+4+8+15 s).
    var forgiveAfter: Duration { settings.maxDelay * 2 }

    /// `failureDelay`: the protocol's `auth_failure_delay` when it differs from the global one. `user`: the name
    /// tried, whose own penalty applies unless the user logged in from this network before.
    public func admit(ip: String, user: String? = nil, now: ContinuousClock.Instant, failureDelay: Duration? = nil)
        -> Admission
    {
        let base = failureDelay ?? settings.failureDelay
        guard let key = key(ip) else { return .proceed(penaltyWait: .zero, failureDelay: base) }
        let ipPenalty = table.withLock { table -> Int? in
            guard var record = table[key] else { return 0 }
            if let until = record.bannedUntil {
                if now < until { return nil }
                record.bannedUntil = nil
            }
            if now - record.lastPenalty >= forgiveAfter { record.penalty = 0 }
            table[key] = record
            return record.penalty
        }
        guard let ipPenalty else { return .banned(delay: base) }
        let userPenalty =
            user.map { user in
                userTable.withLock { users -> Int in
                    guard let record = users[user], !record.homes.contains(key),
                        now - record.lastPenalty < forgiveAfter
                    else { return 0 }
                    return record.penalty
                }
            } ?? 0
        let total = delay(forPenalty: max(ipPenalty, userPenalty), base: base)
        return .proceed(penaltyWait: total - base, failureDelay: total)
    }

    /// Records a failed verification; returns the ban it started, if any.
    @discardableResult
    public func failed(ip: String, user: String, password: String, now: ContinuousClock.Instant) -> Ban? {
        guard let key = key(ip) else { return nil }
        var hasher = Hasher()
        hasher.combine(salt)
        hasher.combine(user)
        hasher.combine(password)
        let pair = hasher.finalize()
        failedUser(user, from: key, pair: pair, now: now)
        return table.withLock { table -> Ban? in
            var record = table[key] ?? Record(lastPenalty: now, lastSeen: now)
            record.lastSeen = now
            if now - record.lastPenalty >= forgiveAfter { record.penalty = 0 }
            if let index = record.recentPairs.firstIndex(of: pair) {
                // The same pair again: keep it newest, count nothing (anvil's checksum rule).
                record.recentPairs.remove(at: index)
                record.recentPairs.insert(pair, at: 0)
                table[key] = record
                return nil
            }
            record.recentPairs.insert(pair, at: 0)
            if record.recentPairs.count > Self.recentPairCount { record.recentPairs.removeLast() }
            record.penalty = min(record.penalty + 1, Self.maxPenalty)
            record.lastPenalty = now
            let windowStart = now - settings.banWindow
            record.failures.removeAll { $0 < windowStart }
            record.failures.append(now)
            if record.failures.count > settings.banFailures + 1 { record.failures.removeFirst() }
            record.users = record.users.filter { $0.value >= windowStart }
            if record.users[user] != nil || record.users.count <= settings.banDistinctUsers {
                record.users[user] = now
            }
            var ban: Ban?
            if settings.banTime > .zero, record.bannedUntil == nil {
                if settings.banFailures > 0, record.failures.count > settings.banFailures {
                    ban = Ban(
                        network: key.description, duration: settings.banTime,
                        reason: "\(record.failures.count) failures in \(Self.seconds(settings.banWindow)) secs")
                } else if settings.banDistinctUsers > 0, record.users.count > settings.banDistinctUsers {
                    ban = Ban(
                        network: key.description, duration: settings.banTime,
                        reason: "failures for \(record.users.count) users in \(Self.seconds(settings.banWindow)) secs")
                }
                if ban != nil {
                    bans.add(1, ordering: .relaxed)
                    record.bannedUntil = now + settings.banTime
                    record.failures.removeAll()
                    record.users.removeAll()
                }
            }
            table[key] = record
            Self.evict(&table, cap: settings.maxEntries, by: \.lastSeen)
            return ban
        }
    }

    /// Counts a failure against the user name, unless it came from one of the user's own networks.
    private func failedUser(_ user: String, from key: NetworkKey, pair: Int, now: ContinuousClock.Instant) {
        userTable.withLock { users in
            var record = users[user] ?? UserRecord(lastPenalty: now, lastSeen: now)
            record.lastSeen = now
            guard !record.homes.contains(key), !record.recentPairs.contains(pair) else {
                users[user] = record
                return
            }
            if now - record.lastPenalty >= forgiveAfter { record.penalty = 0 }
            record.recentPairs.insert(pair, at: 0)
            if record.recentPairs.count > Self.recentPairCount { record.recentPairs.removeLast() }
            record.penalty = min(record.penalty + 1, Self.maxPenalty)
            record.lastPenalty = now
            users[user] = record
            Self.evict(&users, cap: settings.maxEntries, by: \.lastSeen)
        }
    }

    /// A success resets the IP's penalty (bans and ban counters stay) and makes the IP's network one of the user's.
    public func succeeded(ip: String, user: String? = nil, now: ContinuousClock.Instant) {
        guard let key = key(ip) else { return }
        if let user {
            userTable.withLock { users in
                var record = users[user] ?? UserRecord(lastPenalty: now, lastSeen: now)
                record.lastSeen = now
                record.homes.removeAll { $0 == key }
                record.homes.insert(key, at: 0)
                if record.homes.count > Self.homeCount { record.homes.removeLast() }
                users[user] = record
                Self.evict(&users, cap: settings.maxEntries, by: \.lastSeen)
            }
        }
        table.withLock { table in
            guard var record = table[key] else { return }
            record.penalty = 0
            record.recentPairs.removeAll()
            record.lastSeen = now
            table[key] = record
        }
    }

    /// How many IPs (networks) are remembered.
    public var count: Int { table.withLock { $0.count } }

    // MARK: - Administration (`aerie adm penalty …`, `aerie adm ban …`)

    /// One line per remembered IP (network) and user name with a penalty, ban or failures; at most `limit` lines
    /// of each, the most recently seen first.
    public func list(now: ContinuousClock.Instant, limit: Int = 100) -> [String] {
        let ips = table.withLock { table in
            table.sorted { $0.value.lastSeen > $1.value.lastSeen }.prefix(limit).map { key, record -> String in
                let penalty = now - record.lastPenalty >= forgiveAfter ? 0 : record.penalty
                var line = "ip \(key) penalty=\(penalty) failures=\(record.failures.count) users=\(record.users.count)"
                if let until = record.bannedUntil, until > now { line += " banned=\(Self.seconds(until - now))s" }
                return line
            }
        }
        let users = userTable.withLock { users in
            users.filter { now - $0.value.lastPenalty < forgiveAfter && $0.value.penalty > 0 }
                .sorted { $0.value.lastSeen > $1.value.lastSeen }.prefix(limit)
                .map { "user \($0.key) penalty=\($0.value.penalty) homes=\($0.value.homes.count)" }
        }
        return ips + users
    }

    /// Forgets an IP's (its network's) penalty, counters and ban, or a user name's penalty; false if unknown.
    public func lift(_ target: String) -> Bool {
        if IPAddress(target) != nil {
            guard let key = key(target) else { return false }
            return table.withLock { $0.removeValue(forKey: key) != nil }
        }
        return userTable.withLock { users in
            guard var record = users[target], record.penalty > 0 else { return false }
            record.penalty = 0
            record.recentPairs.removeAll()
            users[target] = record
            return true
        }
    }

    /// Bans an IP (its network) by hand; nil for an address that is not an IP or is in a trusted network.
    public func ban(ip: String, duration: Duration, now: ContinuousClock.Instant) -> Ban? {
        guard let key = key(ip) else { return nil }
        table.withLock { table in
            var record = table[key] ?? Record(lastPenalty: now, lastSeen: now)
            record.lastSeen = now
            record.bannedUntil = now + duration
            bans.add(1, ordering: .relaxed)
            table[key] = record
            Self.evict(&table, cap: settings.maxEntries, by: \.lastSeen)
        }
        return Ban(network: key.description, duration: duration, reason: "by aerie adm ban")
    }

    /// How many user names are remembered.
    public var userCount: Int { userTable.withLock { $0.count } }

    /// Bans started so far, automatic and by hand.
    public var bansTotal: Int { bans.load(ordering: .relaxed) }

    /// `aerie adm penalty stats`: counters in Prometheus' text format (name, space, value).
    public var stats: [String] {
        [
            "aerie_auth_bans_total \(bansTotal)", "aerie_auth_penalty_ips \(count)",
            "aerie_auth_penalty_users \(userCount)",
        ]
    }

    /// Drops the least recently seen tenth once a table is over its cap (amortised: not on every insert).
    private static func evict<Key: Hashable, Value>(
        _ table: inout [Key: Value], cap: Int, by lastSeen: KeyPath<Value, ContinuousClock.Instant>
    ) {
        guard table.count > cap else { return }
        let drop = max(1, table.count - cap + cap / 10)
        let oldest = table.sorted { $0.value[keyPath: lastSeen] < $1.value[keyPath: lastSeen] }.prefix(drop)
        for (key, _) in oldest { table.removeValue(forKey: key) }
    }

    /// The network an IP counts for (IPv6 per prefix); nil for no IP (local lookups) and trusted networks.
    func key(_ ip: String) -> NetworkKey? {
        guard let address = IPAddress(ip)?.unmapped, !trusted.contains(address) else { return nil }
        var bytes = address.bytes
        if bytes.count == 16 {
            var remaining = max(0, min(128, settings.ipv6Prefix))
            for i in 0..<16 {
                let mask: UInt8 = remaining >= 8 ? 0xFF : (remaining <= 0 ? 0 : ~(0xFF >> UInt8(remaining)))
                bytes[i] &= mask
                remaining -= 8
            }
        }
        return NetworkKey(bytes: bytes, prefix: bytes.count == 16 ? settings.ipv6Prefix : 32)
    }

    static func seconds(_ duration: Duration) -> Int64 { duration.components.seconds }
}

struct NetworkKey: Hashable, Sendable, CustomStringConvertible {
    var bytes: [UInt8]
    var prefix: Int

    var description: String {
        if bytes.count == 4 { return bytes.map(String.init).joined(separator: ".") }
        var groups: [String] = []
        for i in stride(from: 0, to: 16, by: 2) {
            groups.append(String(UInt16(bytes[i]) << 8 | UInt16(bytes[i + 1]), radix: 16))
        }
        return groups.joined(separator: ":") + "/\(prefix)"
    }
}

/// The monotonic clock and sleep the auth service uses; tests inject their own.
public struct AuthClock: Sendable {
    public var now: @Sendable () -> ContinuousClock.Instant
    public var sleep: @Sendable (Duration) async -> Void
    /// Seconds since the epoch, for TOTP steps and app password expiry (a test's fixed time, so a starved test
    /// run cannot move the step between the code's making and its check).
    public var unixTime: @Sendable () -> Int64

    public init(
        now: @escaping @Sendable () -> ContinuousClock.Instant = { ContinuousClock.now },
        sleep: @escaping @Sendable (Duration) async -> Void = { duration in
            if duration > .zero { try? await Task.sleep(for: duration) }
        },
        unixTime: @escaping @Sendable () -> Int64 = AuthClock.systemUnixTime
    ) {
        self.now = now
        self.sleep = sleep
        self.unixTime = unixTime
    }

    public static let systemUnixTime: @Sendable () -> Int64 = { Int64(time(nil)) }
}
