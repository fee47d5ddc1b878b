/// One mailbox directory's shared state: the index, the uidlist and keywords, and the sync that reconciles them with
/// cur/ and new/. Every write happens under `dovecot-uidlist.lock`, the lock Dovecot's writers take too.
import Crypto
import Glibc

/// A message fully written (and fsynced) in tmp/, waiting to be renamed into place.
struct TempMessage {
    var tmpPath: String
    /// Base name without sizes; ",S=,W=" are added at commit as Dovecot does.
    var base: String
    var size: Int
    var virtualSize: Int
    var flags: MessageFlags
    /// The GUID a copy carries over from its source (uidlist `G` extension), so its EMAILID stays the same.
    var guid: String? = nil
}

final class MaildirEngine {
    /// Guards everything below; the engine is shared by all sessions of the process (EngineCache).
    let mutex = PosixMutex()
    let directory: String
    let configuration: MailStoreConfiguration
    private(set) var uidlist: UIDListFile
    private(set) var keywords: KeywordFile
    private(set) var index = MailboxIndex()
    private var log: IndexLog
    /// Bumped whenever `index` or `keywords` change, so views know when to diff.
    private(set) var generation = 0
    private var indexLoaded = false
    /// An index in the old text format was found and its rewrite attempted (once per engine).
    private var upgradeTried = false
    /// `index.records` in UID order when they are hashed (after many expunges), built once per generation.
    private var sortedCache: (generation: Int, records: [MessageRecord])?
    /// Parsed ENVELOPE / BODY / BODYSTRUCTURE strings by UID: a message file never changes under its UID.
    private(set) var fetchCache = FetchCache()
    private var fetchCacheFile: FetchCacheFile

    /// EMAILIDs worked out so far (otherwise a uidlist lookup and a SHA-256 per message at every FETCH EMAILID): the
    /// GUID of a UID never changes within one UIDVALIDITY.
    private var emailIDs: (uidValidity: UInt32, byUID: [UInt32: String]) = (0, [:])
    /// RFC 3501 §2.3.2 (Dovecot's first_recent_uid): UIDs from here on are \Recent for the first read-write session
    /// that learns of them; nil until first asked, then the first message still in new/ (never seen by a client).
    private var recentFloor: UInt32?

    /// A directory listed (or written by us) less than a second after its last change: its mtime alone cannot prove
    /// that nothing else changed in the same instant, so it is not stored as trusted. While unchanged it spares the
    /// listing for a second; then one listing verifies it (Dovecot's delayed refresh, MAILDIR_SYNC_SECS). Without
    /// this, every sync in the second after a write listed cur/ again: 60 ms each for 100,000 messages.
    private struct ProvisionalMtime {
        var mtimeNs: Int64
        /// CLOCK_MONOTONIC: a wall clock set back must not stretch the second.
        var seenAtNs: Int64
    }
    private var provisionalNew: ProvisionalMtime?
    private var provisionalCur: ProvisionalMtime?
    /// Whether new/, cur/ and the uidlist held nothing unknown to the index when the current write began: only then
    /// may the write's own changes to them be recorded as known.
    private var writeBase = (new: false, cur: false, uidlist: false)

    /// cur/ and new/ held open for reading messages by name; -1 until first needed (or when they can't be opened).
    private var directoryFDs: (cur: Int32, new: Int32) = (-1, -1)

    deinit {
        fetchCache.clear()
        if directoryFDs.cur >= 0 { close(directoryFDs.cur) }
        if directoryFDs.new >= 0 { close(directoryFDs.new) }
    }

    /// The open directory a record's file is in (caller holds the mutex).
    func directoryFD(of record: MessageRecord) -> Int32 { directoryFD(inNew: record.inNew) }

    /// new/ or cur/, opened once (AT_FDCWD-relative paths are used when it cannot be).
    func directoryFD(inNew: Bool) -> Int32 {
        if inNew {
            if directoryFDs.new < 0 { directoryFDs.new = open(newDirectory, O_RDONLY | O_DIRECTORY | O_CLOEXEC) }
            return directoryFDs.new
        }
        if directoryFDs.cur < 0 { directoryFDs.cur = open(curDirectory, O_RDONLY | O_DIRECTORY | O_CLOEXEC) }
        return directoryFDs.cur
    }

