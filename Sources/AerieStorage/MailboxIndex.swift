/// Aerie's own per-mailbox index (`aerie.index`): a rebuildable cache of everything a SELECT needs, so opening a mailbox
/// reads one file and never the messages. The file format is in IndexFormat.swift, its handling in IndexLog.swift.

struct IndexRecord: Equatable {
    var uid: UInt32
    // Next to the UID so it fills that word's padding: 64 octets a record, 100,000 of them at an open.
    var inNew: Bool
    var modSeq: UInt64
    var size: Int
    var virtualSize: Int
    var internalDate: Int64
    var saveDate: Int64
    var name: StoredFileName

    init(
        uid: UInt32, modSeq: UInt64, size: Int, virtualSize: Int, internalDate: Int64, saveDate: Int64, inNew: Bool,
        name: StoredFileName
    ) {
        self.uid = uid
        self.modSeq = modSeq
        self.size = size
        self.virtualSize = virtualSize
        self.internalDate = internalDate
        self.saveDate = saveDate
        self.inNew = inNew
        self.name = name
    }

    init(
        uid: UInt32, modSeq: UInt64, size: Int, virtualSize: Int, internalDate: Int64, saveDate: Int64, inNew: Bool,
        fileName: String
    ) {
        self.init(
            uid: uid, modSeq: modSeq, size: size, virtualSize: virtualSize, internalDate: internalDate,
            saveDate: saveDate, inNew: inNew, name: StoredFileName(fileName))
    }

    var fileName: String {
        get { name.string }
        set { name = StoredFileName(newValue) }
    }

    var base: String { name.base }
}

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

    private var ordered: [IndexRecord] = []
    private var hashed: [UInt32: IndexRecord]?

    var count: Int { hashed?.count ?? ordered.count }
    var isEmpty: Bool { count == 0 }

    subscript(uid: UInt32) -> IndexRecord? {
        if let hashed { return hashed[uid] }
        return position(of: uid).map { ordered[$0] }
    }

    /// Every record in no particular order.
    var values: [IndexRecord] { hashed.map { Array($0.values) } ?? ordered }

    /// Every record in UID order.
    func sorted() -> [IndexRecord] {
        guard let hashed else { return ordered }
        return hashed.keys.sorted().map { hashed[$0]! }
    }

    mutating func reserveCapacity(_ count: Int) {
        if hashed == nil { ordered.reserveCapacity(count) }
    }

    /// Inserts or replaces; returns the record it replaced.
    @discardableResult
    mutating func set(_ record: IndexRecord) -> IndexRecord? {
        if hashed != nil { return hashed!.updateValue(record, forKey: record.uid) }
        if ordered.isEmpty || ordered[ordered.count - 1].uid < record.uid {
            ordered.append(record)
            return nil
        }
        if let position = position(of: record.uid) {
            let old = ordered[position]
            ordered[position] = record
            return old
        }
        // A UID below the highest (from the uidlist, during a scan): rare, so an insertion in place is fine.
        let insertion = ordered.partitioningIndex { $0.uid > record.uid }
        ordered.insert(record, at: insertion)
        return nil
    }

    /// Removes the records of `uids` (absent ones are skipped); returns the removed records.
    mutating func remove(_ uids: [UInt32]) -> [IndexRecord] {
        if hashed == nil {
            let positions = Set(uids.compactMap(position(of:))).sorted(by: >)
            if positions.count <= Self.inPlaceRemovals { return positions.map { ordered.remove(at: $0) } }
            hashed = Dictionary(uniqueKeysWithValues: ordered.lazy.map { ($0.uid, $0) })
            ordered = []
        }
        return uids.compactMap { hashed!.removeValue(forKey: $0) }
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

    mutating func upsert(_ record: IndexRecord) {
        let old = records.set(record)
        if uidByBase != nil {
            if let old, old.name != record.name {
                let oldBase = old.base
                if oldBase != record.base { uidByBase![oldBase] = nil }
            }
            uidByBase![record.base] = record.uid
        }
        if record.uid >= header.nextUID { header.nextUID = record.uid &+ 1 }
        if record.modSeq > header.highestModSeq { header.highestModSeq = record.modSeq }
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

    mutating func hashRecords() { records.hashAll() }
}
