/// The index file on disk: how much of it has been applied, so other sessions' appends are read incrementally.
import Glibc

struct IndexLog {
    let path: String
    private(set) var inode: UInt64 = 0
    private(set) var offset = 0
    private(set) var snapshotSize = 0
    /// The file is in the text format of earlier versions: it is read, never appended to, and rewritten in format 2.
    private(set) var isTextFormat = false

    init(directory: String) { path = "\(directory)/\(MailboxIndex.fileName)" }

    enum LoadResult { case unchanged, updated, missing }

    /// Brings `index` up to date with the file: reads the tail when it only grew, everything when it was replaced.
    /// `.missing` also when the file is not an index or does not decode: it is then rebuilt from the Maildir.
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
        if fresh {
            guard let (loaded, used, textFormat) = Self.decode(bytes, keywords: index.keywords) else {
                inode = 0
                offset = 0
                return .missing
            }
            index = loaded
            isTextFormat = textFormat
            snapshotSize = used
            offset = used
        } else if isTextFormat {
            let used = IndexTextFormat.apply(bytes[...], to: &index)
            // Only a torn line so far (another writer mid-append): nothing changed.
            if used == 0 { return .unchanged }
            offset += used
        } else {
            guard let applied = IndexFormat.apply(SharedBytes(bytes), from: 0, to: &index) else {
                // Damage in another writer's append: read the whole file again next time (and rebuild if it is bad).
                inode = 0
                offset = 0
                return .missing
            }
            if applied.complete == 0 { return .unchanged }
            offset += applied.complete
        }
        inode = st.inode
        return .updated
    }

    /// A whole file (keyword letters resolved with `keywords`): the index, the octets of complete entries, and whether it is the text format.
    static func decode(_ bytes: [UInt8], keywords: KeywordTable = KeywordTable()) -> (MailboxIndex, Int, Bool)? {
        var index = MailboxIndex(keywords: keywords)
        if bytes.starts(with: IndexFormat.magic) {
            let shared = SharedBytes(bytes)
            guard let applied = IndexFormat.apply(shared, from: IndexFormat.magic.count, to: &index) else { return nil }
            let used = IndexFormat.magic.count + applied.complete
            if !applied.endsWithHeader || used < bytes.count {
                // No header at all: nothing to go by, rebuild.
                guard index.header.uidValidity != 0 else { return nil }
                // Unfinished changes (torn append, truncated file): use what is there, but list the directories
                // again, and continue above any modseq the lost changes may have handed out (RFC 7162 §3.1.2.1:
                // modseqs never go back), forgetting an expunge history that may have lost entries.
                index.header.newMtimeNs = 0
                index.header.curMtimeNs = 0
                index.header.highestModSeq = max(index.header.highestModSeq, UInt64(max(1, nowNanoseconds() / 1000)))
                index.header.expungeFloor = index.header.highestModSeq
            }
            return (index, used, false)
        }
        if bytes.starts(with: IndexFormat.textMagic) {
            let used = IndexTextFormat.apply(bytes[IndexFormat.textMagic.count...], to: &index)
            return (index, IndexFormat.textMagic.count + used, true)
        }
        return nil
    }

    /// Appends a write's entries (caller holds the mailbox write lock); compacts when the log has grown too long.
    mutating func append(_ journal: IndexJournal, index: MailboxIndex, durable: Bool) throws(StorageError) {
        guard !journal.isEmpty else { return }
        if inode == 0 || isTextFormat || offset > max(snapshotSize * 2, 1 << 20) {
            try compact(index, durable: durable)
            return
        }
        let fd = FS.openRegularForWriting(path, flags: O_APPEND)
        if fd < 0 {
            // Gone, or not a file of ours (a symlink): a snapshot renamed into place replaces it.
            if errno == ENOENT || errno == ELOOP {
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
        var journal = journal
        let bytes = journal.finish()
        try FS.writeAll(fd, bytes, path: path)
        if durable && fdatasync(fd) != 0 { throw FS.ioError(path) }
        offset += bytes.count
    }

    mutating func compact(_ index: MailboxIndex, durable: Bool) throws(StorageError) {
        let bytes = IndexFormat.snapshot(index)
        try FS.makeDirectories(FS.parentPath(path))
        try FS.writeAtomically(path, bytes, durable: durable)
        inode = FS.stat(path)?.inode ?? 0
        offset = bytes.count
        snapshotSize = bytes.count
        isTextFormat = false
    }
}
