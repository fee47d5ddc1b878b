/// One-time tokens for the hand-off of a logged-in connection (issue 11): the auth process issues one with each
/// successful login it answers on a login-process connection, the login process puts it in the hand-off header, and
/// the master redeems it (once, within `lifetime`) for the user and userdb fields. So a compromised login process
/// cannot name another user: it only passes on tokens for logins that really happened, each usable once.
/// Dovecot does the same with its login cookie and the auth-master REQUEST.
public struct LoginTokens: Sendable {
    /// The extra field a login reply carries the token in; the login process moves it into the hand-off header.
    public static let field = "aerie-login-token"
    /// A token not redeemed within this is gone (a hand-off follows its login at once).
    public static let lifetime: Duration = .seconds(30)
    /// Most tokens waiting: past it the oldest is dropped (its hand-off fails, logged by the master).
    public static let capacity = 4096

    struct Entry: Sendable {
        var user: AuthenticatedUser
        var expires: ContinuousClock.Instant
    }

    private var entries: [String: Entry] = [:]
    /// Issue order, to drop the oldest first; may hold tokens already redeemed.
    private var order: [String] = []
    private var orderStart = 0
    private let capacity: Int
    private let lifetime: Duration

    public init(capacity: Int = LoginTokens.capacity, lifetime: Duration = LoginTokens.lifetime) {
        self.capacity = capacity
        self.lifetime = lifetime
    }

    public var count: Int { entries.count }

    /// A new token for `user`: 32 random bytes from the system's CSPRNG, as hex.
    public mutating func issue(for user: AuthenticatedUser, now: ContinuousClock.Instant) -> String {
        expire(now: now)
        var token = ""
        repeat { token = Self.randomHex() } while entries[token] != nil
        while entries.count >= capacity, orderStart < order.count {
            entries.removeValue(forKey: order[orderStart])
            orderStart += 1
        }
        var clean = user
        clean.extraFields.removeValue(forKey: Self.field)
        entries[token] = Entry(user: clean, expires: now + lifetime)
        order.append(token)
        compact()
        return token
    }

    /// 32 bytes from the CSPRNG as 64 lowercase hex digits: eight bytes per draw (one system call each, not one per
    /// byte) and no string per digit; the auth process issues one with every login.
    static func randomHex() -> String {
        var generator = SystemRandomNumberGenerator()
        let digits = Array("0123456789abcdef".utf8)
        var hex: [UInt8] = []
        hex.reserveCapacity(64)
        for _ in 0..<4 {
            var word = generator.next()
            for _ in 0..<8 {
                let byte = UInt8(truncatingIfNeeded: word)
                hex.append(digits[Int(byte >> 4)])
                hex.append(digits[Int(byte & 0xF)])
                word >>= 8
            }
        }
        return String(decoding: hex, as: UTF8.self)
    }

    /// The user `token` was issued for, and the token is gone; nil when unknown, expired or already redeemed.
    public mutating func redeem(_ token: String, now: ContinuousClock.Instant) -> AuthenticatedUser? {
        guard let entry = entries.removeValue(forKey: token) else { return nil }
        guard now < entry.expires else { return nil }
        return entry.user
    }

    private mutating func expire(now: ContinuousClock.Instant) {
        while orderStart < order.count {
            let token = order[orderStart]
            if let entry = entries[token], now < entry.expires { break }
            entries.removeValue(forKey: token)
            orderStart += 1
        }
    }

    private mutating func compact() {
        if orderStart > 1024 && orderStart * 2 > order.count {
            order.removeFirst(orderStart)
            orderStart = 0
        }
    }
}
