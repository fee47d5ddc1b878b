/// Aerie's own per-mailbox index (`aerie.index`): a rebuildable cache of everything a SELECT needs, so opening a mailbox
/// reads one file and never the messages. It is an append-only log of text lines, compacted by temp + rename:
///   AERIE-INDEX 1
///   H <uidvalidity> <nextuid> <highestmodseq> <new/ mtime ns> <cur/ mtime ns> <uidlist ino> <size> <mtime ns> <expunge floor>
///   R <uid> <modseq> <size> <vsize> <internaldate> <savedate> <n|c> <file name>
///   E <uid> <modseq>
/// Later lines override earlier ones for the same UID.
import Glibc

struct IndexRecord: Equatable {
    var uid: UInt32
    var modSeq: UInt64
    var size: Int
    var virtualSize: Int
    var internalDate: Int64
    var saveDate: Int64
    var inNew: Bool
    var fileName: String

    var base: String { MaildirFileName(fileName).base }
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
}

struct MailboxIndex {
    static let fileName = "aerie.index"
    static let magic = "AERIE-INDEX 1"
    /// Bounded memory of expunged UIDs for QRESYNC.
    static let expungeMemory = 10_000

    var header = IndexHeader()
    var records: [UInt32: IndexRecord] = [:]
    var uidByBase: [String: UInt32] = [:]
    var expunges: [(uid: UInt32, modSeq: UInt64)] = []

    mutating func upsert(_ record: IndexRecord) {
        if let old = records[record.uid], old.base != record.base { uidByBase[old.base] = nil }
        records[record.uid] = record
        uidByBase[record.base] = record.uid
        if record.uid >= header.nextUID { header.nextUID = record.uid &+ 1 }
        if record.modSeq > header.highestModSeq { header.highestModSeq = record.modSeq }
    }

    mutating func expunge(_ uid: UInt32, modSeq: UInt64) {
        if let old = records.removeValue(forKey: uid) { uidByBase[old.base] = nil }
        expunges.append((uid, modSeq))
        if modSeq > header.highestModSeq { header.highestModSeq = modSeq }
        if expunges.count > Self.expungeMemory + Self.expungeMemory / 4 {
            let dropped = expunges.count - Self.expungeMemory
            header.expungeFloor = max(header.expungeFloor, expunges[dropped - 1].modSeq)
            expunges.removeFirst(dropped)
        }
    }

    func expunged(since modSeq: UInt64) -> [UInt32]? {
        guard modSeq >= header.expungeFloor else { return nil }
        return expunges.filter { $0.modSeq > modSeq }.map(\.uid).sorted()
    }

    // MARK: Encoding

    static func headerLine(_ h: IndexHeader) -> String {
        "H \(h.uidValidity) \(h.nextUID) \(h.highestModSeq) \(h.newMtimeNs) \(h.curMtimeNs) \(h.uidlistInode) \(h.uidlistSize) \(h.uidlistMtimeNs) \(h.expungeFloor)\n"
    }

    static func recordLine(_ r: IndexRecord) -> String {
        "R \(r.uid) \(r.modSeq) \(r.size) \(r.virtualSize) \(r.internalDate) \(r.saveDate) \(r.inNew ? "n" : "c") \(r.fileName)\n"
    }

    static func expungeLine(uid: UInt32, modSeq: UInt64) -> String { "E \(uid) \(modSeq)\n" }

    func snapshot() -> [UInt8] {
        var text = Self.magic + "\n" + Self.headerLine(header)
        text.reserveCapacity(records.count * 90 + 64)
        for expunge in expunges { text += Self.expungeLine(uid: expunge.uid, modSeq: expunge.modSeq) }
        for uid in records.keys.sorted() { text += Self.recordLine(records[uid]!) }
        return Array(utf8: text)
    }

    /// Applies log lines; returns false if the data is not an index (then it is rebuilt from the Maildir).
    mutating func apply(_ bytes: ArraySlice<UInt8>, expectMagic: Bool) -> Bool {
        var lineStart = bytes.startIndex
        var first = expectMagic
        var index = bytes.startIndex
        while index < bytes.endIndex {
            if bytes[index] == 0x0A {
                let line = bytes[lineStart..<index]
                if first {
                    guard String(decoding: line, as: UTF8.self) == Self.magic else { return false }
                    first = false
                } else {
                    applyLine(line)
                }
                lineStart = index + 1
            }
            index += 1
        }
        return !first
    }