    init(directory: String, indexDirectory: String, configuration: MailStoreConfiguration) {
        self.directory = directory
        self.configuration = configuration
        uidlist = UIDListFile(directory: directory)
        keywords = KeywordFile(directory: directory)
        log = IndexLog(directory: indexDirectory)
        fetchCacheFile = FetchCacheFile(directory: indexDirectory)
    }

    var durable: Bool { configuration.fsync }
    var newDirectory: String { "\(directory)/new" }
    var curDirectory: String { "\(directory)/cur" }
    var tmpDirectory: String { "\(directory)/tmp" }

    /// The first UID not yet claimed as \Recent by a session. Caller holds the mutex, after a refresh.
    func recentFloorLocked() -> UInt32 {
        if let recentFloor { return recentFloor }
        let floor = firstRecentOnDisk(nextUID: index.header.nextUID)
        recentFloor = floor
        return floor
    }

    /// Where \Recent starts when this process first looks: at the first message still in new/.
    private func firstRecentOnDisk(nextUID: UInt32) -> UInt32 {
        sortedMessages().first(where: \.inNew)?.uid ?? nextUID
    }

    /// Claims the UIDs below `end` for the caller; returns the floor before the claim. Caller holds the mutex.
    func claimRecentLocked(below end: UInt32) -> UInt32 {
        let floor = recentFloorLocked()
        recentFloor = max(floor, end)
        return floor
    }

    func path(of record: MessageRecord) -> String { "\(record.inNew ? newDirectory : curDirectory)/\(record.fileName)" }

    func withWriteLock<T>(_ body: () throws(StorageError) -> T) throws(StorageError) -> T {
        guard FS.isDirectory(directory) else { throw .mailboxNotFound(directory) }
        let lock = try DotLock.acquire(for: uidlist.path, timeoutSeconds: configuration.lockTimeoutSeconds)
        defer { lock.release() }
        try loadIndex()
        writeBase = (
            isCurrent(FS.stat(newDirectory), trusted: index.header.newMtimeNs, provisional: provisionalNew),
            isCurrent(FS.stat(curDirectory), trusted: index.header.curMtimeNs, provisional: provisionalCur),
            uidlistIsCurrent()
        )
        return try body()
    }

    /// Applies what other sessions appended to aerie.index.
    private func loadIndex() throws(StorageError) {
        switch try log.load(into: &index) {
        case .updated:
            indexLoaded = true
            generation += 1
        case .unchanged:
            break
        case .missing:
            // Deleted or never written: keep what we know (or nothing) and let the next scan rebuild it.
            if !indexLoaded { index.header.newMtimeNs = 0 }
            index.header.curMtimeNs = 0
        }
    }

    /// Cheap when nothing changed: the index tail, the keywords file and three stat calls.
    func refresh() throws(StorageError) {
        defer { if recentFloor == nil { _ = recentFloorLocked() } }
        try loadIndex()
        if try keywords.refresh() { generation += 1 }
        index.setKeywords(keywords.table)
        if needsScan() {
            try withWriteLock { () throws(StorageError) in
                if needsScan() { try scanLocked() }
            }
        } else if log.isTextFormat && !upgradeTried {
            // A cache: if it cannot be rewritten now, the text file still serves and the next write replaces it.
            upgradeTried = true
            try? withWriteLock { () throws(StorageError) in
                if log.isTextFormat && !needsScan() { try upgradeIndexLocked() }
            }
        }
    }

    /// An index in the text format of earlier versions is rewritten once in the compact one (with the mailbox GUID
    /// the text header did not carry), so the next open reads it fast.
    private func upgradeIndexLocked() throws(StorageError) {
        try uidlist.refresh()
        if index.header.mailboxGUID.isEmpty { index.header.mailboxGUID = uidlist.list.guid }
        try log.compact(index, durable: false)
    }

    private func needsScan() -> Bool {
        let header = index.header
        return !(indexLoaded
            && isCurrent(FS.stat(newDirectory), trusted: header.newMtimeNs, provisional: provisionalNew)
            && isCurrent(FS.stat(curDirectory), trusted: header.curMtimeNs, provisional: provisionalCur)
            && uidlistIsCurrent())
    }

