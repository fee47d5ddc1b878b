/// `aerie.index`, format 2: the line "AERIE-INDEX 2", then entries appended as the mailbox changes, later ones
/// overriding earlier ones for the same UID. Each write appends its records and expunges and ends with a header entry;
/// a compaction (temp + rename) writes the remembered expunges, every record in UID order, then the header.
///
/// Entry: kind (one octet `H`, `R` or `E`), payload length (UInt32), payload; integers little endian.
///   H  uidvalidity u32, nextuid u32, highestmodseq u64, new/ mtime ns i64, cur/ mtime ns i64, uidlist inode u64,
///      uidlist size i64, uidlist mtime ns i64, expunge floor u64, mailbox GUID length u16, GUID (later fields ignored)
///   R  records, each: uid u32, name length u16, flags u8 (1: in new/), 0 u8, modseq u64, size i64, vsize i64,
///      internal date i64, save date i64, then the file name
///   E  expunges, each: uid u32, modseq u64
/// A file that does not end with a complete header entry (a torn append, a truncated copy) is used but not trusted:
/// the directory mtimes are forgotten, so the next sync lists cur/ and new/ and puts back what is missing with the
/// UIDs of dovecot-uidlist, and modseqs restart above the clock (IndexLog.decode). A file without any header, or with
/// an entry that does not decode, is unusable: the index is rebuilt.
enum IndexFormat {
    static let magic = Array("AERIE-INDEX 2\n".utf8)
    /// Format 1, text lines, still read once and then rewritten as format 2 (see IndexTextFormat).
    static let textMagic = Array("AERIE-INDEX 1\n".utf8)

    static let entryHeaderSize = 5
    static let recordFixedSize = 48
    static let expungeSize = 12
    static let headerFixedSize = 66

    /// What a run of entries did to the index.
    struct Applied {
        /// Octets of complete entries; the rest is a torn tail.
        var complete: Int
        /// The last complete entry was a header: the writer finished its change.
        var endsWithHeader: Bool
    }

    /// Applies the entries in `shared.bytes[start...]`; nil when they do not decode (the index is then rebuilt).
    /// File names stay slices of `shared`.
    static func apply(_ shared: SharedBytes, from start: Int, to index: inout MailboxIndex) -> Applied? {
        shared.bytes.withUnsafeBytes { raw -> Applied? in
            var position = start
            var endsWithHeader = false
            while raw.count - position >= entryHeaderSize {
                let kind = raw[position]
                let length = Int(raw.loadLE(UInt32.self, at: position + 1))
                let payload = position + entryHeaderSize
                guard raw.count - payload >= length else { break }
                let end = payload + length
                switch kind {
                case UInt8(ascii: "H"):
                    guard let header = decodeHeader(raw, from: payload, to: end) else { return nil }
                    index.header = header
                case UInt8(ascii: "R"):
                    guard applyRecords(raw, shared, from: payload, to: end, to: &index) else { return nil }
                case UInt8(ascii: "E"):
                    guard length % expungeSize == 0 else { return nil }
                    index.expunge(
                        stride(from: payload, to: end, by: expungeSize).map {
                            (raw.loadLE(UInt32.self, at: $0), raw.loadLE(UInt64.self, at: $0 + 4))
                        })
                default:
                    return nil
                }
                endsWithHeader = kind == UInt8(ascii: "H")
                position = end
            }
            return Applied(complete: position - start, endsWithHeader: endsWithHeader)
        }
    }

    private static func decodeHeader(_ raw: UnsafeRawBufferPointer, from start: Int, to end: Int) -> IndexHeader? {
        guard end - start >= headerFixedSize else { return nil }
        let guidLength = Int(raw.loadLE(UInt16.self, at: start + 64))
        guard end - start - headerFixedSize >= guidLength else { return nil }
        let guidStart = start + headerFixedSize
        return IndexHeader(
            uidValidity: raw.loadLE(UInt32.self, at: start), nextUID: raw.loadLE(UInt32.self, at: start + 4),
            highestModSeq: raw.loadLE(UInt64.self, at: start + 8), newMtimeNs: raw.loadLE(Int64.self, at: start + 16),
            curMtimeNs: raw.loadLE(Int64.self, at: start + 24), uidlistInode: raw.loadLE(UInt64.self, at: start + 32),
            uidlistSize: Int(raw.loadLE(Int64.self, at: start + 40)),
            uidlistMtimeNs: raw.loadLE(Int64.self, at: start + 48),
            expungeFloor: raw.loadLE(UInt64.self, at: start + 56),
            mailboxGUID: String(
                decoding: UnsafeRawBufferPointer(rebasing: raw[guidStart..<guidStart + guidLength]), as: UTF8.self))
    }

