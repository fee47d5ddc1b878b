/// `dovecot-uidlist`, version 3 (Dovecot ≥ 1.1): header `3 V<uidvalidity> N<nextuid> G<guid>`, then
/// `<uid> [<key><value> ...] :<base name>` per message. Version 1 (Courier's courierimapuiddb layout) is read too.
import Glibc

struct UIDListEntry: Equatable {
    var uid: UInt32
    /// Extension fields kept verbatim (W<vsize>, S<size>, G<guid>, P<pop3 uidl>, O<pop3 order>).
    var extensions: [String]
    var base: String

    /// Dovecot's POP3 UIDL override ('P' extension), if any.
    var pop3UIDL: String? { extensions.first { $0.hasPrefix("P") }.map { String($0.dropFirst()) } }
}

struct UIDList: Equatable {
    static let fileName = "dovecot-uidlist"

    var uidValidity: UInt32 = 0
    var nextUID: UInt32 = 1
    var guid = ""
    /// Header fields Aerie does not know, written back unchanged.
    var extraHeader: [String] = []
    private(set) var entries: [UIDListEntry] = []
    private var byBase: [String: Int] = [:]
    /// A final line without a newline (a writer crashed mid-append): the next write must rewrite, not append.
    private(set) var damaged = false
    private(set) var version = 3

    func uid(forBase base: String) -> UInt32? { byBase[base].map { entries[$0].uid } }

    func entry(forBase base: String) -> UIDListEntry? { byBase[base].map { entries[$0] } }

    mutating func add(_ entry: UIDListEntry) {
        byBase[entry.base] = entries.count
        entries.append(entry)
        if entry.uid >= nextUID { nextUID = entry.uid &+ 1 }
    }

    /// Keeps only entries whose base is still on disk (compaction before a rewrite).
    mutating func retain(bases live: Set<String>) {
        entries.removeAll { !live.contains($0.base) }
        byBase = [:]
        for (index, entry) in entries.enumerated() { byBase[entry.base] = index }
    }

    static func parse(_ bytes: [UInt8]) -> UIDList? {
        var (lines, partial) = splitLines(bytes)
        // A torn final line (writer crashed mid-append) is not trusted; the next write rewrites the file.
        if partial && lines.count > 1 { lines.removeLast() }
        guard let header = lines.first else { return nil }
        var list = UIDList()
        list.damaged = partial
        let fields = header.split(separator: " ")
        guard let versionField = fields.first, let version = Int(versionField) else { return nil }
        list.version = version
        switch version {
        case 3:
            for field in fields.dropFirst() {
                let value = field.dropFirst()
                switch field.first {
                case "V": list.uidValidity = UInt32(value) ?? 0
                case "N": list.nextUID = UInt32(value) ?? 1
                case "G": list.guid = String(value)
                default: list.extraHeader.append(String(field))
                }
            }
        case 1:
            guard fields.count >= 3, let validity = UInt32(fields[1]), let next = UInt32(fields[2]) else { return nil }
            list.uidValidity = validity
            list.nextUID = next
        default:
            return nil
        }
        let headerNext = list.nextUID
        var previous: UInt32 = 0
        for line in lines.dropFirst() {
            guard let entry = parseEntry(line, version: version), entry.uid > previous else { continue }
            previous = entry.uid
            if let existing = list.byBase[entry.base] {
                // Dovecot: a duplicate file entry means the file came back; the later UID wins.
                list.entries[existing].uid = 0
            }
            list.add(entry)
        }
        list.entries.removeAll { $0.uid == 0 }
        list.byBase = [:]
        for (index, entry) in list.entries.enumerated() { list.byBase[entry.base] = index }
        // Appended lines do not update the header's N, so the next UID is the larger of the two.
        list.nextUID = max(headerNext, (list.entries.last?.uid ?? 0) &+ 1, 1)
        return list
    }