    /// The directory holds exactly what the index says, as far as its mtime tells.
    private func isCurrent(_ stat: FileStat?, trusted: Int64, provisional: ProvisionalMtime?) -> Bool {
        guard let stat else { return false }
        if trusted != 0 && stat.mtimeNs == trusted { return true }
        guard let provisional, stat.mtimeNs == provisional.mtimeNs else { return false }
        return configuration.clock.monotonic() - provisional.seenAtNs < configuration.syncWindowNs
    }

    private func uidlistIsCurrent() -> Bool {
        guard let listStat = FS.stat(uidlist.path) else { return false }
        let header = index.header
        return listStat.inode == header.uidlistInode && listStat.size == header.uidlistSize
            && listStat.mtimeNs == header.uidlistMtimeNs
    }

    private func provisional(_ stat: FileStat?) -> ProvisionalMtime? {
        stat.map { ProvisionalMtime(mtimeNs: $0.mtimeNs, seenAtNs: configuration.clock.monotonic()) }
    }

    /// A directory mtime less than a second old may still change within the same timestamp: do not trust it.
    private func trusted(_ stat: FileStat?) -> Int64 {
        guard let stat, configuration.clock.now() - stat.mtimeNs > configuration.syncWindowNs else { return 0 }
        return stat.mtimeNs
    }

    /// Makes sure the uidlist exists and carries a UIDVALIDITY; a fresh Maildir gets one from the root's allocator.
    func ensureUIDList(root: String) throws(StorageError) {
        try uidlist.refresh()
        guard !uidlist.exists || uidlist.list.uidValidity == 0 else { return }
        let validity =
            index.header.uidValidity != 0
            ? index.header.uidValidity
            : try UIDValidityAllocator.next(root: root, durable: durable, lockTimeout: configuration.lockTimeoutSeconds)
        uidlist.setHeader(uidValidity: validity, guid: uidlist.list.guid.isEmpty ? randomGUIDHex() : uidlist.list.guid)
        try uidlist.rewrite(durable: durable)
    }