    private static func applyRecords(
        _ raw: UnsafeRawBufferPointer, _ shared: SharedBytes, from start: Int, to end: Int,
        to index: inout MailboxIndex
    ) -> Bool {
        // Count first, so a snapshot's 100,000 records go into one allocation.
        var count = 0
        var at = start
        while end - at >= recordFixedSize {
            let nameLength = Int(raw.loadLE(UInt16.self, at: at + 4))
            guard nameLength > 0, end - at - recordFixedSize >= nameLength else { return false }
            at += recordFixedSize + nameLength
            count += 1
        }
        guard at == end else { return false }
        index.reserveCapacity(index.records.count + count)
        at = start
        while at < end {
            let uid = raw.loadLE(UInt32.self, at: at)
            guard uid > 0 else { return false }
            let nameLength = Int(raw.loadLE(UInt16.self, at: at + 4))
            index.upsert(
                MessageRecord(
                    uid: uid, modSeq: raw.loadLE(UInt64.self, at: at + 8),
                    size: Int(raw.loadLE(Int64.self, at: at + 16)),
                    virtualSize: Int(raw.loadLE(Int64.self, at: at + 24)),
                    internalDate: raw.loadLE(Int64.self, at: at + 32), saveDate: raw.loadLE(Int64.self, at: at + 40),
                    inNew: raw[at + 6] & 1 != 0,
                    name: StoredFileName(slice: shared, start: at + recordFixedSize, count: nameLength)))
            at += recordFixedSize + nameLength
        }
        return true
    }

    /// The whole index as a compacted file.
    static func snapshot(_ index: MailboxIndex) -> [UInt8] {
        var journal = IndexJournal(
            prefix: magic, capacity: magic.count + index.records.count * 110 + index.expunges.count * 12 + 128)
        for expunge in index.expunges { journal.expunge(uid: expunge.uid, modSeq: expunge.modSeq) }
        for record in index.records.sorted() { journal.record(record) }
        journal.header(index.header)
        return journal.finish()
    }
}

/// Entries for one write, in the order they happened; consecutive records (or expunges) share one entry.
struct IndexJournal {
    private var bytes: [UInt8] = []
    private var openEntry: (kind: UInt8, start: Int)?

    init(prefix: [UInt8] = [], capacity: Int = 0) {
        bytes.reserveCapacity(capacity)
        bytes += prefix
    }

    var isEmpty: Bool { bytes.isEmpty }

    /// The encoded entries, every one closed.
    mutating func finish() -> [UInt8] {
        closeEntry()
        return bytes
    }

    mutating func record(_ record: MessageRecord) {
        open(UInt8(ascii: "R"))
        let nameLength = min(record.name.utf8Count, Int(UInt16.max))
        bytes.appendLE(record.uid)
        bytes.appendLE(UInt16(nameLength))
        bytes.append(record.inNew ? 1 : 0)
        bytes.append(0)
        bytes.appendLE(record.modSeq)
        bytes.appendLE(Int64(record.size))
        bytes.appendLE(Int64(record.virtualSize))
        bytes.appendLE(record.internalDate)
        bytes.appendLE(record.saveDate)
        record.name.withUTF8 { bytes.append(contentsOf: $0.prefix(nameLength)) }
    }

    mutating func expunge(uid: UInt32, modSeq: UInt64) {
        open(UInt8(ascii: "E"))
        bytes.appendLE(uid)
        bytes.appendLE(modSeq)
    }

    /// Ends the write: a file whose last entry is a header holds finished changes only.
    mutating func header(_ header: IndexHeader) {
        closeEntry()
        let guid = Array(header.mailboxGUID.utf8.prefix(Int(UInt16.max)))
        bytes.append(UInt8(ascii: "H"))
        bytes.appendLE(UInt32(IndexFormat.headerFixedSize + guid.count))
        bytes.appendLE(header.uidValidity)
        bytes.appendLE(header.nextUID)
        bytes.appendLE(header.highestModSeq)
        bytes.appendLE(header.newMtimeNs)
        bytes.appendLE(header.curMtimeNs)
        bytes.appendLE(header.uidlistInode)
        bytes.appendLE(Int64(header.uidlistSize))
        bytes.appendLE(header.uidlistMtimeNs)
        bytes.appendLE(header.expungeFloor)
        bytes.appendLE(UInt16(guid.count))
        bytes += guid
    }

    private mutating func open(_ kind: UInt8) {
        if openEntry?.kind == kind { return }
        closeEntry()
        openEntry = (kind, bytes.count)
        bytes.append(kind)
        bytes.appendLE(UInt32(0))
    }

    private mutating func closeEntry() {
        guard let entry = openEntry else { return }
        let length = UInt32(bytes.count - entry.start - IndexFormat.entryHeaderSize)
        withUnsafeBytes(of: length.littleEndian) { lengthBytes in
            for (offset, byte) in lengthBytes.enumerated() { bytes[entry.start + 1 + offset] = byte }
        }
        openEntry = nil
    }
}

extension UnsafeRawBufferPointer {
    fileprivate func loadLE<T: FixedWidthInteger>(_ type: T.Type, at offset: Int) -> T {
        T(littleEndian: loadUnaligned(fromByteOffset: offset, as: T.self))
    }
}

extension Array where Element == UInt8 {
    fileprivate mutating func appendLE<T: FixedWidthInteger>(_ value: T) {
        Swift.withUnsafeBytes(of: value.littleEndian) { append(contentsOf: $0) }
    }
}
