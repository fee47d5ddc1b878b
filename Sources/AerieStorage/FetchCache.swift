/// The FETCH items that cost a parse of the message (RFC 9051 §7.5.2 ENVELOPE, BODY, BODYSTRUCTURE), remembered by
/// UID so a client re-reading a mailbox's envelopes costs a lookup, as Dovecot's dovecot.index.cache gives it.
public enum FetchCacheItem: Int, Sendable, CaseIterable {
    case envelope
    case body
    case bodyStructure
}

struct FetchCache {
    /// Per mailbox; beyond it the cache starts over (a mailbox being read end to end refills it in order).
    static let byteLimit = 32 << 20

    private var uidValidity: UInt32 = 0
    private var entries: [UInt32: [String?]] = [:]
    private(set) var bytes = 0

    func value(_ item: FetchCacheItem, uid: UInt32, uidValidity: UInt32) -> String? {
        guard uidValidity == self.uidValidity else { return nil }
        return entries[uid]?[item.rawValue]
    }

    mutating func store(_ item: FetchCacheItem, uid: UInt32, uidValidity: UInt32, value: String) {
        if uidValidity != self.uidValidity || bytes + value.utf8.count > Self.byteLimit {
            entries = [:]
            bytes = 0
            self.uidValidity = uidValidity
        }
        var slots = entries[uid] ?? Array(repeating: nil, count: FetchCacheItem.allCases.count)
        bytes -= slots[item.rawValue]?.utf8.count ?? 0
        slots[item.rawValue] = value
        bytes += value.utf8.count
        entries[uid] = slots
    }
}