    /// Full reconciliation of cur/ and new/ with the uidlist and the index (caller holds the write lock).
    func scanLocked() throws(StorageError) {
        for sub in [newDirectory, curDirectory, tmpDirectory] where !FS.isDirectory(sub) { try FS.makeDirectory(sub) }
        // stat before readdir: anything that changes afterwards moves the mtime on and triggers the next scan.
        let newStat = FS.stat(newDirectory)
        let curStat = FS.stat(curDirectory)
        try ensureUIDList(root: configuration.root)
        _ = try keywords.refresh()
        index.setKeywords(keywords.table)
        if uidlist.list.uidValidity != index.header.uidValidity {
            // A different (or first) uidlist: the index describes another mailbox generation, start over.
            let rebuilding = index.header.uidValidity != 0 || !index.records.isEmpty || !indexLoaded
            index = MailboxIndex(keywords: keywords.table)
            index.header.uidValidity = uidlist.list.uidValidity
            if rebuilding && !uidlist.list.entries.isEmpty {
                // Modseqs were lost with the index; restart above any value handed out before (microsecond clock).
                index.header.highestModSeq = UInt64(max(1, nowNanoseconds() / 1000))
                index.header.expungeFloor = index.header.highestModSeq
            }
        }
        StorageTestHooks.record(.directoryScan, path: curDirectory)

        // A directory whose trusted mtime has not moved holds exactly what the index says: only the others are read
        // (an LMTP delivery into new/ does not cost a listing of a big cur/).
        let header = index.header
        let scanNew =
            index.records.isEmpty || !isCurrent(newStat, trusted: header.newMtimeNs, provisional: provisionalNew)
        let scanCur =
            index.records.isEmpty || !isCurrent(curStat, trusted: header.curMtimeNs, provisional: provisionalCur)
        var files: [String: (name: String, inNew: Bool)] = [:]
        for (dir, inNew) in [(newDirectory, true), (curDirectory, false)] where inNew ? scanNew : scanCur {
            for entry in try FS.listDirectory(dir) ?? [] where !entry.name.hasPrefix(".") {
                let base = MaildirFileName(entry.name).base
                // The same message in new/ and cur/ (a rename in progress): cur/ wins.
                if inNew, files[base] != nil { continue }
                files[base] = (entry.name, inNew)
            }
        }

        let modSeq = index.header.highestModSeq + 1
        var changed = false
        var journal = IndexJournal()
        var seen = Set<UInt32>()
        for (base, file) in files {
            guard let uid = index.uid(forBase: base), let record = index.records[uid] else { continue }
            files[base] = nil
            seen.insert(uid)
            guard file.name != record.fileName || file.inNew != record.inNew else { continue }
            var updated = record
            updated.fileName = file.name
            updated.inNew = file.inNew
            if (MaildirFileName(file.name).info ?? "") != (MaildirFileName(record.fileName).info ?? "") {
                updated.modSeq = modSeq
                changed = true
            }
            index.upsert(updated)
            journal.record(updated)
        }
        let gone = index.records.values.filter { (($0.inNew && scanNew) || (!$0.inNew && scanCur)) && !seen.contains($0.uid) }
        index.expunge(gone.map(\.uid), modSeq: modSeq)
        for record in gone {
            emailIDs.byUID[record.uid] = nil
            journal.expunge(uid: record.uid, modSeq: modSeq)
            changed = true
        }

        var nextUID = max(uidlist.list.nextUID, index.header.nextUID)
        var newEntries: [UIDListEntry] = []
        let now = nowSeconds()
        for (base, file) in files.sorted(by: { maildirSortsBefore($0.key, $1.key) }) {
            let path = "\(file.inNew ? newDirectory : curDirectory)/\(file.name)"
            let parsed = MaildirFileName(file.name)
            StorageTestHooks.record(.messageFileStat, path: path)
            // What cannot be read is left out of the view (logged once) rather than failing the whole mailbox; it
            // gets its UID when a later scan finds it readable.
            guard let status = FS.messageFileStatus(path) else { continue }  // vanished meanwhile
            let st: FileStat
            switch status {
            case .success(let found): st = found
            case .failure(let unusable):
                StorageLog.skipped(path, unusable.description)
                continue
            }
            var size = parsed.size ?? st.size
            var vsize = parsed.virtualSize
            if vsize == nil || parsed.size == nil {
                StorageTestHooks.record(.messageFileOpen, path: path)
                do throws(StorageError) {
                    let held = directoryFD(inNew: file.inNew)
                    let opened =
                        held >= 0
                        ? try FS.openMessageFile(file.name, in: held, path: path)
                        : try FS.openMessageFile(path, in: AT_FDCWD, path: path)
                    if let opened {
                        var counter = VirtualSizeCounter()
                        counter.add(try FS.read(opened, from: 0, path: path))
                        size = parsed.size ?? counter.size
                        vsize = counter.virtualSize
                    }
                } catch {
                    StorageLog.skipped(path, error.description)
                    continue
                }
            }
            var uid = uidlist.list.uid(forBase: base) ?? 0
            if uid == 0 || index.records[uid] != nil {
                uid = nextUID
                newEntries.append(UIDListEntry(uid: uid, extensions: [], base: base))
            }
            nextUID = max(nextUID, uid + 1)
            let record = MessageRecord(
                uid: uid, modSeq: modSeq, size: size, virtualSize: vsize ?? size, internalDate: st.mtimeSeconds,
                saveDate: now, inNew: file.inNew, fileName: file.name)
            index.upsert(record)
            journal.record(record)
            changed = true
        }
        try uidlist.append(newEntries, durable: durable)
        try compactUIDListIfSparse()
        if changed { index.header.highestModSeq = modSeq }
        index.header.nextUID = max(nextUID, uidlist.list.nextUID, index.header.nextUID)
        // A directory not listed keeps what it had: an unverified mtime does not become trusted by growing old.
        if scanNew {
            index.header.newMtimeNs = trusted(newStat)
            provisionalNew = index.header.newMtimeNs == 0 ? provisional(newStat) : nil
        }
        if scanCur {
            index.header.curMtimeNs = trusted(curStat)
            provisionalCur = index.header.curMtimeNs == 0 ? provisional(curStat) : nil
        }
        stampUIDList()
        writeBase = (true, true, true)
        journal.header(index.header)
        try log.append(journal, index: index, durable: false)
        indexLoaded = true
        generation += 1
    }

