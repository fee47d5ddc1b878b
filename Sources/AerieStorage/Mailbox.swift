/// A selected mailbox as one session sees it: `messages` changes only through this session's own operations and
/// `sync()`, which reports what other sessions and processes did since (EXISTS / EXPUNGE / FETCH FLAGS material).
import Glibc

public final class Mailbox: @unchecked Sendable {
    public let name: String
    let engine: MaildirEngine
    /// The engine's mutex: it is shared by every session of the process that has this mailbox open (EngineCache).
    var mutex: PosixMutex { engine.mutex }
    private var view: [MessageRecord] = []
    private var viewGeneration = -1
    private var viewHighestModSeq: UInt64 = 0
    /// The keyword table the view's flags were resolved with: a change re-resolves flags without a new modseq.
    private var viewKeywords = KeywordTable()

    /// `synced: false` skips the initial sync (LMTP delivery needs no view of the messages, only the write path).
    init(name: String, engine: MaildirEngine, synced: Bool = true) throws(StorageError) {
        self.name = name
        self.engine = engine
        if synced { _ = try sync() }
    }

    public var uidValidity: UInt32 { mutex.run { engine.index.header.uidValidity } }
    public var uidNext: UInt32 { mutex.run { engine.index.header.nextUID } }
    /// The highest modseq this session has been told about (never ahead of unreported changes, RFC 7162 §3.1.2.1).
    public var highestModSeq: UInt64 { mutex.run { viewHighestModSeq } }
    /// Ascending UID: message sequence number n is messages[n-1].
    public var messages: [MessageRecord] { mutex.run { view } }
    /// Every keyword defined for the mailbox (dovecot-keywords), for the FLAGS response.
    public var keywords: [String] { mutex.run { engine.keywords.table.names.compactMap { $0 } } }

    /// Picks up other sessions' and processes' deliveries, expunges and flag changes; own changes are not repeated.
    public func sync() throws(StorageError) -> MailboxChanges {
        try mutex.run { () throws(StorageError) -> MailboxChanges in
            try engine.refresh()
            return diffLocked()
        }
    }

    /// RFC 3501 §2.3.2: the messages up to `lastUID` no session has learnt of yet become this session's \Recent ones;
    /// returns the floor before the claim (UIDs from it up to `lastUID` are recent for the caller).
    public func claimRecent(through lastUID: UInt32) -> UInt32 {
        mutex.run { engine.claimRecentLocked(below: lastUID &+ 1) }
    }

    /// The first UID no session has claimed as \Recent (EXAMINE sees these as recent without claiming them).
    public var recentFloor: UInt32 { mutex.run { engine.recentFloorLocked() } }

    /// Compares the view with the engine's current snapshot; the snapshot then becomes the view (shared, not copied).
    private func diffLocked() -> MailboxChanges {
        guard engine.generation != viewGeneration else { return MailboxChanges() }
        let fresh = engine.sortedMessages()
        var changes = MailboxChanges()
        let keywordsChanged = viewKeywords != engine.index.keywords
        viewKeywords = engine.index.keywords
        if view.isEmpty {
            changes.added = fresh
        } else {
            var oldIndex = 0
            for record in fresh {
                while oldIndex < view.count && view[oldIndex].uid < record.uid {
                    changes.expunged.append(view[oldIndex].uid)
                    oldIndex += 1
                }
                if oldIndex < view.count && view[oldIndex].uid == record.uid {
                    let old = view[oldIndex]
                    oldIndex += 1
                    // Every flag change comes with a new modseq, unless the keywords' meaning changed.
                    if record.modSeq != old.modSeq || (keywordsChanged && record.flags != old.flags) {
                        changes.flagsChanged.append(record)
                    }
                } else {
                    changes.added.append(record)
                }
            }
            while oldIndex < view.count {
                changes.expunged.append(view[oldIndex].uid)
                oldIndex += 1
            }
        }
        view = fresh
        viewGeneration = engine.generation
        viewHighestModSeq = engine.index.header.highestModSeq
        return changes
    }

