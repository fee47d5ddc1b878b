/// `aerie.index` format 1, as earlier Aerie versions wrote it: text lines, later ones overriding earlier ones.
///   AERIE-INDEX 1
///   H <uidvalidity> <nextuid> <highestmodseq> <new/ mtime ns> <cur/ mtime ns> <uidlist ino> <size> <mtime ns> <expunge floor>
///   R <uid> <modseq> <size> <vsize> <internaldate> <savedate> <n|c> <file name>
///   E <uid> <modseq>
/// Only read: an index found in this format is rewritten in format 2 (IndexFormat) at once.
enum IndexTextFormat {
    /// Applies complete lines of `bytes`; the octets used (a torn last line is left out).
    static func apply(_ bytes: ArraySlice<UInt8>, to index: inout MailboxIndex) -> Int {
        // Expunges come one line at a time here: a dictionary keeps each one cheap.
        index.hashRecords()
        var lineStart = bytes.startIndex
        var position = bytes.startIndex
        while position < bytes.endIndex {
            if bytes[position] == 0x0A {
                applyLine(bytes[lineStart..<position], to: &index)
                lineStart = position + 1
            }
            position += 1
        }
        return lineStart - bytes.startIndex
    }

    private static func applyLine(_ line: ArraySlice<UInt8>, to index: inout MailboxIndex) {
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
            index.header = IndexHeader(
                uidValidity: UInt32(truncatingIfNeeded: int(0)), nextUID: UInt32(truncatingIfNeeded: int(1)),
                highestModSeq: UInt64(int(2)), newMtimeNs: int(3), curMtimeNs: int(4), uidlistInode: UInt64(int(5)),
                uidlistSize: Int(int(6)), uidlistMtimeNs: int(7), expungeFloor: UInt64(int(8)))
        case UInt8(ascii: "R") where fields.count == 8:
            let record = MessageRecord(
                uid: UInt32(truncatingIfNeeded: int(0)), modSeq: UInt64(int(1)), size: Int(int(2)),
                virtualSize: Int(int(3)), internalDate: int(4), saveDate: int(5),
                inNew: fields[6].first == UInt8(ascii: "n"), fileName: String(decoding: fields[7], as: UTF8.self))
            if record.uid > 0 { index.upsert(record) }
        case UInt8(ascii: "E") where fields.count == 2:
            index.expunge(UInt32(truncatingIfNeeded: int(0)), modSeq: UInt64(int(1)))
        default:
            break
        }
    }

    private static func parseDecimal(_ bytes: ArraySlice<UInt8>) -> Int64? {
        var value: Int64 = 0
        var negative = false
        var any = false
        for byte in bytes {
            if byte == UInt8(ascii: "-") && !any {
                negative = true
                continue
            }
            guard byte >= 0x30 && byte <= 0x39 else { return nil }
            value = value &* 10 &+ Int64(byte - 0x30)
            any = true
        }
        return any ? (negative ? -value : value) : nil
    }
}