    private func stampUIDList() {
        let listStat = FS.stat(uidlist.path)
        index.header.uidlistInode = listStat?.inode ?? 0
        index.header.uidlistSize = listStat?.size ?? 0
        index.header.uidlistMtimeNs = listStat?.mtimeNs ?? 0
        index.header.mailboxGUID = uidlist.list.guid
    }

    /// Dovecot keeps lines of expunged messages until they are a quarter of the file; the same rule here.
    private func compactUIDListIfSparse() throws(StorageError) {
        let total = uidlist.list.entries.count
        let live = index.records.count
        guard total - live > 16 && (total - live) * 4 > total else { return }
        let bases = Set(index.records.values.map(\.base))
        uidlist.raiseNextUID(index.header.nextUID)
        try uidlist.rewrite(durable: durable, live: bases)
    }

    // MARK: Writes (caller holds the write lock)

    /// Renames fsynced tmp/ files into new/ (no flags) or cur/, fsyncs the directory, then records the UIDs.
    func commitLocked(_ messages: [TempMessage], internalDates: [Int64?]) throws(StorageError) -> [UInt32] {
        var placed: [String] = []
        do throws(StorageError) {
            return try commitLocked(messages, internalDates: internalDates, placed: &placed)
        } catch {
            // Not acknowledged, so not visible: take back whatever was already renamed into new/ or cur/.
            for path in placed { unlink(path) }
            throw error
        }
    }

    private func commitLocked(
        _ messages: [TempMessage], internalDates: [Int64?], placed: inout [String]
    ) throws(StorageError) -> [UInt32] {
        try ensureUIDList(root: configuration.root)
        var nextUID = max(uidlist.list.nextUID, index.header.nextUID)
        if recentFloor == nil { recentFloor = firstRecentOnDisk(nextUID: nextUID) }
        let modSeq = index.header.highestModSeq + 1
        var entries: [UIDListEntry] = []
        var journal = IndexJournal()
        var uids: [UInt32] = []
        var touchedNew = false
        var touchedCur = false
        let now = nowSeconds()
        for (position, message) in messages.enumerated() {
            let keywordIndexes = try keywords.indexes(
                for: message.flags.keywords, durable: durable, lockTimeout: configuration.lockTimeoutSeconds)
            index.setKeywords(keywords.table)
            let base = "\(message.base),S=\(message.size),W=\(message.virtualSize)"
            let hasFlags = !message.flags.system.isEmpty || !keywordIndexes.isEmpty
            let name = hasFlags
                ? MaildirFileName(
                    base: base,
                    info: MaildirFileName.infoLetters(for: message.flags, keywordIndexes: keywordIndexes, preserving: nil)
                ).name : base
            let destination = "\(hasFlags ? curDirectory : newDirectory)/\(name)"
            try FS.rename(message.tmpPath, to: destination)
            placed.append(destination)
            if hasFlags { touchedCur = true } else { touchedNew = true }
            let record = MessageRecord(
                uid: nextUID, modSeq: modSeq, size: message.size, virtualSize: message.virtualSize,
                internalDate: internalDates[position] ?? (FS.stat(destination)?.mtimeSeconds ?? now), saveDate: now,
                inNew: !hasFlags, fileName: name)
            entries.append(UIDListEntry(uid: nextUID, extensions: message.guid.map { ["G" + $0] } ?? [], base: base))
            index.upsert(record)
            journal.record(record)
            uids.append(nextUID)
            nextUID += 1
        }
        if configuration.failCommitAfterRename { throw StorageError.io(path: directory, errno: EIO) }
        if durable {
            if touchedNew { try FS.fsyncDirectory(newDirectory) }
            if touchedCur { try FS.fsyncDirectory(curDirectory) }
        }
        try uidlist.append(entries, durable: durable)
        index.header.highestModSeq = modSeq
        index.header.nextUID = max(nextUID, index.header.nextUID)
        finishWrite(journal, new: touchedNew, cur: touchedCur)
        return uids
    }