    /// Position of a UID in the view (binary search: the view is in UID order).
    private func position(of uid: UInt32) -> Int? {
        var low = 0
        var high = view.count - 1
        while low <= high {
            let mid = (low + high) / 2
            if view[mid].uid == uid { return mid }
            if view[mid].uid < uid { low = mid + 1 } else { high = mid - 1 }
        }
        return nil
    }

    /// After an own write: if nothing foreign was pending, the view is still complete and need not be diffed again.
    private func ownWriteLocked(generationBefore: Int, modSeq: UInt64) {
        if generationBefore == viewGeneration {
            viewGeneration = engine.generation
            viewKeywords = engine.index.keywords
            viewHighestModSeq = max(viewHighestModSeq, modSeq)
        }
    }

    public func append(_ message: [UInt8], flags: MessageFlags, internalDate: Int64?) throws(StorageError) -> UInt32 {
        let writer = try beginAppend()
        do throws(StorageError) {
            try writer.write(message)
            return try writer.commit(flags: flags, internalDate: internalDate)
        } catch {
            writer.abort()
            throw error
        }
    }

    /// A message streamed into a spool (`MailStore.beginSpool`) becomes this mailbox's; durable before it returns.
    public func append(spooled writer: AppendWriter, flags: MessageFlags, internalDate: Int64?) throws(StorageError)
        -> UInt32
    {
        try writer.commit(into: self, flags: flags, internalDate: internalDate)
    }

    /// Streaming APPEND: the data lives in tmp/ only until commit.
    public func beginAppend() throws(StorageError) -> AppendWriter {
        try AppendWriter(mailbox: self, tmpDirectory: engine.tmpDirectory, durable: engine.durable)
    }

    /// Called by AppendWriter and copy: moves fsynced tmp/ files into place and returns their UIDs.
    func commit(_ messages: [TempMessage], internalDates: [Int64?]) throws(StorageError) -> [UInt32] {
        try mutex.run { () throws(StorageError) -> [UInt32] in
            try engine.withWriteLock { () throws(StorageError) -> [UInt32] in
                try engine.commitLocked(messages, internalDates: internalDates)
            }
        }
    }

    public func store(
        uids: [UInt32], flags: MessageFlags, mode: StoreMode, unchangedSince: UInt64?
    ) throws(StorageError) -> (changed: [MessageRecord], failedModified: [UInt32]) {
        try mutex.run { () throws(StorageError) -> (changed: [MessageRecord], failedModified: [UInt32]) in
            try engine.withWriteLock { () throws(StorageError) -> (changed: [MessageRecord], failedModified: [UInt32]) in
                let before = engine.generation
                var failed: [UInt32] = []
                var wanted: [UInt32] = []
                for uid in Set(uids).sorted() {
                    guard let record = engine.index.records[uid] else { continue }
                    if let limit = unchangedSince, record.modSeq > limit {
                        failed.append(uid)
                        continue
                    }
                    wanted.append(uid)
                }
                let changed = try engine.storeLocked(wanted) { current in Self.apply(flags, mode: mode, to: current) }
                for record in changed {
                    if let position = position(of: record.uid) { view[position] = record }
                }
                ownWriteLocked(generationBefore: before, modSeq: changed.first?.modSeq ?? 0)
                return (changed, failed)
            }
        }
    }

    static func apply(_ flags: MessageFlags, mode: StoreMode, to current: MessageFlags) -> MessageFlags {
        switch mode {
        case .replace:
            return flags
        case .add:
            var result = current
            result.system.formUnion(flags.system)
            for keyword in flags.keywords where !result.contains(keyword: keyword) { result.keywords.append(keyword) }
            return result
        case .remove:
            var result = current
            result.system.subtract(flags.system)
            result.keywords.removeAll { flags.contains(keyword: $0) }
            return result
        }
    }