    private static func parseEntry(_ line: Substring, version: Int) -> UIDListEntry? {
        guard let space = line.firstIndex(of: " "), let uid = UInt32(line[..<space]), uid > 0, uid < UInt32.max else {
            return nil
        }
        var rest = line[line.index(after: space)...]
        var extensions: [String] = []
        if version == 3 {
            while let first = rest.first, first != ":" {
                let end = rest.firstIndex(of: " ") ?? rest.endIndex
                let field = rest[..<end]
                if !field.isEmpty { extensions.append(String(field)) }
                rest = rest[end...].drop { $0 == " " }
            }
            guard rest.first == ":" else { return nil }
            rest = rest.dropFirst()
        }
        // The stored name is the base; a v1 line may still carry ":2,flags".
        let base = MaildirFileName(String(rest)).base
        guard !base.isEmpty, !base.contains("/") else { return nil }
        return UIDListEntry(uid: uid, extensions: extensions, base: base)
    }

    func headerLine() -> String {
        var fields = ["3", "V\(uidValidity)", "N\(nextUID)", "G\(guid)"]
        fields.append(contentsOf: extraHeader)
        return fields.joined(separator: " ") + "\n"
    }

    static func line(for entry: UIDListEntry) -> String {
        var text = String(entry.uid)
        for field in entry.extensions { text += " " + field }
        return text + " :" + entry.base + "\n"
    }

    func serialize() -> [UInt8] {
        var text = headerLine()
        text.reserveCapacity(entries.count * 64)
        for entry in entries { text += Self.line(for: entry) }
        return Array(utf8: text)
    }
}

/// The uidlist plus the identity of the file it came from; callers hold the uidlist dotlock while writing.
struct UIDListFile {
    let path: String
    private(set) var list = UIDList()
    private(set) var stamp: FileStat?
    private(set) var loaded = false

    init(directory: String) { path = "\(directory)/\(UIDList.fileName)" }

    var exists: Bool { stamp != nil }

    /// Re-reads when the file changed on disk; true when it did.
    @discardableResult
    mutating func refresh() throws(StorageError) -> Bool {
        let current = FS.stat(path)
        if loaded && current == stamp { return false }
        loaded = true
        stamp = current
        if current != nil { StorageTestHooks.record(.uidlistRead, path: path) }
        // A symlink reads as nothing: the list known so far stays, and the next write renames a file over the link.
        guard current != nil, let bytes = try FS.readFile(path), let parsed = UIDList.parse(bytes) else {
            if current == nil { list = UIDList() }
            return true
        }
        list = parsed
        return true
    }

    /// Keeps N from going backwards when the lines of the highest UIDs are dropped.
    mutating func raiseNextUID(_ uid: UInt32) {
        if uid > list.nextUID { list.nextUID = uid }
    }

    mutating func setHeader(uidValidity: UInt32, guid: String) {
        list.uidValidity = uidValidity
        list.guid = guid
    }

    /// Appends entries the way Dovecot does (in place, under the lock), or rewrites when that is not safe.
    mutating func append(_ entries: [UIDListEntry], durable: Bool) throws(StorageError) {
        guard !entries.isEmpty else { return }
        for entry in entries { list.add(entry) }
        if stamp == nil || list.damaged || list.version != 3 || list.guid.isEmpty {
            try rewrite(durable: durable)
            return
        }
        var text = ""
        for entry in entries { text += UIDList.line(for: entry) }
        let fd = FS.openRegularForWriting(path, flags: O_APPEND)
        if fd < 0 {
            // Not a file of ours (a symlink, a FIFO): the whole list is written anew, renamed over it.
            guard errno == ELOOP else { throw FS.ioError(path) }
            try rewrite(durable: durable)
            return
        }
        defer { close(fd) }
        try FS.writeAll(fd, Array(utf8: text), path: path)
        if durable && fdatasync(fd) != 0 { throw FS.ioError(path) }
        stamp = FS.stat(path)
    }

    /// Writes the whole file (temp + rename), dropping entries whose files are gone when `live` is given.
    mutating func rewrite(durable: Bool, live: Set<String>? = nil) throws(StorageError) {
        if let live { list.retain(bases: live) }
        if list.guid.isEmpty { list.guid = randomGUIDHex() }
        if list.uidValidity == 0 { list.uidValidity = UInt32(truncatingIfNeeded: nowSeconds()) }
        try FS.writeAtomically(path, list.serialize(), durable: durable)
        stamp = FS.stat(path)
        list = UIDList.parse(list.serialize()) ?? list
    }
}