    /// Records the change lines. The directories written to are no longer trusted (the file says so, for a restarted
    /// server); if they held nothing unknown before, their new mtimes are our own change, provisionally known, and
    /// one listing a second later catches anything another process did there in the same instant.
    private func finishWrite(_ journal: IndexJournal, new touchedNew: Bool, cur touchedCur: Bool) {
        if touchedNew {
            index.header.newMtimeNs = 0
            provisionalNew = writeBase.new ? provisional(FS.stat(newDirectory)) : nil
        }
        if touchedCur {
            index.header.curMtimeNs = 0
            provisionalCur = writeBase.cur ? provisional(FS.stat(curDirectory)) : nil
        }
        // We hold the uidlist lock: if the file held nothing unknown when the write began, it now holds our lines.
        if writeBase.uidlist && uidlist.loaded { stampUIDList() }
        var journal = journal
        journal.header(index.header)
        try? log.append(journal, index: index, durable: false)
        generation += 1
    }

    /// Renames files to carry new flags. Returns the records that really changed (all with one new modseq).
    /// `transform` maps a message's current flags to the wanted ones; it is asked again after a rescan.
    func storeLocked(
        _ uids: [UInt32], transform: (MessageFlags) -> MessageFlags
    ) throws(StorageError) -> [MessageRecord] {
        let modSeq = index.header.highestModSeq + 1
        var journal = IndexJournal()
        var changed: [MessageRecord] = []
        var rescanned = false
        var touchedNew = false
        for uid in uids {
            var attempt = 0
            while attempt < 2, let record = index.records[uid] {
                attempt += 1
                let current = record.flags
                let wanted = transform(current)
                if wanted == current { break }
                let keywordIndexes = try keywords.indexes(
                    for: wanted.keywords, durable: durable, lockTimeout: configuration.lockTimeoutSeconds)
                index.setKeywords(keywords.table)
                let old = MaildirFileName(record.fileName)
                let info = MaildirFileName.infoLetters(for: wanted, keywordIndexes: keywordIndexes, preserving: old.info)
                let newName = MaildirFileName(base: old.base, info: info).name
                if newName == record.fileName && !record.inNew { break }
                let target = "\(curDirectory)/\(newName)"
                if record.inNew { touchedNew = true }
                if rename(path(of: record), target) != 0 {
                    guard errno == ENOENT, !rescanned else { throw FS.ioError(path(of: record)) }
                    // Another process renamed or expunged it: rescan (as Dovecot does) and try once more.
                    rescanned = true
                    try scanLocked()
                    continue
                }
                var updated = record
                updated.fileName = newName
                updated.inNew = false
                updated.modSeq = modSeq
                index.upsert(updated)
                journal.record(updated)
                changed.append(index.records[uid] ?? updated)
                break
            }
        }
        if !changed.isEmpty {
            index.header.highestModSeq = modSeq
            finishWrite(journal, new: touchedNew, cur: true)
        }
        return changed
    }

    /// Unlinks the files and records the expunges with one new modseq.
    func expungeLocked(_ uids: [UInt32]) throws(StorageError) -> [UInt32] {
        let modSeq = index.header.highestModSeq + 1
        var journal = IndexJournal()
        var done: [UInt32] = []
        var touchedNew = false
        var touchedCur = false
        for uid in Set(uids).sorted() {
            guard let record = index.records[uid] else { continue }
            if record.inNew { touchedNew = true } else { touchedCur = true }
            if unlink(path(of: record)) != 0 && errno != ENOENT {
                // The files already gone are expunged all the same.
                index.expunge(done, modSeq: modSeq)
                throw FS.ioError(path(of: record))
            }
            emailIDs.byUID[uid] = nil
            journal.expunge(uid: uid, modSeq: modSeq)
            done.append(uid)
        }
        guard !done.isEmpty else { return [] }
        index.expunge(done, modSeq: modSeq)
        index.header.highestModSeq = modSeq
        try compactUIDListIfSparse()
        finishWrite(journal, new: touchedNew, cur: touchedCur)
        return done
    }