    /// EXPUNGE (nil) or UID EXPUNGE (a UID set): removes the \Deleted messages among those this session knows.
    public func expunge(uids: [UInt32]?) throws(StorageError) -> [UInt32] {
        try mutex.run { () throws(StorageError) -> [UInt32] in
            try engine.withWriteLock { () throws(StorageError) -> [UInt32] in
                let candidates = uids.map { Set($0) } ?? Set(view.map(\.uid))
                let targets = candidates.filter { uid in
                    guard position(of: uid) != nil, let record = engine.index.records[uid] else { return false }
                    return record.flags.system.contains(.deleted)
                }.sorted()
                return try expungeLocked(targets)
            }
        }
    }

    /// Caller holds the mutex and the write lock.
    private func expungeLocked(_ uids: [UInt32]) throws(StorageError) -> [UInt32] {
        let before = engine.generation
        let done = try engine.expungeLocked(uids)
        guard !done.isEmpty else { return [] }
        let positions = done.compactMap(position(of:))
        if positions.count <= IndexRecords.inPlaceRemovals {
            // A few expunges from a big mailbox: close each gap instead of testing every record.
            for position in positions.sorted(by: >) { view.remove(at: position) }
        } else {
            let gone = Set(done)
            view.removeAll { gone.contains($0.uid) }
        }
        ownWriteLocked(generationBefore: before, modSeq: engine.index.header.highestModSeq)
        return done
    }

    /// Hard link when possible, else a copy; flags and internal date are kept. Returns (source, destination) pairs.
    public func copy(uids: [UInt32], to destination: Mailbox) throws(StorageError) -> [(source: UInt32, destination: UInt32)] {
        let sources = mutex.run { () -> [(uid: UInt32, path: String, record: MessageRecord, guid: String)] in
            Set(uids).sorted().compactMap { uid in
                guard position(of: uid) != nil, let record = engine.index.records[uid] else { return nil }
                let guid = MaildirEngine.objectGUID(engine.guid(of: record))
                return (uid, engine.path(of: record), record, guid)
            }
        }
        guard !sources.isEmpty else { return [] }
        var temps: [TempMessage] = []
        var dates: [Int64?] = []
        var copied: [UInt32] = []
        defer { for temp in temps where FS.exists(temp.tmpPath) { unlink(temp.tmpPath) } }
        for source in sources {
            let base = MaildirFileName.generateUniqueBase()
            let tmpPath = "\(destination.engine.tmpDirectory)/\(base)"
            var linked = try Self.linkOrCopy(source.path, to: tmpPath, internalDate: source.record.internalDate)
            if !linked, let fresh = try currentPath(of: source.uid) {
                // Renamed by another process meanwhile: look again once.
                linked = try Self.linkOrCopy(fresh, to: tmpPath, internalDate: source.record.internalDate)
            }
            guard linked else { continue }  // expunged meanwhile
            temps.append(TempMessage(
                tmpPath: tmpPath, base: base, size: source.record.size, virtualSize: source.record.virtualSize,
                flags: source.record.flags, guid: source.guid))
            dates.append(source.record.internalDate)
            copied.append(source.uid)
        }
        let newUIDs = try destination.commit(temps, internalDates: dates)
        temps.removeAll()
        return zip(copied, newUIDs).map { (source: $0.0, destination: $0.1) }
    }

    /// false when the source does not exist.
    private static func linkOrCopy(_ source: String, to target: String, internalDate: Int64) throws(StorageError) -> Bool {
        if link(source, target) == 0 { return true }
        if errno == ENOENT { return false }
        guard let bytes = try FS.readFile(source) else { return false }
        let fd = try FS.createExclusive(target)
        defer { close(fd) }
        try FS.writeAll(fd, bytes, path: target)
        var times = [timespec(tv_sec: time(nil), tv_nsec: 0), timespec(tv_sec: Int(internalDate), tv_nsec: 0)]
        futimens(fd, &times)
        try FS.fsync(fd, path: target)
        return true
    }