    private mutating func applyLine(_ line: ArraySlice<UInt8>) {
        guard let kind = line.first else { return }
        var fields: [ArraySlice<UInt8>] = []
        fields.reserveCapacity(9)
        var start = line.startIndex + 1
        // Split on spaces, but the file name (last R field) is taken whole.
        let maxFields = kind == UInt8(ascii: "R") ? 8 : 9
        var i = start
        while i <= line.endIndex && fields.count < maxFields {
            if i == line.endIndex || line[i] == 0x20 {
                if i > start { fields.append(line[start..<i]) }
                start = i + 1
                if fields.count == maxFields - 1 && kind == UInt8(ascii: "R") {
                    if start < line.endIndex { fields.append(line[start..<line.endIndex]) }
                    break
                }
            }
            i += 1
        }
        func int(_ n: Int) -> Int64 { parseDecimal(fields[n]) ?? 0 }
        switch kind {
        case UInt8(ascii: "H") where fields.count == 9:
            header = IndexHeader(
                uidValidity: UInt32(truncatingIfNeeded: int(0)), nextUID: UInt32(truncatingIfNeeded: int(1)),
                highestModSeq: UInt64(int(2)), newMtimeNs: int(3), curMtimeNs: int(4), uidlistInode: UInt64(int(5)),
                uidlistSize: Int(int(6)), uidlistMtimeNs: int(7), expungeFloor: UInt64(int(8)))
        case UInt8(ascii: "R") where fields.count == 8:
            let record = IndexRecord(
                uid: UInt32(truncatingIfNeeded: int(0)), modSeq: UInt64(int(1)), size: Int(int(2)),
                virtualSize: Int(int(3)), internalDate: int(4), saveDate: int(5),
                inNew: fields[6].first == UInt8(ascii: "n"), fileName: String(decoding: fields[7], as: UTF8.self))
            if record.uid > 0 { upsert(record) }
        case UInt8(ascii: "E") where fields.count == 2:
            expunge(UInt32(truncatingIfNeeded: int(0)), modSeq: UInt64(int(1)))
        default:
            break
        }
    }
}

private func parseDecimal(_ bytes: ArraySlice<UInt8>) -> Int64? {
    var value: Int64 = 0
    var negative = false
    var any = false
    for byte in bytes {
        if byte == UInt8(ascii: "-") && !any { negative = true; continue }
        guard byte >= 0x30 && byte <= 0x39 else { return nil }
        value = value &* 10 &+ Int64(byte - 0x30)
        any = true
    }
    return any ? (negative ? -value : value) : nil
}

/// The index file on disk: how much of it has been applied, so other sessions' appends are read incrementally.
struct IndexLog {
    let path: String
    private(set) var inode: UInt64 = 0
    private(set) var offset = 0
    private(set) var snapshotSize = 0

    init(directory: String) { path = "\(directory)/\(MailboxIndex.fileName)" }

    enum LoadResult { case unchanged, updated, missing }

    /// Brings `index` up to date with the file: reads the tail when it only grew, everything when it was replaced.
    mutating func load(into index: inout MailboxIndex) throws(StorageError) -> LoadResult {
        guard let st = FS.stat(path) else {
            inode = 0
            offset = 0
            return .missing
        }
        if st.inode == inode && st.size == offset { return .unchanged }
        let fresh = st.inode != inode || st.size < offset
        StorageTestHooks.record(.indexRead, path: path)
        guard let bytes = try FS.readFile(path, from: fresh ? 0 : offset) else { return .missing }
        // Only complete lines count; a torn final line (crash mid-append) is left for the next compaction.
        let complete = (bytes.lastIndex(of: 0x0A)).map { $0 + 1 } ?? 0
        if fresh {
            var rebuilt = MailboxIndex()
            guard rebuilt.apply(bytes[0..<complete], expectMagic: true) else { return .missing }
            index = rebuilt
            snapshotSize = complete
        } else {
            _ = index.apply(bytes[0..<complete], expectMagic: false)
        }
        inode = st.inode
        offset = (fresh ? 0 : offset) + complete
        return .updated
    }

    /// Appends change lines (caller holds the mailbox write lock); compacts when the log has grown too long.
    mutating func append(_ text: String, index: MailboxIndex, durable: Bool) throws(StorageError) {
        guard !text.isEmpty else { return }
        if inode == 0 || offset > max(snapshotSize * 2, 1 << 20) {
            try compact(index, durable: durable)
            return
        }
        let fd = open(path, O_WRONLY | O_APPEND | O_CLOEXEC)
        if fd < 0 {
            if errno == ENOENT {
                try compact(index, durable: durable)
                return
            }
            throw FS.ioError(path)
        }
        var st = Glibc.stat()
        // Someone replaced or extended the file behind us: our view is incomplete, write a full snapshot instead.
        if fstat(fd, &st) != 0 || UInt64(st.st_ino) != inode || Int(st.st_size) != offset {
            close(fd)
            try compact(index, durable: durable)
            return
        }
        defer { close(fd) }
        let bytes = Array(utf8: text)
        try FS.writeAll(fd, bytes, path: path)
        if durable && fdatasync(fd) != 0 { throw FS.ioError(path) }
        offset += bytes.count
    }

    mutating func compact(_ index: MailboxIndex, durable: Bool) throws(StorageError) {
        let bytes = index.snapshot()
        try FS.makeDirectories(FS.parentPath(path))
        try FS.writeAtomically(path, bytes, durable: durable)
        inode = FS.stat(path)?.inode ?? 0
        offset = bytes.count
        snapshotSize = bytes.count
    }
}
