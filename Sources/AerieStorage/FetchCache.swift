import Synchronization

/// The FETCH items that cost a parse of the message (RFC 9051 §7.5.2 ENVELOPE, BODY, BODYSTRUCTURE), remembered by
/// UID so a client re-reading a mailbox's envelopes costs a lookup, as Dovecot's dovecot.index.cache gives it.
public enum FetchCacheItem: Int, Sendable, CaseIterable {
    case envelope
    case body
    case bodyStructure
}

/// One mailbox's share of the process-wide cache budget.
struct FetchCache {
    /// All mailboxes of the process together; a mailbox that would go over starts its own cache over, and if that is
    /// not enough the value is simply not cached.
    static let processLimit = 64 << 20
    static let processBytes = Atomic<Int>(0)

    private var uidValidity: UInt32 = 0
    private var entries: [UInt32: [String?]] = [:]
    private(set) var bytes = 0

    func value(_ item: FetchCacheItem, uid: UInt32, uidValidity: UInt32) -> String? {
        guard uidValidity == self.uidValidity else { return nil }
        return entries[uid]?[item.rawValue]
    }

    mutating func store(_ item: FetchCacheItem, uid: UInt32, uidValidity: UInt32, value: String) {
        let size = value.utf8.count + 16
        if uidValidity != self.uidValidity || Self.processBytes.load(ordering: .relaxed) + size > Self.processLimit {
            clear()
            self.uidValidity = uidValidity
        }
        guard Self.processBytes.load(ordering: .relaxed) + size <= Self.processLimit else { return }
        var slots = entries[uid] ?? Array(repeating: nil, count: FetchCacheItem.allCases.count)
        if let old = slots[item.rawValue] { add(-(old.utf8.count + 16)) }
        slots[item.rawValue] = value
        add(size)
        entries[uid] = slots
    }

    /// Gives the bytes back to the budget (also when the mailbox's engine goes away).
    mutating func clear() {
        add(-bytes)
        entries = [:]
    }

    private mutating func add(_ delta: Int) {
        bytes += delta
        Self.processBytes.add(delta, ordering: .relaxed)
    }
}