    /// Copy, then expunge the originals (RFC 6851 semantics; the caller reports the source UIDs as expunged).
    public func move(uids: [UInt32], to destination: Mailbox) throws(StorageError) -> [(source: UInt32, destination: UInt32)] {
        let pairs = try copy(uids: uids, to: destination)
        guard !pairs.isEmpty else { return [] }
        try mutex.run { () throws(StorageError) in
            try engine.withWriteLock { () throws(StorageError) in
                _ = try expungeLocked(pairs.map(\.source))
            }
        }
        return pairs
    }

    /// Current file path, for streaming reads; may go stale if another process renames it (then call again).
    public func path(of uid: UInt32) -> String? {
        mutex.run { engine.index.records[uid].map(engine.path(of:)) }
    }

    private func currentPath(of uid: UInt32) throws(StorageError) -> String? {
        try mutex.run { () throws(StorageError) -> String? in
            try engine.withWriteLock { () throws(StorageError) in try engine.scanLocked() }
            return engine.index.records[uid].map(engine.path(of:))
        }
    }

    /// The message file opened for streaming (the caller closes it, and reads no more than `size`, its length when
    /// opened), relative to the held directory; nil when it is not there under the name the index knows (renamed by
    /// another process meanwhile: use `read`). A symlink, FIFO, device or unreadable file is an I/O error, logged once.
    public func openMessage(uid: UInt32) throws(StorageError) -> (fd: Int32, path: String, size: Int)? {
        guard let located = locate(uid) else { return nil }
        let opened =
            located.fd >= 0
            ? try FS.openMessageFile(located.name, in: located.fd, path: located.path)
            : try FS.openMessageFile(located.path, in: AT_FDCWD, path: located.path)
        return opened.map { ($0.fd, located.path, $0.size) }
    }

    /// Raw bytes as on disk (as many as the file holds); a concurrent flag rename by another process is followed by
    /// a rescan.
    public func read(uid: UInt32) throws(StorageError) -> [UInt8] {
        if let opened = try openMessage(uid: uid) {
            return try FS.read(OpenedFile(fd: opened.fd, size: opened.size), from: 0, path: opened.path)
        }
        guard let fresh = try currentPath(of: uid),
            let opened = try FS.openMessageFile(fresh, in: AT_FDCWD, path: fresh)
        else { throw .messageNotFound(uid) }
        return try FS.read(opened, from: 0, path: fresh)
    }

    /// Where the index says a message is: its directory (held open; the engine lives as long as this Mailbox).
    private func locate(_ uid: UInt32) -> (fd: Int32, name: String, path: String)? {
        mutex.run { () -> (fd: Int32, name: String, path: String)? in
            guard let record = engine.index.records[uid] else { return nil }
            return (engine.directoryFD(of: record), record.fileName, engine.path(of: record))
        }
    }

    /// RFC 8474 §4 MAILBOXID.
    public var mailboxID: String { mutex.run { engine.mailboxGUID } }

    /// RFC 8474 §5.1 EMAILID of a message of this view; nil when it is gone.
    public func emailID(uid: UInt32) -> String? {
        mutex.run { engine.index.records[uid].map(engine.emailID(of:)) }
    }

    /// A parsed FETCH item remembered for this message, shared by every session (nil: parse it and `cache` it).
    public func cached(_ item: FetchCacheItem, uid: UInt32) -> String? {
        mutex.run { engine.cachedItem(item, uid: uid) }
    }

    public func cache(_ item: FetchCacheItem, uid: UInt32, value: String) {
        mutex.run { engine.cacheItem(item, uid: uid, value: value) }
    }

    /// Saves what `cache` recorded to the mailbox's cache file.
    public func flushCache() {
        mutex.run { engine.flushFetchCache() }
    }

    /// UIDs expunged after `modSeq`, or nil when the remembered range does not reach back that far.
    public func expungedSince(modSeq: UInt64) -> [UInt32]? {
        mutex.run { engine.index.expunged(since: modSeq) }
    }
}

extension MaildirFileName {
    /// A base for tmp/ (sizes are appended at commit).
    static func generateUniqueBase() -> String {
        let (sec, usec) = UniqueClock.next()
        return "\(sec).M\(usec)P\(getpid()).\(FS.hostName)"
    }
}
