/// Aerie's own per-mailbox index (`aerie.index`): a rebuildable cache of everything a SELECT needs, so opening a mailbox
/// reads one file and never the messages. The file format is in IndexFormat.swift, its handling in IndexLog.swift.

struct IndexHeader: Equatable {
    var uidValidity: UInt32 = 0
    var nextUID: UInt32 = 1
    var highestModSeq: UInt64 = 1
    /// Directory mtimes seen by the last full scan; 0 forces a rescan (set when a mtime was too recent to trust).
    var newMtimeNs: Int64 = 0
    var curMtimeNs: Int64 = 0
    var uidlistInode: UInt64 = 0
    var uidlistSize: Int = 0
    var uidlistMtimeNs: Int64 = 0
    /// Expunges with a modseq above this are all remembered (QRESYNC VANISHED (EARLIER)).
    var expungeFloor: UInt64 = 0
    /// The uidlist's mailbox GUID (RFC 8474 MAILBOXID) when the uidlist had the stamp above, so an open need not read
    /// the uidlist; empty when not known (an index written by the text format).
    var mailboxGUID = ""
}

/// The records by UID. An index read from a snapshot is already in UID order: it is kept as that array (no hashing of
/// 100,000 keys at open), deliveries append to it, flag changes replace in place and a few expunges close the gap;
/// a larger batch of expunges turns it into a dictionary, as removing many UIDs from the middle of a large array
/// would be quadratic.
struct IndexRecords {
    /// Removals from the ordered array per batch before it becomes a dictionary (each moves the array's tail).
    static let inPlaceRemovals = 16

    private var ordered: [MessageRecord] = []
    private var hashed: [UInt32: MessageRecord]?

    var count: Int { hashed?.count ?? ordered.count }
    var isHashed: Bool { hashed != nil }
    var isEmpty: Bool { count == 0 }

    subscript(uid: UInt32) -> MessageRecord? {
        if let hashed { return hashed[uid] }
        return position(of: uid).map { ordered[$0] }
    }

    /// Every record in no particular order.
    var values: [MessageRecord] { hashed.map { Array($0.values) } ?? ordered }

    /// Every record in UID order.
    func sorted() -> [MessageRecord] {
        guard let hashed else { return ordered }
        return hashed.keys.sorted().map { hashed[$0]! }
    }

    mutating func reserveCapacity(_ count: Int) {
        if hashed == nil { ordered.reserveCapacity(count) }
    }

    /// Inserts or replaces.
    mutating func set(_ record: consuming MessageRecord) {
        let uid = record.uid
        if hashed != nil {
            hashed![uid] = record
            return
        }
        if ordered.isEmpty || ordered[ordered.count - 1].uid < uid {
            ordered.append(record)
            return
        }
        if let position = position(of: uid) {
            ordered[position] = record
            return
        }
        // A UID below the highest (from the uidlist, during a scan): rare, so an insertion in place is fine.
        let insertion = ordered.partitioningIndex { $0.uid > uid }
        ordered.insert(record, at: insertion)
    }

    /// Removes the records of `uids` (absent ones are skipped); returns the removed records.
    mutating func remove(_ uids: [UInt32]) -> [MessageRecord] {
        if hashed == nil {
            let positions = Set(uids.compactMap(position(of:))).sorted(by: >)
            if positions.count <= Self.inPlaceRemovals { return positions.map { ordered.remove(at: $0) } }
            hashed = Dictionary(uniqueKeysWithValues: ordered.lazy.map { ($0.uid, $0) })
            ordered = []
        }
        return uids.compactMap { hashed!.removeValue(forKey: $0) }
    }

    /// Changes records in place; `body` returns whether it changed the record (untouched ones are not written back,
    /// so a view sharing the array is not copied for nothing).
    mutating func updateAll(_ body: (inout MessageRecord) -> Bool) {
        if hashed != nil {
            for uid in Array(hashed!.keys) {
                var record = hashed![uid]!
                if body(&record) { hashed![uid] = record }
            }
            return
        }
        for position in ordered.indices {
            var record = ordered[position]
            if body(&record) { ordered[position] = record }
        }
    }

    /// Dictionary from now on (an old text log, whose expunges come one line at a time).
    mutating func hashAll() {
        guard hashed == nil else { return }
        hashed = Dictionary(uniqueKeysWithValues: ordered.lazy.map { ($0.uid, $0) })
        ordered = []
    }

