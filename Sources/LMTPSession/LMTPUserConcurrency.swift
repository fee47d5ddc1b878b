import Synchronization

/// Dovecot `lmtp_user_concurrency_limit`: deliveries in flight per user, counted over every LMTP connection of the
/// process. A recipient holds a slot from its accepted RCPT until its transaction ends (delivered, failed, RSET, or
/// the connection gone); a user at the limit gets `451 4.3.0` at RCPT, so the MTA retries later.
///
/// One instance is shared by all connections; a reload changes `limit` in place so slots in flight stay counted.
public final class LMTPUserConcurrency: Sendable {
    private struct State {
        var limit: Int
        var inFlight: [String: Int] = [:]
    }

    private let state: Mutex<State>

    /// `limit` 0 means no limit (Dovecot 2.3's default; 2.4's is 10).
    public init(limit: Int) {
        state = Mutex(State(limit: max(0, limit)))
    }

    public var limit: Int {
        get { state.withLock { $0.limit } }
        set { state.withLock { $0.limit = max(0, newValue) } }
    }

    /// A slot for one more delivery to `user`, or nil when the user already has `limit` in flight.
    /// The slot is given back when the last reference to it goes away.
    public func acquire(_ user: String) -> LMTPDeliverySlot? {
        let granted = state.withLock { state -> Bool in
            let current = state.inFlight[user, default: 0]
            guard state.limit == 0 || current < state.limit else { return false }
            state.inFlight[user] = current + 1
            return true
        }
        return granted ? LMTPDeliverySlot(user: user, owner: self) : nil
    }

    /// Deliveries to `user` in flight now.
    public func inFlight(_ user: String) -> Int {
        state.withLock { $0.inFlight[user, default: 0] }
    }

    fileprivate func release(_ user: String) {
        state.withLock { state in
            let remaining = state.inFlight[user, default: 1] - 1
            state.inFlight[user] = remaining > 0 ? remaining : nil
        }
    }
}

/// One delivery in flight for one user; releasing is tied to its lifetime, so no path (success, failure, RSET,
/// a dropped connection, a delivery still running on the pool) can keep or lose a count.
public final class LMTPDeliverySlot: Sendable {
    public let user: String
    private let owner: LMTPUserConcurrency

    fileprivate init(user: String, owner: LMTPUserConcurrency) {
        self.user = user
        self.owner = owner
    }

    deinit { owner.release(user) }
}
