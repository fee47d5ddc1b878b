/// `aerie.cache` beside `aerie.index`: the parsed ENVELOPE / BODY / BODYSTRUCTURE strings on disk, so a restarted
/// server answers a mailbox's envelopes without re-reading its messages (Dovecot's dovecot.index.cache). A cache,
/// rebuilt when missing: never fsynced, a torn last record is cut off, another UIDVALIDITY starts it over.
///   AERIE-CACHE 2 <uidvalidity>
///   <uid> <item> <length>\n<value>\n        (repeated; later records win)
import Glibc

struct FetchCacheFile {
    static let fileName = "aerie.cache"
    /// Raised whenever what ENVELOPE / BODYSTRUCTURE answer for the same message changes, so no file keeps serving
    /// the old answer: a file with another magic is ignored and written anew. 2: ENVELOPE / BODYSTRUCTURE as Dovecot
    /// 2.3 answers them (repeated address fields merged, folds, address recovery, RFC 2231 passed through, part ends).
    static let magic = "AERIE-CACHE 2"
    /// Beyond this the file starts over (expunged messages' records are never compacted out otherwise).
    static let sizeLimit = 64 << 20

    let path: String
    /// Loaded once per engine, on the first lookup.
    private(set) var loaded = false
    private var uidValidity: UInt32 = 0
    /// Where the last good record ends (and appends continue); nil: the file must be written anew.
    private var validLength: Int?
    private var pending: [UInt8] = []

    init(directory: String) { path = "\(directory)/\(Self.fileName)" }

    /// Reads the file into `cache` (records for other UIDVALIDITYs or torn at the end are ignored).
    mutating func load(into cache: inout FetchCache, uidValidity: UInt32) {
        loaded = true
        self.uidValidity = uidValidity
        validLength = nil
        guard let bytes = try? FS.readFile(path), bytes.count <= Self.sizeLimit else { return }
        guard let headerEnd = bytes.firstIndex(of: 10),
            String(decoding: bytes[..<headerEnd], as: UTF8.self) == "\(Self.magic) \(uidValidity)"
        else { return }
        var position = headerEnd + 1
        while let recordHeaderEnd = bytes[position...].firstIndex(of: 10) {
            let fields = bytes[position..<recordHeaderEnd].split(separator: 32).map {
                Int(String(decoding: $0, as: UTF8.self))
            }
            guard fields.count == 3, let uid = fields[0], let kind = fields[1], let length = fields[2],
                uid > 0, uid <= Int(UInt32.max), let item = FetchCacheItem(rawValue: kind), length >= 0,
                length < bytes.count, recordHeaderEnd + 1 + length < bytes.count, bytes[recordHeaderEnd + 1 + length] == 10
            else { break }
            let value = String(decoding: bytes[(recordHeaderEnd + 1)..<(recordHeaderEnd + 1 + length)], as: UTF8.self)
            cache.store(item, uid: UInt32(uid), uidValidity: uidValidity, value: value)
            position = recordHeaderEnd + 2 + length
        }
        validLength = position
    }

    mutating func record(_ item: FetchCacheItem, uid: UInt32, uidValidity: UInt32, value: String) {
        if uidValidity != self.uidValidity {
            // A rebuilt mailbox: what is on disk describes the old one.
            self.uidValidity = uidValidity
            validLength = nil
            pending = []
        }
        let bytes = Array(value.utf8)
        pending += Array("\(uid) \(item.rawValue) \(bytes.count)\n".utf8)
        pending += bytes
        pending.append(10)
    }

    /// Appends what was recorded since the last flush (caller holds the engine's mutex).
    mutating func flush() {
        guard !pending.isEmpty else { return }
        defer { pending.removeAll(keepingCapacity: false) }
        let fd = FS.openRegularForWriting(path, flags: O_CREAT)
        guard fd >= 0 else { return }
        defer { close(fd) }
        var st = Glibc.stat()
        guard fstat(fd, &st) == 0 else { return }
        var out: [UInt8] = []
        if let validLength, validLength <= Int(st.st_size), Int(st.st_size) + pending.count <= Self.sizeLimit {
            if Int(st.st_size) != validLength { _ = ftruncate(fd, off_t(validLength)) }
        } else {
            _ = ftruncate(fd, 0)
            out = Array("\(Self.magic) \(uidValidity)\n".utf8)
        }
        out += pending
        let end = lseek(fd, 0, SEEK_END)
        guard end >= 0, (try? FS.writeAll(fd, out, path: path)) != nil else {
            validLength = nil
            return
        }
        validLength = Int(end) + out.count
    }
}