    private func position(of uid: UInt32) -> Int? {
        var low = 0
        var high = ordered.count - 1
        while low <= high {
            let mid = (low + high) / 2
            let found = ordered[mid].uid
            if found == uid { return mid }
            if found < uid { low = mid + 1 } else { high = mid - 1 }
        }
        return nil
    }
}

extension Array {
    /// The first index whose element satisfies `belongsInSecondPart` (the array is partitioned by it).
    func partitioningIndex(where belongsInSecondPart: (Element) -> Bool) -> Int {
        var low = 0
        var high = count
        while low < high {
            let mid = (low + high) / 2
            if belongsInSecondPart(self[mid]) { high = mid } else { low = mid + 1 }
        }
        return low
    }
}

struct MailboxIndex {
    static let fileName = "aerie.index"
    /// Bounded memory of expunged UIDs for QRESYNC.
    static let expungeMemory = 10_000

    var header = IndexHeader()
    private(set) var records = IndexRecords()
    private(set) var expunges: [(uid: UInt32, modSeq: UInt64)] = []
    /// Built at the first lookup by base name (a scan of cur/ or new/), then kept up to date: an open that needs no
    /// scan never decodes 100,000 names.
    private var uidByBase: [String: UInt32]?
    /// What the keyword letters of the file names mean (dovecot-keywords): every record's flags are resolved with it.
    private(set) var keywords: KeywordTable

    init(keywords: KeywordTable = KeywordTable()) { self.keywords = keywords }

    /// Resolves the record's flags from its file name, then inserts or replaces it.
    mutating func upsert(_ record: consuming MessageRecord) {
        record.flags = record.name.flags(keywords: keywords)
        let uid = record.uid
        if uid >= header.nextUID { header.nextUID = uid &+ 1 }
        if record.modSeq > header.highestModSeq { header.highestModSeq = record.modSeq }
        if uidByBase != nil {
            let base = record.base
            if let old = records[uid], old.name != record.name {
                let oldBase = old.base
                if oldBase != base { uidByBase![oldBase] = nil }
            }
            uidByBase![base] = uid
        }
        // Moved in, not copied: a snapshot's 100,000 records go in without a retain each.
        records.set(record)
    }

    mutating func expunge(_ uid: UInt32, modSeq: UInt64) { expunge([(uid, modSeq)]) }

    mutating func expunge(_ uids: [UInt32], modSeq: UInt64) { expunge(uids.map { ($0, modSeq) }) }

    /// One batch, so a few expunges from a large mailbox move its records once each (IndexRecords).
    mutating func expunge(_ entries: [(uid: UInt32, modSeq: UInt64)]) {
        guard !entries.isEmpty else { return }
        for old in records.remove(entries.map(\.uid)) where uidByBase != nil { uidByBase![old.base] = nil }
        expunges += entries
        let highest = entries.lazy.map(\.modSeq).max()!
        if highest > header.highestModSeq { header.highestModSeq = highest }
        if expunges.count > Self.expungeMemory + Self.expungeMemory / 4 {
            let dropped = expunges.count - Self.expungeMemory
            header.expungeFloor = max(header.expungeFloor, expunges[dropped - 1].modSeq)
            expunges.removeFirst(dropped)
        }
    }

    mutating func uid(forBase base: String) -> UInt32? {
        if uidByBase == nil {
            var built: [String: UInt32] = [:]
            built.reserveCapacity(records.count)
            for record in records.values { built[record.base] = record.uid }
            uidByBase = built
        }
        return uidByBase![base]
    }

    func expunged(since modSeq: UInt64) -> [UInt32]? {
        guard modSeq >= header.expungeFloor else { return nil }
        return expunges.filter { $0.modSeq > modSeq }.map(\.uid).sorted()
    }

    mutating func reserveCapacity(_ count: Int) { records.reserveCapacity(count) }

    /// A changed keyword table (another process defined or rewrote keywords): records with keyword letters are
    /// resolved again.
    mutating func setKeywords(_ table: KeywordTable) {
        guard table != keywords else { return }
        keywords = table
        records.updateAll { record in
            guard record.name.hasKeywordLetters else { return false }
            record.flags = record.name.flags(keywords: table)
            return true
        }
    }

    mutating func hashRecords() { records.hashAll() }
}