    /// Every message in UID order (caller holds the mutex): usually the index's own array, shared, not copied.
    func sortedMessages() -> [MessageRecord] {
        guard index.records.isHashed else { return index.records.sorted() }
        if let sortedCache, sortedCache.generation == generation { return sortedCache.records }
        let records = index.records.sorted()
        sortedCache = (generation, records)
        return records
    }

    func cachedItem(_ item: FetchCacheItem, uid: UInt32) -> String? {
        guard index.records[uid] != nil else { return nil }
        if !fetchCacheFile.loaded { fetchCacheFile.load(into: &fetchCache, uidValidity: index.header.uidValidity) }
        return fetchCache.value(item, uid: uid, uidValidity: index.header.uidValidity)
    }

    func cacheItem(_ item: FetchCacheItem, uid: UInt32, value: String) {
        guard index.records[uid] != nil else { return }
        if !fetchCacheFile.loaded { fetchCacheFile.load(into: &fetchCache, uidValidity: index.header.uidValidity) }
        fetchCache.store(item, uid: uid, uidValidity: index.header.uidValidity, value: value)
        fetchCacheFile.record(item, uid: uid, uidValidity: index.header.uidValidity, value: value)
    }

    /// Writes the newly parsed items to aerie.cache (after a FETCH; a cache, so not fsynced).
    func flushFetchCache() { fetchCacheFile.flush() }

    /// The message's GUID as Dovecot's Maildir knows it: the uidlist `G` extension, else the file's base name.
    func guid(of record: MessageRecord) -> String {
        // An open that needed no scan has not read the uidlist: read it now, once.
        if !uidlist.loaded { _ = try? uidlist.refresh() }
        if let field = uidlist.list.entry(forBase: record.base)?.extensions.first(where: { $0.hasPrefix("G") && $0.count > 1 }) {
            return String(field.dropFirst())
        }
        return record.base
    }

    /// RFC 8474 §5.1 EMAILID: the same for every copy of a message (COPY/MOVE carry the GUID over), objectid
    /// characters only: a 128-bit GUID is used as it is, any other (a Maildir base name) is hashed into one.
    func emailID(of record: MessageRecord) -> String {
        if emailIDs.uidValidity != index.header.uidValidity { emailIDs = (index.header.uidValidity, [:]) }
        if let known = emailIDs.byUID[record.uid] { return known }
        let id = "M" + Self.objectGUID(guid(of: record))
        emailIDs.byUID[record.uid] = id
        return id
    }

    static func objectGUID(_ guid: String) -> String {
        if guid.utf8.count == 32 && guid.utf8.allSatisfy({ ($0 >= 48 && $0 <= 57) || ($0 >= 97 && $0 <= 102) }) {
            return guid
        }
        let digest = SHA256.hash(data: Array(guid.utf8))
        return digest.prefix(16).map { byte in
            let hex = Array("0123456789abcdef".utf8)
            return String(decoding: [hex[Int(byte >> 4)], hex[Int(byte & 15)]], as: UTF8.self)
        }.joined()
    }

    /// RFC 8474 §4 MAILBOXID: the uidlist's GUID, as the index header remembers it when the uidlist was not read.
    var mailboxGUID: String {
        if uidlist.loaded { return uidlist.list.guid }
        if !index.header.mailboxGUID.isEmpty { return index.header.mailboxGUID }
        _ = try? uidlist.refresh()
        return uidlist.list.guid
    }
}

/// Dovecot's maildir_filename_sort_cmp: by the leading timestamp, then microseconds, then the name.
func maildirSortsBefore(_ a: String, _ b: String) -> Bool {
    func key(_ s: String) -> (Int64, Int64) {
        let seconds = Int64(s.prefix { $0.isASCII && $0.isNumber }) ?? 0
        var micros: Int64 = 0
        if let m = s.firstIndex(of: "M") {
            micros = Int64(s[s.index(after: m)...].prefix { $0.isASCII && $0.isNumber }) ?? 0
        }
        return (seconds, micros)
    }
    let (ka, kb) = (key(a), key(b))
    return ka != kb ? ka < kb : a < b
}
